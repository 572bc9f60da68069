/**
 * # The deterministic cluster simulator
 * (essay written below)
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
