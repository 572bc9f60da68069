/**
 * Limits and defaults for src/api (the HTTP API, the client WebSocket and the routing of
 * peer upgrades on the node's one port). Each constant: unit last in the name, and a
 * sentence on why and on what happens when it is exceeded.
 */

/**
 * Largest request head (request line plus headers), bytes: room for one full context
 * token (wireContextBytesMax, 16 KiB) plus ordinary headers. Beyond it Node answers 431 and
 * closes the connection before any of our code runs.
 */
export const apiHeaderBytesMax = 32_768;
/**
 * Time a client has to send its complete request head, ms. A slow-loris client that
 * trickles headers is cut off after this (Node answers 408).
 */
export const apiHeadersTimeoutMs = 10_000;
/**
 * Time a client has to send its whole request, body included, ms: a 1 MiB value over a
 * slow (~50 KiB/s) link still fits; a client that stalls mid-body is cut off (408).
 */
export const apiRequestTimeoutMs = 30_000;
/**
 * Idle time after which a kept-alive HTTP connection is closed, ms. Long enough for a
 * client's next request in a burst, short enough that idle sockets do not pile up.
 */
export const apiKeepAliveTimeoutMs = 5_000;
/**
 * Client requests (HTTP and /v1/ws together) the node works on at once. Beyond it a new
 * request is answered 503 `overloaded` at once instead of queueing without bound; the
 * coordinator's own limit (coordinatorInFlightMax) guards the replica fan-out behind it.
 */
export const apiInFlightMax = 4_096;
/**
 * Open TCP connections on the port (HTTP, client and peer WebSockets). Beyond it the
 * kernel-accepted socket is closed at once; far above any real client fleet per node,
 * it only stops a file-descriptor exhaustion.
 */
export const apiConnectionsMax = 16_384;
/**
 * Open client WebSocket connections. Beyond it the upgrade is answered 503 `overloaded`.
 */
export const wsClientConnectionsMax = 4_096;
/**
 * Requests in flight on one client WebSocket connection. Beyond it a request is answered
 * `err` `overloaded` with its id, so one greedy client cannot take the node's whole share.
 */
export const wsClientInFlightMax = 1_024;
/**
 * Bytes of answers queued for one client WebSocket that the client has not read yet.
 * Beyond it the client is a slow reader and is cut off (close 1008) rather than letting
 * its backlog grow in the node's memory. 16 MiB holds a dozen full-size sibling sets.
 */
export const wsClientSendBufferBytesMax = 16_777_216;
/**
 * After answering 413 to a body that is too large, the connection is half-closed and
 * whatever the client still sends is discarded (not buffered) for at most this long, ms,
 * so the client reads our answer instead of a TCP reset (nginx's lingering_time).
 */
export const apiLingerMs = 2_000;
/**
 * Bytes discarded while lingering (see apiLingerMs); beyond it the socket is destroyed,
 * so a client streaming gigabytes costs at most this much reading.
 */
export const apiLingerBytesMax = 1_048_576;
/**
 * Time close() waits for requests in flight to finish before it drops their
 * connections, ms.
 */
export const apiCloseGraceMs = 5_000;
