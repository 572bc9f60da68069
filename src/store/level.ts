import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ShoalError } from '../errors/index.js';
import { performance } from 'node:perf_hooks';
import {
  storeIterateChunkEntries,
  storeOpenFilesMax,
  storeRocksBatchKeepBytesMax,
  storeRocksMemtableBudgetBytes,
  storeScanEntriesMax,
  storeSyncReadBackoffMs,
  storeSyncReadKeysMax,
  storeSyncReadSlowInARow,
  storeSyncReadSlowMs,
  storeWriteBufferBytes,
} from '../config/index.js';
import type { BatchOptions, Engine, EngineOp, EngineRange, EngineReadStats } from './engine.js';

/**
 * The options a LevelEngine opens its library with. Exported so that benchmarks compare
 * the store with the raw library opened the same way: a raw side left at the library's
 * defaults (a 4 MiB memtable for classic-level against our 16 MiB) flushes and compacts
 * where the store does not, and flatters the store's share of it.
 */
export function levelOpenOptions(name: 'classic-level' | 'rocksdb', maxOpenFiles: number = storeOpenFilesMax): Record<string, unknown> {
  return {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: true,
    maxOpenFiles,
    writeBufferSize: storeWriteBufferBytes,
    // @nxtedition/rocksdb ignores writeBufferSize: its memtables are sized from this
    // budget, and only when a compaction style is named (see storeRocksMemtableBudgetBytes).
    ...(name === 'rocksdb' ? { compaction: 'level', memtableMemoryBudget: storeRocksMemtableBudgetBytes } : {}),
  };
}

/**
 * The part of abstract-level (v1 for @nxtedition/rocksdb, v3 for classic-level) we use.
 * Both libraries satisfy it with promise-returning methods. We call `getMany` even for a
 * single key because v1's `get` rejects on a missing key while v3's resolves undefined.
 */
interface LevelIterator {
  nextv(size: number): Promise<Array<[Uint8Array, Uint8Array]>>;
  close(): Promise<void>;
}
interface LevelChainedBatch {
  put(key: Uint8Array, value: Uint8Array): void;
  del(key: Uint8Array): void;
  write(options?: { sync?: boolean }): Promise<void>;
  close(): Promise<void>;
}
interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /** abstract-level v3 (classic-level) only; `supports.getSync` says whether it works. */
  getSync?(key: Uint8Array): Uint8Array | undefined;
  readonly supports?: { readonly getSync?: boolean };
  batch(ops: EngineOp[], options?: { sync?: boolean }): Promise<void>;
  batch(): LevelChainedBatch;
  iterator(options: Record<string, unknown>): LevelIterator;
  keys(options: Record<string, unknown>): { nextv(size: number): Promise<Uint8Array[]>; close(): Promise<void> };
  clear(options: Record<string, unknown>): Promise<void>;
}
type LevelCtor = new (location: string, options: Record<string, unknown>) => LevelDb;

export interface LevelEngineOptions {
  /** 'classic-level' (LevelDB, the default) or 'rocksdb' (@nxtedition/rocksdb). */
  readonly engine: 'classic-level' | 'rocksdb';
  /** Database directory; created (with parents) when missing. */
  readonly location: string;
  /** Synchronous reads of small batches (see storeSyncReadKeysMax). Default true. */
  readonly syncReads?: boolean;
  /** Overrides storeSyncReadSlowMs (tests). */
  readonly syncReadSlowMs?: number;
  /** Milliseconds on a monotonic clock (tests); default performance.now. */
  readonly now?: () => number;
  /** Table files the library keeps open (`maxOpenFiles`; default storeOpenFilesMax; see openTablesFor). */
  readonly maxOpenFiles?: number;
}

/**
 * One adapter over both abstract-level engines. Keys and values use the 'view' encoding,
 * so Uint8Arrays go in and come out without copies or string conversions.
 */
export class LevelEngine implements Engine {
  readonly name: 'classic-level' | 'rocksdb';
  readonly location: string;
  /** Both libraries copy every key and value into their native write batch during the call. */
  readonly batchCopies = true;
  private db: LevelDb | null = null;
  /** rocksdb only: one native write batch for every commit (see RocksBatch). */
  private rocks: RocksBatch | undefined;
  private readonly syncReadsWanted: boolean;
  private readonly syncReadSlowMs: number;
  private readonly now: () => number;
  readonly maxOpenFiles: number;
  /** Whether the opened library reads synchronously (classic-level 3 does). */
  private canReadSync = false;
  /** Reads stay on the thread pool until this time (after slow synchronous batches in a row). */
  private asyncReadsUntil = -Infinity;
  /** Slow synchronous batches since the last fast one. */
  private slowInARow = 0;
  private readonly reads = { syncCalls: 0, asyncCalls: 0, slowSyncCalls: 0 };
  /**
   * The ObjectStore gathers operations for one call to this engine until the end of the
   * event-loop turn (setImmediate): every call is a hop to libuv's thread pool, which on
   * a busy machine costs hundreds of microseconds of the main thread's time (the wake-up
   * of a worker thread preempts it), whatever the batch holds.
   */
  readonly defer = (fn: () => void): void => {
    setImmediate(fn);
  };

  constructor(options: LevelEngineOptions) {
    this.name = options.engine;
    this.location = options.location;
    this.syncReadsWanted = options.syncReads ?? true;
    this.syncReadSlowMs = options.syncReadSlowMs ?? storeSyncReadSlowMs;
    this.now = options.now ?? (() => performance.now());
    this.maxOpenFiles = options.maxOpenFiles ?? storeOpenFilesMax;
  }

  get readStats(): EngineReadStats {
    return { ...this.reads };
  }

  async open(): Promise<void> {
    if (this.db !== null) return;
    try {
      await mkdir(this.location, { recursive: true });
    } catch (err) {
      throw new ShoalError('STORAGE', `cannot create storage directory ${this.location}: ${messageOf(err)}`, { cause: err });
    }
    const Ctor = loadEngine(this.name);
    const db = new Ctor(this.location, levelOpenOptions(this.name, this.maxOpenFiles));
    try {
      await db.open();
    } catch (err) {
      const reason = causeChain(err);
      const locked = /lock/i.test(reason);
      throw new ShoalError(
        'STORAGE',
        locked
          ? `storage directory ${this.location} is locked by another process (is another shoal node using it?): ${reason}`
          : `cannot open ${this.name} database in ${this.location}: ${reason}`,
        { cause: err, details: { location: this.location, engine: this.name } },
      );
    }
    this.db = db;
    if (this.name === 'rocksdb') this.rocks = RocksBatch.of(db);
    this.canReadSync =
      this.syncReadsWanted &&
      (this.name === 'classic-level' ? db.supports?.getSync === true && typeof db.getSync === 'function' : this.rocks?.reads === true);
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.rocks = undefined;
    if (db !== null) await db.close();
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const [value] = await this.read([key], 'get');
    return value;
  }

  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return this.read(keys, 'getMany');
  }

  /**
   * Reads synchronously while that is cheap (see storeSyncReadKeysMax): a batch within the
   * key bound, outside a backoff. A synchronous batch that runs past storeSyncReadSlowMs
   * hands its remaining keys to the thread pool, so the event loop is never held much
   * longer than that; after storeSyncReadSlowInARow such batches in a row, every read goes
   * to the thread pool for storeSyncReadBackoffMs. One slow batch alone is usually the
   * main thread being preempted on a busy machine, not the disk.
   */
  private async read(keys: readonly Uint8Array[], what: 'get' | 'getMany'): Promise<Array<Uint8Array | undefined>> {
    if (keys.length === 0) return [];
    const db = this.open_();
    const started = this.canReadSync && keys.length <= storeSyncReadKeysMax ? this.now() : undefined;
    if (started !== undefined && started >= this.asyncReadsUntil) {
      this.reads.syncCalls++;
      let out: Array<Uint8Array | undefined>;
      let i = 0;
      let elapsed = 0;
      try {
        if (this.rocks !== undefined) {
          // RocksDB reads the batch in one MultiGet call, which cannot stop part-way.
          out = this.rocks.read(keys);
          i = keys.length;
          elapsed = this.now() - started;
        } else {
          out = new Array<Uint8Array | undefined>(keys.length);
          const getSync = db.getSync as (key: Uint8Array) => Uint8Array | undefined;
          while (i < keys.length) {
            out[i] = getSync.call(db, keys[i] as Uint8Array);
            i++;
            elapsed = this.now() - started;
            if (elapsed > this.syncReadSlowMs) break;
          }
        }
      } catch (err) {
        return storageError(what)(err);
      }
      if (elapsed <= this.syncReadSlowMs) {
        this.slowInARow = 0;
        return out;
      }
      this.reads.slowSyncCalls++;
      if (++this.slowInARow >= storeSyncReadSlowInARow) {
        this.slowInARow = 0;
        this.asyncReadsUntil = started + elapsed + storeSyncReadBackoffMs;
      }
      if (i === keys.length) return out;
      const rest = await this.readAsync(db, keys.slice(i), what);
      for (let j = 0; j < rest.length; j++) out[i + j] = rest[j];
      return out;
    }
    return this.readAsync(db, keys, what);
  }

  private async readAsync(db: LevelDb, keys: readonly Uint8Array[], what: 'get' | 'getMany'): Promise<Array<Uint8Array | undefined>> {
    this.reads.asyncCalls++;
    const values = await db.getMany(keys as Uint8Array[]).catch(storageError(what));
    // abstract-level v1 may answer null for a missing key; the interface says undefined.
    for (let i = 0; i < values.length; i++) if (values[i] === null) values[i] = undefined;
    return values;
  }

  /** Whether commits go through one reused native batch (rocksdb; see RocksBatch). */
  get reusesNativeBatch(): boolean {
    return this.rocks !== undefined;
  }

  /**
   * Without `sync`, the array form gets no options object at all: abstract-level v3
   * clones each operation as `{ ...options, ...op }`, and on Node 20's V8 that spread
   * takes a slow path whenever `options` has any property (about 3 µs per operation
   * measured, as much as LevelDB's whole write of a 1 KiB value; an empty or absent
   * options object costs nothing). With `sync`, classic-level gets a chained batch, whose
   * `write` options apply to the batch once and are never copied into each operation.
   */
  async batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    if (ops.length === 0) return;
    const db = this.open_();
    try {
      if (this.rocks !== undefined) this.rocks.write(ops, options?.sync === true);
      else if (options?.sync !== true) await db.batch(ops as EngineOp[]);
      else if (this.name === 'classic-level') {
        const b = db.batch();
        try {
          for (const op of ops) {
            if (op.type === 'put') b.put(op.key, op.value);
            else b.del(op.key);
          }
        } catch (err) {
          await b.close();
          throw err;
        }
        await b.write({ sync: true });
      } else await db.batch(ops as EngineOp[], { sync: true });
    } catch (err) {
      storageError('batch')(err);
    }
  }

  async range(range: EngineRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    const limit = Math.min(range.limit ?? storeScanEntriesMax, storeScanEntriesMax);
    const it = this.open_().iterator({ ...levelRange(range), limit });
    try {
      const out: Array<[Uint8Array, Uint8Array]> = [];
      while (out.length < limit) {
        const chunk = await it.nextv(limit - out.length);
        if (chunk.length === 0) break;
        for (const entry of chunk) out.push(entry);
      }
      return out;
    } catch (err) {
      throw storageError('range')(err);
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  async *iterate(range: EngineRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    const options: Record<string, unknown> = levelRange(range);
    if (range.limit !== undefined) options.limit = range.limit;
    const it = this.open_().iterator(options);
    try {
      for (;;) {
        let chunk: Array<[Uint8Array, Uint8Array]>;
        try {
          chunk = await it.nextv(storeIterateChunkEntries);
        } catch (err) {
          throw storageError('iterate')(err);
        }
        if (chunk.length === 0) return;
        for (const entry of chunk) yield entry;
      }
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  async *keys(range: EngineRange): AsyncIterable<readonly Uint8Array[]> {
    const options: Record<string, unknown> = levelRange(range);
    if (range.limit !== undefined) options.limit = range.limit;
    const it = this.open_().keys(options);
    try {
      for (;;) {
        let chunk: Uint8Array[];
        try {
          chunk = await it.nextv(storeIterateChunkEntries * 16);
        } catch (err) {
          throw storageError('keys')(err);
        }
        if (chunk.length === 0) return;
        yield chunk;
      }
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  async clear(range: EngineRange): Promise<void> {
    const options: Record<string, unknown> = levelRange(range);
    if (range.limit !== undefined) options.limit = range.limit;
    await this.open_().clear(options).catch(storageError('clear'));
  }

  private open_(): LevelDb {
    if (this.db === null) throw new ShoalError('STORAGE', `${this.name} database in ${this.location} is not open`);
    return this.db;
  }
}

const require = createRequire(import.meta.url);

interface RocksBinding {
  batch_init(): unknown;
  batch_put(batch: unknown, key: Uint8Array, value: Uint8Array, options: object): void;
  batch_del(batch: unknown, key: Uint8Array, options: object): void;
  batch_write(db: unknown, batch: unknown, options: { sync?: boolean }): void;
  batch_clear(batch: unknown): void;
  /** Synchronous MultiGet: a Buffer per key, undefined where absent. */
  db_get_many_sync?(db: unknown, keys: Uint8Array[], options: object): Array<Uint8Array | undefined | null>;
}

const NO_OPTIONS = {};

/**
 * @nxtedition/rocksdb (12.2) makes a new native WriteBatch for every `batch()` call and
 * frees it only when V8 collects the small JavaScript object that holds it, which V8
 * does not hurry to do: it is not told the batch's size. Measured in a bare script, 100
 * puts of 1 KiB per batch: the process grew by about 1.2 KB per put without bound (1.9 GB
 * after 1,200,000 puts over 100,000 keys), and a Shoal node on `--engine rocksdb` reached
 * 900 MB after three 15 s rounds of puts. So the engine keeps one native batch for its
 * lifetime and clears it after each write (the write is synchronous in this library, so
 * two commits never share it): the same script then stays at 360-505 MB.
 *
 * This uses the library's binding below its public API (found through the chained
 * batch's own fields); if a future version changes them, `of` returns undefined and the
 * engine falls back to the public `batch()` (and its growth).
 */
class RocksBatch {
  private constructor(
    private readonly binding: RocksBinding,
    private readonly dbContext: unknown,
    private batch: unknown,
  ) {}

  static of(db: LevelDb): RocksBatch | undefined {
    try {
      const binding = require('@nxtedition/rocksdb/binding.js') as Partial<RocksBinding>;
      if (typeof binding.batch_init !== 'function' || typeof binding.batch_put !== 'function' || typeof binding.batch_del !== 'function' || typeof binding.batch_write !== 'function' || typeof binding.batch_clear !== 'function') return undefined;
      const probe = db.batch() as unknown as Record<symbol, unknown>;
      const field = Object.getOwnPropertySymbols(probe).find((sym) => sym.description === 'dbContext');
      const dbContext = field === undefined ? undefined : probe[field];
      void (probe as unknown as LevelChainedBatch).close().catch(() => undefined);
      if (dbContext === undefined || dbContext === null) return undefined;
      return new RocksBatch(binding as RocksBinding, dbContext, binding.batch_init());
    } catch {
      return undefined;
    }
  }

  /** Whether the binding can read synchronously (`read`). */
  get reads(): boolean {
    return typeof this.binding.db_get_many_sync === 'function';
  }

  /** One synchronous MultiGet of `keys` (call only when `reads`). */
  read(keys: readonly Uint8Array[]): Array<Uint8Array | undefined> {
    const values = (this.binding.db_get_many_sync as NonNullable<RocksBinding['db_get_many_sync']>)(this.dbContext, keys as Uint8Array[], NO_OPTIONS);
    // null means the read was aborted or timed out; neither is asked for, so it is an error.
    for (const v of values) if (v === null) throw new Error('rocksdb MultiGet returned no status for a key');
    return values as Array<Uint8Array | undefined>;
  }

  write(ops: readonly EngineOp[], sync: boolean): void {
    const { binding, batch } = this;
    let bytes = 0;
    try {
      for (const op of ops) {
        if (op.type === 'put') {
          binding.batch_put(batch, op.key, op.value, NO_OPTIONS);
          bytes += op.key.length + op.value.length;
        } else binding.batch_del(batch, op.key, NO_OPTIONS);
      }
      binding.batch_write(this.dbContext, batch, sync ? { sync: true } : NO_OPTIONS);
    } finally {
      binding.batch_clear(batch);
      // Clearing keeps the batch's buffer: after an unusually big commit, start a new one
      // so those bytes are not held for the engine's lifetime.
      if (bytes > storeRocksBatchKeepBytesMax) this.batch = binding.batch_init();
    }
  }
}

/**
 * Loaded on first open, so a node on classic-level never loads the RocksDB binary (and a
 * platform without its prebuild only fails when someone asks for it).
 */
function loadEngine(name: 'classic-level' | 'rocksdb'): LevelCtor {
  try {
    if (name === 'rocksdb') return (require('@nxtedition/rocksdb') as { RocksLevel: LevelCtor }).RocksLevel;
    return (require('classic-level') as { ClassicLevel: LevelCtor }).ClassicLevel;
  } catch (err) {
    throw new ShoalError('STORAGE', `storage engine ${name} is not available on this platform: ${messageOf(err)}`, { cause: err });
  }
}

function levelRange(range: EngineRange): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (range.gt !== undefined) out.gt = range.gt;
  if (range.gte !== undefined) out.gte = range.gte;
  if (range.lt !== undefined) out.lt = range.lt;
  if (range.lte !== undefined) out.lte = range.lte;
  if (range.reverse) out.reverse = true;
  return out;
}

function storageError(what: string): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof ShoalError) throw err;
    throw new ShoalError('STORAGE', `storage ${what} failed: ${causeChain(err)}`, { cause: err });
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** abstract-level wraps the engine's own message in `cause`; the lock reason is only there. */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== undefined && e !== null; i++) {
    parts.push(messageOf(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}
