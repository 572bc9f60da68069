import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/index.js';
import { inProcessNodes, metricOf, putWhenReady } from './helpers.js';

/**
 * A node keeps large objects in its value log by default, with --sync too
 * (src/store/vlog.ts), and SHOAL_VALUE_LOG=off keeps them in the database: the setting must reach the node's
 * engine, which /metrics and the data directory show. After a restart the log is read back into the page
 * cache (SHOAL_VALUE_LOG_PREWARM_MB=0: not).
 */
describe('value log: on by default (with --sync too), SHOAL_VALUE_LOG=off writes objects inline', () => {
  const nodes = inProcessNodes('shoal-value-log-');
  const start = (id: string, env: Record<string, string>): Promise<RunningNode> =>
    nodes.start(id, { SHOAL_MEMORY_SOFT_LIMIT_MB: '0', ...env }, ['--r', '1', '--w', '1']);
  const metric = metricOf;
  const big = 'v'.repeat(2000);
  /** Writes a 2,000-byte value and a small one (polling until the node takes writes), and reads both back. */
  const writeAndRead = async (node: RunningNode): Promise<void> => {
    const base = `http://127.0.0.1:${node.port}/v1/kv`;
    expect(await putWhenReady(`${base}/big`, big)).toBe(204);
    expect((await fetch(`${base}/small`, { method: 'PUT', body: 's' })).status).toBe(204);
    expect(await (await fetch(`${base}/big`)).text()).toBe(big);
    expect(await (await fetch(`${base}/small`)).text()).toBe('s');
  };

  it('keeps a large object in the log, and a small one in the database', async () => {
    const node = await start('on', {});
    await writeAndRead(node);
    expect(await metric(node, 'shoal_store_value_log_segments')).toBe(1);
    // One record: its 12-byte header, the key's bytes and the encoded object (2,000 bytes and framing).
    const bytes = await metric(node, 'shoal_store_value_log_bytes');
    expect(bytes).toBeGreaterThan(2000);
    expect(bytes).toBeLessThan(2200);
    expect(await readdir(join(nodes.dataDir('on'), 'vlog'))).toEqual(['00000001.vlog']);
  }, 30_000);

  it('is on with --sync too, unless SHOAL_VALUE_LOG=off', async () => {
    const synced = await nodes.start('sync', { SHOAL_MEMORY_SOFT_LIMIT_MB: '0' }, ['--r', '1', '--w', '1', '--sync']);
    await writeAndRead(synced);
    expect(await metric(synced, 'shoal_store_value_log_bytes')).toBeGreaterThan(2000);
    // With --sync it is the write-ahead log: a small object's batch is logged too (without
    // --sync, the first test's log holds the large record alone).
    const before = await metric(synced, 'shoal_store_value_log_bytes');
    expect((await fetch(`http://127.0.0.1:${synced.port}/v1/kv/small2`, { method: 'PUT', body: 's' })).status).toBe(204);
    expect(await metric(synced, 'shoal_store_value_log_bytes')).toBeGreaterThan(before);
    const off = await nodes.start('sync-off', { SHOAL_MEMORY_SOFT_LIMIT_MB: '0', SHOAL_VALUE_LOG: 'off' }, ['--r', '1', '--w', '1', '--sync']);
    await writeAndRead(off);
    expect(await metric(off, 'shoal_store_value_log_bytes')).toBe(0);
  }, 30_000);

  it('reads its log back into the page cache after a restart, unless SHOAL_VALUE_LOG_PREWARM_MB=0', async () => {
    const first = await start('prewarm', {});
    await writeAndRead(first);
    // Nothing to read back at the first start: the log was empty.
    expect(await metric(first, 'shoal_store_value_log_prewarmed_bytes_total')).toBe(0);
    await first.stop();
    const again = await start('prewarm', {});
    const bytes = await metric(again, 'shoal_store_value_log_bytes');
    expect(bytes).toBeGreaterThan(2000);
    // The read-back runs beside the start; poll until it has read the whole log.
    const deadline = Date.now() + 10_000;
    let read = 0;
    while ((read = await metric(again, 'shoal_store_value_log_prewarmed_bytes_total')) < bytes && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(read).toBe(bytes);
    expect(await (await fetch(`http://127.0.0.1:${again.port}/v1/kv/big`)).text()).toBe(big);
    await again.stop();
    const none = await start('prewarm', { SHOAL_VALUE_LOG_PREWARM_MB: '0' });
    expect(await metric(none, 'shoal_store_value_log_bytes')).toBe(bytes);
    // A read of the log takes longer than a read-back of one record would have.
    expect(await (await fetch(`http://127.0.0.1:${none.port}/v1/kv/big`)).text()).toBe(big);
    expect(await metric(none, 'shoal_store_value_log_prewarmed_bytes_total')).toBe(0);
  }, 30_000);

  it('writes nothing to a log when off', async () => {
    const node = await start('off', { SHOAL_VALUE_LOG: 'off' });
    await writeAndRead(node);
    expect(await metric(node, 'shoal_store_value_log_bytes')).toBe(0);
    expect(await readdir(nodes.dataDir('off'))).not.toContain('vlog');
  }, 30_000);
});
