/**
 * The load generator behind `shoal bench` and `npm run bench:compare`.
 *
 * What it measures. A closed loop, as basho_bench and cassandra-stress run one: a fixed
 * number of workers (`concurrency`), each with one request in flight, issue operations
 * drawn from a weighted mix (put, get, delete, read-modify-write) against keys drawn
 * uniformly or from a zipf distribution over a fixed key space, until a deadline.
 * Throughput is completed operations over the measured time; latency is each
 * operation's wall time on the monotonic clock, from just before the request to its
 * answer. A closed loop understates tail latency when the server stalls (coordinated
 * omission: a stalled worker sends nothing), so the figures are "latency at this
 * concurrency", not "latency at this offered rate"; for a comparison at equal
 * concurrency that is the fair measure, and it is what both tools it imitates report.
 *
 * Histograms. Latencies go into log-linear histograms (histogram.ts): fixed memory,
 * every reported percentile at most 0.8% above the true one, mergeable across intervals
 * and rounds. A once-a-second interval histogram feeds the progress line.
 *
 * Versions. A Dynamo store keeps concurrent blind writes as siblings, so a generator
 * that never passes a context would measure sibling growth rather than the store. The
 * generator remembers the context each answer returns per key (bounded by
 * `benchContextCacheEntriesMax`) and sends it with the next put of that key, as one
 * writer per key would. Deletes and read-modify-writes read first for their context;
 * the read and the write are timed together as one operation.
 *
 * Drivers (drivers.ts) put the SDK, Shoal's HTTP API and etcd's JSON gateway behind one
 * small interface, so the same loop drives each of them. Time, timers and randomness
 * are injected (src/env), so tests run the loop against a fake driver deterministically.
 */
export { Histogram, type HistogramSummary } from './histogram.js';
export {
  OPERATIONS,
  MixSampler,
  formatMix,
  keyName,
  keySampler,
  parseMix,
  uniformKeys,
  zipfKeys,
  type Distribution,
  type KeySampler,
  type Mix,
  type Operation,
} from './workload.js';
export { runLoad, type BenchDriver, type LoadOptions, type LoadResult, type OpResult, type Progress } from './runner.js';
export { KeepAliveHttp, etcdDriver, sdkDriver, shoalHttpDriver, type HttpDriverOptions, type SdkDriverOptions } from './drivers.js';
export { formatTable, ms, progressLine, toJson } from './report.js';
