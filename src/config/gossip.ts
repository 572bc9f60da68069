/**
 * Limits and defaults for src/gossip (membership, failure detection, ring dissemination).
 * Each constant: unit last in the name, and a sentence on why. The timing defaults are
 * chosen together to meet the detection targets: a crashed node is suspect within ~2-3 s
 * (next probe <= 1 s, direct timeout 0.5 s, indirect timeout 1 s) and down within ~5-6 s
 * (3 s more of silence); a recovered node is up within ~1 s of answering (the next ping).
 */

/** How often the driver calls `Gossip.tick`, ms. Every timeout below is checked at this granularity, so it adds at most this much to each. */
export const gossipTickMs = 100;

/** One gossip round, ms: each node bumps its heartbeat and pushes its state to `gossipFanout` members. Cassandra and Riak both use 1 s. */
export const gossipIntervalMs = 1_000;

/** Members each gossip round pushes to. Two gives O(log N) rounds to reach everyone with a wide safety margin (SWIM's infection-style dissemination). */
export const gossipFanout = 2;

/**
 * Least time between two pull answers to the same peer, ms. Answers are what make
 * push-pull converge in one round trip; the floor only stops two nodes whose member maps
 * are both full (and so can never agree) from answering each other forever.
 */
export const gossipReplyIntervalMs = 250;

/** SWIM protocol period, ms: every member is pinged directly once per period, so detection time does not grow with cluster size. */
export const gossipProbeIntervalMs = 1_000;

/** Wait for a direct ack before asking others to probe, ms. Ten times a LAN round trip; a node that cannot answer a ping in 0.5 s is not serving either. */
export const gossipProbeTimeoutMs = 500;

/** Members asked to ping a silent member for us (SWIM's k; ringpop uses 3). Separates "the target is dead" from "our link to it is lossy". */
export const gossipIndirectProbes = 3;

/** Wait for an indirect ack (two extra hops) before suspecting the target, ms. */
export const gossipIndirectTimeoutMs = 1_000;

/** Silence (no ack to our probes) after suspicion before we call a member down, ms. Long enough to ride out a GC pause or a brief partition. */
export const gossipSuspectTimeoutMs = 3_000;

/** Least time between two refutations (incarnation bumps) when others keep listing us in `sus`, ms; each bump is persisted, so we do not bump per message. */
export const gossipRefuteIntervalMs = 1_000;

/**
 * How long a node that knows no other member and has no ring waits before claiming a
 * ring of its own, ms; it never does while a seed is pending. Three gossip rounds give a
 * node started with --seeds time to hear from the cluster, whose ring it must adopt
 * rather than race with a one-member ring.
 */
export const gossipSoloClaimDelayMs = 3_000;

/** Most members (self and `left` tombstones included) a node tracks; beyond it new members are ignored and a `member_ignored` event says so. Also bounds every gossip frame. */
export const gossipMembersMax = 256;

/** Most seeds awaiting their first gossip; a seed list longer than this is a configuration mistake. */
export const gossipSeedsMax = 64;

/** Most suspicions carried in one gossip frame's `sus` list. They only prompt early probes, so a sample is as good as the whole list. */
export const gossipSusMax = 16;

/** Most indirect probes this node relays for others at once; more ping_req are dropped (the requester has other helpers). */
export const gossipRelaysMax = 256;

/** Route-flap damping (RFC 2439 in BGP): penalty added each time a member falls from up to suspect, in points. */
export const flapPenalty = 1_000;

/** Penalty at or above which a member's return to up is suppressed: three falls in quick succession, as in BGP's 2000/1000 default with decay. */
export const flapSuppressThreshold = 2_000;

/** Penalty below which a suppressed member may be up again (BGP's reuse limit). */
export const flapReuseThreshold = 750;

/** Half-life of the flap penalty, ms. BGP uses 15 min for routes; a storage node that flaps should be avoided for about a minute, not a quarter hour. */
export const flapHalfLifeMs = 30_000;

/** Longest a member stays suppressed after its last fall, ms; caps the penalty at reuse * 2^(this / half-life) (BGP's max-suppress-time). */
export const flapSuppressMaxMs = 90_000;
