/**
 * # The deterministic cluster simulator
 *
 * The question a Dynamo-style store must answer is not "does a put then a get work" but
 * "does every interleaving of messages, crashes and partitions keep every promise", and
 * no test written by hand enumerates those. So we run the real thing in a world we
 * control, FoundationDB-style: three to seven `ShoalNode`s, the same class production
 * runs, with everything they touch injected. Time is one `SimScheduler`; each node gets
 * a `SimClock` (its wall clock skewed), its own timers (which a crash kills and a pause
 * holds), a seeded `Random`, an `ObjectStore` on a `MemoryEngine` whose `MemoryBacking`
 * is the node's disk (it survives a crash; a new engine reopens it), and a transport on
 * one `MemoryNetwork`. A wipe replaces a node's disk with an empty one (a replaced
 * machine): what only it held is gone, and the checker stops owing those writes; the
 * rest anti-entropy must bring back. Every frame goes through the network's delivery hook, where the
 * seed decides: a per-path base latency plus exponential jitter, occasional spikes that
 * reorder, drops and duplicates. Partitions (halves, one node isolated, a bridge node
 * that sees both sides) cut links; one-way cuts drop a direction at delivery time, with
 * the link up, which is what makes them nasty for a failure detector. A disk with a few
 * milliseconds of write latency sits under each store, so a crash loses the batches
 * still on their way, exactly as a killed process does.
 *
 * Determinism. A run must be a pure function of its seed, or a failure cannot be
 * replayed. The node awaits promises everywhere, so the run loop takes one scheduler
 * event, then lets every microtask it started run to completion (one `setImmediate`
 * turn) before the next event: continuations see the simulated time of the event that
 * caused them, and their order is fixed. Nothing in the node reads real time or
 * `Math.random` (they come in `env`), so the same seed gives the same messages, bytes
 * and answers, and the trace hash (SHA-256 over every delivered frame and every answer a
 * client got) proves it: a test runs seeds twice and compares.
 *
 * A run has three steps. The cluster forms (every node up, one settled ring naming all
 * of them). The *safety* phase runs several clients, each one operation after another
 * against a node of its choice: blind puts, puts with the context of an earlier read,
 * read-modify-writes, deletes, reads at various R and W, while the plan's faults fire.
 * The *liveness* phase heals everything (links back, crashed nodes restarted, paused
 * ones resumed) and requires convergence within `simLivenessMaxMs`: every primary
 * replica of every key holds the same versions, no hints are pending, every node has
 * the same ring, and the primaries of every partition have the same Merkle root. No
 * reads help: hinted handoff, the partition sweep and anti-entropy must do it alone
 * (`livenessReads` adds R=all reads of every key per round, for comparison).
 *
 * What is checked (history.ts, run.ts). Every value a client writes is unique, so a value
 * found anywhere names its write, and the stores tell us its dot. While the run goes on:
 * an acknowledgement at W means W nodes' storage engines hold the version (read from
 * their disks at the moment the client hears it); a replica's clock for a key never goes
 * backwards, across restarts too; no state or read holds a value nobody wrote, or two
 * siblings one of which was written over the other (its writer's context covered it),
 * or more siblings than the cap; one dot never names two values. At the end, on every
 * primary: every acknowledged write is present or superseded by a write whose context
 * covered it; nothing a write superseded is back (for deletes: deleted keys stay
 * deleted); the disk's clock is not behind what the store committed.
 *
 * The checker must bite: broken.ts holds deliberately broken components, injected through
 * the same seams (an engine that loses a batch in a hundred, a replica that acks before
 * storing, a transport that invents acks, merges that drop a sibling or a tombstone,
 * anti-entropy that never repairs), and
 * test/sim runs each until it is reported. Plans are data (plan.ts), so fast-check can
 * generate operation and fault schedules and shrink a failing one to a few operations.
 *
 * A failure prints `seed=S` and `npm run sim -- --seed S`, which replays it exactly.
 */
export { runPlan, runSeed } from './run.js';
export type { RunOptions, SimResult } from './run.js';
export { planFromSeed, partitionPairs, onewayPairs, nodeId, keyName, opCount } from './plan.js';
export type { Plan, PlanOptions, NetworkPlan, OpPlan, OpKind, FaultPlan, PartitionShape } from './plan.js';
export { brokenComponents, observableBrokenComponents, isBrokenName } from './broken.js';
export { formatFailure, replayCommand } from './report.js';
export type { BrokenName } from './broken.js';
export type { Violation } from './history.js';
export { World } from './world.js';
export type { WorldStats } from './world.js';
