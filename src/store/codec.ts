import { crc32 } from 'node:zlib';
import { Decoder } from 'cbor-x';
import { ShoalError, assert } from '../errors/index.js';
import type { DVVSet, Entry, Sibling } from '../vclock/types.js';
import { isShortAscii } from './keys.js';
import { FORMAT_POINTER, POINTER_BYTES } from './vlog.js';

/**
 * Value codec (see the essay in index.ts): every stored value is
 *
 *   format byte | CRC32 (big-endian) of the payload | payload
 *
 * Objects (format 0x01) carry CBOR of a compact array form of the DVVSet:
 *
 *   [ [ [id, n, ts, v0, ts0, v1, ts1, ...], ... ],   entries, sorted by id; values newest first
 *     [ v0, ts0, v1, ts1, ... ] ]                     anonymous values
 *
 * where each v is a byte string or null (a tombstone). Flat arrays rather than objects
 * keep both the bytes and the decode work small. Hints (format 0x02) carry
 * u16be(partition) f64be(ts) utf8(key). Anything that fails the checksum, has an unknown
 * format byte, or decodes to the wrong shape is ShoalError('CORRUPT'): a wrong value is
 * never returned silently.
 */
export const FORMAT_OBJECT = 0x01;
export const FORMAT_HINT = 0x02;
const HEADER_BYTES = 5;

// Decoded byte strings are views into the input (cbor-x does not copy by default);
// 64-bit integers from any other encoder decode as numbers, never BigInt.
// (int64AsNumber is a cbor-x option its type definitions do not list.)
const cbor = new Decoder({ useRecords: false, mapsAsObjects: true, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);

/** Where a value came from, for error messages. */
export interface CodecContext {
  readonly partition?: number;
  readonly key?: string;
}

/**
 * Encodes straight into one buffer: the header, then standard CBOR of the array form
 * written by hand (this shape needs only arrays, text, numbers, bytes and null). One
 * allocation and one copy of each value, instead of encoding and then framing; any CBOR
 * decoder (cbor-x here) reads the payload.
 */
export function encodeObject(obj: DVVSet): Uint8Array {
  const size = objectSize(obj);
  const out = Buffer.allocUnsafe(size);
  encodeObjectInto(obj, out, 0, size);
  return out;
}

/** Bytes `encodeObject` makes of `obj`, header included. Throws on a malformed object. */
export function objectSize(obj: DVVSet): number {
  let size = HEADER_BYTES + 1 + headLength(obj.entries.length);
  for (const e of obj.entries) {
    size += headLength(3 + 2 * e.values.length) + textLength(e.id) + numberLength(e.n) + numberLength(e.ts);
    for (const s of e.values) size += siblingLength(s);
  }
  size += headLength(2 * obj.anon.length);
  for (const s of obj.anon) size += siblingLength(s);
  return size;
}

/**
 * Writes `obj`, framed and checksummed, at `offset` of `buf`, which must have `size`
 * (= `objectSize(obj)`) bytes free there; returns the record as a view of `buf`. The
 * store encodes a whole group commit into one buffer this way: one allocation per batch,
 * not per object.
 */
export function encodeObjectInto(obj: DVVSet, buf: Buffer, offset: number, size: number): Uint8Array {
  const w = writer;
  w.buf = buf;
  w.pos = offset + HEADER_BYTES;
  w.head(4, 2);
  w.head(4, obj.entries.length);
  for (const e of obj.entries) {
    w.head(4, 3 + 2 * e.values.length);
    w.text(e.id);
    w.number(e.n);
    w.number(e.ts);
    for (const s of e.values) w.sibling(s);
  }
  w.head(4, 2 * obj.anon.length);
  for (const s of obj.anon) w.sibling(s);
  w.buf = EMPTY;
  assert(w.pos === offset + size, 'object encoder size mismatch');
  // Plain Uint8Array views: cheaper to make than Buffer slices, and engines take them.
  const at = buf.byteOffset + offset;
  const crc = crc32(new Uint8Array(buf.buffer, at + HEADER_BYTES, size - HEADER_BYTES));
  buf[offset] = FORMAT_OBJECT;
  buf[offset + 1] = crc >>> 24;
  buf[offset + 2] = (crc >>> 16) & 0xff;
  buf[offset + 3] = (crc >>> 8) & 0xff;
  buf[offset + 4] = crc & 0xff;
  return offset === 0 && size === buf.length ? buf : new Uint8Array(buf.buffer, at, size);
}

/** Bytes of a CBOR head (major type + argument) for `n`. */
function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function textLength(s: string): number {
  const n = isShortAscii(s) ? s.length : Buffer.byteLength(s, 'utf8');
  return headLength(n) + n;
}

/** Integers that fit 32 bits are CBOR integers; everything else a float64 (as cbor-x does). */
function numberLength(x: number): number {
  if (Number.isInteger(x) && x >= -0x100000000 && x < 0x100000000) return headLength(x < 0 ? -1 - x : x);
  return 9;
}

function siblingLength(s: Sibling): number {
  return (s.value === null ? 1 : headLength(s.value.length) + s.value.length) + numberLength(s.ts);
}

const EMPTY = Buffer.alloc(0);

/**
 * One shared writer (encoding is synchronous, so it is never used by two encodes at once).
 * Buffers come from allocUnsafe: every byte is written (the size is computed exactly).
 */
class Writer {
  buf: Buffer = EMPTY;
  pos = 0;
  head(major: number, n: number): void {
    const m = major << 5;
    if (n < 24) this.buf[this.pos++] = m | n;
    else if (n < 0x100) {
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = m | 26;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }
  number(x: number): void {
    if (Number.isInteger(x) && x >= -0x100000000 && x < 0x100000000) {
      if (x < 0) this.head(1, -1 - x);
      else this.head(0, x);
    } else {
      this.buf[this.pos++] = 0xfb;
      this.buf.writeDoubleBE(x, this.pos);
      this.pos += 8;
    }
  }
  text(s: string): void {
    if (isShortAscii(s)) {
      // Actor ids: short ASCII, where a loop beats the native UTF-8 calls.
      this.head(3, s.length);
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
      this.pos = pos;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.head(3, n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  sibling(s: Sibling): void {
    if (s.value === null) this.buf[this.pos++] = 0xf6;
    else {
      this.head(2, s.value.length);
      this.buf.set(s.value, this.pos);
      this.pos += s.value.length;
    }
    this.number(s.ts);
  }
}

const writer = new Writer();

export function decodeObject(bytes: Uint8Array, where: CodecContext = {}): DVVSet {
  const payload = unframe(bytes, FORMAT_OBJECT, where);
  let raw: unknown;
  try {
    raw = cbor.decode(payload);
  } catch (err) {
    throw corrupt(where, `CBOR does not decode (${err instanceof Error ? err.message : String(err)})`, err);
  }
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[0]) || !Array.isArray(raw[1])) {
    throw corrupt(where, 'object is not [entries, anon]');
  }
  const entries: Entry[] = [];
  let prevId: string | undefined;
  for (const row of raw[0] as unknown[]) {
    if (!Array.isArray(row) || row.length < 3 || (row.length - 3) % 2 !== 0) throw corrupt(where, 'malformed entry');
    const [id, n, ts] = row as unknown[];
    if (typeof id !== 'string' || !isCount(n) || !isTime(ts)) throw corrupt(where, 'malformed entry header');
    if (prevId !== undefined && !(prevId < id)) throw corrupt(where, 'entries not sorted by id');
    prevId = id;
    const values = siblings(row as unknown[], 3, where);
    if (values.length > n) throw corrupt(where, `entry ${id} has more values than events`);
    entries.push({ id, n, ts, values });
  }
  return { entries, anon: siblings(raw[1] as unknown[], 0, where) };
}

export interface HintRecord {
  readonly partition: number;
  readonly key: string;
  readonly ts: number;
}

export function encodeHint(hint: HintRecord): Uint8Array {
  const keyLen = Buffer.byteLength(hint.key, 'utf8');
  const payload = Buffer.allocUnsafe(10 + keyLen);
  payload.writeUInt16BE(hint.partition, 0);
  payload.writeDoubleBE(hint.ts, 2);
  payload.write(hint.key, 10, 'utf8');
  return frame(FORMAT_HINT, payload);
}

export function decodeHint(bytes: Uint8Array, where: CodecContext = {}): HintRecord {
  const p = unframe(bytes, FORMAT_HINT, where);
  if (p.length < 11) throw corrupt(where, 'hint record too short');
  const buf = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  const ts = buf.readDoubleBE(2);
  if (!Number.isFinite(ts)) throw corrupt(where, 'hint timestamp is not finite');
  return { partition: buf.readUInt16BE(0), ts, key: buf.toString('utf8', 10) };
}

/** A zero-copy view with the plain Uint8Array class (engines hand out Buffers). */
export function plainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function frame(format: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out[0] = format;
  new DataView(out.buffer).setUint32(1, crc32(payload));
  out.set(payload, HEADER_BYTES);
  return out;
}

function unframe(bytes: Uint8Array, format: number, where: CodecContext): Uint8Array {
  if (bytes.length < HEADER_BYTES) throw corrupt(where, `value of ${bytes.length} bytes is shorter than its header`);
  if (bytes[0] === FORMAT_POINTER && bytes.length === POINTER_BYTES) {
    // The value log (src/store/vlog.ts) hands a pointer up unresolved when its record is gone or damaged.
    throw corrupt(where, 'its value-log pointer names a record that is missing or damaged');
  }
  if (bytes[0] !== format) throw corrupt(where, `unknown format byte 0x${bytes[0]!.toString(16)} (expected 0x${format.toString(16)})`);
  const want = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  const payload = bytes.subarray(HEADER_BYTES);
  if (crc32(payload) !== want) throw corrupt(where, 'checksum mismatch');
  return payload;
}

function siblings(flat: readonly unknown[], start: number, where: CodecContext): Sibling[] {
  if ((flat.length - start) % 2 !== 0) throw corrupt(where, 'odd sibling list');
  const out: Sibling[] = [];
  for (let i = start; i < flat.length; i += 2) {
    const v = flat[i];
    const ts = flat[i + 1];
    if (!isTime(ts)) throw corrupt(where, 'sibling timestamp is not a number');
    if (v === null) out.push({ value: null, ts });
    else if (v instanceof Uint8Array) out.push({ value: plainBytes(v), ts });
    else throw corrupt(where, 'sibling value is neither bytes nor null');
  }
  return out;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isTime(t: unknown): t is number {
  return typeof t === 'number' && Number.isFinite(t);
}

function corrupt(where: CodecContext, reason: string, cause?: unknown): ShoalError {
  const at =
    where.partition !== undefined || where.key !== undefined
      ? ` (partition ${where.partition ?? '?'}, key ${JSON.stringify(where.key ?? '?')})`
      : '';
  return new ShoalError('CORRUPT', `corrupt stored value${at}: ${reason}`, {
    cause,
    details: { partition: where.partition, key: where.key },
  });
}
