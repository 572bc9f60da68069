/**
 * `npm run bench`: runs every bench/*.bench.ts (each exports `run(): Promise<Record<string,
 * number>>`) for several rounds, reports the median of each figure, and writes them into
 * docs/performance.md with the date, the machine and the command.
 *
 * Flags: `--rounds N` (default 3), `--only NAME[,NAME]` (e.g. `store`), `--no-write`.
 * Benchmarks run one after another in this process, each round through every file, so
 * drift in the machine's load spreads over all of them.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, machine, median, readSection, table, tableRows, today, writeSection } from './lib/doc.js';

const { values: flags } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, only: { type: 'string' }, 'no-write': { type: 'boolean' } },
});
const rounds = Math.max(1, Math.min(20, Number(flags.rounds) || 3));
const only = flags.only?.split(',');

const dir = import.meta.dirname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only === undefined || only.includes(f.replace('.bench.js', '')))
  .sort();
if (files.length === 0) {
  console.error('no bench/*.bench.ts to run');
  process.exit(1);
}

const samples = new Map<string, Map<string, number[]>>();
for (let round = 1; round <= rounds; round++) {
  for (const file of files) {
    const name = file.replace('.bench.js', '');
    const mod = (await import(join(dir, file))) as { run?: () => Promise<Record<string, number>> };
    if (typeof mod.run !== 'function') {
      console.error(`${file}: exports no run(); skipped`);
      continue;
    }
    const t0 = performance.now();
    const out = await mod.run();
    console.error(`round ${round}/${rounds} ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const per = samples.get(name) ?? new Map<string, number[]>();
    for (const [k, v] of Object.entries(out)) per.set(k, [...(per.get(k) ?? []), v]);
    samples.set(name, per);
  }
}

const rows: Array<[string, string, string, string]> = [];
for (const [bench, per] of samples) {
  for (const [k, vs] of per) rows.push([bench, k, fmt(median(vs)), vs.map(fmt).join(' / ')]);
}
for (const [b, k, m] of rows) console.log(`${b.padEnd(12)} ${k.padEnd(48)} ${m}`);

const store = samples.get('store');
const ratio = store?.get('put_ratio_store_vs_raw');
const many = store?.get('put_ratio_update_many_vs_raw');
const vlogRatio = store?.get('put_ratio_value_log_store_vs_raw');
const vlogMany = store?.get('put_ratio_value_log_update_many_vs_raw');
const show = (xs: number[] | undefined): string => (xs === undefined ? 'n/a' : fmt(median(xs)));
const met = (xs: number[] | undefined): boolean => xs !== undefined && median(xs) >= 0.8;
const ratioNote =
  ratio === undefined
    ? ''
    : `\n\n**Store batched puts vs raw classic-level batched puts** (aim: at least 0.80; the raw side is opened with the store engine's own options, and writes bytes encoded before the clock started). ` +
      `As a node runs it, over the value log (objects of 512 bytes or more appended to the log, a pointer in LevelDB): **${show(vlogRatio)} with \`update()\`, ${show(vlogMany)} with \`updateMany\`**` +
      (met(vlogRatio) || met(vlogMany) ? ' (the aim is met in this run)' : ' (below the aim in this run)') +
      `. Over LevelDB alone (\`SHOAL_VALUE_LOG=off\`): ${show(ratio)} with \`update()\`, ${show(many)} with \`updateMany\`` +
      (met(ratio) || met(many) ? '.' : ': before its group commit each update runs its key through the filter, applies the update, encodes the record and checksums it (CRC32 of about 1.1 KiB alone is 0.29 µs), which the raw side does not. See docs/performance.md (fifth and eighth passes).');

// With --only, the benches not run keep the rows of the earlier run (said so below the table).
const kept = only === undefined ? [] : tableRows(readSection('micro') ?? '').filter((r) => r.length === 4 && !samples.has(r[0]!));
const keptNote =
  kept.length === 0 ? '' : `\n\nRows of ${[...new Set(kept.map((r) => r[0]))].join(', ')} are from an earlier run (this one ran only ${[...samples.keys()].join(', ')}).`;

if (flags['no-write'] !== true) {
  writeSection(
    'micro',
    'Micro-benchmarks',
    `Measured ${today()} on ${machine()}.\n` +
      `Rerun: \`npm run bench\` (\`npm run bench -- --rounds 5 --only store\` for one file). ` +
      `Each figure is the median of ${rounds} rounds (the individual rounds follow it); ops/s unless the name says otherwise. ` +
      `Store figures compare Shoal's ObjectStore with raw classic-level on the same bytes in the same run.\n\n` +
      table(['bench', 'figure', 'median', 'rounds'], [...rows, ...kept].sort((a, b) => a[0]!.localeCompare(b[0]!))) +
      keptNote +
      ratioNote,
  );
  console.error('wrote docs/performance.md (Micro-benchmarks)');
}
