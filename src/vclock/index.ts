/**
 * Dotted version vector sets: how Shoal knows which versions of a key supersede which.
 *
 * The problem. Any replica may accept a write at any time, so one key can have several
 * versions, and a store must tell "this version was written after reading that one" (keep
 * only the newer) from "these were written without seeing each other" (keep both, as
 * siblings). A plain version vector per object does this only if every *client* is an
 * actor, which grows clocks without bound; a vector per replica, bumped by the replica
 * that takes the write, cannot tell two concurrent writes through the same replica apart
 * and either loses one or, with Riak's old fix, explodes into siblings.
 *
 * The idea (Almeida, Baquero et al., "Scalable and Accurate Causality Tracking for
 * Eventually Consistent Stores", 2014; Riak's dvvset.erl). Give every *value* its own dot,
 * a pair (replica actor, counter), and keep one compact causal history for the whole key.
 * A DVVSet is a list of entries (id, n, values): actor `id` has issued events 1..n for this
 * key, and its newest values.length events still hold live values, newest first, so
 * values[i] has dot (id, n - i). Events at or below n - values.length happened and were
 * superseded. That values are always a suffix per actor is the key fact: contexts are
 * vectors, so a write whose context covers dot (a, k) also covers (a, 1..k-1).
 *
 * The operations.
 * - A reader gets join(c), one counter per actor, encoded as an opaque context token.
 * - A write is fresh(context, value), and the replica that takes it runs
 *   update(proposal, local, self, now): discard every local value whose dot the context
 *   covers, then add the value as the next event of `self`. Values the writer had not
 *   seen stay as siblings, so concurrent writes are all kept, and two clients doing
 *   read-modify-write cycles hold at most one sibling each however stale they are.
 * - Replicas exchange whole states with sync(a, b), per actor: keep the larger counter and
 *   a value only if neither side has seen-and-superseded its dot. sync is a join of a
 *   semilattice (commutative, associative, idempotent), and our states are canonical
 *   (sorted entries, sorted anonymous values), so replicas that saw the same events hold
 *   byte-identical states, which is what read repair and anti-entropy compare.
 * - lessOrEqual(a, b) asks whether b has seen every event a has: a replica whose state is
 *   >= the merged read result needs no repair.
 *
 * Limits. Clocks grow with the number of replicas that ever took a write for the key, so
 * prune(c, now) drops value-free entries by Riak's small/big/young/old rule; it never drops
 * an entry that holds a value (that would lose it) nor, via `keep`, the pruning replica's
 * own entry (that would make it reuse dots). Forgetting an entry can only cause a false
 * sibling later. Siblings are bounded where writes are accepted: the node refuses a
 * client write that would leave more than siblingsHardMax (src/node/node.ts); capSiblings
 * (a resolver merging them into one new event whose context covers them all) is kept for
 * clients and tools that choose to merge. Tokens and wire states are checked strictly on
 * the way in (ShoalError BAD_REQUEST and DECODE).
 *
 * How a replica uses this (actor `self` = its node id plus storage epoch):
 *   on a client write:  s = prune(update(fresh(ctx, v), local, self, now), now, { keep: [self] }),
 *                       refused if siblingCount(s) > siblingsHardMax; the answer's token is
 *                       encodeContext(writtenContext(ctx, s, self))
 *   on a peer's state:  s = prune(sync(local, theirs), now, { keep: [self] })
 *   on a read:          token = encodeContext(join(merged)), values = siblings(merged)
 * Dots stay unique only while each replica keeps its own entry for the key: a key whose
 * stored state is deleted (tombstone GC) restarts its counters, which is safe only once no
 * replica, hint or in-flight message still holds the old state.
 *
 * Everything here is pure, takes time as `now`, and is browser-safe (the SDK uses the
 * context functions).
 */
export type { DVVSet, Entry, Sibling, VersionVector } from './types.js';
export {
  empty,
  fresh,
  update,
  sync,
  join,
  writtenContext,
  joinVectors,
  discard,
  siblings,
  liveSiblings,
  dottedSiblings,
  isTombstone,
  siblingCount,
  siblingBytes,
  equals,
  lessOrEqual,
  sameVersions,
  descends,
  compareIds,
} from './dvvset.js';
export type { DottedSibling } from './dvvset.js';
export { prune } from './prune.js';
export type { PruneOptions } from './prune.js';
export { resolve, capSiblings, newestResolver, newestResolver as defaultResolver } from './resolve.js';
export type { Resolver } from './resolve.js';
export { encodeContext, decodeContext, readAnswer } from './context.js';
export { base64urlEncode, base64urlDecode } from './base64url.js';
export { toWire, fromWire } from './wire.js';
