import * as fs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ShoalError } from '../errors/index.js';
import {
  storeValueLogCheckpointBytes,
  storeValueLogCollectChunkBytes,
  storeValueLogCollectFloorBytes,
  storeValueLogCollectGarbageRatio,
  storeValueLogKeydirEntriesMax,
  storeValueLogKeydirWarmChunkEntries,
  storeValueLogKeydirWarmEntriesPerRecord,
  storeValueLogMinBytes,
  storeValueLogPreallocateChunkBytes,
  storeValueLogPrewarmChunkBytes,
  storeValueLogReplayChunkBytes,
  storeValueLogSegmentBytes,
  storeValueLogWriteBufferBytes,
} from '../config/index.js';
import type { BatchOptions, Engine, EngineOp, EngineRange, EngineReadStats } from './engine.js';
import { NS_META, NS_OBJECT } from './keys.js';

/**
 * Value separation (WiscKey, Lu et al., FAST '16; Bitcask's log files): objects of
 * `minBytes` or more are appended to segment files of a value log, and the engine below
 * (LevelDB) keeps only a 13-byte pointer under the object's key. LevelDB then compacts
 * keys and pointers instead of rewriting every 1 KiB value at each level: in a node
 * overwriting 100,000 keys of 1 KiB, its compaction thread and the thread hand-offs
 * around each write were half of a put's CPU (docs/performance.md, seventh session).
 *
 * Segment file `NNNNNNNN.vlog`, a sequence of records:
 *
 *   u32be crc32(keyLen..key) | u32be keyLen | u32be valueLen | key | value
 *
 * Pointer (the value LevelDB holds for the key), format byte 0x03:
 *
 *   0x03 | u32be segment | u32be record offset | u32be valueLen
 *
 * Only object keys ('o' namespace, whose values always start 0x01 as written by the
 * ObjectStore's codec) are ever separated, so a value starting 0x03 there is a pointer.
 * Resolving a pointer reads the whole record and checks that its lengths and key are the
 * ones the pointer and the caller name; the value itself carries the object codec's own CRC. A
 * pointer that cannot be resolved (segment gone, record short or for another key) is
 * handed up unresolved, and the codec reports it as CORRUPT for that key alone.
 *
 * Ordering. A batch's records are written (one `write` for the batch, into the page
 * cache) before the engine's batch that points at them; with `sync` (`--sync`), the
 * segment is fdatasync'ed first. So after a crash of the process, and with `sync` after a
 * crash of the machine too, every pointer the engine holds names bytes written before it.
 * A record whose batch never landed is garbage. Without `sync`, a crash of the machine
 * may keep the engine's log and lose the segment's last pages (the kernel writes them
 * back in no set order): such a key reads as CORRUPT on this replica rather than as its
 * older value. Either way that mode promises nothing for writes the kernel had not yet
 * written back; the other replicas still hold the object. A batch synced with `logOnly`
 * (a metadata mark, which the store sends so only when `--sync` is off) syncs the engine's
 * log alone, and so may make earlier pointers durable ahead of their records: the same
 * loss, which that mode never promised against. As the write-ahead log (below) every
 * batch, collection's moves included, syncs its segment before its engine write.
 *
 * Write-ahead (`wal`, which a node turns on with `--sync`; WiscKey's vLog is its WAL too).
 * Each batch is appended whole: its records, then a trailer record (key `vlog.batch`, not
 * an object key, so collection treats it as garbage) holding every engine op of the batch,
 * pointers included, and a CRC over the batch's records and the trailer. The segment is
 * fdatasync'ed, and only then is the engine's batch written, not synced: one fsync per
 * commit instead of two (docs/performance.md, fifteenth pass). A batch never spans two
 * segments. So every engine write, whichever part of LevelDB's log a crash keeps, names a
 * batch already on disk in the log, and LevelDB's durable state is that after some prefix
 * of the logged batches. The checkpoint (engine key `vlog.checkpoint`, always written
 * synced) names a log position before which LevelDB holds every batch on disk: written at
 * each open in this mode (and at the first open without it after a run in it), each
 * `checkpointBytes` of log (inside that batch's engine write, then synced), by each
 * collection before it deletes a segment, before a `clear` (so that no batch from before
 * it is replayed over it) and at close. An open reads the segments from the checkpoint
 * on, in order, each up to its first torn or damaged record or failed CRC (a batch not
 * wholly on disk was never acknowledged, and nothing is appended after it: the next write
 * starts a new segment), passing over segments collection deleted; it applies the
 * batches' ops in one synced engine write with a new checkpoint, and only then serves.
 * Replaying batches the engine already holds is harmless: they are applied in order, so
 * each key ends as the last batch left it. The checkpoint also says whether the log after
 * it has trailers: a start without `wal` replays what a crashed `--sync` run logged, then
 * writes a checkpoint saying there is nothing more to look for.
 *
 * Preallocation (as the write-ahead log; PostgreSQL's WAL segments and etcd's file
 * pipeline do the same). An fdatasync after an append also commits the file system's
 * journal (the file's new length, its new blocks): three disk writes per sync here
 * against two into blocks the file already has, and about half the CPU and wall time per
 * sync (storeValueLogPreallocateChunkBytes has the figures). So the next segment is made
 * ahead of time, `next.vlog.tmp`: `segmentBytes` of zeros written on the thread pool and
 * synced, and the head moves to it (renamed to its segment name, the name made durable by
 * the next sync, as a new file's) at the first batch after it is ready. The head leaves
 * its zeros behind when it is left and at close: the file is cut at the end of its
 * records, and the next sync of the segments makes that length durable, so a segment
 * before a checkpoint always ends at its last record. After a crash the last segments
 * still end in zeros (or a torn batch, then zeros): the replay reads each segment it
 * reads up to the end of its data and cuts it there, which also lets collection read
 * such a segment whole one day. Nothing past that point is named by the engine: in this
 * mode a batch's engine write always follows the sync of its records, and batches are
 * written one at a time. (A record damaged on disk after it was synced would also end
 * the replay of its segment, and the records after it would be cut: the replicas hold
 * them, and read repair or anti-entropy bring them back.) A leftover `next.vlog.tmp` is
 * deleted at the open. Without the write-ahead log nothing is made ahead of time: no
 * commit syncs the log, and no replay would cut a crashed head.
 *
 * Garbage collection (WiscKey's): the oldest segment is read record by record; each
 * record whose key still points at it is appended to the head segment and its pointer
 * rewritten. The check and the rewrite run under the same lock as the engine's batches,
 * so a newer pointer is never overwritten. Once a segment is emptied, the head is synced
 * and a synced engine write makes the moved pointers durable, and only then is the old
 * file deleted. Readers that started before may still hold pointers into it: its file
 * stays open (unlinked) until they finish (reader epochs).
 *
 * When to collect: the store tells each write how many bytes the value it replaces had
 * (`EngineOp.replaces`), which estimates the log's garbage; `clear` counts the records its
 * range named. Collection starts once the log is over `collectFloorBytes` and the
 * estimate over `collectGarbageRatio` of it. Each collection measures its segment, whose
 * share of garbage bounds the estimate (the oldest segment holds at least the log's
 * share), and writes the estimate to the engine, as `close` does, so that a restart
 * starts from it. After a crash the writes since the last collection are not counted;
 * their garbage is found when its segments come round.
 *
 * The keydir (Bitcask's name): the pointers of recently written keys, in memory, so that a
 * read of one costs one pread and no LevelDB lookup. In a node under load a LevelDB point
 * read took ~14 µs of the main thread (3 µs in a quiet process), most of a get's storage
 * cost. An entry is set only after the engine's batch holding that pointer has landed, and
 * removed when the key is written inline, deleted or cleared, so it is never newer or older
 * than what the engine holds; reads never fill it (a read racing a write could put back a
 * stale pointer). At most `keydirEntries` (storeValueLogKeydirEntriesMax); past that the
 * oldest entries are dropped and those keys are read through the engine.
 *
 * After a start the keydir is filled from the engine's pointers in the background, a chunk
 * at a time (`storeValueLogKeydirWarmChunkEntries`) under the write lock, each chunk read
 * by a new iterator (iterators read a snapshot), so no write can land between a chunk's
 * read and its entries, and an entry a write has set is never replaced. Without it a
 * restarted node read every key it had not yet written through LevelDB: in one profile
 * after a restart, `getSync` was 10% of the main thread for the first 15 s of puts
 * (docs/performance.md, eleventh pass). The fill reads at most twice the keydir's size
 * in entries, and past its first ten steps at most storeValueLogKeydirWarmEntriesPerRecord
 * per record the log's bytes could hold: over a log of a few records beside a million
 * inline objects, it stops instead of reading 400,000 entries for them.
 *
 * After a start the segments are also read back into the page cache, newest first, up to
 * `prewarmBytes` (storeValueLogPrewarmBytesMax, bounded by the memory available), one
 * chunk at a time on the thread pool. Every put reads its key's current object first; on a
 * cold cache each of those reads is a disk read on the main thread, and the first seconds
 * after a restart ran at half speed (docs/performance.md, fourteenth pass). The bytes read
 * are dropped: only the kernel's copy is wanted (Node has no `posix_fadvise`).
 *
 * Every segment stays open (reads are one pread on a known descriptor): one file
 * descriptor per 32 MiB of log, so ~100 for a node with 1 GiB of live large objects at
 * the collection threshold, on top of LevelDB's 64 (storeOpenFilesMax).
 */
export const FORMAT_POINTER = 0x03;
export const POINTER_BYTES = 13;
const RECORD_HEADER_BYTES = 12;
const SEGMENT_NAME = /^(\d{8})\.vlog$/;
/** The segment made ahead of time (see Preallocation), until it becomes the head and takes a segment's name. */
const SPARE_NAME = 'next.vlog.tmp';
/** The object namespace, whose keys alone may hold pointers. */
const OBJECTS_FROM = Uint8Array.of(NS_OBJECT);
const OBJECTS_TO = Uint8Array.of(NS_OBJECT + 1);

/** The file operations the value log needs (node:fs by default; tests wrap them). */
export interface ValueLogFiles {
  mkdir(dir: string): void;
  list(dir: string): string[];
  /** Opens for reading and writing; `create` fails if the file exists. */
  open(path: string, create: boolean): number;
  size(fd: number): number;
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** pread on the thread pool (the read-back after a start): the event loop does not wait for the disk. */
  readAsync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** pwrite on the thread pool (the zeros of a segment made ahead of time). */
  writeAsync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Cuts the file to `length` bytes (a segment made ahead of time, at the end of its data). */
  truncate(fd: number, length: number): void;
  /** Renames a file within the directory (a segment made ahead of time becomes the head). */
  rename(from: string, to: string): void;
  /**
   * fdatasync, off the event loop: the value log waits for it without blocking the node
   * (a segment holding tens of MB not yet written back took 7-46 ms, measured).
   */
  sync(fd: number): Promise<void>;
  /** fsync of a directory (a new or deleted file's name), off the event loop. */
  syncDir(dir: string): Promise<void>;
  close(fd: number): void;
  unlink(path: string): Promise<void>;
}

export const nodeValueLogFiles: ValueLogFiles = {
  mkdir: (dir) => void fs.mkdirSync(dir, { recursive: true }),
  list: (dir) => fs.readdirSync(dir),
  open: (path, create) => fs.openSync(path, create ? 'wx+' : 'r+'),
  size: (fd) => fs.fstatSync(fd).size,
  read: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
  readAsync: (fd, buf, offset, length, position) =>
    new Promise<number>((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))),
  write: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
  writeAsync: (fd, buf, offset, length, position) =>
    new Promise<number>((resolve, reject) => fs.write(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))),
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  rename: (from, to) => fs.renameSync(from, to),
  sync: (fd) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  syncDir: async (dir) => {
    const handle = await fs.promises.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  close: (fd) => fs.closeSync(fd),
  unlink: (path) => fs.promises.unlink(path),
};

export interface ValueLogOptions {
  /** Directory of the segment files (created when missing). */
  readonly dir: string;
  /** Objects of at least this many encoded bytes go to the log (storeValueLogMinBytes). */
  readonly minBytes?: number;
  readonly segmentBytes?: number;
  readonly collectFloorBytes?: number;
  readonly collectGarbageRatio?: number;
  readonly collectChunkBytes?: number;
  readonly files?: ValueLogFiles;
  /** Most pointers kept in memory (storeValueLogKeydirEntriesMax; 0 turns the keydir off). */
  readonly keydirEntries?: number;
  /** Entries the keydir's fill after a start reads per step (storeValueLogKeydirWarmChunkEntries). */
  readonly keydirWarmChunkEntries?: number;
  /**
   * Segment bytes read back into the page cache after a start, newest first (default 0:
   * none; a node passes storeValueLogPrewarmBytesMax bounded by the memory available).
   */
  readonly prewarmBytes?: number;
  /** Bytes per read of that read-back (storeValueLogPrewarmChunkBytes). */
  readonly prewarmChunkBytes?: number;
  /** Bytes the replay at a start reads per call (storeValueLogReplayChunkBytes). */
  readonly replayChunkBytes?: number;
  /** Runs a step of collection or of the keydir's fill later (default setImmediate): neither runs inside a caller's call. */
  readonly defer?: (fn: () => void) => void;
  /**
   * The log is the write-ahead log (`--sync`; see Write-ahead): every batch is recorded
   * whole and synced before the engine's write, which is not synced; a start replays
   * what the engine may have lost. Default false.
   */
  readonly wal?: boolean;
  /** Log bytes between two checkpoints as the write-ahead log (storeValueLogCheckpointBytes). */
  readonly checkpointBytes?: number;
  /**
   * Segments are made ahead of time, zero-filled and synced, and the head moves to one as
   * soon as it is ready (see Preallocation). Default: as `wal`, the only mode that syncs
   * every commit.
   */
  readonly preallocate?: boolean;
  /** Bytes of zeros per write while making a segment ahead of time (storeValueLogPreallocateChunkBytes). */
  readonly preallocateChunkBytes?: number;
}

/** What the value log holds and has done, for metrics. */
export interface ValueLogStats {
  readonly segments: number;
  /** Bytes in segment files (live and garbage). */
  readonly bytes: number;
  /** Estimated garbage bytes (see the essay above). */
  readonly garbageBytes: number;
  readonly collections: number;
  /** Records moved to the head by collection (they were still live). */
  readonly movedRecords: number;
  readonly reclaimedBytes: number;
  /** Collections given up (an unreadable record, a storage error); the segment is kept. */
  readonly collectFailures: number;
  /** Pointers held in memory (the keydir). */
  readonly keydirEntries: number;
  /** Pointer lookups (reads and collection's checks) answered from the keydir, without the engine. */
  readonly keydirHits: number;
  /** Engine entries the keydir's fill after a start has read. */
  readonly keydirWarmed: number;
  /** Segment bytes read back into the page cache after the start. */
  readonly prewarmedBytes: number;
  /** Read-backs ended by a failed read (the rest of the log stays cold; reads still work). */
  readonly prewarmFailures: number;
  /** Checkpoints written as the write-ahead log (by bytes written, collections, clears and closes; not at opens). */
  readonly checkpoints: number;
  /** Batches replayed from the log into the engine at the start. */
  readonly replayedBatches: number;
  /** Segments made ahead of time (zero-filled and synced) that became the head. */
  readonly preallocatedSegments: number;
  /** Segments that could not be made ahead of time (the head then grows by appends). */
  readonly preallocateFailures: number;
  /** Bytes cut from the ends of segment files at the start (a zero-filled or torn tail after a crash). */
  readonly trimmedBytes: number;
}

interface Segment {
  readonly id: number;
  readonly path: string;
  fd: number;
  /** Bytes of records (the end of the data; the file may be longer while it is the head). */
  size: number;
  /** The file's length when it was made ahead of time (zero-filled), until it is cut to `size`; else 0. */
  allocated: number;
  /** Set once deleted: the file stays open until readers from before this epoch finish. */
  retiredAt: number | undefined;
  /** Collection failed on it once: it is kept and not tried again in this process. */
  skip: boolean;
}

/** A pointer's fields, or undefined when `v` is not a pointer. */
function pointerOf(key: Uint8Array, v: Uint8Array): { seg: number; off: number; len: number } | undefined {
  if (v.length !== POINTER_BYTES || v[0] !== FORMAT_POINTER || key[0] !== NS_OBJECT) return undefined;
  return { seg: u32(v, 1), off: u32(v, 5), len: u32(v, 9) };
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function putU32(b: Uint8Array, at: number, x: number): void {
  b[at] = x >>> 24;
  b[at + 1] = (x >>> 16) & 0xff;
  b[at + 2] = (x >>> 8) & 0xff;
  b[at + 3] = x & 0xff;
}

function sameBytes(a: Uint8Array, aStart: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (a[aStart + i] !== b[i]) return false;
  return true;
}

/**
 * The engine key a collection writes, synced, to make its moves durable; its value is the
 * garbage estimate (f64be) after that collection, which `close` also writes, so that a
 * restart does not forget the garbage the log holds.
 */
const GARBAGE_KEY = Uint8Array.of(NS_META, ...new TextEncoder().encode('vlog.garbage'));

/**
 * The key of a batch's trailer record (as the write-ahead log): not an object key, so
 * collection never finds it live, and no engine ever holds it.
 */
const WAL_KEY = Uint8Array.of(NS_META, ...new TextEncoder().encode('vlog.batch'));

/**
 * The engine key of the checkpoint: how far into the log the engine is known to hold
 * every batch on disk, and whether batches after it carry trailers (see Write-ahead).
 * Value: u8 flags (1: write-ahead) | u32be segment | u32be offset.
 */
const CHECKPOINT_KEY = Uint8Array.of(NS_META, ...new TextEncoder().encode('vlog.checkpoint'));

interface LogPosition {
  readonly seg: number;
  readonly off: number;
}

function checkpointOp(wal: boolean, at: LogPosition): EngineOp {
  const v = new Uint8Array(9);
  v[0] = wal ? 1 : 0;
  putU32(v, 1, at.seg);
  putU32(v, 5, at.off);
  return { type: 'put', key: CHECKPOINT_KEY, value: v };
}

function checkpointOf(v: Uint8Array | undefined): (LogPosition & { wal: boolean }) | undefined {
  if (v === undefined || v.length !== 9) return undefined;
  return { wal: (v[0]! & 1) === 1, seg: u32(v, 1), off: u32(v, 5) };
}

/**
 * Bytes of a trailer's value for `ops`, `separated` telling which of them the log keeps
 * (their engine value is then a pointer). Trailer value:
 *
 *   u32be crc | u32be count | count x (u8 type (0 put, 1 del) | u32be keyLen | key [| u32be valueLen | value])
 *
 * The CRC covers the batch's records before the trailer, then the trailer's bytes after it.
 */
function trailerBytes(ops: readonly EngineOp[], separated: (op: EngineOp) => boolean): number {
  let n = 8;
  for (const op of ops) {
    n += 5 + op.key.length;
    if (op.type === 'put') n += 4 + (separated(op) ? POINTER_BYTES : op.value.length);
  }
  return n;
}

/** The trailer's value for the engine batch `out` (pointers in place), `bytes` long. */
function encodeTrailer(out: readonly EngineOp[], bytes: number, recordsCrc: number): Uint8Array {
  const b = Buffer.allocUnsafe(bytes);
  putU32(b, 4, out.length);
  let at = 8;
  for (const op of out) {
    b[at] = op.type === 'put' ? 0 : 1;
    putU32(b, at + 1, op.key.length);
    b.set(op.key, at + 5);
    at += 5 + op.key.length;
    if (op.type === 'put') {
      putU32(b, at, op.value.length);
      b.set(op.value, at + 4);
      at += 4 + op.value.length;
    }
  }
  if (at !== bytes) throw new ShoalError('INTERNAL', `value log trailer: ${at} bytes written, ${bytes} expected`);
  putU32(b, 0, crc32(b.subarray(4), recordsCrc));
  return b;
}

/** A trailer's engine ops (copies), or undefined when it is not one this log wrote whole. */
function decodeTrailer(v: Uint8Array, recordsCrc: number): EngineOp[] | undefined {
  if (v.length < 8 || crc32(v.subarray(4), recordsCrc) !== u32(v, 0)) return undefined;
  const count = u32(v, 4);
  const out: EngineOp[] = [];
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (at + 5 > v.length) return undefined;
    const type = v[at]!;
    const keyLen = u32(v, at + 1);
    at += 5;
    if (at + keyLen > v.length) return undefined;
    // Copies (Uint8Array's slice: a Buffer's is a view), as the replay reads its next
    // records into the same buffer.
    const key = Uint8Array.prototype.slice.call(v, at, at + keyLen);
    at += keyLen;
    if (type === 1) {
      out.push({ type: 'del', key });
      continue;
    }
    if (type !== 0 || at + 4 > v.length) return undefined;
    const len = u32(v, at);
    at += 4;
    if (at + len > v.length) return undefined;
    out.push({ type: 'put', key, value: Uint8Array.prototype.slice.call(v, at, at + len) });
    at += len;
  }
  return at === v.length ? out : undefined;
}

function f64(x: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x);
  return b;
}

export class ValueLogEngine implements Engine {
  readonly batchCopies = true;
  readonly defer: ((fn: () => void) => void) | undefined;
  private readonly inner: Engine;
  private readonly dir: string;
  private readonly minBytes: number;
  private readonly segmentBytes: number;
  private readonly collectFloorBytes: number;
  private readonly collectGarbageRatio: number;
  private readonly collectChunkBytes: number;
  private readonly files: ValueLogFiles;
  private readonly later: (fn: () => void) => void;
  private readonly segments = new Map<number, Segment>();
  private head: Segment | undefined;
  /** Segments written since the last sync of them (a batch may rotate past several). */
  private unsynced = new Set<Segment>();
  /** A segment was created since the directory was last synced (its name is not durable yet). */
  private dirUnsynced = false;
  /** Syncs under way: a later sync waits for them too, so it covers every write before it. */
  private readonly syncing = new Set<Promise<void>>();
  private total = 0;
  private garbage = 0;
  /** Engine writes and collection's check-and-move run one at a time, in call order. */
  private lock: Promise<unknown> = Promise.resolve();
  private collecting: Promise<void> | undefined;
  private warming: Promise<void> | undefined;
  private prewarming: Promise<void> | undefined;
  /** Bumped at every close: a fill step left over from before it stops (close does not wait for it). */
  private generation = 0;
  private closing = false;
  private opened = false;
  private epoch = 0;
  /** Readers in progress, by the epoch they started in. */
  private readonly readers = new Map<number, number>();
  private retired: Segment[] = [];
  private buf: Buffer;
  private readonly counters = { collections: 0, movedRecords: 0, reclaimedBytes: 0, collectFailures: 0, keydirHits: 0, keydirWarmed: 0, prewarmedBytes: 0, prewarmFailures: 0, checkpoints: 0, replayedBatches: 0, preallocatedSegments: 0, preallocateFailures: 0, trimmedBytes: 0 };
  private readonly wal: boolean;
  private readonly checkpointBytes: number;
  private readonly replayChunk: number;
  private readonly preallocate: boolean;
  private readonly preallocateChunk: number;
  /** The next segment, zero-filled and synced, not yet the head (see Preallocation). */
  private spare: { readonly fd: number; readonly path: string; readonly bytes: number } | undefined;
  private preparing: Promise<void> | undefined;
  /** As the write-ahead log: the end of the last batch the engine has taken. */
  private applied: LogPosition = { seg: 0, off: 0 };
  /** Log bytes written since the last checkpoint. */
  private sinceCheckpoint = 0;
  /** Object key (latin1) -> its pointer (latin1), for keys whose engine value is that pointer. */
  private readonly keydir = new Map<string, string>();
  private readonly keydirMax: number;
  private readonly warmChunk: number;
  private readonly prewarmBytes: number;
  private readonly prewarmChunk: number;

  constructor(inner: Engine, options: ValueLogOptions) {
    this.inner = inner;
    this.dir = options.dir;
    this.minBytes = options.minBytes ?? storeValueLogMinBytes;
    this.segmentBytes = options.segmentBytes ?? storeValueLogSegmentBytes;
    this.collectFloorBytes = options.collectFloorBytes ?? storeValueLogCollectFloorBytes;
    this.collectGarbageRatio = options.collectGarbageRatio ?? storeValueLogCollectGarbageRatio;
    this.collectChunkBytes = options.collectChunkBytes ?? storeValueLogCollectChunkBytes;
    this.files = options.files ?? nodeValueLogFiles;
    this.keydirMax = options.keydirEntries ?? storeValueLogKeydirEntriesMax;
    this.warmChunk = Math.max(1, options.keydirWarmChunkEntries ?? storeValueLogKeydirWarmChunkEntries);
    this.prewarmBytes = Math.max(0, options.prewarmBytes ?? 0);
    this.prewarmChunk = Math.max(1, options.prewarmChunkBytes ?? storeValueLogPrewarmChunkBytes);
    this.later = options.defer ?? ((fn) => void setImmediate(fn));
    this.wal = options.wal === true;
    this.checkpointBytes = options.checkpointBytes ?? storeValueLogCheckpointBytes;
    this.replayChunk = Math.max(RECORD_HEADER_BYTES, options.replayChunkBytes ?? storeValueLogReplayChunkBytes);
    // Only as the write-ahead log: a crash leaves the head's zeros in its file, and only a
    // write-ahead start reads the log's last segments (the replay) and cuts them there.
    this.preallocate = this.wal && options.preallocate !== false;
    this.preallocateChunk = Math.max(1, options.preallocateChunkBytes ?? storeValueLogPreallocateChunkBytes);
    // The store gathers a turn's operations for one call, as it does for the engine below.
    this.defer = (inner as { defer?: (fn: () => void) => void }).defer;
    this.buf = Buffer.allocUnsafe(64 * 1024);
  }

  get name(): Engine['name'] {
    return this.inner.name;
  }

  get maxOpenFiles(): number | undefined {
    return this.inner.maxOpenFiles;
  }

  get readStats(): EngineReadStats | undefined {
    return this.inner.readStats;
  }

  get valueLogStats(): ValueLogStats {
    let segments = 0;
    for (const s of this.segments.values()) if (s.retiredAt === undefined) segments++;
    return { segments, bytes: this.total, garbageBytes: this.garbage, keydirEntries: this.keydir.size, ...this.counters };
  }

  async open(): Promise<void> {
    if (this.opened) return;
    await this.inner.open();
    try {
      this.files.mkdir(this.dir);
      let last = 0;
      for (const name of this.files.list(this.dir).sort()) {
        if (name === SPARE_NAME) {
          // Made ahead of time by the last run and never used: nothing points into it.
          await this.files.unlink(join(this.dir, name)).catch(() => undefined);
          continue;
        }
        const m = SEGMENT_NAME.exec(name);
        if (m === null) continue;
        const id = Number(m[1]);
        const path = join(this.dir, name);
        const fd = this.files.open(path, false);
        const size = this.files.size(fd);
        last = Math.max(last, id);
        if (size === 0) {
          // A head nothing was written to before the last stop: no pointer can name it.
          this.files.close(fd);
          await this.files.unlink(path);
          continue;
        }
        this.segments.set(id, { id, path, fd, size, allocated: 0, retiredAt: undefined, skip: false });
        this.total += size;
      }
      // Batches the engine may have lost in a crash of the machine, before anything else
      // reads it (see Write-ahead).
      const checkpoint = checkpointOf(await this.inner.get(CHECKPOINT_KEY));
      const replay = checkpoint?.wal === true ? this.replay(checkpoint) : [];
      // A new head on every open: the last one may end in a record torn by a crash, and
      // nothing is ever appended after bytes that might be torn.
      this.head = this.createSegment(last + 1);
      this.applied = { seg: this.head.id, off: 0 };
      this.sinceCheckpoint = 0;
      if (this.wal || checkpoint?.wal === true) {
        // Segments the replay cut (see Preallocation) keep their new length before a
        // checkpoint can pass them.
        if (this.unsynced.size > 0) await this.syncSegments();
        // What was replayed, and a checkpoint at the new head that says whether batches
        // after it carry trailers, in one synced write: a crash before it replays again.
        await this.inner.batch([...replay, checkpointOp(this.wal, this.applied)], { sync: true });
      }
      const saved = await this.inner.get(GARBAGE_KEY);
      if (saved !== undefined && saved.length === 8) {
        const g = new DataView(saved.buffer, saved.byteOffset, 8).getFloat64(0);
        if (Number.isFinite(g) && g > 0) this.garbage = Math.min(g, this.total);
      }
    } catch (err) {
      await this.inner.close().catch(() => undefined);
      this.closeFiles();
      throw storageError('open', this.dir, err);
    }
    this.closing = false;
    this.opened = true;
    if (this.keydirMax > 0 && this.total > 0) this.warming = this.warmKeydir();
    if (this.prewarmBytes > 0 && this.total > 0) this.prewarming = this.prewarm();
    this.prepareSpare();
  }

  /**
   * The engine ops of every batch logged whole after `from`, in order, a later op on a
   * key replacing an earlier one (see Write-ahead). A segment is read until its first
   * record that is torn or damaged, or a batch whose CRC fails: a batch whose bytes were
   * not all on disk was never acknowledged, and nothing was appended after it.
   */
  private replay(from: LogPosition): EngineOp[] {
    const ops = new Map<string, EngineOp>();
    const ids = [...this.segments.keys()].filter((id) => id >= from.seg).sort((a, b) => a - b);
    let chunk = Buffer.allocUnsafe(this.replayChunk);
    for (const id of ids) {
      const seg = this.segments.get(id)!;
      let chunkAt = 0;
      let chunkLen = 0;
      // `len` bytes at `at`, or undefined past the end of the segment; valid until the next call.
      const bytes = (at: number, len: number): Buffer | undefined => {
        if (at + len > seg.size) return undefined;
        if (at < chunkAt || at + len > chunkAt + chunkLen) {
          if (len > chunk.length) chunk = Buffer.allocUnsafe(len);
          chunkAt = at;
          chunkLen = this.files.read(seg.fd, chunk, 0, Math.min(chunk.length, seg.size - at), at);
          if (chunkLen < len) return undefined;
        }
        return chunk.subarray(at - chunkAt, at - chunkAt + len);
      };
      let at = id === from.seg ? from.off : 0;
      let crc = 0;
      for (;;) {
        const header = bytes(at, RECORD_HEADER_BYTES);
        if (header === undefined) break;
        const keyLen = u32(header, 4);
        const size = RECORD_HEADER_BYTES + keyLen + u32(header, 8);
        const rec = bytes(at, size);
        if (rec === undefined || crc32(rec.subarray(4, RECORD_HEADER_BYTES + keyLen)) !== u32(rec, 0)) break;
        const k = rec.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + keyLen);
        if (keyLen === WAL_KEY.length && sameBytes(k, 0, WAL_KEY)) {
          const batch = decodeTrailer(rec.subarray(RECORD_HEADER_BYTES + keyLen), crc);
          if (batch === undefined) break;
          for (const op of batch) ops.set(latin1(op.key), op);
          this.counters.replayedBatches++;
          crc = 0;
        } else {
          crc = crc32(rec, crc);
        }
        at += size;
      }
      // Past `at` there is nothing the engine can point at: the zeros of a segment made
      // ahead of time, or a batch never wholly synced (in this mode no engine write comes
      // before its batch's sync, and batches are written one at a time). Cut, so that
      // collection later reads the segment to its end.
      if (at < seg.size) this.trim(seg, at);
    }
    return [...ops.values()];
  }

  /** Resolves once the read-back of segments after the start has ended (or there was none). */
  whenPrewarmed(): Promise<void> {
    return this.prewarming ?? Promise.resolve();
  }

  /**
   * The read-back after a start (see the file comment): the segments that were there at
   * the open, newest first, a chunk at a time, until `prewarmBytes` are read. Each read
   * counts as a reader, so a segment collected meanwhile keeps its descriptor until the
   * read is over; a segment already retired is skipped. A failed read ends it: it only
   * warms a cache, and the reads it would have spared still work without it.
   */
  private async prewarm(): Promise<void> {
    const generation = this.generation;
    const ids = [...this.segments.keys()].sort((a, b) => b - a);
    const buf = Buffer.allocUnsafe(Math.min(this.prewarmChunk, this.prewarmBytes));
    let left = this.prewarmBytes;
    try {
      for (const id of ids) {
        for (let at = 0; left > 0; ) {
          if (this.closing || !this.opened || this.generation !== generation) return;
          const seg = this.segments.get(id);
          if (seg === undefined || seg.retiredAt !== undefined || at >= seg.size) break;
          const want = Math.min(buf.length, seg.size - at, left);
          const e = this.beginRead();
          let n: number;
          try {
            n = await this.files.readAsync(seg.fd, buf, 0, want, at);
          } finally {
            this.endRead(e);
          }
          if (n <= 0) break;
          at += n;
          left -= n;
          this.counters.prewarmedBytes += n;
        }
        if (left <= 0) return;
      }
    } catch {
      // Nothing depends on the cache being warm; the count shows an operator it stopped.
      this.counters.prewarmFailures++;
    }
  }

  /** Resolves once the keydir's fill after the start has ended (or there was none). */
  whenWarm(): Promise<void> {
    return this.warming ?? Promise.resolve();
  }

  /**
   * The keydir's fill after a start (see the file comment): a chunk per step, each step
   * after the node's other work (`later`), until the keydir is full, the pointers are
   * all read, or it has read its budget of entries: twice the keydir's size, and at most
   * storeValueLogKeydirWarmEntriesPerRecord per record the log could hold after ten
   * steps (a store of mostly small, inline objects would otherwise be read at every start
   * for few pointers).
   */
  private async warmKeydir(): Promise<void> {
    const generation = this.generation;
    const stopped = (): boolean => this.closing || !this.opened || this.generation !== generation;
    let after: Uint8Array | undefined;
    let read = 0;
    const records = Math.floor(this.total / (RECORD_HEADER_BYTES + 1 + this.minBytes));
    const budget = Math.min(2 * this.keydirMax, Math.max(10 * this.warmChunk, storeValueLogKeydirWarmEntriesPerRecord * records));
    try {
      while (read < budget) {
        await new Promise<void>((resolve) => this.later(resolve));
        if (stopped()) return;
        const step = await this.exclusive(async () => {
          if (stopped()) return { last: undefined, n: 0 };
          let last: Uint8Array | undefined;
          let n = 0;
          const range = { ...(after === undefined ? { gte: OBJECTS_FROM } : { gt: after }), lt: OBJECTS_TO, limit: this.warmChunk };
          for await (const [k, v] of this.inner.iterate(range)) {
            last = k;
            n++;
            if (pointerOf(k, v) === undefined) continue;
            const key = latin1(k);
            // A key already here was written since the start: its entry is the engine's value.
            if (!this.keydir.has(key)) this.keydir.set(key, latin1(v));
            if (this.keydir.size >= this.keydirMax) break;
          }
          return { last, n };
        });
        read += step.n;
        this.counters.keydirWarmed += step.n;
        if (step.n < this.warmChunk || step.last === undefined || this.keydir.size >= this.keydirMax) return;
        after = step.last;
      }
    } catch {
      // A failed read ends the fill; reads of the rest go through the engine, as before it.
    }
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.closing = true;
    this.generation++;
    await this.collecting;
    // Its read in flight holds a descriptor that closeFiles is about to close.
    await this.prewarming;
    await this.lock.catch(() => undefined);
    await this.preparing;
    if (this.spare !== undefined) {
      const spare = this.spare;
      this.spare = undefined;
      await this.dropSpare(spare);
    }
    if (this.head !== undefined && this.head.allocated > this.head.size) {
      // Its zeros go before the checkpoint (a start after a crash would cut them too).
      this.seal(this.head);
      await this.syncSegments().catch(() => undefined);
    }
    // As the write-ahead log, synced with a checkpoint: the next start replays nothing.
    const last: EngineOp[] = [{ type: 'put', key: GARBAGE_KEY, value: f64(this.garbage) }];
    if (this.wal) last.push(checkpointOp(true, this.applied));
    await this.inner.batch(last, this.wal ? { sync: true } : undefined).then(
      () => void (this.wal && this.counters.checkpoints++),
      () => undefined,
    );
    this.opened = false;
    this.closeFiles();
    await this.inner.close();
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const e = this.beginRead();
    try {
      const known = this.known(key);
      const v = known ?? (await this.inner.get(key));
      return v === undefined ? v : this.resolve(key, v);
    } finally {
      this.endRead(e);
    }
  }

  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    const e = this.beginRead();
    try {
      const values = await this.lookup(keys);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v !== undefined) values[i] = this.resolve(keys[i]!, v);
      }
      return values;
    } finally {
      this.endRead(e);
    }
  }

  async range(range: EngineRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    const e = this.beginRead();
    try {
      const entries = await this.inner.range(range);
      for (const entry of entries) entry[1] = this.resolve(entry[0], entry[1]);
      return entries;
    } finally {
      this.endRead(e);
    }
  }

  async *iterate(range: EngineRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    const e = this.beginRead();
    try {
      for await (const [k, v] of this.inner.iterate(range)) yield [k, this.resolve(k, v)];
    } finally {
      this.endRead(e);
    }
  }

  keys(range: EngineRange): AsyncIterable<readonly Uint8Array[]> {
    return this.inner.keys(range);
  }

  /** Deletes the range; the records its pointers named become garbage (counted first). */
  clear(range: EngineRange): Promise<void> {
    return this.exclusive(async () => {
      let dropped = 0;
      const gone: Uint8Array[] = [];
      for await (const [k, v] of this.inner.iterate(range)) {
        const ptr = pointerOf(k, v);
        if (ptr === undefined) continue;
        dropped += RECORD_HEADER_BYTES + k.length + ptr.len;
        gone.push(k);
      }
      if (this.wal) {
        // A checkpoint first: a batch logged before the clear must not be replayed over it.
        await this.inner.batch([checkpointOp(true, this.applied)], { sync: true });
        this.counters.checkpoints++;
        this.sinceCheckpoint = 0;
      }
      await this.inner.clear(range);
      // Every keydir entry is a pointer the engine held, so the scan above named them all.
      for (const k of gone) this.keydir.delete(latin1(k));
      this.garbage += dropped;
    });
  }

  batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return this.exclusive(async () => {
      await this.write(ops, options);
      this.maybeCollect();
    });
  }

  /**
   * Appends the batch's large objects to the log (and as the write-ahead log, the batch
   * itself: a trailer record), then writes the batch (with pointers) below.
   */
  private async write(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    const sync = options?.sync === true;
    const wal = this.wal;
    // A `logOnly` sync leaves the segments alone (BatchOptions.logOnly; see Ordering). As
    // the write-ahead log, every batch's bytes are synced before the engine sees it.
    const syncSegments = wal || (sync && options.logOnly !== true);
    let recordBytes = 0;
    let separated = 0;
    for (const op of ops) {
      if (op.replaces !== undefined && op.replaces >= this.minBytes) this.garbage += RECORD_HEADER_BYTES + op.key.length + op.replaces;
      if (this.separates(op)) {
        recordBytes += RECORD_HEADER_BYTES + op.key.length + op.value.length;
        separated++;
      }
    }
    if (separated === 0 && !wal) {
      // A synced batch promises that everything written before it is on disk: the
      // segments too, even when this batch adds nothing to them.
      if (syncSegments) await this.syncSegments();
      await this.inner.batch(ops, sync ? { sync } : undefined);
      // No pointers in this batch: only entries to drop, and none to drop from an empty
      // keydir (every batch of a node whose objects are all small).
      if (this.keydir.size > 0) this.remember(ops);
      return;
    }
    const trailerValueBytes = wal ? trailerBytes(ops, (op) => this.separates(op)) : 0;
    const trailerRecordBytes = wal ? RECORD_HEADER_BYTES + WAL_KEY.length + trailerValueBytes : 0;
    let seg = this.open_();
    // A batch never spans two segments (the replay reads a batch from one file); a
    // segment grows past `segmentBytes` by at most the one batch that starts it.
    // A head that was not made ahead of time gives way to one that was, once it is ready.
    if (seg.size > 0 && (seg.size + recordBytes + trailerRecordBytes > this.segmentBytes || (this.spare !== undefined && seg.allocated === 0))) {
      this.seal(seg);
      seg = this.newHead(seg.id + 1);
      this.head = seg;
    }
    const out: EngineOp[] = [];
    const pointers = separated > 0 ? new Uint8Array(POINTER_BYTES * separated) : undefined;
    let p = 0;
    let pos = 0;
    let base = seg.size;
    let crc = 0;
    for (const op of ops) {
      if (!this.separates(op)) {
        out.push(op);
        continue;
      }
      const size = RECORD_HEADER_BYTES + op.key.length + op.value.length;
      ({ base, pos } = this.room(seg, base, pos, size));
      const off = base + pos;
      pos = this.putRecord(pos, op.key, op.value);
      if (wal) crc = crc32(this.buf.subarray(pos - size, pos), crc);
      const ptr = pointers!.subarray(p, p + POINTER_BYTES);
      p += POINTER_BYTES;
      ptr[0] = FORMAT_POINTER;
      putU32(ptr, 1, seg.id);
      putU32(ptr, 5, off);
      putU32(ptr, 9, op.value.length);
      out.push({ type: 'put', key: op.key, value: ptr });
    }
    if (wal) {
      const trailer = encodeTrailer(out, trailerValueBytes, crc);
      ({ base, pos } = this.room(seg, base, pos, trailerRecordBytes));
      pos = this.putRecord(pos, WAL_KEY, trailer);
      // Dead once the engine holds the batch: collection skips it (not an object key).
      this.garbage += trailerRecordBytes;
    }
    this.flush(seg, base, pos);
    if (this.buf.length > storeValueLogWriteBufferBytes) this.buf = Buffer.allocUnsafe(64 * 1024);
    if (syncSegments) await this.syncSegments();
    if (!wal) {
      await this.inner.batch(out, sync ? { sync } : undefined);
      this.remember(out);
      return;
    }
    // The log holds the batch on disk now: the engine's write need not be synced. Every
    // `checkpointBytes` one is, with a checkpoint naming the end of this batch, which
    // bounds what a start replays.
    const end = { seg: seg.id, off: seg.size };
    this.sinceCheckpoint += recordBytes + trailerRecordBytes;
    if (this.sinceCheckpoint >= this.checkpointBytes) {
      out.push(checkpointOp(true, end));
      await this.inner.batch(out, { sync: true });
      out.pop();
      this.sinceCheckpoint = 0;
      this.counters.checkpoints++;
    } else {
      await this.inner.batch(out);
    }
    this.applied = end;
    this.remember(out);
  }

  /** Whether the log keeps `op`'s value (a large object put) rather than the engine. */
  private separates(op: EngineOp): op is Extract<EngineOp, { type: 'put' }> {
    return op.type === 'put' && op.value.length >= this.minBytes && op.key[0] === NS_OBJECT;
  }

  /**
   * Makes room for `size` more bytes in the write buffer of a batch written at `base` of
   * `seg` (`pos` bytes buffered): flushes what is buffered when it would not fit, and
   * grows the buffer for a record larger than it.
   */
  private room(seg: Segment, base: number, pos: number, size: number): { base: number; pos: number } {
    if (pos + size <= this.buf.length) return { base, pos };
    this.flush(seg, base, pos);
    if (size > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(size, this.buf.length * 2));
    return { base: base + pos, pos: 0 };
  }

  /**
   * Brings the keydir to what a batch that has just landed in the engine wrote: its
   * pointers in, every other write of an object key out. Never before the batch lands,
   * so a failed batch leaves the keydir as the engine is.
   */
  private remember(ops: readonly EngineOp[]): void {
    if (this.keydirMax <= 0) return;
    for (const op of ops) {
      if (op.key[0] !== NS_OBJECT) continue;
      const k = latin1(op.key);
      if (op.type !== 'put' || pointerOf(op.key, op.value) === undefined) {
        this.keydir.delete(k);
        continue;
      }
      if (this.keydir.size >= this.keydirMax && !this.keydir.has(k)) {
        // Full: the oldest entry goes (Map order is insertion order); its key is read
        // through the engine from now on.
        const oldest = this.keydir.keys().next();
        if (oldest.done !== true) this.keydir.delete(oldest.value);
      }
      this.keydir.set(k, latin1(op.value));
    }
  }

  /** The pointer the keydir holds for `key`, or undefined (not held: ask the engine). */
  private known(key: Uint8Array): Uint8Array | undefined {
    if (key[0] !== NS_OBJECT || this.keydir.size === 0) return undefined;
    const p = this.keydir.get(latin1(key));
    if (p === undefined) return undefined;
    this.counters.keydirHits++;
    return Buffer.from(p, 'latin1');
  }

  /** Engine values (pointers unresolved) of `keys`: from the keydir, the rest in one engine call. */
  private async lookup(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    if (this.keydir.size === 0) return this.inner.getMany(keys);
    const out = new Array<Uint8Array | undefined>(keys.length);
    let misses: number[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const p = this.known(keys[i]!);
      if (p !== undefined) out[i] = p;
      else (misses ??= []).push(i);
    }
    if (misses === undefined) return out;
    const got = await this.inner.getMany(misses.length === keys.length ? keys : misses.map((i) => keys[i]!));
    for (let j = 0; j < misses.length; j++) out[misses[j]!] = got[j];
    return out;
  }

  /** Writes one record at `pos` of the write buffer; returns the position after it. */
  private putRecord(pos: number, key: Uint8Array, value: Uint8Array): number {
    const b = this.buf;
    putU32(b, pos + 4, key.length);
    putU32(b, pos + 8, value.length);
    b.set(key, pos + RECORD_HEADER_BYTES);
    putU32(b, pos, crc32(b.subarray(pos + 4, pos + RECORD_HEADER_BYTES + key.length)));
    b.set(value, pos + RECORD_HEADER_BYTES + key.length);
    return pos + RECORD_HEADER_BYTES + key.length + value.length;
  }

  /** Writes the buffer's first `n` bytes at `base` of `seg` (which must be its end). */
  private flush(seg: Segment, base: number, n: number): void {
    if (n === 0) return;
    let done = 0;
    try {
      while (done < n) done += this.files.write(seg.fd, this.buf, done, n - done, base + done);
    } catch (err) {
      // Whatever part of it landed is garbage; the next write starts a fresh segment, so
      // that nothing is ever appended after bytes that may be partial.
      seg.size = base + done;
      this.total += done;
      if (seg === this.head) this.head = undefined;
      this.seal(seg);
      throw storageError('write', seg.path, err);
    }
    seg.size = base + n;
    this.total += n;
    this.unsynced.add(seg);
  }

  /**
   * Makes every byte written to the segments so far durable, and the names of segments
   * created so far, on the thread pool. Segments written during the sync are marked
   * unsynced again by their write; a sync still under way from an earlier call is waited
   * for, so that this one covers everything written before it was called.
   */
  private async syncSegments(): Promise<void> {
    const work: Array<Promise<void>> = [...this.syncing];
    for (const seg of this.unsynced) {
      const synced = this.files.sync(seg.fd).catch((err: unknown) => {
        // Still not known to be on disk: the next sync tries it again.
        this.unsynced.add(seg);
        return Promise.reject(storageError('sync', seg.path, err));
      });
      work.push(this.track(synced));
    }
    this.unsynced.clear();
    if (this.dirUnsynced) {
      this.dirUnsynced = false;
      work.push(
        this.track(
          this.files.syncDir(this.dir).catch((err: unknown) => {
            this.dirUnsynced = true;
            return Promise.reject(storageError('sync', this.dir, err));
          }),
        ),
      );
    }
    await Promise.all(work);
  }

  private track(p: Promise<void>): Promise<void> {
    this.syncing.add(p);
    const done = (): void => void this.syncing.delete(p);
    p.then(done, done);
    return p;
  }

  /** A new head `id`: the segment made ahead of time when one is ready, else a new empty file. */
  private newHead(id: number): Segment {
    const spare = this.spare;
    if (spare === undefined) {
      const seg = this.createSegment(id);
      this.prepareSpare();
      return seg;
    }
    this.spare = undefined;
    const path = segmentPath(this.dir, id);
    try {
      this.files.rename(spare.path, path);
    } catch (err) {
      // The file stays under its name (deleted at the next open), so no later spare is
      // made meanwhile: the head grows by appends.
      this.closeQuietly(spare.fd);
      throw storageError('create', path, err);
    }
    // Its name is made durable by the next sync of the segments, as a new file's is.
    this.dirUnsynced = true;
    const seg: Segment = { id, path, fd: spare.fd, size: 0, allocated: spare.bytes, retiredAt: undefined, skip: false };
    this.segments.set(id, seg);
    this.counters.preallocatedSegments++;
    this.prepareSpare();
    return seg;
  }

  /**
   * Cuts a segment made ahead of time at the end of its data, once it is no longer the
   * head: every other reader of the log (collection, a replay, the read-back) reads a
   * segment to the end of its file. The next sync of the segments makes the new length
   * durable, which comes before any checkpoint that passes the segment. Best effort: a
   * failed cut fails no write (the zeros are past every pointer); such a segment is only
   * never collected (collection gives up at its first zero header).
   */
  private seal(seg: Segment): void {
    if (seg.allocated > seg.size && this.cut(seg, seg.size)) seg.allocated = 0;
  }

  /** Cuts a segment at `at` at the start (the replay found nothing past it; see replay); best effort, as `seal`. */
  private trim(seg: Segment, at: number): void {
    if (!this.cut(seg, at)) return;
    this.counters.trimmedBytes += seg.size - at;
    this.total -= seg.size - at;
    seg.size = at;
  }

  /** Truncates a segment's file to `at`, the new length synced with the segments; false if it failed. */
  private cut(seg: Segment, at: number): boolean {
    try {
      this.files.truncate(seg.fd, at);
    } catch {
      return false;
    }
    this.unsynced.add(seg);
    return true;
  }

  /** Starts making the next segment ahead of time, unless one is ready or under way. */
  private prepareSpare(): void {
    if (!this.preallocate || this.spare !== undefined || this.preparing !== undefined || this.closing || !this.opened) return;
    const generation = this.generation;
    this.preparing = this.makeSpare(generation)
      .catch(() => {
        // The head keeps growing by appends, as without preallocation; the next new
        // head tries again.
        this.counters.preallocateFailures++;
      })
      .finally(() => {
        this.preparing = undefined;
      });
  }

  /**
   * The next segment: `segmentBytes` of zeros written on the thread pool, a chunk at a
   * time, then fdatasync'ed, so that its blocks are allocated and written before any
   * commit syncs into them (see Preallocation).
   */
  private async makeSpare(generation: number): Promise<void> {
    const path = join(this.dir, SPARE_NAME);
    const fd = this.files.open(path, true);
    const bytes = this.segmentBytes;
    const stopped = (): boolean => this.closing || !this.opened || this.generation !== generation;
    try {
      const zeros = Buffer.alloc(Math.min(this.preallocateChunk, bytes));
      for (let at = 0; at < bytes; ) {
        if (stopped()) break;
        at += await this.files.writeAsync(fd, zeros, 0, Math.min(zeros.length, bytes - at), at);
      }
      if (!stopped()) await this.files.sync(fd);
    } catch (err) {
      await this.dropSpare({ fd, path });
      throw err;
    }
    if (stopped()) await this.dropSpare({ fd, path });
    else this.spare = { fd, path, bytes };
  }

  /** Closes and deletes a segment made ahead of time that will not be used (best effort: a leftover is deleted at the next open). */
  private async dropSpare(spare: { readonly fd: number; readonly path: string }): Promise<void> {
    this.closeQuietly(spare.fd);
    await this.files.unlink(spare.path).catch(() => undefined);
  }

  /** Resolves once no segment is being made ahead of time (tests). */
  async whenPreallocated(): Promise<void> {
    while (this.preparing !== undefined) await this.preparing;
  }

  private createSegment(id: number): Segment {
    const path = segmentPath(this.dir, id);
    let fd: number;
    try {
      fd = this.files.open(path, true);
    } catch (err) {
      throw storageError('create', path, err);
    }
    // Its name is made durable by the next sync of the segments, which comes before any
    // synced engine write that could point into it.
    this.dirUnsynced = true;
    const seg: Segment = { id, path, fd, size: 0, allocated: 0, retiredAt: undefined, skip: false };
    this.segments.set(id, seg);
    return seg;
  }

  /** The head segment, making a new one after a failed write. */
  private open_(): Segment {
    if (!this.opened) throw new ShoalError('STORAGE', 'storage engine is not open');
    if (this.head === undefined) {
      let last = 0;
      for (const id of this.segments.keys()) last = Math.max(last, id);
      this.head = this.newHead(last + 1);
    }
    return this.head;
  }

  /**
   * The object a pointer names, or the pointer itself when it cannot be resolved (the
   * codec then reports CORRUPT for that key). Any other value is returned as it is.
   */
  private resolve(key: Uint8Array, v: Uint8Array): Uint8Array {
    const ptr = pointerOf(key, v);
    if (ptr === undefined) return v;
    const seg = this.segments.get(ptr.seg);
    const size = RECORD_HEADER_BYTES + key.length + ptr.len;
    if (seg === undefined || ptr.off + size > seg.size) return v;
    const rec = Buffer.allocUnsafe(size);
    let n: number;
    try {
      n = this.files.read(seg.fd, rec, 0, size, ptr.off);
    } catch (err) {
      throw storageError('read', seg.path, err);
    }
    // The header's CRC covers exactly the two lengths and the key, which are compared
    // here with what the pointer and the caller say, so it is not checked again (it is
    // for collection, which reads records without knowing what they should hold). The
    // value carries the object codec's own CRC.
    if (n !== size || u32(rec, 4) !== key.length || u32(rec, 8) !== ptr.len || !sameBytes(rec, RECORD_HEADER_BYTES, key)) return v;
    return rec.subarray(RECORD_HEADER_BYTES + key.length);
  }

  private beginRead(): number {
    const e = this.epoch;
    this.readers.set(e, (this.readers.get(e) ?? 0) + 1);
    return e;
  }

  private endRead(e: number): void {
    const n = (this.readers.get(e) ?? 1) - 1;
    if (n > 0) {
      this.readers.set(e, n);
      return;
    }
    this.readers.delete(e);
    this.sweep();
  }

  /** Closes retired segments no reader can still hold a pointer into. */
  private sweep(): void {
    if (this.retired.length === 0) return;
    let oldest = Infinity;
    for (const e of this.readers.keys()) oldest = Math.min(oldest, e);
    this.retired = this.retired.filter((s) => {
      if (s.retiredAt! >= oldest) return true;
      this.closeFd(s);
      this.segments.delete(s.id);
      return false;
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private maybeCollect(): void {
    if (this.collecting !== undefined || this.closing) return;
    if (this.total < this.collectFloorBytes || this.garbage < this.collectGarbageRatio * this.total) return;
    let oldest: Segment | undefined;
    for (const s of this.segments.values()) {
      if (s === this.head || s.retiredAt !== undefined || s.skip) continue;
      if (oldest === undefined || s.id < oldest.id) oldest = s;
    }
    if (oldest === undefined) return;
    const seg = oldest;
    this.collecting = new Promise<void>((resolve) => {
      this.later(() => {
        this.collect(seg)
          .catch(() => {
            seg.skip = true;
            this.counters.collectFailures++;
          })
          .finally(() => {
            this.collecting = undefined;
            resolve();
          });
      });
    });
  }

  /** Resolves once no collection is running (one started by a write runs in the background). */
  async settled(): Promise<void> {
    while (this.collecting !== undefined) await this.collecting;
  }

  /**
   * Collects, oldest first, every segment older than the head as it is now (tests; an
   * operator's compaction); returns how many. Live records move to the head, so this ends
   * even when everything is live.
   */
  async collectAll(): Promise<number> {
    let done = 0;
    const head = this.open_().id;
    for (;;) {
      while (this.collecting !== undefined) await this.collecting;
      let oldest: Segment | undefined;
      for (const s of this.segments.values()) {
        if (s.id >= head || s.retiredAt !== undefined || s.skip) continue;
        if (oldest === undefined || s.id < oldest.id) oldest = s;
      }
      if (oldest === undefined) return done;
      const seg = oldest;
      let failed: unknown;
      const run = this.collect(seg).catch((err: unknown) => {
        seg.skip = true;
        this.counters.collectFailures++;
        failed = err;
      });
      this.collecting = run;
      await run;
      this.collecting = undefined;
      if (failed !== undefined) throw failed;
      // Stopped by a close: its segment is still there, and would be found again forever.
      if (seg.retiredAt === undefined) return done;
      done++;
    }
  }

  /** Moves the live records of `seg` to the head, then deletes it (see the essay). */
  private async collect(seg: Segment): Promise<void> {
    let pos = 0;
    let liveBytes = 0;
    let chunk = Buffer.allocUnsafe(Math.min(this.collectChunkBytes, Math.max(seg.size, 1)));
    while (pos < seg.size) {
      if (this.closing) return;
      // Read whole records from `pos`: as many as fit in a chunk, at least one.
      let n = this.files.read(seg.fd, chunk, 0, Math.min(chunk.length, seg.size - pos), pos);
      const records: Array<{ off: number; key: Uint8Array; len: number; size: number }> = [];
      let at = 0;
      while (at + RECORD_HEADER_BYTES <= n) {
        const keyLen = u32(chunk, at + 4);
        const len = u32(chunk, at + 8);
        const size = RECORD_HEADER_BYTES + keyLen + len;
        if (at + RECORD_HEADER_BYTES + keyLen > n && records.length > 0) break;
        if (at + size > n) {
          if (records.length > 0) break;
          if (pos + size > seg.size) throw new ShoalError('CORRUPT', `value log ${seg.path}: record at ${pos} runs past the end`);
          // One record larger than the chunk: read it whole.
          chunk = Buffer.allocUnsafe(size);
          n = this.files.read(seg.fd, chunk, 0, size, pos);
          if (n !== size) throw new ShoalError('CORRUPT', `value log ${seg.path}: short read at ${pos}`);
          continue;
        }
        if (crc32(chunk.subarray(at + 4, at + RECORD_HEADER_BYTES + keyLen)) !== u32(chunk, at)) {
          throw new ShoalError('CORRUPT', `value log ${seg.path}: damaged record header at ${pos + at}`);
        }
        records.push({ off: pos + at, key: Uint8Array.prototype.slice.call(chunk, at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + keyLen), len, size });
        at += size;
      }
      if (records.length === 0) throw new ShoalError('CORRUPT', `value log ${seg.path}: unreadable record at ${pos}`);
      const base = chunk;
      const startPos = pos;
      liveBytes += await this.exclusive(async () => {
        // Only an object key can hold a pointer: a batch's trailer (write-ahead) is never
        // live, and asking the engine for it would cost a read per batch.
        const objects = records.filter((r) => r.key[0] === NS_OBJECT);
        const current = objects.length === 0 ? [] : await this.lookup(objects.map((r) => r.key));
        const moves: EngineOp[] = [];
        let live = 0;
        for (let i = 0; i < objects.length; i++) {
          const r = objects[i]!;
          const v = current[i];
          const ptr = v === undefined ? undefined : pointerOf(r.key, v);
          if (ptr === undefined || ptr.seg !== seg.id || ptr.off !== r.off) continue;
          const from = r.off - startPos + RECORD_HEADER_BYTES + r.key.length;
          moves.push({ type: 'put', key: r.key, value: base.subarray(from, from + r.len) });
          live += r.size;
        }
        if (moves.length > 0) {
          // The same path as a store write: appended to the head, pointers rewritten.
          await this.write(moves);
          this.counters.movedRecords += moves.length;
        }
        return live;
      });
      pos = records[records.length - 1]!.off + records[records.length - 1]!.size;
      // Let the node's own work run between chunks.
      await new Promise<void>((r) => this.later(r));
    }
    if (this.closing) return;
    // The oldest segment holds at least the log's share of garbage (overwrites only age),
    // so its measured share bounds the estimate. Without that bound an estimate that ran
    // ahead (objects that were inline before the log was on also report `replaces`) would
    // keep collection moving live records round and round.
    const dead = seg.size - liveBytes;
    const garbageAfter = (): number => Math.max(0, Math.min(this.garbage - dead, (dead / Math.max(seg.size, 1)) * (this.total - seg.size)));
    // Make the moves durable before the only other copy goes: the head's bytes (and the
    // names of new segments), then the engine's log (a synced write flushes every write
    // before it; the moves' pointers have landed). Neither holds the write lock nor the
    // event loop: synced on the event loop, each collection stopped the node for 7-46 ms
    // per segment written since the last one (docs/performance.md, twelfth pass). A store
    // write landing meanwhile may have its pointer made durable by that engine write
    // before its record is: without `sync` that was never promised (see Ordering), and
    // with `sync` the write synced its own segments first.
    await this.syncSegments();
    // As the write-ahead log, with a checkpoint: the next start need not read the log from
    // before it (a replay passes over a missing segment, whose batches this synced write
    // has just made durable in the engine: writes run one at a time, and it is older than
    // the head).
    const moved: EngineOp[] = [{ type: 'put', key: GARBAGE_KEY, value: f64(garbageAfter()) }];
    if (this.wal) moved.push(checkpointOp(true, this.applied));
    await this.inner.batch(moved, { sync: true });
    if (this.wal) this.counters.checkpoints++;
    try {
      await this.files.unlink(seg.path);
      await this.files.syncDir(this.dir);
    } catch (err) {
      throw storageError('delete', seg.path, err);
    }
    seg.retiredAt = this.epoch++;
    this.retired.push(seg);
    this.garbage = garbageAfter();
    this.total -= seg.size;
    this.counters.collections++;
    this.counters.reclaimedBytes += seg.size - liveBytes;
    this.sweep();
  }

  private closeFd(s: Segment): void {
    if (s.fd < 0) return;
    this.closeQuietly(s.fd);
    s.fd = -1;
  }

  /** Closing is best effort: the descriptor is gone either way. */
  private closeQuietly(fd: number): void {
    try {
      this.files.close(fd);
    } catch {
      // Nothing to do: see above.
    }
  }

  private closeFiles(): void {
    for (const s of this.segments.values()) this.closeFd(s);
    this.keydir.clear();
    this.segments.clear();
    this.retired = [];
    this.head = undefined;
    this.unsynced.clear();
    this.total = 0;
    this.garbage = 0;
  }
}

function segmentPath(dir: string, id: number): string {
  return join(dir, `${String(id).padStart(8, '0')}.vlog`);
}

/** Bytes as a string of one char per byte: a key of the keydir, or a pointer it holds. */
function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

function storageError(what: string, path: string, err: unknown): ShoalError {
  if (err instanceof ShoalError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new ShoalError('STORAGE', `value log ${what} failed (${path}): ${reason}`, { cause: err });
}
