import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryBacking, MemoryEngine, ObjectStore, objectKey } from '../../src/store/index.js';
import { ScalableBloom, bloomHash, hashHi, hashLo } from '../../src/store/bloom.js';
import type { DVVSet } from '../../src/vclock/types.js';

function obj(text: string): DVVSet {
  return { entries: [{ id: 'a#x', n: 1, values: [{ value: new TextEncoder().encode(text), ts: 1 }], ts: 1 }], anon: [] };
}

/** Counts getMany calls and keys read. */
class CountingEngine extends MemoryEngine {
  reads = 0;
  override getMany(keys: readonly Uint8Array[]) {
    this.reads += keys.length;
    return super.getMany(keys);
  }
}

describe('ScalableBloom', () => {
  it('has no false negatives, however many keys it grows to', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 12 }), { maxLength: 3_000, selector: (b) => b.join(',') }), (keys) => {
        const f = new ScalableBloom(64, 0.01);
        for (const k of keys) f.add(k);
        for (const k of keys) expect(f.mightContain(k)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('adds a key its check just missed (addNewHashed) with no false negatives, counting it once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 12 }), { maxLength: 3_000, selector: (b) => b.join(',') }), (keys) => {
        const f = new ScalableBloom(64, 0.01);
        let added = 0;
        for (const k of keys) {
          bloomHash(k);
          if (f.mightContainHashed(hashHi, hashLo)) continue;
          f.addNewHashed(hashHi, hashLo);
          added++;
        }
        expect(f.size).toBe(added);
        for (const k of keys) expect(f.mightContain(k)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('keeps false positives near its rate as it grows', () => {
    const f = new ScalableBloom(1_000, 0.01);
    const enc = new TextEncoder();
    for (let i = 0; i < 50_000; i++) f.add(enc.encode(`in-${i}`));
    let fp = 0;
    for (let i = 0; i < 50_000; i++) if (f.mightContain(enc.encode(`out-${i}`))) fp++;
    expect(fp / 50_000).toBeLessThan(0.03);
    expect(f.size).toBeGreaterThan(49_000);
  });

  it('keeps false positives near its rate on object keys (partition prefix, similar names)', () => {
    // The store's filter hashes the key bytes itself (bloomHash); keys that differ in a
    // few digits must still spread over the bits.
    const f = new ScalableBloom(8_192, 0.001);
    for (let i = 0; i < 100_000; i++) f.add(objectKey(i % 64, `user/${i}/profile`));
    let fp = 0;
    for (let i = 100_000; i < 200_000; i++) if (f.mightContain(objectKey(i % 64, `user/${i}/profile`))) fp++;
    expect(fp / 100_000).toBeLessThan(0.003);
  });
});

describe('ObjectStore absence filter', () => {
  it('skips the read before writing a key it never stored, and still reads keys it holds (also after reopen)', async () => {
    const backing = new MemoryBacking();
    const engine = new CountingEngine(backing);
    const store = new ObjectStore(engine, { cacheEntriesMax: 0 });
    await store.open();
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.update(i % 8, `k${i}`, () => obj(`v${i}`))));
    expect(store.stats().absentSkips).toBeGreaterThanOrEqual(98);
    expect(engine.reads).toBeLessThanOrEqual(2);
    // Existing keys are read and merged as before.
    const res = await store.update(3, 'k3', (cur) => {
      expect(new TextDecoder().decode(cur!.entries[0]!.values[0]!.value!)).toBe('v3');
      return undefined;
    });
    expect(res.changed).toBe(false);
    await store.close();

    // A new process: the filter is rebuilt from the stored keys, so nothing stored is
    // mistaken for absent.
    const engine2 = new CountingEngine(backing);
    const reopened = new ObjectStore(engine2, { cacheEntriesMax: 0 });
    await reopened.open();
    let seen: DVVSet | undefined;
    await reopened.update(5, 'k5', (cur) => {
      seen = cur;
      return undefined;
    });
    expect(seen).toBeDefined();
    expect(engine2.reads).toBe(1);
    await reopened.close();
  });

  it('can be turned off', async () => {
    const engine = new CountingEngine(new MemoryBacking());
    const store = new ObjectStore(engine, { cacheEntriesMax: 0, absenceFilter: false });
    await store.open();
    await store.update(0, 'fresh', () => obj('x'));
    expect(engine.reads).toBe(1);
    expect(store.stats().absentSkips).toBe(0);
    await store.close();
  });
});
