/**
 * # Local storage for one node
 *
 * A node keeps everything it stores in ONE ordered key-value database (LevelDB through
 * classic-level by default, RocksDB through @nxtedition/rocksdb, or an in-memory map in
 * tests and the simulator). Two layers:
 *
 * - An **Engine** is only a sorted map of bytes with atomic batches and range reads: the
 *   subset of abstract-level we need. `MemoryEngine`, and `LevelEngine` for both native
 *   engines, implement it, and one shared contract suite tests all three.
 * - The **ObjectStore** gives it meaning: DVVSets by (partition, key), durable hints,
 *   node metadata, a read cache, and group commit.
 *
 * ## Key layout (the on-disk format)
 *
 * Every key starts with a namespace byte, so each kind of record is one contiguous range:
 *
 *     'o' (0x6f) | u16be partition | utf8 key            object: one DVVSet
 *     'h' (0x68) | u16be len | utf8 target | u64be seq   hint: an object owed to `target`
 *     'm' (0x6d) | utf8 name                             metadata (`store.*` names are ours)
 *     'a' (0x61), 't' (0x74)                             reserved: anti-entropy, transfers
 *
 * Prefixing objects by partition makes a partition one key range, so handoff can stream
 * it, anti-entropy can hash it, and a dropped partition is one range delete, without
 * touching the rest. Within a partition, keys sort bytewise by UTF-8, which is what
 * `scan(after, limit)` pages through. Hint keys carry the target's byte length before
 * its name so that no target's range contains another's ("node1" vs "node10"), and a
 * big-endian sequence number after it, so a target's hints list oldest first. The
 * sequence continues across restarts: its high-water mark is written (as meta
 * `store.hintSeq`) in every batch that adds hints.
 *
 * ## Value format
 *
 * `format byte | CRC32 of the payload | payload`. Objects (format 1) are CBOR (written by
 * a small hand encoder straight into one buffer, read with cbor-x) of a flat
 * array form of the DVVSet: `[[ [id, n, ts, v0, ts0, v1, ts1, ...] ... ], [v0, ts0, ...]]`
 * with each v a byte string or null for a tombstone. Hints (format 2) are
 * `u16be partition | f64be ts | utf8 key`; the object itself is stored once, under its
 * own key. A bad checksum, an unknown format byte or a payload of the wrong shape is
 * ShoalError('CORRUPT') naming the partition and key: a disk error is reported, never
 * turned into a wrong answer or a crash. `remove()` can always clear a corrupt object,
 * and an update with `replaceCorrupt` (a node's replica writes, read repair and
 * anti-entropy, which carry a whole replica's state) replaces it: the next such write of
 * the key heals this replica.
 *
 * ## Value log (value separation)
 *
 * A node keeps each encoded object of `storeValueLogMinBytes` (512) or more outside the
 * database, in the append-only segment files of a value log (`<data>/vlog`,
 * `ValueLogEngine` in vlog.ts, wrapping the LevelEngine), and the database holds a 13-byte
 * pointer under the object's key (format byte 3; the layer above never sees one).
 * That is WiscKey's design (and Bitcask's, and Badger's): LevelDB then compacts keys and
 * pointers instead of rewriting every 1 KiB value at each level, which was half of a
 * put's CPU on this machine. The price: a get of a large object makes one more read (a
 * pread of its record), the log holds garbage until collection moves its live records
 * out of the oldest segment and deletes it, and the data directory holds up to about
 * 3.3 times the live values in steady overwrites (collection starts at 70% garbage). `SHOAL_VALUE_LOG=off` keeps every object in
 * the database, as before. vlog.ts has the record format, the crash ordering and the
 * collector's rules; the shared contract suite runs over it.
 *
 * ## Storage epoch
 *
 * On first creation the store writes a random id (`store.epoch`, ~8 base36 chars) and
 * fsyncs it. The node's dvv actor id is `${nodeId}#${epoch}`: a node whose disk was wiped
 * comes back with a new epoch, so it can never issue a dot it issued before (which would
 * make replicas silently treat different values as the same version).
 *
 * ## Group commit and per-key serialisation
 *
 * `update(p, k, fn)` is a read-modify-write. Operations are queued; the queue is drained
 * by one commit at a time. A commit reads every object it needs that the cache lacks in
 * one `getMany` (LevelEngine answers up to `storeSyncReadKeysMax` keys synchronously,
 * on the event loop, while such reads stay fast: cheaper than a hop to the engine's
 * thread pool and back), applies the queued functions in arrival order (so two updates of one key
 * never interleave: the second sees the first's result), and writes every final object,
 * hint and meta record in ONE engine batch; each caller's promise resolves only after
 * that batch is in the engine (fsynced with `--sync`). The first operation schedules the
 * commit at the end of the gathering time (LevelEngine: the rest of the event-loop turn;
 * memory engines: a microtask), so everything issued meanwhile shares a batch; while a
 * batch is being written, new operations accumulate and form the next one. That is the
 * classic group commit of databases: under load the cost of a write (and of an fsync)
 * is shared by everyone who arrived while the previous one was on its way. The queue is
 * drained as a two-stage pipeline: while the engine writes batch k on its own thread,
 * batch k+1 is read, applied and encoded on top of batch k's results (which are not in
 * the engine yet); batch k+1 reaches the engine only after k has landed, and if k fails
 * then k+1, built on it, fails with the same error.
 *
 * `updateMany(items)` is the store's counterpart of an engine's array batch, for callers
 * that apply many objects at once (a partition transfer's page, an anti-entropy repair):
 * its items are ordinary update operations in the same queue, in array order, but they
 * settle into one results array behind one promise instead of a promise each, and each
 * item fails on its own (its slot holds `{ error }`). The call is admitted whole or not
 * at all (OVERLOADED when the queue cannot take every item).
 *
 * ## Key filter
 *
 * An update must know the key's current object to merge into it, which costs a read. A
 * scalable Bloom filter of every object key stored here (fed by every write, never a
 * false negative) lets an update of a key the store has never held skip that read. A
 * commit reads if any one of its keys is a false positive, so the rate is kept at 0.1% (a
 * 100-key commit reads one time in ten, not two in three as at 1%). Each key is hashed
 * once per commit (a two-lane MurmurHash3).
 *
 * A clean close saves the filter (as the saved state `store.keyFilter`, in the close's
 * synced batch, after every write has landed), and the next open reads it back instead of
 * scanning every object key: the scan cost about 3 µs a key here, 3-4 s of a start at a
 * million keys and most of its CPU. A saved filter names its format and the filter's
 * configuration, and carries a CRC: a damaged or foreign one is scanned past.
 *
 * ## Saved state
 *
 * State that is only right for the store exactly as a clean close left it (the key
 * filter, the anti-entropy trees, the per-key actor memory) is saved by that close as
 * `saved.NAME` metadata (`onClose`: one synced batch after the last write has landed;
 * not after a crash, not after a failed engine write). Every open takes all of it into
 * memory and deletes it in one synced write before anything else is written, and hands
 * each state to its owner once (`takeSaved`). So a saved state found at an open was
 * written by the clean close right before it; after a crash of this run the next open
 * finds none and its owners rebuild. The engine's log (and, under --sync, the value
 * log's replay) keeps a prefix of the writes, so no write of this run can survive a
 * crash without that delete. The price is a rule for tools: whatever writes a stopped
 * node's store must do it through an ObjectStore (whose open takes the saved state like
 * a node's) or delete every `saved.` entry; a key filter that missed a key would let an
 * update of it replace the stored object instead of merging into it.
 *
 * ## Cost per update, and where it goes
 *
 * Measured in bench/store.bench.ts against raw classic-level batched puts of the same
 * bytes: the store's own work, without any engine, is about 1.4 µs of CPU per item of an
 * `updateMany` and 1.7 per `update()` (whose promise, executor and resolve/reject pair
 * are the difference): the key bytes, the update function, one copy of the value, its
 * CRC (about 0.3 µs for 1 KiB with node:zlib, which is already as fast as a JavaScript
 * CRC could hope to be), the filter, and the commit's bookkeeping and garbage. LevelDB's
 * batched put costs about 3.9 µs, 1.2 of them on the main thread; the store's work runs
 * on the main thread before it, so over LevelDB alone the store reaches about 0.7 of raw
 * puts. Over the value log, as a node runs it, 0.80-0.89: LevelDB then writes 13-byte
 * pointers, not the values (docs/performance.md has the figures). What was cut,
 * and why it cost: abstract-level copies an options object into every operation of an
 * array batch through a spread that V8 runs slowly whenever the object has a property,
 * so unsynced batches pass none (a synced one is a chained batch, whose write options
 * are not copied); the filter hashed each key twice with xxh64 in JavaScript (0.7 µs a
 * hash), and mapped its probes with `%` on uint32 values, which V8 computes in floating
 * point; every object had its own buffer and every caller a closure. A commit now sizes
 * each object when its update runs (so a malformed object fails its own call) and
 * encodes each key's final state once, at the end, into one buffer for the whole batch,
 * which the next commit reuses when the engine copies what it is given (LevelEngine);
 * the engine gets views of it. Splitting a large call into smaller engine batches, so
 * that encoding one overlaps LevelDB's write of the one before, was measured and left
 * out: every engine call costs tens of microseconds of the main thread, more than the
 * overlap saves.
 *
 * ## Read cache
 *
 * A bounded LRU of decoded objects (and of "known absent"), bounded by count and bytes.
 * Commits write their results into it after the batch lands, so it always holds
 * committed state. A `get` that read the engine while a commit on the same key was
 * landing does not cache what it read (it may be older than the commit).
 *
 * A node runs it empty by default (`storeCacheEntriesMax` = 0; `SHOAL_READ_CACHE_ENTRIES`
 * turns it on), as Cassandra ships its row cache off: measured under load, the cached
 * objects cost the process four times their accounted bytes in resident memory and
 * pushed it into its tightest garbage-collection step, which cost more throughput than
 * the hits saved (a hit saves a LevelDB read of a few microseconds).
 *
 * ## Durability model of MemoryEngine
 *
 * A batch is applied to the `MemoryBacking` when its promise resolves, never earlier, so
 * `crash()` before that loses it, exactly as a killed process loses a write that had not
 * reached the engine. The backing survives the engine, and a new engine reopens it.
 */
export { compareBytes } from './engine.js';
export type { BatchOptions, Engine, EngineName, EngineOp, EngineRange, EngineReadStats } from './engine.js';
export { MemoryBacking, MemoryEngine } from './memory.js';
export { LevelEngine, levelOpenOptions } from './level.js';
export type { LevelEngineOptions } from './level.js';
export { decodeObject, encodeObject, decodeHint, encodeHint, FORMAT_HINT, FORMAT_OBJECT } from './codec.js';
export type { CodecContext, HintRecord } from './codec.js';
export { hintKey, hintId, metaKey, objectKey, objectKeyName, OBJECT_KEY_PREFIX_BYTES, partitionRange, SAVED_META_PREFIX, savedStateKey, NS_ANTIENTROPY, NS_HINT, NS_META, NS_OBJECT, NS_TRANSFER } from './keys.js';
export { ObjectStore, REMOVE } from './object-store.js';
export type { Hint, ObjectStoreOptions, StoreStats, UpdateFailure, UpdateFn, UpdateItem, UpdateManyResult, UpdateOptions, UpdateResult } from './object-store.js';
export { availableMemoryBytes, createEngine, openTablesFor, prewarmBudget } from './create.js';
export type { CreateEngineOptions } from './create.js';
export { FORMAT_POINTER, ValueLogEngine, nodeValueLogFiles } from './vlog.js';
export type { ValueLogFiles, ValueLogOptions, ValueLogStats } from './vlog.js';
