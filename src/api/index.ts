/**
 * # API: the node's one front door
 *
 * A Shoal node listens on one TCP port for everything (CONTRACT.md): the HTTP API v1,
 * the client WebSocket `/v1/ws`, the peer WebSocket `/v1/peer`, the dashboard and
 * `/metrics`. This folder owns that port. It is deliberately a thin, paranoid layer: it
 * knows nothing of quorums or version vectors, only how to turn hostile bytes into
 * well-formed calls on a `KvService` (types.ts) and the answers back into bytes. The
 * node implements KvService; the tests use an in-memory fake.
 *
 * ## Order of checks
 *
 * Every HTTP request passes, cheapest first: route (404), method (405 with `Allow`),
 * client token (401), the node-wide in-flight limit (503 `overloaded`), query and
 * headers (400), body size (413), and only then the service. Parsing lives in
 * params.ts as pure functions that throw ShoalError BAD_REQUEST, so bad input is a 400
 * by construction: the only way to a 500 is the service throwing something that is not
 * a ShoalError, which is logged with its stack and answered with a generic message.
 * Timeouts and closed connections inside the node reach a client as 503 `unavailable`
 * (to a client they are the same as too few replicas); a 503 on a write says the write
 * may still have been stored on some replicas and will converge.
 *
 * ## Decisions
 *
 * - **Keys** are the one path segment after `/v1/kv/`, percent-decoded as UTF-8. `%2F`
 *   is an ordinary key character; a raw `/` (an extra segment) is a 400, so `/v1/kv/a/b`
 *   is never silently the key `a/b`. Bad percent-encoding, invalid UTF-8, raw non-ASCII
 *   bytes, empty keys and keys over 512 bytes are 400.
 * - **Query parameters** other than `r`/`w` and `timeout_ms`, or repeated ones, are 400:
 *   a typo (`W=1`) must not silently become the default quorum.
 * - **Bodies** are streamed with a hard cap. A Content-Length over maxValueBytes is
 *   refused before a byte is read (and `Expect: 100-continue` clients never send it); a
 *   chunked body is refused as soon as it crosses the cap. After a 413 the connection
 *   lingers briefly, discarding (never buffering) what the client still sends, so the
 *   client reads the 413 instead of a TCP reset (nginx's lingering close). Routes other
 *   than PUT refuse a body.
 * - **Authentication.** With a client token set, every route needs
 *   `Authorization: Bearer TOKEN` (compared in constant time over SHA-256 digests)
 *   except `GET /v1/health` (load balancers and `shoal dev` poll it; it reveals nothing)
 *   and `GET /` (a static page that holds no data; it asks for the token and sends it on
 *   its own requests). `/metrics`, `/v1/status` and `/v1/ring` need the token. `/v1/peer`
 *   is the transport's to authenticate (cluster secret), not ours.
 * - **WebSocket auth for browsers**, which cannot set headers on a WebSocket: offer the
 *   subprotocols `shoal.v1` and `shoal.bearer.<token as base64url>`; the server selects
 *   `shoal.v1` and never echoes the token. We do not accept `?token=`: query strings end
 *   up in access logs.
 * - **Origin** on `/v1/ws`: absent (a non-browser client) is allowed; otherwise it must
 *   be the node's own origin (the dashboard) or on `allowedOrigins` (`*` allows any).
 *   Checked before the token, both before the upgrade is accepted (403/401 on the raw
 *   socket).
 * - **Bad frames.** A frame the wire codec cannot decode closes its connection (1007;
 *   1009 when too large; 1003 when it is text); a frame whose `id` was readable but whose
 *   fields were not is answered `err` for that id and the connection stays open.
 * - **Limits** (src/config/api.ts, overridable per server for tests): header bytes,
 *   header and request timeouts against slow clients, keep-alive, connections,
 *   in-flight requests per node (HTTP and WebSocket together) and per connection, and
 *   the unread send buffer of a WebSocket client (a slow reader is closed with 1008).
 * - **Metrics.** The API keeps its own counters with labels from fixed sets (route,
 *   method, status; frame type, outcome). A node that serves its own `/metrics` includes
 *   them through `ApiServer.apiMetricsText()`.
 */
export { createApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export type { ExtraRouteHandler, ExtraRoutes, LogFn, RouteTools } from './http.js';
export { defaultApiLimits, type ApiLimits } from './limits.js';
export { WS_BEARER_PREFIX, WS_PROTOCOL } from './auth.js';
export { checkKey, decodeKeySegment, parseQuorum, parseTimeoutMs } from './params.js';
export type * from './types.js';
