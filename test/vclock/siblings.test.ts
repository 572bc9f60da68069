// Sibling behaviour: no explosion under stale read-modify-write, blind writes all kept,
// and the hard cap's resolver merge.
import { describe, expect, it } from 'vitest';
import { siblingsHardMax, siblingsWarnMax } from '../../src/config/index.js';
import {
  capSiblings,
  empty,
  fresh,
  join,
  newestResolver,
  resolve,
  siblingCount,
  siblings,
  sync,
  update,
  type DVVSet,
  type Resolver,
  type VersionVector,
} from '../../src/vclock/index.js';
import { dotted, name, val } from './history.js';

describe('sibling explosion does not happen', () => {
  it('two writers alternating 100 read-modify-writes each with stale contexts, one replica: at most 2 siblings', () => {
    let s = empty();
    let ctxA: VersionVector = [];
    let ctxB: VersionVector = [];
    let t = 0;
    let most = 0;
    for (let i = 0; i < 100; i++) {
      // A writes with the context of its previous read, then reads; B likewise. B's
      // context is always from before A's latest write, so each of B's writes is concurrent with it.
      s = update(fresh(ctxA, val(`a${i}`, ++t)), s, 'r0', t);
      most = Math.max(most, siblingCount(s));
      ctxA = join(s);
      s = update(fresh(ctxB, val(`b${i}`, ++t)), s, 'r0', t);
      most = Math.max(most, siblingCount(s));
      ctxB = join(s);
    }
    expect(most).toBe(2);
    expect(siblings(s).map(name).sort()).toEqual(['a99', 'b99']);
    expect(s.entries).toHaveLength(1);
  });

  it('the same through two replicas that sync after every write: at most 2 siblings on each', () => {
    let r0 = empty();
    let r1 = empty();
    let ctxA: VersionVector = [];
    let ctxB: VersionVector = [];
    let t = 0;
    let most = 0;
    for (let i = 0; i < 100; i++) {
      r0 = update(fresh(ctxA, val(`a${i}`, ++t)), r0, 'r0', t);
      ctxA = join(r0);
      r1 = update(fresh(ctxB, val(`b${i}`, ++t)), r1, 'r1', t);
      ctxB = join(r1);
      // replication lags by one step: r1 learns r0's write only after B's write went in
      r1 = sync(r1, r0);
      r0 = sync(r0, r1);
      most = Math.max(most, siblingCount(r0), siblingCount(r1));
    }
    expect(most).toBe(2);
    expect(siblings(r0).map(name).sort()).toEqual(['a99', 'b99']);
  });

  it('concurrent blind writes through any replicas are all kept', () => {
    const replicas = ['r0', 'r1', 'r2'];
    const states: DVVSet[] = replicas.map(() => empty());
    for (let i = 0; i < 30; i++) {
      const r = i % 3;
      states[r] = update(fresh([], val(`w${i}`, i)), states[r]!, replicas[r]!, i);
    }
    const all = states.reduce(sync);
    expect(siblingCount(all)).toBe(30);
    expect(new Set(siblings(all).map(name)).size).toBe(30);
    // and one write with the merged context supersedes them all
    const resolved = update(fresh(join(all), val('final', 99)), all, 'r1', 99);
    expect(siblings(resolved).map(name)).toEqual(['final']);
  });
});

describe('resolvers and the hard sibling cap', () => {
  it('the limits are ordered: warn below hard', () => {
    expect(siblingsWarnMax).toBeLessThan(siblingsHardMax);
  });

  it('newestResolver keeps the newest ts, ties going to the later sibling in dot order', () => {
    expect(name(newestResolver([val('a', 5), val('b', 9), val('c', 1)]))).toBe('b');
    expect(name(newestResolver([val('a', 5), val('b', 5)]))).toBe('b');
    expect(newestResolver([val('a', 1), { value: null, ts: 2 }]).value).toBeNull();
  });

  it('resolve applies a resolver to the siblings in dot order', () => {
    let s = empty();
    s = update(fresh([], val('x', 1)), s, 'r1', 1);
    s = update(fresh([], val('y', 2)), s, 'r0', 2);
    const seen: string[] = [];
    const spy: Resolver = (list) => {
      seen.push(...list.map(name));
      return list[0]!;
    };
    expect(name(resolve(s, spy)!)).toBe('y');
    expect(seen).toEqual(['y', 'x']); // r0's dot sorts before r1's
    expect(resolve(empty())).toBeUndefined();
  });

  function blind(count: number): DVVSet {
    let s = empty();
    for (let i = 0; i < count; i++) s = update(fresh([], val(`w${i}`, 1_000 + (i * 7919) % count)), s, `r${i % 3}`, 1_000 + i);
    return s;
  }

  it('leaves a state at or under the cap unchanged', () => {
    const s = blind(siblingsHardMax);
    expect(capSiblings(s, 5_000, 'r0', newestResolver, siblingsHardMax)).toBe(s);
  });

  it('beyond the cap merges all siblings into one new event that supersedes them everywhere', () => {
    const s = blind(siblingsHardMax + 1);
    const capped = capSiblings(s, 5_000, 'r1', newestResolver, siblingsHardMax);
    expect(siblingCount(capped)).toBe(1);
    // the newest ts among the siblings won
    const newest = siblings(s).reduce((x, y) => (y.ts >= x.ts ? y : x));
    expect(siblings(capped)[0]).toBe(newest);
    // its dot is r1's next counter, and its entry's ts is now
    const r1 = s.entries.find((e) => e.id === 'r1')!;
    expect(dotted(capped)).toEqual([`${name(newest)}@r1:${r1.n + 1}`]);
    expect(capped.entries.find((e) => e.id === 'r1')!.ts).toBe(5_000);
    // a replica still holding every old sibling converges to the merged value alone
    expect(siblings(sync(s, capped))).toEqual([newest]);
    // a write the merge had not seen stays a sibling of it
    const concurrent = update(fresh([], val('late', 1)), s, 'r2', 6_000);
    expect(siblings(sync(concurrent, capped)).map(name).sort()).toEqual([name(newest), 'late'].sort());
  });

  it('also merges when the siblings exceed a byte budget, but never a single sibling', () => {
    let s = empty();
    s = update(fresh([], { value: new Uint8Array(600), ts: 1 }), s, 'r0', 1);
    s = update(fresh([], { value: new Uint8Array(600), ts: 2 }), s, 'r1', 2);
    const capped = capSiblings(s, 10, 'r0', newestResolver, siblingsHardMax, 1_000);
    expect(siblingCount(capped)).toBe(1);
    expect(siblings(capped)[0]!.ts).toBe(2);
    expect(capSiblings(capped, 11, 'r0', newestResolver, siblingsHardMax, 100)).toBe(capped);
  });
});
