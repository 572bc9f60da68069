// Table tests: the examples from Riak's dvvset.erl test suite (join, update, sync, less),
// with actor names and values as strings. update(new(V), a) there is our
// update(fresh([], V), empty(), 'a', now).
import { describe, expect, it } from 'vitest';
import {
  descends,
  discard,
  empty,
  equals,
  fresh,
  isTombstone,
  join,
  lessOrEqual,
  liveSiblings,
  siblingCount,
  siblings,
  sync,
  update,
  type DVVSet,
  type VersionVector,
} from '../../src/vclock/index.js';
import { name, show, tomb, val } from './history.js';

const T = 5_000;
const put = (ctx: VersionVector, v: string, local: DVVSet, actor: string): DVVSet => update(fresh(ctx, val(v)), local, actor, T);
const entries = (...e: Array<[string, number, string[]]>) => ({ e, a: [] as string[] });
/** Builds a state by hand, as dvvset.erl's tests do. */
const state = (...e: Array<[string, number, string[]]>): DVVSet => ({
  entries: e.map(([id, n, vs]) => ({ id, n, values: vs.map((v) => val(v)), ts: 0 })),
  anon: [],
});
/** Strict causal order, as dvvset:less/2. */
const less = (a: DVVSet, b: DVVSet) => lessOrEqual(a, b) && !lessOrEqual(b, a);

describe('dvvset.erl join_test', () => {
  it('join gives the causal context', () => {
    const A = fresh([], val('v1'));
    const A1 = update(A, empty(), 'a', T);
    const B = fresh(join(A1), val('v2'));
    const B1 = update(B, A1, 'b', T);
    expect(join(A)).toEqual([]);
    expect(join(A1)).toEqual([['a', 1]]);
    expect(join(B1)).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
  });
});

describe('dvvset.erl update_test', () => {
  const A0 = put([], 'v1', empty(), 'a');
  const A1 = put(join(A0), 'v2', A0, 'a');
  const A2 = put(join(A1), 'v3', A1, 'b');
  const A3 = put(join(A0), 'v4', A1, 'b');
  const A4 = put(join(A0), 'v5', A1, 'a');
  it.each([
    ['A0', A0, entries(['a', 1, ['v1']])],
    ['A1: a write with the full context replaces', A1, entries(['a', 2, ['v2']])],
    ['A2: a write through another actor replaces too', A2, entries(['a', 2, []], ['b', 1, ['v3']])],
    ['A3: a stale context keeps the unseen value', A3, entries(['a', 2, ['v2']], ['b', 1, ['v4']])],
    ['A4: same actor, stale context: both kept in one entry', A4, entries(['a', 3, ['v5', 'v2']])],
  ])('%s', (_label, got, want) => {
    expect(show(got)).toEqual(want);
  });

  it('the new value takes ts now on its entry, older entries keep theirs', () => {
    const x = update(fresh([], val('x', 1)), empty(), 'a', 100);
    const y = update(fresh(join(x), val('y', 2)), x, 'b', 200);
    expect(y.entries.map((e) => [e.id, e.ts])).toEqual([
      ['a', 100],
      ['b', 200],
    ]);
  });
});

describe('dvvset.erl sync_test', () => {
  const X = state(['x', 1, []]);
  const A = put([], 'v1', empty(), 'a');
  const Y = put([], 'v2', empty(), 'b');
  const A1 = put(join(A), 'v2', empty(), 'a');
  const A3 = put(join(A1), 'v3', empty(), 'b');
  const A4 = put(join(A1), 'v3', empty(), 'c');
  const W = state(['a', 1, []]);
  const Z = state(['a', 2, ['v2', 'v1']]);

  it('a side that saw and superseded a dot removes it', () => {
    expect(show(sync(W, Z))).toEqual(entries(['a', 2, ['v2']]));
  });
  it.each([
    ['W,Z', W, Z],
    ['A,A1', A, A1],
    ['A4,A3', A4, A3],
    ['X,A', X, A],
    ['A,Y', A, Y],
  ])('sync(%s) is commutative', (_l, p, q) => {
    expect(equals(sync(p, q), sync(q, p))).toBe(true);
  });
  it.each([
    ['A4,A3', A4, A3, entries(['a', 2, []], ['b', 1, ['v3']], ['c', 1, ['v3']])],
    ['X,A', X, A, entries(['a', 1, ['v1']], ['x', 1, []])],
    ['A,Y', A, Y, entries(['a', 1, ['v1']], ['b', 1, ['v2']])],
  ])('sync(%s)', (_l, p, q, want) => {
    expect(show(sync(p, q))).toEqual(want);
  });
});

describe('dvvset.erl less_test', () => {
  const A = put([], 'v1', empty(), 'a');
  const B = put(join(A), 'v2', empty(), 'a');
  const B2 = put(join(A), 'v2', empty(), 'b');
  const B3 = put(join(A), 'v2', empty(), 'z');
  const C = put(join(B), 'v3', A, 'c');
  const D = put(join(C), 'v4', B2, 'd');
  it.each([
    ['A<B', A, B, true],
    ['A<C', A, C, true],
    ['B<C', B, C, true],
    ['B<D', B, D, true],
    ['B2<D', B2, D, true],
    ['A<D', A, D, true],
    ['B2<C', B2, C, false],
    ['B<B2', B, B2, false],
    ['B2<B', B2, B, false],
    ['A<A', A, A, false],
    ['C<C', C, C, false],
    ['D<B2', D, B2, false],
    ['B3<D', B3, D, false],
  ])('%s is %s', (_l, p, q, want) => {
    expect(less(p, q)).toBe(want);
  });
  it('lessOrEqual is reflexive', () => {
    expect(lessOrEqual(C, C)).toBe(true);
  });
});

describe('values, siblings and tombstones', () => {
  it('siblings are ordered by dot: actor id, then counter ascending', () => {
    const s = state(['b', 3, ['b3', 'b2']], ['a', 1, ['a1']]);
    const canonical = { entries: [...s.entries].sort((x, y) => (x.id < y.id ? -1 : 1)), anon: [] };
    expect(siblings(canonical).map(name)).toEqual(['a1', 'b2', 'b3']);
  });
  it('a delete is a tombstone write; tombstone-only state is a tombstone', () => {
    const a = put([], 'v1', empty(), 'a');
    const d = update(fresh(join(a), tomb(T)), a, 'a', T);
    expect(isTombstone(d)).toBe(true);
    expect(liveSiblings(d)).toEqual([]);
    expect(siblingCount(d)).toBe(1);
    expect(isTombstone(empty())).toBe(false);
  });
  it('a delete without context deletes nothing it has not seen', () => {
    const a = put([], 'v1', empty(), 'a');
    const d = update(fresh([], tomb(T)), a, 'b', T);
    expect(isTombstone(d)).toBe(false);
    expect(liveSiblings(d).map(name)).toEqual(['v1']);
    expect(siblingCount(d)).toBe(2);
  });
  it('discard drops covered values and learns the context', () => {
    const s = state(['a', 3, ['a3', 'a2']], ['b', 1, ['b1']]);
    expect(show(discard(s, [['a', 2], ['c', 4]]))).toEqual(entries(['a', 3, ['a3']], ['b', 1, ['b1']], ['c', 4, []]));
    expect(show(discard(s, [['a', 7]]))).toEqual(entries(['a', 7, []], ['b', 1, ['b1']]));
    expect(show(discard(s, []))).toEqual(show(s));
  });
  it('fresh sorts its context and update takes the new dot above both local and context', () => {
    const p = fresh(
      [
        ['b', 1],
        ['a', 4],
      ],
      val('x'),
    );
    expect(p.entries.map((e) => e.id)).toEqual(['a', 'b']);
    const r = update(p, state(['a', 2, ['a2']]), 'a', T);
    expect(show(r)).toEqual(entries(['a', 5, ['x']], ['b', 1, []]));
  });
  it('descends compares vectors pointwise', () => {
    expect(descends([['a', 2], ['b', 1]], [['a', 2]])).toBe(true);
    expect(descends([['a', 2]], [['a', 2], ['b', 1]])).toBe(false);
    expect(descends([['a', 1]], [['a', 2]])).toBe(false);
    expect(descends([], [])).toBe(true);
  });
  it('update refuses a proposal without exactly one value', () => {
    expect(() => update(empty(), empty(), 'a', T)).toThrow(/exactly one/);
  });
  it('inputs are not mutated', () => {
    const a = put([], 'v1', empty(), 'a');
    const before = JSON.stringify(show(a));
    put(join(a), 'v2', a, 'a');
    sync(a, put([], 'v3', empty(), 'b'));
    discard(a, [['a', 1]]);
    expect(JSON.stringify(show(a))).toBe(before);
  });
});

describe('anonymous values (proposals)', () => {
  it('sync unions them in canonical order, so it stays commutative and idempotent', () => {
    const p = fresh([['a', 1]], val('x', 2));
    const q = fresh([['b', 1]], val('y', 1));
    expect(equals(sync(p, q), sync(q, p))).toBe(true);
    expect(sync(p, q).anon.map(name)).toEqual(['y', 'x']);
    expect(equals(sync(p, p), p)).toBe(true);
  });
});
