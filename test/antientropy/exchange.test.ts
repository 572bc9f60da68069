import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerLevels, compareKeys, Exchange, KeysPage, PartitionTree, type AeReply } from '../../src/antientropy/index.js';
import { ShoalError } from '../../src/errors/index.js';
import { digestOf, expectedDiff, mapPairArb, runExchange, shapeArb, treeOf, type KeyMap } from './helpers.js';

function side(map: KeyMap, shape: { segments: number; fanout: number } = { segments: 1024, fanout: 32 }) {
  return { map, tree: treeOf(map, shape) };
}

describe('Exchange', () => {
  it('finds nothing between equal trees in one round trip', () => {
    const m: KeyMap = new Map(Array.from({ length: 500 }, (_, i) => [`k${i}`, digestOf(i)]));
    const r = runExchange(side(m), side(new Map(m)));
    expect(r).toMatchObject({ done: true, keys: [], complete: true, segmentsDiffering: 0 });
    expect(r.peerRequests).toBe(1);
    expect(r.selfRequests).toBe(0);
    expect(r.error).toBeUndefined();
  });

  it('finds one changed key by descending only into its branch', () => {
    const a: KeyMap = new Map(Array.from({ length: 2000 }, (_, i) => [`k${i}`, digestOf(i)]));
    const b = new Map(a);
    b.set('k1234', digestOf(-1));
    const r = runExchange(side(a), side(b));
    expect(r.keys).toEqual(['k1234']);
    expect(r.complete).toBe(true);
    expect(r.segmentsDiffering).toBe(1);
    // Root, one level-1 node's 32 children... : root + level 1 + level 2 + keys from the peer, then from self.
    expect(r.peerRequests).toBe(4);
    expect(r.selfRequests).toBe(1);
  });

  it('outputs exactly the keys that differ or exist on one side only, for any two maps and tree shapes', () => {
    fc.assert(
      fc.property(mapPairArb, shapeArb, ({ a, b }, shape) => {
        const r = runExchange({ map: a, tree: treeOf(a, shape) }, { map: b, tree: treeOf(b, shape) });
        expect(r.error).toBeUndefined();
        expect(r.complete).toBe(true);
        expect([...r.keys].sort(compareKeys)).toEqual(expectedDiff(a, b));
        expect(new Set(r.keys).size).toBe(r.keys.length);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same answer with tiny request, batch and page limits', () => {
    fc.assert(
      fc.property(
        mapPairArb,
        shapeArb,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        ({ a, b }, shape, hashesPerRequestMax, segmentsPerRequestMax, pageLimit) => {
          const r = runExchange(
            { map: a, tree: treeOf(a, shape) },
            { map: b, tree: treeOf(b, shape) },
            { hashesPerRequestMax, segmentsPerRequestMax, pageLimit },
          );
          expect(r.error).toBeUndefined();
          expect([...r.keys].sort(compareKeys)).toEqual(expectedDiff(a, b));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('pages: a segment with more keys than a page takes several requests, each within the limit', () => {
    const a: KeyMap = new Map();
    const b: KeyMap = new Map(Array.from({ length: 50 }, (_, i) => [`k${i}`, digestOf(i)]));
    const shape = { segments: 1, fanout: 2 };
    const local = { map: a, tree: treeOf(a, shape) };
    const remote = { map: b, tree: treeOf(b, shape) };
    const ex = new Exchange(local.tree, 0);
    let step = ex.start();
    const afters: Array<string | undefined> = [];
    while (!step.done) {
      const msg = step.msg;
      let reply: AeReply;
      if (msg.t === 'ae_levels') reply = answerLevels((step.to === 'peer' ? remote : local).tree, msg);
      else {
        const s = step.to === 'peer' ? remote : local;
        if (step.to === 'peer') afters.push(msg.after);
        const page = new KeysPage(s.tree, msg, 7);
        for (const k of [...s.map.keys()].sort(compareKeys)) {
          if (page.after !== undefined && compareKeys(k, page.after) <= 0) continue;
          if (!page.offer(k, () => s.map.get(k)!)) break;
        }
        reply = page.reply();
        if (reply.t === 'ae_keys_ok') expect(reply.keys.length).toBeLessThanOrEqual(7);
      }
      step = ex.onReply(reply);
    }
    expect(afters).toHaveLength(Math.ceil(50 / 7));
    expect(afters[0]).toBeUndefined();
    expect(step.keys.sort(compareKeys)).toEqual([...b.keys()].sort(compareKeys));
  });

  it('stops early at keysPerExchangeMax, and repeated exchanges with repair converge', () => {
    fc.assert(
      fc.property(mapPairArb, fc.integer({ min: 1, max: 5 }), ({ a, b }, max) => {
        const shape = { segments: 16, fanout: 4 };
        const expected = expectedDiff(a, b);
        const local = { map: new Map(a), tree: treeOf(a, shape) };
        const remote = { map: b, tree: treeOf(b, shape) };
        const repaired = new Set<string>();
        let complete = false;
        for (let round = 0; round <= expected.length && !complete; round++) {
          const r = runExchange(local, remote, { keysPerExchangeMax: max });
          expect(r.keys.length).toBeLessThanOrEqual(max);
          if (!r.complete) expect(r.keys.length).toBe(max);
          complete = r.complete;
          // "Repair": make the local side equal to the remote for those keys.
          for (const k of r.keys) {
            expect(repaired.has(k)).toBe(false);
            repaired.add(k);
            const before = local.map.get(k);
            const after = remote.map.get(k);
            if (after === undefined) local.map.delete(k);
            else local.map.set(k, after);
            local.tree.update(k, before, after);
          }
        }
        expect(complete).toBe(true);
        expect(expectedDiff(local.map, remote.map)).toEqual([]);
        expect([...repaired].sort(compareKeys)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('ends with the peer\'s error when the peer\'s tree is being rebuilt', () => {
    const m: KeyMap = new Map([['a', digestOf(1)]]);
    const remote = side(m);
    remote.tree.beginRebuild();
    const r = runExchange(side(m), remote);
    expect(r.complete).toBe(false);
    expect(r.error).toBeInstanceOf(ShoalError);
    expect(r.error?.code).toBe('UNAVAILABLE');
  });

  it('does not start while the local tree is being rebuilt', () => {
    const t = new PartitionTree();
    t.beginRebuild();
    const step = new Exchange(t, 0).start();
    expect(step).toMatchObject({ done: true, complete: false });
    if (step.done) expect(step.error?.code).toBe('UNAVAILABLE');
  });

  it('refuses a peer whose tree has another shape (CONFIG_MISMATCH)', () => {
    const m: KeyMap = new Map([['a', digestOf(1)]]);
    const r = runExchange(side(m, { segments: 1024, fanout: 32 }), side(m, { segments: 512, fanout: 32 }));
    expect(r.error?.code).toBe('CONFIG_MISMATCH');
    expect(() => answerLevels(new PartitionTree({ segments: 1024, fanout: 16 }), { t: 'ae_levels', p: 0, width: 1024, fan: 32, level: 0, idx: [0] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_MISMATCH' }),
    );
  });

  it('fails cleanly on nonsense answers instead of looping', () => {
    const t = PartitionTree.build([['a', digestOf(1)]], { segments: 4, fanout: 2 });
    const bad: Array<{ name: string; replies: (seg: number) => AeReply[] }> = [
      { name: 'short hashes', replies: () => [{ t: 'ae_levels_ok', hashes: new Uint8Array(3) }] },
      { name: 'wrong type', replies: () => [{ t: 'ae_keys_ok', keys: [], more: false }] },
      {
        name: 'more without keys',
        replies: () => [
          { t: 'ae_levels_ok', hashes: new Uint8Array(8) },
          { t: 'ae_levels_ok', hashes: new Uint8Array(16) },
          { t: 'ae_levels_ok', hashes: new Uint8Array(16) },
          { t: 'ae_keys_ok', keys: [], more: true },
        ],
      },
      {
        name: 'keys out of order',
        replies: () => [
          { t: 'ae_levels_ok', hashes: new Uint8Array(8) },
          { t: 'ae_levels_ok', hashes: new Uint8Array(16) },
          { t: 'ae_levels_ok', hashes: new Uint8Array(16) },
          { t: 'ae_keys_ok', keys: [['a', digestOf(1)], ['a', digestOf(1)]], more: false },
        ],
      },
    ];
    for (const { name, replies } of bad) {
      const ex = new Exchange(t, 0, { hashesPerRequestMax: 2 });
      let step = ex.start();
      for (const reply of replies(t.segmentOf('a'))) {
        if (step.done) break;
        step = ex.onReply(reply);
      }
      expect(step.done, name).toBe(true);
      if (step.done) expect(step.error?.code, name).toBe('DECODE');
    }
  });

  it('passes a peer error code through', () => {
    const ex = new Exchange(new PartitionTree(), 3);
    ex.start();
    const r = ex.onReply({ t: 'err', code: 'OVERLOADED', msg: 'busy' });
    expect(r).toMatchObject({ done: true, complete: false });
    if (r.done) expect(r.error?.code).toBe('OVERLOADED');
    expect(() => ex.onReply({ t: 'err', code: 'X', msg: '' })).toThrow(/while done/);
  });
});

describe('KeysPage', () => {
  const tree = new PartitionTree({ segments: 4, fanout: 2 });
  const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`).sort(compareKeys);

  it('holds only keys of the asked segments, computes digests only for them, and knows `more` exactly', () => {
    const seg = tree.segmentOf('k00');
    const inSeg = keys.filter((k) => tree.segmentOf(k) === seg);
    const page = new KeysPage(tree, { t: 'ae_keys', p: 0, width: 4, segs: [seg] }, inSeg.length);
    let digests = 0;
    for (const k of keys) if (!page.offer(k, () => (digests++, digestOf(1)))) break;
    const r = page.reply();
    expect(r.keys.map(([k]) => k)).toEqual(inSeg);
    expect(digests).toBe(inSeg.length);
    expect(r.more).toBe(false);

    const short = new KeysPage(tree, { t: 'ae_keys', p: 0, width: 4, segs: [seg] }, inSeg.length - 1);
    let stopped = false;
    for (const k of keys) if (!short.offer(k, () => digestOf(1))) { stopped = true; break; }
    expect(stopped).toBe(true);
    expect(short.reply().more).toBe(true);
    expect(short.reply().keys).toHaveLength(inSeg.length - 1);
  });

  it('refuses out-of-range segments, too many segments, and another width', () => {
    expect(() => new KeysPage(tree, { t: 'ae_keys', p: 0, width: 4, segs: [4] })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => new KeysPage(tree, { t: 'ae_keys', p: 0, width: 4, segs: Array.from({ length: 65 }, () => 0) })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
    expect(() => new KeysPage(tree, { t: 'ae_keys', p: 0, width: 8, segs: [0] })).toThrow(expect.objectContaining({ code: 'CONFIG_MISMATCH' }));
  });

  it('answers even while the tree is being rebuilt (it needs only the shape)', () => {
    const t = new PartitionTree({ segments: 4, fanout: 2 });
    t.beginRebuild();
    const page = new KeysPage(t, { t: 'ae_keys', p: 0, width: 4, segs: [0, 1, 2, 3] });
    expect(page.offer('a', () => digestOf(1))).toBe(true);
    expect(page.reply().keys).toHaveLength(1);
    expect(() => answerLevels(t, { t: 'ae_levels', p: 0, width: 4, fan: 2, level: 0, idx: [0] })).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
  });
});
