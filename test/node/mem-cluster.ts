import { afterEach } from 'vitest';
import { SeededRandom, SimClock, SimScheduler, SimTimers, type Clock } from '../../src/env/index.js';
import { MemoryBacking, MemoryEngine, ObjectStore, type Engine } from '../../src/store/index.js';
import { MemoryNetwork } from '../../src/transport/index.js';
import { ShoalNode } from '../../src/node/node.js';
import { silentLogger, type Logger } from '../../src/node/log.js';
import { liveSiblings, type DVVSet } from '../../src/vclock/index.js';

/** A value as the tests write them. */
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The live values of a stored object as sorted text ([] when absent). */
export function liveTexts(o: DVVSet | undefined): string[] {
  return o ? liveSiblings(o).map((x) => new TextDecoder().decode(x.value!)).sort() : [];
}

/**
 * Real ShoalNodes in one process for node-level scenario tests: a memory network, memory
 * engines and one simulated clock, N=3, R=W=2. Lighter than the simulator (no faults, no
 * checker): the test drives time with `settle` and inspects stores and nodes directly.
 */
export interface MemCluster {
  readonly sched: SimScheduler;
  readonly network: MemoryNetwork;
  readonly nodes: ShoalNode[];
  readonly stores: ObjectStore[];
  /** Advances simulated time by `ms` in 50 ms steps, letting promises run between them. */
  settle(ms: number): Promise<void>;
  /** Drives time until `p` settles (at most `ms` of simulated time), then returns it. */
  run<T>(p: Promise<T>, ms?: number): Promise<T>;
  stop(): Promise<void>;
}

export interface MemClusterOptions {
  readonly ids?: readonly string[];
  readonly partitions?: number;
  /** The engine of node i (default: a memory engine). */
  readonly engine?: (i: number) => Engine;
  /** The store of node i over its engine (default: ObjectStore). */
  readonly store?: (engine: Engine, options: { random: SeededRandom; clock: Clock }) => ObjectStore;
  readonly log?: (id: string) => Logger;
}

const drain = () => new Promise<void>((r) => setImmediate(r));

export async function memCluster(o: MemClusterOptions = {}): Promise<MemCluster> {
  const ids = o.ids ?? ['n1', 'n2', 'n3'];
  const q = o.partitions ?? 8;
  const sched = new SimScheduler();
  const network = new MemoryNetwork();
  const nodes: ShoalNode[] = [];
  const stores: ObjectStore[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const timers = new SimTimers(sched);
    const env = { clock: new SimClock(sched), timers, random: new SeededRandom(i + 1) };
    const engine = o.engine?.(i) ?? new MemoryEngine(new MemoryBacking());
    const storeOptions = { random: new SeededRandom(100 + i), clock: env.clock };
    const store = o.store ? o.store(engine, storeOptions) : new ObjectStore(engine, storeOptions);
    await store.open();
    stores.push(store);
    const address = `10.0.0.${i + 1}:7070`;
    nodes.push(
      new ShoalNode({
        id,
        address,
        n: 3,
        r: 2,
        w: 2,
        partitions: q,
        maxValueBytes: 1 << 20,
        seeds: ids.flatMap((x, j) => (x === id ? [] : [`10.0.0.${j + 1}:7070`])),
        env,
        store,
        transport: network.transport({ self: id, address, clusterParams: `n=3,q=${q}`, env: { timers } }),
        log: o.log?.(id) ?? silentLogger,
      }),
    );
  }
  await Promise.all(nodes.map((n) => n.start()));
  const settle = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      sched.advance(50);
      await drain();
    }
  };
  const run = async <T>(p: Promise<T>, ms = 10_000): Promise<T> => {
    let done = false;
    const out = p.finally(() => (done = true));
    for (let t = 0; t < ms && !done; t += 50) await settle(50);
    return out;
  };
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  };
  return { sched, network, nodes, stores, settle, run, stop };
}

/**
 * One memCluster per test, stopped after it: `const clusters = memClusterPerTest()` in a
 * describe block, then `const c = await clusters.start()` in each test.
 */
export function memClusterPerTest(): { start(o?: MemClusterOptions): Promise<MemCluster> } {
  let current: MemCluster | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return {
    async start(o?: MemClusterOptions): Promise<MemCluster> {
      current = await memCluster(o);
      return current;
    },
  };
}

/** `settle`s until every node's ring has all the cluster's nodes as owners (at most 20 s of simulated time); false if it never does. */
export async function ringAgreed(c: MemCluster): Promise<boolean> {
  const agreed = () => c.nodes.every((n) => new Set(n.routing().owners).size === c.nodes.length);
  for (let i = 0; i < 200 && !agreed(); i++) await c.settle(100);
  return agreed();
}
