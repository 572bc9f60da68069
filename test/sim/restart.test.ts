/**
 * The simulator's clean restart: the node stops, its store drains and closes (writing what
 * it saves at close), and it starts again on the same disk, here twice on one node while
 * clients write. The run must see both restarts happen, converge, and break no promise.
 */
import { describe, expect, it } from 'vitest';
import { planFromSeed, runPlan, type Plan } from '../../src/sim/index.js';

describe('simulator: clean restarts', () => {
  it('stops a node cleanly and starts it again on its disk, twice, with no violation', async () => {
    const base = planFromSeed(424242, { ops: 120 });
    const plan: Plan = {
      ...base,
      faults: [
        { at: 500, kind: 'restart', node: 1, downMs: 400 },
        // Started again at once: the start must wait for the stop's close, which holds the disk.
        { at: 2500, kind: 'restart', node: 1, downMs: 0 },
      ],
    };
    const r = await runPlan(plan);
    expect(r.violations).toEqual([]);
    expect(r.stats.restarts).toBe(2);
    expect(r.stats.crashes).toBe(0);
    expect(r.stats.writesAcked).toBeGreaterThan(0);
    expect(r.convergedAfterMs).toBeDefined();
  }, 60_000);
});
