import type { BrokenName } from './broken.js';
import type { SimResult } from './run.js';

/** The command that replays one seed exactly. */
export function replayCommand(seed: number, options: { broken?: BrokenName | undefined; ops?: number | undefined; faults?: boolean | undefined } = {}): string {
  const extra = [
    options.broken ? ` --broken ${options.broken}` : '',
    options.ops !== undefined ? ` --ops ${options.ops}` : '',
    options.faults === false ? ' --no-faults' : '',
  ].join('');
  return `npm run sim -- --seed ${seed}${extra}`;
}

/** A failed seed, as the CLI and the tests print it: `seed=S`, the replay command, the first violations. */
export function formatFailure(result: SimResult, options: Parameters<typeof replayCommand>[1] = {}): string {
  const lines = [`seed=${result.seed} failed: ${result.violationCount} violation(s), trace ${result.trace}`, `  replay: ${replayCommand(result.seed, options)}`];
  for (const v of result.violations.slice(0, 5)) lines.push(`  [${v.invariant}] at ${v.at} ms: ${v.detail}`);
  if (result.violationCount > 5) lines.push(`  ... and ${result.violationCount - 5} more`);
  return lines.join('\n');
}
