/**
 * Structural pre-scan of one CBOR item (RFC 8949), run before cbor-x decodes anything.
 *
 * cbor-x trusts the declared lengths it reads: a 9-byte header announcing an array of 2^32
 * elements makes it try to allocate one, ten thousand nested arrays recurse ten thousand
 * frames deep, and tags turn into Dates, records or typed arrays. This scan walks the bytes
 * once, allocating nothing that depends on what the bytes declare, and refuses anything
 * our own encoder would never produce, so the decoder only ever sees small, boring CBOR:
 * definite-length byte strings, valid UTF-8 text, integers, floats, false/true/null/
 * undefined, and arrays and maps of bounded size and depth whose keys are unique,
 * harmless text strings. Every refusal is ShoalError('DECODE'), except a frame over the
 * byte cap, which is TOO_LARGE.
 */
import { ShoalError } from '../errors/index.js';

export interface ScanLimits {
  /** Frame size cap, checked before anything else (TOO_LARGE). */
  readonly bytesMax: number;
  /** Deepest nesting of arrays and maps; the top-level item is depth 1. */
  readonly depthMax: number;
  /** Most data items in the frame (each array element, map key and map value counts, plus the top item). */
  readonly itemsMax: number;
  /** Most entries in one map. */
  readonly mapEntriesMax: number;
}

/** Map keys that could reach a prototype if some later code copied a decoded object carelessly. */
const FORBIDDEN_KEYS: readonly Uint8Array[] = ['__proto__', 'constructor', 'prototype'].map((s) =>
  Uint8Array.from(s, (c) => c.charCodeAt(0)),
);

const MAJOR_NAMES = ['unsigned integer', 'negative integer', 'byte string', 'text string', 'array', 'map', 'tag', 'simple/float'];

function fail(message: string, offset: number): never {
  throw new ShoalError('DECODE', `cbor: ${message} at byte ${offset}`, { details: { offset } });
}

/**
 * Scratch space for the duplicate-key check: for each open map, the offsets and lengths of
 * its keys so far. Sized from the limits (never from the frame) and reused across calls;
 * scanning is synchronous, so there is no reentrancy.
 */
let scratch = new Uint32Array(0);

class Scanner {
  private pos = 0;
  private items = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly limits: ScanLimits,
  ) {}

  run(): void {
    this.item(1);
    if (this.pos !== this.b.length) fail(`${this.b.length - this.pos} trailing bytes after the item`, this.pos);
  }

  /**
   * Reads an item's head and returns its argument (length, count or value). 8-byte
   * arguments above 2^53 come back as Infinity; that is fine: as a length it exceeds any
   * remaining count, and as an integer value we never use it.
   */
  private arg(ai: number, at: number): number {
    const b = this.b;
    const p = this.pos;
    if (ai < 24) return ai;
    if (ai === 24) {
      this.need(1, at);
      this.pos = p + 1;
      return b[p]!;
    }
    if (ai === 25) {
      this.need(2, at);
      this.pos = p + 2;
      return (b[p]! << 8) | b[p + 1]!;
    }
    if (ai === 26) {
      this.need(4, at);
      this.pos = p + 4;
      return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    }
    if (ai === 27) {
      this.need(8, at);
      this.pos = p + 8;
      const hi = ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
      const lo = ((b[p + 4]! << 24) >>> 0) + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
      return hi >= 0x200000 ? Infinity : hi * 0x1_0000_0000 + lo;
    }
    if (ai === 31) fail('indefinite-length item (never sent by Shoal)', at);
    return fail(`reserved additional information ${ai}`, at);
  }

  private need(n: number, at: number): void {
    if (n > this.b.length - this.pos) fail(`truncated: needs ${n} more bytes, ${this.b.length - this.pos} remain`, at);
  }

  private count(n: number, at: number): void {
    this.items += n;
    if (this.items > this.limits.itemsMax) fail(`more than ${this.limits.itemsMax} items`, at);
  }

  private item(depth: number): void {
    const at = this.pos;
    if (at >= this.b.length) fail('truncated: expected an item', at);
    const initial = this.b[at]!;
    const major = initial >> 5;
    const ai = initial & 31;
    this.pos = at + 1;
    this.count(1, at);
    switch (major) {
      case 0:
      case 1:
        this.arg(ai, at);
        return;
      case 2: {
        const len = this.arg(ai, at);
        this.need(len, at);
        this.pos += len;
        return;
      }
      case 3: {
        const len = this.arg(ai, at);
        this.need(len, at);
        this.utf8(this.pos, len);
        this.pos += len;
        return;
      }
      case 4: {
        if (depth > this.limits.depthMax) fail(`nesting deeper than ${this.limits.depthMax}`, at);
        const len = this.arg(ai, at);
        // Every element takes at least one byte: a count beyond the remaining bytes is a lie.
        if (len > this.b.length - this.pos) fail(`array declares ${len} elements but only ${this.b.length - this.pos} bytes remain`, at);
        if (this.items + len > this.limits.itemsMax) fail(`more than ${this.limits.itemsMax} items`, at);
        for (let i = 0; i < len; i++) this.item(depth + 1);
        return;
      }
      case 5: {
        if (depth > this.limits.depthMax) fail(`nesting deeper than ${this.limits.depthMax}`, at);
        const len = this.arg(ai, at);
        if (len > this.limits.mapEntriesMax) fail(`map declares ${len} entries; the limit is ${this.limits.mapEntriesMax}`, at);
        if (2 * len > this.b.length - this.pos) fail(`map declares ${len} entries but only ${this.b.length - this.pos} bytes remain`, at);
        this.map(depth, len);
        return;
      }
      case 6:
        return fail(`tag ${this.arg(ai, at)} (Shoal sends no tags)`, at);
      default:
        // Major type 7: only false, true, null, undefined and the three float widths.
        if (ai >= 20 && ai <= 23) return;
        if (ai === 25 || ai === 26 || ai === 27) {
          const n = ai === 25 ? 2 : ai === 26 ? 4 : 8;
          this.need(n, at);
          this.pos += n;
          return;
        }
        if (ai === 31) return fail('break outside an indefinite-length item', at);
        if (ai === 24 || ai < 20) return fail(`unassigned simple value`, at);
        return fail(`reserved additional information ${ai}`, at);
    }
  }

  private map(depth: number, len: number): void {
    const b = this.b;
    // Key positions for this map live in scratch[base .. base + 2*len).
    const base = (depth - 1) * this.limits.mapEntriesMax * 2;
    for (let i = 0; i < len; i++) {
      const at = this.pos;
      this.need(1, at);
      const initial = b[at]!;
      if (initial >> 5 !== 3) fail(`map key is a ${MAJOR_NAMES[initial >> 5]}, expected a text string`, at);
      this.pos = at + 1;
      this.count(1, at);
      const klen = this.arg(initial & 31, at);
      this.need(klen, at);
      const kstart = this.pos;
      this.utf8(kstart, klen);
      this.pos = kstart + klen;
      for (const forbidden of FORBIDDEN_KEYS) {
        if (bytesEqual(b, kstart, klen, forbidden, 0, forbidden.length)) {
          fail(`forbidden map key "${String.fromCharCode(...forbidden)}"`, at);
        }
      }
      for (let j = 0; j < i; j++) {
        const ostart = scratch[base + 2 * j]!;
        const olen = scratch[base + 2 * j + 1]!;
        if (bytesEqual(b, kstart, klen, b, ostart, olen)) fail('duplicate map key', at);
      }
      scratch[base + 2 * i] = kstart;
      scratch[base + 2 * i + 1] = klen;
      this.item(depth + 1);
    }
  }

  /** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
  private utf8(start: number, len: number): void {
    const b = this.b;
    const end = start + len;
    let i = start;
    while (i < end) {
      const c = b[i]!;
      if (c < 0x80) {
        i++;
        continue;
      }
      let extra: number;
      let lo = 0x80;
      let hi = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) extra = 1;
      else if (c >= 0xe0 && c <= 0xef) {
        extra = 2;
        if (c === 0xe0) lo = 0xa0;
        else if (c === 0xed) hi = 0x9f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        extra = 3;
        if (c === 0xf0) lo = 0x90;
        else if (c === 0xf4) hi = 0x8f;
      } else return fail('invalid UTF-8 in text string', i);
      if (i + extra >= end) fail('truncated UTF-8 sequence in text string', i);
      const c1 = b[i + 1]!;
      if (c1 < lo || c1 > hi) fail('invalid UTF-8 in text string', i);
      for (let k = 2; k <= extra; k++) {
        const ck = b[i + k]!;
        if (ck < 0x80 || ck > 0xbf) fail('invalid UTF-8 in text string', i);
      }
      i += extra + 1;
    }
  }
}

function bytesEqual(a: Uint8Array, aStart: number, aLen: number, b: Uint8Array, bStart: number, bLen: number): boolean {
  if (aLen !== bLen) return false;
  for (let i = 0; i < aLen; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/**
 * Checks that `bytes` hold exactly one well-formed CBOR item within `limits`, of the
 * restricted kinds Shoal sends. Throws ShoalError('TOO_LARGE') for a frame over
 * `limits.bytesMax`, ShoalError('DECODE') for everything else; returns nothing.
 */
export function scanCbor(bytes: Uint8Array, limits: ScanLimits): void {
  if (bytes.length > limits.bytesMax) {
    throw new ShoalError('TOO_LARGE', `frame is ${bytes.length} bytes; the limit is ${limits.bytesMax}`);
  }
  const need = (limits.depthMax + 1) * limits.mapEntriesMax * 2;
  if (scratch.length < need) scratch = new Uint32Array(need);
  new Scanner(bytes, limits).run();
}
