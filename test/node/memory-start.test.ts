import { describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/index.js';
import { inProcessNodes } from './helpers.js';

/**
 * The soft memory limit changes a process-wide V8 setting, so one node per process
 * governs it: a second node started in the same process runs without one (and says so),
 * and once the first stops, the next node started may govern again.
 */
describe('soft memory limit: one governing node per process', () => {
  const nodes = inProcessNodes('shoal-memory-start-');
  const start = (id: string): Promise<RunningNode> => nodes.start(id, { SHOAL_MEMORY_SOFT_LIMIT_MB: '4096' });
  const governed = async (node: RunningNode): Promise<boolean> =>
    (await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text()).includes('shoal_memory_soft_limit_bytes');

  it('a second node in the process runs without one; after the first stops, the next governs', async () => {
    const a = await start('a');
    const b = await start('b');
    expect(await governed(a)).toBe(true);
    expect(await governed(b)).toBe(false);
    await a.stop();
    const c = await start('c');
    expect(await governed(c)).toBe(true);
  }, 60_000);
});
