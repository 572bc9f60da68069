import * as cfg from '../config/index.js';
import * as vc from '../vclock/index.js';
import { RingIndex, partitionOf, type RingState } from '../ring/index.js';
import type { DVVSet } from '../vclock/types.js';
import type { BrokenName } from './broken.js';
import { coversDot, fmt, valueText, type Violation } from './history.js';
import { keyName, opCount, planFromSeed, type Plan, type PlanOptions } from './plan.js';
import { World, type WorldStats } from './world.js';
import type { ShoalNode } from '../node/index.js';

export interface RunOptions {
  readonly broken?: BrokenName;
  /**
   * Also read every key at r=all in each liveness round, so read repair helps converge.
   * Off by default: since the node runs anti-entropy, replicas converge without it, and
   * the reads would hide an anti-entropy that does not repair.
   */
  readonly livenessReads?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly trace: string;
  readonly ops: number;
  readonly stats: WorldStats;
  readonly violations: readonly Violation[];
  readonly violationCount: number;
  /** Simulated ms the whole run took (startup, safety, liveness). */
  readonly simulatedMs: number;
  /** Simulated ms from heal to convergence; undefined when it never converged. */
  readonly convergedAfterMs: number | undefined;
}

/** Runs the plan drawn from `seed`. */
export function runSeed(seed: number, options: RunOptions & PlanOptions = {}): Promise<SimResult> {
  return runPlan(planFromSeed(seed, options), options);
}

/**
 * One simulated run in three steps: the cluster forms; the safety phase runs the clients'
 * operations under the plan's faults; the liveness phase heals everything and waits, up to
 * simLivenessMaxMs, for every replica of every key to agree. Then the final state is
 * checked against everything the clients were told.
 */
export async function runPlan(plan: Plan, options: RunOptions = {}): Promise<SimResult> {
  const world = new World(plan, options.broken ? { broken: options.broken } : {});
  const h = world.history;
  world.record(`plan ${JSON.stringify({ seed: plan.seed, nodes: plan.nodes, keys: plan.keys, ops: opCount(plan), faults: plan.faults.length })}`);

  // 1. Startup: every node up, on one ring naming all of them.
  for (const slot of world.slots) world.start(slot);
  const formedBy = world.now + cfg.simStartupMaxMs;
  while (!formed(world) && world.now < formedBy && !world.isRunaway) await world.runUntil(world.now + 100);
  if (!formed(world)) {
    const rings = world.slots.map((s) => `${s.id}: ${s.life?.started ? describeRing(s.life.node?.ringState) : 'not started'}`);
    h.violation('startup', `the cluster did not form within ${cfg.simStartupMaxMs} ms (${rings.join('; ')})`);
  }

  // 2. Safety: clients and faults.
  const start = world.now;
  world.scheduleFaults(plan.faults);
  let running = plan.clients.length;
  for (let ci = 0; ci < plan.clients.length; ci++) {
    void world.client(ci, plan.clients[ci]!).finally(() => running--);
  }
  const safetyBound = start + plan.safetyMs * 20;
  while ((running > 0 || world.now < start + plan.safetyMs) && world.now < safetyBound && !world.isRunaway) {
    await world.runUntil(Math.min(world.now + 500, Math.max(world.now + 1, start + plan.safetyMs)));
    if (running === 0 && world.now >= start + plan.safetyMs) break;
  }
  if (running > 0) h.violation('clients-finish', `${running} client(s) still waiting at ${safetyBound - start} ms`);

  // 3. Liveness: heal, then every replica must agree within the bound.
  world.healAll();
  const healedAt = world.now;
  const deadline = healedAt + cfg.simLivenessMaxMs;
  let convergedAt: number | undefined;
  let round = 0;
  while (world.now < deadline && !world.isRunaway) {
    await world.runUntil(world.now + cfg.simLivenessRoundMs);
    const why = converged(world);
    if (why === undefined) {
      convergedAt = world.now;
      break;
    }
    if (process.env['SHOAL_SIM_DEBUG']) {
      console.error(`t=${world.now - healedAt} ${why}`);
      for (const l of liveNodes(world)) {
        const st = l.node!.status();
        if (st.hints.pending > 0) console.error('  ', l.node!.id, JSON.stringify(st.hints), JSON.stringify(st.members.map((m) => `${m.id}:${m.status}`)), JSON.stringify(l.node!.inspect().peers));
      }
    }
    if (options.livenessReads === true) readEverything(world, round++);
  }
  if (convergedAt === undefined) h.violation('liveness', `not converged ${cfg.simLivenessMaxMs} ms after healing: ${converged(world)}`);

  finalChecks(world);
  return {
    seed: plan.seed,
    trace: world.traceHash(),
    ops: opCount(plan),
    stats: world.stats,
    violations: h.violations,
    violationCount: h.violationCount,
    simulatedMs: world.now,
    convergedAfterMs: convergedAt === undefined ? undefined : convergedAt - healedAt,
  };
}

type RunningLife = NonNullable<World['slots'][number]['life']>;

function liveNodes(world: World): RunningLife[] {
  return world.slots.map((s) => s.life).filter((l): l is RunningLife => l !== undefined && l.started && !l.dead && l.node !== undefined);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((o, i) => o === b[i]);
}

function sameRing(a: RingState, b: RingState): boolean {
  return a.version === b.version && a.claimant === b.claimant && sameList(a.owners, b.owners) && sameList(a.next, b.next);
}

function describeRing(ring: RingState | undefined): string {
  if (!ring) return 'no ring';
  return `ring v${ring.version} by ${ring.claimant}: ${new Set(ring.owners).size} owners${ring.next ? `, pending ${new Set(ring.next).size}` : ''}`;
}

function formed(world: World): boolean {
  const lives = liveNodes(world);
  if (lives.length !== world.slots.length) return false;
  const first = lives[0]!.node!.ringState;
  if (!first || first.next || new Set(first.owners).size !== world.slots.length) return false;
  for (const l of lives) {
    const ring = l.node!.ringState;
    if (!ring || !sameRing(ring, first)) return false;
    if (l.node!.status().members.some((m) => m.status !== 'up')) return false;
    if (l.node!.status().members.length !== world.slots.length) return false;
  }
  return true;
}

/** Versions equal as far as clients can tell: the same clock and the same dotted values (entry timestamps aside). */
function sameVersions(a: DVVSet | undefined, b: DVVSet | undefined): boolean {
  if (!a || !b) return a === b;
  const ja = vc.join(a);
  const jb = vc.join(b);
  if (!vc.descends(ja, jb) || !vc.descends(jb, ja)) return false;
  const da = vc.dottedSiblings(a);
  const db = vc.dottedSiblings(b);
  return da.length === db.length && da.every((d, i) => d.id === db[i]!.id && d.n === db[i]!.n && valueText(d.sibling.value) === valueText(db[i]!.sibling.value));
}

/** Undefined when converged; otherwise what is not yet. */
function converged(world: World): string | undefined {
  const lives = liveNodes(world);
  if (lives.length !== world.slots.length) return `${world.slots.length - lives.length} node(s) not running`;
  if (lives.some((l) => l.timers.isPaused)) return 'a node is paused';
  const ring = lives[0]!.node!.ringState;
  if (!ring) return 'no ring';
  // A membership change under way is not converged: requests are served by the ring's
  // owners while the pending owners already take writes, so the final checks would judge
  // the wrong replicas (seed 211887: every node wiped in turn, an acknowledged W=1 write
  // held by a node that owned nothing until the change completed, a second later).
  if (ring.next !== undefined) return `ring v${ring.version} has a membership change pending`;
  for (const l of lives) {
    const r = l.node!.ringState;
    if (!r || !sameRing(r, ring)) return `rings differ (${lives[0]!.node!.id} v${ring.version}, ${l.node!.id} v${r?.version})`;
  }
  for (const l of lives) {
    const pending = l.store.hintsPending();
    if (pending > 0) return `${l.node!.id} holds ${pending} hint(s)`;
  }
  const index = new RingIndex(ring, world.plan.n);
  for (const key of [...world.history.keys].sort()) {
    const primaries = index.preferenceList(partitionOf(key, world.plan.partitions)).primaries;
    const states = primaries.map((id) => world.durable(world.slots.find((s) => s.id === id)!, key));
    for (let i = 1; i < states.length; i++) {
      if (!sameVersions(states[0], states[i])) return `${key} differs between ${primaries[0]} ${fmt(states[0] ? vc.join(states[0]) : [])} and ${primaries[i]} ${fmt(states[i] ? vc.join(states[i]!) : [])}`;
    }
  }
  // Anti-entropy's Merkle trees: every primary of a partition has the same root.
  for (let p = 0; p < world.plan.partitions; p++) {
    const primaries = index.preferenceList(p).primaries;
    const roots = primaries.map((id) => merkleRoot(lives.find((l) => l.node!.id === id)!.node!, p));
    if (roots.some((r) => r === null)) return `partition ${p}: a Merkle tree is not ready`;
    if (roots.some((r) => r !== roots[0])) return `partition ${p}: Merkle roots differ between ${primaries.join(', ')}`;
  }
  return undefined;
}

/** A node's Merkle root for a partition as hex, or null while its tree is being rebuilt. */
function merkleRoot(node: ShoalNode, partition: number): string | null {
  const root = node.merkleRoot(partition);
  return root === null ? null : Buffer.from(root).toString('hex');
}

/** Liveness-phase reads: every key at r=all, each round through a different node, so read repair can finish the job. */
function readEverything(world: World, round: number): void {
  const lives = liveNodes(world);
  if (lives.length === 0) return;
  const keys = [...world.history.keys].sort();
  keys.forEach((key, i) => {
    const node = lives[(round + i) % lives.length]!.node!;
    node.get(key, { r: world.plan.n, timeoutMs: cfg.simRequestTimeoutMs }).catch(() => undefined);
  });
}

/**
 * The final state against the history. On every primary replica of every key:
 * - every acknowledged write is present, or superseded by a write (that may have landed)
 *   whose context covered it;
 * - nothing superseded is present: no value whose dot a landed write's context covered
 *   (this is "deleted keys stay deleted" when the write was a delete);
 * - the durable clock has not gone back from the last one the store committed;
 * - values are known, siblings concurrent and within the cap.
 */
function finalChecks(world: World): void {
  const h = world.history;
  const ring = liveNodes(world)[0]?.node?.ringState;
  if (!ring) return;
  const index = new RingIndex(ring, world.plan.n);
  for (const key of [...h.keys].sort()) {
    const primaries = index.preferenceList(partitionOf(key, world.plan.partitions)).primaries;
    const landed = h.landed(key);
    for (const id of primaries) {
      const slot = world.slots.find((s) => s.id === id)!;
      const state = world.durable(slot, key);
      const where = `final ${id} ${key}`;
      const last = h.lastStored.get(`${id}\u0000${key}`);
      const clock = state ? vc.join(state) : [];
      if (last && !vc.descends(clock, last)) h.violation('version-vector-monotonic', `${where}: durable clock ${fmt(clock)} is behind the committed ${fmt(last)}`);
      if (state) h.checkState(key, where, state);
      const present = new Set<string>();
      for (const d of state ? vc.dottedSiblings(state) : []) {
        const v = valueText(d.sibling.value);
        if (v !== null) present.add(v);
        for (const w of landed) {
          if (coversDot(w.context, [d.id, d.n])) {
            const what = v === null ? 'a tombstone' : v;
            const by = w.value === null ? 'a delete' : w.value;
            h.violation(w.value === null && v !== null ? 'deletes-stay-deleted' : 'superseded-stays-superseded', `${where}: holds ${what} (${d.id}:${d.n}) though ${by} was written over it`);
            break;
          }
        }
      }
      for (const w of h.writes) {
        if (w.key !== key || w.acked === undefined || w.lost === true || w.value === null || present.has(w.value)) continue;
        if (h.superseded(key, w.value)) continue;
        const dots = (h.dots.get(w.value) ?? []).map((d) => d.join(':')).join(',');
        h.violation('acked-writes-survive', `${where}: acknowledged ${w.value} (${dots || 'dot unknown'}) is missing and no write superseded it; clock ${fmt(clock)}`);
      }
    }
  }
}

export { keyName };
