import { SeededRandom } from '../env/index.js';
import * as cfg from '../config/index.js';

/**
 * A plan is everything a simulated run does, as data: the cluster's shape, the network's
 * character, the client operations and the fault schedule. `planFromSeed` draws one from a
 * seed; fast-check builds them directly (so it can shrink them). Nodes are referred to by
 * index (0-based; node `i` is called `n${i + 1}`), keys by index (`k${i}`).
 */
export interface Plan {
  /** Seed of everything the plan does not fix: message jitter, drops, node randomness. */
  readonly seed: number;
  readonly nodes: number;
  readonly n: number;
  readonly partitions: number;
  readonly keys: number;
  readonly network: NetworkPlan;
  /** One list per client; a client runs its operations one after another. */
  readonly clients: ReadonlyArray<readonly OpPlan[]>;
  readonly faults: readonly FaultPlan[];
  /** Safety phase length, ms (faults start within it). */
  readonly safetyMs: number;
  /** Per-node clock skew at start, ms (wall clock only). */
  readonly skewMs: readonly number[];
  /** Tombstone grace period of every node, ms (absent: the node's default, longer than a run). */
  readonly tombstoneGraceMs?: number;
}

export interface NetworkPlan {
  /** Base one-way latency of each ordered pair, ms: pathDelayMs[from][to]. */
  readonly pathDelayMs: ReadonlyArray<readonly number[]>;
  /** Mean of the exponential jitter added to every message, ms. */
  readonly jitterMeanMs: number;
  /** Chance that a message takes an extra delay of up to simSpikeMaxMs (so it overtakes, or is overtaken). */
  readonly spikeChance: number;
  readonly dropChance: number;
  readonly duplicateChance: number;
  /** Each node's storage write latency, ms. */
  readonly diskDelayMs: readonly number[];
}

export type OpKind = 'get' | 'put' | 'putCtx' | 'rmw' | 'del';

export interface OpPlan {
  /**
   * get: read. put: blind write (no context). putCtx: write with the context of this
   * client's last read of the key. rmw: read, then write with that read's context.
   * del: read, then delete with its context.
   */
  readonly kind: OpKind;
  readonly key: number;
  /** Index of the node the client sends the request to. */
  readonly node: number;
  /** R or W for this request (1..N), or 0 for the node's default. */
  readonly q: number;
  /** Client think time before this operation, ms. */
  readonly thinkMs: number;
}

export type PartitionShape = 'halves' | 'isolate' | 'bridge';

export type FaultPlan =
  /** Pairs that cannot reach each other (links down) for durationMs. */
  | { readonly at: number; readonly kind: 'partition'; readonly shape: PartitionShape; readonly pairs: ReadonlyArray<readonly [number, number]>; readonly durationMs: number }
  /** Messages from pair[0] to pair[1] are dropped at delivery (links stay up), for durationMs. */
  | { readonly at: number; readonly kind: 'oneway'; readonly pairs: ReadonlyArray<readonly [number, number]>; readonly durationMs: number }
  /** The node dies (unlanded storage batches lost) and restarts after downMs. `onDelivery`: it dies right after handling its next incoming message. */
  | { readonly at: number; readonly kind: 'crash'; readonly node: number; readonly downMs: number; readonly onDelivery: boolean }
  /**
   * The node stops cleanly (as on SIGTERM: requests in flight are abandoned, the store
   * drains and closes, and what it saves at close is saved) and starts again after downMs.
   */
  | { readonly at: number; readonly kind: 'restart'; readonly node: number; readonly downMs: number }
  /**
   * The node dies and loses its disk (a replaced machine); it restarts empty, with a new
   * storage epoch, after downMs. Writes whose only durable copies it held are lost, and
   * the checker stops expecting them; everything else anti-entropy must restore.
   */
  | { readonly at: number; readonly kind: 'wipe'; readonly node: number; readonly downMs: number }
  /** The node stops running (a GC pause, a stopped VM) for durationMs, then carries on. */
  | { readonly at: number; readonly kind: 'pause'; readonly node: number; readonly durationMs: number }
  /** The node's wall clock jumps to skewMs off true time. */
  | { readonly at: number; readonly kind: 'skew'; readonly node: number; readonly skewMs: number };

export function nodeId(i: number): string {
  return `n${i + 1}`;
}

export function keyName(i: number): string {
  return `k${i}`;
}

/**
 * Unordered pairs cut by a partition of `nodes` nodes. `members` picks the nodes: for
 * halves, the first group; for isolate, the isolated node (members[0]); for bridge,
 * members[0] is the bridge and the rest of `members` one side.
 */
export function partitionPairs(shape: PartitionShape, nodes: number, members: readonly number[]): Array<[number, number]> {
  const all = Array.from({ length: nodes }, (_, i) => i);
  const pairsBetween = (a: number[], b: number[]) => a.flatMap((x) => b.map((y) => [x, y] as [number, number]));
  const valid = [...new Set(members.filter((m) => m >= 0 && m < nodes))];
  if (valid.length === 0) return [];
  if (shape === 'isolate') {
    const x = valid[0]!;
    return pairsBetween([x], all.filter((y) => y !== x));
  }
  if (shape === 'halves') {
    const side = valid.slice(0, Math.max(1, Math.floor(nodes / 2)));
    return pairsBetween(side, all.filter((y) => !side.includes(y)));
  }
  const bridge = valid[0]!;
  const side = valid.slice(1);
  const other = all.filter((y) => y !== bridge && !side.includes(y));
  return pairsBetween(side, other);
}

/** Directed pairs of a one-way cut: everything from `from` to every other node. */
export function onewayPairs(nodes: number, from: readonly number[]): Array<[number, number]> {
  const src = [...new Set(from.filter((m) => m >= 0 && m < nodes))];
  const out: Array<[number, number]> = [];
  for (const a of src) for (let b = 0; b < nodes; b++) if (b !== a && !src.includes(b)) out.push([a, b]);
  return out;
}

export interface PlanOptions {
  /** Client operations, summed over clients (default: drawn up to simOpsMax). */
  readonly ops?: number;
  /** Whether faults are drawn (default true). */
  readonly faults?: boolean;
}

/** Draws a whole plan from one seed. The same seed always gives the same plan. */
export function planFromSeed(seed: number, options: PlanOptions = {}): Plan {
  const rnd = new SeededRandom(seed ^ 0x5eed);
  const between = (lo: number, hi: number) => lo + rnd.int(hi - lo + 1);
  const chance = (p: number) => rnd.float() < p;
  const nodes = between(cfg.simNodesMin, cfg.simNodesMax);
  const n = Math.min(cfg.nDefault, nodes);
  const keys = between(2, cfg.simKeysMax);
  const safetyMs = cfg.simSafetyMs;
  // A quarter of the seeds run a calm network, so healthy-path bugs are not drowned out.
  const calm = chance(0.25);
  const faultCeiling = calm ? 0 : cfg.simMessageFaultChanceMax;
  const network: NetworkPlan = {
    pathDelayMs: Array.from({ length: nodes }, () => Array.from({ length: nodes }, () => between(0, cfg.simPathDelayMaxMs))),
    jitterMeanMs: between(0, 10),
    spikeChance: rnd.float() * faultCeiling,
    dropChance: rnd.float() * faultCeiling,
    duplicateChance: rnd.float() * faultCeiling,
    diskDelayMs: Array.from({ length: nodes }, () => between(0, cfg.simDiskDelayMaxMs)),
  };
  const clientsCount = between(2, cfg.simClientsMax);
  const totalOps = options.ops ?? between(Math.floor(cfg.simOpsMax / 3), cfg.simOpsMax);
  const perClient = Math.max(1, Math.floor(totalOps / clientsCount));
  // Think times spread each client's operations over the safety phase.
  const meanThink = Math.max(1, Math.floor(safetyMs / perClient) - 20);
  const kinds: OpKind[] = ['get', 'get', 'put', 'putCtx', 'rmw', 'rmw', 'del'];
  const clients: OpPlan[][] = Array.from({ length: clientsCount }, () =>
    Array.from({ length: perClient }, () => ({
      kind: kinds[rnd.int(kinds.length)]!,
      key: rnd.int(keys),
      node: rnd.int(nodes),
      q: chance(0.5) ? 0 : between(1, n),
      thinkMs: rnd.int(2 * meanThink),
    })),
  );
  const faults: FaultPlan[] = [];
  if (options.faults !== false && !calm) {
    const count = between(1, cfg.simFaultsMax);
    for (let i = 0; i < count; i++) {
      const at = rnd.int(safetyMs);
      const durationMs = between(200, cfg.simFaultMaxMs);
      const pick = rnd.int(100);
      const shuffled = shuffle(Array.from({ length: nodes }, (_, j) => j), rnd);
      if (pick < 15) faults.push({ at, kind: 'partition', shape: 'halves', pairs: partitionPairs('halves', nodes, shuffled), durationMs });
      else if (pick < 30) faults.push({ at, kind: 'partition', shape: 'isolate', pairs: partitionPairs('isolate', nodes, shuffled), durationMs });
      else if (pick < 40) {
        const side = shuffled.slice(0, 1 + Math.max(1, Math.floor((nodes - 1) / 2)));
        faults.push({ at, kind: 'partition', shape: 'bridge', pairs: partitionPairs('bridge', nodes, side), durationMs });
      } else if (pick < 50) faults.push({ at, kind: 'oneway', pairs: onewayPairs(nodes, shuffled.slice(0, 1)), durationMs });
      else if (pick < 72) {
        // A clean restart in 8 of these 22: the draw for onDelivery is made either way, so
        // that every seed's other faults and operations are those it had before restarts.
        const onDelivery = chance(0.5);
        faults.push(pick < 64 ? { at, kind: 'crash', node: shuffled[0]!, downMs: durationMs, onDelivery } : { at, kind: 'restart', node: shuffled[0]!, downMs: durationMs });
      }
      else if (pick < 77) faults.push({ at, kind: 'wipe', node: shuffled[0]!, downMs: durationMs });
      else if (pick < 92) faults.push({ at, kind: 'pause', node: shuffled[0]!, durationMs: between(50, cfg.simFaultMaxMs) });
      else faults.push({ at, kind: 'skew', node: shuffled[0]!, skewMs: between(-cfg.simSkewMaxMs, cfg.simSkewMaxMs) });
    }
    faults.sort((a, b) => a.at - b.at);
  }
  const skewMs = Array.from({ length: nodes }, () => (calm ? 0 : between(-cfg.simSkewMaxMs, cfg.simSkewMaxMs)));
  // Half the seeds reap tombstones within the run, so "deleted keys stay deleted" also covers reaping.
  const grace = chance(0.5) ? { tombstoneGraceMs: between(cfg.simTombstoneGraceMinMs, cfg.simSafetyMs) } : {};
  return { seed, nodes, n, partitions: cfg.simPartitions, keys, network, clients, faults, safetyMs, skewMs, ...grace };
}

function shuffle<T>(xs: T[], rnd: SeededRandom): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Operations in a plan, summed over clients. */
export function opCount(plan: Plan): number {
  return plan.clients.reduce((s, c) => s + c.length, 0);
}
