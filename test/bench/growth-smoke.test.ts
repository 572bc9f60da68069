/**
 * CI smoke run of `npm run bench:growth -- --smoke`: the growth benchmark on 3 real
 * `shoal start` processes at 200 and 1,000 keys, a 1-s hold, a clean restart, and both
 * anti-entropy repairs (missed writes; keys removed behind a stopped node's back through
 * the store's own code). It checks that every stage runs and repairs every key it set
 * out to; it never checks a speed, and writes no docs (--smoke).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../integration/harness.js';

/** Its own output directory under .tmp (one level down, as bench/lib/doc.ts expects). */
const OUT = join(ROOT, '.tmp', 'growth-smoke-dist');

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

describe('bench:growth (smoke)', () => {
  afterAll(() => rmSync(OUT, { recursive: true, force: true }));

  it('fills, holds, restarts and repairs every key it removed, on real processes', async () => {
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.bench.json', '--outDir', OUT]);
    expect(tsc.code, tsc.out).toBe(0);
    const r = await run(process.execPath, [join(OUT, 'bench', 'growth.js'), '--smoke']);
    expect(r.code, r.out).toBe(0);
    // Both steps measured, with no errors.
    expect(r.out).toMatch(/200 keys: [\d,.]+ ops\/s, p99 put [\d.]+ get [\d.]+ ms, errors 0;/);
    expect(r.out).toMatch(/1,000 keys: [\d,.]+ ops\/s, p99 put [\d.]+ get [\d.]+ ms, errors 0;/);
    expect(r.out).toMatch(/held 1 s: [\d,.]+ ops\/s, errors 0;/);
    expect(r.out).toMatch(/clean restart of node 1: healthy after/);
    // Missed writes: every overwritten key repaired from the restored trees.
    expect(r.out).toMatch(/all 20\/20 keys repaired/);
    // Keys removed by a tool through the store: the node's saved trees were taken by the
    // tool's open, so it rebuilt them, and anti-entropy put every key back.
    expect(r.out).toMatch(/trees rebuilt after [\d,]+ ms with 1,000 keys/);
    expect(r.out).toMatch(/\(20\/20 present on node 2;/);
  }, 240_000);
});
