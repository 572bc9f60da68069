import type { PreferenceList } from '../ring/types.js';

/** One node a write or read is sent to. `hintFor` names the primary a fallback stands in for. */
export interface ReplicaTarget {
  readonly node: string;
  readonly hintFor?: string;
}

export interface ReplicaPlan {
  /** The first N reachable nodes of the preference list, primaries first. */
  readonly targets: readonly ReplicaTarget[];
  /** Primaries that are down and that no fallback could stand in for (S ≤ N): the coordinator keeps their hints. */
  readonly uncovered: readonly string[];
}

/**
 * Sloppy quorum target selection (Dynamo §4.6): walk the N primaries; each reachable one
 * is a target; each unreachable one is replaced by the next reachable fallback in ring
 * order, which receives the write as a hinted copy for it. When the fallbacks run out
 * (a cluster of N nodes or fewer, or many failures) the primary is "uncovered" and the
 * coordinator owes it the write as a hint of its own (Cassandra's coordinator-held hints).
 */
export function planReplicas(pref: PreferenceList, isReachable: (node: string) => boolean): ReplicaPlan {
  const targets: ReplicaTarget[] = [];
  const uncovered: string[] = [];
  let f = 0;
  for (const primary of pref.primaries) {
    if (isReachable(primary)) {
      targets.push({ node: primary });
      continue;
    }
    let stand: string | undefined;
    while (f < pref.fallbacks.length) {
      const candidate = pref.fallbacks[f++]!;
      if (isReachable(candidate)) {
        stand = candidate;
        break;
      }
    }
    if (stand === undefined) uncovered.push(primary);
    else targets.push({ node: stand, hintFor: primary });
  }
  return { targets, uncovered };
}
