import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { parseStartArgs } from '../../src/cli/index.js';
import { startNode, type RunningNode } from '../../src/node/index.js';

/**
 * Nodes started in the test's own process (`startNode`, as `shoal start` would with these
 * arguments and environment), each in its own directory under one temporary directory.
 * Call at the top of a `describe`: every node it started is stopped and the directory
 * removed after the file's tests.
 */
export function inProcessNodes(prefix: string): { start(id: string, env: Record<string, string>, args?: string[]): Promise<RunningNode> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const running: RunningNode[] = [];
  afterAll(async () => {
    for (const n of running) await n.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async start(id, env, args = []) {
      const options = parseStartArgs(['--id', id, '--port', '0', '--data', join(dir, id), '--n', '1', ...args], env, dir);
      const node = await startNode(options);
      running.push(node);
      return node;
    },
  };
}
