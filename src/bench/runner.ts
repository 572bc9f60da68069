/**
 * The load loop: `concurrency` workers, each issuing one request at a time until the
 * deadline, so exactly that many requests are in flight (a closed loop, like
 * basho_bench's workers and cassandra-stress's threads). Latency is measured from just
 * before the driver call to its settlement, on the injected monotonic clock.
 */
import {
  benchContextCacheEntriesMax,
  benchDrainMsMax,
  benchErrorCodesMax,
  benchProgressIntervalMs,
} from '../config/index.js';
import type { Clock, Random, Timers } from '../env/index.js';
import { ShoalError } from '../errors/index.js';
import { decodeContext, encodeContext, joinVectors } from '../vclock/index.js';
import { Histogram, type HistogramSummary } from './histogram.js';
import { keyName, keySampler, MixSampler, OPERATIONS, type Distribution, type Mix, type Operation } from './workload.js';

/** What the generator needs from a store. `context` is Shoal's causal context; drivers for stores without one return null. */
export interface BenchDriver {
  readonly name: string;
  get(key: string): Promise<{ found: boolean; context: string | null }>;
  put(key: string, value: Uint8Array, context: string | null): Promise<{ context: string | null }>;
  delete(key: string, context: string | null): Promise<void>;
  close(): Promise<void>;
  /** The SDK's account of its gets (direct reads of R owners, or through a coordinator). */
  readStats?(): { directReads: number; directFallbacks: number };
}

export interface LoadOptions {
  driver: BenchDriver;
  clock: Clock;
  timers: Timers;
  random: Random;
  mix: Mix;
  keys: number;
  dist: Distribution;
  valueBytes: number;
  concurrency: number;
  durationMs: number;
  /** Requests before this much time has passed are issued but not recorded (JIT, connections, caches). */
  warmupMs?: number;
  /** Stops after this many recorded operations even if time remains (for tests and quick runs). */
  opsMax?: number;
  /**
   * The causal context last seen per key, shared with the caller so that a series of runs
   * against the same data (rounds, a preload) behaves as one writer per key throughout:
   * a fresh map per run would send each key's first put of every run without a context,
   * adding a sibling every time, and objects would grow from run to run. Bounded by
   * benchContextCacheEntriesMax. A run of its own uses a map of its own.
   */
  contexts?: Map<string, string>;
  /** Called about once a second with the interval's figures. */
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
}

export interface Progress {
  elapsedMs: number;
  /** Operations completed in the interval, per second. */
  opsPerSec: number;
  /** p99 of the interval, microseconds. */
  p99Us: number;
  totalOps: number;
  totalErrors: number;
}

export interface OpResult {
  ok: number;
  errors: number;
  /** Gets (and the read half of delete/rmw) that found nothing live. */
  notFound: number;
  /** Latency of successful operations, microseconds. */
  latencyUs: HistogramSummary;
}

export interface LoadResult {
  driver: string;
  elapsedMs: number;
  concurrency: number;
  totalOps: number;
  totalErrors: number;
  opsPerSec: number;
  ops: Partial<Record<Operation, OpResult>>;
  /** Error counts by code (ShoalError codes, Node error codes such as ECONNREFUSED, or OTHER). */
  errors: Record<string, number>;
  /** The raw histograms, for merging across rounds. */
  histograms: Partial<Record<Operation, Histogram>>;
}

function errorCode(err: unknown): string {
  if (err instanceof ShoalError) return err.code;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return 'OTHER';
}

/** Runs the load; resolves when the deadline has passed and every request has settled (or the drain bound expired). */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const mixer = new MixSampler(o.mix, o.random);
  const keys = keySampler(o.dist, o.keys, o.random);
  const value = o.random.bytes(o.valueBytes);
  const contexts = o.contexts ?? new Map<string, string>();
  const remember = (key: string, ctx: string | null): void => {
    if (ctx === null) contexts.delete(key);
    else if (contexts.has(key) || contexts.size < benchContextCacheEntriesMax) contexts.set(key, ctx);
  };
  /**
   * A put answers with the context of the version it wrote, which does not cover a write
   * of the same key that another worker made meanwhile. The generator is one writer that
   * saw both, so it keeps the join of the two: otherwise the other version would stay a
   * sibling for good in a put-only run, and hot keys (zipf) would pile up siblings.
   */
  const rememberWrite = (key: string, sent: string | undefined, ctx: string | null): void => {
    const now = contexts.get(key);
    if (ctx === null || now === undefined || now === sent) return remember(key, ctx);
    let joined = ctx;
    try {
      joined = encodeContext(joinVectors(decodeContext(now), decodeContext(ctx)));
    } catch {
      // Not Shoal's tokens (a test double): keep the newest, as before.
    }
    remember(key, joined);
  };
  const hist: Record<Operation, Histogram> = { put: new Histogram(), get: new Histogram(), delete: new Histogram(), rmw: new Histogram() };
  const counts: Record<Operation, { ok: number; errors: number; notFound: number }> = {
    put: { ok: 0, errors: 0, notFound: 0 },
    get: { ok: 0, errors: 0, notFound: 0 },
    delete: { ok: 0, errors: 0, notFound: 0 },
    rmw: { ok: 0, errors: 0, notFound: 0 },
  };
  const errors: Record<string, number> = {};
  const interval = new Histogram();
  let intervalOps = 0;
  let totalOps = 0;
  let totalErrors = 0;

  const start = o.clock.monotonic();
  const warmEnd = start + (o.warmupMs ?? 0);
  const end = warmEnd + o.durationMs;
  let recordStart = o.warmupMs ? Infinity : start;
  let stopped = false;

  async function one(op: Operation): Promise<{ notFound: boolean }> {
    const key = keyName(keys.next());
    switch (op) {
      case 'get': {
        const r = await o.driver.get(key);
        remember(key, r.context);
        return { notFound: !r.found };
      }
      case 'put': {
        const sent = contexts.get(key);
        const r = await o.driver.put(key, value, sent ?? null);
        rememberWrite(key, sent, r.context);
        return { notFound: false };
      }
      case 'rmw': {
        // Read, then write back with the read's context: the new value supersedes what was read.
        const sent = contexts.get(key);
        const r = await o.driver.get(key);
        const w = await o.driver.put(key, value, r.context);
        rememberWrite(key, sent, w.context);
        return { notFound: !r.found };
      }
      case 'delete': {
        // A delete only removes what its context covers, so it reads first (timed together).
        const r = await o.driver.get(key);
        await o.driver.delete(key, r.context);
        contexts.delete(key);
        return { notFound: !r.found };
      }
    }
  }

  async function worker(): Promise<void> {
    while (!stopped) {
      const t0 = o.clock.monotonic();
      if (t0 >= end) break;
      const op = mixer.next();
      let failed: unknown = null;
      let notFound = false;
      try {
        notFound = (await one(op)).notFound;
      } catch (err) {
        failed = err;
      }
      const t1 = o.clock.monotonic();
      if (t0 < warmEnd) continue;
      if (recordStart === Infinity) recordStart = t0;
      if (stopped) break;
      const c = counts[op];
      if (failed === null) {
        const us = (t1 - t0) * 1000;
        hist[op].record(us);
        interval.record(us);
        c.ok += 1;
        if (notFound) c.notFound += 1;
      } else {
        c.errors += 1;
        totalErrors += 1;
        let code = errorCode(failed);
        if (!Object.hasOwn(errors, code) && Object.keys(errors).length >= benchErrorCodesMax) code = 'OTHER';
        errors[code] = (errors[code] ?? 0) + 1;
      }
      totalOps += 1;
      intervalOps += 1;
      if (o.opsMax !== undefined && totalOps >= o.opsMax) stopped = true;
    }
  }

  const every = o.progressIntervalMs ?? benchProgressIntervalMs;
  let lastTick = start;
  let ticker: ReturnType<Timers['setTimeout']> | null = null;
  const tick = (): void => {
    const now = o.clock.monotonic();
    if (o.onProgress !== undefined && now >= warmEnd) {
      o.onProgress({
        elapsedMs: now - Math.min(now, recordStart === Infinity ? now : recordStart),
        opsPerSec: intervalOps / Math.max(0.001, (now - lastTick) / 1000),
        p99Us: interval.percentile(99),
        totalOps,
        totalErrors,
      });
    }
    interval.reset();
    intervalOps = 0;
    lastTick = now;
    ticker = stopped ? null : o.timers.setTimeout(tick, every);
  };
  ticker = o.timers.setTimeout(tick, every);

  const workers = Array.from({ length: o.concurrency }, () => worker());
  // Workers stop issuing at the deadline; those still waiting get at most benchDrainMsMax
  // more (their requests carry a timeout of their own), then the run ends without them.
  let drainTimer: ReturnType<Timers['setTimeout']> | null = null;
  const drained = new Promise<void>((resolve) => {
    const arm = (): void => {
      const left = end - o.clock.monotonic();
      drainTimer = o.timers.setTimeout(left > 0 && !stopped ? arm : () => resolve(), left > 0 && !stopped ? Math.min(left, 1_000) : benchDrainMsMax);
    };
    arm();
  });
  await Promise.race([Promise.all(workers), drained]);
  stopped = true;
  if (drainTimer !== null) o.timers.clearTimeout(drainTimer);
  if (ticker !== null) o.timers.clearTimeout(ticker);

  const finished = o.clock.monotonic();
  const elapsedMs = Math.max(0.001, Math.min(finished, end) - (recordStart === Infinity ? finished : recordStart));
  const ops: Partial<Record<Operation, OpResult>> = {};
  const histograms: Partial<Record<Operation, Histogram>> = {};
  for (const op of OPERATIONS) {
    const c = counts[op];
    if (c.ok + c.errors === 0) continue;
    ops[op] = { ok: c.ok, errors: c.errors, notFound: c.notFound, latencyUs: hist[op].summary() };
    histograms[op] = hist[op];
  }
  return {
    driver: o.driver.name,
    elapsedMs,
    concurrency: o.concurrency,
    totalOps,
    totalErrors,
    opsPerSec: totalOps / (elapsedMs / 1000),
    ops,
    errors,
    histograms,
  };
}
