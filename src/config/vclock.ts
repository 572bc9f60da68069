/**
 * Limits and defaults for src/vclock (dotted version vector sets). Each constant: unit
 * last in the name, and a sentence on why. The pruning four are Riak's bucket properties
 * small_vclock, big_vclock, young_vclock and old_vclock with Riak's defaults.
 */
import { wireContextBytesMax, wireEntriesMax, wireIdBytesMax } from './wire.js';

/**
 * Pruning never shrinks a clock to this many entries or fewer (Riak's small_vclock, 50):
 * a clock this small costs little, and every entry kept avoids a later false sibling.
 */
export const vclockSmallMax = 50;

/**
 * Above this many entries, value-free entries older than vclockYoungMs are pruned, oldest
 * first, until the clock is back at this size (Riak's big_vclock, 50).
 */
export const vclockBigMax = 50;

/**
 * An entry whose newest event is at most this old (ms) is never pruned (Riak's
 * young_vclock, 20 s): it may still be in some client's context or an in-flight write,
 * and dropping it now would turn that write into a false sibling.
 */
export const vclockYoungMs = 20_000;

/**
 * A value-free entry older than this (ms) is pruned whenever the clock has more than
 * vclockSmallMax entries, even below vclockBigMax (Riak's old_vclock, one day): an actor
 * silent for a day is most likely gone (a replaced node or an old storage epoch).
 */
export const vclockOldMs = 86_400_000;

/**
 * Siblings (live values plus tombstones) above which the node logs a warning: when a
 * write takes a key past it, and again at every 25 more.
 * 25 is Riak's siblings warning threshold: a key with that many siblings has writers
 * that do not read before they write, which is worth an operator's attention.
 */
export const siblingsWarnMax = 25;

/**
 * Siblings (live values plus tombstones) a client write may leave on a key: a write that
 * would leave more is refused with TOO_LARGE (HTTP 413), as Riak refuses at 100
 * (siblings_maximum); the writer reads the siblings and writes back with their context.
 * Merging them with a resolver instead (capSiblings, as this node did before) would drop
 * values of writes already acknowledged. It binds each coordinator, not replica merges:
 * the sides of a partition can each add up to 100, so wireSiblingsMax (1024) sits far
 * above it, and such a key is still replicated, read and resolved.
 */
export const siblingsHardMax = 100;

/**
 * Most actor entries in one context token; a token with more is refused (BAD_REQUEST).
 * Pruning keeps value-free entries near vclockBigMax and the sibling cap bounds the
 * entries holding values, so a real clock stays far below this; equal to wireEntriesMax
 * so any clock the wire accepts can be handed to a client.
 */
export const contextEntriesMax = wireEntriesMax;

/**
 * Longest context token in characters (ASCII, so also bytes); a longer token is refused
 * before it is decoded. Equal to wireContextBytesMax: 16 KiB holds a few hundred actor
 * ids. Note Node's default HTTP header limit is also 16 KiB in total.
 */
export const contextTokenBytesMax = wireContextBytesMax;

/** Longest actor id in a context token, in UTF-8 bytes: the same limit the wire applies to ids. */
export const contextIdBytesMax = wireIdBytesMax;
