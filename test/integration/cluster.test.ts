import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, ROOT, SHOAL, del, freePort, get, local, put, waitFor } from './harness.js';
import { connect } from '../../src/client/node.js';
import { isShoalError } from '../../src/errors/index.js';

/**
 * A real 3-node cluster (separate `shoal start` processes on loopback), exercised through
 * the HTTP API exactly as CONTRACT.md describes it.
 */
describe('a 3-node cluster of real processes', () => {
  const cluster = new Cluster({ nodes: 3 });

  beforeAll(async () => {
    await cluster.start();
    await cluster.waitConverged();
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('converges on membership: every node sees all three up, with the same ring', async () => {
    for (let i = 0; i < 3; i++) {
      const s = (await (await fetch(`${cluster.url(i)}/v1/status`)).json()) as { node: string; n: number; partitions: number; members: Array<{ id: string; status: string }>; hints: { pending: number } };
      expect(s.node).toBe(cluster.nodes[i]!.id);
      expect(s.n).toBe(3);
      expect(s.partitions).toBe(64);
      expect(s.members.map((m) => m.id).sort()).toEqual(cluster.nodes.map((n) => n.id).sort());
      expect(s.members.every((m) => m.status === 'up')).toBe(true);
      expect(typeof s.hints.pending).toBe('number');
    }
    const ring = (await (await fetch(`${cluster.url(0)}/v1/ring`)).json()) as { partitions: Array<{ id: number; owners: string[] }> };
    expect(ring.partitions).toHaveLength(64);
    for (const p of ring.partitions) expect(new Set(p.owners).size).toBe(3);
  });

  it('writes on one node and reads on another', async () => {
    const w = await put(cluster.url(0), 'greeting', 'hello');
    expect(w.status).toBe(204);
    expect(w.headers.get('x-shoal-context')).toBeTruthy();
    const r = await get(cluster.url(2), 'greeting');
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('hello');
    expect(r.headers.get('x-shoal-context')).toBeTruthy();
  });

  it('a write with the read context supersedes; blind concurrent writes become siblings (300)', async () => {
    await put(cluster.url(0), 'doc', 'v1');
    const r1 = await get(cluster.url(1), 'doc');
    const ctx = r1.headers.get('x-shoal-context')!;
    expect((await put(cluster.url(1), 'doc', 'v2', { context: ctx })).status).toBe(204);
    const r2 = await get(cluster.url(2), 'doc', { query: 'r=all' });
    expect(r2.status).toBe(200);
    expect(await r2.text()).toBe('v2');

    // Two writers without a context: both kept.
    await Promise.all([put(cluster.url(0), 'doc', 'left'), put(cluster.url(1), 'doc', 'right')]);
    const r3 = await get(cluster.url(2), 'doc', { query: 'r=all' });
    expect(r3.status).toBe(300);
    const body = (await r3.json()) as { values: string[]; context: string };
    const values = body.values.map((v) => Buffer.from(v, 'base64').toString()).sort();
    expect(values).toEqual(['left', 'right', 'v2']);
    // Resolving with the sibling context collapses them.
    expect((await put(cluster.url(2), 'doc', 'merged', { context: body.context, query: 'w=all' })).status).toBe(204);
    const r4 = await get(cluster.url(0), 'doc', { query: 'r=all' });
    expect(r4.status).toBe(200);
    expect(await r4.text()).toBe('merged');
    // Accept: application/json always gives the JSON shape for a live key.
    const r5 = await get(cluster.url(0), 'doc', { json: true });
    expect(r5.status).toBe(200);
    expect(((await r5.json()) as { values: string[] }).values.map((v) => Buffer.from(v, 'base64').toString())).toEqual(['merged']);
  });

  it("a put's context covers the version it wrote, not concurrent siblings its writer never saw", async () => {
    // Two blind writers through the same coordinator, then the second updates its own
    // write with the context its put answered: the first writer's value must survive.
    for (const [key, second] of [
      ['own-ctx-same', 0],
      ['own-ctx-other', 1],
    ] as const) {
      const a = await put(cluster.url(0), key, 'A', { query: 'w=all' });
      expect(a.status).toBe(204);
      const b = await put(cluster.url(second), key, 'B', { query: 'w=all' });
      const ctxB = b.headers.get('x-shoal-context')!;
      expect((await put(cluster.url(second), key, 'C', { context: ctxB, query: 'w=all' })).status).toBe(204);
      const r = await get(cluster.url(2), key, { query: 'r=all' });
      expect(r.status).toBe(300);
      const values = ((await r.json()) as { values: string[] }).values.map((v) => Buffer.from(v, 'base64').toString()).sort();
      expect(values).toEqual(['A', 'C']);
      // The first writer's own context supersedes only its own value.
      const ctxA = a.headers.get('x-shoal-context')!;
      expect((await put(cluster.url(1), key, 'A2', { context: ctxA, query: 'w=all' })).status).toBe(204);
      const r2 = await get(cluster.url(0), key, { query: 'r=all' });
      const after = ((await r2.json()) as { values: string[] }).values.map((v) => Buffer.from(v, 'base64').toString()).sort();
      expect(after).toEqual(['A2', 'C']);
    }
  });

  it('a key holds at most 100 siblings: the 101st blind write is refused (413), none is dropped, and a write with the context resolves them', async () => {
    // w=all: every replica holds all 100 before the next write is decided.
    for (let i = 0; i < 100; i++) expect((await put(cluster.url(i % 3), 'many', `s${i}`, { query: 'w=all' })).status).toBe(204);
    // A warning as the key passed 25 siblings and at every 25 more, not one per write.
    const warned = cluster.nodes
      .flatMap((n) => n.logs)
      .filter((l) => l.includes('"siblings_many"') && l.includes('"key":"many"'))
      .map((l) => (JSON.parse(l) as { siblings: number }).siblings)
      .sort((a, b) => a - b);
    expect(warned).toEqual([26, 51, 76]);
    const refused = await put(cluster.url(1), 'many', 's100');
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'too_large', message: expect.stringMatching(/101 siblings \(limit 100\)/) });
    const r = await get(cluster.url(2), 'many', { query: 'r=all' });
    expect(r.status).toBe(300);
    const body = (await r.json()) as { values: string[]; context: string };
    expect(body.values.map((v) => Buffer.from(v, 'base64').toString()).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `s${i}`).sort());
    expect((await put(cluster.url(0), 'many', 'resolved', { context: body.context, query: 'w=all' })).status).toBe(204);
    const after = await get(cluster.url(1), 'many', { query: 'r=all' });
    expect(after.status).toBe(200);
    expect(await after.text()).toBe('resolved');
    const metrics = await (await fetch(`${cluster.url(1)}/metrics`)).text();
    expect(metrics).toMatch(/^shoal_sibling_limit_refusals_total 1$/m);
  });

  it('a delete with the context gives 404 everywhere, with the tombstone context; a blind delete deletes nothing it has not seen', async () => {
    await put(cluster.url(0), 'gone', 'x', { query: 'w=all' });
    const ctx = (await get(cluster.url(0), 'gone')).headers.get('x-shoal-context')!;
    expect((await del(cluster.url(1), 'gone', { context: ctx, query: 'w=all' })).status).toBe(204);
    for (let i = 0; i < 3; i++) {
      const r = await get(cluster.url(i), 'gone');
      expect(r.status).toBe(404);
      expect(r.headers.get('x-shoal-context')).toBeTruthy();
      const l = await local(cluster.url(i), 'gone');
      expect(l.body?.tombstone).toBe(true);
    }
    expect((await get(cluster.url(0), 'never-written')).status).toBe(404);

    await put(cluster.url(0), 'kept', 'still here', { query: 'w=all' });
    expect((await del(cluster.url(1), 'kept', { query: 'w=all' })).status).toBe(204);
    const r = await get(cluster.url(2), 'kept', { query: 'r=all' });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('still here');
  });

  it('answers every bad input with its coded status and keeps serving', async () => {
    const base = cluster.url(0);
    const cases: Array<[Promise<Response>, number, string]> = [
      [put(base, 'x'.repeat(513), 'v'), 400, 'bad_request'],
      [fetch(`${base}/v1/kv/`, { method: 'PUT', body: 'v' }), 400, 'bad_request'],
      [fetch(`${base}/v1/kv/%E0%A4%A`, { method: 'PUT', body: 'v' }), 400, 'bad_request'],
      [put(base, 'k', 'v', { context: 'not-a-context!!' }), 400, 'bad_request'],
      [put(base, 'k', 'v', { query: 'w=7' }), 400, 'bad_request'],
      [put(base, 'k', 'v', { query: 'w=two' }), 400, 'bad_request'],
      [get(base, 'k', { query: 'r=0' }), 400, 'bad_request'],
      [get(base, 'k', { query: 'timeout_ms=-5' }), 400, 'bad_request'],
      [put(base, 'big', new Uint8Array(1_048_577)), 413, 'too_large'],
    ];
    for (const [p, status, code] of cases) {
      const res = await p;
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(0);
    }
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
  });

  it('the SDK writes, reads siblings as a list, resolves them, and fails over', async () => {
    const endpoints = cluster.nodes.map((n) => `${n.host}:${n.port}`);
    const a = await connect({ endpoints: [endpoints[0]!], routing: false });
    const b = await connect({ endpoints: [endpoints[1]!], routing: false });
    const c = await connect({ endpoints, r: 3 });
    try {
      await a.put('sdk-key', 'from-a', { w: 3 });
      await b.put('sdk-key', 'from-b', { w: 3 });
      const read = await c.get('sdk-key');
      expect(read.found).toBe(true);
      expect(read.values.map((v) => new TextDecoder().decode(v)).sort()).toEqual(['from-a', 'from-b']);
      const resolved = await c.update('sdk-key', (values) => new TextEncoder().encode(values.map((v) => new TextDecoder().decode(v)).sort().join('+')), { w: 3 });
      expect(new TextDecoder().decode(resolved.value)).toBe('from-a+from-b');
      const after = await a.get('sdk-key', { r: 3 });
      expect(after.values.map((v) => new TextDecoder().decode(v))).toEqual(['from-a+from-b']);
      // Typed errors: a bad quorum is the client's fault.
      let err: unknown;
      try {
        await c.get('sdk-key', { r: 9 });
      } catch (e) {
        err = e;
      }
      expect(isShoalError(err, 'BAD_REQUEST')).toBe(true);
      const deleted = await c.delete('sdk-key', { context: after.context!, w: 3 });
      expect(deleted.context).toBeTruthy();
      expect((await c.get('sdk-key')).found).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('the SDK reads R owners directly, answering exactly as a coordinated read does', async () => {
    const endpoints = cluster.nodes.map((n) => `${n.host}:${n.port}`);
    const direct = await connect({ endpoints });
    const coordinated = await connect({ endpoints, directReads: false });
    const blind = await connect({ endpoints: [endpoints[2]!], routing: false });
    const directCount = async () => {
      let total = 0;
      for (let i = 0; i < 3; i++) {
        const text = await (await fetch(`${cluster.url(i)}/metrics`)).text();
        total += Number(/^shoal_direct_reads_total (\d+)/m.exec(text)?.[1] ?? NaN);
      }
      return total;
    };
    try {
      await direct.ring();
      const before = await directCount();
      await direct.put('direct-key', 'one', { w: 3 });
      await blind.put('direct-key', 'two', { w: 3 });
      await direct.put('direct-tomb', 'x', { w: 3 });
      await direct.delete('direct-tomb', { context: (await coordinated.get('direct-tomb', { r: 3 })).context!, w: 3 });
      for (let i = 0; i < 20; i++) {
        for (const key of ['direct-key', 'direct-tomb', 'direct-never']) {
          const a = await direct.get(key);
          const b = await coordinated.get(key);
          expect(a.values.map((v) => new TextDecoder().decode(v)).sort(), key).toEqual(b.values.map((v) => new TextDecoder().decode(v)).sort());
          expect(a.context, key).toBe(b.context);
          expect(a.found, key).toBe(b.found);
        }
      }
      expect((await direct.get('direct-key')).values).toHaveLength(2);
      const s = direct.stats();
      // One read in ten goes through a coordinator on purpose (the read-repair chance).
      expect(s.directReads).toBeGreaterThan(30);
      expect(s.directReads + s.directFallbacks).toBeLessThanOrEqual(61);
      expect(coordinated.stats()).toEqual({ directReads: 0, directFallbacks: 0 });
      // Each direct read asked R=2 nodes.
      expect((await directCount()) - before).toBeGreaterThanOrEqual(2 * s.directReads);
    } finally {
      await Promise.all([direct.close(), coordinated.close(), blind.close()]);
    }
  });

  it('the CLI reads and writes against the cluster', async () => {
    const ep = `${cluster.nodes[1]!.host}:${cluster.nodes[1]!.port}`;
    const run = (...args: string[]) => spawnSync(process.execPath, [SHOAL, ...args, '--endpoint', ep], { cwd: ROOT, encoding: 'utf8' });
    expect(run('put', 'cli-key', 'cli-value').status).toBe(0);
    const g = run('get', 'cli-key');
    expect(g.status).toBe(0);
    expect(g.stdout.trim()).toBe('cli-value');
    const st = run('status', '--json');
    expect(st.status).toBe(0);
    expect(JSON.parse(st.stdout).members).toHaveLength(3);
    // `shoal del KEY` deletes what it reads, siblings included; a key never written is left alone.
    expect(run('put', 'cli-key', 'cli-sibling').status).toBe(0);
    expect(run('get', 'cli-key').status).toBe(3);
    expect(run('del', 'cli-key').status).toBe(0);
    const gone = run('get', 'cli-key');
    expect(gone.status).toBe(4);
    expect(gone.stderr).toContain('not found');
    expect(run('del', 'cli-never-written').status).toBe(0);
    expect(run('get', 'cli-never-written').status).toBe(4);
  });
});

describe('a lone node (no seeds)', () => {
  it('answers health 200 only once it serves keys (it claims its ring after a delay)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-lone-'));
    const port = await freePort();
    const { spawn } = await import('node:child_process');
    const proc = spawn(process.execPath, [SHOAL, 'start', '--port', String(port), '--data', join(dir, 'd'), '--n', '1'], { cwd: ROOT, stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    try {
      let notReady = 0;
      await waitFor(
        'health 200',
        async () => {
          const res = await fetch(`${base}/v1/health`).catch(() => undefined);
          if (res === undefined) return false;
          await res.arrayBuffer();
          if (res.status !== 200) notReady++;
          return res.status === 200;
        },
        20_000,
        25,
      );
      // At once, with no pause: the first key request after health says 200 must be served.
      expect((await put(base, 'lone', 'v')).status).toBe(204);
      const res = await get(base, 'lone');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('v');
      // The node answered (503) before it held a ring: the poll saw it not ready.
      expect(notReady).toBeGreaterThan(0);
    } finally {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('faults on real processes', () => {
  const cluster = new Cluster({ nodes: 3 });

  beforeAll(async () => {
    await cluster.start();
    await cluster.waitConverged();
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('kill -9 of one node while writing at W=2: every write acknowledged, hints pending, delivered after restart', async () => {
    const victim = 2;
    const keys = Array.from({ length: 60 }, (_, i) => `hinted-${i}`);
    let acked = 0;
    for (const [i, k] of keys.entries()) {
      // The victim dies a few writes in, while the writes go on.
      if (i === 10) await cluster.kill(victim, 'SIGKILL');
      const res = await put(cluster.url(i % 2), k, `value-${i}`, { query: 'w=2' });
      expect(res.status).toBe(204);
      acked++;
    }
    expect(acked).toBe(keys.length);
    // Hints are pending for the dead node (on the coordinators: a 3-node cluster has no fallbacks).
    const pending = async () => {
      let total = 0;
      for (const i of [0, 1]) total += ((await (await fetch(`${cluster.url(i)}/v1/status`)).json()) as { hints: { pending: number } }).hints.pending;
      return total;
    };
    expect(await pending()).toBeGreaterThanOrEqual(keys.length - 10);

    cluster.spawn(victim);
    await cluster.waitHealthy(victim);
    // Without any client read, the restarted node's own copies fill in from the hints...
    await waitFor('hinted keys on the restarted node', async () => {
      for (const [i, k] of keys.entries()) {
        const l = await local(cluster.url(victim), k);
        if (l.status !== 200 || Buffer.from(l.body!.values[0]!, 'base64').toString() !== `value-${i}`) return false;
      }
      return true;
    }, 30_000);
    // ...and the hint queues drain to zero.
    await waitFor('hints drained', async () => (await pending()) === 0, 30_000);
  });

  it('a node whose partition count differs is refused with a clear error and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-mismatch-'));
    const port = await freePort();
    const { spawn } = await import('node:child_process');
    const proc = spawn(process.execPath, [SHOAL, 'start', '--port', String(port), '--data', join(dir, 'd'), '--secret-file', cluster.secretFile, '--partitions', '32', '--seeds', cluster.nodes[0]!.id], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(stderr).toMatch(/q=32/);
      expect(stderr).toMatch(/q=64/);
      const s = (await (await fetch(`${cluster.url(0)}/v1/status`)).json()) as { members: Array<{ id: string }> };
      expect(s.members.some((m) => m.id === `127.0.0.1:${port}`)).toBe(false);
    } finally {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a node with the wrong secret is refused and never becomes a member', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-wrong-'));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'a-completely-different-secret');
    const port = await freePort();
    const { spawn } = await import('node:child_process');
    const proc = spawn(process.execPath, [SHOAL, 'start', '--port', String(port), '--data', join(dir, 'd'), '--secret-file', secretFile, '--seeds', cluster.nodes[0]!.id], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: string[] = [];
    proc.stderr.on('data', (c: Buffer) => logs.push(c.toString()));
    try {
      await waitFor('the refusal to be logged', () => logs.join('').includes('seed_refused') || logs.join('').includes('auth'), 20_000);
      const s = (await (await fetch(`${cluster.url(0)}/v1/status`)).json()) as { members: Array<{ id: string }> };
      expect(s.members.some((m) => m.id === `127.0.0.1:${port}`)).toBe(false);
      expect(cluster.nodes[0]!.logs.join('\n')).toMatch(/auth|refused|handshake/i);
    } finally {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
