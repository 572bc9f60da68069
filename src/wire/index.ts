/**
 * # Wire: CBOR frames and their validation
 *
 * Every byte that arrives on a socket is hostile until proven otherwise. A Dynamo-style
 * store is unusually exposed: any node accepts client frames, every peer accepts frames
 * from every other, and a single frame that crashes a decoder or pins a gigabyte of memory
 * takes a replica away. So a frame passes three gates, cheapest first, before any protocol
 * logic sees it:
 *
 * 1. **Size.** The frame's length against a cap derived from --max-value-bytes
 *    (`frameLimits`): a client request holds one value plus 64 KiB, a peer frame or client
 *    answer up to eight values (all siblings of a read) plus 6 MiB for gossip. Over it:
 *    TOO_LARGE. Transports set the same caps on their sockets (ws `maxPayload`), so an
 *    oversized frame is normally refused before it is even buffered.
 * 2. **Structure** (`scanCbor`). One pass over the bytes that trusts no declared length:
 *    a header claiming a 4 GiB array fails at once because the array's elements would
 *    need more bytes than remain; nesting, item count and map size are bounded; tags,
 *    indefinite lengths, reserved encodings and invalid UTF-8 are refused; map keys must
 *    be unique text strings other than `__proto__`, `constructor` and `prototype`. The
 *    scan allocates nothing from what the frame declares, so its cost is linear in the
 *    bytes already received. This is what makes it safe to hand the bytes to cbor-x,
 *    which does trust lengths, recurses, and knows many tags.
 * 3. **Schema** (`schema.ts`, `schemas.ts`). cbor-x decodes into plain objects (no
 *    records, no structures), and a per-message schema, chosen by the `t` field, checks
 *    every field: unknown fields refused, integers safe and in range, strings measured in
 *    UTF-8 bytes, byte strings and arrays counted, DVVSet entries sorted with at most n
 *    values each. An error names the field (`field o.e[3][1]: expected unsigned
 *    integer`). A value over --max-value-bytes is TOO_LARGE (the API answers 413), all
 *    else is DECODE.
 *
 * Decoding never throws anything but a ShoalError with code DECODE or TOO_LARGE; the fuzz
 * test in test/wire feeds it random, mutated and adversarial frames to hold it to that.
 * Decoded byte strings are views into the frame (no copy), so a caller must not reuse the
 * frame's memory while the message is alive. Encoding reuses one cbor-x Encoder per codec
 * and copies each value once, into the frame; the frame layouts are in docs/protocol.md.
 *
 * Why CBOR and not JSON: values are opaque bytes (JSON would need base64, a third more
 * bytes and a copy), and CBOR's definite lengths are what let the pre-scan bound a frame
 * in one pass. Why our own tiny schema DSL: a dependency would be larger than the
 * validator, and the DSL is built around the two things we need most: no copies and error
 * paths that name the field.
 */
export type * from './messages.js';
export {
  createClientCodec,
  createPeerCodec,
  frameLimits,
  validateClientRequest,
  validateClientResponse,
  validateDvvSetWire,
  validatePeerMessage,
  type ClientCodec,
  type CodecOptions,
  type FrameLimits,
  type PeerCodec,
} from './codec.js';
export { scanCbor, type ScanLimits } from './scan.js';
export {
  alt,
  arr,
  bytes,
  formatPath,
  lit,
  nullable,
  obj,
  oneOf,
  opt,
  refine,
  str,
  tagged,
  tuple,
  bool,
  uint,
  utf8Length,
  type Infer,
  type Path,
  type Schema,
} from './schema.js';
export { createSchemas, dvv, key, type Schemas } from './schemas.js';
