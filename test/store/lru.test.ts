import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lru } from '../../src/store/lru.js';

/**
 * The store's cache promotes lazily (a hit moves its entry to the back only when it is in
 * the older half). What must hold whatever the order of operations: the bounds, the
 * values, and that every key used within the last entriesMax / 2 moves is still cached.
 */
describe('Lru', () => {
  it('keeps its bounds and values, and every recently used key', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.tuple(fc.constantFrom('get', 'set', 'delete'), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 40 })), { maxLength: 300 }),
        (entriesMax, ops) => {
          const lru = new Lru<number>(entriesMax, 1_000_000);
          const model = new Map<string, number>();
          const recent: string[] = [];
          let version = 0;
          for (const [op, k, bytes] of ops) {
            const key = `k${k}`;
            if (op === 'set') {
              lru.set(key, ++version, bytes);
              model.set(key, version);
              recent.push(key);
            } else if (op === 'delete') {
              lru.delete(key);
              model.delete(key);
              for (let i = recent.length - 1; i >= 0; i--) if (recent[i] === key) recent.splice(i, 1);
            } else {
              const hit = lru.get(key);
              // A hit returns what was last set; a present key may have been evicted, never changed.
              if (hit !== undefined) expect(hit.value).toBe(model.get(key));
              if (hit !== undefined) recent.push(key);
            }
            expect(lru.size).toBeLessThanOrEqual(entriesMax);
          }
          const half = Math.floor(entriesMax / 2);
          const keep = new Set(half === 0 ? [] : recent.slice(-half));
          for (const key of keep) expect(lru.get(key)?.value).toBe(model.get(key));
        },
      ),
    );
  });

  it('without hits, evicts exactly in order of last set, through deletes, clear and a drained cache', () => {
    // Eviction walks one long-lived iterator: this checks it always stands at the oldest entry.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.constantFrom('set', 'set', 'set', 'delete', 'clear'), fc.integer({ min: 0, max: 20 })), { maxLength: 400 }),
        (entriesMax, ops) => {
          const lru = new Lru<string>(entriesMax, 1_000_000);
          let order: string[] = [];
          for (const [op, k] of ops) {
            const key = `k${k}`;
            if (op === 'set') {
              lru.set(key, key, 1);
              order = [...order.filter((x) => x !== key), key].slice(-entriesMax);
            } else if (op === 'delete') {
              lru.delete(key);
              order = order.filter((x) => x !== key);
            } else if (op === 'clear') {
              lru.clear();
              order = [];
            }
            expect(lru.size).toBe(order.length);
            for (const x of order) expect(lru.has(x)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a hit on the least recently used entry saves it from the next eviction', () => {
    const lru = new Lru<string>(4, 1_000_000);
    for (const k of ['a', 'b', 'c', 'd']) lru.set(k, k, 1);
    expect(lru.get('a')?.value).toBe('a');
    lru.set('e', 'e', 1);
    expect(lru.get('a')?.value).toBe('a');
    expect(lru.get('b')).toBeUndefined();
  });

  it('evicts by bytes, and never keeps an entry over an eighth of the byte budget', () => {
    const lru = new Lru<string>(100, 800);
    lru.set('big', 'x', 101);
    expect(lru.get('big')).toBeUndefined();
    for (let i = 0; i < 10; i++) lru.set(`k${i}`, `v${i}`, 100);
    expect(lru.bytes).toBeLessThanOrEqual(800);
    expect(lru.size).toBe(8);
    expect(lru.get('k9')?.value).toBe('v9');
    expect(lru.get('k0')).toBeUndefined();
  });
});
