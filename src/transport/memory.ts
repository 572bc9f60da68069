/**
 * In-memory peer links for unit tests and the deterministic simulator. Many transports
 * share one `MemoryNetwork`; frames are encoded with the real envelope and handed to a
 * pluggable `deliver(from, to, bytes, run)` hook, where the simulator can delay
 * (call `run` later), drop (never call it), duplicate (call it twice), reorder, or
 * corrupt (call `run(otherBytes)`). Partitions are network state: a pair that cannot
 * reach each other has its link down, as a real socket would after a cut.
 *
 * A link between two nodes is up when both are attached, they can reach each other,
 * their cluster parameters agree, and at least one of them wants it (setPeer naming the
 * other's address, or connectSeed). Every time a link comes up it gets a new epoch; a
 * frame sent under one epoch and delivered after the link went down (even if it came back
 * since) is dropped, as bytes in flight on a broken TCP connection are lost.
 *
 * Differences from WsTransport, by design: no send-buffer limit (the deliver hook owns
 * queueing, so bufferedBytes is 0), no batching (one frame per delivery, so the simulator
 * controls each message), no reconnect backoff (a link is up as soon as the network
 * allows), and a malformed delivery is logged and dropped rather than closing the link.
 */
import type { Timers } from '../env/index.js';
import { ShoalError } from '../errors/index.js';
import { Endpoint, type FrameSink } from './endpoint.js';
import { decodeFrames, encodeFrames, type Frame } from './envelope.js';
import { closeCodes, paramsMismatchReason } from './handshake.js';
import {
  toLogger,
  transportLimits,
  type LinkHandler,
  type Logger,
  type MessageHandler,
  type RefusedHandler,
  type Transport,
  type TransportLimits,
  type TransportLog,
  type TransportStats,
} from './types.js';

/** Delivery hook: call `run()` to deliver `bytes` now, `run(other)` to deliver other bytes, or never to drop. */
export type DeliverFn = (from: string, to: string, bytes: Uint8Array, run: (bytes?: Uint8Array) => void) => void;

export interface MemoryNetworkOptions {
  /** Default: deliver each frame on `defer`. */
  deliver?: DeliverFn;
  /** Runs link events, refusals and default deliveries later (default queueMicrotask). */
  defer?: (fn: () => void) => void;
}

export interface MemoryTransportOptions {
  self: string;
  /** The address other nodes name in setPeer/connectSeed (default: the id itself). */
  address?: string;
  clusterParams?: string;
  env: { timers: Timers };
  log?: TransportLog;
  limits?: Partial<TransportLimits>;
}

interface LinkState {
  up: boolean;
  epoch: number;
}

class MemorySink implements FrameSink {
  open = true;
  constructor(
    private readonly network: MemoryNetwork,
    readonly self: string,
    readonly peer: string,
    readonly epoch: number,
  ) {}
  enqueue(frame: Frame): boolean {
    if (!this.open) return false;
    this.network.transmit(this.self, this.peer, this.epoch, encodeFrames([frame]));
    this.network.node(this.self)?.messageSent(this.peer);
    return true;
  }
  bufferedBytes(): number {
    return 0;
  }
  close(): void {
    this.open = false;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

export class MemoryNetwork {
  /** The delivery hook; the simulator may replace it at any time. */
  deliver: DeliverFn;
  readonly defer: (fn: () => void) => void;
  private readonly nodes = new Map<string, MemoryTransport>();
  private readonly addresses = new Map<string, string>();
  private readonly cut = new Set<string>();
  private readonly links = new Map<string, LinkState>();

  constructor(options: MemoryNetworkOptions = {}) {
    this.defer = options.defer ?? ((fn) => queueMicrotask(fn));
    this.deliver = options.deliver ?? ((_from, _to, _bytes, run) => this.defer(() => run()));
  }

  /** Creates a transport attached to this network. */
  transport(options: MemoryTransportOptions): MemoryTransport {
    return new MemoryTransport(this, options);
  }

  /** Makes a pair unreachable (or reachable again); links follow at once. */
  setReachable(a: string, b: string, reachable: boolean): void {
    if (reachable) this.cut.delete(pairKey(a, b));
    else this.cut.add(pairKey(a, b));
    this.refresh();
  }

  /** Every node of one group loses reach to every node of the other groups. */
  partition(...groups: string[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i] ?? []) for (const b of groups[j] ?? []) this.cut.add(pairKey(a, b));
      }
    }
    this.refresh();
  }

  /** Removes every cut. */
  heal(): void {
    this.cut.clear();
    this.refresh();
  }

  reachable(a: string, b: string): boolean {
    return !this.cut.has(pairKey(a, b));
  }

  /** Whether the link between two nodes is up. */
  linkUp(a: string, b: string): boolean {
    return this.links.get(pairKey(a, b))?.up ?? false;
  }

  // ---------------------------------------------------------------- used by MemoryTransport

  attach(t: MemoryTransport, address: string): void {
    if (this.nodes.has(t.self)) throw new ShoalError('INVALID_CONFIG', `node ${t.self} is already on this network`);
    if (this.addresses.has(address)) throw new ShoalError('INVALID_CONFIG', `address ${address} is already taken`);
    this.nodes.set(t.self, t);
    this.addresses.set(address, t.self);
    this.refresh();
  }

  detach(t: MemoryTransport): void {
    if (this.nodes.get(t.self) !== t) return;
    this.nodes.delete(t.self);
    for (const [addr, id] of this.addresses) if (id === t.self) this.addresses.delete(addr);
    this.refresh();
  }

  node(id: string): MemoryTransport | undefined {
    return this.nodes.get(id);
  }

  idAt(address: string): string | undefined {
    return this.addresses.get(address);
  }

  /** Takes a link down (rejecting its pending requests) and lets it come back if still wanted. */
  reset(a: string, b: string): void {
    const key = pairKey(a, b);
    const state = this.links.get(key);
    if (state?.up) this.setLink(key, a, b, false);
    this.refresh();
  }

  /** Recomputes every link's state and fires the transitions. */
  refresh(): void {
    const pairs = new Map<string, [string, string]>();
    for (const key of this.links.keys()) {
      const [a, b] = key.split('\u0000') as [string, string];
      pairs.set(key, [a, b]);
    }
    for (const t of this.nodes.values()) for (const b of t.wanted()) pairs.set(pairKey(t.self, b), [t.self, b]);
    for (const [key, [a, b]] of pairs) {
      const ta = this.nodes.get(a);
      const tb = this.nodes.get(b);
      const up =
        ta !== undefined && tb !== undefined && a !== b && this.reachable(a, b) && ta.params === tb.params && (ta.wants(b) || tb.wants(a));
      const state = this.links.get(key);
      // States stay after a link goes down: the epoch must keep growing across flaps.
      if ((state?.up ?? false) !== up) this.setLink(key, a, b, up);
    }
  }

  transmit(from: string, to: string, epoch: number, bytes: Uint8Array): void {
    this.deliver(from, to, bytes, (override) => {
      const state = this.links.get(pairKey(from, to));
      if (!state?.up || state.epoch !== epoch) return;
      this.nodes.get(to)?.arrive(from, override ?? bytes);
    });
  }

  private setLink(key: string, a: string, b: string, up: boolean): void {
    let state = this.links.get(key);
    if (!state) this.links.set(key, (state = { up: false, epoch: 0 }));
    state.up = up;
    if (up) state.epoch++;
    const epoch = state.epoch;
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const t = this.nodes.get(x);
      if (up) t?.linkUp(y, new MemorySink(this, x, y, epoch));
      else t?.linkDown(y);
    }
  }
}

export class MemoryTransport implements Transport {
  readonly self: string;
  readonly params: string;
  private readonly network: MemoryNetwork;
  private readonly log: Logger;
  private readonly limits: TransportLimits;
  private readonly endpoint: Endpoint;
  /** Peers named by setPeer, with the address we were given. */
  private readonly peers = new Map<string, string>();
  /** Peers reached through connectSeed. */
  private readonly seeds = new Set<string>();
  private readonly sinks = new Map<string, MemorySink>();
  private closed = false;

  constructor(network: MemoryNetwork, options: MemoryTransportOptions) {
    this.self = options.self;
    this.params = options.clusterParams ?? '';
    this.network = network;
    this.log = toLogger(options.log);
    this.limits = transportLimits(options.limits);
    this.endpoint = new Endpoint(this.self, options.env.timers, this.limits, this.log);
    network.attach(this, options.address ?? options.self);
  }

  setPeer(id: string, address: string): void {
    if (this.closed || id === this.self) return;
    if (this.peers.get(id) === address) return;
    this.peers.set(id, address);
    const at = this.network.idAt(address);
    const target = at === undefined ? undefined : this.network.node(at);
    if (at !== undefined && at !== id) {
      this.refused(id, closeCodes.authFailed, `expected ${id} at ${address}, it claims ${at}`);
    } else if (target && target.params !== this.params) {
      const reason = paramsMismatchReason(target.params, this.params);
      this.refused(id, closeCodes.configMismatch, reason);
      target.refused(this.self, closeCodes.configMismatch, reason);
    }
    this.network.refresh();
  }

  connectSeed(address: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const fail = (err: ShoalError): void => this.network.defer(() => reject(err));
      if (this.closed) return fail(new ShoalError('CLOSED', 'transport closed'));
      const id = this.network.idAt(address);
      const target = id === undefined ? undefined : this.network.node(id);
      if (id === undefined || !target || !this.network.reachable(this.self, id)) {
        return fail(new ShoalError('CLOSED', `nothing reachable at ${address}`));
      }
      if (id === this.self) {
        this.refused(address, closeCodes.authFailed, `dialed ourselves at ${address}`);
        return fail(new ShoalError('AUTH_FAILED', `dialed ourselves at ${address}`));
      }
      if (target.params !== this.params) {
        const reason = paramsMismatchReason(target.params, this.params);
        this.refused(address, closeCodes.configMismatch, reason);
        target.refused(this.self, closeCodes.configMismatch, reason);
        return fail(new ShoalError('CONFIG_MISMATCH', reason));
      }
      this.seeds.add(id);
      this.network.refresh();
      // After the link event, as in WsTransport.
      this.network.defer(() => resolve(id));
    });
  }

  removePeer(id: string): void {
    this.peers.delete(id);
    this.seeds.delete(id);
    this.network.reset(this.self, id);
  }

  send(to: string, payload: Uint8Array): boolean {
    return this.endpoint.send(this.sinks.get(to), to, payload);
  }

  request(to: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.endpoint.request(this.sinks.get(to), to, payload, timeoutMs);
  }

  onMessage(handler: MessageHandler): void {
    this.endpoint.onMessage(handler);
  }

  onLink(handler: LinkHandler): void {
    this.endpoint.onLink(handler);
  }

  onRefused(handler: RefusedHandler): void {
    this.endpoint.onRefused(handler);
  }

  stats(): TransportStats {
    return this.endpoint.stats();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.endpoint.close();
      this.network.detach(this);
    }
    return Promise.resolve();
  }

  // ---------------------------------------------------------------- used by MemoryNetwork

  messageSent(peer: string): void {
    this.endpoint.peer(peer).messagesSent++;
  }

  /** Peers this node keeps a link to. */
  wanted(): string[] {
    return [...this.peers.keys(), ...this.seeds];
  }

  wants(id: string): boolean {
    if (this.closed) return false;
    if (this.seeds.has(id)) return true;
    const address = this.peers.get(id);
    return address !== undefined && this.network.idAt(address) === id;
  }

  linkUp(peer: string, sink: MemorySink): void {
    this.sinks.get(peer)?.close();
    this.sinks.set(peer, sink);
    this.endpoint.peer(peer).up = true;
    this.network.defer(() => {
      if (!this.closed) this.endpoint.emitLink(peer, true);
    });
  }

  linkDown(peer: string): void {
    const sink = this.sinks.get(peer);
    if (!sink) return;
    this.sinks.delete(peer);
    sink.close();
    this.endpoint.sinkClosed(sink, 'link down');
    this.endpoint.peer(peer).up = false;
    this.network.defer(() => {
      if (!this.closed) this.endpoint.emitLink(peer, false);
    });
  }

  arrive(from: string, bytes: Uint8Array): void {
    const sink = this.sinks.get(from);
    if (this.closed || !sink) return;
    let frames: Frame[];
    try {
      frames = decodeFrames(bytes, this.limits.payloadBytesMax);
    } catch (err) {
      this.log.warn('malformed delivery dropped', { from, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.endpoint.receive(sink, frames);
  }

  refused(who: string, code: number, reason: string): void {
    this.network.defer(() => {
      if (!this.closed) this.endpoint.emitRefused(who, code, reason);
    });
  }
}
