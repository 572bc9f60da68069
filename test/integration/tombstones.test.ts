import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, del, get, local, put, waitFor } from './harness.js';

/**
 * Tombstones are removed only once every replica is known to hold them: never while a
 * member is down, never by the timer alone; and a key written again after reaping keeps
 * the new write.
 */
describe('tombstone reaping', () => {
  const cluster = new Cluster({ nodes: 3, extraArgs: ['--tombstone-grace-ms', '300'] });

  beforeAll(async () => {
    await cluster.start();
    await cluster.waitConverged();
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  async function contextOf(i: number, key: string): Promise<string> {
    return (await get(cluster.url(i), key, { query: 'r=all' })).headers.get('x-shoal-context')!;
  }

  it('warns at the start that a grace this short can let deletes come back', () => {
    for (const n of cluster.nodes) {
      const line = n.logs.find((l) => l.includes('"tombstone_grace_short"'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ level: 'warn', graceMs: 300, safeMinMs: 3000 });
    }
  });

  it('reaps a tombstone every replica holds, and a later write of the key is kept', async () => {
    await put(cluster.url(0), 'reap-me', 'v1', { query: 'w=all' });
    expect((await del(cluster.url(1), 'reap-me', { context: await contextOf(1, 'reap-me'), query: 'w=all' })).status).toBe(204);
    await waitFor('the tombstone to be reaped on every node', async () => {
      for (let i = 0; i < 3; i++) if ((await local(cluster.url(i), 'reap-me')).status !== 404) return false;
      return true;
    }, 30_000, 250);
    expect((await get(cluster.url(2), 'reap-me', { query: 'r=all' })).status).toBe(404);
    // Written again (blind, as a new key): the new value is the only one, everywhere.
    expect((await put(cluster.url(2), 'reap-me', 'v2', { query: 'w=all' })).status).toBe(204);
    for (let i = 0; i < 3; i++) {
      const r = await get(cluster.url(i), 'reap-me', { query: 'r=all' });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('v2');
    }
  }, 60_000);

  it('keeps the tombstone while a replica is down, then reaps it once that replica holds it too', async () => {
    await put(cluster.url(0), 'outage', 'old', { query: 'w=all' });
    const ctx = await contextOf(0, 'outage');
    await cluster.kill(2, 'SIGKILL');
    expect((await del(cluster.url(0), 'outage', { context: ctx, query: 'w=2' })).status).toBe(204);
    // Several reaper rounds pass (2 s each) while node 2 is down: the tombstone must stay.
    const deadline = Date.now() + 6_000;
    while (Date.now() < deadline) {
      for (const i of [0, 1]) expect((await local(cluster.url(i), 'outage')).body?.tombstone).toBe(true);
      await new Promise((r) => setTimeout(r, 500));
    }
    cluster.spawn(2);
    await cluster.waitHealthy(2);
    await cluster.waitConverged();
    await waitFor('the tombstone to reach the returning replica and then be reaped everywhere', async () => {
      for (let i = 0; i < 3; i++) if ((await local(cluster.url(i), 'outage')).status !== 404) return false;
      return true;
    }, 60_000, 250);
    for (let i = 0; i < 3; i++) expect((await get(cluster.url(i), 'outage', { query: 'r=all' })).status).toBe(404);
  }, 120_000);
});
