/**
 * Types of the dotted version vector set (Riak's dvvset, Almeida et al. 2014).
 *
 * A `DVVSet` is the whole stored state of one key on one replica: the sibling values
 * together with the causal history that produced them. Each entry `(id, n, values)`
 * says "actor `id` has issued events 1..n, and the newest `values.length` of them still
 * carry live values": `values[0]` has the dot `(id, n)`, `values[1]` the dot
 * `(id, n - 1)`, and so on. `anon` holds values without a dot (only ever present in a
 * client's proposed write, before a replica assigns the dot).
 */

/** One sibling: value bytes, or `null` for a tombstone (a delete is a write of a tombstone). */
export interface Sibling {
  /** The value's bytes; `null` marks a tombstone. */
  readonly value: Uint8Array | null;
  /** Wall-clock ms at the coordinator when written (for resolvers and operators; never for ordering). */
  readonly ts: number;
}

export interface Entry {
  /** Actor id: a replica's node id plus its storage epoch (`node#epoch`), so a wiped node never reuses dots. */
  readonly id: string;
  /** Highest event counter seen from this actor. */
  readonly n: number;
  /** Live values, newest first: values[i] has dot (id, n - i). */
  readonly values: readonly Sibling[];
  /** Wall-clock ms of the newest event from this actor this replica has seen (for pruning by age). */
  readonly ts: number;
}

export interface DVVSet {
  /** Sorted by `id` (byte order of the UTF-16 code units, i.e. JS `<`), ids unique. */
  readonly entries: readonly Entry[];
  /** Values with no dot yet (a client's proposal before a replica assigns one). */
  readonly anon: readonly Sibling[];
}

/** A causal context: actor id to counter, sorted by id, counters > 0. */
export type VersionVector = ReadonlyArray<readonly [id: string, n: number]>;
