/**
 * WebSocket-only behaviour: the handshake's refusals, deadlines, strict framing, batching
 * and reconnect, on real sockets bound to 127.0.0.1 (and 127.0.0.2 as a second address).
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { realEnv } from '../../src/env/index.js';
import { isShoalError } from '../../src/errors/index.js';
import { encodeFrames, FrameKind, handshakeMac, WsTransport, type Challenge, type Hello } from '../../src/transport/index.js';
import { bytes, expectCode, linkEvent, text, waitFor, wsNode, type WsNode } from './helpers.js';

const secret = 'test-secret';
const nodes: WsNode[] = [];
const sockets: WebSocket[] = [];
const servers: WebSocketServer[] = [];

async function node(options: Parameters<typeof wsNode>[0], port = 0): Promise<WsNode> {
  const n = await wsNode(options, port);
  nodes.push(n);
  return n;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

/** A hand-driven peer socket: sends what the test says, records what it receives. */
class RawPeer {
  readonly received: string[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<void>;
  constructor(readonly ws: WebSocket) {
    sockets.push(ws);
    ws.on('message', (data: RawData) => this.received.push(String(data)));
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      }),
    );
  }
  static async dial(address: string, localAddress = '127.0.0.1'): Promise<RawPeer> {
    const p = new RawPeer(new WebSocket(`ws://${address}/v1/peer`, { localAddress }));
    await once(p.ws, 'open');
    return p;
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  async next<T>(): Promise<T> {
    const at = this.received.length;
    await waitFor(() => this.received.length > at || this.closeCode !== undefined, 'a handshake message');
    const m = this.received[at];
    if (m === undefined) throw new Error(`closed ${this.closeCode} ${this.closeReason}`);
    return JSON.parse(m) as T;
  }
}

const nonce = (fill: number): string => Buffer.alloc(32, fill).toString('hex');

/** Completes a legitimate dialer handshake by hand; returns the transcript it sent. */
async function handDial(address: string, id: string, acceptorId: string, localAddress?: string): Promise<{ peer: RawPeer; sent: object[] }> {
  const peer = await RawPeer.dial(address, localAddress);
  const hello: Hello = { t: 'hello', v: 1, id, nonce: nonce(7), params: 'n=3,q=64', sec: true };
  peer.send(hello);
  const c = await peer.next<Challenge>();
  const fields = { dialerNonce: hello.nonce, acceptorNonce: c.nonce, dialerId: id, acceptorId, params: 'n=3,q=64' };
  expect(c.mac).toBe(handshakeMac(secret, 'acceptor', fields));
  const auth = { t: 'auth', mac: handshakeMac(secret, 'dialer', fields) };
  peer.send(auth);
  expect(await peer.next<{ t: string }>()).toEqual({ t: 'welcome' });
  return { peer, sent: [hello, auth] };
}

function refusals(t: WsTransport): Array<[string, number, string]> {
  const out: Array<[string, number, string]> = [];
  t.onRefused((who, code, reason) => out.push([who, code, reason]));
  return out;
}

describe('WsTransport construction', () => {
  it('has no default secret', () => {
    expect(() => new WsTransport({ self: 'a', host: '127.0.0.1', secret: '', env: realEnv() })).toThrow(/secret/);
    try {
      new WsTransport({ self: 'a', host: '127.0.0.1', env: realEnv() });
    } catch (err) {
      expect(isShoalError(err, 'INVALID_CONFIG')).toBe(true);
    }
  });

  it('allows insecureLoopback only on a loopback host', () => {
    expect(() => new WsTransport({ self: 'a', host: '10.1.2.3', insecureLoopback: true, env: realEnv() })).toThrow(/loopback/);
    expect(() => new WsTransport({ self: 'a', host: '127.0.0.1', insecureLoopback: true, secret: 'x', env: realEnv() })).toThrow(/exclusive/);
  });
});

describe('WsTransport handshake', () => {
  it('links two nodes with the secret, and two insecure loopback nodes without one', async () => {
    const a = await node({ self: 'a' });
    const b = await node({ self: 'b' });
    expect(await a.t.connectSeed(b.address)).toBe('b');
    const c = await node({ self: 'c', secret: undefined, insecureLoopback: true });
    const d = await node({ self: 'd', secret: undefined, insecureLoopback: true });
    expect(await c.t.connectSeed(d.address)).toBe('d');
    d.t.onMessage((_f, p, reply) => reply?.(p));
    expect(text(await c.t.request('d', bytes('ok'), 5_000))).toBe('ok');
  });

  it('refuses a wrong secret in both directions, reporting it on both sides', async () => {
    const a = await node({ self: 'a' });
    const b = await node({ self: 'b', secret: 'another-secret' });
    const ra = refusals(a.t);
    const rb = refusals(b.t);
    await expectCode(a.t.connectSeed(b.address), 'AUTH_FAILED');
    await expectCode(b.t.connectSeed(a.address), 'AUTH_FAILED');
    await waitFor(() => ra.length === 2 && rb.length === 2, 'refusals on both sides');
    expect([...ra, ...rb].every(([, code]) => code === 4001)).toBe(true);
    expect(ra.some(([, , reason]) => /failed to prove the cluster secret/.test(reason))).toBe(true);
    expect(a.t.stats().peers['b']?.up ?? false).toBe(false);
  });

  it('refuses a secure node talking to an insecure one', async () => {
    const a = await node({ self: 'a' });
    const c = await node({ self: 'c', secret: undefined, insecureLoopback: true });
    await expectCode(c.t.connectSeed(a.address), 'AUTH_FAILED');
    await expectCode(a.t.connectSeed(c.address), 'AUTH_FAILED');
  });

  it('refuses a dialer whose proof is wrong', async () => {
    const b = await node({ self: 'b' });
    const rb = refusals(b.t);
    const peer = await RawPeer.dial(b.address);
    peer.send({ t: 'hello', v: 1, id: 'mallory', nonce: nonce(1), params: 'n=3,q=64', sec: true });
    await peer.next<Challenge>();
    peer.send({ t: 'auth', mac: 'ab'.repeat(32) });
    await peer.closed;
    expect(peer.closeCode).toBe(4001);
    expect(rb[0]?.[0]).toBe('mallory');
  });

  it('refuses a replayed dialer transcript: the acceptor nonce is fresh', async () => {
    const b = await node({ self: 'b' });
    const { peer, sent } = await handDial(b.address, 'a', 'b');
    peer.ws.terminate();
    const replay = await RawPeer.dial(b.address);
    for (const m of sent) replay.send(m);
    await replay.closed;
    expect(replay.closeCode).toBe(4001);
    expect(b.t.stats().peers['a']?.up ?? false).toBe(false);
  });

  it('refuses a replayed acceptor challenge: the dialer nonce is fresh', async () => {
    const b = await node({ self: 'b' });
    const a = await node({ self: 'a' });
    // Record b's challenge to a hand-made hello.
    const rec = await RawPeer.dial(b.address);
    rec.send({ t: 'hello', v: 1, id: 'a', nonce: nonce(9), params: 'n=3,q=64', sec: true });
    const recorded = await rec.next<Challenge>();
    rec.ws.terminate();
    // An impostor at another port replays it to a when a dials.
    const fake = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    servers.push(fake);
    await once(fake, 'listening');
    fake.on('connection', (ws) => ws.once('message', () => ws.send(JSON.stringify(recorded))));
    const port = (fake.address() as { port: number }).port;
    const err = await expectCode(a.t.connectSeed(`127.0.0.1:${port}`), 'AUTH_FAILED');
    expect(err.message).toMatch(/failed to prove/);
  });

  it('refuses a node that is not the one the dialer expected at that address', async () => {
    const a = await node({ self: 'a' });
    const b = await node({ self: 'b' });
    const ra = refusals(a.t);
    const rb = refusals(b.t);
    a.t.setPeer('x', b.address);
    await waitFor(() => ra.length > 0 && rb.length > 0, 'refusals on both sides');
    expect(ra[0]).toEqual(['x', 4001, `expected x at ${b.address}, it claims b`]);
    expect(rb[0]?.[1]).toBe(4001);
    expect(a.t.stats().peers['x']?.up ?? false).toBe(false);
  });

  it('refuses a second address claiming an id that is already authenticated', async () => {
    const a = await node({ self: 'a' });
    const b = await node({ self: 'b' });
    expect(await a.t.connectSeed(b.address)).toBe('b');
    // The same id (and secret) from 127.0.0.2: a twin or an impostor; the first keeps the id.
    const twin = await node({ self: 'a', host: '127.0.0.2' });
    const rb = refusals(b.t);
    const err = await expectCode(twin.t.connectSeed(b.address), 'AUTH_FAILED');
    expect(err.message).toMatch(/already connected from 127\.0\.0\.1/);
    expect(rb[0]?.[1]).toBe(4001);
    // A reconnect from the original address is still welcome.
    const again = await handDial(b.address, 'a', 'b', '127.0.0.1');
    expect(again.peer.closeCode).toBeUndefined();
  });

  it('refuses different cluster parameters on both sides, naming both values', async () => {
    const a = await node({ self: 'a', clusterParams: 'n=3,q=64' });
    const b = await node({ self: 'b', clusterParams: 'n=5,q=128' });
    const ra = refusals(a.t);
    const rb = refusals(b.t);
    const err = await expectCode(a.t.connectSeed(b.address), 'CONFIG_MISMATCH');
    expect(err.message).toBe('cluster params differ: acceptor n=5,q=128, dialer n=3,q=64');
    await waitFor(() => ra.length === 1 && rb.length === 1, 'refusal events on both sides');
    expect(ra[0]).toEqual([b.address, 4002, 'cluster params differ: acceptor n=5,q=128, dialer n=3,q=64']);
    expect(rb[0]).toEqual(['a', 4002, 'cluster params differ: acceptor n=5,q=128, dialer n=3,q=64']);
  });

  it('closes a socket that stays silent past the handshake deadline', async () => {
    const b = await node({ self: 'b', limits: { handshakeTimeoutMs: 50 } });
    const silent = await RawPeer.dial(b.address);
    await silent.closed;
    expect(silent.closeCode).toBe(1006);
    // And a dialer whose acceptor never answers gives up with TIMEOUT.
    const mute = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    servers.push(mute);
    await once(mute, 'listening');
    const a = await node({ self: 'a', limits: { handshakeTimeoutMs: 50 } });
    await expectCode(a.t.connectSeed(`127.0.0.1:${(mute.address() as { port: number }).port}`), 'TIMEOUT');
  });

  it('refuses binary frames before the handshake and limits pending handshakes', async () => {
    const b = await node({ self: 'b', limits: { handshakesPendingMax: 1 } });
    const first = await RawPeer.dial(b.address);
    const second = await RawPeer.dial(b.address);
    await second.closed;
    expect(second.closeCode).toBe(1013);
    first.ws.send(new Uint8Array([1, 2, 3]));
    await first.closed;
    expect(first.closeCode).toBe(4001);
    // The slot is free again.
    const third = await handDial(b.address, 'a', 'b');
    expect(third.peer.closeCode).toBeUndefined();
  });
});

describe('WsTransport framing', () => {
  const garbage: Array<[string, Uint8Array]> = [
    ['truncated header', new Uint8Array([1, 0, 0])],
    ['unknown kind', encodeFrames([{ kind: 9 as FrameKind, id: 1, payload: new Uint8Array(1) }])],
    ['oversized length', new Uint8Array([3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])],
    ['truncated payload', encodeFrames([{ kind: FrameKind.oneWay, id: 0, payload: new Uint8Array(10) }]).subarray(0, 12)],
    ['one-way with an id', encodeFrames([{ kind: FrameKind.oneWay, id: 5, payload: new Uint8Array(0) }])],
    ['empty message', new Uint8Array(0)],
  ];
  for (const [what, frame] of garbage) {
    it(`closes only the offending connection on ${what} (1007)`, async () => {
      const a = await node({ self: 'a' });
      const b = await node({ self: 'b' });
      await a.t.connectSeed(b.address);
      b.t.onMessage((_f, p, reply) => reply?.(p));
      const { peer } = await handDial(b.address, 'mallory', 'b');
      peer.ws.send(frame);
      await peer.closed;
      expect(peer.closeCode).toBe(1007);
      expect(text(await a.t.request('b', bytes('still serving'), 5_000))).toBe('still serving');
    });
  }

  it('flushes frames queued in one turn as one WebSocket message', async () => {
    const a = await node({ self: 'a' });
    const b = await node({ self: 'b' });
    await a.t.connectSeed(b.address);
    let got = 0;
    b.t.onMessage(() => {
      got++;
    });
    for (let i = 0; i < 100; i++) expect(a.t.send('b', bytes(`m${i}`))).toBe(true);
    await waitFor(() => got === 100, 'a hundred messages');
    expect(a.t.stats().peers['b']).toMatchObject({ framesSent: 100, messagesSent: 1 });
  });

  it('cuts batches at the frame limit', async () => {
    const limits = { payloadBytesMax: 1_000, frameBytesMax: 2_100 };
    const a = await node({ self: 'a', limits });
    const b = await node({ self: 'b', limits });
    await a.t.connectSeed(b.address);
    let got = 0;
    b.t.onMessage(() => {
      got++;
    });
    for (let i = 0; i < 4; i++) a.t.send('b', new Uint8Array(1_000));
    await waitFor(() => got === 4, 'four messages');
    expect(a.t.stats().peers['b']?.messagesSent).toBe(2);
  });

  it('refuses sends once the send buffer is over its limit', async () => {
    const a = await node({ self: 'a', limits: { sendBufferBytesMax: 10_000 } });
    const b = await node({ self: 'b' });
    await a.t.connectSeed(b.address);
    let sent = 0;
    while (a.t.send('b', new Uint8Array(1_000))) sent++;
    expect(sent).toBeLessThanOrEqual(10);
    await expectCode(a.t.request('b', new Uint8Array(1_000), 1_000), 'OVERLOADED');
  });
});

describe('WsTransport links', () => {
  it('keeps both links when both sides dial, and answers on the link a request came in on', async () => {
    const a = await node({ self: 'a' });
    const b = await node({ self: 'b' });
    a.t.onMessage((_f, p, reply) => reply?.(bytes(`a:${text(p)}`)));
    b.t.onMessage((_f, p, reply) => reply?.(bytes(`b:${text(p)}`)));
    const up = Promise.all([linkEvent(a.t, 'b', true), linkEvent(b.t, 'a', true)]);
    a.t.setPeer('b', b.address);
    b.t.setPeer('a', a.address);
    await up;
    await waitFor(() => (a.t.stats().peers['b']?.reconnects ?? -1) === 0, 'stats');
    const answers = await Promise.all([a.t.request('b', bytes('1'), 5_000), b.t.request('a', bytes('2'), 5_000)]);
    expect(answers.map(text)).toEqual(['b:1', 'a:2']);
    // A seed dial to an already linked peer resolves with its id and adds no link event.
    expect(await a.t.connectSeed(b.address)).toBe('b');
  });

  it('reconnects with backoff after the other node restarts', async () => {
    const limits = { reconnectBaseMs: 5, reconnectMaxMs: 40 };
    const a = await node({ self: 'a', limits });
    let b = await node({ self: 'b', limits });
    a.t.setPeer('b', b.address);
    await linkEvent(a.t, 'b', true);
    const down = linkEvent(a.t, 'b', false);
    const port = b.port;
    await b.close();
    await down;
    await expectCode(a.t.request('b', bytes('x'), 1_000), 'CLOSED');
    const upAgain = linkEvent(a.t, 'b', true);
    b = await node({ self: 'b', limits }, port);
    b.t.onMessage((_f, p, reply) => reply?.(p));
    await upAgain;
    expect(text(await a.t.request('b', bytes('back'), 5_000))).toBe('back');
    expect(a.t.stats().peers['b']?.reconnects).toBe(1);
  });

  it('sends on the link the peer opened until it knows the peer address', async () => {
    const a = await node({ self: 'a' });
    const b = await node({ self: 'b' });
    a.t.onMessage((_f, p, reply) => reply?.(p));
    await a.t.connectSeed(b.address);
    await linkEvent(b.t, 'a', true);
    expect(text(await b.t.request('a', bytes('via incoming'), 5_000))).toBe('via incoming');
  });
});
