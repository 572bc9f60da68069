/**
 * Types of the ring: Q fixed, equal partitions of a 64-bit hash space; partition `p`
 * covers hashes whose top log2(Q) bits equal `p`. Partitions move between nodes as
 * whole units.
 */

export interface RingState {
  /** Number of partitions (a power of two). */
  readonly partitions: number;
  /** Owner (node id) of each partition, index = partition id; length = partitions. */
  readonly owners: readonly string[];
  /**
   * Version of this ring; a node adopts a gossiped ring only when its version is higher
   * (ties broken by `claimant`), so all nodes converge on the same owners.
   */
  readonly version: number;
  /** Node that computed this version. */
  readonly claimant: string;
  /**
   * Pending owners during a membership change (length = partitions), or absent when the
   * ring is settled. Requests are served by `owners`; writes also go to the pending
   * owners; the nodes that gain partitions pull them, and once every one of them is ready
   * the claimant makes `next` the new `owners` (Riak's ring "next" list).
   */
  readonly next?: readonly string[];
}

export interface PreferenceList {
  /** The N distinct primary owners, in preference order (partition owner first, then walking the ring). */
  readonly primaries: readonly string[];
  /** Every other member in ring order after the primaries: the sloppy-quorum fallbacks. */
  readonly fallbacks: readonly string[];
}
