import { describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/index.js';
import { inProcessNodes, metricOf, putWhenReady } from './helpers.js';

/**
 * The store's read cache is off in a node by default (src/config/store.ts says why) and
 * SHOAL_READ_CACHE_ENTRIES turns it on: the setting must reach the node's store, which
 * /metrics shows (cached objects, hits).
 */
describe('read cache: off by default, SHOAL_READ_CACHE_ENTRIES turns it on', () => {
  const nodes = inProcessNodes('shoal-read-cache-');
  // No soft memory limit: it would steer this test process's V8 heap.
  const start = (id: string, env: Record<string, string>): Promise<RunningNode> =>
    nodes.start(id, { SHOAL_MEMORY_SOFT_LIMIT_MB: '0', ...env }, ['--r', '1', '--w', '1']);
  const metric = metricOf;
  /** Writes a key (polling until the new node takes writes), then reads it twice through the node's HTTP API. */
  const writeAndRead = async (node: RunningNode): Promise<void> => {
    const url = `http://127.0.0.1:${node.port}/v1/kv/cached-key`;
    expect(await putWhenReady(url, 'v')).toBe(204);
    for (let i = 0; i < 2; i++) expect(await (await fetch(url)).text()).toBe('v');
  };

  it('caches nothing by default', async () => {
    const node = await start('plain', {});
    await writeAndRead(node);
    expect(await metric(node, 'shoal_store_cache_entries')).toBe(0);
    expect(await metric(node, 'shoal_store_cache_hits_total')).toBe(0);
  }, 30_000);

  it('caches written and read objects when asked to', async () => {
    const node = await start('cached', { SHOAL_READ_CACHE_ENTRIES: '100' });
    await writeAndRead(node);
    expect(await metric(node, 'shoal_store_cache_entries')).toBeGreaterThanOrEqual(1);
    expect(await metric(node, 'shoal_store_cache_hits_total')).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
