import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hashBytes, hashKey, hashUtf8Lo, partitionOf, validatePartitions } from '../../src/ring/index.js';
import { OBJECT_KEY_PREFIX_BYTES, objectKey } from '../../src/store/index.js';
import { isShoalError } from '../../src/errors/index.js';

const hex = (h: { hi: number; lo: number }): string => h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');

/** Straightforward BigInt XXH64, written from the specification, as an independent oracle. */
function xxh64Reference(b: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n, P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n;
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
  const round = (acc: bigint, v: bigint): bigint => (rotl((acc + v * P2) & M, 31n) * P1) & M;
  const read = (i: number, n: number): bigint => {
    let v = 0n;
    for (let j = n - 1; j >= 0; j--) v = (v << 8n) | BigInt(b[i + j]!);
    return v;
  };
  let h: bigint;
  let i = 0;
  if (b.length >= 32) {
    let v1 = (P1 + P2) & M, v2 = P2, v3 = 0n, v4 = -P1 & M;
    for (; i + 32 <= b.length; i += 32) {
      v1 = round(v1, read(i, 8)); v2 = round(v2, read(i + 8, 8)); v3 = round(v3, read(i + 16, 8)); v4 = round(v4, read(i + 24, 8));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    for (const v of [v1, v2, v3, v4]) h = ((h ^ round(0n, v)) * P1 + P4) & M;
  } else {
    h = P5;
  }
  h = (h + BigInt(b.length)) & M;
  for (; i + 8 <= b.length; i += 8) h = (rotl(h ^ round(0n, read(i, 8)), 27n) * P1 + P4) & M;
  if (i + 4 <= b.length) { h = (rotl(h ^ ((read(i, 4) * P1) & M), 23n) * P2 + P3) & M; i += 4; }
  for (; i < b.length; i++) h = (rotl(h ^ ((BigInt(b[i]!) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n; h = (h * P2) & M; h ^= h >> 29n; h = (h * P3) & M; h ^= h >> 32n;
  return h;
}

describe('hashKey (XXH64, seed 0, UTF-8)', () => {
  it('matches the published XXH64 test vectors', () => {
    expect(hex(hashKey(''))).toBe('ef46db3751d8e999');
    expect(hex(hashKey('a'))).toBe('d24ec4f1a98c6e5b');
    expect(hex(hashKey('abc'))).toBe('44bc2cf5ad770999');
    expect(hex(hashKey('Nobody inspects the spammish repetition'))).toBe('fbcea83c8a378bf1');
  });

  it('agrees with an independent BigInt implementation on random bytes of every length class', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const h = hashBytes(bytes);
        expect((BigInt(h.hi) << 32n) | BigInt(h.lo)).toBe(xxh64Reference(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes the UTF-8 encoding of the key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (key) => {
        expect(hashKey(key)).toEqual(hashBytes(new TextEncoder().encode(key)));
      }),
      { numRuns: 200 },
    );
  });

  it('hashUtf8Lo of a stored object key, past its prefix, is the low half of hashKey of its name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 5 }), (key, partition, pad) => {
        // As the store writes it (lone surrogates become U+FFFD, as in TextEncoder), and
        // inside a larger buffer, as a key the engine hands back may be.
        const stored = objectKey(partition, key);
        const inside = new Uint8Array(pad + stored.length);
        inside.set(stored, pad);
        const view = inside.subarray(pad);
        expect(hashUtf8Lo(view, OBJECT_KEY_PREFIX_BYTES)).toBe(hashKey(key).lo);
      }),
      { numRuns: 300 },
    );
    // The longest key, three bytes a character.
    const long = '\u20ac'.repeat(170);
    expect(hashUtf8Lo(objectKey(1, long), OBJECT_KEY_PREFIX_BYTES)).toBe(hashKey(long).lo);
  });

  it('returns unsigned 32-bit halves', () => {
    const h = hashKey('user:1');
    expect(h.hi >>> 0).toBe(h.hi);
    expect(h.lo >>> 0).toBe(h.lo);
  });
});

describe('partitionOf', () => {
  // Pinned: storage prefixes keys by partition, so any change here strands data on disk.
  // A failure means the hash, seed, encoding or bit selection changed: do not "fix" the table.
  const table: Array<[key: string, hash: string, q64: number, q16384: number]> = [
    ['', 'ef46db3751d8e999', 59, 15313],
    ['a', 'd24ec4f1a98c6e5b', 52, 13459],
    ['user:1', 'd9c7c4609e6080f3', 54, 13937],
    ['user:2', '337be5a0c611350a', 12, 3294],
    ['hello world', '45ab6734b21e6968', 17, 4458],
    ['ключ', 'a17d2dd13d89d19c', 40, 10335],
    ['日本語キー', '11d544c2b05eb65a', 4, 1141],
    ['🦈shoal', '1b26f3185e1f7ca5', 6, 1737],
    ['x'.repeat(31), '60dd0d01083b99f0', 24, 6199],
    ['y'.repeat(32), '64da1f1d3495ce66', 25, 6454],
    ['z'.repeat(100), 'd30e21c99c2a766d', 52, 13507],
    ['k'.repeat(512), 'de8bcba7c0c2bc86', 55, 14242],
  ];
  it.each(table)('key %j keeps its hash and partitions', (key, hash, q64, q16384) => {
    expect(hex(hashKey(key))).toBe(hash);
    expect(partitionOf(key, 64)).toBe(q64);
    expect(partitionOf(key, 16384)).toBe(q16384);
    expect(partitionOf(key, 1)).toBe(0);
  });

  it('is the top log2(Q) bits, so halving Q merges neighbouring partitions', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 1, max: 14 }), (key, bits) => {
        const q = 2 ** bits;
        const p = partitionOf(key, q);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(q);
        expect(partitionOf(key, q / 2)).toBe(p >>> 1);
      }),
    );
  });

  it('spreads 100k keys over 64 partitions within 20% of the mean', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 100_000; i++) counts[partitionOf(`user:${i}`, 64)]!++;
    const mean = 100_000 / 64;
    for (const c of counts) {
      expect(c).toBeGreaterThan(mean * 0.8);
      expect(c).toBeLessThan(mean * 1.2);
    }
  });

  it('rejects partition counts that are not powers of two within the limit', () => {
    for (const bad of [0, -4, 3, 48, 1.5, Number.NaN, 32768]) {
      let err: unknown;
      try {
        validatePartitions(bad);
      } catch (e) {
        err = e;
      }
      expect(isShoalError(err, 'INVALID_CONFIG'), String(bad)).toBe(true);
      expect(() => partitionOf('k', bad)).toThrow();
    }
    for (const good of [1, 2, 64, 16384]) expect(() => validatePartitions(good)).not.toThrow();
  });
});
