/**
 * The hashes anti-entropy compares: an object's causal digest, a key's contribution to its
 * segment, and the key order both sides of an exchange page in. 64-bit values are kept as
 * two unsigned 32-bit halves (hi, lo) or as 8 big-endian bytes on the wire; no BigInt, no
 * node:crypto, so the same code runs in the simulator and in browsers.
 */
import { assert } from '../errors/index.js';
import { hashBytes, hashKey, hashUtf8Lo } from '../ring/index.js';
import type { DVVSet } from '../vclock/index.js';

/** Bytes in a digest or a tree hash. */
export const HASH_BYTES = 8;

const encoder = new TextEncoder();
let buf = new Uint8Array(256);
let pos = 0;

function ensure(extra: number): void {
  if (pos + extra <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + extra) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
}

/** Unsigned LEB128: short for the small counters we write, and prefix-free. */
function putUint(n: number): void {
  ensure(8);
  let v = n;
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
}

/** A length-prefixed UTF-8 string (4-byte length), so ("ab", "c") and ("a", "bc") write different bytes. */
function putString(s: string): void {
  ensure(s.length * 3 + 4);
  const { written } = encoder.encodeInto(s, buf.subarray(pos + 4));
  buf[pos] = written >>> 24;
  buf[pos + 1] = written >>> 16;
  buf[pos + 2] = written >>> 8;
  buf[pos + 3] = written;
  pos += 4 + written;
}

function putBytes(b: Uint8Array): void {
  putUint(b.length);
  ensure(b.length);
  buf.set(b, pos);
  pos += b.length;
}

function toBytes(hi: number, lo: number): Uint8Array {
  const out = new Uint8Array(HASH_BYTES);
  out[0] = hi >>> 24;
  out[1] = hi >>> 16;
  out[2] = hi >>> 8;
  out[3] = hi;
  out[4] = lo >>> 24;
  out[5] = lo >>> 16;
  out[6] = lo >>> 8;
  out[7] = lo;
  return out;
}

/** Reads 8 big-endian bytes at `offset` as (hi, lo). */
export function readHash(b: Uint8Array, offset = 0): { hi: number; lo: number } {
  const hi = ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
  const lo = ((b[offset + 4]! << 24) | (b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!) >>> 0;
  return { hi, lo };
}

/**
 * The digest of an object's causal content: for each entry its actor id, its counter and
 * how many values (live or tombstone) it still carries. That is all the state a replica
 * can hold about a key: values[i] has the dot (id, n - i), and a dot names exactly one
 * write, so equal (id, n, count) triples mean equal values. Timestamps are left out on
 * purpose: the entry's `ts` is local bookkeeping for pruning and a sibling's `ts` is fixed
 * by its dot, so two replicas that agree on versions agree on the digest. Undotted `anon`
 * values never reach a store, but if one did its bytes are all that tells it apart, so
 * they are hashed in full.
 */
export function objectDigest(obj: DVVSet): Uint8Array {
  pos = 0;
  putUint(obj.entries.length);
  for (const e of obj.entries) {
    putString(e.id);
    putUint(e.n);
    putUint(e.values.length);
  }
  putUint(obj.anon.length);
  for (const a of obj.anon) {
    if (a.value === null) putUint(0);
    else {
      putUint(1);
      putBytes(a.value);
    }
  }
  const h = hashBytes(buf.subarray(0, pos));
  return toBytes(h.hi, h.lo);
}

const pair = new Uint8Array(16);

/**
 * A key's contribution to its segment: XXH64 of (XXH64(key), digest). Hashing the pair
 * again (rather than XOR-ing the two) keeps contributions independent: otherwise
 * (k1, d1) and (k2, d2) would collide whenever hash(k1) ^ d1 = hash(k2) ^ d2, and
 * digests are not uniformly random.
 */
export function contribution(keyHi: number, keyLo: number, digest: Uint8Array): { hi: number; lo: number } {
  assert(digest.length === HASH_BYTES, 'a digest is 8 bytes');
  pair[0] = keyHi >>> 24;
  pair[1] = keyHi >>> 16;
  pair[2] = keyHi >>> 8;
  pair[3] = keyHi;
  pair[4] = keyLo >>> 24;
  pair[5] = keyLo >>> 16;
  pair[6] = keyLo >>> 8;
  pair[7] = keyLo;
  pair.set(digest, 8);
  return hashBytes(pair);
}

/** The key's 64-bit ring hash (the same XXH64 the ring partitions by). */
export { hashKey, hashUtf8Lo };

/** Two digests (or hashes) are equal byte for byte. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Compares keys in UTF-8 byte order, the order the store pages a partition in (and so the
 * order `after` means in `ae_keys`). UTF-8 byte order is code point order, which differs
 * from JS's UTF-16 code unit order only in that surrogates (code points >= U+10000) must
 * sort above U+E000..U+FFFF; the fix-up below shifts the two ranges past each other.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}
