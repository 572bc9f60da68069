/**
 * Peer security on real `shoal start` processes: a node with the wrong secret never joins,
 * a recorded handshake replayed later is refused, and a peer claiming the id of a node
 * that is already linked is refused. Hand-made handshakes use src/transport's own MAC
 * function, so the test speaks the protocol exactly as a legitimate peer (or a thief of
 * one transcript) would.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { handshakeMac, type Challenge } from '../../src/transport/index.js';
import { Cluster, waitFor } from '../integration/harness.js';

const SECRET = 'peer-security-secret-0123456789abcdef';
const PARAMS = 'n=3,q=64';
let cluster: Cluster;

beforeAll(async () => {
  cluster = new Cluster({ nodes: 3, secret: SECRET });
  await cluster.startSome(2);
  await cluster.waitConverged([0, 1], 30_000);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

class RawPeer {
  readonly received: string[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<void>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d: RawData) => this.received.push(String(d)));
    ws.on('error', () => {});
    this.closed = new Promise((r) => ws.on('close', (code) => ((this.closeCode = code), r())));
  }
  static async dial(address: string, localAddress: string): Promise<RawPeer> {
    const p = new RawPeer(new WebSocket(`ws://${address}/v1/peer`, { localAddress }));
    await once(p.ws, 'open');
    return p;
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  async next<T>(): Promise<T> {
    const at = this.received.length;
    await waitFor('a handshake message', () => this.received.length > at || this.closeCode !== undefined, 5_000, 5);
    const m = this.received[at];
    if (m === undefined) throw new Error(`closed ${this.closeCode}`);
    return JSON.parse(m) as T;
  }
}

const nonce = (fill: number): string => Buffer.alloc(32, fill).toString('hex');

/** A full dialer handshake by hand with the given secret; returns the peer and what it sent. */
async function handDial(target: number, id: string, secret: string, localAddress = '127.0.0.1'): Promise<{ peer: RawPeer; sent: object[]; welcomed: boolean }> {
  const node = cluster.nodes[target]!;
  const peer = await RawPeer.dial(`${node.host}:${node.port}`, localAddress);
  const hello = { t: 'hello', v: 1, id, nonce: nonce(7), params: PARAMS, sec: true };
  peer.send(hello);
  const c = await peer.next<Challenge>();
  const fields = { dialerNonce: hello.nonce, acceptorNonce: c.nonce, dialerId: id, acceptorId: node.id, params: PARAMS };
  const auth = { t: 'auth', mac: handshakeMac(secret, 'dialer', fields) };
  peer.send(auth);
  let welcomed = false;
  try {
    welcomed = (await peer.next<{ t: string }>()).t === 'welcome';
  } catch {
    welcomed = false;
  }
  return { peer, sent: [hello, auth], welcomed };
}

async function members(i: number): Promise<string[]> {
  const s = (await (await fetch(`${cluster.url(i)}/v1/status`)).json()) as { members: Array<{ id: string }> };
  return s.members.map((m) => m.id);
}

describe('peer handshake on real nodes', () => {
  it('a node with the wrong secret is refused and never becomes a member', async () => {
    const wrong = join(cluster.dir, 'wrong-secret');
    writeFileSync(wrong, 'not-the-cluster-secret-at-all-000000');
    cluster.spawn(2, ['--secret-file', wrong]);
    await cluster.waitHealthy(2);
    // Both sides report the refusal in their logs...
    await waitFor('the refusal in the newcomer log', () => cluster.nodes[2]!.logs.some((l) => /refused|auth/i.test(l) && /4001|prove|secret/i.test(l)), 20_000);
    await waitFor('the refusal in the seed log', () => cluster.nodes[0]!.logs.some((l) => l.includes(cluster.nodes[2]!.id) && /refused|auth/i.test(l)), 20_000);
    // ...and neither membership knows the other.
    expect(await members(0)).not.toContain(cluster.nodes[2]!.id);
    expect(await members(1)).not.toContain(cluster.nodes[2]!.id);
    expect(await members(2)).toEqual([cluster.nodes[2]!.id]);
    await cluster.kill(2);
  }, 40_000);

  it('a hand-made handshake with the right secret is welcomed, a wrong proof is refused with 4001', async () => {
    const ok = await handDial(0, 'tester:1', SECRET);
    expect(ok.welcomed).toBe(true);
    ok.peer.ws.terminate();
    const bad = await handDial(0, 'tester:2', 'guess');
    expect(bad.welcomed).toBe(false);
    await bad.peer.closed;
    expect(bad.peer.closeCode).toBe(4001);
  });

  it('a recorded handshake replayed later is refused: the acceptor nonce is fresh', async () => {
    const { peer, sent, welcomed } = await handDial(0, 'recorder:1', SECRET);
    expect(welcomed).toBe(true);
    peer.ws.terminate();
    const node = cluster.nodes[0]!;
    const replay = await RawPeer.dial(`${node.host}:${node.port}`, '127.0.0.1');
    for (const m of sent) replay.send(m);
    await replay.closed;
    expect(replay.closeCode).toBe(4001);
    expect(replay.received.some((m) => m.includes('welcome'))).toBe(false);
  });

  it("a peer claiming a linked node's id from another address is refused, even with the secret", async () => {
    // Node 1 is linked to node 0 from 127.0.0.1; an impostor with node 1's id dials from 127.0.0.2.
    const impostor = await handDial(0, cluster.nodes[1]!.id, SECRET, '127.0.0.2');
    expect(impostor.welcomed).toBe(false);
    await impostor.peer.closed;
    expect(impostor.peer.closeCode).toBe(4001);
    // Node 0 still sees node 1 up: the attempt took nothing from the real node.
    await cluster.waitMembers(0, { [cluster.nodes[1]!.id]: 'up' }, 10_000);
  });

  it('the node keeps serving after all of the above', async () => {
    const res = await fetch(`${cluster.url(0)}/v1/kv/after`, { method: 'PUT', body: 'v' });
    expect(res.status).toBe(204);
  });
});
