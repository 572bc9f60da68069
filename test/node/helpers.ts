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
export function inProcessNodes(prefix: string): {
  start(id: string, env: Record<string, string>, args?: string[]): Promise<RunningNode>;
  /** The data directory of the node started as `id`. */
  dataDir(id: string): string;
} {
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
    dataDir: (id) => join(dir, id),
  };
}

/** The value of one unlabelled metric on a node's /metrics page (fails the test when it is missing). */
export async function metricOf(node: RunningNode, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`metric ${name} missing`);
  return Number(line.split(' ')[1]);
}

/** PUTs `body` to `url`, again every 50 ms while a new node answers 503 (not yet taking writes; 15 s at most); the last status. */
export async function putWhenReady(url: string, body: string): Promise<number> {
  const deadline = Date.now() + 15_000;
  let status = 0;
  while ((status = (await fetch(url, { method: 'PUT', body })).status) === 503 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return status;
}
