/**
 * Conversion between DVVSet and its CBOR wire form (DVVSetWire in src/wire). src/wire has
 * already checked the shape and size limits; fromWire re-establishes what a shape check
 * cannot: canonical order, unique ids, counters >= 1 and no more values than events.
 */
import { ShoalError } from '../errors/index.js';
import type { DVVSetWire, EntryWire, SiblingWire } from '../wire/index.js';
import { canonicalAnon, compareIds } from './dvvset.js';
import type { DVVSet, Entry, Sibling } from './types.js';

function siblingToWire(s: Sibling): SiblingWire {
  return [s.value, s.ts];
}

export function toWire(c: DVVSet): DVVSetWire {
  return {
    e: c.entries.map((e): EntryWire => [e.id, e.n, e.ts, e.values.map(siblingToWire)]),
    a: c.anon.map(siblingToWire),
  };
}

function siblingFromWire(w: SiblingWire, where: string): Sibling {
  const [value, ts] = w;
  if (value !== null && !(value instanceof Uint8Array)) throw new ShoalError('DECODE', `${where}: value must be bytes or null`);
  if (typeof ts !== 'number' || !Number.isFinite(ts)) throw new ShoalError('DECODE', `${where}: ts must be a finite number`);
  return { value, ts };
}

export function fromWire(w: DVVSetWire): DVVSet {
  const entries: Entry[] = w.e.map(([id, n, ts, values]): Entry => {
    const where = `dvvset entry ${JSON.stringify(id)}`;
    if (typeof id !== 'string' || id.length === 0) throw new ShoalError('DECODE', 'dvvset entry id must be a non-empty string');
    if (!Number.isSafeInteger(n) || n < 1) throw new ShoalError('DECODE', `${where}: counter must be a positive integer, got ${n}`);
    if (typeof ts !== 'number' || !Number.isFinite(ts)) throw new ShoalError('DECODE', `${where}: ts must be a finite number`);
    if (values.length > n) throw new ShoalError('DECODE', `${where}: ${values.length} values but only ${n} events`);
    return { id, n, ts, values: values.map((v) => siblingFromWire(v, where)) };
  });
  entries.sort((x, y) => compareIds(x.id, y.id));
  for (let i = 1; i < entries.length; i++) {
    const id = (entries[i] as Entry).id;
    if ((entries[i - 1] as Entry).id === id) throw new ShoalError('DECODE', `dvvset: duplicate entry id ${JSON.stringify(id)}`);
  }
  return { entries, anon: canonicalAnon(w.a.map((v) => siblingFromWire(v, 'dvvset anonymous value'))) };
}
