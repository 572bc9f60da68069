import {
  peerCloseTimeoutMs,
  peerFrameBytesMax,
  peerHandshakeBytesMax,
  peerHandshakesPendingMax,
  peerHandshakeTimeoutMs,
  peerIncomingInFlightMax,
  peerInFlightMax,
  peerKeepaliveIntervalMs,
  peerPayloadBytesMax,
  peerReconnectBaseMs,
  peerReconnectMaxMs,
  peerSendBufferBytesMax,
} from '../config/index.js';
import { assert, type ShoalError } from '../errors/index.js';
import { frameHeaderBytes } from './envelope.js';

/**
 * Answers a request. Call it exactly once: with the answer bytes, or with a ShoalError
 * that the requester's promise rejects with (same code and message). Calling it after the
 * link dropped is harmless (the answer is discarded); calling it twice is a bug and throws.
 */
export type Reply = (answer: Uint8Array | ShoalError) => void;

/** Incoming payload. `reply` is set for requests and null for one-way messages. */
export type MessageHandler = (from: string, payload: Uint8Array, reply: Reply | null) => void;

/** A peer became reachable (`up`) or lost its last link (`!up`). */
export type LinkHandler = (peer: string, up: boolean) => void;

/**
 * A handshake was refused, by us or by the other side. `who` is the peer id when known,
 * else the address dialed or the remote address. `code` is 4001 (authentication or
 * identity) or 4002 (cluster parameters differ).
 */
export type RefusedHandler = (who: string, code: number, reason: string) => void;

/** Per-peer counters. */
export interface PeerStats {
  /** At least one authenticated link is open. */
  up: boolean;
  /** Our requests to this peer awaiting an answer. */
  inFlight: number;
  /** Frames (requests, responses, one-way) sent and received. */
  framesSent: number;
  framesReceived: number;
  /** Envelope bytes sent and received (headers plus payloads). */
  bytesSent: number;
  bytesReceived: number;
  /** Socket messages sent; framesSent / messagesSent is the batching factor (memory: one frame per message). */
  messagesSent: number;
  /** send() calls that returned false and requests refused OVERLOADED or TOO_LARGE. */
  dropped: number;
  /** Requests that timed out. */
  timeouts: number;
  /** Outgoing links re-established after the first one (ws only; 0 in memory). */
  reconnects: number;
}

export interface TransportStats {
  peers: Record<string, PeerStats>;
}

/**
 * A node's links to its peers. Payloads are opaque bytes (src/wire encodes them); the
 * transport owns the envelope: correlation ids, request/response, batching, handshake.
 */
export interface Transport {
  /** This node's id. */
  readonly self: string;
  /** Learn or update a peer's address (from gossip or seeds); the transport keeps a link to it. */
  setPeer(id: string, address: string): void;
  /**
   * Dial an address whose id we do not know yet (a seed); resolves with the id proven in
   * the handshake. Rejects AUTH_FAILED or CONFIG_MISMATCH when refused, CLOSED when the
   * address cannot be reached, TIMEOUT when the handshake does not finish in time. The
   * link stays open for use but is not redialed unless setPeer names the id.
   */
  connectSeed(address: string): Promise<string>;
  /** Forget a peer: close every link to it, rejecting its pending requests with CLOSED. */
  removePeer(id: string): void;
  /** Fire-and-forget. Returns false when dropped (no link, send buffer over its limit, payload too large). */
  send(to: string, payload: Uint8Array): boolean;
  /**
   * Request/response with a timeout. Rejects with ShoalError TIMEOUT, CLOSED (no link, or
   * the link dropped), OVERLOADED (too many in flight to that peer, or send buffer full),
   * TOO_LARGE, or the error the other side replied with.
   */
  request(to: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Sets the one handler for incoming payloads (a later call replaces it). */
  onMessage(handler: MessageHandler): void;
  /** Adds a listener for link events, for the failure detector and circuit breaker. */
  onLink(handler: LinkHandler): void;
  /** Adds a listener for refused handshakes (wrong secret, impersonation, cluster-parameter mismatch). */
  onRefused(handler: RefusedHandler): void;
  /** Per-peer counters. */
  stats(): TransportStats;
  /** Closes every link and rejects every pending request with CLOSED. Idempotent. */
  close(): Promise<void>;
}

/** Structured logging as the node provides it: an event name, its fields, a level. */
export type TransportLog = (event: string, fields: Record<string, unknown>, level: 'info' | 'warn') => void;

/** The two-method view the transport code uses internally. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
}

export function toLogger(log: TransportLog | undefined): Logger {
  if (!log) return { info() {}, warn() {} };
  return { info: (e, f) => log(e, f ?? {}, 'info'), warn: (e, f) => log(e, f ?? {}, 'warn') };
}

/** Every limit the transports enforce; defaults from src/config/transport.ts. */
export interface TransportLimits {
  payloadBytesMax: number;
  frameBytesMax: number;
  inFlightMax: number;
  incomingInFlightMax: number;
  sendBufferBytesMax: number;
  handshakeTimeoutMs: number;
  handshakeBytesMax: number;
  handshakesPendingMax: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  keepaliveIntervalMs: number;
  closeTimeoutMs: number;
}

/**
 * Defaults with overrides applied. A smaller or larger payload limit carries the frame
 * and send-buffer limits along (same overhead, same ratio) unless those are given too.
 */
export function transportLimits(overrides: Partial<TransportLimits> = {}): TransportLimits {
  const payloadBytesMax = overrides.payloadBytesMax ?? peerPayloadBytesMax;
  const frameBytesMax = overrides.frameBytesMax ?? payloadBytesMax + (peerFrameBytesMax - peerPayloadBytesMax);
  const limits: TransportLimits = {
    payloadBytesMax,
    frameBytesMax,
    inFlightMax: peerInFlightMax,
    incomingInFlightMax: peerIncomingInFlightMax,
    sendBufferBytesMax: (peerSendBufferBytesMax / peerFrameBytesMax) * frameBytesMax,
    handshakeTimeoutMs: peerHandshakeTimeoutMs,
    handshakeBytesMax: peerHandshakeBytesMax,
    handshakesPendingMax: peerHandshakesPendingMax,
    reconnectBaseMs: peerReconnectBaseMs,
    reconnectMaxMs: peerReconnectMaxMs,
    keepaliveIntervalMs: peerKeepaliveIntervalMs,
    closeTimeoutMs: peerCloseTimeoutMs,
    ...overrides,
  };
  assert(limits.frameBytesMax >= limits.payloadBytesMax + frameHeaderBytes, 'a frame must hold one maximal payload');
  return limits;
}
