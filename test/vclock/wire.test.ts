// Wire conversion: exact roundtrip of real states, canonical order restored, bad states refused.
import { decode, encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isShoalError } from '../../src/errors/index.js';
import { equals, fresh, fromWire, toWire, type DVVSet } from '../../src/vclock/index.js';
import type { DVVSetWire } from '../../src/wire/index.js';
import { statesArb, val } from './history.js';

function decodeError(w: DVVSetWire): string {
  try {
    fromWire(w);
  } catch (err) {
    if (isShoalError(err, 'DECODE')) return err.message;
    throw err;
  }
  throw new Error('accepted');
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('toWire / fromWire', () => {
  it('roundtrips real states exactly, also through CBOR', () => {
    fc.assert(
      fc.property(statesArb(1), ({ picked: [c] }) => {
        expect(equals(fromWire(toWire(c!)), c!)).toBe(true);
        const again = fromWire(decode(encode(toWire(c!))) as DVVSetWire);
        expect(equals(again, c!)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
  it('keeps proposals (anonymous values) and tombstones', () => {
    const p: DVVSet = fresh([['a', 2]], { value: null, ts: 9 });
    expect(toWire(p)).toEqual({ e: [['a', 2, 9, []]], a: [[null, 9]] });
    expect(equals(fromWire(toWire(p)), p)).toBe(true);
  });
  it('re-establishes canonical order of entries and anonymous values', () => {
    const c = fromWire({
      e: [
        ['b', 1, 5, [[bytes('b1'), 5]]],
        ['a', 2, 4, []],
      ],
      a: [
        [bytes('y'), 2],
        [bytes('x'), 1],
        [bytes('x'), 1],
      ],
    });
    expect(c.entries.map((e) => e.id)).toEqual(['a', 'b']);
    expect(c.anon).toEqual([val('x', 1), val('y', 2)]);
  });
  it.each<[string, DVVSetWire]>([
    ['duplicate ids', { e: [['a', 1, 0, []], ['a', 2, 0, []]], a: [] }],
    ['duplicate ids out of order', { e: [['a', 1, 0, []], ['b', 1, 0, []], ['a', 2, 0, []]], a: [] }],
    ['a negative counter', { e: [['a', -1, 0, []]], a: [] }],
    ['a zero counter', { e: [['a', 0, 0, []]], a: [] }],
    ['a fractional counter', { e: [['a', 1.5, 0, []]], a: [] }],
    ['more values than events', { e: [['a', 1, 0, [[null, 0], [null, 1]]]], a: [] }],
    ['an empty id', { e: [['', 1, 0, []]], a: [] }],
    ['a non-finite ts', { e: [['a', 1, Number.NaN, []]], a: [] }],
  ])('refuses %s with DECODE', (_label, w) => {
    expect(decodeError(w)).toMatch(/dvvset/);
  });
});
