// The growth benchmark's chart and text (bench/lib/growth.ts): what a reader of
// docs/performance.md sees must follow from the figures, and the chart must be a
// self-contained SVG with labelled axes.
import { describe, expect, it } from 'vitest';
import { growthDoc, svg, type GrowthPoint, type GrowthResults } from '../../bench/lib/growth.js';
import { tableRows } from '../../bench/lib/doc.js';

const point = (keys: number, rssMb: number): GrowthPoint => ({
  keys,
  opsPerSec: 3000 - keys / 1000,
  putP99Ms: 80,
  getP99Ms: 60,
  errors: 0,
  rssMb,
  anonMb: rssMb - 50,
  fileMb: 50,
  heapUsedMb: 70,
  rssAllMb: [rssMb, rssMb - 10, rssMb - 20],
});
const opts = { valueBytes: 100, durationMs: 10_000, concurrency: 64, fillConcurrency: 256 };

describe('growth chart and text', () => {
  it('draws one point per step in each chart, with titles, units, key labels and the 300 MB target', () => {
    const points = [point(10_000, 120), point(100_000, 180), point(1_000_000, 280)];
    const out = svg(points);
    expect(out.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(out.trimEnd().endsWith('</svg>')).toBe(true);
    for (const label of ['Throughput', 'p99 latency', 'Resident memory', 'operations/s', '>ms<', '>MB<', 'keys held (log scale)', '10k', '100k', '1M', 'target 300 MB']) expect(out).toContain(label);
    // ops/s: 1 series, p99: 2, memory: 2 → 5 polylines of 3 points each.
    const lines = [...out.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(lines).toEqual([3, 3, 3, 3, 3]);
    expect(out).not.toContain('NaN');
  });

  it('says met or not met from the figures themselves', () => {
    const base: GrowthResults = { points: [point(10_000, 120), point(1_000_000, 280)], date: '2026-01-01', machine: 'test' };
    expect(growthDoc(base, opts)).toContain('under load: up to 280.0 MB resident in the 10-s step (target: under 300 MB) — met');
    expect(growthDoc({ ...base, points: [point(1_000_000, 340)] }, opts)).toContain('not met');
    // A longer hold at the largest step counts too: its peak over every node decides.
    const hold = { keys: 1_000_000, seconds: 60, opsPerSec: 1500, errors: 0, peakRssMb: [266, 282, 302], peakAnonMb: [170, 180, 200] };
    const held = growthDoc({ ...base, hold }, opts);
    expect(held).toContain('up to 280.0 MB resident in the 10-s step, and 302.0 MB over 60 s of load held after the sweep (per node 266.0 / 282.0 / 302.0 MB;');
    expect(held).toContain('— not met');
    expect(growthDoc({ ...base, hold: { ...hold, peakRssMb: [250, 260, 270] } }, opts)).toContain('— met');
    // A hold measured at another size of the store is not this step's.
    expect(growthDoc({ ...base, hold: { ...hold, keys: 300_000 } }, opts)).not.toContain('held after the sweep');
    const ex = { keys: 1_000_000, differing: 1000, hintsDeleted: 1000, restoreMs: 3000, repairMs: 12_000, repairCpuS: 16, left: 0, repairedBy: [1, 2, 3] };
    expect(growthDoc({ ...base, exchange: ex }, opts)).toMatch(/repaired in 12\.0 s \(target: within 10 s\) — not met/);
    // Several runs: the median decides, and every run is quoted.
    const runs = [ex, { ...ex, repairMs: 9_000 }, { ...ex, repairMs: 4_500 }];
    const text = growthDoc({ ...base, exchange: ex, exchangeRuns: runs }, opts);
    expect(text).toMatch(/repaired in 9\.00 s \(median of 3 runs: 12\.0 \/ 9\.00 \/ 4\.50 s;/);
    expect(text).toContain('— met');
  });
});

describe('tableRows (bench/lib/doc.ts)', () => {
  it('reads the body rows of Markdown tables, leaving out headers and separators', () => {
    const text = [
      'Measured today.',
      '',
      '| bench | figure | median | rounds |',
      '| --- | --- | --- | --- |',
      '| ring | lookups_per_s | 1,000 | 990 / 1,000 |',
      '| store | put_ratio | 0.74 | 0.7 / 0.78 |',
      '',
      'Text | with a bar is not a row.',
    ].join('\n');
    expect(tableRows(text)).toEqual([
      ['ring', 'lookups_per_s', '1,000', '990 / 1,000'],
      ['store', 'put_ratio', '0.74', '0.7 / 0.78'],
    ]);
    expect(tableRows('no table here')).toEqual([]);
  });
});
