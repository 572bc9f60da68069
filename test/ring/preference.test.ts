import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RingIndex, claim, compareRings, diff, preferenceList } from '../../src/ring/index.js';
import type { RingState } from '../../src/ring/index.js';
import { isShoalError } from '../../src/errors/index.js';

const ring = (owners: string, version = 1, claimant = 'a'): RingState => ({ partitions: owners.length, owners: [...owners], version, claimant });

describe('preferenceList', () => {
  it('takes the first N distinct owners clockwise, then every other owner in the order first met', () => {
    const r = ring('aabcadbc');
    expect(preferenceList(r, 0, 3)).toEqual({ primaries: ['a', 'b', 'c'], fallbacks: ['d'] });
    expect(preferenceList(r, 5, 2)).toEqual({ primaries: ['d', 'b'], fallbacks: ['c', 'a'] });
    expect(preferenceList(r, 7, 3)).toEqual({ primaries: ['c', 'a', 'b'], fallbacks: ['d'] });
    // Fewer distinct owners than N: every owner is a primary, no fallbacks.
    expect(preferenceList(ring('abab'), 1, 3)).toEqual({ primaries: ['b', 'a'], fallbacks: [] });
  });

  it('lists every owner exactly once, starting with the partition owner', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 64),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.nat(),
        (q, s, n, at) => {
          const r = claim(undefined, Array.from({ length: s }, (_, i) => `m${i}`), { partitions: q, n, claimant: 'm0' });
          const p = at % q;
          const list = preferenceList(r, p, n);
          const all = [...list.primaries, ...list.fallbacks];
          expect(all[0]).toBe(r.owners[p]);
          expect(new Set(all).size).toBe(all.length);
          expect(new Set(all)).toEqual(new Set(r.owners));
          expect(list.primaries.length).toBe(Math.min(n, new Set(r.owners).size));
        },
      ),
    );
  });

  it('rejects partitions outside the ring and malformed rings', () => {
    const r = ring('abcd');
    for (const p of [-1, 4, 1.5]) expect(isShoalError(catching(() => preferenceList(r, p, 2)), 'BAD_REQUEST')).toBe(true);
    expect(isShoalError(catching(() => preferenceList({ ...r, partitions: 8 }, 0, 2)), 'INVALID_CONFIG')).toBe(true);
  });
});

describe('RingIndex', () => {
  it('answers like preferenceList, returns the cached list, and indexes owners and primaries', () => {
    const r = claim(undefined, ['a', 'b', 'c', 'd', 'e'], { partitions: 64, n: 3, claimant: 'a' });
    const index = new RingIndex(r, 3);
    for (let p = 0; p < 64; p++) {
      expect(index.preferenceList(p)).toEqual(preferenceList(r, p, 3));
      expect(index.preferenceList(p)).toBe(index.preferenceList(p));
    }
    for (const node of ['a', 'b', 'c', 'd', 'e']) {
      expect(index.partitionsOf(node)).toEqual(r.owners.flatMap((o, p) => (o === node ? [p] : [])));
      const primaries = [...Array(64).keys()].filter((p) => preferenceList(r, p, 3).primaries.includes(node));
      expect(index.primariesOf(node)).toEqual(primaries);
    }
    expect(index.partitionsOf('zz')).toEqual([]);
    expect(index.nodes()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(Object.isFrozen(index.preferenceList(0).primaries)).toBe(true);
  });

  it('spreads replicas evenly on a spaced ring: each node is a primary for N*Q/S partitions (within N)', () => {
    const r = claim(undefined, ['a', 'b', 'c', 'd', 'e', 'f'], { partitions: 256, n: 3, claimant: 'a' });
    const index = new RingIndex(r, 3);
    for (const node of index.nodes()) {
      expect(Math.abs(index.primariesOf(node).length - (3 * 256) / 6)).toBeLessThanOrEqual(3);
    }
  });
});

describe('diff', () => {
  it('lists the partitions whose owner changes', () => {
    expect(diff(ring('abab'), ring('abcb'))).toEqual([{ partition: 2, from: 'a', to: 'c' }]);
    expect(diff(ring('abab'), ring('abab'))).toEqual([]);
    expect(isShoalError(catching(() => diff(ring('ab'), ring('abab'))), 'INVALID_CONFIG')).toBe(true);
  });
});

describe('compareRings', () => {
  it('orders by version, then claimant, then owners; zero only for equal rings', () => {
    expect(compareRings(ring('abab', 2), ring('bbbb', 1))).toBeGreaterThan(0);
    expect(compareRings(ring('abab', 1, 'b'), ring('abab', 1, 'a'))).toBeGreaterThan(0);
    expect(compareRings(ring('abab', 3, 'a'), ring('abab', 3, 'a'))).toBe(0);
    expect(Math.sign(compareRings(ring("abab"), ring("abba"))) + Math.sign(compareRings(ring("abba"), ring("abab")))).toBe(0);
    expect(compareRings(ring('abab'), ring('abba'))).not.toBe(0);
  });

  it('is a total order, so every node picks the same winner from any set of rings', () => {
    const arb = fc.record({
      partitions: fc.constant(4),
      owners: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 4, maxLength: 4 }),
      version: fc.integer({ min: 1, max: 3 }),
      claimant: fc.constantFrom('a', 'b'),
    });
    fc.assert(
      fc.property(arb, arb, arb, (x, y, z) => {
        expect(Math.sign(compareRings(x, y)) + Math.sign(compareRings(y, x))).toBe(0);
        if (compareRings(x, y) > 0 && compareRings(y, z) > 0) expect(compareRings(x, z)).toBeGreaterThan(0);
        expect(compareRings(x, y) === 0).toBe(JSON.stringify(x) === JSON.stringify(y));
      }),
    );
  });
});

function catching(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}
