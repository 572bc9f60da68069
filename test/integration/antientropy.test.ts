import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { Cluster, del, get, local, put, waitFor } from './harness.js';

/**
 * Anti-entropy and deletes on real processes: a wiped replica becomes whole again
 * without any client read, and a key deleted while a replica was down stays deleted
 * everywhere once that replica is back.
 */
describe('anti-entropy repairs a wiped replica; deletes stay deleted', () => {
  const cluster = new Cluster({ nodes: 3 });
  const keys = Array.from({ length: 2000 }, (_, i) => `ae-${i}`);

  beforeAll(async () => {
    await cluster.start();
    await cluster.waitConverged();
    // Writes at w=all in parallel batches: every replica holds every key.
    for (let i = 0; i < keys.length; i += 50) {
      const batch = keys.slice(i, i + 50);
      const res = await Promise.all(batch.map((k, j) => put(cluster.url((i + j) % 3), k, `value-${i + j}`, { query: 'w=all' })));
      for (const r of res) expect(r.status).toBe(204);
    }
  }, 120_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('a wiped node gets every key back into its own store within 60 s, without a client read', async () => {
    const victim = 2;
    await cluster.kill(victim, 'SIGTERM');
    rmSync(cluster.nodes[victim]!.dataDir, { recursive: true, force: true });
    const started = Date.now();
    cluster.spawn(victim);
    await cluster.waitHealthy(victim);
    const missing = async () => {
      let n = 0;
      for (const k of keys) if ((await local(cluster.url(victim), k)).status !== 200) n++;
      return n;
    };
    await waitFor('every key back on the wiped node', async () => (await missing()) === 0, 60_000, 1_000);
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(60);
    // Its copies are the real values, not just any object.
    for (const [i, k] of keys.entries()) {
      if (i % 97 !== 0) continue;
      const l = await local(cluster.url(victim), k);
      expect(Buffer.from(l.body!.values[0]!, 'base64').toString()).toBe(`value-${i}`);
    }
    const status = (await (await fetch(`${cluster.url(victim)}/v1/status`)).json()) as { antiEntropy: { partitions: Array<{ partition: number; keysRepaired: number }> } };
    expect(status.antiEntropy.partitions.length).toBeGreaterThan(0);
  }, 120_000);

  it('a key deleted while one replica is down stays 404 on every node after it returns', async () => {
    await put(cluster.url(0), 'doomed', 'alive', { query: 'w=all' });
    const ctx = (await get(cluster.url(0), 'doomed')).headers.get('x-shoal-context')!;
    const victim = 1;
    await cluster.kill(victim, 'SIGKILL');
    expect((await del(cluster.url(0), 'doomed', { context: ctx, query: 'w=2' })).status).toBe(204);
    cluster.spawn(victim);
    await cluster.waitHealthy(victim);
    await cluster.waitConverged();
    // The returning replica had the live value; handoff and anti-entropy must bring it the
    // tombstone, never bring the value back.
    await waitFor('the stale replica to hold the tombstone', async () => (await local(cluster.url(victim), 'doomed')).body?.tombstone === true, 60_000, 500);
    for (let i = 0; i < 3; i++) {
      // r=all may meet a replica still warming up (503 under a loaded CI run): ask again,
      // but a value coming back (200) even once fails the test.
      const answers: number[] = [];
      await waitFor(`404 through node ${i}`, async () => {
        const status = (await get(cluster.url(i), 'doomed', { query: 'r=all' })).status;
        answers.push(status);
        return status === 404;
      }, 20_000, 250);
      expect(answers.filter((s) => s !== 404 && s !== 503)).toEqual([]);
      const l = await local(cluster.url(i), 'doomed');
      expect(l.status === 404 || l.body?.tombstone === true).toBe(true);
    }
  }, 120_000);
});
