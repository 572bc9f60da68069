import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { WS_BEARER_PREFIX, WS_PROTOCOL } from '../../src/api/index.js';
import { objectDigest } from '../../src/antientropy/index.js';
import { ShoalError } from '../../src/errors/index.js';
import * as vc from '../../src/vclock/index.js';
import { createClientCodec, type ClientRequest, type ClientResponse } from '../../src/wire/index.js';
import { FakeService } from './fake-service.js';
import { type Harness, request, start } from './helpers.js';

const codec = createClientCodec({ maxValueBytes: 1024 });

let h: Harness | undefined;
const open: WebSocket[] = [];
afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  await h?.api.close();
  h = undefined;
});

async function boot(options: Parameters<typeof start>[0] = {}): Promise<Harness> {
  h = await start(options);
  return h;
}

/** A minimal client: sends requests, collects answers by id, records how the socket closed. */
class Client {
  private readonly waiting = new Map<number, (r: ClientResponse) => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const r = codec.decodeResponse(new Uint8Array(data));
      const f = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      f?.(r);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(req: ClientRequest): Promise<ClientResponse> {
    return new Promise((resolve) => {
      this.waiting.set(req.id, resolve);
      this.ws.send(codec.encodeRequest(req));
    });
  }
}

type ConnectResult = { ok: true; client: Client; protocol: string } | { ok: false; status: number };

function connect(port: number, options: { headers?: Record<string, string>; protocols?: string[]; path?: string } = {}): Promise<ConnectResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/v1/ws'}`, options.protocols ?? [], { headers: options.headers });
    open.push(ws);
    ws.on('open', () => resolve({ ok: true, client: new Client(ws), protocol: ws.protocol }));
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      resolve({ ok: false, status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => reject(err));
  });
}

async function client(port: number, options: Parameters<typeof connect>[1] = {}): Promise<Client> {
  const r = await connect(port, options);
  if (!r.ok) throw new Error(`upgrade refused with ${r.status}`);
  return r.client;
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('/v1/ws requests', () => {
  it('puts, gets and deletes with contexts', async () => {
    const { port, service } = await boot();
    const c = await client(port);
    expect(await c.send({ t: 'get', id: 1, k: 'k' })).toEqual({ t: 'get_ok', id: 1, vals: [], ctx: null });
    expect(await c.send({ t: 'put', id: 2, k: 'k', v: bytes('a') })).toEqual({ t: 'put_ok', id: 2, ctx: 'v1' });
    expect(await c.send({ t: 'put', id: 3, k: 'k', v: bytes('b'), w: 'all', tmo: 500 })).toEqual({ t: 'put_ok', id: 3, ctx: 'v2' });
    expect(service.calls.at(-1)?.options).toEqual({ context: undefined, w: 3, timeoutMs: 500 });

    const got = await c.send({ t: 'get', id: 4, k: 'k', r: 'quorum' });
    expect(got.t).toBe('get_ok');
    if (got.t !== 'get_ok') return;
    expect(got.vals.map(text)).toEqual(['a', 'b']);
    expect(got.ctx).toBe('v2');
    expect(service.calls.at(-1)?.options).toEqual({ r: 2, timeoutMs: undefined });

    expect(await c.send({ t: 'put', id: 5, k: 'k', v: bytes('c'), ctx: 'v2' })).toEqual({ t: 'put_ok', id: 5, ctx: 'v3' });
    const one = await c.send({ t: 'get', id: 6, k: 'k' });
    expect(one.t === 'get_ok' && one.vals.map(text)).toEqual(['c']);

    expect(await c.send({ t: 'del', id: 7, k: 'k', ctx: 'v3', w: 1 })).toEqual({ t: 'put_ok', id: 7, ctx: 'v4' });
    expect(await c.send({ t: 'get', id: 8, k: 'k' })).toEqual({ t: 'get_ok', id: 8, vals: [], ctx: 'v4' });
  });

  it('answers ring from the node routing view', async () => {
    const { port } = await boot();
    const c = await client(port);
    expect(await c.send({ t: 'ring', id: 9 })).toEqual({ t: 'ring_ok', id: 9, q: 8, n: 3, r: 2, o: ['n1', 'n2'], m: [{ id: 'n1', addr: '127.0.0.1:1' }] });
  });

  it('answers a direct read (lget) with the node own whole object, null when absent, err when refused', async () => {
    const { port, service } = await boot();
    const c = await client(port);
    expect(await c.send({ t: 'lget', id: 1, k: 'k' })).toEqual({ t: 'lget_ok', id: 1, o: null });
    await c.send({ t: 'put', id: 2, k: 'k', v: bytes('a') });
    await c.send({ t: 'put', id: 3, k: 'k', v: bytes('b') });
    const got = await c.send({ t: 'lget', id: 4, k: 'k' });
    expect(got.t).toBe('lget_ok');
    if (got.t !== 'lget_ok' || got.o === null) throw new Error('expected an object');
    // The whole object in its wire form: the dots and every sibling (newest first).
    expect(got.o.e).toHaveLength(1);
    expect(got.o.e[0]?.[0]).toBe('n1');
    expect(got.o.e[0]?.[1]).toBe(2);
    expect(got.o.e[0]?.[3].map((s) => (s[0] === null ? null : text(s[0])))).toEqual(['b', 'a']);
        // With dg, only the digest of the same object (anti-entropy's), or null.
    const dg = await c.send({ t: 'lget', id: 7, k: 'k', dg: true });
    expect(dg).toEqual({ t: 'lget_dg_ok', id: 7, dg: objectDigest(vc.fromWire(got.o)) });
    expect(await c.send({ t: 'lget', id: 8, k: 'missing', dg: true })).toEqual({ t: 'lget_dg_ok', id: 8, dg: null });
    expect(service.calls.filter((x) => x.op === 'own').map((x) => x.key)).toEqual(['k', 'k', 'k', 'missing']);
    service.failNext = new ShoalError('UNAVAILABLE', 'n1 is not a primary owner of this key');
    expect(await c.send({ t: 'lget', id: 5, k: 'k' })).toMatchObject({ t: 'err', id: 5, code: 'unavailable' });
    expect(await c.send({ t: 'lget', id: 6, k: '' })).toMatchObject({ t: 'err', id: 6, code: 'bad_request' });
    // The API counts every answer by frame type and outcome, in sorted series.
    const lines = h!.api.apiMetricsText().split('\n').filter((l) => l.startsWith('shoal_api_ws_requests_total{'));
    expect(lines).toContain('shoal_api_ws_requests_total{type="lget",code="ok"} 4');
    expect(lines).toContain('shoal_api_ws_requests_total{type="lget",code="unavailable"} 1');
    expect(lines).toContain('shoal_api_ws_requests_total{type="put",code="ok"} 2');
    expect(lines).toEqual([...lines].sort());
  });

  it('answers err with the same id when the node fails, and keeps the connection', async () => {
    const { port, service, logs } = await boot();
    const c = await client(port);
    service.failNext = new ShoalError('UNAVAILABLE', 'only 1 of 2 replicas acknowledged');
    const e1 = await c.send({ t: 'put', id: 41, k: 'k', v: bytes('x') });
    expect(e1).toMatchObject({ t: 'err', id: 41, code: 'unavailable' });
    expect(e1.t === 'err' && e1.msg).toMatch(/converge/);
    service.failNext = new Error('kaboom internals');
    const e2 = await c.send({ t: 'get', id: 42, k: 'k' });
    expect(e2).toMatchObject({ t: 'err', id: 42, code: 'internal' });
    expect(e2.t === 'err' && e2.msg).not.toMatch(/kaboom/);
    expect(logs.some((l) => l.event === 'api_error' && l.fields['error'] === 'kaboom internals')).toBe(true);
    expect(await c.send({ t: 'get', id: 43, k: 'k' })).toMatchObject({ t: 'get_ok', id: 43 });
  });

  it('answers bad_request for parameters outside the cluster (quorum above N, bad context)', async () => {
    const { port, service } = await boot();
    const c = await client(port);
    expect(await c.send({ t: 'get', id: 1, k: 'k', r: 4 })).toMatchObject({ t: 'err', id: 1, code: 'bad_request' });
    expect(await c.send({ t: 'put', id: 2, k: 'k', v: bytes('x'), ctx: 'nonsense' })).toMatchObject({ t: 'err', id: 2, code: 'bad_request' });
    expect(await c.send({ t: 'del', id: 3, k: 'k', ctx: '' })).toMatchObject({ t: 'err', id: 3, code: 'bad_request' });
    expect(await c.send({ t: 'put', id: 4, k: 'k', v: bytes('x'), tmo: 60_001 })).toMatchObject({ t: 'err', id: 4, code: 'bad_request' });
    // Only the bad context reached the node (it is the node's to judge).
    expect(service.kvCalls()).toBe(1);
  });
});

describe('/v1/ws frames', () => {
  it('closes a connection that sends garbage with 1007, while other connections keep working', async () => {
    const { port } = await boot();
    const good = await client(port);
    const bad = await client(port);
    bad.ws.send(new Uint8Array([0xff, 0x00, 0x13, 0x37]));
    const closed = await bad.closed;
    expect(closed.code).toBe(1007);
    expect(closed.reason).toMatch(/^decode: /);
    expect(await good.send({ t: 'put', id: 1, k: 'k', v: bytes('x') })).toMatchObject({ t: 'put_ok', id: 1 });
  });

  it('closes on a text frame with 1003', async () => {
    const { port } = await boot();
    const c = await client(port);
    c.ws.send('{"t":"get"}');
    expect((await c.closed).code).toBe(1003);
  });

  it('closes on a frame over the size limit with 1009', async () => {
    const { port } = await boot();
    const c = await client(port);
    c.ws.send(new Uint8Array(1024 + 65_536 + 1));
    expect((await c.closed).code).toBe(1009);
  });

  it('answers err for a readable request with an invalid field, and stays open', async () => {
    const { port } = await boot();
    const c = await client(port);
    // An empty key fails the schema; the id is readable, so only that request fails.
    const encoded = codec.encodeRequest({ t: 'get', id: 77, k: '' });
    const answer = new Promise<ClientResponse>((resolve) => c.ws.once('message', (d: Buffer) => resolve(codec.decodeResponse(new Uint8Array(d)))));
    c.ws.send(encoded);
    expect(await answer).toMatchObject({ t: 'err', id: 77, code: 'bad_request' });
    expect(await c.send({ t: 'get', id: 78, k: 'k' })).toMatchObject({ t: 'get_ok', id: 78 });
  });

  it('answers too_large for a value over maxValueBytes in a frame that is otherwise fine', async () => {
    const { port, service } = await boot();
    const c = await client(port);
    const big = codec.encodeRequest({ t: 'put', id: 5, k: 'k', v: new Uint8Array(2048) });
    const answer = new Promise<ClientResponse>((resolve) => c.ws.once('message', (d: Buffer) => resolve(codec.decodeResponse(new Uint8Array(d)))));
    c.ws.send(big);
    expect(await answer).toMatchObject({ t: 'err', id: 5, code: 'too_large' });
    expect(service.calls).toEqual([]);
  });
});

describe('/v1/ws admission', () => {
  it('requires the token: header or subprotocol, refused with 401 before the upgrade', async () => {
    const { port, logs } = await boot({ clientToken: 'sekrit' });
    expect(await connect(port)).toEqual({ ok: false, status: 401 });
    expect(await connect(port, { headers: { Authorization: 'Bearer nope' } })).toEqual({ ok: false, status: 401 });
    expect(await connect(port, { protocols: [WS_PROTOCOL, `${WS_BEARER_PREFIX}${Buffer.from('nope').toString('base64url')}`] })).toEqual({ ok: false, status: 401 });
    expect(logs.filter((l) => l.event === 'api_auth_failed').length).toBe(3);

    const byHeader = await connect(port, { headers: { Authorization: 'Bearer sekrit' } });
    expect(byHeader.ok).toBe(true);
    const byProtocol = await connect(port, { protocols: [WS_PROTOCOL, `${WS_BEARER_PREFIX}${Buffer.from('sekrit').toString('base64url')}`] });
    expect(byProtocol.ok && byProtocol.protocol).toBe(WS_PROTOCOL);
    if (byProtocol.ok) expect(await byProtocol.client.send({ t: 'get', id: 1, k: 'k' })).toMatchObject({ t: 'get_ok' });
  });

  it('refuses a browser Origin that is neither this node nor allowed (403), before checking anything else', async () => {
    const { port, logs } = await boot({ allowedOrigins: ['https://app.example'] });
    expect(await connect(port, { headers: { Origin: 'https://evil.example' } })).toEqual({ ok: false, status: 403 });
    expect(logs.some((l) => l.event === 'api_origin_refused')).toBe(true);
    expect((await connect(port, { headers: { Origin: 'https://app.example' } })).ok).toBe(true);
    expect((await connect(port, { headers: { Origin: `http://127.0.0.1:${port}` } })).ok).toBe(true);
    expect((await connect(port)).ok).toBe(true);
  });

  it('answers overloaded beyond the per-connection in-flight limit, then serves the held requests', async () => {
    const { port, service } = await boot({ limits: { clientInFlightMax: 2 } });
    const c = await client(port);
    const release = service.hold();
    const a = c.send({ t: 'get', id: 1, k: 'a' });
    const b = c.send({ t: 'put', id: 2, k: 'b', v: bytes('x') });
    await service.callsReach(2);
    expect(await c.send({ t: 'get', id: 3, k: 'c' })).toMatchObject({ t: 'err', id: 3, code: 'overloaded' });
    // Another connection has its own allowance.
    const other = await client(port);
    const d = other.send({ t: 'get', id: 1, k: 'd' });
    await service.callsReach(3);
    release();
    expect(await a).toMatchObject({ t: 'get_ok', id: 1 });
    expect(await b).toMatchObject({ t: 'put_ok', id: 2 });
    expect(await d).toMatchObject({ t: 'get_ok', id: 1 });
    expect(await c.send({ t: 'get', id: 4, k: 'b' })).toMatchObject({ t: 'get_ok', id: 4 });
  });

  it('shares the node-wide in-flight limit with HTTP', async () => {
    const { port, service } = await boot({ limits: { inFlightMax: 1 } });
    const c = await client(port);
    const release = service.hold();
    const a = c.send({ t: 'get', id: 1, k: 'a' });
    await service.callsReach(1);
    expect(await c.send({ t: 'get', id: 2, k: 'b' })).toMatchObject({ t: 'err', id: 2, code: 'overloaded' });
    release();
    expect(await a).toMatchObject({ t: 'get_ok', id: 1 });
  });

  it('cuts off a client that does not read its answers (1008)', async () => {
    const service = new FakeService(1024);
    const { port } = await boot({ service, limits: { clientSendBufferBytesMax: 4096 } });
    const c = await client(port);
    await c.send({ t: 'put', id: 0, k: 'big', v: new Uint8Array(1024) });
    // Stop reading; keep asking for the 1 KiB value until the node's send buffer fills.
    const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    let id = 1;
    const pump = setInterval(() => {
      for (let i = 0; i < 200 && c.ws.readyState === WebSocket.OPEN; i++) c.ws.send(codec.encodeRequest({ t: 'get', id: id++, k: 'big' }));
    }, 1);
    const deadline = Date.now() + 10_000;
    while (!h?.logs.some((l) => l.event === 'api_ws_slow_reader') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    clearInterval(pump);
    socket.resume();
    expect((await c.closed).code).toBe(1008);
  });

  it('routes /v1/peer upgrades to the node transport, and refuses them without one', async () => {
    const seen: string[] = [];
    const { port } = await boot({
      peerUpgrade: (req, socket) => {
        seen.push(req.url ?? '');
        socket.end('HTTP/1.1 418 I am a peer\r\nContent-Length: 0\r\n\r\n');
      },
    });
    expect(await connect(port, { path: '/v1/peer?from=n2' })).toEqual({ ok: false, status: 418 });
    expect(seen).toEqual(['/v1/peer?from=n2']);
    await h?.api.close();
    const bare = await boot();
    expect(await connect(bare.port, { path: '/v1/peer' })).toEqual({ ok: false, status: 404 });
    expect(await connect(bare.port, { path: '/elsewhere' })).toEqual({ ok: false, status: 404 });
  });

  it('close() does not wait for peer connections, which belong to the transport', async () => {
    const peers = new WebSocketServer({ noServer: true });
    const held: WebSocket[] = [];
    const { port, api } = await boot({
      peerUpgrade: (req, socket, head) => peers.handleUpgrade(req, socket, head, (ws) => held.push(ws)),
    });
    const peer = await connect(port, { path: '/v1/peer' });
    expect(peer.ok).toBe(true);
    const c = await client(port);
    const httpIdle = await request(port, 'GET', '/v1/health');
    expect(httpIdle.status).toBe(200);
    await api.close();
    h = undefined;
    expect((await c.closed).code).toBe(1001);
    // The peer connection is still open: closing it is the transport's job.
    expect(held[0]?.readyState).toBe(WebSocket.OPEN);
    for (const ws of held) ws.terminate();
    peers.close();
  });

  it('closes client connections with 1001 when the server closes', async () => {
    const { port, api } = await boot();
    const c = await client(port);
    await api.close();
    h = undefined;
    expect((await c.closed).code).toBe(1001);
  });
});

describe('a node that is still starting', () => {
  it('opens the port before the service exists: health 503, requests 503, /v1/ws refused; then serves', async () => {
    let real: FakeService | undefined;
    // The node passes a stand-in whose every property throws UNAVAILABLE until it has started.
    const service = new Proxy({} as FakeService, {
      get: (_t, prop) => {
        if (real === undefined) throw new ShoalError('UNAVAILABLE', 'the node is starting');
        const v = (real as unknown as Record<string | symbol, unknown>)[prop];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(real) : v;
      },
    });
    const { port } = await boot({ service, ready: () => real !== undefined });
    const health = await request(port, 'GET', '/v1/health');
    expect(health.status).toBe(503);
    expect(health.json()).toMatchObject({ ok: false });
    expect((await request(port, 'GET', '/v1/kv/k')).status).toBe(503);
    expect((await request(port, 'PUT', '/v1/kv/k', { body: 'v' })).status).toBe(503);
    expect((await request(port, 'GET', '/v1/status')).status).toBe(503);
    expect(await connect(port)).toEqual({ ok: false, status: 503 });

    real = new FakeService();
    expect((await request(port, 'GET', '/v1/health')).json()).toEqual({ ok: true });
    const c = await client(port);
    expect(await c.send({ t: 'put', id: 1, k: 'k', v: bytes('x') })).toMatchObject({ t: 'put_ok', id: 1 });
  });
});
