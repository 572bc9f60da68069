import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, parseStartArgs, planDev } from '../../src/cli/index.js';
import { ensureDevSecret } from '../../src/cli/dev.js';
import { isShoalError } from '../../src/errors/index.js';
import { captureIo } from './helpers.js';

describe('shoal dev plan', () => {
  it('defaults: 3 nodes from 7070 under ./data, seeded with the first', () => {
    const plan = planDev([], '/w');
    expect(plan.dataDir).toBe('/w/data');
    expect(plan.secretFile).toBe('/w/data/dev-secret');
    expect(plan.nodes.map((n) => n.id)).toEqual(['127.0.0.1:7070', '127.0.0.1:7071', '127.0.0.1:7072']);
    expect(plan.nodes[0]?.args).not.toContain('--seeds');
    expect(plan.nodes[2]?.args).toEqual([
      'start',
      '--id',
      '127.0.0.1:7072',
      '--host',
      '127.0.0.1',
      '--port',
      '7072',
      '--data',
      '/w/data/127.0.0.1:7072',
      '--secret-file',
      '/w/data/dev-secret',
      '--seeds',
      '127.0.0.1:7070',
    ]);
  });

  it('every planned node parses as a valid shoal start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-dev-'));
    const plan = planDev(['--nodes', '5', '--base-port', '9000', '--data', dir], '/elsewhere');
    ensureDevSecret(plan.secretFile);
    const ports = plan.nodes.map((node) => {
      const o = parseStartArgs(node.args.slice(1), {});
      expect(o.id).toBe(node.id);
      expect(o.secret).toMatch(/^[0-9a-f]{64}$/);
      return o.port;
    });
    expect(ports).toEqual([9000, 9001, 9002, 9003, 9004]);
  });

  it('the dev secret is generated once, private, and reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-dev-'));
    const file = join(dir, 'dev-secret');
    ensureDevSecret(file);
    const first = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o077).toBe(0);
    ensureDevSecret(file);
    expect(readFileSync(file, 'utf8')).toBe(first);
    writeFileSync(file, 'kept\n');
    ensureDevSecret(file);
    expect(readFileSync(file, 'utf8')).toBe('kept\n');
  });

  it('rejects bad flags', () => {
    for (const argv of [['--nodes', '0'], ['--nodes', '100'], ['--base-port', '65535'], ['--bogus'], ['extra']]) {
      let caught: unknown;
      try {
        planDev(argv, '/w');
      } catch (err) {
        caught = err;
      }
      expect(isShoalError(caught, 'INVALID_CONFIG'), argv.join(' ')).toBe(true);
    }
  });

  it('main exits 2 on a bad dev flag', async () => {
    const io = captureIo();
    expect(await main(['dev', '--nodes', 'x'], io)).toBe(2);
    expect(io.err()).toContain('--nodes must be an integer');
  });
});
