/**
 * # Anti-entropy: Merkle trees per partition, compared and repaired in the background
 *
 * Quorums and read repair fix what they touch; hinted handoff fixes what a fallback held.
 * Neither fixes a key nobody reads on a replica that missed its write (a lost hint, a
 * wiped disk, a replica outside the write's N reachable nodes). Anti-entropy does: the
 * replicas of each partition compare summaries of everything they hold and repair exactly
 * the keys that differ (Dynamo §4.7; riak_kv's hashtrees; Cassandra's repair).
 *
 * ## The tree (tree.ts)
 *
 * One `PartitionTree` per partition replica, in memory. Its leaves are
 * `aeSegmentsPerPartition` segments (1024); a key's segment is the low bits of its 64-bit
 * ring hash (the partition is the high bits of the same hash, so within a partition the
 * low bits are still uniform). A segment's hash is the XOR over its keys of
 * H(key, digest) = XXH64(XXH64(key) ‖ digest), where the digest (hash.ts, objectDigest)
 * covers only the object's causal content: per actor entry its id, counter and number of
 * values. Each dot names one write, so that fixes the values; timestamps are left out so
 * replicas agreeing on versions agree on digests. An interior node (fanout
 * `aeTreeFanout`, 32, so depth 2) is the XOR of its children, which is the XOR of every
 * contribution below it.
 *
 * Why XOR everywhere: an update is `node ^= H(key, old) ^ H(key, new)` on the segment and
 * each ancestor, O(depth) with no dirty flags and no recomputation pass, and deltas
 * commute, so concurrent writes may report in any order. A tree built by updates equals a
 * tree built from the final key set, bit for bit (tested). riak_core's hashtree.erl hashes
 * the child list instead; that costs a recomputation on read and buys nothing here,
 * because a difference hides only if the contributions that differ XOR to zero, which for
 * 64-bit XXH64 outputs has probability 2^-64 per differing node. Across a cluster doing
 * ten comparisons a second that is one miss in ~10^11 years; a miss is not permanent
 * either, since any later write to one of the keys changes the sums again. Only an
 * adversary who could choose which replicas miss which writes could aim for a cancel.
 * XXH64 rather than SHA: pure TS, fast, and the ring's hash already (no node:crypto, so
 * the simulator and browsers run the same code).
 *
 * Memory: 8 bytes per node, ~8.5 KiB per partition at the defaults; a node holding 48
 * partition replicas spends ~400 KiB on trees whatever its key count. The tree stores no
 * keys. To descend from a segment to its keys, the node scans the partition's key range
 * in the store, skipping keys outside the asked segments (`KeysPage`). Keys of a segment
 * are not contiguous on disk, so one `ae_keys` batch costs one pass over the partition,
 * which at 1,000,000 keys per node (~20k per partition) is a few ms. An in-memory
 * per-segment key index would avoid that pass but cost ~100 bytes per key, ~100 MB at a
 * million keys: too much of a 300 MB budget for a background job, so we scan.
 *
 * Rebuilds. The tree lives in memory only, so after a start (or a wipe, or every
 * `aeTreeRebuildIntervalMs` as a safety net, as riak_kv expires its trees weekly) the node
 * rebuilds it: beginRebuild(), feed() every (key, digest) a scan of the partition reads,
 * finishRebuild(). Writes keep calling update() meanwhile; during the rebuild an update
 * only records the key's latest digest, and it wins over whatever the scan read for that
 * key, so the scan needs no snapshot and may page. A tree being rebuilt is not `ready`
 * and takes no part in exchanges (answerLevels refuses with UNAVAILABLE).
 *
 * ## The exchange (exchange.ts)
 *
 * `Exchange` compares the local tree with one peer's tree of the same partition. It is a
 * state machine that returns its requests as data: start() asks for the peer's root;
 * each onReply(answer) compares, and asks for the children of every differing node of the
 * level, batched (`aeHashesPerRequestMax` indices per request), until it reaches the
 * segments. For the differing segments, in batches of `aeSegmentsPerRequestMax`, it asks
 * the peer (`to: 'peer'`) and then this node's own store (`to: 'self'`, answered by the
 * same `KeysPage` code that answers peers) for their (key, digest) pairs, paged in UTF-8
 * key order by `after` (`aeKeysPerReplyMax` pairs per page), and outputs the keys present
 * on one side only or with different digests. It stops early after
 * `aeKeysPerExchangeMax` keys (the rest waits for the next exchange). Equal trees cost
 * one round trip. The node repairs each key like read repair: fetch both objects, sync,
 * write the merge to both sides.
 *
 * ## The schedule (scheduler.ts)
 *
 * `AntiEntropyScheduler` hands out (partition, peer) pairs round robin, peer rank 0 of
 * every partition before rank 1 of any, at most `aeConcurrentExchanges` (2) at once, one
 * per partition at a time, each pair at most once per `aeExchangeIntervalMs` (10 s), only
 * to peers that are up and for trees that are ready. Repairs draw from a token bucket of
 * `aeRepairKeysPerSecond` (1,000). When the node's foreground p99 (passed on each tick)
 * is above `aeForegroundLatencyTargetMs` nothing starts and no tokens are granted until
 * it is back at or below the target.
 *
 * The arithmetic at defaults (Q = 64, N = 3, 4 nodes): each node holds 64 * 3 / 4 = 48
 * partition replicas with 2 peers each, 96 pairs. Idle, that is 96 root comparisons per
 * 10 s per node, ~10 requests/s of 8-byte answers. A wiped node of 5,000 keys (~104 per
 * partition) restarts with an empty scheduler, so all 96 of its pairs are due at once;
 * each partition's exchange is ~7 round trips (root, 32 level-1 hashes, 1024 segment
 * hashes in one request, ~100 differing segments in 2 batches of peer + self pages), tens
 * of ms, so 48 partitions at 2 at a time take ~1 s of exchanging, and repair is capped by
 * the bucket: 1,000 keys at once (burst) then 1,000/s, so ~4 s. The peers' own schedulers
 * also find the wiped node's partitions within their 10 s interval and repair in
 * parallel. Whole in well under 60 s: the bound is about aeExchangeIntervalMs +
 * keys / aeRepairKeysPerSecond. A replica missing only a few keys is found within one
 * interval of its partition's pairs (a full round of 96 root comparisons at 2 at a time
 * takes well under a second, so the interval, not the concurrency, sets the pace).
 *
 * ## Driving it (the node's side)
 *
 * - On every local store write of key k in partition p: tree(p).update(k, before &&
 *   objectDigest(before), after && objectDigest(after)), right after the store resolves.
 * - On start: for each partition, beginRebuild(), page the store's scan through feed(),
 *   finishRebuild() when no write to p is between commit and update().
 * - Every tick (e.g. 250 ms): grants = scheduler.tick({now, replicas, isUp, isReady,
 *   p99Ms}); for each grant run an Exchange: step = ex.start(); while !step.done, send
 *   step.msg to the peer (or answer it locally with KeysPage when step.to === 'self'),
 *   step = ex.onReply(answer or `err`); then repair step.keys, taking
 *   scheduler.takeRepairTokens() before each batch; then scheduler.finished(p, peer, ...).
 * - Serving peers: `ae_levels` → answerLevels(tree, msg); `ae_keys` → KeysPage over a
 *   store scan from msg.after; a thrown ShoalError becomes an `err` answer.
 */
export { PartitionTree, type TreeShape } from './tree.js';
export { encodeTrees, decodeTrees, type SavedTree } from './snapshot.js';
export { objectDigest, compareKeys, sameDigest, HASH_BYTES } from './hash.js';
export { Exchange, KeysPage, answerLevels, type ExchangeOptions, type ExchangeResult, type ExchangeStep } from './exchange.js';
export {
  AntiEntropyScheduler,
  schedulerDefaults,
  type ExchangeGrant,
  type ExchangeOutcome,
  type PartitionAeStatus,
  type ReplicaSet,
  type SchedulerConfig,
  type SchedulerTick,
} from './scheduler.js';
export type { AeErrorMsg, AeKeysMsg, AeKeysOkMsg, AeLevelsMsg, AeLevelsOkMsg, AeReply, AeRequest } from './messages.js';
