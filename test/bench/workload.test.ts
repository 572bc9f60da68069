import { describe, expect, it } from 'vitest';
import { MixSampler, keyName, keySampler, parseMix, formatMix } from '../../src/bench/index.js';
import { SeededRandom } from '../../src/env/index.js';
import { ShoalError } from '../../src/errors/index.js';

describe('parseMix', () => {
  it.each([
    ['put=50,get=50', { put: 50, get: 50, delete: 0, rmw: 0 }],
    ['get=1', { put: 0, get: 1, delete: 0, rmw: 0 }],
    ['put=10, get=80 ,del=5,update=5', { put: 10, get: 80, delete: 5, rmw: 5 }],
    ['put=1,put=2', { put: 3, get: 0, delete: 0, rmw: 0 }],
  ])('%s', (raw, want) => {
    expect(parseMix(raw)).toEqual(want);
  });

  it.each(['', 'put', 'put=-1', 'scan=5', 'put=0,get=0', 'put=1;get=1', 'toString=1', 'put=1.5'])('rejects %j', (raw) => {
    expect(() => parseMix(raw)).toThrow(ShoalError);
  });

  it('formats without zero weights', () => {
    expect(formatMix(parseMix('get=3,put=1'))).toBe('put=1,get=3');
  });
});

describe('MixSampler', () => {
  it('draws by weight and never draws a zero-weight operation', () => {
    const s = new MixSampler(parseMix('put=1,get=3'), new SeededRandom(7));
    const n = { put: 0, get: 0, delete: 0, rmw: 0 };
    for (let i = 0; i < 20_000; i++) n[s.next()] += 1;
    expect(n.delete + n.rmw).toBe(0);
    expect(n.get / n.put).toBeGreaterThan(2.6);
    expect(n.get / n.put).toBeLessThan(3.4);
  });
});

describe('key samplers', () => {
  it('stay inside the key space', () => {
    for (const dist of ['uniform', 'zipf'] as const) {
      for (const keys of [1, 2, 1000, 1_000_003 * 2]) {
        if (keys > 1_000_000 && dist === 'zipf') continue;
        const s = keySampler(dist, keys, new SeededRandom(keys));
        for (let i = 0; i < 2000; i++) {
          const k = s.next();
          expect(Number.isInteger(k) && k >= 0 && k < keys).toBe(true);
        }
      }
    }
  });

  it('zipf concentrates on few keys, uniform does not', () => {
    const top = (dist: 'uniform' | 'zipf'): number => {
      const s = keySampler(dist, 10_000, new SeededRandom(1));
      const counts = new Map<number, number>();
      for (let i = 0; i < 50_000; i++) {
        const k = s.next();
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return [...counts.values()].sort((a, b) => b - a).slice(0, 100).reduce((x, y) => x + y, 0) / 50_000;
    };
    // With s = 0.99 the top 1% of 10,000 keys draw about half the requests.
    expect(top('zipf')).toBeGreaterThan(0.4);
    expect(top('uniform')).toBeLessThan(0.05);
  });

  it('zipf scatters its hot keys rather than using the first ones', () => {
    const s = keySampler('zipf', 10_000, new SeededRandom(3));
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(s.next());
    expect([...seen].some((k) => k > 5_000)).toBe(true);
  });

  it('rejects an empty or oversized key space', () => {
    expect(() => keySampler('uniform', 0, new SeededRandom(1))).toThrow(ShoalError);
    expect(() => keySampler('uniform', 1e9, new SeededRandom(1))).toThrow(ShoalError);
  });

  it('names keys with a fixed width', () => {
    expect(keyName(7)).toBe('bench:00000007');
    expect(keyName(12_345_678).length).toBe(keyName(0).length);
  });
});
