/**
 * ObjectStore.updateMany: one promise for many read-modify-writes. The contract suite
 * checks it against update() on every engine (a property); these are the edges: per-item
 * failures, order per key, queue limits, close, engine failures, sync, and the commit
 * buffer that is reused over engines that copy what they are given.
 */
import { describe, expect, it } from 'vitest';
import { isShoalError } from '../../src/errors/index.js';
import {
  MemoryBacking,
  MemoryEngine,
  ObjectStore,
  REMOVE,
  decodeObject,
  type BatchOptions,
  type EngineOp,
  type UpdateManyResult,
  type UpdateResult,
} from '../../src/store/index.js';
import { obj, rejection, text } from './contract.js';

function ok(r: UpdateManyResult | undefined): UpdateResult {
  if (r === undefined) throw new Error('expected a result, got none');
  if ('error' in r) throw new Error(`expected a result, got ${String(r.error)}`);
  return r;
}

/** A memory engine that records each batch and its options, and can be made to fail. */
class RecordingEngine extends MemoryEngine {
  batches: Array<{ ops: readonly EngineOp[]; sync: boolean; logOnly: boolean }> = [];
  failBatch: Error | undefined;
  failGetMany: Error | undefined;
  override async batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    this.batches.push({ ops, sync: options?.sync === true, logOnly: options?.logOnly === true });
    if (this.failBatch !== undefined) throw this.failBatch;
    return super.batch(ops, options);
  }
  override async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    if (this.failGetMany !== undefined) throw this.failGetMany;
    return super.getMany(keys);
  }
}

async function openStore(engine = new RecordingEngine(), options: ConstructorParameters<typeof ObjectStore>[1] = {}): Promise<{ engine: RecordingEngine; store: ObjectStore }> {
  const store = new ObjectStore(engine, options);
  await store.open();
  engine.batches = [];
  return { engine: engine as RecordingEngine, store };
}

describe('ObjectStore.updateMany', () => {
  it('fails only the items whose function throws or whose key is malformed', async () => {
    const { store } = await openStore();
    await store.update(1, 'b', () => obj('b0'));
    const boom = new Error('boom');
    const results = await store.updateMany([
      { partition: 1, key: 'a', fn: () => obj('a1') },
      {
        partition: 1,
        key: 'b',
        fn: () => {
          throw boom;
        },
      },
      { partition: 1, key: '', fn: () => obj('never') },
      { partition: 1, key: 'c', fn: () => obj('c1') },
    ]);
    expect(results).toHaveLength(4);
    expect(ok(results[0]).changed).toBe(true);
    expect(results[1]).toEqual({ error: boom });
    const bad = results[2] as { error: unknown };
    expect(isShoalError(bad.error, 'BAD_REQUEST')).toBe(true);
    expect(text(ok(results[3]).after)).toBe('c1');
    // The throwing item left its key as it was; the others were written.
    expect(text(await store.get(1, 'b'))).toBe('b0');
    expect((await store.scan(1)).map(([k, o]) => [k, text(o)])).toEqual([
      ['a', 'a1'],
      ['b', 'b0'],
      ['c', 'c1'],
    ]);
    // A store that failed an item goes on as before.
    expect(ok((await store.updateMany([{ partition: 1, key: 'b', fn: () => obj('b1') }]))[0]).changed).toBe(true);
  });

  it('applies items on one key in array order, after earlier update() calls and before later ones', async () => {
    const { store, engine } = await openStore();
    const append = (s: string) => (cur: Parameters<Parameters<ObjectStore['update']>[2]>[0]) => obj(`${text(cur) ?? ''}${s}`);
    const first = store.update(2, 'k', append('u'));
    const many = store.updateMany([
      { partition: 2, key: 'k', fn: append('1') },
      { partition: 2, key: 'other', fn: append('x') },
      { partition: 2, key: 'k', fn: () => undefined },
      { partition: 2, key: 'k', fn: append('2') },
      { partition: 2, key: 'k', fn: () => REMOVE },
      { partition: 2, key: 'k', fn: append('3') },
    ]);
    const last = store.update(2, 'k', append('v'));
    const [r0, results, r9] = await Promise.all([first, many, last]);
    expect(text(r0.after)).toBe('u');
    expect(results.map((r) => [text(ok(r).before), text(ok(r).after), ok(r).changed])).toEqual([
      ['u', 'u1', true],
      [undefined, 'x', true],
      ['u1', 'u1', false],
      ['u1', 'u12', true],
      ['u12', undefined, true],
      [undefined, '3', true],
    ]);
    expect(text(r9.before)).toBe('3');
    expect(text(await store.get(2, 'k'))).toBe('3v');
    // All of it issued in one turn: one group commit.
    expect(engine.batches).toHaveLength(1);
  });

  it('refuses a call the queue cannot take whole, and queues nothing of it', async () => {
    const { store } = await openStore(new RecordingEngine(), { queueOpsMax: 10 });
    const items = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ partition: 3, key: `${tag}${i}`, fn: () => obj(tag) }));
    expect((await rejection(store.updateMany(items(11, 'big')))).code).toBe('TOO_LARGE');
    const five = items(5, 'u').map((it) => store.update(it.partition, it.key, it.fn));
    const refused = store.updateMany(items(6, 'over'));
    expect(store.stats().queued).toBe(5);
    const fits = store.updateMany(items(5, 'fits'));
    expect(store.stats().queued).toBe(10);
    expect((await rejection(refused)).code).toBe('OVERLOADED');
    await Promise.all(five);
    expect((await fits).every((r) => !('error' in r))).toBe(true);
    const keys = (await store.scan(3)).map(([k]) => k);
    expect(keys.filter((k) => k.startsWith('over'))).toEqual([]);
    expect(keys).toHaveLength(10);
    expect(await store.updateMany([])).toEqual([]);
  });

  it('finishes a call before close() resolves, and refuses calls outside open..close', async () => {
    const backing = new MemoryBacking();
    const fresh = new ObjectStore(new MemoryEngine(backing));
    expect((await rejection(fresh.updateMany([{ partition: 0, key: 'k', fn: () => obj('v') }]))).code).toBe('STORAGE');
    await fresh.open();
    const pending = fresh.updateMany(Array.from({ length: 50 }, (_, i) => ({ partition: 0, key: `k${i}`, fn: () => obj(`v${i}`) })));
    await fresh.close();
    // Settled by the time close() resolved.
    let settled = false;
    void pending.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(true);
    expect((await pending).every((r) => !('error' in r))).toBe(true);
    expect((await rejection(fresh.updateMany([{ partition: 0, key: 'k', fn: () => obj('v') }]))).code).toBe('CLOSED');
    const again = new ObjectStore(new MemoryEngine(backing));
    await again.open();
    expect((await again.scan(0)).length).toBe(50);
    await again.close();
  });

  it('reports a failed engine write or read as every affected item failing, and still resolves', async () => {
    const { store, engine } = await openStore();
    await store.update(4, 'a', () => obj('a0'));
    engine.failBatch = new Error('disk on fire');
    const written = await store.updateMany([
      { partition: 4, key: 'a', fn: () => obj('a1') },
      { partition: 4, key: 'b', fn: () => obj('b1') },
    ]);
    expect(written.map((r) => ('error' in r && isShoalError(r.error) ? r.error.code : 'ok'))).toEqual(['STORAGE', 'STORAGE']);
    expect(((written[0] as { error: Error }).error).message).toMatch(/storage write failed: .*disk on fire/);
    engine.failBatch = undefined;
    // Nothing of the failed batch became visible.
    expect(text(await store.get(4, 'a'))).toBe('a0');
    expect(await store.get(4, 'b')).toBeUndefined();

    // A read failure (the key is not cached, and the filter says it may exist).
    const cold = new ObjectStore(new RecordingEngine(engine.backing), { cacheEntriesMax: 0 });
    await store.close();
    await cold.open();
    (cold.engine as RecordingEngine).failGetMany = new Error('read error');
    const read = await cold.updateMany([{ partition: 4, key: 'a', fn: () => obj('a2') }]);
    expect('error' in read[0]! && isShoalError(read[0].error, 'STORAGE')).toBe(true);
    expect(((read[0] as { error: Error }).error).message).toMatch(/storage read failed: .*read error/);
    await cold.close();
  });

  it('writes with sync when the store is synced', async () => {
    const { store, engine } = await openStore(new RecordingEngine(), { sync: true });
    await store.updateMany([
      { partition: 5, key: 'a', fn: () => obj('a') },
      { partition: 5, key: 'b', fn: () => obj('b') },
    ]);
    expect(engine.batches.map((b) => b.sync)).toEqual([true]);
  });

  it('syncs a batch holding a meta write that asks for it, and no other, when the store is not synced', async () => {
    const { store, engine } = await openStore();
    const before = engine.batches.length;
    await store.putMeta('plain', new Uint8Array([1]));
    await Promise.all([store.putMeta('mark', new Uint8Array([2]), { sync: true }), store.updateMany([{ partition: 1, key: 'k', fn: () => obj('k') }])]);
    await store.putMeta('plain', new Uint8Array([3]));
    expect(engine.batches.slice(before).map((b) => b.sync)).toEqual([false, true, false]);
  });

  it('syncs the engine log alone for a meta write that asks for logOnly, unless its batch also needs a full sync', async () => {
    const { store, engine } = await openStore();
    let before = engine.batches.length;
    await store.putMeta('mark', new Uint8Array([1]), { sync: true, logOnly: true });
    // A full sync sharing the batch wins, in either order.
    await Promise.all([store.putMeta('mark', new Uint8Array([2]), { sync: true, logOnly: true }), store.putMeta('other', new Uint8Array([3]), { sync: true })]);
    await Promise.all([store.putMeta('other', new Uint8Array([4]), { sync: true }), store.putMeta('mark', new Uint8Array([5]), { sync: true, logOnly: true })]);
    // logOnly without sync asks for nothing.
    await store.putMeta('mark', new Uint8Array([6]), { logOnly: true });
    expect(engine.batches.slice(before).map((b) => [b.sync, b.logOnly])).toEqual([
      [true, true],
      [true, false],
      [true, false],
      [false, false],
    ]);
    await store.close();
    // Under --sync every batch syncs everything, a logOnly mark's too.
    const synced = await openStore(new RecordingEngine(), { sync: true });
    before = synced.engine.batches.length;
    await synced.store.putMeta('mark', new Uint8Array([1]), { sync: true, logOnly: true });
    expect(synced.engine.batches.slice(before).map((b) => [b.sync, b.logOnly])).toEqual([[true, false]]);
    await synced.store.close();
  });

  it('writes what its close hooks produce after the last queued write, in one synced batch; a failing hook saves nothing', async () => {
    const { store, engine } = await openStore();
    const order: string[] = [];
    store.onClose('replaced', () => new Uint8Array([1]));
    store.onClose('replaced', () => new Uint8Array([2]));
    store.onClose('saved', () => {
      order.push('hook');
      return new Uint8Array([7]);
    });
    store.onClose('broken', () => {
      throw new Error('broken hook');
    });
    store.onClose('nothing', () => undefined);
    const pending = store.updateMany([{ partition: 1, key: 'k', fn: () => obj('k') }]).then(() => order.push('write'));
    const before = engine.batches.length;
    await store.close();
    await pending;
    expect(order).toEqual(['write', 'hook']);
    const last = engine.batches.at(-1)!;
    expect(engine.batches.length).toBe(before + 2);
    expect(last.sync).toBe(true);
    // One entry per name, the last registration's: 'replaced' once, with 2; none for a
    // hook that produced nothing. The store's own key filter goes in the same batch.
    const named = last.ops.map((o) => [new TextDecoder().decode(o.key.subarray(1)), o.type === 'put' ? [...o.value] : []]);
    expect(named.slice(0, 2)).toEqual([
      ['saved.replaced', [2]],
      ['saved.saved', [7]],
    ]);
    expect(named.slice(2).map(([name]) => name)).toEqual(['saved.store.keyFilter']);
  });

  it('runs no close hook once an engine write of this process has failed', async () => {
    const { store, engine } = await openStore();
    let ran = false;
    store.onClose('saved', () => {
      ran = true;
      return new Uint8Array([7]);
    });
    engine.failBatch = new Error('disk gone');
    const r = await store.updateMany([{ partition: 1, key: 'k', fn: () => obj('k') }]);
    expect(r[0] !== undefined && 'error' in r[0]).toBe(true);
    engine.failBatch = undefined;
    const before = engine.batches.length;
    await store.close();
    expect(ran).toBe(false);
    expect(engine.batches.length).toBe(before);
  });
});

/**
 * An engine that says it copies what batch() is given, but copies only when the test
 * lets a batch through: if the store reused a commit's buffer before that commit's batch
 * settled, the bytes copied here would be another commit's.
 */
class GatedCopyingEngine extends MemoryEngine {
  readonly batchCopies = true;
  gates: Array<() => void> = [];
  gated = false;
  buffers: ArrayBufferLike[] = [];
  override async batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    for (const op of ops) if (op.type === 'put' && op.key[0] === 0x6f) this.buffers.push(op.value.buffer);
    if (this.gated) await new Promise<void>((r) => this.gates.push(r));
    const copies = ops.map((op): EngineOp => (op.type === 'put' ? { type: 'put', key: op.key.slice(), value: op.value.slice() } : { type: 'del', key: op.key.slice() }));
    return super.batch(copies, options);
  }
}

describe('ObjectStore commit buffers', () => {
  it('reuses a commit buffer only after its batch settled, over an engine that copies', async () => {
    const engine = new GatedCopyingEngine();
    const store = new ObjectStore(engine, { defer: queueMicrotask });
    await store.open();
    engine.gated = true;
    const turn = (tag: string) => store.updateMany(Array.from({ length: 20 }, (_, i) => ({ partition: 6, key: `${tag}${i}`, fn: () => obj(`${tag}-${i}`) })));
    // Commit 1 is held in the engine while commit 2 is prepared, and commit 3 after it.
    const one = turn('a');
    await new Promise((r) => setTimeout(r, 5));
    const two = turn('b');
    await new Promise((r) => setTimeout(r, 5));
    expect(engine.gates).toHaveLength(1);
    engine.gates.shift()!();
    await one;
    await new Promise((r) => setTimeout(r, 5));
    const three = turn('c');
    await new Promise((r) => setTimeout(r, 5));
    engine.gated = false;
    for (const g of engine.gates.splice(0)) g();
    await Promise.all([two, three]);
    await store.close();
    const reader = new ObjectStore(new MemoryEngine(engine.backing));
    await reader.open();
    for (const tag of ['a', 'b', 'c']) {
      for (let i = 0; i < 20; i++) expect(text(await reader.get(6, `${tag}${i}`))).toBe(`${tag}-${i}`);
    }
    await reader.close();
    // Commits 1 and 2 were in the pipeline together: two buffers. Commit 3 came after
    // commit 1 had settled and reused its buffer.
    const [a, b, c] = [0, 20, 40].map((i) => engine.buffers[i]);
    expect(a).not.toBe(b);
    expect(c).toBe(a);
  });

  it('never reuses a commit buffer over an engine that keeps what it is given', async () => {
    const engine = new RecordingEngine();
    const { store } = await openStore(engine);
    const size = 5_000; // over 4 KiB: not from Node's shared pool either
    for (let t = 0; t < 3; t++) {
      await store.updateMany(Array.from({ length: 10 }, (_, i) => ({ partition: 7, key: `k${i}`, fn: () => obj(`${t}:${i}:${'x'.repeat(size)}`) })));
    }
    await store.close();
    // The views MemoryEngine was given (and keeps) still hold what each commit wrote.
    for (let t = 0; t < 3; t++) {
      const puts = engine.batches[t]!.ops.filter((op) => op.type === 'put');
      expect(puts.map((op) => (op.type === 'put' ? text(decodeObject(op.value))!.slice(0, 4) : ''))).toEqual(Array.from({ length: 10 }, (_, i) => `${t}:${i}:`));
    }
  });
});
