import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, get, put, waitFor } from './harness.js';

/**
 * A `--sync` node killed with SIGKILL: at its next start the value log (its write-ahead
 * log) replays the batches logged since the last checkpoint into LevelDB, the start says
 * so, and every acknowledged write reads back. After a clean stop nothing is replayed.
 * (A crash of the machine, where LevelDB also loses its unsynced writes, is modelled in
 * test/store/vlog-wal.test.ts; here LevelDB keeps them, so the replay must also be
 * harmless over writes the engine already holds.) The writes go to a segment made ahead
 * of time, so the killed node's last segment ends in zeros, which the start cuts off.
 */
describe('a --sync node restarted after SIGKILL', () => {
  const cluster = new Cluster({ nodes: 1, extraArgs: ['--sync', '--n', '1', '--r', '1', '--w', '1'] });
  const big = (i: number): string => `${i}:`.padEnd(2000, 'x');
  const keys = Array.from({ length: 120 }, (_, i) => `k${i}`);

  /** The `replayedBatches` and `trimmedBytes` of the node's newest `node_started` line. */
  const started = async (): Promise<{ replayedBatches: number; trimmedBytes: number; keyFilter: string; saved: string[] }> => {
    const line = await waitFor('node_started', () => cluster.nodes[0]!.logs.filter((l) => l.includes('"node_started"')).at(-1));
    return JSON.parse(line) as { replayedBatches: number; trimmedBytes: number; keyFilter: string; saved: string[] };
  };
  const replayed = async (): Promise<number> => (await started()).replayedBatches;

  /** A metric of the node's `/metrics`, as a number. */
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${cluster.url(0)}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
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
    // The head moves to the segment made ahead of time at the first write after it is ready.
    await waitFor('a segment made ahead of time to become the head', async () => {
      expect((await put(cluster.url(0), 'probe', 'p')).status).toBe(204);
      return (await metric('shoal_store_value_log_preallocated_segments_total')) >= 1;
    });
    await writeAll(1);
    await cluster.kill(0, 'SIGKILL');
    cluster.nodes[0]!.logs.length = 0;
    cluster.spawn(0);
    await cluster.waitHealthy(0);
    // Six batches of writes at least (the start's own checkpoint came before them), and
    // the zeros after them cut from the segment.
    const after = await started();
    expect(after.replayedBatches).toBeGreaterThanOrEqual(6);
    expect(after.trimmedBytes).toBeGreaterThan(0);
    await readAll(1);
    cluster.nodes[0]!.logs.length = 0;
    await cluster.restart(0);
    expect(await replayed()).toBe(0);
    // A clean stop saved the key filter, and this start read it back...
    expect((await started()).keyFilter).toBe('saved');
    expect((await started()).saved).toContain('store.keyFilter');
    await readAll(1);
    // ...and deleted it: after a crash of this run, the next start scans the keys again,
    // so keys first written in this run are known. A blind write of each then merges with
    // the stored version (two siblings, 300); a filter without them would have let the
    // write skip its read and replace that version.
    const fresh = Array.from({ length: 30 }, (_, i) => `fresh-${i}`);
    for (const k of fresh) expect((await put(cluster.url(0), k, 'first')).status).toBe(204);
    await cluster.kill(0, 'SIGKILL');
    cluster.nodes[0]!.logs.length = 0;
    cluster.spawn(0);
    await cluster.waitHealthy(0);
    expect(await started()).toMatchObject({ keyFilter: 'scanned', saved: [] });
    for (const k of fresh) expect((await put(cluster.url(0), k, 'second')).status).toBe(204);
    for (const k of fresh) expect((await get(cluster.url(0), k)).status).toBe(300);
  }, 90_000);
});
