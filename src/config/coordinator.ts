/**
 * Coordinator defaults and limits (src/coordinator, src/node's request path).
 */

/** Default client request timeout, ms: long enough to ride out one GC pause or a peer reconnect, short enough that a client sees 503 before its own HTTP timeout. */
export const requestTimeoutMsDefault = 5_000;
/** Largest `timeout_ms` a client may ask for, ms; beyond it the request is refused (400) so no request pins memory for minutes. */
export const requestTimeoutMsMax = 60_000;
/** Time after which a read that has not heard from R replicas asks one more (speculative retry), ms: about a p99 replica round trip on loopback under load. */
export const speculativeRetryMs = 50;
/** Share of reads that ask every replica rather than R, so read repair sees every replica (Cassandra's read_repair_chance). */
export const readRepairChance = 0.1;
/**
 * Oldest a read's replies may be when read repair writes their merge, ms (from the
 * read's start). A repair writes a snapshot: landing after a newer delete's tombstone
 * was reaped, it would bring back what the delete removed (the reaper's grace must
 * outlast it, see src/node/reaper.ts). A read that has not heard from every replica by
 * then repairs the stale ones it heard from, instead of waiting for its timeout (up to
 * requestTimeoutMsMax) with a snapshot that old. Replies on loopback take milliseconds.
 */
export const readRepairMaxAgeMs = 1_000;
/** Replica requests in flight per node across all client requests; beyond it new client requests get 503 overloaded instead of queueing without bound. */
export const coordinatorInFlightMax = 8_192;
/** EWMA weight of one latency sample: 0.1 follows a change within ~20 requests without jumping on one outlier. */
export const latencyAlpha = 0.1;
/** Consecutive failures that open a peer's circuit: 3 rules out one lost message while still tripping within one request's worth of timeouts. */
export const circuitFailuresToOpen = 3;
/** First open period of a circuit, ms: about one gossip probe round, so the failure detector and breaker agree. */
export const circuitOpenMs = 1_000;
/** Longest open period, ms: a peer that keeps failing is retried at least this often. */
export const circuitOpenMaxMs = 10_000;
/** Peers tracked for latency and circuits; members are far fewer, so this only guards against a runaway. */
export const peerHealthMax = 1_024;
