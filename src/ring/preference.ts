import { ShoalError } from '../errors/index.js';
import { validatePartitions } from './hash.js';
import type { PreferenceList, RingState } from './types.js';

/**
 * The preference list of `partition`: walk the ring clockwise from it; the first `n`
 * distinct owners met are the primaries, every other owner follows in the order first
 * met, as fallbacks. Repeated owners are skipped, so the primaries are always distinct
 * nodes even where the placement could not be spaced. Only nodes that own at least one
 * partition appear (the ring does not record members that own nothing).
 */
export function preferenceList(ring: RingState, partition: number, n: number): PreferenceList {
  checkRing(ring);
  checkPartition(ring, partition);
  checkN(n);
  return walk(ring.owners, partition, n, new Set(ring.owners).size);
}

/** The walk stops once all `distinct` owners are met: O(S) steps on a spread ring, not O(Q). */
function walk(owners: readonly string[], partition: number, n: number, distinct: number): PreferenceList {
  const q = owners.length;
  const seen = new Set<string>();
  const primaries: string[] = [];
  const fallbacks: string[] = [];
  for (let i = 0; i < q && seen.size < distinct; i++) {
    const o = owners[(partition + i) % q]!;
    if (seen.has(o)) continue;
    seen.add(o);
    if (primaries.length < n) primaries.push(o);
    else fallbacks.push(o);
  }
  return { primaries, fallbacks };
}

function checkRing(ring: RingState): void {
  validatePartitions(ring.partitions);
  if (ring.owners.length !== ring.partitions) {
    throw new ShoalError('INVALID_CONFIG', `ring has ${ring.owners.length} owners for ${ring.partitions} partitions`);
  }
}

function checkPartition(ring: RingState, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= ring.partitions) {
    throw new ShoalError('BAD_REQUEST', `partition ${String(partition)} is not in [0, ${ring.partitions})`);
  }
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ShoalError('INVALID_CONFIG', `n must be a positive integer, got ${String(n)}`);
}

/**
 * Per-ring precomputation for the request path: the coordinator asks for a preference
 * list on every request, so each list is computed once per (ring, n) on first use and
 * then returned as the same frozen object. Rings are immutable values; a new ring
 * version gets a new RingIndex. Memory is O(Q * S) names at worst (Q lists of S).
 */
export class RingIndex {
  readonly ring: RingState;
  readonly n: number;
  private readonly lists: Array<PreferenceList | undefined>;
  private readonly distinct: number;
  private byNode: Map<string, readonly number[]> | undefined;
  private primariesByNode: Map<string, readonly number[]> | undefined;

  constructor(ring: RingState, n: number) {
    checkRing(ring);
    checkN(n);
    this.ring = ring;
    this.n = n;
    this.lists = new Array<PreferenceList | undefined>(ring.partitions).fill(undefined);
    this.distinct = new Set(ring.owners).size;
  }

  /** Preference list of a partition (cached). */
  preferenceList(partition: number): PreferenceList {
    const hit = this.lists[partition];
    if (hit !== undefined) return hit;
    checkPartition(this.ring, partition);
    const list = walk(this.ring.owners, partition, this.n, this.distinct);
    Object.freeze(list.primaries);
    Object.freeze(list.fallbacks);
    Object.freeze(list);
    this.lists[partition] = list;
    return list;
  }

  /** The partitions `node` owns (is the first primary of), ascending. */
  partitionsOf(node: string): readonly number[] {
    if (this.byNode === undefined) {
      const map = new Map<string, number[]>();
      this.ring.owners.forEach((o, p) => {
        const list = map.get(o);
        if (list === undefined) map.set(o, [p]);
        else list.push(p);
      });
      this.byNode = map;
    }
    return this.byNode.get(node) ?? [];
  }

  /** The partitions for which `node` is one of the N primaries, ascending. */
  primariesOf(node: string): readonly number[] {
    if (this.primariesByNode === undefined) {
      const map = new Map<string, number[]>();
      for (let p = 0; p < this.ring.partitions; p++) {
        for (const o of this.preferenceList(p).primaries) {
          const list = map.get(o);
          if (list === undefined) map.set(o, [p]);
          else list.push(p);
        }
      }
      this.primariesByNode = map;
    }
    return this.primariesByNode.get(node) ?? [];
  }

  /** The distinct owners, sorted. */
  nodes(): readonly string[] {
    return [...new Set(this.ring.owners)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
