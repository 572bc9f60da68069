import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, get, put } from './harness.js';

/**
 * A whole-cluster restart on the same data keeps the ring (no node, restarting alone,
 * claims a ring of its own) and serves every key at once.
 */
describe('restart of every node on the same data', () => {
  const cluster = new Cluster({ nodes: 3 });
  const keys = Array.from({ length: 300 }, (_, i) => `restart-${i}`);

  beforeAll(async () => {
    await cluster.start();
    await cluster.waitConverged();
    for (let i = 0; i < keys.length; i += 50) {
      const res = await Promise.all(keys.slice(i, i + 50).map((k, j) => put(cluster.url((i + j) % 3), k, `v${i + j}`, { query: 'w=all' })));
      for (const r of res) expect(r.status).toBe(204);
    }
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('keeps the ring version and owners, and reads every key after the restart', async () => {
    const ringBefore = await (await fetch(`${cluster.url(0)}/v1/ring`)).json();
    const versionBefore = ((await (await fetch(`${cluster.url(0)}/v1/status`)).json()) as { ring: { version: number } }).ring.version;
    await Promise.all([0, 1, 2].map((i) => cluster.kill(i, 'SIGTERM')));
    for (const i of [0, 1, 2]) cluster.spawn(i);
    for (const i of [0, 1, 2]) await cluster.waitHealthy(i);
    await cluster.waitConverged();
    for (const i of [0, 1, 2]) {
      const s = (await (await fetch(`${cluster.url(i)}/v1/status`)).json()) as { ring: { version: number } };
      expect(s.ring.version).toBe(versionBefore);
      expect(await (await fetch(`${cluster.url(i)}/v1/ring`)).json()).toEqual(ringBefore);
    }
    for (const [i, k] of keys.entries()) {
      const r = await get(cluster.url(i % 3), k, { query: 'r=2' });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(`v${i}`);
    }
  }, 90_000);
});
