import { ShoalError, assert, isShoalError } from '../errors/index.js';
import {
  hintsPerTargetMax as hintsPerTargetMaxDefault,
  storeBatchOpsMax,
  storeBloomFalsePositiveRate,
  storeBloomInitialKeys,
  storeCacheBytesMax,
  storeCacheEntriesMax,
  storeCommitBufferBytesMax,
  storeKeyFilterSaveBytesMax,
  storeQueueOpsMax,
  storeScanEntriesMax,
} from '../config/index.js';
import { RealClock, RealRandom } from '../env/index.js';
import type { Clock, Random } from '../env/index.js';
import type { DVVSet } from '../vclock/types.js';
import { decodeHint, decodeObject, encodeHint, encodeObject, encodeObjectInto, objectSize, plainBytes } from './codec.js';
import type { BatchOptions, Engine, EngineOp } from './engine.js';
import {
  checkPartition,
  hintId,
  hintKey,
  hintSeq,
  hintTargetRange,
  hintsRange,
  metaKey,
  NS_OBJECT,
  objectKey,
  objectKeyName,
  parseHintKey,
  partitionRange,
  prefixEnd,
  SAVED_META_PREFIX,
  savedStateKey,
} from './keys.js';
import { Lru } from './lru.js';
import { ScalableBloom, bloomHash, hashHi, hashLo } from './bloom.js';

export interface ObjectStoreOptions {
  /** Read cache size in objects (default `storeCacheEntriesMax`); 0 disables the cache. */
  readonly cacheEntriesMax?: number;
  /** Read cache size in encoded bytes (default `storeCacheBytesMax`). */
  readonly cacheBytesMax?: number;
  /** fsync every batch before its callers hear back (`--sync`). */
  readonly sync?: boolean;
  /** Source of the storage epoch (seeded in the simulator). */
  readonly random?: Random;
  /** Time stamped on hints when `update` is not given `now`. */
  readonly clock?: Clock;
  /** Pending hints per target before `addHint` throws OVERLOADED (default `hintsPerTargetMax`). */
  readonly hintsPerTargetMax?: number;
  /** Queued operations before new ones throw OVERLOADED (default `storeQueueOpsMax`). */
  readonly queueOpsMax?: number;
  /** Operations per engine batch (default `storeBatchOpsMax`). */
  readonly batchOpsMax?: number;
  /**
   * How long to gather operations into one engine call: the store runs `fn` once the
   * gathering is over. Default: the engine's own `defer` when it has one (LevelEngine:
   * the rest of the event-loop turn), else a microtask (memory engines, the simulator:
   * no real timers, same order every run).
   */
  readonly defer?: (fn: () => void) => void;
  /**
   * Keep a Bloom filter of every object key in the store (built from the keys at open,
   * then fed by every write), so an update of a key the store has never held skips the
   * read before its write. Default true; about 1.2 bytes per key.
   */
  readonly absenceFilter?: boolean;
}

/** An engine may say how long the store should gather operations for one call to it. */
interface GatheringEngine {
  readonly defer?: (fn: () => void) => void;
}

export interface UpdateOptions {
  /** Record, in the same batch, a durable hint that this key is owed to node `hint`. */
  readonly hint?: string;
  /** Wall-clock ms stamped on the hint (default: the store's clock). */
  readonly now?: number;
  /**
   * Treat a stored object that cannot be read (CORRUPT) as absent instead of failing:
   * for writes that carry a whole replica's state (replica writes, read repair,
   * anti-entropy), which replace what this replica can no longer read. Without it, a
   * corrupt object fails every update until it is removed, so repairs could never heal it.
   */
  readonly replaceCorrupt?: boolean;
}

export interface UpdateResult {
  readonly before: DVVSet | undefined;
  /** The stored object afterwards (equal to `before` when unchanged). */
  readonly after: DVVSet | undefined;
  readonly changed: boolean;
}

/** One read-modify-write of `updateMany`: `update(partition, key, fn)` without a hint. */
export interface UpdateItem {
  readonly partition: number;
  readonly key: string;
  readonly fn: UpdateFn;
}

/**
 * The outcome of one `updateMany` item that failed on its own (the error `update()` would
 * have rejected with: its function threw, its key is malformed or its stored object
 * corrupt, or the engine batch holding it failed). The other items are not affected.
 */
export interface UpdateFailure {
  readonly error: unknown;
}

/** One `updateMany` result per item: tell them apart with `'error' in result`. */
export type UpdateManyResult = UpdateResult | UpdateFailure;

export interface Hint {
  /** Sorts by time of recording; pass it back to `deleteHint`. */
  readonly id: Uint8Array;
  readonly partition: number;
  readonly key: string;
  /** Wall-clock ms when recorded. */
  readonly ts: number;
}

export interface StoreStats {
  cacheHits: number;
  cacheMisses: number;
  cacheEntries: number;
  cacheBytes: number;
  /** Records written to the engine (objects, removes, hints, meta). */
  writes: number;
  /** Engine batches written (group commits). */
  batches: number;
  /** `update` calls that changed the object. */
  updates: number;
  /** Updates of keys never stored here, whose read the key filter skipped. */
  absentSkips: number;
  /** Operations waiting for or inside the current group commit. */
  queued: number;
  hintsPending: number;
  /** Corrupt records met (objects reported, hint records skipped and deleted). */
  corrupt: number;
  /** Corrupt objects replaced by an update with `replaceCorrupt` (a repair). */
  corruptReplaced: number;
  /** Engine read calls made synchronously on the event loop (see storeSyncReadKeysMax). */
  engineReadsSync: number;
  /** Engine read calls made on the engine's thread pool. */
  engineReadsAsync: number;
  /** Synchronous engine reads that ran past storeSyncReadSlowMs (their remaining keys went to the thread pool; storeSyncReadSlowInARow in a row send every read there for a while). */
  engineReadsSlowSync: number;
  /** Value log (src/store/vlog.ts; all 0 without one): segment files, their bytes, the garbage estimate. */
  valueLogSegments: number;
  valueLogBytes: number;
  valueLogGarbageBytes: number;
  /** Value-log segments collected, records moved by collection, bytes reclaimed, collections given up. */
  valueLogCollections: number;
  valueLogMovedRecords: number;
  valueLogReclaimedBytes: number;
  valueLogCollectFailures: number;
  /** Value-log pointers held in memory, and reads that used one (src/store/vlog.ts, the keydir). */
  valueLogKeydirEntries: number;
  valueLogKeydirHits: number;
  valueLogKeydirWarmed: number;
  valueLogPrewarmedBytes: number;
  valueLogPrewarmFailures: number;
  /** As the write-ahead log (`--sync`): checkpoints written, and batches replayed at the start. */
  valueLogCheckpoints: number;
  valueLogReplayedBatches: number;
  valueLogPreallocatedSegments: number;
  valueLogPreallocateFailures: number;
  valueLogTrimmedBytes: number;
  /** Keys counted into the key filter (0 when it is off). */
  keyFilterKeys: number;
  /** 1 when this open read the key filter back as the last clean close saved it, 0 when it scanned the keys (or the filter is off). */
  keyFilterRestored: number;
}

/** Metadata names the store keeps for itself. */
const META_EPOCH = 'store.epoch';
const META_HINT_SEQ = 'store.hintSeq';
/** The key filter as the last clean close left it (ScalableBloom.save), as saved state. */
const SAVED_KEY_FILTER = 'store.keyFilter';

/** Saved state goes only through onClose and takeSaved, whose crash argument covers it. */
function assertPlainMeta(name: string): void {
  assert(!name.startsWith(SAVED_META_PREFIX), `metadata ${name}: names starting with ${SAVED_META_PREFIX} are saved state (onClose, takeSaved)`);
}

interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/**
 * One `updateMany` call: its items are ordinary update ops that settle into one slot of
 * `results` each instead of a promise each, and the call's only promise resolves when
 * the last slot is filled.
 */
class ManyCall {
  private left: number;
  readonly results: UpdateManyResult[];
  constructor(
    n: number,
    private readonly resolve: (results: UpdateManyResult[]) => void,
  ) {
    this.left = n;
    this.results = new Array<UpdateManyResult>(n);
  }

  set(index: number, result: UpdateManyResult): void {
    this.results[index] = result;
    if (--this.left === 0) this.resolve(this.results);
  }
}

/** The resolve/reject of an op that belongs to an `updateMany` call: never called. */
function settledByCall(): void {
  assert(false, 'an updateMany item was settled through its own promise');
}

/**
 * Returned by an update function to remove the object (a conditional delete: tombstone
 * reaping and partition handoff remove a key only if it is still what they pushed).
 */
export const REMOVE: unique symbol = Symbol('shoal.store.remove');
export type UpdateFn = (current: DVVSet | undefined) => DVVSet | undefined | typeof REMOVE;

/**
 * A meta write's own sync, whatever `--sync` says: 'all' syncs its batch and everything
 * before it (the value log's segments too); 'log' only the engine's log (BatchOptions.logOnly).
 */
type MetaSync = 'none' | 'log' | 'all';
const NO_SYNC: BatchOptions = {};
const SYNC_ALL: BatchOptions = { sync: true };
const SYNC_LOG: BatchOptions = { sync: true, logOnly: true };

type Op =
  | ({
      kind: 'update';
      partition: number;
      key: string;
      ck: string;
      okey: Uint8Array;
      fn: UpdateFn;
      hint: { target: string; ts: number } | undefined;
      /** The key's state in the commit being prepared (saves a lookup per apply). */
      ks: KeyState | undefined;
      /** Set for an `updateMany` item: it settles into slot `index` of this call. */
      many: ManyCall | undefined;
      index: number;
      replaceCorrupt: boolean;
    } & Settle<UpdateResult>)
  | ({ kind: 'remove'; partition: number; key: string; ck: string; okey: Uint8Array } & Settle<void>)
  | ({ kind: 'hint'; target: string; partition: number; key: string; ts: number } & Settle<void>)
  | ({ kind: 'delHint'; target: string; hkey: Uint8Array } & Settle<void>)
  | ({ kind: 'meta'; mkey: Uint8Array; value: Uint8Array; sync: MetaSync } & Settle<void>);

/** What a commit knows about a key and the key filter. */
const FILTER_UNKNOWN = 0;
/** The filter holds the key (it was stored before): nothing to add. */
const FILTER_HAS = 1;
/** The filter said absent; the key's hash is in `hi`/`lo`, ready to add. */
const FILTER_HASHED = 2;

/** Per-key state while one group commit is being assembled. */
interface KeyState {
  /** Cache key. */
  ck: string;
  partition: number;
  key: string;
  okey: Uint8Array;
  current: DVVSet | undefined;
  /** Encoded size of `current` when it was written in this commit (encoded at the end). */
  size: number;
  /**
   * Bytes of the key's value in the engine before this commit (0: none, or not known,
   * as after a cache hit): the `replaces` of its write, for the value log's garbage count.
   */
  stored: number;
  /** Size charged to the cache for `current`. */
  bytes: number;
  corrupt: ShoalError | undefined;
  dirty: boolean;
  filter: number;
  hi: number;
  lo: number;
}

function keyState(ck: string, partition: number, key: string, okey: Uint8Array): KeyState {
  return { ck, partition, key, okey, current: undefined, size: 0, stored: 0, bytes: 0, corrupt: undefined, dirty: false, filter: FILTER_UNKNOWN, hi: 0, lo: 0 };
}

/** One batch, read and applied, ready to write. */
interface Prepared {
  readonly ops: Op[];
  readonly writes: EngineOp[];
  /** Ops to resolve once the batch is written, with `results` at the same index. */
  readonly done: Op[];
  readonly results: unknown[];
  readonly failed: Array<[Op, unknown]>;
  /** Final state of every object key the batch read or wrote. */
  readonly keys: Map<string, KeyState>;
  readonly hintDeltas: Map<string, number>;
  /** Hint keys this batch deletes (latin1 strings of their bytes). */
  readonly deletedHints: Set<string>;
  changed: number;
  /** The buffer the batch's objects are encoded into (views of it are in `writes`). */
  arena: Buffer | undefined;
  /** How a meta write in it asked its batch to be synced, whatever `--sync` says ('all' over 'log'). */
  sync: MetaSync;
}

/** The batch being written while the next one is prepared. */
interface Writing {
  readonly keys: Map<string, KeyState>;
  readonly deletedHints: Set<string>;
  /** Resolves once the batch is settled: undefined on success, else the error. */
  readonly done: Promise<unknown>;
}

/**
 * One node's object store: DVVSets by (partition, key), durable hints, metadata, a read
 * cache, and group commit. See the essay in index.ts for the layout and the reasoning.
 */
export class ObjectStore {
  private readonly cache: Lru<DVVSet | null>;
  private readonly sync: boolean;
  /** Saved-state name -> what to save under it at a clean close (one per name: the newest registration). */
  private readonly closeHooks = new Map<string, () => Uint8Array | undefined>();
  /** What the last clean close saved, taken at this open and not yet claimed (takeSaved). */
  private readonly saved = new Map<string, Uint8Array>();
  /** Names of the saved states this open found, in key order (for the node's start log). */
  private savedNames: string[] = [];
  /** An engine batch failed in this process: close hooks are not run (see onClose). */
  private batchFailed = false;
  private readonly random: Random;
  private readonly clock: Clock;
  private readonly hintsMax: number;
  private readonly queueMax: number;
  private readonly batchMax: number;
  private readonly defer: (fn: () => void) => void;
  /** Gathering lasts past the current microtasks: wait for it before each batch too, not only the first. */
  private readonly gatherTurns: boolean;
  /** The engine copies what `batch()` is given: a commit's buffer may serve a later commit. */
  private readonly reuseBuffers: boolean;
  /** A settled commit's buffer, for the next commit to encode into. */
  private spareBuffer: Buffer | undefined;

  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private epochValue: string | undefined;

  private pending: Op[] = [];
  private inFlight = 0;
  private flushing = false;
  private flushScheduled = false;
  private idleWaiters: Array<() => void> = [];
  /** Set while the pipeline waits with nothing queued: new work wakes it. */
  private wake: (() => void) | undefined;

  /** Committed hint counts per target, plus hints queued but not yet written. */
  private readonly hintCounts = new Map<string, number>();
  private readonly hintReserved = new Map<string, number>();
  private hintTotal = 0;
  private nextHintSeq = 0;

  /**
   * Cache coherence for reads racing a commit: while any `get` is reading the engine, the
   * keys each commit writes are remembered with the commit's sequence number, and a read
   * that started before that commit does not put what it read into the cache.
   */
  private commitSeq = 0;
  private readsInFlight = 0;
  private readonly recentWrites = new Map<string, number>();
  /** Cache misses waiting for this turn's engine read, by cache key. */
  private readQueue = new Map<string, { partition: number; key: string; okey: Uint8Array; settle: Array<Settle<DVVSet | undefined>> }>();
  private readScheduled = false;

  private readonly counters = { cacheHits: 0, cacheMisses: 0, writes: 0, batches: 0, updates: 0, corrupt: 0, corruptReplaced: 0, absentSkips: 0 };
  /** Every object key ever stored here (no false negatives); undefined = disabled. */
  private present: ScalableBloom | undefined;
  /** How this open got its key filter: read back as the last clean close saved it, or by a scan of every key. */
  private keyFilterFrom: 'saved' | 'scan' = 'scan';

  constructor(
    readonly engine: Engine,
    options: ObjectStoreOptions = {},
  ) {
    this.cache = new Lru(options.cacheEntriesMax ?? storeCacheEntriesMax, options.cacheBytesMax ?? storeCacheBytesMax);
    this.present = options.absenceFilter === false ? undefined : new ScalableBloom(storeBloomInitialKeys, storeBloomFalsePositiveRate);
    this.sync = options.sync === true;
    this.random = options.random ?? new RealRandom();
    this.clock = options.clock ?? new RealClock();
    this.hintsMax = options.hintsPerTargetMax ?? hintsPerTargetMaxDefault;
    this.queueMax = options.queueOpsMax ?? storeQueueOpsMax;
    this.batchMax = options.batchOpsMax ?? storeBatchOpsMax;
    const defer = options.defer ?? (engine as GatheringEngine).defer;
    this.defer = defer ?? queueMicrotask;
    this.gatherTurns = defer !== undefined;
    this.reuseBuffers = engine.batchCopies === true;
    assert(this.batchMax > 0, 'batchOpsMax must be positive');
  }

  // ------------------------------------------------------------------ lifecycle

  /** Opens the engine, loads or creates the storage epoch, and counts pending hints. */
  async open(): Promise<void> {
    assert(this.state === 'new', `ObjectStore.open() called when ${this.state}`);
    await this.engine.open();
    try {
      const stored = await this.engine.get(metaKey(META_EPOCH));
      if (stored !== undefined && stored.length > 0) {
        this.epochValue = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString('utf8');
      } else {
        const epoch = newEpoch(this.random);
        // Synced whatever --sync says: dots issued under this epoch must never outlive it.
        await this.engine.batch([{ type: 'put', key: metaKey(META_EPOCH), value: Buffer.from(epoch, 'utf8') }], { sync: true });
        this.epochValue = epoch;
      }
      await this.loadHints();
      await this.takeSavedStates();
      this.loadKeyFilter();
      await this.scanKeyFilter();
    } catch (err) {
      await this.engine.close().catch(() => undefined);
      throw err;
    }
    this.state = 'open';
  }

  /** Writes every queued operation, then closes the engine. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    const wasOpen = this.state === 'open';
    this.state = 'closing';
    if (wasOpen) {
      await this.drain();
      const entries: EngineOp[] = [];
      if (this.batchFailed) this.closeHooks.clear();
      for (const [name, produce] of this.closeHooks) {
        try {
          const value = produce();
          if (value !== undefined) entries.push({ type: 'put', key: savedStateKey(name), value });
        } catch {
          // A hook that fails saves nothing: its state is simply not carried over.
        }
      }
      // Every write has landed, so the filter holds every key the store holds (see
      // loadKeyFilter). After a failed batch it is not saved, as no hook runs then.
      const present = this.present;
      if (present !== undefined && !this.batchFailed && present.bytes <= storeKeyFilterSaveBytesMax) {
        entries.push({ type: 'put', key: savedStateKey(SAVED_KEY_FILTER), value: present.save() });
      }
      // Best effort: a failed write leaves the previous entries, which their owners
      // must already treat as possibly stale (as after a crash).
      if (entries.length > 0) await this.engine.batch(entries, { sync: true }).catch(() => undefined);
    }
    await this.engine.close();
    this.state = 'closed';
  }

  /** Resolves when nothing is queued or being written. */
  drain(): Promise<void> {
    if (this.pending.length === 0 && !this.flushing && !this.flushScheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Random id made when the database was first created; part of this node's dvv actor id. */
  get epoch(): string {
    assert(this.epochValue !== undefined, 'ObjectStore.epoch read before open()');
    return this.epochValue;
  }

  // ------------------------------------------------------------------ objects

  async get(partition: number, key: string): Promise<DVVSet | undefined> {
    this.checkOpen();
    const ck = cacheKey(partition, key);
    const hit = this.cache.get(ck);
    if (hit !== undefined) {
      this.counters.cacheHits++;
      return hit.value ?? undefined;
    }
    this.counters.cacheMisses++;
    return new Promise<DVVSet | undefined>((resolve, reject) => {
      const waiting = this.readQueue.get(ck);
      if (waiting !== undefined) {
        waiting.settle.push({ resolve, reject });
        return;
      }
      this.readQueue.set(ck, { partition, key, okey: objectKey(partition, key), settle: [{ resolve, reject }] });
      if (!this.readScheduled) {
        this.readScheduled = true;
        this.defer(() => void this.readBatch());
      }
    });
  }

  /**
   * The cache misses of one turn, read with one engine `getMany`: each engine call is a
   * hop to the engine's thread pool (a wake-up and a context switch on a busy machine),
   * which costs far more than reading one more key in the same call. Reads need no
   * order among themselves, so batches may overlap.
   */
  private async readBatch(): Promise<void> {
    this.readScheduled = false;
    const batch = this.readQueue;
    this.readQueue = new Map();
    if (batch.size === 0) return;
    const reads = [...batch.values()];
    const startSeq = this.commitSeq;
    this.readsInFlight++;
    let values: Array<Uint8Array | undefined>;
    try {
      values = await this.engine.getMany(reads.map((r) => r.okey));
    } catch (err) {
      for (const r of reads) for (const w of r.settle) w.reject(err);
      return;
    } finally {
      this.readsInFlight--;
    }
    let i = 0;
    for (const [ck, r] of batch) {
      const bytes = values[i++];
      let value: DVVSet | undefined;
      try {
        value = bytes === undefined ? undefined : this.decode(bytes, r.partition, r.key);
      } catch (err) {
        for (const w of r.settle) w.reject(err);
        continue;
      }
      // A commit that landed after this read was issued may be newer than what it saw.
      if ((this.recentWrites.get(ck) ?? -1) <= startSeq) this.cache.set(ck, value ?? null, cacheCharge(r.key, bytes?.length ?? 0));
      for (const w of r.settle) w.resolve(value);
    }
    if (this.readsInFlight === 0) this.recentWrites.clear();
  }

  /**
   * Read-modify-write of one key. `fn` sees the current object and returns the new one,
   * or `undefined` for no change; it must not throw for ordinary input (a throw rejects
   * this call only). Calls on one key run strictly one after another; calls issued in the
   * same event-loop turn share one engine batch, and each promise resolves after that
   * batch is written (and fsynced with `sync`).
   */
  update(
    partition: number,
    key: string,
    fn: UpdateFn,
    options?: UpdateOptions,
  ): Promise<UpdateResult> {
    return new Promise<UpdateResult>((resolve, reject) => {
      this.checkOpen();
      const okey = objectKey(partition, key);
      let hint: { target: string; ts: number } | undefined;
      if (options?.hint !== undefined) {
        this.reserveHint(options.hint);
        hint = { target: options.hint, ts: options.now ?? this.clock.now() };
      }
      this.enqueue(
        {
          kind: 'update',
          partition,
          key,
          ck: cacheKey(partition, key),
          okey,
          fn,
          hint,
          ks: undefined,
          many: undefined,
          index: 0,
          replaceCorrupt: options?.replaceCorrupt === true,
          resolve,
          reject,
        },
        hint?.target,
      );
    });
  }

  /**
   * `update()` of every item, as one call: the store's counterpart of an engine's array
   * batch. The items join the same group commits as `update()` calls, in array order
   * (so items on one key apply one after another, each seeing the one before, and after
   * any update of that key issued earlier), with the same guarantee: the promise
   * resolves once every item's engine batch is written (and fsynced with `sync`).
   *
   * Each item settles on its own, into its slot of the results: an UpdateResult, or an
   * UpdateFailure `{ error }` where `update()` would have rejected (its function threw, its
   * key is malformed, its stored object is corrupt, its batch failed to write). The
   * returned promise rejects only when the whole call is refused before anything is
   * queued: CLOSED (or STORAGE before `open`), OVERLOADED when the queue cannot take every
   * item now, TOO_LARGE when there are more items than the queue ever holds
   * (`queueOpsMax`). Items are not atomic together (a call may span engine batches).
   * There is no hint option: a hinted write is a coordinator's single `update()`.
   *
   * Why it exists: an `update()` costs a promise, its executor closure and its
   * resolve/reject pair, and the caller's `Promise.all` over them; a call of many items
   * costs one promise in all.
   */
  updateMany(items: readonly UpdateItem[]): Promise<UpdateManyResult[]> {
    return new Promise<UpdateManyResult[]>((resolve) => {
      this.checkOpen();
      const n = items.length;
      if (n === 0) {
        resolve([]);
        return;
      }
      if (n > this.queueMax) throw new ShoalError('TOO_LARGE', `updateMany of ${n} items; the store queue holds ${this.queueMax}`);
      this.checkQueue(n);
      const call = new ManyCall(n, resolve);
      const pending = this.pending;
      for (let i = 0; i < n; i++) {
        const { partition, key, fn } = items[i]!;
        let okey: Uint8Array;
        try {
          okey = objectKey(partition, key);
        } catch (error) {
          call.set(i, { error });
          continue;
        }
        pending.push({ kind: 'update', partition, key, ck: cacheKey(partition, key), okey, fn, hint: undefined, ks: undefined, many: call, index: i, replaceCorrupt: false, resolve: settledByCall, reject: settledByCall });
      }
      this.kick();
    });
  }

  /** Physically deletes an object (tombstone GC, dropped fallback copies, a corrupt record). */
  remove(partition: number, key: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.checkOpen();
      const okey = objectKey(partition, key);
      this.enqueue({ kind: 'remove', partition, key, ck: cacheKey(partition, key), okey, resolve, reject });
    });
  }

  /**
   * Objects of one partition in key order (bytewise UTF-8), starting after `after`, at most
   * `limit` (clamped to `storeScanEntriesMax`). A corrupt object throws CORRUPT unless
   * `skipCorrupt`, which leaves it out (and counts it in stats).
   */
  async scan(
    partition: number,
    options: { after?: string; limit?: number; skipCorrupt?: boolean } = {},
  ): Promise<Array<[string, DVVSet]>> {
    this.checkOpen();
    const limit = Math.min(options.limit ?? storeScanEntriesMax, storeScanEntriesMax);
    if (limit <= 0) return [];
    const rows = await this.engine.range({ ...partitionRange(partition, options.after), limit });
    const out: Array<[string, DVVSet]> = [];
    for (const [k, v] of rows) {
      const key = objectKeyName(k);
      try {
        out.push([key, this.decode(v, partition, key)]);
      } catch (err) {
        if (!(options.skipCorrupt === true && isShoalError(err, 'CORRUPT'))) throw err;
      }
    }
    return out;
  }

  /**
   * Streams the keys of one partition in key order, as the engine's object keys
   * (`objectKey` bytes: a 3-byte prefix, then the key's UTF-8; `objectKeyName` decodes
   * one), a chunk at a time. No value is read: over the value log, `iterate` would read
   * every object from its segment only for the key to be kept (a pread per key, for every
   * anti-entropy exchange that lists a partition's keys). Its callers look at every key
   * and keep few (anti-entropy's key pages) or only count them, so they decode only what
   * they keep and await once per chunk, not per key.
   */
  partitionKeyChunks(partition: number): AsyncIterable<readonly Uint8Array[]> {
    this.checkOpen();
    return this.engine.keys(partitionRange(partition));
  }

  /** Streams the objects of one partition in key order; corrupt ones throw CORRUPT. */
  async *partitionEntries(partition: number): AsyncIterable<[string, DVVSet]> {
    this.checkOpen();
    for await (const [k, v] of this.engine.iterate(partitionRange(partition))) {
      const key = objectKeyName(k);
      yield [key, this.decode(v, partition, key)];
    }
  }

  // ------------------------------------------------------------------ hints

  /**
   * Records that key `key` of `partition` is owed to node `target`. Throws OVERLOADED
   * when `target` already has `hintsPerTargetMax` pending hints.
   */
  addHint(target: string, partition: number, key: string, now: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.checkOpen();
      checkPartition(partition);
      this.reserveHint(target);
      this.enqueue({ kind: 'hint', target, partition, key, ts: now, resolve, reject }, target);
    });
  }

  /**
   * Up to `limit` pending hints for `target`, oldest first. A corrupt hint record is
   * skipped and deleted: the object it pointed at is still repaired by anti-entropy.
   */
  async hints(target: string, limit: number): Promise<Hint[]> {
    this.checkOpen();
    const n = Math.min(limit, storeScanEntriesMax);
    if (n <= 0) return [];
    const rows = await this.engine.range({ ...hintTargetRange(target), limit: n });
    const out: Hint[] = [];
    for (const [k, v] of rows) {
      const parsed = parseHintKey(k);
      try {
        if (parsed === undefined) throw new ShoalError('CORRUPT', 'malformed hint key');
        const h = decodeHint(v, {});
        out.push({ id: parsed.id, partition: h.partition, key: h.key, ts: h.ts });
      } catch (err) {
        if (!isShoalError(err, 'CORRUPT')) throw err;
        this.counters.corrupt++;
        if (parsed !== undefined) void this.deleteHint(target, parsed.id).catch(() => undefined);
      }
    }
    return out;
  }

  /** Deletes one hint (after delivery). Deleting an absent hint is a no-op. */
  deleteHint(target: string, id: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.checkOpen();
      this.enqueue({ kind: 'delHint', target, hkey: hintKey(target, id), resolve, reject });
    });
  }

  /** Pending (written) hints per target; targets without hints are left out. */
  hintTargets(): Map<string, number> {
    return new Map(this.hintCounts);
  }

  hintsPending(): number {
    return this.hintTotal;
  }

  // ------------------------------------------------------------------ meta

  /** Names starting with `store.` are the store's own. */
  async getMeta(name: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    assertPlainMeta(name);
    const v = await this.engine.get(metaKey(name));
    return v === undefined ? undefined : plainBytes(v);
  }

  /**
   * Writes a metadata entry in the queue's order. `sync` fsyncs its batch even without
   * `--sync` (and with it, everything queued before it): for records that must never be
   * older on disk than the writes that follow them (the actor sequence). `logOnly` with
   * `sync`: only the engine's log is synced, not the value log's segments (see
   * BatchOptions.logOnly); under `--sync` every batch syncs everything anyway.
   */
  putMeta(name: string, value: Uint8Array, options?: { readonly sync?: boolean; readonly logOnly?: boolean }): Promise<void> {
    const sync: MetaSync = options?.sync !== true ? 'none' : options.logOnly === true ? 'log' : 'all';
    assertPlainMeta(name);
    return new Promise<void>((resolve, reject) => {
      this.checkOpen();
      this.enqueue({ kind: 'meta', mkey: metaKey(name), value: Uint8Array.from(value), sync, resolve, reject });
    });
  }

  /**
   * Has `produce` called at a clean close, after the last queued write has landed and
   * before the engine closes, and what it returns (undefined: nothing) saved as the state
   * `name`, which the next open takes (takeSaved); all hooks' entries go in one synced
   * batch. Nothing can be queued by then (every call refuses CLOSED), so what `produce`
   * describes is final: for state that is only right for the store exactly as it is
   * left. A crash never calls it, and neither does a close after any engine write of
   * this process failed: the callers' reactions to that failure (a dot that left without
   * its local copy, whose key must be forgotten) may still be on their way.
   */
  onClose(name: string, produce: () => Uint8Array | undefined): void {
    // By name, the last registration winning: a state has one owner, and the map is
    // bounded by the names the code uses (two today: src/node/actors.ts and
    // src/node/antientropy.ts), however often an owner is made anew on the same store.
    this.closeHooks.set(name, produce);
  }

  /**
   * The state `name` as the clean close right before this open saved it (onClose), once:
   * the store forgets it as it hands it over. Undefined if that close saved none, if the
   * last stop was not a clean close, or if it was taken already. What it describes is the
   * store as this open found it; the writes since are the caller's to apply.
   */
  takeSaved(name: string): Uint8Array | undefined {
    this.checkOpen();
    const value = this.saved.get(name);
    this.saved.delete(name);
    return value;
  }

  /** Names of the states the last clean close saved, as this open found them (the node logs them at its start). */
  savedAtOpen(): readonly string[] {
    return this.savedNames;
  }

  stats(): StoreStats {
    const reads = this.engine.readStats;
    const vlog = this.engine.valueLogStats;
    return {
      ...this.counters,
      cacheEntries: this.cache.size,
      cacheBytes: this.cache.bytes,
      engineReadsSync: reads?.syncCalls ?? 0,
      engineReadsAsync: reads?.asyncCalls ?? 0,
      engineReadsSlowSync: reads?.slowSyncCalls ?? 0,
      valueLogSegments: vlog?.segments ?? 0,
      valueLogBytes: vlog?.bytes ?? 0,
      valueLogGarbageBytes: vlog?.garbageBytes ?? 0,
      valueLogCollections: vlog?.collections ?? 0,
      valueLogMovedRecords: vlog?.movedRecords ?? 0,
      valueLogReclaimedBytes: vlog?.reclaimedBytes ?? 0,
      valueLogCollectFailures: vlog?.collectFailures ?? 0,
      valueLogKeydirEntries: vlog?.keydirEntries ?? 0,
      valueLogKeydirHits: vlog?.keydirHits ?? 0,
      valueLogKeydirWarmed: vlog?.keydirWarmed ?? 0,
      valueLogPrewarmedBytes: vlog?.prewarmedBytes ?? 0,
      valueLogPrewarmFailures: vlog?.prewarmFailures ?? 0,
      valueLogCheckpoints: vlog?.checkpoints ?? 0,
      valueLogReplayedBatches: vlog?.replayedBatches ?? 0,
      valueLogPreallocatedSegments: vlog?.preallocatedSegments ?? 0,
      valueLogPreallocateFailures: vlog?.preallocateFailures ?? 0,
      valueLogTrimmedBytes: vlog?.trimmedBytes ?? 0,
      keyFilterKeys: this.present?.size ?? 0,
      keyFilterRestored: this.keyFilterFrom === 'saved' ? 1 : 0,
      queued: this.pending.length + this.inFlight,
      hintsPending: this.hintTotal,
    };
  }

  // ------------------------------------------------------------------ group commit

  private checkOpen(): void {
    if (this.state !== 'open') {
      throw new ShoalError(this.state === 'new' ? 'STORAGE' : 'CLOSED', `object store is ${this.state === 'new' ? 'not open' : this.state}`);
    }
  }

  private reserveHint(target: string): void {
    const n = (this.hintCounts.get(target) ?? 0) + (this.hintReserved.get(target) ?? 0);
    if (n >= this.hintsMax) {
      throw new ShoalError('OVERLOADED', `too many pending hints for ${target} (${n}, limit ${this.hintsMax})`, {
        details: { target },
      });
    }
    this.hintReserved.set(target, (this.hintReserved.get(target) ?? 0) + 1);
  }

  private releaseHint(target: string): void {
    const r = (this.hintReserved.get(target) ?? 0) - 1;
    if (r > 0) this.hintReserved.set(target, r);
    else this.hintReserved.delete(target);
  }

  private addHintCount(target: string, delta: number): void {
    const n = (this.hintCounts.get(target) ?? 0) + delta;
    if (n > 0) this.hintCounts.set(target, n);
    else this.hintCounts.delete(target);
    this.hintTotal += delta;
  }

  private enqueue(op: Op, reservedHint?: string): void {
    try {
      this.checkQueue(1);
    } catch (err) {
      if (reservedHint !== undefined) this.releaseHint(reservedHint);
      throw err;
    }
    this.pending.push(op);
    this.kick();
  }

  /** OVERLOADED unless the queue has room for `n` more operations. */
  private checkQueue(n: number): void {
    if (this.pending.length + this.inFlight + n > this.queueMax) throw new ShoalError('OVERLOADED', `store queue full (${this.queueMax} operations)`);
  }

  /** Wakes the pipeline for newly queued operations, or schedules a commit. */
  private kick(): void {
    if (this.pending.length === 0) return;
    if (this.wake !== undefined) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
    if (!this.flushing && !this.flushScheduled) {
      // Deferred (a microtask, or the engine's gathering time): every operation issued
      // meanwhile joins the batch, and with a microtask the simulator stays free of real
      // timers. Under load, operations that arrive while a batch is being written form the
      // next batch (classic group commit).
      this.flushScheduled = true;
      this.defer(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  /**
   * Drains the queue as a two-stage pipeline: while one batch is being written (on the
   * engine's own thread), the next is prepared (read, applied, encoded) on top of the
   * first one's results. Batches still reach the engine strictly one after another.
   */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    let writing: Writing | undefined;
    // The first batch was gathered before flush() ran; later ones gather here.
    let gathered = true;
    try {
      for (;;) {
        if (this.pending.length === 0) {
          if (writing === undefined) break;
          // Wait for the batch to land, or for new work to prepare in the meantime.
          const settled = await Promise.race([writing.done.then(() => true), new Promise<false>((r) => (this.wake = () => r(false)))]);
          this.wake = undefined;
          if (settled) writing = undefined;
          continue;
        }
        if (this.gatherTurns && !gathered) {
          // Each engine call is a thread-pool hop that costs far more than one more
          // operation in it: let the rest of this turn's operations join the batch.
          await new Promise<void>((r) => this.defer(r));
        }
        gathered = false;
        const ops = this.pending.length <= this.batchMax ? this.pending : this.pending.slice(0, this.batchMax);
        this.pending = ops === this.pending ? [] : this.pending.slice(this.batchMax);
        this.inFlight += ops.length;
        const prepared = await this.prepare(ops, writing);
        if (writing !== undefined) {
          const error = await writing.done;
          writing = undefined;
          if (error !== undefined) {
            // Prepared on top of a batch that never landed: its results are void too.
            if (prepared !== undefined) this.settle(prepared, error);
            continue;
          }
        }
        if (prepared === undefined) continue;
        writing = this.write(prepared);
      }
    } finally {
      this.flushing = false;
      if (this.pending.length === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /**
   * Reads what the ops need, applies them in order, and builds one batch. `prior` is the
   * batch being written meanwhile: its results count as current (they are not in the
   * engine or the cache yet). Returns undefined when the reads failed (ops are settled).
   */
  private async prepare(ops: Op[], prior: Writing | undefined): Promise<Prepared | undefined> {
    const keys = new Map<string, KeyState>();
    const reads: Uint8Array[] = [];
    const readTargets: Array<KeyState | Uint8Array> = [];
    const hintExists = new Map<string, boolean>();

    // 1. Gather the reads: each object an update needs that neither the batch in flight
    //    nor the cache knows, and each hint a delete names (to keep the counts exact).
    const present = this.present;
    const cache = this.cache;
    for (const op of ops) {
      if (op.kind === 'update') {
        let ks = keys.get(op.ck);
        if (ks !== undefined) {
          op.ks = ks;
          continue;
        }
        ks = keyState(op.ck, op.partition, op.key, op.okey);
        keys.set(op.ck, ks);
        op.ks = ks;
        const before = prior?.keys.get(op.ck);
        const hit = before === undefined ? cache.get(op.ck) : undefined;
        if (before !== undefined) {
          ks.current = before.current;
          ks.bytes = before.bytes;
          ks.stored = before.dirty ? (before.current === undefined ? 0 : before.size) : before.stored;
          ks.corrupt = before.corrupt;
          // The batch in flight added every key it writes to the filter.
          if (before.current !== undefined) ks.filter = FILTER_HAS;
        } else if (hit !== undefined) {
          this.counters.cacheHits++;
          ks.current = hit.value ?? undefined;
          // Cached objects were read from the engine or written by a commit: stored keys.
          if (ks.current !== undefined) ks.filter = FILTER_HAS;
        } else if (present !== undefined && this.neverStored(present, ks)) {
          // Never stored here: nothing to read (the filter has no false negatives).
          this.counters.absentSkips++;
        } else {
          // The filter holds it (or is off); the read decides whether it exists.
          ks.filter = FILTER_HAS;
          this.counters.cacheMisses++;
          reads.push(op.okey);
          readTargets.push(ks);
        }
      } else if (op.kind === 'delHint') {
        const hk = bytesKey(op.hkey);
        if (!hintExists.has(hk)) {
          if (prior?.deletedHints.has(hk) === true) {
            hintExists.set(hk, false);
          } else {
            hintExists.set(hk, false);
            reads.push(op.hkey);
            readTargets.push(op.hkey);
          }
        }
      }
    }
    if (reads.length > 0) {
      let values: Array<Uint8Array | undefined>;
      try {
        values = await this.engine.getMany(reads);
      } catch (err) {
        this.failAll(ops, err, 'read');
        this.inFlight -= ops.length;
        return undefined;
      }
      for (let i = 0; i < reads.length; i++) {
        const target = readTargets[i]!;
        const v = values[i];
        if (target instanceof Uint8Array) {
          hintExists.set(bytesKey(target), v !== undefined);
        } else if (v !== undefined) {
          target.bytes = cacheCharge(target.key, v.length);
          target.stored = v.length;
          try {
            target.current = this.decode(v, target.partition, target.key);
          } catch (err) {
            target.corrupt = err as ShoalError;
          }
        }
      }
    }

    // 2. Apply in order. Only each key's final state is written; hints, meta and hint
    //    deletes go in the same batch, so an update and its hint are atomic.
    const p: Prepared = { ops, writes: [], done: [], results: [], failed: [], keys, hintDeltas: new Map(), deletedHints: new Set(), changed: 0, arena: undefined, sync: 'none' };
    let hintsAdded = false;
    const addHintWrite = (target: string, partition: number, key: string, ts: number): void => {
      const seq = this.nextHintSeq++;
      p.writes.push({ type: 'put', key: hintKey(target, hintId(seq)), value: encodeHint({ partition, key, ts }) });
      p.hintDeltas.set(target, (p.hintDeltas.get(target) ?? 0) + 1);
      hintsAdded = true;
    };

    for (const op of ops) {
      switch (op.kind) {
        case 'update': {
          const ks = op.ks!;
          if (ks.corrupt !== undefined) {
            if (!op.replaceCorrupt) {
              p.failed.push([op, ks.corrupt]);
              break;
            }
            // Unreadable bytes hold nothing to merge: the update starts from nothing.
            ks.corrupt = undefined;
            ks.current = undefined;
            this.counters.corruptReplaced++;
          }
          const before = ks.current;
          let after: DVVSet | undefined;
          let size = 0;
          try {
            const out = op.fn(before);
            if (out === REMOVE) {
              // A conditional removal, decided in key order with every other update of the key.
              if (before !== undefined) {
                ks.current = undefined;
                ks.size = 0;
                ks.bytes = cacheCharge(op.key, 0);
                ks.dirty = true;
                p.changed++;
              }
              p.done.push(op);
              p.results.push({ before, after: undefined, changed: before !== undefined });
              break;
            }
            after = out;
            // Sized now, so that a malformed object fails its own call; every key's final
            // state is encoded once, at the end, into one buffer for the whole batch.
            if (after !== undefined) size = objectSize(after);
          } catch (err) {
            p.failed.push([op, err]);
            break;
          }
          if (after !== undefined) {
            ks.current = after;
            ks.size = size;
            ks.bytes = cacheCharge(op.key, size);
            ks.dirty = true;
            p.changed++;
          }
          if (op.hint !== undefined && ks.current !== undefined) addHintWrite(op.hint.target, op.partition, op.key, op.hint.ts);
          p.done.push(op);
          p.results.push(after === undefined ? { before, after: before, changed: false } : { before, after, changed: true });
          break;
        }
        case 'remove': {
          let ks = keys.get(op.ck);
          if (ks === undefined) {
            ks = keyState(op.ck, op.partition, op.key, op.okey);
            keys.set(op.ck, ks);
          }
          ks.current = undefined;
          ks.size = 0;
          ks.corrupt = undefined;
          ks.bytes = cacheCharge(op.key, 0);
          ks.dirty = true;
          p.done.push(op);
          p.results.push(undefined);
          break;
        }
        case 'hint': {
          addHintWrite(op.target, op.partition, op.key, op.ts);
          p.done.push(op);
          p.results.push(undefined);
          break;
        }
        case 'delHint': {
          const hk = bytesKey(op.hkey);
          if (hintExists.get(hk) === true) {
            hintExists.set(hk, false);
            p.deletedHints.add(hk);
            p.hintDeltas.set(op.target, (p.hintDeltas.get(op.target) ?? 0) - 1);
            p.writes.push({ type: 'del', key: op.hkey });
          }
          p.done.push(op);
          p.results.push(undefined);
          break;
        }
        case 'meta': {
          p.writes.push({ type: 'put', key: op.mkey, value: op.value });
          if (op.sync === 'all' || (op.sync === 'log' && p.sync === 'none')) p.sync = op.sync;
          p.done.push(op);
          p.results.push(undefined);
          break;
        }
      }
    }
    // Every object this batch writes, encoded into one buffer: one allocation per batch,
    // and the engine gets views of it (it copies them into its own batch at once).
    let total = 0;
    for (const ks of keys.values()) if (ks.dirty && ks.current !== undefined) total += ks.size;
    const arena = total > 0 ? this.commitBuffer(total) : undefined;
    p.arena = arena;
    let offset = 0;
    for (const ks of keys.values()) {
      if (!ks.dirty) continue;
      if (ks.current === undefined) {
        p.writes.push({ type: 'del', key: ks.okey, replaces: ks.stored });
        continue;
      }
      let value: Uint8Array;
      try {
        value = encodeObjectInto(ks.current, arena!, offset, ks.size);
      } catch {
        // Only if an object changed after it was sized (DVVSets are immutable by
        // contract): encode it on its own, at its size now.
        value = encodeObject(ks.current);
      }
      offset += ks.size;
      p.writes.push({ type: 'put', key: ks.okey, value, replaces: ks.stored });
      if (present !== undefined && ks.filter !== FILTER_HAS) {
        if (ks.filter === FILTER_HASHED) present.addNewHashed(ks.hi, ks.lo);
        else present.add(ks.okey);
      }
    }
    // The sequence high-water mark survives even when every hint has been delivered, so
    // ids keep increasing across restarts.
    if (hintsAdded) p.writes.push({ type: 'put', key: metaKey(META_HINT_SEQ), value: hintId(this.nextHintSeq) });
    return p;
  }

  /**
   * Whether the key filter says the key was never stored. If so, the key's hash stays on
   * `ks` for the filter add after its write: one hash per key per commit.
   */
  private neverStored(present: ScalableBloom, ks: KeyState): boolean {
    bloomHash(ks.okey);
    if (present.mightContainHashed(hashHi, hashLo)) return false;
    ks.filter = FILTER_HASHED;
    ks.hi = hashHi;
    ks.lo = hashLo;
    return true;
  }

  /**
   * A buffer of at least `bytes` for a commit's objects: the spare one when it is large
   * enough. Over an engine that keeps what it is given, a new one of exactly that size.
   */
  private commitBuffer(bytes: number): Buffer {
    if (!this.reuseBuffers) return Buffer.allocUnsafe(bytes);
    const spare = this.spareBuffer;
    if (spare !== undefined && spare.length >= bytes) {
      this.spareBuffer = undefined;
      return spare;
    }
    // Powers of two from 64 KiB, so that commits of similar sizes fit each other's buffer.
    return Buffer.allocUnsafe(Math.max(65_536, 2 ** Math.ceil(Math.log2(bytes))));
  }

  /** Keeps a settled commit's buffer for the next one (the engine has copied it by now). */
  private recycle(buffer: Buffer | undefined): void {
    if (buffer === undefined || !this.reuseBuffers || buffer.length > storeCommitBufferBytesMax) return;
    if (this.spareBuffer === undefined || this.spareBuffer.length < buffer.length) this.spareBuffer = buffer;
  }

  /** Starts writing a prepared batch; `done` resolves (never rejects) once it is settled. */
  private write(p: Prepared): Writing {
    const done = (async (): Promise<unknown> => {
      if (p.writes.length > 0) {
        try {
          await this.engine.batch(p.writes, this.sync || p.sync === 'all' ? SYNC_ALL : p.sync === 'log' ? SYNC_LOG : NO_SYNC);
        } catch (err) {
          this.batchFailed = true;
          this.settle(p, err);
          return err;
        }
        this.counters.batches++;
        this.counters.writes += p.writes.length;
      }
      this.settle(p, undefined);
      return undefined;
    })();
    return { keys: p.keys, deletedHints: p.deletedHints, done };
  }

  /** Makes a batch's results visible (when `error` is undefined) and settles its callers. */
  private settle(p: Prepared, error: unknown): void {
    this.inFlight -= p.ops.length;
    // The engine call is over (or never happened): nothing reads the buffer any more.
    this.recycle(p.arena);
    p.arena = undefined;
    // Reservations end now: written hints move into the counts, the others are released.
    for (const op of p.ops) {
      if (op.kind === 'hint') this.releaseHint(op.target);
      else if (op.kind === 'update' && op.hint !== undefined) this.releaseHint(op.hint.target);
    }
    for (const [op, e] of p.failed) rejectOp(op, e);
    if (error !== undefined) {
      this.failAll(p.done, error, 'write');
      return;
    }
    this.commitSeq++;
    for (const ks of p.keys.values()) {
      if (ks.corrupt !== undefined) continue;
      this.cache.set(ks.ck, ks.current ?? null, ks.bytes);
      if (ks.dirty && this.readsInFlight > 0) this.recentWrites.set(ks.ck, this.commitSeq);
    }
    this.counters.updates += p.changed;
    for (const [target, delta] of p.hintDeltas) if (delta !== 0) this.addHintCount(target, delta);
    const { done, results } = p;
    for (let i = 0; i < done.length; i++) {
      const op = done[i]!;
      if (op.kind === 'update' && op.many !== undefined) op.many.set(op.index, results[i] as UpdateResult);
      else (op.resolve as (value: unknown) => void)(results[i]);
    }
  }

  /** Fails every op of a commit whose engine read (before applying) or write failed. */
  private failAll(ops: readonly Op[], err: unknown, stage: 'read' | 'write'): void {
    const e = isShoalError(err) ? err : new ShoalError('STORAGE', `storage ${stage} failed: ${String(err)}`, { cause: err });
    for (const op of ops) rejectOp(op, e);
  }

  private decode(bytes: Uint8Array, partition: number, key: string): DVVSet {
    try {
      return decodeObject(bytes, { partition, key });
    } catch (err) {
      this.counters.corrupt++;
      throw err;
    }
  }

  /**
   * Takes every state the last clean close saved (`saved.*` metadata) into memory and
   * deletes it from the engine in one synced write, before this run writes anything.
   * This is the whole crash argument for saved state: such state describes the store
   * exactly as a clean close left it, and is only right until the next write. Found here,
   * it was written by the clean close right before this open (every open deletes what it
   * finds, and a crash or a close after a failed write saves nothing), and nothing was
   * written since. Deleted before this run's first write, it cannot outlive that write:
   * the engine's log (and, under --sync, the value log's replay) keeps a prefix of the
   * writes. So after a crash of this run the next open finds none and rebuilds. Whatever
   * writes a stopped node's store must go through an ObjectStore, which does the same,
   * or delete every `saved.` entry (README, Storage).
   */
  private async takeSavedStates(): Promise<void> {
    const lo = metaKey(SAVED_META_PREFIX);
    // One engine read: the names are the code's own (three today), each bounded by its owner.
    const rows = await this.engine.range({ gte: lo, lt: prefixEnd(lo), limit: storeScanEntriesMax });
    if (rows.length === 0) return;
    await this.engine.batch(
      rows.map(([key]) => ({ type: 'del' as const, key })),
      { sync: true },
    );
    const names: string[] = [];
    for (const [key, value] of rows) {
      const name = Buffer.from(key.buffer, key.byteOffset + lo.length, key.byteLength - lo.length).toString('utf8');
      names.push(name);
      this.saved.set(name, plainBytes(value));
    }
    this.savedNames = names;
  }

  /**
   * The key filter, read back as the last clean close saved it (see takeSavedStates). A
   * filter that missed a key would let an update skip its read and overwrite the object
   * instead of merging into it, so only one taken at this open will do.
   */
  private loadKeyFilter(): void {
    const saved = this.saved.get(SAVED_KEY_FILTER);
    this.saved.delete(SAVED_KEY_FILTER);
    if (this.present === undefined || saved === undefined) return;
    const restored = ScalableBloom.restore(saved, storeBloomInitialKeys, storeBloomFalsePositiveRate);
    if (restored === undefined) return;
    this.present = restored;
    this.keyFilterFrom = 'saved';
  }

  /**
   * Without a saved filter: builds it from a scan of every object key (about 3 µs a key
   * here, 3-4 s at a million keys, and most of a restart's time).
   */
  private async scanKeyFilter(): Promise<void> {
    const present = this.present;
    if (present === undefined || this.keyFilterFrom === 'saved') return;
    for await (const chunk of this.engine.keys({ gte: Uint8Array.of(NS_OBJECT), lt: Uint8Array.of(NS_OBJECT + 1) })) for (const k of chunk) present.add(k);
    this.keyFilterFrom = 'scan';
  }

  /** Counts pending hints per target and finds the next hint sequence number. */
  private async loadHints(): Promise<void> {
    let next = 0;
    const stored = await this.engine.get(metaKey(META_HINT_SEQ));
    if (stored !== undefined && stored.length === 8) next = hintSeq(stored);
    // Keys alone: a hint's value (its partition, key and time) is read when it is sent.
    for await (const chunk of this.engine.keys(hintsRange())) {
      for (const k of chunk) {
        const parsed = parseHintKey(k);
        if (parsed === undefined) {
          this.counters.corrupt++;
          continue;
        }
        this.addHintCount(parsed.target, 1);
        next = Math.max(next, hintSeq(parsed.id) + 1);
      }
    }
    this.nextHintSeq = next;
  }
}

/** Fails one op: its own promise, or its slot of an `updateMany` call. */
function rejectOp(op: Op, error: unknown): void {
  if (op.kind === 'update' && op.many !== undefined) op.many.set(op.index, { error });
  else op.reject(error);
}

/** Cache key: the partition's digits cannot contain ':', so this is unambiguous. */
function cacheKey(partition: number, key: string): string {
  return `${partition}:${key}`;
}

/** Bytes charged to the cache: the encoded object plus a rough fixed overhead. */
function cacheCharge(key: string, encodedBytes: number): number {
  return 64 + key.length * 2 + encodedBytes;
}

function bytesKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** ~8 base36 characters from 40 random bits. */
function newEpoch(random: Random): string {
  const b = random.bytes(5);
  let n = 0;
  for (const x of b) n = n * 256 + x;
  return n.toString(36).padStart(8, '0');
}
