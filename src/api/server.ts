/**
 * createApiServer: the node's one port. Plain requests go to the HTTP API (http.ts);
 * upgrades go to the client WebSocket (ws.ts) on /v1/ws or to the node's peer transport
 * on /v1/peer; anything else is refused on the raw socket.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { defaultDashboard } from './dashboard.js';
import { type ExtraRoutes, InFlight, type LogFn, handleRequest } from './http.js';
import { type ApiLimits, defaultApiLimits } from './limits.js';
import { ApiMetrics } from './metrics.js';
import type { KvService } from './types.js';
import { ClientWsEndpoint, writeRawError } from './ws.js';

export interface ApiServerOptions {
  service: KvService;
  /** When set, every client request (HTTP and /v1/ws) needs `Authorization: Bearer TOKEN`; /v1/health and GET / do not. */
  clientToken?: string;
  /** PEM contents: serve https:// and wss://. */
  tls?: { cert: string; key: string };
  /** Browser Origins allowed on /v1/ws besides the node's own; absent Origin (non-browser) is always allowed. */
  allowedOrigins?: string[];
  /** The node's transport takes over `/v1/peer` upgrades (it does its own authentication). */
  peerUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** GET /; default: a minimal page that polls /v1/status. */
  dashboard?: () => { contentType: string; body: string | Uint8Array };
  /** GET /metrics; default: the API's own counters (see ApiServer.apiMetricsText to include them). */
  metrics?: () => string | Promise<string>;
  /** Extra routes for later parts of the node; consulted before the built-in routes. */
  extraRoutes?: ExtraRoutes;
  /**
   * Whether the node is serving. GET /v1/health answers 200 `{"ok":true}` while this is
   * true and 503 `{"ok":false,...}` otherwise (the port opens before the node has joined,
   * and CONTRACT.md makes health the readiness signal). Default: always ready.
   */
  ready?: () => boolean;
  /** Overrides of the limits in src/config/api.ts. */
  limits?: Partial<ApiLimits>;
  log: LogFn;
}

export interface ApiServer {
  readonly server: http.Server | https.Server;
  /** Starts listening; resolves with the actual port (useful with port 0). */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, closes client WebSockets (1001), waits up to closeGraceMs for requests in flight. */
  close(): Promise<void>;
  /** The API's own Prometheus counters, for a node that serves its own /metrics. */
  apiMetricsText(): string;
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const limits: ApiLimits = { ...defaultApiLimits, ...options.limits };
  const metrics = new ApiMetrics();
  const inFlight = new InFlight(limits.inFlightMax);
  const log = options.log;
  const serverOptions: http.ServerOptions = { maxHeaderSize: limits.headerBytesMax };
  const server =
    options.tls === undefined
      ? http.createServer(serverOptions)
      : https.createServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key });
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.connectionsMax;

  const deps = {
    service: options.service,
    clientToken: options.clientToken,
    limits,
    metrics,
    inFlight,
    log,
    dashboard: options.dashboard ?? defaultDashboard,
    metricsText: options.metrics ?? (() => metrics.text()),
    extraRoutes: options.extraRoutes,
    ready: options.ready ?? (() => true),
  };
  // Sockets with a response under way: a parse error there cannot get an answer of its own.
  const answering = new WeakSet<object>();
  // Responses under way, so close() can wait for them (and only them).
  let active = 0;
  let onIdle: (() => void) | undefined;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const socket = req.socket;
    answering.add(socket);
    active += 1;
    res.once('close', () => {
      answering.delete(socket);
      active -= 1;
      if (active === 0) onIdle?.();
    });
    handleRequest(deps, req, res);
  };
  server.on('request', onRequest);
  // Expect: 100-continue is answered by the body reader once the request passed its checks,
  // so a client with a too-large or unauthorized PUT never sends the body at all.
  server.on('checkContinue', onRequest);

  // Requests Node's parser refuses (malformed request line, raw non-ASCII in the path,
  // headers over the limit, a client too slow to send its request) get the same JSON
  // error body as everything else instead of Node's empty default.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable || answering.has(socket)) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'too_large', `the request head is over ${limits.headerBytesMax} bytes`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'timeout', 'the request was not received in time']
          : [400, 'bad_request', 'the request is not valid HTTP/1.1 (is the path percent-encoded?)'];
    metrics.countHttp('unknown', 'OTHER', status);
    writeRawError(socket, status, code, message);
  });

  const clientWs = new ClientWsEndpoint({
    service: options.service,
    clientToken: options.clientToken,
    allowedOrigins: options.allowedOrigins ?? [],
    tls: options.tls !== undefined,
    limits,
    metrics,
    inFlight,
    log,
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/v1/ws') {
      clientWs.handleUpgrade(req, socket, head);
    } else if (path === '/v1/peer' && options.peerUpgrade !== undefined) {
      metrics.countHttp('peer', req.method ?? 'GET', 101);
      options.peerUpgrade(req, socket, head);
    } else {
      metrics.countHttp('unknown', req.method ?? 'GET', 404);
      writeRawError(socket, 404, 'not_found', `no WebSocket endpoint at ${path.slice(0, 64)}`);
    }
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    listen(port: number, host: string): Promise<number> {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address();
          resolve(typeof address === 'object' && address !== null ? address.port : port);
        });
      });
    },
    close(): Promise<void> {
      closing ??= (async () => {
        // Stop accepting. We do not wait for the server's own 'close': it waits for every
        // socket, and upgraded /v1/peer sockets belong to the transport, which closes them.
        if (server.listening) server.close();
        server.closeIdleConnections();
        const clientsClosed = clientWs.close();
        const grace = setTimeout(() => server.closeAllConnections(), limits.closeGraceMs);
        grace.unref();
        if (active > 0) await new Promise<void>((resolve) => (onIdle = resolve));
        clearTimeout(grace);
        // Keep-alive sockets whose last response just finished.
        server.closeIdleConnections();
        await clientsClosed;
      })();
      return closing;
    },
    apiMetricsText: () => metrics.text(),
  };
}
