import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/errors/index.js';
import { MemoryBacking, MemoryEngine, type EngineOp, type BatchOptions } from '../../src/store/index.js';
import { liveTexts, memCluster, ringAgreed, text } from './mem-cluster.js';
import { partitionOf } from '../../src/ring/index.js';

/**
 * The coordinator sends a put to the other replicas while its own engine write is still
 * under way. If that local write then fails, the write's dot has reached the replicas
 * without a local copy behind it: the coordinator must never issue that dot again (it
 * would name two different values, and sync would drop one of them).
 */
const Q = 8;

/** A memory engine whose batches fail while `failing` is set. */
class FlakyEngine extends MemoryEngine {
  failing = false;
  override batch(ops: readonly EngineOp[], options?: BatchOptions): Promise<void> {
    if (this.failing) return Promise.reject(new ShoalError('STORAGE', 'injected write failure'));
    return super.batch(ops, options);
  }
}


describe('replica writes sent before the local write lands', () => {
  it('a failed local write never lets its dot be issued again', async () => {
    const engines = [0, 1, 2].map(() => new FlakyEngine(new MemoryBacking()));
    const cluster = await memCluster({ partitions: Q, engine: (i) => engines[i]! });
    const { nodes, stores, settle, run, stop } = cluster;
    // Let gossip agree on a 3-node ring.
    expect(await ringAgreed(cluster)).toBe(true);

    const key = 'k';
    const p = partitionOf(key, Q);
    const coordinator = nodes[0]!;
    // 1. A write that lands everywhere: n1 now remembers writing the key under actor A (A:1).
    const zero = await run(coordinator.put(key, text('zero'), {}));
    const actorA = (await stores[0]!.get(p, key))!.entries.find((e) => e.id.startsWith('n1#'))!.id;
    // 2. n1's engine refuses the next write (A:2), but the other two replicas have it: W=2 is met.
    engines[0]!.failing = true;
    const one = await run(coordinator.put(key, text('one'), { context: zero.context! }));
    engines[0]!.failing = false;
    expect(liveTexts(await stores[0]!.get(p, key))).toEqual(['zero']);
    expect(liveTexts(await stores[1]!.get(p, key))).toEqual(['one']);
    const issued = (await stores[1]!.get(p, key))!.entries.find((e) => e.id === actorA)!;
    expect(issued.n).toBe(2);
    // 3. Another write over the first one's context: n1's copy still ends at A:1, so trusting
    //    A would issue A:2 again, for 'two'. It must take a fresh actor instead.
    await run(coordinator.put(key, text('two'), { context: zero.context! }));
    const mine = (await stores[0]!.get(p, key))!;
    expect(mine.entries.find((e) => e.id === actorA)?.n ?? 0).toBeLessThan(2);
    // 4. 'one' and 'two' are concurrent (both wrote over 'zero'): both survive a full read.
    const read = await run(coordinator.get(key, { r: 3 }));
    expect(read.siblings.map((x) => new TextDecoder().decode(x.value!)).sort()).toEqual(['one', 'two']);
    void one;
    await stop();
  });
});
