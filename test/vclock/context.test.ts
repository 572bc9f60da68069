// Context tokens: roundtrip, canonical form, and strict refusal of anything malformed.
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextEntriesMax, contextTokenBytesMax } from '../../src/config/index.js';
import { isShoalError } from '../../src/errors/index.js';
import {
  base64urlDecode,
  base64urlEncode,
  decodeContext,
  empty,
  encodeContext,
  fresh,
  join,
  readAnswer,
  update,
  type VersionVector,
} from '../../src/vclock/index.js';

const cbor = new Encoder({ useRecords: false });
/** A token with format byte `version` around arbitrary CBOR bytes. */
const raw = (body: Uint8Array, version = 1): string => base64urlEncode(Uint8Array.from([version, ...body]));
const rawOf = (value: unknown, version = 1): string => raw(cbor.encode(value), version);

function rejects(token: string): string {
  try {
    decodeContext(token);
  } catch (err) {
    if (isShoalError(err, 'BAD_REQUEST')) return err.message;
    throw err;
  }
  throw new Error(`token ${JSON.stringify(token.slice(0, 80))} was accepted`);
}

const idArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 24 }),
  fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }),
  fc.constantFrom('127.0.0.1:7070#1', 'node-a#0', 'ä#9'),
);
const vvArb: fc.Arbitrary<VersionVector> = fc
  .uniqueArray(fc.tuple(idArb, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), {
    selector: ([id]) => id,
    maxLength: 12,
  })
  .map((pairs) => pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

describe('base64url', () => {
  it('roundtrips any bytes and uses only the URL-safe alphabet without padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = base64urlEncode(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(text.length).toBe(Math.ceil((bytes.length * 4) / 3));
        expect(base64urlDecode(text)).toEqual(bytes);
      }),
    );
  });
  it('matches the RFC 4648 test vectors (url alphabet, no padding)', () => {
    const enc = (s: string) => base64urlEncode(new TextEncoder().encode(s));
    expect(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map(enc)).toEqual(['', 'Zg', 'Zm8', 'Zm9v', 'Zm9vYg', 'Zm9vYmE', 'Zm9vYmFy']);
    expect(base64urlEncode(Uint8Array.from([0xfb, 0xff]))).toBe('-_8');
  });
});

describe('encodeContext / decodeContext', () => {
  it('roundtrips every valid vector', () => {
    fc.assert(
      fc.property(vvArb, (vv) => {
        const token = encodeContext(vv);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeContext(token)).toEqual(vv);
      }),
    );
  });
  it('encodes the empty context as a valid token', () => {
    const token = encodeContext([]);
    expect(token).toBe('AYA');
    expect(decodeContext(token)).toEqual([]);
  });
  it('is compact: three actors fit in well under 100 characters', () => {
    const token = encodeContext([
      ['10.0.0.1:7070#1', 12],
      ['10.0.0.2:7070#1', 9],
      ['10.0.0.3:7070#2', 300],
    ]);
    expect(token.length).toBeLessThan(100);
  });
  it('a mutated token is refused with BAD_REQUEST, or is itself the canonical token of what it decodes to', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .%';
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), ch: fc.constantFrom(...alphabet) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), ch: fc.constantFrom(...alphabet) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    );
    let refused = 0;
    fc.assert(
      fc.property(vvArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (vv, muts) => {
        let token = encodeContext(vv);
        for (const m of muts) {
          const at = m.at % (token.length + 1);
          if (m.kind === 'replace') token = token.slice(0, at) + m.ch + token.slice(at + 1);
          else if (m.kind === 'insert') token = token.slice(0, at) + m.ch + token.slice(at);
          else if (m.kind === 'delete') token = token.slice(0, at) + token.slice(at + 1);
          else token = token.slice(0, at);
        }
        let decoded: VersionVector;
        try {
          decoded = decodeContext(token);
        } catch (err) {
          expect(isShoalError(err, 'BAD_REQUEST')).toBe(true);
          refused++;
          return;
        }
        expect(encodeContext(decoded)).toBe(token);
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(250); // most mutations break the token outright
  });

  it.each<[string, string]>([
    ['empty string', ''],
    ['padding', 'AYA='],
    ['standard base64 characters', 'AY+A'],
    ['whitespace', 'AY A'],
    ['non-ASCII', 'AYä'],
    ['lone 6-bit group', 'AYAAA'],
    ['non-zero trailing bits', 'AYB'],
    ['format byte only', base64urlEncode(Uint8Array.from([1]))],
    ['unknown format version', rawOf([], 2)],
    ['truncated CBOR', raw(Uint8Array.from([0x82, 0x61]))],
    ['trailing bytes after CBOR', raw(Uint8Array.from([0x80, 0x00]))],
    ['not an array', rawOf({ a: 1 })],
    ['a string body', rawOf('a')],
    ['odd number of items', rawOf(['a', 1, 'b'])],
    ['nested pairs instead of flat', rawOf([['a', 1]])],
    ['unsorted ids', rawOf(['b', 1, 'a', 1])],
    ['duplicate ids', rawOf(['a', 1, 'a', 2])],
    ['empty id', rawOf(['', 1])],
    ['zero counter', rawOf(['a', 0])],
    ['negative counter', rawOf(['a', -3])],
    ['fractional counter', rawOf(['a', 1.5])],
    ['unsafe integer counter', rawOf(['a', 2 ** 53])],
    ['64-bit integer counter', raw(Uint8Array.from([0x82, 0x61, 0x61, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))],
    ['string counter', rawOf(['a', '1'])],
    ['null id', rawOf([null, 1])],
    ['non-minimal integer encoding', raw(Uint8Array.from([0x82, 0x61, 0x61, 0x18, 0x01]))],
    ['indefinite-length array', raw(Uint8Array.from([0x9f, 0x61, 0x61, 0x01, 0xff]))],
    ['deeply nested arrays', raw(Uint8Array.from([...new Array<number>(5000).fill(0x81), 0x80]))],
    ['id longer than 256 bytes', rawOf(['x'.repeat(257), 1])],
    ['id of 86 three-byte characters (258 bytes)', rawOf(['\u20ac'.repeat(86), 1])],
    ['id of 65 four-byte characters (260 bytes in 130 UTF-16 units)', rawOf(['\u{1F600}'.repeat(65), 1])],
    ['too many entries', rawOf(Array.from({ length: contextEntriesMax + 1 }, (_, i) => [`n${String(i).padStart(4, '0')}`, 1]).flat())],
    ['too long', 'A'.repeat(contextTokenBytesMax + 1)],
  ])('refuses %s', (_label, token) => {
    expect(rejects(token)).toMatch(/^context token: /);
  });

  it('writes byte for byte what cbor-x writes for the same array, so tokens already handed out stay canonical', () => {
    const counter = fc.oneof(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(23, 24, 255, 256, 65_535, 65_536, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER),
    );
    const longId = fc.oneof(idArb, fc.string({ minLength: 20, maxLength: 85, unit: 'binary' }), fc.string({ minLength: 60, maxLength: 256, unit: 'grapheme-ascii' }));
    const wide: fc.Arbitrary<VersionVector> = fc
      .uniqueArray(fc.tuple(longId, counter), { selector: ([id]) => id, maxLength: 140 })
      .map((pairs) => pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      .filter((vv) => vv.every(([id]) => !/[\uD800-\uDFFF]/u.test(id) && new TextEncoder().encode(id).length <= 256));
    fc.assert(
      fc.property(wide, (vv) => {
        const expected = rawOf(vv.flatMap(([id, n]) => [id, n]));
        if (expected.length > contextTokenBytesMax) expect(() => encodeContext(vv)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
        else expect(encodeContext(vv)).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('base64url-encodes a prefix of a buffer when given its end', () => {
    const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
    for (let end = 0; end <= bytes.length; end++) expect(base64urlEncode(bytes, end)).toBe(base64urlEncode(bytes.slice(0, end)));
  });

  it('accepts ids of exactly 256 bytes of UTF-8, however many characters that is', () => {
    // Sizes around where the check stops encoding short ids (85 UTF-16 units and fewer).
    for (const id of ['x'.repeat(256), '\u20ac'.repeat(85) + 'x', '\u{1F600}'.repeat(64), 'x'.repeat(85)]) {
      expect(decodeContext(encodeContext([[id, 1]]))).toEqual([[id, 1]]);
    }
  });

  it('accepts the largest context allowed', () => {
    const vv = Array.from({ length: contextEntriesMax }, (_, i) => [`n${String(i).padStart(4, '0')}`, 1_000_000] as const);
    expect(decodeContext(encodeContext(vv))).toEqual(vv);
  });

  it('refuses to encode a vector it would not accept back, with INTERNAL', () => {
    const bad: VersionVector[] = [
      [
        ['b', 1],
        ['a', 1],
      ],
      [['a', 0]],
      [['\uD800', 1]],
      Array.from({ length: contextEntriesMax + 1 }, (_, i) => [`n${String(i).padStart(4, '0')}`, 1] as const),
    ];
    for (const vv of bad) {
      expect(() => encodeContext(vv)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    }
  });
});

describe('readAnswer: what a read returns from an object', () => {
  const v = (x: string) => new TextEncoder().encode(x);
  it('nothing known: no siblings, no context', () => {
    expect(readAnswer(empty())).toEqual({ siblings: [], context: null });
  });
  it('live siblings, and the context of the whole object', () => {
    const one = update(fresh([], { value: v('a'), ts: 1 }), empty(), 'n1', 1);
    const two = update(fresh([], { value: v('b'), ts: 2 }), one, 'n2', 2);
    const got = readAnswer(two);
    expect(got.siblings.map((x) => new TextDecoder().decode(x.value!)).sort()).toEqual(['a', 'b']);
    expect(got.context).toBe(encodeContext(join(two)));
  });
  it('a tombstone: no live sibling, but its context (a write with it supersedes the delete)', () => {
    const live = update(fresh([], { value: v('a'), ts: 1 }), empty(), 'n1', 1);
    const dead = update(fresh(join(live), { value: null, ts: 2 }), live, 'n1', 2);
    expect(readAnswer(dead)).toEqual({ siblings: [], context: encodeContext(join(dead)) });
  });
});
