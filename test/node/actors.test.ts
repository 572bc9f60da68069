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
  it('uses a fresh id for a key it did not write in this process, and reuses the id it wrote a key under', async () => {
    const { actors } = await open(new MemoryBacking());
    await actors.ensure();
    const first = actors.choose(0, 'a', undefined, []);
    expect(actors.owns(first)).toBe(true);
    expect(first.startsWith('n1#ep.')).toBe(true);
    // Another key: another fresh id.
    const second = actors.choose(0, 'b', obj([['n2#zz', 3]]), []);
    expect(second).not.toBe(first);
    // Key 'a' again, its copy holding the entry we wrote, and a writer who saw it: the same id.
    expect(actors.choose(0, 'a', obj([[first, 1]]), [[first, 1]])).toBe(first);
    // An entry of ours we do not remember writing in this process (it came back from
    // elsewhere, perhaps behind what we issued): never trusted, a fresh id instead.
    const stale = actors.choose(0, 'c', obj([['n1#ep.5', 2]]), []);
    expect(stale).not.toBe('n1#ep.5');
  });

  it('remembers at most its bound of keys, forgetting the oldest written first even if written again since', async () => {
    const store = new ObjectStore(new MemoryEngine(new MemoryBacking()));
    await store.open();
    const actors = new ActorIds(store, 'n1#ep', 2);
    await actors.open();
    await actors.ensure();
    const a = actors.choose(0, 'a', undefined, []);
    const b = actors.choose(0, 'b', undefined, []);
    // 'a' written again under its remembered id: it stays first in line all the same.
    expect(actors.choose(0, 'a', obj([[a, 1]]), [[a, 1]])).toBe(a);
    actors.choose(0, 'c', undefined, []);
    // A third key pushed out the first one remembered: 'b' keeps its id, 'a' gets a fresh one.
    expect(actors.choose(0, 'b', obj([[b, 1]]), [[b, 1]])).toBe(b);
    expect(actors.choose(0, 'a', obj([[a, 2]]), [[a, 2]])).not.toBe(a);
  });

  it('takes a fresh id after the key was removed here, even when an old copy with our entry comes back', async () => {
    const { actors } = await open(new MemoryBacking());
    await actors.ensure();
    const id = actors.choose(3, 'k', undefined, []);
    expect(actors.choose(3, 'k', obj([[id, 24]]), [[id, 24]])).toBe(id);
    actors.forget(3, 'k');
    // An old copy (our entry at 23, behind the 24 we issued) is merged back in: a new actor.
    const after = actors.choose(3, 'k', obj([[id, 23]]), [[id, 23]]);
    expect(after).not.toBe(id);
  });

  it('takes a fresh id when the writer has not seen every event of our actor (its context would cover our values)', async () => {
    const { actors } = await open(new MemoryBacking());
    await actors.ensure();
    const id = actors.choose(0, 'k', undefined, []);
    // A blind write, and a write whose context is one event behind our copy.
    const blind = actors.choose(0, 'k', obj([[id, 1]]), []);
    expect(blind).not.toBe(id);
    const behind = actors.choose(0, 'k', obj([[blind, 3]]), [[blind, 2]]);
    expect(behind).not.toBe(blind);
    // A writer that saw all of it keeps the id.
    expect(actors.choose(0, 'k', obj([[behind, 1]]), [[behind, 1]])).toBe(behind);
  });

  it('past actorsFreshEntriesMax entries, a writer behind our actor reuses it (clocks stay bounded)', async () => {
    const store = new ObjectStore(new MemoryEngine(new MemoryBacking()));
    await store.open();
    const actors = new ActorIds(store, 'n1#ep', 100, 4);
    await actors.open();
    await actors.ensure();
    const id = actors.choose(0, 'k', undefined, []);
    // Three entries: a blind write still gets a fresh id.
    const small = obj([[id, 2], ['n2#a', 1], ['n3#a', 1]]);
    const fresh = actors.choose(0, 'k', small, [[id, 1]]);
    expect(fresh).not.toBe(id);
    // Four entries: the writer behind reuses the remembered id.
    const big = obj([[fresh, 2], ['n2#a', 1], ['n3#a', 1], ['n4#a', 1]]);
    expect(actors.choose(0, 'k', big, [])).toBe(fresh);
  });

  it('takes a fresh id when the client context shows our actor further along than our copy', async () => {
    const { actors } = await open(new MemoryBacking());
    await actors.ensure();
    const id = actors.choose(0, 'k', undefined, []);
    const next = actors.choose(0, 'k', obj([[id, 2]]), [[id, 7]]);
    expect(next).not.toBe(id);
    expect(actors.owns(next)).toBe(true);
  });

  it('never repeats an id across restarts, even after a crash', async () => {
    const backing = new MemoryBacking();
    const seen = new Set<string>();
    for (let life = 0; life < 3; life++) {
      const { store, actors } = await open(backing);
      for (let i = 0; i < 50; i++) {
        await actors.ensure();
        const id = actors.choose(0, `k${life}-${i}`, undefined, []);
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
