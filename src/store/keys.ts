import { ShoalError, assert } from '../errors/index.js';
import { keyBytesMax } from '../config/index.js';
import type { EngineRange } from './engine.js';

/**
 * The on-disk key layout (see the essay in index.ts). One namespace byte first, so each
 * kind of record is one contiguous key range:
 *
 *   'o' u16be(partition) utf8(key)                 an object (a DVVSet)
 *   'h' u16be(len) utf8(target) u64be(seq)         a hint: an object owed to `target`
 *   'm' utf8(name)                                 node metadata
 *   'a', 't'                                       reserved: anti-entropy, transfers
 */
export const NS_OBJECT = 0x6f; // 'o'
export const NS_HINT = 0x68; // 'h'
export const NS_META = 0x6d; // 'm'
export const NS_ANTIENTROPY = 0x61; // 'a' (reserved)
export const NS_TRANSFER = 0x74; // 't' (reserved)

/** Largest partition number the 2-byte prefix holds. */
export const partitionKeyMax = 0xffff;

const TWO32 = 4294967296;

export function checkPartition(partition: number): void {
  // The message is built only on failure: this runs on every store operation.
  if (!(Number.isInteger(partition) && partition >= 0 && partition <= partitionKeyMax)) assert(false, `partition ${partition} out of range`);
}

/** Key bytes of an object; BAD_REQUEST for an empty or over-long key. */
export function objectKey(partition: number, key: string): Uint8Array {
  checkPartition(partition);
  const n = key.length;
  if (n > 0 && n <= 64) {
    // Every replica write makes one: for the short ASCII keys most applications use, one
    // JavaScript pass copies the chars and checks they are ASCII at once (cheaper than
    // the native UTF-8 calls, byteLength and write, and than a check pass first).
    const out = Buffer.allocUnsafe(3 + n);
    let i = 0;
    for (; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) break;
      out[3 + i] = c;
    }
    if (i === n) {
      out[0] = NS_OBJECT;
      out[1] = partition >>> 8;
      out[2] = partition & 0xff;
      return out;
    }
  }
  const len = Buffer.byteLength(key, 'utf8');
  if (len === 0 || len > keyBytesMax) {
    throw new ShoalError('BAD_REQUEST', `key must be 1 to ${keyBytesMax} bytes of UTF-8, got ${len}`);
  }
  const out = Buffer.allocUnsafe(3 + len);
  out[0] = NS_OBJECT;
  out[1] = partition >>> 8;
  out[2] = partition & 0xff;
  out.write(key, 3, 'utf8');
  return out;
}

/** True for a string of at most 64 chars, all ASCII (its UTF-8 is its char codes). */
export function isShortAscii(s: string): boolean {
  if (s.length > 64) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Bytes before the user key in an object key: the namespace byte and the 2-byte partition. */
export const OBJECT_KEY_PREFIX_BYTES = 3;

/** The user key of an object key's bytes (partition is known from the range scanned). */
export function objectKeyName(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + OBJECT_KEY_PREFIX_BYTES, bytes.byteLength - OBJECT_KEY_PREFIX_BYTES).toString('utf8');
}

/** Every object of one partition, in key order; `after` starts just past that key. */
export function partitionRange(partition: number, after?: string): EngineRange {
  checkPartition(partition);
  const prefix = Uint8Array.of(NS_OBJECT, partition >>> 8, partition & 0xff);
  return after === undefined
    ? { gte: prefix, lt: prefixEnd(prefix) }
    : { gt: objectKeyUnchecked(partition, after), lt: prefixEnd(prefix) };
}

/** An object key without the length check: a scan cursor may be any string. */
function objectKeyUnchecked(partition: number, key: string): Uint8Array {
  const len = Buffer.byteLength(key, 'utf8');
  const out = Buffer.allocUnsafe(3 + len);
  out[0] = NS_OBJECT;
  out[1] = partition >>> 8;
  out[2] = partition & 0xff;
  out.write(key, 3, 'utf8');
  return out;
}

function targetPrefix(target: string): Buffer {
  const len = Buffer.byteLength(target, 'utf8');
  assert(len > 0 && len <= 0xffff, `hint target must be 1 to 65535 bytes, got ${len}`);
  const out = Buffer.allocUnsafe(3 + len);
  out[0] = NS_HINT;
  out[1] = len >>> 8;
  out[2] = len & 0xff;
  out.write(target, 3, 'utf8');
  return out;
}

/** A hint id: the 8-byte big-endian sequence number, so ids sort by time of recording. */
export function hintId(seq: number): Uint8Array {
  assert(Number.isSafeInteger(seq) && seq >= 0, `hint seq ${seq} out of range`);
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(seq / TWO32));
  view.setUint32(4, seq >>> 0);
  return out;
}

export function hintSeq(id: Uint8Array): number {
  assert(id.length === 8, 'hint id must be 8 bytes');
  const view = new DataView(id.buffer, id.byteOffset, 8);
  return view.getUint32(0) * TWO32 + view.getUint32(4);
}

export function hintKey(target: string, id: Uint8Array): Uint8Array {
  assert(id.length === 8, 'hint id must be 8 bytes');
  const prefix = targetPrefix(target);
  const out = Buffer.allocUnsafe(prefix.length + 8);
  out.set(prefix, 0);
  out.set(id, prefix.length);
  return out;
}

/** All hints for one target, oldest first. */
export function hintTargetRange(target: string): EngineRange {
  const prefix = targetPrefix(target);
  return { gte: prefix, lt: prefixEnd(prefix) };
}

/** All hints of every target. */
export function hintsRange(): EngineRange {
  return { gte: Uint8Array.of(NS_HINT), lt: Uint8Array.of(NS_HINT + 1) };
}

/** Target and id of a hint key; undefined when the bytes are not a well-formed hint key. */
export function parseHintKey(bytes: Uint8Array): { target: string; id: Uint8Array } | undefined {
  if (bytes.length < 3 + 8 || bytes[0] !== NS_HINT) return undefined;
  const len = (bytes[1]! << 8) | bytes[2]!;
  if (bytes.length !== 3 + len + 8) return undefined;
  const target = Buffer.from(bytes.buffer, bytes.byteOffset + 3, len).toString('utf8');
  return { target, id: new Uint8Array(bytes.subarray(3 + len)) };
}

export function metaKey(name: string): Uint8Array {
  const len = Buffer.byteLength(name, 'utf8');
  assert(len > 0, 'meta name must not be empty');
  const out = Buffer.allocUnsafe(1 + len);
  out[0] = NS_META;
  out.write(name, 1, 'utf8');
  return out;
}

/**
 * Metadata names under which a clean close saves state for the next open
 * (ObjectStore.onClose, takeSaved): `saved.NAME`. Every open takes and deletes them all.
 */
export const SAVED_META_PREFIX = 'saved.';

/** The engine key of the saved state `name` (tools and tests; the store reads them by prefix). */
export function savedStateKey(name: string): Uint8Array {
  return metaKey(SAVED_META_PREFIX + name);
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = Uint8Array.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i] = out[i]! + 1;
      return out.subarray(0, i + 1);
    }
  }
  assert(false, 'prefix of all 0xff bytes has no end');
}
