/**
 * The client WebSocket endpoint, /v1/ws: CBOR request frames in, CBOR answers out, each
 * answer carrying its request's id (frame layouts in docs/protocol.md, types in
 * src/wire/messages.ts).
 *
 * Checks happen before the upgrade is accepted, written as plain HTTP on the raw socket:
 * the browser Origin (403), the client token (401), the connection limit (503). After
 * that, every frame passes the wire codec's gates (size, structure, schema). A frame that
 * cannot be decoded at all ends the connection (1007, or 1009 when too large, 1003 when
 * it is text): the stream can no longer be trusted. A frame whose id was readable but
 * whose fields were not valid is answered `err` with that id instead, so one bad request
 * does not take down a client's other requests in flight. Failures of the node itself
 * are `err` answers too.
 *
 * Backpressure runs both ways. Requests: at most wsClientInFlightMax per connection and
 * apiInFlightMax per node (shared with HTTP); beyond either, `err` `overloaded` at once.
 * Answers: a client that does not read (send buffer over wsClientSendBufferBytesMax) is
 * cut off with 1008 rather than letting its backlog grow in our memory.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { objectDigest } from '../antientropy/index.js';
import { ShoalError, isShoalError } from '../errors/index.js';
import { toWire } from '../vclock/index.js';
import { createClientCodec, frameLimits, type ClientCodec } from '../wire/index.js';
import type { ClientRequest, ClientResponse } from '../wire/index.js';
import { WS_PROTOCOL, isAuthorized, originAllowed } from './auth.js';
import { type InFlight, type LogFn, clientError } from './http.js';
import type { ApiLimits } from './limits.js';
import type { ApiMetrics } from './metrics.js';
import { checkContext, checkKey, parseQuorum, parseTimeoutMs } from './params.js';
import type { KvService } from './types.js';

/** Close codes (RFC 6455 section 7.4.1). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
};

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function writeRawError(socket: Duplex, status: number, code: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  const extra = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      extra +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}

/** A close reason is at most 123 bytes of UTF-8; ours are ASCII, cut to fit. */
function reason(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 123);
}

export interface ClientWsDeps {
  readonly service: KvService;
  readonly clientToken: string | undefined;
  readonly allowedOrigins: readonly string[];
  readonly tls: boolean;
  readonly limits: ApiLimits;
  readonly metrics: ApiMetrics;
  readonly inFlight: InFlight;
  readonly log: LogFn;
}

interface Conn {
  inFlight: number;
}

export class ClientWsEndpoint {
  /** Built on the first upgrade: the node may not know its value limit when the port opens. */
  private ready: { wss: WebSocketServer; codec: ClientCodec } | undefined;
  private readonly sockets = new Set<WebSocket>();
  private closing = false;

  constructor(private readonly deps: ClientWsDeps) {}

  private get codec(): ClientCodec {
    return this.init().codec;
  }

  private init(): { wss: WebSocketServer; codec: ClientCodec } {
    if (this.ready !== undefined) return this.ready;
    const { maxValueBytes } = this.deps.service;
    const codec = createClientCodec({ maxValueBytes });
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: frameLimits({ maxValueBytes }).clientRequestFrameBytesMax,
      perMessageDeflate: false,
      // Browsers offer `shoal.v1` (plus `shoal.bearer.TOKEN` when they must carry a
      // token); we select `shoal.v1`, never echoing the token back.
      handleProtocols: (protocols: Set<string>) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    });
    this.ready = { wss, codec };
    return this.ready;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { deps } = this;
    const remote = req.socket.remoteAddress;
    if (this.closing) {
      writeRawError(socket, 503, 'unavailable', 'the node is shutting down');
      return;
    }
    if (!originAllowed(req, deps.allowedOrigins, deps.tls)) {
      deps.log('api_origin_refused', { origin: req.headers.origin, remote });
      deps.metrics.countHttp('ws', 'GET', 403);
      writeRawError(socket, 403, 'forbidden', 'this Origin may not open /v1/ws on this node');
      return;
    }
    if (!isAuthorized(req, deps.clientToken, true)) {
      deps.log('api_auth_failed', { route: 'ws', remote });
      deps.metrics.countHttp('ws', 'GET', 401);
      writeRawError(socket, 401, 'unauthorized', 'missing or wrong client token');
      return;
    }
    if (this.sockets.size >= deps.limits.clientConnectionsMax) {
      deps.metrics.countHttp('ws', 'GET', 503);
      writeRawError(socket, 503, 'overloaded', 'too many client connections on this node');
      return;
    }
    let wss: WebSocketServer;
    try {
      wss = this.init().wss;
    } catch (err) {
      // The node is still starting (its service answers UNAVAILABLE until then).
      const e = clientError(err, false);
      writeRawError(socket, e.status === 500 ? 503 : e.status, e.code, e.message);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      deps.metrics.countHttp('ws', 'GET', 101);
      this.accept(ws, remote);
    });
  }

  /**
   * Closes every client connection with 1001 and resolves once all are gone; connections
   * that do not finish the closing handshake within closeGraceMs are dropped.
   */
  close(): Promise<void> {
    this.closing = true;
    if (this.sockets.size === 0) return Promise.resolve();
    const done = Promise.all(
      [...this.sockets].map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve()))),
    ).then(() => undefined);
    for (const ws of this.sockets) ws.close(CLOSE_GOING_AWAY, 'node shutting down');
    const timer = setTimeout(() => {
      for (const ws of this.sockets) ws.terminate();
    }, this.deps.limits.closeGraceMs);
    timer.unref();
    return done.finally(() => clearTimeout(timer));
  }

  private accept(ws: WebSocket, remote: string | undefined): void {
    const { deps } = this;
    const conn: Conn = { inFlight: 0 };
    this.sockets.add(ws);
    deps.metrics.wsConnections = this.sockets.size;
    ws.on('close', () => {
      this.sockets.delete(ws);
      deps.metrics.wsConnections = this.sockets.size;
    });
    // ws reports protocol violations (oversized frame: 1009, bad UTF-8 in a close
    // reason, ...) as 'error' and closes the connection itself; we only record it.
    ws.on('error', (err: Error) => {
      deps.log('api_ws_error', { remote, error: err.message });
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (ws.readyState !== ws.OPEN) return;
      if (!isBinary) {
        deps.log('api_ws_bad_frame', { remote, error: 'text frame' });
        ws.close(CLOSE_UNSUPPORTED_DATA, 'decode: frames must be binary CBOR');
        return;
      }
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      let msg: ClientRequest;
      try {
        msg = this.codec.decodeRequest(bytes);
      } catch (err) {
        this.refuseFrame(ws, conn, remote, err);
        return;
      }
      this.dispatch(ws, conn, msg);
    });
  }

  private refuseFrame(ws: WebSocket, conn: Conn, remote: string | undefined, err: unknown): void {
    const e = isShoalError(err) ? err : new ShoalError('DECODE', 'frame could not be decoded');
    const id = e.details?.['id'];
    if (typeof id === 'number') {
      // The frame was a readable request with an id: answer that request only.
      const code = e.code === 'TOO_LARGE' ? 'too_large' : 'bad_request';
      this.deps.metrics.countWs('invalid', code);
      this.send(ws, { t: 'err', id, code, msg: e.message.slice(0, 1000) });
      return;
    }
    this.deps.log('api_ws_bad_frame', { remote, error: e.message, inFlight: conn.inFlight });
    ws.close(e.code === 'TOO_LARGE' ? CLOSE_TOO_BIG : CLOSE_INVALID_PAYLOAD, reason(`${e.wireCode}: ${e.message}`));
  }

  private dispatch(ws: WebSocket, conn: Conn, msg: ClientRequest): void {
    const { deps } = this;
    const id = msg.id;
    if (conn.inFlight >= deps.limits.clientInFlightMax) {
      deps.metrics.countWs(msg.t, 'overloaded');
      this.send(ws, { t: 'err', id, code: 'overloaded', msg: 'too many requests in flight on this connection' });
      return;
    }
    if (!deps.inFlight.tryAcquire()) {
      deps.metrics.countWs(msg.t, 'overloaded');
      this.send(ws, { t: 'err', id, code: 'overloaded', msg: 'too many requests in flight on this node; retry later' });
      return;
    }
    conn.inFlight += 1;
    deps.metrics.inFlight = deps.inFlight.current;
    let work: Promise<ClientResponse>;
    try {
      work = this.run(msg);
    } catch (err) {
      work = Promise.reject(err);
    }
    work
      .catch((err: unknown): ClientResponse => {
        const e = clientError(err, msg.t === 'put' || msg.t === 'del');
        if (e.log) {
          deps.log('api_error', {
            route: 'ws',
            type: msg.t,
            error: err instanceof Error ? err.message : String(err),
            stack: err instanceof Error ? err.stack : undefined,
          });
        }
        return { t: 'err', id, code: e.code, msg: e.message.slice(0, 1000) };
      })
      .then((answer) => {
        conn.inFlight -= 1;
        deps.inFlight.release();
        deps.metrics.inFlight = deps.inFlight.current;
        deps.metrics.countWs(msg.t, answer.t === 'err' ? answer.code : 'ok');
        this.send(ws, answer);
      });
  }

  /** Runs one request against the node. Parameter checks throw BAD_REQUEST, as on HTTP. */
  private async run(msg: ClientRequest): Promise<ClientResponse> {
    const { service } = this.deps;
    switch (msg.t) {
      case 'ring': {
        const r = service.routing();
        return {
          t: 'ring_ok',
          id: msg.id,
          q: r.q,
          n: r.n,
          o: [...r.owners],
          m: r.members.map((m) => ({ id: m.id, addr: m.addr })),
          ...(r.r === undefined ? {} : { r: r.r }),
        };
      }
      case 'lget': {
        const obj = await service.ownCopy(checkKey(msg.k));
        if (msg.dg === true) return { t: 'lget_dg_ok', id: msg.id, dg: obj === undefined ? null : objectDigest(obj) };
        return { t: 'lget_ok', id: msg.id, o: obj === undefined ? null : toWire(obj) };
      }
      case 'get': {
        const key = checkKey(msg.k);
        const r = msg.r === undefined ? undefined : parseQuorum('r', msg.r, service.n);
        const timeoutMs = msg.tmo === undefined ? undefined : parseTimeoutMs(msg.tmo);
        const result = await service.get(key, { r, timeoutMs });
        const vals: Uint8Array[] = [];
        for (const s of result.siblings) if (s.value !== null) vals.push(s.value);
        return { t: 'get_ok', id: msg.id, vals, ctx: result.context };
      }
      case 'put':
      case 'del': {
        const key = checkKey(msg.k);
        const w = msg.w === undefined ? undefined : parseQuorum('w', msg.w, service.n);
        const timeoutMs = msg.tmo === undefined ? undefined : parseTimeoutMs(msg.tmo);
        const context = checkContext(msg.ctx);
        if (msg.t === 'del') {
          const result = await service.del(key, { context, w, timeoutMs });
          return { t: 'put_ok', id: msg.id, ctx: result.context };
        }
        if (msg.v.byteLength > service.maxValueBytes) {
          throw new ShoalError('TOO_LARGE', `the value is ${msg.v.byteLength} bytes; the limit is ${service.maxValueBytes}`);
        }
        // Decoded byte strings are views into the frame; copy so the node may keep the value.
        const value = new Uint8Array(msg.v);
        const result = await service.put(key, value, { context, w, timeoutMs });
        return { t: 'put_ok', id: msg.id, ctx: result.context };
      }
    }
  }

  private send(ws: WebSocket, answer: ClientResponse): void {
    if (ws.readyState !== ws.OPEN) return;
    corkForTurn(ws);
    ws.send(this.codec.encodeResponse(answer));
    if (ws.bufferedAmount > this.deps.limits.clientSendBufferBytesMax) {
      this.deps.log('api_ws_slow_reader', { bufferedBytes: ws.bufferedAmount });
      ws.close(CLOSE_POLICY, 'slow reader: too many unread answers');
    }
  }
}

/** Sockets corked in this event-loop turn; uncorked together after it (setImmediate). */
const corked = new Set<{ cork(): void; uncork(): void }>();

/**
 * Holds a client socket's writes until the end of this event-loop turn, so the answers
 * one turn produces (many, under load: they complete together when a storage batch or a
 * peer message lands) leave in one write system call instead of one each. The delay is
 * the rest of the current turn, not a timer.
 */
function corkForTurn(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  if (socket === undefined || corked.has(socket)) return;
  if (corked.size === 0) setImmediate(uncorkAll);
  corked.add(socket);
  socket.cork();
}

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}
