/**
 * fast-check drives the simulator: arbitraries are operation and fault schedules, the
 * property is "no invariant is violated". Against a deliberately broken merge the
 * property must fail, and fast-check must shrink the failing schedule to a small one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFailure, opCount, runPlan, type Plan } from '../../src/sim/index.js';
import { planArb } from './arbitraries.js';

function describePlan(plan: Plan): string {
  return `${plan.nodes} nodes, ${opCount(plan)} ops, ${plan.faults.length} faults: ${JSON.stringify({ clients: plan.clients, faults: plan.faults })}`;
}

describe('simulator properties', () => {
  it('holds every invariant on random operation and fault schedules', async () => {
    await fc.assert(
      fc.asyncProperty(planArb(), async (plan) => {
        const r = await runPlan(plan);
        if (r.violationCount > 0) throw new Error(`${formatFailure(r)}\n  plan: ${describePlan(plan)}`);
      }),
      { numRuns: Number(process.env['SHOAL_SIM_FC_RUNS'] ?? 6), seed: Number(process.env['SHOAL_SIM_FC_SEED'] ?? 2026), endOnFailure: true },
    );
  }, 180_000);

  it('finds a merge that drops siblings and shrinks the schedule to a few operations', async () => {
    const out = await fc.check(
      fc.asyncProperty(planArb({ faultsMax: 2 }), async (plan) => {
        const r = await runPlan(plan, { broken: 'sibling-dropping-merge' });
        return r.violationCount === 0;
      }),
      { numRuns: 40, seed: 42, maxSkipsPerRun: 0 },
    );
    expect(out.failed).toBe(true);
    const plan = out.counterexample![0];
    // Two concurrent writes are enough to lose a sibling: shrinking gets close to that.
    expect(opCount(plan), describePlan(plan)).toBeLessThanOrEqual(4);
    expect(plan.faults.length, describePlan(plan)).toBe(0);
  }, 300_000);
});
