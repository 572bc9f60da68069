/**
 * Limits and defaults for src/transport (peer links over `/v1/peer`). Each constant: unit
 * last in the name, and a sentence on why it has its value and what happens beyond it.
 * `WsTransport` and `MemoryTransport` take any of them as overrides (`limits`), so the node
 * can size frames from `--max-value-bytes` and tests can shrink deadlines.
 */

/**
 * Largest single payload (one message from the wire codec). src/wire lets a peer frame
 * carry 8 values of --max-value-bytes plus 5 MiB of ring/clock overhead, 13 MiB at the
 * defaults; 16 MiB covers that with room. Beyond it: send() returns false, request()
 * rejects TOO_LARGE, and an incoming frame claiming more closes the connection (1007).
 * A node running with a larger --max-value-bytes must raise this to match.
 */
export const peerPayloadBytesMax = 16 * 1_048_576;

/**
 * Envelope overhead allowed on top of one payload in one WebSocket message: frame headers
 * (9 bytes each) of the small frames batched next to a large one. Batches are cut so a
 * message never exceeds `peerPayloadBytesMax + peerFrameOverheadBytes`.
 */
export const peerFrameOverheadBytes = 65_536;

/**
 * Largest WebSocket message either side accepts (`maxPayload` on both the dialing and the
 * accepting socket): one maximal payload plus envelope overhead. The ws library closes a
 * connection that sends more (1009) before buffering it, so a peer cannot make us allocate
 * more than this per message.
 */
export const peerFrameBytesMax = peerPayloadBytesMax + peerFrameOverheadBytes;

/**
 * Requests we may have outstanding to one peer. 4096 is far above what a healthy peer
 * needs (a coordinator sends N requests per client operation) and bounds the memory of
 * pending callbacks when a peer stalls. Beyond: request() rejects OVERLOADED at once, so
 * the coordinator treats that replica as unavailable instead of queueing without end.
 */
export const peerInFlightMax = 4096;

/**
 * Requests from one peer that our handler has not answered yet. The same bound from the
 * other side: a peer (buggy or hostile) cannot make us hold unbounded work. Beyond: we
 * answer an error-response OVERLOADED without calling the handler.
 */
export const peerIncomingInFlightMax = 4096;

/**
 * Bytes queued for one peer and not yet written to its socket (our batch queue plus
 * `ws.bufferedAmount`). Two maximal frames: enough to keep a fast link busy, small enough
 * that a stalled peer costs bounded memory. Beyond: send() returns false and request()
 * rejects OVERLOADED (backpressure the caller can see).
 */
export const peerSendBufferBytesMax = 2 * peerFrameBytesMax;

/**
 * Time from TCP accept (or dial) until the handshake must be complete. Five seconds covers
 * a slow TLS handshake across regions; a socket silent for longer is closed, so idle
 * unauthenticated connections cannot pile up.
 */
export const peerHandshakeTimeoutMs = 5_000;

/**
 * Largest handshake message (JSON text). A hello holds an id (256 bytes), a nonce (64 hex
 * characters) and the cluster parameters (256 bytes); anything larger is refused before
 * it is parsed.
 */
export const peerHandshakeBytesMax = 2_048;

/**
 * Incoming connections that may be mid-handshake at once. Authenticating costs an HMAC
 * and a little state; 64 is more than a cluster's worth of simultaneous reconnects. Beyond:
 * the new socket is closed at once with 1013 (try again later).
 */
export const peerHandshakesPendingMax = 64;

/** Longest node id in a handshake, in UTF-8 bytes (as src/wire's id limit: any DNS name plus port). */
export const peerIdBytesMax = 256;

/**
 * Longest cluster-parameter string ("n=3,q=64"), in UTF-8 bytes. The constructor refuses a
 * longer one (INVALID_CONFIG); close reasons quote it truncated, since a WebSocket close
 * reason holds at most 123 bytes.
 */
export const peerClusterParamsBytesMax = 256;

/**
 * First reconnect delay after a link drops. Short, because most drops are a peer
 * restarting; doubled per failed attempt, with jitter drawn from env.random so a cluster
 * that lost one node does not redial it in lockstep.
 */
export const peerReconnectBaseMs = 100;

/**
 * Ceiling of the reconnect delay. Ten seconds bounds how long a healed partition stays
 * unused, while a permanently dead peer costs one failed dial per ten seconds.
 */
export const peerReconnectMaxMs = 10_000;

/**
 * Keepalive period. Every period we ping each link; a link that answered nothing (no
 * pong, no frame) for a whole period is terminated, so a half-open TCP connection (peer
 * powered off, cable cut) is noticed within two periods instead of the kernel's hours.
 */
export const peerKeepaliveIntervalMs = 5_000;

/**
 * How long close() waits for a peer to acknowledge a WebSocket close before it terminates
 * the socket. Shutdown must finish even when a peer has stopped reading.
 */
export const peerCloseTimeoutMs = 2_000;
