/**
 * The growth benchmark's results, chart and text (the runs are bench/growth.ts;
 * `npm run bench:compare -- --growth` runs its sweep too). One 3-node cluster filled
 * step by step (10,000 → 1,000,000 keys of 100 bytes by default); after each step a
 * put=50,get=50 run over the keys written so far, and each node's resident memory.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fmt, machine, median, table, today } from './doc.js';
import type { MemoryOf } from './growth-cluster.js';

export interface GrowthPoint {
  keys: number;
  opsPerSec: number;
  putP99Ms: number;
  getP99Ms: number;
  errors: number;
  /** The largest node's VmRSS, and its anonymous / file-backed parts and V8 heap in use. */
  rssMb: number;
  anonMb: number;
  fileMb: number;
  heapUsedMb: number;
  rssAllMb: number[];
  /** Highest VmRSS / RssAnon of any node sampled every 500 ms during the load run. */
  peakRssMb?: number;
  peakAnonMb?: number;
}

export interface AeRun {
  keys: number;
  differing: number;
  healthyMs: number;
  rebuildMs: number;
  /** Keys in node 2's trees when the last one was ready (repairs start per partition). */
  keysAtReady?: number;
  /** CPU seconds node 2 had used when its trees were ready (start, store open, rebuild). */
  rebuildCpuS?: number;
  repairMs: number;
  /** CPU seconds the 3 node processes used together during the repair. */
  repairCpuS?: number;
  presentAfter: number;
  repairedBy: number[];
  peakRssMb: number;
  rssAfterRebuildMb: number;
  anonAfterRebuildMb: number;
  fileAfterRebuildMb: number;
}

export interface MemoryVariant {
  variant: string;
  keys: number;
  idle: MemoryOf;
  loaded: MemoryOf;
  opsPerSec: number;
  peakRssMb?: number;
  peakAnonMb?: number;
}

export interface RestartRun {
  keys: number;
  healthyMs: number;
  treesMs: number;
  cpuS: number;
}

export interface ExchangeRun {
  keys: number;
  differing: number;
  hintsDeleted: number;
  restoreMs: number;
  repairMs: number;
  repairCpuS: number;
  left: number;
  repairedBy: number[];
}

export interface GrowthResults {
  points: GrowthPoint[];
  exchange?: ExchangeRun;
  /** Every exchange measured on this data, oldest first (the section quotes their median). */
  exchangeRuns?: ExchangeRun[];
  restart?: RestartRun;
  /** Load held at the largest step after the sweep (`--hold`). */
  hold?: HoldRun;
  memory?: MemoryVariant[];
  ae?: AeRun;
  machine?: string;
  date?: string;
}

export interface HoldRun {
  keys: number;
  seconds: number;
  opsPerSec: number;
  errors: number;
  /** Peak VmRSS and RssAnon of each node during the hold, MB. */
  peakRssMb: number[];
  peakAnonMb: number[];
}

/** The issue's memory target for a node holding 1,000,000 keys of 100 bytes. */
const RSS_TARGET_MB = 300;
/** The issue's target for repairing 1,000 differing keys among 1,000,000. */
const REPAIR_TARGET_MS = 10_000;

const RERUN = '`npm run bench:growth` (a quick run: `npm run bench:growth -- --steps 10000,100000 --differ 100 --data .tmp/growth-small`)';

/**
 * The Growth section of docs/performance.md. `notes` (bench/growth-notes.md) is the
 * hand-written reading of the figures, kept in its own file so a rerun keeps it.
 */
export function growthDoc(r: GrowthResults, o: { valueBytes: number; durationMs: number; concurrency: number; fillConcurrency: number; notes?: string }): string {
  const out: string[] = [];
  out.push(`Measured ${r.date ?? today()} on ${r.machine ?? machine()} (absolute figures move with whatever else runs on the machine; the trend across steps is the reading). Rerun: ${RERUN}.`);
  out.push('');
  out.push(
    `One cluster of 3 \`bin/shoal start\` processes (N=3, R=W=2, 64 partitions, classic-level): at N=3 on 3 nodes every node holds every key. It is filled step by step through the SDK with ${o.valueBytes}-byte values (${o.fillConcurrency} puts in flight); after each step, ${o.durationMs / 1000} s of put=50,get=50 at ${o.concurrency} in flight over every key written so far (uniform), then each node's memory from \`/proc/PID/status\` (VmRSS = RssAnon, the process's own memory, + RssFile, pages of mapped files: LevelDB maps its table files) and the V8 heap in use from \`/metrics\`. Memory columns are the node with the largest VmRSS.`,
  );
  out.push('');
  if (r.points.length > 0) {
    out.push(
      table(
        ['keys', 'ops/s', 'put p99 ms', 'get p99 ms', 'errors', 'peak VmRSS MB during load (any node)', 'VmRSS MB after (3 nodes)', 'RssAnon MB', 'RssFile MB', 'V8 heap used MB'],
        r.points.map((p) => [p.keys.toLocaleString('en-US'), fmt(p.opsPerSec), fmt(p.putP99Ms), fmt(p.getP99Ms), p.errors, fmt(p.peakRssMb ?? NaN), p.rssAllMb.map(fmt).join(' / '), fmt(p.anonMb), fmt(p.fileMb), fmt(p.heapUsedMb)]),
      ),
    );
    out.push('');
    out.push('![Throughput, p99 latency and resident memory against the number of keys](growth.svg)');
    out.push('');
    const last = r.points[r.points.length - 1]!;
    if (last.keys >= 1_000_000) {
      const step = Math.max(last.rssMb, last.peakRssMb ?? 0);
      const held = r.hold !== undefined && r.hold.keys === last.keys ? r.hold : undefined;
      const heldPeak = held === undefined ? 0 : Math.max(...held.peakRssMb);
      const worst = Math.max(step, heldPeak);
      const during = held === undefined ? '' : `, and ${fmt(heldPeak)} MB over ${held.seconds} s of load held after the sweep (per node ${held.peakRssMb.map(fmt).join(' / ')} MB; ${fmt(held.opsPerSec)} ops/s, ${held.errors} errors)`;
      out.push(`**A node holding ${last.keys.toLocaleString('en-US')} keys of ${o.valueBytes} bytes, under load: up to ${fmt(step)} MB resident in the ${o.durationMs / 1000}-s step${during} (target: under ${RSS_TARGET_MB} MB) — ${worst < RSS_TARGET_MB ? 'met' : 'not met'}.**`);
      out.push('');
    }
  }
  if (r.memory !== undefined && r.memory.length > 0) {
    out.push(
      `**What holds the memory** (${r.memory[0]!.keys.toLocaleString('en-US')} keys; node 2 restarted with each process-level setting, its trees restored or rebuilt, then ${o.durationMs / 1000} s of put=50,get=50 on the cluster; \`npm run bench:growth -- --no-sweep --memory\`). "V8 heap" is committed / in use; RssAnon minus the committed V8 heap and external buffers is native memory (LevelDB's caches and memtables, and glibc's per-thread malloc arenas).`,
    );
    out.push('');
    out.push(
      table(
        ['setting', 'VmRSS MB idle', 'peak VmRSS MB during load', 'VmRSS MB after load', 'RssAnon', 'RssFile', 'V8 heap committed / used', 'external', 'native (anon - heap - external)', 'ops/s'],
        r.memory.map((m) => [m.variant, fmt(m.idle.rssMb), fmt(m.peakRssMb ?? NaN), fmt(m.loaded.rssMb), fmt(m.loaded.anonMb), fmt(m.loaded.fileMb), `${fmt(m.loaded.heapTotalMb)} / ${fmt(m.loaded.heapUsedMb)}`, fmt(m.loaded.externalMb), fmt(m.loaded.anonMb - m.loaded.heapTotalMb - m.loaded.externalMb), fmt(m.opsPerSec)]),
      ),
    );
    out.push('');
  }
  const rs = r.restart;
  if (rs !== undefined) {
    out.push(
      `**Clean restart with ${rs.keys.toLocaleString('en-US')} keys** (node 1 stopped with SIGTERM and started again, no load): serving after ${fmt(rs.healthyMs / 1000)} s, every anti-entropy tree ready after ${fmt(rs.treesMs / 1000)} s, ${fmt(rs.cpuS)} s of CPU in all. The trees saved at the clean stop are restored instead of rebuilt from a scan of every object (see src/node/antientropy.ts).`,
    );
    out.push('');
  }
  const ex = r.exchange;
  if (ex !== undefined) {
    const runs = r.exchangeRuns !== undefined && r.exchangeRuns.length > 0 ? r.exchangeRuns : [ex];
    const ms = median(runs.map((x) => x.repairMs));
    const several = runs.length > 1 ? ` (median of ${runs.length} runs: ${runs.map((x) => fmt(x.repairMs / 1000)).join(' / ')} s; CPU of the three nodes ${runs.map((x) => fmt(x.repairCpuS)).join(' / ')} s)` : '';
    out.push(
      `**Anti-entropy exchange: ${ex.differing.toLocaleString('en-US')} differing keys among ${ex.keys.toLocaleString('en-US')} repaired in ${fmt(ms / 1000)} s${several} (target: within ${REPAIR_TARGET_MS / 1000} s) — ${ms <= REPAIR_TARGET_MS ? 'met' : 'not met'}.** Method (missed writes, every tree built): node 2 stopped cleanly; ${ex.differing.toLocaleString('en-US')} random keys overwritten through the SDK at W=2 while it was down; nodes 0 and 1 stopped cleanly and the ${ex.hintsDeleted.toLocaleString('en-US')} hints they held for node 2 deleted from their stores (with the store's own code, processes stopped), so that only anti-entropy can bring the writes to node 2 (nothing reads the keys). All three started again on their data; node 2's trees were restored ${fmt(ex.restoreMs / 1000)} s after its start (last run), and the time counts from then until node 2's own copy (\`/v1/local\`) of every overwritten key had node 0's causal context (the keys are read once the nodes' repair counters, polled every 150 ms, add up to the keys changed, then every 200 ms until all match). Last run: ${fmt(ex.repairCpuS)} s of CPU of the three nodes meanwhile; keys repaired per node (node 0 / 1 / 2): ${ex.repairedBy.join(' / ')}.`,
    );
    out.push('');
  }
  const ae = r.ae;
  if (ae !== undefined) {
    out.push(
      `**A replica whose store lost ${ae.differing.toLocaleString('en-US')} keys behind its back:** node 2 stopped cleanly, ${ae.differing.toLocaleString('en-US')} random keys removed from its store with the node's own store code (which also drops its saved trees, as any tool writing a stopped node's store must), node 2 started again. Peers repair each partition as soon as its tree is rebuilt, so ${ae.keysAtReady === undefined ? 'many' : (ae.keysAtReady - (ae.keys - ae.differing)).toLocaleString('en-US')} keys were back before the last tree was ready; the rest took ${fmt(ae.repairMs / 1000)} s after that. Every removed key then checked on node 2 itself through \`/v1/explain\`: ${ae.presentAfter}/${ae.differing} present. Keys repaired per node: ${ae.repairedBy.join(' / ')}.`,
    );
    out.push('');
    out.push(
      `**Restart with a rebuild, ${ae.keys.toLocaleString('en-US')} keys** (node 2 above: its store was changed behind its back, so its saved trees were dropped, as after a crash): it answered \`/v1/health\` ${fmt(ae.healthyMs / 1000)} s after its process was started, and its anti-entropy trees were rebuilt from a full scan ${fmt(ae.rebuildMs / 1000)} s after the start${ae.rebuildCpuS === undefined ? '' : ` (${fmt(ae.rebuildCpuS)} s of CPU by then, store open included)`}. Memory of node 2: ${fmt(ae.rssAfterRebuildMb)} MB resident after the rebuild (RssAnon ${fmt(ae.anonAfterRebuildMb)}, RssFile ${fmt(ae.fileAfterRebuildMb)}), at most ${fmt(ae.peakRssMb)} MB while sampled during the rebuild and repair.`,
    );
    out.push('');
  }
  if (o.notes !== undefined && o.notes.trim() !== '') {
    out.push(o.notes.trim());
    out.push('');
  }
  return out.join('\n');
}

/**
 * Three line charts side by side over log-scaled key counts: throughput, p99 (put and
 * get), and the largest node's resident memory (VmRSS and its anonymous part, with the
 * 300 MB target). Plain SVG with white background and labelled axes, so GitHub renders it.
 */
export function svg(points: GrowthPoint[]): string {
  const W = 320;
  const H = 240;
  const left = 52;
  const right = 12;
  const top = 34;
  const bottom = 46;
  type Series = { name: string; color: string; get: (p: GrowthPoint) => number; dashed?: boolean };
  const charts: Array<{ title: string; unit: string; series: Series[]; target?: number }> = [
    { title: 'Throughput (put=50,get=50)', unit: 'operations/s', series: [{ name: 'ops/s', color: '#2a6fdb', get: (p) => p.opsPerSec }] },
    {
      title: 'p99 latency',
      unit: 'ms',
      series: [
        { name: 'put', color: '#d9480f', get: (p) => p.putP99Ms },
        { name: 'get', color: '#2b8a3e', get: (p) => p.getP99Ms },
      ],
    },
    {
      title: 'Resident memory (largest node)',
      unit: 'MB',
      target: RSS_TARGET_MB,
      series: [
        { name: 'VmRSS', color: '#5f3dc4', get: (p) => p.rssMb },
        { name: 'RssAnon', color: '#868e96', get: (p) => p.anonMb, dashed: true },
      ],
    },
  ];
  const xs = points.map((p) => Math.log10(Math.max(1, p.keys)));
  const x0 = Math.min(...xs, 4);
  const x1 = Math.max(...xs, x0 + 1);
  const parts: string[] = [];
  const label = (k: number) => (k >= 1e6 ? `${k / 1e6}M` : k >= 1e3 ? `${k / 1e3}k` : String(k));
  charts.forEach((chart, c) => {
    const values = chart.series.flatMap((s) => points.map(s.get)).filter(Number.isFinite);
    const yMax = niceCeil(Math.max(...values, chart.target ?? 0, 1) * 1.1);
    const ox = c * W;
    const X = (x: number) => ox + left + ((x - x0) / (x1 - x0)) * (W - left - right);
    const Y = (y: number) => H - bottom - (y / yMax) * (H - bottom - top);
    parts.push(`<text x="${ox + W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${chart.title}</text>`);
    // Axes, y grid and ticks.
    for (let t = 0; t <= 4; t++) {
      const v = (yMax * t) / 4;
      parts.push(`<line x1="${ox + left}" y1="${Y(v).toFixed(1)}" x2="${ox + W - right}" y2="${Y(v).toFixed(1)}" stroke="${t === 0 ? '#555' : '#e5e5e5'}"/>`);
      parts.push(`<text x="${ox + left - 4}" y="${(Y(v) + 3).toFixed(1)}" text-anchor="end" font-size="10">${fmtTick(v)}</text>`);
    }
    parts.push(`<line x1="${ox + left}" y1="${top}" x2="${ox + left}" y2="${H - bottom}" stroke="#555"/>`);
    parts.push(`<text transform="translate(${ox + 12},${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${chart.unit}</text>`);
    points.forEach((p, i) => parts.push(`<text x="${X(xs[i]!).toFixed(1)}" y="${H - bottom + 14}" text-anchor="middle" font-size="10">${label(p.keys)}</text>`));
    parts.push(`<text x="${ox + left + (W - left - right) / 2}" y="${H - bottom + 30}" text-anchor="middle" font-size="11">keys held (log scale)</text>`);
    if (chart.target !== undefined) {
      parts.push(`<line x1="${ox + left}" y1="${Y(chart.target).toFixed(1)}" x2="${ox + W - right}" y2="${Y(chart.target).toFixed(1)}" stroke="#c92a2a" stroke-dasharray="6 3"/>`);
      parts.push(`<text x="${ox + left + 4}" y="${(Y(chart.target) - 4).toFixed(1)}" text-anchor="start" font-size="10" fill="#c92a2a">target ${chart.target} MB</text>`);
    }
    chart.series.forEach((s, k) => {
      const pts = points.map((p, i) => [X(xs[i]!), Y(s.get(p))] as const).filter(([, y]) => Number.isFinite(y));
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="4 3"' : ''} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
      for (const [x, y] of pts) parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.color}"/>`);
      if (chart.series.length > 1) {
        const lx = ox + left + 8 + k * 80;
        parts.push(`<line x1="${lx}" y1="${top - 6}" x2="${lx + 16}" y2="${top - 6}" stroke="${s.color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="4 3"' : ''}/><text x="${lx + 20}" y="${top - 3}" font-size="10">${s.name}</text>`);
      }
    });
  });
  const width = charts.length * W;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

function niceCeil(v: number): number {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

function fmtTick(v: number): string {
  if (v >= 1000) return `${Math.round(v / 100) / 10}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/**
 * `npm run bench:compare -- --growth` runs bench/growth.ts (compiled beside it) in a
 * child process, in a data directory under `work`; it writes its own chart and section.
 */
export function growth(o: { work: string; steps: number[]; durationMs: number; concurrency: number; write: boolean }): void {
  const script = join(import.meta.dirname, '..', 'growth.js');
  const args = [script, '--steps', o.steps.join(','), '--duration', String(o.durationMs / 1000), '--concurrency', String(o.concurrency), '--data', join(o.work, 'growth')];
  if (!o.write) args.push('--no-write');
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`bench/growth.js exited with ${r.status}`);
}
