#!/usr/bin/env node
// `npm run fuzz -- [--runs 1000000] [--seed S]`: the hostile-input fuzz run
// (test/security/fuzz.test.ts) against one real node, with as many generated inputs as
// asked. Builds dist/ first (the node under test runs from it). Prints progress every
// 10,000 inputs and a final line with the counts and the node's VmRSS before and after.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' } }, strict: true });
const runs = values.runs ?? '1000000';
if (!/^\d+$/.test(runs)) {
  console.error(`fuzz: --runs must be a whole number (got ${runs})`);
  process.exit(2);
}
const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const run = spawnSync('npx', ['vitest', 'run', 'test/security/fuzz.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SHOAL_FUZZ_RUNS: runs, ...(values.seed ? { SHOAL_FUZZ_SEED: values.seed } : {}) },
});
process.exit(run.status ?? 1);
