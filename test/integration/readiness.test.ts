import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, get, put, waitFor } from './harness.js';

/**
 * CONTRACT: "The node is ready when GET /v1/health answers 200." These tests act at the
 * very first 200 (polled every 10 ms), with no pause, at r or w = all. Before a node's
 * readiness waited for its view of the cluster to settle (ShoalNode.readyForClients),
 * both failed with 503: a restarted node still held its peers as suspect for 0.1-1 s
 * after its first 200, and nodes started together answered 200 while the third one owned
 * no partitions yet.
 */

async function firstHealthy(url: string): Promise<void> {
  await waitFor(
    `${url} health 200`,
    async () => {
      const res = await fetch(`${url}/v1/health`).catch(() => undefined);
      if (res === undefined) return false;
      await res.arrayBuffer();
      return res.status === 200;
    },
    30_000,
    10,
  );
}

describe('health 200 means ready for every quorum', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('a restarted node reads at r=all and writes at w=all at its first 200', async () => {
    cluster = new Cluster({ nodes: 3 });
    await cluster.start();
    await cluster.waitConverged();
    expect((await put(cluster.url(0), 'ready-a', 'before', { query: 'w=all' })).status).toBe(204);
    await cluster.kill(2, 'SIGKILL');
    cluster.spawn(2);
    await firstHealthy(cluster.url(2));
    const read = await get(cluster.url(2), 'ready-a', { query: 'r=all' });
    expect(read.status, cluster.tail()).toBe(200);
    expect(await read.text()).toBe('before');
    expect((await put(cluster.url(2), 'ready-b', 'after', { query: 'w=all' })).status, cluster.tail()).toBe(204);
  }, 60_000);

  it('nodes started together: the last to answer 200 writes at w=all at once', async () => {
    cluster = new Cluster({ nodes: 3 });
    // Prepare three nodes (ports, seeds: node 0), spawn them together, and wait for every one's first 200.
    await cluster.startSome(0);
    for (const i of [0, 1, 2]) cluster.spawn(i);
    let last = -1;
    await Promise.all(
      [0, 1, 2].map(async (i) => {
        await firstHealthy(cluster!.url(i));
        last = i;
      }),
    );
    // The node that answered last has joined the ring and reaches every other owner.
    const res = await put(cluster.url(last), 'ready-together', 'v', { query: 'w=all' });
    expect(res.status, `${await res.clone().text()}\n${cluster.tail()}`).toBe(204);
    const read = await get(cluster.url(last), 'ready-together', { query: 'r=all' });
    expect(read.status).toBe(200);
  }, 60_000);
});
