import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { storeOpenFilesMax, storeRocksMemtableBudgetBytes, storeSyncReadBackoffMs, storeSyncReadKeysMax, storeSyncReadSlowInARow, storeWriteBufferBytes } from '../../src/config/index.js';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isShoalError } from '../../src/errors/index.js';
import { LevelEngine, ObjectStore, createEngine, openTablesFor } from '../../src/store/index.js';
import { obj } from './contract.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe.each(['classic-level', 'rocksdb'] as const)('LevelEngine(%s)', (engine) => {
  let root: string | undefined;
  const dir = async (name: string): Promise<string> => {
    root ??= await mkdtemp(join(tmpdir(), `shoal-level-${engine}-`));
    return join(root, name);
  };
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('creates missing directories, and reads back batches, ranges and deletes', async () => {
    const e = new LevelEngine({ engine, location: join(await dir('a'), 'nested', 'db') });
    await e.open();
    await e.batch([{ type: 'put', key: b(1), value: b(10) }, { type: 'put', key: b(2), value: b(20) }, { type: 'put', key: b(0x80), value: b(30) }], { sync: true });
    expect(await e.get(b(1))).toEqual(Buffer.from([10]));
    expect(await e.get(b(9))).toBeUndefined();
    expect((await e.getMany([b(2), b(3), b(1)])).map((v) => (v === undefined ? undefined : Array.from(v)))).toEqual([[20], undefined, [10]]);
    expect((await e.range({ gt: b(1) })).map(([k]) => Array.from(k))).toEqual([[2], [0x80]]);
    expect((await e.range({ reverse: true, limit: 1 })).map(([k]) => Array.from(k))).toEqual([[0x80]]);
    const seen: number[] = [];
    for await (const [k] of e.iterate({ lte: b(2) })) seen.push(k[0]!);
    expect(seen).toEqual([1, 2]);
    await e.batch([{ type: 'del', key: b(1) }]);
    await e.clear({ gte: b(0x80) });
    expect((await e.range({})).map(([k]) => Array.from(k))).toEqual([[2]]);
    await e.close();
  });

  it('commits through one reused native batch on rocksdb, and a failed commit leaves nothing behind in it', async () => {
    const e = new LevelEngine({ engine, location: await dir('reuse') });
    await e.open();
    expect(e.reusesNativeBatch).toBe(engine === 'rocksdb');
    // A commit that fails part-way (the second key is null) writes nothing...
    await expect(e.batch([{ type: 'put', key: b(1), value: b(1) }, { type: 'put', key: null as unknown as Uint8Array, value: b(2) }])).rejects.toThrow();
    // ...and its first put does not ride along with the next commit.
    await e.batch([{ type: 'put', key: b(3), value: b(3) }]);
    await e.batch([{ type: 'put', key: b(4), value: b(4) }, { type: 'del', key: b(3) }], { sync: true });
    expect((await e.range({})).map(([k, v]) => [Array.from(k), Array.from(v)])).toEqual([[[4], [4]]]);
    // Many commits in a row, each with its own keys only.
    for (let i = 0; i < 50; i++) await e.batch([{ type: 'put', key: b(10, i), value: b(i) }]);
    expect((await e.range({ gte: b(10) })).length).toBe(50);
    await e.close();
    expect(e.reusesNativeBatch).toBe(false);
  });

  it('iterates past one chunk and can stop early', async () => {
    const e = new LevelEngine({ engine, location: await dir('b') });
    await e.open();
    await e.batch(Array.from({ length: 600 }, (_, i) => ({ type: 'put' as const, key: b(i >> 8, i & 0xff), value: b(0) })));
    let n = 0;
    for await (const _ of e.iterate({})) n++;
    expect(n).toBe(600);
    let m = 0;
    for await (const _ of e.iterate({})) if (++m === 5) break;
    expect(m).toBe(5);
    await e.close();
  });

  it('refuses a directory locked by another open database with a STORAGE error', async () => {
    const location = await dir('c');
    const first = new LevelEngine({ engine, location });
    await first.open();
    const second = new LevelEngine({ engine, location });
    const err = await second.open().catch((x: unknown) => x);
    expect(isShoalError(err, 'STORAGE')).toBe(true);
    expect((err as Error).message).toMatch(/locked/);
    expect((err as Error).message).toContain(location);
    await first.close();
    await second.open(); // free again
    await second.close();
  });

  it('reports a location that cannot be a directory as a STORAGE error', async () => {
    const file = await dir('file');
    await writeFile(file, 'not a directory');
    const err = await new LevelEngine({ engine, location: join(file, 'db') }).open().catch((x: unknown) => x);
    expect(isShoalError(err, 'STORAGE')).toBe(true);
    expect((err as Error).message).toContain(file);
  });

  it('applies a synced batch of puts and deletes in order, as an unsynced one', async () => {
    for (const sync of [true, false]) {
      const e = new LevelEngine({ engine, location: await dir(`sync-${sync}`) });
      await e.open();
      await e.batch([{ type: 'put', key: b(1), value: b(1) }, { type: 'put', key: b(2), value: b(2) }]);
      await e.batch(
        [
          { type: 'del', key: b(1) },
          { type: 'put', key: b(2), value: b(20) },
          { type: 'put', key: b(3), value: b(3) },
          { type: 'del', key: b(3) },
          { type: 'put', key: b(4), value: b(4) },
        ],
        { sync },
      );
      await e.close();
      await e.open();
      expect((await e.range({})).map(([k, v]) => [k[0], v[0]])).toEqual([
        [2, 20],
        [4, 4],
      ]);
      await e.close();
    }
  });

  it('refuses use before open', async () => {
    const e = new LevelEngine({ engine, location: await dir('d') });
    await expect(e.get(b(1))).rejects.toMatchObject({ code: 'STORAGE' });
  });
});

describe('createEngine', () => {
  it('maps --engine names and refuses unknown ones', () => {
    expect(createEngine('classic-level', '/tmp/x').name).toBe('classic-level');
    expect(createEngine('rocksdb', '/tmp/x').name).toBe('rocksdb');
    expect(createEngine('memory', '/tmp/x').name).toBe('memory');
    expect(() => createEngine('sqlite', '/tmp/x')).toThrow(/unknown storage engine/);
  });
});

describe('LevelEngine(classic-level) write options', () => {
  let root: string | undefined;
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  // Every option passed to an array batch is copied into each operation by abstract-level,
  // which is slow (see LevelEngine.batch): only a synced batch may carry options, and it
  // carries them on a chained batch's write(), where LevelDB reads `sync`.
  it('passes sync: true to LevelDB for a synced batch, and no options otherwise', async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-level-opts-'));
    const seen: Array<{ form: 'array' | 'chained'; options: unknown }> = [];
    const batch = ClassicLevel.prototype.batch as (...args: unknown[]) => unknown;
    vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementation(function (this: ClassicLevel, ...args: unknown[]) {
      const out = batch.apply(this, args);
      if (args.length > 0) {
        seen.push({ form: 'array', options: args[1] });
        return out;
      }
      const chained = out as { write(options?: unknown): Promise<void> };
      const write = chained.write.bind(chained);
      chained.write = (options?: unknown) => {
        seen.push({ form: 'chained', options });
        return write(options);
      };
      return chained;
    } as typeof ClassicLevel.prototype.batch);
    const e = new LevelEngine({ engine: 'classic-level', location: root });
    await e.open();
    await e.batch([{ type: 'put', key: b(1), value: b(1) }]);
    await e.batch([{ type: 'put', key: b(2), value: b(2) }], { sync: false });
    await e.batch([{ type: 'put', key: b(3), value: b(3) }], { sync: true });
    await e.close();
    expect(seen).toEqual([
      { form: 'array', options: undefined },
      { form: 'array', options: undefined },
      { form: 'chained', options: { sync: true } },
    ]);
  });
});

describe('LevelEngine(classic-level) open options', () => {
  afterEach(() => vi.restoreAllMocks());

  // Every open table file is mapped into memory and counts as resident (config: storeOpenFilesMax).
  it('bounds the table files LevelDB keeps open, and sizes its memtable', async () => {
    const root = await mkdtemp(join(tmpdir(), 'shoal-level-open-'));
    try {
      const seen: unknown[] = [];
      const open = (ClassicLevel.prototype as unknown as { _open: (o: unknown) => Promise<void> })._open;
      vi.spyOn(ClassicLevel.prototype as unknown as { _open: (o: unknown) => Promise<void> }, '_open').mockImplementation(function (this: unknown, options: unknown) {
        seen.push(options);
        return open.call(this, options);
      });
      const e = new LevelEngine({ engine: 'classic-level', location: root });
      await e.open();
      await e.close();
      expect(seen).toHaveLength(1);
      expect((seen[0] as { maxOpenFiles?: number }).maxOpenFiles).toBe(storeOpenFilesMax);
      expect((seen[0] as { writeBufferSize?: number }).writeBufferSize).toBe(storeWriteBufferBytes);
      // A node's soft memory limit sizes the open tables (createEngine, as startNode calls it).
      seen.length = 0;
      for (const [limitMb, tables] of [[256, 64], [512, 85], [0, 1_000]] as const) {
        const engine = createEngine('classic-level', join(root, `limit-${limitMb}`), { memorySoftLimitBytes: limitMb * 1024 * 1024 });
        await engine.open();
        await engine.close();
        expect((seen.at(-1) as { maxOpenFiles?: number }).maxOpenFiles).toBe(tables);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('keeps a third of a soft memory limit for open tables of 2 MiB, at least 64, and the library default without a limit', () => {
    const mib = 1024 * 1024;
    expect(openTablesFor(256 * mib)).toBe(storeOpenFilesMax);
    expect(openTablesFor(100 * mib)).toBe(storeOpenFilesMax);
    expect(openTablesFor(512 * mib)).toBe(85);
    expect(openTablesFor(1024 * mib)).toBe(170);
    expect(openTablesFor(64 * 1024 * mib)).toBe(1_000);
    expect(openTablesFor(0)).toBe(1_000);
  });
});


describe('LevelEngine(rocksdb) open options', () => {
  // @nxtedition/rocksdb sizes its memtables only from memtableMemoryBudget (config: storeRocksMemtableBudgetBytes).
  it('bounds the memtables: RocksDB records a quarter of the budget as its write buffer size', async () => {
    const root = await mkdtemp(join(tmpdir(), 'shoal-rocks-open-'));
    try {
      const e = new LevelEngine({ engine: 'rocksdb', location: root });
      await e.open();
      await e.close();
      const options = (await readdir(root)).filter((f) => f.startsWith('OPTIONS-')).sort().pop();
      expect(options).toBeDefined();
      const text = await readFile(join(root, options!), 'utf8');
      expect(text).toMatch(new RegExp(`\\bwrite_buffer_size=${storeRocksMemtableBudgetBytes / 4}\\b`));
      expect(text).toMatch(/compaction_style=kCompactionStyleLevel/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe.each(['classic-level', 'rocksdb'] as const)('LevelEngine(%s) synchronous reads', (engine) => {
  let root: string | undefined;
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });
  const open = async (name: string, options: { syncReadSlowMs?: number; now?: () => number; syncReads?: boolean } = {}): Promise<LevelEngine> => {
    root ??= await mkdtemp(join(tmpdir(), `shoal-level-sync-${engine}-`));
    const e = new LevelEngine({ engine, location: join(root, name), ...options });
    await e.open();
    await e.batch(Array.from({ length: storeSyncReadKeysMax + 1 }, (_, i) => ({ type: 'put' as const, key: b(1, i), value: b(i) })));
    return e;
  };
  const keys = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => b(1, i));
  const bytes = (vs: Array<Uint8Array | undefined>): Array<number[] | undefined> => vs.map((v) => (v === undefined ? undefined : Array.from(v)));

  it('reads a small batch on the event loop and a large one on the thread pool, with the same answers', async () => {
    // A clock that stands still: on a loaded machine a real synchronous read can take past the slow bound,
    // and this test is about where reads run, not about how long they take (the next two tests are).
    const e = await open('split', { now: () => 0 });
    expect(bytes(await e.getMany([...keys(3), b(9)]))).toEqual([[0], [1], [2], undefined]);
    expect(e.readStats).toEqual({ syncCalls: 1, asyncCalls: 0, slowSyncCalls: 0 });
    expect(await e.get(b(9))).toBeUndefined();
    expect(e.readStats).toEqual({ syncCalls: 2, asyncCalls: 0, slowSyncCalls: 0 });
    const large = await e.getMany(keys(storeSyncReadKeysMax + 1));
    expect(e.readStats).toEqual({ syncCalls: 2, asyncCalls: 1, slowSyncCalls: 0 });
    expect(large.map((v) => v?.[0])).toEqual(keys(storeSyncReadKeysMax + 1).map((_, i) => i));
    await e.close();
  });

  it('backs off to the thread pool after slow synchronous batches in a row, and tries again later', async () => {
    let t = 0;
    // The clock moves 2.5 ms at every reading, so every synchronous read looks slow (over 2 ms).
    const e = await open('backoff', { syncReadSlowMs: 2, now: () => (t += 2.5) });
    for (let n = 1; n <= storeSyncReadSlowInARow; n++) expect((await e.getMany(keys(1)))[0]?.[0]).toBe(0);
    expect(e.readStats).toEqual({ syncCalls: storeSyncReadSlowInARow, asyncCalls: 0, slowSyncCalls: storeSyncReadSlowInARow });
    expect(bytes(await e.getMany([b(1, 5), b(9)]))).toEqual([[5], undefined]);
    await e.getMany(keys(1));
    expect(e.readStats).toEqual({ syncCalls: storeSyncReadSlowInARow, asyncCalls: 2, slowSyncCalls: storeSyncReadSlowInARow });
    t += storeSyncReadBackoffMs;
    expect((await e.getMany(keys(2))).map((v) => v?.[0])).toEqual([0, 1]);
    expect(e.readStats.syncCalls).toBe(storeSyncReadSlowInARow + 1);
    await e.close();
  });

  it('a fast batch between slow ones starts the count again', async () => {
    let t = 0;
    let step = 2.5;
    const e = await open('reset', { syncReadSlowMs: 2, now: () => (t += step) });
    for (let n = 1; n < storeSyncReadSlowInARow; n++) await e.getMany(keys(1));
    step = 0.1;
    await e.getMany(keys(1));
    step = 2.5;
    for (let n = 1; n < storeSyncReadSlowInARow; n++) await e.getMany(keys(1));
    expect(e.readStats).toEqual({ syncCalls: 2 * storeSyncReadSlowInARow - 1, asyncCalls: 0, slowSyncCalls: 2 * storeSyncReadSlowInARow - 2 });
    await e.close();
  });

  it('keeps every read on the thread pool when synchronous reads are turned off', async () => {
    const e = await open('off', { syncReads: false });
    expect((await e.get(b(1, 4)))?.[0]).toBe(4);
    expect(await e.get(b(7))).toBeUndefined();
    expect(e.readStats).toEqual({ syncCalls: 0, asyncCalls: 2, slowSyncCalls: 0 });
    await e.close();
  });
});

describe('ObjectStore over LevelEngine: read counts', () => {
  it("reports the engine's synchronous and thread-pool reads in its stats", async () => {
    const root = await mkdtemp(join(tmpdir(), 'shoal-level-stats-'));
    try {
      const engine = new LevelEngine({ engine: 'classic-level', location: join(root, 'db') });
      const store = new ObjectStore(engine, { cacheEntriesMax: 0 });
      await store.open();
      await store.update(1, 'k', () => obj('v'));
      const before = store.stats();
      // Every miss of one turn is one engine call: a small batch, read synchronously...
      await Promise.all([store.get(1, 'k'), store.get(2, 'absent')]);
      const small = store.stats();
      expect(small.engineReadsSync - before.engineReadsSync).toBe(1);
      expect(small.engineReadsAsync).toBe(before.engineReadsAsync);
      // ...and a batch over the bound, on the thread pool.
      await Promise.all(Array.from({ length: storeSyncReadKeysMax + 1 }, (_, i) => store.get(3, `m${i}`)));
      const large = store.stats();
      expect(large.engineReadsAsync - small.engineReadsAsync).toBe(1);
      expect(large.engineReadsSlowSync).toBe(0);
      await store.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('LevelEngine(classic-level) synchronous reads, one key at a time', () => {
  let root: string | undefined;
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });
  const open = async (name: string, options: { syncReadSlowMs?: number; now?: () => number } = {}): Promise<LevelEngine> => {
    root ??= await mkdtemp(join(tmpdir(), 'shoal-level-sync1-'));
    const e = new LevelEngine({ engine: 'classic-level', location: join(root, name), ...options });
    await e.open();
    await e.batch(Array.from({ length: 8 }, (_, i) => ({ type: 'put' as const, key: b(1, i), value: b(i) })));
    return e;
  };

  it('hands the rest of a slow batch to the thread pool, answers in order', async () => {
    let t = 0;
    const e = await open('handoff', { syncReadSlowMs: 2, now: () => (t += 2.5) });
    const spy = vi.spyOn(ClassicLevel.prototype, 'getMany');
    // The first key is read on the loop; past 2 ms, the other three go to the thread pool.
    expect((await e.getMany([b(1, 0), b(1, 1), b(1, 2), b(9)])).map((v) => v?.[0])).toEqual([0, 1, 2, undefined]);
    expect(spy.mock.calls[0]?.[0]).toHaveLength(3);
    expect(e.readStats).toEqual({ syncCalls: 1, asyncCalls: 1, slowSyncCalls: 1 });
    spy.mockRestore();
    await e.close();
  });

  it('reports a failing synchronous read as a STORAGE error', async () => {
    const e = await open('fail');
    const spy = vi.spyOn(ClassicLevel.prototype, 'getSync').mockImplementation(() => {
      throw new Error('boom');
    });
    const err = await e.getMany([b(1, 0)]).catch((x: unknown) => x);
    expect(isShoalError(err) && err.code === 'STORAGE' && /storage getMany failed: .*boom/.test(err.message)).toBe(true);
    // A single get names itself.
    const one = await e.get(b(1, 0)).catch((x: unknown) => x);
    expect(isShoalError(one) && one.code === 'STORAGE' && /storage get failed: .*boom/.test((one as Error).message)).toBe(true);
    spy.mockRestore();
    await e.close();
  });
});
