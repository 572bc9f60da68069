import { describe, expect, it } from 'vitest';
import { liveTexts, memCluster, ringAgreed, text } from './mem-cluster.js';
import { partitionOf } from '../../src/ring/index.js';
import { actorsFreshEntriesMax } from '../../src/config/index.js';
import * as vc from '../../src/vclock/index.js';

/**
 * The context a put answers with covers the version it wrote (the writer's context plus
 * its dot), not concurrent siblings: a writer behind the coordinator's actor gets a fresh
 * actor id. Each such id is a clock entry that stays young for a while, so the fresh ids
 * stop at actorsFreshEntriesMax entries; without that bound, a key under many concurrent
 * read-modify-writes grew past the 256 entries a token may hold, and every read of it
 * failed (found by the nemesis run).
 */
const Q = 8;

describe('the context a put answers with', () => {
  it('leaves a concurrent sibling alone, and clocks stay bounded under writers that are behind', async () => {
    const cluster = await memCluster({ partitions: Q });
    const { nodes, stores, settle, run, stop } = cluster;
    expect(await ringAgreed(cluster)).toBe(true);
    const key = 'k';
    const p = partitionOf(key, Q);
    // Two blind writers through the same node; the second updates its own write.
    await run(nodes[0]!.put(key, text('A'), {}));
    const b = await run(nodes[0]!.put(key, text('B'), {}));
    await run(nodes[0]!.put(key, text('C'), { context: b.context! }));
    await settle(200);
    expect(liveTexts(await stores[0]!.get(p, key))).toEqual(['A', 'C']);

    // A writer that reads and writes back, and one that keeps writing with an old context:
    // every write of the second is behind the node's actor.
    const stale = (await run(nodes[0]!.get(key, {}))).context!;
    for (let i = 0; i < 60; i++) {
      const read = await run(nodes[0]!.get(key, {}));
      await run(nodes[0]!.put(key, text(`rmw${i}`), { context: read.context! }));
      await run(nodes[0]!.put(key, text(`stale${i}`), { context: stale }));
    }
    await settle(200);
    const obj = (await stores[0]!.get(p, key))!;
    // Every key starts with at most a few entries of its own; the behind writers' fresh
    // ids stop at the bound, and the clock stays far below what a token can carry.
    expect(obj.entries.length).toBeLessThanOrEqual(actorsFreshEntriesMax + 3);
    expect(() => vc.encodeContext(vc.join(obj))).not.toThrow();
    // The last read-modify-write and the last stale write are both there.
    expect(liveTexts(obj)).toEqual(['rmw59', 'stale59']);
    await stop();
  });
});
