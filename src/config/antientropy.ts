/**
 * Limits and defaults for src/antientropy (Merkle trees, exchanges, their scheduler).
 * Each constant: unit last in the name, and a sentence on why. src/antientropy/index.ts
 * works through the arithmetic that ties these together.
 */

/**
 * Leaves (segments) of each partition's Merkle tree; a power of two. At 1,000,000 keys per
 * node spread over ~48 partition replicas a segment holds ~20 keys, so one differing key
 * costs a key list of ~20 entries, and the tree is 1024 * 8 bytes plus interior levels,
 * ~9 KiB per partition. Must be equal on every node (exchanges refuse a different shape).
 */
export const aeSegmentsPerPartition = 1024;

/**
 * Children per interior node; a power of two. 32 gives depth 2 for 1024 segments: an
 * exchange of two equal trees is one round trip, of two differing trees three plus the
 * key lists.
 */
export const aeTreeFanout = 32;

/** Largest segment count a tree accepts (2^20 = 8 MiB of leaves per partition); a config beyond it is refused. */
export const aeSegmentsPerPartitionMax = 1_048_576;

/**
 * Most node indices in one `ae_levels` request (and so 8 * this many bytes in its answer).
 * 1024 covers a whole level of the default tree in one round trip; more is split into
 * several requests.
 */
export const aeHashesPerRequestMax = 1024;

/**
 * Most segments in one `ae_keys` request. With ~20 keys per segment, 64 segments are ~1300
 * keys: about one page, so the answering node's filtered partition scan is not repeated
 * many times for one batch.
 */
export const aeSegmentsPerRequestMax = 64;

/**
 * Most (key, digest) pairs in one `ae_keys_ok` answer; more is paged with `after`. At the
 * 512-byte key limit a page is ~525 KB and 3001 CBOR items, well inside a peer frame.
 */
export const aeKeysPerReplyMax = 1000;

/**
 * Most differing keys one exchange collects before it stops early and reports
 * `complete: false` (the next exchange of the pair finds the rest): bounds the memory of
 * one exchange and of the node's repair queue for it.
 */
export const aeKeysPerExchangeMax = 10_000;

/** Exchanges this node runs at once (riak_kv's anti_entropy_concurrency is 2). */
export const aeConcurrentExchanges = 2;

/**
 * Each (partition, peer) pair is exchanged at most once per this many ms. With ~96 pairs per
 * node an idle cluster does ~10 root comparisons a second per node (one 8-byte answer
 * each); after a wipe every pair is due at once, so the interval does not slow recovery.
 */
export const aeExchangeIntervalMs = 10_000;

/**
 * An exchange (with its repairs) that has not finished after this long is forgotten by the
 * scheduler and its slot freed, so one lost reply cannot stop anti-entropy for good.
 */
export const aeExchangeTimeoutMs = 120_000;

/**
 * Keys repaired per second by one node (a token bucket). A wiped replica of 5,000 keys is
 * repaired in ~5 s; at 1,000 keys/s the repair traffic (two reads and up to two writes per
 * key) stays a small share of a node's foreground capacity.
 */
export const aeRepairKeysPerSecond = 1000;

/** Burst allowance of the repair token bucket, keys. */
export const aeRepairBurstKeys = 1000;

/**
 * When the node's recent foreground p99 latency (ms) is above this, anti-entropy starts no
 * exchange and grants no repair tokens until it is back at or below it: repair can wait,
 * clients cannot.
 */
export const aeForegroundLatencyTargetMs = 100;

/**
 * Rebuild each tree from a store scan this often even when nothing is wrong (riak_kv
 * expires its hashtrees weekly for the same reason): a tree and its store could drift
 * apart through a bug or a disk error, and only a rebuild would notice.
 */
export const aeTreeRebuildIntervalMs = 7 * 24 * 3600 * 1000;

/**
 * Writes recorded as (before, after) digests while a starting node reads its saved trees
 * (each is applied to its restored tree once the trees are in). The read takes
 * milliseconds; past this many the saved trees are dropped and every tree is rebuilt from
 * a scan, so a stalled read cannot grow memory without bound.
 */
export const aeSavedTreeWritesMax = 100_000;

/** How often the node asks the scheduler for exchanges, ms. */
export const aeTickMs = 250;
/** Keys per store scan page when rebuilding a tree or answering ae_keys. */
export const aeRebuildPageKeys = 1_000;
/** Keys repaired concurrently in one batch (each batch draws that many repair tokens). */
export const aeRepairBatchKeys = 32;
/** Wait when the repair bucket is empty (or repair is paused for foreground latency), ms. */
export const aeRepairWaitMs = 100;
/** Timeout of one anti-entropy request to a peer, ms. */
export const aeRequestTimeoutMs = 5_000;
/** Foreground request durations kept to estimate the recent p99 that pauses background work. */
export const foregroundLatencySamples = 512;
/**
 * Foreground requests older than this do not count towards the p99 that pauses
 * anti-entropy, ms: long enough to see a load, short enough that background repair
 * resumes soon after the load (or an outage's timeouts) stops.
 */
export const foregroundLatencyWindowMs = 10_000;
