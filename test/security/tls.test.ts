/**
 * TLS for all traffic on real processes: three nodes started with --tls-cert/--tls-key
 * (a throwaway self-signed certificate made by openssl; skipped without openssl) form a
 * cluster over wss:// /v1/peer, serve the HTTP API over https:// and clients over wss://
 * /v1/ws, and do not answer cleartext HTTP on the same port.
 */
import { spawnSync } from 'node:child_process';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Cluster, waitFor } from '../integration/harness.js';

const certDir = mkdtempSync(join(tmpdir(), 'shoal-sec-tls-'));
const made = spawnSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')],
  { stdio: 'ignore' },
);
const haveOpenssl = made.status === 0;
const ca = haveOpenssl ? readFileSync(join(certDir, 'cert.pem')) : Buffer.alloc(0);

function request(url: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(init.body);
  });
}

let cluster: Cluster;
const url = (i: number): string => `https://127.0.0.1:${cluster.nodes[i]!.port}`;

beforeAll(async () => {
  if (!haveOpenssl) return;
  cluster = new Cluster({ nodes: 3, extraArgs: ['--tls-cert', join(certDir, 'cert.pem'), '--tls-key', join(certDir, 'key.pem')] });
  await cluster.startSome(0);
  for (let i = 0; i < 3; i++) cluster.spawn(i);
  for (let i = 0; i < 3; i++) {
    await waitFor(`node ${i} healthy over https`, async () => (await request(`${url(i)}/v1/health`)).status === 200, 30_000);
  }
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(certDir, { recursive: true, force: true });
});

describe.skipIf(!haveOpenssl)('TLS on real nodes (skipped without openssl)', () => {
  it('peers link over wss:// and the cluster forms', async () => {
    await waitFor('three members up on every node', async () => {
      for (let i = 0; i < 3; i++) {
        const s = JSON.parse((await request(`${url(i)}/v1/status`)).body) as { members: Array<{ status: string }> };
        if (s.members.length !== 3 || !s.members.every((m) => m.status === 'up')) return false;
      }
      return true;
    }, 40_000);
    await waitFor('a ring on every node', async () => {
      for (let i = 0; i < 3; i++) if ((JSON.parse((await request(`${url(i)}/v1/ring`)).body) as { partitions: unknown[] }).partitions.length === 0) return false;
      return true;
    }, 40_000);
  }, 60_000);

  it('serves the HTTP API over https:// with replication between nodes', async () => {
    await waitFor('a write over https', async () => (await request(`${url(0)}/v1/kv/tls-key`, { method: 'PUT', body: 'secret value' })).status === 204, 20_000);
    await waitFor('the value on another node', async () => (await request(`${url(2)}/v1/kv/tls-key?r=all`)).body === 'secret value', 20_000);
  }, 45_000);

  it('serves clients over wss:// /v1/ws', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${cluster.nodes[1]!.port}/v1/ws`, { ca });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const answer = new Promise<{ t: string; values?: unknown[] }>((resolve) => ws.once('message', (d: Buffer) => resolve(decode(d) as { t: string })));
    ws.send(encode({ t: 'get', id: 1, k: 'tls-key' }));
    expect((await answer).t).toBe('get_ok');
    ws.close();
  });

  it('does not speak cleartext HTTP on the TLS port', async () => {
    const plain = await fetch(`http://127.0.0.1:${cluster.nodes[0]!.port}/v1/health`, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
  });
});
