import type { ValueLogStats } from './vlog.js';

/**
 * The storage engine interface: ordered raw bytes, a small subset of abstract-level.
 * Everything above it (the object codec, hints, meta, the cache, group commit) lives in
 * ObjectStore, so an engine is only a sorted map with atomic batches.
 */

/** One write in a batch. Keys and values are raw bytes; the engine may keep references. */
export type EngineOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array; readonly replaces?: number }
  | { readonly type: 'del'; readonly key: Uint8Array; readonly replaces?: number };
// `replaces`: bytes of the value the op overwrites or deletes, when the caller knows it
// (0 or absent: none, or unknown). Engines may ignore it; the value log counts its
// garbage with it (src/store/vlog.ts).

/** A key range, compared bytewise. Absent bounds are open. */
export interface EngineRange {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** At most this many entries (the whole range when absent; `range()` clamps it). */
  readonly limit?: number;
  /** Descending key order. */
  readonly reverse?: boolean;
}

export interface BatchOptions {
  /**
   * fsync before the promise resolves (`--sync`): the batch and everything written before
   * it are on disk, the records a value log keeps outside the engine's log included.
   */
  readonly sync?: boolean;
  /**
   * With `sync`: only the engine's own log is fsynced, not the records a value log keeps
   * outside it. For a small record that must outlive a machine crash but vouches for no
   * object written before it (the actor sequence's mark): syncing every segment written
   * since the last sync would hold the store's queue for tens of milliseconds, where the
   * engine's log of pointers takes one short fsync. Engines without a value log ignore it.
   */
  readonly logOnly?: boolean;
}

export type EngineName = 'memory' | 'classic-level' | 'rocksdb';

/** How an engine's reads went: synchronously on the event loop, or on a thread pool. */
export interface EngineReadStats {
  readonly syncCalls: number;
  readonly asyncCalls: number;
  /** Synchronous batches that ran past the slow threshold (several in a row start a backoff). */
  readonly slowSyncCalls: number;
}

export interface Engine {
  readonly name: EngineName;
  /**
   * True when `batch()` keeps no reference to its keys and values once its promise has
   * settled (the native engines copy them into their own write batch). The ObjectStore
   * then reuses the buffer it encodes a commit's objects into for a later commit, instead
   * of allocating one per commit. Absent means false (MemoryEngine keeps the views).
   */
  readonly batchCopies?: boolean;
  /** How the engine's reads reached its library (LevelEngine; absent elsewhere). */
  readonly readStats?: EngineReadStats;
  /** The value log's state (ValueLogEngine; absent elsewhere). */
  readonly valueLogStats?: ValueLogStats;
  /** Table files the library keeps open (LevelEngine, and a value log over one; absent elsewhere). */
  readonly maxOpenFiles?: number;
  /** Opens (creating if missing). Failure is ShoalError('STORAGE') with the reason. */
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Values in the order of `keys`, `undefined` where absent. */
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /**
   * Applies every op atomically, in order (a later op on the same key wins). When the
   * promise resolves the batch is in the engine (and on disk when `sync`); before that a
   * crash may lose it.
   */
  batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void>;
  /** Up to `range.limit` entries (clamped to `storeScanEntriesMax`), in one call. */
  range(range: EngineRange): Promise<Array<[Uint8Array, Uint8Array]>>;
  /** Streams a range in chunks; stop early by breaking out of the loop. */
  iterate(range: EngineRange): AsyncIterable<[Uint8Array, Uint8Array]>;
  /**
   * Streams only the keys of a range (no values are read: cheap over large values), in
   * order, a chunk at a time: each chunk is one read of the engine, and the caller loops
   * over it without an await per key (a pass over a million keys spent more on a promise
   * per key than on the keys themselves).
   */
  keys(range: EngineRange): AsyncIterable<readonly Uint8Array[]>;
  /** Deletes every key in the range. */
  clear(range: EngineRange): Promise<void>;
}

/** Bytewise comparison, the order every engine sorts keys in. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
