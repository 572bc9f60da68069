// Limits and defaults for src/ring. Each constant: unit last in the name, and a sentence on why.

/**
 * Members a claim accepts. Gossip already caps the member table (gossipMembersMax); the
 * ring refuses more on its own so a bad caller cannot make claim's search quadratic in
 * an unbounded list. Over the limit claim throws INVALID_CONFIG.
 */
export const claimMembersMax = 1_024;

/**
 * Local-search steps per partition when a claim looks for a placement with no spacing
 * violation (two copies of one node within N consecutive partitions). Spaced placements
 * are usually found in well under Q steps; the cap bounds the time spent proving that
 * none exists (a few ms at Q = 256). When it runs out, the best placement found so
 * far is used: spacing is an optimisation, never a correctness requirement, because
 * preference lists skip repeated owners.
 */
export const claimSearchStepsPerPartition = 50;

/** Upper bound on local-search steps for one claim whatever Q is, so Q = 16384 stays fast. */
export const claimSearchStepsMax = 400_000;

/**
 * Moved partitions one local-search step scans for one that is in conflict. Bounds a
 * step's cost at large Q while still steering most steps at actual conflicts.
 */
export const claimScanMovedMax = 64;
