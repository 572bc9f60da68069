// Properties over realistic histories (see history.ts): the lattice laws of sync, exact
// supersession by contexts, no value lost by sync, and pruning that never drops a value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dottedSiblings,
  equals,
  fresh,
  join,
  lessOrEqual,
  prune,
  siblings,
  sync,
  update,
  writtenContext,
  type DVVSet,
} from '../../src/vclock/index.js';
import { ACTORS, covers, dotted, historyArb, name, statesArb, val } from './history.js';

const runs = { numRuns: 200 };

describe('sync is a semilattice join over real histories', () => {
  it('commutative (structurally, thanks to canonical form)', () => {
    fc.assert(
      fc.property(statesArb(2), ({ picked: [a, b] }) => {
        expect(equals(sync(a!, b!), sync(b!, a!))).toBe(true);
      }),
      runs,
    );
  });
  it('associative', () => {
    fc.assert(
      fc.property(statesArb(3), ({ picked: [a, b, c] }) => {
        expect(equals(sync(sync(a!, b!), c!), sync(a!, sync(b!, c!)))).toBe(true);
      }),
      runs,
    );
  });
  it('idempotent', () => {
    fc.assert(
      fc.property(statesArb(2), ({ picked: [a, b] }) => {
        expect(equals(sync(a!, a!), a!)).toBe(true);
        const ab = sync(a!, b!);
        expect(equals(sync(ab, b!), ab)).toBe(true);
      }),
      runs,
    );
  });
  it('sync is an upper bound, and b >= a means sync(a, b) holds exactly b`s values', () => {
    fc.assert(
      fc.property(statesArb(2), ({ picked: [a, b] }) => {
        const ab = sync(a!, b!);
        expect(lessOrEqual(a!, ab) && lessOrEqual(b!, ab)).toBe(true);
        if (lessOrEqual(a!, b!)) expect(dotted(ab)).toEqual(dotted(b!));
      }),
      runs,
    );
  });
});

describe('no value is lost by sync', () => {
  it('a value of either side survives unless the other side saw its dot and no longer holds it', () => {
    fc.assert(
      fc.property(statesArb(2), ({ picked: [a, b] }) => {
        const merged = new Set(dotted(sync(a!, b!)));
        const check = (side: DVVSet, other: DVVSet) => {
          const otherHolds = new Set(dotted(other));
          for (const d of dottedSiblings(side)) {
            const key = `${name(d.sibling)}@${d.id}:${d.n}`;
            const superseded = covers(join(other), d.id, d.n) && !otherHolds.has(key);
            expect(merged.has(key)).toBe(!superseded);
          }
        };
        check(a!, b!);
        check(b!, a!);
        // and nothing appears from nowhere
        const either = new Set([...dotted(a!), ...dotted(b!)]);
        for (const k of merged) expect(either.has(k)).toBe(true);
      }),
      runs,
    );
  });

  it('after all replicas sync, exactly the writes no other write`s context covered remain', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const all = h.finals.reduce(sync);
        const expected = h.writes
          .filter((w) => !h.writes.some((o) => covers(o.context, w.dot[0], w.dot[1])))
          .map((w) => `${w.name}@${w.dot[0]}:${w.dot[1]}`)
          .sort();
        expect([...dotted(all)].sort()).toEqual(expected);
      }),
      runs,
    );
  });
});

/** A replica's state, a context read from another replica, and the write of 'NEW' made with it under `actor`. */
const writeArb = fc.tuple(statesArb(2), fc.constantFrom(...ACTORS, 'new-actor')).map(([{ h, picked: [local, seen] }, actor]) => {
  const context = join(seen!);
  return { local: local!, context, actor, result: update(fresh(context, val('NEW', h.now + 1)), local!, actor, h.now + 1) };
});

describe('a write with a context supersedes exactly what the context covers', () => {
  it('covered values go, uncovered values stay, the new value gets the next dot', () => {
    fc.assert(
      fc.property(writeArb, ({ local, context, actor, result }) => {
        const before = dottedSiblings(local);
        const after = new Set(dotted(result));
        for (const d of before) {
          const key = `${name(d.sibling)}@${d.id}:${d.n}`;
          expect(after.has(key)).toBe(!covers(context, d.id, d.n));
        }
        const counterOf = (vv: ReturnType<typeof join>) => vv.find(([id]) => id === actor)?.[1] ?? 0;
        const dot = Math.max(counterOf(join(local)), counterOf(context)) + 1;
        expect(after.has(`NEW@${actor}:${dot}`)).toBe(true);
        expect(after.size).toBe(before.filter((d) => !covers(context, d.id, d.n)).length + 1);
        // the result has seen both the local history and the context
        expect(lessOrEqual(local, result)).toBe(true);
        for (const [id, n] of context) expect(covers(join(result), id, n)).toBe(true);
      }),
      runs,
    );
  });
});

describe("a write's own context (writtenContext)", () => {
  it('is canonical, covers the context and the new dot, and, when the actor had nothing unseen, no value the writer did not see', () => {
    fc.assert(
      fc.property(writeArb, ({ local, context, actor, result }) => {
        const written = writtenContext(context, result, actor);
        // Sorted by id, no duplicates: a token the node can encode and later accept.
        for (let i = 1; i < written.length; i++) expect(written[i - 1]![0] < written[i]![0]).toBe(true);
        for (const [id, n] of context) expect(covers(written, id, n)).toBe(true);
        const dot = result.entries.find((e) => e.id === actor)!.n;
        expect(covers(written, actor, dot)).toBe(true);
        expect(written.length).toBe(new Set([...context.map(([id]) => id), actor]).size);
        // The node picks such an actor (src/node/actors.ts): then the context covers
        // exactly what the writer saw plus its own write, and every other value survives a
        // later write made with it.
        const mine = join(local).find(([id]) => id === actor)?.[1] ?? 0;
        const saw = context.find(([id]) => id === actor)?.[1] ?? 0;
        if (mine <= saw) {
          for (const d of dottedSiblings(result)) {
            if (d.id === actor && d.n === dot) continue;
            expect(covers(written, d.id, d.n)).toBe(covers(context, d.id, d.n));
          }
        }
      }),
      runs,
    );
  });
});

describe('prune', () => {
  // Small limits so generated histories actually get pruned.
  const opts = { smallMax: 1, bigMax: 2, youngMs: 50, oldMs: 200 };

  it('never removes a value, only value-free entries, and is idempotent', () => {
    fc.assert(
      fc.property(statesArb(1), fc.integer({ min: 0, max: 2_000 }), ({ h, picked: [c] }, later) => {
        const now = h.now + later;
        const p = prune(c!, now, opts);
        expect(dotted(p)).toEqual(dotted(c!));
        expect(siblings(p)).toEqual(siblings(c!));
        for (const e of c!.entries) {
          if (e.values.length > 0) expect(p.entries).toContain(e);
        }
        expect(equals(prune(p, now, opts), p)).toBe(true);
      }),
      runs,
    );
  });

  it('a pruned state merged with any other loses nothing the unpruned one would keep', () => {
    fc.assert(
      fc.property(statesArb(2), fc.integer({ min: 0, max: 2_000 }), ({ h, picked: [a, b] }, later) => {
        const p = prune(a!, h.now + later, opts);
        const kept = new Set(dotted(sync(p, b!)));
        for (const k of dotted(sync(a!, b!))) expect(kept.has(k)).toBe(true);
      }),
      runs,
    );
  });

  const clock = (count: number, withValues: number, ts: (i: number) => number): DVVSet => ({
    entries: Array.from({ length: count }, (_, i) => ({
      id: `n${String(i).padStart(3, '0')}`,
      n: 3,
      values: i < withValues ? [val(`v${i}`)] : [],
      ts: ts(i),
    })),
    anon: [],
  });

  it('removes the oldest value-free entries down to bigMax when all are older than youngMs', () => {
    const c = clock(60, 5, (i) => 1_000 + i);
    const p = prune(c, 1_000 + 30_000); // defaults: small 50, big 50, young 20 s, old 1 day
    expect(p.entries.length).toBe(50);
    // the oldest value-free ones (n005..n014) went; the ones with values stayed
    expect(p.entries.map((e) => e.id)).not.toContain('n005');
    expect(p.entries.map((e) => e.id)).not.toContain('n014');
    expect(p.entries.map((e) => e.id)).toContain('n015');
    expect(p.entries.map((e) => e.id)).toContain('n000');
  });
  it('keeps everything while the oldest value-free entry is young', () => {
    const c = clock(60, 0, () => 1_000);
    expect(prune(c, 1_000 + 20_000)).toBe(c);
    expect(prune(c, 1_000 + 20_001).entries.length).toBe(50);
  });
  it('prunes entries older than oldMs down to smallMax even below bigMax', () => {
    const c = clock(40, 0, (i) => (i < 30 ? 0 : 100_000_000));
    const p = prune(c, 100_000_000, { smallMax: 20, bigMax: 50, youngMs: 1_000, oldMs: 86_400_000 });
    expect(p.entries.length).toBe(20);
    expect(p.entries.every((e) => e.ts === 100_000_000 || e.id >= 'n020')).toBe(true);
  });
  it('never prunes entries holding values, even far over the limits', () => {
    const c = clock(80, 80, () => 0);
    expect(prune(c, 1e12)).toBe(c);
  });
  it('never prunes ids in `keep` (a replica keeps its own counter)', () => {
    const c = clock(60, 0, () => 0);
    const p = prune(c, 1e12, { keep: ['n000'] });
    expect(p.entries.length).toBe(50);
    expect(p.entries[0]?.id).toBe('n000');
  });
  it('breaks ts ties by id, so every replica prunes the same entries', () => {
    const c = clock(52, 0, () => 0);
    expect(prune(c, 1e12).entries.map((e) => e.id).slice(0, 2)).toEqual(['n002', 'n003']);
  });
});
