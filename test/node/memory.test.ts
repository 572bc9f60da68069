import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryGovernor, gcStep, heapGrowthSetByOperator, type GcSteps } from '../../src/node/memory.js';
import { memoryGcHysteresis, memoryGcSteps } from '../../src/config/index.js';

const steps: GcSteps = [
  { fraction: 0.75, growingPercent: 100 },
  { fraction: 0.9, growingPercent: 50 },
  { fraction: 1.0, growingPercent: 20 },
];
const h = 0.05;
const fraction = fc.double({ min: 0, max: 2, noNaN: true });
const step = fc.integer({ min: 0, max: steps.length });

describe('gcStep', () => {
  // [resident fraction, step in force, step expected]
  const cases: Array<[string, Array<[number, number, number]>]> = [
    ['follows the steps from a standing start', [[0.5, 0, 0], [0.75, 0, 1], [0.89, 0, 1], [0.9, 0, 2], [1.0, 0, 3], [1.7, 0, 3]]],
    // 0.87 from step 3: below its reach but still within step 2's, so one step down, not two.
    ['leaves a step downward only once the size is the hysteresis below it', [[0.96, 3, 3], [0.94, 3, 2], [0.87, 3, 2], [0.84, 3, 1], [0.69, 3, 0]]],
  ];
  for (const [name, rows] of cases) {
    it(name, () => {
      expect(rows.map(([f, cur]) => gcStep(f, cur, steps, h))).toEqual(rows.map(([, , want]) => want));
    });
  }

  it('never goes below what the size calls for, nor above both that and the current step', () => {
    fc.assert(
      fc.property(fraction, step, (f, cur) => {
        const fresh = gcStep(f, 0, steps, h);
        const next = gcStep(f, cur, steps, h);
        expect(next).toBeGreaterThanOrEqual(fresh);
        expect(next).toBeLessThanOrEqual(Math.max(fresh, cur));
      }),
    );
  });

  it('is monotonic in the resident size for a given current step', () => {
    fc.assert(
      fc.property(fraction, fraction, step, (a, b, cur) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(gcStep(lo, cur, steps, h)).toBeLessThanOrEqual(gcStep(hi, cur, steps, h));
      }),
    );
  });

  it('does not flap when the size hovers within the hysteresis around a boundary', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: steps.length - 1 }),
        fc.array(fc.double({ min: -h * 0.9, max: h * 0.9, noNaN: true }), { minLength: 2, maxLength: 50 }),
        (below, wobble) => {
          // Start on the step below the boundary (as if the size had been rising towards it).
          const boundary = steps[below]!.fraction;
          let cur = below;
          let changes = 0;
          for (const d of wobble) {
            const next = gcStep(boundary + d, cur, steps, h);
            if (next !== cur) changes++;
            cur = next;
          }
          // Once the boundary is crossed upward, a wobble smaller than the hysteresis never brings it back.
          expect(changes).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('uses ascending steps from src/config', () => {
    expect(memoryGcSteps.length).toBeGreaterThan(0);
    for (let i = 1; i < memoryGcSteps.length; i++) {
      expect(memoryGcSteps[i]!.fraction).toBeGreaterThan(memoryGcSteps[i - 1]!.fraction + memoryGcHysteresis);
      expect(memoryGcSteps[i]!.growingPercent).toBeLessThan(memoryGcSteps[i - 1]!.growingPercent);
    }
  });
});

describe('MemoryGovernor', () => {
  it('sets V8 growth only when the step changes, and reports it', () => {
    let rss = 100;
    const applied: number[] = [];
    const g = new MemoryGovernor({ limitBytes: 200, residentBytes: () => rss, setGrowingPercent: (p) => applied.push(p), steps, hysteresis: h });
    expect(g.check()).toBe(0);
    expect(applied).toEqual([]);
    rss = 160; // 0.8
    g.check();
    g.check();
    expect(applied).toEqual([100]);
    rss = 250; // 1.25
    expect(g.check()).toBe(3);
    expect(g.growingPercent()).toBe(20);
    rss = 100;
    expect(g.check()).toBe(0);
    expect(applied).toEqual([100, 20, 0]);
    const text = g.metricsText();
    expect(text).toContain('shoal_memory_soft_limit_bytes 200\n');
    expect(text).toContain('shoal_memory_gc_step 0\n');
    expect(text).toContain('shoal_memory_gc_growing_percent 0\n');
    expect(text).toContain('shoal_memory_gc_step_changes_total 3\n');
  });

  it('hands the heap back to V8 when stopped, and only if it had taken it', () => {
    let rss = 250;
    const applied: number[] = [];
    const g = new MemoryGovernor({ limitBytes: 200, residentBytes: () => rss, setGrowingPercent: (p) => applied.push(p), steps, hysteresis: h });
    g.check();
    g.stop();
    expect(applied).toEqual([20, 0]);
    expect(g.step()).toBe(0);
    g.stop();
    rss = 10;
    g.check();
    expect(applied).toEqual([20, 0]);
  });

  it('refuses a limit that is not positive', () => {
    expect(() => new MemoryGovernor({ limitBytes: 0, residentBytes: () => 1, setGrowingPercent: () => undefined })).toThrow(/positive/);
  });
});

describe('heapGrowthSetByOperator', () => {
  it('sees the flag in node flags or NODE_OPTIONS, in either spelling', () => {
    expect(heapGrowthSetByOperator([], undefined)).toBe(false);
    expect(heapGrowthSetByOperator(['--max-old-space-size=512'], '--enable-source-maps')).toBe(false);
    expect(heapGrowthSetByOperator(['--heap-growing-percent=40'], undefined)).toBe(true);
    expect(heapGrowthSetByOperator([], '--heap_growing_percent=40')).toBe(true);
  });
});
