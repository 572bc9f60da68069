// State a clean close saves for the next open (ObjectStore.onClose, takeSaved): taken
// once by the open right after that close, deleted by it before anything is written, and
// never found after a crash. The key filter, the anti-entropy trees and the actor memory
// all rely on this one argument.
import { describe, expect, it } from 'vitest';
import { MemoryBacking, MemoryEngine, ObjectStore, metaKey, savedStateKey, type BatchOptions, type EngineOp } from '../../src/store/index.js';
import type { DVVSet } from '../../src/vclock/types.js';

function obj(text: string): DVVSet {
  return { entries: [{ id: 'a#x', n: 1, values: [{ value: new TextEncoder().encode(text), ts: 1 }], ts: 1 }], anon: [] };
}

/** Records every batch the store hands the engine, in order. */
class RecordingEngine extends MemoryEngine {
  batches: Array<{ ops: readonly EngineOp[]; sync: boolean }> = [];
  override batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    this.batches.push({ ops, sync: options?.sync === true });
    return super.batch(ops, options);
  }
}

const has = (backing: MemoryBacking, name: string): boolean => backing.map.has(Buffer.from(savedStateKey(name)).toString('latin1'));

async function open(backing: MemoryBacking, options: { absenceFilter?: boolean } = {}): Promise<{ engine: RecordingEngine; store: ObjectStore }> {
  const engine = new RecordingEngine(backing);
  const store = new ObjectStore(engine, { cacheEntriesMax: 0, ...options });
  await store.open();
  return { engine, store };
}

/** A store on a new backing that saved `states` at its clean close (the key filter off, to keep the names to these). */
async function savedBy(states: Record<string, number[]>): Promise<MemoryBacking> {
  const backing = new MemoryBacking();
  const { store } = await open(backing, { absenceFilter: false });
  await store.update(1, 'k', () => obj('v'));
  for (const [name, bytes] of Object.entries(states)) store.onClose(name, () => Uint8Array.from(bytes));
  await store.close();
  return backing;
}

describe('state saved at a clean close', () => {
  it('is handed over once by the next open, which deletes all of it in one synced write before anything else', async () => {
    const backing = await savedBy({ 'ae.trees': [1, 2, 3], 'actor.recent': [4] });
    expect(has(backing, 'ae.trees') && has(backing, 'actor.recent')).toBe(true);

    const { engine, store } = await open(backing, { absenceFilter: false });
    // The open's only write (the store's epoch is there already): the delete of both, synced.
    expect(engine.batches).toEqual([
      {
        ops: [
          { type: 'del', key: savedStateKey('actor.recent') },
          { type: 'del', key: savedStateKey('ae.trees') },
        ],
        sync: true,
      },
    ]);
    expect(has(backing, 'ae.trees') || has(backing, 'actor.recent')).toBe(false);
    expect(store.savedAtOpen()).toEqual(['actor.recent', 'ae.trees']);
    expect(Array.from(store.takeSaved('ae.trees') ?? [])).toEqual([1, 2, 3]);
    // Once: the store forgets it as it hands it over.
    expect(store.takeSaved('ae.trees')).toBeUndefined();
    expect(Array.from(store.takeSaved('actor.recent') ?? [])).toEqual([4]);
    expect(store.takeSaved('never.saved')).toBeUndefined();
    await store.close();
  });

  it('is not there after a crash of the run that took it, even when that run wrote nothing', async () => {
    const backing = await savedBy({ 'ae.trees': [9] });
    const { engine } = await open(backing, { absenceFilter: false });
    engine.crash();
    const { store } = await open(backing, { absenceFilter: false });
    expect(store.savedAtOpen()).toEqual([]);
    expect(store.takeSaved('ae.trees')).toBeUndefined();
    await store.close();
  });

  it('a clean close saves only what its hooks produce then; a hook registered again replaces the first', async () => {
    const backing = new MemoryBacking();
    const { store } = await open(backing, { absenceFilter: false });
    let state: number[] | undefined = [1];
    store.onClose('late', () => (state === undefined ? undefined : Uint8Array.from(state)));
    store.onClose('skip', () => undefined);
    await store.update(1, 'k', () => obj('v'));
    state = [2, 2];
    await store.close();
    const { store: next } = await open(backing, { absenceFilter: false });
    expect(next.savedAtOpen()).toEqual(['late']);
    expect(Array.from(next.takeSaved('late') ?? [])).toEqual([2, 2]);
    await next.close();
  });

  it('a store opened by a tool takes it too, so a node started after the tool wrote finds none', async () => {
    const backing = await savedBy({ 'actor.recent': [4] });
    // A tool writes through the store's own code, and closes cleanly without any hook.
    const { store: tool } = await open(backing, { absenceFilter: false });
    await tool.update(2, 'from-tool', () => obj('t'));
    await tool.close();
    const { store } = await open(backing, { absenceFilter: false });
    expect(store.takeSaved('actor.recent')).toBeUndefined();
    expect(await store.get(2, 'from-tool')).toBeDefined();
    await store.close();
  });

  it('plain metadata cannot reach the saved names, and saved state cannot be read before the open', async () => {
    const backing = new MemoryBacking();
    const { store } = await open(backing);
    expect(() => store.putMeta('saved.ae.trees', new Uint8Array([1]))).toThrow(/saved state/);
    await expect(store.getMeta('saved.ae.trees')).rejects.toThrow(/saved state/);
    // A plain name that merely contains the word is plain.
    await store.putMeta('unsaved.x', new Uint8Array([1]));
    expect(Array.from((await store.getMeta('unsaved.x')) ?? [])).toEqual([1]);
    expect(backing.map.has(Buffer.from(metaKey('unsaved.x')).toString('latin1'))).toBe(true);
    await store.close();
    const fresh = new ObjectStore(new MemoryEngine(new MemoryBacking()));
    expect(() => fresh.takeSaved('ae.trees')).toThrow(/not open/);
  });
});
