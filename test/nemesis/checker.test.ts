import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSet, decodeSibling, parseHistory, type HistoryOp } from './checker.js';
import { describeGrudge, grudgeFor, nftScript, sidesOf } from './nft.js';

function add(process: number, element: number, type: HistoryOp['type'], key = 'k', extra: Partial<HistoryOp> = {}): HistoryOp {
  return { process, type, f: 'add', value: { key, element }, time: 0, ...extra };
}

describe('set checker', () => {
  it('passes a history whose acknowledged adds are all present', () => {
    const h = [add(0, 1, 'invoke'), add(0, 1, 'ok'), add(1, 2, 'invoke'), add(1, 2, 'info'), add(0, 3, 'invoke'), add(0, 3, 'fail')];
    const r = checkSet(h, [{ key: 'k', siblings: [[1], [1, 2]] }]);
    expect(r.valid).toBe(true);
    expect(r).toMatchObject({ attempted: 3, acknowledged: 1, failed: 1, indeterminate: 1, recovered: 1, lost: [], unexpected: [] });
    expect(r.availability).toBeCloseTo(1 / 3);
  });

  it('reports a lost acknowledged add, an unexpected element and a duplicate', () => {
    const h = [add(0, 1, 'invoke'), add(0, 1, 'ok'), add(0, 2, 'invoke'), add(0, 2, 'ok')];
    const r = checkSet(h, [{ key: 'k', siblings: [[2, 2, 9]] }]);
    expect(r.valid).toBe(false);
    expect(r.lost).toEqual([{ key: 'k', element: 1 }]);
    expect(r.unexpected).toEqual([{ key: 'k', element: 9 }]);
    expect(r.duplicates).toEqual([{ key: 'k', element: 2 }]);
  });

  it('treats an element under the wrong key as unexpected there and lost where it belongs', () => {
    const h = [add(0, 1, 'invoke', 'a'), add(0, 1, 'ok', 'a')];
    const r = checkSet(h, [{ key: 'b', siblings: [[1]] }]);
    expect(r.lost).toEqual([{ key: 'a', element: 1 }]);
    expect(r.unexpected).toEqual([{ key: 'b', element: 1 }]);
  });

  it('flags a failed add that is present (the client said its PUT was never sent)', () => {
    const r = checkSet([add(0, 1, 'invoke'), add(0, 1, 'fail')], [{ key: 'k', siblings: [[1]] }]);
    expect(r.recoveredFailed).toBe(1);
    expect(r.valid).toBe(false);
  });

  it('flags malformed histories: a completion without invoke, two pending ops on one process', () => {
    expect(checkSet([add(0, 1, 'ok')], []).problems.length).toBeGreaterThan(0);
    expect(checkSet([add(0, 1, 'invoke'), add(0, 2, 'invoke')], []).problems.length).toBeGreaterThan(0);
  });

  it('tallies availability by fault and side', () => {
    const h = [
      add(0, 1, 'invoke', 'k', { fault: 'halves', side: 'minority' }),
      add(0, 1, 'fail', 'k', { fault: 'halves', side: 'minority' }),
      add(1, 2, 'invoke', 'k', { fault: 'halves', side: 'majority' }),
      add(1, 2, 'ok', 'k', { fault: 'halves', side: 'majority' }),
    ];
    const r = checkSet(h, [{ key: 'k', siblings: [[2]] }]);
    expect(r.availabilityBy).toEqual({ halves: { minority: { ok: 0, total: 1 }, majority: { ok: 1, total: 1 } } });
  });

  it('property: lost is exactly the acknowledged elements the final read dropped', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ type: fc.constantFrom('ok', 'fail', 'info') as fc.Arbitrary<'ok' | 'fail' | 'info'>, kept: fc.boolean() }), { maxLength: 60 }), (ops) => {
        const h: HistoryOp[] = [];
        const final: number[] = [];
        ops.forEach((o, el) => {
          h.push(add(0, el, 'invoke'), add(0, el, o.type));
          if (o.kept && o.type !== 'fail') final.push(el);
        });
        const r = checkSet(h, [{ key: 'k', siblings: [final] }]);
        const expected = ops.flatMap((o, el) => (o.type === 'ok' && !o.kept ? [el] : []));
        expect(r.lost.map((l) => l.element)).toEqual(expected);
        expect(r.unexpected).toEqual([]);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('reads JSON lines and decodes stored siblings', () => {
    expect(parseHistory('{"process":0,"type":"invoke","f":"add","value":{"key":"k","element":1},"time":3}\n\n')).toHaveLength(1);
    expect(decodeSibling(Buffer.from('[1,2,3]').toString('base64'))).toEqual([1, 2, 3]);
    expect(decodeSibling(Buffer.from('oops').toString('base64'))).toEqual([Number.NaN]);
  });
});

describe('partition shapes', () => {
  it('halves cut a minority of 2 from a majority of 3, both ways', () => {
    const g = grudgeFor('halves', 5, 0);
    expect(describeGrudge(g)).toBe('2>0 3>0 4>0 2>1 3>1 4>1 0>2 1>2 0>3 1>3 0>4 1>4');
    expect([...sidesOf(g, 5).values()]).toEqual(['minority', 'minority', 'majority', 'majority', 'majority']);
  });

  it('a bridge node hears everyone; the halves do not hear each other', () => {
    const g = grudgeFor('bridge', 5, 0);
    expect(g.get(2)).toBeUndefined();
    expect([...g.get(0)!].sort()).toEqual([3, 4]);
    expect([...g.get(4)!].sort()).toEqual([0, 1]);
    expect([...sidesOf(g, 5).values()]).toEqual(['majority', 'majority', 'majority', 'majority', 'majority']);
  });

  it('asymmetric: one node hears nobody while everyone hears it', () => {
    const g = grudgeFor('asymmetric', 5, 3);
    expect([...g.keys()]).toEqual([3]);
    expect([...g.get(3)!].sort()).toEqual([0, 1, 2, 4]);
  });

  it('isolate rotates with the turn', () => {
    expect([...grudgeFor('isolate', 5, 2).get(2)!].sort()).toEqual([0, 1, 3, 4]);
  });

  it('renders drop rules on address pairs and an empty table to heal', () => {
    const script = nftScript(grudgeFor('isolate', 3, 0), (i) => `127.0.0.${i + 1}`);
    expect(script).toContain('ip saddr 127.0.0.2 ip daddr 127.0.0.1 drop');
    expect(script).toContain('ip saddr 127.0.0.1 ip daddr 127.0.0.3 drop');
    expect(script.match(/drop/g)).toHaveLength(4);
    expect(nftScript(new Map(), () => 'x')).not.toContain('drop');
  });
});
