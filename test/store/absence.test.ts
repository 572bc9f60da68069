import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { MemoryBacking, MemoryEngine, NS_OBJECT, ObjectStore, objectKey, savedStateKey } from '../../src/store/index.js';
import { ScalableBloom, bloomHash, hashHi, hashLo } from '../../src/store/bloom.js';
import type { DVVSet } from '../../src/vclock/types.js';

function obj(text: string): DVVSet {
  return { entries: [{ id: 'a#x', n: 1, values: [{ value: new TextEncoder().encode(text), ts: 1 }], ts: 1 }], anon: [] };
}

/** Counts getMany calls and keys read, and scans of the object keys. */
class CountingEngine extends MemoryEngine {
  reads = 0;
  keyScans = 0;
  override getMany(keys: readonly Uint8Array[]) {
    this.reads += keys.length;
    return super.getMany(keys);
  }
  override keys(range: Parameters<MemoryEngine['keys']>[0]) {
    if (range.gte?.[0] === NS_OBJECT) this.keyScans++;
    return super.keys(range);
  }
}

const FILTER_KEY = savedStateKey('store.keyFilter');
const hasFilter = (backing: MemoryBacking): boolean => backing.map.has(Buffer.from(FILTER_KEY).toString('latin1'));

/** A store opened on `backing` (as a restarted node opens its files) over an engine that counts reads and key scans. */
async function openCounting(backing: MemoryBacking): Promise<{ engine: CountingEngine; store: ObjectStore }> {
  const engine = new CountingEngine(backing);
  const store = new ObjectStore(engine, { cacheEntriesMax: 0 });
  await store.open();
  return { engine, store };
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
    const { engine: engine2, store: reopened } = await openCounting(backing);
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

describe('the key filter saved at a clean close', () => {
  const keysOf = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ partition: i % 16, key: `${tag}${i}` }));
  async function write(store: ObjectStore, keys: Array<{ partition: number; key: string }>): Promise<void> {
    await Promise.all(keys.map(({ partition, key }) => store.update(partition, key, () => obj(key))));
  }
  /** A backing whose store wrote keys 'a0'.. 'a<n-1>' and closed cleanly (so it saved its filter). */
  async function cleanlyClosed(n: number): Promise<MemoryBacking> {
    const backing = new MemoryBacking();
    const store = new ObjectStore(new MemoryEngine(backing), { cacheEntriesMax: 0 });
    await store.open();
    await write(store, keysOf(n, 'a'));
    await store.close();
    return backing;
  }

  it('round-trips: a restored filter holds every key, and a damaged or foreign one is refused', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 12 }), { maxLength: 3_000, selector: (b) => b.join(',') }), (keys) => {
        const f = new ScalableBloom(64, 0.01);
        for (const k of keys) f.add(k);
        const saved = f.save();
        const back = ScalableBloom.restore(saved, 64, 0.01)!;
        expect(back).toBeDefined();
        expect(back.size).toBe(f.size);
        expect(back.bytes).toBe(f.bytes);
        for (const k of keys) expect(back.mightContain(k)).toBe(true);
        // Saved again, byte for byte the same.
        expect(Buffer.from(back.save()).equals(Buffer.from(saved))).toBe(true);
        // Another capacity or rate: not this configuration's filter.
        expect(ScalableBloom.restore(saved, 128, 0.01)).toBeUndefined();
        expect(ScalableBloom.restore(saved, 64, 0.001)).toBeUndefined();
      }),
      { numRuns: 20 },
    );
    const f = new ScalableBloom(64, 0.01);
    for (let i = 0; i < 500; i++) f.add(new TextEncoder().encode(`k${i}`));
    const saved = f.save();
    for (const at of [0, 5, 20, saved.length >> 1, saved.length - 1]) {
      const bad = Uint8Array.from(saved);
      bad[at]! ^= 0x10;
      expect(ScalableBloom.restore(bad, 64, 0.01)).toBeUndefined();
    }
    expect(ScalableBloom.restore(saved.subarray(0, saved.length - 8), 64, 0.01)).toBeUndefined();
    expect(ScalableBloom.restore(new Uint8Array(3), 64, 0.01)).toBeUndefined();
    // Counts that pass the CRC (written so) but promise more than the bytes hold are
    // refused before anything of that size is made.
    const resealed = (edit: (v: DataView) => void): Uint8Array => {
      const b = Uint8Array.from(saved);
      const v = new DataView(b.buffer);
      edit(v);
      v.setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)));
      return b;
    };
    expect(ScalableBloom.restore(resealed(() => undefined), 64, 0.01)).toBeDefined();
    expect(ScalableBloom.restore(resealed((v) => v.setFloat64(13, 64 * 2 ** 40)), 64, 0.01)).toBeUndefined();
    expect(ScalableBloom.restore(resealed((v) => v.setUint32(13 + 24, 0xffffffff)), 64, 0.01)).toBeUndefined();
    expect(ScalableBloom.restore(resealed((v) => v.setUint32(9, 0xffffffff)), 64, 0.01)).toBeUndefined();
    // Bits cut short, under a CRC of what is left.
    const short = new Uint8Array(saved.length - 8);
    short.set(saved.subarray(0, short.length - 4));
    new DataView(short.buffer).setUint32(short.length - 4, crc32(short.subarray(0, short.length - 4)));
    expect(ScalableBloom.restore(short, 64, 0.01)).toBeUndefined();
  });

  it('is read back at the next open instead of a scan, and still skips no stored key', async () => {
    const backing = await cleanlyClosed(300);
    const keys = keysOf(300, 'a');
    expect(hasFilter(backing)).toBe(true);

    const { engine, store: second } = await openCounting(backing);
    expect(engine.keyScans).toBe(0);
    expect(second.stats().keyFilterRestored).toBe(1);
    expect(second.stats().keyFilterKeys).toBe(300);
    // Deleted at the open: from this run's first write on it would be stale.
    expect(await engine.get(FILTER_KEY)).toBeUndefined();
    // Every stored key is read before its update (merged, not overwritten)...
    const seen: string[] = [];
    await Promise.all(keys.map(({ partition, key }) => second.update(partition, key, (cur) => {
      if (cur !== undefined) seen.push(key);
      return undefined;
    })));
    expect(seen.length).toBe(300);
    // ...and new keys still skip the read.
    const skips = second.stats().absentSkips;
    await write(second, keysOf(100, 'b'));
    expect(second.stats().absentSkips - skips).toBeGreaterThanOrEqual(98);
    await second.close();
  });

  it('is not trusted after a crash: the run that read it back deleted it, so the next open scans', async () => {
    const backing = await cleanlyClosed(50);

    // This run reads the filter back, writes keys it does not hold, and crashes.
    const engine2 = new MemoryEngine(backing);
    const second = new ObjectStore(engine2, { cacheEntriesMax: 0 });
    await second.open();
    expect(second.stats().keyFilterRestored).toBe(1);
    const late = keysOf(50, 'late');
    await write(second, late);
    engine2.crash();

    const { engine: engine3, store: third } = await openCounting(backing);
    expect(engine3.keyScans).toBe(1);
    expect(third.stats().keyFilterRestored).toBe(0);
    // The keys written after the read-back are known, so their updates merge.
    let merged = 0;
    await Promise.all(late.map(({ partition, key }) => third.update(partition, key, (cur) => {
      if (cur !== undefined) merged++;
      return undefined;
    })));
    expect(merged).toBe(50);
    await third.close();
  });

  it('is not saved after a failed batch, and is deleted (not used) by a store without the filter', async () => {
    const backing = new MemoryBacking();
    class FailingOnce extends MemoryEngine {
      fail = false;
      override batch(ops: Parameters<MemoryEngine['batch']>[0], options?: Parameters<MemoryEngine['batch']>[1]) {
        if (this.fail) {
          this.fail = false;
          return Promise.reject(new Error('disk full'));
        }
        return super.batch(ops, options);
      }
    }
    const engine = new FailingOnce(backing);
    const store = new ObjectStore(engine, { cacheEntriesMax: 0 });
    await store.open();
    await write(store, keysOf(20, 'a'));
    engine.fail = true;
    await expect(store.update(1, 'lost', () => obj('x'))).rejects.toThrow();
    await store.close();
    expect(hasFilter(backing)).toBe(false);

    // A clean close saves one; a store with the filter off deletes it at its open.
    const again = new ObjectStore(new MemoryEngine(backing), { cacheEntriesMax: 0 });
    await again.open();
    await again.close();
    expect(hasFilter(backing)).toBe(true);
    const off = new ObjectStore(new MemoryEngine(backing), { cacheEntriesMax: 0, absenceFilter: false });
    await off.open();
    expect(hasFilter(backing)).toBe(false);
    await off.update(2, 'written-without-filter', () => obj('y'));
    await off.close();
    expect(hasFilter(backing)).toBe(false);

    const { engine: engine4, store: fourth } = await openCounting(backing);
    expect(engine4.keyScans).toBe(1);
    let found = false;
    await fourth.update(2, 'written-without-filter', (cur) => {
      found = cur !== undefined;
      return undefined;
    });
    expect(found).toBe(true);
    await fourth.close();
  });

  it('a damaged saved filter is rebuilt from a scan', async () => {
    const backing = await cleanlyClosed(40);
    const raw = new MemoryEngine(backing);
    await raw.open();
    const saved = (await raw.get(FILTER_KEY))!;
    const bad = Uint8Array.from(saved);
    bad[bad.length >> 1]! ^= 1;
    await raw.batch([{ type: 'put', key: FILTER_KEY, value: bad }]);
    await raw.close();

    const { engine, store } = await openCounting(backing);
    expect(engine.keyScans).toBe(1);
    expect(store.stats().keyFilterRestored).toBe(0);
    expect(store.stats().keyFilterKeys).toBe(40);
    await store.close();
  });
});
