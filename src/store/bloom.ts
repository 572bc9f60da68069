import { hashBytes } from '../ring/index.js';

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
    const { hi, lo } = hashBytes(key);
    for (const f of this.filters) if (f.has(hi, lo)) return;
    let last = this.filters[this.filters.length - 1]!;
    if (last.count >= last.capacity) {
      this.grow();
      last = this.filters[this.filters.length - 1]!;
    }
    last.add(hi, lo);
    this.count++;
  }

  mightContain(key: Uint8Array): boolean {
    const { hi, lo } = hashBytes(key);
    for (const f of this.filters) if (f.has(hi, lo)) return true;
    return false;
  }

  private grow(): void {
    const i = this.filters.length;
    // Each new part is twice as large and has a tighter error (ratio 1/2), so the sum of
    // the parts' error rates stays below 2 x fpRate.
    this.filters.push(new BloomPart(this.initialCapacity * 2 ** i, this.fpRate / 2 ** (i + 1)));
  }
}

class BloomPart {
  readonly bits: Uint32Array;
  private readonly m: number;
  private readonly k: number;
  count = 0;

  constructor(
    readonly capacity: number,
    fp: number,
  ) {
    const m = Math.ceil((-capacity * Math.log(fp)) / (Math.LN2 * Math.LN2));
    this.m = Math.max(64, m);
    this.k = Math.max(1, Math.round((this.m / capacity) * Math.LN2));
    this.bits = new Uint32Array(Math.ceil(this.m / 32));
  }

  add(hi: number, lo: number): void {
    for (let i = 0; i < this.k; i++) {
      const bit = ((lo + Math.imul(i, hi | 1)) >>> 0) % this.m;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.count++;
  }

  has(hi: number, lo: number): boolean {
    for (let i = 0; i < this.k; i++) {
      const bit = ((lo + Math.imul(i, hi | 1)) >>> 0) % this.m;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}
