import { describe, expect, it } from 'vitest';
import { preferredOwners } from '../../src/client/index.js';
import { isShoalError } from '../../src/errors/index.js';
import { partitionOf } from '../../src/ring/index.js';
import * as vc from '../../src/vclock/index.js';
import { memCluster } from './mem-cluster.js';

const Q = 8;
const text = (s: string) => new TextEncoder().encode(s);

describe("a node's answer to the SDK's direct reads (ownCopy)", () => {
  it('a primary owner answers with its whole stored object; a node that is not one refuses with UNAVAILABLE', async () => {
    // Four nodes, N=3: every key has one node that is not among its primaries.
    const { nodes, stores, settle, run, stop } = await memCluster({ ids: ['n1', 'n2', 'n3', 'n4'], partitions: Q });
    try {
      const agreed = () => nodes.every((n) => new Set(n.routing().owners).size === 4);
      for (let i = 0; i < 200 && !agreed(); i++) await settle(100);
      expect(agreed()).toBe(true);

      const key = 'direct';
      const p = partitionOf(key, Q);
      await run(nodes[0]!.put(key, text('one'), { w: 3 }));
      const r = nodes[0]!.routing();
      const primaries = preferredOwners({ partitions: r.q, n: r.n, owners: [...r.owners], members: [] }, key);
      expect(primaries).toHaveLength(3);
      let refused = 0;
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i]!;
        const before = node.counters.directReads;
        if (primaries.includes(node.id)) {
          const own = await node.ownCopy(key);
          const stored = await stores[i]!.get(p, key);
          expect(own).toBeDefined();
          expect(vc.sameVersions(own!, stored!)).toBe(true);
          expect(vc.liveSiblings(own!).map((s) => new TextDecoder().decode(s.value!))).toEqual(['one']);
          expect(await node.ownCopy('never-written')).toBeUndefined();
        } else {
          const err = await node.ownCopy(key).catch((e: unknown) => e);
          expect(isShoalError(err) && err.code).toBe('UNAVAILABLE');
          expect((err as Error).message).toMatch(/not a primary owner/);
          refused++;
        }
        expect(node.counters.directReads).toBeGreaterThan(before);
      }
      expect(refused).toBe(1);
      // Bad keys are refused like any request's.
      const bad = await nodes[0]!.ownCopy('').catch((e: unknown) => e);
      expect(isShoalError(bad) && bad.code).toBe('BAD_REQUEST');
    } finally {
      await stop();
    }
  });
});
