/**
 * Resolvers and a sibling cap. A resolver turns a list of siblings into one: clients
 * resolve their own siblings on read, with the SDK's pluggable resolver. The node never
 * merges on its own (it refuses a write past siblingsHardMax instead, so that no
 * acknowledged write is dropped); capSiblings is for callers that choose to merge.
 */
import { assert } from '../errors/index.js';
import { fresh, join, siblingBytes, siblingCount, siblings, update } from './dvvset.js';
import type { DVVSet, Sibling } from './types.js';

/** Merges siblings (never empty, in `siblings()` order) into one. Must be deterministic. */
export type Resolver = (siblings: Sibling[]) => Sibling;

/**
 * The default resolver: the sibling with the newest ts wins (a tombstone can win, so a
 * recent delete stays a delete); on equal ts the later one in dot order wins, so every
 * replica picks the same sibling from the same state.
 */
export const newestResolver: Resolver = (list) => {
  assert(list.length > 0, 'a resolver needs at least one sibling');
  let best = list[0] as Sibling;
  for (const s of list) {
    if (s.ts >= best.ts) best = s;
  }
  return best;
};

/** Applies a resolver to a state's siblings; undefined when the state holds none. */
export function resolve(c: DVVSet, resolver: Resolver = newestResolver): Sibling | undefined {
  const list = siblings(c);
  return list.length === 0 ? undefined : resolver(list);
}

/**
 * The hard sibling cap. While `c` holds at most `hardMax` siblings (and, when `bytesMax` is
 * given, at most that many value bytes, or a single sibling) it is returned unchanged. Beyond, the resolver
 * merges all siblings into one, and that value is written as a new event of `actor` whose
 * context is join(c): its dot is (actor, highest counter of actor in c + 1), and because
 * the context covers every merged sibling's dot, the merged value supersedes all of them
 * on every replica it reaches, exactly like a client's read-resolve-write. `actor` must be
 * the calling replica's own id (as for update). Anonymous values are merged too.
 */
export function capSiblings(
  c: DVVSet,
  now: number,
  actor: string,
  resolver: Resolver,
  hardMax: number,
  bytesMax: number = Number.POSITIVE_INFINITY,
): DVVSet {
  const count = siblingCount(c);
  if (count <= hardMax && (count <= 1 || siblingBytes(c) <= bytesMax)) return c;
  const merged = resolver(siblings(c));
  return update(fresh(join(c), merged), { entries: c.entries, anon: [] }, actor, now);
}
