import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys, objectDigest, PartitionTree, sameDigest } from '../../src/antientropy/index.js';
import type { DVVSet } from '../../src/vclock/index.js';
import { digestArb, digestOf, keyArb, shapeArb, type KeyMap } from './helpers.js';

/** Every hash of every level, as one byte string per level. */
function allHashes(t: PartitionTree): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let level = 0; level <= t.depth; level++) {
    out.push(t.levelHashes(level, Array.from({ length: t.width(level) }, (_, i) => i)));
  }
  return out;
}

const opArb = fc.tuple(keyArb, fc.option(digestArb, { nil: undefined }));

describe('PartitionTree shape', () => {
  it('has depth ceil(log2(segments)/log2(fanout)) and widths growing by the fanout', () => {
    const t = new PartitionTree({ segments: 1024, fanout: 32 });
    expect(t.depth).toBe(2);
    expect([t.width(0), t.width(1), t.width(2)]).toEqual([1, 32, 1024]);
    const u = new PartitionTree({ segments: 512, fanout: 16 });
    expect(u.depth).toBe(3);
    expect([u.width(0), u.width(1), u.width(2), u.width(3)]).toEqual([1, 2, 32, 512]);
    expect(u.children(0, 0)).toEqual({ first: 0, count: 2 });
    expect(u.children(2, 3)).toEqual({ first: 48, count: 16 });
    expect(new PartitionTree({ segments: 1, fanout: 2 }).depth).toBe(0);
  });

  it('refuses shapes that are not powers of two', () => {
    expect(() => new PartitionTree({ segments: 1000 })).toThrow(/powers of two/);
    expect(() => new PartitionTree({ fanout: 1 })).toThrow(/powers of two/);
    expect(() => new PartitionTree({ segments: 2 ** 21 })).toThrow(/powers of two/);
  });

  it('refuses levels and indices outside the tree as BAD_REQUEST', () => {
    const t = new PartitionTree({ segments: 16, fanout: 4 });
    expect(() => t.levelHashes(3, [0])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => t.levelHashes(1, [4])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => t.levelHashes(2, [-1])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('puts a key in the segment given by the low bits of its ring hash, the same for every tree of that size', () => {
    const a = new PartitionTree({ segments: 64, fanout: 4 });
    const b = new PartitionTree({ segments: 64, fanout: 8 });
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const s = a.segmentOf(`key-${i}`);
      expect(s).toBe(b.segmentOf(`key-${i}`));
      seen.add(s);
    }
    expect(seen.size).toBe(64);
  });
});

describe('PartitionTree hashes', () => {
  it('an empty tree hashes to zero, one key changes the root, removing it restores zero', () => {
    const t = new PartitionTree();
    expect(t.rootHash()).toEqual(new Uint8Array(8));
    t.update('k', undefined, digestOf(1));
    expect(t.rootHash()).not.toEqual(new Uint8Array(8));
    expect(t.size).toBe(1);
    t.update('k', digestOf(1), undefined);
    expect(t.rootHash()).toEqual(new Uint8Array(8));
    expect(t.size).toBe(0);
  });

  it('a changed digest changes the hashes of exactly the key\'s segment and its ancestors', () => {
    const t = new PartitionTree({ segments: 256, fanout: 4 });
    for (let i = 0; i < 500; i++) t.update(`k${i}`, undefined, digestOf(i));
    const before = allHashes(t);
    t.update('k42', digestOf(42), digestOf(9999));
    const after = allHashes(t);
    const seg = t.segmentOf('k42');
    for (let level = 0; level <= t.depth; level++) {
      const ancestor = seg >>> (2 * (t.depth - level));
      for (let i = 0; i < t.width(level); i++) {
        const same = sameDigest(before[level]!.subarray(8 * i, 8 * i + 8), after[level]!.subarray(8 * i, 8 * i + 8));
        expect(same, `level ${level} node ${i}`).toBe(i !== ancestor);
      }
    }
  });

  it('any sequence of updates gives the same hashes as building from the final key set', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(opArb, { maxLength: 200 }), (shape, ops) => {
        const t = new PartitionTree(shape);
        const state: KeyMap = new Map();
        for (const [k, d] of ops) {
          t.update(k, state.get(k), d);
          if (d === undefined) state.delete(k);
          else state.set(k, d);
        }
        const built = PartitionTree.build(state.entries(), shape);
        expect(allHashes(t)).toEqual(allHashes(built));
        expect(t.size).toBe(state.size);
      }),
      { numRuns: 120 },
    );
  });

  it('is independent of the order keys arrive in', () => {
    fc.assert(
      fc.property(
        shapeArb,
        fc.uniqueArray(fc.tuple(keyArb, digestArb), { selector: ([k]) => k, maxLength: 100 }),
        fc.infiniteStream(fc.nat()),
        (shape, entries, rnd) => {
          const shuffled = [...entries];
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = rnd.next().value % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          expect(allHashes(PartitionTree.build(entries, shape))).toEqual(allHashes(PartitionTree.build(shuffled, shape)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('distinguishes the same keys with one digest changed, at every tree size', () => {
    fc.assert(
      fc.property(
        shapeArb,
        fc.uniqueArray(fc.tuple(keyArb, digestArb), { selector: ([k]) => k, minLength: 1, maxLength: 60 }),
        fc.nat(),
        digestArb,
        (shape, entries, i, d) => {
          const victim = entries[i % entries.length]!;
          fc.pre(!sameDigest(victim[1], d));
          const other = entries.map(([k, v]): [string, Uint8Array] => (k === victim[0] ? [k, d] : [k, v]));
          expect(PartitionTree.build(entries, shape).rootHash()).not.toEqual(PartitionTree.build(other, shape).rootHash());
        },
      ),
    );
  });

  it('clear() empties the tree and leaves it ready', () => {
    const t = PartitionTree.build([['a', digestOf(1)], ['b', digestOf(2)]]);
    t.clear();
    expect(t.ready).toBe(true);
    expect(t.rootHash()).toEqual(new Uint8Array(8));
  });
});

describe('PartitionTree rebuild', () => {
  it('is not ready while rebuilding and equals the built tree afterwards', () => {
    const t = PartitionTree.build([['x', digestOf(5)]]);
    t.beginRebuild();
    expect(t.ready).toBe(false);
    t.feed('a', digestOf(1));
    t.feed('b', digestOf(2));
    t.finishRebuild();
    expect(t.ready).toBe(true);
    expect(t.rootHash()).toEqual(PartitionTree.build([['a', digestOf(1)], ['b', digestOf(2)]]).rootHash());
  });

  /**
   * A store with writes whose tree updates arrive late (in commit order), and a paging scan
   * without a snapshot that reads the store as it is at each step. Whatever the
   * interleaving, the rebuilt tree equals the tree of the final store.
   */
  it('gives the exact tree of the store under concurrent writes and a paging scan', () => {
    // Few distinct keys, so writes often hit keys the scan has read or is about to.
    const smallKey = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', '\u{10000}'), minLength: 1, maxLength: 2 });
    type Cmd =
      | { kind: 'write'; key: string; d: Uint8Array | undefined }
      | { kind: 'deliver' }
      | { kind: 'read' }
      | { kind: 'feed' };
    const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), key: smallKey, d: fc.option(digestArb, { nil: undefined }) }),
      fc.constant({ kind: 'deliver' as const }),
      fc.constant({ kind: 'read' as const }),
      fc.constant({ kind: 'feed' as const }),
    );
    fc.assert(
      fc.property(
        shapeArb,
        fc.dictionary(smallKey, digestArb, { maxKeys: 20 }),
        fc.array(cmdArb, { maxLength: 150 }),
        (shape, initial, cmds) => {
          const store: KeyMap = new Map(Object.entries(initial));
          const tree = PartitionTree.build(store.entries(), shape);
          const inFlight: Array<[string, Uint8Array | undefined, Uint8Array | undefined]> = [];
          // The scan reads a page (the store as it is then), and feeds it later: writes
          // may commit and report in between, as with an async store.
          let page: Array<[string, Uint8Array]> = [];
          let cursor: string | undefined;
          let scanDone = false;
          tree.beginRebuild();
          const read = (): void => {
            if (page.length > 0 || scanDone) return;
            const next = [...store.keys()].filter((k) => cursor === undefined || compareKeys(k, cursor) > 0).sort(compareKeys).slice(0, 3);
            if (next.length === 0) scanDone = true;
            page = next.map((k) => [k, store.get(k)!]);
            if (next.length > 0) cursor = next[next.length - 1];
          };
          const feed = (): void => {
            for (const [k, d] of page.splice(0)) tree.feed(k, d);
          };
          for (const c of cmds) {
            if (c.kind === 'write') {
              const before = store.get(c.key);
              if (c.d === undefined) store.delete(c.key);
              else store.set(c.key, c.d);
              inFlight.push([c.key, before, c.d]);
            } else if (c.kind === 'deliver') {
              const u = inFlight.shift();
              if (u !== undefined) tree.update(u[0], u[1], u[2]);
            } else if (c.kind === 'read') read();
            else feed();
          }
          while (!scanDone) {
            read();
            feed();
          }
          for (const u of inFlight.splice(0)) tree.update(u[0], u[1], u[2]);
          tree.finishRebuild();
          expect(allHashes(tree)).toEqual(allHashes(PartitionTree.build(store.entries(), shape)));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('refuses feed() outside a rebuild', () => {
    expect(() => new PartitionTree().feed('a', digestOf(1))).toThrow(/outside a rebuild/);
  });
});

describe('objectDigest', () => {
  const v = (s: string) => new TextEncoder().encode(s);
  const obj: DVVSet = {
    entries: [
      { id: 'a#1', n: 3, values: [{ value: v('x'), ts: 10 }], ts: 10 },
      { id: 'b#1', n: 1, values: [{ value: null, ts: 11 }], ts: 11 },
    ],
    anon: [],
  };

  it('ignores timestamps: same versions, different bookkeeping, same digest', () => {
    const other: DVVSet = {
      entries: [
        { id: 'a#1', n: 3, values: [{ value: v('x'), ts: 99 }], ts: 500 },
        { id: 'b#1', n: 1, values: [{ value: null, ts: 98 }], ts: 600 },
      ],
      anon: [],
    };
    expect(objectDigest(other)).toEqual(objectDigest(obj));
    expect(objectDigest(obj)).toHaveLength(8);
  });

  it('changes with any actor id, counter or value count', () => {
    const variants: DVVSet[] = [
      { ...obj, entries: [{ ...obj.entries[0]!, id: 'a#2' }, obj.entries[1]!] },
      { ...obj, entries: [{ ...obj.entries[0]!, n: 4 }, obj.entries[1]!] },
      { ...obj, entries: [{ ...obj.entries[0]!, values: [] }, obj.entries[1]!] },
      { ...obj, entries: [obj.entries[0]!] },
      { entries: [{ id: 'a#1b', n: 1, values: [], ts: 0 }], anon: [] },
      { entries: [{ id: 'a#1', n: 1, values: [], ts: 0 }], anon: [] },
      { ...obj, anon: [{ value: v('y'), ts: 1 }] },
      { ...obj, anon: [{ value: null, ts: 1 }] },
    ];
    const digests = new Set([obj, ...variants].map((o) => Buffer.from(objectDigest(o)).toString('hex')));
    expect(digests.size).toBe(variants.length + 1);
  });

  it('handles long actor ids and many entries', () => {
    const big: DVVSet = {
      entries: Array.from({ length: 200 }, (_, i) => ({ id: `${'n'.repeat(250)}#${String(i).padStart(3, '0')}`, n: 2 ** 40 + i, values: [], ts: 0 })),
      anon: [],
    };
    const d = objectDigest(big);
    expect(d).toHaveLength(8);
    expect(objectDigest(big)).toEqual(d);
  });
});

describe('compareKeys', () => {
  it('orders keys as their UTF-8 bytes do (the store\'s order)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const c = compareKeys(a, b);
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        expect(Math.sign(c)).toBe(bytes);
      }),
      { numRuns: 2000 },
    );
    expect(compareKeys('\u{ffff}', '\u{10000}')).toBeLessThan(0);
    expect('\u{ffff}' < '\u{10000}').toBe(false);
  });
});
