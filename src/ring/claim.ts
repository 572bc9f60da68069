/**
 * Claim: who owns which partition. See the essay in index.ts for the algorithm and the
 * exact guarantees; this file holds the construction (fresh rings), the incremental
 * search (joins, leaves, any membership change) and the spacing measures tests use.
 */

import { ShoalError } from '../errors/index.js';
import { claimMembersMax, claimScanMovedMax, claimSearchStepsMax, claimSearchStepsPerPartition, nMax } from '../config/index.js';
import { SeededRandom } from '../env/index.js';
import { hashKey, validatePartitions } from './hash.js';
import type { RingState } from './types.js';

export interface ClaimOptions {
  /** Q, the fixed number of partitions (power of two). */
  readonly partitions: number;
  /** N, the replication factor the placement is spaced for. */
  readonly n: number;
  /** Node computing this ring; recorded so concurrent claims of one version are ordered. */
  readonly claimant: string;
}

/**
 * Whether a ring of `partitions` over `members` nodes, each owning floor(Q/S) or
 * ceil(Q/S) partitions, can have every `n` consecutive partitions (circularly) on n
 * distinct nodes: exactly when ceil(Q/S) * n <= Q. (A node owning c partitions needs c
 * gaps of at least n around a circle of Q; the column construction below meets the
 * bound.) It implies S >= n; for S = n it says Q must be a multiple of n.
 */
export function spacingFeasible(partitions: number, members: number, n: number): boolean {
  if (members < 1) return false;
  return Math.ceil(partitions / members) * n <= partitions;
}

/**
 * Spacing violations of `owners` for replication factor `n`: the number of unordered
 * pairs of distinct partitions closer than n (circularly) that share an owner. Zero
 * means any n consecutive partitions sit on n distinct nodes.
 */
export function spacingViolations(owners: readonly string[], n: number): number {
  const q = owners.length;
  const offsets = neighbourOffsets(q, n);
  let twice = 0;
  for (let i = 0; i < q; i++) {
    const o = owners[i];
    for (const d of offsets) if (owners[(i + d) % q] === o) twice++;
  }
  return twice / 2;
}

/** Forward offsets d in [1, Q) whose circular distance min(d, Q - d) is below n. Symmetric. */
function neighbourOffsets(q: number, n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d < q; d++) if (Math.min(d, q - d) < n) out.push(d);
  return out;
}

/**
 * Computes the next ring. Deterministic for a given (previous owners, member set, n):
 * members are deduplicated and sorted first, and the search's randomness is seeded by a
 * hash of those inputs, so every node that runs it gets the same owners.
 */
export function claim(previous: RingState | undefined, members: readonly string[], options: ClaimOptions): RingState {
  const q = options.partitions;
  validatePartitions(q);
  const n = options.n;
  if (!Number.isInteger(n) || n < 1 || n > nMax) {
    throw new ShoalError('INVALID_CONFIG', `n must be an integer between 1 and ${nMax}, got ${String(n)}`);
  }
  const sorted = [...new Set(members)].sort(compareIds);
  if (sorted.length === 0) throw new ShoalError('INVALID_CONFIG', 'a ring needs at least one member');
  if (sorted.length > claimMembersMax) {
    throw new ShoalError('INVALID_CONFIG', `a ring takes at most ${claimMembersMax} members, got ${sorted.length}`);
  }
  if (previous !== undefined && previous.partitions !== q) {
    throw new ShoalError('INVALID_CONFIG', `the partition count is fixed: ring has ${previous.partitions}, asked for ${q}`);
  }
  const memberSet = new Set(sorted);
  const keeps = previous !== undefined && previous.owners.some((o) => memberSet.has(o));
  const owners = keeps ? incremental(previous.owners, sorted, n) : initial(q, sorted, n);
  return { partitions: q, owners, version: (previous?.version ?? 0) + 1, claimant: options.claimant };
}

/** Plain code-unit order, the same in every JavaScript engine (localeCompare is not). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A fresh ring. The first Q mod S members (in sorted order) own ceil(Q/S) partitions,
 * the rest floor(Q/S).
 *
 * When spacing is feasible we use the column construction: cut the circle into
 * m = floor(Q/k) blocks of near-equal size (each at least k long), and deal the members
 * (largest counts first, each member's copies consecutively) down the columns: column 0
 * of every block, then column 1, and so on. A member owning c <= m partitions then lands
 * in c different blocks, at the same or a neighbouring column, hence at least k apart.
 * With k = min(S, floor(Q / ceil(Q/S))) >= n this spreads each node as evenly as the
 * counts allow, and when S divides Q it is plain round-robin.
 *
 * When it is infeasible, plain round-robin (member i mod S) is optimal: its only
 * violations are the Q mod S pairs that straddle the wrap from partition Q-1 to 0, and
 * every member owning ceil(Q/S) partitions must be in at least one violating pair.
 */
function initial(q: number, members: readonly string[], n: number): string[] {
  const s = members.length;
  const f = Math.floor(q / s);
  const r = q % s;
  const cmax = r > 0 ? f + 1 : f;
  const owners = new Array<string>(q);
  if (!spacingFeasible(q, s, Math.min(n, s))) {
    for (let i = 0; i < q; i++) owners[i] = members[i % s]!;
    return owners;
  }
  const k = Math.min(s, Math.floor(q / cmax));
  const m = Math.floor(q / k);
  const base = Math.floor(q / m);
  const extra = q % m;
  const starts: number[] = [];
  const sizes: number[] = [];
  for (let b = 0, at = 0; b < m; b++) {
    const size = base + (b < extra ? 1 : 0);
    starts.push(at);
    sizes.push(size);
    at += size;
  }
  let member = 0;
  let left = r > 0 ? f + 1 : f;
  for (let col = 0; col <= base; col++) {
    for (let b = 0; b < m; b++) {
      if (col >= sizes[b]!) continue;
      while (left === 0) {
        member++;
        left = member < r ? f + 1 : f;
      }
      owners[starts[b]! + col] = members[member]!;
      left--;
    }
  }
  return owners;
}

/**
 * A ring that keeps as much of `prev` as the target counts allow and searches, among
 * the rings that move only what must move, for one with the fewest spacing violations.
 *
 * What must move: partitions of nodes that left ("holes"), the excess of nodes above
 * ceil(Q/S) ("mandatory gives"), and enough to lift nodes below floor(Q/S). Every node
 * ends at floor or ceil; no node both gives and receives; the number of moved
 * partitions is max(holes + mandatory gives, mandatory receipts), the least possible.
 * For a single join that is floor(Q/(S+1)), all taken by the new node; for a single
 * leave it is exactly the leaver's partitions.
 */
function incremental(prevOwners: readonly string[], members: readonly string[], n: number): string[] {
  const q = prevOwners.length;
  const s = members.length;
  const index = new Map<string, number>();
  members.forEach((m, i) => index.set(m, i));
  const prev = new Int32Array(q);
  const cur = new Int32Array(s);
  let holes = 0;
  for (let p = 0; p < q; p++) {
    const i = index.get(prevOwners[p]!) ?? -1;
    prev[p] = i;
    if (i >= 0) cur[i]!++;
    else holes++;
  }
  const lo = Math.floor(q / s);
  const hi = lo + (q % s > 0 ? 1 : 0);
  const mandGive = new Int32Array(s);
  const optGive = new Int32Array(s);
  const mandRecv = new Int32Array(s);
  const optRecv = new Int32Array(s);
  let sumMandGive = 0;
  let sumMandRecv = 0;
  for (let i = 0; i < s; i++) {
    const c = cur[i]!;
    mandGive[i] = Math.max(0, c - hi);
    optGive[i] = c > lo ? Math.min(c, hi) - lo : 0;
    mandRecv[i] = Math.max(0, lo - c);
    optRecv[i] = c < hi ? hi - Math.max(c, lo) : 0;
    sumMandGive += mandGive[i]!;
    sumMandRecv += mandRecv[i]!;
  }
  const moves = Math.max(holes + sumMandGive, sumMandRecv);
  const extraGives = moves - holes - sumMandGive;
  const extraRecvs = moves - sumMandRecv;

  const offsets = neighbourOffsets(q, n);
  const final = Int32Array.from(prev);
  const conf = (p: number, owner: number): number => {
    let c = 0;
    for (const d of offsets) if (final[(p + d) % q] === owner) c++;
    return c;
  };

  // 1. Which partitions move: holes, then each giver's most conflicted partitions, the
  //    rest spread evenly over its positions; optional gives from the most conflicted givers.
  const freed = new Uint8Array(q);
  const give = new Int32Array(s);
  const nearFreed = (p: number): boolean => {
    for (const d of offsets) if (freed[(p + d) % q] === 1) return true;
    return false;
  };
  const free = (p: number): void => {
    freed[p] = 1;
    final[p] = -1;
  };
  for (let p = 0; p < q; p++) if (prev[p]! < 0) free(p);
  const positionsOf: number[][] = Array.from({ length: s }, () => []);
  for (let p = 0; p < q; p++) if (prev[p]! >= 0) positionsOf[prev[p]!]!.push(p);
  // Greedy: first the giver's partitions that are in conflict, then ones spread evenly
  // over its positions, in both cases only where no other moving partition is within n
  // (so the receiver can take them all without conflict); then anything.
  const pickFrom = (i: number, count: number): void => {
    const own = positionsOf[i]!;
    const order: number[] = [];
    for (const p of own) if (conf(p, i) > 0) order.push(p);
    for (let t = 0; t < count; t++) order.push(own[Math.floor(((t + 0.5) * own.length) / count)]!);
    order.push(...own);
    let taken = 0;
    for (const strict of [true, false]) {
      for (const p of order) {
        if (taken === count) break;
        if (freed[p] === 1 || (strict && nearFreed(p))) continue;
        free(p);
        taken++;
      }
    }
    give[i]! += count;
  };
  for (let i = 0; i < s; i++) if (mandGive[i]! > 0) pickFrom(i, mandGive[i]!);
  if (extraGives > 0) {
    const candidates: Array<{ i: number; c: number }> = [];
    for (let i = 0; i < s; i++) {
      if (optGive[i]! === 0) continue;
      let c = 0;
      for (const p of positionsOf[i]!) if (freed[p] === 0 && conf(p, i) > 0) c++;
      candidates.push({ i, c });
    }
    candidates.sort((a, b) => b.c - a.c || a.i - b.i);
    let left = extraGives;
    for (const { i } of candidates) {
      if (left === 0) break;
      const take = Math.min(left, optGive[i]!);
      pickFrom(i, take);
      left -= take;
    }
  }
  const freedList: number[] = [];
  for (let p = 0; p < q; p++) if (freed[p] === 1) freedList.push(p);

  // 2. Who receives each: greedily the receiver with the fewest conflicts there.
  const recv = new Int32Array(s);
  const receivers: number[] = [];
  for (let i = 0; i < s; i++) if (mandRecv[i]! + optRecv[i]! > 0) receivers.push(i);
  let optionalLeft = extraRecvs;
  for (const p of freedList) {
    let best = -1;
    let bestConf = Infinity;
    let bestNeed = -1;
    for (const i of receivers) {
      const mandatory = recv[i]! < mandRecv[i]!;
      if (!mandatory && (optionalLeft === 0 || recv[i]! >= mandRecv[i]! + optRecv[i]!)) continue;
      const c = conf(p, i);
      const need = mandRecv[i]! - recv[i]!;
      if (c < bestConf || (c === bestConf && need > bestNeed)) {
        best = i;
        bestConf = c;
        bestNeed = need;
      }
    }
    if (best < 0) throw new Error('assertion failed: claim ran out of receivers');
    if (recv[best]! >= mandRecv[best]!) optionalLeft--;
    recv[best]!++;
    final[p] = best;
  }

  // 2b. When the moving set is fixed (no giver had to choose) and its partitions are
  //     pairwise at least n apart, a placement without violations is a bipartite
  //     assignment with per-receiver bounds: max-flow decides it exactly.
  if (sumMandGive === 0 && extraGives === 0 && offsets.length > 0 && freedList.length > 0) {
    const exact = assignByFlow({ freedList, freed, final, q, offsets, s, mandRecv, optRecv, extraRecvs, conf });
    if (exact !== undefined) {
      for (let j = 0; j < freedList.length; j++) final[freedList[j]!] = exact[j]!;
      return Array.from(final, (i) => members[i]!);
    }
  }

  // 3. Local search (simulated annealing over moves that keep every count and the set of
  //    moving nodes) towards zero violations, or the counting lower bound when that is higher.
  if (offsets.length > 0 && freedList.length > 0) {
    anneal({ q, n, s, lo, hi, prev, final, freed, freedList, positionsOf, give, recv, mandGive, optGive, mandRecv, optRecv, conf, seedOf: () => seed(prevOwners, members, n) });
  }
  return Array.from(final, (i) => members[i]!);
}

function seed(prevOwners: readonly string[], members: readonly string[], n: number): number {
  const h = hashKey(`${n}\u0000${members.join('\u0000')}\u0001${prevOwners.join('\u0000')}`);
  return (h.hi ^ h.lo) >>> 0;
}

/** Least possible violations for a node owning c of q partitions with factor n. */
function nodeLowerBound(c: number, q: number, n: number): number {
  if (c <= 1 || n <= 1) return 0;
  if (c === 2) return Math.floor(q / 2) < n ? 1 : 0;
  return Math.max(0, c - Math.floor((q - c) / (n - 1)));
}

interface SearchState {
  q: number;
  n: number;
  s: number;
  lo: number;
  hi: number;
  prev: Int32Array;
  final: Int32Array;
  freed: Uint8Array;
  freedList: number[];
  positionsOf: ReadonlyArray<readonly number[]>;
  give: Int32Array;
  recv: Int32Array;
  mandGive: Int32Array;
  optGive: Int32Array;
  mandRecv: Int32Array;
  optRecv: Int32Array;
  conf: (p: number, owner: number) => number;
  seedOf: () => number;
}

function anneal(st: SearchState): void {
  const { q, n, s, lo, hi, prev, final, freed, freedList, positionsOf, give, recv, mandGive, optGive, mandRecv, optRecv, conf } = st;
  let v = 0;
  for (let p = 0; p < q; p++) v += conf(p, final[p]!);
  v /= 2;
  const r = q % s;
  const bound = r * nodeLowerBound(hi, q, n) + (s - r) * nodeLowerBound(lo, q, n);
  if (v <= bound) return;

  const rng = new SeededRandom(st.seedOf());
  const steps = Math.min(claimSearchStepsMax, claimSearchStepsPerPartition * q);
  const best = Int32Array.from(final);
  let bestV = v;
  const t0 = 0.6;
  const t1 = 0.02;
  const m = freedList.length;

  for (let step = 0; step < steps; step++) {
    const temp = t0 * Math.pow(t1 / t0, step / steps);
    // Half the time work on a moved partition that is in conflict, looking at a bounded
    // stretch of the moved list so a step stays O(n) however large Q is.
    let pi = rng.int(m);
    if (rng.int(2) === 0) {
      for (let j = 0; j < Math.min(m, claimScanMovedMax); j++) {
        const c = (pi + j) % m;
        const fp = freedList[c]!;
        if (conf(fp, final[fp]!) > 0) {
          pi = c;
          break;
        }
      }
    }
    const p = freedList[pi]!;
    const a = final[p]!;
    const kind = rng.int(3);
    let delta: number;
    if (kind === 0) {
      // Swap the receivers of two moved partitions.
      const qp = freedList[rng.int(m)]!;
      const b = final[qp]!;
      if (b === a) continue;
      delta = conf(p, b) - conf(p, a);
      final[p] = b;
      delta += conf(qp, a) - conf(qp, b);
      final[qp] = a;
      if (!accept(delta, temp, rng)) {
        final[qp] = b;
        final[p] = a;
        continue;
      }
    } else if (kind === 1) {
      // Hand one moved partition to a different receiver, within both receivers' ranges.
      const b = rng.int(s);
      if (b === a || recv[a]! - 1 < mandRecv[a]! || recv[b]! + 1 > mandRecv[b]! + optRecv[b]!) continue;
      delta = conf(p, b) - conf(p, a);
      if (!accept(delta, temp, rng)) continue;
      final[p] = b;
      recv[a]!--;
      recv[b]!++;
    } else {
      // Move a different partition instead: p returns to its giver, x is given up.
      const d = prev[p]!;
      if (d < 0) continue;
      const own = positionsOf[d]!;
      const x = rng.int(2) === 0 ? own[rng.int(own.length)]! : rng.int(q);
      if (freed[x] === 1) continue;
      const e = prev[x]!;
      if (e !== d && (give[d]! - 1 < mandGive[d]! || give[e]! + 1 > mandGive[e]! + optGive[e]!)) continue;
      delta = conf(p, d) - conf(p, a);
      final[p] = d;
      delta += conf(x, a) - conf(x, e);
      final[x] = a;
      if (!accept(delta, temp, rng)) {
        final[x] = e;
        final[p] = a;
        continue;
      }
      freed[p] = 0;
      freed[x] = 1;
      freedList[pi] = x;
      give[d]!--;
      give[e]!++;
    }
    v += delta;
    if (v < bestV) {
      bestV = v;
      best.set(final);
      if (v <= bound) break;
    }
  }
  final.set(best);
}

function accept(delta: number, temp: number, rng: SeededRandom): boolean {
  if (delta <= 0) return true;
  return rng.float() < Math.exp(-delta / temp);
}

/**
 * Assigns every moved partition a receiver with no copy of itself within n, each
 * receiver getting between mandRecv and mandRecv + optRecv, or returns undefined when
 * no such assignment exists (or the moved partitions are not pairwise n apart, in which
 * case two of them could conflict with each other and the model does not apply).
 * Network: source -> partition (1) -> allowed receiver (1) -> sink (mandRecv), and
 * receiver -> pool (optRecv) -> sink (extraRecvs); a flow of |moved| saturates every
 * mandatory edge. Augmenting paths by BFS in index order, so the result is deterministic.
 */
function assignByFlow(args: {
  freedList: readonly number[];
  freed: Uint8Array;
  final: Int32Array;
  q: number;
  offsets: readonly number[];
  s: number;
  mandRecv: Int32Array;
  optRecv: Int32Array;
  extraRecvs: number;
  conf: (p: number, owner: number) => number;
}): number[] | undefined {
  const { freedList, freed, q, offsets, s, mandRecv, optRecv, extraRecvs, conf } = args;
  for (const p of freedList) for (const d of offsets) if (freed[(p + d) % q] === 1) return undefined;
  const m = freedList.length;
  // Node ids: 0 source, 1..m partitions, m+1..m+s receivers, m+s+1 pool, m+s+2 sink.
  const src = 0;
  const pool = m + s + 1;
  const sink = m + s + 2;
  const size = m + s + 3;
  const head = new Int32Array(size).fill(-1);
  const to: number[] = [];
  const cap: number[] = [];
  const next: number[] = [];
  const edge = (u: number, v: number, c: number): void => {
    to.push(v); cap.push(c); next.push(head[u]!); head[u] = to.length - 1;
    to.push(u); cap.push(0); next.push(head[v]!); head[v] = to.length - 1;
  };
  // Receivers are added in reverse so the adjacency lists iterate in ascending order.
  for (let i = s - 1; i >= 0; i--) {
    if (mandRecv[i]! > 0) edge(m + 1 + i, sink, mandRecv[i]!);
    if (optRecv[i]! > 0) edge(m + 1 + i, pool, optRecv[i]!);
  }
  if (extraRecvs > 0) edge(pool, sink, extraRecvs);
  for (let j = m - 1; j >= 0; j--) {
    const p = freedList[j]!;
    for (let i = s - 1; i >= 0; i--) {
      if (mandRecv[i]! + optRecv[i]! > 0 && conf(p, i) === 0) edge(1 + j, m + 1 + i, 1);
    }
    edge(src, 1 + j, 1);
  }
  const prevEdge = new Int32Array(size);
  let flow = 0;
  for (;;) {
    prevEdge.fill(-1);
    const queue = [src];
    prevEdge[src] = -2;
    for (let h = 0; h < queue.length && prevEdge[sink] === -1; h++) {
      const u = queue[h]!;
      for (let e = head[u]!; e >= 0; e = next[e]!) {
        const v = to[e]!;
        if (cap[e]! > 0 && prevEdge[v] === -1) {
          prevEdge[v] = e;
          queue.push(v);
        }
      }
    }
    if (prevEdge[sink] === -1) break;
    for (let v = sink; v !== src; ) {
      const e = prevEdge[v]!;
      cap[e]!--;
      cap[e ^ 1]!++;
      v = to[e ^ 1]!;
    }
    flow++;
  }
  if (flow < m) return undefined;
  const out: number[] = [];
  for (let j = 0; j < m; j++) {
    let chosen = -1;
    for (let e = head[1 + j]!; e >= 0; e = next[e]!) {
      const v = to[e]!;
      if (v > m && v <= m + s && cap[e] === 0 && (e & 1) === 0) chosen = v - m - 1;
    }
    if (chosen < 0) return undefined;
    out.push(chosen);
  }
  return out;
}
