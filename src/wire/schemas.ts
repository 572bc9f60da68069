/**
 * One schema per message type in messages.ts, built for one --max-value-bytes. The
 * compile-time checks at the bottom make sure each schema's inferred type fits its
 * message type, so messages.ts and the validators cannot drift apart silently.
 */
import {
  aeHashesPerRequestMax,
  aeKeysPerReplyMax,
  aeSegmentsPerPartitionMax,
  aeSegmentsPerRequestMax,
} from '../config/antientropy.js';
import { keyBytesMax, nMax, partitionsMax } from '../config/cluster.js';
import {
  wireAddrBytesMax,
  wireContextBytesMax,
  wireEntriesMax,
  wireErrorCodeBytesMax,
  wireErrorMessageBytesMax,
  wireIdBytesMax,
  wireMembersMax,
  wireSiblingsMax,
  wireTransferKeysMax,
  wireTimeoutMsMax,
} from '../config/wire.js';
import type {
  ClientRequest,
  ClientResponse,
  DVVSetWire,
  EntryWire,
  PeerMessage,
  SiblingWire,
} from './messages.js';
import {
  alt,
  arr,
  bool,
  bytes,
  lit,
  nullable,
  obj,
  oneOf,
  opt,
  refine,
  schemaError,
  str,
  tagged,
  tuple,
  uint,
  type Path,
  type Schema,
} from './schema.js';

/** A key: 1..keyBytesMax bytes of UTF-8 (CONTRACT.md). */
export const key = (): Schema<string> => str(keyBytesMax, { min: 1 });
/** A node id or actor id. */
export const nodeId = (): Schema<string> => str(wireIdBytesMax, { min: 1 });
/** An opaque context token; the vclock code decodes it, we bound its type and length. */
export const ctxToken = (): Schema<string> => str(wireContextBytesMax);
/** A per-request timeout in ms. */
export const timeoutMs = (): Schema<number> => uint({ min: 1, max: wireTimeoutMsMax });
/** A quorum as a count 1..nMax or one of the symbolic forms. */
export const quorum = (): Schema<number | 'one' | 'quorum' | 'all'> =>
  alt(uint({ min: 1, max: nMax }), (v) => typeof v === 'number', oneOf('one', 'quorum', 'all'));

/** Schema for a DVVSet on the wire, with its structural invariants. */
export function dvv(maxValueBytes: number): Schema<DVVSetWire> {
  const sibling: Schema<SiblingWire> = tuple(nullable(bytes(maxValueBytes, { value: true })), uint());
  const entry: Schema<EntryWire> = refine(tuple(nodeId(), uint({ min: 1 }), uint(), arr(sibling, wireSiblingsMax)), (e, path) => {
    // values[i] has dot (id, n - i), so there can be at most n of them.
    if (e[3].length > e[1]) schemaError([...path, 3], `${e[3].length} values but counter is ${e[1]}`);
  });
  const shape = obj({ e: arr(entry, wireEntriesMax), a: arr(sibling, wireSiblingsMax) });
  return refine(shape, (d, path: Path) => {
    let siblings = d.a.length;
    for (let i = 0; i < d.e.length; i++) {
      const e = d.e[i]!;
      siblings += e[3].length;
      // Entries are sorted by id (JS string order) and unique: the vclock code relies on it.
      if (i > 0 && !(d.e[i - 1]![0] < e[0])) schemaError([...path, 'e', i, 0], 'entries not sorted by id or id repeated');
    }
    if (siblings > wireSiblingsMax) schemaError(path, `${siblings} siblings; the limit is ${wireSiblingsMax}`);
  });
}

export interface Schemas {
  readonly peer: Schema<PeerMessage>;
  readonly clientRequest: Schema<ClientRequest>;
  readonly clientResponse: Schema<ClientResponse>;
  readonly dvv: Schema<DVVSetWire>;
}

export function createSchemas(maxValueBytes: number): Schemas {
  const o = dvv(maxValueBytes);
  const value = bytes(maxValueBytes, { value: true });
  const seq = uint();
  const reqId = uint();

  const member = obj({
    id: nodeId(),
    addr: str(wireAddrBytesMax, { min: 1 }),
    inc: uint(),
    hb: uint(),
    st: oneOf('up', 'leaving', 'left'),
    n: uint({ min: 1, max: nMax }),
    q: uint({ min: 1, max: partitionsMax }),
    rv: opt(uint()),
  });
  const ring = obj({ v: uint(), c: str(wireIdBytesMax), o: arr(nodeId(), partitionsMax), x: opt(arr(nodeId(), partitionsMax)) });
  const partition = uint({ max: partitionsMax - 1 });
  const items = arr(tuple(key(), o), wireTransferKeysMax);
  // Anti-entropy: tree shapes, indices and hashes are bounded by the largest tree we build.
  const aeWidth = uint({ min: 1, max: aeSegmentsPerPartitionMax });
  const aeIndex = uint({ max: aeSegmentsPerPartitionMax - 1 });
  const aeDepthMax = Math.log2(aeSegmentsPerPartitionMax);
  const aeHashes = refine(bytes(8 * aeHashesPerRequestMax), (b, path) => {
    if (b.length % 8 !== 0) schemaError(path, `${b.length} bytes is not a whole number of 8-byte hashes`);
  });
  const aeDigest = refine(bytes(8), (b, path) => {
    if (b.length !== 8) schemaError(path, `digest is ${b.length} bytes; expected 8`);
  });

  const peer = tagged<PeerMessage>({
    ping: obj({ t: lit('ping'), seq }),
    ack: obj({ t: lit('ack'), seq }),
    ping_req: obj({ t: lit('ping_req'), target: nodeId(), seq }),
    gossip: obj({ t: lit('gossip'), members: arr(member, wireMembersMax), ring, sus: arr(nodeId(), wireMembersMax) }),
    rput: obj({ t: lit('rput'), p: uint({ max: partitionsMax - 1 }), k: key(), o, h: opt(nodeId()) }),
    rput_ok: obj({ t: lit('rput_ok') }),
    rget: obj({ t: lit('rget'), p: uint({ max: partitionsMax - 1 }), k: key() }),
    rget_ok: obj({ t: lit('rget_ok'), o: nullable(o) }),
    fput: obj({
      t: lit('fput'),
      k: key(),
      v: nullable(value),
      ctx: nullable(ctxToken()),
      w: uint({ min: 1, max: nMax }),
      tmo: timeoutMs(),
    }),
    fput_ok: obj({ t: lit('fput_ok'), ctx: ctxToken() }),
    xfer_pull: obj({ t: lit('xfer_pull'), p: partition, after: nullable(key()), limit: uint({ min: 1, max: wireTransferKeysMax }) }),
    xfer_batch: obj({ t: lit('xfer_batch'), items, more: bool(), total: uint() }),
    xfer_push: obj({ t: lit('xfer_push'), p: partition, items }),
    xfer_push_ok: obj({ t: lit('xfer_push_ok') }),
    hint_count: obj({ t: lit('hint_count'), p: partition }),
    hint_count_ok: obj({ t: lit('hint_count_ok'), n: uint() }),
    view: obj({ t: lit('view') }),
    view_ok: obj({ t: lit('view_ok'), v: uint(), c: nullable(nodeId()), up: bool() }),
    reap: obj({ t: lit('reap'), p: partition, k: key(), ctx: ctxToken() }),
    reap_ok: obj({ t: lit('reap_ok'), removed: bool() }),
    ae_levels: obj({
      t: lit('ae_levels'),
      p: partition,
      width: aeWidth,
      fan: uint({ min: 2, max: aeSegmentsPerPartitionMax }),
      level: uint({ max: aeDepthMax }),
      idx: arr(aeIndex, aeHashesPerRequestMax),
    }),
    ae_levels_ok: obj({ t: lit('ae_levels_ok'), hashes: aeHashes }),
    ae_keys: obj({ t: lit('ae_keys'), p: partition, width: aeWidth, segs: arr(aeIndex, aeSegmentsPerRequestMax), after: opt(key()) }),
    ae_keys_ok: obj({ t: lit('ae_keys_ok'), keys: arr(tuple(key(), aeDigest), aeKeysPerReplyMax), more: bool() }),
    err: obj({ t: lit('err'), code: str(wireErrorCodeBytesMax, { min: 1 }), msg: str(wireErrorMessageBytesMax) }),
  });

  const clientRequest = tagged<ClientRequest>({
    get: obj({ t: lit('get'), id: reqId, k: key(), r: opt(quorum()), tmo: opt(timeoutMs()) }),
    put: obj({ t: lit('put'), id: reqId, k: key(), v: value, ctx: opt(ctxToken()), w: opt(quorum()), tmo: opt(timeoutMs()) }),
    del: obj({ t: lit('del'), id: reqId, k: key(), ctx: opt(ctxToken()), w: opt(quorum()), tmo: opt(timeoutMs()) }),
    ring: obj({ t: lit('ring'), id: reqId }),
    lget: obj({ t: lit('lget'), id: reqId, k: key(), dg: opt(bool()) }),
  });

  const clientResponse = tagged<ClientResponse>({
    get_ok: obj({ t: lit('get_ok'), id: reqId, vals: arr(value, wireSiblingsMax), ctx: nullable(ctxToken()) }),
    put_ok: obj({ t: lit('put_ok'), id: reqId, ctx: ctxToken() }),
    ring_ok: obj({
      t: lit('ring_ok'),
      id: reqId,
      q: uint({ min: 1, max: partitionsMax }),
      n: uint({ min: 1, max: nMax }),
      o: arr(nodeId(), partitionsMax),
      m: arr(obj({ id: nodeId(), addr: str(wireAddrBytesMax, { min: 1 }) }), wireMembersMax),
      r: opt(uint({ min: 1, max: nMax })),
    }),
    lget_ok: obj({ t: lit('lget_ok'), id: reqId, o: nullable(o) }),
    lget_dg_ok: obj({ t: lit('lget_dg_ok'), id: reqId, dg: nullable(aeDigest) }),
    err: obj({
      t: lit('err'),
      id: reqId,
      code: str(wireErrorCodeBytesMax, { min: 1 }),
      msg: str(wireErrorMessageBytesMax),
    }),
  });

  return { peer, clientRequest, clientResponse, dvv: o };
}
