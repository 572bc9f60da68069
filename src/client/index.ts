/**
 * The Shoal SDK: a client for the WebSocket protocol on `/v1/ws`, usable in browsers
 * and (through `./node.js`) in Node.
 *
 * Why a WebSocket and not HTTP: one long-lived connection per node carries many
 * requests at once, each tagged with a uint32 `id` the answer echoes, so a client pays
 * no connection set-up per request and no head-of-line blocking across requests. Frames
 * are CBOR (`createClientCodec` in src/wire), the same bytes a browser and Node produce.
 *
 * Connections and failover. The client opens a connection to every endpoint it is given
 * (and, when routing, to every member the ring names, up to `clientConnectionsMax`) and
 * keeps those it can reach. A connection that drops is reopened with exponential
 * backoff, jittered in its upper half so a fleet of clients does not reconnect in step
 * (the AWS "exponential backoff and jitter" argument). Requests that were sent on a
 * dropped connection are sorted by what a retry could do:
 *   - a get (or ring) is idempotent: it moves to another open connection, up to
 *     `clientRetriesMax` times, within its own timeout;
 *   - a put or delete that was still waiting for a connection never left the client, so
 *     it is simply sent later;
 *   - a put or delete that was sent may or may not have been applied: resending it
 *     without its context would create a sibling of itself, so the client does not
 *     guess. It fails with UNAVAILABLE and `details.maybeApplied = true`; the caller
 *     re-reads and decides, which is the Dynamo contract anyway (an UNAVAILABLE write
 *     "may still have been stored on some replicas").
 *
 * Routing. Any node coordinates any key (it forwards when it is not a replica), but a
 * request sent straight to one of the key's owners saves a hop. With `routing` on (the
 * default) the client asks a node for the ring once, then sends each key to the first
 * connected node of the key's N owners, found with the ring's own `partitionOf`; keys
 * whose owners are not connected, and requests without a key, go round robin. The
 * table is refreshed every `clientRingRefreshMs`, after a connection drops and after an
 * `unavailable` answer (at most once per `clientRingRefreshMinMs`).
 *
 * Direct reads (Dynamo §6.4, client-driven coordination). With routing, a `get` reads R
 * of the key's owners itself (`lget`: one owner's whole stored object, the others' digest
 * of it) and answers from the object when every digest matches, exactly as a coordinator
 * would from the same replies; it saves one sequential hop and the coordinator's work. Anything else (an
 * owner refuses because the client's ring is stale, fails, is slow, or the copies
 * differ) sends an ordinary coordinated `get` with the time left, which reads with the
 * sloppy quorum and repairs the stale copy; one read in ten goes that way on purpose (the
 * read-repair chance a coordinator applies to its own reads). A get that is the client's
 * only request in flight asks every owner for its whole copy instead and answers from the
 * first R that agree (`directReadsAskAllWhenIdle`). docs/protocol.md has the rules;
 * `directReads: false` turns it off; `stats()` counts both outcomes.
 *
 * Limits and timeouts. Every request has a client-side deadline: its `timeoutMs` (sent
 * to the server as `tmo`, so the server gives up first and answers `unavailable` with a
 * reason) plus `clientTimeoutGraceMs`; past it the request fails with TIMEOUT. At most
 * `clientInFlightMax` requests are in flight per client; beyond that a request fails at
 * once with OVERLOADED. Keys (1..512 bytes of UTF-8), quorums, timeouts and value sizes
 * are checked before anything is sent, so bad input fails fast with BAD_REQUEST or
 * TOO_LARGE.
 *
 * Errors. Every failure is a `ShoalError` with a stable `code` (src/errors): server
 * answers map through `codeFromWire` (BAD_REQUEST, UNAUTHORIZED, TOO_LARGE,
 * UNAVAILABLE...); the client adds TIMEOUT (its own deadline), CLOSED (the client was
 * closed), OVERLOADED (its in-flight cap) and UNAVAILABLE (no connection).
 *
 * Siblings. A read returns every live sibling as a list, never a silent pick, plus the
 * context token. `getResolved` folds siblings with a pluggable `Resolver`
 * (default: the byte-wise greatest, deterministic but arbitrary), and `update` is a
 * read-modify-write that writes back with the read's context so the new value
 * supersedes exactly the siblings it was computed from.
 *
 * Authentication. In Node the token travels as `Authorization: Bearer TOKEN` on the
 * upgrade request. A browser cannot set WebSocket headers, so the browser path offers
 * the subprotocols `shoal.v1` and `shoal.bearer.<token as base64url>` (src/api selects
 * `shoal.v1` and never echoes the token; a query string would end up in access logs).
 *
 * Browser safety: nothing reachable from this file imports `node:*` or `ws`, or uses
 * `Buffer` (test/client/browser-safe.test.ts checks it).
 */
export { connect, ShoalClient, resolveByGreatestBytes, preferredOwners, parseEndpoint } from './client.js';
export type {
  ClientStats,
  ConnectOptions,
  DeleteOptions,
  GetOptions,
  GetResult,
  PutOptions,
  Quorum,
  ResolvedResult,
  Resolver,
  RoutingTable,
  SocketFactory,
  UpdateResult,
  WebSocketConstructor,
  WebSocketLike,
  WriteResult,
} from './types.js';
export { ShoalError, isShoalError, ERROR_CODES } from '../errors/index.js';
export type { ErrorCode } from '../errors/index.js';
