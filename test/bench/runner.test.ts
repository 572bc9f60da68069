import { describe, expect, it } from 'vitest';
import { parseMix, runLoad, type BenchDriver, type LoadResult, type Progress } from '../../src/bench/index.js';
import { SeededRandom, SimClock, SimScheduler, SimTimers } from '../../src/env/index.js';
import { ShoalError } from '../../src/errors/index.js';
import { decodeContext, encodeContext, joinVectors } from '../../src/vclock/index.js';

/** A store answering after fixed simulated latencies; every `failEvery`-th get fails. */
function fakeStore(s: SimScheduler, o: { getMs: number; putMs: number; failEvery?: number }) {
  const versions = new Map<string, number>();
  const seenContexts: Array<{ key: string; sent: string | null; last: string | null }> = [];
  let gets = 0;
  const later = <T>(ms: number, f: () => T): Promise<T> =>
    new Promise((resolve, reject) =>
      s.schedule(ms, () => {
        try {
          resolve(f());
        } catch (err) {
          reject(err);
        }
      }),
    );
  const ctx = (key: string): string | null => (versions.has(key) ? `${key}@${versions.get(key)}` : null);
  const driver: BenchDriver = {
    name: 'fake',
    get: (key) =>
      later(o.getMs, () => {
        gets += 1;
        if (o.failEvery !== undefined && gets % o.failEvery === 0) throw new ShoalError('UNAVAILABLE', 'fake');
        return { found: versions.has(key), context: ctx(key) };
      }),
    put: (key, _value, context) =>
      later(o.putMs, () => {
        seenContexts.push({ key, sent: context, last: ctx(key) });
        versions.set(key, (versions.get(key) ?? 0) + 1);
        return { context: ctx(key) };
      }),
    delete: (key) =>
      later(o.putMs, () => {
        versions.delete(key);
      }),
    close: async () => {},
  };
  return { driver, seenContexts };
}

/** Runs the simulated scheduler until the load finishes (bounded by a step count). */
async function drive(s: SimScheduler, run: Promise<LoadResult>): Promise<LoadResult> {
  let done: LoadResult | undefined;
  void run.then((r) => (done = r));
  for (let i = 0; i < 1_000_000 && done === undefined; i++) {
    await new Promise((r) => setImmediate(r));
    if (done === undefined && !s.step()) await new Promise((r) => setImmediate(r));
  }
  if (done === undefined) throw new Error('load did not finish');
  return done;
}

function setup(seed: number) {
  const s = new SimScheduler();
  return { s, clock: new SimClock(s), timers: new SimTimers(s), random: new SeededRandom(seed) };
}

describe('runLoad', () => {
  it('keeps CONCURRENCY requests in flight for the duration and measures their latency', async () => {
    const { s, clock, timers, random } = setup(1);
    const { driver } = fakeStore(s, { getMs: 2, putMs: 5 });
    const progress: Progress[] = [];
    const r = await drive(
      s,
      runLoad({ driver, clock, timers, random, mix: parseMix('put=1,get=1'), keys: 50, dist: 'uniform', valueBytes: 16, concurrency: 4, durationMs: 2_000, onProgress: (p) => progress.push(p) }),
    );
    expect(r.totalErrors).toBe(0);
    expect(r.ops.put!.latencyUs).toMatchObject({ min: 5000, max: 5000 });
    expect(r.ops.get!.latencyUs).toMatchObject({ min: 2000, max: 2000 });
    expect(r.ops.put!.latencyUs.p99).toBeLessThanOrEqual(5000 * (1 + 1 / 128));
    // 4 workers, each op 2 or 5 ms (3.5 on average): about 4 / 3.5 ms = 1,143 ops/s.
    expect(r.opsPerSec).toBeGreaterThan(1_000);
    expect(r.opsPerSec).toBeLessThan(1_300);
    expect(r.elapsedMs).toBe(2_000);
    expect(r.ops.delete).toBeUndefined();
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(3);
    expect(progress.every((p) => p.opsPerSec > 0)).toBe(true);
  });

  it('sends each put the context of the key\'s last answer', async () => {
    const { s, clock, timers, random } = setup(2);
    const { driver, seenContexts } = fakeStore(s, { getMs: 1, putMs: 1 });
    await drive(s, runLoad({ driver, clock, timers, random, mix: parseMix('put=3,get=1'), keys: 20, dist: 'zipf', valueBytes: 8, concurrency: 1, durationMs: 300 }));
    expect(seenContexts.length).toBeGreaterThan(100);
    // One writer at a time: every put carries exactly the key's current version.
    expect(seenContexts.every((c) => c.sent === c.last)).toBe(true);
  });

  it("puts of one key in flight at once: the key's context covers every write the generator made (one writer)", async () => {
    // Each put answers as a node does: the context it was sent plus its own new dot, so
    // two overlapping puts each answer with a context missing the other's write.
    const { s, clock, timers, random } = setup(9);
    const issued = new Map<string, Set<string>>();
    let seq = 0;
    const driver: BenchDriver = {
      name: 'dots',
      get: async () => ({ found: false, context: null }),
      put: (key, _value, context) =>
        new Promise((resolve) => {
          const actor = `a${seq++}`;
          const set = issued.get(key) ?? new Set<string>();
          set.add(actor);
          issued.set(key, set);
          const sent = context === null ? [] : decodeContext(context);
          s.schedule(1 + (seq % 3), () => resolve({ context: encodeContext(joinVectors(sent, [[actor, 1]])) }));
        }),
      delete: async () => {},
      close: async () => {},
    };
    const contexts = new Map<string, string>();
    await drive(s, runLoad({ driver, clock, timers, random, mix: parseMix('put=1'), keys: 2, dist: 'uniform', valueBytes: 8, concurrency: 6, durationMs: 100, contexts }));
    expect(seq).toBeGreaterThan(50);
    for (const [key, actors] of issued) {
      const covered = new Set(decodeContext(contexts.get(key)!).map(([id]) => id));
      expect([...actors].filter((a) => !covered.has(a))).toEqual([]);
    }
  });

  it('carries contexts from one run to the next when the caller shares its map (rounds never add siblings)', async () => {
    const { s, clock, timers, random } = setup(5);
    const { driver, seenContexts } = fakeStore(s, { getMs: 1, putMs: 1 });
    const contexts = new Map<string, string>();
    const run = () => drive(s, runLoad({ driver, clock, timers, random, mix: parseMix('put=1'), keys: 10, dist: 'uniform', valueBytes: 8, concurrency: 1, durationMs: 200, contexts }));
    await run();
    const first = seenContexts.length;
    await run();
    // Only the very first put of each key went blind; the second run knew every key.
    expect(seenContexts.filter((c) => c.sent === null).length).toBeLessThanOrEqual(10);
    expect(seenContexts.slice(first).every((c) => c.sent === c.last)).toBe(true);
    // Without the shared map, the second run starts blind again.
    const before = seenContexts.length;
    await drive(s, runLoad({ driver, clock, timers, random, mix: parseMix('put=1'), keys: 10, dist: 'uniform', valueBytes: 8, concurrency: 1, durationMs: 200 }));
    expect(seenContexts.slice(before).some((c) => c.sent === null && c.last !== null)).toBe(true);
  });

  it('counts errors by code and keeps them out of the latency histograms', async () => {
    const { s, clock, timers, random } = setup(3);
    const { driver } = fakeStore(s, { getMs: 1, putMs: 1, failEvery: 4 });
    const r = await drive(s, runLoad({ driver, clock, timers, random, mix: parseMix('get=1'), keys: 10, dist: 'uniform', valueBytes: 8, concurrency: 2, durationMs: 500 }));
    const get = r.ops.get!;
    expect(get.errors).toBeGreaterThan(0);
    expect(r.errors).toEqual({ UNAVAILABLE: get.errors });
    expect(get.latencyUs.count).toBe(get.ok);
    expect(Math.abs(get.errors * 4 - (get.ok + get.errors))).toBeLessThanOrEqual(4);
  });

  it('times delete and rmw with their read, and stops at opsMax', async () => {
    const { s, clock, timers, random } = setup(4);
    const { driver } = fakeStore(s, { getMs: 2, putMs: 3 });
    const r = await drive(s, runLoad({ driver, clock, timers, random, mix: parseMix('rmw=1,delete=1'), keys: 5, dist: 'uniform', valueBytes: 8, concurrency: 1, durationMs: 60_000, opsMax: 50 }));
    expect(r.totalOps).toBe(50);
    expect(r.ops.rmw!.latencyUs.min).toBe(5000);
    expect(r.ops.delete!.latencyUs.min).toBe(5000);
    expect(r.elapsedMs).toBeLessThan(1_000);
  });

  it('does not record the warm-up', async () => {
    const { s, clock, timers, random } = setup(5);
    const { driver } = fakeStore(s, { getMs: 10, putMs: 10 });
    const r = await drive(s, runLoad({ driver, clock, timers, random, mix: parseMix('get=1'), keys: 5, dist: 'uniform', valueBytes: 8, concurrency: 1, durationMs: 100, warmupMs: 1_000 }));
    expect(r.totalOps).toBeGreaterThanOrEqual(9);
    expect(r.totalOps).toBeLessThanOrEqual(11);
  });
});
