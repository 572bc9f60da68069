/**
 * A tiny validator DSL for decoded frames: `obj({ t: lit('rput'), p: uint({ max }), ... })`.
 *
 * A schema checks a value in place and returns it typed; it never copies, so a 1 MiB value
 * is checked by reading its length only. Objects reject unknown fields, integers must be
 * safe and within range, strings are measured in UTF-8 bytes (the unit our limits use),
 * byte strings and arrays by count. A failure throws ShoalError('DECODE', 'field o.e[3][1]:
 * expected unsigned integer') naming the path that failed; byte strings marked as values
 * throw TOO_LARGE instead, so the API can answer 413 for an oversized value.
 *
 * The path is kept as a stack of segments and only turned into a string when something
 * fails, so a valid frame pays nothing for good error messages.
 */
import { ShoalError } from '../errors/index.js';

/** Path segments from the root to the value being checked. */
export type Path = Array<string | number>;

export interface Schema<T> {
  /** Checks `v` (at `path`), returns it typed, or throws ShoalError. */
  check(v: unknown, path: Path): T;
  /** Set by `opt`: an absent (or undefined) field is accepted. */
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Longest field name quoted in an error: a hostile frame's 100 KB key must not make a 100 KB message. */
const segmentCharsMax = 40;

export function formatPath(path: Path): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else {
      const name = seg.length > segmentCharsMax ? `${seg.slice(0, segmentCharsMax)}…` : seg;
      s += s === '' ? name : `.${name}`;
    }
  }
  return s === '' ? '(frame)' : s;
}

export function schemaError(path: Path, message: string, code: 'DECODE' | 'TOO_LARGE' = 'DECODE'): never {
  const field = formatPath(path);
  throw new ShoalError(code, `field ${field}: ${message}`, { details: { field } });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'byte string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/**
 * UTF-8 length of a JS string, or -1 if it holds a lone surrogate (which cannot be sent
 * as UTF-8 and would not survive a round trip).
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return -1;
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else n += 3;
  }
  return n;
}

// ---------------------------------------------------------------- primitives

export function lit<const L extends string>(value: L): Schema<L> {
  return {
    check(v, path) {
      if (v !== value) schemaError(path, `expected "${value}"`);
      return value;
    },
  };
}

/** A boolean. */
export function bool(): Schema<boolean> {
  return {
    check(v, path) {
      if (typeof v !== 'boolean') schemaError(path, `expected boolean, got ${describe(v)}`);
      return v;
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const L extends string>(...values: L[]): Schema<L> {
  const set = new Set<string>(values);
  return {
    check(v, path) {
      if (typeof v !== 'string' || !set.has(v)) schemaError(path, `expected one of ${values.join(', ')}`);
      return v as L;
    },
  };
}

/** A safe unsigned integer in [min, max] (defaults: 0 and Number.MAX_SAFE_INTEGER). */
export function uint(range: { min?: number; max?: number } = {}): Schema<number> {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  return {
    check(v, path) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) schemaError(path, `expected unsigned integer, got ${describe(v)}`);
      if (v < min || v > max) schemaError(path, `${v} is outside ${min}..${max}`);
      return v;
    },
  };
}

/** A string of `min`..`max` UTF-8 bytes (min defaults to 0). */
export function str(max: number, options: { min?: number } = {}): Schema<string> {
  const min = options.min ?? 0;
  return {
    check(v, path) {
      if (typeof v !== 'string') schemaError(path, `expected text string, got ${describe(v)}`);
      // Always measured in full: a length-only shortcut would let a lone surrogate
      // (which has no UTF-8 form) through in a locally built message.
      const n = utf8Length(v);
      if (n < 0) schemaError(path, 'text string holds a lone surrogate');
      if (n < min || n > max) schemaError(path, `text string is ${n} bytes; expected ${min}..${max}`);
      return v;
    },
  };
}

/**
 * A byte string of at most `max` bytes. With `value: true` an overlong one is TOO_LARGE
 * (a user's value over --max-value-bytes), otherwise DECODE.
 */
export function bytes(max: number, options: { value?: boolean } = {}): Schema<Uint8Array> {
  const code = options.value === true ? 'TOO_LARGE' : 'DECODE';
  return {
    check(v, path) {
      if (!(v instanceof Uint8Array)) schemaError(path, `expected byte string, got ${describe(v)}`);
      if (v.length > max) schemaError(path, `byte string is ${v.length} bytes; the limit is ${max}`, code);
      return v;
    },
  };
}

// ---------------------------------------------------------------- combinators

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    check(v, path) {
      return v === null ? null : inner.check(v, path);
    },
  };
}

/** An optional field of an `obj`: absent or undefined is accepted. */
export function opt<T>(inner: Schema<T>): Schema<T | undefined> & { readonly optional: true } {
  return {
    optional: true,
    check(v, path) {
      return v === undefined ? undefined : inner.check(v, path);
    },
  };
}

/** The first schema whose value kind matches decides; the error is the last alternative's. */
export function alt<A, B>(a: Schema<A>, pickA: (v: unknown) => boolean, b: Schema<B>): Schema<A | B> {
  return {
    check(v, path) {
      return pickA(v) ? a.check(v, path) : b.check(v, path);
    },
  };
}

/** An array of at most `max` items, each checked by `item`. */
export function arr<T>(item: Schema<T>, max: number): Schema<T[]> {
  return {
    check(v, path) {
      if (!Array.isArray(v)) schemaError(path, `expected array, got ${describe(v)}`);
      if (v.length > max) schemaError(path, `array has ${v.length} items; the limit is ${max}`);
      const depth = path.length;
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        item.check(v[i], path);
        path.length = depth;
      }
      return v as T[];
    },
  };
}

type TupleOf<S extends readonly Schema<unknown>[]> = { -readonly [K in keyof S]: Infer<S[K]> };

/** A fixed-length array whose positions have their own schemas. */
export function tuple<const S extends readonly Schema<unknown>[]>(...items: S): Schema<TupleOf<S>> {
  return {
    check(v, path) {
      if (!Array.isArray(v)) schemaError(path, `expected array, got ${describe(v)}`);
      if (v.length !== items.length) schemaError(path, `expected ${items.length} items, got ${v.length}`);
      const depth = path.length;
      for (let i = 0; i < items.length; i++) {
        path.push(i);
        items[i]!.check(v[i], path);
        path.length = depth;
      }
      return v as TupleOf<S>;
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { readonly optional: true } ? K : never }[keyof S];
type ObjOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
};

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A map with exactly the fields of `shape` (optional ones may be absent); unknown fields are rejected. */
export function obj<const S extends Shape>(shape: S): Schema<ObjOf<S>> {
  const names = Object.keys(shape);
  const known = new Set(names);
  return {
    check(v, path) {
      if (!isPlainObject(v)) schemaError(path, `expected map, got ${describe(v)}`);
      for (const k in v) {
        if (!known.has(k)) {
          path.push(k);
          schemaError(path, 'unknown field');
        }
      }
      const depth = path.length;
      for (const name of names) {
        const field = shape[name]!;
        path.push(name);
        const value = Object.hasOwn(v, name) ? v[name] : undefined;
        if (value === undefined && field.optional !== true) schemaError(path, 'missing');
        field.check(value, path);
        path.length = depth;
      }
      return v as ObjOf<S>;
    },
  };
}

/**
 * A union of maps told apart by their `t` field. The lookup table has no prototype, so a
 * `t` of "constructor" or "__proto__" finds nothing rather than Object's own properties.
 */
export function tagged<T extends { t: string }>(schemas: { [K in T['t']]: Schema<Extract<T, { t: K }>> }): Schema<T> {
  const table = Object.assign(Object.create(null) as Record<string, Schema<T> | undefined>, schemas);
  const names = Object.keys(schemas).join(', ');
  return {
    check(v, path) {
      if (!isPlainObject(v)) schemaError(path, `expected map, got ${describe(v)}`);
      const t = Object.hasOwn(v, 't') ? v.t : undefined;
      if (typeof t !== 'string') schemaError([...path, 't'], `expected message type (text string), got ${describe(t)}`);
      const schema = table[t];
      if (schema === undefined) schemaError([...path, 't'], `unknown message type "${t.slice(0, 32)}"; expected one of ${names}`);
      return schema.check(v, path);
    },
  };
}

/** A schema with an extra check after the structural one (e.g. sortedness). */
export function refine<T>(inner: Schema<T>, extra: (v: T, path: Path) => void): Schema<T> {
  return {
    optional: inner.optional,
    check(v, path) {
      const out = inner.check(v, path);
      extra(out, path);
      return out;
    },
  } as Schema<T>;
}
