/**
 * # Partition transfers: joins, leaves and fallback handoff
 *
 * A membership change never moves ownership before the data. The claimant publishes
 * the new ring as *pending owners* (`ring.next`); requests keep being served by the
 * current owners, and writes also go to the pending ones. Each node that gains a
 * partition (it is among the partition's pending primaries but not its current ones)
 * pulls it from a current primary in key order, in batches, throttled, recording its
 * progress in its store so a crash of either side resumes where it stopped. When it has
 * every partition it gains, it declares itself ready for that pending version in its own
 * gossip record; once every gaining node is ready the claimant makes `next` the owners.
 *
 * The other half is the *sweep*: any partition this node holds keys of without being one
 * of its current (or pending) primaries — the old owner after a flip, a leaving node, a
 * fallback that took hinted writes — is pushed to all of the partition's primaries and
 * then removed key by key, each only if it is still exactly what was pushed (a write that
 * arrived meanwhile stays, and goes with the next sweep). So a fallback copy is dropped
 * once handed off, and after transfers settle every key lives on exactly its N primaries.
 */
import { ShoalError } from '../errors/index.js';
import * as cfg from '../config/index.js';
import * as vc from '../vclock/index.js';
import type { DVVSet } from '../vclock/types.js';
import { RingIndex } from '../ring/index.js';
import type { RingState } from '../ring/types.js';
import { TokenBucket } from '../hinted-handoff/index.js';
import type { PeerMessage, TransferItem } from '../wire/messages.js';
import type { NodeServices } from './services.js';

export interface TransferHost extends NodeServices {
  readonly n: number;
  /** The ring this node serves from, and its pending owners if a change is under way. */
  ring(): RingState | undefined;
  /** Declares this node ready for pending ring `version`. */
  setReady(version: number): void;
  /** Removes the key if its local copy still equals `pushed` (anti-entropy trees follow); true when removed. */
  removeIfEqual(partition: number, key: string, pushed: DVVSet): Promise<boolean>;
}

/** A transfer in progress or just finished, as /v1/status shows it. */
export interface TransferView {
  readonly partition: number;
  readonly direction: 'in' | 'out';
  readonly peer: string;
  /** Sender and receiver (for 'in': the peer and this node; for 'out': this node and the peers). */
  readonly from: string;
  readonly to: string;
  readonly keysSent: number;
  readonly etaMs: number | null;
  readonly startedAgoMs: number;
  readonly state: 'running' | 'waiting' | 'done' | 'failed';
  readonly keysDone: number;
  readonly keysTotal: number | null;
  readonly bytesDone: number;
  readonly rateKeysPerSecond: number;
  readonly etaSeconds: number | null;
  readonly error?: string;
}

interface Job {
  partition: number;
  direction: 'in' | 'out';
  peer: string;
  state: 'running' | 'waiting' | 'done' | 'failed';
  keysDone: number;
  keysTotal: number | null;
  bytesDone: number;
  startedAt: number;
  finishedAt: number;
  error?: string;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export class TransferManager {
  private readonly jobs = new Map<string, Job>();
  private readonly bucket: TokenBucket;
  /** The pending ring version whose inbound pulls we run; its needed partitions; which are done. */
  private working: { version: number; needed: number[]; done: Set<number> } | undefined;
  private running = 0;
  private sweeping = false;
  private readonly totals = new Map<number, { count: number; at: number }>();
  /** Failed pulls per partition, to rotate sources (bounded by the partition count). */
  private readonly attempts = new Map<number, number>();
  private stopped = false;
  private cached: { ring: RingState; current: RingIndex; next: RingIndex | undefined } | undefined;

  constructor(private readonly host: TransferHost) {
    this.bucket = new TokenBucket(cfg.transferKeysPerSecond, cfg.transferBurstKeys, host.env.clock.monotonic());
  }

  stop(): void {
    this.stopped = true;
  }

  /** Current and pending ring indexes (cached per ring object). */
  indexes(): { current: RingIndex; next: RingIndex | undefined; ring: RingState } | undefined {
    const ring = this.host.ring();
    if (!ring) return undefined;
    if (this.cached?.ring !== ring) {
      const current = new RingIndex({ partitions: ring.partitions, owners: ring.owners, version: ring.version, claimant: ring.claimant }, this.host.n);
      const next = ring.next ? new RingIndex({ partitions: ring.partitions, owners: ring.next, version: ring.version, claimant: ring.claimant }, this.host.n) : undefined;
      this.cached = { ring, current, next };
    }
    return this.cached;
  }

  /** Nodes that enter some partition's primaries when `ring.next` replaces `ring.owners`. */
  static gainers(ring: RingState, n: number): string[] {
    if (!ring.next) return [];
    const cur = new RingIndex({ partitions: ring.partitions, owners: ring.owners, version: ring.version, claimant: ring.claimant }, n);
    const nxt = new RingIndex({ partitions: ring.partitions, owners: ring.next, version: ring.version, claimant: ring.claimant }, n);
    const out = new Set<string>();
    for (let p = 0; p < ring.partitions; p++) {
      const before = cur.preferenceList(p).primaries;
      for (const node of nxt.preferenceList(p).primaries) if (!before.includes(node)) out.add(node);
    }
    return [...out].sort();
  }

  /** Pending primaries a write to `partition` must also reach (not counted for W). */
  extraTargets(partition: number, already: ReadonlySet<string>): string[] {
    const ix = this.indexes();
    if (!ix?.next) return [];
    return ix.next.preferenceList(partition).primaries.filter((node) => !already.has(node) && node !== this.host.id);
  }

  /** True when this node replicates `partition` now or will once the pending ring settles. */
  replicates(partition: number): boolean {
    const ix = this.indexes();
    if (!ix) return false;
    if (ix.current.preferenceList(partition).primaries.includes(this.host.id)) return true;
    return !!ix.next && ix.next.preferenceList(partition).primaries.includes(this.host.id);
  }

  /** Driven by the node every transferTickMs. */
  tick(): void {
    if (this.stopped) return;
    this.pullTick();
    if (!this.sweeping) {
      this.sweeping = true;
      void this.sweep()
        .catch((err) => this.host.log('sweep_failed', { err }, 'warn'))
        .finally(() => {
          this.sweeping = false;
        });
    }
  }

  // ------------------------------------------------------------------ inbound pulls

  private pullTick(): void {
    const ix = this.indexes();
    if (!ix?.next) {
      this.working = undefined;
      return;
    }
    const version = ix.ring.version;
    if (this.working?.version !== version) {
      const needed: number[] = [];
      for (let p = 0; p < ix.ring.partitions; p++) {
        const gains = ix.next.preferenceList(p).primaries.includes(this.host.id) && !ix.current.preferenceList(p).primaries.includes(this.host.id);
        if (gains) needed.push(p);
      }
      this.working = { version, needed, done: new Set() };
      if (needed.length > 0) this.host.log('transfers_needed', { version, partitions: needed.length });
    }
    const w = this.working;
    if (w.done.size === w.needed.length) {
      this.host.setReady(version);
      return;
    }
    for (const p of w.needed) {
      if (this.running >= cfg.transfersConcurrentMax) break;
      if (w.done.has(p)) continue;
      const job = this.jobs.get(`in/${p}`);
      if (job && (job.state === 'running' || (job.state === 'failed' && this.now() - job.finishedAt < cfg.transferRetryMs))) continue;
      const sources = ix.current.preferenceList(p).primaries.filter((s) => s !== this.host.id && this.host.reachable(s));
      // Prefer a source that is leaving the partition (it has nothing else to do with it).
      const leaving = sources.filter((s) => !ix.next!.preferenceList(p).primaries.includes(s));
      const ordered = [...leaving, ...sources.filter((s) => !leaving.includes(s))];
      // After a failure, rotate to the next source (a dead or partitioned one is skipped).
      const attempt = this.attempts.get(p) ?? 0;
      const from = ordered.length === 0 ? undefined : ordered[attempt % ordered.length];
      if (from === undefined) {
        this.setJob(p, 'in', '-', 'waiting');
        continue;
      }
      this.running++;
      void this.pull(p, from, w).finally(() => {
        this.running--;
        // Chain straight into the next partition rather than waiting for the next tick.
        if (!this.stopped) this.pullTick();
      });
    }
  }

  private async pull(p: number, from: string, w: { version: number; done: Set<number> }): Promise<void> {
    const job = this.setJob(p, 'in', from, 'running');
    try {
      let after = await this.loadProgress(p, w.version);
      if (after === true) {
        job.state = 'done';
        w.done.add(p);
        return;
      }
      for (;;) {
        if (this.stopped || this.working !== w) throw new ShoalError('CLOSED', 'transfer superseded');
        const want = await this.tokens(cfg.transferBatchKeys);
        const answer = await this.host.request(from, { t: 'xfer_pull', p, after, limit: want }, cfg.transferRequestTimeoutMs);
        if (answer.t !== 'xfer_batch') throw new ShoalError('INTERNAL', `unexpected answer ${answer.t} to xfer_pull`);
        job.keysTotal = answer.total;
        // A page's keys are distinct: merged together they share one group commit (the
        // store batches the updates of a turn) instead of one engine write, and one wait
        // for it, per key. A failure fails the page, but only once all its merges are over
        // (so a retry never overlaps them); the retry starts from the saved progress, and
        // merging a key again changes nothing.
        const merged = await Promise.allSettled(answer.items.map(([key, o]) => this.host.merge(p, key, vc.fromWire(o))));
        const failed = merged.find((r) => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        job.keysDone += answer.items.length;
        for (const [, o] of answer.items) job.bytesDone += approxBytes(o);
        if (answer.items.length < want) this.bucket.refund(want - answer.items.length);
        const last = answer.items[answer.items.length - 1];
        if (last) after = last[0];
        if (!answer.more) break;
        await this.saveProgress(p, w.version, after, false);
      }
      await this.saveProgress(p, w.version, after, true);
      job.state = 'done';
      job.finishedAt = this.now();
      w.done.add(p);
      this.host.log('transfer_done', { partition: p, from, keys: job.keysDone, bytes: job.bytesDone });
    } catch (err) {
      job.state = 'failed';
      job.finishedAt = this.now();
      job.error = err instanceof Error ? err.message : String(err);
      this.attempts.set(p, (this.attempts.get(p) ?? 0) + 1);
      this.host.log('transfer_failed', { partition: p, from, err }, 'warn');
    }
  }

  private async tokens(want: number): Promise<number> {
    for (;;) {
      const got = this.bucket.take(want, this.now());
      if (got > 0) return got;
      await new Promise<void>((resolve) => this.host.env.timers.setTimeout(resolve, cfg.transferThrottleWaitMs));
    }
  }

  private async loadProgress(p: number, version: number): Promise<string | null | true> {
    const raw = await this.host.store.getMeta(`xfer.${p}`);
    if (!raw) return null;
    try {
      const rec = JSON.parse(textDecoder.decode(raw)) as { v: number; after: string | null; done: boolean };
      if (rec.v !== version) return null;
      return rec.done ? true : rec.after;
    } catch {
      return null;
    }
  }

  private saveProgress(p: number, version: number, after: string | null, done: boolean): Promise<void> {
    return this.host.store.putMeta(`xfer.${p}`, textEncoder.encode(JSON.stringify({ v: version, after, done })));
  }

  /** Source side of a pull: the next batch of a partition in key order, bounded in keys and bytes. */
  async serve(p: number, after: string | null, limit: number): Promise<PeerMessage> {
    const rows = await this.host.store.scan(p, after === null ? { limit: Math.min(limit, cfg.transferBatchKeys) } : { after, limit: Math.min(limit, cfg.transferBatchKeys) });
    const items: TransferItem[] = [];
    let bytes = 0;
    for (const [key, obj] of rows) {
      const o = vc.toWire(obj);
      const size = approxBytes(o) + key.length;
      if (items.length > 0 && bytes + size > cfg.transferBatchBytesMax) break;
      items.push([key, o]);
      bytes += size;
    }
    const more = items.length < rows.length || rows.length >= Math.min(limit, cfg.transferBatchKeys);
    return { t: 'xfer_batch', items, more, total: after === null ? await this.count(p) : (this.totals.get(p)?.count ?? 0) };
  }

  private async count(p: number): Promise<number> {
    const cachedTotal = this.totals.get(p);
    if (cachedTotal && this.now() - cachedTotal.at < cfg.transferCountCacheMs) return cachedTotal.count;
    let count = 0;
    for await (const chunk of this.host.store.partitionKeyChunks(p)) count += chunk.length;
    this.totals.set(p, { count, at: this.now() });
    return count;
  }

  // ------------------------------------------------------------------ outbound sweep

  /** Hands off every partition this node holds keys of without replicating it. */
  private async sweep(): Promise<void> {
    const ix = this.indexes();
    if (!ix) return;
    for (let p = 0; p < ix.ring.partitions && !this.stopped; p++) {
      if (this.replicates(p)) continue;
      const probe = await this.host.store.scan(p, { limit: 1 });
      if (probe.length === 0) continue;
      const targets = ix.current.preferenceList(p).primaries.filter((t) => t !== this.host.id);
      if (targets.length === 0 || !targets.every((t) => this.host.reachable(t))) {
        this.setJob(p, 'out', targets.join(','), 'waiting');
        continue;
      }
      await this.handoff(p, targets);
    }
  }

  private async handoff(p: number, targets: string[]): Promise<void> {
    const job = this.setJob(p, 'out', targets.join(','), 'running');
    job.keysTotal = await this.count(p);
    try {
      let after: string | undefined;
      for (;;) {
        if (this.stopped || this.replicates(p)) return;
        const want = await this.tokens(cfg.transferBatchKeys);
        const rows = await this.host.store.scan(p, after === undefined ? { limit: want } : { after, limit: want });
        if (rows.length < want) this.bucket.refund(want - rows.length);
        if (rows.length === 0) break;
        const items: TransferItem[] = rows.map(([k, o]) => [k, vc.toWire(o)]);
        await Promise.all(targets.map((t) => this.host.request(t, { t: 'xfer_push', p, items }, cfg.transferRequestTimeoutMs)));
        for (const [key, pushed] of rows) {
          await this.host.removeIfEqual(p, key, pushed);
          job.keysDone++;
        }
        job.bytesDone += items.reduce((n, [, o]) => n + approxBytes(o), 0);
        after = rows[rows.length - 1]![0];
      }
      job.state = 'done';
      job.finishedAt = this.now();
      this.totals.delete(p);
      this.host.log('handoff_done', { partition: p, to: targets, keys: job.keysDone });
    } catch (err) {
      job.state = 'failed';
      job.finishedAt = this.now();
      job.error = err instanceof Error ? err.message : String(err);
      this.host.log('handoff_failed', { partition: p, to: targets, err }, 'warn');
    }
  }

  /** Whether this node still holds keys of partitions it does not replicate (a leave waits for none). */
  async holdsForeignData(): Promise<boolean> {
    const ix = this.indexes();
    if (!ix) return false;
    for (let p = 0; p < ix.ring.partitions; p++) {
      if (this.replicates(p)) continue;
      if ((await this.host.store.scan(p, { limit: 1 })).length > 0) return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ views

  private now(): number {
    return this.host.env.clock.monotonic();
  }

  private setJob(p: number, direction: 'in' | 'out', peer: string, state: Job['state']): Job {
    const id = `${direction}/${p}`;
    let job = this.jobs.get(id);
    if (!job || job.state === 'done' || job.state === 'failed' || job.peer !== peer) {
      if (this.jobs.size >= cfg.transferJobsShownMax) this.evictFinished();
      job = { partition: p, direction, peer, state, keysDone: 0, keysTotal: null, bytesDone: 0, startedAt: this.now(), finishedAt: 0 };
      this.jobs.set(id, job);
    }
    job.state = state;
    return job;
  }

  private evictFinished(): void {
    let oldest: [string, Job] | undefined;
    for (const entry of this.jobs) if (entry[1].state === 'done' && (!oldest || entry[1].finishedAt < oldest[1].finishedAt)) oldest = entry;
    if (oldest) this.jobs.delete(oldest[0]);
    else {
      const first = this.jobs.keys().next();
      if (!first.done) this.jobs.delete(first.value);
    }
  }

  /** Transfers running or finished recently, for /v1/status. */
  view(): TransferView[] {
    const now = this.now();
    const out: TransferView[] = [];
    for (const job of this.jobs.values()) {
      if (job.state === 'done' && now - job.finishedAt > cfg.transferShowDoneMs) continue;
      const elapsed = Math.max(1, (job.state === 'running' ? now : job.finishedAt || now) - job.startedAt) / 1000;
      const rate = job.keysDone / elapsed;
      const left = job.keysTotal === null ? null : Math.max(0, job.keysTotal - job.keysDone);
      const eta = job.state !== 'running' || left === null || rate <= 0 ? null : Math.ceil(left / rate);
      out.push({
        partition: job.partition,
        direction: job.direction,
        peer: job.peer,
        from: job.direction === 'in' ? job.peer : this.host.id,
        to: job.direction === 'in' ? this.host.id : job.peer,
        keysSent: job.keysDone,
        etaMs: eta === null ? null : eta * 1000,
        startedAgoMs: Math.round(now - job.startedAt),
        state: job.state,
        keysDone: job.keysDone,
        keysTotal: job.keysTotal,
        bytesDone: job.bytesDone,
        rateKeysPerSecond: Math.round(rate),
        etaSeconds: eta,
        ...(job.error ? { error: job.error } : {}),
      });
    }
    return out.sort((a, b) => a.partition - b.partition || (a.direction < b.direction ? -1 : 1));
  }

  /** Summary for the ring: is a change pending, and which partitions this node still pulls. */
  pendingSummary(): { version: number; needed: number; done: number } | null {
    const w = this.working;
    return w ? { version: w.version, needed: w.needed.length, done: w.done.size } : null;
  }
}

function approxBytes(o: { e: Array<[string, number, number, Array<[Uint8Array | null, number]>]> }): number {
  let n = 16;
  for (const [id, , , values] of o.e) {
    n += id.length + 16;
    for (const [v] of values) n += (v?.byteLength ?? 0) + 12;
  }
  return n;
}
