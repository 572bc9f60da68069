/**
 * Hostile input against one real node: generated inputs for the HTTP API, the client
 * WebSocket (/v1/ws) and the peer WebSocket (/v1/peer, before and after a genuine
 * handshake). Every input must end in a coded answer or in the node closing that one
 * connection, within a deadline; the node must stay up. The caller measures memory.
 */
import { encode } from 'cbor-x';
import fc from 'fast-check';
import { WebSocket, type RawData } from 'ws';
import { decode } from 'cbor-x';
import { createPeerCodec } from '../../src/wire/index.js';
import { decodeFrames, encodeFrames, FrameKind, handshakeMac, type Challenge } from '../../src/transport/index.js';

export interface FuzzTarget {
  host: string;
  port: number;
  id: string;
  secret: string;
  params: string;
  maxValueBytes: number;
}

export interface FuzzCounts {
  http: number;
  ws: number;
  peerOpen: number;
  peerAuth: number;
  answers: number;
  closes: number;
}

const DEADLINE_MS = 5_000;

/** CBOR made to hurt: deep nesting, huge declared lengths, truncation, wrong types, limits. */
export function hostileCbor(maxValueBytes: number): fc.Arbitrary<Uint8Array> {
  const requestish = fc.record(
    {
      t: fc.oneof(fc.constantFrom('get', 'put', 'del', 'ring', 'ping', 'gossip', 'rput', 'rget', 'fput'), fc.string(), fc.integer()),
      id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      k: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(''), fc.constant('k'.repeat(512)), fc.constant('k'.repeat(513)), fc.constant('é'.repeat(257)), fc.integer(), fc.uint8Array({ maxLength: 8 })),
      v: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array(maxValueBytes + 1)), fc.string(), fc.constant(null)),
      ctx: fc.oneof(fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 80 }), fc.integer()),
      r: fc.oneof(fc.integer({ min: -5, max: 10 }), fc.constantFrom('one', 'quorum', 'all', 'two', '')),
      w: fc.oneof(fc.integer({ min: -5, max: 10 }), fc.constantFrom('one', 'quorum', 'all', 'x')),
      tmo: fc.oneof(fc.integer(), fc.double(), fc.constant(-1), fc.constant(2 ** 40)),
      p: fc.oneof(fc.integer({ min: -2, max: 100 }), fc.string()),
      seq: fc.integer(),
    },
    { requiredKeys: [] },
  );
  const deep = fc.integer({ min: 10, max: 200_000 }).map((depth) => {
    const b = new Uint8Array(depth + 1).fill(0x81);
    b[depth] = 0x00;
    return b;
  });
  const deepMaps = fc.integer({ min: 10, max: 50_000 }).map((depth) => {
    const out: number[] = [];
    for (let i = 0; i < depth; i++) out.push(0xa1, 0x61, 0x61);
    out.push(0x00);
    return Uint8Array.from(out);
  });
  const hugeLength = fc
    .tuple(fc.constantFrom(0x5b, 0x7b, 0x9b, 0xbb, 0x5a, 0x7a, 0x9a, 0xba), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 16 }))
    .map(([head, len, tail]) => Uint8Array.from([head, ...(head & 1 ? len : len.slice(0, 4)), ...tail]));
  const indefinite = fc.uint8Array({ maxLength: 64 }).map((tail) => Uint8Array.from([0x9f, 0x9f, 0xbf, 0x5f, ...tail]));
  const tags = fc.tuple(fc.integer({ min: 0xc0, max: 0xdb }), fc.uint8Array({ maxLength: 24 })).map(([t, rest]) => Uint8Array.from([t, ...rest]));
  const valid = requestish.map((r) => new Uint8Array(encode(r)));
  const truncated = fc.tuple(requestish, fc.nat()).map(([r, cut]) => {
    const b = new Uint8Array(encode(r));
    return b.subarray(0, b.length === 0 ? 0 : cut % b.length);
  });
  return fc.oneof(
    { arbitrary: valid, weight: 5 },
    { arbitrary: truncated, weight: 3 },
    { arbitrary: fc.anything().map((x) => new Uint8Array(encode(x))), weight: 2 },
    { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 2 },
    { arbitrary: deep, weight: 1 },
    { arbitrary: deepMaps, weight: 1 },
    { arbitrary: hugeLength, weight: 2 },
    { arbitrary: indefinite, weight: 1 },
    { arbitrary: tags, weight: 1 },
  );
}

/** One client WebSocket kept open across inputs; reopened whenever the node closes it. */
class WsProbe {
  private ws: WebSocket | undefined;
  private waiting: ((what: 'answer' | 'close') => void) | undefined;
  constructor(private readonly url: string) {}
  private async open(): Promise<WebSocket> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return this.ws;
    const ws = new WebSocket(this.url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    ws.on('message', (d: RawData) => {
      const m = decode(d as Buffer) as { t?: unknown; code?: unknown };
      if (m.t === 'err' && typeof m.code !== 'string') throw new Error(`error answer without a code: ${JSON.stringify(m)}`);
      if (!['get_ok', 'put_ok', 'del_ok', 'ring_ok', 'err'].includes(String(m.t))) throw new Error(`unknown answer ${String(m.t)}`);
      this.waiting?.('answer');
    });
    ws.on('close', () => this.waiting?.('close'));
    this.ws = ws;
    return ws;
  }
  async send(bytes: Uint8Array, text: boolean): Promise<'answer' | 'close'> {
    const ws = await this.open();
    const outcome = new Promise<'answer' | 'close'>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer and no close within ${DEADLINE_MS} ms`)), DEADLINE_MS);
      this.waiting = (w) => {
        clearTimeout(t);
        this.waiting = undefined;
        resolve(w);
      };
    });
    ws.send(text ? Buffer.from(bytes).toString('latin1') : bytes, { binary: !text });
    return outcome;
  }
  close(): void {
    this.ws?.terminate();
  }
}

/** A peer link: raw before the handshake, or authenticated by a genuine handshake first. */
async function peerExchange(target: FuzzTarget, authenticate: boolean, input: Uint8Array, envelope: boolean, fuzzerId: string): Promise<'answer' | 'close'> {
  const ws = new WebSocket(`ws://${target.host}:${target.port}/v1/peer`);
  ws.on('error', () => {});
  const received: RawData[] = [];
  let closed = false;
  ws.on('message', (d: RawData) => received.push(d));
  const closedP = new Promise<void>((r) => ws.on('close', () => ((closed = true), r())));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const until = async (cond: () => boolean): Promise<void> => {
    const end = Date.now() + DEADLINE_MS;
    while (!cond()) {
      if (Date.now() > end) throw new Error('peer: deadline passed with neither an answer nor a close');
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  try {
    if (authenticate) {
      const nonce = Buffer.alloc(32, 3).toString('hex');
      ws.send(JSON.stringify({ t: 'hello', v: 1, id: fuzzerId, nonce, params: target.params, sec: true }));
      await until(() => received.length > 0 || closed);
      if (closed) throw new Error('peer: a genuine hello was refused');
      const c = JSON.parse(String(received[0])) as Challenge;
      const fields = { dialerNonce: nonce, acceptorNonce: c.nonce, dialerId: fuzzerId, acceptorId: target.id, params: target.params };
      ws.send(JSON.stringify({ t: 'auth', mac: handshakeMac(target.secret, 'dialer', fields) }));
      await until(() => received.length > 1 || closed);
      if (closed) throw new Error('peer: a genuine auth was refused');
      received.length = 0;
      const payload = envelope ? encodeFrames([{ kind: FrameKind.request, id: 7, payload: input }]) : input;
      ws.send(payload, { binary: true });
      // A probe request after it: answered while the link lives, or the link is closed.
      const probe = createPeerCodec({ maxValueBytes: target.maxValueBytes }).encode({ t: 'rget', p: 0, k: 'probe' });
      ws.send(encodeFrames([{ kind: FrameKind.request, id: 8, payload: probe }]), { binary: true });
      // Answers may be batched several frames to a message; any frame answering 8 will do.
      const answered = (): boolean =>
        received.some((d) => {
          try {
            return decodeFrames(d as Buffer, 64 * 1_048_576).some((f) => f.id === 8);
          } catch {
            throw new Error('peer: the node sent a malformed envelope');
          }
        });
      await until(() => closed || answered());
      return closed ? 'close' : 'answer';
    }
    ws.send(input, { binary: input.length % 2 === 0 });
    await until(() => closed);
    return 'close';
  } finally {
    ws.terminate();
    await closedP;
  }
}

function httpInput(maxValueBytes: number): fc.Arbitrary<{ method: string; path: string; headers: Record<string, string>; body: Uint8Array | undefined }> {
  const seg = fc.oneof(
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
    fc.constant('%'),
    fc.constant('%ZZ'),
    fc.constant('%C3%28'),
    fc.constant('a'.repeat(513)),
    fc.constant('%2F..%2F..'),
    fc.constant(''),
  );
  const path = fc.oneof(
    seg.map((s) => `/v1/kv/${s}`),
    seg.map((s) => `/v1/local/${s}`),
    seg.map((s) => `/v1/explain/${s}`),
    fc.constantFrom('/v1/status', '/v1/ring', '/v1/health', '/metrics', '/', '/v1/kv', '/v1/admin/nothing', '/v1/ws', '/v1/peer', '//', '/v1/kv/'),
  );
  const query = fc.array(fc.tuple(fc.constantFrom('r', 'w', 'timeout_ms', 'x'), fc.oneof(fc.string({ maxLength: 8 }), fc.integer().map(String), fc.constant('1e309'))), { maxLength: 3 })
    .map((qs) => (qs.length === 0 ? '' : `?${qs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`));
  const headers = fc.record(
    {
      'x-shoal-context': fc.oneof(fc.base64String({ maxLength: 200 }), fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s))),
      accept: fc.constantFrom('application/json', '*/*', 'text/html', 'application/cbor'),
      'content-type': fc.constantFrom('application/octet-stream', 'application/json', 'text/plain'),
      authorization: fc.constantFrom('Bearer x', 'Basic abc', 'Bearer'),
    },
    { requiredKeys: [] },
  );
  const body = fc.option(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.constant(new Uint8Array(maxValueBytes + 1))), { nil: undefined });
  return fc.record({
    method: fc.constantFrom('GET', 'PUT', 'DELETE', 'POST', 'PATCH', 'HEAD', 'OPTIONS'),
    path: fc.tuple(path, query).map(([p, q]) => p + q),
    headers,
    body,
  });
}

/**
 * Runs `runs` generated inputs split over the four surfaces (ws 45%, http 25%,
 * peer before a handshake 10%, authenticated peer 20%). Throws on the first input the
 * node neither answered with a code nor closed the connection for; fast-check shrinks it.
 */
export async function fuzzNode(target: FuzzTarget, runs: number, seed: number, isAlive: () => boolean, progress?: (done: number) => void): Promise<FuzzCounts> {
  const counts: FuzzCounts = { http: 0, ws: 0, peerOpen: 0, peerAuth: 0, answers: 0, closes: 0 };
  const ws = new WsProbe(`ws://${target.host}:${target.port}/v1/ws`);
  const base = `http://${target.host}:${target.port}`;
  let done = 0;
  const tick = (): void => {
    done += 1;
    if (progress && done % 10_000 === 0) progress(done);
    if (!isAlive()) throw new Error('the node process died');
  };
  try {
    const wsRuns = Math.round(runs * 0.45);
    await fc.assert(
      fc.asyncProperty(hostileCbor(target.maxValueBytes), fc.boolean(), async (bytes, text) => {
        const r = await ws.send(bytes, text && bytes.length < 64);
        counts.ws += 1;
        counts[r === 'answer' ? 'answers' : 'closes'] += 1;
        tick();
      }),
      { numRuns: wsRuns, seed, endOnFailure: true },
    );
    const httpRuns = Math.round(runs * 0.25);
    await fc.assert(
      fc.asyncProperty(httpInput(target.maxValueBytes), async (req) => {
        const res = await fetch(`${base}${req.path}`, {
          method: req.method,
          headers: req.headers,
          body: req.body === undefined || req.method === 'GET' || req.method === 'HEAD' ? undefined : new Blob([req.body as Uint8Array<ArrayBuffer>]),
          signal: AbortSignal.timeout(DEADLINE_MS),
        });
        const text = await res.text();
        counts.http += 1;
        counts.answers += 1;
        if (res.status >= 500 && res.status !== 503) throw new Error(`${req.method} ${req.path}: ${res.status} ${text.slice(0, 200)}`);
        if (res.status >= 400 && req.method !== 'HEAD' && !(res.status === 404 && req.path.startsWith('/v1/kv/'))) {
          const body = JSON.parse(text) as { error?: { code?: unknown } };
          if (typeof body.error?.code !== 'string') throw new Error(`${req.method} ${req.path}: ${res.status} without a coded error: ${text.slice(0, 200)}`);
        }
        tick();
      }),
      { numRuns: httpRuns, seed: seed + 1, endOnFailure: true },
    );
    const openRuns = Math.round(runs * 0.1);
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileCbor(target.maxValueBytes), fc.string().map((s) => new TextEncoder().encode(s))), async (bytes) => {
        const r = await peerExchange(target, false, bytes, false, 'fuzz-open');
        counts.peerOpen += 1;
        counts[r === 'answer' ? 'answers' : 'closes'] += 1;
        tick();
      }),
      { numRuns: openRuns, seed: seed + 2, endOnFailure: true },
    );
    const authRuns = Math.max(0, runs - wsRuns - httpRuns - openRuns);
    await fc.assert(
      fc.asyncProperty(hostileCbor(target.maxValueBytes), fc.boolean(), async (bytes, envelope) => {
        const r = await peerExchange(target, true, bytes, envelope, 'fuzz-peer:1');
        counts.peerAuth += 1;
        counts[r === 'answer' ? 'answers' : 'closes'] += 1;
        tick();
      }),
      { numRuns: authRuns, seed: seed + 3, endOnFailure: true },
    );
  } finally {
    ws.close();
  }
  return counts;
}
