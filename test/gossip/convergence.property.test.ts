import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Cluster, ids } from './harness.js';

/**
 * A chaos period (random loss, delays up to seconds that reorder messages, partitions
 * that come and go, nodes that pause) followed by a healed period: every node must end
 * with the same member set, every member up, and the same ring owned by all of them.
 * The healed period outlasts the longest flap suppression (flapSuppressMaxMs, 90 s).
 */
describe('convergence after faults', () => {
  it('all nodes agree on members and ring once the network heals', () => {
    const window = fc.record({
      startMs: fc.integer({ min: 0, max: 30_000 }),
      lengthMs: fc.integer({ min: 500, max: 15_000 }),
      /** Bit i set: node i is on side A of the cut. */
      side: fc.integer({ min: 1, max: 30 }),
    });
    const pause = fc.record({ node: fc.integer({ min: 0, max: 4 }), startMs: fc.integer({ min: 0, max: 30_000 }), lengthMs: fc.integer({ min: 500, max: 10_000 }) });
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          count: fc.integer({ min: 3, max: 5 }),
          lossPercent: fc.integer({ min: 0, max: 60 }),
          maxDelayMs: fc.integer({ min: 1, max: 3_000 }),
          cuts: fc.array(window, { maxLength: 4 }),
          pauses: fc.array(pause, { maxLength: 3 }),
        }),
        (s) => {
          const c = new Cluster(s.seed);
          const all = ids(s.count);
          for (let i = 0; i < s.count; i++) c.start(all[i]!, Cluster.address(i));
          const chaosEnd = 35_000;
          let r = s.seed;
          const coin = (): number => {
            // A small LCG of its own, so the loss pattern does not shift the cluster's randomness.
            r = (Math.imul(r, 1_103_515_245) + 12_345) >>> 0;
            return r / 4_294_967_296;
          };
          c.drop = (from, to, _msg, now) => {
            if (now >= chaosEnd) return false;
            if (coin() * 100 < s.lossPercent) return true;
            const fi = all.indexOf(from);
            const ti = all.indexOf(to);
            return s.cuts.some((w) => now >= w.startMs && now < w.startMs + w.lengthMs && ((w.side >> fi) & 1) !== ((w.side >> ti) & 1));
          };
          c.latency = (_f, _t, rnd) => (c.now < chaosEnd ? 1 + rnd.int(s.maxDelayMs) : 1 + rnd.int(10));
          for (const p of s.pauses) {
            const id = all[p.node % s.count]!;
            c.sched.schedule(p.startMs, () => c.crash(id));
            c.sched.schedule(p.startMs + p.lengthMs, () => c.recover(id));
          }
          // Everyone joins through n0 (whose answers may be lost: seeds are retried every round).
          for (let i = 1; i < s.count; i++) c.join(all[i]!, 'n0');
          c.run(chaosEnd);
          // Probes that were already losing messages when the chaos ended may still end in a
          // suspicion; let them play out before asking for a stable agreement.
          c.run(5_000);
          c.runUntil(() => c.converged(all), 130_000, `convergence (seed ${s.seed})`);
          // And it stays converged.
          c.run(5_000);
          expect(c.converged(all)).toBe(true);
        },
      ),
      {
        numRuns: 25,
        // Once found by CI: converged at the very end of the chaos, then a probe that had
        // lost its pings before the heal still suspected a live node.
        examples: [[{ seed: 1808617720, count: 5, lossPercent: 9, maxDelayMs: 7, cuts: [], pauses: [{ node: 0, startMs: 12476, lengthMs: 7434 }] }]],
      },
    );
  });
});
