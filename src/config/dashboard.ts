/**
 * Limits and defaults for the operator's view: the dashboard's event stream, the
 * overview it carries, and the metrics the node keeps for it. Each constant: unit last in
 * the name, and a sentence on why and on what happens when it is exceeded.
 */

/**
 * How often the event stream (GET /v1/events) sends a snapshot, ms. Once a second is
 * "live" to a person watching, and one snapshot (a few KiB for 64 partitions) per second
 * per viewer costs the node nothing measurable.
 */
export const dashboardEventIntervalMs = 1_000;
/**
 * Event streams open at once on one node. Each holds a socket and a slot of the API's
 * in-flight limit; a few operators need a handful. Beyond it a new stream is answered
 * 503 `overloaded` and the page falls back to retrying.
 */
export const dashboardEventStreamsMax = 32;
/**
 * Chart points kept per node for a viewer that connects late, one per event: two
 * minutes of history, so a freshly opened page shows a trend at once. Older points are
 * dropped (a ring buffer).
 */
export const dashboardHistoryPointsMax = 120;
/**
 * How long the node waits for a peer's /v1/stats when it gathers every node's rates for
 * the charts, ms. Below the event interval so one slow peer never delays a snapshot;
 * a peer that misses it shows a gap in its line for that second.
 */
export const dashboardPeerStatsTimeoutMs = 700;
/**
 * Members whose stats one snapshot gathers. Charts of more lines are unreadable anyway;
 * the rest are listed in the members table without a line.
 */
export const dashboardChartNodesMax = 16;
/**
 * Latency histogram buckets for the dashboard's p50/p99, as powers of this ratio from
 * dashboardLatencyBucketMinMs: 1.25 keeps the quantile within 12% of the true value,
 * which is plenty for a chart, in 64 counters per node.
 */
export const dashboardLatencyBucketRatio = 1.25;
/** Smallest latency bucket bound, ms: below anything a networked quorum can reach. */
export const dashboardLatencyBucketMinMs = 0.05;
/** Latency buckets (the last one is open-ended): 0.05 ms * 1.25^62 ~ 51 s covers every timeout. */
export const dashboardLatencyBucketsMax = 64;
/**
 * Prometheus histogram buckets for request latency, seconds: from a cached local read
 * (~100 µs) to the longest client timeout; fixed so dashboards can aggregate across nodes.
 */
export const metricsLatencyBucketsSeconds: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** Buckets for siblings per read: 1 is normal, a handful is concurrency, dozens is a problem. */
export const metricsSiblingsBuckets: readonly number[] = [1, 2, 3, 5, 8, 13, 21, 34, 64];
/**
 * Data-directory files the storage-size gauge stats per scrape. A LevelDB or RocksDB
 * directory holds tens to a few thousand files; past this the gauge counts only the
 * first ones and says so in a `truncated` gauge, so a scrape never walks a huge tree.
 */
export const metricsDataDirFilesMax = 10_000;
