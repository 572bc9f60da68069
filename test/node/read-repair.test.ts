// Read repair writes a snapshot of the replies it gathered, so it writes only a young one
// (readRepairMaxAgeMs): a slow replica no longer holds it back until the read's timeout,
// and a reply that comes later than that repairs nothing (anti-entropy's job). An old
// snapshot landing after a newer delete was reaped would bring back what it removed.
import { describe, expect, it } from 'vitest';
import { readRepairMaxAgeMs } from '../../src/config/index.js';
import { partitionOf } from '../../src/ring/hash.js';
import type { ShoalNode } from '../../src/node/node.js';
import * as vc from '../../src/vclock/index.js';
import type { DVVSet } from '../../src/vclock/types.js';
import { memClusterPerTest, ringAgreed, text, type MemCluster } from './mem-cluster.js';

const Q = 8;
const KEY = 'k';
const P = partitionOf(KEY, Q);
/** How late the slow replica's reply to n1 comes, ms. */
const SLOW_MS = 2_500;

/** n1's reads ask every replica (readRepairChance's draw, fixed for the test). */
function askAll(node: ShoalNode): void {
  (node as unknown as { env: { random: { float: () => number } } }).env.random.float = () => 0;
}

/**
 * Every replica holds the key's second version, except `stale`, which holds the first;
 * replies from `slow` to n1 come SLOW_MS late.
 */
async function setup(c: MemCluster, stale: number, slow: number): Promise<{ fresh: DVVSet; old: DVVSet }> {
  expect(await ringAgreed(c)).toBe(true);
  await c.run(c.nodes[0]!.put(KEY, text('v1'), { w: 3 }));
  const old = (await c.stores[0]!.get(P, KEY))!;
  const first = await c.run(c.nodes[0]!.get(KEY, { r: 3 }));
  await c.run(c.nodes[0]!.put(KEY, text('v2'), { w: 3, context: first.context ?? undefined }));
  const fresh = (await c.stores[0]!.get(P, KEY))!;
  await c.stores[stale]!.update(P, KEY, () => old);
  const slowId = c.nodes[slow]!.id;
  const deliver = c.network.deliver;
  c.network.deliver = (from, to, bytes, run) => {
    if (from === slowId && to === c.nodes[0]!.id) c.sched.schedule(SLOW_MS, () => deliver(from, to, bytes, run));
    else deliver(from, to, bytes, run);
  };
  askAll(c.nodes[0]!);
  return { fresh, old };
}

const values = (r: { siblings: ReadonlyArray<{ value: Uint8Array | null }> }): string[] => r.siblings.map((s) => (s.value === null ? '(deleted)' : new TextDecoder().decode(s.value)));
const same = (a: DVVSet | undefined, b: DVVSet): boolean => a !== undefined && vc.sameVersions(a, b);

describe('read repair', () => {
  const clusters = memClusterPerTest();

  it('repairs the stale replicas that answered once its snapshot is readRepairMaxAgeMs old, without waiting for a slow one', async () => {
    const c = await clusters.start({ partitions: Q });
    const { fresh } = await setup(c, 1, 2);
    const read = c.nodes[0]!.get(KEY, { r: 2, timeoutMs: 5_000 });
    await c.settle(readRepairMaxAgeMs + 100);
    expect(values(await read)).toEqual(['v2']);
    // The slow replica has not answered yet; the stale one is repaired already.
    expect(SLOW_MS).toBeGreaterThan(readRepairMaxAgeMs + 100);
    expect(same(await c.stores[1]!.get(P, KEY), fresh)).toBe(true);
    expect(c.nodes[0]!.counters.readRepairs).toBe(1);
  });

  it('sends nothing from replies older than readRepairMaxAgeMs: a stale replica that answers late is left to anti-entropy', async () => {
    const c = await clusters.start({ partitions: Q });
    const { old } = await setup(c, 2, 2);
    const read = c.run(c.nodes[0]!.get(KEY, { r: 2, timeoutMs: 5_000 }));
    await read;
    await c.settle(SLOW_MS + 500);
    expect(same(await c.stores[2]!.get(P, KEY), old)).toBe(true);
    expect(c.nodes[0]!.counters.readRepairs).toBe(0);
  });

  it('a read whose quorum needs the late reply repairs nothing, and counts it', async () => {
    const c = await clusters.start({ partitions: Q });
    const { old } = await setup(c, 2, 2);
    const answer = await c.run(c.nodes[0]!.get(KEY, { r: 3, timeoutMs: 5_000 }));
    expect(values(answer)).toEqual(['v2']);
    await c.settle(500);
    expect(same(await c.stores[2]!.get(P, KEY), old)).toBe(true);
    expect(c.nodes[0]!.counters.readRepairs).toBe(0);
    expect(c.nodes[0]!.counters.readRepairsTooOld).toBe(1);
  });
});
