/**
 * The CI-bounded sweep, split over two test files so vitest's two workers share it.
 * SHOAL_SIM_SEEDS overrides the total (default simCiSeeds); longer sweeps are for
 * `npm run sim -- --seeds N --from S`.
 */
import { expect } from 'vitest';
import { simCiSeeds } from '../../src/config/index.js';
import { formatFailure, runSeed, type SimResult } from '../../src/sim/index.js';

export const totalSeeds = Number(process.env['SHOAL_SIM_SEEDS'] ?? simCiSeeds);

/** Seeds of one half: half 0 runs 1..total/2, half 1 the rest. */
export function halfSeeds(half: 0 | 1): number[] {
  const mid = Math.floor(totalSeeds / 2);
  const [from, to] = half === 0 ? [1, mid] : [mid + 1, totalSeeds];
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

export async function sweep(seeds: readonly number[]): Promise<void> {
  const failures: SimResult[] = [];
  let ops = 0;
  for (const seed of seeds) {
    const r = await runSeed(seed);
    ops += r.ops;
    if (r.violationCount > 0) failures.push(r);
  }
  expect(failures.map((f) => formatFailure(f)).join('\n')).toBe('');
  expect(ops).toBeGreaterThan(seeds.length * 10);
}
