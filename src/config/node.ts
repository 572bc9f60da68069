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
