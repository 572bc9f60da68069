import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDev } from '../../src/cli/dev.js';
import { captureIo } from './helpers.js';

/** A stand-in for bin/shoal: serves /v1/health on --port, logs, exits 0 on SIGTERM. */
const FAKE_NODE = `
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
const args = process.argv.slice(2);
const flag = (n) => args[args.indexOf(n) + 1];
const secret = readFileSync(flag('--secret-file'), 'utf8').trim();
const server = createServer((req, res) => { res.writeHead(req.url === '/v1/health' ? 200 : 404); res.end('{"ok":true}'); });
server.listen(Number(flag('--port')), '127.0.0.1', () => {
  console.log('listening seeds=' + (args.includes('--seeds') ? flag('--seeds') : 'none') + ' data=' + flag('--data') + ' secretlen=' + secret.length);
});
process.on('SIGTERM', () => { console.error('got SIGTERM'); server.close(() => process.exit(0)); });
`;

async function freeBasePort(count: number): Promise<number> {
  // Find `count` consecutive free ports by probing; good enough for a test on one machine.
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      ok = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(false));
        s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
      });
    }
    if (ok) return base;
  }
  throw new Error('no free ports');
}

describe('shoal dev (with a stand-in node)', () => {
  it('starts N children, waits for health, prefixes their logs, forwards SIGTERM and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-devrun-'));
    const bin = join(dir, 'fake-node.mjs');
    writeFileSync(bin, FAKE_NODE);
    const base = await freeBasePort(2);
    const signals = new EventEmitter();
    const io = captureIo({ cwd: dir });
    const run = runDev(['--nodes', '2', '--base-port', String(base), '--data', 'd'], io, signals, bin);
    await expect.poll(() => io.out(), { timeout: 20_000 }).toContain('dashboard');
    expect(io.out()).toContain(`node 127.0.0.1:${base + 1}  http://127.0.0.1:${base + 1}/`);
    expect(io.out()).toContain(`dashboard    http://127.0.0.1:${base}/`);
    await expect.poll(() => io.out(), { timeout: 10_000 }).toContain(`[127.0.0.1:${base + 1}] listening seeds=127.0.0.1:${base}`);
    expect(io.out()).toContain(`[127.0.0.1:${base}] listening seeds=none data=${join(dir, 'd', `127.0.0.1:${base}`)} secretlen=64`);
    expect(existsSync(join(dir, 'd', 'dev-secret'))).toBe(true);
    const secret = readFileSync(join(dir, 'd', 'dev-secret'), 'utf8');
    signals.emit('SIGINT', 'SIGINT');
    expect(await run).toBe(0);
    expect(io.err()).toContain(`[127.0.0.1:${base}] got SIGTERM`);
    expect(io.err()).toContain(`[127.0.0.1:${base + 1}] got SIGTERM`);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(readFileSync(join(dir, 'd', 'dev-secret'), 'utf8')).toBe(secret);
  });

  it('a child that dies before it is healthy stops the rest and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-devrun-'));
    const bin = join(dir, 'bad-node.mjs');
    writeFileSync(bin, `console.error('boom'); process.exit(3);`);
    const base = await freeBasePort(2);
    const io = captureIo({ cwd: dir });
    expect(await runDev(['--nodes', '2', '--base-port', String(base), '--data', 'd'], io, new EventEmitter(), bin)).toBe(1);
    expect(io.err()).toMatch(/node 127\.0\.0\.1:\d+ exited \(code 3\)/);
  });
});
