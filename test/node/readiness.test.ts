import { describe, expect, it } from 'vitest';
import { nodeReadyUnknownOwnersWaitMs, nodeReadyWaitMs } from '../../src/config/index.js';
import { SeededRandom, SimClock, SimTimers } from '../../src/env/index.js';
import { silentLogger } from '../../src/node/log.js';
import { ShoalNode } from '../../src/node/node.js';
import { MemoryNetwork } from '../../src/transport/index.js';
import { memClusterPerTest, ringAgreed, text, type MemCluster } from './mem-cluster.js';

/**
 * ShoalNode.readyForClients, what GET /v1/health answers with: a node says ready only once
 * its view of the cluster has settled and the other owners confirmed they route with the
 * same ring and reach it. Polled every 50 ms of simulated time, as a health probe would
 * (the `view` questions go out only while it is polled).
 */
describe('readyForClients', () => {
  const clusters = memClusterPerTest();

  /** Settles in 50 ms steps, polling every node's readiness, until all are ready; the step at which each turned ready. */
  async function pollAllReady(cluster: MemCluster, ms = 20_000): Promise<number[]> {
    const readyAt = cluster.nodes.map(() => -1);
    for (let t = 0; t < ms && readyAt.some((x) => x < 0); t += 50) {
      cluster.nodes.forEach((n, i) => {
        if (readyAt[i]! < 0 && n.readyForClients) readyAt[i] = t;
      });
      if (readyAt.every((x) => x >= 0)) break;
      await cluster.settle(50);
    }
    return readyAt;
  }

  it('nodes started together: once the last says ready, every node holds the same full ring and writes at w=all', async () => {
    const c = await clusters.start();
    expect(c.nodes.map((n) => n.readyForClients)).toEqual([false, false, false]);
    const readyAt = await pollAllReady(c);
    expect(readyAt.every((t) => t >= 0)).toBe(true);
    const rings = c.nodes.map((n) => n.ringState!);
    for (const ring of rings) {
      expect(new Set(ring.owners)).toEqual(new Set(['n1', 'n2', 'n3']));
      expect([ring.version, ring.claimant]).toEqual([rings[0]!.version, rings[0]!.claimant]);
    }
    // At once: every write at w=all succeeds through every node.
    const writes = c.nodes.map((n, i) => n.put(`together-${i}`, text('v'), { w: 3 }).then(() => 'ok', (err: Error) => err.message));
    expect(await c.run(Promise.all(writes))).toEqual(['ok', 'ok', 'ok']);
  });

  it('stays ready once it was (a peer lost later is for sloppy quorums, not for the load balancer)', async () => {
    const c = await clusters.start();
    const readyAt = await pollAllReady(c);
    c.network.partition(['n1', 'n2'], ['n3']);
    // Polled through the time n3 turns suspect in n1's view, all of it well before the
    // last-resort bound (which would make any node ready anyway).
    const seen: string[] = [];
    for (let t = 0; t < 4_000; t += 50) {
      await c.settle(50);
      seen.push(c.nodes[0]!.inspect().members.find((m) => m.id === 'n3')!.status);
      expect(c.nodes.map((n) => n.readyForClients)).toEqual([true, true, true]);
    }
    expect(seen).toContain('suspect');
    expect(Math.max(...readyAt) + 4_000).toBeLessThan(nodeReadyWaitMs);
  });

  it('asks the other owners before it says ready, even once its own view has settled', async () => {
    const c = await clusters.start();
    // Just started, the nodes hold rings of two owners while the third member is up already: nobody is ready.
    expect(c.nodes.map((n) => n.readyForClients)).toEqual([false, false, false]);
    // Let the ring form without polling readiness, so no view question has gone out yet.
    await c.settle(5_000);
    expect(c.nodes.every((n) => new Set(n.ringState?.owners ?? []).size === 3)).toBe(true);
    // The first poll only asks; the answers come back within a step.
    expect(c.nodes.map((n) => n.readyForClients)).toEqual([false, false, false]);
    await c.settle(100);
    expect(c.nodes.map((n) => n.readyForClients)).toEqual([true, true, true]);
  });

  it('a node restarted while the rest of its cluster is stopped says ready once nobody mentioned the others, before the last-resort bound', async () => {
    const c = await clusters.start();
    expect(await ringAgreed(c)).toBe(true);
    await c.stop();
    // n1 again, on its own store (its ring names n2 and n3), in a network where nobody else runs.
    const network = new MemoryNetwork();
    const timers = new SimTimers(c.sched);
    const address = '10.0.0.1:7070';
    const node = new ShoalNode({
      id: 'n1',
      address,
      n: 3,
      r: 2,
      w: 2,
      partitions: 8,
      maxValueBytes: 1 << 20,
      seeds: ['10.0.0.2:7070', '10.0.0.3:7070'],
      env: { clock: new SimClock(c.sched), timers, random: new SeededRandom(7) },
      store: c.stores[0]!,
      transport: network.transport({ self: 'n1', address, clusterParams: 'n=3,q=8', env: { timers } }),
      log: silentLogger,
    });
    await node.start();
    try {
      expect(new Set(node.ringState?.owners)).toEqual(new Set(['n1', 'n2', 'n3']));
      let readyAt = -1;
      for (let t = 0; t <= nodeReadyWaitMs + 1_000 && readyAt < 0; t += 50) {
        if (node.readyForClients) readyAt = t;
        else await c.settle(50);
      }
      expect(readyAt).toBeGreaterThanOrEqual(nodeReadyUnknownOwnersWaitMs - 50);
      expect(readyAt).toBeLessThan(nodeReadyWaitMs);
    } finally {
      await node.stop();
    }
  });
});
