/**
 * One error class with stable codes (abstract-level and ws do the same). Operating
 * failures (bad input, a peer that timed out, a corrupt record) are `ShoalError`s with a
 * code from the table below; broken invariants are `assert` failures that crash loudly.
 *
 * Codes are part of the public interface: the HTTP API and the SDK expose them, so a
 * code is never renamed or reused for a different meaning.
 */

export const ERROR_CODES = {
  /** Malformed key, parameter, context token or request body. HTTP 400. */
  BAD_REQUEST: { http: 400, wire: 'bad_request' },
  /** Missing or wrong client token. HTTP 401. */
  UNAUTHORIZED: { http: 401, wire: 'unauthorized' },
  /** The request is not allowed for this caller (e.g. a browser Origin not allowed). HTTP 403. */
  FORBIDDEN: { http: 403, wire: 'forbidden' },
  /** No such route or resource. HTTP 404. */
  NOT_FOUND: { http: 404, wire: 'not_found' },
  /** Method not allowed on this route. HTTP 405. */
  METHOD_NOT_ALLOWED: { http: 405, wire: 'method_not_allowed' },
  /** A value, key, frame or body over its limit. HTTP 413. */
  TOO_LARGE: { http: 413, wire: 'too_large' },
  /** Fewer than R or W replicas answered in time; a write may still have landed. HTTP 503. */
  UNAVAILABLE: { http: 503, wire: 'unavailable' },
  /** Too much work in flight on this node or connection; retry later. HTTP 503. */
  OVERLOADED: { http: 503, wire: 'overloaded' },
  /** A request to a peer timed out. */
  TIMEOUT: { http: 503, wire: 'timeout' },
  /** A connection or component was closed while a request was in flight. */
  CLOSED: { http: 503, wire: 'closed' },
  /** Bytes from disk failed their checksum or could not be decoded. */
  CORRUPT: { http: 500, wire: 'corrupt' },
  /** A frame was not well-formed CBOR or did not match its message schema. */
  DECODE: { http: 400, wire: 'decode' },
  /** A peer failed the cluster-secret handshake, or claimed another node's identity. */
  AUTH_FAILED: { http: 401, wire: 'auth_failed' },
  /** A peer's cluster-wide settings (N, partitions) differ from ours. */
  CONFIG_MISMATCH: { http: 400, wire: 'config_mismatch' },
  /** Invalid command-line flags or configuration. */
  INVALID_CONFIG: { http: 400, wire: 'invalid_config' },
  /** Storage engine failure that is not corruption (I/O error, closed database). */
  STORAGE: { http: 500, wire: 'storage' },
  /** A condition that should not happen but is survivable; logged and reported. */
  INTERNAL: { http: 500, wire: 'internal' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ShoalError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShoalError';
    this.code = code;
    this.details = options?.details;
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].http;
  }

  /** The lowercase code used on the wire and in HTTP error bodies. */
  get wireCode(): string {
    return ERROR_CODES[this.code].wire;
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.wireCode, message: this.message } };
  }
}

export function isShoalError(err: unknown, code?: ErrorCode): err is ShoalError {
  return err instanceof ShoalError && (code === undefined || err.code === code);
}

/** Maps a lowercase wire code back to its ErrorCode (for the SDK); unknown codes map to INTERNAL. */
export function codeFromWire(wire: string): ErrorCode {
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    if (info.wire === wire) return code as ErrorCode;
  }
  return 'INTERNAL';
}

/**
 * Invariant check. A failed assertion is a bug, not an operating condition: it throws a
 * plain Error (not a ShoalError) so nothing upstream mistakes it for a recoverable case.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
