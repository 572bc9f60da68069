/**
 * Node driver defaults (src/node).
 */

/** How often the driver ticks the gossip state machine, ms. Probe and gossip periods are multiples of it. */
export const nodeTickMs = 100;
/** First wait before dialing the seeds again when none answered, ms (doubles up to the max). */
export const seedRetryMs = 500;
export const seedRetryMaxMs = 5_000;
/**
 * Longest a starting node waits, after it has a ring, for its view of the cluster to
 * settle before it reports ready (GET /v1/health 200; see ShoalNode.readyForClients), ms.
 * A restart with a peer that died meanwhile settles once that peer is found down (about
 * 5 s: a probe, the indirect probes, the suspicion timeout); this bound is for a member
 * stuck half-joined, which must not keep the node out of service for good.
 */
export const nodeReadyWaitMs = 10_000;
/**
 * Longest a starting node waits for owners in its ring that it has not heard of at all
 * (no seed or peer has mentioned them) before it may say ready without them, ms. A live
 * cluster introduces its members through the first seed answer within a second; a node
 * restarted while the others are stopped would otherwise wait the whole nodeReadyWaitMs.
 */
export const nodeReadyUnknownOwnersWaitMs = 3_000;
/** Least time between two rounds of `view` questions of a node not ready yet, ms (only asked while health is polled). */
export const nodeReadyAskIntervalMs = 50;
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
/**
 * Shortest grace that keeps deletes deleted, ms: the oldest snapshot a repair may carry
 * (readRepairMaxAgeMs, 1 s) plus the longest a replica message is waited for
 * (peerRequestTimeoutMs, 2 s). A node started with less says so in its log; tests use
 * less on purpose (src/node/reaper.ts).
 */
export const tombstoneGraceSafeMinMs = 3_000;
/** Keys the reaper reads per round: one store page, so a round stays short. */
export const reapScanKeysMax = 500;
/** Tombstones confirmed and removed per round. */
export const reapBatchMax = 64;
/** Timeout of the reaper's requests to peers, ms. */
export const reapRequestTimeoutMs = 2_000;
/**
 * Keys whose tombstone the reaper has seen held by every primary and is waiting on (its
 * grace measured on this node's own clock, see src/node/reaper.ts). About 100 bytes
 * each. A round adds at most reapBatchMax, one every reapTickMs, so at the default
 * grace about 2,000 wait at once; past the bound the oldest is forgotten and confirmed
 * again later.
 */
export const reapAgreedKeysMax = 10_000;
/** Keys whose actor id a node remembers for reuse (oldest out first); a forgotten key just gets a fresh actor id on its next write. About 100 bytes each. */
export const actorsRecentMax = 100_000;
/**
 * Entries a key's clock may have for a write whose context is behind this node's actor to
 * take a fresh actor id (src/node/actors.ts), so that the context the put answers with
 * covers no concurrent value it did not see. Each fresh id is one more entry, and entries
 * younger than vclockYoungMs are never pruned: under many concurrent read-modify-writes of
 * one key (the nemesis run: ~100 writes/s, most of them behind) clocks passed the 256
 * entries a context token may hold within seconds. From this size on the actor is reused
 * as before, and such a put's context also covers the concurrent values of that actor.
 */
export const actorsFreshEntriesMax = 16;
/**
 * Gossip messages held while a new incarnation is being written (they carry it, so they wait),
 * messages. Gossip resends its whole state every round, so past this the oldest are dropped.
 */
export const gossipHeldSendsMax = 256;
/**
 * Soft limit on a node's resident memory, bytes (src/node/memory.ts); 0 turns it off.
 * `SHOAL_MEMORY_SOFT_LIMIT_MB` sets it per process. As the resident size nears it, V8
 * collects its old generation more often; nothing is refused and nothing fails above it.
 * 256 MiB keeps a node holding 1,000,000 keys of 100 bytes under issue 7's 300 MB with
 * room for what no collection can return (LevelDB's mapped table files, Node's code:
 * 80-110 MB measured). With V8's own heuristics that node held 340-360 MB after a burst of
 * writes: V8 had grown its heap to about 4x the ~35 MB of live objects.
 */
export const memorySoftLimitBytes = 256 * 1024 * 1024;
/** How often the soft limit is checked against the resident size, ms: a heap grows at most a few MB a second. */
export const memoryCheckMs = 1_000;
/**
 * Resident size (as a fraction of the soft limit) at which V8's old-generation growth
 * factor is set to 1 + growingPercent/100 after each full collection. Below the first
 * step V8 chooses (up to 4x the live heap). Measured with 1 KiB puts at 64 in flight:
 * 100% costs ~5% of throughput, 30% ~17%, so the tight steps only apply near the limit.
 * The tightest starts at 90%: the heap keeps growing between two checks and between two
 * collections, and with it at 100% a 1,000,000-key node peaked at 296 MB (limit 256 MiB).
 */
export const memoryGcSteps: ReadonlyArray<{ readonly fraction: number; readonly growingPercent: number }> = [
  { fraction: 0.7, growingPercent: 100 },
  { fraction: 0.8, growingPercent: 50 },
  { fraction: 0.9, growingPercent: 20 },
];
/**
 * A step is left only once the resident size is this fraction of the limit below where it
 * starts, so a size that hovers at a boundary does not switch V8's setting every check.
 */
export const memoryGcHysteresis = 0.05;
