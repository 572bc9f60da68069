// The saved-trees format: an exact round trip, and refusal of anything damaged or made
// for another shape, so a node falls back to rebuilding instead of trusting bad trees.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTrees, encodeTrees, PartitionTree } from '../../src/antientropy/index.js';
import { isShoalError } from '../../src/errors/index.js';
import { digestArb, keyArb } from './helpers.js';

const shape = { segments: 64, fanout: 4 };

describe('saved trees', () => {
  it('round-trips every level hash, key count and build time of any set of trees', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uniqueArray(fc.tuple(keyArb, digestArb), { selector: ([k]) => k, maxLength: 60 })), { maxLength: 6 }), (parts) => {
        const byPartition = new Map(parts.map(([p, entries]) => [p, entries] as const));
        const saved = [...byPartition].map(([partition, entries], i) => ({ partition, builtAtMs: 1_700_000_000_000 + i, tree: PartitionTree.build(entries, shape) }));
        const back = decodeTrees(encodeTrees(saved, shape, 16), shape, 16);
        expect(back.map((s) => [s.partition, s.builtAtMs, s.tree.size])).toEqual(saved.map((s) => [s.partition, s.builtAtMs, s.tree.size]));
        for (const [i, s] of back.entries()) {
          expect(s.tree.ready).toBe(true);
          for (let level = 0; level <= s.tree.depth; level++) {
            const idx = Array.from({ length: s.tree.width(level) }, (_, j) => j);
            expect(s.tree.levelHashes(level, idx)).toEqual(saved[i]!.tree.levelHashes(level, idx));
          }
        }
      }),
    );
  });

  it('a restored tree keeps working: updates on it equal updates on the original', () => {
    const t = PartitionTree.build([['a', new Uint8Array(8).fill(1)], ['b', new Uint8Array(8).fill(2)]], shape);
    const [back] = decodeTrees(encodeTrees([{ partition: 3, builtAtMs: 1, tree: t }], shape, 8), shape, 8);
    for (const x of [t, back!.tree]) x.update('a', new Uint8Array(8).fill(1), new Uint8Array(8).fill(7));
    expect(back!.tree.rootHash()).toEqual(t.rootHash());
    expect(back!.tree.size).toBe(2);
  });

  it('refuses any flipped byte (CORRUPT), truncation, and another shape or partition count (CONFIG_MISMATCH)', () => {
    const t = PartitionTree.build([['k', new Uint8Array(8).fill(5)]], shape);
    const bytes = encodeTrees([{ partition: 1, builtAtMs: 5, tree: t }], shape, 8);
    for (let i = 0; i < bytes.length; i += 97) {
      const bad = bytes.slice();
      bad[i] = bad[i]! ^ 0x10;
      expect(() => decodeTrees(bad, shape, 8)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    }
    expect(() => decodeTrees(bytes.subarray(0, bytes.length - 9), shape, 8)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    expect(() => decodeTrees(bytes, { segments: 64, fanout: 8 }, 8)).toThrow(expect.objectContaining({ code: 'CONFIG_MISMATCH' }));
    expect(() => decodeTrees(bytes, shape, 16)).toThrow(expect.objectContaining({ code: 'CONFIG_MISMATCH' }));
  });

  it('will not save a tree that is being rebuilt or held', () => {
    const t = new PartitionTree(shape);
    t.beginRebuild();
    expect(() => encodeTrees([{ partition: 0, builtAtMs: 0, tree: t }], shape, 8)).toThrow();
    const h = new PartitionTree(shape);
    h.hold();
    let err: unknown;
    try {
      encodeTrees([{ partition: 0, builtAtMs: 0, tree: h }], shape, 8);
    } catch (e) {
      err = e;
    }
    expect(isShoalError(err, 'INTERNAL')).toBe(true);
  });

  it('a held tree is not ready and ignores updates until rebuilt', () => {
    const t = new PartitionTree(shape);
    t.hold();
    t.update('x', undefined, new Uint8Array(8).fill(3));
    expect(t.ready).toBe(false);
    t.beginRebuild();
    t.finishRebuild();
    expect(t.ready).toBe(true);
    expect(t.size).toBe(0);
    expect(t.rootHash()).toEqual(new PartitionTree(shape).rootHash());
  });
});
