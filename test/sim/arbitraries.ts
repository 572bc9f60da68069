/**
 * fast-check arbitraries for the simulator: operation schedules and fault schedules.
 * fast-check shrinks a failing plan by shortening these arrays and simplifying their
 * elements, so a failure ends as a handful of operations and faults.
 */
import fc from 'fast-check';
import { onewayPairs, partitionPairs, type FaultPlan, type OpPlan, type Plan } from '../../src/sim/index.js';

export function opArb(nodes: number, keys: number): fc.Arbitrary<OpPlan> {
  return fc.record({
    kind: fc.constantFrom('put', 'get', 'putCtx', 'rmw', 'del'),
    key: fc.nat({ max: keys - 1 }),
    node: fc.nat({ max: nodes - 1 }),
    q: fc.nat({ max: 3 }),
    thinkMs: fc.nat({ max: 300 }),
  });
}

export function faultArb(nodes: number, windowMs: number): fc.Arbitrary<FaultPlan> {
  const at = fc.nat({ max: windowMs });
  const node = fc.nat({ max: nodes - 1 });
  const duration = fc.integer({ min: 100, max: 5_000 });
  const members = fc.shuffledSubarray(
    Array.from({ length: nodes }, (_, i) => i),
    { minLength: 1, maxLength: nodes - 1 },
  );
  return fc.oneof(
    fc
      .record({ at, shape: fc.constantFrom('halves', 'isolate', 'bridge'), members, durationMs: duration })
      .map(({ at, shape, members, durationMs }): FaultPlan => ({ at, kind: 'partition', shape, pairs: partitionPairs(shape, nodes, members), durationMs })),
    fc.record({ at, members, durationMs: duration }).map(({ at, members, durationMs }): FaultPlan => ({ at, kind: 'oneway', pairs: onewayPairs(nodes, members.slice(0, 1)), durationMs })),
    fc.record({ at, node, downMs: duration, onDelivery: fc.boolean() }).map((f): FaultPlan => ({ kind: 'crash', ...f })),
    fc.record({ at, node, downMs: duration }).map((f): FaultPlan => ({ kind: 'restart', ...f })),
    fc.record({ at, node, durationMs: duration }).map((f): FaultPlan => ({ kind: 'pause', ...f })),
    fc.record({ at, node, downMs: duration }).map((f): FaultPlan => ({ kind: 'wipe', ...f })),
    fc.record({ at, node, skewMs: fc.integer({ min: -5_000, max: 5_000 }) }).map((f): FaultPlan => ({ kind: 'skew', ...f })),
  );
}

export interface PlanArbOptions {
  readonly opsMax?: number;
  readonly faultsMax?: number;
  readonly safetyMs?: number;
}

/** A whole plan: cluster shape, network character, per-client operations and faults. */
export function planArb(options: PlanArbOptions = {}): fc.Arbitrary<Plan> {
  const safetyMs = options.safetyMs ?? 3_000;
  return fc
    .record({ nodes: fc.integer({ min: 3, max: 5 }), keys: fc.integer({ min: 1, max: 4 }), seed: fc.nat() })
    .chain(({ nodes, keys, seed }) =>
      fc.record({
        seed: fc.constant(seed),
        nodes: fc.constant(nodes),
        keys: fc.constant(keys),
        clients: fc.array(fc.array(opArb(nodes, keys), { maxLength: options.opsMax ?? 12 }), { minLength: 1, maxLength: 3 }),
        faults: fc.array(faultArb(nodes, safetyMs), { maxLength: options.faultsMax ?? 4 }),
        delay: fc.integer({ min: 0, max: 10 }),
        dropChance: fc.constantFrom(0, 0.01, 0.03),
      }),
    )
    .map(({ seed, nodes, keys, clients, faults, delay, dropChance }): Plan => ({
      seed,
      nodes,
      n: 3,
      partitions: 16,
      keys,
      network: {
        pathDelayMs: Array.from({ length: nodes }, (_, a) => Array.from({ length: nodes }, (_, b) => (a === b ? 0 : delay + ((a + b) % 3)))),
        jitterMeanMs: 2,
        spikeChance: dropChance,
        dropChance,
        duplicateChance: dropChance,
        diskDelayMs: Array.from({ length: nodes }, (_, i) => i % 3),
      },
      clients,
      faults: [...faults].sort((a, b) => a.at - b.at),
      safetyMs,
      skewMs: Array.from({ length: nodes }, () => 0),
    }));
}
