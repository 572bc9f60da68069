/**
 * The growth sweep: one 3-node Shoal cluster filled step by step (10,000 → 1,000,000
 * keys of 100 bytes by default); after each step a put=50,get=50 run over the keys
 * written so far, and each node's resident memory. Writes docs/growth.svg and returns
 * the Markdown for docs/performance.md.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyName, parseMix, runLoad, sdkDriver } from '../../src/bench/index.js';
import { RealClock, RealRandom, RealTimers } from '../../src/env/index.js';
import { ROOT, fmt, machine, table, today } from './doc.js';
import { freePort, rssBytes, startShoal } from './procs.js';

export interface GrowthPoint {
  keys: number;
  written: number;
  opsPerSec: number;
  p99Ms: number;
  rssMb: number;
}

/** Bound on filling one step, so a slow node cannot hold the sweep forever. */
const FILL_MS_MAX = 15 * 60_000;

export async function growth(o: { work: string; shoal: string; steps: number[]; durationMs: number; concurrency: number; valueBytes?: number }): Promise<string> {
  const valueBytes = o.valueBytes ?? 100;
  const ports = [await freePort(), await freePort(), await freePort()];
  const c = await startShoal({ root: join(o.work, 'growth'), shoal: o.shoal, ports, sync: false });
  const points: GrowthPoint[] = [];
  try {
    const d = await sdkDriver({ endpoints: c.endpoints, r: 2, w: 2 });
    const value = new RealRandom().bytes(valueBytes);
    let written = 0;
    for (const step of o.steps) {
      const deadline = performance.now() + FILL_MS_MAX;
      let next = written;
      let ok = written;
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (next < step && performance.now() < deadline) {
            const k = next++;
            try {
              await d.put(keyName(k), value, null);
              ok++;
            } catch {
              /* counted by absence */
            }
          }
        }),
      );
      written = next;
      const r = await runLoad({ driver: d, clock: new RealClock(), timers: new RealTimers(), random: new RealRandom(), mix: parseMix('put=50,get=50'), keys: Math.max(1, written), dist: 'uniform', valueBytes, concurrency: o.concurrency, durationMs: o.durationMs, warmupMs: 1_000 });
      const p99 = Math.max(r.ops.put?.latencyUs.p99 ?? 0, r.ops.get?.latencyUs.p99 ?? 0) / 1000;
      const rss = Math.max(...c.procs.map((p) => rssBytes(p.pid))) / 2 ** 20;
      points.push({ keys: step, written: ok, opsPerSec: r.opsPerSec, p99Ms: p99, rssMb: rss });
      console.error(`  growth ${step} keys (${ok} written): ${fmt(r.opsPerSec)} ops/s, p99 ${fmt(p99)} ms, largest node RSS ${fmt(rss)} MB`);
    }
    await d.close();
  } finally {
    await c.stop();
  }
  writeFileSync(join(ROOT, 'docs', 'growth.svg'), svg(points));
  return (
    `Measured ${today()} on ${machine()}. Rerun: \`npm run bench:compare -- --growth --no-etcd --no-ceilings --rounds 1\` (steps with \`--growth-steps\`).\n\n` +
    `One 3-node cluster (N=3, R=W=2) filled step by step with ${valueBytes}-byte values; after each step, ${o.durationMs / 1000} s of put=50,get=50 at ${o.concurrency} in flight over the keys written so far, and the largest resident set of the three nodes. Every node holds every key at N=3 on 3 nodes.\n\n` +
    table(['keys', 'written', 'ops/s', 'p99 ms (worse of put/get)', 'largest node RSS MB'], points.map((p) => [p.keys.toLocaleString('en-US'), p.written.toLocaleString('en-US'), fmt(p.opsPerSec), fmt(p.p99Ms), fmt(p.rssMb)])) +
    `\n\n![growth](growth.svg)\n`
  );
}

/** Three small line charts side by side (ops/s, p99, RSS) over log-scaled key counts. */
export function svg(points: GrowthPoint[]): string {
  const W = 260;
  const H = 180;
  const pad = 40;
  const charts: Array<[string, (p: GrowthPoint) => number]> = [
    ['ops/s', (p) => p.opsPerSec],
    ['p99 ms', (p) => p.p99Ms],
    ['RSS MB (largest node)', (p) => p.rssMb],
  ];
  const xs = points.map((p) => Math.log10(Math.max(1, p.keys)));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const parts: string[] = [];
  charts.forEach(([title, get], c) => {
    const ys = points.map(get).map((v) => (Number.isFinite(v) ? v : 0));
    const y1 = Math.max(...ys, 1) * 1.1;
    const ox = c * (W + 20);
    const X = (x: number) => ox + pad + ((x - x0) / (x1 - x0)) * (W - pad - 10);
    const Y = (y: number) => H - pad + 10 - (y / y1) * (H - pad - 10);
    parts.push(`<text x="${ox + W / 2}" y="14" text-anchor="middle" font-size="12">${title}</text>`);
    parts.push(`<line x1="${ox + pad}" y1="${H - pad + 10}" x2="${ox + W - 10}" y2="${H - pad + 10}" stroke="#888"/><line x1="${ox + pad}" y1="20" x2="${ox + pad}" y2="${H - pad + 10}" stroke="#888"/>`);
    parts.push(`<text x="${ox + pad - 4}" y="24" text-anchor="end" font-size="9">${fmt(y1)}</text><text x="${ox + pad - 4}" y="${H - pad + 10}" text-anchor="end" font-size="9">0</text>`);
    points.forEach((p, i) => parts.push(`<text x="${X(xs[i]!)}" y="${H - pad + 24}" text-anchor="middle" font-size="9">${p.keys >= 1e6 ? `${p.keys / 1e6}M` : `${p.keys / 1e3}k`}</text>`));
    parts.push(`<polyline fill="none" stroke="#2a6fdb" stroke-width="2" points="${points.map((_, i) => `${X(xs[i]!).toFixed(1)},${Y(ys[i]!).toFixed(1)}`).join(' ')}"/>`);
    points.forEach((_, i) => parts.push(`<circle cx="${X(xs[i]!).toFixed(1)}" cy="${Y(ys[i]!).toFixed(1)}" r="3" fill="#2a6fdb"/>`));
    parts.push(`<text x="${ox + W / 2}" y="${H - 4}" text-anchor="middle" font-size="10">keys</text>`);
  });
  const width = charts.length * (W + 20);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
