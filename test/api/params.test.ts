import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkKey, decodeKeySegment, parseQuorum, parseTimeoutMs } from '../../src/api/index.js';
import { bearerFromHeader, bearerFromProtocols, tokenMatches } from '../../src/api/auth.js';
import { isShoalError } from '../../src/errors/index.js';

function throwsBadRequest(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (err) {
    return isShoalError(err, 'BAD_REQUEST');
  }
}

describe('decodeKeySegment', () => {
  it('round-trips every well-formed key of 1..512 bytes through encodeURIComponent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (key) => {
        const len = Buffer.byteLength(key, 'utf8');
        if (len > 512) expect(throwsBadRequest(() => decodeKeySegment(encodeURIComponent(key)))).toBe(true);
        else expect(decodeKeySegment(encodeURIComponent(key))).toBe(key);
      }),
    );
  });

  it('throws only BAD_REQUEST for arbitrary segments', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (segment) => {
        try {
          const key = decodeKeySegment(segment);
          expect(Buffer.byteLength(key, 'utf8')).toBeGreaterThan(0);
        } catch (err) {
          expect(isShoalError(err, 'BAD_REQUEST')).toBe(true);
        }
      }),
    );
  });
});

describe('checkKey', () => {
  it('refuses lone surrogates, empty and over-long keys', () => {
    expect(throwsBadRequest(() => checkKey('a\ud800'))).toBe(true);
    expect(throwsBadRequest(() => checkKey('\udc00b'))).toBe(true);
    expect(throwsBadRequest(() => checkKey(''))).toBe(true);
    expect(throwsBadRequest(() => checkKey('x'.repeat(513)))).toBe(true);
    expect(checkKey('\ud83d\ude00')).toBe('\ud83d\ude00');
    expect(checkKey('x'.repeat(512))).toHaveLength(512);
  });
});

describe('parseQuorum and parseTimeoutMs', () => {
  it('maps the symbolic forms against N', () => {
    expect(parseQuorum('w', 'one', 5)).toBe(1);
    expect(parseQuorum('w', 'quorum', 5)).toBe(3);
    expect(parseQuorum('w', 'quorum', 4)).toBe(3);
    expect(parseQuorum('w', 'all', 5)).toBe(5);
    expect(parseQuorum('w', 5, 5)).toBe(5);
    expect(parseQuorum('w', '005', 5)).toBe(5);
  });

  it('accepts exactly the integers 1..N', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 15 }), fc.integer({ min: -5, max: 20 }), (n, q) => {
        if (q >= 1 && q <= n) expect(parseQuorum('r', q, n)).toBe(q);
        else expect(throwsBadRequest(() => parseQuorum('r', q, n))).toBe(true);
        if (q >= 1 && q <= n) expect(parseQuorum('r', String(q), n)).toBe(q);
        else expect(throwsBadRequest(() => parseQuorum('r', String(q), n))).toBe(true);
      }),
    );
    expect(throwsBadRequest(() => parseQuorum('r', 1.5, 3))).toBe(true);
    expect(throwsBadRequest(() => parseQuorum('r', Number.NaN, 3))).toBe(true);
  });

  it('accepts timeouts 1..60000', () => {
    expect(parseTimeoutMs('1')).toBe(1);
    expect(parseTimeoutMs(60_000)).toBe(60_000);
    for (const bad of ['0', '60001', '', ' 5', '5 ', '0x10', '1.0']) expect(throwsBadRequest(() => parseTimeoutMs(bad))).toBe(true);
    expect(throwsBadRequest(() => parseTimeoutMs(0.5))).toBe(true);
  });
});

describe('tokens', () => {
  it('compares tokens of any length without throwing', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches('abc', '')).toBe(false);
  });

  it('reads bearer tokens from the header and the subprotocol', () => {
    expect(bearerFromHeader('Bearer xyz')).toBe('xyz');
    expect(bearerFromHeader('bearer   xyz')).toBe('xyz');
    expect(bearerFromHeader('Basic xyz')).toBeUndefined();
    expect(bearerFromHeader('Bearer')).toBeUndefined();
    expect(bearerFromProtocols(`shoal.v1, shoal.bearer.${Buffer.from('t/k=n').toString('base64url')}`)).toBe('t/k=n');
    expect(bearerFromProtocols('shoal.v1')).toBeUndefined();
  });
});
