/**
 * Client security on a real `shoal start` process started with --client-token-file and
 * --allowed-origins: the token on HTTP and on the /v1/ws upgrade, the browser Origin
 * check, the per-connection limits on in-flight requests and frame size, and a slow
 * reader that is cut off while the node's memory stays bounded.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Cluster, waitFor } from '../integration/harness.js';
import { clientFrame, rawUpgrade, readUntilClose, rssBytes } from './helpers.js';

const TOKEN = 'client-token-for-security-tests-0123456789';
let cluster: Cluster;
let base: string;

beforeAll(async () => {
  cluster = new Cluster({ nodes: 1, extraArgs: ['--n', '1', '--partitions', '8'] });
  const tokenFile = join(cluster.dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  cluster.nodes.length = 0;
  await cluster.startSome(0);
  cluster.nodes[0]!.args.push('--client-token-file', tokenFile, '--allowed-origins', 'https://good.example');
  cluster.spawn(0);
  await cluster.waitHealthy(0);
  base = cluster.url(0);
  // The one-node ring forms after the solo-claim delay.
  await waitFor('a ring', async () => (await fetch(`${base}/v1/ring`, { headers: auth() })).status === 200 && !JSON.stringify(await (await fetch(`${base}/v1/ring`, { headers: auth() })).json()).includes('"partitions":[]'));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

function auth(token = TOKEN): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

async function openWs(headers: Record<string, string>): Promise<{ ws?: WebSocket; status?: number }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, { headers });
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.once('error', () => resolve({}));
  });
}

describe('client token', () => {
  it('HTTP: no token and a wrong token get 401 with a coded error; the right one works', async () => {
    const none = await fetch(`${base}/v1/kv/a`, { method: 'PUT', body: 'x' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await fetch(`${base}/v1/kv/a`, { headers: auth('wrong') })).status).toBe(401);
    expect((await fetch(`${base}/v1/kv/a`, { headers: auth(TOKEN + 'x') })).status).toBe(401);
    expect((await fetch(`${base}/v1/status`)).status).toBe(401);
    expect((await fetch(`${base}/v1/local/a`)).status).toBe(401);
    expect((await fetch(`${base}/v1/kv/a`, { method: 'PUT', body: 'x', headers: auth() })).status).toBe(204);
    expect(await (await fetch(`${base}/v1/kv/a`, { headers: auth() })).text()).toBe('x');
    // Health stays open for load balancers.
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
  });

  it('/v1/ws: the upgrade itself is refused without the token', async () => {
    expect((await openWs({})).status).toBe(401);
    expect((await openWs(auth('nope'))).status).toBe(401);
    const ok = await openWs(auth());
    expect(ok.ws).toBeDefined();
    ok.ws!.close();
  });
});

describe('browser Origin', () => {
  it('refuses an Origin that is not on the allow-list, even with the token', async () => {
    expect((await openWs({ ...auth(), Origin: 'https://evil.example' })).status).toBe(403);
    const good = await openWs({ ...auth(), Origin: 'https://good.example' });
    expect(good.ws).toBeDefined();
    good.ws!.close();
  });
});

describe('per-connection limits', () => {
  it('answers requests beyond the in-flight limit with overloaded, and every request exactly once', async () => {
    const { ws } = await openWs(auth());
    const answers = new Map<number, { t: string; code?: string }>();
    ws!.on('message', (d: Buffer) => {
      const m = decode(d) as { t: string; id: number; code?: string };
      expect(answers.has(m.id)).toBe(false);
      answers.set(m.id, m);
    });
    const count = 5_000;
    // One write, so the node sees them all before it answers any.
    const frames = Buffer.concat(Array.from({ length: count }, (_, i) => clientFrame(encode({ t: 'get', id: i + 1, k: `k${i % 50}` }))));
    (ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(frames);
    await waitFor('every answer', () => answers.size === count, 30_000, 20);
    const overloaded = [...answers.values()].filter((a) => a.t === 'err' && a.code === 'overloaded').length;
    expect(overloaded).toBeGreaterThan(0);
    expect(overloaded).toBeLessThan(count);
    ws!.close();
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
  }, 40_000);

  it('closes a connection that sends a frame over the size limit (1009), and only that one', async () => {
    const { ws } = await openWs(auth());
    const { ws: other } = await openWs(auth());
    const closed = new Promise<number>((resolve) => ws!.once('close', (code) => resolve(code)));
    ws!.send(Buffer.alloc(3 * 1_048_576));
    expect(await closed).toBe(1009);
    const answer = new Promise<{ t: string }>((resolve) => other!.once('message', (d: Buffer) => resolve(decode(d) as { t: string })));
    other!.send(encode({ t: 'get', id: 1, k: 'a' }));
    expect((await answer).t).toBe('get_ok');
    other!.close();
  });
});

describe('slow readers', () => {
  it('cuts off a client that asks for answers but never reads them, within a bounded memory', async () => {
    const big = Buffer.alloc(900_000, 7);
    expect((await fetch(`${base}/v1/kv/big`, { method: 'PUT', body: big, headers: auth() })).status).toBe(204);
    const pid = cluster.nodes[0]!.proc!.pid;
    const before = rssBytes(pid);
    const { socket, status, rest } = await rawUpgrade('127.0.0.1', cluster.nodes[0]!.port, '/v1/ws', auth());
    expect(status).toBe(101);
    // 400 reads of a 900 KB value would be 360 MB of answers if the node buffered them all.
    const count = 400;
    socket.write(Buffer.concat(Array.from({ length: count }, (_, i) => clientFrame(encode({ t: 'get', id: i + 1, k: 'big' })))));
    await waitFor('the node to cut the slow reader', () => cluster.nodes[0]!.logs.some((l) => l.includes('api_ws_slow_reader')), 30_000, 50);
    const after = rssBytes(pid);
    // The node closed this connection (1008, policy), and we read far less than was asked for.
    const { code, dataBytes } = await readUntilClose(socket, rest, 30_000);
    expect(code).toBe(1008);
    expect(dataBytes).toBeLessThan(count * big.length);
    if (before !== undefined && after !== undefined) {
      // wsClientSendBufferBytesMax (16 MiB) plus answers in flight: far below the 360 MB asked for.
      expect(after - before).toBeLessThan(160 * 1_048_576);
    }
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
  }, 60_000);
});
