/**
 * A tiny fake node for SDK tests: a `ws` WebSocketServer on /v1/ws that decodes client
 * frames with the real codec and answers from a handler.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { createClientCodec, type ClientRequest, type ClientResponse } from '../../src/wire/index.js';

export type Handler = (req: ClientRequest, ctx: { server: FakeServer; socket: WebSocket }) => ClientResponse | null | 'close';

export class FakeServer {
  readonly wss: WebSocketServer;
  readonly codec = createClientCodec({ maxValueBytes: 1_048_576 });
  readonly received: ClientRequest[] = [];
  readonly upgrades: IncomingMessage[] = [];
  readonly sockets = new Set<WebSocket>();
  handler: Handler;

  private constructor(wss: WebSocketServer, handler: Handler) {
    this.wss = wss;
    this.handler = handler;
    wss.on('connection', (socket, req) => {
      this.upgrades.push(req);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('message', (data: Buffer) => {
        const req = this.codec.decodeRequest(new Uint8Array(data));
        this.received.push(req);
        const res = this.handler(req, { server: this, socket });
        if (res === 'close') socket.terminate();
        else if (res !== null) this.send(socket, res);
      });
    });
  }

  static async start(handler: Handler, options: { rejectUpgradeWith?: number } = {}): Promise<FakeServer> {
    const wss = await new Promise<WebSocketServer>((resolve) => {
      const s: WebSocketServer = new WebSocketServer(
        {
          host: '127.0.0.1',
          port: 0,
          path: '/v1/ws',
          handleProtocols: (protocols) => (protocols.has('shoal.v1') ? 'shoal.v1' : false),
          verifyClient: (_info, done) => (options.rejectUpgradeWith === undefined ? done(true) : done(false, options.rejectUpgradeWith)),
        },
        () => resolve(s),
      );
    });
    return new FakeServer(wss, handler);
  }

  get address(): string {
    return `127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  send(socket: WebSocket, res: ClientResponse): void {
    socket.send(this.codec.encodeResponse(res));
  }

  /** Drops every client connection abruptly (like a crashed node). */
  dropAll(): void {
    for (const s of this.sockets) s.terminate();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/** A handler backed by a map: one value per key plus siblings added by `sibling`. */
export function memoryHandler(): Handler & { store: Map<string, { vals: Uint8Array[]; ctx: string }> } {
  const store = new Map<string, { vals: Uint8Array[]; ctx: string }>();
  let version = 0;
  const h = (req: ClientRequest): ClientResponse | null => {
    switch (req.t) {
      case 'get': {
        const e = store.get(req.k);
        return { t: 'get_ok', id: req.id, vals: e?.vals ?? [], ctx: e?.ctx ?? null };
      }
      case 'put': {
        const e = store.get(req.k);
        version += 1;
        // A put with the current context supersedes; a blind put over a value adds a sibling.
        const vals = e !== undefined && req.ctx !== e.ctx ? [...e.vals, req.v] : [req.v];
        const ctx = `c${version}`;
        store.set(req.k, { vals: vals.map((v) => new Uint8Array(v)), ctx });
        return { t: 'put_ok', id: req.id, ctx };
      }
      case 'del': {
        version += 1;
        const ctx = `c${version}`;
        store.set(req.k, { vals: [], ctx });
        return { t: 'put_ok', id: req.id, ctx };
      }
      case 'ring':
        return { t: 'err', id: req.id, code: 'bad_request', msg: 'no ring here' };
      case 'lget':
        return { t: 'err', id: req.id, code: 'bad_request', msg: 'no direct reads here' };
    }
  };
  return Object.assign(h, { store });
}
