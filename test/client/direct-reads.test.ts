/**
 * The SDK's direct reads (Dynamo's client-driven coordination): with a ring and an R, a
 * get asks R owners for their own copies (`lget`) and answers from them when they hold
 * the same versions; anything else goes through a coordinator (`get`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ConnectOptions, type ShoalClient } from '../../src/client/node.js';
import { RealTimers, type Random, type TimerHandle, type Timers } from '../../src/env/index.js';
import { objectDigest } from '../../src/antientropy/index.js';
import { partitionOf } from '../../src/ring/index.js';
import * as vc from '../../src/vclock/index.js';
import type { DVVSet } from '../../src/vclock/index.js';
import type { ClientRequest, ClientResponse } from '../../src/wire/index.js';
import { FakeServer } from './fake-server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const Q = 8;
const ids = ['node-a', 'node-b', 'node-c'];
/** Partition p is owned by ids[p % 3]: every key's 3 owners are all three nodes. */
const owners = Array.from({ length: Q }, (_, p) => ids[p % 3]!);

const servers: FakeServer[] = [];
const clients: ShoalClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** A random that never draws the read-repair chance (or always, with `low`). */
function fixedRandom(low = false): Random {
  return { float: () => (low ? 0 : 0.99), int: () => 0, bytes: (n) => new Uint8Array(n) };
}

function written(value: string, actor = 'node-a', base: DVVSet = vc.empty()): DVVSet {
  return vc.update(vc.fresh(vc.join(base), { value: enc.encode(value), ts: 1 }), base, actor, 1);
}

interface Fake {
  server: FakeServer;
  /** This node's copies. */
  copies: Map<string, DVVSet>;
  /** What `get` (a coordinated read) answers. */
  coordinated: (req: Extract<ClientRequest, { t: 'get' }>) => ClientResponse;
  /** Set to refuse direct reads, or to stay silent (null). */
  lget?: (req: Extract<ClientRequest, { t: 'lget' }>) => ClientResponse | null;
}

async function cluster(ringR: number | undefined): Promise<Fake[]> {
  const fakes: Fake[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await FakeServer.start(() => null);
    servers.push(s);
    fakes.push({ server: s, copies: new Map(), coordinated: (req) => ({ t: 'get_ok', id: req.id, vals: [enc.encode('coordinated')], ctx: null }) });
  }
  const members = fakes.map((f, i) => ({ id: ids[i]!, addr: f.server.address }));
  for (const f of fakes) {
    f.server.handler = (req) => {
      switch (req.t) {
        case 'ring':
          return { t: 'ring_ok', id: req.id, q: Q, n: 3, o: owners, m: members, ...(ringR === undefined ? {} : { r: ringR }) };
        case 'lget': {
          if (f.lget !== undefined) return f.lget(req);
          const o = f.copies.get(req.k);
          if (req.dg === true) return { t: 'lget_dg_ok', id: req.id, dg: o === undefined ? null : objectDigest(o) };
          return { t: 'lget_ok', id: req.id, o: o === undefined ? null : vc.toWire(o) };
        }
        case 'get':
          return f.coordinated(req);
        default:
          return null;
      }
    };
  }
  return fakes;
}

/** Three owners of 'k' with R=2: a and c hold a newer version than b. */
async function diverged(): Promise<{ fakes: Fake[]; newer: DVVSet }> {
  const fakes = await cluster(2);
  const older = written('old');
  const newer = vc.update(vc.fresh(vc.join(older), { value: enc.encode('new'), ts: 2 }), older, 'node-a', 2);
  fakes[0]!.copies.set('k', newer);
  fakes[1]!.copies.set('k', older);
  fakes[2]!.copies.set('k', newer);
  return { fakes, newer };
}

/** A client; its gets ask exactly R owners even when idle, unless the test asks otherwise. */
async function client(fakes: Fake[], options: Partial<ConnectOptions> = {}): Promise<ShoalClient> {
  const c = await connect({ endpoints: [fakes[0]!.server.address], random: fixedRandom(), directReadsAskAllWhenIdle: false, ...options });
  clients.push(c);
  await expect.poll(() => c.connected().length).toBe(3);
  await c.ring();
  return c;
}

const sent = (fakes: Fake[], t: string): number => fakes.reduce((n, f) => n + f.server.received.filter((m) => m.t === t).length, 0);

describe('direct reads', () => {
  it('reads R owners, answers from their copies as a coordinator would, and spreads over all N', async () => {
    const fakes = await cluster(2);
    const obj = vc.update(vc.fresh([], { value: enc.encode('two'), ts: 2 }), written('one'), 'node-b', 2);
    for (const f of fakes) f.copies.set('k', obj);
    const c = await client(fakes);
    for (let i = 0; i < 6; i++) {
      const got = await c.get('k');
      expect(got.values.map((v) => dec.decode(v)).sort()).toEqual(['one', 'two']);
      expect(got.found).toBe(true);
      expect(got.context).toBe(vc.encodeContext(vc.join(obj)));
    }
    expect(sent(fakes, 'get')).toBe(0);
    expect(sent(fakes, 'lget')).toBe(12);
    // One owner sends the whole object, the other only its digest.
    const full = fakes.reduce((n, f) => n + f.server.received.filter((m) => m.t === 'lget' && m.dg !== true).length, 0);
    expect(full).toBe(6);
    // Rotating: every owner was asked.
    for (const f of fakes) expect(f.server.received.some((m) => m.t === 'lget')).toBe(true);
    expect(c.stats()).toEqual({ directReads: 6, directFallbacks: 0 });
  });

  it('a key no owner holds is not found, with no context; a tombstone is not found, with its context', async () => {
    const fakes = await cluster(2);
    const c = await client(fakes);
    expect(await c.get('missing')).toEqual({ values: [], context: null, found: false });
    const live = written('v');
    const dead = vc.update(vc.fresh(vc.join(live), { value: null, ts: 3 }), live, 'node-a', 3);
    for (const f of fakes) f.copies.set('gone', dead);
    const got = await c.get('gone');
    expect(got).toEqual({ values: [], context: vc.encodeContext(vc.join(dead)), found: false });
    expect(sent(fakes, 'get')).toBe(0);
  });

  it('honours r: one asks one owner, all asks every owner', async () => {
    const fakes = await cluster(2);
    for (const f of fakes) f.copies.set('k', written('v'));
    const c = await client(fakes);
    await c.get('k', { r: 'one' });
    expect(sent(fakes, 'lget')).toBe(1);
    await c.get('k', { r: 'all' });
    expect(sent(fakes, 'lget')).toBe(4);
    await c.get('k', { r: 2 });
    expect(sent(fakes, 'lget')).toBe(6);
    expect(sent(fakes, 'get')).toBe(0);
  });

  it('copies that differ go through a coordinator (which repairs the stale one)', async () => {
    const { fakes } = await diverged();
    const c = await client(fakes);
    // Whichever two are asked, some pair differs within three reads (the rotation covers a-b and b-c).
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(dec.decode((await c.get('k')).values[0]!));
    expect(answers).toContain('coordinated');
    expect(c.stats().directFallbacks).toBeGreaterThan(0);
    expect(sent(fakes, 'get')).toBe(c.stats().directFallbacks);
  });

  it('a digest that does not match the copy read in full sends the get to a coordinator', async () => {
    const fakes = await cluster(2);
    for (const f of fakes) f.copies.set('k', written('v'));
    const c = await client(fakes);
    // Every owner sends a wrong digest; the whole copies agree, but the client only sees digests for the others.
    for (const f of fakes) {
      f.lget = (req) => {
        const o = f.copies.get(req.k)!;
        return req.dg === true ? { t: 'lget_dg_ok', id: req.id, dg: new Uint8Array(8) } : { t: 'lget_ok', id: req.id, o: vc.toWire(o) };
      };
    }
    expect(dec.decode((await c.get('k')).values[0]!)).toBe('coordinated');
    expect(c.stats()).toEqual({ directReads: 0, directFallbacks: 1 });
  });

  it('a replica that holds the key while another has nothing is a difference too', async () => {
    const fakes = await cluster(3);
    fakes[0]!.copies.set('k', written('v'));
    const c = await client(fakes);
    expect(dec.decode((await c.get('k')).values[0]!)).toBe('coordinated');
    expect(c.stats()).toEqual({ directReads: 0, directFallbacks: 1 });
  });

  it('an owner that refuses (not a primary in its ring) sends the get to a coordinator', async () => {
    const fakes = await cluster(3);
    for (const f of fakes) f.copies.set('k', written('v'));
    fakes[1]!.lget = (req) => ({ t: 'err', id: req.id, code: 'unavailable', msg: 'not a primary owner of this key' });
    const c = await client(fakes);
    expect(dec.decode((await c.get('k')).values[0]!)).toBe('coordinated');
    expect(c.stats().directFallbacks).toBe(1);
  });

  it('an owner that does not answer costs at most half the timeout; the coordinated read gets the rest', async () => {
    const fakes = await cluster(3);
    for (const f of fakes) f.copies.set('k', written('v'));
    fakes[2]!.lget = () => null;
    const c = await client(fakes);
    const got = await c.get('k', { timeoutMs: 200 });
    expect(dec.decode(got.values[0]!)).toBe('coordinated');
    const get = fakes.flatMap((f) => f.server.received).find((m) => m.t === 'get');
    expect(get).toMatchObject({ t: 'get', k: 'k' });
    // The direct attempt took about 100 ms, so the coordinated read was given what was left.
    const tmo = (get as { tmo: number }).tmo;
    expect(tmo).toBeGreaterThan(0);
    expect(tmo).toBeLessThanOrEqual(100);
  });

  it('an owner that let a direct read time out is left out of direct reads for a while', async () => {
    const fakes = await cluster(2);
    for (const f of fakes) f.copies.set('k', written('v'));
    fakes[2]!.lget = () => null;
    const c = await client(fakes);
    // Rotating over the three owners, some read asks the silent one and times out (100 ms).
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) answers.push(dec.decode((await c.get('k', { timeoutMs: 200 })).values[0]!));
    expect(answers).toContain('coordinated');
    const asked = fakes[2]!.server.received.filter((m) => m.t === 'lget').length;
    expect(asked).toBe(1);
    // Now every direct read goes to the two that answer, and none falls back.
    const before = c.stats();
    for (let i = 0; i < 6; i++) expect(dec.decode((await c.get('k', { timeoutMs: 200 })).values[0]!)).toBe('v');
    expect(fakes[2]!.server.received.filter((m) => m.t === 'lget').length).toBe(asked);
    expect(c.stats()).toEqual({ directReads: before.directReads + 6, directFallbacks: before.directFallbacks });
  });

  it('without an R (no option, none from the server), with the read-repair draw, or turned off: coordinated', async () => {
    const noR = await cluster(undefined);
    for (const f of noR) f.copies.set('k', written('v'));
    const c1 = await client(noR);
    await c1.get('k');
    expect(sent(noR, 'lget')).toBe(0);
    await c1.get('k', { r: 2 });
    expect(sent(noR, 'lget')).toBe(2);

    const fakes = await cluster(2);
    for (const f of fakes) f.copies.set('k', written('v'));
    const c2 = await client(fakes, { random: fixedRandom(true) });
    await c2.get('k');
    const c3 = await client(fakes, { directReads: false });
    await c3.get('k');
    expect(sent(fakes, 'lget')).toBe(0);
    expect(sent(fakes, 'get')).toBe(2);
  });

  it('a direct get counts once against the in-flight cap, however many owners it asks', async () => {
    const { clientInFlightMax, clientDirectReadTimeoutMs } = await import('../../src/config/index.js');
    const fakes = await cluster(2);
    for (const f of fakes) f.lget = () => null;
    // Real timers, but a direct read's own timeout never fires: on a loaded machine sending
    // every held read could take longer than it, and a read that timed out would fall back
    // to a coordinated get, which this test is not about.
    const real = new RealTimers();
    const never = { __timer: true } as TimerHandle;
    const timers: Timers = {
      setTimeout: (fn, ms) => (ms === clientDirectReadTimeoutMs ? never : real.setTimeout(fn, ms)),
      clearTimeout: (h) => {
        if (h !== never) real.clearTimeout(h);
      },
    };
    const c = await client(fakes, { timers });
    const held = Array.from({ length: clientInFlightMax }, (_, i) => c.get(`k${i}`).catch((e: unknown) => e));
    await expect.poll(() => sent(fakes, 'lget')).toBe(2 * clientInFlightMax);
    expect((await c.get('one-too-many').catch((e: unknown) => e)) as object).toMatchObject({ code: 'OVERLOADED' });
    expect((await c.put('one-too-many', 'v').catch((e: unknown) => e)) as object).toMatchObject({ code: 'OVERLOADED' });
    await c.close();
    const results = await Promise.all(held);
    expect(results.every((e) => (e as { code?: string }).code === 'CLOSED')).toBe(true);
    expect(sent(fakes, 'get')).toBe(0);
  });

  it('an owner that is not connected means a coordinated read', async () => {
    const fakes = await cluster(3);
    for (const f of fakes) f.copies.set('k', written('v'));
    const c = await client(fakes);
    await fakes[1]!.server.stop();
    servers.splice(servers.indexOf(fakes[1]!.server), 1);
    await expect.poll(() => c.connected().length).toBe(2);
    const key = Array.from({ length: 50 }, (_, i) => `k${i}`).find((k) => partitionOf(k, Q) % 3 === 0)!;
    for (const f of [fakes[0]!, fakes[2]!]) f.copies.set(key, written('v'));
    expect(dec.decode((await c.get(key)).values[0]!)).toBe('coordinated');
    expect(sent(fakes, 'lget')).toBe(0);
  });
});

describe('direct reads on an idle client: every owner asked, the first R that agree answer', () => {
  const idle = { directReadsAskAllWhenIdle: true };
  const full = (fakes: Fake[]): number => fakes.reduce((n, f) => n + f.server.received.filter((m) => m.t === 'lget' && m.dg !== true).length, 0);

  it('asks all three owners for their whole copies and answers without the one that stays silent', async () => {
    const fakes = await cluster(2);
    for (const f of fakes) f.copies.set('k', written('v'));
    fakes[1]!.lget = () => null;
    const c = await client(fakes, idle);
    const got = await c.get('k');
    expect(dec.decode(got.values[0]!)).toBe('v');
    expect(got.context).toBe(vc.encodeContext(vc.join(written('v'))));
    // With exactly R asked, a silent owner among them would have sent this get to a coordinator.
    expect(full(fakes)).toBe(3);
    expect(sent(fakes, 'get')).toBe(0);
    expect(c.stats()).toEqual({ directReads: 1, directFallbacks: 0 });
  });

  it('two copies that agree answer even when the third differs; no two agreeing means a coordinator', async () => {
    const { fakes, newer } = await diverged();
    const c = await client(fakes, idle);
    for (let i = 0; i < 3; i++) expect(dec.decode((await c.get('k')).values[0]!)).toBe('new');
    expect(c.stats()).toEqual({ directReads: 3, directFallbacks: 0 });

    const third = vc.update(vc.fresh(vc.join(newer), { value: enc.encode('third'), ts: 3 }), newer, 'node-c', 3);
    fakes[2]!.copies.set('k', third);
    expect(dec.decode((await c.get('k')).values[0]!)).toBe('coordinated');
    expect(c.stats()).toEqual({ directReads: 3, directFallbacks: 1 });
  });

  it('gives up on the direct read as soon as R can no longer agree', async () => {
    const fakes = await cluster(2);
    for (const f of fakes) f.copies.set('k', written('v'));
    const refuse = (req: Extract<ClientRequest, { t: 'lget' }>): ClientResponse => ({ t: 'err', id: req.id, code: 'unavailable', msg: 'not a primary owner of this key' });
    // The first owner never answers; the other two refuse, which leaves no two copies to
    // agree. (Asking exactly R, the rotation's first pair would wait for the silent one.)
    fakes[0]!.lget = () => null;
    fakes[1]!.lget = refuse;
    fakes[2]!.lget = refuse;
    const c = await client(fakes, idle);
    const got = await c.get('k', { timeoutMs: 2_000 });
    expect(dec.decode(got.values[0]!)).toBe('coordinated');
    // The coordinated read kept nearly all of its time: nobody waited out the direct
    // read's 250 ms for the silent owner.
    const get = fakes.flatMap((f) => f.server.received).find((m) => m.t === 'get') as { tmo: number };
    expect(get.tmo).toBeGreaterThan(1_900);
  });

  it('a get with another request in flight asks exactly R owners', async () => {
    const fakes = await cluster(2);
    for (const f of fakes) f.copies.set('k', written('v'));
    const c = await client(fakes, idle);
    const [a, b] = await Promise.all([c.get('k'), c.get('k')]);
    expect(dec.decode(a.values[0]!)).toBe('v');
    expect(dec.decode(b.values[0]!)).toBe('v');
    // The first, alone, asked all three for whole copies; the second one whole copy and one digest.
    expect(sent(fakes, 'lget')).toBe(5);
    expect(full(fakes)).toBe(4);
    expect(c.stats()).toEqual({ directReads: 2, directFallbacks: 0 });
  });
});
