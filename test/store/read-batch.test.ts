import { describe, expect, it } from 'vitest';
import { MemoryBacking, MemoryEngine, ObjectStore } from '../../src/store/index.js';
import { obj, text } from './contract.js';

/** A memory engine that counts getMany calls and can hold them until released. */
class CountingEngine extends MemoryEngine {
  getManyCalls = 0;
  keysRead = 0;
  gate: Promise<void> | undefined;
  override async getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    this.getManyCalls++;
    this.keysRead += keys.length;
    if (this.gate) await this.gate;
    return super.getMany(keys);
  }
}

async function setup(): Promise<{ engine: CountingEngine; store: ObjectStore }> {
  const backing = new MemoryBacking();
  const writer = new ObjectStore(new MemoryEngine(backing));
  await writer.open();
  for (let i = 0; i < 20; i++) await writer.update(3, `k${i}`, () => obj(`v${i}`));
  await writer.close();
  const engine = new CountingEngine(backing);
  // With a read cache (a node runs without one by default): the tests below count on it.
  const store = new ObjectStore(engine, { cacheEntriesMax: 1_000 });
  await store.open();
  engine.getManyCalls = 0;
  engine.keysRead = 0;
  return { engine, store };
}

describe('ObjectStore reads', () => {
  it('reads the cache misses of one turn with one engine call, each key once', async () => {
    const { engine, store } = await setup();
    const keys = [...Array.from({ length: 20 }, (_, i) => `k${i}`), 'k3', 'k7', 'absent'];
    const got = await Promise.all(keys.map((k) => store.get(3, k)));
    expect(got.map(text)).toEqual(keys.map((k) => (k === 'absent' ? undefined : `v${k.slice(1)}`)));
    expect(engine.getManyCalls).toBe(1);
    expect(engine.keysRead).toBe(21);
    // Now cached (the absent key too): no engine call at all.
    await Promise.all(keys.map((k) => store.get(3, k)));
    expect(engine.getManyCalls).toBe(1);
  });

  it('does not cache what a read saw when a write to the key committed meanwhile', async () => {
    const { engine, store } = await setup();
    let open!: () => void;
    engine.gate = new Promise<void>((r) => (open = r));
    const reading = store.get(3, 'k1');
    // Let the read reach the engine, then commit a newer version while it waits there.
    await new Promise((r) => setImmediate(r));
    engine.gate = undefined;
    const writing = store.update(3, 'k1', () => obj('newer', 'b#y', 1));
    await new Promise((r) => setImmediate(r));
    open();
    await Promise.all([reading, writing]);
    expect(text(await store.get(3, 'k1'))).not.toBe('v1');
  });
});

describe('ObjectStore gathering (defer)', () => {
  it('waits for defer before each engine call, so everything issued meanwhile shares it', async () => {
    const deferred: Array<() => void> = [];
    const runDeferred = (): void => {
      for (const fn of deferred.splice(0)) fn();
    };
    let batches = 0;
    const engine = new (class extends MemoryEngine {
      override async batch(ops: Parameters<MemoryEngine['batch']>[0], options?: Parameters<MemoryEngine['batch']>[1]): Promise<void> {
        batches++;
        return super.batch(ops, options);
      }
    })();
    // The reads at the end are answered from the cache (no engine call, so no gathering).
    const store = new ObjectStore(engine, { defer: (fn) => deferred.push(fn), cacheEntriesMax: 1_000 });
    await store.open();
    batches = 0;
    const first = [store.update(1, 'a', () => obj('a')), store.update(1, 'b', () => obj('b'))];
    await new Promise((r) => setImmediate(r));
    // Nothing reaches the engine until the gathering ends, across turns.
    expect(batches).toBe(0);
    first.push(store.update(1, 'c', () => obj('c')));
    runDeferred();
    await Promise.all(first);
    expect(batches).toBe(1);
    // The next batch gathers again before it is prepared.
    const second = [store.update(1, 'd', () => obj('d')), store.update(1, 'e', () => obj('e'))];
    for (let i = 0; i < 20 && batches === 1; i++) {
      await new Promise((r) => setImmediate(r));
      runDeferred();
    }
    await Promise.all(second);
    expect(batches).toBe(2);
    expect((await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => store.get(1, k)))).map(text)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
