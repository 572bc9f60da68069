/**
 * The core dvvset operations: fresh, update, sync, discard, join and the comparisons.
 * Pure functions over immutable values; every result is canonical (entries sorted by id,
 * ids unique, counters >= 1, anonymous values sorted and deduplicated), so two states with
 * the same contents are structurally equal and `equals` can compare them field by field.
 */
import { assert } from '../errors/index.js';
import type { DVVSet, Entry, Sibling, VersionVector } from './types.js';

/** Orders actor ids by UTF-16 code units (JS `<`), the order types.ts promises. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Byte-wise order of sibling contents: tombstones first, then bytes, then length. */
function compareValues(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Canonical order of anonymous siblings (they have no dot): by ts, then by content. */
export function compareSiblings(a: Sibling, b: Sibling): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return compareValues(a.value, b.value);
}

export function siblingEquals(a: Sibling, b: Sibling): boolean {
  return a.ts === b.ts && compareValues(a.value, b.value) === 0;
}

/** Sorts and deduplicates anonymous siblings, so their order never depends on merge order. */
export function canonicalAnon(anon: readonly Sibling[]): readonly Sibling[] {
  if (anon.length <= 1) return anon;
  const sorted = [...anon].sort(compareSiblings);
  const out: Sibling[] = [sorted[0] as Sibling];
  for (let i = 1; i < sorted.length; i++) {
    const s = sorted[i] as Sibling;
    if (!siblingEquals(s, out[out.length - 1] as Sibling)) out.push(s);
  }
  return out;
}

function isCounter(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

/**
 * A vector in canonical form: sorted by id, one pair per id (the largest counter wins).
 * Callers hand us vectors from decodeContext or join, which are canonical already; this
 * only guards against hand-built ones. A counter below 1 is a bug, not bad input.
 */
function canonicalVector(vv: VersionVector): VersionVector {
  let sorted = true;
  for (let i = 0; i < vv.length; i++) {
    const pair = vv[i] as readonly [string, number];
    assert(isCounter(pair[1]), `version vector counter for ${JSON.stringify(pair[0])} must be a positive integer`);
    if (i > 0 && compareIds((vv[i - 1] as readonly [string, number])[0], pair[0]) >= 0) sorted = false;
  }
  if (sorted) return vv;
  const out: Array<readonly [string, number]> = [];
  for (const pair of [...vv].sort((x, y) => compareIds(x[0], y[0]))) {
    const last = out[out.length - 1];
    if (last !== undefined && last[0] === pair[0]) out[out.length - 1] = [pair[0], Math.max(last[1], pair[1])];
    else out.push(pair);
  }
  return out;
}

export function empty(): DVVSet {
  return { entries: [], anon: [] };
}

/**
 * A client's proposed write (dvvset:new/2): the context as entries without values and the
 * new value in `anon`, waiting for a replica to give it a dot. The context entries carry the
 * write's own ts: the context itself has no times, and an actor's true last event is at
 * most this recent, so a replica that learns the actor only from this context will not
 * prune it earlier than it should.
 */
export function fresh(context: VersionVector, sibling: Sibling): DVVSet {
  const entries = canonicalVector(context).map(([id, n]): Entry => ({ id, n, values: [], ts: sibling.ts }));
  return { entries, anon: [sibling] };
}

/**
 * Drops from `entries` every value whose dot the context covers, and raises each counter
 * to the context's (the replica has now learned those events happened). Values of an
 * entry are its newest dots, so "drop the covered ones" is a prefix cut: of n values,
 * the first n - m survive. Ids only in the context become value-free entries with `ts`.
 */
function discardEntries(entries: readonly Entry[], context: VersionVector, tsOf: (id: string) => number): Entry[] {
  const out: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < entries.length || j < context.length) {
    const e = entries[i];
    const c = context[j];
    const order = e === undefined ? 1 : c === undefined ? -1 : compareIds(e.id, c[0]);
    if (order < 0) {
      out.push(e as Entry);
      i++;
    } else if (order > 0) {
      const [id, n] = c as readonly [string, number];
      out.push({ id, n, values: [], ts: tsOf(id) });
      j++;
    } else {
      const entry = e as Entry;
      const m = (c as readonly [string, number])[1];
      if (m <= entry.n - entry.values.length) {
        out.push(entry); // the context covers nothing this entry still holds
      } else {
        const keep = Math.max(0, entry.n - m);
        out.push({ id: entry.id, n: Math.max(entry.n, m), values: entry.values.slice(0, keep), ts: entry.ts });
      }
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Adds one event of `actor` carrying `value`: its dot is (actor, n + 1) where n is the
 * highest counter of that actor this state knows, so a replica that keeps its own entry
 * never issues the same dot twice. The entry's ts becomes `now` (kept monotone).
 */
function event(entries: readonly Entry[], actor: string, value: Sibling, now: number): Entry[] {
  const out: Entry[] = [];
  let done = false;
  for (const e of entries) {
    if (!done) {
      const order = compareIds(e.id, actor);
      if (order === 0) {
        out.push({ id: actor, n: e.n + 1, values: [value, ...e.values], ts: Math.max(e.ts, now) });
        done = true;
        continue;
      }
      if (order > 0) {
        out.push({ id: actor, n: 1, values: [value], ts: now });
        done = true;
      }
    }
    out.push(e);
  }
  if (!done) out.push({ id: actor, n: 1, values: [value], ts: now });
  return out;
}

/**
 * A replica applies a client's proposal (dvvset:update/3): values of `local` that the
 * proposal's context covers are discarded, and the proposal's one value becomes a new
 * event of `actor`. Values of `local` the context does not cover stay as siblings.
 * `actor` must be this replica's own id, so dots stay unique.
 */
export function update(proposal: DVVSet, local: DVVSet, actor: string, now: number): DVVSet {
  assert(proposal.anon.length === 1, `a proposal carries exactly one new value, got ${proposal.anon.length}`);
  assert(actor.length > 0, 'actor id must not be empty');
  const value = proposal.anon[0] as Sibling;
  const proposalTs = new Map(proposal.entries.map((e) => [e.id, e.ts]));
  const discarded = discardEntries(local.entries, join(proposal), (id) => proposalTs.get(id) ?? value.ts);
  return { entries: event(discarded, actor, value, now), anon: local.anon };
}

/**
 * Merges two entries of the same actor (dvvset's merge/5). Each side has seen events
 * 1..n and still holds values for its newest `values.length` of them; an event one side
 * has seen but no longer holds was superseded there, so it is dropped from the result.
 * A value survives iff its dot is above both sides' "forgotten" marks.
 */
function mergeEntry(x: Entry, y: Entry): Entry {
  const hi = x.n >= y.n ? x : y;
  const forgotten = Math.max(x.n - x.values.length, y.n - y.values.length);
  const keep = hi.n - forgotten;
  return {
    id: hi.id,
    n: hi.n,
    values: keep === hi.values.length ? hi.values : hi.values.slice(0, keep),
    ts: Math.max(x.ts, y.ts),
  };
}

/**
 * Merges two replicas' states (dvvset:sync/2). Commutative, associative and idempotent,
 * with canonical output. Anonymous values (only ever in proposals) are unioned: without a
 * dot there is no history to say one supersedes another.
 */
export function sync(a: DVVSet, b: DVVSet): DVVSet {
  const entries: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.entries.length || j < b.entries.length) {
    const x = a.entries[i];
    const y = b.entries[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareIds(x.id, y.id);
    if (order < 0) {
      entries.push(x as Entry);
      i++;
    } else if (order > 0) {
      entries.push(y as Entry);
      j++;
    } else {
      entries.push(mergeEntry(x as Entry, y as Entry));
      i++;
      j++;
    }
  }
  const anon = a.anon.length === 0 ? b.anon : b.anon.length === 0 ? a.anon : canonicalAnon([...a.anon, ...b.anon]);
  return { entries, anon };
}

/**
 * The context of a write just made (what its writer has seen): the proposal's context
 * plus the write's own dot, (actor, n) as `after` holds it. Not join(after): that would
 * also cover concurrent siblings the writer never saw, and a later write with it would
 * drop them. Exact when n is one more than the context's counter for `actor`, which is
 * how the node picks the actor (src/node/actors.ts: it reuses one only when the context
 * has seen all of its events).
 */
export function writtenContext(context: VersionVector, after: DVVSet, actor: string): VersionVector {
  return joinVectors(canonicalVector(context), [[actor, after.entries.find((e) => e.id === actor)?.n ?? 0]]);
}

/** Every actor's higher counter of two canonical vectors (what a reader of both has seen). */
export function joinVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out: Array<readonly [string, number]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareIds(x[0], y[0]);
    if (order < 0) {
      out.push(x!);
      i++;
    } else if (order > 0) {
      out.push(y!);
      j++;
    } else {
      out.push([x![0], Math.max(x![1], y![1])]);
      i++;
      j++;
    }
  }
  return out;
}

/** The causal context a reader gets (dvvset:join/1): every actor's highest counter. */
export function join(c: DVVSet): VersionVector {
  return c.entries.map((e) => [e.id, e.n] as const);
}

/**
 * Drops the values `context` covers and adds the context to the history (dvvset:discard/2):
 * the result says "these events happened and their values are superseded". Ids only in the
 * context get ts 0 (age unknown), so pruning may drop them first once they hold nothing.
 */
export function discard(c: DVVSet, context: VersionVector): DVVSet {
  return { entries: discardEntries(c.entries, canonicalVector(context), () => 0), anon: c.anon };
}

/** A value with its dot. */
export interface DottedSibling {
  readonly id: string;
  readonly n: number;
  readonly sibling: Sibling;
}

/** Every dotted value, ordered by dot (actor id, then counter ascending). */
export function dottedSiblings(c: DVVSet): DottedSibling[] {
  const out: DottedSibling[] = [];
  for (const e of c.entries) {
    for (let k = e.values.length - 1; k >= 0; k--) out.push({ id: e.id, n: e.n - k, sibling: e.values[k] as Sibling });
  }
  return out;
}

/** All values, tombstones included: dotted ones by dot (actor id, counter), then anonymous ones in canonical order. */
export function siblings(c: DVVSet): Sibling[] {
  const out = dottedSiblings(c).map((d) => d.sibling);
  for (const s of c.anon) out.push(s);
  return out;
}

/** The non-tombstone values, in the order of `siblings`. */
export function liveSiblings(c: DVVSet): Sibling[] {
  return siblings(c).filter((s) => s.value !== null);
}

export function siblingCount(c: DVVSet): number {
  let count = c.anon.length;
  for (const e of c.entries) count += e.values.length;
  return count;
}

/** Total value bytes over all siblings (tombstones count 0). */
export function siblingBytes(c: DVVSet): number {
  let bytes = 0;
  for (const s of siblings(c)) bytes += s.value?.length ?? 0;
  return bytes;
}

/** True when there is at least one sibling and every sibling is a tombstone. */
export function isTombstone(c: DVVSet): boolean {
  let any = false;
  for (const s of siblings(c)) {
    if (s.value !== null) return false;
    any = true;
  }
  return any;
}

/** Structural equality, ts included. Canonical form makes this the same as equality of contents. */
export function equals(a: DVVSet, b: DVVSet): boolean {
  if (a.entries.length !== b.entries.length || a.anon.length !== b.anon.length) return false;
  for (let i = 0; i < a.entries.length; i++) {
    const x = a.entries[i] as Entry;
    const y = b.entries[i] as Entry;
    if (x.id !== y.id || x.n !== y.n || x.ts !== y.ts || x.values.length !== y.values.length) return false;
    for (let k = 0; k < x.values.length; k++) {
      if (!siblingEquals(x.values[k] as Sibling, y.values[k] as Sibling)) return false;
    }
  }
  for (let i = 0; i < a.anon.length; i++) {
    if (!siblingEquals(a.anon[i] as Sibling, b.anon[i] as Sibling)) return false;
  }
  return true;
}

/** Whether vector `a` has seen everything `b` has (pointwise a >= b). */
export function descends(a: VersionVector, b: VersionVector): boolean {
  const seen = new Map<string, number>();
  for (const [id, n] of a) seen.set(id, Math.max(n, seen.get(id) ?? 0));
  for (const [id, n] of b) {
    if ((seen.get(id) ?? 0) < n) return false;
  }
  return true;
}

/**
 * Whether a's causal history is contained in b's: every event a has seen, b has seen.
 * Between states of one key (whose dots are unique) this means sync(a, b) holds exactly
 * b's values, so read repair need not send anything to a replica whose state is >= the
 * merged one. Anonymous values carry no history and are ignored.
 */
export function lessOrEqual(a: DVVSet, b: DVVSet): boolean {
  let j = 0;
  for (const x of a.entries) {
    while (j < b.entries.length && compareIds((b.entries[j] as Entry).id, x.id) < 0) j++;
    const y = b.entries[j];
    if (y === undefined || y.id !== x.id || y.n < x.n) return false;
  }
  return true;
}

/**
 * Whether two copies of a key hold the same versions: each has seen every dot the other
 * has (and so, dots being unique, holds the same values). Read repair compares with
 * this, not `equals`, whose per-entry timestamps are local bookkeeping that may differ
 * between replicas holding the same versions (each such pair used to cost one needless
 * repair write).
 */
export function sameVersions(a: DVVSet, b: DVVSet): boolean {
  return a.anon.length === b.anon.length && lessOrEqual(a, b) && lessOrEqual(b, a);
}
