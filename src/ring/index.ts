/**
 * The ring: fixed-partition consistent hashing (Dynamo's strategy 3, riak_core's chash
 * plus claim). Pure and browser-safe: the SDK imports it to route keys.
 *
 * Keys. A key's 64-bit hash is XXH64 (seed 0) of its UTF-8 bytes (hash.ts says why),
 * and its partition is the top log2(Q) bits, Q a power of two fixed for the life of the
 * cluster. Partitions are equal slices of the hash space and move between nodes only as
 * whole units, so a membership change is a list of partition transfers (`diff`), never
 * a re-hash of keys. The hash is part of the on-disk contract and is pinned by tests.
 *
 * Placement. `claim` decides who owns each partition. Three properties matter:
 * balance (every member owns floor(Q/S) or ceil(Q/S) partitions), spacing (any N
 * consecutive partitions, circularly, sit on N distinct nodes, so the N primaries of a
 * key are its partition's owner and the next owners without skipping), and minimal
 * movement (a join or leave moves as little data as possible). They pull against each
 * other, so here is exactly what claim promises, with S the member count after the
 * change:
 *
 *   Feasibility. Balanced spacing exists iff ceil(Q/S) * N <= Q: a node owning c
 *   partitions needs c gaps of at least N around a circle of Q, and the column
 *   construction in claim.ts meets the bound. This implies S >= N; at S = N it needs N
 *   to divide Q, so with Q a power of two S = N = 3 or 5 is never spaceable (the wrap
 *   from partition Q-1 to 0 must break a period-3 pattern). S > N is not always enough
 *   either: Q = 8, N = 5, S = 6 gives ceil(8/6) * 5 = 10 > 8.
 *
 *   1. Balance always holds, after every claim.
 *   2. A fresh ring (no previous one) is spaced whenever that is feasible. Otherwise it
 *      is round-robin, whose only violations are the Q mod S pairs straddling the wrap;
 *      that is the minimum, since each node owning ceil(Q/S) must be in one.
 *   3. A join moves exactly floor(Q/(S+1)) partitions (S members before it), all to the
 *      new node: within the required 1.5 * Q/(S+1). Among all such choices claim looks
 *      for one that is spaced: it picks WHICH partitions the new node takes (each
 *      giver's conflicting partitions first, then evenly spread ones no closer than N to
 *      each other), then improves by a seeded local search. From a spaced ring with
 *      the result feasible, the result is spaced (property-tested over Q in 8..256,
 *      N in 1..5; we know no counter-example, but it is a search, not a proof), and a
 *      join never increases the number of violations.
 *   4. A leave moves only the leaver's partitions, each to a remaining node, keeping
 *      balance. From a spaced ring, the result is spaced if and only if some such
 *      assignment is: the leaver's partitions are pairwise N apart, so the question is a
 *      bipartite assignment with per-node bounds, decided exactly by max-flow. It often
 *      is not: in ABCABCAB (Q = 8, N = 2) C leaving leaves partition 2 between a B and
 *      an A, and only A or B may take it. Then movement wins over spacing, and the
 *      search minimises violations among the minimal-movement rings.
 *   5. Any other change (several members at once, a ring from elsewhere) moves the
 *      least possible: departed nodes' partitions, the excess of nodes above
 *      ceil(Q/S), and what nodes below floor(Q/S) lack; then the same search.
 *
 *   Why movement wins where the two conflict: restoring spacing after such a leave
 *   means re-striping most of the ring (riak_core's claim_v2 falls back to exactly
 *   that), moving a large share of all data for a cosmetic gain. Spacing is about load,
 *   not safety: preference lists skip repeated owners, so a key's N primaries are
 *   always N distinct nodes. The next join repairs violations when it can.
 *
 * Determinism. Every node that runs claim on the same (previous owners, member set, N)
 * gets the same owners: members are sorted by code unit, and the local search uses
 * SeededRandom seeded by a hash of those inputs. The result's version is the previous
 * version + 1 (or 1), and `compareRings` orders concurrent claims (version, then
 * claimant, then a hash of owners) so gossip converges on one of them.
 *
 * Preference lists. `preferenceList` walks clockwise from the key's partition: the
 * first N distinct owners are the primaries, every other owner, in the order first
 * met, is a fallback for sloppy quorums. `RingIndex` caches these per ring because the
 * coordinator needs one per request. Members that own no partition (only when S > Q)
 * do not appear, since the ring records owners, not members.
 */
export type { PreferenceList, RingState } from './types.js';
export { hashKey, hashBytes, hashUtf8Lo, partitionOf, partitionBits, validatePartitions } from './hash.js';
export { claim, compareIds, spacingFeasible, spacingViolations } from './claim.js';
export type { ClaimOptions } from './claim.js';
export { preferenceList, RingIndex } from './preference.js';
export { compareRings, diff, ownersHash } from './compare.js';
export type { Transfer } from './compare.js';
