import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeContext } from '../../src/vclock/index.js';
import { Cluster, get, put, waitFor } from './harness.js';

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
      // What the clean stop saved was taken back by this start: the key filter (read back,
      // not rebuilt from a scan), the actor memory and the anti-entropy trees.
      const line = cluster.nodes[i]!.logs.filter((l) => l.includes('"node_started"')).at(-1)!;
      const started = JSON.parse(line) as { keyFilter: string; keyFilterKeys: number; saved: string[] };
      expect(started.saved).toEqual(['actor.recent', 'ae.trees', 'store.keyFilter']);
      expect(started.keyFilter).toBe('saved');
      expect(started.keyFilterKeys).toBeGreaterThanOrEqual(keys.length);
      const logs = cluster.nodes[i]!.logs;
      const built = await waitFor(`node ${i}'s trees`, () => logs.slice(logs.lastIndexOf(line)).find((l) => l.includes('"antientropy_trees_built"')));
      expect(JSON.parse(built) as { restored: number; scanned: number }).toMatchObject({ restored: 64, scanned: 0 });
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

  /** Clock entries of a write's answer context. */
  const entries = (r: Response): number => {
    expect(r.status).toBe(204);
    return decodeContext(r.headers.get('x-shoal-context')!).length;
  };

  /**
   * Writes 30 keys with their contexts through node i % 3, restarts every node cleanly
   * (with `env`), writes them again through the same nodes with the contexts the first
   * writes answered, and returns both writes' clock sizes.
   */
  async function writeRestartWrite(tag: string, env: Record<string, string>): Promise<{ before: number[]; after: number[] }> {
    const some = keys.slice(0, 30);
    const tokens: string[] = [];
    const before: number[] = [];
    for (const [i, k] of some.entries()) {
      const read = await get(cluster.url(i % 3), k, { query: 'r=all' });
      expect(read.status).toBe(200);
      const w = await put(cluster.url(i % 3), k, `${tag}-before-${i}`, { context: read.headers.get('x-shoal-context')!, query: 'w=all' });
      before.push(entries(w));
      tokens.push(w.headers.get('x-shoal-context')!);
    }
    await Promise.all([0, 1, 2].map((i) => cluster.kill(i, 'SIGTERM')));
    for (const i of [0, 1, 2]) cluster.spawn(i, [], env);
    for (const i of [0, 1, 2]) await cluster.waitHealthy(i);
    const after: number[] = [];
    for (const [i, k] of some.entries()) after.push(entries(await put(cluster.url(i % 3), k, `${tag}-after-${i}`, { context: tokens[i]!, query: 'w=all' })));
    for (const [i, k] of some.entries()) {
      const r = await get(cluster.url((i + 1) % 3), k, { query: 'r=all' });
      expect(await r.text()).toBe(`${tag}-after-${i}`);
    }
    return { before, after };
  }

  it('adds no clock entry to a key written again after a clean restart (the actor memory is carried over)', async () => {
    const { before, after } = await writeRestartWrite('kept', {});
    // Before the memory was saved, each of these writes took a fresh actor: one entry more.
    expect(after).toEqual(before);
  }, 90_000);

  it('with SHOAL_FORGET_ACTORS=1 a start drops the saved memory: the next write of each key takes a fresh actor', async () => {
    const { before, after } = await writeRestartWrite('forgot', { SHOAL_FORGET_ACTORS: '1' });
    expect(after).toEqual(before.map((n) => n + 1));
  }, 90_000);
});
