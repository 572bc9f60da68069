/**
 * Gossip from an authenticated peer about *other* nodes is advice, not authority:
 * - a suspicion of a live node only makes the receiver probe it; it stays up while it answers;
 * - a ring naming nodes the receiver does not know as members (a forged or corrupt frame
 *   with a higher version) is not adopted, so it cannot reroute keys to strangers.
 * What remains possible for a peer that holds the cluster secret (it may claim a ring of
 * real members, or relay a forged record of another member, which that member refutes as
 * soon as it sees it) is written down in docs/reliability.md.
 */
import { describe, expect, it } from 'vitest';
import type { GossipMsg, MemberWire } from '../../src/wire/messages.js';
import { Cluster, ids } from '../gossip/harness.js';

function selfRecord(c: Cluster, id: string): MemberWire {
  const g = c.gossip(id);
  const me = g.members().find((m) => m.id === id)!;
  return { id, addr: me.address, inc: me.incarnation, hb: me.heartbeat + 1_000, st: 'up', n: 3, q: 16 };
}

describe('forged gossip from an authenticated member', () => {
  it('cannot install a higher-version ring whose owners are strangers', () => {
    const c = Cluster.formed(11, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const before = c.gossip('n0').ring()!;
    const forged: GossipMsg = {
      t: 'gossip',
      members: [selfRecord(c, 'n1')],
      ring: { v: before.version + 1_000, c: 'n1', o: Array.from({ length: 16 }, () => 'mallory:1') },
      sus: [],
    };
    c.inject('n0', 'n1', forged);
    expect(c.gossip('n0').ring()).toEqual(before);
    // Nor a ring whose claimant is not a member, even with real owners.
    c.inject('n0', 'n1', { ...forged, ring: { v: before.version + 1_000, c: 'zz-stranger', o: [...before.owners] } });
    expect(c.gossip('n0').ring()).toEqual(before);
    // Nor pending owners that are strangers.
    c.inject('n0', 'n1', { ...forged, ring: { v: before.version + 1_000, c: 'n1', o: [...before.owners], x: before.owners.map(() => 'ghost:9') } });
    expect(c.gossip('n0').ring()).toEqual(before);
    // The cluster keeps running on its ring.
    c.run(5_000);
    for (const id of ids(3)) expect(c.gossip(id).ring()!.owners).toEqual(before.owners);
  });

  it('still adopts a genuine higher ring from a member (the check only refuses strangers)', () => {
    const c = Cluster.formed(12, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const before = c.gossip('n0').ring()!;
    const owners = before.owners.map((_, i) => ids(3)[(i + 1) % 3]!);
    c.inject('n0', 'n1', { t: 'gossip', members: [selfRecord(c, 'n1')], ring: { v: before.version + 1, c: 'n1', o: owners }, sus: [] });
    expect(c.gossip('n0').ring()!.version).toBe(before.version + 1);
  });

  it('cannot mark a live node down by suspecting it, however often', () => {
    const c = Cluster.formed(13, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    for (let i = 0; i < 50; i++) {
      c.inject('n0', 'n1', { t: 'gossip', members: [selfRecord(c, 'n1')], ring: { v: 0, c: '', o: [] }, sus: ['n2'] });
      c.run(200);
      expect(c.gossip('n0').status('n2')).toBe('up');
    }
  });
});
