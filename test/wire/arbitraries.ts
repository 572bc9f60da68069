// fast-check arbitraries that build valid messages of every type in src/wire/messages.ts.
import fc from 'fast-check';
import type {
  ClientRequest,
  ClientResponse,
  DVVSetWire,
  EntryWire,
  MemberWire,
  PeerMessage,
  RingWire,
  SiblingWire,
} from '../../src/wire/index.js';

/** Small value limit so arbitraries can reach it cheaply. */
export const MAX_VALUE = 64;

const ts = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const u = fc.oneof(fc.nat({ max: 30 }), fc.nat({ max: Number.MAX_SAFE_INTEGER }));
/** Keys: 1..128 code points of any plane, so at most 512 UTF-8 bytes. */
export const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 128 });
export const nodeId = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 24 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }),
);
const addr = fc.tuple(fc.domain(), fc.nat({ max: 65535 })).map(([h, p]) => `${h}:${p}`);
const ctx = fc.string({ unit: 'grapheme-ascii', maxLength: 200 });
const value = fc.uint8Array({ maxLength: MAX_VALUE });
const quorum = fc.oneof(fc.integer({ min: 1, max: 15 }), fc.constantFrom('one' as const, 'quorum' as const, 'all' as const));
const tmo = fc.integer({ min: 1, max: 600_000 });
const partition = fc.nat({ max: 16383 });

export const sibling: fc.Arbitrary<SiblingWire> = fc.tuple(fc.option(value, { nil: null }), ts);

export const dvv: fc.Arbitrary<DVVSetWire> = fc
  .record({
    ids: fc.uniqueArray(nodeId, { maxLength: 5 }),
    values: fc.array(fc.array(sibling, { maxLength: 3 }), { minLength: 5, maxLength: 5 }),
    extra: fc.array(fc.nat({ max: 1000 }), { minLength: 5, maxLength: 5 }),
    tss: fc.array(ts, { minLength: 5, maxLength: 5 }),
    a: fc.array(sibling, { maxLength: 3 }),
  })
  .map(({ ids, values, extra, tss, a }) => {
    const sorted = [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const e: EntryWire[] = sorted.map((id, i) => {
      const vs = values[i]!;
      return [id, Math.max(1, vs.length) + extra[i]!, tss[i]!, vs];
    });
    return { e, a };
  });

const member: fc.Arbitrary<MemberWire> = fc.record({
  id: nodeId,
  addr,
  inc: u,
  hb: u,
  st: fc.constantFrom('up' as const, 'leaving' as const, 'left' as const),
  n: fc.integer({ min: 1, max: 15 }),
  q: fc.integer({ min: 1, max: 16384 }),
  rv: u,
}, { requiredKeys: ['id', 'addr', 'inc', 'hb', 'st', 'n', 'q'] });
const ring: fc.Arbitrary<RingWire> = fc.record(
  { v: u, c: nodeId, o: fc.array(nodeId, { maxLength: 64 }), x: fc.array(nodeId, { maxLength: 64 }) },
  { requiredKeys: ['v', 'c', 'o'] },
);
const items = fc.array(fc.tuple(key, dvv), { maxLength: 4 });
const errCode = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 64 });
const errMsg = fc.string({ maxLength: 200 });

/** One arbitrary per peer message type, keyed by `t`. */
export const peerByType: Record<PeerMessage['t'], fc.Arbitrary<PeerMessage>> = {
  ping: fc.record({ t: fc.constant('ping' as const), seq: u }),
  ack: fc.record({ t: fc.constant('ack' as const), seq: u }),
  ping_req: fc.record({ t: fc.constant('ping_req' as const), target: nodeId, seq: u }),
  gossip: fc.record({
    t: fc.constant('gossip' as const),
    members: fc.array(member, { maxLength: 8 }),
    ring,
    sus: fc.array(nodeId, { maxLength: 4 }),
  }),
  rput: fc.record(
    { t: fc.constant('rput' as const), p: partition, k: key, o: dvv, h: nodeId },
    { requiredKeys: ['t', 'p', 'k', 'o'] },
  ),
  rput_ok: fc.constant({ t: 'rput_ok' as const }),
  rget: fc.record({ t: fc.constant('rget' as const), p: partition, k: key }),
  rget_ok: fc.record({ t: fc.constant('rget_ok' as const), o: fc.option(dvv, { nil: null }) }),
  fput: fc.record({
    t: fc.constant('fput' as const),
    k: key,
    v: fc.option(value, { nil: null }),
    ctx: fc.option(ctx, { nil: null }),
    w: fc.integer({ min: 1, max: 15 }),
    tmo,
  }),
  fput_ok: fc.record({ t: fc.constant('fput_ok' as const), ctx }),
  xfer_pull: fc.record({ t: fc.constant('xfer_pull' as const), p: partition, after: fc.option(key, { nil: null }), limit: fc.integer({ min: 1, max: 256 }) }),
  xfer_batch: fc.record({ t: fc.constant('xfer_batch' as const), items, more: fc.boolean(), total: u }),
  xfer_push: fc.record({ t: fc.constant('xfer_push' as const), p: partition, items }),
  xfer_push_ok: fc.constant({ t: 'xfer_push_ok' as const }),
  hint_count: fc.record({ t: fc.constant('hint_count' as const), p: partition }),
  hint_count_ok: fc.record({ t: fc.constant('hint_count_ok' as const), n: u }),
  view: fc.constant({ t: 'view' as const }),
  view_ok: fc.record({ t: fc.constant('view_ok' as const), v: u, c: fc.option(nodeId, { nil: null }), up: fc.boolean() }),
  reap: fc.record({ t: fc.constant('reap' as const), p: partition, k: key, ctx }),
  reap_ok: fc.record({ t: fc.constant('reap_ok' as const), removed: fc.boolean() }),
  ae_levels: fc.record({
    t: fc.constant('ae_levels' as const),
    p: partition,
    width: fc.integer({ min: 1, max: 1_048_576 }),
    fan: fc.integer({ min: 2, max: 64 }),
    level: fc.nat({ max: 20 }),
    idx: fc.array(fc.nat({ max: 1_048_575 }), { maxLength: 40 }),
  }),
  ae_levels_ok: fc
    .nat({ max: 40 })
    .chain((n) => fc.record({ t: fc.constant('ae_levels_ok' as const), hashes: fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n }) })),
  ae_keys: fc.record(
    {
      t: fc.constant('ae_keys' as const),
      p: partition,
      width: fc.integer({ min: 1, max: 1_048_576 }),
      segs: fc.array(fc.nat({ max: 1_048_575 }), { maxLength: 64 }),
      after: key,
    },
    { requiredKeys: ['t', 'p', 'width', 'segs'] },
  ),
  ae_keys_ok: fc.record({
    t: fc.constant('ae_keys_ok' as const),
    keys: fc.array(fc.tuple(key, fc.uint8Array({ minLength: 8, maxLength: 8 })), { maxLength: 20 }),
    more: fc.boolean(),
  }),
  err: fc.record({ t: fc.constant('err' as const), code: errCode, msg: errMsg }),
};

const id = fc.nat({ max: Number.MAX_SAFE_INTEGER });

export const requestByType: Record<ClientRequest['t'], fc.Arbitrary<ClientRequest>> = {
  get: fc.record({ t: fc.constant('get' as const), id, k: key, r: quorum, tmo }, { requiredKeys: ['t', 'id', 'k'] }),
  put: fc.record(
    { t: fc.constant('put' as const), id, k: key, v: value, ctx, w: quorum, tmo },
    { requiredKeys: ['t', 'id', 'k', 'v'] },
  ),
  del: fc.record({ t: fc.constant('del' as const), id, k: key, ctx, w: quorum, tmo }, { requiredKeys: ['t', 'id', 'k'] }),
  ring: fc.record({ t: fc.constant('ring' as const), id }),
  lget: fc.record({ t: fc.constant('lget' as const), id, k: key, dg: fc.boolean() }, { requiredKeys: ['t', 'id', 'k'] }),
};

export const responseByType: Record<ClientResponse['t'], fc.Arbitrary<ClientResponse>> = {
  get_ok: fc.record({
    t: fc.constant('get_ok' as const),
    id,
    vals: fc.array(value, { maxLength: 4 }),
    ctx: fc.option(ctx, { nil: null }),
  }),
  put_ok: fc.record({ t: fc.constant('put_ok' as const), id, ctx }),
  ring_ok: fc.record({
    t: fc.constant('ring_ok' as const),
    id,
    q: fc.integer({ min: 1, max: 16384 }),
    n: fc.integer({ min: 1, max: 15 }),
    o: fc.array(nodeId, { maxLength: 64 }),
    m: fc.array(fc.record({ id: nodeId, addr }), { maxLength: 8 }),
    r: fc.integer({ min: 1, max: 15 }),
  }, { requiredKeys: ['t', 'id', 'q', 'n', 'o', 'm'] }),
  lget_ok: fc.record({ t: fc.constant('lget_ok' as const), id, o: fc.option(dvv, { nil: null }) }),
  lget_dg_ok: fc.record({ t: fc.constant('lget_dg_ok' as const), id, dg: fc.option(fc.uint8Array({ minLength: 8, maxLength: 8 }), { nil: null }) }),
  err: fc.record({ t: fc.constant('err' as const), id, code: errCode, msg: errMsg }),
};

export const peerMessage = fc.oneof(...Object.values(peerByType));
export const clientRequest = fc.oneof(...Object.values(requestByType));
export const clientResponse = fc.oneof(...Object.values(responseByType));

/** Copies a decoded message with every byte string as a plain Uint8Array, for deep equality with the input. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}
