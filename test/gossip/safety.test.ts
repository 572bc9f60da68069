import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/env/index.js';
import { Gossip, type GossipConfig, type GossipOutput } from '../../src/gossip/index.js';
import type { GossipMsg, MemberWire } from '../../src/wire/messages.js';
import { Cluster, ids, stubRing } from './harness.js';

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
    random: new SeededRandom(9),
    now: 0,
    config,
    restored,
  });
}

function gossipsIn(out: GossipOutput): GossipMsg[] {
  return out.send.filter((s) => s.msg.t === 'gossip').map((s) => s.msg as GossipMsg);
}

describe('config mismatch', () => {
  it('reports a sender with another n or q and merges nothing from it', () => {
    const g = lone();
    for (const bad of [{ n: 5 }, { q: 32 }]) {
      const out = g.step('b', { t: 'gossip', members: [rec('b', 1, bad), rec('c', 2)], ring: { v: 3, c: 'b', o: Array(16).fill('b') }, sus: ['a'] }, 0);
      expect(out.events).toEqual([{ kind: 'config_mismatch', peer: 'b', detail: expect.stringContaining('n=3 partitions=16') }]);
      expect(out.send).toEqual([]);
      expect(g.members().map((m) => m.id)).toEqual(['a']);
      expect(g.ring()).toBeUndefined();
      expect(g.incarnation).toBe(1);
    }
  });

  it('stops gossiping to a seed that turned out to be misconfigured', () => {
    const g = lone();
    expect(gossipsIn(g.addSeed('b', '127.0.0.1:7001', 0))).toHaveLength(1);
    g.step('b', { t: 'gossip', members: [rec('b', 1, { n: 5 })], ring: noRing, sus: [] }, 1);
    const sent = [...Array(30).keys()].flatMap((i) => g.tick(100 * (i + 1)).send);
    expect(sent.filter((s) => s.to === 'b')).toEqual([]);
  });

  it('skips third-party records with other settings but merges the rest', () => {
    const g = lone();
    g.step('b', { t: 'gossip', members: [rec('b', 1), rec('c', 2, { q: 8 }), rec('d', 3)], ring: noRing, sus: [] }, 0);
    expect(g.members().map((m) => m.id)).toEqual(['a', 'b', 'd']);
  });
});

describe('incarnations', () => {
  it('a restored incarnation is never reused', () => {
    expect(lone({}, { incarnation: 7 }).incarnation).toBe(8);
    expect(lone().incarnation).toBe(1);
  });

  it('a restart with the persisted incarnation is accepted by everyone at once', () => {
    const c = Cluster.formed(61, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    c.run(5_000);
    const old = c.gossip('n2').incarnation;
    c.crash('n2');
    c.runUntil(() => c.gossip('n0').status('n2') === 'down', 10_000);
    c.start('n2', Cluster.address(2), { incarnation: old, ring: c.gossip('n2').ring()! });
    expect(c.gossip('n2').incarnation).toBe(old + 1);
    c.join('n2', 'n0');
    c.runUntil(() => c.converged(ids(3)), 5_000);
    // Others may still list it in `sus` until their own probe succeeds, so it may refute once more.
    const inc = c.gossip('n2').incarnation;
    expect(inc).toBeGreaterThanOrEqual(old + 1);
    expect(inc).toBeLessThanOrEqual(old + 2);
    c.runUntil(() => ['n0', 'n1'].every((id) => c.gossip(id).members().find((m) => m.id === 'n2')!.incarnation === c.gossip('n2').incarnation), 5_000);
  });

  it('a restart that lost its incarnation jumps above the one the cluster remembers', () => {
    const c = Cluster.formed(62, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    // Raise n2's incarnation well above 1 (as after refutations in a past life).
    for (let i = 0; i < 5; i++) {
      c.inject('n2', 'n0', { t: 'gossip', members: [rec('n0', 0, { inc: c.gossip('n0').incarnation, hb: 0 })], ring: noRing, sus: ['n2'] });
      c.run(1_100);
    }
    const remembered = c.gossip('n0').members().find((m) => m.id === 'n2')!;
    expect(remembered.incarnation).toBeGreaterThan(3);
    c.crash('n2');
    c.run(1_000);
    c.start('n2', Cluster.address(2)); // data directory lost: no restored state
    expect(c.gossip('n2').incarnation).toBe(1);
    c.join('n2', 'n1');
    c.runUntil(() => c.converged(ids(3)), 10_000);
    expect(c.gossip('n2').incarnation).toBeGreaterThan(remembered.incarnation);
    c.runUntil(() => ['n0', 'n1'].every((id) => c.gossip(id).members().find((m) => m.id === 'n2')!.incarnation === c.gossip('n2').incarnation), 5_000);
  });

  it('never lets another node overwrite its own record', () => {
    const g = lone();
    g.step('b', { t: 'gossip', members: [rec('b', 1), rec('a', 0, { addr: '10.0.0.9:1', st: 'left', inc: 4, hb: 9 })], ring: noRing, sus: [] }, 0);
    expect(g.incarnation).toBe(5);
    expect(g.members().find((m) => m.id === 'a')).toMatchObject({ address: '127.0.0.1:7000', status: 'up' });
  });
});

describe('validation and bounds', () => {
  it('skips records with empty ids, bad addresses or negative numbers', () => {
    const g = lone();
    const bad: MemberWire[] = [
      rec('', 2),
      rec('c', 3, { addr: 'nohostport' }),
      rec('d', 4, { addr: '10.0.0.1:99999' }),
      rec('e', 5, { inc: -1 }),
      rec('f', 6, { hb: -3 }),
      rec('g', 7, { hb: 1.5 }),
      rec('h', 8, { st: 'gone' as MemberWire['st'] }),
    ];
    g.step('b', { t: 'gossip', members: [rec('b', 1), ...bad, rec('i', 9, { addr: '[::1]:7009' }), rec('j', 10, { addr: 'db-1.example.com:7070' })], ring: noRing, sus: [] }, 0);
    expect(g.members().map((m) => m.id)).toEqual(['a', 'b', 'i', 'j']);
  });

  it('ignores a gossip frame without a valid record of its sender', () => {
    const g = lone();
    expect(g.step('b', { t: 'gossip', members: [rec('c', 2)], ring: noRing, sus: [] }, 0)).toEqual({ send: [], events: [] });
    expect(g.step('b', { t: 'gossip', members: [rec('b', 1, { addr: 'x' }), rec('c', 2)], ring: noRing, sus: [] }, 0)).toEqual({ send: [], events: [] });
    expect(g.members()).toHaveLength(1);
  });

  it('tracks at most membersMax members, says so once per ignored id, and bounds its frames', () => {
    const g = lone({ membersMax: 4, susMax: 2 });
    const members = [rec('b', 1), ...['c', 'd', 'e', 'f', 'g'].map((id, i) => rec(id, i + 2))];
    const first = g.step('b', { t: 'gossip', members, ring: noRing, sus: [] }, 0);
    expect(g.members().map((m) => m.id)).toEqual(['a', 'b', 'c', 'd']);
    // A frame is read up to membersMax records: f and g are not even looked at.
    const ignored = first.events.filter((e) => e.kind === 'member_ignored');
    expect(ignored.map((e) => (e as { id: string }).id)).toEqual(['e']);
    const again = g.step('b', { t: 'gossip', members: members.map((m) => ({ ...m, hb: 2 })), ring: noRing, sus: [] }, 10);
    expect(again.events.filter((e) => e.kind === 'member_ignored')).toEqual([]);
    // Nobody answers: all suspected, yet frames carry at most membersMax records and susMax suspicions.
    let frames: GossipMsg[] = [];
    for (let t = 100; t <= 20_000; t += 100) frames = frames.concat(gossipsIn(g.tick(t)));
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      expect(f.members.length).toBeLessThanOrEqual(4);
      expect(f.sus.length).toBeLessThanOrEqual(2);
    }
    expect(frames.at(-1)!.sus.length).toBe(2);
  });

  it('makes room for a new member by evicting a left tombstone', () => {
    const g = lone({ membersMax: 3 });
    g.step('b', { t: 'gossip', members: [rec('b', 1), rec('c', 2, { st: 'left' })], ring: noRing, sus: [] }, 0);
    g.step('b', { t: 'gossip', members: [rec('b', 1, { hb: 2 }), rec('d', 3)], ring: noRing, sus: [] }, 1);
    expect(g.members().map((m) => m.id)).toEqual(['a', 'b', 'd']);
  });

  it('relays a ping_req and forwards the ack under the requester\'s sequence number', () => {
    const g = lone();
    g.step('b', { t: 'gossip', members: [rec('b', 1), rec('c', 2)], ring: noRing, sus: [] }, 0);
    const out = g.step('b', { t: 'ping_req', target: 'c', seq: 77 }, 5);
    const ping = out.send.find((s) => s.to === 'c' && s.msg.t === 'ping')!;
    expect(ping).toBeDefined();
    const seq = (ping.msg as { seq: number }).seq;
    // An ack from someone else under that number is not forwarded.
    expect(g.step('b', { t: 'ack', seq }, 6).send).toEqual([]);
    expect(g.step('c', { t: 'ack', seq }, 7).send).toEqual([{ to: 'b', msg: { t: 'ack', seq: 77 } }]);
    // Unknown targets are not relayed.
    expect(g.step('b', { t: 'ping_req', target: 'zz', seq: 78 }, 8).send).toEqual([]);
    // Pings are answered.
    expect(g.step('zz', { t: 'ping', seq: 5 }, 9).send).toEqual([{ to: 'zz', msg: { t: 'ack', seq: 5 } }]);
  });

  it('treats link events as hints: a link going down prompts a probe, not a status change', () => {
    const c = Cluster.formed(71, 3);
    c.runUntil(() => c.converged(ids(3)), 15_000);
    const out = c.gossip('n0').linkChanged('n1', false, c.now);
    expect(out.events).toEqual([]);
    expect(out.send).toEqual([{ to: 'n1', msg: { t: 'ping', seq: expect.any(Number) } }]);
    expect(c.gossip('n0').status('n1')).toBe('up');
    expect(c.gossip('n0').linkChanged('n1', true, c.now).send).toEqual([]);
  });

  it('rejects an invalid identity or settings at construction', () => {
    const base = { n: 3, partitions: 16, ring: stubRing(), random: new SeededRandom(1), now: 0 };
    expect(() => new Gossip({ ...base, self: { id: '', address: '127.0.0.1:1' } })).toThrow(/node id/);
    expect(() => new Gossip({ ...base, self: { id: 'a', address: 'localhost' } })).toThrow(/HOST:PORT/);
    expect(() => new Gossip({ ...base, n: 0, self: { id: 'a', address: '127.0.0.1:1' } })).toThrow(/n must/);
  });
});
