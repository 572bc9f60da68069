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
 * cbor-x and hand-written base64url, no Buffer and no node: imports.
 */
import { Decoder, Encoder } from 'cbor-x';
import { contextEntriesMax, contextIdBytesMax, contextTokenBytesMax } from '../config/index.js';
import { ShoalError } from '../errors/index.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';
import { join, liveSiblings, siblingCount } from './dvvset.js';
import type { DVVSet, Sibling, VersionVector } from './types.js';

const FORMAT_V1 = 0x01;
const encoder = new Encoder({ useRecords: false });
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

/** The token of a vector that `problem` has already passed (decode re-encodes with it: one check, not two). */
function encodeChecked(vv: VersionVector): string {
  const flat: Array<string | number> = [];
  for (const [id, n] of vv) flat.push(id, n);
  const body = encoder.encode(flat);
  const bytes = new Uint8Array(body.length + 1);
  bytes[0] = FORMAT_V1;
  bytes.set(body, 1);
  const token = base64urlEncode(bytes);
  if (token.length > contextTokenBytesMax) {
    throw new ShoalError('INTERNAL', `cannot encode context: token of ${token.length} characters exceeds ${contextTokenBytesMax}`);
  }
  return token;
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
