// Fuzz: random, mutated and adversarial frames through both codecs. Each decode must give
// a message that re-validates and round-trips, or a ShoalError DECODE/TOO_LARGE; nothing
// else, and no hang. SHOAL_FUZZ_RUNS sets the number of frames (default 100,000; a long run
// can do millions), SHOAL_FUZZ_SEED the seed (printed on failure).
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/env/index.js';
import { isShoalError } from '../../src/errors/index.js';
import {
  createClientCodec,
  createPeerCodec,
  validateClientRequest,
  validateClientResponse,
  validatePeerMessage,
} from '../../src/wire/index.js';
import { MAX_VALUE, clientRequest, clientResponse, peerMessage } from './arbitraries.js';

const RUNS = Number(process.env.SHOAL_FUZZ_RUNS ?? 100_000);
const SEED = Number(process.env.SHOAL_FUZZ_SEED ?? 20240601);
const opts = { maxValueBytes: MAX_VALUE };
const peer = createPeerCodec(opts);
const client = createClientCodec(opts);

type Outcome = 'ok' | 'DECODE' | 'TOO_LARGE';

interface Decoder {
  name: string;
  decode(b: Uint8Array): unknown;
  validate(v: unknown): unknown;
  encode(v: unknown): Uint8Array;
}
const decoders: Decoder[] = [
  { name: 'peer', decode: (b) => peer.decode(b), validate: (v) => validatePeerMessage(v, opts), encode: (v) => peer.encode(v as never) },
  {
    name: 'request',
    decode: (b) => client.decodeRequest(b),
    validate: (v) => validateClientRequest(v, opts),
    encode: (v) => client.encodeRequest(v as never),
  },
  {
    name: 'response',
    decode: (b) => client.decodeResponse(b),
    validate: (v) => validateClientResponse(v, opts),
    encode: (v) => client.encodeResponse(v as never),
  },
];

const toHex = (b: Uint8Array): string => Array.from(b.subarray(0, 64), (x) => x.toString(16).padStart(2, '0')).join('') + (b.length > 64 ? '…' : '');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Feeds one frame to every decoder; returns a description of the first misbehaviour, if any. */
function feed(frame: Uint8Array, counts: Record<Outcome, number>): string | undefined {
  for (const d of decoders) {
    let m: unknown;
    try {
      m = d.decode(frame);
    } catch (err) {
      if (isShoalError(err) && (err.code === 'DECODE' || err.code === 'TOO_LARGE')) {
        counts[err.code]++;
        continue;
      }
      return `${d.name} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} for ${toHex(frame)}`;
    }
    counts.ok++;
    try {
      d.validate(m);
      // Round trip to a fixpoint: re-encoding what we decoded gives bytes that decode and
      // re-encode to themselves (cheaper than deep equality, and as strict for our purpose).
      const once = Uint8Array.from(d.encode(m));
      const twice = d.encode(d.decode(once));
      if (!sameBytes(once, twice)) throw new Error(`re-encoding is not stable: ${toHex(once)} vs ${toHex(twice)}`);
    } catch (err) {
      return `${d.name} accepted ${toHex(frame)} but it does not re-validate or round-trip: ${String(err)}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- frame generators

const rnd = new SeededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[rnd.int(xs.length)]!;

/** Valid frames of every kind, as mutation seeds. */
const validFrames: Uint8Array[] = [
  ...fc.sample(peerMessage, { numRuns: 300, seed: SEED }).map((m) => Uint8Array.from(peer.encode(m))),
  ...fc.sample(clientRequest, { numRuns: 200, seed: SEED }).map((m) => Uint8Array.from(client.encodeRequest(m))),
  ...fc.sample(clientResponse, { numRuns: 200, seed: SEED }).map((m) => Uint8Array.from(client.encodeResponse(m))),
];
const validObjects: unknown[] = [
  ...fc.sample(peerMessage, { numRuns: 100, seed: SEED + 1 }),
  ...fc.sample(clientRequest, { numRuns: 100, seed: SEED + 1 }),
  ...fc.sample(clientResponse, { numRuns: 100, seed: SEED + 1 }),
];

/** Encoders that emit everything cbor-x can: records, tags, structured clones, packed strings. */
const wildEncoders = [
  new Encoder(),
  new Encoder({ useRecords: false }),
  new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true }),
  new Encoder({ structuredClone: true }),
  new Encoder({ pack: true }),
  new Encoder({ useRecords: true, mapsAsObjects: true }),
];

function tryEncode(v: unknown): Uint8Array | undefined {
  try {
    return Uint8Array.from(pick(wildEncoders).encode(v));
  } catch {
    return undefined;
  }
}

function randomBytes(max: number): Uint8Array {
  return rnd.bytes(rnd.int(max + 1));
}

function mutate(frame: Uint8Array): Uint8Array {
  const b = Uint8Array.from(frame);
  switch (rnd.int(7)) {
    case 0: {
      // Flip a few bits.
      for (let i = 1 + rnd.int(3); i > 0 && b.length > 0; i--) b[rnd.int(b.length)]! ^= 1 << rnd.int(8);
      return b;
    }
    case 1: {
      // Overwrite a byte with an interesting one (heads of big lengths, tags, breaks).
      if (b.length > 0) b[rnd.int(b.length)] = pick([0x00, 0x17, 0x18, 0x1b, 0x1f, 0x3b, 0x5b, 0x7b, 0x9b, 0xbb, 0x9f, 0xbf, 0xc0, 0xd8, 0xf7, 0xf8, 0xff, rnd.int(256)]);
      return b;
    }
    case 2:
      return b.subarray(0, rnd.int(b.length + 1));
    case 3: {
      const out = new Uint8Array(b.length + 1 + rnd.int(8));
      out.set(b);
      out.set(rnd.bytes(out.length - b.length), b.length);
      return out;
    }
    case 4: {
      // Insert a byte.
      const at = rnd.int(b.length + 1);
      const out = new Uint8Array(b.length + 1);
      out.set(b.subarray(0, at));
      out[at] = rnd.int(256);
      out.set(b.subarray(at), at + 1);
      return out;
    }
    case 5: {
      // Delete a byte.
      if (b.length === 0) return b;
      const at = rnd.int(b.length);
      const out = new Uint8Array(b.length - 1);
      out.set(b.subarray(0, at));
      out.set(b.subarray(at + 1), at);
      return out;
    }
    default: {
      // Splice two valid frames.
      const other = pick(validFrames);
      const cut = rnd.int(b.length + 1);
      const out = new Uint8Array(cut + other.length - Math.min(cut, other.length));
      out.set(b.subarray(0, cut));
      out.set(other.subarray(Math.min(cut, other.length)), cut);
      return out;
    }
  }
}

/** A valid message with one field (at any depth) replaced by a random value. */
function corruptField(): Uint8Array | undefined {
  const m = structuredClone(pick(validObjects)) as Record<string, unknown>;
  const replacement = pick<unknown>([null, undefined, -1, 0, 1.5, 2 ** 53, 2n ** 64n, '', 'x'.repeat(600), new Uint8Array(MAX_VALUE + 1), [], {}, [[]], { t: 'ping' }, true, NaN, 'one', new Date(0)]);
  const holders: Array<Record<string, unknown> | unknown[]> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      holders.push(v);
      v.forEach(walk);
    } else if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
      holders.push(v as Record<string, unknown>);
      Object.values(v).forEach(walk);
    }
  };
  walk(m);
  const h = pick(holders);
  if (Array.isArray(h)) {
    if (h.length === 0 || rnd.int(4) === 0) h.push(replacement);
    else h[rnd.int(h.length)] = replacement;
  } else {
    const keys = Object.keys(h);
    const k = rnd.int(5) === 0 || keys.length === 0 ? pick(['x', 't', 'id', 'toString', 'o']) : pick(keys);
    h[k] = replacement;
  }
  return tryEncode(m);
}

/** Hand-made hostile frames: deep nesting, huge declared lengths, item floods. */
function adversarial(): Uint8Array {
  switch (rnd.int(5)) {
    case 0:
      return new Uint8Array(1 + rnd.int(5000)).fill(pick([0x81, 0xa1, 0x9f, 0xbf, 0xd8]));
    case 1: {
      // A container or string head with an absurd 4- or 8-byte length, then a little data.
      const head = pick([0x5a, 0x5b, 0x7a, 0x7b, 0x9a, 0x9b, 0xba, 0xbb]);
      const len = head & 1 ? 9 : 5;
      const out = new Uint8Array(len + rnd.int(16));
      out[0] = head;
      out.fill(0xff, 1, len);
      out.set(rnd.bytes(out.length - len), len);
      return out;
    }
    case 2: {
      // A large flat array of small items (items limit). Scanning one costs ~65k steps, so
      // only a few of these per thousand frames.
      if (rnd.int(20) !== 0) return randomBytes(24);
      const n = 60_000 + rnd.int(20_000);
      const out = new Uint8Array(5 + n);
      out[0] = 0x9a;
      out[1] = (n >>> 24) & 0xff;
      out[2] = (n >>> 16) & 0xff;
      out[3] = (n >>> 8) & 0xff;
      out[4] = n & 0xff;
      return out;
    }
    case 3: {
      // A map with a text key, then random rubbish.
      const out = new Uint8Array(4 + rnd.int(40));
      out.set([0xa1 + rnd.int(3), 0x61, 0x74]);
      out.set(rnd.bytes(out.length - 3), 3);
      return out;
    }
    default:
      return randomBytes(8);
  }
}

// ---------------------------------------------------------------- the runs

describe(`wire fuzz (${RUNS} frames, seed ${SEED})`, () => {
  it('every frame decodes to a valid message or fails with DECODE/TOO_LARGE', () => {
    const counts: Record<Outcome, number> = { ok: 0, DECODE: 0, TOO_LARGE: 0 };
    const anythingArb = fc.anything({
      maxDepth: 4,
      maxKeys: 6,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
      withSparseArray: true,
      withBoxedValues: true,
    });
    const messageish = fc.dictionary(fc.constantFrom('t', 'id', 'k', 'v', 'o', 'p', 'seq', 'ctx', 'e', 'a', 'w', 'x'), fc.anything({ maxDepth: 3 }), {
      maxKeys: 6,
    });
    const anythings = fc.sample(fc.oneof(anythingArb, messageish), { numRuns: Math.ceil(RUNS * 0.15), seed: SEED });

    let produced = 0;
    let anyIndex = 0;
    const failures: string[] = [];
    while (produced < RUNS && failures.length === 0) {
      const kind = rnd.int(100);
      let frame: Uint8Array | undefined;
      if (kind < 40) frame = mutate(pick(validFrames));
      else if (kind < 55) frame = randomBytes(rnd.int(2) === 0 ? 16 : 256);
      else if (kind < 70) frame = anyIndex < anythings.length ? tryEncode(anythings[anyIndex++]) : randomBytes(32);
      else if (kind < 85) frame = corruptField();
      else if (kind < 95) frame = adversarial();
      else frame = pick(validFrames);
      if (frame === undefined) continue;
      produced++;
      const problem = feed(frame, counts);
      if (problem !== undefined) failures.push(`seed ${SEED}, frame ${produced}: ${problem}`);
    }
    expect(failures).toEqual([]);
    // The mix must exercise both outcomes, or the generators have gone blind.
    expect(counts.ok).toBeGreaterThan(RUNS / 50);
    expect(counts.DECODE).toBeGreaterThan(RUNS);
    if (RUNS >= 20_000) expect(counts.TOO_LARGE).toBeGreaterThan(0);
  }, 120_000);
});
