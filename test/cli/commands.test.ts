import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { captureIo } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A fake node: records each request and answers from `reply`. */
let reply: (req: Seen, res: ServerResponse) => void = (_req, res) => res.end();
const seen: Seen[] = [];
let server: Server;
let endpoint = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(s);
      reply(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen.length = 0;
});

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const run = async (argv: string[], stdin?: string[]) => {
  const io = captureIo(stdin === undefined ? {} : { stdin });
  const code = await main([...argv, '--endpoint', endpoint], io);
  return { code, io };
};

describe('get', () => {
  it('prints one value raw, asks for JSON, passes r and timeout_ms', async () => {
    reply = (_req, res) => json(res, 200, { values: [Buffer.from('hello').toString('base64')], context: 'CTX1' });
    const { code, io } = await run(['get', 'a/b c', '--r', 'all', '--timeout-ms', '900', '--show-context']);
    expect(code).toBe(0);
    expect(io.out()).toBe('hello');
    expect(io.err()).toContain('context: CTX1');
    expect(seen[0]?.method).toBe('GET');
    expect(seen[0]?.url).toBe('/v1/kv/a%2Fb%20c?r=all&timeout_ms=900');
    expect(seen[0]?.headers['accept']).toBe('application/json');
  });

  it('accepts a raw 200 body with the context header', async () => {
    reply = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-shoal-context': 'CTX2' });
      res.end(Buffer.from([0, 1, 2]));
    };
    const { code, io } = await run(['get', 'k', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ values: ['AAEC'], context: 'CTX2', found: true });
  });

  it('prints siblings with separators and exits 3', async () => {
    reply = (_req, res) => json(res, 300, { values: ['b25l', 'dHdv'], context: 'CTX3' });
    const { code, io } = await run(['get', 'k']);
    expect(code).toBe(3);
    expect(io.out()).toBe('--- sibling 1 of 2 ---\none\n--- sibling 2 of 2 ---\ntwo\n');
  });

  it('siblings in --json exit 0', async () => {
    reply = (_req, res) => json(res, 200, { values: ['b25l', 'dHdv'], context: 'CTX3' });
    const { code, io } = await run(['get', 'k', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ values: ['b25l', 'dHdv'], context: 'CTX3', found: true });
  });

  it('not found exits 4, and --json reports the tombstone context', async () => {
    reply = (_req, res) => {
      res.writeHead(404, { 'x-shoal-context': 'TOMB' });
      res.end();
    };
    const a = await run(['get', 'gone']);
    expect(a.code).toBe(4);
    expect(a.io.err()).toContain("'gone' not found");
    const b = await run(['get', 'gone', '--json']);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.io.out())).toEqual({ values: [], context: 'TOMB', found: false });
  });

  it('sends the token from --token-file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-cli-'));
    writeFileSync(join(dir, 't'), 'secret-token\n');
    reply = (_req, res) => json(res, 200, { values: ['eA=='], context: 'C' });
    const { code } = await run(['get', 'k', '--token-file', join(dir, 't')]);
    expect(code).toBe(0);
    expect(seen[0]?.headers['authorization']).toBe('Bearer secret-token');
  });

  it('bad input exits 2 without a request', async () => {
    expect((await run(['get'])).code).toBe(2);
    expect((await run(['get', 'x'.repeat(513)])).code).toBe(2);
    expect((await run(['get', 'k', '--r', '0'])).code).toBe(2);
    expect((await run(['get', 'k', '--bogus'])).code).toBe(2);
    expect(seen).toHaveLength(0);
  });
});

describe('errors', () => {
  const cases: Array<[number, string, string]> = [
    [400, 'bad_request', 'bad context token'],
    [401, 'unauthorized', 'missing token'],
    [413, 'too_large', 'value too large'],
    [503, 'unavailable', 'only 1 of 2 replicas answered'],
  ];
  for (const [status, code, message] of cases) {
    it(`prints the server's ${code} and exits 1`, async () => {
      reply = (_req, res) => json(res, status, { error: { code, message } });
      const r = await run(['put', 'k', 'v']);
      expect(r.code).toBe(1);
      expect(r.io.err()).toContain(`${code}: ${message}`);
    });
  }

  it('an unreachable endpoint exits 1 with a clear message', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const io = captureIo();
    expect(await main(['status', '--endpoint', `127.0.0.1:${port}`], io)).toBe(1);
    expect(io.err()).toMatch(/unavailable: cannot reach http:\/\/127\.0\.0\.1:\d+/);
  });
});

describe('put and del', () => {
  it('put sends the body, context and w; prints the new context', async () => {
    reply = (_req, res) => {
      res.writeHead(204, { 'x-shoal-context': 'NEW' });
      res.end();
    };
    const { code, io } = await run(['put', 'k', 'value one', '--context', 'OLD', '--w', '3', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ context: 'NEW' });
    expect(seen[0]?.method).toBe('PUT');
    expect(seen[0]?.url).toBe('/v1/kv/k?w=3');
    expect(seen[0]?.headers['x-shoal-context']).toBe('OLD');
    expect(seen[0]?.body.toString()).toBe('value one');
  });

  it("put '-' reads standard input", async () => {
    reply = (_req, res) => {
      res.writeHead(204, { 'x-shoal-context': 'NEW' });
      res.end();
    };
    const { code, io } = await run(['put', 'k', '-', '--show-context'], ['from ', 'stdin\n']);
    expect(code).toBe(0);
    expect(seen[0]?.body.toString()).toBe('from stdin\n');
    expect(io.err()).toContain('context: NEW');
  });

  it('put needs KEY and VALUE', async () => {
    expect((await run(['put', 'k'])).code).toBe(2);
  });

  it('del sends the context', async () => {
    reply = (_req, res) => {
      res.writeHead(204, { 'x-shoal-context': 'TOMB' });
      res.end();
    };
    const { code } = await run(['del', 'k', '--context', 'C1', '--w', 'one']);
    expect(code).toBe(0);
    expect(seen[0]?.method).toBe('DELETE');
    expect(seen[0]?.url).toBe('/v1/kv/k?w=one');
    expect(seen[0]?.headers['x-shoal-context']).toBe('C1');
  });
});

describe('del without --context', () => {
  it('reads the key and deletes with the context of that read', async () => {
    reply = (req, res) => {
      if (req.method === 'GET') return json(res, 300, { values: [Buffer.from('a').toString('base64'), Buffer.from('b').toString('base64')], context: 'SEEN' });
      res.writeHead(204, { 'x-shoal-context': 'TOMB' });
      res.end();
    };
    const { code, io } = await run(['del', 'k', '--w', 'all', '--json']);
    expect(code).toBe(0);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/kv/k', 'DELETE /v1/kv/k?w=all']);
    expect(seen[0]?.headers.accept).toBe('application/json');
    expect(seen[1]?.headers['x-shoal-context']).toBe('SEEN');
    expect(JSON.parse(io.out())).toEqual({ context: 'TOMB' });
  });

  it('a deleted key (404 with a tombstone context) is deleted again with that context', async () => {
    reply = (req, res) => {
      if (req.method === 'GET') return json(res, 404, { error: { code: 'not_found', message: 'no' } }, { 'x-shoal-context': 'TOMB0' });
      res.writeHead(204, { 'x-shoal-context': 'TOMB1' });
      res.end();
    };
    expect((await run(['del', 'k'])).code).toBe(0);
    expect(seen.map((r) => r.method)).toEqual(['GET', 'DELETE']);
    expect(seen[1]?.headers['x-shoal-context']).toBe('TOMB0');
  });

  it('a key never written is left alone: no delete is sent, exit 0', async () => {
    reply = (_req, res) => json(res, 404, { error: { code: 'not_found', message: 'no' } });
    const { code, io } = await run(['del', 'k', '--json']);
    expect(code).toBe(0);
    expect(seen.map((r) => r.method)).toEqual(['GET']);
    expect(JSON.parse(io.out())).toEqual({ context: null });
  });

  it('a failed read fails the delete (nothing is deleted blind)', async () => {
    reply = (_req, res) => json(res, 503, { error: { code: 'unavailable', message: 'fewer than R' } });
    const { code, io } = await run(['del', 'k']);
    expect(code).toBe(1);
    expect(io.err()).toContain('unavailable');
    expect(seen.map((r) => r.method)).toEqual(['GET']);
  });
});

describe('status, ring, leave, bench', () => {
  const status = {
    node: 'n1',
    n: 3,
    partitions: 8,
    members: [
      { id: 'n1', address: '127.0.0.1:7070', status: 'up' },
      { id: 'n2', address: '127.0.0.1:7071', status: 'suspect' },
    ],
    hints: { pending: 4 },
  };

  it('status prints a table', async () => {
    reply = (_req, res) => json(res, 200, status);
    const { code, io } = await run(['status']);
    expect(code).toBe(0);
    expect(seen[0]?.url).toBe('/v1/status');
    expect(io.out()).toContain('node n1  n=3  partitions=8  hints pending=4');
    expect(io.out()).toMatch(/^n2\s+127\.0\.0\.1:7071\s+suspect$/m);
  });

  it('status --json prints the JSON', async () => {
    reply = (_req, res) => json(res, 200, status);
    const { io } = await run(['status', '--json']);
    expect(JSON.parse(io.out())).toEqual(status);
  });

  it('ring prints owners and a per-node count', async () => {
    reply = (_req, res) =>
      json(res, 200, {
        partitions: [
          { id: 0, owners: ['n1', 'n2'] },
          { id: 1, owners: ['n2', 'n1'] },
          { id: 2, owners: ['n1', 'n2'] },
        ],
      });
    const { code, io } = await run(['ring']);
    expect(code).toBe(0);
    expect(io.out()).toMatch(/^1\s+n2, n1$/m);
    expect(io.out()).toMatch(/^n1\s+2$/m);
    expect(io.out()).toMatch(/^n2\s+1$/m);
  });

  it('leave posts to /v1/admin/leave', async () => {
    reply = (_req, res) => json(res, 202, { ok: true });
    const { code } = await run(['leave']);
    expect(code).toBe(0);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.url).toBe('/v1/admin/leave');
  });

  it('status takes no arguments', async () => {
    expect((await run(['status', 'extra'])).code).toBe(2);
  });

  it('bench rejects bad flags with a usage error (its runs are tested in test/bench)', async () => {
    expect((await run(['bench', '--mix', 'put=0'])).code).toBe(2);
    expect((await run(['bench', '--dist', 'pareto'])).code).toBe(2);
    expect((await run(['bench', '--duration', 'soon'])).code).toBe(2);
  });
});

describe('progressBar', () => {
  it('draws the fraction done, clamped to 0..100%', async () => {
    const { progressBar } = await import('../../src/cli/commands.js');
    expect(progressBar(0)).toBe('[....................]   0%');
    expect(progressBar(0.5)).toBe('[##########..........]  50%');
    expect(progressBar(1)).toBe('[####################] 100%');
    expect(progressBar(7)).toBe('[####################] 100%');
    expect(progressBar(Number.NaN)).toBe('[....................]   0%');
  });
});
