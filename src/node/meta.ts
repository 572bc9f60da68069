import { decode, encode } from 'cbor-x';
import { ShoalError } from '../errors/index.js';
import type { RingState } from '../ring/types.js';

/**
 * The ring as the node persists it in its store's meta space, so a restarted node keeps
 * serving with the ownership it last knew while gossip catches up.
 */
export function encodeRing(ring: RingState): Uint8Array {
  return encode({ v: 1, q: ring.partitions, version: ring.version, claimant: ring.claimant, owners: ring.owners, next: ring.next ?? null });
}

export function decodeRing(bytes: Uint8Array): RingState {
  let raw: unknown;
  try {
    raw = decode(bytes);
  } catch (err) {
    throw new ShoalError('CORRUPT', 'the persisted ring does not decode', { cause: err });
  }
  const r = raw as { v?: unknown; q?: unknown; version?: unknown; claimant?: unknown; owners?: unknown; next?: unknown };
  if (
    r.v !== 1 ||
    typeof r.q !== 'number' ||
    typeof r.version !== 'number' ||
    typeof r.claimant !== 'string' ||
    !Array.isArray(r.owners) ||
    r.owners.length !== r.q ||
    !r.owners.every((o) => typeof o === 'string')
  ) {
    throw new ShoalError('CORRUPT', 'the persisted ring has the wrong shape');
  }
  const next = r.next;
  if (Array.isArray(next) && next.length === r.q && next.every((o) => typeof o === 'string')) {
    return { partitions: r.q, version: r.version, claimant: r.claimant, owners: r.owners as string[], next: next as string[] };
  }
  return { partitions: r.q, version: r.version, claimant: r.claimant, owners: r.owners as string[] };
}
