/**
 * Micro-benchmark of the dvvset hot paths, on clocks shaped like production ones: 3
 * replica actors, 1 to 3 siblings of 1 KiB each. The work done is fixed (fixture states
 * are built deterministically, iteration counts are constants); only the elapsed time,
 * measured with performance.now(), varies. `run()` returns operations per second by name;
 * the bench runner prints them.
 */
import {
  decodeContext,
  encodeContext,
  fresh,
  fromWire,
  join,
  sync,
  toWire,
  update,
  type DVVSet,
  type Sibling,
} from '../src/vclock/index.js';

const ACTORS = ['10.0.0.1:7070#1', '10.0.0.2:7070#1', '10.0.0.3:7070#1'] as const;
const VALUE_BYTES = 1024;
const ITERATIONS = 20_000;
const WARMUP = 2_000;

function value(i: number, ts: number): Sibling {
  const bytes = new Uint8Array(VALUE_BYTES);
  bytes.fill(i & 255);
  return { value: bytes, ts };
}

/**
 * Deterministic fixture states: replica i has taken `writes` writes, some with the
 * context of an earlier read (so siblings come and go), and each write is then synced to the next replica in a ring. The result holds 1 to 3 siblings.
 */
function fixtures(): DVVSet[] {
  const states: DVVSet[] = ACTORS.map(() => ({ entries: [], anon: [] }));
  let t = 1_700_000_000_000;
  for (let step = 0; step < 30; step++) {
    const r = step % ACTORS.length;
    const local = states[r] as DVVSet;
    // every fifth write is blind; the rest carry the context of a read from the next replica
    const context = step % 5 === 0 ? [] : join(states[(r + 1) % ACTORS.length] as DVVSet);
    states[r] = update(fresh(context, value(step, t)), local, ACTORS[r] as string, t);
    states[(r + 1) % ACTORS.length] = sync(states[(r + 1) % ACTORS.length] as DVVSet, states[r] as DVVSet);
    t += 5;
  }
  return states;
}

function measure(iterations: number, op: (i: number) => unknown): number {
  let sink: unknown;
  for (let i = 0; i < WARMUP; i++) sink = op(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) sink = op(i);
  const ms = performance.now() - start;
  if (sink === Symbol.for('never')) console.log(sink); // keeps the result observable
  return Math.round((iterations * 1000) / ms);
}

export async function run(): Promise<Record<string, number>> {
  const states = fixtures();
  const at = (i: number) => states[i % states.length] as DVVSet;
  const proposals = states.map((s, i) => fresh(join(s), value(100 + i, 1_700_000_001_000)));
  const tokens = states.map((s) => encodeContext(join(s)));
  const wires = states.map(toWire);
  // The same replicas one write later, each through a different actor: what a replica
  // receives in read repair or anti-entropy, so sync has real merging to do.
  const later = states.map((s, i) => update(proposals[i] as DVVSet, s, ACTORS[(i + 1) % ACTORS.length] as string, 1_700_000_001_000));
  return {
    'vclock.update ops/s': measure(ITERATIONS, (i) =>
      update(proposals[i % proposals.length] as DVVSet, at(i + 1), ACTORS[i % ACTORS.length] as string, 1_700_000_002_000 + i),
    ),
    'vclock.sync ops/s': measure(ITERATIONS, (i) => sync(at(i), later[(i + 1) % later.length] as DVVSet)),
    'vclock.encodeContext ops/s': measure(ITERATIONS, (i) => encodeContext(join(at(i)))),
    'vclock.decodeContext ops/s': measure(ITERATIONS, (i) => decodeContext(tokens[i % tokens.length] as string)),
    'vclock.fromWire ops/s': measure(ITERATIONS, (i) => fromWire(wires[i % wires.length]!)),
  };
}

// Run directly: node dist-bench/bench/vclock.bench.js
if (typeof process !== 'undefined' && process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  run().then((r) => console.log(r));
}
