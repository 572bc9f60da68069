import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/errors/index.js';
import { decodeError, decodeFrames, encodeError, encodeFrames, FrameKind, type Frame } from '../../src/transport/envelope.js';
import { closeReason, handshakeMac, macEqual, paramsMismatchReason, parseHandshake } from '../../src/transport/handshake.js';

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    kind: fc.constantFrom(FrameKind.request, FrameKind.response, FrameKind.error),
    id: fc.integer({ min: 1, max: 0xffff_ffff }),
    payload: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({ kind: fc.constant(FrameKind.oneWay), id: fc.constant(0), payload: fc.uint8Array({ maxLength: 64 }) }),
) as fc.Arbitrary<Frame>;

describe('envelope', () => {
  it('round-trips any batch of frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), (frames) => {
        const decoded = decodeFrames(encodeFrames(frames), 64);
        expect(decoded.map((f) => ({ ...f, payload: Array.from(f.payload) }))).toEqual(frames.map((f) => ({ ...f, payload: Array.from(f.payload) })));
      }),
    );
  });

  it('rejects every strict prefix of a message as truncated', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 3 }), fc.nat(), (frames, cut) => {
        const bytes = encodeFrames(frames);
        const at = cut % bytes.length;
        const prefix = bytes.subarray(0, at);
        // A prefix that ends exactly on a frame boundary is a valid shorter message.
        let boundary = false;
        let pos = 0;
        for (const f of frames) {
          pos += 9 + f.payload.length;
          if (pos === at) boundary = true;
        }
        if (boundary) expect(decodeFrames(prefix, 64).length).toBeGreaterThan(0);
        else expect(() => decodeFrames(prefix, 64)).toThrow(ShoalError);
      }),
    );
  });

  it('rejects unknown kinds, oversized lengths and ids that break the kind rules', () => {
    const one = (kind: number, id: number, len: number): Uint8Array => {
      const b = new Uint8Array(9 + len);
      const v = new DataView(b.buffer);
      v.setUint8(0, kind);
      v.setUint32(1, id);
      v.setUint32(5, len);
      return b;
    };
    expect(() => decodeFrames(one(0, 1, 0), 10)).toThrow(/unknown frame kind 0/);
    expect(() => decodeFrames(one(5, 1, 0), 10)).toThrow(/unknown frame kind 5/);
    expect(() => decodeFrames(one(1, 1, 11), 10)).toThrow(/over limit/);
    expect(() => decodeFrames(one(1, 0, 0), 10)).toThrow(/bad correlation id/);
    expect(() => decodeFrames(one(3, 7, 0), 10)).toThrow(/bad correlation id/);
    expect(() => decodeFrames(new Uint8Array(0), 10)).toThrow(/empty/);
    expect(decodeFrames(one(1, 1, 10), 10)).toHaveLength(1);
  });

  it('carries error codes and messages, and degrades a malformed error payload to INTERNAL', () => {
    const e = decodeError(encodeError(new ShoalError('OVERLOADED', 'busy')), 'b');
    expect([e.code, e.message]).toEqual(['OVERLOADED', 'busy']);
    expect(decodeError(new Uint8Array([200, 1]), 'b').code).toBe('INTERNAL');
    expect(decodeError(new Uint8Array(0), 'b').code).toBe('INTERNAL');
    expect(decodeError(new Uint8Array([2, 0x7a, 0x7a]), 'b').code).toBe('INTERNAL');
  });
});

describe('handshake proofs', () => {
  const base = { dialerNonce: 'aa'.repeat(32), acceptorNonce: 'bb'.repeat(32), dialerId: 'a', acceptorId: 'b', params: 'n=3,q=64' };

  it('binds role, both nonces, both ids, the params and the secret', () => {
    const mac = handshakeMac('s', 'acceptor', base);
    expect(macEqual(mac, handshakeMac('s', 'acceptor', { ...base }))).toBe(true);
    const variants = [
      handshakeMac('s', 'dialer', base),
      handshakeMac('t', 'acceptor', base),
      handshakeMac('s', 'acceptor', { ...base, dialerNonce: 'ab'.repeat(32) }),
      handshakeMac('s', 'acceptor', { ...base, acceptorNonce: 'ab'.repeat(32) }),
      handshakeMac('s', 'acceptor', { ...base, dialerId: 'c' }),
      handshakeMac('s', 'acceptor', { ...base, acceptorId: 'c' }),
      handshakeMac('s', 'acceptor', { ...base, params: 'n=5,q=64' }),
      // Length prefixes: moving a character between adjacent fields changes the proof.
      handshakeMac('s', 'acceptor', { ...base, acceptorId: 'ba', dialerId: '' }),
    ];
    for (const v of variants) expect(macEqual(mac, v)).toBe(false);
    expect(macEqual(mac, '')).toBe(false);
    expect(macEqual(mac, 'zz')).toBe(false);
  });

  it('parses strictly: exact fields, types and sizes', () => {
    const limits = { idBytesMax: 8, paramsBytesMax: 16 };
    const hello = { t: 'hello', v: 1, id: 'a', nonce: 'ab'.repeat(32), params: 'n=3', sec: true };
    expect(parseHandshake(JSON.stringify(hello), 'hello', limits)).toEqual(hello);
    const bad = [
      'not json',
      '[]',
      JSON.stringify({ ...hello, t: 'auth' }),
      JSON.stringify({ ...hello, extra: 1 }),
      JSON.stringify({ ...hello, id: '' }),
      JSON.stringify({ ...hello, id: 'waytoolongid' }),
      JSON.stringify({ ...hello, nonce: 'ab' }),
      JSON.stringify({ ...hello, sec: 'yes' }),
      JSON.stringify({ ...hello, v: 1.5 }),
      JSON.stringify({ t: 'hello', v: 1, id: 'a', nonce: 'ab'.repeat(32), sec: true }),
    ];
    for (const b of bad) expect(() => parseHandshake(b, 'hello', limits), b).toThrow(ShoalError);
    expect(() => parseHandshake(JSON.stringify({ t: 'auth', mac: 'xyz' }), 'auth', limits)).toThrow(/mac/);
  });

  it('keeps close reasons within 123 bytes and names both parameter strings', () => {
    expect(Buffer.byteLength(closeReason('é'.repeat(200)))).toBeLessThanOrEqual(123);
    const r = paramsMismatchReason('n=3,q=64', 'n=5,q=64');
    expect(r).toContain('n=3,q=64');
    expect(r).toContain('n=5,q=64');
    expect(Buffer.byteLength(paramsMismatchReason('x'.repeat(256), 'y'.repeat(256)))).toBeLessThanOrEqual(123);
  });
});
