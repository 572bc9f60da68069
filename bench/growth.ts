/**
 * `npm run bench:growth`: issue 7's growth measurements on real `shoal start` processes.
 *
 * 1. Sweep: one 3-node cluster (N=3, R=W=2, so every node holds every key) filled step by
 *    step with `--value-bytes` values through the SDK at `--fill-concurrency` in flight;
 *    after each step `--duration` s of put=50,get=50 at `--concurrency` over the keys
 *    written so far, and each node's memory (VmRSS, RssAnon, RssFile from /proc, V8 heap
 *    from /metrics). Plotted into docs/growth.svg.
 * 2. Restart and anti-entropy: node 2 is stopped cleanly; with the node's own store code
 *    (ObjectStore over classic-level, the process stopped) `--differ` random keys are
 *    removed from its data directory, which is what a replica that missed those writes
 *    and lost their hints looks like (no hint exists to replay, and nothing reads the
 *    keys, so only anti-entropy can repair them). Node 2 is started again; the script
 *    times the rebuild of its trees (start until every partition's tree is ready), then
 *    the repair (trees ready until node 2's trees hold as many keys as node 0's), and
 *    finally checks every removed key on node 2 through /v1/explain.
 *
 * The data directory is kept (`--data`, default .tmp/growth-data) with the number of
 * keys written, so a rerun reuses the filled cluster (`--fresh` starts over).
 *
 * Flags: --steps 10000,100000,300000,1000000 --duration 10 --concurrency 64
 * --fill-concurrency 256 --value-bytes 100 --differ 1000 --data DIR --fresh
 * --hold 60 (seconds of load held at the largest step after the sweep, for the memory it
 * settles at; 0 = none) --no-sweep --no-ae --memory (the memory variants below) --no-write --smoke (tiny
 * steps: checks that it works) --doc-only (rewrite the chart and section from the saved
 * results, running nothing).
 */
import { isShoalError } from '../src/errors/index.js';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { keyName, parseMix, runLoad, sdkDriver, type BenchDriver } from '../src/bench/index.js';
import { RealClock, RealRandom, RealTimers } from '../src/env/index.js';
import { partitionOf } from '../src/ring/index.js';
import { LevelEngine, ObjectStore } from '../src/store/index.js';
import { ROOT, fmt, machine, today, writeSection } from './lib/doc.js';
import { GrowthCluster } from './lib/growth-cluster.js';
import { growthDoc, svg, type AeRun, type GrowthPoint, type GrowthResults } from './lib/growth.js';
import { stopAll, waitFor } from './lib/procs.js';

const { values: f } = parseArgs({
  options: {
    steps: { type: 'string', default: '10000,100000,300000,1000000' },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    'fill-concurrency': { type: 'string', default: '256' },
    'value-bytes': { type: 'string', default: '100' },
    differ: { type: 'string', default: '1000' },
    partitions: { type: 'string', default: '64' },
    data: { type: 'string', default: join(ROOT, '.tmp', 'growth-data') },
    fresh: { type: 'boolean' },
    'no-sweep': { type: 'boolean' },
    'no-ae': { type: 'boolean' },
    'no-write': { type: 'boolean' },
    memory: { type: 'boolean' },
    hold: { type: 'string', default: '60' },
    'doc-only': { type: 'boolean' },
    smoke: { type: 'boolean' },
  },
});
const smoke = f.smoke === true;
const STEPS = (smoke ? '200,1000' : f.steps!).split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const DURATION_MS = (smoke ? 1 : Math.max(1, Number(f.duration))) * 1000;
const CONC = Math.max(1, Number(f.concurrency));
const FILL_CONC = Math.max(1, Number(f['fill-concurrency']));
const VALUE = Math.max(1, Number(f['value-bytes']));
const DIFFER = smoke ? 20 : Math.max(1, Number(f.differ));
/** Seconds of load held at the largest step after the sweep, for the memory it settles at (0 = none). */
const HOLD_S = smoke ? 1 : Math.max(0, Number(f.hold));
const Q = Number(f.partitions);
const DATA = smoke ? join(ROOT, '.tmp', `growth-smoke-${process.pid}`) : f.data!;
const ENTRY = join(import.meta.dirname, 'lib', 'shoal-entry.js');
const write = f['no-write'] !== true && !smoke;
/** Bound on filling one step, so a stalled cluster cannot hold the run forever. */
const FILL_MS_MAX = 30 * 60_000;
/** Bound on the repair wait: far beyond the 10 s target, so a slow repair is measured, not cut. */
const REPAIR_MS_MAX = 10 * 60_000;

if (f.fresh === true || smoke) rmSync(DATA, { recursive: true, force: true });
mkdirSync(DATA, { recursive: true });
const stateFile = join(DATA, 'state.json');
const resultsFile = join(DATA, 'results.json');
const state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { written: number }) : { written: 0 };
const results: GrowthResults = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as GrowthResults) : { points: [] };
const save = () => {
  writeFileSync(stateFile, JSON.stringify(state));
  writeFileSync(resultsFile, JSON.stringify(results, null, 1));
};
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/**
 * Peak memory of each node while `during` runs, sampled every 500 ms: a single reading
 * after a run lands anywhere in V8's garbage-collection cycle.
 */
async function peakDuring<T>(c: GrowthCluster, during: Promise<T>): Promise<{ result: T; peakRssMb: number[]; peakAnonMb: number[] }> {
  const peakRssMb = c.ports.map(() => 0);
  const peakAnonMb = c.ports.map(() => 0);
  let done = false;
  const sampler = (async () => {
    while (!done) {
      for (let i = 0; i < c.ports.length; i++) {
        const m = await c.memory(i);
        if (Number.isFinite(m.rssMb)) peakRssMb[i] = Math.max(peakRssMb[i]!, m.rssMb);
        if (Number.isFinite(m.anonMb)) peakAnonMb[i] = Math.max(peakAnonMb[i]!, m.anonMb);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    return { result: await during, peakRssMb, peakAnonMb };
  } finally {
    done = true;
    await sampler;
  }
}

/**
 * Writes keys state.written..upTo-1, FILL_CONC at a time, with a progress line every 5 s.
 * Every key gets its own random value: LevelDB compresses its blocks, and one value
 * repeated a million times would make a store (and its mapped files) a fraction of the
 * size real data makes.
 */
async function fill(d: BenchDriver, upTo: number): Promise<void> {
  const random = new RealRandom();
  const from = state.written;
  let next = from;
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  const deadline = t0 + FILL_MS_MAX;
  const progress = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    const rate = done / s;
    log(`fill ${(from + done).toLocaleString('en-US')}/${upTo.toLocaleString('en-US')} keys, ${fmt(rate)} puts/s, ${failed} failed, ETA ${fmt((upTo - from - done) / Math.max(1, rate))} s`);
  }, 5_000);
  try {
    await Promise.all(
      Array.from({ length: FILL_CONC }, async () => {
        while (next < upTo && performance.now() < deadline) {
          const k = next++;
          // A failed put is retried: every key below `written` must exist for the later phases.
          for (let attempt = 0; ; attempt++) {
            try {
              await d.put(keyName(k), random.bytes(VALUE), null);
              done++;
              break;
            } catch (err) {
              failed++;
              if (attempt >= 5) throw err;
            }
          }
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
  state.written = next;
  save();
  log(`filled to ${next.toLocaleString('en-US')} keys in ${fmt((performance.now() - t0) / 1000)} s (${fmt(done / ((performance.now() - t0) / 1000))} puts/s, ${failed} failed attempts)`);
}

async function sweep(c: GrowthCluster): Promise<void> {
  const d = await sdkDriver({ endpoints: c.endpoints, r: 2, w: 2 });
  try {
    for (const step of STEPS) {
      if (state.written < step) await fill(d, step);
      const { result: r, peakRssMb, peakAnonMb } = await peakDuring(c, runLoad({ driver: d, clock: new RealClock(), timers: new RealTimers(), random: new RealRandom(), mix: parseMix('put=50,get=50'), keys: state.written, dist: 'uniform', valueBytes: VALUE, concurrency: CONC, durationMs: DURATION_MS, warmupMs: 1_000 }));
      const mems = await Promise.all(c.ports.map((_, i) => c.memory(i)));
      const big = mems.reduce((a, b) => (b.rssMb > a.rssMb ? b : a));
      const p: GrowthPoint = {
        keys: state.written,
        opsPerSec: r.opsPerSec,
        putP99Ms: (r.ops.put?.latencyUs.p99 ?? NaN) / 1000,
        getP99Ms: (r.ops.get?.latencyUs.p99 ?? NaN) / 1000,
        errors: r.totalErrors,
        rssMb: big.rssMb,
        anonMb: big.anonMb,
        fileMb: big.fileMb,
        heapUsedMb: big.heapUsedMb,
        rssAllMb: mems.map((m) => m.rssMb),
        peakRssMb: Math.max(...peakRssMb),
        peakAnonMb: Math.max(...peakAnonMb),
      };
      results.points = [...results.points.filter((q) => q.keys !== p.keys), p].sort((a, b) => a.keys - b.keys);
      save();
      log(`${p.keys.toLocaleString('en-US')} keys: ${fmt(p.opsPerSec)} ops/s, p99 put ${fmt(p.putP99Ms)} get ${fmt(p.getP99Ms)} ms, errors ${p.errors}; peak RSS ${fmt(p.peakRssMb ?? NaN)} MB (anon ${fmt(p.peakAnonMb ?? NaN)}); after: RSS ${mems.map((m) => fmt(m.rssMb)).join(' / ')} MB (largest: anon ${fmt(big.anonMb)}, file ${fmt(big.fileMb)}, V8 heap ${fmt(big.heapUsedMb)})`);
    }
  } finally {
    await d.close();
  }
}

/**
 * Load held at the largest step for `--hold` seconds: the sweep's steps are 10 s, and a
 * node's memory keeps growing for about 40 s of load at a million keys (2026-11-28), so
 * the memory target is read from the peak of this longer run too.
 */
async function hold(c: GrowthCluster): Promise<void> {
  const d = await sdkDriver({ endpoints: c.endpoints, r: 2, w: 2 });
  try {
    log(`holding put=50,get=50 at ${CONC} in flight over ${state.written.toLocaleString('en-US')} keys for ${HOLD_S} s`);
    const { result: r, peakRssMb, peakAnonMb } = await peakDuring(c, runLoad({ driver: d, clock: new RealClock(), timers: new RealTimers(), random: new RealRandom(), mix: parseMix('put=50,get=50'), keys: state.written, dist: 'uniform', valueBytes: VALUE, concurrency: CONC, durationMs: HOLD_S * 1000 }));
    results.hold = { keys: state.written, seconds: HOLD_S, opsPerSec: r.opsPerSec, errors: r.totalErrors, peakRssMb, peakAnonMb };
    save();
    log(`held ${HOLD_S} s: ${fmt(r.opsPerSec)} ops/s, errors ${r.totalErrors}; peak RSS per node ${peakRssMb.map(fmt).join(' / ')} MB (anon ${peakAnonMb.map(fmt).join(' / ')})`);
  } finally {
    await d.close();
  }
}

/** Removes `count` random keys of 0..written-1 from node i's stopped store, with the store's own code. */
async function removeKeys(dir: string, count: number): Promise<string[]> {
  const random = new RealRandom();
  const picked = new Set<number>();
  while (picked.size < Math.min(count, state.written)) picked.add(Math.floor(random.float() * state.written));
  const keys = [...picked].map(keyName);
  const store = new ObjectStore(new LevelEngine({ engine: 'classic-level', location: dir }));
  await store.open();
  try {
    // Through the store's own code, so the state the node saved at its clean stop (its
    // anti-entropy trees among it) was taken and dropped by this open: it describes the
    // store as it was. The node rebuilds its trees at its next start.
    await Promise.all(keys.map((k) => store.remove(partitionOf(k, Q), k)));
  } finally {
    await store.close();
  }
  return keys;
}

/** Node i's local copy's causal context of each key (GET /v1/local), '' when absent. */
async function localContexts(c: GrowthCluster, i: number, keys: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const k = keys[next++]!;
        const res = await fetch(`${c.url(i)}/v1/local/${encodeURIComponent(k)}`);
        out.set(k, res.status === 200 ? ((await res.json()) as { context: string }).context : '');
      }
    }),
  );
  return out;
}

/**
 * The exchange on its own, trees already built everywhere: node 2 stopped cleanly (its
 * trees saved), `--differ` keys overwritten through the SDK at W=2 while it is down, then
 * nodes 0 and 1 stopped cleanly and every hint they hold for node 2 deleted from their
 * stopped stores (hints are not objects, so their saved trees stay exact): the writes
 * node 2 missed can now reach it only through anti-entropy. All three start again and
 * restore their trees; the time counts from node 2's trees being ready until node 2's
 * copy of every overwritten key has node 0's causal context.
 */
async function missedWrites(c: GrowthCluster): Promise<void> {
  const victim = 2;
  for (let i = 0; i < c.ports.length; i++) await c.treesReady(i, REPAIR_MS_MAX);
  await c.stop(victim);
  const random = new RealRandom();
  const picked = new Set<number>();
  while (picked.size < Math.min(DIFFER, state.written)) picked.add(random.int(state.written));
  const keys = [...picked].map(keyName);
  const d = await sdkDriver({ endpoints: c.endpoints.slice(0, 2), r: 2, w: 2 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        // Right after the restarts and the stop above, a node may not yet count a peer as
        // reachable again, and a write that cannot reach W answers UNAVAILABLE: retry it,
        // as a client would (a retried blind write only adds a sibling of the same value).
        for (let attempt = 1; ; attempt++) {
          try {
            await d.put(key, random.bytes(VALUE), null);
            break;
          } catch (err) {
            if (attempt >= 50 || !(isShoalError(err) && (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT'))) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }
    }),
  );
  await d.close();
  const want = await localContexts(c, 0, keys);
  await c.stop(0);
  await c.stop(1);
  const target = c.endpoints[victim]!;
  let hintsDeleted = 0;
  for (const i of [0, 1]) {
    const store = new ObjectStore(new LevelEngine({ engine: 'classic-level', location: c.dataDir(i) }));
    await store.open();
    try {
      for (;;) {
        const hints = await store.hints(target, 1000);
        if (hints.length === 0) break;
        await Promise.all(hints.map((h) => store.deleteHint(target, h.id)));
        hintsDeleted += hints.length;
      }
    } finally {
      await store.close();
    }
  }
  log(`missed writes: ${keys.length} keys overwritten while node ${victim} was down, ${hintsDeleted} hints for it deleted; starting the cluster`);
  await c.start(0);
  await c.start(1);
  // Every process is new, so their repair counters count from 0. They are not read when
  // the victim's trees are ready: its peers may have repaired keys before that poll saw
  // them ready (a start that reads its key filter back is quick), and counting from then
  // on would wait for repairs that were already made.
  const repairedBefore = c.ports.map(() => 0);
  const t0 = performance.now();
  await c.start(victim);
  await c.treesReady(victim, REPAIR_MS_MAX);
  const tReady = performance.now();
  const cpuAtReady = c.ports.map((_, i) => c.cpu(i));
  // Reading every key on node 2 in a loop would load the node being measured; the nodes'
  // repair counters (one status request each) say when to look, then the keys are read.
  await waitFor(
    'repair counters',
    async () => (await Promise.all(c.ports.map(async (_, i) => (await c.ae(i)).keysRepaired - repairedBefore[i]!))).reduce((a, b) => a + b, 0) >= keys.length,
    REPAIR_MS_MAX,
  ).catch(() => undefined);
  let remaining = keys;
  while (remaining.length > 0 && performance.now() - tReady < REPAIR_MS_MAX) {
    const have = await localContexts(c, victim, remaining);
    remaining = remaining.filter((k) => have.get(k) !== want.get(k));
    if (remaining.length > 0) await new Promise((r) => setTimeout(r, 200));
  }
  const repairMs = performance.now() - tReady;
  const repairCpuS = c.ports.reduce((a, _, i) => a + c.cpu(i) - cpuAtReady[i]!, 0);
  const repairedBy = await Promise.all(c.ports.map(async (_, i) => (await c.ae(i)).keysRepaired));
  results.exchange = { keys: state.written, differing: keys.length, hintsDeleted, restoreMs: tReady - t0, repairMs, repairCpuS, left: remaining.length, repairedBy };
  // Kept across reruns on the same data (--no-sweep), so the section can quote a median;
  // only runs where the deleted hints were those of the overwritten keys: more hints mean
  // node 2 had missed other writes too, so more keys than `--differ` differed.
  if (hintsDeleted <= keys.length) results.exchangeRuns = [...(results.exchangeRuns ?? []), results.exchange];
  else log(`missed writes: ${hintsDeleted} hints deleted for ${keys.length} keys overwritten (node ${victim} had missed other writes): not counted among the runs`);
  save();
  log(`missed writes: node ${victim}'s trees restored ${fmt(tReady - t0)} ms after its start; all ${keys.length - remaining.length}/${keys.length} keys repaired ${fmt(repairMs)} ms later, ${fmt(repairCpuS)} CPU-s of the 3 nodes; keys repaired per node ${repairedBy.join(' / ')}`);
  if (remaining.length > 0) throw new Error(`${remaining.length} keys not repaired on node ${victim}`);
}

/** A clean restart of node 1 under no load: how long until it serves, and until its trees are ready. */
async function cleanRestart(c: GrowthCluster): Promise<void> {
  const i = 1;
  await c.stop(i);
  const t0 = performance.now();
  await c.start(i);
  const healthyMs = performance.now() - t0;
  await c.treesReady(i, REPAIR_MS_MAX);
  const treesMs = performance.now() - t0;
  const cpuS = c.cpu(i);
  results.restart = { keys: state.written, healthyMs, treesMs, cpuS };
  save();
  log(`clean restart of node ${i}: healthy after ${fmt(healthyMs)} ms, trees ready after ${fmt(treesMs)} ms, ${fmt(cpuS)} s of CPU`);
}

async function antiEntropy(c: GrowthCluster): Promise<void> {
  const victim = 2;
  for (let i = 0; i < c.ports.length; i++) await c.treesReady(i, REPAIR_MS_MAX);
  const before = await c.ae(0);
  log(`anti-entropy: node 0 holds ${before.keys.toLocaleString('en-US')} keys in its trees; stopping node ${victim}`);
  await c.stop(victim);
  const removed = await removeKeys(c.dataDir(victim), DIFFER);
  log(`removed ${removed.length} keys from node ${victim}'s store; starting it`);
  const t0 = performance.now();
  let peakRss = 0;
  let healthyMs = NaN;
  const started = c.start(victim).then(() => {
    healthyMs = performance.now() - t0;
  });
  const sample = async () => {
    const m = await c.memory(victim);
    if (Number.isFinite(m.rssMb)) peakRss = Math.max(peakRss, m.rssMb);
  };
  await started;
  let ae = await c.treesReady(victim, REPAIR_MS_MAX, sample);
  const tReady = performance.now();
  const rebuildCpuS = c.cpu(victim);
  const cpuAtReady = c.ports.map((_, i) => c.cpu(i));
  const rebuildMemory = await c.memory(victim);
  const keysAtReady = ae.keys;
  const target = (await c.ae(0)).keys;
  log(`node ${victim}: healthy after ${fmt(healthyMs)} ms, trees rebuilt after ${fmt(tReady - t0)} ms with ${ae.keys.toLocaleString('en-US')} keys (node 0: ${target.toLocaleString('en-US')}); RSS ${fmt(rebuildMemory.rssMb)} MB`);
  let last = ae.keys;
  await waitFor(
    `node ${victim} repaired`,
    async () => {
      await sample();
      ae = await c.ae(victim);
      if (ae.keys !== last) log(`  node ${victim}: ${ae.keys.toLocaleString('en-US')} keys after ${fmt(performance.now() - tReady)} ms`);
      last = ae.keys;
      return ae.keys >= target;
    },
    REPAIR_MS_MAX,
  );
  const tRepaired = performance.now();
  const repairCpuS = c.ports.reduce((a, _, i) => a + c.cpu(i) - cpuAtReady[i]!, 0);
  const repairedBy = await Promise.all(c.ports.map(async (_, i) => (await c.ae(i)).keysRepaired));
  // Every removed key must be back on node `victim` itself (not merely answered by a quorum).
  const victimId = c.endpoints[victim]!;
  let present = 0;
  for (const k of removed) {
    const e = (await (await fetch(`${c.url(victim)}/v1/explain/${encodeURIComponent(k)}`)).json()) as { replicas: Array<{ node: string; versions?: unknown[] }> };
    if ((e.replicas.find((r) => r.node === victimId)?.versions?.length ?? 0) > 0) present++;
  }
  const run: AeRun = {
    keys: target,
    differing: removed.length,
    healthyMs,
    rebuildMs: tReady - t0,
    keysAtReady,
    rebuildCpuS,
    repairMs: tRepaired - tReady,
    repairCpuS,
    presentAfter: present,
    repairedBy,
    peakRssMb: peakRss,
    rssAfterRebuildMb: rebuildMemory.rssMb,
    anonAfterRebuildMb: rebuildMemory.anonMb,
    fileAfterRebuildMb: rebuildMemory.fileMb,
  };
  results.ae = run;
  save();
  log(`repaired ${removed.length} keys in ${fmt(run.repairMs)} ms after the trees were ready, ${fmt(run.repairCpuS ?? NaN)} CPU-s of the 3 nodes meanwhile (${present}/${removed.length} present on node ${victim}; keys repaired per node ${repairedBy.join(' / ')}); peak RSS of node ${victim} ${fmt(peakRss)} MB`);
  if (present !== removed.length) throw new Error(`only ${present} of ${removed.length} removed keys are back on node ${victim}`);
}

/**
 * What holds a node's memory at the largest step, and what process-level knobs buy: node 2
 * restarted with each variant, its trees rebuilt, `--duration` s of load on the cluster,
 * then its memory. The knobs are not Shoal code: MALLOC_ARENA_MAX bounds glibc's per-thread
 * malloc arenas (LevelDB's compaction thread and libuv's pool each get one, and freed
 * memory stays in them), --max-semi-space-size bounds V8's young generation.
 */
async function memoryVariants(c: GrowthCluster): Promise<void> {
  const variants: Array<{ name: string; env?: Record<string, string>; nodeArgs?: string[] }> = [
    { name: 'as shipped' },
    { name: 'MALLOC_ARENA_MAX=2', env: { MALLOC_ARENA_MAX: '2' } },
    { name: '--max-semi-space-size=4', nodeArgs: ['--max-semi-space-size=4'] },
    { name: 'both', env: { MALLOC_ARENA_MAX: '2' }, nodeArgs: ['--max-semi-space-size=4'] },
  ];
  const victim = 2;
  const d = await sdkDriver({ endpoints: c.endpoints, r: 2, w: 2 });
  results.memory = [];
  try {
    for (const v of variants) {
      await c.stop(victim);
      await c.start(victim, { ...(v.env === undefined ? {} : { env: v.env }), ...(v.nodeArgs === undefined ? {} : { nodeArgs: v.nodeArgs }) });
      await c.treesReady(victim, REPAIR_MS_MAX);
      const idle = await c.memory(victim);
      const { result: r, peakRssMb, peakAnonMb } = await peakDuring(c, runLoad({ driver: d, clock: new RealClock(), timers: new RealTimers(), random: new RealRandom(), mix: parseMix('put=50,get=50'), keys: state.written, dist: 'uniform', valueBytes: VALUE, concurrency: CONC, durationMs: DURATION_MS, warmupMs: 1_000 }));
      const loaded = await c.memory(victim);
      results.memory.push({ variant: v.name, keys: state.written, idle, loaded, opsPerSec: r.opsPerSec, peakRssMb: peakRssMb[victim]!, peakAnonMb: peakAnonMb[victim]! });
      save();
      log(`memory, ${v.name}: after rebuild RSS ${fmt(idle.rssMb)} MB (anon ${fmt(idle.anonMb)}, file ${fmt(idle.fileMb)}, V8 heap ${fmt(idle.heapUsedMb)} used / ${fmt(idle.heapTotalMb)} committed, external ${fmt(idle.externalMb)}); after ${DURATION_MS / 1000} s of load RSS ${fmt(loaded.rssMb)} MB (anon ${fmt(loaded.anonMb)}, file ${fmt(loaded.fileMb)}, V8 heap ${fmt(loaded.heapUsedMb)} / ${fmt(loaded.heapTotalMb)}, external ${fmt(loaded.externalMb)}), peak during load RSS ${fmt(peakRssMb[victim]!)} (anon ${fmt(peakAnonMb[victim]!)}), ${fmt(r.opsPerSec)} ops/s`);
    }
  } finally {
    await d.close();
  }
  // Leave node 2 as shipped for the phases after this one.
  await c.stop(victim);
  await c.start(victim);
  await c.treesReady(victim, REPAIR_MS_MAX);
}

const c = await GrowthCluster.at(DATA, ENTRY);
if (f['doc-only'] !== true) try {
  log(`cluster in ${DATA} (${state.written.toLocaleString('en-US')} keys written before); starting`);
  await c.startAll();
  if (f['no-sweep'] !== true) {
    await sweep(c);
    if (HOLD_S > 0) await hold(c);
  } else if (state.written < STEPS[STEPS.length - 1]!) {
    const d = await sdkDriver({ endpoints: c.endpoints, r: 2, w: 2 });
    await fill(d, STEPS[STEPS.length - 1]!);
    await d.close();
  }
  if (f.memory === true) await memoryVariants(c);
  if (f['no-ae'] !== true) await cleanRestart(c);
  if (f['no-ae'] !== true) await missedWrites(c);
  if (f['no-ae'] !== true) await antiEntropy(c);
} finally {
  await c.stopAll();
  await stopAll();
}
results.machine = machine();
results.date = today();
save();
if (write) {
  writeFileSync(join(ROOT, 'docs', 'growth.svg'), svg(results.points));
  const notesFile = join(ROOT, 'bench', 'growth-notes.md');
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : undefined;
  writeSection('growth', 'Growth', growthDoc(results, { valueBytes: VALUE, durationMs: DURATION_MS, concurrency: CONC, fillConcurrency: FILL_CONC, ...(notes === undefined ? {} : { notes }) }), ['## Simulator']);
  log('wrote docs/growth.svg and the Growth section of docs/performance.md');
}
if (smoke) rmSync(DATA, { recursive: true, force: true });
