import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { Encoder } from 'cbor-x';
import { isShoalError } from '../../src/errors/index.js';
import { decodeHint, decodeObject, encodeHint, encodeObject, hintId, objectKey, partitionRange } from '../../src/store/index.js';
import { encodeObjectInto, objectSize } from '../../src/store/codec.js';
import { hintSeq, parseHintKey, prefixEnd, hintKey } from '../../src/store/keys.js';
import type { DVVSet } from '../../src/vclock/types.js';

// -0 is stored as 0 (CBOR encodes it as an integer); timestamps are never -0 anyway.
const time = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0);
const sibling = fc.record({ value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }), ts: time });
const dvvset: fc.Arbitrary<DVVSet> = fc
  .tuple(
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 5 }),
    fc.array(sibling, { maxLength: 3 }),
  )
  .chain(([ids, anon]) =>
    fc
      .tuple(...ids.sort().map((id) => fc.tuple(fc.constant(id), fc.array(sibling, { maxLength: 4 }), fc.nat(1000), fc.integer({ min: 0, max: 2 ** 45 }))))
      .map((rows) => ({
        entries: rows.map(([id, values, extra, ts]) => ({ id, n: values.length + extra, ts, values })),
        anon,
      })),
  );

function corruptCode(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (isShoalError(err)) return err.code;
    throw err;
  }
}

describe('object codec', () => {
  it('round-trips every DVVSet (property), with plain Uint8Array values', () => {
    fc.assert(
      fc.property(dvvset, (o) => {
        const back = decodeObject(encodeObject(o));
        expect(back).toEqual(o);
        for (const e of back.entries) for (const s of e.values) if (s.value !== null) expect(s.value.constructor).toBe(Uint8Array);
      }),
      { numRuns: 300 },
    );
  });

  it('detects any single flipped bit (property)', () => {
    fc.assert(
      fc.property(dvvset, fc.nat(), fc.integer({ min: 0, max: 7 }), (o, pos, bit) => {
        const bytes = encodeObject(o);
        const i = pos % bytes.length;
        bytes[i] = bytes[i]! ^ (1 << bit);
        expect(corruptCode(() => decodeObject(bytes, { partition: 1, key: 'k' }))).toBe('CORRUPT');
      }),
      { numRuns: 300 },
    );
  });

  it('reports truncation, unknown formats, garbage and wrong shapes as CORRUPT', () => {
    const good = encodeObject({ entries: [{ id: 'a', n: 1, ts: 1, values: [{ value: new Uint8Array([1]), ts: 2 }] }], anon: [] });
    for (let n = 0; n < good.length; n++) expect(corruptCode(() => decodeObject(good.subarray(0, n)))).toBe('CORRUPT');
    const fmt = Uint8Array.from(good);
    fmt[0] = 9;
    expect(corruptCode(() => decodeObject(fmt))).toBe('CORRUPT');
    expect(corruptCode(() => decodeObject(encodeHint({ partition: 1, key: 'k', ts: 1 })))).toBe('CORRUPT');

    // Well-framed (right format byte and CRC) but the wrong shape inside.
    const cbor = new Encoder({ tagUint8Array: false, useRecords: false });
    const framed = (value: unknown): Uint8Array => {
      const payload = cbor.encode(value);
      const out = new Uint8Array(5 + payload.length);
      out[0] = 1;
      new DataView(out.buffer).setUint32(1, crc32(payload));
      out.set(payload, 5);
      return out;
    };
    const v = new Uint8Array([1]);
    const shapes: unknown[] = [
      42,
      'str',
      { e: [], a: [] },
      [[], [], []],
      [[['a', 1]], []], // entry too short
      [[['a', 1, 1, v]], []], // odd sibling list
      [[[7, 1, 1]], []], // id not a string
      [[['a', -1, 1]], []], // negative counter
      [[['a', 1.5, 1]], []], // fractional counter
      [[['a', 1, 'ts']], []],
      [[['a', 0, 1, v, 1]], []], // more values than events
      [[['b', 1, 1], ['a', 1, 1]], []], // unsorted ids
      [[['a', 1, 1], ['a', 1, 1]], []], // duplicate ids
      [[], ['not bytes', 1]],
      [[], [v, null]],
      [[], [v]],
    ];
    for (const s of shapes) expect(corruptCode(() => decodeObject(framed(s))), JSON.stringify(s)).toBe('CORRUPT');
    // The good shape through the same helper decodes (so the helper is not the cause).
    expect(decodeObject(framed([[['a', 1, 1, v, 2]], []])).entries[0]!.values[0]!.value).toEqual(v);
    // Random garbage never crashes: CORRUPT or (vanishingly unlikely) a valid object.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const code = corruptCode(() => decodeObject(bytes));
        expect(code === undefined || code === 'CORRUPT').toBe(true);
      }),
    );
  });

  it('writes standard CBOR that a stock decoder reads, for every head length', () => {
    const big = new Uint8Array(70_000).fill(7); // a 4-byte length head
    const mid = new Uint8Array(300).fill(8); // a 2-byte length head
    const o: DVVSet = {
      entries: [
        { id: 'x'.repeat(30), n: 2 ** 40, ts: -5, values: [{ value: big, ts: 1_700_000_000_123 }, { value: mid, ts: 0.25 }] },
        { id: 'y', n: 300, ts: 70_000, values: Array.from({ length: 30 }, (_, i) => ({ value: null, ts: i })) },
      ],
      anon: [{ value: new Uint8Array(0), ts: -(2 ** 40) }],
    };
    const bytes = encodeObject(o);
    expect(decodeObject(bytes)).toEqual(o);
    const stock = new Encoder({ int64AsNumber: true } as ConstructorParameters<typeof Encoder>[0]).decode(bytes.subarray(5)) as unknown[];
    expect(stock.length).toBe(2);
    const row = (stock[0] as unknown[][])[0]!;
    expect(row.slice(0, 3)).toEqual(['x'.repeat(30), 2 ** 40, -5]);
    expect((row[3] as Uint8Array).length).toBe(70_000);
  });

  it('encodes into a shared buffer at any offset exactly as on its own, for any text in ids (property)', () => {
    // Ids and keys take an ASCII fast path up to 64 chars; longer or non-ASCII ones take UTF-8.
    const id = fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 70 }));
    const obj = fc.tuple(fc.uniqueArray(id, { minLength: 1, maxLength: 3 }), fc.array(sibling, { maxLength: 3 })).map(([ids, values]) => ({
      entries: [...ids].sort().map((i) => ({ id: i, n: values.length, ts: 7, values })),
      anon: [],
    }));
    fc.assert(
      fc.property(fc.array(obj, { minLength: 1, maxLength: 4 }), fc.nat(9), (objs, pad) => {
        const sizes = objs.map((o) => objectSize(o));
        const buf = Buffer.alloc(pad + sizes.reduce((a, b) => a + b, 0), 0xee);
        let offset = pad;
        objs.forEach((o, i) => {
          const view = encodeObjectInto(o, buf, offset, sizes[i]!);
          expect(Buffer.from(view)).toEqual(Buffer.from(encodeObject(o)));
          expect(decodeObject(view)).toEqual(decodeObject(encodeObject(o)));
          offset += sizes[i]!;
        });
        expect(buf.subarray(0, pad).every((x) => x === 0xee)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('makes object keys of the key\'s UTF-8, ASCII or not (property)', () => {
    const key = fc.oneof(fc.string({ minLength: 1, maxLength: 100 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }));
    fc.assert(
      fc.property(fc.nat(0xffff), key, (p, k) => {
        fc.pre(Buffer.byteLength(k, 'utf8') <= 512);
        expect(Buffer.from(objectKey(p, k))).toEqual(Buffer.concat([Buffer.from([0x6f, p >>> 8, p & 0xff]), Buffer.from(k, 'utf8')]));
      }),
      { numRuns: 300 },
    );
  });

  it('names partition and key in the error', () => {
    try {
      decodeObject(new Uint8Array([1, 2, 3, 4, 5, 6]), { partition: 12, key: 'user/7' });
      expect.unreachable();
    } catch (err) {
      expect(isShoalError(err, 'CORRUPT')).toBe(true);
      expect((err as Error).message).toMatch(/partition 12, key "user\/7"/);
    }
  });

  it('round-trips hint records and rejects corrupt ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.string({ minLength: 1, maxLength: 50 }), fc.double({ noNaN: true, noDefaultInfinity: true }), (partition, key, ts) => {
        const k = Buffer.from(key).toString(); // the key as it survives UTF-8
        expect(decodeHint(encodeHint({ partition, key: k, ts }))).toEqual({ partition, key: k, ts });
      }),
    );
    const h = encodeHint({ partition: 1, key: 'k', ts: 5 });
    h[h.length - 1] = h[h.length - 1]! ^ 1;
    expect(corruptCode(() => decodeHint(h))).toBe('CORRUPT');
  });
});

describe('key layout', () => {
  it('puts the namespace, the big-endian partition and the UTF-8 key in that order', () => {
    expect(Array.from(objectKey(0x0102, 'é'))).toEqual([0x6f, 0x01, 0x02, 0xc3, 0xa9]);
  });

  it('keeps partition ranges disjoint, including the last partition', () => {
    const r = partitionRange(0xffff);
    expect(Array.from(r.gte!)).toEqual([0x6f, 0xff, 0xff]);
    expect(Array.from(r.lt!)).toEqual([0x70]);
    expect(Array.from(partitionRange(1).lt!)).toEqual([0x6f, 0x00, 0x02]);
    expect(Array.from(prefixEnd(Uint8Array.of(1, 0xff)))).toEqual([2]);
  });

  it('orders hint ids by sequence and keeps targets that are prefixes of each other apart', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        expect(hintSeq(hintId(a))).toBe(a);
        expect(Math.sign(Buffer.compare(Buffer.from(hintId(a)), Buffer.from(hintId(b))))).toBe(Math.sign(a - b));
      }),
    );
    const k = hintKey('node1', hintId(0xffffffff));
    expect(parseHintKey(k)).toEqual({ target: 'node1', id: hintId(0xffffffff) });
    // Every key of target "node1" sorts outside target "node10"'s range and vice versa.
    const k10 = Buffer.from(hintKey('node10', hintId(0)));
    const k1max = Buffer.from(hintKey('node1', hintId(Number.MAX_SAFE_INTEGER)));
    expect(Buffer.compare(k1max, k10)).toBeLessThan(0);
  });
});
