import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, isShoalError, preferredOwners, type ShoalClient, type WebSocketConstructor } from '../../src/client/node.js';
import { connect as browserConnect } from '../../src/client/index.js';
import { partitionOf } from '../../src/ring/index.js';
import type { ClientResponse } from '../../src/wire/index.js';
import { FakeServer, memoryHandler } from './fake-server.js';

const servers: FakeServer[] = [];
const clients: ShoalClient[] = [];
const enc = new TextEncoder();
const dec = new TextDecoder();

async function server(...args: Parameters<typeof FakeServer.start>): Promise<FakeServer> {
  const s = await FakeServer.start(...args);
  servers.push(s);
  return s;
}
async function client(...args: Parameters<typeof connect>): Promise<ShoalClient> {
  const c = await connect(...args);
  clients.push(c);
  return c;
}
async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('roundtrips', () => {
  it('put, get, delete with contexts; strings and bytes', async () => {
    const s = await server(memoryHandler());
    const c = await client({ endpoints: [s.address], routing: false });
    expect(await c.get('missing')).toEqual({ values: [], context: null, found: false });
    const w1 = await c.put('k', 'hello');
    const r1 = await c.get('k');
    expect(r1.found).toBe(true);
    expect(r1.values.map((v) => dec.decode(v))).toEqual(['hello']);
    expect(r1.context).toBe(w1.context);
    await c.put('k', new Uint8Array([1, 2, 3]), { context: r1.context, w: 'all', timeoutMs: 1000 });
    expect((await c.get('k', { r: 3 })).values).toEqual([new Uint8Array([1, 2, 3])]);
    const put = s.received.find((m) => m.t === 'put' && m.ctx !== undefined);
    expect(put).toMatchObject({ t: 'put', k: 'k', ctx: w1.context, w: 'all', tmo: 1000 });
    const d = await c.delete('k', { context: (await c.get('k')).context });
    expect(typeof d.context).toBe('string');
    expect(await c.get('k')).toMatchObject({ values: [], found: false, context: d.context });
    expect(s.received.find((m) => m.t === 'del')).toMatchObject({ t: 'del', k: 'k' });
  });

  it('siblings come back as a list; getResolved and update fold them', async () => {
    const h = memoryHandler();
    const s = await server(h);
    const c = await client({ endpoints: [s.address], routing: false, resolver: (vals) => enc.encode(vals.map((v) => dec.decode(v)).sort().join('+')) });
    await c.put('k', 'b');
    await c.put('k', 'a'); // blind: becomes a sibling
    const got = await c.get('k');
    expect(got.values.map((v) => dec.decode(v))).toEqual(['b', 'a']);
    const resolved = await c.getResolved('k');
    expect(dec.decode(resolved.value ?? new Uint8Array())).toBe('a+b');
    const up = await c.update('k', (cur) => enc.encode(cur.map((v) => dec.decode(v)).join('|') + '!'));
    expect(dec.decode(up.value)).toBe('b|a!');
    expect(h.store.get('k')?.vals.map((v) => dec.decode(v))).toEqual(['b|a!']);
    expect(await c.getResolved('nothing')).toEqual({ value: null, context: null, found: false });
  });

  it('the default resolver picks the byte-wise greatest sibling', async () => {
    const s = await server(memoryHandler());
    const c = await client({ endpoints: [s.address], routing: false });
    await c.put('k', 'apple');
    await c.put('k', 'pear');
    await c.put('k', 'fig');
    expect(dec.decode((await c.getResolved('k')).value ?? new Uint8Array())).toBe('pear');
  });
});

describe('typed errors', () => {
  const cases: Array<[string, string]> = [
    ['bad_request', 'BAD_REQUEST'],
    ['unauthorized', 'UNAUTHORIZED'],
    ['too_large', 'TOO_LARGE'],
    ['unavailable', 'UNAVAILABLE'],
    ['overloaded', 'OVERLOADED'],
    ['something_new', 'INTERNAL'],
  ];
  for (const [wire, code] of cases) {
    it(`server '${wire}' becomes ${code}`, async () => {
      const s = await server((req) => ({ t: 'err', id: req.id, code: wire, msg: `nope: ${wire}` }));
      const c = await client({ endpoints: [s.address], routing: false });
      const err = await caught(c.get('k'));
      expect(isShoalError(err)).toBe(true);
      expect(err).toMatchObject({ code, message: `nope: ${wire}` });
    });
  }

  it('bad input fails before anything is sent', async () => {
    const s = await server(memoryHandler());
    const c = await client({ endpoints: [s.address], routing: false, maxValueBytes: 8 });
    expect(await caught(c.get(''))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await caught(c.get('x'.repeat(513)))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await caught(c.get('k', { r: 0 }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await caught(c.put('k', 'v', { w: 'most' as 'all' }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await caught(c.put('k', 'v', { timeoutMs: -1 }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await caught(c.put('k', 'v', { context: '' }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await caught(c.put('k', '123456789'))).toMatchObject({ code: 'TOO_LARGE' });
    expect(s.received).toHaveLength(0);
  });

  it('a request after close() fails with CLOSED, and close() fails requests in flight', async () => {
    const s = await server(() => null);
    const c = await client({ endpoints: [s.address], routing: false });
    const inFlight = c.get('k').catch((e: unknown) => e);
    await expect.poll(() => s.received.length).toBe(1);
    await c.close();
    expect(await inFlight).toMatchObject({ code: 'CLOSED' });
    expect(await caught(c.get('k'))).toMatchObject({ code: 'CLOSED' });
  });

  it('connect fails with UNAUTHORIZED when the upgrade is refused with 401', async () => {
    const s = await server(memoryHandler(), { rejectUpgradeWith: 401 });
    expect(await caught(connect({ endpoints: [s.address], token: 'wrong' }))).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('connect fails with UNAVAILABLE when nothing answers', async () => {
    const s = await server(memoryHandler());
    const dead = s.address;
    await s.stop();
    servers.splice(servers.indexOf(s), 1);
    expect(await caught(connect({ endpoints: [dead] }))).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('a bad endpoint is BAD_REQUEST', async () => {
    expect(await caught(connect({ endpoints: ['no-port'] }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await caught(connect({ endpoints: [] }))).toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('timeouts and limits', () => {
  it('a request the server never answers fails with TIMEOUT, with tmo sent to the server', async () => {
    const s = await server(() => null);
    const c = await client({ endpoints: [s.address], routing: false });
    const err = await caught(c.get('k', { timeoutMs: 30 }));
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect(s.received[0]).toMatchObject({ t: 'get', tmo: 30 });
  });

  it('requests in flight are bounded: beyond the cap a request fails with OVERLOADED', async () => {
    const s = await server(() => null);
    const c = await client({ endpoints: [s.address], routing: false });
    const { clientInFlightMax } = await import('../../src/config/index.js');
    const pending = Array.from({ length: clientInFlightMax }, (_, i) => c.get(`k${i}`).catch((e: unknown) => e));
    expect(await caught(c.get('one-too-many'))).toMatchObject({ code: 'OVERLOADED' });
    await c.close();
    const results = await Promise.all(pending);
    expect(results.every((e) => isShoalError(e, 'CLOSED'))).toBe(true);
  });

  it('request ids are unique among requests in flight', async () => {
    const s = await server(() => null);
    const c = await client({ endpoints: [s.address], routing: false });
    const pending = Array.from({ length: 50 }, (_, i) => c.get(`k${i}`).catch(() => undefined));
    await expect.poll(() => s.received.length).toBe(50);
    expect(new Set(s.received.map((r) => r.id)).size).toBe(50);
    expect(s.received.every((r) => Number.isInteger(r.id) && r.id >= 0 && r.id < 2 ** 32)).toBe(true);
    await c.close();
    await Promise.all(pending);
  });
});

describe('failover', () => {
  it('a get pending on a node that dies is retried on another endpoint', async () => {
    let died = false;
    const answer = memoryHandler();
    // Whichever node gets the first request dies without answering; the other answers.
    const dying = (req: Parameters<typeof answer>[0], ctx: Parameters<typeof answer>[1]): ClientResponse | null | 'close' => {
      if (!died) {
        died = true;
        return 'close';
      }
      return answer(req, ctx);
    };
    const a = await server(dying);
    const b = await server(dying);
    const c = await client({ endpoints: [a.address, b.address], routing: false });
    await expect.poll(() => c.connected().length).toBe(2);
    answer.store.set('k', { vals: [enc.encode('v')], ctx: 'C' });
    const got = await c.get('k');
    expect(got.values.map((v) => dec.decode(v))).toEqual(['v']);
    expect(a.received.length).toBe(1);
    expect(b.received.length).toBe(1);
  });

  it('a put sent on a connection that drops fails saying it may have been applied', async () => {
    const s = await server(() => 'close');
    const c = await client({ endpoints: [s.address], routing: false });
    const err = await caught(c.put('k', 'v'));
    expect(err).toMatchObject({ code: 'UNAVAILABLE', details: { maybeApplied: true } });
    expect((err as Error).message).toMatch(/may or may not have been applied/);
    expect(s.received).toHaveLength(1);
  });

  it('a put issued while no connection is open waits, and is sent once the client reconnects', async () => {
    const h = memoryHandler();
    const s = await server(h);
    const c = await client({ endpoints: [s.address], routing: false });
    s.dropAll();
    await expect.poll(() => c.connected().length).toBe(0);
    const w = await c.put('k', 'after reconnect', { timeoutMs: 10_000 });
    expect(typeof w.context).toBe('string');
    expect(h.store.get('k')?.vals.map((v) => dec.decode(v))).toEqual(['after reconnect']);
  });
});

describe('routing', () => {
  it('asks for the ring once, connects to the members, and sends each key to an owner', async () => {
    const q = 8;
    const a = await server(() => null);
    const b = await server(() => null);
    // Partitions alternate owners a, b, a, b...; with n=1 the owner is the only primary.
    const owners = Array.from({ length: q }, (_, i) => (i % 2 === 0 ? 'node-a' : 'node-b'));
    const members = [
      { id: 'node-a', addr: a.address },
      { id: 'node-b', addr: b.address },
    ];
    for (const s of [a, b]) {
      s.handler = (req) => {
        if (req.t === 'ring') return { t: 'ring_ok', id: req.id, q, n: 1, o: owners, m: members };
        if (req.t === 'get') return { t: 'get_ok', id: req.id, vals: [enc.encode(s === a ? 'a' : 'b')], ctx: null };
        return null;
      };
    }
    // Only a is given; b is learned from the ring.
    const c = await client({ endpoints: [a.address] });
    await expect.poll(() => c.connected().length).toBe(2);
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    for (const key of keys) {
      const expected = partitionOf(key, q) % 2 === 0 ? 'a' : 'b';
      const got = await c.get(key);
      expect(dec.decode(got.values[0] ?? new Uint8Array()), key).toBe(expected);
    }
    expect(a.received.filter((r) => r.t === 'ring').length + b.received.filter((r) => r.t === 'ring').length).toBe(1);
    const table = await c.ring();
    expect(table).toEqual({ partitions: q, n: 1, owners, members });
  });

  it('preferredOwners walks the ring from the key partition and skips repeats', () => {
    const table = { partitions: 4, n: 3, owners: ['a', 'b', 'a', 'c'], members: [] };
    for (const key of ['x', 'y', 'z', 'w']) {
      const p = partitionOf(key, 4);
      const expected = [...new Set([0, 1, 2, 3].map((i) => table.owners[(p + i) % 4]))].slice(0, 3);
      expect(preferredOwners(table, key)).toEqual(expected);
    }
  });
});

describe('authentication', () => {
  it('the Node entry sends the token as an Authorization header', async () => {
    const s = await server(memoryHandler());
    await client({ endpoints: [s.address], token: 't0k', routing: false });
    expect(s.upgrades[0]?.headers['authorization']).toBe('Bearer t0k');
  });

  it('the browser path offers shoal.v1 and the token as a base64url subprotocol', async () => {
    const s = await server(memoryHandler());
    // A browser-like constructor: (url, protocols) only, no headers.
    const BrowserLike = class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
      }
    } as unknown as WebSocketConstructor;
    const c = await browserConnect({ endpoints: [`ws://${s.address}`], token: 'tök/en', routing: false, WebSocket: BrowserLike });
    clients.push(c);
    await c.put('k', 'v');
    const offered = s.upgrades[0]?.headers['sec-websocket-protocol'] ?? '';
    expect(offered.split(',').map((p) => p.trim())).toEqual(['shoal.v1', `shoal.bearer.${Buffer.from('tök/en').toString('base64url')}`]);
    expect(s.upgrades[0]?.headers['authorization']).toBeUndefined();
  });

  it('the browser entry without a WebSocket fails with a clear error', async () => {
    expect(await caught(browserConnect({ endpoints: ['127.0.0.1:1'] }))).toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
