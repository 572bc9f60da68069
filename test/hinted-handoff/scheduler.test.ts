import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HandoffScheduler, TokenBucket } from '../../src/hinted-handoff/index.js';

const cfg = { batchMax: 10, keysPerSecond: 100, burstKeys: 20, targetsConcurrentMax: 2, retryMs: 100, retryMaxMs: 400 };

describe('TokenBucket', () => {
  it('grants at most the burst, then refills at the rate', () => {
    const b = new TokenBucket(100, 20, 0);
    expect(b.take(50, 0)).toBe(20);
    expect(b.take(1, 0)).toBe(0);
    expect(b.take(50, 100)).toBe(10);
    b.refund(5);
    expect(b.available(100)).toBe(5);
    expect(b.take(100, 10_000)).toBe(20);
  });

  it('property: over any schedule, tokens granted never exceed burst + rate x elapsed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 30 })), { maxLength: 50 }), (steps) => {
        const b = new TokenBucket(100, 20, 0);
        let now = 0;
        let granted = 0;
        for (const [dt, want] of steps) {
          now += dt;
          granted += b.take(want, now);
        }
        expect(granted).toBeLessThanOrEqual(20 + (now * 100) / 1000 + 1e-9);
      }),
    );
  });
});

describe('HandoffScheduler', () => {
  it('serves reachable targets with the most hints first, at most N at once, bounded by batch size', () => {
    const s = new HandoffScheduler(cfg, 0);
    const pending = new Map([['a', 5], ['b', 50], ['c', 30], ['d', 40]]);
    const grants = s.tick(pending, (t) => t !== 'd', 0);
    expect(grants).toEqual([{ target: 'b', keys: 10 }, { target: 'c', keys: 10 }]);
    // Both busy: nothing more until one finishes.
    expect(s.tick(pending, () => true, 0)).toEqual([]);
    s.done('b', 10, 10);
    expect(s.tick(pending, (t) => t !== 'd', 1000)).toEqual([{ target: 'b', keys: 10 }]);
  });

  it('backs off a failing target, doubling up to the max', () => {
    const s = new HandoffScheduler(cfg, 0);
    const pending = new Map([['a', 5]]);
    expect(s.tick(pending, () => true, 0)).toEqual([{ target: 'a', keys: 5 }]);
    s.failed('a', 5, 0, 0);
    expect(s.tick(pending, () => true, 99)).toEqual([]);
    expect(s.tick(pending, () => true, 100)).toHaveLength(1);
    s.failed('a', 5, 0, 100);
    expect(s.tick(pending, () => true, 299)).toEqual([]);
    expect(s.tick(pending, () => true, 300)).toHaveLength(1);
    s.done('a', 5, 5);
    expect(s.tick(new Map(), () => true, 300)).toEqual([]);
  });

  it('is throttled by the token bucket', () => {
    const s = new HandoffScheduler({ ...cfg, targetsConcurrentMax: 5 }, 0);
    const pending = new Map([['a', 100], ['b', 100], ['c', 100]]);
    const grants = s.tick(pending, () => true, 0);
    expect(grants.reduce((n, g) => n + g.keys, 0)).toBe(20);
  });
});
