import { flapSuppressMaxMs } from './gossip.js';

/**
 * Limits and defaults of the deterministic simulator (src/sim). Every simulated quantity
 * is in simulated milliseconds; none of these touch production nodes.
 */

/** Smallest simulated cluster: N=3 needs three nodes to place three distinct replicas. */
export const simNodesMin = 3;
/** Largest simulated cluster: beyond 7 nodes a seed costs more wall time without new interleavings at N=3. */
export const simNodesMax = 7;
/** Ring size in the simulator: small, so ring gossip is cheap, yet several partitions per node. */
export const simPartitions = 16;
/** Simulated clients per seed, at most; each runs its operations one after another, as a real client would. */
export const simClientsMax = 5;
/** Client operations per seed, at most, summed over clients (a few hundred keeps a seed near a tenth of a second). */
export const simOpsMax = 300;
/** Keys per seed, at most: few keys means many conflicting writes per key, which is where bugs live. */
export const simKeysMax = 12;
/** Length of the safety phase, simulated ms: faults start within it, and clients spread their operations over it. */
export const simSafetyMs = 12_000;
/** Longest fault (partition, pause, downtime), simulated ms: longer than the 3 s suspicion timeout, so nodes are declared down. */
export const simFaultMaxMs = 6_000;
/** Faults per seed, at most. */
export const simFaultsMax = 10;
/** Largest per-node clock skew, ms: a few seconds of wall-clock disagreement, as NTP-less hosts drift. */
export const simSkewMaxMs = 5_000;
/** Largest base one-way latency of a path, ms (every ordered pair of nodes draws its own). */
export const simPathDelayMaxMs = 20;
/** Largest extra delay of a spike, ms: spikes reorder messages on a path. */
export const simSpikeMaxMs = 400;
/** Largest chance per message of a drop; duplicates and spikes use the same ceiling. */
export const simMessageFaultChanceMax = 0.05;
/**
 * Shortest tombstone grace period a seed draws, ms: short enough that tombstones are
 * reaped within a run, longer than the oldest snapshot a repair may still be delivering
 * (readRepairMaxAgeMs plus a spiked delivery; src/node/reaper.ts says why it must be).
 */
export const simTombstoneGraceMinMs = 2_000;
/** Largest simulated storage write latency, ms: a batch lands this long after it is issued, so a crash can lose it. */
export const simDiskDelayMaxMs = 3;
/** Per-request timeout clients pass to the node, ms: short, so a safety phase sees many timeouts and retries. */
export const simRequestTimeoutMs = 2_000;
/** Extra wait beyond the request timeout after which a client gives up on an answer (the node crashed under it), ms. */
export const simClientGraceMs = 1_000;
/** Time the cluster has to form (every node up and on one ring) before clients start, ms. */
export const simStartupMaxMs = 30_000;
/**
 * The liveness bound: once faults heal and every node is up, every replica of every key
 * must hold the same versions, hint queues must be empty and rings agree within this much
 * simulated time, ms. Flap damping may hold a node that fell twice as suspect for up to
 * flapSuppressMaxMs after its last fall (and hints wait for it), so the bound is that
 * plus half a minute for handoff and read repair. The README states it.
 */
export const simLivenessMaxMs = flapSuppressMaxMs + 30_000;
/** How often the liveness phase checks for convergence (and reads every key at r=all), ms. */
export const simLivenessRoundMs = 1_000;
/** Scheduler events per seed before the run is declared runaway (a livelock in the node would otherwise hang the sweep). */
export const simEventsMax = 2_000_000;
/** Violations kept per seed: the first few explain a failure; the rest are counted. */
export const simViolationsKeptMax = 20;
/** Seeds the vitest sweep runs (SHOAL_SIM_SEEDS overrides): a few hundred fit the CI budget of a couple of minutes. */
export const simCiSeeds = 200;
