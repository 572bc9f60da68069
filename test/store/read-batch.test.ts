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
  const store = new ObjectStore(engine);
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
