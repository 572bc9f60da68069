import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { realEnv } from '../../src/env/index.js';
import { isShoalError, type ErrorCode } from '../../src/errors/index.js';
import { MemoryNetwork, WsTransport, type Transport, type TransportLimits, type WsTransportOptions } from '../../src/transport/index.js';

/** Polls `check` until it is true, failing after `deadlineMs` (a deadline, not a sleep). */
export async function waitFor(check: () => boolean, what: string, deadlineMs = 5_000): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Resolves when `t` reports the link to `peer` going `up` (or already reports it so). */
export function linkEvent(t: Transport, peer: string, up: boolean): Promise<void> {
  return new Promise((resolve) => {
    if ((t.stats().peers[peer]?.up ?? false) === up) return resolve();
    t.onLink((p, u) => {
      if (p === peer && u === up) resolve();
    });
  });
}

export async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (isShoalError(err, code)) return err;
    throw new Error(`expected ShoalError ${code}, got ${String(err)}`);
  }
  throw new Error(`expected ShoalError ${code}, but it resolved`);
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A peer pair under test, with the operations the contract suite needs beyond Transport. */
export interface Pair {
  a: Transport;
  b: Transport;
  /** Makes `a` know `b`, and resolves once both see the link up. */
  connect(): Promise<void>;
  /** Closes everything (idempotent). */
  dispose(): Promise<void>;
}

export type PairFactory = (limits?: Partial<TransportLimits>) => Promise<Pair>;

// ---------------------------------------------------------------- WebSocket nodes on real sockets

export interface WsNode {
  t: WsTransport;
  server: Server;
  address: string;
  port: number;
  close(): Promise<void>;
}

/** One WsTransport behind a plain http server that routes /v1/peer upgrades to it. */
export async function wsNode(options: Partial<WsTransportOptions> & { self: string }, port = 0, listenHost = '127.0.0.1'): Promise<WsNode> {
  const t = new WsTransport({ host: '127.0.0.1', secret: 'test-secret', clusterParams: 'n=3,q=64', env: realEnv(), ...options });
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/v1/peer') t.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, listenHost, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    t,
    server,
    port: actual,
    address: `${listenHost}:${actual}`,
    close() {
      closed ??= (async () => {
        await t.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closed;
    },
  };
}

export const wsPair: PairFactory = async (limits) => {
  const na = await wsNode({ self: 'a', limits });
  const nb = await wsNode({ self: 'b', limits });
  return {
    a: na.t,
    b: nb.t,
    async connect() {
      const up = Promise.all([linkEvent(na.t, 'b', true), linkEvent(nb.t, 'a', true)]);
      na.t.setPeer('b', nb.address);
      await up;
    },
    async dispose() {
      await Promise.all([na.close(), nb.close()]);
    },
  };
};

export const memoryPair: PairFactory = async (limits) => {
  const network = new MemoryNetwork();
  const env = realEnv();
  const a = network.transport({ self: 'a', env, limits, clusterParams: 'n=3,q=64' });
  const b = network.transport({ self: 'b', env, limits, clusterParams: 'n=3,q=64' });
  return {
    a,
    b,
    async connect() {
      const up = Promise.all([linkEvent(a, 'b', true), linkEvent(b, 'a', true)]);
      a.setPeer('b', 'b');
      await up;
    },
    async dispose() {
      await Promise.all([a.close(), b.close()]);
    },
  };
};
