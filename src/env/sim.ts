import type { Clock, Random, TimerHandle, Timers } from './types.js';

/**
 * Deterministic pseudo-random numbers: xoshiro128** seeded through splitmix32. Fast,
 * small state, and the same seed gives the same sequence on every platform.
 */
export class SeededRandom implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  float(): number {
    return this.u32() / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }

  /** An independent stream derived from this one (e.g. one per simulated node). */
  fork(): SeededRandom {
    return new SeededRandom(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

interface SimHandle extends TimerHandle {
  id: number;
}

interface Scheduled {
  at: number;
  seq: number;
  id: number;
  fn: () => void;
}

/**
 * Simulated time: a priority queue of callbacks ordered by (time, insertion order).
 * Time advances only when `runUntil`/`step` is called, so a run is a pure function of its
 * inputs and seed.
 */
export class SimScheduler {
  private time = 0;
  private seq = 0;
  private heap: Scheduled[] = [];
  private cancelled = new Set<number>();

  get now(): number {
    return this.time;
  }

  get pending(): number {
    return this.heap.length - this.cancelled.size;
  }

  schedule(delayMs: number, fn: () => void): number {
    const id = ++this.seq;
    heapPush(this.heap, { at: this.time + Math.max(0, delayMs), seq: id, id, fn });
    return id;
  }

  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /** Runs the next due callback; returns false when nothing is scheduled. */
  step(): boolean {
    for (;;) {
      const next = heapPop(this.heap);
      if (!next) return false;
      if (this.cancelled.delete(next.id)) continue;
      this.time = next.at;
      next.fn();
      return true;
    }
  }

  /** Runs every callback due at or before `t`, then sets the time to `t`. */
  runUntil(t: number): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > t) break;
      heapPop(this.heap);
      if (this.cancelled.delete(top.id)) continue;
      this.time = top.at;
      top.fn();
    }
    if (t > this.time) this.time = t;
  }

  /** Advances time by `ms`, running everything that falls due. */
  advance(ms: number): void {
    this.runUntil(this.time + ms);
  }
}

function less(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function heapPush(h: Scheduled[], x: Scheduled): void {
  h.push(x);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const parent = h[p]!;
    if (!less(x, parent)) break;
    h[i] = parent;
    i = p;
  }
  h[i] = x;
}

function heapPop(h: Scheduled[]): Scheduled | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    let mv: Scheduled = last;
    if (l < h.length && less(h[l]!, mv)) {
      m = l;
      mv = h[l]!;
    }
    if (r < h.length && less(h[r]!, mv)) {
      m = r;
      mv = h[r]!;
    }
    if (m === i) break;
    h[i] = mv;
    i = m;
  }
  h[i] = last;
  return top;
}

/** A simulated node's clock: the scheduler's time plus a per-node skew (wall clock only). */
export class SimClock implements Clock {
  constructor(
    private readonly scheduler: SimScheduler,
    public skewMs = 0,
    private readonly epochMs = 1_700_000_000_000,
  ) {}
  now(): number {
    return this.epochMs + this.scheduler.now + this.skewMs;
  }
  monotonic(): number {
    return this.scheduler.now;
  }
}

export class SimTimers implements Timers {
  constructor(private readonly scheduler: SimScheduler) {}
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return { __timer: true, id: this.scheduler.schedule(ms, fn) } as SimHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.scheduler.cancel((handle as SimHandle).id);
  }
}
