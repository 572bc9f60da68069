/**
 * The checker bites: each deliberately broken component, injected through the same
 * seams as the real ones, is reported within a bounded number of seeds.
 */
import { describe, expect, it } from 'vitest';
import { brokenComponents, observableBrokenComponents, runSeed, type BrokenName } from '../../src/sim/index.js';

/** Seeds tried per component before the test gives up on the checker. */
const seedsMax = 10;

/** What each component is expected to trip (at least one of these). */
const expected: Record<Exclude<BrokenName, 'forgetful-handoff'>, string[]> = {
  'lossy-engine': ['ack-durable', 'version-vector-monotonic', 'acked-writes-survive', 'liveness'],
  'ack-before-store': ['ack-durable'],
  'phantom-acks': ['ack-durable'],
  'sibling-dropping-merge': ['acked-writes-survive', 'liveness'],
  'tombstone-losing-merge': ['deletes-stay-deleted', 'version-vector-monotonic', 'liveness', 'ack-durable'],
  'skip-antientropy-repair': ['liveness', 'acked-writes-survive'],
};

describe('broken components are reported', () => {
  it('covers at least five components', () => {
    expect(observableBrokenComponents.length).toBeGreaterThanOrEqual(5);
    expect(brokenComponents).toContain('forgetful-handoff');
  });

  for (const name of observableBrokenComponents) {
    it(`reports ${name} within ${seedsMax} seeds`, async () => {
      const want = expected[name as keyof typeof expected];
      for (let seed = 1; seed <= seedsMax; seed++) {
        const r = await runSeed(seed, { broken: name, ops: 120 });
        if (r.violationCount > 0) {
          const kinds = new Set(r.violations.map((v) => v.invariant));
          expect([...kinds].some((k) => want.includes(k)), `seed=${seed} reported ${[...kinds].join(', ')}`).toBe(true);
          return;
        }
      }
      throw new Error(`${name} went unreported for ${seedsMax} seeds`);
    }, 120_000);
  }
});
