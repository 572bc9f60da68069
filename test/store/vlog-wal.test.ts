/**
 * The value log as the write-ahead log (`--sync`; src/store/vlog.ts, Write-ahead): one
 * sync of the log per batch and unsynced engine writes, checkpoints, and the replay at a
 * start after a crash of the machine has lost the engine's unsynced writes.
 *
 * A crash of the machine is modelled by a shadow: every engine write also goes to a
 * second LevelDB, but only once it is durable (a synced write makes itself and every
 * write before it durable), and a crash keeps the first `keep` of the writes that were
 * not yet durable (LevelDB's log survives up to some point). The node then restarts on
 * the shadow, with the value log's segments as they were.
 */
import { describe, expect, it } from 'vitest';
import { mkdir, open, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRandom } from '../../src/env/index.js';
import { LevelEngine, ValueLogEngine, metaKey, nodeValueLogFiles } from '../../src/store/index.js';
import type { BatchOptions, EngineOp, EngineRange, ValueLogFiles, ValueLogOptions } from '../../src/store/index.js';
import { key, loggedFiles, randomBatch, segmentFiles, tempLocations, value } from './vlog-helpers.js';

const location = tempLocations('shoal-wal-');
const copy = (op: EngineOp): EngineOp => (op.type === 'put' ? { type: 'put', key: op.key.slice(), value: op.value.slice() } : { type: 'del', key: op.key.slice() });

type Write = { readonly ops: EngineOp[] } | { readonly clear: EngineRange };

/** LevelDB that also keeps, in a shadow, what a crash of the machine would leave of it. */
class Shadowed extends LevelEngine {
  readonly log: string[] = [];
  private readonly pending: Write[] = [];
  constructor(
    location: string,
    private readonly shadow: LevelEngine,
  ) {
    super({ engine: 'classic-level', location });
  }

  override async open(): Promise<void> {
    await super.open();
    await this.shadow.open();
  }

  override async batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    this.log.push(options?.sync === true ? 'engine-sync-batch' : 'engine-batch');
    await super.batch(ops, options);
    this.pending.push({ ops: ops.map(copy) });
    if (options?.sync === true) await this.durable(this.pending.length);
  }

  /** Keys read through getMany, as latin1 strings. */
  readonly keysRead: string[] = [];

  override getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    for (const k of keys) this.keysRead.push(Buffer.from(k).toString('latin1'));
    return super.getMany(keys);
  }

  override async clear(range: EngineRange): Promise<void> {
    this.log.push('engine-clear');
    await super.clear(range);
    this.pending.push({ clear: range });
  }

  override async close(): Promise<void> {
    await this.shadow.close();
    await super.close();
  }

  /** The first `k` writes not yet durable reach the shadow. */
  private async durable(k: number): Promise<void> {
    for (const w of this.pending.splice(0, k)) {
      if ('ops' in w) await this.shadow.batch(w.ops);
      else await this.shadow.clear(w.clear);
    }
  }

  /** A crash of the machine that kept the first `keep` writes not yet durable (all by default). */
  async crash(keep = Infinity): Promise<string[]> {
    await this.durable(Math.min(keep, this.pending.length));
    this.pending.length = 0;
    await this.shadow.close();
    await super.close();
    return this.log;
  }
}

/** Files whose descriptors a crash closes (the crashed engine is never closed). */
function trackedFiles(extra: Partial<ValueLogFiles> = {}): ValueLogFiles & { closeAll(): void } {
  const fds = new Set<number>();
  return {
    ...nodeValueLogFiles,
    ...extra,
    open: (path, create) => {
      const fd = (extra.open ?? nodeValueLogFiles.open)(path, create);
      fds.add(fd);
      return fd;
    },
    close: (fd) => {
      fds.delete(fd);
      nodeValueLogFiles.close(fd);
    },
    closeAll: () => {
      for (const fd of fds) nodeValueLogFiles.close(fd);
      fds.clear();
    },
  };
}

interface Node {
  readonly vlog: ValueLogEngine;
  readonly level: Shadowed;
  readonly dir: string;
  /** Crashes the machine; returns the location of what its disk kept (the shadow). */
  crash(keep?: number): Promise<string>;
}

/**
 * A write-ahead value log whose segments live in `dir`, over LevelDB at `dbLoc` (a shadow
 * at a new location records what survives a crash).
 */
type StartOptions = Partial<Omit<ValueLogOptions, 'files'>> & { readonly files?: Partial<ValueLogFiles> };

async function start(dir: string, dbLoc: string, options: StartOptions = {}): Promise<Node> {
  const shadowLoc = await location();
  const level = new Shadowed(dbLoc, new LevelEngine({ engine: 'classic-level', location: shadowLoc }));
  const files = trackedFiles(options.files);
  // Segments made ahead of time only where a test asks: their making runs beside the
  // test's own steps, and the other tests check exact sequences of file calls.
  const vlog = new ValueLogEngine(level, { dir, minBytes: 100, collectFloorBytes: Number.MAX_SAFE_INTEGER, wal: true, preallocate: false, ...options, files });
  await vlog.open();
  return {
    vlog,
    level,
    dir,
    crash: async (keep) => {
      // A segment being made ahead of time would go on writing to a descriptor that the
      // next start may be given again (a real crash ends the process).
      await vlog.whenPreallocated();
      await level.crash(keep);
      files.closeAll();
      return shadowLoc;
    },
  };
}

/** A fresh node: segments in `<loc>/vlog`, LevelDB at `<loc>/db`. */
async function fresh(options: StartOptions = {}): Promise<Node> {
  const loc = await location();
  return start(join(loc, 'vlog'), join(loc, 'db'), options);
}

/** Restarts after a crash: the same segments, over what LevelDB kept. */
async function restart(node: Node, keep?: number, options: StartOptions = {}): Promise<Node> {
  const kept = await node.crash(keep);
  return start(node.dir, kept, options);
}

const fills = async (vlog: ValueLogEngine, ks: number[]): Promise<Array<number | undefined>> => (await vlog.getMany(ks.map(key))).map((v) => v?.[10]);

describe('the value log as the write-ahead log', () => {
  it('syncs the log once per batch and leaves the engine unsynced; a checkpoint every checkpointBytes and at close', async () => {
    const log: string[] = [];
    const node = await fresh({
      checkpointBytes: 1000,
      files: loggedFiles((e) => log.push(e), ['sync', 'syncdir']),
    });
    const engine = node.level.log;
    // The open wrote its checkpoint (synced), at the new head.
    expect(engine).toEqual(['engine-sync-batch']);
    const events = (): string[] => {
      const all = [...log, ...engine.splice(0)];
      log.length = 0;
      return all;
    };
    engine.length = 0;
    await node.vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }], { sync: true });
    expect(events()).toEqual(['sync', 'syncdir', 'engine-batch']);
    // Small values and deletes too: the whole batch is in the log.
    await node.vlog.batch([{ type: 'put', key: metaKey('mark'), value: new Uint8Array([1]) }, { type: 'del', key: key(9) }], { sync: true });
    expect(events()).toEqual(['sync', 'engine-batch']);
    // Past 1,000 bytes since the last checkpoint: this batch's engine write is synced.
    await node.vlog.batch([{ type: 'put', key: key(2), value: value(800, 2) }], { sync: true });
    expect(events()).toEqual(['sync', 'engine-sync-batch']);
    expect(node.vlog.valueLogStats.checkpoints).toBe(1);
    await node.vlog.batch([{ type: 'put', key: key(3), value: value(300, 3) }], { sync: true });
    expect(events()).toEqual(['sync', 'engine-batch']);
    await node.vlog.close();
    expect(events()).toEqual(['engine-sync-batch']);
    // After a clean close nothing is replayed.
    const again = await start(node.dir, join(node.dir, '..', 'db'));
    expect(again.vlog.valueLogStats.replayedBatches).toBe(0);
    expect(await fills(again.vlog, [1, 2, 3])).toEqual([1, 2, 3]);
    await again.vlog.close();
  });

  it("no engine write while the log holds unsynced bytes: collection's moves and batches not asking for sync too", async () => {
    // The log's writes and syncs go into the engine spy's log once the node is up: one
    // sequence, in call order.
    let order: string[] = [];
    const node = await fresh({
      segmentBytes: 1000,
      files: loggedFiles((e) => order.push(e), ['sync', 'write']),
    });
    order = node.level.log;
    order.length = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 6; i++) await node.vlog.batch([{ type: 'put', key: key(i), value: value(300, round * 10 + i) }]);
    }
    expect(await node.vlog.collectAll()).toBeGreaterThan(0);
    expect(node.vlog.valueLogStats.movedRecords).toBeGreaterThan(0);
    expect(order.filter((e) => e === 'engine-batch').length).toBeGreaterThan(18);
    // No engine write while bytes written to the log are not yet synced.
    let unsynced = false;
    for (const e of order) {
      if (e === 'write') unsynced = true;
      else if (e === 'sync') unsynced = false;
      else expect(unsynced).toBe(false);
    }
    await node.vlog.close();
  });

  it('collection never asks the engine about a trailer (never live, and a read per batch)', async () => {
    const node = await fresh({ segmentBytes: 1000, keydirEntries: 0 });
    for (let round = 0; round < 3; round++) for (let i = 0; i < 6; i++) await node.vlog.batch([{ type: 'put', key: key(i), value: value(300, round * 10 + i) }]);
    node.level.keysRead.length = 0;
    expect(await node.vlog.collectAll()).toBeGreaterThan(0);
    expect(node.level.keysRead.length).toBeGreaterThan(0);
    expect(node.level.keysRead.filter((k) => k.endsWith('vlog.batch'))).toEqual([]);
    for (let i = 0; i < 6; i++) expect((await node.vlog.get(key(i)))![10]).toBe(20 + i);
    await node.vlog.close();
  });

  it('replays every batch the engine lost in a crash of the machine: large and small values, deletes', async () => {
    const a = await fresh();
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }, { type: 'put', key: key(2), value: value(300, 2) }]);
    await a.vlog.batch([{ type: 'put', key: key(3), value: value(50, 3) }, { type: 'put', key: metaKey('m'), value: Uint8Array.of(7) }]);
    await a.vlog.batch([{ type: 'del', key: key(2) }, { type: 'put', key: key(1), value: value(400, 11) }]);
    // Nothing of the three batches reached LevelDB's disk.
    const b = await restart(a, 0);
    expect(b.vlog.valueLogStats.replayedBatches).toBe(3);
    expect(await fills(b.vlog, [1, 2, 3])).toEqual([11, undefined, 3]);
    expect([...(await b.vlog.get(metaKey('m')))!]).toEqual([7]);
    // The replay is durable itself (with the checkpoint after it): another crash that
    // keeps nothing more replays nothing and loses nothing.
    const c = await restart(b, 0);
    expect(c.vlog.valueLogStats.replayedBatches).toBe(0);
    expect(await fills(c.vlog, [1, 2, 3])).toEqual([11, undefined, 3]);
    await c.vlog.close();
  });

  it('replays a log read in many small chunks, over several segments, byte for byte', async () => {
    // Chunks smaller than a record: every record is read again whole, into the same
    // buffer, so an op that kept a view of that buffer would be overwritten.
    const options = { segmentBytes: 1500, replayChunkBytes: 256 };
    const a = await fresh(options);
    for (let i = 0; i < 12; i++) {
      await a.vlog.batch([
        { type: 'put', key: key(i), value: value(300 + i, 100 + i) },
        { type: 'put', key: metaKey(`m${i}`), value: Uint8Array.of(i, i + 1, i + 2) },
      ]);
    }
    expect((await segmentFiles(a.dir)).length).toBeGreaterThan(2);
    const b = await restart(a, 0, options);
    expect(b.vlog.valueLogStats.replayedBatches).toBe(12);
    for (let i = 0; i < 12; i++) {
      expect(Buffer.from((await b.vlog.get(key(i)))!).equals(value(300 + i, 100 + i))).toBe(true);
      expect([...(await b.vlog.get(metaKey(`m${i}`)))!]).toEqual([i, i + 1, i + 2]);
    }
    await b.vlog.close();
  });

  it.each([0, 1, 2, 5])('a crash that kept %i of the engine writes after the checkpoint ends in the same state', async (keep) => {
    // Replaying over an engine that is already ahead of the checkpoint (the batches
    // are replayed again, in order) gives the state after the last batch.
    const a = await fresh();
    for (let i = 0; i < 5; i++) await a.vlog.batch([{ type: 'put', key: key(i % 3), value: value(i % 2 === 0 ? 300 : 40, 10 + i) }, { type: 'del', key: key(3 + (i % 2)) }]);
    const b = await restart(a, keep);
    expect(b.vlog.valueLogStats.replayedBatches).toBe(5);
    expect(await fills(b.vlog, [0, 1, 2, 3, 4])).toEqual([13, 14, 12, undefined, undefined]);
    await b.vlog.close();
  });

  it('a batch torn by the crash is not replayed, and its keys keep their earlier values; so is one that fails its CRC', async () => {
    const a = await fresh();
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }]);
    await a.vlog.batch([{ type: 'put', key: key(2), value: value(300, 2) }]);
    const seg = join(a.dir, (await segmentFiles(a.dir)).at(-1)!);
    const whole = (await stat(seg)).size;
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(300, 21) }, { type: 'put', key: key(2), value: value(300, 22) }]);
    const end = (await stat(seg)).size;
    // The last batch's records made it to disk, the end of its trailer did not.
    const kept = await a.crash(0);
    expect(end - whole).toBeGreaterThan(600);
    await truncate(seg, end - 10);
    const b = await start(a.dir, kept);
    expect(b.vlog.valueLogStats.replayedBatches).toBe(2);
    expect(await fills(b.vlog, [1, 2])).toEqual([1, 2]);
    // A byte of a value flipped (record headers intact): the batch's CRC fails.
    await b.vlog.batch([{ type: 'put', key: key(1), value: value(300, 31) }]);
    const seg2 = join(b.dir, (await segmentFiles(b.dir)).at(-1)!);
    const kept2 = await b.crash(0);
    const fh = await open(seg2, 'r+');
    await fh.write(Uint8Array.of(0x55), 0, 1, 200);
    await fh.close();
    const c = await start(b.dir, kept2);
    expect(c.vlog.valueLogStats.replayedBatches).toBe(0);
    expect(await fills(c.vlog, [1, 2])).toEqual([1, 2]);
    await c.vlog.close();
  });

  it('a clear is never undone by replaying a batch from before it', async () => {
    const a = await fresh();
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }, { type: 'put', key: key(2), value: value(30, 2) }]);
    await a.vlog.clear({ gte: key(1), lte: key(2) });
    await a.vlog.batch([{ type: 'put', key: key(3), value: value(300, 3) }]);
    // LevelDB kept every write, the clear's deletions included.
    const b = await restart(a);
    expect(await fills(b.vlog, [1, 2, 3])).toEqual([undefined, undefined, 3]);
    expect(b.vlog.valueLogStats.replayedBatches).toBe(1);
    await b.vlog.close();
  });

  it('collected segments are never needed by a replay', async () => {
    const a = await fresh({ segmentBytes: 1000 });
    for (let round = 0; round < 3; round++) for (let i = 0; i < 6; i++) await a.vlog.batch([{ type: 'put', key: key(i), value: value(300, round * 10 + i) }]);
    expect(await a.vlog.collectAll()).toBeGreaterThan(0);
    await a.vlog.batch([{ type: 'put', key: key(0), value: value(300, 99) }]);
    const b = await restart(a, 0);
    expect(await fills(b.vlog, [0, 1, 2, 3, 4, 5])).toEqual([99, 21, 22, 23, 24, 25]);
    await b.vlog.close();
  });

  it('a start without the write-ahead log still replays what a crashed run logged, then stops looking for trailers', async () => {
    const a = await fresh();
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }]);
    const b = await restart(a, 0, { wal: false });
    expect(b.vlog.valueLogStats.replayedBatches).toBe(1);
    expect(await fills(b.vlog, [1])).toEqual([1]);
    await b.vlog.batch([{ type: 'put', key: key(1), value: value(300, 2) }]);
    // Without the write-ahead log a crash may lose the engine's unsynced writes: that
    // mode never promised otherwise, and nothing is replayed.
    const c = await restart(b, Infinity, { wal: false });
    expect(c.vlog.valueLogStats.replayedBatches).toBe(0);
    expect(await fills(c.vlog, [1])).toEqual([2]);
    await c.vlog.close();
  });

  it.each([
    [5, false],
    [17, false],
    [404, false],
    [6, true],
    [18, true],
  ])('after random batches, clears, collections and a crash, the state is every batch applied (seed %i, segments made ahead of time: %s)', async (seed, preallocate) => {
    const random = new SeededRandom(seed);
    const options = { segmentBytes: 1500, checkpointBytes: 2500, keydirEntries: 4, preallocate };
    let node = await fresh(options);
    const model = new Map<number, number | undefined>();
    const fill = { next: 0 };
    for (let life = 0; life < 4; life++) {
      for (let step = 0; step < 40; step++) {
        const r = random.float();
        if (r < 0.05) {
          await node.vlog.collectAll();
        } else if (r < 0.08) {
          const k = random.int(10);
          await node.vlog.clear({ gte: key(k), lte: key(k) });
          model.set(k, undefined);
        } else {
          const ops = randomBatch(random, model, fill);
          await node.vlog.batch(ops, { sync: true });
        }
        // A segment made ahead of time is ready for every next batch that wants one.
        if (preallocate) await node.vlog.whenPreallocated();
      }
      if (preallocate) expect(node.vlog.valueLogStats.preallocatedSegments).toBeGreaterThan(0);
      const keep = random.float() < 0.3 ? Infinity : random.int(6);
      node = await restart(node, keep, options);
      const all = Array.from({ length: 10 }, (_, i) => i);
      expect(await fills(node.vlog, all)).toEqual(all.map((i) => model.get(i)));
    }
    await node.vlog.close();
  });
});

describe('segments made ahead of time (as the write-ahead log)', () => {
  const SPARE = 'next.vlog.tmp';
  const size = async (path: string): Promise<number> => (await stat(path)).size;
  const zeros = (b: Buffer): boolean => b.every((x) => x === 0);

  it('the head moves to a zero-filled segment, synced before it is used; a head is cut to its data when it is left and at close', async () => {
    const events: string[] = [];
    const paths = new Map<number, string>();
    const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
    const node = await fresh({
      preallocate: true,
      segmentBytes: 4096,
      files: {
        open: (path, create) => {
          const fd = nodeValueLogFiles.open(path, create);
          paths.set(fd, base(path));
          return fd;
        },
        sync: (fd) => (events.push(`sync ${paths.get(fd)}`), nodeValueLogFiles.sync(fd)),
        rename: (from, to) => {
          events.push(`rename ${base(from)} ${base(to)}`);
          for (const [fd, name] of paths) if (name === base(from)) paths.set(fd, base(to));
          nodeValueLogFiles.rename(from, to);
        },
        truncate: (fd, length) => (events.push(`truncate ${paths.get(fd)}`), nodeValueLogFiles.truncate(fd, length)),
      },
    });
    await node.vlog.whenPreallocated();
    const spare = join(node.dir, SPARE);
    expect(await size(spare)).toBe(4096);
    expect(zeros(await readFile(spare))).toBe(true);
    // The open's head takes the first batch; the next one moves to the ready segment.
    await node.vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }]);
    expect(await segmentFiles(node.dir)).toEqual(['00000001.vlog']);
    await node.vlog.batch([{ type: 'put', key: key(2), value: value(300, 2) }]);
    expect(await segmentFiles(node.dir)).toEqual(['00000001.vlog', '00000002.vlog']);
    expect(node.vlog.valueLogStats.preallocatedSegments).toBe(1);
    const head = join(node.dir, '00000002.vlog');
    expect(await size(head)).toBe(4096);
    expect(events.indexOf(`sync ${SPARE}`)).toBeGreaterThanOrEqual(0);
    expect(events.indexOf(`sync ${SPARE}`)).toBeLessThan(events.indexOf(`rename ${SPARE} 00000002.vlog`));
    // Fill it past 4,096 bytes: the next head is the next ready segment, and this one is
    // cut at the end of its records.
    await node.vlog.whenPreallocated();
    let written = 0;
    for (let i = 3; written < 4096; i++) {
      await node.vlog.batch([{ type: 'put', key: key(i % 8), value: value(300, i) }]);
      written = node.vlog.valueLogStats.bytes - (await size(join(node.dir, '00000001.vlog')));
    }
    expect(await segmentFiles(node.dir)).toEqual(['00000001.vlog', '00000002.vlog', '00000003.vlog']);
    expect(node.vlog.valueLogStats.preallocatedSegments).toBe(2);
    const cut = await size(head);
    expect(cut).toBeLessThan(4096);
    expect(cut).toBeGreaterThan(3000);
    // The new length was synced (before the engine write of the batch that moved on).
    expect(events.indexOf('truncate 00000002.vlog')).toBeGreaterThan(0);
    expect(events.lastIndexOf('sync 00000002.vlog')).toBeGreaterThan(events.indexOf('truncate 00000002.vlog'));
    // Every byte of it is records: collection reads it to its end.
    expect(await node.vlog.collectAll()).toBe(2);
    expect(node.vlog.valueLogStats.collectFailures).toBe(0);
    const live = [...Array(8).keys()].map(async (i) => (await node.vlog.get(key(i)))?.[10]);
    const before = await Promise.all(live);
    const last = await segmentFiles(node.dir);
    await node.vlog.close();
    // The head was cut at close, and the spare is gone.
    const headPath = join(node.dir, last.at(-1)!);
    expect(zeros((await readFile(headPath)).subarray(-12))).toBe(false);
    expect((await readdir(node.dir)).includes(SPARE)).toBe(false);
    const again = await start(node.dir, join(node.dir, '..', 'db'));
    expect(again.vlog.valueLogStats.replayedBatches).toBe(0);
    expect(again.vlog.valueLogStats.trimmedBytes).toBe(0);
    expect(await Promise.all([...Array(8).keys()].map(async (i) => (await again.vlog.get(key(i)))?.[10]))).toEqual(before);
    await again.vlog.close();
  });

  it.each([
    ['zeros', 0],
    ['a torn batch, then zeros', 0x55],
  ])('after a crash the start replays up to the end of the data (%s), cuts the file there, and collection reads it whole', async (_, junk) => {
    const a = await fresh({ preallocate: true, segmentBytes: 4096 });
    await a.vlog.whenPreallocated();
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(300, 1) }]);
    await a.vlog.batch([{ type: 'put', key: key(2), value: value(300, 2) }, { type: 'put', key: key(3), value: value(40, 3) }]);
    await a.vlog.batch([{ type: 'put', key: key(1), value: value(300, 11) }]);
    const head = join(a.dir, '00000002.vlog');
    const data = a.vlog.valueLogStats.bytes - (await size(join(a.dir, '00000001.vlog')));
    const kept = await a.crash(0);
    expect(await size(head)).toBe(4096);
    if (junk !== 0) {
      // Part of a batch the crash caught half-written: a header and some of its record.
      const fh = await open(head, 'r+');
      await fh.write(Buffer.alloc(700, junk), 0, 700, data);
      await fh.close();
    }
    const b = await start(a.dir, kept, { preallocate: true, segmentBytes: 4096 });
    expect(b.vlog.valueLogStats.replayedBatches).toBe(3);
    expect(b.vlog.valueLogStats.trimmedBytes).toBe(4096 - data);
    expect(await size(head)).toBe(data);
    expect(await fills(b.vlog, [1, 2, 3])).toEqual([11, 2, 3]);
    await b.vlog.whenPreallocated();
    expect(await b.vlog.collectAll()).toBeGreaterThan(0);
    expect(b.vlog.valueLogStats.collectFailures).toBe(0);
    expect(await fills(b.vlog, [1, 2, 3])).toEqual([11, 2, 3]);
    await b.vlog.close();
  });

  it('a head that cannot be cut fails no write: its zeros stay past every pointer, and reads and a replay still work', async () => {
    let cuts = 0;
    const a = await fresh({
      preallocate: true,
      segmentBytes: 4096,
      files: {
        truncate: () => {
          cuts++;
          throw new Error('EIO: truncate');
        },
      },
    });
    for (let i = 0; i < 40; i++) {
      await a.vlog.batch([{ type: 'put', key: key(i % 10), value: value(300, i) }]);
      await a.vlog.whenPreallocated();
    }
    expect(cuts).toBeGreaterThan(0);
    expect(a.vlog.valueLogStats.preallocatedSegments).toBeGreaterThan(1);
    expect(await fills(a.vlog, [...Array(10).keys()])).toEqual([...Array(10).keys()].map((i) => 30 + i));
    const b = await restart(a, 0, { preallocate: true, segmentBytes: 4096 });
    expect(await fills(b.vlog, [...Array(10).keys()])).toEqual([...Array(10).keys()].map((i) => 30 + i));
    await b.vlog.close();
  });

  it('a leftover segment made ahead of time is deleted at the open; without the write-ahead log none is made', async () => {
    const loc = await location();
    const dir = join(loc, 'vlog');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, SPARE), Buffer.alloc(4096));
    const node = await start(dir, join(loc, 'db'), { wal: false, preallocate: true, segmentBytes: 4096 });
    expect((await readdir(dir)).includes(SPARE)).toBe(false);
    for (let i = 0; i < 20; i++) await node.vlog.batch([{ type: 'put', key: key(i), value: value(300, i) }]);
    await node.vlog.whenPreallocated();
    expect((await readdir(dir)).includes(SPARE)).toBe(false);
    expect(node.vlog.valueLogStats.preallocatedSegments).toBe(0);
    await node.vlog.close();
  });
});
