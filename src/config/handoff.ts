/**
 * Hinted handoff limits (src/hinted-handoff, src/node's delivery loop).
 */

/** How often the delivery loop looks for targets that are back, ms. */
export const handoffTickMs = 250;
/** Hints read and delivered per batch to one target: large enough to amortise a storage scan, small enough to keep a batch well under a second. */
export const handoffBatchMax = 128;
/** Hinted keys delivered per second by one node across all targets (a token bucket), so a returning node is not flooded and foreground latency holds. */
export const handoffKeysPerSecond = 5_000;
/** Burst allowance of the token bucket, keys. */
export const handoffBurstKeys = 1_000;
/** Targets delivered to at the same time. */
export const handoffTargetsConcurrentMax = 2;
/** Replica writes in flight to one target during delivery. */
export const handoffInFlightPerTarget = 32;
/** After a failed batch, wait this long before trying that target again, ms (doubles per failure up to the max). */
export const handoffRetryMs = 500;
export const handoffRetryMaxMs = 10_000;
// The per-target hint cap (hintsPerTargetMax) lives in store.ts, beside the hint log it bounds.
/** Hints per target that `explain` scans for one key: explain is an operator's tool and must stay cheap. */
export const hintsExplainScanMax = 10_000;
