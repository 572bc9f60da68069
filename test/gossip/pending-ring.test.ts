import { describe, expect, it } from 'vitest';
import type { RingState } from '../../src/ring/types.js';
import { Cluster, ids, stubRing } from './harness.js';

/**
 * With a transfer protocol plugged in (RingOps.gainers), a membership change is published
 * as pending owners (`next`) and becomes current only when every node that gains data has
 * declared itself ready for that pending version.
 */
function transferAware() {
  const base = stubRing();
  const gainers = (ring: RingState) => {
    const before = new Set(ring.owners);
    return [...new Set(ring.next ?? [])].filter((id) => !before.has(id));
  };
  return Object.assign(base, { gainers });
}

/** Runs the cluster; every gainer except those in `hold` declares itself ready as soon as it sees a pending ring (as a node with nothing to pull would). */
function runReady(c: Cluster, cond: () => boolean, deadlineMs: number, hold: ReadonlySet<string> = new Set()): void {
  const end = c.now + deadlineMs;
  while (!cond()) {
    if (c.now >= end) throw new Error('condition not reached');
    for (const node of c.live()) {
      const ring = node.gossip.ring();
      if (!ring?.next || hold.has(node.id)) continue;
      if (node.gossip.readyVersion(node.id) < ring.version) c.apply(node.id, node.gossip.setReady(ring.version, c.now));
    }
    c.run(50);
  }
}

describe('pending ring (ownership moves only after transfer)', () => {
  it('a join publishes pending owners, keeps serving on the old owners, and flips once the gainer is ready', () => {
    const c = Cluster.formed(7, 3, { ring: transferAware() });
    runReady(c, () => c.converged(ids(3)) && c.gossip('n0').ring()!.next === undefined, 30_000);
    const before = c.gossip('n0').ring()!;
    expect(before.next).toBeUndefined();

    c.start('n3', Cluster.address(3));
    c.join('n3', 'n0');
    c.runUntil(() => ids(4).every((id) => c.gossip(id).ring()?.next !== undefined), 20_000, 'pending ring everywhere');
    const pending = c.gossip('n1').ring()!;
    expect(pending.owners).toEqual(before.owners);
    expect(new Set(pending.next)).toContain('n3');

    // Time passes, but nothing flips while the gainer has not declared itself ready.
    c.run(10_000);
    expect(c.gossip('n2').ring()!.owners).toEqual(before.owners);
    expect(c.gossip('n2').ring()!.next).toBeDefined();

    c.apply('n3', c.gossip('n3').setReady(c.gossip('n3').ring()!.version, c.now));
    c.runUntil(() => ids(4).every((id) => c.gossip(id).ring()?.next === undefined && c.gossip(id).ring()!.owners.includes('n3')), 20_000, 'flip');
    const after = c.gossip('n0').ring()!;
    expect(after.owners).toEqual(pending.next);
    expect(after.version).toBeGreaterThan(pending.version);
    expect(c.gossip('n1').readyVersion('n3')).toBe(pending.version);
  });

  it('a ready declaration for an older pending version does not flip a newer one', () => {
    const c = Cluster.formed(8, 3, { ring: transferAware() });
    runReady(c, () => c.converged(ids(3)) && c.gossip('n0').ring()!.next === undefined, 30_000);
    c.start('n3', Cluster.address(3));
    c.join('n3', 'n0');
    c.runUntil(() => c.gossip('n0').ring()?.next !== undefined, 20_000);
    const v1 = c.gossip('n0').ring()!.version;
    // A second join changes the target before n3 is ready: a new pending version.
    c.start('n4', Cluster.address(4));
    c.join('n4', 'n0');
    c.runUntil(() => c.gossip('n0').ring()!.version > v1 && (c.gossip('n0').ring()!.next ?? []).includes('n4'), 20_000);
    c.apply('n3', c.gossip('n3').setReady(v1, c.now));
    c.run(5_000);
    expect(c.gossip('n0').ring()!.next).toBeDefined();
    const v2 = c.gossip('n0').ring()!.version;
    for (const id of ['n3', 'n4']) c.apply(id, c.gossip(id).setReady(v2, c.now));
    c.runUntil(() => c.gossip('n0').ring()!.next === undefined, 20_000, 'flip after both ready');
    expect(new Set(c.gossip('n0').ring()!.owners)).toEqual(new Set(ids(5)));
  });
});
