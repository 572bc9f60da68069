/**
 * Limits and defaults for src/store (one node's local storage). Each constant: unit last
 * in the name, a sentence on why it has its value, and what happens when it is exceeded.
 */

/**
 * Objects kept in the decoded read cache by default: none, as Cassandra ships its row
 * cache off. The cache is there (`ObjectStore`'s `cacheEntriesMax`; a node's
 * `SHOAL_READ_CACHE_ENTRIES`) for hot keys read far more often than they are written,
 * but on a node under load it cost more than it saved, in every workload we measured
 * (2026-11-27, 3 nodes, 100,000 keys of 1 KiB, 64 in flight, fresh clusters interleaved,
 * docs/performance.md fifth pass): with none, puts were 22-29% and gets 16-34% faster than
 * with 10,000 objects, uniform and zipf alike, and p99 a third shorter. A cache hit saves a
 * LevelDB read of a few microseconds (synchronous for small batches, see
 * storeSyncReadKeysMax), but every write puts its object in the cache, and the cached
 * objects cost the process ~48 MB resident for ~12 MB of accounted bytes (likely: the
 * decoded objects, value buffers allocated one by one, views into received network chunks
 * that keep whole chunks alive). That pushed a node past 90% of its soft memory limit,
 * where V8 collects its old generation ten times as often (src/node/memory.ts). Against
 * 1,000 or 2,000 objects, none was still 11-18% faster.
 */
export const storeCacheEntriesMax = 0;

/**
 * The largest read cache a node's SHOAL_READ_CACHE_ENTRIES may ask for, objects. Past any
 * useful size: the cache's bytes stay bounded by storeCacheBytesMax (64 MiB), which a
 * million objects of even 100 bytes would fill; a larger number is a typo, refused at start.
 */
export const storeCacheEntriesLimit = 1_000_000;

/**
 * Bytes of encoded objects the read cache may hold. Values may be 1 MiB each, so an
 * entry count alone could pin gigabytes; this bounds the cache at a size a small node can
 * always afford. Least recently used objects are dropped until the total fits, and an
 * object bigger than an eighth of this is not cached at all.
 */
export const storeCacheBytesMax = 64 * 1024 * 1024;

/**
 * Table files the engine keeps open (`maxOpenFiles`; LevelDB raises anything lower to 74,
 * 64 of them tables). LevelDB maps each open table file into memory, and touched pages
 * count as resident: with classic-level's default of 1,000, a node holding 1,000,000
 * keys of 100 bytes (about 80 tables of 2 MB) kept 130-190 MB of table files resident,
 * over half of issue 7's 300 MB budget. A table read after it was closed pays one open
 * and an index-block read, which the block cache then keeps.
 */
export const storeOpenFilesMax = 64;

/**
 * Share of a node's soft memory limit (SHOAL_MEMORY_SOFT_LIMIT_MB) its open table files
 * may map: a node with a larger limit keeps more tables open, `limit x share /
 * storeTableFileBytes`, never fewer than storeOpenFilesMax. At the default limit (256
 * MiB) that is the floor, 64. Measured at 1,000,000 keys of 100 bytes (about 80 tables of
 * 2 MiB a node, 2026-11-28, docs/performance.md, Growth): with 64 open, uniform reads
 * reopen tables all the time (`TableCache::FindTable` 12% of a node's CPU). With a limit
 * of 512 MiB (85 tables), gets were 4,522 / 5,348 a second against 2,710 / 3,435 at the
 * default limit and puts 2,299 / 2,435 against 1,490 / 1,557, at 293-304 MB resident
 * against 282-312 MB; part of that is the larger limit's lighter garbage collection (85
 * tables at the default limit: gets 3,712 / 4,174, puts 2,094 / 1,856, 326-364 MB). With
 * 110 (every table open): gets 6,408 / 8,708, puts 3,516 / 2,444, 375-406 MB. A third of
 * the limit leaves the rest to the heap and the engine's own memory.
 */
export const storeOpenFilesMemoryShare = 1 / 3;

/**
 * Bytes of one table file: LevelDB's default `max_file_size` (2 MiB), which the store
 * does not change. Sizes the open tables a memory limit allows (storeOpenFilesMemoryShare).
 */
export const storeTableFileBytes = 2 * 1024 * 1024;

/**
 * Open table files with no memory limit (SHOAL_MEMORY_SOFT_LIMIT_MB=0): the libraries'
 * own default. A node told not to steer its memory maps as many tables as LevelDB would.
 */
export const storeOpenFilesUnlimited = 1_000;

/**
 * LevelDB's memtable size (`writeBufferSize`), bytes; LevelDB holds up to two (one being
 * flushed). classic-level's default of 4 MiB flushes small level-0 tables often, and
 * the compactions that merge them ran on LevelDB's background thread at about a quarter
 * of a core per node under overwrites of 100,000 keys of 1 KiB. At 16 MiB, overwrites
 * of a key meet in the memtable more often and compaction has less to merge: puts at 64
 * in flight went from ~3,200 to 3,560-4,320 ops/s in that workload (32 MiB: 4,130-4,770).
 * Memory is the price: up to 2 x 16 MiB, well inside a node's budget.
 */
export const storeWriteBufferBytes = 16 * 1024 * 1024;

/**
 * Most keys one engine read may fetch synchronously, on the event loop (classic-level's
 * `getSync` per key, RocksDB's MultiGet for the batch), instead of as one `getMany` on
 * libuv's thread pool. A LevelDB read of a key whose block is cached or in the page cache
 * takes a few microseconds, while the hop to the thread pool and back costs a wake-up and
 * a context switch of the main thread on a busy machine. Measured on a 3-node cluster
 * with 100,000 keys of 1 KiB (64 in flight, three interleaved pairs of fresh clusters,
 * medians): gets 8,535 against 7,817 ops/s and
 * 194 against 215 µs of node CPU per get, p50 5.3 against 6.0 ms; puts 3-6% faster.
 * 128 keys of ~5 µs each hold the loop under a millisecond; a larger batch of misses goes
 * to the thread pool as before (and see storeSyncReadSlowMs for reads that turn slow).
 */
export const storeSyncReadKeysMax = 128;

/**
 * Milliseconds a batch of synchronous engine reads may hold the event loop: past this, the
 * batch's remaining keys go to the thread pool. Reads that slow are reaching the disk (or
 * the engine is stalled, or the main thread was preempted), and blocking on them would
 * delay every other request on the node.
 */
export const storeSyncReadSlowMs = 2;

/**
 * Slow synchronous batches in a row after which every read goes to the thread pool for
 * `storeSyncReadBackoffMs`. Not one: on a busy 2-core machine the main thread is
 * preempted now and then during a batch of fast reads (backing off at the first slow batch
 * kept 80% of a node's reads on the thread pool under load, 27 backoffs in 25 s); a disk
 * that has become the bottleneck makes every batch slow.
 */
export const storeSyncReadSlowInARow = 3;

/** Milliseconds engine reads stay on the thread pool after `storeSyncReadSlowInARow` slow batches. */
export const storeSyncReadBackoffMs = 1_000;

/**
 * Pending hints per target node. A hint is a small record (the object itself is stored
 * once), so a million is ~50 MiB of disk for a primary that is down for a long time; past
 * that we stop taking hinted writes for it: `addHint` (and `update` with a `hint`) throws
 * ShoalError('OVERLOADED'), so the coordinator counts that replica as failed and the write
 * is repaired by anti-entropy once the primary is back, instead of the disk filling up.
 */
export const hintsPerTargetMax = 1_000_000;

/**
 * Store operations (updates, removes, hints, meta writes) queued but not yet written.
 * Group commit drains the queue one engine batch at a time; if the engine falls this far
 * behind, new operations throw ShoalError('OVERLOADED') instead of queueing without bound
 * (the coordinator then counts this replica as failed for that request).
 */
export const storeQueueOpsMax = 100_000;

/**
 * Operations in one engine batch. Large batches amortise the write-ahead-log append and
 * the fsync, but one huge batch delays every caller in it; 4096 puts of 1 KiB is 4 MiB,
 * one memtable's worth. The rest of the queue goes in the next batch.
 */
export const storeBatchOpsMax = 4_096;

/**
 * Largest buffer the object store keeps from one group commit for the next (bytes). A
 * commit encodes all its objects into one buffer; over an engine that copies what it is
 * given (LevelEngine), the next commit reuses it rather than allocating a new one (an
 * allocation of ~100 KiB per commit, and the garbage collection it causes, cost about
 * 0.1 µs per update). Buffers are sized in powers of two from 64 KiB, so up to two of
 * this size (one written, one prepared) stay allocated; a larger commit gets a buffer of
 * its own that is dropped after its write.
 */
export const storeCommitBufferBytesMax = 4 * 1024 * 1024;

/**
 * Entries one `scan`/`range` call returns at most, whatever `limit` the caller asked for.
 * It bounds the memory of one call (objects may be 1 MiB); callers page on with `after`.
 */
export const storeScanEntriesMax = 10_000;

/**
 * Entries fetched per engine round trip when iterating (LevelDB iterator `nextv`). Big
 * enough to amortise the native call, small enough that an iteration that stops early has
 * read little.
 */
export const storeIterateChunkEntries = 256;

/** First capacity of the store's key filter (keys); it doubles as it fills, so this only sets the smallest footprint (~12 KiB). */
export const storeBloomInitialKeys = 8_192;
/**
 * False-positive rate of the key filter: this share of writes of new keys still pays a
 * read. A group commit reads if any one of its keys is a false positive, so the rate that
 * matters is per batch: at 1%, up to 63% of 100-key batches (13% of a node's 14-key ones)
 * paid a whole extra engine call; at 0.1%, 10% (1.4%). The price: the filter of a million
 * keys is 3.0 MB instead of 2.4 (measured).
 */
export const storeBloomFalsePositiveRate = 0.001;
/**
 * Largest key filter the store saves at a clean close, bytes (a filter of a million keys
 * is 3.0 MB; this is about 20 million). A start then reads it back instead of scanning
 * every object key (about 3 µs a key here: 3-4 s of a start at a million keys). A larger
 * filter is not saved, since one LevelDB value of that size costs more memory at the
 * open than the scan it spares is worth, and the next start scans.
 */
export const storeKeyFilterSaveBytesMax = 64 * 1024 * 1024;
/**
 * Bytes a reused RocksDB write batch may have held and still be kept for the next commit
 * (src/store/level.ts, RocksBatch). Clearing a batch keeps its buffer; a commit bigger
 * than this (many large values) gets a fresh batch afterwards, so its buffer is freed
 * instead of held for the engine's lifetime. 8 MiB is a few hundred ordinary commits.
 */
export const storeRocksBatchKeepBytesMax = 8 * 1024 * 1024;
/**
 * RocksDB's memtable budget, bytes (`--engine rocksdb`; @nxtedition/rocksdb's
 * `memtableMemoryBudget` with level compaction: memtables of a quarter of it, up to six,
 * level 1 as big as it). Its defaults (two 64 MiB memtables, ZSTD with dictionaries
 * everywhere) held a bare write loop of 1 KiB values at ~520 MB resident; with 32 MiB it
 * settled at ~175 MB, which fits the node's soft memory limit (src/config/node.ts).
 */
export const storeRocksMemtableBudgetBytes = 32 * 1024 * 1024;

/**
 * Encoded objects of at least this many bytes are kept in the value log (src/store/vlog.ts)
 * and LevelDB holds a 13-byte pointer to them; smaller ones stay inline. A pointer costs a
 * second read (one pread of the record) on every get, which only pays where the value
 * would otherwise be rewritten by several compactions: measured for 1 KiB values
 * (docs/performance.md, eighth session). Below a few hundred bytes the key, pointer and
 * record header are a large share of the value, and the growth benchmark's 100-byte
 * values stay in LevelDB as before.
 */
export const storeValueLogMinBytes = 512;

/**
 * Size a value-log segment grows to before the next one is started, bytes. Collection
 * works a segment at a time: smaller segments reclaim space in finer steps, larger ones
 * mean fewer files (each stays open). 32 MiB is ~30,000 objects of 1 KiB.
 */
export const storeValueLogSegmentBytes = 32 * 1024 * 1024;

/**
 * The value log is not collected while it holds less than this, bytes: below it, the space
 * is not worth the rewrite work (a node with 100,000 keys of 1 KiB holds ~100 MiB live).
 */
export const storeValueLogCollectFloorBytes = 128 * 1024 * 1024;

/**
 * Share of the value log estimated to be garbage at which collection starts: the log then
 * stays within about 1 / (1 - 0.7) = 3.3 times its live bytes, and the oldest segment,
 * collected first, is mostly garbage, so little is rewritten per byte reclaimed. Against
 * 0.5 (3-node cluster, 100,000 keys of 1 KiB, six 15 s put phases, 2026-11-27): puts 8-10%
 * faster, 18,000 records moved by collection per node instead of 126,000-140,000, and the
 * data directory 363 MB instead of 210 MB.
 */
export const storeValueLogCollectGarbageRatio = 0.7;

/**
 * Bytes of a segment collection reads and checks at a time, under the engine's write lock:
 * writes wait for at most one chunk's check-and-move. 128 KiB is ~115 records of 1 KiB,
 * whose pointers LevelDB then reads synchronously (storeSyncReadKeysMax) instead of on its
 * thread pool. With 1 MiB chunks put p99 was 49-57 ms; with 256 KiB, 33-48 ms (same
 * workload as above, throughput the same).
 */
export const storeValueLogCollectChunkBytes = 128 * 1024;

/**
 * Most pointers the value log keeps in memory (its keydir, as Bitcask's), entries. A key
 * whose pointer is there is read with one pread and no engine lookup; the others are read
 * through LevelDB as before. An entry is ~110 bytes of heap (a 22-byte key, measured with
 * `--expose-gc`), so 200,000 cost ~22 MB: every key of the 100,000-key benchmark, while a
 * node with millions of large objects stays bounded (the oldest entries go first). Values
 * under storeValueLogMinBytes never enter it, so the 1,000,000-key memory target (100-byte
 * values) is untouched. Measured: node CPU per get at 64 in flight 10-20% lower in four
 * pairs of fresh clusters, for 25-45 MB more per node (docs/performance.md, ninth pass).
 */
export const storeValueLogKeydirEntriesMax = 200_000;

/**
 * Engine entries the keydir's fill after a start reads per step, under the value log's
 * write lock (src/store/vlog.ts): a write waits for at most one step, about a millisecond
 * for 1,000 pointers, and 100,000 keys take 100 steps between the node's other work.
 */
export const storeValueLogKeydirWarmChunkEntries = 1_000;

/**
 * Engine entries the keydir's fill may read per record the value log could hold (its
 * bytes over the smallest record, storeValueLogMinBytes plus a header), beyond a first
 * ten steps. A store of mostly small, inline objects has a small log: its fill then stops
 * early instead of reading 2 x storeValueLogKeydirEntriesMax entries (values included)
 * for a few pointers. At a million keys of 100 bytes (a log of 36 KB from a few objects
 * with siblings), that read was about a second of a start's CPU. Reading an entry costs
 * about 3 µs here and a keydir hit saves about 14 µs of a read under load, so past 100
 * entries per possible pointer the fill costs more than the reads it could speed up.
 */
export const storeValueLogKeydirWarmEntriesPerRecord = 100;

/**
 * Most bytes of value-log segments a node reads back into the page cache after it starts,
 * newest segment first (InnoDB's buffer pool load at startup, PostgreSQL's autoprewarm).
 * A put reads the key's current object first, and after a restart, or after the host
 * evicted idle file pages (this one pages out cache untouched for a minute), each of those
 * reads went to the disk: ~70 µs each, on the main thread. The first 15 s of puts after a
 * start on a cold cache ran at 2,038-2,310/s against 4,028-4,440/s with the segments read
 * back first (docs/performance.md, fourteenth pass). 1 GiB: up to about a million
 * objects of 1 KiB, fewer with the garbage segments hold (collection starts at 70%); a
 * larger log is read only in part, newest first (collection moves live records to the
 * head, so the newest segments hold the most of them).
 */
export const storeValueLogPrewarmBytesMax = 1024 * 1024 * 1024;

/**
 * Share of the memory the kernel reports available at the start that the read-back may
 * fill (with storeValueLogPrewarmBytesMax the lower bound wins): the page cache is the
 * whole machine's, and reading more than it keeps would only evict what was read first.
 */
export const storeValueLogPrewarmMemoryShare = 0.25;

/**
 * Bytes per read of the read-back: one read at a time on libuv's thread pool, so it takes
 * one of its four threads while LevelDB's batches keep the others; ~1.5 ms per MiB here.
 */
export const storeValueLogPrewarmChunkBytes = 1024 * 1024;

/**
 * Largest write buffer the value log keeps between batches, bytes; a batch with more
 * (large values) gets a bigger one that is dropped after it.
 */
export const storeValueLogWriteBufferBytes = 4 * 1024 * 1024;

/**
 * With `--sync` the value log is the write-ahead log (src/store/vlog.ts): LevelDB's own
 * writes are not synced, and a start replays the batches logged since the last
 * checkpoint, a synced LevelDB write naming how far LevelDB is known to be on disk. One
 * is written after this many bytes of log, bytes: what a start after a crash (of the
 * process or the machine) reads at most, for one extra fsync per 32 MiB written (a few
 * seconds of puts at full speed). A replay of 32 MiB (1,824 batches) took 392-439 ms
 * here, with the segments in the page cache.
 */
export const storeValueLogCheckpointBytes = 32 * 1024 * 1024;

/** Bytes the replay at a start reads per call (a record larger than it is read whole). */
export const storeValueLogReplayChunkBytes = 1024 * 1024;

/**
 * As the write-ahead log, the next segment is made ahead of time, full of zeros written
 * and synced, so that a commit's fdatasync overwrites blocks the file already has and
 * changes no metadata (no journal commit, no extent conversion). Measured here, a loop
 * of 16 KiB writes each followed by fdatasync: 300-310 µs of machine CPU and 410-453 µs
 * of wall time per fdatasync when appending, 140-157 µs and 221-226 µs into a zero-filled
 * file (docs/performance.md, sixteenth pass). The zeros are written this many bytes per
 * call, on the thread pool: one such buffer is held while a segment is prepared.
 */
export const storeValueLogPreallocateChunkBytes = 1024 * 1024;
