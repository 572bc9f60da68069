/**
 * The shared contract suite for storage: every engine (memory, classic-level, rocksdb)
 * runs exactly these tests through the ObjectStore, so the three cannot drift apart.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isShoalError, type ShoalError } from '../../src/errors/index.js';
import { SeededRandom } from '../../src/env/index.js';
import { ObjectStore, REMOVE, metaKey, objectKey, objectKeyName, savedStateKey, type Engine, type ObjectStoreOptions, type UpdateFn, type UpdateManyResult } from '../../src/store/index.js';
import type { DVVSet } from '../../src/vclock/types.js';

/** A place an engine can be opened, closed, and opened again (a node's data directory). */
export interface Location {
  /** A new engine object on this location (not yet open). */
  engine(): Engine;
}

export interface EngineHarness {
  readonly name: string;
  /** A fresh, empty location. */
  fresh(): Promise<Location>;
  /** Removes every location made by `fresh` (temporary directories). */
  cleanup(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A one-sibling object holding `text`. */
export function obj(text: string, actor = 'a#x', n = 1): DVVSet {
  return { entries: [{ id: actor, n, ts: 1000 + n, values: [{ value: enc.encode(text), ts: 2000 + n }] }], anon: [] };
}

/** The text of a one-sibling object. */
export function text(o: DVVSet | undefined): string | undefined {
  const v = o?.entries[0]?.values[0]?.value;
  return v === undefined || v === null ? undefined : dec.decode(v);
}

/** The ShoalError a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<ShoalError> {
  try {
    await p;
  } catch (err) {
    if (isShoalError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

export function storeContract(harness: EngineHarness): void {
  describe(`ObjectStore on ${harness.name}`, () => {
    const open: ObjectStore[] = [];
    const locations = new Map<ObjectStore, Location>();

    /** The location a store was opened on. */
    function locOf(store: ObjectStore): Location {
      const loc = locations.get(store);
      if (loc === undefined) throw new Error('store was not opened through openStore');
      return loc;
    }

    async function openStore(loc: Location, options: ObjectStoreOptions = {}): Promise<ObjectStore> {
      const store = new ObjectStore(loc.engine(), options);
      await store.open();
      open.push(store);
      locations.set(store, loc);
      return store;
    }

    async function reopen(store: ObjectStore, loc: Location, options: ObjectStoreOptions = {}): Promise<ObjectStore> {
      await store.close();
      return openStore(loc, options);
    }

    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      locations.clear();
    });
    afterAll(async () => {
      await harness.cleanup();
    });

    it('round-trips an object through update and get', async () => {
      const store = await openStore(await harness.fresh());
      expect(await store.get(1, 'k')).toBeUndefined();
      const o: DVVSet = {
        entries: [
          { id: 'n1#aa', n: 3, ts: 17, values: [{ value: enc.encode('v3'), ts: 5 }, { value: null, ts: 4 }] },
          { id: 'n2#bb', n: 1, ts: 18, values: [] },
        ],
        anon: [{ value: new Uint8Array([0, 255]), ts: 1.5 }],
      };
      const r = await store.update(1, 'k', (cur) => {
        expect(cur).toBeUndefined();
        return o;
      });
      expect(r).toEqual({ before: undefined, after: o, changed: true });
      expect(await store.get(1, 'k')).toEqual(o);
      // A cold read (a reopened store, empty cache) decodes to the same object.
      const cold = await reopen(store, locOf(store));
      expect(await cold.get(1, 'k')).toEqual(o);
      const same = await cold.update(1, 'k', () => undefined);
      expect(same.changed).toBe(false);
      expect(same.after).toEqual(o);
      expect(same.before).toEqual(o);
    });

    it('keeps partitions apart and scans in key order with after and limit', async () => {
      const store = await openStore(await harness.fresh());
      const keys = ['b', 'a', 'c', 'aa', 'ab', 'z', 'A'];
      await Promise.all(keys.map((k) => store.update(7, k, () => obj(`7:${k}`))));
      await Promise.all(['a', 'q'].map((k) => store.update(8, k, () => obj(`8:${k}`))));
      await store.update(6, 'zz', () => obj('6:zz'));
      const sorted = [...keys].sort();
      const all = await store.scan(7);
      expect(all.map(([k]) => k)).toEqual(sorted);
      expect(all.map(([, o]) => text(o))).toEqual(sorted.map((k) => `7:${k}`));
      expect((await store.scan(8)).map(([k]) => k)).toEqual(['a', 'q']);
      expect(text(await store.get(8, 'a'))).toBe('8:a');
      expect(await store.get(8, 'b')).toBeUndefined();
      // Paging: after is exclusive, limit bounds the page.
      const page1 = await store.scan(7, { limit: 3 });
      const page2 = await store.scan(7, { after: page1[2]![0], limit: 3 });
      const page3 = await store.scan(7, { after: page2[2]![0], limit: 3 });
      expect([...page1, ...page2, ...page3].map(([k]) => k)).toEqual(sorted);
      expect(await store.scan(7, { after: 'z' })).toEqual([]);
      expect(await store.scan(9)).toEqual([]);
      const streamed: string[] = [];
      for await (const chunk of store.partitionKeyChunks(7)) for (const k of chunk) streamed.push(objectKeyName(k));
      expect(streamed).toEqual(sorted);
      const entries: string[] = [];
      for await (const [k, o] of store.partitionEntries(8)) entries.push(`${k}=${text(o)}`);
      expect(entries).toEqual(['a=8:a', 'q=8:q']);
    });

    it('stores unicode keys and keys of exactly 512 bytes, and refuses longer ones', async () => {
      const store = await openStore(await harness.fresh());
      const unicode = ['ключ', '键', '🦈 shoal', 'e\u0301', 'é'];
      const long = 'x'.repeat(510) + 'é'; // 512 bytes of UTF-8
      expect(Buffer.byteLength(long)).toBe(512);
      for (const k of [...unicode, long]) await store.update(0, k, () => obj(k));
      for (const k of [...unicode, long]) expect(text(await store.get(0, k))).toBe(k);
      const scanned = (await store.scan(0)).map(([k]) => k);
      const byUtf8 = [...unicode, long].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(scanned).toEqual(byUtf8);
      expect((await rejection(store.update(0, long + 'y', () => obj('no')))).code).toBe('BAD_REQUEST');
      expect((await rejection(store.update(0, '', () => obj('no')))).code).toBe('BAD_REQUEST');
    });

    it('removes an object conditionally (REMOVE) in key order with other updates', async () => {
      const store = await openStore(await harness.fresh());
      await store.update(4, 'k', () => obj('one'));
      // Issued together: the removal sees 'two' (the update before it), so it keeps it.
      const [, kept] = await Promise.all([
        store.update(4, 'k', () => obj('two')),
        store.update(4, 'k', (cur) => (text(cur) === 'one' ? REMOVE : undefined)),
      ]);
      expect(kept.changed).toBe(false);
      expect(text(await store.get(4, 'k'))).toBe('two');
      const removed = await store.update(4, 'k', (cur) => (text(cur) === 'two' ? REMOVE : undefined));
      expect(removed).toMatchObject({ changed: true, after: undefined });
      expect(text(removed.before)).toBe('two');
      expect(await store.get(4, 'k')).toBeUndefined();
      const reopened = await reopen(store, locOf(store));
      expect(await reopened.get(4, 'k')).toBeUndefined();
      expect((await reopened.update(4, 'absent', () => REMOVE)).changed).toBe(false);
    });

    it('serialises concurrent updates of one key: 100 increments lose none', async () => {
      const store = await openStore(await harness.fresh());
      const seen: number[] = [];
      const incr = (cur: DVVSet | undefined): DVVSet => {
        const n = Number(text(cur) ?? '0');
        seen.push(n);
        return obj(String(n + 1));
      };
      const results = await Promise.all(Array.from({ length: 100 }, () => store.update(2, 'counter', incr)));
      expect(text(await store.get(2, 'counter'))).toBe('100');
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(new Set(results.map((r) => text(r.after))).size).toBe(100);
      // And the same across turns: increments issued while a batch is being written.
      const more: Array<Promise<unknown>> = [];
      for (let i = 0; i < 20; i++) {
        more.push(store.update(2, 'counter', incr));
        await Promise.resolve();
      }
      await Promise.all(more);
      const reopened = await reopen(store, locOf(store));
      expect(text(await reopened.get(2, 'counter'))).toBe('120');
    });

    it('group-commits updates issued in one turn into one engine batch', async () => {
      const store = await openStore(await harness.fresh());
      const before = store.stats().batches;
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.update(3, `k${i}`, () => obj(`v${i}`))));
      expect(store.stats().batches - before).toBe(1);
      const mid = store.stats().batches;
      // Sequential awaited updates each need their own batch.
      for (let i = 0; i < 3; i++) await store.update(3, `s${i}`, () => obj('s'));
      expect(store.stats().batches - mid).toBe(3);
      expect((await store.scan(3)).length).toBe(53);
    });

    it('isolates a throwing update function to its own call', async () => {
      const store = await openStore(await harness.fresh());
      const a = store.update(4, 'k', () => obj('one'));
      const b = store.update(4, 'k', () => {
        throw new Error('boom');
      });
      const c = store.update(4, 'k', (cur) => obj(`${text(cur)}+two`));
      await a;
      await expect(b).rejects.toThrow('boom');
      expect(text((await c).after)).toBe('one+two');
      expect(text(await store.get(4, 'k'))).toBe('one+two');
    });

    it('removes objects physically', async () => {
      const store = await openStore(await harness.fresh());
      await store.update(5, 'k', () => obj('v'));
      await store.remove(5, 'k');
      expect(await store.get(5, 'k')).toBeUndefined();
      expect(await store.scan(5)).toEqual([]);
      await store.remove(5, 'never-written');
      // remove then update in the same turn: the update sees nothing.
      await store.update(5, 'j', () => obj('old'));
      const [, r] = await Promise.all([store.remove(5, 'j'), store.update(5, 'j', (cur) => obj(cur === undefined ? 'fresh' : 'stale'))]);
      expect(text(r.after)).toBe('fresh');
      const reopened = await reopen(store, locOf(store));
      expect(await reopened.get(5, 'k')).toBeUndefined();
      expect(text(await reopened.get(5, 'j'))).toBe('fresh');
    });

    it('adds, lists oldest first, deletes and counts hints, and recounts after reopen', async () => {
      const loc = await harness.fresh();
      const store = await openStore(loc);
      await store.addHint('node1', 3, 'a', 100);
      await store.addHint('node10', 4, 'b', 101);
      await store.addHint('node1', 5, 'c', 102);
      await store.addHint('node1', 3, 'a', 103); // the same key twice is allowed
      expect(store.hintsPending()).toBe(4);
      expect(store.hintTargets()).toEqual(new Map([['node1', 3], ['node10', 1]]));
      const h1 = await store.hints('node1', 10);
      expect(h1.map((h) => [h.partition, h.key, h.ts])).toEqual([[3, 'a', 100], [5, 'c', 102], [3, 'a', 103]]);
      expect((await store.hints('node1', 2)).length).toBe(2);
      expect((await store.hints('node10', 10)).map((h) => h.key)).toEqual(['b']);
      expect(await store.hints('node2', 10)).toEqual([]);

      await store.deleteHint('node1', h1[1]!.id);
      await store.deleteHint('node1', h1[1]!.id); // twice: still one fewer
      expect(store.hintTargets().get('node1')).toBe(2);
      expect((await store.hints('node1', 10)).map((h) => h.ts)).toEqual([100, 103]);

      const reopened = await reopen(store, loc);
      expect(reopened.hintsPending()).toBe(3);
      expect(reopened.hintTargets()).toEqual(new Map([['node1', 2], ['node10', 1]]));
      // Ids keep increasing across restarts, even once every hint is delivered.
      const maxId = Buffer.from(h1[2]!.id);
      for (const h of await reopened.hints('node1', 10)) await reopened.deleteHint('node1', h.id);
      for (const h of await reopened.hints('node10', 10)) await reopened.deleteHint('node10', h.id);
      expect(reopened.hintsPending()).toBe(0);
      expect(reopened.hintTargets().size).toBe(0);
      const again = await reopen(reopened, loc);
      await again.addHint('node1', 0, 'z', 200);
      const [fresh] = await again.hints('node1', 1);
      expect(Buffer.compare(Buffer.from(fresh!.id), maxId)).toBeGreaterThan(0);
    });

    it('records an update and its hint in one batch, and bounds hints per target', async () => {
      const store = await openStore(await harness.fresh(), { hintsPerTargetMax: 2 });
      const before = store.stats().batches;
      await store.update(1, 'k', () => obj('v'), { hint: 'peer', now: 55 });
      expect(store.stats().batches - before).toBe(1);
      expect(await store.hints('peer', 10)).toMatchObject([{ partition: 1, key: 'k', ts: 55 }]);
      await store.addHint('peer', 1, 'k2', 56);
      expect((await rejection(store.addHint('peer', 1, 'k3', 57))).code).toBe('OVERLOADED');
      expect((await rejection(store.update(1, 'k4', () => obj('v'), { hint: 'peer' }))).code).toBe('OVERLOADED');
      expect(await store.get(1, 'k4')).toBeUndefined(); // refused before anything was written
      expect(store.hintTargets().get('peer')).toBe(2);
      await store.addHint('other', 1, 'k3', 57); // other targets are unaffected
      const [first] = await store.hints('peer', 1);
      await store.deleteHint('peer', first!.id);
      await store.addHint('peer', 1, 'k3', 58);
      expect(store.hintTargets().get('peer')).toBe(2);
      // Concurrent adds in one turn cannot overshoot the bound either.
      const burst = await Promise.allSettled([store.addHint('p2', 0, 'a', 1), store.addHint('p2', 0, 'b', 1), store.addHint('p2', 0, 'c', 1)]);
      expect(burst.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    });

    it('stores meta and keeps it across reopen', async () => {
      const loc = await harness.fresh();
      const store = await openStore(loc);
      expect(await store.getMeta('ring')).toBeUndefined();
      await store.putMeta('ring', new Uint8Array([1, 2, 3]));
      await store.putMeta('ring', new Uint8Array([4, 5]));
      await store.putMeta('name', enc.encode('n1'));
      expect(await store.getMeta('ring')).toEqual(new Uint8Array([4, 5]));
      const reopened = await reopen(store, loc);
      expect(await reopened.getMeta('ring')).toEqual(new Uint8Array([4, 5]));
      expect(dec.decode(await reopened.getMeta('name'))).toBe('n1');
    });

    it('keeps its epoch across reopen and makes a different one for a fresh database', async () => {
      const loc = await harness.fresh();
      const store = await openStore(loc);
      const epoch = store.epoch;
      expect(epoch).toMatch(/^[0-9a-z]{8}$/);
      const reopened = await reopen(store, loc);
      expect(reopened.epoch).toBe(epoch);
      const other = await openStore(await harness.fresh());
      expect(other.epoch).not.toBe(epoch);
      // Seeded: reproducible, and still stable across reopen.
      const locS = await harness.fresh();
      const seeded = await openStore(locS, { random: new SeededRandom(7) });
      const seededAgain = await openStore(await harness.fresh(), { random: new SeededRandom(7) });
      expect(seededAgain.epoch).toBe(seeded.epoch);
      expect((await reopen(seeded, locS, { random: new SeededRandom(8) })).epoch).toBe(seeded.epoch);
    });

    it('reports corrupt bytes as CORRUPT naming partition and key, and can remove them', async () => {
      const loc = await harness.fresh();
      let store = await openStore(loc);
      await store.update(9, 'good', () => obj('fine'));
      await store.update(9, 'flip', () => obj('will be flipped'));
      await store.close();

      const engine = loc.engine();
      await engine.open();
      // A tool that writes object keys behind the store's back drops the state the last
      // clean close saved (ObjectStore.takeSavedStates): its key filter would not hold 'garbage'.
      await engine.batch([
        { type: 'put', key: objectKey(9, 'garbage'), value: enc.encode('not a shoal value at all') },
        { type: 'del', key: savedStateKey('store.keyFilter') },
      ]);
      const stored = await engine.get(objectKey(9, 'flip'));
      const flipped = Uint8Array.from(stored!);
      const at = flipped.length - 3;
      flipped[at] = flipped[at]! ^ 0x10;
      await engine.batch([{ type: 'put', key: objectKey(9, 'flip'), value: flipped }]);
      await engine.close();

      store = await openStore(loc);
      for (const key of ['garbage', 'flip']) {
        const err = await rejection(store.get(9, key));
        expect(err.code).toBe('CORRUPT');
        expect(err.message).toContain(JSON.stringify(key));
        expect(err.message).toContain('partition 9');
        expect(err.details).toMatchObject({ partition: 9, key });
        expect((await rejection(store.update(9, key, () => obj('x')))).code).toBe('CORRUPT');
      }
      expect(text(await store.get(9, 'good'))).toBe('fine');
      expect((await rejection(store.scan(9))).code).toBe('CORRUPT');
      expect((await store.scan(9, { skipCorrupt: true })).map(([k]) => k)).toEqual(['good']);
      expect(store.stats().corrupt).toBeGreaterThanOrEqual(4);
      await store.remove(9, 'garbage');
      await store.update(9, 'flip', () => undefined).catch(() => undefined);
      await store.remove(9, 'flip');
      await store.update(9, 'flip', () => obj('repaired'));
      expect(text(await store.get(9, 'flip'))).toBe('repaired');
      expect((await store.scan(9)).map(([k]) => k)).toEqual(['flip', 'good']);
    });

    it('replaces a corrupt object when an update asks to (a repair), and only then', async () => {
      const loc = await harness.fresh();
      let store = await openStore(loc);
      await store.update(3, 'broken', () => obj('original'));
      await store.close();
      const engine = loc.engine();
      await engine.open();
      await engine.batch([{ type: 'put', key: objectKey(3, 'broken'), value: enc.encode('unreadable bytes') }]);
      await engine.close();

      store = await openStore(loc);
      expect((await rejection(store.update(3, 'broken', () => obj('plain write')))).code).toBe('CORRUPT');
      const seen: Array<DVVSet | undefined> = [];
      const res = await store.update(
        3,
        'broken',
        (cur) => {
          seen.push(cur);
          return obj('repaired');
        },
        { replaceCorrupt: true },
      );
      // The repair starts from nothing: there was nothing readable to merge into.
      expect(seen).toEqual([undefined]);
      expect(res.before).toBeUndefined();
      expect(text(await store.get(3, 'broken'))).toBe('repaired');
      expect(store.stats().corruptReplaced).toBe(1);
      // The key is an ordinary one again.
      await store.update(3, 'broken', () => obj('later'));
      expect(text(await store.get(3, 'broken'))).toBe('later');
    });

    it('bounds the read cache and counts hits and misses', async () => {
      const store = await openStore(await harness.fresh(), { cacheEntriesMax: 3 });
      for (let i = 0; i < 6; i++) await store.update(0, `k${i}`, () => obj(`v${i}`));
      expect(store.stats().cacheEntries).toBe(3);
      const s0 = store.stats();
      expect(text(await store.get(0, 'k5'))).toBe('v5'); // most recent: cached
      expect(text(await store.get(0, 'k0'))).toBe('v0'); // evicted long ago: a miss
      const s1 = store.stats();
      expect(s1.cacheHits - s0.cacheHits).toBe(1);
      expect(s1.cacheMisses - s0.cacheMisses).toBe(1);
      expect(text(await store.get(0, 'k0'))).toBe('v0'); // now cached
      expect(store.stats().cacheHits - s1.cacheHits).toBe(1);
      expect(await store.get(0, 'absent')).toBeUndefined();
      expect(await store.get(0, 'absent')).toBeUndefined(); // absence is cached too
      expect(store.stats().cacheEntries).toBe(3);
      // update keeps the cache coherent: the next get is a hit with the new value.
      await store.update(0, 'k0', () => obj('new'));
      const s2 = store.stats();
      expect(text(await store.get(0, 'k0'))).toBe('new');
      expect(store.stats().cacheHits - s2.cacheHits).toBe(1);
      const off = await openStore(await harness.fresh(), { cacheEntriesMax: 0 });
      await off.update(0, 'k', () => obj('v'));
      expect(text(await off.get(0, 'k'))).toBe('v');
      expect(off.stats().cacheEntries).toBe(0);
    });

    it('keeps everything across reopen', async () => {
      const loc = await harness.fresh();
      const store = await openStore(loc);
      const writes: Array<Promise<unknown>> = [];
      for (let p = 0; p < 4; p++) for (let i = 0; i < 25; i++) writes.push(store.update(p, `key-${i}`, () => obj(`${p}/${i}`)));
      writes.push(store.addHint('t', 2, 'key-1', 9), store.putMeta('m', new Uint8Array([9])));
      await Promise.all(writes);
      const epoch = store.epoch;
      // close() flushes what is still queued.
      void store.update(3, 'late', () => obj('late'));
      const reopened = await reopen(store, loc);
      expect(reopened.epoch).toBe(epoch);
      for (let p = 0; p < 4; p++) {
        const rows = await reopened.scan(p);
        expect(rows.length).toBe(p === 3 ? 26 : 25);
        for (const [k, o] of rows) if (k !== 'late') expect(text(o)).toBe(`${p}/${k.slice(4)}`);
      }
      expect(text(await reopened.get(3, 'late'))).toBe('late');
      expect(reopened.hintsPending()).toBe(1);
      expect(await reopened.getMeta('m')).toEqual(new Uint8Array([9]));
    });

    it('refuses operations after close', async () => {
      const store = await openStore(await harness.fresh());
      await store.close();
      expect((await rejection(store.update(0, 'k', () => obj('v')))).code).toBe('CLOSED');
      expect((await rejection(store.get(0, 'k'))).code).toBe('CLOSED');
    });

    it('matches a Map model under random updates, removes and reads (property)', async () => {
      const store = await openStore(await harness.fresh(), { cacheEntriesMax: 4 });
      let partition = 100;
      const key = fc.constantFrom('a', 'b', 'c', 'ä', 'd/e', 'zz');
      const op = fc.oneof(
        fc.record({ t: fc.constant('set' as const), k: key, v: fc.string({ maxLength: 8 }) }),
        fc.record({ t: fc.constant('append' as const), k: key, v: fc.string({ maxLength: 3 }) }),
        fc.record({ t: fc.constant('remove' as const), k: key }),
        fc.record({ t: fc.constant('get' as const), k: key }),
        fc.record({ t: fc.constant('await' as const) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          const p = partition++;
          const model = new Map<string, string>();
          let inFlight: Array<Promise<unknown>> = [];
          for (const o of ops) {
            switch (o.t) {
              case 'set':
                model.set(o.k, o.v);
                inFlight.push(store.update(p, o.k, () => obj(o.v)));
                break;
              case 'append': {
                const next = (model.get(o.k) ?? '') + o.v;
                model.set(o.k, next);
                inFlight.push(store.update(p, o.k, (cur) => obj((text(cur) ?? '') + o.v)));
                break;
              }
              case 'remove':
                model.delete(o.k);
                inFlight.push(store.remove(p, o.k));
                break;
              case 'get': {
                // Reads see committed state: wait for what is in flight, then compare.
                await Promise.all(inFlight);
                inFlight = [];
                expect(text(await store.get(p, o.k))).toBe(model.get(o.k));
                break;
              }
              case 'await':
                await Promise.all(inFlight);
                inFlight = [];
                break;
            }
          }
          await Promise.all(inFlight);
          const expected = [...model.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
          expect((await store.scan(p)).map(([k, o]) => [k, text(o)])).toEqual(expected);
          for (const [k, v] of model) expect(text(await store.get(p, k))).toBe(v);
        }),
        { numRuns: 60 },
      );
    });

    it('updateMany gives the results and final state of the same updates made one by one (property)', async () => {
      const store = await openStore(await harness.fresh(), { cacheEntriesMax: 4 });
      let partition = 200;
      // Few keys, so that items repeat keys; '' is a malformed key (BAD_REQUEST).
      const item = fc.record({
        k: fc.constantFrom('a', 'b', 'c', 'ä', ''),
        t: fc.constantFrom('append', 'append', 'keep', 'remove', 'throw'),
        v: fc.string({ maxLength: 3 }),
      });
      type Item = { k: string; t: string; v: string };
      const fnOf = (o: Item, i: number): UpdateFn => (cur) => {
        switch (o.t) {
          case 'append':
            return obj(`${text(cur) ?? ''}${o.v}${i}.`);
          case 'keep':
            return undefined;
          case 'remove':
            return REMOVE;
          default:
            throw new Error(`fn ${i} throws`);
        }
      };
      const plain = (r: UpdateManyResult): unknown =>
        'error' in r ? { error: isShoalError(r.error) ? r.error.code : (r.error as Error).message } : { before: text(r.before), after: text(r.after), changed: r.changed };
      await fc.assert(
        fc.asyncProperty(fc.array(item, { maxLength: 30 }), fc.array(fc.nat(30), { maxLength: 2 }), async (items, cuts) => {
          const one = partition++;
          const many = partition++;
          const byOne: unknown[] = [];
          for (let i = 0; i < items.length; i++) {
            try {
              byOne.push(plain(await store.update(one, items[i]!.k, fnOf(items[i]!, i))));
            } catch (err) {
              byOne.push(plain({ error: err }));
            }
          }
          // The same items through updateMany, cut into up to three calls issued in one turn.
          const at = [...new Set([0, ...cuts.filter((c) => c < items.length), items.length])].sort((a, b) => a - b);
          const calls: Array<Promise<UpdateManyResult[]>> = [];
          for (let c = 0; c + 1 < at.length; c++) {
            calls.push(store.updateMany(items.slice(at[c], at[c + 1]).map((o, j) => ({ partition: many, key: o.k, fn: fnOf(o, at[c]! + j) }))));
          }
          const byMany = (await Promise.all(calls)).flat().map(plain);
          expect(byMany).toEqual(byOne);
          const state = async (p: number): Promise<unknown> => (await store.scan(p)).map(([k, o]) => [k, text(o)]);
          expect(await state(many)).toEqual(await state(one));
        }),
        { numRuns: 40 },
      );
    });
  });
}
