/**
 * Drivers: how the generator talks to a store. Three, built alike so a comparison
 * compares stores rather than clients:
 *
 * - `sdkDriver`: Shoal's SDK (src/client/node.ts), CBOR over one WebSocket per node,
 *   requests routed to a key's owner;
 * - `shoalHttpDriver`: Shoal's HTTP API over keep-alive connections;
 * - `etcdDriver`: etcd's v3 HTTP/JSON gateway (`/v3/kv/put`, `/v3/kv/range`) over the same
 *   keep-alive HTTP client. Gets are serializable (answered by the member asked, without a
 *   round of consensus), the closest match to a Dynamo read.
 *
 * The HTTP client keeps one pool of at most `concurrency` sockets per endpoint
 * (node:http's keep-alive Agent) and spreads requests round robin over endpoints.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type ShoalClient } from '../client/node.js';
import type { Quorum } from '../client/index.js';
import { benchRequestTimeoutMs } from '../config/index.js';
import { ShoalError, codeFromWire } from '../errors/index.js';
import type { BenchDriver } from './runner.js';

export interface SdkDriverOptions {
  endpoints: string[];
  token?: string;
  r?: Quorum;
  w?: Quorum;
  timeoutMs?: number;
}

export async function sdkDriver(o: SdkDriverOptions): Promise<BenchDriver> {
  const client: ShoalClient = await connect({
    endpoints: o.endpoints,
    ...(o.token === undefined ? {} : { token: o.token }),
    ...(o.r === undefined ? {} : { r: o.r }),
    ...(o.w === undefined ? {} : { w: o.w }),
    timeoutMs: o.timeoutMs ?? benchRequestTimeoutMs,
  });
  return {
    name: 'shoal-sdk',
    async get(key) {
      const r = await client.get(key);
      return { found: r.found, context: r.context };
    },
    async put(key, value, context) {
      const r = await client.put(key, value, { context });
      return { context: r.context };
    },
    async delete(key, context) {
      await client.delete(key, { context });
    },
    close: () => client.close(),
    readStats: () => client.stats(),
  };
}

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A keep-alive HTTP/1.1 client over several `HOST:PORT` endpoints, round robin. */
export class KeepAliveHttp {
  private readonly agent: Agent;
  private readonly targets: Array<{ host: string; port: number }>;
  private next = 0;

  constructor(endpoints: string[], concurrency: number, private readonly timeoutMs = benchRequestTimeoutMs) {
    if (endpoints.length === 0) throw new ShoalError('INVALID_CONFIG', 'at least one endpoint is needed');
    this.targets = endpoints.map((e) => {
      const i = e.lastIndexOf(':');
      return { host: e.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(e.slice(i + 1)) };
    });
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }

  request(method: string, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<HttpAnswer> {
    const t = this.targets[this.next++ % this.targets.length]!;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: t.host, port: t.port, method, path, agent: this.agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(body.length) }, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new ShoalError('TIMEOUT', `${method} ${path}: no answer in ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function httpError(a: HttpAnswer): ShoalError {
  let code: string | undefined;
  try {
    code = (JSON.parse(a.body.toString('utf8')) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return new ShoalError(code === undefined ? 'INTERNAL' : codeFromWire(code), `HTTP ${a.status}`);
}

export interface HttpDriverOptions {
  endpoints: string[];
  concurrency: number;
  token?: string;
  r?: Quorum;
  w?: Quorum;
  timeoutMs?: number;
}

export function shoalHttpDriver(o: HttpDriverOptions): BenchDriver {
  const timeoutMs = o.timeoutMs ?? benchRequestTimeoutMs;
  const http = new KeepAliveHttp(o.endpoints, o.concurrency, timeoutMs + 1_000);
  const auth: Record<string, string> = o.token === undefined ? {} : { authorization: `Bearer ${o.token}` };
  const q = (name: string, v: Quorum | undefined): string => (v === undefined ? '' : `&${name}=${v}`);
  const path = (key: string, extra: string): string => `/v1/kv/${encodeURIComponent(key)}?timeout_ms=${timeoutMs}${extra}`;
  const ctxOf = (a: HttpAnswer): string | null => {
    const h = a.headers['x-shoal-context'];
    return typeof h === 'string' ? h : null;
  };
  return {
    name: 'shoal-http',
    async get(key) {
      const a = await http.request('GET', path(key, q('r', o.r)), auth);
      if (a.status === 200) return { found: true, context: ctxOf(a) };
      if (a.status === 404) return { found: false, context: ctxOf(a) };
      if (a.status === 300) return { found: true, context: (JSON.parse(a.body.toString('utf8')) as { context: string }).context };
      throw httpError(a);
    },
    async put(key, value, context) {
      const a = await http.request('PUT', path(key, q('w', o.w)), context === null ? auth : { ...auth, 'x-shoal-context': context }, value);
      if (a.status !== 204) throw httpError(a);
      return { context: ctxOf(a) };
    },
    async delete(key, context) {
      const a = await http.request('DELETE', path(key, q('w', o.w)), context === null ? auth : { ...auth, 'x-shoal-context': context });
      if (a.status !== 204) throw httpError(a);
    },
    close: async () => http.close(),
  };
}

/**
 * etcd's v3 JSON gateway. Keys and values travel base64-encoded inside JSON, as the
 * gateway requires; the value's base64 is computed once per distinct value, not per request.
 */
export function etcdDriver(o: { endpoints: string[]; concurrency: number; timeoutMs?: number }): BenchDriver {
  const http = new KeepAliveHttp(o.endpoints, o.concurrency, o.timeoutMs ?? benchRequestTimeoutMs);
  const json = { 'content-type': 'application/json' };
  let lastValue: Uint8Array | null = null;
  let lastValue64 = '';
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const post = async (path: string, body: string): Promise<Record<string, unknown>> => {
    const a = await http.request('POST', path, json, Buffer.from(body, 'utf8'));
    if (a.status !== 200) {
      const code = a.status === 503 || a.status === 429 ? 'UNAVAILABLE' : a.status === 408 || a.status === 504 ? 'TIMEOUT' : 'INTERNAL';
      throw new ShoalError(code, `etcd ${path}: HTTP ${a.status} ${a.body.toString('utf8').slice(0, 200)}`);
    }
    return JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
  };
  return {
    name: 'etcd',
    async get(key) {
      const r = await post('/v3/kv/range', `{"key":"${b64(key)}","serializable":true}`);
      const kvs = r['kvs'];
      return { found: Array.isArray(kvs) && kvs.length > 0, context: null };
    },
    async put(key, value) {
      if (value !== lastValue) {
        lastValue = value;
        lastValue64 = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      }
      await post('/v3/kv/put', `{"key":"${b64(key)}","value":"${lastValue64}"}`);
      return { context: null };
    },
    async delete(key) {
      await post('/v3/kv/deleterange', `{"key":"${b64(key)}"}`);
    },
    close: async () => http.close(),
  };
}
