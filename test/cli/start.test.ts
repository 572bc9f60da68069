import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDirName, isLoopback, main, parseStartArgs, runStart } from '../../src/cli/index.js';
import type { NodeOptions } from '../../src/node/options.js';
import { isShoalError } from '../../src/errors/index.js';
import { captureIo } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-cli-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, '  s3cret-from-file\n');
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'tok-123\n');
const emptyFile = join(dir, 'empty');
writeFileSync(emptyFile, '  \n');
const certFile = join(dir, 'cert.pem');
writeFileSync(certFile, 'CERT');
const keyFile = join(dir, 'key.pem');
writeFileSync(keyFile, 'KEY');

const parse = (argv: string[], env: Record<string, string> = {}): NodeOptions => parseStartArgs(argv, env, dir);

describe('parseStartArgs: defaults', () => {
  it('fills every field from src/config', () => {
    expect(parse([])).toEqual({
      id: '127.0.0.1:7070',
      host: '127.0.0.1',
      port: 7070,
      dataDir: join('data', '127.0.0.1:7070'),
      seeds: [],
      secret: undefined,
      clientToken: undefined,
      n: 3,
      r: 2,
      w: 2,
      partitions: 64,
      maxValueBytes: 1_048_576,
      tls: undefined,
      engine: 'classic-level',
      sync: false,
      clockOffsetMs: 0,
      allowedOrigins: [],
      memorySoftLimitBytes: 256 * 1024 * 1024,
    } satisfies NodeOptions);
  });
});

describe('parseStartArgs: every flag', () => {
  const cases: Array<[string, string[], Partial<NodeOptions>, Record<string, string>?]> = [
    ['--id', ['--id', 'alpha'], { id: 'alpha', dataDir: join('data', 'alpha') }],
    ['--host (loopback) feeds the default id', ['--host', '127.0.0.2'], { host: '127.0.0.2', id: '127.0.0.2:7070' }],
    ['--host ::1 brackets the id', ['--host', '::1'], { host: '::1', id: '[::1]:7070' }],
    ['--port', ['--port', '7071'], { port: 7071, id: '127.0.0.1:7071', dataDir: join('data', '127.0.0.1:7071') }],
    ['--port 0', ['--port', '0'], { port: 0 }],
    ['--data', ['--data', '/tmp/x'], { dataDir: '/tmp/x' }],
    ['--seeds', ['--seeds', '127.0.0.1:7071, 10.0.0.2:7072,'], { seeds: ['127.0.0.1:7071', '10.0.0.2:7072'] }],
    ['--seeds ipv6', ['--seeds', '[::1]:7071'], { seeds: ['[::1]:7071'] }],
    ['--secret-file (trimmed)', ['--secret-file', secretFile], { secret: 's3cret-from-file' }],
    ['SHOAL_SECRET (trimmed)', [], { secret: 'env-secret' }, { SHOAL_SECRET: ' env-secret \n' }],
    ['--secret-file wins over SHOAL_SECRET', ['--secret-file', secretFile], { secret: 's3cret-from-file' }, { SHOAL_SECRET: 'env' }],
    ['empty SHOAL_SECRET is none', [], { secret: undefined }, { SHOAL_SECRET: '  ' }],
    ['--client-token-file', ['--client-token-file', tokenFile], { clientToken: 'tok-123' }],
    ['--n', ['--n', '5'], { n: 5 }],
    ['--n 1 caps default r and w', ['--n', '1'], { n: 1, r: 1, w: 1 }],
    ['--r', ['--r', '3'], { r: 3 }],
    ['--w', ['--w', '1'], { w: 1 }],
    ['--partitions', ['--partitions', '128'], { partitions: 128 }],
    ['--max-value-bytes', ['--max-value-bytes', '2048'], { maxValueBytes: 2048 }],
    ['--tls-cert --tls-key', ['--tls-cert', certFile, '--tls-key', keyFile], { tls: { cert: certFile, key: keyFile } }],
    ['--engine rocksdb', ['--engine', 'rocksdb'], { engine: 'rocksdb' }],
    ['--engine classic-level', ['--engine', 'classic-level'], { engine: 'classic-level' }],
    ['--sync', ['--sync'], { sync: true }],
    ['--clock-offset-ms', ['--clock-offset-ms', '1500'], { clockOffsetMs: 1500 }],
    ['--clock-offset-ms negative', ['--clock-offset-ms=-250'], { clockOffsetMs: -250 }],
    ['--allowed-origins', ['--allowed-origins', 'https://a.example,http://localhost:3000'], { allowedOrigins: ['https://a.example', 'http://localhost:3000'] }],
    ['public --host with a secret', ['--host', '0.0.0.0', '--secret-file', secretFile], { host: '0.0.0.0', id: '0.0.0.0:7070' }],
    ['SHOAL_MEMORY_SOFT_LIMIT_MB', [], { memorySoftLimitBytes: 512 * 1024 * 1024 }, { SHOAL_MEMORY_SOFT_LIMIT_MB: ' 512 ' }],
    ['SHOAL_MEMORY_SOFT_LIMIT_MB=0 turns it off', [], { memorySoftLimitBytes: 0 }, { SHOAL_MEMORY_SOFT_LIMIT_MB: '0' }],
    ['empty SHOAL_MEMORY_SOFT_LIMIT_MB is the default', [], { memorySoftLimitBytes: 256 * 1024 * 1024 }, { SHOAL_MEMORY_SOFT_LIMIT_MB: '' }],
    ['SHOAL_READ_CACHE_ENTRIES', [], { cacheEntriesMax: 5000 }, { SHOAL_READ_CACHE_ENTRIES: ' 5000 ' }],
    ['SHOAL_READ_CACHE_ENTRIES=0 is no cache', [], { cacheEntriesMax: 0 }, { SHOAL_READ_CACHE_ENTRIES: '0' }],
    ['SHOAL_VALUE_LOG=off', [], { valueLog: false }, { SHOAL_VALUE_LOG: 'off' }],
    ['SHOAL_VALUE_LOG=on', [], { valueLog: true }, { SHOAL_VALUE_LOG: ' on ' }],
    ['SHOAL_VALUE_LOG_PREWARM_MB=64', [], { valueLogPrewarmBytes: 64 * 1024 * 1024 }, { SHOAL_VALUE_LOG_PREWARM_MB: '64' }],
    ['SHOAL_VALUE_LOG_PREWARM_MB=0', [], { valueLogPrewarmBytes: 0 }, { SHOAL_VALUE_LOG_PREWARM_MB: '0' }],
    ['SHOAL_FORGET_ACTORS=1', [], { forgetActors: true }, { SHOAL_FORGET_ACTORS: '1' }],
  ];
  for (const [name, argv, expected, env] of cases) {
    it(name, () => {
      expect(parse(argv, env)).toMatchObject(expected);
    });
  }
});

describe('parseStartArgs: validation errors', () => {
  const cases: Array<[string, string[], RegExp, Record<string, string>?]> = [
    ['unknown flag', ['--bogus'], /Unknown option '--bogus'/],
    ['positional', ['extra'], /Unexpected argument 'extra'/],
    ['missing value', ['--port'], /argument missing/],
    ['--port not a number', ['--port', 'abc'], /--port must be an integer/],
    ['--port out of range', ['--port', '70000'], /--port must be between 0 and 65535/],
    ['--id with a space', ['--id', 'a b'], /--id must be/],
    ['--id too long', ['--id', 'x'.repeat(200)], /--id must be/],
    ['--host with a slash', ['--host', 'a/b'], /--host/],
    ['--seeds not HOST:PORT', ['--seeds', 'nohost'], /--seeds: 'nohost' is not HOST:PORT/],
    ['--seeds port 0', ['--seeds', 'a:0'], /--seeds: 'a:0' is not HOST:PORT/],
    ['--secret-file missing', ['--secret-file', join(dir, 'nope')], /--secret-file: cannot read/],
    ['--secret-file empty', ['--secret-file', emptyFile], /--secret-file: .* is empty/],
    ['--client-token-file missing', ['--client-token-file', join(dir, 'nope')], /--client-token-file: cannot read/],
    ['--client-token-file empty', ['--client-token-file', emptyFile], /--client-token-file: .* is empty/],
    ['non-loopback host without a secret', ['--host', '0.0.0.0'], /no cluster secret is set/],
    ['non-loopback host, empty env secret', ['--host', '10.1.2.3'], /no cluster secret is set/, { SHOAL_SECRET: '' }],
    ['SHOAL_MEMORY_SOFT_LIMIT_MB not a number', [], /SHOAL_MEMORY_SOFT_LIMIT_MB must be a whole number of MiB/, { SHOAL_MEMORY_SOFT_LIMIT_MB: '256M' }],
    ['SHOAL_MEMORY_SOFT_LIMIT_MB negative', [], /SHOAL_MEMORY_SOFT_LIMIT_MB must be/, { SHOAL_MEMORY_SOFT_LIMIT_MB: '-1' }],
    ['SHOAL_MEMORY_SOFT_LIMIT_MB fractional', [], /SHOAL_MEMORY_SOFT_LIMIT_MB must be/, { SHOAL_MEMORY_SOFT_LIMIT_MB: '1.5' }],
    ['SHOAL_MEMORY_SOFT_LIMIT_MB too big', [], /from 0 \(off\) to 1048576/, { SHOAL_MEMORY_SOFT_LIMIT_MB: '2000000' }],
    ['SHOAL_READ_CACHE_ENTRIES not a number', [], /SHOAL_READ_CACHE_ENTRIES must be a whole number of objects/, { SHOAL_READ_CACHE_ENTRIES: '10k' }],
    ['SHOAL_READ_CACHE_ENTRIES negative', [], /SHOAL_READ_CACHE_ENTRIES must be/, { SHOAL_READ_CACHE_ENTRIES: '-1' }],
    ['SHOAL_READ_CACHE_ENTRIES too big', [], /from 0 \(no cache\) to 1000000/, { SHOAL_READ_CACHE_ENTRIES: '2000000' }],
    ['SHOAL_VALUE_LOG neither on nor off', [], /SHOAL_VALUE_LOG must be 'on' or 'off'/, { SHOAL_VALUE_LOG: 'yes' }],
    ['SHOAL_VALUE_LOG_PREWARM_MB with a unit', [], /SHOAL_VALUE_LOG_PREWARM_MB must be a whole number of MiB/, { SHOAL_VALUE_LOG_PREWARM_MB: '1G' }],
    ['SHOAL_VALUE_LOG_PREWARM_MB negative', [], /SHOAL_VALUE_LOG_PREWARM_MB must be/, { SHOAL_VALUE_LOG_PREWARM_MB: '-1' }],
    ['SHOAL_FORGET_ACTORS neither 1 nor 0', [], /SHOAL_FORGET_ACTORS must be '1'/, { SHOAL_FORGET_ACTORS: 'yes' }],
    ['--n 0', ['--n', '0'], /--n must be between 1 and 15/],
    ['--n too big', ['--n', '99'], /--n must be between 1 and 15/],
    ['--r above n', ['--n', '3', '--r', '4'], /--r must be between 1 and 3/],
    ['--w above n', ['--w', '4'], /--w must be between 1 and 3/],
    ['--r 0', ['--r', '0'], /--r must be between 1 and 3/],
    ['--partitions not a power of two', ['--partitions', '100'], /--partitions must be a power of two/],
    ['--partitions below n', ['--partitions', '2'], /must be at least --n/],
    ['--partitions too big', ['--partitions', '32768'], /--partitions must be between/],
    ['--max-value-bytes 0', ['--max-value-bytes', '0'], /--max-value-bytes must be between/],
    ['--max-value-bytes not a number', ['--max-value-bytes', '1e6'], /--max-value-bytes must be an integer/],
    ['--tls-cert without --tls-key', ['--tls-cert', certFile], /--tls-cert and --tls-key go together/],
    ['--tls-key without --tls-cert', ['--tls-key', keyFile], /--tls-cert and --tls-key go together/],
    ['--tls-cert file missing', ['--tls-cert', join(dir, 'nope'), '--tls-key', keyFile], /--tls-cert: .* does not exist/],
    ['--engine unknown', ['--engine', 'sqlite'], /--engine must be classic-level or rocksdb/],
    ['--sync takes no value', ['--sync=yes'], /--sync/],
    ['--clock-offset-ms beyond a day', ['--clock-offset-ms', '90000000'], /--clock-offset-ms must be between/],
    ['--clock-offset-ms with a space before a negative value', ['--clock-offset-ms', '-5'], /ambiguous/],
    ['--allowed-origins with a path', ['--allowed-origins', 'https://a.example/path'], /--allowed-origins/],
    ['--allowed-origins not a URL', ['--allowed-origins', 'example.com'], /--allowed-origins/],
  ];
  for (const [name, argv, message, env] of cases) {
    it(name, () => {
      let caught: unknown;
      try {
        parse(argv, env);
      } catch (err) {
        caught = err;
      }
      expect(isShoalError(caught, 'INVALID_CONFIG')).toBe(true);
      expect((caught as Error).message).toMatch(message);
    });
  }

  it('main exits 2 with the message for a validation error', async () => {
    const io = captureIo({ cwd: dir });
    expect(await main(['start', '--host', '0.0.0.0'], io)).toBe(2);
    expect(io.err()).toMatch(/shoal start: .*no cluster secret is set/);
    expect(io.err()).toMatch(/shoal start --help/);
  });
});

describe('helpers', () => {
  it('dataDirName keeps safe characters and replaces the rest', () => {
    expect(dataDirName('127.0.0.1:7070')).toBe('127.0.0.1:7070');
    expect(dataDirName('[::1]:7070')).toBe('[::1]:7070');
    expect(dataDirName('node-a_1.x')).toBe('node-a_1.x');
    expect(dataDirName('a/b\\c')).toBe('a_b_c');
    expect(dataDirName('..')).toBe('__');
  });
  it('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com', '128.0.0.1']) expect(isLoopback(h)).toBe(false);
  });
});

describe('runStart', () => {
  it('starts the node with the parsed options, stops it on SIGTERM, ignores a second signal while stopping', async () => {
    const signals = new EventEmitter();
    const io = captureIo({ cwd: dir });
    let started: NodeOptions | undefined;
    let stops = 0;
    let releaseStop: () => void = () => undefined;
    const stopGate = new Promise<void>((r) => (releaseStop = r));
    const running = runStart(['--port', '7099', '--n', '1'], io, async (options) => {
      started = options;
      return {
        port: 7099,
        stop: async () => {
          stops += 1;
          await stopGate;
        },
      };
    }, signals);
    await expect.poll(() => signals.listenerCount('SIGTERM')).toBe(1);
    expect(started).toMatchObject({ port: 7099, n: 1, r: 1, w: 1 });
    signals.emit('SIGTERM', 'SIGTERM');
    await expect.poll(() => stops).toBe(1);
    signals.emit('SIGINT', 'SIGINT');
    releaseStop();
    expect(await running).toBe(0);
    expect(stops).toBe(1);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(io.err()).toMatch(/serving http:\/\/127\.0\.0\.1:7099\//);
    expect(io.err()).toMatch(/already stopping/);
  });

  it('returns 0 when the node stops by itself (a finished leave), after closing it with stop()', async () => {
    const signals = new EventEmitter();
    const io = captureIo({ cwd: dir });
    let finish: () => void = () => undefined;
    let stops = 0;
    const running = runStart([], io, async () => ({ port: 7070, stopped: new Promise<void>((r) => (finish = r)), stop: async () => void (stops += 1) }), signals);
    await expect.poll(() => signals.listenerCount('SIGINT')).toBe(1);
    finish();
    expect(await running).toBe(0);
    // The node left the cluster on its own, but its sockets and store still need closing.
    expect(stops).toBe(1);
    expect(io.err()).toContain('stopped by itself');
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('exits 1 when the node fails fatally', async () => {
    const signals = new EventEmitter();
    const io = captureIo({ cwd: dir });
    let fail: (err: Error) => void = () => undefined;
    let stops = 0;
    const running = runStart([], io, async () => ({ port: 7070, stopped: new Promise<void>((_r, j) => (fail = j)), stop: async () => void (stops += 1) }), signals);
    await expect.poll(() => signals.listenerCount('SIGTERM')).toBe(1);
    fail(new Error('disk on fire'));
    await expect(running).rejects.toThrow('disk on fire');
    // The node's sockets and store are closed before the error surfaces.
    expect(stops).toBe(1);
  });
});
