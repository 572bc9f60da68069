// Test support: a fast-check arbitrary for realistic dvvset histories. Several replicas
// (actors) take writes from several clients, each client writing with the context of its
// own last read (or none: a blind write), and replicas sync pairwise in between. Every
// value is unique, and the generator records each write's dot and context so properties
// can check results against the ground truth of who saw what.
import fc from 'fast-check';
import {
  dottedSiblings,
  empty,
  fresh,
  join,
  sync,
  update,
  type DVVSet,
  type Sibling,
  type VersionVector,
} from '../../src/vclock/index.js';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export const ACTORS = ['r0', 'r1', 'r2'] as const;

export function val(name: string, ts = 0): Sibling {
  return { value: utf8.encode(name), ts };
}

export function tomb(ts = 0): Sibling {
  return { value: null, ts };
}

export function name(s: Sibling): string {
  return s.value === null ? '<tomb>' : utf8d.decode(s.value);
}

/** A readable summary: [[id, n, [value names newest first]], ...] plus anonymous names. */
export function show(c: DVVSet): { e: Array<[string, number, string[]]>; a: string[] } {
  return { e: c.entries.map((e) => [e.id, e.n, e.values.map(name)]), a: c.anon.map(name) };
}

/** Value names with their dots, in dot order: "name@id:n". */
export function dotted(c: DVVSet): string[] {
  return dottedSiblings(c).map((d) => `${name(d.sibling)}@${d.id}:${d.n}`);
}

export type Op =
  | { kind: 'put'; replica: number; client: number; blind: boolean; del: boolean }
  | { kind: 'read'; replica: number; client: number }
  | { kind: 'sync'; from: number; to: number };

export interface Write {
  readonly name: string;
  readonly dot: readonly [string, number];
  readonly context: VersionVector;
}

export interface History {
  /** Every replica state after every step (the initial empty states included). */
  readonly states: DVVSet[];
  /** The final state of each replica. */
  readonly finals: DVVSet[];
  readonly writes: Write[];
  /** Simulated time of the last step. */
  readonly now: number;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      replica: fc.nat({ max: ACTORS.length - 1 }),
      client: fc.nat({ max: 2 }),
      blind: fc.boolean(),
      del: fc.boolean(),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('read' as const), replica: fc.nat({ max: ACTORS.length - 1 }), client: fc.nat({ max: 2 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), from: fc.nat({ max: ACTORS.length - 1 }), to: fc.nat({ max: ACTORS.length - 1 }) }), weight: 2 },
);

export function runHistory(ops: readonly Op[]): History {
  const replicas: DVVSet[] = ACTORS.map(() => empty());
  const contexts: VersionVector[] = [[], [], []];
  const states: DVVSet[] = [...replicas];
  const writes: Write[] = [];
  let now = 1_000;
  for (const op of ops) {
    now += 10;
    if (op.kind === 'put') {
      const label = `w${writes.length}`;
      const sibling: Sibling = op.del ? { value: null, ts: now + writes.length / 1000 } : val(label, now);
      const context = op.blind ? [] : (contexts[op.client] as VersionVector);
      const actor = ACTORS[op.replica] as string;
      const next = update(fresh(context, sibling), replicas[op.replica] as DVVSet, actor, now);
      replicas[op.replica] = next;
      const entry = next.entries.find((e) => e.id === actor);
      writes.push({ name: op.del ? `<tomb>` : label, dot: [actor, entry?.n ?? -1], context });
    } else if (op.kind === 'read') {
      contexts[op.client] = join(replicas[op.replica] as DVVSet);
    } else {
      replicas[op.to] = sync(replicas[op.to] as DVVSet, replicas[op.from] as DVVSet);
    }
    states.push(...replicas);
  }
  return { states, finals: replicas, writes, now };
}

export const historyArb: fc.Arbitrary<History> = fc.array(opArb, { minLength: 1, maxLength: 40 }).map(runHistory);

/** A history plus `k` states picked from it. */
export function statesArb(k: number): fc.Arbitrary<{ h: History; picked: DVVSet[] }> {
  return historyArb.chain((h) =>
    fc.array(fc.nat({ max: h.states.length - 1 }), { minLength: k, maxLength: k }).map((idx) => ({
      h,
      picked: idx.map((i) => h.states[i] as DVVSet),
    })),
  );
}

export function covers(vv: VersionVector, id: string, n: number): boolean {
  for (const [i, m] of vv) if (i === id) return m >= n;
  return false;
}
