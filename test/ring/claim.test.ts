import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { claim, diff, spacingFeasible, spacingViolations } from '../../src/ring/index.js';
import type { RingState } from '../../src/ring/index.js';
import { isShoalError } from '../../src/errors/index.js';

const QS = [8, 16, 32, 64, 128, 256] as const;
const NS = [1, 2, 3, 5] as const;

function counts(ring: RingState): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of ring.owners) out.set(o, (out.get(o) ?? 0) + 1);
  return out;
}

function expectBalanced(ring: RingState, members: readonly string[]): void {
  const q = ring.partitions;
  const s = members.length;
  const c = counts(ring);
  for (const o of c.keys()) expect(members).toContain(o);
  for (const m of members) {
    const k = c.get(m) ?? 0;
    expect(k).toBeGreaterThanOrEqual(Math.floor(q / s));
    expect(k).toBeLessThanOrEqual(Math.ceil(q / s));
  }
  expect(ring.owners.length).toBe(q);
}

const ids = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `node-${String(from + i).padStart(3, '0')}`);

/**
 * Brute force: can the holes (partitions whose owner is not in `members`) be given to
 * members so that every member ends at floor/ceil and no two partitions closer than n
 * share an owner? Backtracking; only for small rings.
 */
function spacedCompletionExists(owners: readonly string[], members: readonly string[], n: number): boolean {
  const q = owners.length;
  const s = members.length;
  const lo = Math.floor(q / s);
  const hi = Math.ceil(q / s);
  const work = owners.map((o) => (members.includes(o) ? o : undefined));
  const c = new Map<string, number>(members.map((m) => [m, 0]));
  for (const o of work) if (o !== undefined) c.set(o, c.get(o)! + 1);
  const holes = work.flatMap((o, p) => (o === undefined ? [p] : []));
  const clashes = (p: number, m: string): boolean => {
    for (let d = 1; d < n; d++) if (work[(p + d) % q] === m || work[(p - d + q) % q] === m) return true;
    return false;
  };
  const go = (j: number): boolean => {
    if (j === holes.length) return members.every((m) => c.get(m)! >= lo);
    const p = holes[j]!;
    for (const m of members) {
      if (c.get(m)! >= hi || clashes(p, m)) continue;
      work[p] = m;
      c.set(m, c.get(m)! + 1);
      if (go(j + 1)) return true;
      c.set(m, c.get(m)! - 1);
      work[p] = undefined;
    }
    return false;
  };
  return go(0);
}

describe('claim: a fresh ring', () => {
  it('is balanced, and spaced exactly when ceil(Q/S) * N <= Q; otherwise only Q mod S wrap pairs clash', () => {
    for (const q of QS) {
      for (const n of NS) {
        for (let s = 1; s <= 40; s++) {
          const members = ids(s);
          const ring = claim(undefined, members, { partitions: q, n, claimant: 'node-000' });
          expectBalanced(ring, members);
          const v = spacingViolations(ring.owners, n);
          const feasible = spacingFeasible(q, s, n);
          expect(feasible).toBe(Math.ceil(q / s) * n <= q);
          if (feasible) expect(v, `Q=${q} N=${n} S=${s}`).toBe(0);
          else expect(v, `Q=${q} N=${n} S=${s}`).toBeGreaterThan(0);
          if (!feasible && s >= n) expect(v, `Q=${q} N=${n} S=${s}`).toBe(q % s);
        }
      }
    }
  });

  it('at S = N = 3, Q = 64 breaks spacing only at the wrap-around', () => {
    const ring = claim(undefined, ['a', 'b', 'c'], { partitions: 64, n: 3, claimant: 'a' });
    expect(spacingViolations(ring.owners, 3)).toBe(1);
    expect(ring.owners[63]).toBe(ring.owners[0]);
    expect(spacingViolations(ring.owners.slice(0, 63), 3)).toBe(0);
  });

  it('is round-robin when S divides Q, and independent of member order and duplicates', () => {
    const ring = claim(undefined, ['c', 'a', 'b', 'd', 'a'], { partitions: 16, n: 3, claimant: 'a' });
    expect(ring.owners.join('')).toBe('abcd'.repeat(4));
    expect(ring.version).toBe(1);
    expect(ring.claimant).toBe('a');
  });

  it('rejects bad input with INVALID_CONFIG', () => {
    const bad: Array<() => unknown> = [
      () => claim(undefined, [], { partitions: 8, n: 3, claimant: 'a' }),
      () => claim(undefined, ['a'], { partitions: 12, n: 3, claimant: 'a' }),
      () => claim(undefined, ['a'], { partitions: 8, n: 0, claimant: 'a' }),
      () => claim(claim(undefined, ['a'], { partitions: 8, n: 1, claimant: 'a' }), ['a'], { partitions: 16, n: 1, claimant: 'a' }),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isShoalError(err, 'INVALID_CONFIG')).toBe(true);
    }
  });
});

type Step = { join: true } | { join: false; pick: number };

const scenario = fc.record({
  q: fc.constantFrom(...QS),
  n: fc.constantFrom(...NS),
  start: fc.integer({ min: 1, max: 9 }),
  steps: fc.array(
    fc.oneof(fc.constant<Step>({ join: true }), fc.nat({ max: 1000 }).map((pick): Step => ({ join: false, pick }))),
    { minLength: 1, maxLength: 6 },
  ),
});

describe('claim: joins and leaves', () => {
  it('keeps balance, moves only what it must, and keeps spacing where promised', () => {
    fc.assert(
      fc.property(scenario, ({ q, n, start, steps }) => {
        let members = ids(start);
        let next = start;
        let ring = claim(undefined, members, { partitions: q, n, claimant: members[0]! });
        for (const step of steps) {
          const before = ring;
          const s = members.length;
          const spacedBefore = spacingViolations(before.owners, n) === 0;
          const violationsBefore = spacingViolations(before.owners, n);
          let joiner: string | undefined;
          let leaver: string | undefined;
          if (step.join || s === 1) {
            joiner = ids(1, next++)[0]!;
            members = [...members, joiner];
          } else {
            leaver = members[step.pick % s]!;
            members = members.filter((m) => m !== leaver);
          }
          ring = claim(before, members, { partitions: q, n, claimant: members[0]! });
          expect(ring.version).toBe(before.version + 1);
          expectBalanced(ring, members);
          const moved = diff(before, ring);
          const after = members.length;
          if (joiner !== undefined) {
            // Item 3: only to the new node, and floor(Q/(S+1)) <= 1.5 * Q/(S+1) of them.
            for (const t of moved) expect(t.to).toBe(joiner);
            expect(moved.length).toBe(Math.floor(q / after));
            expect(moved.length).toBeLessThanOrEqual((1.5 * q) / after);
            const v = spacingViolations(ring.owners, n);
            expect(v).toBeLessThanOrEqual(violationsBefore);
            if (spacedBefore && spacingFeasible(q, after, n)) expect(v, `join Q=${q} N=${n} S=${after}`).toBe(0);
          } else {
            // Item 4: exactly the leaver's partitions, to remaining nodes.
            for (const t of moved) {
              expect(t.from).toBe(leaver);
              expect(members).toContain(t.to);
            }
            expect(moved.length).toBe(before.owners.filter((o) => o === leaver).length);
          }
          // Deterministic: same inputs (in any order) give the same ring.
          const again = claim(before, [...members].reverse(), { partitions: q, n, claimant: members[0]! });
          expect(again.owners).toEqual(ring.owners);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('a leave from a spaced ring stays spaced exactly when some assignment of the leaver\'s partitions does (brute force, Q <= 32)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 32),
        fc.constantFrom(2, 3, 5),
        fc.integer({ min: 2, max: 9 }),
        fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 4 }),
        (q, n, start, picks) => {
          let members = ids(start + picks.length);
          let ring = claim(undefined, members, { partitions: q, n, claimant: 'x' });
          for (const pick of picks) {
            const leaver = members[pick % members.length]!;
            const remaining = members.filter((m) => m !== leaver);
            const spaced = spacingViolations(ring.owners, n) === 0;
            const next = claim(ring, remaining, { partitions: q, n, claimant: 'x' });
            if (spaced) {
              const possible = spacedCompletionExists(ring.owners, remaining, n);
              expect(spacingViolations(next.owners, n) === 0, `Q=${q} N=${n} S=${remaining.length}`).toBe(possible);
            }
            ring = next;
            members = remaining;
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('documents the unavoidable case: ABCABCAB with N = 2 when C leaves', () => {
    const ring: RingState = { partitions: 8, owners: [...'ABCABCAB'], version: 7, claimant: 'A' };
    expect(spacingViolations(ring.owners, 2)).toBe(0);
    expect(spacedCompletionExists(ring.owners, ['A', 'B'], 2)).toBe(false);
    const next = claim(ring, ['A', 'B'], { partitions: 8, n: 2, claimant: 'A' });
    expect(diff(ring, next).map((t) => t.partition)).toEqual([2, 5]);
    expectBalanced(next, ['A', 'B']);
    // Movement wins: one clash (2 pairs at most) rather than re-striping the ring.
    expect(spacingViolations(next.owners, 2)).toBeGreaterThan(0);
    expect(spacingViolations(next.owners, 2)).toBeLessThanOrEqual(2);
  });

  it('a join repairs the wrap-around clash when the ring becomes spaceable (S = N = 3 -> 4, Q = 64)', () => {
    const three = claim(undefined, ['a', 'b', 'c'], { partitions: 64, n: 3, claimant: 'a' });
    const four = claim(three, ['a', 'b', 'c', 'd'], { partitions: 64, n: 3, claimant: 'a' });
    expect(spacingViolations(four.owners, 3)).toBe(0);
    expect(diff(three, four).every((t) => t.to === 'd')).toBe(true);
  });

  it('any membership change moves the least possible: departed owners, excess over ceil, lack under floor', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...QS),
        fc.constantFrom(...NS),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        (q, n, start, joins, leaves) => {
          const before = claim(undefined, ids(start), { partitions: q, n, claimant: 'x' });
          const kept = ids(start).slice(Math.min(leaves, start - 1));
          const members = [...kept, ...ids(joins, 100)];
          const after = claim(before, members, { partitions: q, n, claimant: 'x' });
          expectBalanced(after, members);
          const s = members.length;
          const c = counts(before);
          const holes = before.owners.filter((o) => !members.includes(o)).length;
          let excess = 0;
          let lack = 0;
          for (const m of members) {
            excess += Math.max(0, (c.get(m) ?? 0) - Math.ceil(q / s));
            lack += Math.max(0, Math.floor(q / s) - (c.get(m) ?? 0));
          }
          const moved = diff(before, after);
          expect(moved.length).toBe(Math.max(holes + excess, lack));
          // Nobody both gives and receives.
          const givers = new Set(moved.map((t) => t.from));
          for (const t of moved) expect(givers.has(t.to)).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });
});
