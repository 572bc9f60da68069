import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/bench/index.js';

function exact(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

describe('Histogram', () => {
  it('is empty at first', () => {
    const h = new Histogram();
    expect(h.summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });

  it('reports small values exactly and keeps min, max, count and mean exact', () => {
    const h = new Histogram();
    for (const v of [3, 1, 2, 100, 5]) h.record(v);
    expect(h.summary()).toMatchObject({ count: 5, min: 1, max: 100, mean: 22.2, p50: 3 });
    expect(h.percentile(100)).toBe(100);
  });

  it('clamps negatives to 0 and huge values to the max', () => {
    const h = new Histogram(7, 1_000_000);
    h.record(-5);
    h.record(5e12);
    expect(h.min).toBe(0);
    expect(h.max).toBe(1_000_000);
  });

  it('every percentile is at or above the true one and within 1/2^P of it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 50_000_000 })), { minLength: 1, maxLength: 400 }),
        fc.constantFrom(0, 1, 50, 90, 99, 99.9, 100),
        fc.constantFrom(3, 7, 10),
        (values, p, bits) => {
          const h = new Histogram(bits);
          for (const v of values) h.record(v);
          const sorted = [...values].sort((a, b) => a - b);
          const want = exact(sorted, p);
          const got = h.percentile(p);
          expect(got).toBeGreaterThanOrEqual(want);
          expect(got).toBeLessThanOrEqual(want * (1 + 2 ** -bits));
          expect(got).toBeLessThanOrEqual(sorted[sorted.length - 1]!);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('merging two histograms equals recording everything into one', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(10_000_000)), fc.array(fc.nat(10_000_000)), (a, b) => {
        const ha = new Histogram();
        const hb = new Histogram();
        const all = new Histogram();
        for (const v of a) (ha.record(v), all.record(v));
        for (const v of b) (hb.record(v), all.record(v));
        ha.merge(hb);
        expect(ha.summary()).toEqual(all.summary());
      }),
      { numRuns: 100 },
    );
  });

  it('refuses to merge histograms of different shapes', () => {
    expect(() => new Histogram(7).merge(new Histogram(8))).toThrow(/one shape/);
  });
});
