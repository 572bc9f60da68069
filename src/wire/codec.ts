/**
 * The peer and client codecs: encode with one reused cbor-x Encoder, decode as
 * size cap → structural pre-scan → cbor-x → schema. Nothing here imports from node:, and
 * nothing uses Buffer, so the client codec runs in browsers (cbor-x is browser-safe).
 */
import { Decoder, Encoder } from 'cbor-x';
import { isShoalError, ShoalError } from '../errors/index.js';
import {
  wireClientRequestOverheadBytes,
  wireDepthMax,
  wireFrameValuesMax,
  wireItemsMax,
  wireMapEntriesMax,
  wirePeerOverheadBytes,
} from '../config/wire.js';
import type { ClientRequest, ClientResponse, DVVSetWire, PeerMessage } from './messages.js';
import { scanCbor, type ScanLimits } from './scan.js';
import { isPlainObject, type Schema } from './schema.js';
import { createSchemas, type Schemas } from './schemas.js';

export interface CodecOptions {
  /** The node's --max-value-bytes: values above it are TOO_LARGE. */
  maxValueBytes: number;
}

/** Frame size caps derived from --max-value-bytes; transports should set their socket limits to these. */
export interface FrameLimits {
  /** Any peer frame: a read answer may hold every sibling of an object, plus gossip-sized overhead. */
  readonly peerFrameBytesMax: number;
  /** A client request: one value plus key, context and small fields. */
  readonly clientRequestFrameBytesMax: number;
  /** A client answer: several sibling values, or a ring answer. */
  readonly clientResponseFrameBytesMax: number;
}

export function frameLimits(options: CodecOptions): FrameLimits {
  checkOptions(options);
  const values = options.maxValueBytes * wireFrameValuesMax;
  return {
    peerFrameBytesMax: values + wirePeerOverheadBytes,
    clientRequestFrameBytesMax: options.maxValueBytes + wireClientRequestOverheadBytes,
    clientResponseFrameBytesMax: values + wirePeerOverheadBytes,
  };
}

function checkOptions(options: CodecOptions): void {
  const m = options.maxValueBytes;
  if (!Number.isSafeInteger(m) || m < 0) {
    throw new ShoalError('INVALID_CONFIG', `maxValueBytes must be a non-negative integer, got ${String(m)}`);
  }
}

function scanLimits(bytesMax: number): ScanLimits {
  return { bytesMax, depthMax: wireDepthMax, itemsMax: wireItemsMax, mapEntriesMax: wireMapEntriesMax };
}

/**
 * cbor-x options. `useRecords: false` keeps cbor-x's record extension (tag 105, objects
 * rebuilt from shared structures) out of both directions; `mapsAsObjects` gives plain
 * objects; `tagUint8Array: false` sends a Uint8Array as a bare byte string (major type 2)
 * instead of tag 64, so the scanner can refuse every tag; `variableMapSize` uses the
 * shortest map header.
 */
const CBOR_OPTIONS = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true } as const;

function makeEncoder(): (m: unknown) => Uint8Array {
  const encoder = new Encoder(CBOR_OPTIONS);
  // The returned bytes are a view into cbor-x's buffer; cbor-x starts the next encoding
  // after them, so they stay valid, but callers must not use `.buffer` as if it were theirs.
  return (m) => encoder.encode(m);
}

function makeDecoder<T>(schema: Schema<T>, bytesMax: number, annotate?: (raw: unknown, err: ShoalError) => ShoalError): (b: Uint8Array) => T {
  const decoder = new Decoder(CBOR_OPTIONS);
  const limits = scanLimits(bytesMax);
  return (b) => {
    if (!(b instanceof Uint8Array)) throw new ShoalError('DECODE', 'frame is not a byte array');
    scanCbor(b, limits);
    let raw: unknown;
    try {
      raw = decoder.decode(b);
    } catch (err) {
      // The scan should leave cbor-x nothing to object to; if it still does, that is a
      // bad frame, never a crash.
      throw new ShoalError('DECODE', `cbor: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    try {
      return schema.check(raw, []);
    } catch (err) {
      if (isShoalError(err)) throw annotate === undefined ? err : annotate(raw, err);
      throw new ShoalError('DECODE', `invalid frame: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
}

/**
 * Adds the request id (when it was readable) to an error about a client request, so the
 * server can answer `err` for that id (e.g. too_large for an oversized value) instead of
 * only closing the connection.
 */
function annotateRequest(raw: unknown, err: ShoalError): ShoalError {
  if (!isPlainObject(raw)) return err;
  const id = Object.hasOwn(raw, 'id') ? raw.id : undefined;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return err;
  return new ShoalError(err.code, err.message, { details: { ...err.details, id } });
}

export interface PeerCodec {
  encode(m: PeerMessage): Uint8Array;
  /** Throws ShoalError DECODE or TOO_LARGE on anything invalid, never anything else. */
  decode(b: Uint8Array): PeerMessage;
}

export interface ClientCodec {
  encodeRequest(m: ClientRequest): Uint8Array;
  /**
   * Throws ShoalError DECODE or TOO_LARGE. When the frame was a readable map with a valid
   * `id`, the error's `details.id` holds it.
   */
  decodeRequest(b: Uint8Array): ClientRequest;
  encodeResponse(m: ClientResponse): Uint8Array;
  decodeResponse(b: Uint8Array): ClientResponse;
}

export function createPeerCodec(options: CodecOptions): PeerCodec {
  const limits = frameLimits(options);
  const schemas = createSchemas(options.maxValueBytes);
  const encode = makeEncoder();
  const decode = makeDecoder(schemas.peer, limits.peerFrameBytesMax);
  return { encode, decode };
}

export function createClientCodec(options: CodecOptions): ClientCodec {
  const limits = frameLimits(options);
  const schemas = createSchemas(options.maxValueBytes);
  const encode = makeEncoder();
  return {
    encodeRequest: encode,
    decodeRequest: makeDecoder(schemas.clientRequest, limits.clientRequestFrameBytesMax, annotateRequest),
    encodeResponse: encode,
    decodeResponse: makeDecoder(schemas.clientResponse, limits.clientResponseFrameBytesMax),
  };
}

// ---------------------------------------------------------------- validate without decoding

/** Schemas for the last maxValueBytes asked for; one node uses one value limit. */
let cached: { maxValueBytes: number; schemas: Schemas } | undefined;

function schemasFor(options: CodecOptions): Schemas {
  if (cached === undefined || cached.maxValueBytes !== options.maxValueBytes) {
    checkOptions(options);
    cached = { maxValueBytes: options.maxValueBytes, schemas: createSchemas(options.maxValueBytes) };
  }
  return cached.schemas;
}

/** Checks an already-decoded value against the peer schemas; returns it typed or throws ShoalError. */
export function validatePeerMessage(v: unknown, options: CodecOptions): PeerMessage {
  return schemasFor(options).peer.check(v, []);
}

export function validateClientRequest(v: unknown, options: CodecOptions): ClientRequest {
  return schemasFor(options).clientRequest.check(v, []);
}

export function validateClientResponse(v: unknown, options: CodecOptions): ClientResponse {
  return schemasFor(options).clientResponse.check(v, []);
}

/** Checks a DVVSet in wire form (e.g. one read back from storage in the same shape). */
export function validateDvvSetWire(v: unknown, options: CodecOptions): DVVSetWire {
  return schemasFor(options).dvv.check(v, []);
}
