/**
 * `npm run bench:compare`: Shoal beside etcd on this machine, in one run, alternating.
 *
 * Every round runs each system in turn with the same workload and the same closed-loop
 * generator (src/bench): puts, then gets, at `--concurrency` in flight, then the same
 * at 1 in flight for latency. Systems:
 *
 * - Shoal, 3 nodes (`bin/shoal start`, N=3, R=W=2), driven through the SDK, default
 *   durability (acknowledged when W replicas handed the write to their engine);
 * - a cluster of its own with `--sync` (fsync with group commit before a replica acks; its own
 *   data and preload: with `--sync` objects are written inside LevelDB, not to the value
 *   log, so a `--sync` measure on the default cluster's data rewrote most of its objects
 *   into the other layout, and the default cluster's next rounds measured that mixture);
 * - with `--rocksdb`, a cluster of its own on `--engine rocksdb` (default durability, its
 *   own data and preload), so the two engines are compared in the same run;
 * - etcd, 3 members (Debian's etcd-server, installed if missing), driven through its
 *   v3 JSON gateway by a keep-alive HTTP client at the same concurrency; etcd fsyncs its
 *   WAL before every commit, and its gets are serializable;
 * - the ceilings: raw classic-level puts/gets in this process, and a bare ws
 *   request/response pair with CBOR against a server process.
 *
 * Only one system runs at a time (the others are stopped), so idle background work of
 * one does not tax another. Keys are preloaded once per system, bounded by
 * `--preload` seconds; gets report how many found their key.
 *
 * Flags: --rounds 3 --duration 20 --keys 100000 --concurrency 64 --value-bytes 1024
 * --warmup 2 --preload 120 (seconds) --no-etcd --no-sync --rocksdb --no-ceilings --no-profile
 * --no-write --growth (also runs `npm run bench:growth`'s bench/growth.ts with --growth-steps,
 * default 10000,100000,1000000, in a fresh data directory).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClassicLevel } from 'classic-level';
import { Encoder } from 'cbor-x';
import WebSocket from 'ws';
import { Histogram, etcdDriver, keyName, parseMix, runLoad, sdkDriver, type BenchDriver, type LoadResult } from '../src/bench/index.js';
import { RealClock, RealRandom, RealTimers } from '../src/env/index.js';
import { benchContextCacheEntriesMax } from '../src/config/index.js';
import { ROOT, fmt, machine, median, table, today, writeSection } from './lib/doc.js';
import { ensureEtcd, freePort, launch, rssBytes, startEtcd, startShoal, stop, stopAll, waitFor, type ShoalCluster } from './lib/procs.js';
import { growth } from './lib/growth.js';
import { flameSvg, summariseProfile, type CpuProfile } from './lib/profile.js';

const { values: f } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '20' },
    keys: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '64' },
    'value-bytes': { type: 'string', default: '1024' },
    warmup: { type: 'string', default: '2' },
    preload: { type: 'string', default: '120' },
    'no-etcd': { type: 'boolean' },
    'no-sync': { type: 'boolean' },
    rocksdb: { type: 'boolean' },
    'no-ceilings': { type: 'boolean' },
    'no-profile': { type: 'boolean' },
    'no-write': { type: 'boolean' },
    growth: { type: 'boolean' },
    'growth-steps': { type: 'string', default: '10000,100000,1000000' },
  },
});
const ROUNDS = Math.max(1, Math.min(10, Number(f.rounds)));
const DURATION_MS = Math.max(1, Math.min(600, Number(f.duration))) * 1000;
const KEYS = Math.max(1, Math.min(10_000_000, Number(f.keys)));
const CONC = Math.max(1, Math.min(1000, Number(f.concurrency)));
const VALUE = Math.max(1, Math.min(1 << 20, Number(f['value-bytes'])));
const WARMUP_MS = Math.max(0, Math.min(60, Number(f.warmup))) * 1000;
const PRELOAD_MS = Math.max(0, Math.min(3600, Number(f.preload))) * 1000;
const SHOAL = join(ROOT, 'bin', 'shoal');
const env = () => ({ clock: new RealClock(), timers: new RealTimers(), random: new RealRandom() });
const work = mkdtempSync(join(tmpdir(), 'shoal-compare-'));

/** Writes keys 0..KEYS-1 once, CONC at a time, until done or the time bound. */
/**
 * Each system's causal contexts per key, kept for the whole run (preload and rounds):
 * every measure then writes as the one
 * writer per key that remembers what it wrote, so a key's put supersedes its previous
 * value instead of adding a sibling at the start of every measure (which made Shoal's
 * objects, and its put and get times, grow from round to round). etcd has no contexts.
 */
const contextsOf = new Map<string, Map<string, string>>();
const contextsFor = (system: string): Map<string, string> => {
  // Every cluster has data of its own.
  let m = contextsOf.get(system);
  if (m === undefined) contextsOf.set(system, (m = new Map()));
  return m;
};

async function preload(driver: BenchDriver, keys: number, valueBytes: number, boundMs: number, contexts?: Map<string, string>): Promise<number> {
  const value = new RealRandom().bytes(valueBytes);
  let next = 0;
  let done = 0;
  const deadline = performance.now() + boundMs;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next < keys && performance.now() < deadline) {
        const k = next++;
        try {
          const key = keyName(k);
          const r = await driver.put(key, value, contexts?.get(key) ?? null);
          if (contexts !== undefined && r.context !== null && (contexts.has(key) || contexts.size < benchContextCacheEntriesMax)) contexts.set(key, r.context);
          done++;
        } catch {
          /* counted by absence */
        }
      }
    }),
  );
  return done;
}

interface Sample {
  system: string;
  op: 'put' | 'get';
  inFlight: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  found: number;
  hist: Histogram;
}
const samples: Sample[] = [];

async function measure(system: string, driver: BenchDriver, op: 'put' | 'get', inFlight: number, durationMs: number): Promise<void> {
  const r: LoadResult = await runLoad({ driver, ...env(), mix: parseMix(`${op}=1`), keys: KEYS, dist: 'uniform', valueBytes: VALUE, concurrency: inFlight, durationMs, warmupMs: WARMUP_MS, contexts: contextsFor(system) });
  const o = r.ops[op];
  const s: Sample = {
    system,
    op,
    inFlight,
    opsPerSec: (o?.ok ?? 0) / (r.elapsedMs / 1000),
    p50Us: o?.latencyUs.p50 ?? NaN,
    p99Us: o?.latencyUs.p99 ?? NaN,
    errors: r.totalErrors,
    found: o === undefined || o.ok === 0 ? NaN : (o.ok - o.notFound) / o.ok,
    hist: r.histograms[op] ?? new Histogram(),
  };
  samples.push(s);
  console.error(`  ${system.padEnd(22)} ${op} x${String(inFlight).padEnd(3)} ${fmt(s.opsPerSec).padStart(8)} ops/s  p50 ${fmt(s.p50Us / 1000)} ms  p99 ${fmt(s.p99Us / 1000)} ms  errors ${s.errors}${op === 'get' ? `  found ${(s.found * 100).toFixed(0)}%` : ''}${Object.keys(r.errors).length ? ` ${JSON.stringify(r.errors)}` : ''}`);
}

async function workload(system: string, driver: BenchDriver): Promise<void> {
  await measure(system, driver, 'put', CONC, DURATION_MS);
  await measure(system, driver, 'get', CONC, DURATION_MS);
  await measure(system, driver, 'put', 1, Math.max(1000, DURATION_MS / 4));
  await measure(system, driver, 'get', 1, Math.max(1000, DURATION_MS / 4));
}

// ----------------------------------------------------------------- ceilings

function levelDriver(db: ClassicLevel<string, Uint8Array>): BenchDriver {
  return {
    name: 'classic-level',
    async get(key) {
      const v = await db.get(key);
      return { found: v !== undefined, context: null };
    },
    async put(key, value) {
      await db.put(key, value);
      return { context: null };
    },
    async delete(key) {
      await db.del(key);
    },
    close: () => db.close(),
  };
}

async function wsDriver(port: number): Promise<BenchDriver> {
  const enc = new Encoder({ useRecords: false });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const pending = new Map<number, (m: { v?: Uint8Array }) => void>();
  let id = 0;
  ws.on('message', (data: Buffer) => {
    const m = enc.decode(data) as { id: number; v?: Uint8Array };
    const done = pending.get(m.id);
    pending.delete(m.id);
    done?.(m);
  });
  const call = (body: Record<string, unknown>) =>
    new Promise<{ v?: Uint8Array }>((resolve) => {
      const i = (id = (id + 1) >>> 0);
      pending.set(i, resolve);
      ws.send(enc.encode({ id: i, ...body }));
    });
  return {
    name: 'ws+cbor',
    async get(key) {
      const m = await call({ k: key });
      return { found: m.v !== undefined, context: null };
    },
    async put(key, value) {
      await call({ k: key, v: value });
      return { context: null };
    },
    async delete() {},
    close: async () => ws.close(),
  };
}

async function ceilings(): Promise<void> {
  const dir = join(work, `level-${samples.length}`);
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' });
  await db.open();
  const d = levelDriver(db);
  await preload(d, KEYS, VALUE, PRELOAD_MS);
  await measure('raw classic-level', d, 'put', CONC, DURATION_MS);
  await measure('raw classic-level', d, 'get', CONC, DURATION_MS);
  await d.close();
  rmSync(dir, { recursive: true, force: true });

  const port = await freePort();
  const server = launch(process.execPath, [join(import.meta.dirname, 'lib', 'ws-server.js'), String(port), String(VALUE)], join(work, 'ws-server.log'));
  try {
    await waitFor('ws server', async () => {
      const w = await wsDriver(port);
      await w.close();
      return true;
    });
    const w = await wsDriver(port);
    await measure('bare ws + CBOR', w, 'put', CONC, DURATION_MS);
    await measure('bare ws + CBOR', w, 'get', CONC, DURATION_MS);
    await w.close();
  } finally {
    await stop(server);
  }
}

// ----------------------------------------------------------------- main

async function main(): Promise<void> {
  console.error(`bench:compare on ${machine()}`);
  console.error(`${ROUNDS} rounds, ${DURATION_MS / 1000} s per measure, ${KEYS} keys, ${VALUE}-byte values, ${CONC} in flight; work dir ${work}`);
  const shoalPorts = [await freePort(), await freePort(), await freePort()];
  const shoalRoot = join(work, 'shoal');
  const etcdBin = f['no-etcd'] === true ? null : ensureEtcd();
  if (f['no-etcd'] !== true && etcdBin === null) console.error('etcd is not available; the comparison runs without it');
  const etcdPorts = { clientPorts: [await freePort(), await freePort(), await freePort()], peerPorts: [await freePort(), await freePort(), await freePort()] };
  const etcdRoot = join(work, 'etcd');
  const preloaded = new Set<string>();
  const shoals: Array<{ system: string; root: string; sync: boolean; extra: string[] }> = [{ system: 'Shoal', root: shoalRoot, sync: false, extra: [] }];
  if (f['no-sync'] !== true) shoals.push({ system: 'Shoal --sync', root: join(work, 'shoal-sync'), sync: true, extra: [] });
  if (f.rocksdb === true) shoals.push({ system: 'Shoal rocksdb', root: join(work, 'shoal-rocksdb'), sync: false, extra: ['--engine', 'rocksdb'] });

  for (let round = 1; round <= ROUNDS; round++) {
    console.error(`round ${round}/${ROUNDS}`);
    for (const { system, root, sync, extra } of shoals) {
      const c: ShoalCluster = await startShoal({ root, shoal: SHOAL, ports: shoalPorts, sync, extra });
      try {
        const d = await sdkDriver({ endpoints: c.endpoints, r: 2, w: 2 });
        if (!preloaded.has(root)) {
          const t0 = performance.now();
          const n = await preload(d, KEYS, VALUE, PRELOAD_MS, contextsFor(system));
          console.error(`  preloaded ${n} of ${KEYS} keys into ${system} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          preloaded.add(root);
        }
        await workload(system, d);
        await d.close();
      } finally {
        await c.stop();
      }
    }
    if (etcdBin !== null) {
      const c = await startEtcd({ root: etcdRoot, etcd: etcdBin, ...etcdPorts });
      try {
        const d = etcdDriver({ endpoints: c.endpoints, concurrency: CONC });
        if (!preloaded.has(etcdRoot)) {
          const t0 = performance.now();
          const n = await preload(d, KEYS, VALUE, PRELOAD_MS);
          console.error(`  preloaded ${n} of ${KEYS} keys into etcd in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          preloaded.add(etcdRoot);
        }
        await workload('etcd', d);
        await d.close();
      } finally {
        await c.stop();
      }
    }
    if (f['no-ceilings'] !== true) await ceilings();
  }

  let profile = '';
  let flame = false;
  if (f['no-profile'] !== true) {
    console.error('profiling one Shoal node under the put/get load');
    const profDir = join(work, 'prof');
    const c = await startShoal({ root: shoalRoot, shoal: SHOAL, ports: shoalPorts, sync: false, nodeArgs: (i) => (i === 0 ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []) });
    try {
      const d = await sdkDriver({ endpoints: c.endpoints, r: 2, w: 2 });
      await runLoad({ driver: d, ...env(), mix: parseMix('put=50,get=50'), keys: KEYS, dist: 'uniform', valueBytes: VALUE, concurrency: CONC, durationMs: Math.min(DURATION_MS, 15_000), contexts: contextsFor('Shoal') });
      await d.close();
    } finally {
      await c.stop();
    }
    const files = readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'));
    const cpu = files.length === 0 ? undefined : (JSON.parse(readFileSync(join(profDir, files[0]!), 'utf8')) as CpuProfile);
    profile = cpu === undefined ? 'No profile was written (the node did not exit cleanly).' : summariseProfile(cpu, 20);
    console.error(profile);
    if (cpu !== undefined && f['no-write'] !== true) {
      writeFileSync(join(ROOT, 'docs', 'flame.svg'), flameSvg(cpu, `Shoal node 1, put=50,get=50 at ${CONC} in flight, ${KEYS} keys of ${VALUE} bytes (${today()})`));
      flame = true;
    }
  }

  // The growth benchmark (bench/growth.ts) writes its own chart and section.
  if (f.growth === true) growth({ work, steps: f['growth-steps']!.split(',').map(Number), durationMs: Math.min(DURATION_MS, 10_000), concurrency: CONC, write: f['no-write'] !== true });

  // ------------------------------------------------------------- report
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.system}|${s.op}|${s.inFlight}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const med = (system: string, op: string, inFlight: number) => {
    const g = groups.get(`${system}|${op}|${inFlight}`);
    if (g === undefined) return undefined;
    return { ops: median(g.map((s) => s.opsPerSec)), p50: median(g.map((s) => s.p50Us)) / 1000, p99: median(g.map((s) => s.p99Us)) / 1000, errors: g.reduce((a, s) => a + s.errors, 0), found: median(g.map((s) => s.found)), runs: g.map((s) => s.opsPerSec) };
  };
  const rows: Array<Array<string | number>> = [];
  for (const k of groups.keys()) {
    const [system, op, inFlight] = k.split('|') as [string, 'put' | 'get', string];
    const m = med(system, op, Number(inFlight))!;
    const e = med('etcd', op, Number(inFlight));
    rows.push([
      system,
      op,
      inFlight,
      fmt(m.ops),
      fmt(m.p50),
      fmt(m.p99),
      e === undefined || system === 'etcd' ? '' : `${fmt(m.ops / e.ops)}x`,
      e === undefined || system === 'etcd' ? '' : fmt(m.p99 / e.p99),
      String(m.errors),
      op === 'get' ? `${Math.round(m.found * 100)}%` : '',
      m.runs.map((x) => fmt(x)).join(' / '),
    ]);
  }
  const tbl = table(['system', 'op', 'in flight', 'ops/s (median)', 'p50 ms', 'p99 ms', 'ops/s vs etcd', 'p99 / etcd p99', 'errors', 'gets found', 'ops/s per round'], rows);
  console.log(tbl);

  if (f['no-write'] !== true) {
    const sp = med('Shoal', 'put', CONC);
    const sg = med('Shoal', 'get', CONC);
    const ss = med('Shoal --sync', 'put', CONC);
    const ep = med('etcd', 'put', CONC);
    const eg = med('etcd', 'get', CONC);
    const verdict = (met: boolean): string => (met ? ' — met' : ' — not met');
    const target = (name: string, got: number | undefined, want: number) => `- ${name}: ${got === undefined || !Number.isFinite(got) ? 'not measured' : `${fmt(got)}x`} (target ${want}x)${verdict(got !== undefined && got >= want)}`;
    // NaN when not measured, which meets nothing.
    const p50put = med('Shoal', 'put', 1)?.p50 ?? NaN;
    const p50get = med('Shoal', 'get', 1)?.p50 ?? NaN;
    const targets = ep === undefined ? 'etcd was not measured in this run.' : [
      target('Shoal puts (W=2) vs etcd puts', sp && sp.ops / ep.ops, 4),
      `- Shoal put p99 vs etcd put p99: ${sp ? fmt(sp.p99 / ep.p99) : 'n/a'} (target at most 0.5)${verdict(sp !== undefined && sp.p99 / ep.p99 <= 0.5)}`,
      target('Shoal gets (R=2) vs etcd serializable gets', sg && eg && sg.ops / eg.ops, 4),
      target('Shoal --sync puts vs etcd puts', ss && ss.ops / ep.ops, 3),
      `- 1 in flight, Shoal p50: put ${fmt(p50put)} ms, get ${fmt(p50get)} ms (target under 0.3 ms)${verdict(p50put < 0.3 && p50get < 0.3)}`,
    ].join('\n');
    writeSection(
      'compare',
      'Comparison with etcd',
      `Measured ${today()} on ${machine()}.\n` +
        `Rerun: \`npm run bench:compare\` (quick: \`npm run bench:compare -- --rounds 1 --duration 5 --keys 10000\`).\n\n` +
        `Workload: ${VALUE}-byte values, ${KEYS.toLocaleString('en-US')} keys (uniform), ${CONC} requests in flight (and 1 in flight for latency), ` +
        `${DURATION_MS / 1000} s per measure after ${WARMUP_MS / 1000} s of warm-up, ${ROUNDS} rounds alternating between the systems; medians over rounds. ` +
        `One closed-loop generator (src/bench) in one Node process drives every system, and runs on the same 2 cores as the servers ("load generator included"). ` +
        `Shoal: 3 \`bin/shoal start\` processes, N=3, R=W=2, through the SDK (CBOR over WebSocket, writes routed to an owner, gets read directly from R owners: one object and R-1 digests, with a coordinated read when they differ); ` +
        `default durability = acknowledged when W replicas handed the write to their storage engine; \`--sync\` = fsync with group commit before a replica acknowledges (a cluster of its own, with its own data and preload). ` +
        (f.rocksdb === true ? `"Shoal rocksdb" = a cluster of its own on \`--engine rocksdb\` (default durability, its own data and preload); the others run on classic-level, the default. ` : '') +
        `etcd ${etcdVersion(etcdBin)}: 3 members on loopback, through its v3 JSON gateway (\`/v3/kv/put\`, serializable \`/v3/kv/range\`) with a keep-alive HTTP client at the same concurrency; **etcd fsyncs its WAL on every write**, so its puts compare with Shoal's \`--sync\` puts on durability and with the default on the contract each offers. ` +
        `Ceilings: raw classic-level \`put\`/\`get\` in the generator's process at the same concurrency, and a bare ws request/response pair with CBOR against a server process doing no work. ` +
        `Keys were preloaded once per system (bounded to ${PRELOAD_MS / 1000} s); "gets found" is the share of gets that found their key.\n\n` +
        tbl +
        `\n\nTargets of issue 7, from the medians above:\n\n${targets}\n`,
    );
    if (profile !== '') {
      writeSection(
        'profile',
        'Where the CPU goes',
        `Measured ${today()} on ${machine()}: node 1 of the 3-node cluster ran under \`node --cpu-prof\` while the generator drove put=50,get=50 at ${CONC} in flight (${Math.min(DURATION_MS, 15_000) / 1000} s). ` +
          `Top functions by self time (time spent in the function itself, not its callees), from the .cpuprofile the run wrote (rerun with \`npm run bench:compare\`, or \`--rounds 1 --duration 5 --no-etcd --no-ceilings\` for the profile alone):\n\n${profile}` +
          (flame ? '\n\nThe same profile as a flame graph (hover a frame for its time; `npm run bench:flame -- FILE.cpuprofile OUT.svg` draws any other):\n\n![Flame graph of one node](flame.svg)' : ''),
      );
    }
    console.error('wrote docs/performance.md');
  }
}

function etcdVersion(bin: string | null): string {
  if (bin === null) return '(not run)';
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return /etcd Version: (\S+)/.exec(out.stdout ?? '')?.[1] ?? '(unknown version)';
}

try {
  await main();
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}
