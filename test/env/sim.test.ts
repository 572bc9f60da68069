import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeededRandom, SimClock, SimScheduler, SimTimers } from '../../src/env/index.js';

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed and different ones for different seeds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const a = new SeededRandom(seed);
        const b = new SeededRandom(seed);
        const c = new SeededRandom(seed + 1);
        const sa = Array.from({ length: 8 }, () => a.u32());
        const sb = Array.from({ length: 8 }, () => b.u32());
        const sc = Array.from({ length: 8 }, () => c.u32());
        expect(sa).toEqual(sb);
        expect(sa).not.toEqual(sc);
      }),
    );
  });

  it('draws floats in [0,1) and ints in range', () => {
    const r = new SeededRandom(42);
    for (let i = 0; i < 10_000; i++) {
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      const n = r.int(7);
      expect(Number.isInteger(n) && n >= 0 && n < 7).toBe(true);
    }
    expect(r.bytes(5)).toHaveLength(5);
  });
});

describe('SimScheduler', () => {
  it('runs callbacks in (time, insertion) order and advances only when told', () => {
    const s = new SimScheduler();
    const timers = new SimTimers(s);
    const clock = new SimClock(s, 5);
    const seen: string[] = [];
    timers.setTimeout(() => seen.push('b@10'), 10);
    timers.setTimeout(() => seen.push('a@5'), 5);
    const h = timers.setTimeout(() => seen.push('cancelled'), 7);
    timers.setTimeout(() => seen.push('c@10'), 10);
    timers.clearTimeout(h);
    expect(clock.monotonic()).toBe(0);
    s.advance(9);
    expect(seen).toEqual(['a@5']);
    s.advance(1);
    expect(seen).toEqual(['a@5', 'b@10', 'c@10']);
    expect(clock.monotonic()).toBe(10);
    expect(clock.now()).toBe(1_700_000_000_000 + 10 + 5);
  });

  it('orders any schedule by time like a stable sort', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }), (delays) => {
        const s = new SimScheduler();
        const fired: number[] = [];
        delays.forEach((d, i) => s.schedule(d, () => fired.push(i)));
        while (s.step());
        const expected = delays.map((d, i) => [d, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]).map((x) => x[1]);
        expect(fired).toEqual(expected);
      }),
    );
  });
});
