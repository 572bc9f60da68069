/**
 * Partition transfer limits (src/node/transfers.ts): joins, leaves, fallback handoff.
 */

/** How often the node checks for partitions to pull or hand off, ms. */
export const transferTickMs = 500;
/** Partitions pulled at once by one node: two keep the link busy without starving foreground traffic on 2 cores. */
export const transfersConcurrentMax = 2;
/** Keys per transfer batch (≤ wireTransferKeysMax). */
export const transferBatchKeys = 128;
/** Bytes per transfer batch, approximately: far below the peer frame cap, so large values never make an oversized frame. */
export const transferBatchBytesMax = 2 * 1024 * 1024;
/** Keys transferred per second by one node (a token bucket), so transfers never starve clients. */
export const transferKeysPerSecond = 20_000;
/** Burst allowance of the transfer token bucket, keys. */
export const transferBurstKeys = 2_000;
/** Wait when the transfer bucket is empty, ms. */
export const transferThrottleWaitMs = 20;
/** Timeout of one transfer request, ms: a batch of up to 2 MiB takes milliseconds on a LAN; a lost request should cost little. */
export const transferRequestTimeoutMs = 3_000;
/** After a failed pull, wait this long before trying the partition again (from the next source), ms. */
export const transferRetryMs = 500;
/** How long a partition's key count (for progress and ETA) is reused, ms. */
export const transferCountCacheMs = 5_000;
/** Finished transfers stay visible in /v1/status this long, ms. */
export const transferShowDoneMs = 60_000;
/** Transfer records kept for /v1/status (one per partition and direction at most, so Q×2 bounds it anyway). */
export const transferJobsShownMax = 512;
/** After declaring `left`, a node keeps running this long so the record spreads by gossip before it stops, ms. */
export const leaveLingerMs = 3_000;
