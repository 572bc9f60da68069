/**
 * The envelope semantics both transports share: correlation ids, pending requests with
 * their timeouts, the in-flight limits in both directions, dispatch of incoming frames to
 * the one message handler, listeners and counters. The WebSocket and memory transports
 * only decide which link (`FrameSink`) a frame goes out on and when a link is up; so the
 * two cannot drift apart in what a timeout, an overload or a dropped link means.
 */
import type { Timers, TimerHandle } from '../env/index.js';
import { assert, isShoalError, ShoalError } from '../errors/index.js';
import { decodeError, encodeError, FrameKind, frameBytes, type Frame } from './envelope.js';
import type {
  LinkHandler,
  MessageHandler,
  PeerStats,
  RefusedHandler,
  Reply,
  TransportLimits,
  Logger,
  TransportStats,
} from './types.js';

/** One authenticated link to a peer, as the endpoint sees it. */
export interface FrameSink {
  readonly peer: string;
  /** Queues a frame for sending; false when the link is closed. */
  enqueue(frame: Frame): boolean;
  /** Bytes queued on this link and not yet written (0 where nothing queues). */
  bufferedBytes(): number;
}

interface Pending {
  peer: string;
  sink: FrameSink;
  timer: TimerHandle;
  resolve: (answer: Uint8Array) => void;
  reject: (err: ShoalError) => void;
}

const idLimit = 0x1_0000_0000;

export class Endpoint {
  private handler: MessageHandler | undefined;
  private readonly linkHandlers: LinkHandler[] = [];
  private readonly refusedHandlers: RefusedHandler[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly pendingBySink = new Map<FrameSink, Set<number>>();
  /** Unanswered incoming requests per link; the counter object is captured by each reply. */
  private readonly incoming = new Map<FrameSink, { n: number }>();
  private readonly inFlight = new Map<string, number>();
  private readonly counters = new Map<string, PeerStats>();
  private nextId = 1;
  private closed = false;

  constructor(
    readonly self: string,
    private readonly timers: Timers,
    private readonly limits: TransportLimits,
    private readonly log: Logger,
  ) {}

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  onLink(handler: LinkHandler): void {
    this.linkHandlers.push(handler);
  }

  onRefused(handler: RefusedHandler): void {
    this.refusedHandlers.push(handler);
  }

  emitLink(peer: string, up: boolean): void {
    this.peer(peer).up = up;
    for (const h of this.linkHandlers) this.guard(() => h(peer, up), 'link handler');
  }

  emitRefused(who: string, code: number, reason: string): void {
    this.log.warn('peer handshake refused', { who, code, reason });
    for (const h of this.refusedHandlers) this.guard(() => h(who, code, reason), 'refused handler');
  }

  /** Counters for one peer, created on first use. */
  peer(id: string): PeerStats {
    let s = this.counters.get(id);
    if (!s) {
      s = { up: false, inFlight: 0, framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, messagesSent: 0, dropped: 0, timeouts: 0, reconnects: 0 };
      this.counters.set(id, s);
    }
    return s;
  }

  forgetStats(id: string): void {
    this.counters.delete(id);
  }

  stats(): TransportStats {
    const peers: Record<string, PeerStats> = {};
    for (const [id, s] of this.counters) peers[id] = { ...s, inFlight: this.inFlight.get(id) ?? 0 };
    return { peers };
  }

  send(sink: FrameSink | undefined, to: string, payload: Uint8Array): boolean {
    if (this.closed || !sink || !this.fits(sink, payload)) {
      this.peer(to).dropped++;
      return false;
    }
    return this.emit(sink, { kind: FrameKind.oneWay, id: 0, payload });
  }

  request(sink: FrameSink | undefined, to: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    assert(Number.isFinite(timeoutMs) && timeoutMs > 0, 'request timeout must be a positive number of ms');
    if (this.closed) return Promise.reject(new ShoalError('CLOSED', 'transport closed', { details: { peer: to } }));
    if (!sink) return Promise.reject(new ShoalError('CLOSED', `no link to ${to}`, { details: { peer: to } }));
    if (payload.byteLength > this.limits.payloadBytesMax) {
      this.peer(to).dropped++;
      return Promise.reject(
        new ShoalError('TOO_LARGE', `payload of ${payload.byteLength} bytes over the peer limit ${this.limits.payloadBytesMax}`, { details: { peer: to } }),
      );
    }
    const inFlight = this.inFlight.get(to) ?? 0;
    if (inFlight >= this.limits.inFlightMax || !this.fits(sink, payload)) {
      this.peer(to).dropped++;
      const why = inFlight >= this.limits.inFlightMax ? `${inFlight} requests in flight` : 'send buffer full';
      return Promise.reject(new ShoalError('OVERLOADED', `peer ${to}: ${why}`, { details: { peer: to } }));
    }
    const id = this.allocateId();
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        if (!this.settle(id)) return;
        this.peer(to).timeouts++;
        reject(new ShoalError('TIMEOUT', `peer ${to} did not answer within ${timeoutMs} ms`, { details: { peer: to } }));
      }, timeoutMs);
      this.pending.set(id, { peer: to, sink, timer, resolve, reject });
      let ids = this.pendingBySink.get(sink);
      if (!ids) this.pendingBySink.set(sink, (ids = new Set()));
      ids.add(id);
      this.inFlight.set(to, inFlight + 1);
      if (!this.emit(sink, { kind: FrameKind.request, id, payload })) {
        this.settle(id);
        reject(new ShoalError('CLOSED', `link to ${to} closed`, { details: { peer: to } }));
      }
    });
  }

  /** Frames that arrived on an authenticated link. */
  receive(sink: FrameSink, frames: readonly Frame[]): void {
    const from = sink.peer;
    const s = this.peer(from);
    for (const frame of frames) {
      s.framesReceived++;
      s.bytesReceived += frameBytes(frame);
      switch (frame.kind) {
        case FrameKind.oneWay:
          if (this.handler) this.guard(() => this.handler?.(from, frame.payload, null), 'message handler');
          break;
        case FrameKind.request:
          this.incomingRequest(sink, frame);
          break;
        case FrameKind.response:
        case FrameKind.error: {
          const p = this.pending.get(frame.id);
          // A late answer (after its timeout) or one on the wrong link is dropped: ids are
          // only unique per sender, so an answer counts only where its request went.
          if (!p || p.sink !== sink) break;
          this.settle(frame.id);
          if (frame.kind === FrameKind.response) p.resolve(frame.payload);
          else p.reject(decodeError(frame.payload, from));
          break;
        }
      }
    }
  }

  /** A link went away: its pending requests fail with CLOSED; answers to its requests are dropped. */
  sinkClosed(sink: FrameSink, reason: string): void {
    this.incoming.delete(sink);
    const ids = this.pendingBySink.get(sink);
    if (!ids) return;
    for (const id of [...ids]) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.settle(id);
      p.reject(new ShoalError('CLOSED', `link to ${p.peer} closed: ${reason}`, { details: { peer: p.peer } }));
    }
  }

  /** Rejects everything pending with CLOSED; later calls fail fast. */
  close(): void {
    this.closed = true;
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(new ShoalError('CLOSED', 'transport closed', { details: { peer: p.peer } }));
    }
    this.incoming.clear();
  }

  private incomingRequest(sink: FrameSink, frame: Frame): void {
    let counter = this.incoming.get(sink);
    if (!counter) this.incoming.set(sink, (counter = { n: 0 }));
    if (counter.n >= this.limits.incomingInFlightMax || !this.handler) {
      const err = this.handler
        ? new ShoalError('OVERLOADED', `${this.self}: ${counter.n} requests from ${sink.peer} unanswered`)
        : new ShoalError('INTERNAL', `${this.self} has no message handler`);
      this.emit(sink, { kind: FrameKind.error, id: frame.id, payload: encodeError(err) });
      return;
    }
    counter.n++;
    const c = counter;
    let answered = false;
    const reply: Reply = (answer) => {
      assert(!answered, `reply called twice for request ${frame.id} from ${sink.peer}`);
      answered = true;
      c.n--;
      if (answer instanceof Uint8Array) {
        if (answer.byteLength > this.limits.payloadBytesMax) {
          this.log.warn('answer over the peer payload limit; sending an error instead', { peer: sink.peer, bytes: answer.byteLength });
          answer = new ShoalError('TOO_LARGE', `answer of ${answer.byteLength} bytes over the peer limit`);
        } else {
          this.emit(sink, { kind: FrameKind.response, id: frame.id, payload: answer });
          return;
        }
      }
      this.emit(sink, { kind: FrameKind.error, id: frame.id, payload: encodeError(answer) });
    };
    try {
      this.handler(sink.peer, frame.payload, reply);
    } catch (err) {
      this.log.warn('message handler threw on a request', { peer: sink.peer, error: String(err) });
      if (!answered) reply(isShoalError(err) ? err : new ShoalError('INTERNAL', 'handler failed'));
    }
  }

  private emit(sink: FrameSink, frame: Frame): boolean {
    if (!sink.enqueue(frame)) {
      this.peer(sink.peer).dropped++;
      return false;
    }
    const s = this.peer(sink.peer);
    s.framesSent++;
    s.bytesSent += frameBytes(frame);
    return true;
  }

  private fits(sink: FrameSink, payload: Uint8Array): boolean {
    return (
      payload.byteLength <= this.limits.payloadBytesMax &&
      sink.bufferedBytes() + payload.byteLength <= this.limits.sendBufferBytesMax
    );
  }

  /** Removes a pending request and its timer; false when it was already settled. */
  private settle(id: number): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    this.timers.clearTimeout(p.timer);
    this.pendingBySink.get(p.sink)?.delete(id);
    if (this.pendingBySink.get(p.sink)?.size === 0) this.pendingBySink.delete(p.sink);
    const n = (this.inFlight.get(p.peer) ?? 1) - 1;
    if (n === 0) this.inFlight.delete(p.peer);
    else this.inFlight.set(p.peer, n);
    return true;
  }

  /** Next free uint32 id, skipping 0 (reserved for one-way) and ids still pending. */
  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id + 1 >= idLimit ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private guard(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.log.warn(`${what} threw`, { error: String(err) });
    }
  }
}
