/**
 * What the generator asks for: the operation mix and the key distribution.
 */
import { benchKeysMax, benchZipfExponent } from '../config/index.js';
import type { Random } from '../env/index.js';
import { ShoalError } from '../errors/index.js';

export const OPERATIONS = ['put', 'get', 'delete', 'rmw'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Relative weights of each operation; they need not add up to 100. */
export type Mix = Record<Operation, number>;

/** Parses `put=50,get=50` (also `del` for delete, `update` for rmw). Unknown names, negative or all-zero weights are INVALID_CONFIG. */
export function parseMix(raw: string): Mix {
  const mix: Mix = { put: 0, get: 0, delete: 0, rmw: 0 };
  const aliases: Record<string, Operation> = { put: 'put', get: 'get', delete: 'delete', del: 'delete', rmw: 'rmw', update: 'rmw' };
  for (const part of raw.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\d{1,6})\s*$/.exec(part);
    const op = m === null ? undefined : aliases[m[1] ?? ''];
    if (m === null || op === undefined || !Object.hasOwn(aliases, m[1] ?? '')) {
      throw new ShoalError('INVALID_CONFIG', `--mix: '${part}' is not OP=WEIGHT with OP one of put, get, delete, rmw`);
    }
    mix[op] += Number(m[2]);
  }
  if (OPERATIONS.every((op) => mix[op] === 0)) throw new ShoalError('INVALID_CONFIG', '--mix: every weight is 0');
  return mix;
}

export function formatMix(mix: Mix): string {
  return OPERATIONS.filter((op) => mix[op] > 0)
    .map((op) => `${op}=${mix[op]}`)
    .join(',');
}

/** Draws operations by weight. */
export class MixSampler {
  private readonly cumulative: number[] = [];
  private readonly total: number;
  constructor(mix: Mix, private readonly random: Random) {
    let sum = 0;
    for (const op of OPERATIONS) {
      sum += mix[op];
      this.cumulative.push(sum);
    }
    this.total = sum;
  }
  next(): Operation {
    const x = this.random.float() * this.total;
    for (let i = 0; i < OPERATIONS.length; i++) if (x < this.cumulative[i]!) return OPERATIONS[i]!;
    return OPERATIONS[OPERATIONS.length - 1]!;
  }
}

export type Distribution = 'uniform' | 'zipf';

export interface KeySampler {
  /** A key index in [0, keys). */
  next(): number;
}

export function uniformKeys(keys: number, random: Random): KeySampler {
  return { next: () => random.int(keys) };
}

/**
 * Zipf over ranks 1..keys with P(rank k) proportional to 1/k^s (YCSB's zipfian). The
 * cumulative distribution is tabulated once (one float64 per key) and searched by
 * bisection. Ranks are scattered over the key space by multiplying with a prime coprime
 * to it (YCSB's "scrambled" zipfian), so the hot keys land on different partitions
 * rather than on the first few keys of one.
 */
export function zipfKeys(keys: number, random: Random, exponent = benchZipfExponent): KeySampler {
  const cdf = new Float64Array(keys);
  let sum = 0;
  for (let k = 0; k < keys; k++) {
    sum += 1 / (k + 1) ** exponent;
    cdf[k] = sum;
  }
  const prime = 1_000_003;
  const scatter = keys % prime === 0 ? 1 : prime;
  return {
    next: () => {
      const x = random.float() * sum;
      let lo = 0;
      let hi = keys - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid]! > x) hi = mid;
        else lo = mid + 1;
      }
      return (lo * scatter) % keys;
    },
  };
}

export function keySampler(dist: Distribution, keys: number, random: Random): KeySampler {
  if (!Number.isInteger(keys) || keys < 1 || keys > benchKeysMax) throw new ShoalError('INVALID_CONFIG', `keys must be 1..${benchKeysMax} (got ${keys})`);
  return dist === 'zipf' ? zipfKeys(keys, random) : uniformKeys(keys, random);
}

/** The key for an index: fixed width so every key has the same size. */
export function keyName(index: number): string {
  return `bench:${index.toString().padStart(8, '0')}`;
}
