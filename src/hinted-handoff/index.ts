/**
 * # Hinted handoff
 *
 * When a replica write cannot reach a primary owner (it is down, its circuit is open, or
 * it did not ack in time), some other node records a *hint*: a durable note in its own
 * store that the key is owed to that primary. A fallback that took the write in the
 * primary's place holds the hint (Dynamo §4.6); when no fallback exists (clusters of N
 * nodes or fewer) the coordinator holds it (as Cassandra does). The hint names the key,
 * not the value: the value is the holder's current copy of the key, which already merges
 * the hinted write with anything later, so delivery always sends the newest state.
 *
 * Delivery is throttled so a returning node is not flooded: a token bucket caps keys per
 * second across all targets, at most a few targets are served at once, each with a
 * bounded number of writes in flight, oldest hints first. A hint is deleted only after the
 * target acknowledged the write (its storage engine has it); a failed batch backs off. A
 * hint is never dropped because of age alone.
 *
 * This folder is the pure scheduling part; src/node performs the reads, sends and deletes.
 */
export { TokenBucket } from './token-bucket.js';
export { HandoffScheduler } from './scheduler.js';
export type { HandoffConfig, HandoffGrant } from './scheduler.js';
