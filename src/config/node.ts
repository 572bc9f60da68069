/**
 * Node driver defaults (src/node).
 */

/** How often the driver ticks the gossip state machine, ms. Probe and gossip periods are multiples of it. */
export const nodeTickMs = 100;
/** First wait before dialing the seeds again when none answered, ms (doubles up to the max). */
export const seedRetryMs = 500;
export const seedRetryMaxMs = 5_000;
/** How long a node waits for a clean shutdown of its sockets and store before giving up, ms. */
export const shutdownTimeoutMs = 5_000;
/** Peer request timeout for the gossip and handoff paths (client requests use their own timeout), ms. */
export const peerRequestTimeoutMs = 2_000;
/** Actor sequence numbers reserved (persisted) per store write: one meta write per this many keys first written by this node. */
export const actorSeqBlock = 4_096;
/** How often the reaper looks for tombstones to remove, ms. */
export const reapTickMs = 2_000;
/**
 * A tombstone is removed no sooner than this after the delete, ms — and only after every
 * replica confirmed it holds it (see src/node/reaper.ts). The wait lets in-flight read
 * repairs and replica writes of the old value land first. `--tombstone-grace-ms` changes it.
 */
export const tombstoneGraceMs = 60_000;
/** Keys the reaper reads per round: one store page, so a round stays short. */
export const reapScanKeysMax = 500;
/** Tombstones confirmed and removed per round. */
export const reapBatchMax = 64;
/** Timeout of the reaper's requests to peers, ms. */
export const reapRequestTimeoutMs = 2_000;
/** Keys whose actor id a node remembers for reuse (an LRU); a forgotten key just gets a fresh actor id on its next write. About 100 bytes each. */
export const actorsRecentMax = 100_000;
/**
 * Gossip messages held while a new incarnation is being written (they carry it, so they wait),
 * messages. Gossip resends its whole state every round, so past this the oldest are dropped.
 */
export const gossipHeldSendsMax = 256;
