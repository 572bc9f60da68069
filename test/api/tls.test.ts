import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClientCodec } from '../../src/wire/index.js';
import { type Harness, start } from './helpers.js';

/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl command when there is one. */
function selfSigned(): { cert: string; key: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-api-tls-'));
  try {
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    if (r.status !== 0) return undefined;
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tls = selfSigned();
let h: Harness | undefined;
afterAll(async () => {
  await h?.api.close();
});

describe.skipIf(tls === undefined)('TLS', () => {
  it('serves https:// and wss:// on the same port, with the token', async () => {
    h = await start({ tls, clientToken: 't' });
    const { port } = h;
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/v1/status', ca: tls?.cert, headers: { Authorization: 'Bearer t' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(200);

    const codec = createClientCodec({ maxValueBytes: 1024 });
    const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/ws`, { ca: tls?.cert, headers: { Authorization: 'Bearer t', Origin: `https://127.0.0.1:${port}` } });
    const answer = await new Promise<unknown>((resolve, reject) => {
      ws.on('open', () => ws.send(codec.encodeRequest({ t: 'put', id: 3, k: 'k', v: new Uint8Array([1]) })));
      ws.on('message', (d: Buffer) => resolve(codec.decodeResponse(new Uint8Array(d))));
      ws.on('error', reject);
    });
    ws.terminate();
    expect(answer).toEqual({ t: 'put_ok', id: 3, ctx: 'v1' });
  });
});
