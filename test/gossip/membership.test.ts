import { describe, expect, it } from 'vitest';
import { Cluster, ids } from './harness.js';

describe('joining through seeds', () => {
  it.each([3, 5])('%i nodes converge on membership and one ring', (count) => {
    const c = Cluster.formed(1000 + count, count);
    const at = c.runUntil(() => c.converged(ids(count)), 15_000, 'convergence');
    expect(at).toBeLessThan(15_000);
    // Every node's ring is the same object content, owned by every member.
    const rings = ids(count).map((id) => c.gossip(id).ring());
    for (const r of rings) expect(r).toEqual(rings[0]);
    // Heartbeats keep rising while incarnations stay put in a quiet cluster.
    const before = c.gossip('n0').members().find((m) => m.id === 'n1')!;
    c.run(5_000);
    const after = c.gossip('n0').members().find((m) => m.id === 'n1')!;
    expect(after.heartbeat).toBeGreaterThan(before.heartbeat);
    expect(after.incarnation).toBe(before.incarnation);
    expect(c.converged(ids(count))).toBe(true);
  });

  it('joins through any seed, not only the first node', () => {
    const c = new Cluster(7);
    for (let i = 0; i < 5; i++) c.start(`n${i}`, Cluster.address(i));
    c.join('n1', 'n0');
    c.join('n2', 'n1');
    c.join('n3', 'n2');
    c.join('n4', 'n3');
    c.runUntil(() => c.converged(ids(5)), 20_000, 'convergence');
  });

  it('two nodes agree after one push-pull round trip', () => {
    const c = new Cluster(3);
    c.start('n0', Cluster.address(0));
    c.start('n1', Cluster.address(1));
    c.recordDeliveries = true;
    c.join('n1', 'n0');
    // Let n1's seed gossip arrive and n0 answer, but no gossip round run (they are at least ~0.1 s apart).
    c.sched.runUntil(c.now + 40);
    const gossips = c.delivered.filter((d) => d.msg.t === 'gossip');
    expect(gossips.map((d) => `${d.from}->${d.to}`)).toEqual(['n1->n0', 'n0->n1']);
    const m0 = c.gossip('n0').members().map((m) => m.id);
    const m1 = c.gossip('n1').members().map((m) => m.id);
    expect(m0).toEqual(['n0', 'n1']);
    expect(m1).toEqual(['n0', 'n1']);
  });

  it('reports one member_added and consistent status events per member', () => {
    const c = Cluster.formed(11, 4);
    c.runUntil(() => c.converged(ids(4)), 15_000);
    for (const observer of ids(4)) {
      const added = c.events.filter((e) => e.node === observer && e.event.kind === 'member_added').map((e) => (e.event as { id: string }).id);
      expect(added.sort()).toEqual(ids(4).filter((id) => id !== observer));
      for (const subject of ids(4)) {
        const evs = c.statusEvents(observer, subject);
        for (let i = 1; i < evs.length; i++) {
          expect(evs[i]!.previous).toBe(evs[i - 1]!.status);
          expect(evs[i]!.status).not.toBe(evs[i]!.previous);
        }
      }
    }
  });
});

describe('failure detection', () => {
  it('a crashed node goes suspect within 3 s and down within 6 s everywhere, and up within 2 s of returning', () => {
    const c = Cluster.formed(21, 5);
    c.runUntil(() => c.converged(ids(5)), 15_000);
    c.run(3_000);
    const crashAt = c.now;
    c.crash('n3');
    const others = ids(5).filter((id) => id !== 'n3');
    c.runUntil(() => others.every((o) => c.gossip(o).status('n3') === 'down'), 10_000, 'n3 down');
    for (const o of others) {
      const evs = c.statusEvents(o, 'n3', crashAt);
      expect(evs.map((e) => e.status)).toEqual(['suspect', 'down']);
      expect(evs[0]!.at - crashAt).toBeLessThanOrEqual(3_000);
      expect(evs[1]!.at - crashAt).toBeLessThanOrEqual(6_000);
      expect(c.gossip(o).isUp('n3')).toBe(false);
    }
    // A failure is not a membership change: the ring still lists n3.
    expect(new Set(c.gossip('n0').ring()!.owners).has('n3')).toBe(true);
    c.run(4_000);
    const backAt = c.now;
    c.recover('n3');
    c.runUntil(() => others.every((o) => c.gossip(o).status('n3') === 'up'), 10_000, 'n3 up');
    for (const o of others) {
      const evs = c.statusEvents(o, 'n3', backAt);
      expect(evs.map((e) => e.status)).toEqual(['up']);
      expect(evs[0]!.at - backAt).toBeLessThanOrEqual(2_000);
    }
    c.runUntil(() => c.converged(ids(5)), 10_000);
  });

  it('uses indirect probes: a lossy direct link alone does not make a member suspect', () => {
    const c = Cluster.formed(22, 4);
    c.runUntil(() => c.converged(ids(4)), 15_000);
    const t0 = c.now;
    // n0 and n1 cannot talk directly, but both reach n2 and n3.
    c.drop = (from, to) => (from === 'n0' && to === 'n1') || (from === 'n1' && to === 'n0');
    c.run(20_000);
    expect(c.statusEvents('n0', 'n1', t0)).toEqual([]);
    expect(c.statusEvents('n1', 'n0', t0)).toEqual([]);
    expect(c.gossip('n0').isUp('n1')).toBe(true);
  });

  it('a suspicion in third-party gossip does not mark a member down while it answers our probes', () => {
    const c = Cluster.formed(23, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const t0 = c.now;
    c.recordDeliveries = true;
    // n2 keeps telling n0 that n1 is suspect (here: a forged message in n2's name).
    for (let i = 0; i < 100; i++) {
      const n2 = c.gossip('n2');
      const members = [
        { id: 'n2', addr: Cluster.address(2), inc: n2.incarnation, hb: 1_000 + i, st: 'up' as const, n: 3, q: 16 },
      ];
      c.inject('n0', 'n2', { t: 'gossip', members, ring: { v: 0, c: '', o: [] }, sus: ['n1'] });
      c.run(100);
    }
    expect(c.statusEvents('n0', 'n1', t0)).toEqual([]);
    expect(c.gossip('n0').status('n1')).toBe('up');
    // It did look for itself: n0 pinged n1, and n1 answered.
    expect(c.delivered.some((d) => d.from === 'n0' && d.to === 'n1' && d.msg.t === 'ping')).toBe(true);
    expect(c.delivered.some((d) => d.from === 'n1' && d.to === 'n0' && d.msg.t === 'ack')).toBe(true);
  });

  it('a higher incarnation gossiped for a down member prompts a probe but does not bring it up', () => {
    const c = Cluster.formed(24, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    c.crash('n2');
    c.runUntil(() => c.gossip('n0').status('n2') === 'down', 10_000);
    const rec = c.gossip('n1').members().find((m) => m.id === 'n2')!;
    const n1 = c.gossip('n1');
    const sent = c.inject('n0', 'n1', {
      t: 'gossip',
      members: [
        { id: 'n1', addr: Cluster.address(1), inc: n1.incarnation, hb: 10_000, st: 'up', n: 3, q: 16 },
        { id: 'n2', addr: rec.address, inc: rec.incarnation + 5, hb: 0, st: 'up', n: 3, q: 16 },
      ],
      ring: { v: 0, c: '', o: [] },
      sus: [],
    });
    // The refutation is merged (the record is n2's own) and prompts our own ping at once...
    expect(c.gossip('n0').members().find((m) => m.id === 'n2')!.incarnation).toBe(rec.incarnation + 5);
    expect(sent.send.some((s) => s.to === 'n2' && s.msg.t === 'ping')).toBe(true);
    // ...but only an answer to our probes changes our view, and n2 is still crashed.
    const t0 = c.now;
    c.run(5_000);
    expect(c.gossip('n0').status('n2')).toBe('down');
    expect(c.statusEvents('n0', 'n2', t0)).toEqual([]);
    c.recover('n2');
    c.runUntil(() => c.gossip('n0').status('n2') === 'up', 2_000);
  });
});
