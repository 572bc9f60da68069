/**
 * CI smoke run of `shoal bench` against a real 3-node cluster: 2 seconds over the SDK and
 * over HTTP. It checks that the command works and its output is sane (every percentile
 * ordered, counts adding up); it never checks a speed.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, ROOT, SHOAL } from '../integration/harness.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = new Cluster({ nodes: 3 });
  await cluster.start();
  await cluster.waitConverged();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

function shoal(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [SHOAL, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

function checkSane(json: { totalOps: number; totalErrors: number; opsPerSec: number; ops: Record<string, { ok: number; errors: number; latencyUs: Summary }> }, ops: string[]) {
  expect(json.totalOps).toBeGreaterThan(0);
  expect(json.opsPerSec).toBeGreaterThan(0);
  let sum = 0;
  for (const op of ops) {
    const o = json.ops[op];
    expect(o, op).toBeDefined();
    expect(o!.ok).toBeGreaterThan(0);
    const l = o!.latencyUs;
    expect(l.count).toBe(o!.ok);
    expect(l.min).toBeGreaterThan(0);
    for (const [a, b] of [[l.min, l.p50], [l.p50, l.p90], [l.p90, l.p99], [l.p99, l.p999], [l.p999, l.max]] as const) expect(a).toBeLessThanOrEqual(b);
    sum += o!.ok + o!.errors;
  }
  expect(sum).toBe(json.totalOps);
  // A healthy cluster answers nearly everything.
  expect(json.totalErrors).toBeLessThanOrEqual(json.totalOps / 10);
}

describe('shoal bench (smoke)', () => {
  it('runs 2 s over the SDK against every node and prints sane JSON and progress', async () => {
    const endpoints = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    const r = await shoal(['bench', '--endpoint', endpoints, '--duration', '2s', '--concurrency', '8', '--keys', '500', '--value-bytes', '256', '--mix', 'put=40,get=40,rmw=10,delete=10', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ops\/s +p99/);
    checkSane(JSON.parse(r.stdout), ['put', 'get', 'rmw', 'delete']);
    // The SDK read most keys directly from their owners.
    const reads = (JSON.parse(r.stdout) as { reads: { directReads: number; directFallbacks: number } }).reads;
    expect(reads.directReads).toBeGreaterThan(0);
  }, 30_000);

  it('runs 2 s over the HTTP API with a zipf distribution and prints the table', async () => {
    const r = await shoal(['bench', '--endpoint', `${cluster.nodes[1]!.host}:${cluster.nodes[1]!.port}`, '--http', '--duration', '2s', '--concurrency', '4', '--keys', '200', '--dist', 'zipf', '--w', '2', '--r', 'one']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^op +ok +errors +not found +ops\/s +p50 ms +p90 ms +p99 ms +p99\.9 ms +max ms$/m);
    expect(r.stdout).toMatch(/^put +[1-9]\d* +\d+/m);
    expect(r.stdout).toMatch(/^get +[1-9]\d* +\d+/m);
    expect(r.stdout).toMatch(/\(shoal-http\)/);
  }, 30_000);

  it('fails with exit code 1 when nothing answers', async () => {
    const r = await shoal(['bench', '--endpoint', '127.0.0.1:1', '--http', '--duration', '300ms', '--concurrency', '1', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors.ECONNREFUSED).toBeGreaterThan(0);
  }, 30_000);
});
