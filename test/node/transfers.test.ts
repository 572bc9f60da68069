import { describe, expect, it } from 'vitest';
import { SimClock, SimScheduler, SimTimers, SeededRandom } from '../../src/env/index.js';
import { MemoryBacking, MemoryEngine, ObjectStore } from '../../src/store/index.js';
import { TransferManager, type TransferHost } from '../../src/node/transfers.js';
import { silentLogger } from '../../src/node/log.js';
import { claim, partitionOf } from '../../src/ring/index.js';
import * as vc from '../../src/vclock/index.js';
import type { RingState } from '../../src/ring/types.js';
import type { PeerMessage } from '../../src/wire/messages.js';

/**
 * Partition pulls are resumable: a joining node that crashes mid-transfer continues after
 * the last batch it stored, and declares itself ready only once every partition it gains
 * is complete.
 */
const Q = 8;

async function openStore(backing: MemoryBacking): Promise<ObjectStore> {
  const s = new ObjectStore(new MemoryEngine(backing));
  await s.open();
  return s;
}

function obj(text: string) {
  return vc.update(vc.fresh([], { value: new TextEncoder().encode(text), ts: 1 }), vc.empty(), 'src#1', 1);
}

/** A source store of `keys` keys and a ring where d joins a, b, c (pending at `version`). */
async function joinOfD(seed: number, version: number, keys: number) {
  const sched = new SimScheduler();
  const env = { clock: new SimClock(sched), timers: new SimTimers(sched), random: new SeededRandom(seed) };
  const source = await openStore(new MemoryBacking());
  const settled = claim(undefined, ['a', 'b', 'c'], { partitions: Q, n: 3, claimant: 'a' });
  const ring: RingState = { ...settled, next: claim(settled, ['a', 'b', 'c', 'd'], { partitions: Q, n: 3, claimant: 'a' }).owners, version };
  for (let i = 0; i < keys; i++) await source.update(partitionOf(`k${i}`, Q), `k${i}`, () => obj(`v${i}`));
  return { sched, env, source, ring };
}

describe('TransferManager pulls', () => {
  it('resumes after a crash of the receiver from the last stored batch, then becomes ready', async () => {
    const sched = new SimScheduler();
    const env = { clock: new SimClock(sched), timers: new SimTimers(sched), random: new SeededRandom(1) };
    // Source: 300 keys, all in partitions the new node will gain.
    const source = await openStore(new MemoryBacking());
    const settled = claim(undefined, ['a', 'b', 'c'], { partitions: Q, n: 3, claimant: 'a' });
    const target = claim(settled, ['a', 'b', 'c', 'd'], { partitions: Q, n: 3, claimant: 'a' });
    const ring: RingState = { ...settled, next: target.owners, version: 5 };
    expect(TransferManager.gainers(ring, 3)).toEqual(['d']);
    for (let i = 0; i < 600; i++) {
      const key = `k${i}`;
      const p = partitionOf(key, Q);
      await source.update(p, key, () => obj(`v${i}`));
    }
    let served = 0;
    let life = 1;
    const requests: Array<{ life: number; p: number; after: string | null }> = [];
    let failAfter = Number.POSITIVE_INFINITY;
    const sourceManager = new TransferManager(hostFor('a', source, () => ring, async () => ({ t: 'err', code: 'INTERNAL', msg: 'unused' })));
    const backing = new MemoryBacking();
    let ready: number[] = [];

    function hostFor(id: string, store: ObjectStore, ringOf: () => RingState, request: TransferHost['request']): TransferHost {
      return {
        id,
        n: 3,
        partitions: Q,
        env,
        store,
        log: silentLogger,
        reachable: () => true,
        request,
        merge: async (p, key, o) => {
          await store.update(p, key, (cur) => (cur ? vc.sync(cur, o) : o));
        },
        ring: ringOf,
        setReady: (v) => ready.push(v),
        removeIfEqual: async () => false,
      };
    }

    const pullFrom: TransferHost['request'] = async (_to, msg) => {
      if (msg.t !== 'xfer_pull') throw new Error(`unexpected ${msg.t}`);
      if (served >= failAfter) throw new Error('receiver crashed');
      served++;
      requests.push({ life, p: msg.p, after: msg.after });
      return (await sourceManager.serve(msg.p, msg.after, Math.min(msg.limit, 16))) as PeerMessage;
    };

    async function runUntilQuiet(m: TransferManager, ms: number) {
      for (let t = 0; t < ms; t += 50) {
        m.tick();
        for (let i = 0; i < 50; i++) await Promise.resolve();
        await new Promise((r) => setImmediate(r));
        sched.advance(50);
      }
    }

    // First life: crash (requests start failing) after a few batches.
    failAfter = 5;
    let store = await openStore(backing);
    let m = new TransferManager(hostFor('d', store, () => ring, pullFrom));
    await runUntilQuiet(m, 2_000);
    m.stop();
    expect(ready).toEqual([]);
    const before = served;
    let have = 0;
    for (let p = 0; p < Q; p++) have += (await store.scan(p, { limit: 10_000 })).length;
    expect(have).toBeGreaterThan(0);
    await store.close();

    // Second life on the same disk: continues, does not start over, and finishes.
    failAfter = Number.POSITIVE_INFINITY;
    life = 2;
    ready = [];
    store = await openStore(backing);
    m = new TransferManager(hostFor('d', store, () => ring, pullFrom));
    await runUntilQuiet(m, 10_000);
    expect(ready).toContain(5);
    // Every key of every partition d gains is now on d, with its value.
    const idx = m.indexes()!;
    for (let p = 0; p < Q; p++) {
      const gainsP = idx.next!.preferenceList(p).primaries.includes('d') && !idx.current.preferenceList(p).primaries.includes('d');
      const src = await source.scan(p, { limit: 10_000 });
      const dst = await store.scan(p, { limit: 10_000 });
      if (gainsP) expect(dst.map(([k]) => k)).toEqual(src.map(([k]) => k));
      else expect(dst).toEqual([]);
    }
    // Resumed, not restarted: a partition that was part-way through in the first life is
    // asked for again from after its last stored key, not from the start.
    expect(served).toBeGreaterThan(before);
    const partial = [...new Set(requests.filter((r) => r.life === 1 && r.after !== null).map((r) => r.p))];
    expect(partial.length).toBeGreaterThan(0);
    for (const p of partial) {
      const first = requests.find((r) => r.life === 2 && r.p === p);
      if (first) expect(first.after).not.toBeNull();
    }
    expect(partial.some((p) => requests.some((r) => r.life === 2 && r.p === p))).toBe(true);
  });

  it("merges a page's keys in one group commit, not one engine write per key", async () => {
    const { sched, env, source, ring } = await joinOfD(2, 3, 400);
    const store = await openStore(new MemoryBacking());
    const ready: number[] = [];
    const host = (id: string, st: ObjectStore, request: TransferHost['request']): TransferHost => ({
      id, n: 3, partitions: Q, env, store: st, log: silentLogger, reachable: () => true, request,
      merge: async (p, key, o) => void (await st.update(p, key, (cur) => (cur ? vc.sync(cur, o) : o))),
      ring: () => ring, setReady: (v) => ready.push(v), removeIfEqual: async () => false,
    });
    const sourceManager = new TransferManager(host('a', source, async () => ({ t: 'err', code: 'INTERNAL', msg: 'unused' })));
    const m = new TransferManager(host('d', store, async (_to, msg) => {
      if (msg.t !== 'xfer_pull') throw new Error(`unexpected ${msg.t}`);
      return (await sourceManager.serve(msg.p, msg.after, msg.limit)) as PeerMessage;
    }));
    for (let t = 0; t < 5_000 && !ready.includes(3); t += 50) {
      m.tick();
      await new Promise((r) => setImmediate(r));
      sched.advance(50);
    }
    m.stop();
    expect(ready).toContain(3);
    let keys = 0;
    for (let p = 0; p < Q; p++) keys += (await store.scan(p, { limit: 10_000 })).length;
    expect(keys).toBeGreaterThan(50);
    // Each page is one commit, plus the commits of its progress record: far fewer than one per key.
    expect(store.stats().batches).toBeLessThan(keys / 4);
    await Promise.all([store.close(), source.close()]);
  });

  it("fails a page only after all of the page's merges are over", async () => {
    const { sched, env, source, ring } = await joinOfD(3, 4, 200);
    const store = await openStore(new MemoryBacking());
    // Merges under way per partition, and what it was when each partition's pull failed.
    const pending = new Map<number, number>();
    const pendingAtFailure: number[] = [];
    let merged = 0;
    let failedOnce = false;
    const host = (id: string, st: ObjectStore, request: TransferHost['request']): TransferHost => ({
      id, n: 3, partitions: Q, env, store: st, reachable: () => true, request,
      log: (event, fields) => {
        if (event === 'transfer_failed') pendingAtFailure.push(pending.get((fields as { partition: number }).partition) ?? 0);
      },
      merge: async (p, key, o) => {
        pending.set(p, (pending.get(p) ?? 0) + 1);
        try {
          // The first merge fails at once; the others finish a few turns later.
          if (!failedOnce) {
            failedOnce = true;
            throw new Error('disk full');
          }
          for (let t = 0; t < 3; t++) await new Promise((r) => setImmediate(r));
          await st.update(p, key, (cur) => (cur ? vc.sync(cur, o) : o));
          merged++;
        } finally {
          pending.set(p, pending.get(p)! - 1);
        }
      },
      ring: () => ring, setReady: () => undefined, removeIfEqual: async () => false,
    });
    const sourceManager = new TransferManager(host('a', source, async () => ({ t: 'err', code: 'INTERNAL', msg: 'unused' })));
    const m = new TransferManager(host('d', store, async (_to, msg) => {
      if (msg.t !== 'xfer_pull') throw new Error(`unexpected ${msg.t}`);
      return (await sourceManager.serve(msg.p, msg.after, msg.limit)) as PeerMessage;
    }));
    for (let t = 0; t < 1_000 && pendingAtFailure.length === 0; t += 50) {
      m.tick();
      for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
      sched.advance(50);
    }
    m.stop();
    expect(pendingAtFailure.length).toBeGreaterThan(0);
    expect(merged).toBeGreaterThan(0);
    // Every merge the failed page started was over before the pull was declared failed.
    expect(pendingAtFailure).toEqual(pendingAtFailure.map(() => 0));
    await Promise.all([store.close(), source.close()]);
  });
});
