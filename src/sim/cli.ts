/**
 * `npm run sim`: the simulator's command line (scripts/sim.mjs runs this from dist/).
 *
 *   npm run sim -- --seeds N [--from S]   sweep N seeds from S (default 1)
 *   npm run sim -- --seed S               replay one seed; prints `trace HASH`
 *   options: --broken NAME (inject a broken component), --ops N, --no-faults, --quiet
 *
 * Exit status 1 when any seed violated an invariant, 2 on a usage error.
 */
import { brokenComponents, isBrokenName, type BrokenName } from './broken.js';
import { formatFailure } from './report.js';
import { runSeed, type SimResult } from './run.js';

interface Args {
  seed: number | undefined;
  seeds: number;
  from: number;
  broken: BrokenName | undefined;
  ops: number | undefined;
  faults: boolean;
  quiet: boolean;
}

const usage = `usage: npm run sim -- --seeds N [--from S] | --seed S  [--broken NAME] [--ops N] [--no-faults] [--quiet]
  broken components: ${brokenComponents.join(', ')}`;

function parse(argv: readonly string[]): Args | string {
  const args: Args = { seed: undefined, seeds: 100, from: 1, broken: undefined, ops: undefined, faults: true, quiet: false };
  const int = (v: string | undefined, name: string): number | string => {
    const n = Number(v);
    return v !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : `${name} needs a non-negative integer, got ${v ?? 'nothing'}`;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const take = (name: string): number | string => int(argv[++i], name);
    let v: number | string;
    switch (a) {
      case '--seed':
        if (typeof (v = take(a)) === 'string') return v;
        args.seed = v;
        break;
      case '--seeds':
        if (typeof (v = take(a)) === 'string') return v;
        args.seeds = v;
        break;
      case '--from':
        if (typeof (v = take(a)) === 'string') return v;
        args.from = v;
        break;
      case '--ops':
        if (typeof (v = take(a)) === 'string') return v;
        args.ops = v;
        break;
      case '--broken': {
        const name = argv[++i] ?? '';
        if (!isBrokenName(name)) return `unknown broken component ${JSON.stringify(name)}`;
        args.broken = name;
        break;
      }
      case '--no-faults':
        args.faults = false;
        break;
      case '--quiet':
        args.quiet = true;
        break;
      case '--help':
      case '-h':
        return '';
      default:
        return `unknown argument ${a}`;
    }
  }
  return args;
}

function bar(done: number, total: number, failed: number, startedMs: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const elapsed = (performance.now() - startedMs) / 1000;
  const eta = done === 0 ? '?' : `${Math.round((elapsed / done) * (total - done))}s`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds, ${failed} failed, ${elapsed.toFixed(0)}s elapsed, eta ${eta}`;
}

export async function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const args = parse(argv);
  if (typeof args === 'string') {
    err(`${args ? `sim: ${args}\n` : ''}${usage}\n`);
    return args ? 2 : 0;
  }
  const runOpts = { ...(args.broken ? { broken: args.broken } : {}), ...(args.ops !== undefined ? { ops: args.ops } : {}), faults: args.faults };
  const replayOpts = { broken: args.broken, ops: args.ops, faults: args.faults };

  if (args.seed !== undefined) {
    const started = performance.now();
    const r = await runSeed(args.seed, runOpts);
    const wallMs = performance.now() - started;
    out(`seed ${r.seed}: ${r.ops} ops (${r.stats.writesAcked} writes acknowledged, ${r.stats.readsAnswered} reads answered, ${r.stats.requestsFailed} requests failed), ${r.stats.faults} faults, ${r.stats.crashes} crashes, ${r.stats.restarts} clean restarts, ` +
      `${r.stats.messagesDelivered} messages (${r.stats.messagesDropped} dropped, ${r.stats.messagesDuplicated} duplicated), ` +
      `${(r.simulatedMs / 1000).toFixed(1)} s simulated in ${(wallMs / 1000).toFixed(2)} s, converged ${r.convergedAfterMs === undefined ? 'never' : `${r.convergedAfterMs} ms after heal`}\n`);
    out(`trace ${r.trace}\n`);
    if (r.violationCount > 0) {
      out(`${formatFailure(r, replayOpts)}\n`);
      return 1;
    }
    out('no violations\n');
    return 0;
  }

  const tty = process.stderr.isTTY === true && !args.quiet;
  const started = performance.now();
  const failures: SimResult[] = [];
  let ops = 0;
  let faults = 0;
  let crashes = 0;
  let restarts = 0;
  let violations = 0;
  let simulatedMs = 0;
  let lastLine = 0;
  for (let i = 0; i < args.seeds; i++) {
    const r = await runSeed(args.from + i, runOpts);
    ops += r.ops;
    faults += r.stats.faults;
    crashes += r.stats.crashes;
    restarts += r.stats.restarts;
    violations += r.violationCount;
    simulatedMs += r.simulatedMs;
    if (r.violationCount > 0) {
      failures.push(r);
      if (tty) err('\r\x1b[K');
      out(`${formatFailure(r, replayOpts)}\n`);
    }
    const now = performance.now();
    if (tty) err(`\r\x1b[K${bar(i + 1, args.seeds, failures.length, started)}`);
    else if (!args.quiet && (now - lastLine > 10_000 || i + 1 === args.seeds)) {
      lastLine = now;
      err(`${bar(i + 1, args.seeds, failures.length, started)}\n`);
    }
  }
  if (tty) err('\n');
  const wallS = (performance.now() - started) / 1000;
  out(
    `seeds ${args.seeds} (from ${args.from}), operations ${ops}, faults injected ${faults} (${crashes} crashes, ${restarts} clean restarts), violations ${violations} in ${failures.length} seed(s); ` +
      `${wallS.toFixed(1)} s wall, ${((args.seeds / wallS) * 60).toFixed(0)} seeds/min, ${(ops / wallS).toFixed(0)} simulated ops per wall second, ` +
      `${(simulatedMs / 1000).toFixed(0)} s simulated (${(simulatedMs / 1000 / wallS).toFixed(0)}x real time)\n`,
  );
  return failures.length > 0 ? 1 : 0;
}
