import { describe, expect, it } from 'vitest';
import { memClusterPerTest, ringAgreed, text } from './mem-cluster.js';

/** The 503 of a write says why it failed: too few replicas reachable (at once), or too few acknowledgements (at the deadline). */
describe('a write that cannot reach W replicas', () => {
  const clusters = memClusterPerTest();

  it('says how many replicas were reachable when there were fewer than W, not that time ran out', async () => {
    const c = await clusters.start();
    expect(await ringAgreed(c)).toBe(true);
    c.network.partition(['n1'], ['n2', 'n3']);
    // Long enough for n1 to find the others down.
    await c.settle(8_000);
    const err = await c.run(c.nodes[0]!.put('cut-off', text('v'), { w: 3, timeoutMs: 5_000 }).then(() => undefined, (e: unknown) => e));
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^only 1 replica was reachable for w=3 \(\d acknowledged\); the write may still have been stored/) });
    // w=1 still succeeds on the reachable one.
    await c.run(c.nodes[0]!.put('cut-off', text('v'), { w: 1 }));
  });
});
