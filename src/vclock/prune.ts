/**
 * Pruning by size and age, after Riak's vclock:prune/3 (small/big/young/old), restricted
 * to entries that hold no values: removing an entry with values would lose those values,
 * while removing a value-free entry only forgets that some superseded events happened
 * (a stale replica may later bring such a value back as a false sibling; nothing is lost).
 */
import { vclockBigMax, vclockOldMs, vclockSmallMax, vclockYoungMs } from '../config/index.js';
import { compareIds } from './dvvset.js';
import type { DVVSet, Entry } from './types.js';

export interface PruneOptions {
  /** Never prune below or at this many entries. Default vclockSmallMax. */
  readonly smallMax?: number;
  /** Prune old-enough entries while there are more than this many. Default vclockBigMax. */
  readonly bigMax?: number;
  /** Entries whose ts is at most this old (ms) are never pruned. Default vclockYoungMs. */
  readonly youngMs?: number;
  /** Entries older than this (ms) are pruned whenever there are more than smallMax. Default vclockOldMs. */
  readonly oldMs?: number;
  /**
   * Ids never pruned. A replica must pass its own actor id here: if it forgot its own
   * counter, its next update would reuse a dot another replica already knows as
   * superseded, and sync would then drop the new value.
   */
  readonly keep?: readonly string[];
}

/**
 * The rule, applied to candidates (value-free entries not in `keep`) oldest first, by
 * (ts, id); `count` is the number of entries in the whole clock:
 *
 *   while count > smallMax and the oldest candidate's age > youngMs
 *         and (count > bigMax or its age > oldMs):  remove it.
 *
 * Age is `now - ts`; a ts in the future (clock skew) counts as young. The result depends
 * only on (c, now, opts), so replicas that prune the same state at the same `now` agree.
 */
export function prune(c: DVVSet, now: number, opts: PruneOptions = {}): DVVSet {
  const smallMax = opts.smallMax ?? vclockSmallMax;
  const bigMax = opts.bigMax ?? vclockBigMax;
  const youngMs = opts.youngMs ?? vclockYoungMs;
  const oldMs = opts.oldMs ?? vclockOldMs;
  if (c.entries.length <= smallMax) return c;
  const keep = new Set(opts.keep ?? []);
  const candidates = c.entries
    .filter((e) => e.values.length === 0 && !keep.has(e.id))
    .sort((x, y) => (x.ts !== y.ts ? (x.ts < y.ts ? -1 : 1) : compareIds(x.id, y.id)));
  let count = c.entries.length;
  const removed = new Set<string>();
  for (const e of candidates) {
    const age = now - e.ts;
    if (count <= smallMax || age <= youngMs) break;
    if (!(count > bigMax || age > oldMs)) break;
    removed.add(e.id);
    count--;
  }
  if (removed.size === 0) return c;
  return { entries: c.entries.filter((e: Entry) => !removed.has(e.id)), anon: c.anon };
}
