import { crc32 } from 'node:zlib';
import { Encoder } from 'cbor-x';
import { ShoalError } from '../errors/index.js';
import type { DVVSet, Entry, Sibling } from '../vclock/types.js';

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

// tagUint8Array off: byte strings stay plain CBOR major type 2, readable by any decoder.
// Decoded byte strings are views into the input (cbor-x does not copy by default).
const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: true });

/** Where a value came from, for error messages. */
export interface CodecContext {
  readonly partition?: number;
  readonly key?: string;
}

export function encodeObject(obj: DVVSet): Uint8Array {
  const entries: unknown[] = [];
  for (const e of obj.entries) {
    const row: unknown[] = [e.id, e.n, e.ts];
    for (const s of e.values) row.push(s.value, s.ts);
    entries.push(row);
  }
  const anon: unknown[] = [];
  for (const s of obj.anon) anon.push(s.value, s.ts);
  return frame(FORMAT_OBJECT, cbor.encode([entries, anon]));
}

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
