/**
 * How a run is shown: a progress line per interval, a final table, and JSON.
 */
import type { Progress, LoadResult } from './runner.js';
import { OPERATIONS } from './workload.js';

/** Microseconds as milliseconds with three significant-ish decimals. */
export function ms(us: number): string {
  const v = us / 1000;
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function progressLine(p: Progress): string {
  return `[${(p.elapsedMs / 1000).toFixed(0).padStart(4)}s] ${Math.round(p.opsPerSec).toString().padStart(7)} ops/s  p99 ${ms(p.p99Us).padStart(7)} ms  total ${p.totalOps}  errors ${p.totalErrors}`;
}

export function formatTable(r: LoadResult): string {
  const head = ['op', 'ok', 'errors', 'not found', 'ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'];
  const rows: string[][] = [head];
  const secs = r.elapsedMs / 1000;
  for (const op of OPERATIONS) {
    const o = r.ops[op];
    if (o === undefined) continue;
    const l = o.latencyUs;
    rows.push([op, String(o.ok), String(o.errors), String(o.notFound), Math.round((o.ok + o.errors) / secs).toString(), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max)]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  lines.push(`total ${r.totalOps} ops in ${secs.toFixed(1)} s = ${Math.round(r.opsPerSec)} ops/s at ${r.concurrency} in flight (${r.driver})`);
  const codes = Object.entries(r.errors);
  lines.push(codes.length === 0 ? 'errors: none' : `errors: ${codes.map(([c, n]) => `${c}=${n}`).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** The result without its raw histograms, latencies in microseconds. */
export function toJson(r: LoadResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...extra,
    driver: r.driver,
    elapsedMs: Math.round(r.elapsedMs),
    concurrency: r.concurrency,
    totalOps: r.totalOps,
    totalErrors: r.totalErrors,
    opsPerSec: Math.round(r.opsPerSec),
    ops: r.ops,
    errors: r.errors,
  };
}
