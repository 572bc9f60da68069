/**
 * Peer links: how one Shoal node exchanges bytes with the others.
 *
 * The transport carries opaque payloads (src/wire encodes the messages) and owns only
 * the envelope around them: which peer, request or one-way, which answer belongs to
 * which request. Two implementations share one contract suite (test/transport): the
 * WebSocket one for production and the memory one for unit tests and the simulator.
 * What a timeout, an overload or a dropped link means is written once, in endpoint.ts,
 * so the two cannot disagree.
 *
 * Envelope. A WebSocket message holds one or more frames back to back: kind (u8),
 * correlation id (u32), payload length (u32), payload. Frames queued to a peer during one
 * event-loop turn go out as one message: a coordinator fanning a put out to N replicas,
 * and replicas answering many requests at once, pay one syscall and one WebSocket header
 * per turn instead of per frame, the same trick as Riak's batched distribution buffers
 * and Cassandra's message coalescing. Every message is validated strictly before
 * anything is dispatched; a truncated, oversized or unknown frame closes that one
 * connection with 1007 and the node goes on serving.
 *
 * Requests. Each request gets a fresh u32 id and a timer from the injected Timers; an
 * answer settles it, the timer rejects it with TIMEOUT, a dropped link rejects it with
 * CLOSED. Outstanding requests per peer are bounded (OVERLOADED beyond, at once, so the
 * coordinator can pick another replica rather than queue), and so are unanswered requests
 * *from* a peer, and the bytes queued for a peer's socket. Every limit is in
 * src/config/transport.ts.
 *
 * Handshake (handshake.ts). Both sides prove they know the cluster secret with
 * HMAC-SHA256 over a nonce the other side just drew, so the secret never crosses the wire
 * and a recorded handshake cannot be replayed. The dialer also checks that the node at an
 * address is the one it meant to reach, and the acceptor refuses a second address
 * claiming an id it already has an authenticated link from. The handshake carries the
 * cluster parameters (N, partition count): nodes that disagree refuse each other with
 * 4002 and a reason naming both values, so an operator sees the real problem rather than
 * a cluster that quietly routes keys two ways.
 *
 * Links per pair. Each side dials the peers it knows (setPeer) and sends its requests
 * and one-way frames on its own outgoing link; answers go back on the link a request
 * came in on. When both sides dial at once we simply keep both links: there is no
 * tie-break to get wrong, a link's failure affects only the requests sent on it, and the
 * cost is one idle socket per pair. While our outgoing link is down (or before we know
 * the peer's address, e.g. right after it dialed us as a seed) we send on a link the peer
 * opened. A peer is "up" while at least one authenticated link to it is open; onLink
 * fires on the transitions, for the failure detector and the circuit breaker.
 *
 * Reconnect. A dropped outgoing link to a peer we still know is redialed after a
 * jittered exponential backoff (base doubling to a ceiling, "equal jitter" from the
 * injected Random); a refused handshake goes straight to the ceiling. A keepalive ping
 * every period terminates links that stay silent for a whole period, so a half-open
 * connection is noticed in seconds.
 */
export type {
  LinkHandler,
  MessageHandler,
  PeerStats,
  RefusedHandler,
  Reply,
  Transport,
  TransportLimits,
  TransportLog,
  TransportStats,
} from './types.js';
export { transportLimits } from './types.js';
export { WsTransport, isLoopback, type WsTransportOptions } from './ws.js';
export { MemoryNetwork, MemoryTransport, type DeliverFn, type MemoryNetworkOptions, type MemoryTransportOptions } from './memory.js';
export { FrameKind, decodeFrames, encodeFrames, frameHeaderBytes, type Frame } from './envelope.js';
export { closeCodes, handshakeMac, type Challenge, type Hello } from './handshake.js';
