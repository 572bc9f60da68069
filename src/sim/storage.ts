import type { Random, TimerHandle, Timers } from '../env/index.js';
import { ObjectStore, decodeObject, objectKey } from '../store/index.js';
import type { BatchOptions, Engine, EngineOp, EngineRange, MemoryBacking, ObjectStoreOptions, UpdateFn, UpdateItem, UpdateManyResult, UpdateOptions, UpdateResult } from '../store/index.js';
import { partitionOf } from '../ring/index.js';
import type { DVVSet } from '../vclock/types.js';
import type { History } from './history.js';

/**
 * A simulated node's timers. A crash kills them (nothing the dead process scheduled ever
 * runs), and a pause holds them: callbacks that fall due while the node is paused run,
 * in order, when it resumes. Network deliveries to a paused node are held the same way.
 */
export class NodeTimers implements Timers {
  private dead = false;
  private paused = false;
  private held: Array<{ fn: () => void; cancelled: boolean }> = [];

  constructor(private readonly inner: Timers) {}

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const rec = { fn, cancelled: false };
    const inner = this.inner.setTimeout(() => this.fire(rec), ms);
    return { __timer: true, inner, rec } as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    const h = handle as TimerHandle & { inner: TimerHandle; rec: { cancelled: boolean } };
    h.rec.cancelled = true;
    this.inner.clearTimeout(h.inner);
  }

  /** Runs `fn` now, or on resume when paused, or never when dead. */
  run(fn: () => void): void {
    this.fire({ fn, cancelled: false });
  }

  kill(): void {
    this.dead = true;
    this.held = [];
  }

  pause(): void {
    this.paused = true;
  }

  /** Resumes; held callbacks run one scheduler event each, in the order they fell due. */
  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const rec of held) this.inner.setTimeout(() => this.fire(rec), 0);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private fire(rec: { fn: () => void; cancelled: boolean }): void {
    if (this.dead || rec.cancelled) return;
    if (this.paused) {
      this.held.push(rec);
      return;
    }
    rec.fn();
  }
}

/** Delegates everything to `inner`; subclasses change what they need. */
class EngineWrapper implements Engine {
  constructor(protected readonly inner: Engine) {}
  get name() {
    return this.inner.name;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return this.inner.getMany(keys);
  }
  batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    return this.inner.batch(ops, options);
  }
  range(range: EngineRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    return this.inner.range(range);
  }
  iterate(range: EngineRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.inner.iterate(range);
  }
  keys(range: EngineRange): AsyncIterable<readonly Uint8Array[]> {
    return this.inner.keys(range);
  }
  clear(range: EngineRange): Promise<void> {
    return this.inner.clear(range);
  }
}

/**
 * A disk with write latency: a batch reaches the engine `delayMs` after it is issued, on
 * the node's timers, so a crash in between loses it (and a batch issued later may not
 * overtake it: the timers keep their order).
 */
export class SlowDiskEngine extends EngineWrapper {
  constructor(
    inner: Engine,
    private readonly timers: Timers,
    private readonly delayMs: number,
  ) {
    super(inner);
  }
  override batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    if (this.delayMs <= 0) return this.inner.batch(ops, options);
    const copied: EngineOp[] = ops.map((op) => (op.type === 'put' ? { type: 'put', key: op.key.slice(), value: op.value.slice() } : { type: 'del', key: op.key.slice() }));
    return new Promise<void>((resolve, reject) => {
      this.timers.setTimeout(() => this.inner.batch(copied, options).then(resolve, reject), this.delayMs);
    });
  }
}

/** Deliberately broken: acknowledges one batch in `oneIn` without writing it. */
export class LossyEngine extends EngineWrapper {
  dropped = 0;
  constructor(
    inner: Engine,
    private readonly random: Random,
    private readonly oneIn = 100,
  ) {
    super(inner);
  }
  override batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    if (this.random.int(this.oneIn) === 0) {
      this.dropped++;
      return Promise.resolve();
    }
    return this.inner.batch(ops, options);
  }
}

/** An ObjectStore that reports every committed update to the history (the version-vector monotonicity check). */
export class ObservedStore extends ObjectStore {
  constructor(
    engine: Engine,
    options: ObjectStoreOptions,
    private readonly nodeId: string,
    private readonly history: History,
  ) {
    super(engine, options);
  }

  override update(partition: number, key: string, fn: UpdateFn, options?: UpdateOptions): Promise<UpdateResult> {
    return super.update(partition, key, fn, options).then((res) => {
      this.record(key, res);
      return res;
    });
  }

  private record(key: string, res: UpdateResult): void {
    // A conditional removal (REMOVE: a handed-off or reaped key) lets the key's clock start afresh.
    if (res.changed && res.after === undefined) this.history.removed(this.nodeId, key);
    else this.history.stored(this.nodeId, key, res.before, res.after);
  }

  override remove(partition: number, key: string): Promise<void> {
    return super.remove(partition, key).then(() => this.history.removed(this.nodeId, key));
  }

  /** Every item's change reaches the history as update()'s would (the checker must see all writes). */
  override updateMany(items: readonly UpdateItem[]): Promise<UpdateManyResult[]> {
    return super.updateMany(items).then((results) => {
      results.forEach((res, i) => {
        if (!('error' in res)) this.record(items[i]!.key, res);
      });
      return results;
    });
  }
}

/** Deliberately broken hinted handoff: hints are accepted and forgotten. */
export class ForgetfulStore extends ObservedStore {
  override update(partition: number, key: string, fn: UpdateFn, options?: UpdateOptions): Promise<UpdateResult> {
    return super.update(partition, key, fn, options?.now !== undefined ? { now: options.now } : {});
  }
  override addHint(_target: string, _partition: number, _key: string, _now: number): Promise<void> {
    return Promise.resolve();
  }
}

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** A node's durable copy of a key: what its "disk" holds, read past every cache. */
export function durableObject(backing: MemoryBacking, partitions: number, key: string): DVVSet | undefined {
  const p = partitionOf(key, partitions);
  const bytes = backing.map.get(latin1(objectKey(p, key)));
  return bytes === undefined ? undefined : decodeObject(bytes, { partition: p, key });
}
