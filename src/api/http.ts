/**
 * The HTTP API v1 (CONTRACT.md): routing, parameter checks, body reading with a hard
 * cap, and the mapping of errors to status codes. Every request passes, in order:
 * route (404), method (405, with Allow), token (401), node-wide in-flight limit (503
 * overloaded), parameters (400), body (413), and only then reaches the KvService.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, ShoalError, isShoalError } from '../errors/index.js';
import { isAuthorized } from './auth.js';
import type { ApiMetrics, RouteName } from './metrics.js';
import { checkContext, decodeKeySegment, parseKvQuery } from './params.js';
import type { KvService } from './types.js';
import type { ApiLimits } from './limits.js';

/** Helpers handed to an extra route so it answers the way the built-in routes do. */
export interface RouteTools {
  /** The path without its query string, as received (still percent-encoded). */
  readonly path: string;
  readonly query: URLSearchParams;
  sendJson(status: number, body: unknown, headers?: Record<string, string>): void;
  /** Answers an error: ShoalErrors with their status, anything else as a logged 500. */
  sendError(err: unknown): void;
  /** Percent-decodes and checks a key path segment (throws BAD_REQUEST). */
  decodeKey(segment: string): string;
}

/** A handler for a route added by a later part of the node (explain, admin pages). */
export type ExtraRouteHandler = (req: IncomingMessage, res: ServerResponse, tools: RouteTools) => void | Promise<void>;

/**
 * Looks up an extra route. It is asked first, before the built-in routes, so it can add
 * query forms to existing paths; extra routes always require the client token and count
 * against the in-flight limit.
 */
export type ExtraRoutes = (method: string, path: string) => ExtraRouteHandler | undefined;

export type LogFn = (event: string, fields: Record<string, unknown>) => void;

/** Counts client requests across HTTP and /v1/ws against apiInFlightMax. */
export class InFlight {
  current = 0;
  constructor(readonly max: number) {}
  tryAcquire(): boolean {
    if (this.current >= this.max) return false;
    this.current += 1;
    return true;
  }
  release(): void {
    this.current -= 1;
  }
}

export interface HttpDeps {
  readonly service: KvService;
  readonly clientToken: string | undefined;
  readonly limits: ApiLimits;
  readonly metrics: ApiMetrics;
  readonly inFlight: InFlight;
  readonly log: LogFn;
  readonly dashboard: () => { contentType: string; body: string | Uint8Array };
  readonly metricsText: () => string | Promise<string>;
  readonly extraRoutes: ExtraRoutes | undefined;
  /** Whether the node is serving: GET /v1/health answers 200 only while this is true. */
  readonly ready: () => boolean;
}

const WRITE_NOTE = 'the write may still have been stored on some replicas and will converge';

/** How an error looks to a client: status, wire code, message, and whether to log it. */
export function clientError(err: unknown, isWrite: boolean): { status: number; code: string; message: string; log: boolean } {
  if (!isShoalError(err)) {
    return { status: 500, code: ERROR_CODES.INTERNAL.wire, message: 'internal error; the node logged the details', log: true };
  }
  // A timed-out or closed request is, to a client, the same thing as too few replicas
  // answering: CONTRACT.md's 503 `unavailable`. `overloaded` stays distinct so clients
  // know the node refused before doing anything.
  const unavailable = err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT' || err.code === 'CLOSED';
  const code = unavailable ? ERROR_CODES.UNAVAILABLE.wire : err.wireCode;
  let message = err.message;
  if (unavailable && isWrite && !message.includes('will converge')) message = `${message}; ${WRITE_NOTE}`;
  return { status: err.status, code, message, log: err.status >= 500 && err.status !== 503 };
}

function setCommon(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  setCommon(res);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function sendBytes(res: ServerResponse, status: number, body: Uint8Array, headers: Record<string, string>): void {
  setCommon(res);
  res.writeHead(status, { ...headers, 'Content-Length': String(body.byteLength) });
  res.end(body);
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Splits a request target into path and query; only origin-form targets are routed. */
function splitTarget(url: string): { path: string; query: URLSearchParams } | undefined {
  if (!url.startsWith('/')) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  return { path, query };
}

interface Route {
  readonly name: RouteName;
  readonly methods: readonly string[];
  readonly auth: boolean;
  /** Counts against the in-flight limit (it does work in the node). */
  readonly work: boolean;
}

const ROUTES: Readonly<Record<string, Route>> = {
  '/': { name: 'dashboard', methods: ['GET'], auth: false, work: false },
  '/v1/health': { name: 'health', methods: ['GET'], auth: false, work: false },
  '/metrics': { name: 'metrics', methods: ['GET'], auth: true, work: false },
  '/v1/status': { name: 'status', methods: ['GET'], auth: true, work: false },
  '/v1/ring': { name: 'ring', methods: ['GET'], auth: true, work: false },
  '/v1/admin/leave': { name: 'leave', methods: ['POST'], auth: true, work: false },
};
const KV_ROUTE: Route = { name: 'kv', methods: ['GET', 'PUT', 'DELETE'], auth: true, work: true };
const LOCAL_ROUTE: Route = { name: 'local', methods: ['GET'], auth: true, work: true };
const EXTRA_ROUTE: Route = { name: 'extra', methods: [], auth: true, work: true };

function findRoute(path: string): { route: Route; rest: string } | undefined {
  const fixed = ROUTES[path];
  if (fixed !== undefined) return { route: fixed, rest: '' };
  if (path === '/v1/kv' || path.startsWith('/v1/kv/')) return { route: KV_ROUTE, rest: path.slice('/v1/kv/'.length) };
  if (path === '/v1/local' || path.startsWith('/v1/local/')) return { route: LOCAL_ROUTE, rest: path.slice('/v1/local/'.length) };
  return undefined;
}

function b64(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/** Entry point for every non-upgrade request. Never throws. */
export function handleRequest(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): void {
  let routeName: RouteName = 'unknown';
  const method = req.method ?? 'GET';
  res.once('finish', () => deps.metrics.countHttp(routeName, method, res.statusCode));

  const fail = (err: unknown, isWrite: boolean): void => {
    const e = clientError(err, isWrite);
    if (e.log) {
      deps.log('api_error', {
        route: routeName,
        method,
        status: e.status,
        error: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    if (e.status === 401) headers['WWW-Authenticate'] = 'Bearer';
    sendJson(res, e.status, errorBody(e.code, e.message), headers);
  };

  const target = splitTarget(req.url ?? '');
  if (target === undefined) {
    fail(new ShoalError('BAD_REQUEST', 'the request target must be a path'), false);
    return;
  }
  const { path, query } = target;

  const extra = deps.extraRoutes?.(method, path);
  const found = extra !== undefined ? { route: EXTRA_ROUTE, rest: '' } : findRoute(path);
  if (found === undefined) {
    if (path === '/v1/ws' || path === '/v1/peer') {
      sendJson(res, 426, errorBody('bad_request', `${path} is a WebSocket endpoint; send an Upgrade request`), {
        Upgrade: 'websocket',
      });
      return;
    }
    fail(new ShoalError('NOT_FOUND', `no route ${path.slice(0, 64)}`), false);
    return;
  }
  const { route, rest } = found;
  routeName = route.name;

  if (extra === undefined && !route.methods.includes(method)) {
    const allow = route.methods.join(', ');
    sendJson(res, 405, errorBody('method_not_allowed', `${method} is not allowed here; use ${allow}`), { Allow: allow });
    return;
  }

  if (route.auth && !isAuthorized(req, deps.clientToken, false)) {
    deps.log('api_auth_failed', { route: route.name, method, remote: req.socket.remoteAddress });
    fail(new ShoalError('UNAUTHORIZED', 'missing or wrong client token; send Authorization: Bearer TOKEN'), false);
    return;
  }

  if (route.work) {
    if (!deps.inFlight.tryAcquire()) {
      fail(new ShoalError('OVERLOADED', 'too many requests in flight on this node; retry later'), false);
      return;
    }
    deps.metrics.inFlight = deps.inFlight.current;
    res.once('close', () => {
      deps.inFlight.release();
      deps.metrics.inFlight = deps.inFlight.current;
    });
  }

  const isWrite = method === 'PUT' || method === 'DELETE' || method === 'POST';
  // A route other than PUT takes no body: refuse one rather than let Node discard it.
  if (method !== 'PUT' && hasBody(req)) {
    fail(new ShoalError('BAD_REQUEST', `${method} ${route.name} takes no request body`), false);
    return;
  }

  const tools: RouteTools = {
    path,
    query,
    sendJson: (status, body, headers) => sendJson(res, status, body, headers),
    sendError: (err) => fail(err, isWrite),
    decodeKey: decodeKeySegment,
  };

  let work: Promise<void>;
  try {
    if (extra !== undefined) {
      work = Promise.resolve(extra(req, res, tools));
    } else {
      work = dispatch(deps, route, rest, method, query, req, res);
    }
  } catch (err) {
    work = Promise.reject(err);
  }
  work.catch((err: unknown) => fail(err, isWrite));
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

async function dispatch(
  deps: HttpDeps,
  route: Route,
  rest: string,
  method: string,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { service } = deps;
  switch (route.name) {
    case 'dashboard': {
      const page = deps.dashboard();
      const body = typeof page.body === 'string' ? Buffer.from(page.body, 'utf8') : page.body;
      sendBytes(res, 200, body, { 'Content-Type': page.contentType });
      return;
    }
    case 'health':
      if (deps.ready()) sendJson(res, 200, { ok: true });
      else sendJson(res, 503, { ok: false, error: { code: 'unavailable', message: 'the node is not serving yet (or any more)' } });
      return;
    case 'metrics': {
      const text = await deps.metricsText();
      sendBytes(res, 200, Buffer.from(text, 'utf8'), { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      return;
    }
    case 'status':
      sendJson(res, 200, service.status());
      return;
    case 'ring':
      sendJson(res, 200, service.ring());
      return;
    case 'leave':
      sendJson(res, 202, { ok: true, leaving: true });
      res.once('finish', () => {
        service.leave().catch((err: unknown) => {
          deps.log('api_leave_failed', { error: err instanceof Error ? err.message : String(err) });
        });
      });
      return;
    case 'local': {
      const key = decodeKeySegment(rest);
      const copy = await service.local(key);
      if (copy === undefined) {
        sendJson(res, 404, errorBody('not_found', 'this node holds nothing for the key'));
        return;
      }
      const values: string[] = [];
      for (const s of copy.siblings) if (s.value !== null) values.push(b64(s.value));
      sendJson(res, 200, { values, context: copy.context, tombstone: copy.tombstone });
      return;
    }
    case 'kv':
      return kv(deps, rest, method as 'GET' | 'PUT' | 'DELETE', query, req, res);
    default:
      throw new ShoalError('INTERNAL', `route ${route.name} has no handler`);
  }
}

async function kv(
  deps: HttpDeps,
  rest: string,
  method: 'GET' | 'PUT' | 'DELETE',
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { service } = deps;
  const key = decodeKeySegment(rest);
  const { quorum, timeoutMs } = parseKvQuery(method, query, service.n);
  const rawCtx = req.headers['x-shoal-context'];

  if (method === 'GET') {
    const result = await service.get(key, { r: quorum, timeoutMs });
    const headers: Record<string, string> = {};
    if (result.context !== null) headers['X-Shoal-Context'] = result.context;
    const live = result.siblings.filter((s): s is { value: Uint8Array; ts: number } => s.value !== null);
    if (live.length === 0) {
      sendJson(res, 404, errorBody('not_found', result.context === null ? 'the key was never written' : 'the key is deleted'), headers);
      return;
    }
    const wantsJson = (req.headers.accept ?? '').toLowerCase().includes('application/json');
    const first = live[0];
    if (live.length === 1 && first !== undefined && !wantsJson) {
      sendBytes(res, 200, first.value, { ...headers, 'Content-Type': 'application/octet-stream' });
      return;
    }
    sendJson(res, wantsJson ? 200 : 300, { values: live.map((s) => b64(s.value)), context: result.context }, headers);
    return;
  }

  const context = checkContext(typeof rawCtx === 'string' ? rawCtx : undefined);
  if (method === 'DELETE') {
    const result = await service.del(key, { context, w: quorum, timeoutMs });
    setCommon(res);
    res.writeHead(204, { 'X-Shoal-Context': result.context });
    res.end();
    return;
  }

  const value = await readBody(deps, req, res, service.maxValueBytes);
  if (value === undefined) return;
  const result = await service.put(key, value, { context, w: quorum, timeoutMs });
  setCommon(res);
  res.writeHead(204, { 'X-Shoal-Context': result.context });
  res.end();
}

/**
 * Reads a request body with a hard cap. A Content-Length over the cap is refused before
 * a byte is read; a chunked body is refused as soon as it crosses the cap, so at most
 * cap + one chunk is ever held. Resolves undefined when it has answered (413) or the
 * client went away.
 */
function readBody(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      refuseTooLarge(deps, req, res, `the value is ${declared} bytes; the limit is ${max}`);
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (value: Uint8Array | undefined): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > max) {
        chunks.length = 0;
        finish(undefined);
        refuseTooLarge(deps, req, res, `the value is over ${max} bytes`);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(new Uint8Array(Buffer.concat(chunks, total)));
    const onClose = (): void => finish(undefined);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    // The client waits for this before sending a large body (Expect: 100-continue).
    if ((req.headers.expect ?? '').toLowerCase() === '100-continue') res.writeContinue();
  });
}

/**
 * Answers 413 at once, then lingers: the response is complete on the wire (it has a
 * Content-Length), but the connection is closed only after the client stops sending, or
 * after limits.lingerBytesMax bytes or limits.lingerMs, whichever comes first. Closing
 * a socket with unread data makes the kernel send a reset that can destroy our answer
 * before the client reads it; lingering (nginx's lingering_close) avoids that while
 * never buffering the rest of the body.
 */
function refuseTooLarge(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, message: string): void {
  const text = JSON.stringify(errorBody('too_large', message));
  setCommon(res);
  res.writeHead(413, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    Connection: 'close',
  });
  res.write(text);
  let discarded = 0;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    req.off('data', onData);
    res.end();
    // Node closes the connection once the response has finished (Connection: close).
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > deps.limits.lingerBytesMax) {
      end();
      req.socket.destroy();
    }
  };
  const timer = setTimeout(() => {
    end();
    req.socket.destroy();
  }, deps.limits.lingerMs);
  timer.unref();
  req.on('data', onData);
  req.once('end', end);
  req.once('close', end);
  req.resume();
}
