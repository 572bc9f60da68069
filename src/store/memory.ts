import { ShoalError } from '../errors/index.js';
import { storeIterateChunkEntries, storeScanEntriesMax } from '../config/index.js';
import type { BatchOptions, Engine, EngineOp, EngineRange } from './engine.js';

/**
 * The "disk" of a MemoryEngine: it outlives the engine, so the simulator can crash a node
 * (drop its engine without closing it) and reopen a new engine on the same backing, the
 * way a restarted process finds its files.
 *
 * Keys are held as latin1 strings (one char per byte): JavaScript compares strings by
 * UTF-16 code unit, and for chars 0..255 that is exactly bytewise order, so a sorted
 * string array plus a Map is a correct sorted byte map with fast lookups.
 */
export class MemoryBacking {
  /** Sorted ascending. */
  readonly keys: string[] = [];
  readonly map = new Map<string, Uint8Array>();
  /** The engine currently holding this backing open (LevelDB's LOCK file). */
  owner: MemoryEngine | null = null;

  /** Entries stored. */
  get size(): number {
    return this.map.size;
  }

  put(k: string, value: Uint8Array): void {
    if (!this.map.has(k)) this.keys.splice(lowerBound(this.keys, k), 0, k);
    this.map.set(k, value);
  }

  del(k: string): void {
    if (!this.map.delete(k)) return;
    const i = lowerBound(this.keys, k);
    this.keys.splice(i, 1);
  }

  /** Index bounds [start, end) of a range. */
  bounds(range: EngineRange): [number, number] {
    let start = 0;
    let end = this.keys.length;
    if (range.gte !== undefined) start = Math.max(start, lowerBound(this.keys, toKey(range.gte)));
    if (range.gt !== undefined) start = Math.max(start, upperBound(this.keys, toKey(range.gt)));
    if (range.lt !== undefined) end = Math.min(end, lowerBound(this.keys, toKey(range.lt)));
    if (range.lte !== undefined) end = Math.min(end, upperBound(this.keys, toKey(range.lte)));
    return [start, Math.max(start, end)];
  }
}

/**
 * A sorted in-memory engine for tests and the deterministic simulator. No timers: every
 * promise settles on a microtask, so a simulated run stays a pure function of its seed.
 *
 * Durability model: a batch is copied when `batch()` is called but applied to the backing
 * only when its promise resolves, so a `crash()` before that loses it, like a process
 * whose write had not reached the engine. After `crash()` the pending batches never
 * settle (a dead process observes nothing) and new calls reject with CLOSED.
 */
export class MemoryEngine implements Engine {
  readonly name = 'memory' as const;
  private state: 'new' | 'open' | 'closed' | 'crashed' = 'new';

  constructor(readonly backing: MemoryBacking = new MemoryBacking()) {}

  async open(): Promise<void> {
    if (this.state === 'open') return;
    if (this.state === 'crashed') throw new ShoalError('CLOSED', 'memory engine crashed; open a new engine on the backing');
    if (this.backing.owner !== null && this.backing.owner !== this) {
      throw new ShoalError('STORAGE', 'memory backing is already open in another engine (lock held)');
    }
    this.backing.owner = this;
    this.state = 'open';
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    if (this.backing.owner === this) this.backing.owner = null;
  }

  /** Simulates the process dying: unresolved batches are lost, the lock is released. */
  crash(): void {
    this.state = 'crashed';
    if (this.backing.owner === this) this.backing.owner = null;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check();
    return this.backing.map.get(toKey(key));
  }

  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    this.check();
    return keys.map((k) => this.backing.map.get(toKey(k)));
  }

  batch(ops: readonly EngineOp[], _options?: BatchOptions): Promise<void> {
    try {
      this.check();
    } catch (err) {
      return Promise.reject(err);
    }
    // Copy now: the caller may reuse its buffers, and the batch is what it was at the call.
    const copied = ops.map((op) =>
      op.type === 'put' ? { k: toKey(op.key), v: op.value.slice() as Uint8Array | null } : { k: toKey(op.key), v: null },
    );
    return new Promise<void>((resolve) => {
      queueMicrotask(() => {
        // A crash between the call and now loses the batch, and nobody hears back.
        if (this.state === 'crashed') return;
        for (const { k, v } of copied) {
          if (v === null) this.backing.del(k);
          else this.backing.put(k, v);
        }
        resolve();
      });
    });
  }

  async range(range: EngineRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    this.check();
    const limit = Math.min(range.limit ?? storeScanEntriesMax, storeScanEntriesMax);
    return this.rangeSync(range, limit);
  }

  async *keys(range: EngineRange): AsyncIterable<readonly Uint8Array[]> {
    let chunk: Uint8Array[] = [];
    for await (const [k] of this.iterate(range)) {
      chunk.push(k);
      if (chunk.length >= storeIterateChunkEntries) {
        yield chunk;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  async *iterate(range: EngineRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    // Chunked, re-seeking after the last key seen: not a snapshot, but a write that lands
    // between chunks is either seen once or not at all, never twice.
    let remaining = range.limit ?? Infinity;
    let cursor: EngineRange = { ...range, limit: undefined };
    while (remaining > 0) {
      this.check();
      const chunk = this.rangeSync(cursor, Math.min(remaining, storeIterateChunkEntries));
      for (const entry of chunk) yield entry;
      remaining -= chunk.length;
      const last = chunk[chunk.length - 1];
      if (chunk.length < storeIterateChunkEntries || last === undefined) return;
      cursor = range.reverse
        ? { ...cursor, lt: last[0], lte: undefined }
        : { ...cursor, gt: last[0], gte: undefined };
    }
  }

  async clear(range: EngineRange): Promise<void> {
    this.check();
    const [start, end] = this.backing.bounds(range);
    let keys = this.backing.keys.slice(start, end);
    if (range.reverse) keys.reverse();
    if (range.limit !== undefined) keys = keys.slice(0, range.limit);
    for (const k of keys) this.backing.del(k);
  }

  private rangeSync(range: EngineRange, limit: number): Array<[Uint8Array, Uint8Array]> {
    const [start, end] = this.backing.bounds(range);
    const out: Array<[Uint8Array, Uint8Array]> = [];
    if (range.reverse) {
      for (let i = end - 1; i >= start && out.length < limit; i--) out.push(this.entry(i));
    } else {
      for (let i = start; i < end && out.length < limit; i++) out.push(this.entry(i));
    }
    return out;
  }

  private entry(i: number): [Uint8Array, Uint8Array] {
    const k = this.backing.keys[i]!;
    return [fromKey(k), this.backing.map.get(k)!];
  }

  private check(): void {
    if (this.state !== 'open') {
      throw new ShoalError(this.state === 'crashed' ? 'CLOSED' : 'STORAGE', `memory engine is ${this.state === 'new' ? 'not open' : this.state}`);
    }
  }
}

function toKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function fromKey(k: string): Uint8Array {
  return Buffer.from(k, 'latin1');
}

/** First index with keys[i] >= k. */
function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with keys[i] > k. */
function upperBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
