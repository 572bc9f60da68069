/**
 * Limits for src/wire: every frame is checked against these before cbor-x decodes it and
 * before any logic sees it. A frame over any of them is refused whole (ShoalError DECODE,
 * or TOO_LARGE for sizes); the server closes that connection (docs/protocol.md).
 */

/**
 * Deepest CBOR nesting accepted. Our deepest message (rput → o → e → entry → values →
 * sibling) is 6 levels; 16 leaves room for new fields while keeping the decoder's
 * recursion shallow, so a frame of ten thousand nested arrays cannot exhaust the stack.
 */
export const wireDepthMax = 16;

/**
 * Most CBOR data items in one frame (every array element, map key and map value counts).
 * A gossip frame of a 16384-partition ring with 1024 members is about 30k items; beyond
 * this a frame costs more to decode than any legitimate message needs.
 */
export const wireItemsMax = 65_536;

/**
 * Most entries in one CBOR map. Our largest message map has 7 fields; a cap keeps the
 * duplicate-key check in the pre-scan cheap and makes field-stuffing frames fail early.
 */
export const wireMapEntriesMax = 16;

/**
 * Most actor entries in one DVVSet on the wire. Pruning keeps real clocks far smaller
 * (Riak's big_vclock is 50); a peer sending more is broken or hostile.
 */
export const wireEntriesMax = 256;

/**
 * Most siblings (live values plus tombstones, over all entries and `a`) in one DVVSet on
 * the wire, and most values in a client get answer. A coordinator refuses a client write
 * past siblingsHardMax (100), but replica merges never refuse or drop: the sides of a
 * partition each accept up to 100, and once healed the key holds their sum. At 128, two
 * sides were enough to make a key that no peer could decode, so it was never replicated,
 * repaired or read again (test/node/sibling-limits.test.ts). 1024 leaves room for ten
 * sides; the frame's byte cap still bounds what one message can make a node allocate.
 */
export const wireSiblingsMax = 1024;

/**
 * Longest node id or actor id (`node#epoch`) in UTF-8 bytes. Node ids default to
 * HOST:PORT; 256 bytes holds any DNS name plus a port and an epoch.
 */
export const wireIdBytesMax = 256;

/** Longest HOST:PORT address in UTF-8 bytes: a 253-byte DNS name, brackets, colon and port. */
export const wireAddrBytesMax = 270;

/**
 * Longest context token in characters (tokens are ASCII, so also bytes). The vclock
 * engineer's encoder must keep tokens within this; 16 KiB holds a clock of a few hundred
 * actors after pruning.
 */
export const wireContextBytesMax = 16_384;

/** Most members in one gossip frame or ring answer: far more nodes than one ring of 2^14 partitions can use. */
export const wireMembersMax = 1024;

/** Longest error code on the wire (codes are short identifiers such as `unavailable`). */
export const wireErrorCodeBytesMax = 64;

/** Longest error message on the wire; longer explanations belong in logs, not frames. */
export const wireErrorMessageBytesMax = 1024;

/**
 * Longest per-request timeout a frame may ask for (ten minutes). Larger values would pin
 * coordinator state for no useful purpose.
 */
export const wireTimeoutMsMax = 600_000;

/**
 * Value bytes a peer frame (and a client get answer) may carry, as a multiple of the node's
 * --max-value-bytes: a read answer holds every sibling. An object whose siblings together
 * exceed this cannot be replicated, so the vclock sibling cap must keep objects below it.
 */
export const wireFrameValuesMax = 8;

/**
 * Bytes a peer frame (or a client answer) may carry besides values: a gossip frame at every
 * limit at once (16384 owners and 1024 members and suspects, all with 256-byte ids) is
 * about 4.9 MiB; 6 MiB covers it, and key, clock and dots are far smaller. At the default
 * --max-value-bytes a peer frame may be 14 MiB, within the transport's 16 MiB payload cap.
 */
export const wirePeerOverheadBytes = 6 * 1_048_576;

/**
 * Bytes of a peer frame kept back, when a key's siblings are bounded by what one frame
 * carries (src/node/node.ts: siblingBytesMax), for everything of an object besides its
 * values: key (512), a full clock (256 entries of 256-byte ids, ~70 KiB), 100 siblings'
 * dots and timestamps, the message around them. 1 MiB is several times all of it.
 */
export const wireObjectMarginBytes = 1_048_576;

/**
 * Bytes a client request may carry besides its one value: key (512), context token
 * (16 KiB) and a handful of small fields, with room to spare.
 */
export const wireClientRequestOverheadBytes = 65_536;

/**
 * Keys in one partition-transfer batch (xfer_pull/xfer_batch/xfer_push). Small enough that a
 * batch of typical objects stays far below the peer frame cap; the sender also stops adding
 * items at transferBatchBytesMax, so large values never make an oversized frame.
 */
export const wireTransferKeysMax = 256;
