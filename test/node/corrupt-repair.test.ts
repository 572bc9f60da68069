import { describe, expect, it } from 'vitest';
import { MemoryBacking, MemoryEngine, objectKey } from '../../src/store/index.js';
import { liveTexts, memCluster, ringAgreed, text } from './mem-cluster.js';
import { partitionOf } from '../../src/ring/index.js';

/**
 * A replica whose copy of a key can no longer be read (a damaged disk; with the value log
 * and no --sync, a machine crash that lost a segment's last pages) must be healed by the
 * next replica write of that key, not fail it forever: replica writes carry a whole
 * replica's state, so the store replaces what it cannot read (`replaceCorrupt`).
 */
const Q = 8;

describe('a corrupt replica copy', () => {
  it('is replaced by the next replica write of the key', async () => {
    const engines = [0, 1, 2].map(() => new MemoryEngine(new MemoryBacking()));
    const cluster = await memCluster({ partitions: Q, engine: (i) => engines[i]! });
    const { nodes, stores, settle, run, stop } = cluster;
    expect(await ringAgreed(cluster)).toBe(true);

    const key = 'k';
    const p = partitionOf(key, Q);
    const first = await run(nodes[0]!.put(key, text('first'), {}));
    await settle(200);
    expect(liveTexts(await stores[2]!.get(p, key))).toEqual(['first']);
    // n3's stored bytes for the key become unreadable.
    await engines[2]!.batch([{ type: 'put', key: objectKey(p, key), value: text('not a shoal value') }]);
    await expect(stores[2]!.get(p, key)).rejects.toMatchObject({ code: 'CORRUPT' });

    await run(nodes[0]!.put(key, text('second'), { context: first.context! }));
    await settle(200);
    expect(liveTexts(await stores[2]!.get(p, key))).toEqual(['second']);
    expect(stores[2]!.stats().corruptReplaced).toBe(1);
    await stop();
  });
});
