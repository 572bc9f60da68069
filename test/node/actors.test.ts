import { describe, expect, it } from 'vitest';
import { MemoryBacking, MemoryEngine, ObjectStore, savedStateKey } from '../../src/store/index.js';
import type { BatchOptions, EngineOp } from '../../src/store/index.js';
import { actorSeqBlock } from '../../src/config/index.js';
import { ActorIds } from '../../src/node/actors.js';
import type { DVVSet } from '../../src/vclock/types.js';

const SAVED_KEY = savedStateKey('actor.recent');

function obj(entries: Array<[string, number]>): DVVSet {
  return { entries: entries.map(([id, n]) => ({ id, n, values: [{ value: new Uint8Array([1]), ts: 1 }], ts: 1 })), anon: [] };
}

async function open(backing: MemoryBacking): Promise<{ store: ObjectStore; actors: ActorIds; engine: MemoryEngine }> {
  const engine = new MemoryEngine(backing);
  const store = new ObjectStore(engine);
  await store.open();
  const actors = new ActorIds(store, 'n1#ep');
  await actors.open();
  return { store, actors, engine };
}

/** A store whose node wrote key 'k' (partition 0) under a fresh actor, then stopped cleanly (saving its memory). */
async function cleanlyStopped(): Promise<{ backing: MemoryBacking; id: string }> {
  const backing = new MemoryBacking();
  const { store, actors } = await open(backing);
  await actors.ensure();
  const id = actors.choose(0, 'k', undefined, []);
  await store.close();
  return { backing, id };
}

/** A plain store on `backing` (no actor ids on it, so its close saves nothing). */
async function plainStore(backing: MemoryBacking): Promise<ObjectStore> {
  const store = new ObjectStore(new MemoryEngine(backing));
  await store.open();
  return store;
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

  it('syncs each reservation of ids, at open and on the way, through the engine log alone', async () => {
    const synced: Array<BatchOptions | undefined> = [];
    class Recording extends MemoryEngine {
      override batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
        if (options?.sync === true) synced.push(options);
        return super.batch(ops, options);
      }
    }
    const store = new ObjectStore(new Recording(new MemoryBacking()));
    await store.open();
    synced.length = 0;
    const actors = new ActorIds(store, 'n1#ep');
    await actors.open();
    expect(synced).toEqual([{ sync: true, logOnly: true }]);
    // A whole block handed out and one more: the next block was reserved (ahead, once half
    // the first was used), synced the same way.
    for (let i = 0; i <= actorSeqBlock; i++) {
      await actors.ensure();
      actors.choose(0, `k${i}`, undefined, []);
    }
    await actors.ensure();
    expect(synced.length).toBeGreaterThanOrEqual(2);
    expect(synced.every((o) => o?.logOnly === true)).toBe(true);
    await store.close();
  });

  it('keeps its memory across a clean restart: a remembered key keeps its actor (no new clock entry)', async () => {
    const backing = new MemoryBacking();
    const one = await open(backing);
    await one.actors.ensure();
    const a = one.actors.choose(0, 'a', undefined, []);
    const b = one.actors.choose(1, 'b', undefined, []);
    one.actors.forget(1, 'b');
    await one.store.close();
    const two = await open(backing);
    expect(two.actors.restoredKeys()).toBe(1);
    await two.actors.ensure();
    expect(two.actors.choose(0, 'a', obj([[a, 1]]), [[a, 1]])).toBe(a);
    // Removed before the stop: forgotten across it too.
    expect(two.actors.choose(1, 'b', obj([[b, 1]]), [[b, 1]])).not.toBe(b);
    // Fresh ids after the restart still never repeat one handed out before it.
    const c = two.actors.choose(0, 'c', undefined, []);
    expect([a, b]).not.toContain(c);
  });

  it('takes a saved memory only at the start right after its clean stop: not after a crash, not twice', async () => {
    // Crash (no close): nothing saved, fresh ids.
    const crashed = new MemoryBacking();
    const c1 = await open(crashed);
    await c1.actors.ensure();
    const k = c1.actors.choose(0, 'k', undefined, []);
    await c1.store.drain();
    c1.engine.crash();
    const c2 = await open(crashed);
    expect(c2.actors.restoredKeys()).toBe(0);
    await c2.actors.ensure();
    expect(c2.actors.choose(0, 'k', obj([[k, 1]]), [[k, 1]])).not.toBe(k);

    // Clean stop, then a start that crashes, then another start: the copy served the
    // first start only (its open deleted the copy; and the mark has moved on).
    const { backing, id } = await cleanlyStopped();
    const raw = new MemoryEngine(backing);
    await raw.open();
    const copy = await raw.get(SAVED_KEY);
    await raw.close();
    expect(copy?.length).toBeGreaterThan(0);
    const s2 = await open(backing);
    expect(s2.actors.restoredKeys()).toBe(1);
    await s2.store.drain();
    // s2 dies without closing; whatever it wrote under `id` may be on peers only.
    s2.engine.crash();
    const s2b = await open(backing);
    expect(s2b.actors.restoredKeys()).toBe(0);
    s2b.engine.crash();
    // Even if the copy came back (put back behind the store's back), the mark has moved
    // on since it was saved: not taken.
    const put = new MemoryEngine(backing);
    await put.open();
    await put.batch([{ type: 'put', key: SAVED_KEY, value: copy! }]);
    await put.close();
    const s3 = await open(backing);
    expect(s3.actors.restoredKeys()).toBe(0);
    await s3.actors.ensure();
    expect(s3.actors.choose(0, 'k', obj([[id, 1]]), [[id, 1]])).not.toBe(id);
  });

  it('drops the saved memory unused when told to forget it (a data directory put back from a copy)', async () => {
    const { backing, id } = await cleanlyStopped();
    const s2 = new ActorIds(await plainStore(backing), 'n1#ep');
    await s2.open({ forgetSaved: true });
    expect(s2.restoredKeys()).toBe(0);
    await s2.ensure();
    expect(s2.choose(0, 'k', obj([[id, 1]]), [[id, 1]])).not.toBe(id);
  });

  it('ignores a saved memory that is damaged, of another format, or of another actor base', async () => {
    const enc = new TextEncoder();
    for (const bad of ['{', '{"v":2}', 'null', '[]']) {
      const { backing } = await cleanlyStopped();
      // Overwrite what the close saved, keeping the mark it was tagged with.
      const store = await plainStore(backing);
      store.onClose('actor.recent', () => enc.encode(bad));
      await store.close();
      const s2 = await open(backing);
      expect(s2.actors.restoredKeys()).toBe(0);
    }
    // Another base (the same store under another node id): not ours to take.
    const other = new ActorIds(await plainStore((await cleanlyStopped()).backing), 'n2#ep');
    await other.open();
    expect(other.restoredKeys()).toBe(0);
  });

  it('does not mistake another node whose id shares a prefix for its own', async () => {
    const { actors } = await open(new MemoryBacking());
    expect(actors.owns('n1#ep')).toBe(true);
    expect(actors.owns('n1#ep.3')).toBe(true);
    expect(actors.owns('n1#epoch2.3')).toBe(false);
    expect(actors.owns('n10#ep.3')).toBe(false);
  });
});
