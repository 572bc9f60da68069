import { ShoalError } from '../errors/index.js';

/**
 * Parses a quorum as clients write it (`1`..N, `one`, `quorum`, `all`) into a count.
 * `undefined` gives the node's default. Anything else is a BAD_REQUEST naming the parameter.
 */
export function parseQuorum(value: string | number | undefined, n: number, fallback: number, name: 'r' | 'w'): number {
  if (value === undefined) return fallback;
  if (value === 'one') return 1;
  if (value === 'quorum') return Math.floor(n / 2) + 1;
  if (value === 'all') return n;
  const num = typeof value === 'number' ? value : /^[0-9]{1,3}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(num) || num < 1 || num > n) {
    throw new ShoalError('BAD_REQUEST', `${name} must be 1..${n}, one, quorum or all; got ${JSON.stringify(value)}`);
  }
  return num;
}
