/**
 * Entry point of one nemesis run, inside the network namespace. scripts/nemesis.mjs
 * compiles this folder, checks the environment and runs this file under `unshare -n`.
 * Prints one summary line per figure and writes summary.json next to history.jsonl.
 * Exit: 0 pass, 1 a check failed, 2 bad arguments.
 */
import { parseArgs } from 'node:util';
import { ALL_FAULTS, runNemesis, writeSummary, type FaultName, type RunOptions } from './run.js';

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`nemesis: --${name} must be an integer in [${min}, ${max}] (got ${raw})\n`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const { values: f } = parseArgs({
    options: {
      root: { type: 'string' },
      out: { type: 'string' },
      duration: { type: 'string' },
      nodes: { type: 'string' },
      clients: { type: 'string' },
      keys: { type: 'string' },
      'fault-ms': { type: 'string' },
      'rest-ms': { type: 'string' },
      'think-ms': { type: 'string' },
      seed: { type: 'string' },
      'convergence-bound': { type: 'string' },
      faults: { type: 'string' },
      'clock-offset-ms': { type: 'string' },
      sync: { type: 'boolean' },
    },
    strict: true,
  });
  const faults = (f.faults ?? ALL_FAULTS.join(',')).split(',').map((s) => s.trim()) as FaultName[];
  for (const x of faults) {
    if (!ALL_FAULTS.includes(x)) {
      process.stderr.write(`nemesis: unknown fault '${x}' (known: ${ALL_FAULTS.join(', ')})\n`);
      process.exit(2);
    }
  }
  const opts: RunOptions = {
    root: f.root ?? process.cwd(),
    out: f.out ?? 'test-results/nemesis',
    durationS: int('duration', f.duration, 60, 5, 86_400),
    nodes: int('nodes', f.nodes, 5, 3, 50),
    port: 7070,
    clients: int('clients', f.clients, 10, 1, 200),
    keys: int('keys', f.keys, 3, 1, 100),
    faultMs: int('fault-ms', f['fault-ms'], 8_000, 500, 600_000),
    restMs: int('rest-ms', f['rest-ms'], 4_000, 0, 600_000),
    thinkMs: int('think-ms', f['think-ms'], 50, 0, 60_000),
    seed: int('seed', f.seed, Date.now() % 1_000_000, 0, 2 ** 31 - 1),
    convergenceBoundS: int('convergence-bound', f['convergence-bound'], 120, 1, 3_600),
    faults,
    clockOffsetMs: int('clock-offset-ms', f['clock-offset-ms'], 60_000, 0, 86_400_000),
    sync: f.sync === true,
  };
  const summary = await runNemesis(opts, (line) => process.stdout.write(`nemesis: ${line}\n`));
  const file = writeSummary(opts.out, summary);
  const c = summary.check;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `faults: ${summary.faults.map((x) => x.fault).join(', ') || 'none'}`,
    `adds: ${c.attempted} attempted, ${c.acknowledged} acknowledged, ${c.failed} failed, ${c.indeterminate} indeterminate (${c.recovered} of them present)`,
    `lost: ${c.lostCount}  unexpected: ${c.unexpectedCount}  duplicates: ${c.duplicateCount}`,
    `availability: ${pct(c.availability)} overall; ${Object.entries(c.availabilityBy)
      .map(([fault, sides]) => `${fault} ${Object.entries(sides).map(([s, t]) => `${s} ${t.ok}/${t.total}`).join(' ')}`)
      .join('; ')}`,
    `convergence: ${summary.convergence.seconds === null ? 'not reached' : `${summary.convergence.seconds} s`} (bound ${summary.convergence.boundSeconds} s)`,
    `history: ${summary.historyFile}`,
    `summary: ${file}`,
    summary.pass ? 'PASS' : `FAIL: ${summary.reasons.join('; ')}`,
  ];
  for (const l of lines) process.stdout.write(`nemesis: ${l}\n`);
  process.exit(summary.pass ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`nemesis: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
