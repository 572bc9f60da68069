/**
 * The same seed gives the same run: every delivered message and every client answer
 * hash to the same trace. Different seeds give different runs.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../src/sim/index.js';

describe('simulator determinism', () => {
  it('runs each of several seeds twice with identical trace hashes', async () => {
    const traces = new Map<number, string>();
    for (const seed of [1, 2, 3, 4]) {
      const a = await runSeed(seed, { ops: 60 });
      const b = await runSeed(seed, { ops: 60 });
      expect(b.trace, `seed=${seed}`).toBe(a.trace);
      expect(b.stats).toEqual(a.stats);
      expect(b.violations).toEqual(a.violations);
      expect(a.stats.messagesDelivered).toBeGreaterThan(0);
      traces.set(seed, a.trace);
    }
    expect(new Set(traces.values()).size).toBe(traces.size);
  }, 120_000);
});
