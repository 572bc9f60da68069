import type { Env, TimerHandle } from '../env/index.js';
import { ShoalError, isShoalError } from '../errors/index.js';
import * as cfg from '../config/index.js';
import * as vc from '../vclock/index.js';
import type { DVVSet, Sibling, VersionVector } from '../vclock/types.js';
import { RingIndex, claim, compareRings, partitionOf } from '../ring/index.js';
import type { RingState } from '../ring/types.js';
import { Gossip } from '../gossip/index.js';
import type { GossipOutput } from '../gossip/index.js';
import { PeerHealth, ReadQuorum, WriteQuorum, planReplicas } from '../coordinator/index.js';
import type { ReplicaTarget } from '../coordinator/index.js';
import { HandoffScheduler } from '../hinted-handoff/index.js';
import type { ObjectStore } from '../store/index.js';
import type { Transport } from '../transport/index.js';
import { createPeerCodec, frameLimits } from '../wire/index.js';
import type { PeerMessage } from '../wire/messages.js';
import type {
  KvService,
  LocalCopy,
  ReadOptions,
  ReadResult,
  RingView,
  StatusView,
  WriteOptions,
  WriteResult,
} from '../api/types.js';
import type { Logger } from './log.js';
import { decodeRing, encodeRing } from './meta.js';
import { checkKey as validKey } from '../api/params.js';
import { TransferManager } from './transfers.js';
import { ActorIds } from './actors.js';
import { Reaper } from './reaper.js';
import type { NodeServices } from './services.js';
import { AntiEntropyDriver } from './antientropy.js';
import { REMOVE, type UpdateFn, type UpdateOptions } from '../store/index.js';

export interface NodeDeps {
  readonly id: string;
  /** HOST:PORT others reach this node at. */
  readonly address: string;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly partitions: number;
  readonly maxValueBytes: number;
  readonly seeds: readonly string[];
  readonly env: Env;
  readonly store: ObjectStore;
  readonly transport: Transport;
  readonly log: Logger;
  /** Called when the node cannot go on (e.g. every seed refused our cluster settings). */
  readonly onFatal?: (err: ShoalError) => void;
  /** A tombstone is reaped no sooner than this after it was written, ms (default tombstoneGraceMs). */
  readonly tombstoneGraceMs?: number;
  /** Called once the node has left the cluster (after `leave()`); the process should stop. */
  readonly onLeft?: () => void;
  /** Ignore the actor memory a clean stop saved (a data directory put back from a copy). */
  readonly forgetActors?: boolean;
  /** Seams for the simulator's deliberately broken components; production leaves them unset. */
  readonly hooks?: NodeHooks;
}

/**
 * Seams through which the simulator injects broken components, to prove that its
 * checker notices them. Each replaces one mechanism with a faulty one; none is used in
 * production.
 */
export interface NodeHooks {
  /** The merge of two replicas' versions (replica writes, reads, read repair). */
  readonly sync?: (a: DVVSet, b: DVVSet) => DVVSet;
  /** Acknowledge a replica write before the storage engine has it (and store it later). */
  readonly ackBeforeStore?: boolean;
  /** Skip anti-entropy repairs (exchanges still run). */
  readonly skipAntiEntropyRepair?: boolean;
}

/** A replica's answer in an explain view. */
export interface ReplicaExplain {
  readonly node: string;
  readonly role: 'primary' | 'fallback';
  readonly status: string;
  readonly ok: boolean;
  readonly error?: string;
  /** The replica's stored versions: one row per dot. */
  readonly versions?: ReadonlyArray<{ actor: string; counter: number; ts: number; tombstone: boolean; bytes: number }>;
  readonly context?: string | null;
  readonly tombstone?: boolean;
}

export interface KeyExplain {
  readonly key: string;
  readonly partition: number;
  readonly preferenceList: ReadonlyArray<{ node: string; role: 'primary' | 'fallback'; status: string }>;
  readonly replicas: readonly ReplicaExplain[];
  readonly hints: ReadonlyArray<{ target: string; ts: number; holder: string }>;
  readonly [extra: string]: unknown;
}

function noop(): void {}

/**
 * One Shoal node: the driver loop around the protocol cores. It feeds gossip its ticks,
 * messages and link events; runs the coordinator's quorum machines against the store and
 * the transport; answers replica requests; and delivers hints. The order rule of etcd's
 * `Ready` holds everywhere: a replica's write (and any hint it owes) is in the storage
 * engine before its ack leaves.
 *
 * The same class runs in production (ws transport, classic-level) and in the simulator
 * (memory transport and store, simulated clock): everything it touches comes in `deps`.
 */
export class ShoalNode implements KvService {
  readonly id: string;
  readonly n: number;
  readonly partitions: number;
  readonly maxValueBytes: number;
  /**
   * Most value bytes a key's siblings may hold together: what one peer frame (a replica
   * write, a read's answer, a transfer item) can carry. A key past it could be stored on
   * its coordinator but never replicated nor read back through another node.
   */
  private readonly siblingBytesMax: number;
  private readonly r: number;
  private readonly w: number;
  private readonly env: Env;
  private readonly store: ObjectStore;
  private readonly transport: Transport;
  private readonly log: Logger;
  private readonly codec;
  private gossip!: Gossip;
  private ringIndex: RingIndex | undefined;
  private actors!: ActorIds;
  private readonly health: PeerHealth;
  private readonly handoff: HandoffScheduler;
  private tickTimer: TimerHandle | undefined;
  private transferTimer: TimerHandle | undefined;
  private readonly transfers: TransferManager;
  private readonly ae: AntiEntropyDriver;
  private readonly reaper: Reaper;
  private reapTimer: TimerHandle | undefined;
  private aeTimer: TimerHandle | undefined;
  /** Recent foreground request durations (ms), a ring buffer for the p99 that pauses background work. */
  private readonly latencies = new Float64Array(cfg.foregroundLatencySamples);
  /** When each of `latencies` was recorded (monotonic ms): only recent ones count. */
  private readonly latencyAt = new Float64Array(cfg.foregroundLatencySamples);
  private latencyCount = 0;
  private leaving: 'no' | 'handing-off' | 'left' = 'no';
  private handoffTimer: TimerHandle | undefined;
  private seedTimer: TimerHandle | undefined;
  private stopped = false;
  private joined = false;
  /** Monotonic ms when start() ran: the readiness wait (nodeReadyWaitMs) counts from it. */
  private startedAt = 0;
  /** Set once `readyForClients` has held; it then stays set (see there). */
  private readyLatched = false;
  /** Owner → the ring ("version/claimant") it answered a `view` question with while reaching this node; one entry per owner at most (members are bounded by gossipMembersMax). */
  private readonly viewsConfirmed = new Map<string, string>();
  private viewsAsking = false;
  private viewsAskedAt = Number.NEGATIVE_INFINITY;
  private inFlight = 0;
  private ringPersist: Promise<void> = Promise.resolve();
  private incarnationPersist: Promise<void> = Promise.resolve();
  private savedIncarnation = -1;
  /** The incarnation known to be on disk (messages carrying a newer one wait for it). */
  private durableIncarnation = -1;
  /** Gossip messages waiting for their incarnation to be on disk (bounded: gossipHeldSendsMax). */
  private heldSends: GossipOutput['send'] = [];
  private releasing = false;
  readonly counters = {
    gets: 0,
    directReads: 0,
    puts: 0,
    deletes: 0,
    forwards: 0,
    readRepairs: 0,
    readRepairsTooOld: 0,
    hintsStored: 0,
    hintsDelivered: 0,
    quorumFailures: 0,
    siblingRefusals: 0,
    siblingBytesRefusals: 0,
    replicaWrites: 0,
    replicaReads: 0,
  };

  private readonly merge: (a: DVVSet, b: DVVSet) => DVVSet;
  private readonly rputOkBytes: Uint8Array;

  constructor(private readonly deps: NodeDeps) {
    this.merge = deps.hooks?.sync ?? vc.sync;
    this.id = deps.id;
    this.n = deps.n;
    this.r = deps.r;
    this.w = deps.w;
    this.partitions = deps.partitions;
    this.maxValueBytes = deps.maxValueBytes;
    this.env = deps.env;
    this.store = deps.store;
    this.transport = deps.transport;
    this.log = deps.log;
    this.codec = createPeerCodec({ maxValueBytes: deps.maxValueBytes });
    this.siblingBytesMax = frameLimits({ maxValueBytes: deps.maxValueBytes }).peerFrameBytesMax - cfg.wireObjectMarginBytes;
    this.rputOkBytes = this.codec.encode({ t: 'rput_ok' });
    this.health = new PeerHealth(
      {
        latencyAlpha: cfg.latencyAlpha,
        failuresToOpen: cfg.circuitFailuresToOpen,
        openMs: cfg.circuitOpenMs,
        openMaxMs: cfg.circuitOpenMaxMs,
      },
      cfg.peerHealthMax,
    );
    const services: NodeServices = {
      id: deps.id,
      partitions: deps.partitions,
      env: deps.env,
      store: deps.store,
      log: deps.log,
      reachable: (node) => this.reachable(node),
      request: (to, msg, timeoutMs) => this.requestPeer(to, msg, timeoutMs),
      merge: (partition, key, obj) => this.applyReplicaWrite(partition, key, obj, undefined),
    };
    this.transfers = new TransferManager({
      ...services,
      n: deps.n,
      ring: () => this.ringIndex?.ring,
      setReady: (version) => {
        if (this.gossip.readyVersion(this.id) < version) {
          this.log('transfers_ready', { version });
          this.perform(this.gossip.setReady(version, this.now()));
        }
      },
      removeIfEqual: async (partition, key, pushed) => {
        const res = await this.updateObject(partition, key, (cur) => (cur !== undefined && vc.equals(cur, pushed) ? REMOVE : undefined));
        return res.changed;
      },
    });
    this.ae = new AntiEntropyDriver({
      ...services,
      replicas: () => this.aeReplicas(),
      p99Ms: () => this.foregroundP99(),
      skipRepair: deps.hooks?.skipAntiEntropyRepair === true,
    });
    this.reaper = new Reaper({
      ...services,
      graceMs: deps.tombstoneGraceMs ?? cfg.tombstoneGraceMs,
      quietMembers: () => {
        const ring = this.ringIndex?.ring;
        if (!ring || ring.next || this.leaving !== 'no') return undefined;
        const members = this.gossip.members();
        if (members.some((m) => m.id !== this.id && (m.status !== 'up' || !this.reachable(m.id)))) return undefined;
        const ids = members.map((m) => m.id);
        if (!ids.includes(this.id)) ids.push(this.id);
        return ids;
      },
      primaries: (partition) => this.ringIndex?.preferenceList(partition).primaries ?? [],
      unsettled: (partition) => this.unsettled(partition),
      removeTombstone: (partition, key, context) => this.removeTombstone(partition, key, context),
    });
    this.handoff = new HandoffScheduler(
      {
        batchMax: cfg.handoffBatchMax,
        keysPerSecond: cfg.handoffKeysPerSecond,
        burstKeys: cfg.handoffBurstKeys,
        targetsConcurrentMax: cfg.handoffTargetsConcurrentMax,
        retryMs: cfg.handoffRetryMs,
        retryMaxMs: cfg.handoffRetryMaxMs,
      },
      deps.env.clock.monotonic(),
    );
  }

  // ------------------------------------------------------------------ lifecycle

  /** Opens nothing itself (the store is open already); restores state and starts the loops. */
  async start(): Promise<void> {
    const now = this.env.clock.monotonic();
    this.startedAt = now;
    const incBytes = await this.store.getMeta('incarnation');
    // Gossip starts one above the restored incarnation, so a restart never reuses one.
    const incarnation = incBytes ? Number(new TextDecoder().decode(incBytes)) || 0 : 0;
    const ringBytes = await this.store.getMeta('ring');
    const restoredRing = ringBytes ? decodeRing(ringBytes) : undefined;
    if (restoredRing && restoredRing.partitions !== this.partitions) {
      throw new ShoalError(
        'CONFIG_MISMATCH',
        `the data directory holds a ring of ${restoredRing.partitions} partitions but --partitions is ${this.partitions}`,
      );
    }
    this.actors = new ActorIds(this.store, `${this.id}#${this.store.epoch}`);
    await this.actors.open({ forgetSaved: this.deps.forgetActors === true });
    this.gossip = new Gossip({
      self: { id: this.id, address: this.deps.address },
      n: this.n,
      partitions: this.partitions,
      ring: { claim, compare: compareRings, gainers: (ring) => TransferManager.gainers(ring, this.n) },
      random: this.env.random,
      now,
      restored: restoredRing ? { incarnation, ring: restoredRing } : { incarnation },
    });
    if (restoredRing) this.ringIndex = new RingIndex(restoredRing, this.n);
    await this.persistIncarnation();
    this.transport.onMessage((from, payload, reply) => this.onPeerMessage(from, payload, reply));
    this.transport.onLink((peer, up) => {
      if (this.stopped) return;
      this.perform(this.gossip.linkChanged(peer, up, this.env.clock.monotonic()));
    });
    const stored = this.store.stats();
    this.log('node_started', {
      address: this.deps.address,
      actor: this.actors.base,
      actorKeysRestored: this.actors.restoredKeys(),
      incarnation,
      seeds: this.deps.seeds,
      // After an unclean stop with --sync: batches the value log gave back to LevelDB.
      replayedBatches: stored.valueLogReplayedBatches,
      // And the bytes it cut from the ends of segments (zeros made ahead of time, a torn batch).
      trimmedBytes: stored.valueLogTrimmedBytes,
      // The key filter read back as the last clean stop saved it, or rebuilt from a scan of every key.
      keyFilter: stored.keyFilterRestored === 1 ? 'saved' : 'scanned',
      keyFilterKeys: stored.keyFilterKeys,
      // The states the last clean stop saved and this start took back (none after a crash).
      saved: this.store.savedAtOpen(),
      // LevelDB's open table files, sized by the soft memory limit (openTablesFor).
      ...(this.store.engine.maxOpenFiles === undefined ? {} : { openTables: this.store.engine.maxOpenFiles }),
    });
    this.scheduleTick();
    this.scheduleHandoff();
    this.scheduleTransfers();
    this.scheduleAntiEntropy();
    this.scheduleReaper();
    void this.ae.rebuildAll().catch((err) => this.log('antientropy_rebuild_failed', { err }, 'error'));
    if (this.deps.seeds.length > 0) this.joinSeeds(cfg.seedRetryMs);
    else {
      this.joined = true;
      this.perform(this.gossip.tick(now));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.tickTimer, this.handoffTimer, this.seedTimer, this.transferTimer, this.aeTimer, this.reapTimer]) if (t) this.env.timers.clearTimeout(t);
    this.reaper.stop();
    this.transfers.stop();
    this.ae.stop();
    await this.ringPersist.catch(() => {});
    this.log('node_stopping', {});
  }

  private scheduleReaper(): void {
    if (this.stopped) return;
    this.reapTimer = this.env.timers.setTimeout(() => {
      if (this.stopped) return;
      this.reaper.tick();
      this.scheduleReaper();
    }, cfg.reapTickMs);
  }

  /** Hints pending here, plus 1 when this node holds keys of `partition` without replicating it: reaping waits for 0 everywhere. */
  private async unsettled(partition: number): Promise<number> {
    let n = this.store.hintsPending();
    if (!this.transfers.replicates(partition) && (await this.store.scan(partition, { limit: 1 })).length > 0) n++;
    return n;
  }

  private async removeTombstone(partition: number, key: string, context: string): Promise<boolean> {
    const res = await this.updateObject(partition, key, (cur) =>
      cur !== undefined && vc.isTombstone(cur) && vc.encodeContext(vc.join(cur)) === context ? REMOVE : undefined,
    );
    return res.changed;
  }

  private scheduleAntiEntropy(): void {
    if (this.stopped) return;
    this.aeTimer = this.env.timers.setTimeout(() => {
      if (this.stopped) return;
      try {
        this.ae.tick();
      } catch (err) {
        this.log('antientropy_tick_failed', { err }, 'error');
      }
      this.scheduleAntiEntropy();
    }, cfg.aeTickMs);
  }

  /** Partitions this node is a current primary of, with the other primaries: the anti-entropy pairs. */
  private aeReplicas(): Array<{ partition: number; peers: string[] }> {
    const index = this.ringIndex;
    if (!index) return [];
    const out: Array<{ partition: number; peers: string[] }> = [];
    for (let p = 0; p < this.partitions; p++) {
      const primaries = index.preferenceList(p).primaries;
      if (!primaries.includes(this.id)) continue;
      out.push({ partition: p, peers: primaries.filter((x) => x !== this.id) });
    }
    return out;
  }

  private recordLatency(ms: number): void {
    const i = this.latencyCount % this.latencies.length;
    this.latencies[i] = ms;
    this.latencyAt[i] = this.now();
    this.latencyCount++;
  }

  /**
   * p99 of the foreground requests of the last `foregroundLatencyWindowMs` (undefined
   * before the first request). Old samples age out: a burst of slow requests during an
   * outage must not hold background work paused once the traffic has stopped, which is
   * exactly when anti-entropy has the most to repair (the simulator found that). Fewer
   * than 20 recent requests count as an idle node (0).
   */
  private foregroundP99(): number | undefined {
    if (this.latencyCount === 0) return undefined;
    const n = Math.min(this.latencyCount, this.latencies.length);
    const since = this.now() - cfg.foregroundLatencyWindowMs;
    const recent: number[] = [];
    for (let i = 0; i < n; i++) if (this.latencyAt[i]! >= since) recent.push(this.latencies[i]!);
    if (recent.length < 20) return 0;
    recent.sort((a, b) => a - b);
    return recent[Math.min(recent.length - 1, Math.floor(recent.length * 0.99))];
  }

  /**
   * Every local object write goes through here, so the anti-entropy tree of the partition
   * follows each change (and a tree rebuild knows which writes are still in flight).
   */
  private async updateObject(partition: number, key: string, fn: UpdateFn, options?: UpdateOptions) {
    this.ae.writing(partition);
    let res;
    try {
      res = await this.store.update(partition, key, fn, options);
    } catch (err) {
      this.ae.failed(partition);
      throw err;
    }
    this.ae.written(partition, key, res.before, res.after, res.changed);
    if (res.changed && res.after === undefined) this.actors.forget(partition, key);
    return res;
  }

  private scheduleTransfers(): void {
    if (this.stopped) return;
    this.transferTimer = this.env.timers.setTimeout(() => {
      if (this.stopped) return;
      try {
        this.transfers.tick();
        if (this.leaving === 'handing-off') void this.checkLeft();
      } catch (err) {
        this.log('transfer_tick_failed', { err }, 'error');
      }
      this.scheduleTransfers();
    }, cfg.transferTickMs);
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.tickTimer = this.env.timers.setTimeout(() => {
      if (this.stopped) return;
      try {
        this.perform(this.gossip.tick(this.env.clock.monotonic()));
      } catch (err) {
        this.log('tick_failed', { err }, 'error');
      }
      this.scheduleTick();
    }, cfg.nodeTickMs);
  }

  /** Dials every seed; once one answers, gossip takes over. Retries with backoff until one does. */
  private joinSeeds(delayMs: number): void {
    if (this.stopped || this.joined) return;
    const own = this.deps.address;
    const seeds = this.deps.seeds.filter((s) => s !== own);
    if (seeds.length === 0) {
      this.joined = true;
      return;
    }
    let refusals = 0;
    let answered = 0;
    const attempts = seeds.map(async (addr) => {
      try {
        const peerId = await this.transport.connectSeed(addr);
        answered++;
        if (this.stopped) return;
        this.joined = true;
        this.log('seed_joined', { seed: addr, peer: peerId });
        this.perform(this.gossip.addSeed(peerId, addr, this.env.clock.monotonic()));
      } catch (err) {
        if (isShoalError(err, 'CONFIG_MISMATCH') || isShoalError(err, 'AUTH_FAILED')) {
          refusals++;
          this.log('seed_refused', { seed: addr, err }, 'error');
          if (isShoalError(err, 'CONFIG_MISMATCH') && refusals === seeds.length && this.deps.onFatal) {
            this.deps.onFatal(err);
          }
        } else {
          this.log('seed_unreachable', { seed: addr, err }, 'warn');
        }
      }
    });
    void Promise.allSettled(attempts).then(() => {
      if (this.stopped || this.joined || answered > 0) return;
      const next = Math.min(delayMs * 2, cfg.seedRetryMaxMs);
      this.seedTimer = this.env.timers.setTimeout(() => this.joinSeeds(next), delayMs);
    });
  }

  /** Saves gossip's incarnation when it changed, so a restart never reuses one. */
  private persistIncarnation(): Promise<void> {
    const inc = this.gossip.incarnation;
    if (inc === this.savedIncarnation) return this.incarnationPersist;
    this.savedIncarnation = inc;
    this.incarnationPersist = this.incarnationPersist
      .then(() => this.store.putMeta('incarnation', new TextEncoder().encode(String(inc))))
      .then(() => {
        this.durableIncarnation = Math.max(this.durableIncarnation, inc);
      })
      .catch((err) => this.log('incarnation_persist_failed', { err }, 'error'));
    return this.incarnationPersist;
  }

  /**
   * Performs a gossip output: membership events first (so the transport knows addresses),
   * then sends. A changed incarnation is persisted before the messages that carry it leave.
   */
  private perform(out: GossipOutput): void {
    // Events at once and in order (the transport learns addresses, the ring is mirrored).
    this.applyEvents(out.events);
    if (out.send.length === 0) return;
    if (this.gossip.incarnation === this.durableIncarnation && this.heldSends.length === 0) {
      this.sendAll(out.send);
      return;
    }
    // These messages carry an incarnation not yet on disk: they wait for it. Gossip repeats
    // its state every round, so when too many wait, the oldest are dropped, not queued forever.
    for (const s of out.send) this.heldSends.push(s);
    const excess = this.heldSends.length - cfg.gossipHeldSendsMax;
    if (excess > 0) {
      this.heldSends.splice(0, excess);
      this.log('gossip_sends_dropped', { count: excess }, 'warn');
    }
    if (!this.releasing) void this.releaseHeld();
  }

  /** Persists the incarnation, then sends what waited for it (again if it moved meanwhile). */
  private async releaseHeld(): Promise<void> {
    this.releasing = true;
    try {
      while (this.gossip.incarnation !== this.durableIncarnation && !this.stopped) {
        const before = this.durableIncarnation;
        await this.persistIncarnation();
        if (this.durableIncarnation === before && this.gossip.incarnation !== before) return; // the write failed (logged): keep holding
      }
      const held = this.heldSends;
      this.heldSends = [];
      if (!this.stopped) this.sendAll(held);
    } finally {
      this.releasing = false;
    }
  }

  private sendAll(sends: GossipOutput['send']): void {
    for (const s of sends) {
      if (s.to === this.id) continue;
      this.transport.send(s.to, this.codec.encode(s.msg));
    }
  }

  private applyEvents(events: GossipOutput['events']): void {
    for (const ev of events) {
      switch (ev.kind) {
        case 'member_added':
          if (ev.id !== this.id) this.transport.setPeer(ev.id, ev.address);
          this.log('member_added', { peer: ev.id, address: ev.address });
          break;
        case 'member_removed':
          this.transport.removePeer(ev.id);
          this.health.forget(ev.id);
          this.log('member_removed', { peer: ev.id });
          break;
        case 'member_status':
          this.log('member_status', { peer: ev.id, status: ev.status });
          // Back up by our own probe: its circuit need not wait out its open period.
          if (ev.status === 'up') this.health.reset(ev.id);
          break;
        case 'ring_changed': {
          // Mirror gossip's current ring (the newest), whatever order outputs arrive in.
          const ring = this.gossip.ring();
          if (ring && ring !== this.ringIndex?.ring) this.adoptRing(ring);
          break;
        }
        case 'config_mismatch':
          this.log('config_mismatch', { peer: ev.peer, detail: ev.detail }, 'error');
          break;
        case 'member_ignored':
          this.log('member_ignored', { peer: ev.id, reason: ev.reason }, 'warn');
          break;
      }
    }
  }

  private adoptRing(ring: RingState): void {
    this.ringIndex = new RingIndex(ring, this.n);
    this.log('ring_changed', { version: ring.version, claimant: ring.claimant, owned: this.ringIndex.partitionsOf(this.id).length });
    const bytes = encodeRing(ring);
    this.ringPersist = this.ringPersist.then(() => this.store.putMeta('ring', bytes)).catch((err) => this.log('ring_persist_failed', { err }, 'error'));
  }

  // ------------------------------------------------------------------ helpers

  private now(): number {
    return this.env.clock.monotonic();
  }

  private reachable = (node: string): boolean => {
    if (node === this.id) return !this.stopped;
    return this.gossip.isUp(node) && !this.health.isOpen(node, this.now());
  };

  private ringIx(): RingIndex {
    if (!this.ringIndex) throw new ShoalError('UNAVAILABLE', 'this node has not joined a ring yet; try again shortly');
    return this.ringIndex;
  }

  private partitionOfKey(key: string): number {
    return partitionOf(key, this.partitions);
  }

  private requestPeer(to: string, msg: PeerMessage, timeoutMs: number): Promise<PeerMessage> {
    return this.requestPeerBytes(to, this.codec.encode(msg), timeoutMs);
  }

  /** A request already encoded (one encoding can serve several peers). */
  private async requestPeerBytes(to: string, payload: Uint8Array, timeoutMs: number): Promise<PeerMessage> {
    const started = this.now();
    try {
      const bytes = await this.transport.request(to, payload, Math.max(1, timeoutMs));
      const answer = this.codec.decode(bytes);
      if (answer.t === 'err') {
        // The peer answered: it is alive, the request failed on its side.
        this.health.success(to, this.now() - started);
        throw new ShoalError(codeOf(answer.code), answer.msg);
      }
      this.health.success(to, this.now() - started);
      return answer;
    } catch (err) {
      if (isShoalError(err) && (err.code === 'TIMEOUT' || err.code === 'CLOSED' || err.code === 'OVERLOADED')) {
        this.health.failure(to, this.now());
      }
      throw err;
    }
  }

  private admit(): void {
    if (this.inFlight >= cfg.coordinatorInFlightMax) {
      throw new ShoalError('OVERLOADED', `this node has ${this.inFlight} requests in flight; retry later`);
    }
  }

  // ------------------------------------------------------------------ KvService: writes

  put(key: string, value: Uint8Array, options: WriteOptions): Promise<WriteResult> {
    checkKey(key);
    if (value.byteLength > this.maxValueBytes) {
      return Promise.reject(new ShoalError('TOO_LARGE', `value is ${value.byteLength} bytes; the limit is ${this.maxValueBytes}`));
    }
    this.counters.puts++;
    return this.write(key, value, options, true);
  }

  del(key: string, options: WriteOptions): Promise<WriteResult> {
    checkKey(key);
    this.counters.deletes++;
    return this.write(key, null, options, true);
  }

  private async write(key: string, value: Uint8Array | null, options: WriteOptions, mayForward: boolean): Promise<WriteResult> {
    this.admit();
    // Decode the context first: a bad token is the client's error, whatever the cluster state.
    const context = options.context ? vc.decodeContext(options.context) : [];
    const w = options.w ?? this.w;
    const timeoutMs = options.timeoutMs ?? cfg.requestTimeoutMsDefault;
    const partition = this.partitionOfKey(key);
    const pref = this.ringIx().preferenceList(partition);
    const plan = planReplicas(pref, this.reachable);
    const self = plan.targets.find((t) => t.node === this.id);
    if (!self && mayForward) return this.forwardWrite(key, value, options.context ?? null, w, timeoutMs, plan.targets);
    this.inFlight++;
    const started = this.now();
    try {
      return await this.coordinateWrite({ key, partition, value, context, w, timeoutMs, targets: plan.targets, uncovered: plan.uncovered });
    } finally {
      this.inFlight--;
      this.recordLatency(this.now() - started);
    }
  }

  /** This node is not among the key's first N reachable nodes: a replica coordinates, so the dot is a replica's. */
  private async forwardWrite(
    key: string,
    value: Uint8Array | null,
    ctx: string | null,
    w: number,
    timeoutMs: number,
    targets: readonly ReplicaTarget[],
  ): Promise<WriteResult> {
    if (targets.length === 0) throw unavailableWrite(0, w, timeoutMs, 0);
    this.counters.forwards++;
    const deadline = this.now() + timeoutMs;
    let lastErr: unknown;
    for (const t of targets) {
      const left = deadline - this.now();
      if (left <= 0) break;
      try {
        const answer = await this.requestPeer(t.node, { t: 'fput', k: key, v: value, ctx, w, tmo: Math.max(1, Math.floor(left - 5)) }, left);
        if (answer.t !== 'fput_ok') throw new ShoalError('INTERNAL', `unexpected answer ${answer.t} to fput`);
        return { context: answer.ctx };
      } catch (err) {
        lastErr = err;
        // A coordinator that answered with a client error (bad context, too large) is final.
        if (isShoalError(err) && (err.code === 'BAD_REQUEST' || err.code === 'TOO_LARGE' || err.code === 'UNAVAILABLE')) throw err;
      }
    }
    throw isShoalError(lastErr) && lastErr.code === 'UNAVAILABLE' ? lastErr : unavailableWrite(0, w, timeoutMs);
  }

  private async coordinateWrite(req: {
    key: string;
    partition: number;
    value: Uint8Array | null;
    context: VersionVector;
    w: number;
    timeoutMs: number;
    targets: readonly ReplicaTarget[];
    uncovered: readonly string[];
  }): Promise<WriteResult> {
    const { key, partition, w, timeoutMs, targets } = req;
    const wall = this.env.clock.now();
    const self = targets.find((t) => t.node === this.id);
    const quorum = new WriteQuorum(targets, w);
    const sibling: Sibling = { value: req.value, ts: wall };
    const proposal = vc.fresh(req.context, sibling);
    const actors = this.actors;
    const context = req.context;
    const others = targets.filter((t) => t.node !== this.id);
    await actors.ensure();

    return new Promise<WriteResult>((resolve, reject) => {
      let answered = false;
      let token = '';
      let chosen = '';
      let replicated = false;
      const settle = () => {
        if (!answered) {
          if (quorum.state === 'succeeded') {
            answered = true;
            resolve({ context: token });
          } else if (quorum.state === 'failed') {
            answered = true;
            this.counters.quorumFailures++;
            reject(unavailableWrite(quorum.acks, w, timeoutMs, targets.length));
          }
        }
        if (quorum.settled) {
          // Every target answered or timed out: the primaries still missing the write are owed a hint by us.
          for (const primary of quorum.unconfirmedPrimaries()) {
            if (primary !== this.id) void this.storeHint(primary, partition, key);
          }
        }
      };
      /**
       * Sends the new version to the other replicas as soon as the store has computed it,
       * while our own engine write is still under way: a put then takes the slower of the
       * local and the remote writes, not their sum. If our write fails after this, the
       * dot has left without a local copy behind it, so the key's actor is forgotten
       * (src/node/actors.ts) and our next write of it takes a fresh actor id: the dot is
       * never issued twice.
       */
      const replicate = (after: DVVSet) => {
        replicated = true;
        // The written version's own context (CONTRACT: "for the version just written"):
        // what the writer had seen plus this write, not every sibling the key now holds.
        const written = vc.writtenContext(context, after, chosen);
        token = vc.encodeContext(written.length <= cfg.contextEntriesMax ? written : vc.join(after));
        const wire = vc.toWire(after);
        // One encoding for every replica that gets the plain message (hot path).
        let plain: Uint8Array | undefined;
        for (const t of others) {
          const bytes = t.hintFor
            ? this.codec.encode({ t: 'rput', p: partition, k: key, o: wire, h: t.hintFor })
            : (plain ??= this.codec.encode({ t: 'rput', p: partition, k: key, o: wire }));
          this.requestPeerBytes(t.node, bytes, timeoutMs).then(
            () => {
              quorum.ack(t.node);
              settle();
            },
            (err) => {
              this.log('replica_write_failed', { peer: t.node, key, err }, 'debug');
              quorum.fail(t.node);
              settle();
            },
          );
        }
        // During a membership change the pending owners get every write too (not counted for
        // W), so what they pulled never falls behind.
        const extras = this.transfers.extraTargets(partition, new Set(targets.map((t) => t.node)));
        for (const node of extras) {
          if (!this.reachable(node)) continue;
          plain ??= this.codec.encode({ t: 'rput', p: partition, k: key, o: wire });
          this.requestPeerBytes(node, plain, timeoutMs).catch((err) => this.log('pending_owner_write_failed', { peer: node, key, err }, 'debug'));
        }
      };

      this.updateObject(
        partition,
        key,
        (current) => {
          const actor = actors.choose(partition, key, current, context);
          chosen = actor;
          const obj0 = vc.update(proposal, current ?? vc.empty(), actor, wall);
          // Riak's siblings_maximum: a write that would leave more siblings than the limit
          // is refused, not acknowledged; merging them here instead would drop writes that
          // were acknowledged (CONTRACT: none is dropped silently). Replica merges and
          // anti-entropy never refuse or drop; the limit holds at every coordinator.
          const count = vc.siblingCount(obj0);
          if (count > cfg.siblingsHardMax) {
            this.counters.siblingRefusals++;
            throw new ShoalError('TOO_LARGE', `key '${key}' would hold ${count} siblings (limit ${cfg.siblingsHardMax}); read it and write back with its context to resolve them`);
          }
          if (count > 1) {
            const bytes = vc.siblingBytes(obj0);
            if (bytes > this.siblingBytesMax) {
              this.counters.siblingBytesRefusals++;
              throw new ShoalError(
                'TOO_LARGE',
                `key '${key}' would hold ${bytes} bytes of values in ${count} siblings (limit ${this.siblingBytesMax}, what one replica message carries); read it and write back with its context to resolve them`,
              );
            }
          }
          // Once as the key passes the warning threshold, then every 25 more (not per write:
          // the writers that pile siblings up write often).
          if (count > cfg.siblingsWarnMax && (count - cfg.siblingsWarnMax) % 25 === 1) this.log('siblings_many', { key, siblings: count }, 'warn');
          // Never prune our own entries: our next write would reuse a counter others saw superseded.
          const obj = vc.prune(obj0, wall, { keep: obj0.entries.filter((e) => actors.owns(e.id)).map((e) => e.id) });
          replicate(obj);
          return obj;
        },
        self?.hintFor ? { hint: self.hintFor, now: wall } : { now: wall },
      ).then(
        ({ after }) => {
          if (!after) throw new ShoalError('INTERNAL', 'a local write produced no object');
          if (self?.hintFor) this.counters.hintsStored++;
          const hints = req.uncovered.map((primary) => this.storeHint(primary, partition, key));
          // Hints for unreachable primaries are recorded before the write counts as ours.
          return Promise.all(hints).then(() => {
            if (self) quorum.ack(this.id);
            if (others.length === 0) quorum.expire();
            settle();
          });
        },
      ).catch((err: unknown) => {
        if (!replicated) {
          // Nothing left this node (e.g. no actor id could be handed out): the client's answer is this error.
          answered = true;
          reject(err);
          return;
        }
        actors.forget(partition, key);
        this.log('local_write_failed', { key, err }, 'error');
        if (self) quorum.fail(this.id);
        if (others.length === 0) quorum.expire();
        settle();
      });
    });
  }

  private async storeHint(target: string, partition: number, key: string): Promise<void> {
    try {
      await this.store.addHint(target, partition, key, this.env.clock.now());
      this.counters.hintsStored++;
    } catch (err) {
      // Over the hint cap: anti-entropy will repair the replica instead.
      this.log('hint_not_stored', { target, key, err }, 'warn');
    }
  }

  // ------------------------------------------------------------------ KvService: reads

  async get(key: string, options: ReadOptions): Promise<ReadResult> {
    checkKey(key);
    this.admit();
    this.counters.gets++;
    const r = options.r ?? this.r;
    const timeoutMs = options.timeoutMs ?? cfg.requestTimeoutMsDefault;
    const partition = this.partitionOfKey(key);
    const pref = this.ringIx().preferenceList(partition);
    const plan = planReplicas(pref, this.reachable);
    // Latency-ordered: the local replica first (no network), then the fastest peers.
    const nodes = plan.targets
      .map((t) => t.node)
      .sort((a, b) => (a === this.id ? -1 : b === this.id ? 1 : this.health.latency(a) - this.health.latency(b)));
    const contactAll = this.env.random.float() < cfg.readRepairChance;
    const quorum = new ReadQuorum<DVVSet>(nodes, r, { merge: this.merge, equals: vc.sameVersions, empty: vc.empty }, contactAll);
    this.inFlight++;
    const started = this.now();
    try {
      const merged = await this.runRead(quorum, partition, key, r, timeoutMs);
      return vc.readAnswer(merged);
    } finally {
      this.inFlight--;
      this.recordLatency(this.now() - started);
    }
  }

  private runRead(quorum: ReadQuorum<DVVSet>, partition: number, key: string, r: number, timeoutMs: number): Promise<DVVSet> {
    return new Promise<DVVSet>((resolve, reject) => {
      let answered = false;
      let repaired = false;
      let repairTimer = false;
      const timers: TimerHandle[] = [];
      const started = this.env.clock.monotonic();
      // Read repair writes a snapshot of the replies, so only a young one (see
      // readRepairMaxAgeMs): at most once, when every replica has answered or when the
      // snapshot reaches that age, whichever is first; never later. The stale replicas
      // that answered by then are repaired; the others are anti-entropy's.
      const repair = () => {
        if (repaired) return;
        repaired = true;
        if (quorum.state !== 'succeeded') return;
        if (this.env.clock.monotonic() - started > cfg.readRepairMaxAgeMs) {
          this.counters.readRepairsTooOld++;
          return;
        }
        this.readRepair(quorum, partition, key);
      };
      const finish = () => {
        if (!answered && quorum.state === 'succeeded') {
          answered = true;
          resolve(quorum.result);
        } else if (!answered && quorum.state === 'failed') {
          answered = true;
          this.counters.quorumFailures++;
          reject(new ShoalError('UNAVAILABLE', `only ${quorum.replyCount} of ${r} replicas answered within ${timeoutMs} ms`));
        }
        if (answered && quorum.settled && !repaired) {
          for (const t of timers) this.env.timers.clearTimeout(t);
          repair();
        } else if (answered && !repaired && !repairTimer) {
          // Answered, some replica still out: most reads never get here (the replicas
          // asked all answered at once), so most pay for no timer.
          repairTimer = true;
          const left = cfg.readRepairMaxAgeMs - (this.env.clock.monotonic() - started);
          if (left >= 0 && left < timeoutMs) timers.push(this.env.timers.setTimeout(repair, left));
        }
      };
      const ask = (nodes: string[]) => {
        for (const node of nodes) {
          if (node === this.id) {
            this.store.get(partition, key).then(
              (obj) => {
                quorum.reply(node, obj);
                finish();
              },
              (err) => {
                this.log('local_read_failed', { key, err }, 'error');
                ask(quorum.fail(node));
                finish();
              },
            );
            continue;
          }
          this.requestPeer(node, { t: 'rget', p: partition, k: key }, timeoutMs).then(
            (answer) => {
              quorum.reply(node, answer.t === 'rget_ok' && answer.o ? vc.fromWire(answer.o) : undefined);
              finish();
            },
            () => {
              ask(quorum.fail(node));
              finish();
            },
          );
        }
      };
      ask(quorum.initial());
      timers.push(this.env.timers.setTimeout(() => ask(quorum.speculate()), cfg.speculativeRetryMs));
      timers.push(
        this.env.timers.setTimeout(() => {
          quorum.expire();
          finish();
          repair();
        }, timeoutMs),
      );
      finish();
    });
  }

  /** Sends the merged version to every replica whose copy was behind it. After the client has its answer. */
  private readRepair(quorum: ReadQuorum<DVVSet>, partition: number, key: string): void {
    const stale = quorum.staleReplicas();
    if (stale.length === 0) return;
    const merged = quorum.result;
    const wire = vc.toWire(merged);
    for (const node of stale) {
      this.counters.readRepairs++;
      if (node === this.id) {
        void this.applyReplicaWrite(partition, key, merged, undefined).catch((err) => this.log('read_repair_failed', { key, err }, 'warn'));
      } else {
        this.requestPeer(node, { t: 'rput', p: partition, k: key, o: wire }, cfg.peerRequestTimeoutMs).catch((err) =>
          this.log('read_repair_failed', { peer: node, key, err }, 'debug'),
        );
      }
    }
  }

  /**
   * A direct read from the SDK (Dynamo's client-driven coordination, §6.4): this node's
   * whole stored object, answered only while this node is one of the key's N primaries in
   * its own view of the ring. A client whose ring is stale, or that asks a fallback, gets
   * UNAVAILABLE and reads through a coordinator instead, so a direct read never sees less
   * than a coordinated read of the primaries would.
   */
  async ownCopy(key: string): Promise<DVVSet | undefined> {
    checkKey(key);
    this.admit();
    this.counters.directReads++;
    const partition = this.partitionOfKey(key);
    if (!this.ringIx().preferenceList(partition).primaries.includes(this.id)) {
      throw new ShoalError('UNAVAILABLE', `${this.id} is not a primary owner of this key`);
    }
    return this.store.get(partition, key);
  }

  async local(key: string): Promise<LocalCopy | undefined> {
    checkKey(key);
    const obj = await this.store.get(this.partitionOfKey(key), key);
    if (!obj) return undefined;
    return { siblings: vc.liveSiblings(obj), context: vc.encodeContext(vc.join(obj)), tombstone: vc.isTombstone(obj) };
  }

  // ------------------------------------------------------------------ replica side

  /** Merges a replica write into the local copy; the hint (if any) goes in the same storage batch. */
  private applyReplicaWrite(partition: number, key: string, incoming: DVVSet, hint: string | undefined): Promise<void> {
    this.counters.replicaWrites++;
    const wall = this.env.clock.now();
    return this.updateObject(
      partition,
      key,
      (current) => {
        if (!current) return incoming;
        // Nothing new: skip the write, unless a hint must be recorded with it.
        if (!hint && vc.lessOrEqual(incoming, current)) return undefined;
        return this.merge(current, incoming);
      },
      // A whole replica's state: it replaces a local copy that can no longer be read.
      hint ? { hint, now: wall, replaceCorrupt: true } : { now: wall, replaceCorrupt: true },
    ).then(noop);
  }

  private onPeerMessage(from: string, payload: Uint8Array, reply: ((answer: Uint8Array) => void) | null): void {
    if (this.stopped) return;
    let msg: PeerMessage;
    try {
      msg = this.codec.decode(payload);
    } catch (err) {
      this.log('peer_frame_rejected', { peer: from, err }, 'warn');
      if (reply) reply(this.codec.encode(errorMsg(err)));
      return;
    }
    const answer = (m: PeerMessage) => {
      if (reply) reply(this.codec.encode(m));
    };
    switch (msg.t) {
      case 'ping':
      case 'ack':
      case 'ping_req':
      case 'gossip':
        this.perform(this.gossip.step(from, msg, this.now()));
        return;
      case 'rput': {
        const m = msg;
        if (this.deps.hooks?.ackBeforeStore) {
          // Deliberately broken (simulator only): the ack leaves before the write is stored.
          answer({ t: 'rput_ok' });
          this.env.timers.setTimeout(() => void this.handleReplicaPut(m.p, m.k, m.o, m.h).catch(() => {}), 1);
          return;
        }
        this.handleReplicaPut(m.p, m.k, m.o, m.h).then(
          // The ack is the same bytes every time: encoded once (hot path: one per replica write).
          () => reply?.(this.rputOkBytes),
          (err) => answer(errorMsg(err)),
        );
        return;
      }
      case 'rget': {
        const m = msg;
        this.counters.replicaReads++;
        const wrong = this.wrongPartition(m.p, m.k);
        if (wrong) {
          answer(errorMsg(wrong));
          return;
        }
        this.store.get(m.p, m.k).then(
          (obj) => answer({ t: 'rget_ok', o: obj ? vc.toWire(obj) : null }),
          (err) => answer(errorMsg(err)),
        );
        return;
      }
      case 'fput': {
        const m = msg;
        const opts: WriteOptions = m.ctx ? { context: m.ctx, w: m.w, timeoutMs: m.tmo } : { w: m.w, timeoutMs: m.tmo };
        Promise.resolve()
          .then(() => {
            checkKey(m.k);
            return this.write(m.k, m.v, opts, false);
          })
          .then(
            (res) => answer({ t: 'fput_ok', ctx: res.context }),
            (err) => answer(errorMsg(err)),
          );
        return;
      }
      case 'ae_levels':
      case 'ae_keys': {
        this.ae.answer(msg).then(answer, (err) => answer(errorMsg(err)));
        return;
      }
      case 'view': {
        const ring = this.ringIndex?.ring;
        answer({ t: 'view_ok', v: ring?.version ?? 0, c: ring?.claimant ?? null, up: this.reachable(from) });
        return;
      }
      case 'hint_count': {
        const m = msg;
        this.unsettled(m.p).then((n) => answer({ t: 'hint_count_ok', n }), (err) => answer(errorMsg(err)));
        return;
      }
      case 'reap': {
        const m = msg;
        this.checkPartition(m.p, m.k)
          .then(() => this.removeTombstone(m.p, m.k, m.ctx))
          .then((removed) => answer({ t: 'reap_ok', removed }), (err) => answer(errorMsg(err)));
        return;
      }
      case 'xfer_pull': {
        const m = msg;
        this.transfers.serve(m.p, m.after, m.limit).then(answer, (err) => answer(errorMsg(err)));
        return;
      }
      case 'xfer_push': {
        const m = msg;
        Promise.all(m.items.map(([k, o]) => this.checkPartition(m.p, k).then(() => this.applyReplicaWrite(m.p, k, vc.fromWire(o), undefined)))).then(
          () => answer({ t: 'xfer_push_ok' }),
          (err) => answer(errorMsg(err)),
        );
        return;
      }
      default:
        // Answers (rput_ok, rget_ok, fput_ok, err) only ever arrive as replies to our requests.
        if (reply) answer({ t: 'err', code: 'BAD_REQUEST', msg: `unexpected message ${msg.t}` });
    }
  }

  private async checkPartition(partition: number, key: string): Promise<void> {
    const wrong = this.wrongPartition(partition, key);
    if (wrong) throw wrong;
  }

  /** The error for a peer request naming the wrong partition for its key, if it does (synchronous: hot path). */
  private wrongPartition(partition: number, key: string): ShoalError | undefined {
    const actual = this.partitionOfKey(key);
    return partition === actual ? undefined : new ShoalError('BAD_REQUEST', `key is in partition ${actual}, not ${partition}`);
  }

  private handleReplicaPut(partition: number, key: string, o: Parameters<typeof vc.fromWire>[0], hint: string | undefined): Promise<void> {
    try {
      const wrong = this.wrongPartition(partition, key);
      if (wrong) throw wrong;
      return this.applyReplicaWrite(partition, key, vc.fromWire(o), hint && hint !== this.id ? hint : undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ------------------------------------------------------------------ hinted handoff delivery

  private scheduleHandoff(): void {
    if (this.stopped) return;
    this.handoffTimer = this.env.timers.setTimeout(() => {
      if (this.stopped) return;
      try {
        const grants = this.handoff.tick(this.store.hintTargets(), this.reachable, this.now());
        for (const g of grants) void this.deliverHints(g.target, g.keys);
      } catch (err) {
        this.log('handoff_tick_failed', { err }, 'error');
      }
      this.scheduleHandoff();
    }, cfg.handoffTickMs);
  }

  private async deliverHints(target: string, keys: number): Promise<void> {
    let delivered = 0;
    try {
      const hints = await this.store.hints(target, keys);
      let next = 0;
      const worker = async () => {
        while (next < hints.length && !this.stopped) {
          const h = hints[next++]!;
          const obj = await this.store.get(h.partition, h.key);
          if (obj) {
            await this.requestPeer(target, { t: 'rput', p: h.partition, k: h.key, o: vc.toWire(obj) }, cfg.peerRequestTimeoutMs);
          }
          await this.store.deleteHint(target, h.id);
          delivered++;
          this.counters.hintsDelivered++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(cfg.handoffInFlightPerTarget, hints.length) }, worker));
      this.handoff.done(target, keys, delivered);
      if (delivered > 0) this.log('hints_delivered', { target, count: delivered, pending: this.store.hintTargets().get(target) ?? 0 });
    } catch (err) {
      this.handoff.failed(target, keys, delivered, this.now());
      this.log('hint_delivery_failed', { target, delivered, err }, 'warn');
    }
  }

  // ------------------------------------------------------------------ views

  status(): StatusView {
    const members = this.gossip.members().map((m) => ({ id: m.id, address: m.address, status: m.id === this.id && !this.stopped ? (m.status === 'leaving' ? 'leaving' : 'up') : m.status }));
    if (!members.some((m) => m.id === this.id)) members.unshift({ id: this.id, address: this.deps.address, status: 'up' });
    members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const byTarget: Record<string, number> = {};
    for (const [t, c] of this.store.hintTargets()) byTarget[t] = c;
    const ring = this.ringIndex?.ring;
    return {
      node: this.id,
      n: this.n,
      partitions: this.partitions,
      members,
      hints: { pending: this.store.hintsPending(), byTarget },
      ring: ring ? { version: ring.version, claimant: ring.claimant, pending: ring.next !== undefined } : null,
      transfers: this.transfers.view(),
      antiEntropy: { paused: this.ae.paused, keysRepaired: this.ae.keysRepaired, partitions: this.ae.status() },
      leaving: this.leaving !== 'no',
      tombstonesReaped: this.reaper.reaped,
      counters: { ...this.counters },
      store: this.store.stats(),
    };
  }

  ring(): RingView {
    const index = this.ringIndex;
    if (!index) return { partitions: [] };
    return {
      partitions: Array.from({ length: this.partitions }, (_, id) => ({ id, owners: [...index.preferenceList(id).primaries] })),
    };
  }

  routing(): { q: number; n: number; r: number; owners: readonly string[]; members: ReadonlyArray<{ id: string; addr: string }> } {
    const ring = this.ringIndex?.ring;
    return {
      q: this.partitions,
      n: this.n,
      r: this.r,
      owners: ring ? ring.owners : [],
      members: this.gossip.members().map((m) => ({ id: m.id, addr: m.address })),
    };
  }

  /**
   * Graceful leave: declare `leaving` (the claimant moves our partitions away through a
   * pending ring), hand off whatever we still hold, then declare `left` and stop.
   */
  async leave(): Promise<void> {
    if (this.leaving !== 'no') return;
    this.leaving = 'handing-off';
    this.log('leaving', {});
    this.perform(this.gossip.leave(this.now()));
  }

  private checkingLeft = false;

  private async checkLeft(): Promise<void> {
    if (this.checkingLeft || this.leaving !== 'handing-off') return;
    this.checkingLeft = true;
    try {
      const ring = this.ringIndex?.ring;
      if (!ring || ring.next) return;
      if (ring.owners.includes(this.id)) return;
      if (this.store.hintsPending() > 0) return;
      if (await this.transfers.holdsForeignData()) return;
      this.leaving = 'left';
      this.log('left', {});
      this.perform(this.gossip.left(this.now()));
      // Give the `left` record a few gossip rounds to spread before the process goes.
      this.env.timers.setTimeout(() => this.deps.onLeft?.(), cfg.leaveLingerMs);
    } finally {
      this.checkingLeft = false;
    }
  }

  /**
   * Why a key looks as it does: its partition, preference list with each node's status,
   * every replica's stored versions (read without repairing anything), and the hints this
   * node holds for it.
   */
  async explain(key: string, timeoutMs = cfg.peerRequestTimeoutMs): Promise<KeyExplain> {
    checkKey(key);
    const partition = this.partitionOfKey(key);
    const pref = this.ringIx().preferenceList(partition);
    const statusOf = (node: string) => (node === this.id ? 'up' : this.gossip.status(node) ?? 'unknown');
    const list = [
      ...pref.primaries.map((node) => ({ node, role: 'primary' as const, status: statusOf(node) })),
      ...pref.fallbacks.map((node) => ({ node, role: 'fallback' as const, status: statusOf(node) })),
    ];
    const describe = (node: string, role: 'primary' | 'fallback', obj: DVVSet | undefined): ReplicaExplain => ({
      node,
      role,
      status: statusOf(node),
      ok: true,
      versions: obj
        ? vc.dottedSiblings(obj).map((d) => ({ actor: d.id, counter: d.n, ts: d.sibling.ts, tombstone: d.sibling.value === null, bytes: d.sibling.value?.byteLength ?? 0 }))
        : [],
      context: obj ? vc.encodeContext(vc.join(obj)) : null,
      tombstone: obj ? vc.isTombstone(obj) : false,
    });
    const replicas = await Promise.all(
      list.map(async ({ node, role }): Promise<ReplicaExplain> => {
        try {
          if (node === this.id) return describe(node, role, await this.store.get(partition, key));
          if (role === 'fallback' && statusOf(node) !== 'up') return { node, role, status: statusOf(node), ok: false, error: 'not asked: fallback is not up' };
          const answer = await this.requestPeer(node, { t: 'rget', p: partition, k: key }, timeoutMs);
          return describe(node, role, answer.t === 'rget_ok' && answer.o ? vc.fromWire(answer.o) : undefined);
        } catch (err) {
          return { node, role, status: statusOf(node), ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    const hints: Array<{ target: string; ts: number; holder: string }> = [];
    for (const [target, count] of this.store.hintTargets()) {
      // Bounded: explain reads at most the oldest hintsExplainScanMax hints per target.
      const list = await this.store.hints(target, Math.min(count, cfg.hintsExplainScanMax));
      for (const h of list) if (h.key === key && h.partition === partition) hints.push({ target, ts: h.ts, holder: this.id });
    }
    // Whether the key's Merkle segment matches on each other primary (null: unknown or tree not ready).
    const segmentInSync: Record<string, boolean | null> = {};
    if (pref.primaries.includes(this.id)) {
      await Promise.all(
        pref.primaries
          .filter((node) => node !== this.id)
          .map(async (node) => {
            segmentInSync[node] = statusOf(node) === 'up' ? await this.ae.segmentInSync(partition, key, node) : null;
          }),
      );
    }
    const merkle = { segment: this.ae.tree(partition).segmentOf(key), inSync: segmentInSync };
    return { key, partition, preferenceList: list, replicas: replicas.filter((r) => r.role === 'primary' || (r.versions?.length ?? 0) > 0 || !r.ok), hints, merkle };
  }

  /** Read-only internals for metrics and the dashboard. */
  inspect(): {
    counters: Readonly<ShoalNode['counters']>;
    peers: ReturnType<PeerHealth['snapshot']>;
    inFlight: number;
    ring: RingState | undefined;
    hintsByTarget: ReadonlyMap<string, number>;
    members: ReturnType<Gossip['members']>;
  } {
    return {
      counters: this.counters,
      peers: this.health.snapshot(this.now()),
      inFlight: this.inFlight,
      ring: this.ringIndex?.ring,
      hintsByTarget: this.store.hintTargets(),
      members: this.gossip.members(),
    };
  }

  /** This node's Merkle root of a partition (null while its tree is being rebuilt). For the simulator and tests. */
  merkleRoot(partition: number): Uint8Array | null {
    const tree = this.ae.tree(partition);
    return tree.ready ? tree.rootHash() : null;
  }

  /** The ring this node routes with (undefined until it has claimed or adopted one). */
  get ringState(): RingState | undefined {
    return this.ringIndex?.ring;
  }

  /**
   * Whether this node is ready for clients: `GET /v1/health` answers 200 only while this
   * holds (CONTRACT: "The node is ready when GET /v1/health answers 200"). A ring alone is
   * not enough. Just after a restart the other members are still suspect in this node's
   * view, and while a cluster forms a member that is up may not own partitions yet; either
   * way a read or write at r or w = all, and at first even at the default quorum, failed
   * with 503 right after health said 200 (measured: for 0.1-1 s). So a node waits, once,
   * until it has a ring in which
   *   - every member it sees up owns partitions (unless members outnumber partitions),
   *   - every other owner is reachable, or known down or leaving, not merely suspect or
   *     unknown (an owner nobody has mentioned counts as down after
   *     nodeReadyUnknownOwnersWaitMs), and
   *   - every other owner that is up answered a `view` question: it routes with this same
   *     ring and reaches this node. Without that, the nodes already running could still
   *     hold the ring from before this node joined, or this node as suspect, when this
   *     last node of a starting cluster said 200 (measured: 3 runs in 30 failed a w=all
   *     write just after the third 200, each for one of these reasons);
   * or until nodeReadyWaitMs has passed since start, so that a member stuck half-way
   * cannot keep a node out of service. Latched: later membership changes (a node joining,
   * a peer failing) are for sloppy quorums and hints to absorb, and must not take every
   * node out of its load balancer at once. Reading it while not ready may send those
   * `view` questions (one round at a time, at most every nodeReadyAskIntervalMs): health
   * probes are what drive them, and a node nobody probes has no one to be ready for.
   */
  get readyForClients(): boolean {
    if (this.readyLatched) return true;
    const ring = this.ringIndex?.ring;
    if (ring === undefined || this.stopped) return false;
    if (this.now() - this.startedAt >= cfg.nodeReadyWaitMs || this.settledView(ring)) this.readyLatched = true;
    return this.readyLatched;
  }

  /** The conditions of readyForClients on `ring`, in this node's current view. */
  private settledView(ring: RingState): boolean {
    const owners = new Set(ring.owners);
    if (owners.size < ring.partitions) {
      for (const m of this.gossip.members()) if (m.status === 'up' && !owners.has(m.id)) return false;
    }
    const asked: string[] = [];
    const key = `${ring.version}/${ring.claimant}`;
    for (const owner of owners) {
      if (owner === this.id) continue;
      const status = this.gossip.status(owner);
      if (status === undefined) {
        // Not heard of since start: a seed's answer introduces the live members within
        // moments. Past nodeReadyUnknownOwnersWaitMs it is not coming soon (a node
        // restarted while the rest of its cluster is stopped), as a down owner is not.
        if (this.now() - this.startedAt < cfg.nodeReadyUnknownOwnersWaitMs) return false;
        continue;
      }
      if (status === 'suspect') return false;
      if (status !== 'up') continue;
      if (!this.reachable(owner)) return false;
      if (this.viewsConfirmed.get(owner) !== key) asked.push(owner);
    }
    if (asked.length === 0) return true;
    this.askViews(asked, ring);
    return false;
  }

  /** Sends the `view` question to `owners` (one round at a time, at most every nodeReadyAskIntervalMs). */
  private askViews(owners: readonly string[], ring: RingState): void {
    const now = this.now();
    if (this.viewsAsking || now - this.viewsAskedAt < cfg.nodeReadyAskIntervalMs) return;
    this.viewsAsking = true;
    this.viewsAskedAt = now;
    const key = `${ring.version}/${ring.claimant}`;
    const asks = owners.map((owner) =>
      this.requestPeer(owner, { t: 'view' }, cfg.peerRequestTimeoutMs).then(
        (answer) => {
          if (answer.t === 'view_ok' && answer.up && answer.v === ring.version && answer.c === ring.claimant) this.viewsConfirmed.set(owner, key);
        },
        (err: unknown) => {
          // A peer of an older version does not know the question: it cannot tell, so it does not hold this node back.
          if (isShoalError(err, 'DECODE') || isShoalError(err, 'BAD_REQUEST')) this.viewsConfirmed.set(owner, key);
        },
      ),
    );
    void Promise.all(asks).finally(() => {
      this.viewsAsking = false;
    });
  }
}

function codeOf(wire: string): ShoalError['code'] {
  const upper = wire.toUpperCase();
  return (['BAD_REQUEST', 'TOO_LARGE', 'UNAVAILABLE', 'OVERLOADED', 'TIMEOUT', 'CLOSED', 'CORRUPT', 'DECODE', 'STORAGE'] as const).find((c) => c === upper) ?? 'INTERNAL';
}

/** Error replies are capped by the wire schema (1,024 bytes); messages are cut well below that. */
function errorMsg(err: unknown): PeerMessage {
  const cut = (m: string) => (m.length > 300 ? `${m.slice(0, 300)}…` : m);
  if (isShoalError(err)) return { t: 'err', code: err.code, msg: cut(err.message) };
  return { t: 'err', code: 'INTERNAL', msg: cut(err instanceof Error ? err.message : String(err)) };
}

/**
 * The 503 of a write. `reachable` is how many replicas the coordinator could ask: when
 * fewer than W, the write failed at once, not at the deadline, and the message says so
 * (an operator reading "within 5000 ms" on an answer that took 10 ms looks for a slow
 * replica instead of a missing one).
 */
function unavailableWrite(acks: number, w: number, timeoutMs: number, reachable?: number): ShoalError {
  const why =
    reachable !== undefined && reachable < w
      ? `only ${reachable} replica${reachable === 1 ? ' was' : 's were'} reachable for w=${w} (${acks} acknowledged)`
      : `only ${acks} of ${w} replicas acknowledged within ${timeoutMs} ms`;
  return new ShoalError('UNAVAILABLE', `${why}; the write may still have been stored on some replicas and will converge`);
}

/** Keys are 1 to keyBytesMax bytes of UTF-8 (CONTRACT.md). The API checks first; this guards the peer path with the same rule. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new ShoalError('BAD_REQUEST', 'key must be 1 to 512 bytes of UTF-8');
  validKey(key);
}
