/**
 * Parsing of everything a client puts in a request line or header: keys, quorum forms,
 * timeouts, context tokens. Pure functions; each throws ShoalError BAD_REQUEST with a
 * message that names the offending input, so bad input is a 400 and never a 500.
 */
import { keyBytesMax } from '../config/cluster.js';
import { wireContextBytesMax as contextTokenCharsMax } from '../config/wire.js';
import { requestTimeoutMsMax } from '../config/coordinator.js';
import { ShoalError } from '../errors/index.js';

/** A quorum as a client may write it: `1`..N, `one`, `quorum`, `all`. */
export type QuorumForm = number | string;

function bad(message: string): ShoalError {
  return new ShoalError('BAD_REQUEST', message);
}

/** Characters allowed raw in a request path: printable ASCII without space (RFC 3986 is stricter; we only need to rule out bytes Node decoded as latin1). */
const PATH_CHARS = /^[\x21-\x7e]*$/;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks a decoded key: 1..keyBytesMax bytes of well-formed UTF-8. Used for keys from
 * the HTTP path and from WebSocket frames alike.
 */
export function checkKey(key: string): string {
  if (key.length === 0) throw bad('the key is empty; keys are 1 to 512 bytes of UTF-8');
  // A JS string from a decoder can still hold lone surrogates (e.g. from CBOR); they have
  // no UTF-8 form, so two keys would collapse into one replacement character on disk.
  if (LONE_SURROGATE.test(key)) throw bad('the key is not valid UTF-8 (it holds a lone surrogate)');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > keyBytesMax) throw bad(`the key is ${bytes} bytes of UTF-8; the limit is ${keyBytesMax}`);
  return key;
}

/**
 * Decodes the one path segment that names a key. The segment is percent-decoded as
 * UTF-8; `%2F` is a valid key character (CONTRACT: keys are any UTF-8), while a raw `/`
 * (an extra path segment) is refused, so `/v1/kv/a/b` is never silently the key `a/b`.
 */
export function decodeKeySegment(segment: string): string {
  if (segment.length === 0) throw bad('the key is missing; use /v1/kv/{key} with the key percent-encoded');
  if (segment.includes('/')) throw bad('the key has an unencoded "/"; percent-encode it as %2F');
  if (!PATH_CHARS.test(segment)) throw bad('the key has characters that are not percent-encoded');
  let key: string;
  try {
    key = decodeURIComponent(segment);
  } catch {
    throw bad('the key is not valid percent-encoded UTF-8');
  }
  return checkKey(key);
}

/**
 * Parses a quorum (`r` or `w`) into a number of replicas in 1..n. Accepts an integer
 * (as a number from a frame or decimal digits from a query), `one`, `quorum` (a majority
 * of n) or `all`. Anything else, or a number outside 1..n, is refused.
 */
export function parseQuorum(name: string, raw: QuorumForm, n: number): number {
  if (raw === 'one') return 1;
  if (raw === 'quorum') return Math.floor(n / 2) + 1;
  if (raw === 'all') return n;
  let value: number;
  if (typeof raw === 'number') {
    value = raw;
  } else if (/^[0-9]{1,3}$/.test(raw)) {
    value = Number(raw);
  } else {
    throw bad(`${name} must be 1..${n}, one, quorum or all; got ${JSON.stringify(raw.slice(0, 32))}`);
  }
  if (!Number.isInteger(value) || value < 1 || value > n) {
    throw bad(`${name} must be 1..${n}, one, quorum or all; got ${String(value)}`);
  }
  return value;
}

/** Parses `timeout_ms`: a positive integer no larger than requestTimeoutMsMax. */
export function parseTimeoutMs(raw: number | string): number {
  let value: number;
  if (typeof raw === 'number') {
    value = raw;
  } else if (/^[0-9]{1,9}$/.test(raw)) {
    value = Number(raw);
  } else {
    throw bad(`timeout_ms must be a positive integer up to ${requestTimeoutMsMax}; got ${JSON.stringify(raw.slice(0, 32))}`);
  }
  if (!Number.isInteger(value) || value < 1 || value > requestTimeoutMsMax) {
    throw bad(`timeout_ms must be a positive integer up to ${requestTimeoutMsMax}; got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a context token before the node decodes it: present tokens are non-empty and
 * at most contextTokenCharsMax characters. Its content is the node's to judge (it throws
 * BAD_REQUEST on a token it cannot decode).
 */
export function checkContext(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.length === 0) throw bad('X-Shoal-Context is empty; omit it for a blind write');
  if (raw.length > contextTokenCharsMax) {
    throw bad(`X-Shoal-Context is ${raw.length} characters; the limit is ${contextTokenCharsMax}`);
  }
  return raw;
}

/** Query parameters each kv route accepts; any other (a typo such as `W=1`) is a 400. */
export const KV_PARAMS: Readonly<Record<'GET' | 'PUT' | 'DELETE', readonly string[]>> = {
  GET: ['r', 'timeout_ms'],
  PUT: ['w', 'timeout_ms'],
  DELETE: ['w', 'timeout_ms'],
};

/**
 * Reads the kv query parameters. Unknown or repeated parameters are refused so a client
 * never silently gets a default it did not ask for.
 */
export function parseKvQuery(
  method: 'GET' | 'PUT' | 'DELETE',
  query: URLSearchParams,
  n: number,
): { quorum: number | undefined; timeoutMs: number | undefined } {
  const allowed = KV_PARAMS[method];
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      throw bad(`unknown query parameter ${JSON.stringify(name.slice(0, 32))}; ${method} takes ${allowed.join(', ')}`);
    }
    if (seen.has(name)) throw bad(`query parameter ${name} is given more than once`);
    seen.add(name);
  }
  const qName = method === 'GET' ? 'r' : 'w';
  const q = query.get(qName);
  const t = query.get('timeout_ms');
  return {
    quorum: q === null ? undefined : parseQuorum(qName, q, n),
    timeoutMs: t === null ? undefined : parseTimeoutMs(t),
  };
}
