import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PeerHealth, ReadQuorum, WriteQuorum, parseQuorum, planReplicas } from '../../src/coordinator/index.js';
import { isShoalError } from '../../src/errors/index.js';

const pref = { primaries: ['a', 'b', 'c'], fallbacks: ['d', 'e'] };

describe('planReplicas (sloppy quorum)', () => {
  it('takes the primaries when all are reachable', () => {
    const plan = planReplicas(pref, () => true);
    expect(plan.targets).toEqual([{ node: 'a' }, { node: 'b' }, { node: 'c' }]);
    expect(plan.uncovered).toEqual([]);
  });

  it('replaces each unreachable primary by the next reachable fallback, with a hint for it', () => {
    const down = new Set(['b', 'd']);
    const plan = planReplicas(pref, (n) => !down.has(n));
    expect(plan.targets).toEqual([{ node: 'a' }, { node: 'e', hintFor: 'b' }, { node: 'c' }]);
    expect(plan.uncovered).toEqual([]);
  });

  it('leaves primaries uncovered when no fallback is left (S <= N)', () => {
    const plan = planReplicas({ primaries: ['a', 'b', 'c'], fallbacks: [] }, (n) => n !== 'c');
    expect(plan.targets).toEqual([{ node: 'a' }, { node: 'b' }]);
    expect(plan.uncovered).toEqual(['c']);
  });

  it('property: targets are distinct, reachable, at most N, and every primary is a target, stood in for, or uncovered', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }), (s, n, up) => {
        const nodes = Array.from({ length: s }, (_, i) => `n${i}`);
        const primaries = nodes.slice(0, Math.min(n, s));
        const fallbacks = nodes.slice(primaries.length);
        const reachable = (x: string) => up[Number(x.slice(1))]!;
        const plan = planReplicas({ primaries, fallbacks }, reachable);
        const ids = plan.targets.map((t) => t.node);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.every(reachable)).toBe(true);
        expect(ids.length).toBeLessThanOrEqual(primaries.length);
        for (const p of primaries) {
          const covered = ids.includes(p) || plan.targets.some((t) => t.hintFor === p) || plan.uncovered.includes(p);
          expect(covered).toBe(true);
        }
      }),
    );
  });
});

describe('WriteQuorum', () => {
  const targets = [{ node: 'a' }, { node: 'e', hintFor: 'b' }, { node: 'c' }];

  it('succeeds at W acks, counting each node once', () => {
    const q = new WriteQuorum(targets, 2);
    expect(q.ack('a')).toBe('pending');
    expect(q.ack('a')).toBe('pending');
    expect(q.ack('x')).toBe('pending');
    expect(q.ack('c')).toBe('succeeded');
    expect(q.settled).toBe(false);
    q.expire();
    expect(q.state).toBe('succeeded');
    expect(q.unconfirmedPrimaries()).toEqual(['b']);
  });

  it('fails as soon as W can no longer be reached', () => {
    const q = new WriteQuorum(targets, 3);
    q.ack('a');
    expect(q.fail('c')).toBe('failed');
    expect(q.unconfirmedPrimaries()).toEqual(['b', 'c']);
  });

  it('fails at once when there are fewer targets than W', () => {
    expect(new WriteQuorum([{ node: 'a' }], 2).state).toBe('failed');
  });

  it('property: state is succeeded iff at least W distinct targets acked before failures made it impossible', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'e', 'c', 'z'), fc.boolean()), { maxLength: 12 }),
        (w, events) => {
          const q = new WriteQuorum(targets, w);
          const acked = new Set<string>();
          const failed = new Set<string>();
          let expected: string = 'pending';
          for (const [node, ok] of events) {
            if (node === 'z') continue;
            if (ok) {
              q.ack(node);
              if (!failed.has(node)) acked.add(node);
            } else {
              q.fail(node);
              if (!acked.has(node)) failed.add(node);
            }
            if (expected === 'pending' && acked.size >= w) expected = 'succeeded';
            if (expected === 'pending' && targets.length - failed.size < w) expected = 'failed';
          }
          expect(q.state).toBe(expected);
        },
      ),
    );
  });
});

describe('ReadQuorum', () => {
  // Versions are sets of strings; merge is union, so staleness is "missing something".
  const ops = {
    merge: (a: Set<string>, b: Set<string>) => new Set([...a, ...b]),
    equals: (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x)),
    empty: () => new Set<string>(),
  };

  it('asks R first, answers with the merge after R replies, and names stale replicas', () => {
    const q = new ReadQuorum(['a', 'b', 'c'], 2, ops);
    expect(q.initial()).toEqual(['a', 'b']);
    expect(q.reply('a', new Set(['v1']))).toBe('pending');
    expect(q.reply('b', new Set(['v1', 'v2']))).toBe('succeeded');
    expect([...q.result].sort()).toEqual(['v1', 'v2']);
    expect(q.staleReplicas()).toEqual(['a']);
    expect(q.settled).toBe(true);
  });

  it('brings in the next target when one fails, and fails when R is out of reach', () => {
    const q = new ReadQuorum(['a', 'b', 'c'], 2, ops);
    q.initial();
    expect(q.fail('a')).toEqual(['c']);
    q.reply('c', undefined);
    expect(q.fail('b')).toEqual([]);
    expect(q.state).toBe('failed');
  });

  it('speculates one more target when slow, and ignores replies from nodes never asked', () => {
    const q = new ReadQuorum(['a', 'b', 'c'], 1, ops);
    expect(q.initial()).toEqual(['a']);
    expect(q.reply('b', new Set(['x']))).toBe('pending');
    expect(q.speculate()).toEqual(['b']);
    expect(q.reply('b', new Set(['x']))).toBe('succeeded');
    expect(q.speculate()).toEqual([]);
  });

  it('asks every target at once with contactAll, and a missing copy is stale', () => {
    const q = new ReadQuorum(['a', 'b', 'c'], 2, ops, true);
    expect(q.initial()).toEqual(['a', 'b', 'c']);
    q.reply('a', new Set(['v']));
    q.reply('b', new Set(['v']));
    q.reply('c', undefined);
    expect(q.staleReplicas()).toEqual(['c']);
  });

  it('expire fails a pending read', () => {
    const q = new ReadQuorum(['a', 'b'], 2, ops);
    q.initial();
    q.reply('a', new Set());
    expect(q.expire()).toBe('failed');
  });
});

describe('PeerHealth', () => {
  const cfg = { latencyAlpha: 0.5, failuresToOpen: 2, openMs: 100, openMaxMs: 400 };

  it('opens after consecutive failures, lets one trial through after the open period, and closes on success', () => {
    const h = new PeerHealth(cfg, 10);
    h.failure('p', 0);
    expect(h.allow('p', 1)).toBe(true);
    h.failure('p', 1);
    expect(h.allow('p', 50)).toBe(false);
    expect(h.allow('p', 101)).toBe(true);
    expect(h.allow('p', 102)).toBe(false);
    h.success('p', 3);
    expect(h.allow('p', 103)).toBe(true);
    expect(h.isOpen('p', 103)).toBe(false);
  });

  it('doubles the open period when the trial fails, up to the cap', () => {
    const h = new PeerHealth(cfg, 10);
    h.failure('p', 0);
    h.failure('p', 0);
    expect(h.allow('p', 100)).toBe(true);
    h.failure('p', 100);
    expect(h.allow('p', 299)).toBe(false);
    expect(h.allow('p', 300)).toBe(true);
    h.failure('p', 300);
    expect(h.allow('p', 699)).toBe(false);
    expect(h.allow('p', 700)).toBe(true);
    h.failure('p', 700);
    expect(h.allow('p', 1099)).toBe(false);
    expect(h.allow('p', 1100)).toBe(true);
  });

  it('keeps an EWMA of latency and bounds the peers it tracks', () => {
    const h = new PeerHealth(cfg, 1);
    h.success('p', 10);
    h.success('p', 20);
    expect(h.latency('p')).toBe(15);
    h.success('q', 5);
    expect(h.latency('q')).toBe(0);
  });
});

describe('parseQuorum', () => {
  it('parses the forms of CONTRACT.md', () => {
    expect(parseQuorum(undefined, 3, 2, 'w')).toBe(2);
    expect(parseQuorum('one', 3, 2, 'w')).toBe(1);
    expect(parseQuorum('quorum', 5, 2, 'w')).toBe(3);
    expect(parseQuorum('all', 3, 2, 'r')).toBe(3);
    expect(parseQuorum('3', 3, 2, 'r')).toBe(3);
    expect(parseQuorum(1, 3, 2, 'r')).toBe(1);
  });

  it.each(['0', '4', '-1', '1.5', 'two', '', ' 1', '01x', 'ALL'])('refuses %j with BAD_REQUEST', (v) => {
    let err: unknown;
    try {
      parseQuorum(v, 3, 2, 'w');
    } catch (e) {
      err = e;
    }
    expect(isShoalError(err, 'BAD_REQUEST')).toBe(true);
  });
});

describe('PeerHealth.reset', () => {
  it('closes an open circuit at once (the failure detector saw the peer back)', () => {
    const h = new PeerHealth({ latencyAlpha: 0.5, failuresToOpen: 1, openMs: 1_000, openMaxMs: 8_000 }, 10);
    h.failure('p', 0);
    expect(h.isOpen('p', 10)).toBe(true);
    h.reset('p');
    expect(h.isOpen('p', 10)).toBe(false);
    expect(h.allow('p', 10)).toBe(true);
    // And the next failure starts from the first open period again.
    h.failure('p', 20);
    expect(h.isOpen('p', 1_019)).toBe(true);
    expect(h.isOpen('p', 1_021)).toBe(false);
  });
});
