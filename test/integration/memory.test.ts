import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, waitFor } from './harness.js';

/**
 * The soft memory limit (src/node/memory.ts) in a real `shoal start` process: a limit
 * below what any node uses moves V8 to the tightest step at once; 0 turns it off; a
 * node started with its own --heap-growing-percent keeps the operator's setting.
 */
async function metrics(cluster: Cluster): Promise<string> {
  return (await fetch(`${cluster.url(0)}/metrics`)).text();
}

/** The open table files the node's `node_started` line reports. */
function openTables(cluster: Cluster): number | undefined {
  const line = cluster.nodes[0]!.logs.find((l) => l.includes('"node_started"'));
  return line === undefined ? undefined : (JSON.parse(line) as { openTables?: number }).openTables;
}

describe('soft memory limit in a real node', () => {
  const clusters: Cluster[] = [];
  const started = async (options: ConstructorParameters<typeof Cluster>[0]): Promise<Cluster> => {
    const c = new Cluster(options);
    clusters.push(c);
    await c.start();
    return c;
  };
  afterAll(async () => {
    for (const c of clusters) await c.stop();
  });

  it('a limit far below the node moves it to the tightest step and says so', async () => {
    const c = await started({ nodes: 1, env: { SHOAL_MEMORY_SOFT_LIMIT_MB: '16' } });
    const text = await waitFor('the tightest collection step', async () => {
      const t = await metrics(c);
      return t.includes('shoal_memory_gc_step 3\n') ? t : undefined;
    });
    expect(text).toContain(`shoal_memory_soft_limit_bytes ${16 * 1024 * 1024}\n`);
    expect(text).toContain('shoal_memory_gc_growing_percent 20\n');
    expect(c.nodes[0]!.logs.join('\n')).toMatch(/memory_gc_step/);
    // The limit also sizes LevelDB's open tables: never below the floor of 64.
    expect(openTables(c)).toBe(64);
    // The node still serves.
    expect((await fetch(`${c.url(0)}/v1/health`)).status).toBe(200);
  }, 60_000);

  it('SHOAL_MEMORY_SOFT_LIMIT_MB=0 turns it off', async () => {
    const c = await started({ nodes: 1, env: { SHOAL_MEMORY_SOFT_LIMIT_MB: '0' } });
    expect(await metrics(c)).not.toContain('shoal_memory_soft_limit_bytes');
    // No limit: LevelDB keeps its own 1,000 open tables.
    expect(openTables(c)).toBe(1000);
  }, 60_000);

  it("keeps the operator's own --heap-growing-percent", async () => {
    const c = await started({ nodes: 1, env: { SHOAL_MEMORY_SOFT_LIMIT_MB: '16' }, nodeArgs: ['--heap-growing-percent=40'] });
    await waitFor('the log line', () => c.nodes[0]!.logs.some((l) => l.includes('memory_soft_limit_off')));
    expect(await metrics(c)).not.toContain('shoal_memory_soft_limit_bytes');
  }, 60_000);
});
