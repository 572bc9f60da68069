/**
 * The node's side of anti-entropy (the pure core is src/antientropy): keeps one Merkle
 * tree per partition in step with every local write, restores the trees saved at the last
 * clean shutdown or rebuilds them from the store after a start, runs the exchanges the
 * scheduler grants, answers peers' tree and key requests, and repairs the keys an
 * exchange finds by merging both sides' versions and writing the merge wherever it is
 * newer (both ways).
 *
 * Saved trees. Rebuilding reads and decodes every object: with 1,000,000 keys that is
 * about 9 s of CPU on this project's 2-core machine (51 s of wall time on a busy one), at
 * every restart, competing with client load. So the store's clean close saves every tree
 * as its saved state `AE_SAVED_TREES` (~8.5 KiB per partition) and the next start takes
 * it back (ObjectStore.onClose and takeSaved, whose crash argument covers it: the store
 * hands over only what the clean close right before its open saved, and deletes it
 * before anything is written). The trees are saved only if they are exact: all built,
 * and no write between its store commit and its tree update. Writes made after the
 * store's open and before the copy is read are recorded as (before, after) digests and
 * applied to it afterwards; deltas commute. A copy older than aeTreeRebuildIntervalMs,
 * damaged, or made for another shape is ignored: the trees are rebuilt by the scan.
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
  decodeTrees,
  encodeTrees,
  objectDigest,
  type AeKeysMsg,
  type AeLevelsMsg,
  type AeReply,
  type AeRequest,
  type PartitionAeStatus,
} from '../antientropy/index.js';
import { OBJECT_KEY_PREFIX_BYTES, objectKeyName } from '../store/index.js';
import type { PeerMessage } from '../wire/messages.js';
import type { NodeServices } from './services.js';

/** Name of the trees as the store's saved state (ObjectStore.onClose, takeSaved). */
export const AE_SAVED_TREES = 'ae.trees';

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
  /** This node's own exchange running per partition, and whether it has had its root answer. */
  private readonly exchanging = new Map<number, { pastRoot: boolean }>();
  /** Writes between their store commit and their tree update, per partition (rebuilds wait for zero). */
  private readonly inFlight = new Map<number, number>();
  private readonly scheduler: AntiEntropyScheduler;
  private rebuilding = false;
  private rebuilt = false;
  private stopped = false;
  private readonly repairedTotal = { keys: 0 };
  /** Wall-clock ms of the scan each tree descends from (saved with it; saved trees expire). */
  private readonly builtAt = new Map<number, number>();
  /** Until the saved trees have been read: writes (all made since the store's open) are recorded here instead of applied. */
  private loading = true;
  private pendingWrites: Array<[number, string, Uint8Array | undefined, Uint8Array | undefined]> = [];
  private pendingOverflow = false;
  /** How the last start got its trees, for logs and tests. */
  private restoredCount = 0;

  constructor(private readonly host: AntiEntropyHost) {
    this.scheduler = new AntiEntropyScheduler(host.env.clock.monotonic());
    host.store.onClose(AE_SAVED_TREES, () => this.save());
  }

  /** Stops exchanging (the trees are saved by the store's close, see the file comment). */
  stop(): void {
    this.stopped = true;
  }

  /** Partitions whose tree the last start restored from the saved copy (the rest were scanned). */
  get treesRestored(): number {
    return this.restoredCount;
  }

  /**
   * The trees as the store's close saves them, called once every write has landed; none
   * unless they match the store exactly: all built, none being rebuilt, no write between
   * its store commit and its tree update.
   */
  private save(): Uint8Array | undefined {
    if (!this.rebuilt || this.rebuilding || this.inFlight.size > 0) return undefined;
    const entries = [];
    for (const [partition, tree] of this.trees) {
      if (!tree.ready) return undefined;
      entries.push({ partition, builtAtMs: this.builtAt.get(partition) ?? this.host.env.clock.now(), tree });
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeTrees(entries, { segments: cfg.aeSegmentsPerPartition, fanout: cfg.aeTreeFanout }, this.host.partitions);
    } catch (err) {
      this.host.log('antientropy_save_failed', { err }, 'warn');
      return undefined;
    }
    this.host.log('antientropy_trees_saved', { partitions: entries.length, bytes: bytes.length });
    return bytes;
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
    if (this.loading) {
      // The saved trees are being read: keep the delta for the restored tree.
      if (this.pendingWrites.length >= cfg.aeSavedTreeWritesMax) this.pendingOverflow = true;
      else this.pendingWrites.push([partition, key, before && objectDigest(before), after && objectDigest(after)]);
      return;
    }
    this.tree(partition).update(key, before && objectDigest(before), after && objectDigest(after));
  }

  /** A store write that never happened (it failed): release its in-flight mark. */
  failed(partition: number): void {
    this.written(partition, '', undefined, undefined, false);
  }

  /**
   * Restores the trees saved at the last clean shutdown, or rebuilds them from the store,
   * one partition at a time, in the background. Until then a partition's tree is held
   * (not ready): peers' exchanges against it are refused rather than run against an
   * empty tree, which would send them scanning for nothing.
   */
  async rebuildAll(): Promise<void> {
    if (this.rebuilding) return;
    this.rebuilding = true;
    const started = this.host.env.clock.monotonic();
    for (let p = 0; p < this.host.partitions; p++) this.tree(p).hold();
    let keys = 0;
    try {
      const restored = this.restore();
      this.restoredCount = restored.size;
      for (let p = 0; p < this.host.partitions && !this.stopped; p++) {
        if (restored.has(p)) continue;
        const tree = this.tree(p);
        const builtAt = this.host.env.clock.now();
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
        this.builtAt.set(p, builtAt);
      }
      this.rebuilt = !this.stopped;
      this.host.log('antientropy_trees_built', { restored: restored.size, scanned: this.host.partitions - restored.size, keys, ms: Math.round(this.host.env.clock.monotonic() - started) });
    } finally {
      this.rebuilding = false;
    }
  }

  /**
   * Reads the saved trees, if any are usable, into the trees of their partitions and
   * applies the writes recorded meanwhile; returns the partitions restored. Every other
   * partition stays held for the scan.
   */
  private restore(): Set<number> {
    const restored = new Set<number>();
    try {
      const bytes = this.host.store.takeSaved(AE_SAVED_TREES);
      if (bytes === undefined || this.pendingOverflow) return restored;
      const now = this.host.env.clock.now();
      const saved = decodeTrees(bytes, { segments: cfg.aeSegmentsPerPartition, fanout: cfg.aeTreeFanout }, this.host.partitions);
      for (const s of saved) {
        if (now - s.builtAtMs > cfg.aeTreeRebuildIntervalMs || s.builtAtMs > now + cfg.aeTreeRebuildIntervalMs) continue;
        this.trees.set(s.partition, s.tree);
        this.builtAt.set(s.partition, s.builtAtMs);
        restored.add(s.partition);
      }
    } catch (err) {
      this.host.log('antientropy_saved_trees_unusable', { err }, 'warn');
    } finally {
      this.loading = false;
      const pending = this.pendingWrites;
      this.pendingWrites = [];
      // Writes to restored partitions since the start, as deltas on the saved state (the
      // store's state at the last stop); the other partitions' scans will read them.
      for (const [p, key, before, after] of pending) if (restored.has(p)) this.tree(p).update(key, before, after);
    }
    return restored;
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
    // Each answer is a pass over the whole partition (the tree keeps no keys), so this
    // node's scan starts as soon as the peer's request leaves, and the two scans run at
    // the same time on two processes; the exchange takes this node's answer when it asks
    // for exactly that page.
    let early: { msg: AeKeysMsg; answer: Promise<AeReply> } | undefined;
    const mine = { pastRoot: false };
    this.exchanging.set(partition, mine);
    const started = this.host.env.clock.monotonic();
    let compared = started;
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
        if (reply.t !== 'err') mine.pastRoot = true;
      }
      compared = this.host.env.clock.monotonic();
      if (step.keys.length > 0 && !this.host.skipRepair) repaired = await this.repair(partition, peer, step.keys);
      this.scheduler.finished(partition, peer, {
        now: this.host.env.clock.monotonic(),
        keysDiffering: step.keys.length,
        keysRepaired: repaired,
        complete: step.complete && repaired === step.keys.length,
        // The peer was busy exchanging this partition itself (see answer()): not a failure.
        failed: step.error !== undefined && !(step.error.code === 'OVERLOADED' && step.error.message.includes(BUSY)),
      });
      if (step.keys.length > 0) {
        const now = this.host.env.clock.monotonic();
        this.host.log('antientropy_repaired', { partition, peer, differing: step.keys.length, repaired, requests: step.requests, compareMs: Math.round(compared - started), repairMs: Math.round(now - compared) });
      }
    } catch (err) {
      this.scheduler.finished(partition, peer, { now: this.host.env.clock.monotonic(), keysDiffering: 0, keysRepaired: repaired, complete: false, failed: true });
      this.host.log('antientropy_exchange_failed', { partition, peer, err }, 'warn');
    } finally {
      if (this.exchanging.get(partition) === mine) this.exchanging.delete(partition);
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
          // Both reads at once, then both writes at once: a key costs two round trips, not four.
          const [local, answer] = await Promise.all([this.host.store.get(partition, key), this.host.request(peer, { t: 'rget', p: partition, k: key }, cfg.aeRequestTimeoutMs)]);
          const remote = answer.t === 'rget_ok' && answer.o ? vc.fromWire(answer.o) : undefined;
          if (!local && !remote) return;
          const merged = local && remote ? vc.sync(local, remote) : (local ?? remote)!;
          const writes: Array<Promise<unknown>> = [];
          if (!local || !vc.lessOrEqual(merged, local)) writes.push(this.host.merge(partition, key, merged));
          if (!remote || !vc.lessOrEqual(merged, remote)) {
            writes.push(this.host.request(peer, { t: 'rput', p: partition, k: key, o: vc.toWire(merged) }, cfg.aeRequestTimeoutMs));
          }
          await Promise.all(writes);
          repaired++;
          this.repairedTotal.keys++;
        }),
      );
    }
    return repaired;
  }

  /**
   * Answers a peer's ae_levels or ae_keys request. A peer starting an exchange of a
   * partition (its root request) while this node's own exchange of that partition is
   * under way is refused as busy: both would find and repair the same keys, each paying a
   * pass over the partition on both sides (measured: the three nodes of a cluster repaired
   * 1,000 keys 2.6 times over). The busy peer retries after its interval; an exchange of
   * ours repairs both sides. Refusing only once our own exchange has had its root answer
   * means two nodes cannot refuse each other.
   */
  async answer(msg: AeLevelsMsg | AeKeysMsg): Promise<PeerMessage> {
    if (msg.t === 'ae_levels' && msg.level === 0 && this.exchanging.get(msg.p)?.pastRoot === true) {
      return { t: 'err', code: 'OVERLOADED', msg: `${BUSY} ${msg.p}` };
    }
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
    if (page.after === undefined) {
      const answered = await this.firstKeysPage(msg.p, page);
      if (answered) return page.reply();
    }
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

  /**
   * The first page of an ae_keys answer from a keys-only pass over the partition: the
   * asked segments hold ~1/64 of a partition's keys or less, so only their objects are
   * read and decoded (store.get, batched into one read per turn), not every object as a
   * full scan does: about half the CPU per exchange and a third of the wall time,
   * measured on 15,600 keys of 100 random bytes. False = fall back to the scan (a key
   * picked was deleted before it was read and the page would be short of its `more`).
   * Only for a page with no `after` (wantsSegment answers for those alone).
   */
  private async firstKeysPage(partition: number, page: KeysPage): Promise<boolean> {
    const wanted: string[] = [];
    let cut = false;
    const tree = this.tree(partition);
    // Raw object keys a chunk at a time: only the wanted few are decoded into names (the
    // pass costs a node about 3 µs a key when each is decoded, hashed from its string and
    // awaited on its own, at 15,600 keys per partition of a million-key store).
    pass: for await (const chunk of this.host.store.partitionKeyChunks(partition)) {
      for (const k of chunk) {
        if (!page.wantsSegment(tree.segmentOfUtf8(k, OBJECT_KEY_PREFIX_BYTES))) continue;
        wanted.push(objectKeyName(k));
        if (wanted.length > cfg.aeKeysPerReplyMax) {
          cut = true;
          break pass;
        }
      }
    }
    const objects = await Promise.all(wanted.map((k) => this.host.store.get(partition, k)));
    let missing = false;
    for (let i = 0; i < wanted.length; i++) {
      const obj = objects[i];
      if (obj === undefined) {
        missing = true;
        continue;
      }
      if (!page.offer(wanted[i]!, () => objectDigest(obj))) break;
    }
    // A cut pass whose page did not fill up (keys deleted meanwhile) cannot say `more` exactly.
    return !(cut && missing && page.size < cfg.aeKeysPerReplyMax);
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

/** Start of the message of a busy refusal (see AntiEntropyDriver.answer). */
const BUSY = 'busy exchanging partition';

/** Two ae_keys requests ask for the same page (same partition, segments and start). */
function samePage(a: AeKeysMsg, b: AeKeysMsg): boolean {
  return a.p === b.p && a.width === b.width && a.after === b.after && a.segs.length === b.segs.length && a.segs.every((s, i) => s === b.segs[i]);
}
