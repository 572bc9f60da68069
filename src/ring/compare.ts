import { ShoalError } from '../errors/index.js';
import { hashKey } from './hash.js';
import type { RingState } from './types.js';

/** One partition transfer: `partition` moves from `from` to `to`. */
export interface Transfer {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/** The partitions whose owner differs between `a` (old) and `b` (new), ascending. */
export function diff(a: RingState, b: RingState): Transfer[] {
  if (a.partitions !== b.partitions || a.owners.length !== b.owners.length) {
    throw new ShoalError('INVALID_CONFIG', `cannot diff rings of ${a.partitions} and ${b.partitions} partitions`);
  }
  const out: Transfer[] = [];
  for (let p = 0; p < a.owners.length; p++) {
    const from = a.owners[p]!;
    const to = b.owners[p]!;
    if (from !== to) out.push({ partition: p, from, to });
  }
  return out;
}

/**
 * The gossip order on rings: positive when `a` should win over `b`, negative when `b`
 * should, zero only for identical rings. Higher version wins; equal versions (two nodes
 * claimed concurrently) are ordered by claimant id, then by a hash of the owners, then by
 * the owners themselves, so every node adopts the same one of any set of rings.
 */
export function compareRings(a: RingState, b: RingState): number {
  if (a.version !== b.version) return a.version > b.version ? 1 : -1;
  if (a.claimant !== b.claimant) return a.claimant > b.claimant ? 1 : -1;
  if (a.partitions !== b.partitions) return a.partitions > b.partitions ? 1 : -1;
  const ha = ownersHash(a);
  const hb = ownersHash(b);
  if (ha.hi !== hb.hi) return ha.hi > hb.hi ? 1 : -1;
  if (ha.lo !== hb.lo) return ha.lo > hb.lo ? 1 : -1;
  for (let p = 0; p < a.owners.length; p++) {
    const x = a.owners[p]!;
    const y = b.owners[p]!;
    if (x !== y) return x > y ? 1 : -1;
  }
  // Same owners: a pending change orders after none, then by its owners.
  if (!a.next !== !b.next) return a.next ? 1 : -1;
  if (a.next && b.next) {
    for (let p = 0; p < a.next.length; p++) {
      const x = a.next[p]!;
      const y = b.next[p]!;
      if (x !== y) return x > y ? 1 : -1;
    }
  }
  return 0;
}

/** Hash of the owner list (XXH64 of the ids joined by NUL, then the pending owners if any), e.g. for gossip digests. */
export function ownersHash(ring: RingState): { hi: number; lo: number } {
  return hashKey(ring.next ? `${ring.owners.join('\u0000')}\u0001${ring.next.join('\u0000')}` : ring.owners.join('\u0000'));
}
