/**
 * Context tokens: the opaque string a reader gets (X-Shoal-Context) and hands back with
 * its next write. Layout, before base64url (unpadded):
 *
 *   byte 0     format version, 0x01
 *   bytes 1..  CBOR array [id1, n1, id2, n2, ...]: ids (text) strictly ascending, counters
 *              positive integers; the empty context is the empty array
 *
 * Flat pairs save a byte per actor over nested arrays. Decoding is strict and accepts
 * only the canonical encoding (re-encoding must reproduce the token exactly), so a token
 * has one meaning, a mangled one is refused rather than half-understood, and any future
 * layout gets a new version byte. Every failure is ShoalError BAD_REQUEST. Browser-safe:
 * cbor-x to decode, a hand-written encoder for this one shape, hand-written base64url, no
 * Buffer and no node: imports.
 */
import { Decoder } from 'cbor-x';
import { contextEntriesMax, contextIdBytesMax, contextTokenBytesMax } from '../config/index.js';
import { ShoalError } from '../errors/index.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';
import { join, liveSiblings, siblingCount } from './dvvset.js';
import type { DVVSet, Sibling, VersionVector } from './types.js';

const FORMAT_V1 = 0x01;
const decoder = new Decoder({ useRecords: false });
const utf8 = new TextEncoder();
/** In a `u` regex, a surrogate code unit only matches when it is not half of a pair. CBOR text must be valid UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function bad(message: string, cause?: unknown): ShoalError {
  return new ShoalError('BAD_REQUEST', `context token: ${message}`, cause === undefined ? undefined : { cause });
}

/** Why `vv` cannot be a context, or null when it can. Shared by encode and decode. */
function problem(vv: ReadonlyArray<readonly [unknown, unknown]>): string | null {
  if (vv.length > contextEntriesMax) return `${vv.length} entries, more than ${contextEntriesMax}`;
  let prev: string | null = null;
  for (const [id, n] of vv) {
    if (typeof id !== 'string' || id.length === 0) return 'actor id must be a non-empty string';
    if (LONE_SURROGATE.test(id)) return 'actor id must be well-formed Unicode';
    // Short ids cannot be too long in UTF-8 (at most 3 bytes per UTF-16 unit): no encoding
    // for them, as every context of every request passes here.
    if (id.length * 3 > contextIdBytesMax && utf8.encode(id).length > contextIdBytesMax) return `actor id longer than ${contextIdBytesMax} bytes`;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return `counter of ${JSON.stringify(id)} must be a positive integer`;
    if (prev !== null && !(prev < id)) return prev === id ? `duplicate actor id ${JSON.stringify(id)}` : 'actor ids not sorted';
    prev = id;
  }
  return null;
}

/**
 * Encodes a canonical vector (as produced by join). A vector that could not be decoded
 * again (unsorted, too many entries, token too long) throws ShoalError INTERNAL: handing
 * out a token the node itself would refuse is a fault on our side, not the client's.
 */
export function encodeContext(vv: VersionVector): string {
  const why = problem(vv);
  if (why !== null) throw new ShoalError('INTERNAL', `cannot encode context: ${why}`);
  return encodeChecked(vv);
}

/** Scratch for a token's bytes (encoding is synchronous); grows to the largest token made. */
let scratch = new Uint8Array(256);
let scratchView = new DataView(scratch.buffer);

/**
 * The token of a vector that `problem` has already passed (decode re-encodes with it: one
 * check, not two). The body's shape is fixed (an array of text and counters), so it is
 * written by hand, byte for byte what cbor-x writes for the same array (a test holds the
 * two to it): minimal heads, UTF-8 text, counters up to 2^32-1 as integers and larger
 * ones as float64. Every read answer and every put's reply encodes one; cbor-x's general
 * encoder and a copy for the version byte cost several times as much.
 */
function encodeChecked(vv: VersionVector): string {
  // At most: version byte, array head, and per actor a text head, 3 bytes per UTF-16
  // unit, and a 9-byte counter.
  let max = 4;
  for (const [id] of vv) max += 12 + 3 * id.length;
  if (scratch.length < max) {
    scratch = new Uint8Array(Math.max(max, scratch.length * 2));
    scratchView = new DataView(scratch.buffer);
  }
  const b = scratch;
  b[0] = FORMAT_V1;
  let p = head(b, 1, 0x80, vv.length * 2);
  for (const [id, n] of vv) {
    p = head(b, p, 0x60, utf8Length(id));
    for (let i = 0; i < id.length; i++) {
      let c = id.charCodeAt(i);
      if (c < 0x80) b[p++] = c;
      else if (c < 0x800) {
        b[p++] = (c >> 6) | 0xc0;
        b[p++] = (c & 0x3f) | 0x80;
      } else if ((c & 0xfc00) === 0xd800 && i + 1 < id.length && (id.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x03ff) << 10) + (id.charCodeAt(++i) & 0x03ff);
        b[p++] = (c >> 18) | 0xf0;
        b[p++] = ((c >> 12) & 0x3f) | 0x80;
        b[p++] = ((c >> 6) & 0x3f) | 0x80;
        b[p++] = (c & 0x3f) | 0x80;
      } else {
        b[p++] = (c >> 12) | 0xe0;
        b[p++] = ((c >> 6) & 0x3f) | 0x80;
        b[p++] = (c & 0x3f) | 0x80;
      }
    }
    if (n <= 0xffffffff) p = head(b, p, 0x00, n);
    else {
      b[p++] = 0xfb;
      scratchView.setFloat64(p, n);
      p += 8;
    }
  }
  const token = base64urlEncode(b, p);
  if (token.length > contextTokenBytesMax) {
    throw new ShoalError('INTERNAL', `cannot encode context: token of ${token.length} characters exceeds ${contextTokenBytesMax}`);
  }
  return token;
}

/** Writes the shortest CBOR head of `major` (already shifted) for `n` at `p`; returns the next position. */
function head(b: Uint8Array, p: number, major: number, n: number): number {
  if (n < 24) b[p++] = major | n;
  else if (n < 0x100) {
    b[p++] = major | 24;
    b[p++] = n;
  } else if (n < 0x10000) {
    b[p++] = major | 25;
    b[p++] = n >>> 8;
    b[p++] = n & 0xff;
  } else {
    b[p++] = major | 26;
    b[p++] = n >>> 24;
    b[p++] = (n >>> 16) & 0xff;
    b[p++] = (n >>> 8) & 0xff;
    b[p++] = n & 0xff;
  }
  return p;
}

/** UTF-8 bytes of a well-formed string (`problem` refuses lone surrogates). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if ((c & 0xfc00) === 0xd800 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A pair: two units, four bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

/** Decodes a token from a client; any malformed token throws ShoalError BAD_REQUEST. */
export function decodeContext(token: string): VersionVector {
  if (typeof token !== 'string' || token.length === 0) throw bad('empty');
  if (token.length > contextTokenBytesMax) throw bad(`longer than ${contextTokenBytesMax} characters`);
  const bytes = base64urlDecode(token);
  if (bytes.length < 2) throw bad('too short');
  if (bytes[0] !== FORMAT_V1) throw bad(`unknown format version ${bytes[0] ?? 'none'}`);
  let decoded: unknown;
  try {
    decoded = decoder.decode(bytes.subarray(1));
  } catch (err) {
    throw bad('not valid CBOR', err);
  }
  if (!Array.isArray(decoded)) throw bad('body is not an array');
  if (decoded.length % 2 !== 0) throw bad('body has an odd number of items');
  if (decoded.length / 2 > contextEntriesMax) throw bad(`${decoded.length / 2} entries, more than ${contextEntriesMax}`);
  const pairs: Array<readonly [unknown, unknown]> = [];
  for (let i = 0; i < decoded.length; i += 2) pairs.push([decoded[i] as unknown, decoded[i + 1] as unknown]);
  const why = problem(pairs);
  if (why !== null) throw bad(why);
  const vv = pairs as Array<readonly [string, number]>;
  let canonical: string;
  try {
    canonical = encodeChecked(vv);
  } catch (err) {
    throw bad('not in canonical encoding', err);
  }
  if (canonical !== token) throw bad('not in canonical encoding');
  return vv;
}

/**
 * What a read answers from a key's object (a coordinator's merge of its replies, or the
 * copy the SDK's direct read agreed on): the live siblings, and the context of everything
 * in the object, tombstones included; null only when nothing at all is known of the key.
 * One function for both, so a direct read answers exactly as a coordinated one.
 */
export function readAnswer(obj: DVVSet): { siblings: Sibling[]; context: string | null } {
  const known = siblingCount(obj) > 0 || obj.entries.length > 0;
  return { siblings: liveSiblings(obj), context: known ? encodeContext(join(obj)) : null };
}
