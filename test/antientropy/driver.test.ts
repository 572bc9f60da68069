// The node's anti-entropy driver (src/node/antientropy.ts) between two replicas on memory
// stores and simulated time: it repairs what differs, and it does not wait for the next
// tick between exchanges.
import { describe, expect, it } from 'vitest';
import { aeTickMs } from '../../src/config/index.js';
import { ShoalError, type ErrorCode } from '../../src/errors/index.js';
import { SeededRandom, SimClock, SimScheduler, SimTimers } from '../../src/env/index.js';
import { AE_SAVED_TREES, AntiEntropyDriver, type AntiEntropyHost } from '../../src/node/antientropy.js';
import { PartitionTree, objectDigest } from '../../src/antientropy/index.js';
import { aeTreeRebuildIntervalMs } from '../../src/config/index.js';
import { MemoryBacking, MemoryEngine, ObjectStore, REMOVE, savedStateKey } from '../../src/store/index.js';
import * as vc from '../../src/vclock/index.js';
import type { DVVSet } from '../../src/vclock/types.js';
import type { PeerMessage } from '../../src/wire/messages.js';

const PARTITIONS = 8;

interface Replica {
  id: string;
  store: ObjectStore;
  driver: AntiEntropyDriver;
  host: AntiEntropyHost;
  scans: number;
  /** Simulated ms of each store scan's start (full scans and keys-only passes). */
  scanAt: number[];
  /**
   * Stops the node (its driver, then its store: cleanly, or by a crash of the engine) and
   * starts it again on the same data: a new store and a new driver, whose trees are not
   * built yet. `whileStopped` runs between the stop and the start, on the data.
   */
  restart(how: 'clean' | 'crash', whileStopped?: (backing: MemoryBacking) => Promise<void>): Promise<void>;
}

/** One-way delay of every simulated request in the second test, ms. */
const DELAY_MS = 10;

async function pair(delayMs = 0): Promise<{ a: Replica; b: Replica; sched: SimScheduler }> {
  const sched = new SimScheduler();
  const make = async (id: string, other: () => Replica): Promise<Replica> => {
    const backing = new MemoryBacking();
    const self = { id, scans: 0, scanAt: [] } as unknown as Replica;
    const openStore = async (): Promise<ObjectStore> => {
      const store = new ObjectStore(new MemoryEngine(backing), { random: new SeededRandom(id.length) });
      await store.open();
      const scan = store.scan.bind(store);
      store.scan = (p, o) => {
        self.scans++;
        self.scanAt.push(sched.now);
        return scan(p, o);
      };
      const partitionKeyChunks = store.partitionKeyChunks.bind(store);
      store.partitionKeyChunks = (p) => {
        self.scans++;
        self.scanAt.push(sched.now);
        return partitionKeyChunks(p);
      };
      return store;
    };
    const store = await openStore();
    self.store = store;
    const merge = async (p: number, key: string, obj: DVVSet) => {
      self.driver.writing(p);
      const res = await self.store.update(p, key, (cur) => (cur ? vc.sync(cur, obj) : obj));
      self.driver.written(p, key, res.before, res.after, res.changed);
    };
    self.restart = async (how, whileStopped) => {
      self.driver.stop();
      if (how === 'clean') await self.store.close();
      else (self.store.engine as MemoryEngine).crash();
      await whileStopped?.(backing);
      self.store = await openStore();
      (self.host as { store: ObjectStore }).store = self.store;
      self.driver = new AntiEntropyDriver(self.host);
    };
    const host: AntiEntropyHost = {
      id,
      partitions: PARTITIONS,
      env: { clock: new SimClock(sched), timers: new SimTimers(sched), random: new SeededRandom(7) },
      store,
      log: () => undefined,
      reachable: () => true,
      async request(_to, msg): Promise<PeerMessage> {
        const peer = other();
        if (delayMs > 0) await new Promise<void>((r) => sched.schedule(delayMs, r));
        let answer: PeerMessage;
        if (msg.t === 'ae_levels' || msg.t === 'ae_keys') answer = await peer.driver.answer(msg);
        else if (msg.t === 'rget') {
          const o = await peer.store.get(msg.p, msg.k);
          answer = { t: 'rget_ok', o: o ? vc.toWire(o) : null };
        } else if (msg.t === 'rput') {
          await peerMerge(peer, msg.p, msg.k, vc.fromWire(msg.o));
          answer = { t: 'rput_ok' };
        } else throw new Error(`unexpected ${msg.t}`);
        if (delayMs > 0) await new Promise<void>((r) => sched.schedule(delayMs, r));
        // Like the node's peer requests: an `err` answer rejects with its code and message.
        if (answer.t === 'err') throw new ShoalError(answer.code as ErrorCode, answer.msg);
        return answer;
      },
      merge,
      replicas: () => Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, peers: [other().id] })),
      p99Ms: () => undefined,
    };
    self.host = host;
    self.driver = new AntiEntropyDriver(host);
    merges.set(id, merge);
    return self;
  };
  const merges = new Map<string, (p: number, k: string, o: DVVSet) => Promise<void>>();
  const peerMerge = (r: Replica, p: number, k: string, o: DVVSet) => merges.get(r.id)!(p, k, o);
  let a!: Replica;
  let b!: Replica;
  a = await make('a', () => b);
  b = await make('b', () => a);
  return { a, b, sched };
}

/** Lets promise chains settle between steps of simulated time. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

const value = (i: number): DVVSet => vc.update(vc.fresh([], { value: new Uint8Array([i & 255]), ts: 1 }), vc.empty(), `w:${i % 3}`, 1);

describe('AntiEntropyDriver', () => {
  it('repairs keys missing on either replica in every partition, all within one tick interval (exchanges chain)', async () => {
    const { a, b, sched } = await pair();
    const keys = Array.from({ length: 400 }, (_, i) => ({ p: i % PARTITIONS, k: `key-${i}` }));
    for (const [i, { p, k }] of keys.entries()) {
      // Key i is missing on b when i % 10 === 3, on a when i % 10 === 7.
      if (i % 10 !== 7) await a.store.update(p, k, () => value(i));
      if (i % 10 !== 3) await b.store.update(p, k, () => value(i));
    }
    await Promise.all([a.driver.rebuildAll(), b.driver.rebuildAll()]);
    a.driver.tick();
    // Well under one aeTickMs of simulated time and no further tick() from outside: every
    // partition must still be exchanged (2 at a time), which needs the driver to start
    // the next exchange as soon as one ends.
    for (let t = 0; t < aeTickMs - 5; t += 5) {
      await settle();
      sched.advance(5);
    }
    await settle();
    for (const { p, k } of keys) {
      expect(await a.store.get(p, k), `${k} on a`).toBeDefined();
      expect(await b.store.get(p, k), `${k} on b`).toBeDefined();
    }
    expect(a.driver.keysRepaired).toBe(80);
    for (let p = 0; p < PARTITIONS; p++) expect(Buffer.from(a.driver.tree(p).rootHash())).toEqual(Buffer.from(b.driver.tree(p).rootHash()));
    const status = a.driver.status();
    expect(status.filter((s) => s.exchanges > 0).length).toBe(PARTITIONS);
  });

  it('answers its own key pages while the peer answers (one scan of each side per differing batch)', async () => {
    const { a, b, sched } = await pair(DELAY_MS);
    for (let i = 0; i < 50; i++) {
      await a.store.update(0, `k${i}`, () => value(i));
      if (i !== 5) await b.store.update(0, `k${i}`, () => value(i));
    }
    await Promise.all([a.driver.rebuildAll(), b.driver.rebuildAll()]);
    a.scans = 0;
    b.scans = 0;
    a.scanAt = [];
    b.scanAt = [];
    a.driver.tick();
    for (let t = 0; t < 200; t += 1) {
      await settle();
      sched.advance(1);
    }
    await settle();
    expect(await b.store.get(0, 'k5')).toBeDefined();
    // One differing segment, one page each: a's store scanned once for its own page, b's
    // once for the peer page, and a's scan started when the request to b left (b scans
    // DELAY_MS later), not after b's answer came back (2 * DELAY_MS later still).
    expect(a.scans).toBe(1);
    expect(b.scans).toBe(1);
    expect(a.scanAt[0]).toBeLessThan(b.scanAt[0]!);
  });

  it('pages a key list longer than one reply (the keys-only first page, then scans) and repairs every key', async () => {
    const { a, b, sched } = await pair();
    const n = 2500;
    // Keys of the first 64 segments only: one ae_keys request covers them all, and its
    // answer needs three pages of aeKeysPerReplyMax (1,000).
    const shape = new PartitionTree();
    const keys: string[] = [];
    for (let i = 0; keys.length < n; i++) if (shape.segmentOf(`many-${i}`) < 64) keys.push(`many-${i}`);
    for (const [i, k] of keys.entries()) await a.store.update(0, k, () => value(i));
    await Promise.all([a.driver.rebuildAll(), b.driver.rebuildAll()]);
    a.scans = 0;
    b.scans = 0;
    a.driver.tick();
    // 2,500 repairs draw from the 1,000-key burst and 1,000 keys/s of the repair bucket.
    for (let t = 0; t < 5_000; t += 50) {
      await settle();
      sched.advance(50);
    }
    await settle();
    let present = 0;
    for (const k of keys) if ((await b.store.get(0, k)) !== undefined) present++;
    expect(present).toBe(n);
    // Three pages from a: the keys-only pass, then scans from `after` in steps of 1,000
    // rows (page 2 needs two, the second to learn it is full; page 3 one); b has none.
    expect(a.scans).toBe(4);
    expect(b.scans).toBe(1);
    expect(Buffer.from(a.driver.tree(0).rootHash())).toEqual(Buffer.from(b.driver.tree(0).rootHash()));
  });

  it('refuses a peer exchange of a partition it is exchanging itself, so the keys are repaired once', async () => {
    const { a, b, sched } = await pair(DELAY_MS);
    for (let i = 0; i < 40; i++) {
      await a.store.update(0, `k${i}`, () => value(i));
      if (i % 2 === 0) await b.store.update(0, `k${i}`, () => value(i));
    }
    await Promise.all([a.driver.rebuildAll(), b.driver.rebuildAll()]);
    a.driver.tick();
    // b starts its own round after a's exchange of partition 0 has had its root answer.
    for (let t = 0; t < 25; t++) {
      await settle();
      sched.advance(1);
    }
    b.driver.tick();
    for (let t = 0; t < 400; t++) {
      await settle();
      sched.advance(1);
    }
    await settle();
    for (let i = 0; i < 40; i++) expect(await b.store.get(0, `k${i}`)).toBeDefined();
    expect(a.driver.keysRepaired + b.driver.keysRepaired).toBe(20);
    const p0 = b.driver.status().find((s) => s.partition === 0)!;
    expect(p0.exchanges).toBe(1);
    expect(p0.failures).toBe(0);
  });

  describe('saved trees', () => {
    /** The trees a full scan of the replica's store gives now. */
    async function scannedRoots(r: Replica): Promise<string[]> {
      const roots: string[] = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const rows = await r.store.scan(p, { limit: 10_000 });
        roots.push(Buffer.from(PartitionTree.build(rows.map(([k, o]) => [k, objectDigest(o)] as const)).rootHash()).toString('hex'));
      }
      return roots;
    }
    const roots = (r: Replica) => Array.from({ length: PARTITIONS }, (_, p) => Buffer.from(r.driver.tree(p).rootHash()).toString('hex'));
    const write = async (r: Replica, p: number, k: string, i: number) => {
      r.driver.writing(p);
      const res = await r.store.update(p, k, (cur) => (cur ? vc.sync(cur, value(i)) : value(i)));
      r.driver.written(p, k, res.before, res.after, res.changed);
    };

    async function filled(): Promise<Replica> {
      const { a } = await pair();
      for (let i = 0; i < 300; i++) await a.store.update(i % PARTITIONS, `key-${i}`, () => value(i));
      await a.driver.rebuildAll();
      return a;
    }

    it('a clean stop saves the trees and the next start restores them without scanning the store', async () => {
      const a = await filled();
      const before = roots(a);
      await a.restart('clean');
      expect(a.store.savedAtOpen()).toContain(AE_SAVED_TREES);
      a.scans = 0;
      await a.driver.rebuildAll();
      expect(a.driver.treesRestored).toBe(PARTITIONS);
      expect(a.scans).toBe(0);
      expect(roots(a)).toEqual(before);
      expect(a.driver.status().length === 0 || a.driver.status().every((s) => s.treeReady)).toBe(true);
    });

    it('a start that took the trees and crashed leaves none: the next start scans, and sees its writes', async () => {
      const a = await filled();
      await a.restart('clean');
      await a.driver.rebuildAll();
      expect(a.driver.treesRestored).toBe(PARTITIONS);
      await write(a, 3, 'late', 1);
      await a.store.drain();
      // Crash: no close, so nothing is saved; the next start must scan, and see the write.
      await a.restart('crash');
      expect(a.store.savedAtOpen()).not.toContain(AE_SAVED_TREES);
      a.scans = 0;
      await a.driver.rebuildAll();
      expect(a.driver.treesRestored).toBe(0);
      expect(a.scans).toBeGreaterThanOrEqual(PARTITIONS);
      expect(roots(a)).toEqual(await scannedRoots(a));
    });

    it('writes made between the open and the read of the saved trees are applied to them', async () => {
      const a = await filled();
      await a.restart('clean');
      // The store is open and the driver made, its trees not read yet: writes now are
      // recorded as deltas and applied to the restored trees.
      await Promise.all([
        write(a, 1, 'new-key', 5),
        write(a, 2, 'key-2', 9),
        (async () => {
          a.driver.writing(4);
          const res = await a.store.update(4, 'key-4', () => REMOVE);
          a.driver.written(4, 'key-4', res.before, res.after, res.changed);
        })(),
      ]);
      a.scans = 0;
      await a.driver.rebuildAll();
      expect(a.driver.treesRestored).toBe(PARTITIONS);
      expect(a.scans).toBe(0);
      expect(await a.store.get(4, 'key-4')).toBeUndefined();
      expect(roots(a)).toEqual(await scannedRoots(a));
    });

    it('ignores a save older than aeTreeRebuildIntervalMs, or a damaged one, and rebuilds', async () => {
      const { a, sched } = await pair();
      for (let i = 0; i < 100; i++) await a.store.update(i % PARTITIONS, `key-${i}`, () => value(i));
      await a.driver.rebuildAll();
      await a.restart('clean');
      sched.advance(aeTreeRebuildIntervalMs + 1);
      await a.driver.rebuildAll();
      expect(a.driver.treesRestored).toBe(0);
      expect(roots(a)).toEqual(await scannedRoots(a));
      // Saved again at the next clean close, then damaged on disk while stopped.
      await a.restart('clean', async (backing) => {
        const raw = new MemoryEngine(backing);
        await raw.open();
        const saved = Uint8Array.from((await raw.get(savedStateKey(AE_SAVED_TREES)))!);
        saved[100] = saved[100]! ^ 1;
        await raw.batch([{ type: 'put', key: savedStateKey(AE_SAVED_TREES), value: saved }]);
        await raw.close();
      });
      expect(a.store.savedAtOpen()).toContain(AE_SAVED_TREES);
      await a.driver.rebuildAll();
      expect(a.driver.treesRestored).toBe(0);
      expect(roots(a)).toEqual(await scannedRoots(a));
    });

    it('does not save trees that are not exact (a write in flight at the close, trees not built)', async () => {
      const a = await filled();
      a.driver.writing(0);
      await a.restart('clean');
      expect(a.store.savedAtOpen()).not.toContain(AE_SAVED_TREES);
      // Nor before they are built: this start's driver never rebuilt.
      await a.restart('clean');
      expect(a.store.savedAtOpen()).not.toContain(AE_SAVED_TREES);
    });
  });
});
