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
}

export interface PreferenceList {
  /** The N distinct primary owners, in preference order (partition owner first, then walking the ring). */
  readonly primaries: readonly string[];
  /** Every other member in ring order after the primaries: the sloppy-quorum fallbacks. */
  readonly fallbacks: readonly string[];
}
