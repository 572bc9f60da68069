/**
 * AntiEntropyScheduler: which (partition, peer) to exchange next, how many at once, and how
 * fast to repair. Pure: the node calls tick() with `now` and what it knows, starts the
 * exchanges returned, asks for repair tokens, and reports each exchange's end.
 */
import {
  aeConcurrentExchanges,
  aeExchangeIntervalMs,
  aeExchangeTimeoutMs,
  aeForegroundLatencyTargetMs,
  aeRepairBurstKeys,
  aeRepairKeysPerSecond,
} from '../config/index.js';
import { TokenBucket } from '../hinted-handoff/index.js';

/** A partition this node replicates, and the other replicas it could exchange it with. */
export interface ReplicaSet {
  readonly partition: number;
  /** Peer node ids in preference order (this node excluded). */
  readonly peers: readonly string[];
}

export interface SchedulerTick {
  /** Monotonic ms. */
  now: number;
  /** Partitions this node replicates now; pairs not listed are forgotten. */
  replicas: readonly ReplicaSet[];
  /** Whether a peer is up (reachable); exchanges only go to peers that are. */
  isUp: (peer: string) => boolean;
  /** Whether this node's tree of the partition is ready (not being rebuilt). */
  isReady: (partition: number) => boolean;
  /** The node's recent foreground p99 latency, ms (undefined = no traffic measured). */
  p99Ms?: number | undefined;
}

export interface ExchangeGrant {
  readonly partition: number;
  readonly peer: string;
}

export interface ExchangeOutcome {
  /** Monotonic ms. */
  now: number;
  /** Keys the exchange found differing. */
  keysDiffering: number;
  /** Keys actually repaired. */
  keysRepaired: number;
  /** The exchange compared everything (no early stop, no error). */
  complete: boolean;
  /** The exchange failed (peer error, timeout): not counted as in sync. */
  failed?: boolean;
}

/** What /v1/status shows for one partition. */
export interface PartitionAeStatus {
  partition: number;
  /** Monotonic ms of the last finished exchange, or null if none yet. */
  lastExchangeMs: number | null;
  lastPeer: string | null;
  /** Keys repaired in this partition since the node started. */
  keysRepaired: number;
  /** The last finished exchange found nothing to repair and was complete; null = not known yet. */
  inSync: boolean | null;
  exchanges: number;
  failures: number;
}

export interface SchedulerConfig {
  concurrentExchanges: number;
  exchangeIntervalMs: number;
  exchangeTimeoutMs: number;
  repairKeysPerSecond: number;
  repairBurstKeys: number;
  foregroundLatencyTargetMs: number;
}

export const schedulerDefaults: SchedulerConfig = {
  concurrentExchanges: aeConcurrentExchanges,
  exchangeIntervalMs: aeExchangeIntervalMs,
  exchangeTimeoutMs: aeExchangeTimeoutMs,
  repairKeysPerSecond: aeRepairKeysPerSecond,
  repairBurstKeys: aeRepairBurstKeys,
  foregroundLatencyTargetMs: aeForegroundLatencyTargetMs,
};

const pairKey = (partition: number, peer: string): string => `${partition}\u0000${peer}`;

export class AntiEntropyScheduler {
  private readonly config: SchedulerConfig;
  private readonly bucket: TokenBucket;
  /** Pair → monotonic ms it was last started. */
  private readonly lastStart = new Map<string, number>();
  /** Pair → monotonic ms it started, for exchanges running now. */
  private readonly running = new Map<string, number>();
  private readonly records = new Map<number, PartitionAeStatus>();
  /** Round-robin position: the index into the tick's pair list to start looking at. */
  private cursor = 0;
  private pausedFlag = false;

  constructor(now: number, config: Partial<SchedulerConfig> = {}) {
    this.config = { ...schedulerDefaults, ...config };
    this.bucket = new TokenBucket(this.config.repairKeysPerSecond, this.config.repairBurstKeys, now);
  }

  /** True while foreground latency is above target: nothing starts, no repair tokens. */
  get paused(): boolean {
    return this.pausedFlag;
  }

  /** Exchanges running now. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Decides which exchanges to start now (possibly none). Pairs are ordered partition
   * first (one peer each per round over all partitions), then peer, so after a wipe every
   * partition gets one exchange before any gets a second.
   */
  tick(t: SchedulerTick): ExchangeGrant[] {
    const { now } = t;
    // Forget exchanges that never reported back, so a lost reply cannot hold a slot forever.
    for (const [k, started] of this.running) if (now - started >= this.config.exchangeTimeoutMs) this.running.delete(k);

    const pairs = this.pairsOf(t.replicas);
    this.forgetOthers(t.replicas, pairs);

    if (t.p99Ms !== undefined) this.pausedFlag = t.p99Ms > this.config.foregroundLatencyTargetMs;
    if (this.pausedFlag || pairs.length === 0) return [];

    const grants: ExchangeGrant[] = [];
    const busy = new Set<number>();
    for (const k of this.running.keys()) busy.add(Number(k.slice(0, k.indexOf('\u0000'))));
    const start = this.cursor < pairs.length ? this.cursor : 0;
    for (let step = 0; step < pairs.length && this.running.size < this.config.concurrentExchanges; step++) {
      const idx = (start + step) % pairs.length;
      const { partition, peer } = pairs[idx]!;
      const k = pairKey(partition, peer);
      const last = this.lastStart.get(k);
      // One exchange per partition at a time: two would find and repair the same keys.
      if (busy.has(partition) || !t.isUp(peer) || !t.isReady(partition)) continue;
      if (last !== undefined && now - last < this.config.exchangeIntervalMs) continue;
      this.running.set(k, now);
      this.lastStart.set(k, now);
      busy.add(partition);
      grants.push({ partition, peer });
      this.cursor = (idx + 1) % pairs.length;
    }
    return grants;
  }

  /**
   * Repair tokens: how many of `want` keys may be repaired now. Zero while paused. Give
   * back unused ones with refundRepairTokens.
   */
  takeRepairTokens(want: number, now: number): number {
    if (this.pausedFlag) return 0;
    return this.bucket.take(want, now);
  }

  refundRepairTokens(count: number): void {
    this.bucket.refund(count);
  }

  /** The node reports the end of an exchange it was granted (after its repairs). */
  finished(partition: number, peer: string, outcome: ExchangeOutcome): void {
    this.running.delete(pairKey(partition, peer));
    const r = this.recordOf(partition);
    r.lastExchangeMs = outcome.now;
    r.lastPeer = peer;
    r.exchanges++;
    r.keysRepaired += outcome.keysRepaired;
    if (outcome.failed === true) {
      r.failures++;
      return;
    }
    r.inSync = outcome.complete && outcome.keysDiffering === 0;
  }

  /** Per-partition records, sorted by partition, for /v1/status and metrics. */
  status(): PartitionAeStatus[] {
    return [...this.records.values()].sort((a, b) => a.partition - b.partition).map((r) => ({ ...r }));
  }

  private recordOf(partition: number): PartitionAeStatus {
    let r = this.records.get(partition);
    if (r === undefined) {
      r = { partition, lastExchangeMs: null, lastPeer: null, keysRepaired: 0, inSync: null, exchanges: 0, failures: 0 };
      this.records.set(partition, r);
    }
    return r;
  }

  /** Pairs in round-robin order: peer rank 0 of every partition, then rank 1, ... */
  private pairsOf(replicas: readonly ReplicaSet[]): ExchangeGrant[] {
    const sorted = [...replicas].sort((a, b) => a.partition - b.partition);
    const pairs: ExchangeGrant[] = [];
    const ranks = Math.max(0, ...sorted.map((r) => r.peers.length));
    for (let rank = 0; rank < ranks; rank++) {
      for (const r of sorted) {
        const peer = r.peers[rank];
        if (peer !== undefined) pairs.push({ partition: r.partition, peer });
      }
    }
    return pairs;
  }

  /** Drops state of partitions and pairs the node no longer replicates, so the maps stay bounded. */
  private forgetOthers(replicas: readonly ReplicaSet[], pairs: readonly ExchangeGrant[]): void {
    const parts = new Set(replicas.map((r) => r.partition));
    for (const p of this.records.keys()) if (!parts.has(p)) this.records.delete(p);
    for (const p of parts) this.recordOf(p);
    if (this.lastStart.size > pairs.length) {
      const keep = new Set(pairs.map((x) => pairKey(x.partition, x.peer)));
      for (const k of this.lastStart.keys()) if (!keep.has(k)) this.lastStart.delete(k);
    }
  }
}
