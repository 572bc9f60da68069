/**
 * The node's side of anti-entropy (the pure core is src/antientropy): keeps one Merkle
 * tree per partition in step with every local write, rebuilds the trees from the store
 * after a start (a wiped or crashed node starts empty and rebuilds, so its trees are
 * never trusted from before), runs the exchanges the scheduler grants, answers peers'
 * tree and key requests, and repairs the keys an exchange finds by merging both sides'
 * versions and writing the merge wherever it is newer (both ways).
 */
import { ShoalError, isShoalError } from '../errors/index.js';
import * as cfg from '../config/index.js';
import * as vc from '../vclock/index.js';
import type { DVVSet } from '../vclock/types.js';
import {
  AntiEntropyScheduler,
  Exchange,
  KeysPage,
  PartitionTree,
  answerLevels,
  objectDigest,
  type AeKeysMsg,
  type AeLevelsMsg,
  type AeReply,
  type AeRequest,
  type PartitionAeStatus,
} from '../antientropy/index.js';
import type { PeerMessage } from '../wire/messages.js';
import type { NodeServices } from './services.js';

export interface AntiEntropyHost extends NodeServices {
  /** Partitions this node replicates now, each with its other replicas in preference order. */
  replicas(): Array<{ partition: number; peers: string[] }>;
  /** Recent foreground p99 latency, ms. */
  p99Ms(): number | undefined;
  /** Simulator seam: exchanges run but repair nothing. */
  readonly skipRepair?: boolean;
}

export class AntiEntropyDriver {
  private readonly trees = new Map<number, PartitionTree>();
  /** Writes between their store commit and their tree update, per partition (rebuilds wait for zero). */
  private readonly inFlight = new Map<number, number>();
  private readonly scheduler: AntiEntropyScheduler;
  private rebuilding = false;
  private rebuilt = false;
  private stopped = false;
  private readonly repairedTotal = { keys: 0 };

  constructor(private readonly host: AntiEntropyHost) {
    this.scheduler = new AntiEntropyScheduler(host.env.clock.monotonic());
  }

  stop(): void {
    this.stopped = true;
  }

  get keysRepaired(): number {
    return this.repairedTotal.keys;
  }

  tree(partition: number): PartitionTree {
    let t = this.trees.get(partition);
    if (!t) {
      t = new PartitionTree({ segments: cfg.aeSegmentsPerPartition, fanout: cfg.aeTreeFanout });
      this.trees.set(partition, t);
    }
    return t;
  }

  /** Call before a store write of `partition`; pair with `written`. */
  writing(partition: number): void {
    this.inFlight.set(partition, (this.inFlight.get(partition) ?? 0) + 1);
  }

  /** A store write of `key` finished (`before` → `after`); `changed` false = nothing was written. */
  written(partition: number, key: string, before: DVVSet | undefined, after: DVVSet | undefined, changed: boolean): void {
    const n = (this.inFlight.get(partition) ?? 1) - 1;
    if (n > 0) this.inFlight.set(partition, n);
    else this.inFlight.delete(partition);
    if (!changed) return;
    this.tree(partition).update(key, before && objectDigest(before), after && objectDigest(after));
  }

  /** A store write that never happened (it failed): release its in-flight mark. */
  failed(partition: number): void {
    this.written(partition, '', undefined, undefined, false);
  }

  /** Rebuilds every partition's tree from the store, one partition at a time, in the background. */
  async rebuildAll(): Promise<void> {
    if (this.rebuilding) return;
    this.rebuilding = true;
    const started = this.host.env.clock.monotonic();
    let keys = 0;
    try {
      for (let p = 0; p < this.host.partitions && !this.stopped; p++) {
        const tree = this.tree(p);
        tree.beginRebuild();
        let after: string | undefined;
        for (;;) {
          const rows = await this.host.store.scan(p, after === undefined ? { limit: cfg.aeRebuildPageKeys, skipCorrupt: true } : { after, limit: cfg.aeRebuildPageKeys, skipCorrupt: true });
          for (const [k, obj] of rows) tree.feed(k, objectDigest(obj));
          keys += rows.length;
          if (rows.length < cfg.aeRebuildPageKeys) break;
          after = rows[rows.length - 1]![0];
        }
        // A write committed but not yet reported would be missed by the scan and then lost
        // by finishRebuild; wait until the partition has none in flight.
        while ((this.inFlight.get(p) ?? 0) > 0 && !this.stopped) await this.pause(5);
        tree.finishRebuild();
        if (tree.size === 0 && keys === 0) continue;
      }
      this.rebuilt = true;
      this.host.log('antientropy_trees_built', { keys, ms: Math.round(this.host.env.clock.monotonic() - started) });
    } finally {
      this.rebuilding = false;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.host.env.timers.setTimeout(resolve, ms));
  }

  /** Driven by the node every aeTickMs. */
  tick(): void {
    if (this.stopped || !this.rebuilt) return;
    const now = this.host.env.clock.monotonic();
    const p99 = this.host.p99Ms();
    const grants = this.scheduler.tick({
      now,
      replicas: this.host.replicas(),
      isUp: (peer) => this.host.reachable(peer),
      isReady: (p) => this.tree(p).ready,
      ...(p99 === undefined ? {} : { p99Ms: p99 }),
    });
    for (const g of grants) void this.exchange(g.partition, g.peer);
  }

  private async exchange(partition: number, peer: string): Promise<void> {
    const tree = this.tree(partition);
    const ex = new Exchange(tree, partition);
    let repaired = 0;
    // The exchange asks the peer for a batch's keys, then this node for the same batch.
    // Each answer is a scan of the whole partition (the tree keeps no keys), so this
    // node's scan starts as soon as the peer's request leaves, and the two scans run at
    // the same time on two processes; the exchange takes this node's answer when it asks
    // for exactly that page.
    let early: { msg: AeKeysMsg; answer: Promise<AeReply> } | undefined;
    try {
      let step = ex.start();
      while (!step.done) {
        let reply: AeReply;
        const msg = step.msg;
        if (step.to === 'self') {
          if (early !== undefined && msg.t === 'ae_keys' && samePage(early.msg, msg)) reply = await early.answer;
          else reply = await this.answerLocal(msg);
          early = undefined;
        } else {
          if (msg.t === 'ae_keys' && msg.after === undefined) {
            const answer = this.answerLocal(msg).catch((err: unknown): AeReply => ({ t: 'err', code: isShoalError(err) ? err.code : 'INTERNAL', msg: err instanceof Error ? err.message : String(err) }));
            early = { msg, answer };
          }
          try {
            reply = (await this.host.request(peer, msg, cfg.aeRequestTimeoutMs)) as AeReply;
          } catch (err) {
            reply = { t: 'err', code: isShoalError(err) ? err.code : 'INTERNAL', msg: err instanceof Error ? err.message : String(err) };
          }
        }
        step = ex.onReply(reply);
      }
      if (step.keys.length > 0 && !this.host.skipRepair) repaired = await this.repair(partition, peer, step.keys);
      this.scheduler.finished(partition, peer, {
        now: this.host.env.clock.monotonic(),
        keysDiffering: step.keys.length,
        keysRepaired: repaired,
        complete: step.complete && repaired === step.keys.length,
        failed: step.error !== undefined,
      });
      if (step.keys.length > 0) this.host.log('antientropy_repaired', { partition, peer, differing: step.keys.length, repaired });
    } catch (err) {
      this.scheduler.finished(partition, peer, { now: this.host.env.clock.monotonic(), keysDiffering: 0, keysRepaired: repaired, complete: false, failed: true });
      this.host.log('antientropy_exchange_failed', { partition, peer, err }, 'warn');
    }
    // A slot is free: ask the scheduler for the next pair now rather than at the next tick.
    // Waiting for ticks capped a node at aeConcurrentExchanges exchanges per aeTickMs
    // (8 a second), which alone made a pass over 64 partitions take 8 s. The scheduler's
    // limits (concurrency, interval per pair, the foreground-p99 pause) still decide.
    if (!this.stopped) this.host.env.timers.setTimeout(() => this.tick(), 0);
  }

  /** Repairs each key by merging both versions and writing the merge wherever it is newer. */
  private async repair(partition: number, peer: string, keys: string[]): Promise<number> {
    let repaired = 0;
    let i = 0;
    while (i < keys.length && !this.stopped) {
      const want = Math.min(cfg.aeRepairBatchKeys, keys.length - i);
      const granted = this.scheduler.takeRepairTokens(want, this.host.env.clock.monotonic());
      if (granted === 0) {
        await this.pause(cfg.aeRepairWaitMs);
        continue;
      }
      const batch = keys.slice(i, i + granted);
      i += granted;
      await Promise.all(
        batch.map(async (key) => {
          const local = await this.host.store.get(partition, key);
          const answer = await this.host.request(peer, { t: 'rget', p: partition, k: key }, cfg.aeRequestTimeoutMs);
          const remote = answer.t === 'rget_ok' && answer.o ? vc.fromWire(answer.o) : undefined;
          if (!local && !remote) return;
          const merged = local && remote ? vc.sync(local, remote) : (local ?? remote)!;
          if (!local || !vc.lessOrEqual(merged, local)) await this.host.merge(partition, key, merged);
          if (!remote || !vc.lessOrEqual(merged, remote)) {
            await this.host.request(peer, { t: 'rput', p: partition, k: key, o: vc.toWire(merged) }, cfg.aeRequestTimeoutMs);
          }
          repaired++;
          this.repairedTotal.keys++;
        }),
      );
    }
    return repaired;
  }

  /** Answers an ae_levels or ae_keys request (a peer's, or our own exchange's `self` step). */
  async answer(msg: AeLevelsMsg | AeKeysMsg): Promise<PeerMessage> {
    try {
      return (await this.answerLocal(msg)) as PeerMessage;
    } catch (err) {
      if (isShoalError(err)) return { t: 'err', code: err.code, msg: err.message.slice(0, 300) };
      throw err;
    }
  }

  private async answerLocal(msg: AeRequest): Promise<AeReply> {
    const tree = this.tree(msg.p);
    if (msg.t === 'ae_levels') return answerLevels(tree, msg);
    if (!tree.ready) throw new ShoalError('UNAVAILABLE', `tree of partition ${msg.p} is being rebuilt`);
    const page = new KeysPage(tree, msg);
    let after = page.after;
    for (;;) {
      const rows = await this.host.store.scan(msg.p, after === undefined ? { limit: cfg.aeRebuildPageKeys, skipCorrupt: true } : { after, limit: cfg.aeRebuildPageKeys, skipCorrupt: true });
      let full = false;
      for (const [k, obj] of rows) {
        if (!page.offer(k, () => objectDigest(obj))) {
          full = true;
          break;
        }
      }
      if (full || rows.length < cfg.aeRebuildPageKeys) break;
      after = rows[rows.length - 1]![0];
    }
    return page.reply();
  }

  /** Per partition: last exchange, keys repaired, in sync (for /v1/status and the dashboard). */
  status(): Array<PartitionAeStatus & { lastExchangeAgoMs: number | null; treeReady: boolean; keys: number }> {
    const now = this.host.env.clock.monotonic();
    return this.scheduler.status().map((s) => ({
      ...s,
      lastExchangeAgoMs: s.lastExchangeMs === null ? null : Math.round(now - s.lastExchangeMs),
      treeReady: this.trees.get(s.partition)?.ready ?? false,
      keys: this.trees.get(s.partition)?.size ?? 0,
    }));
  }

  get paused(): boolean {
    return this.scheduler.paused;
  }

  /** Whether the key's segment hash is the same on this node and on `peer` (explain). */
  async segmentInSync(partition: number, key: string, peer: string): Promise<boolean | null> {
    const tree = this.tree(partition);
    if (!tree.ready) return null;
    const segment = tree.segmentOf(key);
    const leaf = tree.depth;
    try {
      const answer = await this.host.request(peer, { t: 'ae_levels', p: partition, width: tree.segments, fan: tree.fanout, level: leaf, idx: [segment] }, cfg.aeRequestTimeoutMs);
      if (answer.t !== 'ae_levels_ok') return null;
      const mine = tree.levelHashes(leaf, [segment]);
      const theirs = answer.hashes;
      return mine.length === theirs.length && mine.every((b, i) => b === theirs[i]);
    } catch {
      return null;
    }
  }
}

/** Two ae_keys requests ask for the same page (same partition, segments and start). */
function samePage(a: AeKeysMsg, b: AeKeysMsg): boolean {
  return a.p === b.p && a.width === b.width && a.after === b.after && a.segs.length === b.segs.length && a.segs.every((s, i) => s === b.segs[i]);
}
