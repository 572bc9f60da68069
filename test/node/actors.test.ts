import { describe, expect, it } from 'vitest';
import { MemoryBacking, MemoryEngine, ObjectStore } from '../../src/store/index.js';
import { ActorIds } from '../../src/node/actors.js';
import type { DVVSet } from '../../src/vclock/types.js';

function obj(entries: Array<[string, number]>): DVVSet {
  return { entries: entries.map(([id, n]) => ({ id, n, values: [{ value: new Uint8Array([1]), ts: 1 }], ts: 1 })), anon: [] };
}

async function open(backing: MemoryBacking): Promise<{ store: ObjectStore; actors: ActorIds }> {
  const store = new ObjectStore(new MemoryEngine(backing));
  await store.open();
  const actors = new ActorIds(store, 'n1#ep');
  await actors.open();
  return { store, actors };
}

describe('per-key actor ids (kv679)', () => {
  it('uses a fresh id for a key it holds no entry of its own for, and keeps using its entry afterwards', async () => {
    const { actors } = await open(new MemoryBacking());
    await actors.ensure();
    const first = actors.choose(undefined, []);
    expect(actors.owns(first)).toBe(true);
    expect(first.startsWith('n1#ep.')).toBe(true);
    // Another key, never written here: another fresh id.
    const second = actors.choose(obj([['n2#zz', 3]]), []);
    expect(second).not.toBe(first);
    // A key with our entry: that entry's actor again.
    expect(actors.choose(obj([['n1#ep.5', 2], ['n2#zz', 3]]), [])).toBe('n1#ep.5');
    // Of several of ours, the one furthest along.
    expect(actors.choose(obj([['n1#ep.5', 2], ['n1#ep.9', 4]]), [])).toBe('n1#ep.9');
  });

  it('takes a fresh id when the client context shows our actor further along than our copy (we forgot writes)', async () => {
    const { actors } = await open(new MemoryBacking());
    await actors.ensure();
    const id = actors.choose(obj([['n1#ep.5', 2]]), [['n1#ep.5', 7]]);
    expect(id).not.toBe('n1#ep.5');
    expect(actors.owns(id)).toBe(true);
  });

  it('never repeats an id across restarts, even after a crash', async () => {
    const backing = new MemoryBacking();
    const seen = new Set<string>();
    for (let life = 0; life < 3; life++) {
      const { store, actors } = await open(backing);
      for (let i = 0; i < 50; i++) {
        await actors.ensure();
        const id = actors.choose(undefined, []);
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
      await store.close();
    }
    expect(seen.size).toBe(150);
  });

  it('does not mistake another node whose id shares a prefix for its own', async () => {
    const { actors } = await open(new MemoryBacking());
    expect(actors.owns('n1#ep')).toBe(true);
    expect(actors.owns('n1#ep.3')).toBe(true);
    expect(actors.owns('n1#epoch2.3')).toBe(false);
    expect(actors.owns('n10#ep.3')).toBe(false);
  });
});
