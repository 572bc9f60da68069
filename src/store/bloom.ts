import { crc32 } from 'node:zlib';

/**
 * A scalable Bloom filter of byte strings (Almeida et al. 2007): a chain of filters, each
 * twice the capacity of the one before, so it grows with the key count without a rebuild.
 * `mightContain` has no false negatives; false positives stay near `fpRate` overall.
 *
 * The store uses it to skip the read before writing a key it has never stored (the read
 * of a merge is the largest cost of a batched write of new keys).
 */
export class ScalableBloom {
  private readonly filters: BloomPart[] = [];
  private count = 0;

  constructor(
    private readonly initialCapacity: number,
    private readonly fpRate: number,
  ) {
    this.grow();
  }

  get size(): number {
    return this.count;
  }

  /** Bytes of bit arrays held. */
  get bytes(): number {
    let n = 0;
    for (const f of this.filters) n += f.bits.byteLength;
    return n;
  }

  add(key: Uint8Array): void {
    bloomHash(key);
    this.addHashed(hashHi, hashLo);
  }

  mightContain(key: Uint8Array): boolean {
    bloomHash(key);
    return this.mightContainHashed(hashHi, hashLo);
  }

  /**
   * `mightContain` for a key already hashed with `bloomHash` (the store hashes a key once
   * for the check before its write and the add after it).
   */
  mightContainHashed(hi: number, lo: number): boolean {
    for (const f of this.filters) if (f.has(hi, lo)) return true;
    return false;
  }

  /** `add` for a key already hashed with `bloomHash`. */
  addHashed(hi: number, lo: number): void {
    for (const f of this.filters) if (f.has(hi, lo)) return;
    this.addNewHashed(hi, lo);
  }

  /**
   * `addHashed` for a key `mightContainHashed` has just called absent: it skips checking
   * every part again. (Were the key added meanwhile, it would only be counted twice,
   * which makes the filter grow a little sooner.)
   */
  addNewHashed(hi: number, lo: number): void {
    let last = this.filters[this.filters.length - 1]!;
    if (last.count >= last.capacity) {
      this.grow();
      last = this.filters[this.filters.length - 1]!;
    }
    last.add(hi, lo);
    this.count++;
  }

  /**
   * The filter as bytes, for `restore` (the store saves it at a clean close, so that the
   * next open need not rebuild it from a scan of every key):
   *
   *   u8 SAVED_FORMAT | f64 count | u32 parts | per part: f64 capacity | f64 count | u32 m |
   *   u32 k | u32 words | words x u32le | u32be crc32 of everything before it
   */
  save(): Uint8Array {
    let size = 1 + 8 + 4 + 4;
    for (const f of this.filters) size += 8 + 8 + 4 + 4 + 4 + f.bits.byteLength;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    let o = 0;
    v.setUint8(o, SAVED_FORMAT);
    v.setFloat64((o += 1), this.count);
    v.setUint32((o += 8), this.filters.length);
    o += 4;
    for (const f of this.filters) {
      v.setFloat64(o, f.capacity);
      v.setFloat64(o + 8, f.count);
      v.setUint32(o + 16, f.m);
      v.setUint32(o + 20, f.k);
      v.setUint32(o + 24, f.bits.length);
      o += 28;
      const bits = f.bits;
      for (let i = 0; i < bits.length; i++, o += 4) v.setUint32(o, bits[i]!, true);
    }
    v.setUint32(o, crc32(out.subarray(0, o)));
    return out;
  }

  /**
   * A filter `save` wrote, or undefined when the bytes are not one: damaged, of another
   * format (another `bloomHash`), or made for another capacity or rate (a changed
   * configuration), none of which could be trusted to hold every key.
   */
  static restore(bytes: Uint8Array, initialCapacity: number, fpRate: number): ScalableBloom | undefined {
    if (bytes.length < 1 + 8 + 4 + 4) return undefined;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = bytes.length - 4;
    if (v.getUint8(0) !== SAVED_FORMAT || crc32(bytes.subarray(0, end)) !== v.getUint32(end)) return undefined;
    const count = v.getFloat64(1);
    const parts = v.getUint32(9);
    const f = new ScalableBloom(initialCapacity, fpRate);
    f.filters.length = 0;
    let o = 13;
    for (let i = 0; i < parts; i++) {
      // Each part's shape is checked against this configuration's, and its bits against
      // the bytes left, before the part is made: no count in the bytes can make this
      // allocate more than the bytes themselves hold.
      if (o + 28 > end) return undefined;
      const capacity = initialCapacity * 2 ** i;
      const shape = partShape(capacity, fpRate / 2 ** (i + 1));
      const words = v.getUint32(o + 24);
      if (v.getFloat64(o) !== capacity || v.getUint32(o + 16) !== shape.m || v.getUint32(o + 20) !== shape.k || words !== shape.words) return undefined;
      if (o + 28 + 4 * words > end) return undefined;
      f.grow();
      const part = f.filters[i]!;
      part.count = v.getFloat64(o + 8);
      o += 28;
      const bits = part.bits;
      for (let w = 0; w < words; w++, o += 4) bits[w] = v.getUint32(o, true);
    }
    if (o !== end || parts === 0) return undefined;
    f.count = count;
    return f;
  }

  private grow(): void {
    const i = this.filters.length;
    // Each new part is twice as large and has a tighter error (ratio 1/2), so the sum of
    // the parts' error rates stays below 2 x fpRate.
    this.filters.push(new BloomPart(this.initialCapacity * 2 ** i, this.fpRate / 2 ** (i + 1)));
  }
}

/**
 * Format of a saved filter (`save`). It covers `bloomHash` too: a filter saved by another
 * hash function would answer for other keys, so a change to either bumps it, and a
 * filter saved under another format is rebuilt from a scan.
 */
const SAVED_FORMAT = 1;

/** The two halves of the last `bloomHash` (module state: no object per hash). */
export let hashHi = 0;
export let hashLo = 0;

/**
 * Two 32-bit hashes of `key` in one pass, left in `hashHi` and `hashLo`: MurmurHash3's
 * block mixing feeds two accumulators with different rotations and constants, each
 * finished with MurmurHash3's avalanche. A filter needs no more than that (a saved filter
 * names its format, SAVED_FORMAT, which a change here must bump); the ring's xxh64 in
 * JavaScript, used before, cost about 0.7 µs per key against 0.05 here, paid twice per
 * store update.
 */
export function bloomHash(key: Uint8Array): void {
  const n = key.length;
  let a = 0x9747b28c | 0;
  let c = 0x85ebca6b | 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let k = key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    c ^= k;
    c = (c << 17) | (c >>> 15);
    c = (Math.imul(c, 9) + 0x7fe3c9a1) | 0;
  }
  let k = 0;
  const rest = n & 3;
  if (rest > 0) {
    if (rest === 3) k ^= key[i + 2]! << 16;
    if (rest >= 2) k ^= key[i + 1]! << 8;
    k ^= key[i]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    a ^= k;
    c ^= (k << 7) | (k >>> 25);
  }
  hashHi = fmix32(a ^ n);
  hashLo = fmix32(c ^ n);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const TWO32 = 4294967296;

/** Bits, probes and 32-bit words of a part of `capacity` keys at false-positive rate `fp`. */
function partShape(capacity: number, fp: number): { m: number; k: number; words: number } {
  const m = Math.max(64, Math.ceil((-capacity * Math.log(fp)) / (Math.LN2 * Math.LN2)));
  return { m, k: Math.max(1, Math.round((m / capacity) * Math.LN2)), words: Math.ceil(m / 32) };
}

class BloomPart {
  readonly bits: Uint32Array;
  readonly m: number;
  readonly k: number;
  count = 0;

  constructor(
    readonly capacity: number,
    fp: number,
  ) {
    const shape = partShape(capacity, fp);
    this.m = shape.m;
    this.k = shape.k;
    this.bits = new Uint32Array(shape.words);
  }

  add(hi: number, lo: number): void {
    const m = this.m;
    for (let i = 0; i < this.k; i++) {
      const bit = Math.floor((((lo + Math.imul(i, hi | 1)) >>> 0) * m) / TWO32);
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.count++;
  }

  /**
   * The i-th probe is `lo + i * hi` (double hashing), mapped onto [0, m) by a multiply
   * and a shift (Lemire's fast range) rather than `% m`: on a uint32 above 2^31, V8 takes
   * the modulo in floating point, which cost about 10 ns a probe (k is 11 to 14 here).
   * The product may exceed 2^53 and round, but never up to m * 2^32, so the index stays
   * below m.
   */
  has(hi: number, lo: number): boolean {
    const m = this.m;
    for (let i = 0; i < this.k; i++) {
      const bit = Math.floor((((lo + Math.imul(i, hi | 1)) >>> 0) * m) / TWO32);
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}
