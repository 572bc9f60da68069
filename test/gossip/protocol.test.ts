import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/env/index.js';
import { Gossip, type GossipConfig, type GossipOutput } from '../../src/gossip/index.js';
import type { GossipMsg, MemberWire } from '../../src/wire/messages.js';
import { claim, compareRings } from '../../src/ring/index.js';
import { Cluster, ids, recording, stubRing } from './harness.js';

const noRing = { v: 0, c: '', o: [] };

function rec(id: string, i: number, extra: Partial<MemberWire> = {}): MemberWire {
  return { id, addr: Cluster.address(i), inc: 1, hb: 1, st: 'up', n: 3, q: 16, ...extra };
}

function lone(config: Partial<GossipConfig> = {}, restored?: { incarnation: number }): Gossip {
  return new Gossip({
    self: { id: 'a', address: '127.0.0.1:7000' },
    n: 3,
    partitions: 16,
    ring: stubRing(),
    random: new SeededRandom(5),
    now: 0,
    config,
    restored,
  });
}

function gossipsIn(out: GossipOutput): GossipMsg[] {
  return out.send.filter((s) => s.msg.t === 'gossip').map((s) => s.msg as GossipMsg);
}

describe('refuting suspicion', () => {
  it('a node that sees itself in sus bumps its incarnation, and the cluster learns it', () => {
    const c = Cluster.formed(31, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const before = c.gossip('n1').incarnation;
    const n0 = c.gossip('n0');
    const self0 = n0.members().find((m) => m.id === 'n0')!;
    const out = c.inject('n1', 'n0', {
      t: 'gossip',
      members: [
        { id: 'n0', addr: self0.address, inc: self0.incarnation, hb: self0.heartbeat, st: 'up', n: 3, q: 16 },
        { id: 'n1', addr: Cluster.address(1), inc: before, hb: 0, st: 'up', n: 3, q: 16 },
      ],
      ring: noRing,
      sus: ['n1'],
    });
    expect(c.gossip('n1').incarnation).toBe(before + 1);
    // The answer to the suspecter already carries the refutation.
    const answer = gossipsIn(out).find(() => true)!;
    expect(answer.members.find((m) => m.id === 'n1')!.inc).toBe(before + 1);
    c.runUntil(() => ['n0', 'n2'].every((o) => c.gossip(o).members().find((m) => m.id === 'n1')!.incarnation === before + 1), 5_000);
    // It is not a change of status anywhere.
    expect(c.gossip('n0').status('n1')).toBe('up');
  });

  it('refutes at most once per refute interval', () => {
    const g = lone();
    // The suspecter has seen our latest incarnation each time (else it would learn it from our answer).
    const msg = (hb: number): GossipMsg => ({ t: 'gossip', members: [rec('b', 1, { hb }), rec('a', 0, { inc: g.incarnation, hb: 0 })], ring: noRing, sus: ['a'] });
    const start = g.incarnation;
    g.step('b', msg(1), 10);
    g.step('b', msg(2), 20);
    expect(g.incarnation).toBe(start + 1);
    g.step('b', msg(3), 2_000);
    expect(g.incarnation).toBe(start + 2);
    // A suspecter that has not seen our last bump yet does not make us bump again.
    g.step('b', { ...msg(4), members: [rec('b', 1, { hb: 4 }), rec('a', 0, { inc: start + 1, hb: 0 })] }, 5_000);
    expect(g.incarnation).toBe(start + 2);
  });
});

describe('ring dissemination', () => {
  it('ignores a forged ring with a lower version and adopts one with a higher version', () => {
    const c = Cluster.formed(41, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const ring = c.gossip('n0').ring()!;
    const n1 = c.gossip('n1').members().find((m) => m.id === 'n1')!;
    const sender = { id: 'n1', addr: n1.address, inc: n1.incarnation, hb: n1.heartbeat, st: 'up' as const, n: 3, q: 16 };
    const forged = (v: number) => ({ v, c: 'n1', o: Array.from({ length: 16 }, () => 'n1') });
    const low = c.inject('n2', 'n1', { t: 'gossip', members: [sender], ring: forged(ring.version - 1), sus: [] });
    expect(low.events.filter((e) => e.kind === 'ring_changed')).toEqual([]);
    expect(c.gossip('n2').ring()).toEqual(ring);

    const high = c.inject('n2', 'n1', { t: 'gossip', members: [sender], ring: forged(ring.version + 10), sus: [] });
    const changed = high.events.filter((e) => e.kind === 'ring_changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ ring: { version: ring.version + 10, owners: forged(0).o }, previous: ring });
    // The claimant then sees owners that are not the members, and claims again on top of it.
    c.runUntil(() => c.converged(ids(3)), 10_000);
    expect(c.gossip('n0').ring()!.version).toBeGreaterThan(ring.version + 10);
  });

  it('ignores a ring of another size', () => {
    const g = lone();
    g.step('b', { t: 'gossip', members: [rec('b', 1)], ring: { v: 9, c: 'b', o: ['b', 'b'] }, sus: [] }, 0);
    // Our own claim (we are the claimant of {a, b}) is the only ring we hold.
    expect(g.ring()).toMatchObject({ partitions: 16, version: 1, claimant: 'a' });
  });

  it('a leave excludes the leaver from the next claim; a left member is removed', () => {
    const c = Cluster.formed(42, 4);
    c.runUntil(() => c.converged(ids(4)), 15_000);
    const claimsBefore = c.ringOps.claims.length;
    c.apply('n2', c.gossip('n2').leave(c.now));
    expect(c.gossip('n2').status('n2')).toBe('leaving');
    c.runUntil(() => ids(4).every((id) => !c.gossip(id).ring()!.owners.includes('n2')), 5_000, 'n2 out of the ring');
    const next = c.ringOps.claims[claimsBefore]!;
    expect(next.members).toEqual(['n0', 'n1', 'n3']);
    expect(next.claimant).toBe('n0');
    for (const id of ['n0', 'n1', 'n3']) {
      expect(c.gossip(id).status('n2')).toBe('leaving');
      // A leaving node still serves: it is reachable for the coordinator.
      expect(c.gossip(id).isUp('n2')).toBe(true);
    }
    c.apply('n2', c.gossip('n2').left(c.now));
    c.runUntil(() => ['n0', 'n1', 'n3'].every((id) => c.gossip(id).status('n2') === undefined), 5_000, 'n2 removed');
    for (const id of ['n0', 'n1', 'n3']) {
      expect(c.events.filter((e) => e.node === id && e.event.kind === 'member_removed' && e.event.id === 'n2')).toHaveLength(1);
      expect(c.gossip(id).members().map((m) => m.id)).toEqual(['n0', 'n1', 'n3']);
    }
    c.crash('n2');
    c.runUntil(() => c.converged(['n0', 'n1', 'n3']), 10_000);
  });

  it('when the claimant leaves, the next smallest member claims', () => {
    const c = Cluster.formed(43, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const claimsBefore = c.ringOps.claims.length;
    c.apply('n0', c.gossip('n0').leave(c.now));
    c.runUntil(() => ids(3).every((id) => !c.gossip(id).ring()!.owners.includes('n0')), 5_000);
    expect(c.ringOps.claims[claimsBefore]).toMatchObject({ members: ['n1', 'n2'], claimant: 'n1' });
  });

  it('a lone node claims a ring of its own only after the solo delay and never while a seed is pending', () => {
    const g = lone({ soloClaimDelayMs: 3_000 });
    expect(g.tick(2_999).events).toEqual([]);
    expect(g.ring()).toBeUndefined();
    const withSeed = lone({ soloClaimDelayMs: 3_000 });
    withSeed.addSeed('b', '127.0.0.1:7001', 10);
    withSeed.tick(10_000);
    expect(withSeed.ring()).toBeUndefined();
    const out = g.tick(3_000);
    expect(out.events).toContainEqual(expect.objectContaining({ kind: 'ring_changed', previous: undefined }));
    expect(new Set(g.ring()!.owners)).toEqual(new Set(['a']));
  });

  it('a node that is down in everyone\'s view keeps its partitions: a failure is not a membership change', () => {
    const c = Cluster.formed(44, 4);
    c.runUntil(() => c.converged(ids(4)), 15_000);
    const ring = c.gossip('n0').ring();
    const claims = c.ringOps.claims.length;
    c.crash('n0'); // the claimant itself
    c.runUntil(() => ['n1', 'n2', 'n3'].every((id) => c.gossip(id).status('n0') === 'down'), 10_000);
    c.run(5_000);
    expect(c.ringOps.claims.length).toBe(claims);
    for (const id of ['n1', 'n2', 'n3']) expect(c.gossip(id).ring()).toEqual(ring);
  });
});

describe('with the real ring (src/ring claim and compareRings)', () => {
  it('5 nodes converge on one balanced ring, and a leave moves every partition off the leaver', () => {
    const c = Cluster.formed(45, 5, { partitions: 64, ring: recording({ claim, compare: compareRings }) });
    c.runUntil(() => c.converged(ids(5)), 15_000);
    const counts = new Map<string, number>();
    for (const o of c.gossip('n0').ring()!.owners) counts.set(o, (counts.get(o) ?? 0) + 1);
    for (const k of counts.values()) expect(k === 12 || k === 13).toBe(true);
    c.apply('n4', c.gossip('n4').leave(c.now));
    c.runUntil(() => ids(5).every((id) => !c.gossip(id).ring()!.owners.includes('n4')), 5_000);
    const rings = ids(5).map((id) => c.gossip(id).ring());
    for (const r of rings) expect(r).toEqual(rings[0]);
  });
});

describe('flap damping', () => {
  it('delays the return of a member that keeps flapping, then lets it back', () => {
    const c = Cluster.formed(51, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const returnDelays: number[] = [];
    for (let flap = 0; flap < 3; flap++) {
      c.crash('n2');
      c.runUntil(() => c.gossip('n0').status('n2') === 'down', 10_000);
      c.recover('n2');
      const back = c.now;
      if (flap < 2) {
        c.runUntil(() => c.gossip('n0').status('n2') === 'up', 3_000, `return after flap ${flap}`);
        returnDelays.push(c.now - back);
        c.run(3_000);
      } else {
        // Third fall within a short time: penalty >= 2000, suppressed until it decays below 750.
        const upAt = c.runUntil(() => c.gossip('n0').status('n2') === 'up', 120_000, 'return after damping');
        returnDelays.push(upAt - back);
      }
    }
    expect(returnDelays[0]).toBeLessThanOrEqual(2_000);
    expect(returnDelays[1]).toBeLessThanOrEqual(2_000);
    // Three falls about 8 s apart leave a penalty near 2.5k; decaying to 750 takes over 40 s.
    expect(returnDelays[2]).toBeGreaterThan(30_000);
    // Held back, it stayed down through many answered probes: one event when it finally returns.
    const evs = c.statusEvents('n0', 'n2');
    expect(evs.slice(-3).map((e) => e.status)).toEqual(['suspect', 'down', 'up']);
    // One event per change: never two in a row with the same status.
    for (let i = 1; i < evs.length; i++) expect(evs[i]!.status).not.toBe(evs[i - 1]!.status);
    c.runUntil(() => c.converged(ids(3)), 5_000);
  });
});
