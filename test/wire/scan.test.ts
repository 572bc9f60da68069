import { describe, expect, it } from 'vitest';
import { isShoalError } from '../../src/errors/index.js';
import { createClientCodec, createPeerCodec, frameLimits, scanCbor, type ScanLimits } from '../../src/wire/index.js';

const limits: ScanLimits = { bytesMax: 1 << 20, depthMax: 4, itemsMax: 100, mapEntriesMax: 4 };

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function scanError(bytes: Uint8Array, l: ScanLimits = limits): { code: string; message: string } | undefined {
  try {
    scanCbor(bytes, l);
    return undefined;
  } catch (err) {
    if (!isShoalError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}

describe('scanCbor accepts what we send', () => {
  const ok: Array<[string, string]> = [
    ['small uint', '01'],
    ['uint64', '1b0020000000000000'],
    ['negative int', '20'],
    ['byte string', '43010203'],
    ['empty text', '60'],
    ['ascii text', '6161'],
    ['2-byte UTF-8 (é)', '62c3a9'],
    ['3-byte UTF-8 (€)', '63e282ac'],
    ['4-byte UTF-8 (😀)', '64f09f9880'],
    ['false true null undefined', '84f4f5f6f7'],
    ['half, single, double floats', '83f93c00fa3f800000fb3ff0000000000000'],
    ['map with text keys', 'a2616101616202'],
    ['nesting at the limit', '81818181 01'],
    ['map at the entry limit', 'a4 616101 616202 616303 616404'],
  ];
  for (const [name, h] of ok) {
    it(name, () => expect(scanError(hex(h))).toBeUndefined());
  }
});

describe('scanCbor rejects', () => {
  const bad: Array<[reason: string, hex: string, message: RegExp, l?: ScanLimits]> = [
    ['empty input', '', /truncated: expected an item/],
    ['truncated argument', '19 01', /truncated/],
    ['truncated byte string', '45 0102', /truncated: needs 5 more bytes/],
    ['truncated array', '82 8101', /truncated: expected an item/],
    ['trailing bytes', '01 02', /1 trailing bytes/],
    ['two items', 'a0 a0', /trailing/],
    ['byte string claiming 4 GiB', '5a ffffffff 00', /truncated: needs 4294967295 more bytes/],
    ['array claiming 2^32-1 elements', '9a ffffffff 00', /array declares 4294967295 elements but only 1 bytes remain/],
    ['array claiming 2^64-1 elements', '9b ffffffffffffffff', /array declares Infinity elements/],
    ['map claiming 3 entries with 4 bytes', 'a3 61610161', /truncated|map declares/],
    ['array count over the item limit', '98 ff' + '00'.repeat(255), /more than 100 items/],
    ['too many items in total', '8a' + '8a00000000000000000000'.repeat(10), /more than 100 items/],
    ['nesting deeper than the limit', '8181818181 01', /nesting deeper than 4/],
    ['map over the entry limit', 'a5 616101 616202 616303 616404 616505', /map declares 5 entries; the limit is 4/],
    ['indefinite array', '9f 01 ff', /indefinite-length/],
    ['indefinite map', 'bf 6161 01 ff', /indefinite-length/],
    ['indefinite byte string', '5f 41 01 ff', /indefinite-length/],
    ['indefinite text string', '7f 61 61 ff', /indefinite-length/],
    ['break outside indefinite', 'ff', /break outside/],
    ['reserved additional info 28', '1c', /reserved additional information 28/],
    ['reserved additional info 30 on arrays', '9e', /reserved additional information 30/],
    ['reserved simple 28', 'fc', /reserved additional information 28/],
    ['unassigned simple value 16', 'f0', /unassigned simple value/],
    ['one-byte simple value', 'f8 20', /unassigned simple value/],
    ['tag 1 (epoch date)', 'c1 1a00000000', /tag 1 /],
    ['tag 64 (typed Uint8Array)', 'd840 43010203', /tag 64 /],
    ['tag 105 (cbor-x record)', 'd869 80', /tag 105 /],
    ['tag 55799 (self-described)', 'd9d9f7 01', /tag 55799 /],
    ['integer map key', 'a1 01 02', /map key is a unsigned integer, expected a text string/],
    ['byte-string map key', 'a1 4161 02', /map key is a byte string/],
    ['array map key', 'a1 80 02', /map key is a array/],
    ['__proto__ key', 'a1 69 5f5f70726f746f5f5f a0', /forbidden map key "__proto__"/],
    ['constructor key', 'a1 6b 636f6e7374727563746f72 01', /forbidden map key "constructor"/],
    ['prototype key', 'a1 69 70726f746f74797065 01', /forbidden map key "prototype"/],
    ['duplicate key', 'a2 6161 01 6161 02', /duplicate map key/],
    ['invalid UTF-8 lead byte', '62 ff41', /invalid UTF-8/],
    ['UTF-8 continuation without lead', '61 80', /invalid UTF-8/],
    ['overlong UTF-8 (C0 80)', '62 c080', /invalid UTF-8/],
    ['overlong 3-byte UTF-8', '63 e08080', /invalid UTF-8/],
    ['UTF-8 surrogate (ED A0 80)', '63 eda080', /invalid UTF-8/],
    ['UTF-8 above U+10FFFF', '64 f4908080', /invalid UTF-8/],
    ['UTF-8 sequence cut by the string end', '62 41e2 82', /truncated UTF-8|trailing/],
    ['invalid UTF-8 in a map key', 'a1 62c328 01', /invalid UTF-8/],
  ];
  for (const [reason, h, message, l] of bad) {
    it(reason, () => {
      const e = scanError(hex(h), l);
      expect(e?.code).toBe('DECODE');
      expect(e?.message).toMatch(message);
    });
  }

  it('a frame over the size cap is TOO_LARGE, checked before anything else', () => {
    const e = scanError(new Uint8Array(11).fill(0xff), { ...limits, bytesMax: 10 });
    expect(e).toEqual({ code: 'TOO_LARGE', message: 'frame is 11 bytes; the limit is 10' });
  });

  it('rejects a huge declared length instantly, without allocating it', () => {
    // 2^53 - 1 elements declared by 9 bytes: the scan must fail on the count, not try.
    expect(scanError(hex('9b 001fffffffffffff 00'))?.message).toMatch(/array declares 9007199254740991 elements/);
  });

  it('rejects 100,000 nested arrays without deep recursion', () => {
    const deep = new Uint8Array(100_000).fill(0x81);
    expect(scanError(deep)?.message).toMatch(/nesting deeper/);
  });

  it('reports the byte offset of the problem', () => {
    expect(scanError(hex('82 01 c1 00'))?.message).toBe('cbor: tag 1 (Shoal sends no tags) at byte 2');
  });
});

describe('frame limits', () => {
  it('derive from --max-value-bytes', () => {
    const l = frameLimits({ maxValueBytes: 1_048_576 });
    expect(l.clientRequestFrameBytesMax).toBe(1_048_576 + 65_536);
    expect(l.peerFrameBytesMax).toBeGreaterThan(8 * 1_048_576);
    expect(l.clientResponseFrameBytesMax).toBe(l.peerFrameBytesMax);
  });

  it('a client frame over its cap is TOO_LARGE before decoding', () => {
    const codec = createClientCodec({ maxValueBytes: 10 });
    const cap = frameLimits({ maxValueBytes: 10 }).clientRequestFrameBytesMax;
    expect(() => codec.decodeRequest(new Uint8Array(cap + 1))).toThrow(/frame is \d+ bytes; the limit is/);
  });

  it('refuses a nonsensical maxValueBytes', () => {
    expect(() => createPeerCodec({ maxValueBytes: -1 })).toThrow(/maxValueBytes/);
    expect(() => createPeerCodec({ maxValueBytes: 1.5 })).toThrow(/maxValueBytes/);
  });
});
