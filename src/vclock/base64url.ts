/**
 * base64url without padding (RFC 4648 section 5), by hand so it runs in browsers and in
 * Node alike without Buffer. Decoding is strict: only the URL-safe alphabet, no padding,
 * no whitespace, no length that leaves a lone 6-bit group, and zero unused trailing bits,
 * so every byte string has exactly one accepted encoding.
 */
import { ShoalError } from '../errors/index.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const ascii = new TextDecoder();
/** Scratch for the characters of one encode (encoding is synchronous); grows to the longest made. */
let chars = new Uint8Array(256);

/**
 * Encodes `bytes[0, end)`. The characters are written as byte codes into a reused scratch
 * and turned into a string by one TextDecoder call (ASCII is valid UTF-8): a string built
 * by `+=` allocates a cons string per step, about 1.6 KB of garbage for a 3-actor context
 * token, which every read answer and every put's reply makes.
 */
export function base64urlEncode(bytes: Uint8Array, end = bytes.length): string {
  const n = Math.ceil((end * 4) / 3);
  if (chars.length < n) chars = new Uint8Array(Math.max(n, chars.length * 2));
  const c = chars;
  const a = ALPHABET_CODES;
  let o = 0;
  let i = 0;
  for (; i + 2 < end; i += 3) {
    const v = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    c[o++] = a[v >>> 18] as number;
    c[o++] = a[(v >>> 12) & 63] as number;
    c[o++] = a[(v >>> 6) & 63] as number;
    c[o++] = a[v & 63] as number;
  }
  const rest = end - i;
  if (rest === 1) {
    const v = (bytes[i] as number) << 16;
    c[o++] = a[v >>> 18] as number;
    c[o++] = a[(v >>> 12) & 63] as number;
  } else if (rest === 2) {
    const v = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    c[o++] = a[v >>> 18] as number;
    c[o++] = a[(v >>> 12) & 63] as number;
    c[o++] = a[(v >>> 6) & 63] as number;
  }
  return ascii.decode(c.subarray(0, o));
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  const v = code < 128 ? (DECODE[code] as number) : -1;
  if (v < 0) throw new ShoalError('BAD_REQUEST', `context token: invalid base64url character at position ${index}`);
  return v;
}

/** Decodes strict unpadded base64url; anything else throws ShoalError BAD_REQUEST. */
export function base64urlDecode(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new ShoalError('BAD_REQUEST', 'context token: truncated base64url (bad length)');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < text.length; i += 4) {
    const v = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3);
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  const rest = text.length - i;
  if (rest === 2) {
    const v = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12);
    if ((v & 0xffff) !== 0) throw new ShoalError('BAD_REQUEST', 'context token: non-zero trailing bits in base64url');
    out[o++] = v >>> 16;
  } else if (rest === 3) {
    const v = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6);
    if ((v & 0xff) !== 0) throw new ShoalError('BAD_REQUEST', 'context token: non-zero trailing bits in base64url');
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
  }
  return out;
}
