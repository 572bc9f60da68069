import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../../src/store/index.js';
import type { ShoalNode } from '../../src/node/node.js';
import * as cfg from '../../src/config/index.js';
import { memCluster } from './mem-cluster.js';

/**
 * Gossip messages that carry a new incarnation wait until it is on disk (a restarted node
 * must never reuse one). If that write hangs, the waiting messages are capped
 * (gossipHeldSendsMax, oldest dropped): memory stays bounded, and gossip events still
 * apply meanwhile.
 */
const Q = 8;

/** A store whose writes of the incarnation hang once `hang` is set. */
class StuckMetaStore extends ObjectStore {
  hang = false;
  override putMeta(name: string, value: Uint8Array, options?: Parameters<ObjectStore['putMeta']>[2]): Promise<void> {
    if (this.hang && name === 'incarnation') return new Promise<void>(() => {});
    return super.putMeta(name, value, options);
  }
}


describe('gossip sends held for an incarnation write', () => {
  it('are capped while the write hangs, and events still apply', async () => {
    const stores: StuckMetaStore[] = [];
    const logs: Array<{ node: string; event: string; fields: Record<string, unknown> | undefined }> = [];
    const ids = ['n1', 'n2', 'n3'];
    const { network, nodes, settle, stop } = await memCluster({
      ids,
      partitions: Q,
      store: (engine, options) => {
        const s = new StuckMetaStore(engine, options);
        stores.push(s);
        return s;
      },
      log: (id) => (event, fields) => logs.push({ node: id, event, fields }),
    });
    const upIn = (n: ShoalNode, peer: string) => n.status().members.some((m) => m.id === peer && m.status === 'up');
    for (let i = 0; i < 100 && !nodes.every((n) => ids.every((p) => upIn(n, p))); i++) await settle(100);
    expect(nodes.every((n) => ids.every((p) => upIn(n, p)))).toBe(true);

    // n1's incarnation writes hang from now on. Its outgoing messages are lost until the
    // others suspect it; it still hears them, so it learns of the suspicion and refutes
    // it with a new incarnation, which it cannot persist.
    const n1 = nodes[0]!;
    const inc0 = (n1 as unknown as { gossip: { incarnation: number } }).gossip.incarnation;
    stores[0]!.hang = true;
    let muted = true;
    network.deliver = (from, _to, _bytes, run) => {
      if (!(muted && from === 'n1')) queueMicrotask(run);
    };
    for (let i = 0; i < 600 && upIn(nodes[1]!, 'n1'); i++) await settle(100);
    expect(upIn(nodes[1]!, 'n1')).toBe(false);
    muted = false;
    const held = () => (n1 as unknown as { heldSends: unknown[] }).heldSends.length;
    let most = 0;
    for (let i = 0; i < 600; i++) {
      await settle(100);
      most = Math.max(most, held());
    }
    // Messages waited (the incarnation never reached disk), never more than the cap, and the oldest were dropped.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(cfg.gossipHeldSendsMax);
    expect(logs.some((l) => l.node === 'n1' && l.event === 'gossip_sends_dropped')).toBe(true);
    // n1 refuted (a new incarnation, not on disk), and its events kept applying: with all
    // its probes held it marked the others down, though none of its messages left.
    expect((n1 as unknown as { gossip: { incarnation: number } }).gossip.incarnation).toBeGreaterThan(inc0);
    expect(upIn(n1, 'n2') || upIn(n1, 'n3')).toBe(false);
    await stop();
  }, 60_000);
});
