/**
 * The peer envelope: how frames sit inside one WebSocket message (or one memory
 * delivery). Pure byte layout; no I/O.
 *
 *   message = frame+                         (at least one frame, nothing after the last)
 *   frame   = kind:u8  id:u32be  length:u32be  payload:length bytes
 *
 * Kinds: 1 request (id != 0), 2 response (id of the request), 3 one-way (id = 0),
 * 4 error-response (id of the request; payload = codeLength:u8 code:ASCII message:UTF-8).
 * Anything else (empty message, truncated header or payload, a length over the payload
 * limit, an unknown kind, an id that breaks the rules above) is a protocol violation: the
 * decoder throws ShoalError DECODE and the WebSocket transport closes that connection
 * with 1007.
 */
import { codeFromWire, ERROR_CODES, ShoalError, type ErrorCode } from '../errors/index.js';

export const FrameKind = { request: 1, response: 2, oneWay: 3, error: 4 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Frame {
  kind: FrameKind;
  /** Correlation id (uint32): nonzero for request, response and error; 0 for one-way. */
  id: number;
  payload: Uint8Array;
}

/** Bytes of a frame header: kind (1) + id (4) + length (4). */
export const frameHeaderBytes = 9;

/** Encoded size of one frame. */
export function frameBytes(frame: Frame): number {
  return frameHeaderBytes + frame.payload.byteLength;
}

/** Encodes frames back to back into one buffer (one WebSocket message). */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += frameBytes(f);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of frames) {
    view.setUint8(at, f.kind);
    view.setUint32(at + 1, f.id >>> 0);
    view.setUint32(at + 5, f.payload.byteLength);
    out.set(f.payload, at + frameHeaderBytes);
    at += frameBytes(f);
  }
  return out;
}

/**
 * Decodes and validates one message. Payloads are views into `bytes` (no copy). Throws
 * ShoalError DECODE with a short reason on any violation.
 */
export function decodeFrames(bytes: Uint8Array, payloadBytesMax: number): Frame[] {
  if (bytes.byteLength === 0) throw new ShoalError('DECODE', 'empty message');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Frame[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (bytes.byteLength - at < frameHeaderBytes) throw new ShoalError('DECODE', 'truncated frame header');
    const kind = view.getUint8(at);
    const id = view.getUint32(at + 1);
    const length = view.getUint32(at + 5);
    if (kind < FrameKind.request || kind > FrameKind.error) throw new ShoalError('DECODE', `unknown frame kind ${kind}`);
    if (length > payloadBytesMax) throw new ShoalError('DECODE', `frame payload ${length} bytes over limit ${payloadBytesMax}`);
    if (kind === FrameKind.oneWay ? id !== 0 : id === 0) throw new ShoalError('DECODE', `bad correlation id ${id} for kind ${kind}`);
    const start = at + frameHeaderBytes;
    if (bytes.byteLength - start < length) throw new ShoalError('DECODE', 'truncated frame payload');
    frames.push({ kind: kind as FrameKind, id, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Longest error message carried in an error-response; longer ones are cut (details belong in logs). */
const errorMessageBytesMax = 1024;

/** Payload of an error-response: the error's wire code and message. */
export function encodeError(err: ShoalError): Uint8Array {
  const code = utf8.encode(err.wireCode);
  let message = utf8.encode(err.message);
  if (message.byteLength > errorMessageBytesMax) message = message.subarray(0, errorMessageBytesMax);
  const out = new Uint8Array(1 + code.byteLength + message.byteLength);
  out[0] = code.byteLength;
  out.set(code, 1);
  out.set(message, 1 + code.byteLength);
  return out;
}

/**
 * Error-response payload back to a ShoalError. A malformed payload is still an error
 * answer (the request failed); it becomes INTERNAL rather than a protocol violation.
 */
export function decodeError(payload: Uint8Array, peer: string): ShoalError {
  const codeLength = payload[0];
  if (codeLength === undefined || payload.byteLength < 1 + codeLength) {
    return new ShoalError('INTERNAL', `malformed error answer from ${peer}`, { details: { peer } });
  }
  let code: ErrorCode = 'INTERNAL';
  let message = '';
  try {
    const wire = utf8Strict.decode(payload.subarray(1, 1 + codeLength));
    code = codeFromWire(wire);
    if (!(code in ERROR_CODES)) code = 'INTERNAL';
    message = new TextDecoder().decode(payload.subarray(1 + codeLength));
  } catch {
    return new ShoalError('INTERNAL', `malformed error answer from ${peer}`, { details: { peer } });
  }
  return new ShoalError(code, message, { details: { peer, remote: true } });
}
