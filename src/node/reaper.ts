/**
 * # Tombstone reaping: deletes that stay deleted, and do not stay forever
 *
 * A delete writes a tombstone carrying the causal context of what it deleted. Removing
 * that tombstone too early is how deleted keys come back: a replica that missed the
 * delete, a hint or a fallback copy still holding the old value, would later hand the
 * value to replicas that no longer remember it was deleted. So a tombstone is removed
 * only when this node can confirm, by asking, that nothing can bring the value back:
 *
 * 1. the tombstone is older than the grace period by its timestamp;
 * 2. the ring is settled (no transfer under way) and every member is up in our view;
 * 3. every member reports no pending hints and no copy of the partition it does not
 *    replicate (fallback copies not yet handed off);
 * 4. every primary of the key holds exactly the same tombstone (same causal context),
 *    and did so already at a check at least the grace period earlier, by this node's
 *    own monotonic clock.
 *
 * Only then does the key's first primary ask the others to remove it, each removing
 * only if its copy is still that tombstone (a conditional removal in key order with
 * other writes). A timer alone never removes anything. If a primary misses the removal,
 * its tombstone is harmless and comes up for reaping again. A key written again after
 * reaping gets fresh per-key actor ids (actors.ts), so old dots are never reused.
 *
 * Why the second half of 4. Writes carry snapshots: a read repair writes the merge of
 * replies it gathered (readRepairMaxAgeMs at most), an anti-entropy repair the versions
 * its exchange read, a coordinator's replica write the version it made. One that misses
 * the delete merges harmlessly into a replica holding the tombstone, but recreates the
 * old version on a replica that has removed it. Such a snapshot was taken before every
 * primary held the tombstone, so before the first agreeing check; waiting the grace from
 * that check lets it land first. Condition 1 alone compares the delete's timestamp (the
 * coordinator's wall clock) with this node's wall clock, so clock skew between them
 * shortened the wait: the simulator found a delete reaped 1.7 s after it was written
 * (grace 2.6 s, clocks 7.7 s apart) and a read repair of an older tombstone landing after
 * it (seed 181254). The grace must outlast those snapshots' age plus their delivery.
 */
import * as cfg from '../config/index.js';
import * as vc from '../vclock/index.js';
import type { DVVSet } from '../vclock/types.js';
import type { NodeServices } from './services.js';

export interface ReaperHost extends Omit<NodeServices, 'reachable' | 'merge'> {
  readonly graceMs: number;
  /** Every member (this node included) when all are up and the ring is settled; undefined otherwise. */
  quietMembers(): string[] | undefined;
  /** The partition's primaries in preference order. */
  primaries(partition: number): readonly string[];
  /** Whether this node holds keys of `partition` without replicating it, or has hints pending. */
  unsettled(partition: number): Promise<number>;
  /** Removes the key if its copy is still a tombstone with exactly this context; true when removed. */
  removeTombstone(partition: number, key: string, context: string): Promise<boolean>;
}

export class Reaper {
  private partition = 0;
  private after: string | undefined;
  private running = false;
  private stopped = false;
  /** Key -> the tombstone (context) every primary held at a check, and when (monotonic ms), oldest first; at most reapAgreedKeysMax. */
  private readonly agreed = new Map<string, { context: string; at: number }>();
  reaped = 0;

  constructor(private readonly host: ReaperHost) {}

  stop(): void {
    this.stopped = true;
  }

  tick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.round()
      .catch((err) => this.host.log('reap_failed', { err }, 'warn'))
      .finally(() => {
        this.running = false;
      });
  }

  /** One round: up to reapScanKeysMax keys, over the partitions this node is the first primary of, from where the last round stopped. */
  private async round(): Promise<void> {
    const members = this.host.quietMembers();
    if (!members) return;
    let budget = cfg.reapScanKeysMax;
    for (let visited = 0; visited < this.host.partitions && budget > 0 && !this.stopped; ) {
      const p = this.partition;
      const primaries = this.host.primaries(p);
      if (primaries[0] !== this.host.id) {
        this.next();
        visited++;
        continue;
      }
      const before = this.partition;
      budget -= await this.scan(p, primaries, members, budget);
      if (this.partition !== before) visited++;
    }
  }

  private next(): void {
    this.partition = (this.partition + 1) % this.host.partitions;
    this.after = undefined;
  }

  /** Scans up to `limit` keys of partition `p` from the cursor and reaps what it can; returns the keys read (at least 1, so a round ends). */
  private async scan(p: number, primaries: readonly string[], members: string[], limit: number): Promise<number> {
    const rows = await this.host.store.scan(p, this.after === undefined ? { limit, skipCorrupt: true } : { after: this.after, limit, skipCorrupt: true });
    if (rows.length < limit) this.next();
    else this.after = rows[rows.length - 1]![0];
    await this.reap(p, primaries, members, rows);
    return Math.max(1, rows.length);
  }

  private async reap(p: number, primaries: readonly string[], members: string[], rows: Array<[string, DVVSet]>): Promise<void> {
    const wall = this.host.env.clock.now();
    const candidates = rows.filter(([, obj]) => vc.isTombstone(obj) && newestTs(obj) + this.host.graceMs <= wall).slice(0, cfg.reapBatchMax);
    if (candidates.length === 0) return;
    // 3. Nobody holds hints or stray copies that could bring a value back.
    for (const m of members) {
      const n = m === this.host.id ? await this.host.unsettled(p) : await this.ask(m, p);
      if (n !== 0) return;
    }
    for (const [key, obj] of candidates) {
      if (this.stopped) return;
      const context = vc.encodeContext(vc.join(obj));
      // 4. Every primary holds the same tombstone.
      let agreed = true;
      for (const peer of primaries) {
        if (peer === this.host.id) continue;
        const answer = await this.host.request(peer, { t: 'rget', p, k: key }, cfg.reapRequestTimeoutMs).catch(() => undefined);
        const remote = answer?.t === 'rget_ok' && answer.o ? vc.fromWire(answer.o) : undefined;
        if (!remote || !vc.isTombstone(remote) || vc.encodeContext(vc.join(remote)) !== context) {
          agreed = false;
          break;
        }
      }
      const now = this.host.env.clock.monotonic();
      const since = this.agreed.get(key);
      if (!agreed || since === undefined || since.context !== context) {
        this.agreed.delete(key);
        if (agreed) this.remember(key, context, now);
        continue;
      }
      if (now - since.at < this.host.graceMs) continue;
      this.agreed.delete(key);
      for (const peer of primaries) {
        if (peer === this.host.id) continue;
        await this.host.request(peer, { t: 'reap', p, k: key, ctx: context }, cfg.reapRequestTimeoutMs).catch(() => undefined);
      }
      if (await this.host.removeTombstone(p, key, context)) this.reaped++;
    }
  }

  private remember(key: string, context: string, at: number): void {
    this.agreed.set(key, { context, at });
    if (this.agreed.size > cfg.reapAgreedKeysMax) {
      const oldest = this.agreed.keys().next();
      if (!oldest.done) this.agreed.delete(oldest.value);
    }
  }

  /** Keys whose tombstone every primary held at a check and that wait out the grace from it (for tests). */
  get waiting(): number {
    return this.agreed.size;
  }

  private async ask(member: string, p: number): Promise<number> {
    try {
      const answer = await this.host.request(member, { t: 'hint_count', p }, cfg.reapRequestTimeoutMs);
      return answer.t === 'hint_count_ok' ? answer.n : 1;
    } catch {
      return 1;
    }
  }
}

function newestTs(obj: DVVSet): number {
  let ts = 0;
  for (const s of vc.siblings(obj)) if (s.ts > ts) ts = s.ts;
  return ts;
}
