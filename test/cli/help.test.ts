import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { captureIo } from './helpers.js';

describe('help and unknown input', () => {
  it('shoal --help lists every command', async () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']]) {
      const io = captureIo();
      expect(await main(argv, io)).toBe(0);
      for (const cmd of ['start', 'dev', 'get KEY', 'put KEY VALUE', 'del KEY', 'status', 'ring', 'leave', 'bench']) {
        expect(io.out()).toContain(cmd);
      }
    }
  });

  it('shoal start --help lists every flag of CONTRACT.md', async () => {
    const io = captureIo();
    expect(await main(['start', '--help'], io)).toBe(0);
    for (const flag of [
      '--id',
      '--host',
      '--port',
      '--data',
      '--seeds',
      '--secret-file',
      '--client-token-file',
      '--n ',
      '--r ',
      '--w ',
      '--partitions',
      '--max-value-bytes',
      '--tls-cert',
      '--tls-key',
      '--engine',
      '--sync',
      '--clock-offset-ms',
      '--allowed-origins',
    ]) {
      expect(io.out()).toContain(flag);
    }
  });

  it('each command has its own help', async () => {
    for (const cmd of ['dev', 'get', 'put', 'del', 'status', 'ring', 'leave', 'bench']) {
      const io = captureIo();
      expect(await main([cmd, '--help'], io)).toBe(0);
      expect(io.out()).toContain(`usage: shoal ${cmd}`);
    }
    const io = captureIo();
    expect(await main(['help', 'put'], io)).toBe(0);
    expect(io.out()).toContain('usage: shoal put');
  });

  it('an unknown command exits 2 naming it', async () => {
    const io = captureIo();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.err()).toContain("unknown command 'frobnicate'");
    const proto = captureIo();
    expect(await main(['__proto__'], proto)).toBe(2);
  });

  it('an unknown flag exits 2 naming it', async () => {
    const io = captureIo();
    expect(await main(['status', '--nope'], io)).toBe(2);
    expect(io.err()).toContain("Unknown option '--nope'");
  });
});
