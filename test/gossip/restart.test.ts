import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/env/index.js';
import { Gossip } from '../../src/gossip/index.js';
import { claim, compareRings } from '../../src/ring/index.js';
import type { RingState } from '../../src/ring/types.js';
import { TransferManager } from '../../src/node/transfers.js';

/**
 * A node restarted with its persisted ring but no peers yet (gossip has not brought them
 * back) must not claim a ring of its own: not knowing a member is not its leaving.
 */
describe('restart with a restored ring', () => {
  const ring: RingState = claim(undefined, ['a', 'b', 'c'], { partitions: 16, n: 3, claimant: 'a' });

  for (const withTransfers of [false, true]) {
    it(`keeps the restored ring while alone${withTransfers ? ' (transfer-aware)' : ''}`, () => {
      const ops = withTransfers ? { claim, compare: compareRings, gainers: (r: RingState) => TransferManager.gainers(r, 3) } : { claim, compare: compareRings };
      const g = new Gossip({
        self: { id: 'a', address: '127.0.0.1:7001' },
        n: 3,
        partitions: 16,
        ring: ops,
        random: new SeededRandom(3),
        now: 0,
        restored: { incarnation: 4, ring },
      });
      // Long past the solo-claim delay, still alone: ticks must not change the ring.
      for (let t = 0; t <= 60_000; t += 100) {
        const out = g.tick(t);
        expect(out.events.filter((e) => e.kind === 'ring_changed')).toEqual([]);
      }
      expect(g.ring()).toEqual(ring);
    });
  }
});
