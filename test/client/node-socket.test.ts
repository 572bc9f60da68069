import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeSocketFactory } from '../../src/client/node.js';
import type { WebSocketLike } from '../../src/client/types.js';

/** The Node SDK's socket: zero masking key and writes corked for one event-loop turn. */
describe('nodeSocketFactory', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function server(): Promise<{ url: string; received: Buffer[] }> {
    const received: Buffer[] = [];
    const wss = new WebSocketServer({ noServer: true });
    const http = createServer();
    http.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d: Buffer) => received.push(Buffer.from(d))));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close();
          http.close(() => r());
          http.closeAllConnections();
        }),
    );
    const port = (http.address() as AddressInfo).port;
    return { url: `ws://127.0.0.1:${port}/`, received };
  }

  async function open(url: string): Promise<WebSocketLike> {
    const ws = nodeSocketFactory(url, undefined);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error('socket error'));
    });
    cleanup.push(() => ws.close());
    return ws;
  }

  async function until(what: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!what()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setImmediate(r));
    }
  }

  it('sends every message of one turn in one socket write, intact and in order', async () => {
    const s = await server();
    const ws = await open(s.url);
    // Count what reaches the TCP socket's write path: one call per uncorked write, one
    // _writev for everything a cork held.
    const sock = (ws as unknown as { _socket: { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void } })._socket;
    let writes = 0;
    for (const m of ['_write', '_writev'] as const) {
      const orig = sock[m].bind(sock);
      sock[m] = (...a: unknown[]) => {
        writes++;
        orig(...a);
      };
    }
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const m = new Uint8Array(300).fill(i & 0xff);
      m[0] = i >> 8;
      sent.push(m);
      ws.send(m);
    }
    await until(() => s.received.length === 200);
    for (let i = 0; i < 200; i++) expect(Buffer.compare(s.received[i]!, Buffer.from(sent[i]!))).toBe(0);
    // Uncorked, each message is its own write; corked, the turn's 200 go out together.
    expect(writes).toBeLessThanOrEqual(2);
  });

  it('keeps sending across turns (the cork is released after each turn)', async () => {
    const s = await server();
    const ws = await open(s.url);
    for (let i = 0; i < 5; i++) {
      ws.send(new Uint8Array([i]));
      await until(() => s.received.length === i + 1);
    }
    expect(s.received.map((b) => b[0])).toEqual([0, 1, 2, 3, 4]);
  });
});
