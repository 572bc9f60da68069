/**
 * Key hashing: XXH64 (seed 0) of the key's UTF-8 bytes, computed with 32-bit halves.
 *
 * Why XXH64: it is fast, passes SMHasher, has a published specification and test
 * vectors, and implementations exist in every language, so an operator (or a future
 * rewrite) can recompute a key's partition independently. JavaScript has no 64-bit
 * integer arithmetic short of BigInt, which allocates on every operation; here each
 * 64-bit lane is a pair of unsigned 32-bit numbers and multiplication is done in 16-bit
 * limbs, so hashing a key allocates nothing beyond the shared encoding buffer.
 *
 * This is part of the on-disk and wire contract: a key's partition is the top
 * log2(Q) bits of this hash, and storage prefixes keys by partition. Changing the hash,
 * the seed or the encoding would strand every stored key; test/ring pins a table of
 * key -> partition values so such a change cannot slip through.
 */

import { ShoalError } from '../errors/index.js';
import { partitionsMax } from '../config/index.js';

// The arithmetic below keeps every 32-bit half as a signed int32 (`| 0`), never as an
// unsigned value (`>>> 0`): on 64-bit V8 an int32 is a small integer stored in place, but
// a number of 2^31 or more is a heap object, and each store of one into the scratch
// registers below (module variables) or into an argument allocated 16 bytes. With
// unsigned halves, hashing a 1 KiB object for anti-entropy allocated about 16 KB, and
// this file was an eighth of everything a node allocated under puts (sampled allocations,
// 100,000 keys of 1 KiB). Only the exported results are converted to unsigned.
const P1H = 0x9e3779b1 | 0, P1L = 0x85ebca87 | 0;
const P2H = 0xc2b2ae3d | 0, P2L = 0x27d4eb4f | 0;
const P3H = 0x165667b1 | 0, P3L = 0x9e3779f9 | 0;
const P4H = 0x85ebca77 | 0, P4L = 0xc2b2ae63 | 0;
const P5H = 0x27d4eb2f | 0, P5L = 0x165667c5 | 0;

// Scratch registers for the result of the 64-bit helpers: no tuple is allocated per step.
let rh = 0;
let rl = 0;

/** (ah:al) * (bh:bl) mod 2^64 into rh:rl. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const lo0 = a0 * b0;
  const m1 = a1 * b0;
  const m2 = a0 * b1;
  const t = (lo0 >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
  rl = ((t & 0xffff) << 16) | (lo0 & 0xffff);
  const carry = a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + (t >>> 16);
  rh = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into rh:rl. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  rl = lo | 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
}

/** Rotate (h:l) left by r bits, 0 < r < 32, into rh:rl. */
function rotl(h: number, l: number, r: number): void {
  rh = (h << r) | (l >>> (32 - r));
  rl = (l << r) | (h >>> (32 - r));
}

/** XXH64 round: rotl(acc + input * P2, 31) * P1, into rh:rl. */
function round(acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L);
  add(acch, accl, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

function u32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** XXH64 with seed 0 of bytes [0, len) of `b`, into rh:rl. */
function xxh64(b: Uint8Array, len: number): void {
  let hh: number, hl: number;
  let i = 0;
  if (len >= 32) {
    add(P1H, P1L, P2H, P2L);
    let v1h = rh, v1l = rl;
    let v2h = P2H, v2l = P2L;
    let v3h = 0, v3l = 0;
    // seed - P1 = two's complement of P1.
    add(~P1H, ~P1L, 0, 1);
    let v4h = rh, v4l = rl;
    const limit = len - 32;
    while (i <= limit) {
      round(v1h, v1l, u32(b, i + 4), u32(b, i)); v1h = rh; v1l = rl;
      round(v2h, v2l, u32(b, i + 12), u32(b, i + 8)); v2h = rh; v2l = rl;
      round(v3h, v3l, u32(b, i + 20), u32(b, i + 16)); v3h = rh; v3l = rl;
      round(v4h, v4l, u32(b, i + 28), u32(b, i + 24)); v4h = rh; v4l = rl;
      i += 32;
    }
    rotl(v1h, v1l, 1); hh = rh; hl = rl;
    rotl(v2h, v2l, 7); add(hh, hl, rh, rl); hh = rh; hl = rl;
    rotl(v3h, v3l, 12); add(hh, hl, rh, rl); hh = rh; hl = rl;
    rotl(v4h, v4l, 18); add(hh, hl, rh, rl); hh = rh; hl = rl;
    const lanes = [v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l];
    for (let j = 0; j < 8; j += 2) {
      round(0, 0, lanes[j]!, lanes[j + 1]!);
      mul(hh ^ rh, hl ^ rl, P1H, P1L);
      add(rh, rl, P4H, P4L); hh = rh; hl = rl;
    }
  } else {
    hh = P5H; hl = P5L;
  }
  add(hh, hl, 0, len); hh = rh; hl = rl;
  while (i + 8 <= len) {
    round(0, 0, u32(b, i + 4), u32(b, i));
    rotl(hh ^ rh, hl ^ rl, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L); hh = rh; hl = rl;
    i += 8;
  }
  if (i + 4 <= len) {
    mul(0, u32(b, i), P1H, P1L);
    rotl(hh ^ rh, hl ^ rl, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L); hh = rh; hl = rl;
    i += 4;
  }
  while (i < len) {
    mul(0, b[i]!, P5H, P5L);
    rotl(hh ^ rh, hl ^ rl, 11);
    mul(rh, rl, P1H, P1L); hh = rh; hl = rl;
    i += 1;
  }
  // Avalanche.
  hl ^= hh >>> 1;
  mul(hh, hl, P2H, P2L); hh = rh; hl = rl;
  hl ^= (hl >>> 29) | (hh << 3);
  hh ^= hh >>> 29;
  mul(hh, hl, P3H, P3L); hh = rh; hl = rl;
  rh = hh;
  rl = hl ^ hh;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/** XXH64 of arbitrary bytes; exported for tests and for callers that already hold bytes. */
export function hashBytes(bytes: Uint8Array): { hi: number; lo: number } {
  xxh64(bytes, bytes.length);
  return { hi: rh >>> 0, lo: rl >>> 0 };
}

/**
 * The low half of `hashKey` of a key given as its UTF-8 bytes, `bytes` from `offset` on
 * (the store's object keys, after their prefix): for a pass over many stored keys that
 * needs their segments, without decoding each into a string to encode it again. Equal to
 * `hashKey(name).lo` whenever the bytes are `name`'s UTF-8, as the store writes them.
 */
export function hashUtf8Lo(bytes: Uint8Array, offset: number): number {
  const len = bytes.length - offset;
  if (len > scratch.length) scratch = new Uint8Array(len);
  for (let i = 0; i < len; i++) scratch[i] = bytes[offset + i]!;
  xxh64(scratch, len);
  return rl >>> 0;
}

/**
 * The 64-bit hash of a key's UTF-8 bytes as two unsigned 32-bit halves. Lone surrogates
 * are encoded as U+FFFD, as TextEncoder does everywhere, so Node and browsers agree.
 */
export function hashKey(key: string): { hi: number; lo: number } {
  hashKeyInto(key);
  return { hi: rh >>> 0, lo: rl >>> 0 };
}

/** Hashes a key into rh:rl (no allocation: the hot path of every request). */
function hashKeyInto(key: string): void {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3);
  // ASCII keys (the common case) are their own UTF-8: copying the code units is several
  // times cheaper than a TextEncoder call for a key of a few dozen characters.
  const n = key.length;
  let i = 0;
  for (; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) break;
    scratch[i] = c;
  }
  const len = i === n ? n : encoder.encodeInto(key, scratch).written;
  xxh64(scratch, len);
}

/** Throws INVALID_CONFIG unless `q` is a power of two in [1, partitionsMax]. */
export function validatePartitions(q: number): void {
  if (!Number.isInteger(q) || q < 1 || q > partitionsMax || (q & (q - 1)) !== 0) {
    throw new ShoalError('INVALID_CONFIG', `partitions must be a power of two between 1 and ${partitionsMax}, got ${String(q)}`, {
      details: { partitions: q },
    });
  }
}

/** log2 of a validated partition count. */
export function partitionBits(partitions: number): number {
  return 31 - Math.clz32(partitions);
}

/**
 * The partition of a key: the top log2(Q) bits of its hash, so partition p covers the
 * contiguous hash range [p * 2^64/Q, (p+1) * 2^64/Q). Q is at most 2^14, so the
 * prefix always lies in the high half.
 */
export function partitionOf(key: string, partitions: number): number {
  validatePartitions(partitions);
  const bits = partitionBits(partitions);
  if (bits === 0) return 0;
  hashKeyInto(key);
  return rh >>> (32 - bits);
}
