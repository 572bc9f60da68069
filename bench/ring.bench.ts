/**
 * Micro-benchmark of the ring: the request path (hash a key, take its partition, fetch
 * the cached preference list from a RingIndex) and the membership path (claim for a
 * fresh ring and for a join, at Q = 64 and Q = 256). The work is fixed (keys and member
 * sets are deterministic, iteration counts are constants); only elapsed time, measured
 * with performance.now(), varies. `run()` returns the numbers by name.
 */
import { RingIndex, claim, hashKey, partitionOf } from '../src/ring/index.js';
import type { RingState } from '../src/ring/index.js';

const LOOKUPS = 500_000;
const CLAIMS = 50;
const N = 3;

function members(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.0.0.${i + 1}:7070`);
}

function opsPerSecond(iterations: number, body: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 10_000); i++) body(i);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) body(i);
  return Math.round(iterations / ((performance.now() - t0) / 1000));
}

function msPerCall(iterations: number, body: (i: number) => void): number {
  body(0);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) body(i);
  return Number(((performance.now() - t0) / iterations).toFixed(3));
}

export async function run(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const keys = Array.from({ length: 4096 }, (_, i) => `user:${i * 7919}:profile`);
  let sink = 0;
  out['ring.hashKey ops/s'] = opsPerSecond(LOOKUPS, (i) => {
    sink ^= hashKey(keys[i & 4095]!).hi;
  });
  for (const q of [64, 256]) {
    const ring = claim(undefined, members(8), { partitions: q, n: N, claimant: 'bench' });
    const index = new RingIndex(ring, N);
    out[`ring.lookup Q=${q} ops/s`] = opsPerSecond(LOOKUPS, (i) => {
      sink ^= index.preferenceList(partitionOf(keys[i & 4095]!, q)).primaries.length;
    });
    out[`ring.claim fresh Q=${q} S=8 ms`] = msPerCall(CLAIMS, () => {
      sink ^= claim(undefined, members(8), { partitions: q, n: N, claimant: 'bench' }).version;
    });
    // A join and a leave on a ten-node ring: the incremental search.
    const ten: RingState = claim(undefined, members(10), { partitions: q, n: N, claimant: 'bench' });
    out[`ring.claim join Q=${q} S=10 ms`] = msPerCall(CLAIMS, () => {
      sink ^= claim(ten, members(11), { partitions: q, n: N, claimant: 'bench' }).version;
    });
    out[`ring.claim leave Q=${q} S=10 ms`] = msPerCall(CLAIMS, () => {
      sink ^= claim(ten, members(10).slice(1), { partitions: q, n: N, claimant: 'bench' }).version;
    });
  }
  if (sink === 0.5) console.log(sink); // keeps the work observable
  return out;
}

// Run directly: node dist-bench/bench/ring.bench.js
if (typeof process !== 'undefined' && process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  run().then((r) => console.log(r));
}
