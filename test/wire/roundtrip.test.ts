import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createClientCodec,
  createPeerCodec,
  validateClientRequest,
  validateClientResponse,
  validatePeerMessage,
} from '../../src/wire/index.js';
import { MAX_VALUE, peerByType, plain, requestByType, responseByType } from './arbitraries.js';

const opts = { maxValueBytes: MAX_VALUE };
const peer = createPeerCodec(opts);
const client = createClientCodec(opts);

describe('peer codec round trip', () => {
  for (const [t, arb] of Object.entries(peerByType)) {
    it(`${t}: decode(encode(m)) equals m and validates`, () => {
      fc.assert(
        fc.property(arb, (m) => {
          expect(validatePeerMessage(m, opts)).toBe(m);
          const back = peer.decode(peer.encode(m));
          expect(plain(back)).toEqual(plain(m));
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe('client codec round trip', () => {
  for (const [t, arb] of Object.entries(requestByType)) {
    it(`request ${t}: decodeRequest(encodeRequest(m)) equals m`, () => {
      fc.assert(
        fc.property(arb, (m) => {
          expect(validateClientRequest(m, opts)).toBe(m);
          expect(plain(client.decodeRequest(client.encodeRequest(m)))).toEqual(plain(m));
        }),
        { numRuns: 200 },
      );
    });
  }
  for (const [t, arb] of Object.entries(responseByType)) {
    it(`response ${t}: decodeResponse(encodeResponse(m)) equals m`, () => {
      fc.assert(
        fc.property(arb, (m) => {
          expect(validateClientResponse(m, opts)).toBe(m);
          expect(plain(client.decodeResponse(client.encodeResponse(m)))).toEqual(plain(m));
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe('encoding details', () => {
  it('sends a Uint8Array as a bare byte string (no tag) and values without base64', () => {
    const v = new Uint8Array([1, 2, 3]);
    const bytes = client.encodeRequest({ t: 'put', id: 7, k: 'a', v });
    // Somewhere in the frame: 0x43 (byte string of 3) followed by the raw bytes, and no tag byte 0xd8.
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    expect(hex).toContain('43010203');
    expect(hex).not.toContain('d840');
  });

  it('keeps earlier encodings intact when the encoder is reused', () => {
    const a = peer.encode({ t: 'ping', seq: 1 });
    const copy = Uint8Array.from(a);
    peer.encode({ t: 'rget', p: 3, k: 'x'.repeat(400) });
    expect(Uint8Array.from(a)).toEqual(copy);
    expect(peer.decode(a)).toEqual({ t: 'ping', seq: 1 });
  });

  it('decodes byte strings as views into the frame (no copy)', () => {
    const frame = peer.encode({ t: 'fput', k: 'k', v: new Uint8Array(40).fill(9), ctx: null, w: 2, tmo: 100 });
    const m = peer.decode(frame);
    if (m.t !== 'fput' || m.v === null) throw new Error('unexpected message');
    expect(m.v.buffer).toBe(frame.buffer);
  });

  it('accepts an optional field set to undefined by the sender as absent', () => {
    const m = client.decodeRequest(client.encodeRequest({ t: 'get', id: 1, k: 'a', r: undefined, tmo: 5 }));
    expect(m).toMatchObject({ t: 'get', id: 1, k: 'a', tmo: 5 });
    expect(m.t === 'get' && m.r).toBeUndefined();
  });

  it('round-trips large timestamps (cbor-x sends integers above 2^32 as float64)', () => {
    const m = { t: 'rput' as const, p: 0, k: 'k', o: { e: [['a', 2 ** 40, Date.UTC(2030, 0, 1), [[null, 2 ** 52]]] as [string, number, number, [null, number][]]], a: [] } };
    expect(peer.decode(peer.encode(m))).toEqual(m);
  });
});
