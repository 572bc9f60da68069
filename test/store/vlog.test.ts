/**
 * The value log (src/store/vlog.ts) over classic-level: what goes where, reads through
 * pointers, reopening, collection (and that it never overwrites a newer pointer), a
 * pointer that cannot be resolved, the order of syncs, and readers that outlive a
 * collected segment. The shared storage contract also runs over it (contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../src/env/index.js';
import { FORMAT_POINTER, LevelEngine, ObjectStore, ValueLogEngine, createEngine, metaKey, objectKeyName, nodeValueLogFiles, prewarmBudget, availableMemoryBytes } from '../../src/store/index.js';
import { storeValueLogPrewarmBytesMax } from '../../src/config/index.js';
import type { Engine, EngineOp, ValueLogFiles, ValueLogOptions } from '../../src/store/index.js';
import { obj, rejection, text } from './contract.js';
import { key, loggedFiles, randomBatch, segmentFiles, tempLocations, value } from './vlog-helpers.js';

const location = tempLocations('shoal-vlog-');

interface Opened {
  readonly level: LevelEngine;
  readonly vlog: ValueLogEngine;
  readonly dir: string;
}

/** A value log at `loc` over classic-level (or over `Level`, a LevelEngine subclass a test instruments). */
async function openAt(loc: string, options: Partial<ValueLogOptions> = {}, syncReads = true, Level: typeof LevelEngine = LevelEngine): Promise<Opened> {
  const level = new Level({ engine: 'classic-level', location: loc, syncReads });
  const dir = join(loc, 'vlog');
  const vlog = new ValueLogEngine(level, { dir, minBytes: 100, collectFloorBytes: Number.MAX_SAFE_INTEGER, ...options });
  await vlog.open();
  return { level, vlog, dir };
}

describe('ValueLogEngine', () => {
  it('keeps large objects in the log and a pointer in the engine; small ones, and other namespaces, stay inline', async () => {
    const { level, vlog, dir } = await openAt(await location());
    const big = value(300, 7);
    const small = value(50, 8);
    const meta = metaKey('big-meta');
    await vlog.batch([
      { type: 'put', key: key(1), value: big },
      { type: 'put', key: key(2), value: small },
      { type: 'put', key: meta, value: value(300, 9) },
    ]);
    const below = await level.getMany([key(1), key(2), meta]);
    expect(below[0]!.length).toBe(13);
    expect(below[0]![0]).toBe(FORMAT_POINTER);
    expect(Array.from(below[1]!)).toEqual(Array.from(small));
    expect(below[2]!.length).toBe(300);
    // Every read path resolves the pointer.
    expect(Array.from((await vlog.get(key(1)))!)).toEqual(Array.from(big));
    expect((await vlog.getMany([key(2), key(1), key(3)])).map((v) => v?.length)).toEqual([50, 300, undefined]);
    const ranged = await vlog.range({ gte: key(1), lte: key(1) });
    expect(Array.from(ranged[0]![1])).toEqual(Array.from(big));
    const iterated: number[] = [];
    for await (const [, v] of vlog.iterate({ gte: key(1), lte: key(1) })) iterated.push(v.length);
    expect(iterated).toEqual([300]);
    expect(vlog.valueLogStats.bytes).toBe(12 + key(1).length + 300);
    expect(await segmentFiles(dir)).toEqual(['00000001.vlog']);
    await vlog.close();
  });

  it('reopens: pointers still resolve, a fresh head is started, and an empty old head is removed', async () => {
    const loc = await location();
    const a = await openAt(loc);
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(200, 1) }]);
    await a.vlog.close();
    const b = await openAt(loc);
    expect(await segmentFiles(b.dir)).toEqual(['00000001.vlog', '00000002.vlog']);
    expect((await b.vlog.get(key(1)))![5]).toBe(1);
    await b.vlog.close();
    // The second run wrote nothing: its head is gone at the next open.
    const c = await openAt(loc);
    expect(await segmentFiles(c.dir)).toEqual(['00000001.vlog', '00000003.vlog']);
    await c.vlog.close();
  });

  it('starts a new segment when the head is full', async () => {
    const { vlog, dir } = await openAt(await location(), { segmentBytes: 1000 });
    for (let i = 0; i < 10; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    // Three 300-byte records fit in 1000 bytes, so 10 records take four segments.
    expect((await segmentFiles(dir)).length).toBe(4);
    for (let i = 0; i < 10; i++) expect((await vlog.get(key(i)))![10]).toBe(i);
    await vlog.close();
  });

  it('collection moves live records, drops overwritten ones, and deletes the segment', async () => {
    const { vlog, dir } = await openAt(await location(), { segmentBytes: 4000 });
    // Ten keys written three times: the first segments hold mostly overwritten values.
    // (Batches of two: a batch never spans two segments, so the last round's records
    // spread over the head and the segment before it.)
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i += 2) {
        await vlog.batch([i, i + 1].map((j): EngineOp => ({ type: 'put', key: key(j), value: value(300, round * 10 + j) })));
      }
    }
    // The last round's records that sit in segments older than the head are live: they
    // must be moved, and the first two rounds' records dropped.
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThan(2);
    expect(await vlog.collectAll()).toBe(before.length - 1);
    const stats = vlog.valueLogStats;
    expect(stats.collectFailures).toBe(0);
    expect(stats.movedRecords).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) expect((await vlog.get(key(i)))![10]).toBe(20 + i);
    const after = await segmentFiles(dir);
    expect(after).not.toContain(before[0]);
    // Only the last round's ten records are left, plus at most one head's worth.
    expect(stats.bytes).toBeLessThan(2 * 10 * (12 + key(9).length + 300) + 4000);
    await vlog.close();
  });

  it.each([
    [42, 0],
    [7, 0],
    [1234, 0],
    [99, 4],
    [5, 4],
  ])('collection never overwrites a pointer written after its check (writes interleaved at random, seed %i, keydir of %i)', async (seed, keydirEntries) => {
    // Reads on the thread pool: a write issued meanwhile can land between collection's
    // check of a pointer and its rewrite, unless the two are under one lock. With a keydir
    // of 4 for 12 keys, checks mix pointers held in memory and pointers read below.
    const { vlog } = await openAt(await location(), { segmentBytes: 2000, collectChunkBytes: 700, keydirEntries }, false);
    const random = new SeededRandom(seed);
    const model = new Map<number, number>();
    let fill = 0;
    const pending: Array<Promise<unknown>> = [];
    for (let step = 0; step < 300; step++) {
      const r = random.float();
      if (r < 0.15) {
        pending.push(vlog.collectAll());
      } else {
        const k = random.int(12);
        fill = (fill + 1) % 250;
        model.set(k, fill);
        // Not awaited: writes queue behind whatever collection is doing.
        pending.push(vlog.batch([{ type: 'put', key: key(k), value: value(150, fill) }]));
        if (r > 0.9) await Promise.all(pending.splice(0));
      }
    }
    await Promise.all(pending);
    await vlog.collectAll();
    expect(vlog.valueLogStats.collections).toBeGreaterThan(0);
    expect(vlog.valueLogStats.movedRecords).toBeGreaterThan(0);
    for (const [k, f] of model) expect((await vlog.get(key(k)))![10]).toBe(f);
    await vlog.close();
  });

  it('collection holds the write lock from its check of a pointer to its rewrite (a write in between waits)', async () => {
    // An engine whose reads answer only when the test says so, and which reports each write.
    let release: () => void = () => {};
    let heldRead: () => void = () => {};
    const readHeld = new Promise<void>((r) => (heldRead = r));
    let landed: () => void = () => {};
    let gate: Promise<void> | undefined;
    class Gated extends LevelEngine {
      override async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
        const values = await super.getMany(keys);
        if (gate !== undefined) {
          heldRead();
          await gate;
        }
        return values;
      }
      override async batch(ops: readonly EngineOp[], options?: { sync?: boolean }): Promise<void> {
        await super.batch(ops, options);
        if (ops.some((op) => op.type === 'put' && op.key[0] === key(1)[0] && op.value[0] === FORMAT_POINTER)) landed();
      }
    }
    // Collection's check must read the engine for the gate to hold it (with the keydir it
    // reads memory, synchronously, and no write can come between).
    const { vlog } = await openAt(await location(), { segmentBytes: 1000, keydirEntries: 0 }, true, Gated);
    // key(1) in the first segment, then enough to start a new head.
    for (let i = 1; i <= 4; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    gate = new Promise<void>((r) => (release = r));
    const collecting = vlog.collectAll();
    await readHeld;
    let newerLanded = false;
    const write = vlog.batch([{ type: 'put', key: key(1), value: value(300, 99) }]);
    const signal = new Promise<void>((r) => (landed = () => ((newerLanded = true), r())));
    // Without the lock the write lands at once; with it, it cannot until collection is done:
    // wait for it with a deadline, then let the read answer.
    const deadline = Date.now() + 300;
    while (!newerLanded && Date.now() < deadline) await Promise.race([signal, new Promise((r) => setTimeout(r, 5))]);
    expect(newerLanded).toBe(false);
    gate = undefined;
    release();
    await collecting;
    await write;
    expect((await vlog.get(key(1)))![10]).toBe(99);
    await vlog.close();
  });

  it('the keydir answers reads of recently written objects without the engine, and follows every write', async () => {
    let engineReads = 0;
    class Counting extends LevelEngine {
      override async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
        engineReads += keys.length;
        return super.getMany(keys);
      }
      override async get(k: Uint8Array): Promise<Uint8Array | undefined> {
        engineReads++;
        return super.get(k);
      }
    }
    const { vlog, dir } = await openAt(await location(), { segmentBytes: 2000 }, true, Counting);
    await vlog.batch(Array.from({ length: 6 }, (_, i): EngineOp => ({ type: 'put', key: key(i), value: value(300, i) })));
    expect(vlog.valueLogStats.keydirEntries).toBe(6);
    engineReads = 0;
    expect((await vlog.get(key(2)))![10]).toBe(2);
    expect((await vlog.getMany([key(0), key(5)])).map((v) => v![10])).toEqual([0, 5]);
    expect(engineReads).toBe(0);
    expect(vlog.valueLogStats.keydirHits).toBe(3);
    // A key written small, a key deleted: the keydir must not keep their pointers.
    await vlog.batch([
      { type: 'put', key: key(1), value: value(50, 77) },
      { type: 'del', key: key(2) },
    ]);
    // The same through a batch with no large object at all (the engine's batch is passed on whole).
    await vlog.batch([{ type: 'put', key: key(3), value: value(60, 78) }]);
    expect(vlog.valueLogStats.keydirEntries).toBe(3);
    expect((await vlog.getMany([key(1), key(2), key(3), key(4)])).map((v) => v?.[10])).toEqual([77, undefined, 78, 4]);
    expect(engineReads).toBe(3);
    // Collection moves records: the keydir must name their new places (the old file is deleted).
    // Keys 4 and 5 are still live in the first segment.
    await vlog.batch([{ type: 'put', key: key(0), value: value(300, 10) }]);
    expect(await vlog.collectAll()).toBeGreaterThan(0);
    expect(vlog.valueLogStats.movedRecords).toBe(2);
    expect(await segmentFiles(dir)).not.toContain('00000001.vlog');
    expect((await vlog.getMany([key(0), key(4), key(5)])).map((v) => v![10])).toEqual([10, 4, 5]);
    // Clear drops the entries of its range.
    await vlog.clear({ gte: key(0), lte: key(0) });
    expect(await vlog.get(key(0))).toBeUndefined();
    expect(vlog.valueLogStats.keydirEntries).toBe(2);
    await vlog.close();
    // A reopened log fills its keydir from the engine's pointers after the start, and
    // then reads without the engine again.
    await vlog.open();
    await vlog.whenWarm();
    expect(vlog.valueLogStats.keydirEntries).toBe(2);
    engineReads = 0;
    expect((await vlog.getMany([key(4), key(5)])).map((v) => v![10])).toEqual([4, 5]);
    expect(engineReads).toBe(0);
    await vlog.close();
  });

  it('the keydir filled after a start never replaces a pointer written meanwhile, and stops when full', async () => {
    const loc = await location();
    const first = await openAt(loc);
    await first.vlog.batch(Array.from({ length: 10 }, (_, i): EngineOp => ({ type: 'put', key: key(i), value: value(300, i) })));
    await first.vlog.close();
    // Reopen with the fill's steps under the test's control, two entries a step.
    const steps: Array<() => void> = [];
    const level = new LevelEngine({ engine: 'classic-level', location: loc, syncReads: true });
    const vlog = new ValueLogEngine(level, { dir: join(loc, 'vlog'), minBytes: 100, collectFloorBytes: Number.MAX_SAFE_INTEGER, keydirWarmChunkEntries: 2, defer: (fn) => steps.push(fn) });
    await vlog.open();
    const step = async (): Promise<void> => {
      const fn = steps.shift();
      expect(fn).toBeDefined();
      fn!();
      // Let the step's read and its entries finish.
      await new Promise((r) => setTimeout(r, 20));
    };
    await step();
    expect(vlog.valueLogStats.keydirEntries).toBe(2);
    // Writes land between steps: to a key the fill has passed, to keys it has not reached
    // yet (one overwritten, one deleted), and to a new key.
    const order = Array.from({ length: 10 }, (_, i) => key(i)).sort(Buffer.compare);
    const [passed, ahead1, ahead2] = [order[0]!, order[6]!, order[8]!];
    await vlog.batch([
      { type: 'put', key: passed, value: value(300, 50) },
      { type: 'put', key: ahead1, value: value(300, 60) },
      { type: 'del', key: ahead2 },
    ]);
    while (steps.length > 0) await step();
    await vlog.whenWarm();
    expect(vlog.valueLogStats.keydirEntries).toBe(9);
    const got = await vlog.getMany(order);
    const written = new Map(Array.from({ length: 10 }, (_, i) => [Buffer.from(key(i)).toString('hex'), i]));
    written.set(Buffer.from(passed).toString('hex'), 50);
    written.set(Buffer.from(ahead1).toString('hex'), 60);
    const want = order.map((k) => (k === ahead2 ? undefined : written.get(Buffer.from(k).toString('hex'))));
    expect(got.map((v) => v?.[10])).toEqual(want);
    await vlog.close();
    // A keydir of 4 entries stops the fill at 4.
    const small = await openAt(loc, { keydirEntries: 4 });
    await small.vlog.whenWarm();
    expect(small.vlog.valueLogStats.keydirEntries).toBe(4);
    await small.vlog.close();
  });

  it('the keydir fill after a start reads little of a store whose log is small (mostly inline objects)', async () => {
    const loc = await location();
    const first = await openAt(loc);
    // 2,000 small objects (inline), then 3 large ones: the log holds 3 records.
    for (let i = 0; i < 2_000; i += 500) {
      await first.vlog.batch(Array.from({ length: 500 }, (_, j): EngineOp => ({ type: 'put', key: key(i + j), value: value(50, 1) })));
    }
    await first.vlog.batch([2_000, 2_001, 2_002].map((i): EngineOp => ({ type: 'put', key: key(i), value: value(300, 2) })));
    await first.vlog.close();
    // Budget: ten steps of 10 entries, or 100 entries per record the log's bytes could
    // hold (3 records of ~326 bytes over the smallest record, 113 bytes: 8), so 800.
    const { vlog } = await openAt(loc, { keydirWarmChunkEntries: 10 });
    await vlog.whenWarm();
    expect(vlog.valueLogStats.keydirWarmed).toBe(800);
    await vlog.close();
    // Without inline objects around them, the same three pointers are all found.
    const loc2 = await location();
    const only = await openAt(loc2);
    await only.vlog.batch([2_000, 2_001, 2_002].map((i): EngineOp => ({ type: 'put', key: key(i), value: value(300, 2) })));
    await only.vlog.close();
    const again = await openAt(loc2, { keydirWarmChunkEntries: 10 });
    await again.vlog.whenWarm();
    expect(again.vlog.valueLogStats.keydirEntries).toBe(3);
    await again.vlog.close();
  });

  it('a batch the engine refuses leaves the keydir as the engine is', async () => {
    let fail = false;
    class Failing extends LevelEngine {
      override async batch(ops: readonly EngineOp[], options?: { sync?: boolean }): Promise<void> {
        if (fail) throw new Error('disk full');
        return super.batch(ops, options);
      }
    }
    const { vlog } = await openAt(await location(), {}, true, Failing);
    await vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }]);
    fail = true;
    await expect(vlog.batch([{ type: 'put', key: key(1), value: value(300, 2) }])).rejects.toThrow(/disk full/);
    await expect(vlog.batch([{ type: 'del', key: key(1) }])).rejects.toThrow(/disk full/);
    fail = false;
    expect((await vlog.get(key(1)))![10]).toBe(1);
    await vlog.close();
  });

  it('the keydir holds at most its limit, dropping the oldest; dropped keys read through the engine', async () => {
    const { vlog } = await openAt(await location(), { keydirEntries: 3 });
    for (let i = 0; i < 5; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    expect(vlog.valueLogStats.keydirEntries).toBe(3);
    const hits = vlog.valueLogStats.keydirHits;
    expect((await vlog.getMany([key(0), key(1), key(2), key(3), key(4)])).map((v) => v![10])).toEqual([0, 1, 2, 3, 4]);
    // Keys 2, 3 and 4 were written last.
    expect(vlog.valueLogStats.keydirHits - hits).toBe(3);
    await vlog.close();
  });

  it.each([3, 11, 2024])('the keydir agrees with the engine under random writes, deletes, clears and collections (seed %i)', async (seed) => {
    // A model of what each key holds, checked after every step through get and getMany,
    // with a keydir smaller than the key set so that reads mix memory and the engine.
    const { vlog } = await openAt(await location(), { segmentBytes: 1500, keydirEntries: 5 });
    const random = new SeededRandom(seed);
    const model = new Map<number, number | undefined>();
    const fill = { next: 0 };
    for (let step = 0; step < 120; step++) {
      const r = random.float();
      if (r < 0.05) {
        await vlog.collectAll();
      } else if (r < 0.08) {
        const k = random.int(10);
        await vlog.clear({ gte: key(k), lte: key(k) });
        model.set(k, undefined);
      } else {
        const ops = randomBatch(random, model, fill);
        await vlog.batch(ops);
      }
      const k = random.int(10);
      expect((await vlog.get(key(k)))?.[10]).toBe(model.get(k));
      const all = await vlog.getMany(Array.from({ length: 10 }, (_, i) => key(i)));
      expect(all.map((v) => v?.[10])).toEqual(Array.from({ length: 10 }, (_, i) => model.get(i)));
    }
    expect(vlog.valueLogStats.keydirHits).toBeGreaterThan(0);
    await vlog.close();
  });

  it("lists a partition's keys without reading a value from the log", async () => {
    let reads = 0;
    const files: ValueLogFiles = { ...nodeValueLogFiles, read: (...args) => (reads++, nodeValueLogFiles.read(...args)) };
    const { vlog } = await openAt(await location(), { files });
    const store = new ObjectStore(vlog, { cacheEntriesMax: 0 });
    await store.open();
    const names = ['a', 'b', 'c', 'd', 'e'];
    await store.updateMany(names.map((k) => ({ partition: 3, key: k, fn: () => obj('x'.repeat(400)) })));
    reads = 0;
    const listed: string[] = [];
    for await (const chunk of store.partitionKeyChunks(3)) for (const k of chunk) listed.push(objectKeyName(k));
    expect(listed).toEqual(names);
    expect(reads).toBe(0);
    // The objects are in the log: reading one does read it.
    expect(text((await store.get(3, 'c'))!)).toBe('x'.repeat(400));
    expect(reads).toBeGreaterThan(0);
    await store.close();
  });

  it('collects by itself once the store has overwritten enough (the garbage estimate)', async () => {
    const loc = await location();
    const engine = new ValueLogEngine(new LevelEngine({ engine: 'classic-level', location: loc }), {
      dir: join(loc, 'vlog'),
      minBytes: 100,
      segmentBytes: 8000,
      collectFloorBytes: 16_000,
      collectGarbageRatio: 0.5,
    });
    const store = new ObjectStore(engine, { cacheEntriesMax: 0 });
    await store.open();
    const big = 'x'.repeat(400);
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.update(i, `k${i}`, () => obj(`${round}:${big}`))));
    }
    // ~200 records of ~450 bytes were written for 10 live keys: without collection the log
    // would hold ~90 KB.
    const deadline = Date.now() + 10_000;
    while (engine.valueLogStats.collections === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(engine.valueLogStats.collections).toBeGreaterThan(0);
    expect(engine.valueLogStats.garbageBytes).toBeLessThan(engine.valueLogStats.bytes);
    for (let i = 0; i < 10; i++) expect(text(await store.get(i, `k${i}`))).toBe(`19:${big}`);
    await store.close();
  });

  it('an estimate that ran ahead (objects inline before the log was on) does not keep collection moving live records', async () => {
    const { vlog } = await openAt(await location(), { segmentBytes: 1000, collectFloorBytes: 0, collectGarbageRatio: 0.7 });
    // 60 new keys, each write reporting that it replaced an object as large as itself: as
    // after turning the log on over a store whose objects were inline. Nothing in the log
    // is garbage.
    for (let i = 0; i < 60; i++) {
      await vlog.batch([{ type: 'put', key: key(i), value: value(300, i), replaces: 300 }]);
      await vlog.settled();
    }
    const stats = vlog.valueLogStats;
    // Each collection measures its segment (all live) and lowers the estimate to match, so
    // the log is not rewritten after every write.
    expect(stats.movedRecords).toBeLessThan(60);
    for (let i = 0; i < 60; i++) expect((await vlog.get(key(i)))![10]).toBe(i);
    await vlog.close();
  });

  it('keeps its garbage estimate across a restart, and counts what clear drops', async () => {
    const loc = await location();
    const a = await openAt(loc);
    for (let i = 0; i < 4; i++) await a.vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    await a.vlog.batch([{ type: 'put', key: key(0), value: value(300, 9), replaces: 300 }]);
    const estimate = a.vlog.valueLogStats.garbageBytes;
    expect(estimate).toBe(12 + key(0).length + 300);
    await a.vlog.close();
    const b = await openAt(loc);
    expect(b.vlog.valueLogStats.garbageBytes).toBe(estimate);
    // key(1) is in partition 1: clearing that partition's range drops its record.
    await b.vlog.clear({ gte: key(1).subarray(0, 3), lt: Uint8Array.of(key(1)[0]!, 0, 2) });
    expect(await b.vlog.get(key(1))).toBeUndefined();
    expect(b.vlog.valueLogStats.garbageBytes).toBe(estimate + 12 + key(1).length + 300);
    await b.vlog.close();
  });

  it('a pointer whose record is gone or damaged reads as CORRUPT for that key alone', async () => {
    const loc = await location();
    const open = (): ObjectStore =>
      new ObjectStore(new ValueLogEngine(new LevelEngine({ engine: 'classic-level', location: loc }), { dir: join(loc, 'vlog'), minBytes: 100 }), { cacheEntriesMax: 0 });
    const s1 = open();
    await s1.open();
    const big = 'y'.repeat(300);
    await s1.update(1, 'damaged', () => obj(big));
    await s1.update(2, 'fine', () => obj('small'));
    await s1.close();
    // Flip a byte of the record's key in the segment file.
    const file = join(loc, 'vlog', '00000001.vlog');
    const bytes = await readFile(file);
    bytes[15] = bytes[15]! ^ 0xff;
    await writeFile(file, bytes);
    const s2 = open();
    await s2.open();
    const err = await rejection(s2.get(1, 'damaged'));
    expect(err.code).toBe('CORRUPT');
    expect(err.message).toMatch(/value-log pointer/);
    expect(text(await s2.get(2, 'fine'))).toBe('small');
    await s2.close();
    // The segment file gone altogether: the same.
    await rm(file);
    const s3 = open();
    await s3.open();
    expect((await rejection(s3.get(1, 'damaged'))).code).toBe('CORRUPT');
    await s3.close();
  });

  it('with sync, the segment is synced before the engine batch; collection syncs before it deletes', async () => {
    const log: string[] = [];
    const files = loggedFiles((e) => log.push(e), ['sync', 'syncdir', 'unlink']);
    const loc = await location();
    class Spied extends LevelEngine {
      override batch(ops: readonly EngineOp[], options?: { sync?: boolean }): Promise<void> {
        log.push(options?.sync === true ? 'engine-sync-batch' : 'engine-batch');
        return super.batch(ops, options);
      }
    }
    const spied: Engine = new Spied({ engine: 'classic-level', location: loc });
    const vlog = new ValueLogEngine(spied, { dir: join(loc, 'vlog'), minBytes: 100, segmentBytes: 1000, collectFloorBytes: Number.MAX_SAFE_INTEGER, files });
    await vlog.open();
    await vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }], { sync: true });
    // The head made at open has a name that is not durable yet: the directory is synced
    // with the segment, before the engine's synced write can point into it.
    expect(log).toEqual(['sync', 'syncdir', 'engine-sync-batch']);
    log.length = 0;
    await vlog.batch([{ type: 'put', key: key(2), value: value(300, 2) }]);
    expect(log).toEqual(['engine-batch']);
    // A synced batch with nothing for the log (a meta write) still syncs what the log
    // holds unsynced first: it promises everything before it is on disk.
    log.length = 0;
    await vlog.batch([{ type: 'put', key: metaKey('mark'), value: new Uint8Array([1]) }], { sync: true });
    expect(log).toEqual(['sync', 'engine-sync-batch']);
    log.length = 0;
    await vlog.batch([{ type: 'put', key: metaKey('mark'), value: new Uint8Array([2]) }], { sync: true });
    expect(log).toEqual(['engine-sync-batch']);
    log.length = 0;
    await vlog.batch([{ type: 'put', key: key(2), value: value(300, 2) }]);
    for (let i = 3; i < 8; i++) await vlog.batch([{ type: 'put', key: key(1), value: value(300, i) }]);
    log.length = 0;
    expect(await vlog.collectAll()).toBeGreaterThan(0);
    // key(2) was live in the first segment: moved (an engine batch), then the segments
    // synced and a synced engine write, and only then the old file deleted.
    // Every deletion comes right after a synced engine write, and the first one after the
    // head (and every segment written since the last sync) was synced.
    // The head's name (a new segment) is synced with the segments, and the directory again
    // after the deletion.
    expect(log.join(',')).toMatch(/^engine-batch,(sync,)+syncdir,engine-sync-batch,unlink,syncdir(,(engine-batch,)*(sync,)*(syncdir,)?engine-sync-batch,unlink,syncdir)*$/);
    expect((await vlog.get(key(2)))![10]).toBe(2);
    // A logOnly sync (the actor sequence's mark) syncs the engine's log alone: the segment
    // written just before stays unsynced, and the next full sync still syncs it.
    log.length = 0;
    await vlog.batch([{ type: 'put', key: key(2), value: value(300, 2) }]);
    await vlog.batch([{ type: 'put', key: metaKey('mark'), value: new Uint8Array([3]) }], { sync: true, logOnly: true });
    expect(log).toEqual(['engine-batch', 'engine-sync-batch']);
    log.length = 0;
    await vlog.batch([{ type: 'put', key: metaKey('mark'), value: new Uint8Array([4]) }], { sync: true });
    // (The write above started a segment, whose name is synced with it.)
    expect(log.join(',')).toMatch(/^sync,(syncdir,)?engine-sync-batch$/);
    await vlog.close();
  });

  it('a close between two chunks of a collection stops it, keeps its segment, and collectAll returns', async () => {
    // Collection's steps between chunks run only when the test runs them. (Before the fix,
    // collectAll found the stopped collection's segment again and again without yielding:
    // this test then hangs rather than fails.)
    const deferred: Array<() => void> = [];
    const { vlog, dir } = await openAt(await location(), { segmentBytes: 2000, collectChunkBytes: 700, defer: (fn) => void deferred.push(fn) });
    for (let i = 1; i <= 8; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    const before = await segmentFiles(dir);
    let settled: number | undefined;
    const collecting = vlog.collectAll().then((n) => (settled = n));
    // The first chunk is moved (engine work on the thread pool, which a loaded machine may
    // take a while to run: a deadline, not a count of turns), then collection waits for its
    // next step.
    const deadline = Date.now() + 10_000;
    while (deferred.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    expect(deferred.length).toBe(1);
    const closing = vlog.close();
    while (settled === undefined && Date.now() < deadline) {
      for (const fn of deferred.splice(0)) fn();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(settled).toBe(0);
    await collecting;
    await closing;
    expect(await segmentFiles(dir)).toEqual(before);
  });

  it('a segment whose sync failed is synced again by the next synced batch', async () => {
    let fail = false;
    const synced: number[] = [];
    const files: ValueLogFiles = {
      ...nodeValueLogFiles,
      sync: async (fd) => {
        if (fail) {
          fail = false;
          throw new Error('EIO (test)');
        }
        synced.push(fd);
        return nodeValueLogFiles.sync(fd);
      },
    };
    const loc = await location();
    const vlog = new ValueLogEngine(new LevelEngine({ engine: 'classic-level', location: loc }), { dir: join(loc, 'vlog'), minBytes: 100, collectFloorBytes: Number.MAX_SAFE_INTEGER, files });
    await vlog.open();
    fail = true;
    const err = await rejection(vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }], { sync: true }));
    expect(err.code).toBe('STORAGE');
    expect(synced).toEqual([]);
    // Nothing new for the log in this one: only the segment left unsynced is synced.
    await vlog.batch([{ type: 'put', key: metaKey('mark'), value: new Uint8Array([1]) }], { sync: true });
    expect(synced.length).toBe(1);
    await vlog.close();
  });

  it("collection's syncs hold neither the write lock nor the event loop: writes land while they are under way", async () => {
    // A segment sync that finishes only when the test says so.
    let held = false;
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    let syncing: () => void = () => {};
    const syncStarted = new Promise<void>((r) => (syncing = r));
    const files: ValueLogFiles = {
      ...nodeValueLogFiles,
      sync: async (fd) => {
        if (held) {
          syncing();
          await released;
        }
        return nodeValueLogFiles.sync(fd);
      },
    };
    const loc = await location();
    const vlog = new ValueLogEngine(new LevelEngine({ engine: 'classic-level', location: loc }), { dir: join(loc, 'vlog'), minBytes: 100, segmentBytes: 1000, collectFloorBytes: Number.MAX_SAFE_INTEGER, files });
    await vlog.open();
    for (let i = 1; i <= 6; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    held = true;
    const collecting = vlog.collectAll();
    await syncStarted;
    // The collection waits for its sync; a write and a read go through meanwhile.
    await vlog.batch([{ type: 'put', key: key(1), value: value(300, 77) }]);
    expect((await vlog.get(key(1)))![10]).toBe(77);
    expect(vlog.valueLogStats.collections).toBe(0);
    release();
    expect(await collecting).toBeGreaterThan(0);
    for (let i = 2; i <= 6; i++) expect((await vlog.get(key(i)))![10]).toBe(i);
    expect((await vlog.get(key(1)))![10]).toBe(77);
    await vlog.close();
  });

  it('a reader that started before a collection still reads the collected segment; its file is closed after', async () => {
    const closed: number[] = [];
    const files: ValueLogFiles = { ...nodeValueLogFiles, close: (fd) => (closed.push(fd), nodeValueLogFiles.close(fd)) };
    const { vlog } = await openAt(await location(), { segmentBytes: 1000, files });
    for (let i = 0; i < 6; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    const it = vlog.iterate({})[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // Overwrite everything and collect every old segment while the iterator is open.
    for (let i = 0; i < 6; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, 100 + i) }]);
    const collected = await vlog.collectAll();
    expect(collected).toBeGreaterThan(0);
    expect(closed).toEqual([]);
    // The iterator's snapshot still names the old records, and they still resolve.
    const seen = [first.value![1][10]];
    for (let r = await it.next(); r.done !== true; r = await it.next()) seen.push(r.value[1][10]);
    expect(seen.sort((x, y) => x! - y!)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(closed.length).toBe(collected);
    await vlog.close();
  });

  it('a segment with a damaged record header is not collected, and is kept', async () => {
    const { vlog, dir } = await openAt(await location(), { segmentBytes: 1000 });
    // Three records to a segment: seven fill two segments and start a third (the head).
    for (let i = 0; i < 7; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    const [oldest] = await segmentFiles(dir);
    const path = join(dir, oldest!);
    const bytes = await readFile(path);
    bytes[1] = bytes[1]! ^ 0xff; // the first record's CRC
    await writeFile(path, bytes);
    // A read names its key and the value's length, and compares them: the record's data
    // is intact, so it still reads. Collection, which cannot know them, refuses the segment.
    expect(Array.from((await vlog.get(key(0)))!)).toEqual(Array.from(value(300, 0)));
    await expect(vlog.collectAll()).rejects.toThrow(/damaged record header/);
    expect(vlog.valueLogStats.collectFailures).toBe(1);
    expect(await segmentFiles(dir)).toContain(oldest);
    // The others are still collected.
    expect(await vlog.collectAll()).toBeGreaterThan(0);
    await vlog.close();
  });

  describe('the read-back into the page cache after a start', () => {
    /** A log of three segments (3 + 3 + 1 records of 300 bytes), closed; returns its location and each segment's size by id. */
    async function threeSegments(): Promise<{ loc: string; sizes: Map<number, number> }> {
      const loc = await location();
      const { vlog, dir } = await openAt(loc, { segmentBytes: 1000 });
      for (let i = 0; i < 7; i++) await vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
      await vlog.close();
      const sizes = new Map<number, number>();
      for (const f of await segmentFiles(dir)) sizes.set(Number(f.slice(0, 8)), (await readFile(join(dir, f))).length);
      return { loc, sizes };
    }

    /** Files that record each readAsync as [segment id, position, length]. */
    function recording(): { files: ValueLogFiles; reads: Array<[number, number, number]> } {
      const reads: Array<[number, number, number]> = [];
      const ids = new Map<number, number>();
      const files: ValueLogFiles = {
        ...nodeValueLogFiles,
        open: (path, create) => {
          const fd = nodeValueLogFiles.open(path, create);
          ids.set(fd, Number(path.slice(-13, -5)));
          return fd;
        },
        readAsync: (fd, buf, offset, length, position) => {
          reads.push([ids.get(fd)!, position, length]);
          return nodeValueLogFiles.readAsync(fd, buf, offset, length, position);
        },
      };
      return { files, reads };
    }

    it('reads every segment, newest first, a chunk at a time, through the thread-pool read', async () => {
      const { loc, sizes } = await threeSegments();
      expect([...sizes.keys()]).toEqual([1, 2, 3]);
      const { files, reads } = recording();
      const { vlog } = await openAt(loc, { files, prewarmBytes: 1 << 20, prewarmChunkBytes: 400 });
      await vlog.whenPrewarmed();
      const total = [...sizes.values()].reduce((a, b) => a + b, 0);
      expect(vlog.valueLogStats.prewarmedBytes).toBe(total);
      expect(vlog.valueLogStats.prewarmFailures).toBe(0);
      // Segment 3 (the newest), then 2, then 1, each from its start in chunks of at most 400.
      expect([...new Set(reads.map((r) => r[0]))]).toEqual([3, 2, 1]);
      for (const [id, size] of sizes) {
        const mine = reads.filter((r) => r[0] === id);
        expect(mine[0]![1]).toBe(0);
        expect(mine.every((r) => r[2] <= 400)).toBe(true);
        expect(mine.reduce((a, r) => a + r[2], 0)).toBe(size);
      }
      expect(Array.from((await vlog.get(key(6)))!)).toEqual(Array.from(value(300, 6)));
      await vlog.close();
    });

    it('stops at its budget, and reads nothing without one', async () => {
      const { loc, sizes } = await threeSegments();
      const budget = sizes.get(3)! + 100;
      const first = recording();
      const { vlog } = await openAt(loc, { files: first.files, prewarmBytes: budget, prewarmChunkBytes: 4096 });
      await vlog.whenPrewarmed();
      expect(vlog.valueLogStats.prewarmedBytes).toBe(budget);
      expect(first.reads).toEqual([
        [3, 0, sizes.get(3)!],
        [2, 0, 100],
      ]);
      await vlog.close();
      const none = recording();
      const again = await openAt(loc, { files: none.files });
      await again.vlog.whenPrewarmed();
      expect(none.reads).toEqual([]);
      expect(again.vlog.valueLogStats.prewarmedBytes).toBe(0);
      await again.vlog.close();
    });

    it('close waits for the read under way and starts no other; a failed read ends it and reads still work', async () => {
      const { loc } = await threeSegments();
      let release: () => void = () => {};
      const released = new Promise<void>((r) => (release = r));
      let reads = 0;
      const files: ValueLogFiles = {
        ...nodeValueLogFiles,
        readAsync: async (...args) => {
          reads++;
          await released;
          return nodeValueLogFiles.readAsync(...args);
        },
      };
      // What close does to the engine, in order with the read's release.
      const events: string[] = [];
      class Logged extends LevelEngine {
        override batch(...args: Parameters<LevelEngine['batch']>): Promise<void> {
          events.push('engine batch');
          return super.batch(...args);
        }
        override close(): Promise<void> {
          events.push('engine close');
          return super.close();
        }
      }
      const { vlog } = await openAt(loc, { files, prewarmBytes: 1 << 20, prewarmChunkBytes: 100 }, true, Logged);
      expect(reads).toBe(1);
      const closing = vlog.close();
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      events.push('read released');
      release();
      await closing;
      // The read holds a descriptor that close would otherwise close under it.
      expect(events).toEqual(['read released', 'engine batch', 'engine close']);
      expect(reads).toBe(1);

      const failing: ValueLogFiles = { ...nodeValueLogFiles, readAsync: () => Promise.reject(new Error('EIO (test)')) };
      const reopened = await openAt(loc, { files: failing, prewarmBytes: 1 << 20 });
      await reopened.vlog.whenPrewarmed();
      expect(reopened.vlog.valueLogStats.prewarmedBytes).toBe(0);
      expect(reopened.vlog.valueLogStats.prewarmFailures).toBe(1);
      expect(Array.from((await reopened.vlog.get(key(0)))!)).toEqual(Array.from(value(300, 0)));
      await reopened.vlog.close();
    });

    it('a node reads back a quarter of the memory available, at most storeValueLogPrewarmBytesMax', async () => {
      expect(prewarmBudget(64 * 1024 ** 3)).toBe(storeValueLogPrewarmBytesMax);
      expect(prewarmBudget(1024 ** 3)).toBe(256 * 1024 ** 2);
      expect(prewarmBudget(0)).toBe(0);
      expect(prewarmBudget(64 * 1024 ** 3, 5000)).toBe(5000);
      expect(prewarmBudget(1024 ** 3, 0)).toBe(0);
      // This process's own bound: what the kernel reports, within any cgroup limit.
      const available = availableMemoryBytes();
      expect(available).toBeGreaterThan(0);
      expect(available).toBeLessThanOrEqual(totalmem());
      const { loc, sizes } = await threeSegments();
      const e = createEngine('classic-level', loc, { valueLog: true, availableMemoryBytes: 4 * (sizes.get(3)! + 10) });
      await e.open();
      await (e as ValueLogEngine).whenPrewarmed();
      expect(e.valueLogStats!.prewarmedBytes).toBe(sizes.get(3)! + 10);
      await e.close();
    });
  });

  it('createEngine wraps the engine when asked, in DIR/vlog', async () => {
    const loc = await location();
    const e = createEngine('classic-level', loc, { valueLog: true });
    expect(e).toBeInstanceOf(ValueLogEngine);
    await e.open();
    await e.batch([{ type: 'put', key: key(1), value: value(600, 1) }]);
    expect(await readdir(loc)).toContain('vlog');
    await e.close();
    // Turned off over a directory that has a log: what is in it still reads, new objects go inline.
    const off = createEngine('classic-level', loc);
    expect(off).toBeInstanceOf(ValueLogEngine);
    await off.open();
    expect((await off.get(key(1)))!.length).toBe(600);
    await off.batch([{ type: 'put', key: key(2), value: value(600, 2) }]);
    expect(off.valueLogStats!.bytes).toBe(12 + key(1).length + 600);
    await off.close();
    expect(createEngine('classic-level', await location())).toBeInstanceOf(LevelEngine);
  });
});
