import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiServer } from '../../src/api/index.js';
import { main } from '../../src/cli/index.js';
import { startApi, type MemoryKv } from '../client/kv-service.js';
import { captureIo } from './helpers.js';

let api: ApiServer;
let service: MemoryKv;
let address = '';
let tokenFile = '';

beforeAll(async () => {
  ({ api, service, address } = await startApi({ clientToken: 'tok' }));
  const dir = mkdtempSync(join(tmpdir(), 'shoal-cli-'));
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'tok\n');
});
afterAll(async () => {
  await api.close();
});

const run = async (argv: string[], stdin?: string[]) => {
  const io = captureIo(stdin === undefined ? {} : { stdin });
  const code = await main([...argv, '--endpoint', address, '--token-file', tokenFile], io);
  return { code, io };
};

describe('client commands against the real API server (src/api)', () => {
  it('put, get, siblings, del', async () => {
    expect((await run(['put', 'key one', 'first'])).code).toBe(0);
    const one = await run(['get', 'key one', '--show-context']);
    expect(one.code).toBe(0);
    expect(one.io.out()).toBe('first');
    const ctx = /context: (\S+)/.exec(one.io.err())?.[1] ?? '';
    expect(ctx).not.toBe('');
    expect((await run(['put', 'key one', '-'], ['second'])).code).toBe(0);
    const both = await run(['get', 'key one']);
    expect(both.code).toBe(3);
    expect(both.io.out()).toBe('--- sibling 1 of 2 ---\nfirst\n--- sibling 2 of 2 ---\nsecond\n');
    const json = await run(['get', 'key one', '--json']);
    const parsed = JSON.parse(json.io.out()) as { context: string };
    expect((await run(['del', 'key one', '--context', parsed.context])).code).toBe(0);
    expect((await run(['get', 'key one'])).code).toBe(4);
  });

  it('r, w and timeout_ms reach the service parsed', async () => {
    await run(['put', 'q', 'v', '--w', 'all', '--timeout-ms', '1500']);
    expect(service.calls.at(-1)).toMatchObject({ op: 'put', options: { w: 3, timeoutMs: 1500 } });
    await run(['get', 'q', '--r', '1']);
    expect(service.calls.at(-1)).toMatchObject({ op: 'get', options: { r: 1 } });
  });

  it('a bad context prints the server code and exits 1', async () => {
    const r = await run(['put', 'k', 'v', '--context', 'garbage']);
    expect(r.code).toBe(1);
    expect(r.io.err()).toContain('bad_request');
  });

  it('without the token: unauthorized, exit 1', async () => {
    const io = captureIo();
    expect(await main(['status', '--endpoint', address], io)).toBe(1);
    expect(io.err()).toContain('unauthorized');
  });

  it('status, ring and leave', async () => {
    const status = await run(['status']);
    expect(status.code).toBe(0);
    expect(status.io.out()).toContain('hints pending=2');
    const ring = await run(['ring', '--json']);
    expect(JSON.parse(ring.io.out())).toEqual({ partitions: [{ id: 0, owners: ['n1', 'n2', 'n3'] }] });
    expect((await run(['leave'])).code).toBe(0);
    expect(service.calls.at(-1)?.op).toBe('leave');
  });
});
