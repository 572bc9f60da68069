import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { isShoalError, ShoalError } from '../../src/errors/index.js';
import {
  arr,
  bytes,
  createClientCodec,
  createPeerCodec,
  lit,
  obj,
  opt,
  str,
  tagged,
  uint,
  utf8Length,
  validateDvvSetWire,
  validatePeerMessage,
} from '../../src/wire/index.js';

const MAX = 100;
const peer = createPeerCodec({ maxValueBytes: MAX });
const client = createClientCodec({ maxValueBytes: MAX });
/** Encodes anything (invalid messages included), the way our codecs do. */
const raw = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true });

function failure(fn: () => unknown): ShoalError {
  try {
    fn();
  } catch (err) {
    if (isShoalError(err)) return err;
    throw err;
  }
  throw new Error('expected a ShoalError, got success');
}

const dvvOk = { e: [['a', 2, 5, [[new Uint8Array(1), 5]]]], a: [] };
const rput = (o: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ t: 'rput', p: 1, k: 'key', o, ...extra });

describe('peer frames rejected by schema', () => {
  const cases: Array<[reason: string, msg: unknown, error: string | RegExp]> = [
    ['not a map', [1, 2], 'field (frame): expected map, got array'],
    ['missing t', { seq: 1 }, 'field t: expected message type (text string), got nothing'],
    ['t of the wrong type', { t: 5 }, 'field t: expected message type (text string), got integer'],
    ['unknown t', { t: 'nope' }, /field t: unknown message type "nope"/],
    ['t naming an Object.prototype member', { t: 'toString' }, /unknown message type "toString"/],
    ['t = hasOwnProperty', { t: 'hasOwnProperty' }, /unknown message type/],
    ['unknown field', { t: 'ping', seq: 1, x: 1 }, 'field x: unknown field'],
    ['missing field', { t: 'ping' }, 'field seq: missing'],
    ['negative integer', { t: 'ping', seq: -1 }, 'field seq: expected unsigned integer, got integer'],
    ['fractional number', { t: 'ping', seq: 1.5 }, 'field seq: expected unsigned integer, got number'],
    ['integer above 2^53 (bigint)', { t: 'ping', seq: 2n ** 60n }, 'field seq: expected unsigned integer, got bigint'],
    ['unsafe float integer', { t: 'ping', seq: 2 ** 60 }, 'field seq: expected unsigned integer, got integer'],
    ['NaN', { t: 'ping', seq: NaN }, /field seq: expected unsigned integer/],
    ['string for integer', { t: 'ping', seq: '1' }, 'field seq: expected unsigned integer, got string'],
    ['null for integer', { t: 'ping', seq: null }, 'field seq: expected unsigned integer, got null'],
    ['partition out of range', rput(dvvOk, { p: 16384 }), 'field p: 16384 is outside 0..16383'],
    ['empty key', rput(dvvOk, { k: '' }), 'field k: text string is 0 bytes; expected 1..512'],
    ['key over 512 bytes (ASCII)', rput(dvvOk, { k: 'x'.repeat(513) }), 'field k: text string is 513 bytes; expected 1..512'],
    ['key over 512 bytes (multi-byte)', rput(dvvOk, { k: 'é'.repeat(257) }), 'field k: text string is 514 bytes; expected 1..512'],
    ['key as bytes', rput(dvvOk, { k: new Uint8Array(3) }), 'field k: expected text string, got byte string'],
    ['hint of the wrong type', rput(dvvOk, { h: 1 }), 'field h: expected text string, got integer'],
    ['dvv not a map', rput([]), 'field o: expected map, got array'],
    ['dvv missing a', rput({ e: [] }), 'field o.a: missing'],
    ['entry not an array', rput({ e: [5], a: [] }), 'field o.e[0]: expected array, got integer'],
    ['entry of wrong length', rput({ e: [['a', 1, 1]], a: [] }), 'field o.e[0]: expected 4 items, got 3'],
    ['entry counter not an integer', rput({ e: [['a', 'x', 1, []]], a: [] }), 'field o.e[0][1]: expected unsigned integer, got string'],
    ['entry counter zero', rput({ e: [['a', 0, 1, []]], a: [] }), 'field o.e[0][1]: 0 is outside 1..9007199254740991'],
    ['more values than the counter', rput({ e: [['a', 1, 1, [[null, 1], [null, 2]]]], a: [] }), 'field o.e[0][3]: 2 values but counter is 1'],
    ['empty actor id', rput({ e: [['', 1, 1, []]], a: [] }), 'field o.e[0][0]: text string is 0 bytes; expected 1..256'],
    ['entries out of order', rput({ e: [['b', 1, 1, []], ['a', 1, 1, []]], a: [] }), 'field o.e[1][0]: entries not sorted by id or id repeated'],
    ['repeated actor', rput({ e: [['a', 1, 1, []], ['a', 2, 1, []]], a: [] }), 'field o.e[1][0]: entries not sorted by id or id repeated'],
    ['sibling value of the wrong type', rput({ e: [['a', 1, 1, [['v', 1]]]], a: [] }), 'field o.e[0][3][0][0]: expected byte string, got string'],
    ['sibling timestamp missing', rput({ e: [], a: [[null]] }), 'field o.a[0]: expected 2 items, got 1'],
    ['too many siblings in total', rput({ e: [['a', 1000, 1, Array.from({ length: 1000 }, () => [null, 1])]], a: Array.from({ length: 25 }, () => [null, 1]) }), 'field o: 1025 siblings; the limit is 1024'],
    ['too many siblings in one entry', rput({ e: [['a', 2000, 1, Array.from({ length: 1025 }, () => [null, 1])]], a: [] }), 'field o.e[0][3]: array has 1025 items; the limit is 1024'],
    ['member state unknown', { t: 'gossip', members: [{ id: 'a', addr: 'h:1', inc: 0, hb: 0, st: 'down', n: 3, q: 64 }], ring: { v: 0, c: 'a', o: [] }, sus: [] }, 'field members[0].st: expected one of up, leaving, left'],
    ['member n of 0', { t: 'gossip', members: [{ id: 'a', addr: 'h:1', inc: 0, hb: 0, st: 'up', n: 0, q: 64 }], ring: { v: 0, c: 'a', o: [] }, sus: [] }, 'field members[0].n: 0 is outside 1..15'],
    ['ring owner of wrong type', { t: 'gossip', members: [], ring: { v: 0, c: 'a', o: ['a', null] }, sus: [] }, 'field ring.o[1]: expected text string, got null'],
    ['fput w out of range', { t: 'fput', k: 'k', v: null, ctx: null, w: 16, tmo: 10 }, 'field w: 16 is outside 1..15'],
    ['fput timeout of zero', { t: 'fput', k: 'k', v: null, ctx: null, w: 1, tmo: 0 }, 'field tmo: 0 is outside 1..600000'],
    ['context over 16384 bytes', { t: 'fput_ok', ctx: 'c'.repeat(16385) }, 'field ctx: text string is 16385 bytes; expected 0..16384'],
    ['error code empty', { t: 'err', code: '', msg: '' }, 'field code: text string is 0 bytes; expected 1..64'],
  ];
  for (const [reason, msg, error] of cases) {
    it(reason, () => {
      const e = failure(() => peer.decode(raw.encode(msg)));
      expect(e.code).toBe('DECODE');
      if (typeof error === 'string') expect(e.message).toBe(error);
      else expect(e.message).toMatch(error);
    });
  }

  it('a value over maxValueBytes in a replica write is TOO_LARGE and names the field', () => {
    const e = failure(() => peer.decode(raw.encode(rput({ e: [['a', 1, 1, [[new Uint8Array(MAX + 1), 1]]]], a: [] }))));
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toBe('field o.e[0][3][0][0]: byte string is 101 bytes; the limit is 100');
    expect(e.details).toEqual({ field: 'o.e[0][3][0][0]' });
  });

  it('a value of exactly maxValueBytes is accepted', () => {
    const m = { t: 'fput' as const, k: 'k', v: new Uint8Array(MAX), ctx: null, w: 1, tmo: 1 };
    expect(peer.decode(peer.encode(m))).toMatchObject({ t: 'fput', k: 'k' });
  });

  it('quotes at most 40 characters of a hostile field name', () => {
    const e = failure(() => peer.decode(raw.encode({ t: 'ping', seq: 1, ['x'.repeat(100_000)]: 1 })));
    expect(e.message).toBe(`field ${'x'.repeat(40)}…: unknown field`);
  });

  it('a key of exactly 512 bytes of 4-byte characters is accepted', () => {
    const k = '😀'.repeat(128);
    expect(peer.decode(peer.encode({ t: 'rget', p: 0, k }))).toEqual({ t: 'rget', p: 0, k });
  });
});

describe('client frames rejected by schema', () => {
  it('a put over maxValueBytes is TOO_LARGE (413), with the request id in details', () => {
    const e = failure(() => client.decodeRequest(client.encodeRequest({ t: 'put', id: 42, k: 'a', v: new Uint8Array(MAX + 1) })));
    expect(e.code).toBe('TOO_LARGE');
    expect(e.status).toBe(413);
    expect(e.message).toBe('field v: byte string is 101 bytes; the limit is 100');
    expect(e.details).toEqual({ field: 'v', id: 42 });
  });

  it('a bad key is DECODE with the request id in details', () => {
    const e = failure(() => client.decodeRequest(raw.encode({ t: 'get', id: 7, k: '' })));
    expect(e.code).toBe('DECODE');
    expect(e.details).toEqual({ field: 'k', id: 7 });
  });

  it('no id in details when the id itself is bad', () => {
    const e = failure(() => client.decodeRequest(raw.encode({ t: 'get', id: -7, k: 'a' })));
    expect(e.message).toBe('field id: expected unsigned integer, got integer');
    expect(e.details).toEqual({ field: 'id' });
  });

  const cases: Array<[reason: string, msg: unknown, error: string]> = [
    ['quorum as unknown word', { t: 'get', id: 1, k: 'a', r: 'most' }, 'field r: expected one of one, quorum, all'],
    ['quorum of zero', { t: 'get', id: 1, k: 'a', r: 0 }, 'field r: 0 is outside 1..15'],
    ['quorum of null', { t: 'del', id: 1, k: 'a', w: null }, 'field w: expected one of one, quorum, all'],
    ['timeout too long', { t: 'get', id: 1, k: 'a', tmo: 600_001 }, 'field tmo: 600001 is outside 1..600000'],
    ['put without value', { t: 'put', id: 1, k: 'a' }, 'field v: missing'],
    ['put value as text', { t: 'put', id: 1, k: 'a', v: 'text' }, 'field v: expected byte string, got string'],
    ['put value null', { t: 'put', id: 1, k: 'a', v: null }, 'field v: expected byte string, got null'],
    ['context of the wrong type', { t: 'del', id: 1, k: 'a', ctx: 5 }, 'field ctx: expected text string, got integer'],
    ['peer message on the client socket', { t: 'rget', p: 0, k: 'a' }, 'field t: unknown message type "rget"; expected one of get, put, del, ring, lget'],
    ['response type as request', { t: 'get_ok', id: 1, vals: [], ctx: null }, 'field t: unknown message type "get_ok"; expected one of get, put, del, ring, lget'],
  ];
  for (const [reason, msg, error] of cases) {
    it(reason, () => {
      const e = failure(() => client.decodeRequest(raw.encode(msg)));
      expect(e.code).toBe('DECODE');
      expect(e.message).toBe(error);
    });
  }

  it('a get answer with an oversized value is TOO_LARGE; too many values is DECODE', () => {
    expect(failure(() => client.decodeResponse(raw.encode({ t: 'get_ok', id: 1, vals: [new Uint8Array(MAX + 1)], ctx: null }))).code).toBe('TOO_LARGE');
    const many = Array.from({ length: 1025 }, () => new Uint8Array(0));
    expect(failure(() => client.decodeResponse(raw.encode({ t: 'get_ok', id: 1, vals: many, ctx: null }))).message).toBe(
      'field vals: array has 1025 items; the limit is 1024',
    );
  });
});

describe('prototype safety', () => {
  it('never lets a decoded frame touch Object.prototype', () => {
    const evil = new Uint8Array([0xa2, 0x61, 0x74, 0x64, 0x70, 0x69, 0x6e, 0x67, 0x69, ...Array.from('__proto__', (c) => c.charCodeAt(0)), 0xa1, 0x61, 0x78, 0x01]);
    expect(failure(() => peer.decode(evil)).message).toMatch(/forbidden map key "__proto__"/);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('validate* refuses objects that are not plain (class instances, Maps)', () => {
    class Ping { t = 'ping'; seq = 1; }
    expect(failure(() => validatePeerMessage(new Ping(), { maxValueBytes: MAX })).message).toBe('field (frame): expected map, got object');
    expect(failure(() => validatePeerMessage(new Map([['t', 'ping']]), { maxValueBytes: MAX })).code).toBe('DECODE');
  });

  it('validateDvvSetWire checks a DVVSet on its own', () => {
    expect(validateDvvSetWire(dvvOk, { maxValueBytes: MAX })).toBe(dvvOk);
    expect(failure(() => validateDvvSetWire({ e: [], a: [], x: 1 }, { maxValueBytes: MAX })).message).toBe('field x: unknown field');
  });
});

describe('schema DSL', () => {
  const s = tagged<{ t: 'a'; n: number; b?: Uint8Array; l: string[] }>({
    a: obj({ t: lit('a'), n: uint({ min: 2, max: 4 }), b: opt(bytes(2)), l: arr(str(3), 2) }),
  });

  it('accepts a valid value and returns the same object', () => {
    const v = { t: 'a', n: 3, l: ['xyz'] };
    expect(s.check(v, [])).toBe(v);
  });

  it('rejects each kind of violation with its path', () => {
    expect(failure(() => s.check({ t: 'a', n: 5, l: [] }, [])).message).toBe('field n: 5 is outside 2..4');
    expect(failure(() => s.check({ t: 'a', n: 3, l: [], b: new Uint8Array(3) }, [])).message).toBe('field b: byte string is 3 bytes; the limit is 2');
    expect(failure(() => s.check({ t: 'a', n: 3, l: ['a', 'b', 'c'] }, [])).message).toBe('field l: array has 3 items; the limit is 2');
    expect(failure(() => s.check({ t: 'a', n: 3, l: ['abcd'] }, [])).message).toBe('field l[0]: text string is 4 bytes; expected 0..3');
    expect(failure(() => s.check({ t: 'a', n: 3, l: ['\ud800'] }, [])).message).toBe('field l[0]: text string holds a lone surrogate');
  });

  it('measures UTF-8 lengths', () => {
    expect(utf8Length('')).toBe(0);
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
    expect(utf8Length('\udc00')).toBe(-1);
    expect(utf8Length('a\ud800b')).toBe(-1);
    for (const t of ['hello', 'é', '€uro', '😀x', 'ascii and ünïcödé 漢字']) expect(utf8Length(t)).toBe(new TextEncoder().encode(t).length);
  });
});
