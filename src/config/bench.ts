// Defaults and limits for src/bench (the load generator behind `shoal bench`) and the
// bench/ scripts. Each constant: unit last in the name, and a sentence on why.

/** Default run length: long enough for a few progress lines, short enough to try often. */
export const benchDurationMsDefault = 10_000;
/** Longest run `shoal bench` accepts (one hour): a load test, not a soak test; beyond that, script repeated runs. */
export const benchDurationMsMax = 3_600_000;
/** Default requests in flight: the comparison's 64, a busy application server's worth. */
export const benchConcurrencyDefault = 64;
/**
 * Most requests in flight. The SDK caps one client at `clientInFlightMax` (1,024) and
 * fails the excess with OVERLOADED, so the generator stays below it.
 */
export const benchConcurrencyMax = 1_000;
/** Default value size (1 KiB, the comparison's workload). */
export const benchValueBytesDefault = 1_024;
/** Largest value the generator sends: the node's default `--max-value-bytes`. */
export const benchValueBytesMax = 1_048_576;
/** Default key space: the comparison's 100,000 keys. */
export const benchKeysDefault = 100_000;
/**
 * Largest key space. The zipf sampler keeps one float64 per key (80 MB at this limit)
 * and the context cache at most `benchContextCacheEntriesMax` entries.
 */
export const benchKeysMax = 10_000_000;
/**
 * Contexts remembered per key so a key's next put supersedes its last version instead of
 * piling up siblings (one writer per key). Past this many keys, puts to keys not in the
 * cache go without a context; the cache never grows beyond it.
 */
export const benchContextCacheEntriesMax = 1_000_000;
/** Zipf exponent: YCSB's 0.99, where the hottest 1% of keys draw roughly half the requests at 100k keys. */
export const benchZipfExponent = 0.99;
/**
 * Histogram precision: 2^7 = 128 sub-buckets per power of two, so every recorded
 * latency is reported within 1/128 (0.8%) of its true value, with 3,200 buckets in all.
 */
export const benchHistogramPrecisionBits = 7;
/** Largest latency the histogram tracks, in microseconds (2^31 - 1, about 36 minutes); larger ones count as that. */
export const benchHistogramValueUsMax = 2_147_483_647;
/** Progress line interval: once a second, as cassandra-stress and basho_bench do. */
export const benchProgressIntervalMs = 1_000;
/** Per-request timeout the generator asks for: a stuck request is an error, not a stall of the run. */
export const benchRequestTimeoutMs = 5_000;
/**
 * How long the generator waits, after the run's end, for requests still in flight
 * before it gives up on them (they count as TIMEOUT): the request timeout plus slack.
 */
export const benchDrainMsMax = 10_000;
/** Different error codes counted separately; further codes are folded into OTHER so a storm of odd errors stays bounded. */
export const benchErrorCodesMax = 32;
