import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, get, put, waitFor } from './harness.js';

/**
 * A `--sync` node killed with SIGKILL: at its next start the value log (its write-ahead
 * log) replays the batches logged since the last checkpoint into LevelDB, the start says
 * so, and every acknowledged write reads back. After a clean stop nothing is replayed.
 * (A crash of the machine, where LevelDB also loses its unsynced writes, is modelled in
 * test/store/vlog-wal.test.ts; here LevelDB keeps them, so the replay must also be
 * harmless over writes the engine already holds.)
 */
describe('a --sync node restarted after SIGKILL', () => {
  const cluster = new Cluster({ nodes: 1, extraArgs: ['--sync', '--n', '1', '--r', '1', '--w', '1'] });
  const big = (i: number): string => `${i}:`.padEnd(2000, 'x');
  const keys = Array.from({ length: 120 }, (_, i) => `k${i}`);

  /** The `replayedBatches` of the node's newest `node_started` line. */
  const replayed = async (): Promise<number> => {
    const line = await waitFor('node_started', () => cluster.nodes[0]!.logs.filter((l) => l.includes('"node_started"')).at(-1));
    return (JSON.parse(line) as { replayedBatches: number }).replayedBatches;
  };

  /** Writes every key (large values, and a small one every third), polling until the node takes writes. */
  const writeAll = async (round: number): Promise<void> => {
    await waitFor('the node to take writes', async () => (await put(cluster.url(0), 'probe', 'p')).status === 204);
    for (let i = 0; i < keys.length; i += 20) {
      const res = await Promise.all(keys.slice(i, i + 20).map((k, j) => put(cluster.url(0), k, (i + j) % 3 === 0 ? `s${round}` : big(round * 1000 + i + j))));
      for (const r of res) expect(r.status).toBe(204);
    }
  };

  const readAll = async (round: number): Promise<void> => {
    for (const [i, k] of keys.entries()) {
      const r = await get(cluster.url(0), k);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(i % 3 === 0 ? `s${round}` : big(round * 1000 + i));
    }
  };

  beforeAll(async () => {
    await cluster.start();
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('replays the log at the start, and every acknowledged write reads back; after a clean stop nothing is replayed', async () => {
    expect(await replayed()).toBe(0);
    await writeAll(1);
    await cluster.kill(0, 'SIGKILL');
    cluster.nodes[0]!.logs.length = 0;
    cluster.spawn(0);
    await cluster.waitHealthy(0);
    // Six batches of writes at least (the start's own checkpoint came before them).
    expect(await replayed()).toBeGreaterThanOrEqual(6);
    await readAll(1);
    cluster.nodes[0]!.logs.length = 0;
    await cluster.restart(0);
    expect(await replayed()).toBe(0);
    await readAll(1);
  }, 60_000);
});
