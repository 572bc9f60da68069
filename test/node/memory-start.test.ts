import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStartArgs } from '../../src/cli/index.js';
import { startNode, type RunningNode } from '../../src/node/index.js';

/**
 * The soft memory limit changes a process-wide V8 setting, so one node per process
 * governs it: a second node started in the same process runs without one (and says so),
 * and once the first stops, the next node started may govern again.
 */
describe('soft memory limit: one governing node per process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-memory-start-'));
  const running: RunningNode[] = [];
  afterAll(async () => {
    for (const n of running) await n.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (id: string): Promise<RunningNode> => {
    const options = parseStartArgs(['--id', id, '--port', '0', '--data', join(dir, id), '--n', '1'], { SHOAL_MEMORY_SOFT_LIMIT_MB: '4096' }, dir);
    const node = await startNode(options);
    running.push(node);
    return node;
  };
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
