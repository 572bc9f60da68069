import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { Cluster, ROOT, SHOAL, get, local, put, waitFor } from './harness.js';
import { connect } from '../../src/client/node.js';

/**
 * Membership change on real processes: a fourth node joins and takes about a quarter of
 * the partitions, with every key on exactly N=3 nodes afterwards; then a node leaves and
 * nothing is lost.
 */
describe('join and leave move data as whole partitions', () => {
  const cluster = new Cluster({ nodes: 4 });
  const keys = Array.from({ length: 300 }, (_, i) => `member-${i}`);

  async function ringOf(i: number): Promise<Array<{ id: number; owners: string[] }>> {
    return ((await (await fetch(`${cluster.url(i)}/v1/ring`)).json()) as { partitions: Array<{ id: number; owners: string[] }> }).partitions;
  }

  async function statusOf(i: number): Promise<{ ring: { pending: boolean; version: number } | null; transfers: unknown[]; members: Array<{ id: string; status: string }> }> {
    return (await (await fetch(`${cluster.url(i)}/v1/status`)).json()) as never;
  }

  /** On how many of the running nodes each key has a local copy. */
  async function copies(nodes: number[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const k of keys) {
      let c = 0;
      for (const i of nodes) if ((await local(cluster.url(i), k)).status === 200) c++;
      out.set(k, c);
    }
    return out;
  }

  beforeAll(async () => {
    await cluster.startSome(3);
    await cluster.waitConverged([0, 1, 2]);
    for (const [i, k] of keys.entries()) expect((await put(cluster.url(i % 3), k, `v${i}`, { query: 'w=all' })).status).toBe(204);
  }, 90_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('a fourth node takes about a quarter of the partitions; afterwards every key is on exactly 3 nodes', async () => {
    const before = await ringOf(0);
    // An SDK client reads all along (direct reads, routing on a ring that goes stale):
    // every read of a written key must find its value, before, during and after the join.
    const sdk = await connect({ endpoints: [0, 1, 2].map((i) => `${cluster.nodes[i]!.host}:${cluster.nodes[i]!.port}`) });
    const wrong: string[] = [];
    let reads = 0;
    let reading = true;
    const reader = (async () => {
      for (let i = 0; reading; i = (i + 7) % keys.length) {
        try {
          const got = await sdk.get(keys[i]!);
          const text = got.values.map((v) => new TextDecoder().decode(v)).join(',');
          if (text !== `v${i}`) wrong.push(`${keys[i]}: ${text || '(not found)'}`);
        } catch (err) {
          wrong.push(`${keys[i]}: ${(err as Error).message}`);
        }
        reads++;
      }
    })();
    cluster.spawn(3);
    await cluster.waitHealthy(3);
    await waitFor('the new ring to settle with four owners', async () => {
      const s = await statusOf(0);
      const r = await ringOf(0);
      return s.ring && !s.ring.pending && new Set(r.flatMap((p) => p.owners)).size === 4;
    }, 60_000, 250);
    const after = await ringOf(0);
    const moved = after.filter((p, i) => p.owners[0] !== before[i]!.owners[0]).length;
    expect(moved).toBeGreaterThanOrEqual(12);
    expect(moved).toBeLessThanOrEqual(20);
    await waitFor('every key on exactly 3 nodes', async () => [...(await copies([0, 1, 2, 3])).values()].every((c) => c === 3), 60_000, 500);
    reading = false;
    await reader;
    const stats = sdk.stats();
    await sdk.close();
    expect(wrong).toEqual([]);
    expect(reads).toBeGreaterThan(100);
    expect(stats.directReads).toBeGreaterThan(50);
    for (const [i, k] of keys.entries()) {
      const r = await get(cluster.url(3), k, { query: 'r=all' });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(`v${i}`);
    }
    // With four nodes and N=3 some keys have no replica on node 3: it forwards those
    // writes to a replica, which assigns the dot. All succeed.
    for (let i = 0; i < 40; i++) expect((await put(cluster.url(3), `forwarded-${i}`, `f${i}`, { query: 'w=2' })).status).toBe(204);
    const counters = ((await statusOf(3)) as unknown as { counters: { forwards: number } }).counters;
    expect(counters.forwards).toBeGreaterThan(0);
    for (let i = 0; i < 40; i++) expect(await (await get(cluster.url(0), `forwarded-${i}`, { query: 'r=2' })).text()).toBe(`f${i}`);
    // The new node's status lists the partitions it pulled, with a progress bar.
    const st = (await statusOf(3)).transfers as Array<{ direction: string; state: string; keysSent: number }>;
    expect(st.filter((t) => t.direction === 'in' && t.state === 'done').length).toBeGreaterThan(0);
    const out = spawnSync(process.execPath, [SHOAL, 'status', '--endpoint', `${cluster.nodes[3]!.host}:${cluster.nodes[3]!.port}`], { cwd: ROOT, encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/\[#{20}\] 100%/);
  }, 150_000);

  it('a leaving node hands its partitions to the rest, then stops; nothing is lost', async () => {
    const res = await fetch(`${cluster.url(1)}/v1/admin/leave`, { method: 'POST' });
    expect(res.status).toBe(202);
    await waitFor('the leaver to stop', () => !cluster.isRunning(1), 90_000, 250);
    await waitFor('the others to see it gone', async () => !(await statusOf(0)).members.some((m) => m.id === cluster.nodes[1]!.id), 30_000);
    const r = await ringOf(0);
    expect(r.every((p) => !p.owners.includes(cluster.nodes[1]!.id))).toBe(true);
    await waitFor('every key on exactly 3 nodes', async () => [...(await copies([0, 2, 3])).values()].every((c) => c === 3), 60_000, 500);
    for (const [i, k] of keys.entries()) {
      const g = await get(cluster.url(0), k, { query: 'r=all' });
      expect(g.status).toBe(200);
      expect(await g.text()).toBe(`v${i}`);
    }
  }, 150_000);
});
