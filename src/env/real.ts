import type { Clock, Env, Random, TimerHandle, Timers } from './types.js';

/** Production clock. `offsetMs` implements `--clock-offset-ms` for fault tests. */
export class RealClock implements Clock {
  constructor(private readonly offsetMs = 0) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
  monotonic(): number {
    return performance.now();
  }
}

interface RealHandle extends TimerHandle {
  t: ReturnType<typeof setTimeout>;
}

export class RealTimers implements Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    // Timers never keep the process alive on their own: shutdown is explicit.
    if (typeof t === 'object' && t !== null && 'unref' in t) (t as { unref(): void }).unref();
    return { __timer: true, t } as RealHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    clearTimeout((handle as RealHandle).t);
  }
}

/** Production randomness: crypto-strong bytes (nonces), Math.random for floats (jitter, sampling). */
export class RealRandom implements Random {
  float(): number {
    return Math.random();
  }
  int(maxExclusive: number): number {
    return Math.floor(Math.random() * maxExclusive);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    globalThis.crypto.getRandomValues(out);
    return out;
  }
}

export function realEnv(options: { clockOffsetMs?: number } = {}): Env {
  return { clock: new RealClock(options.clockOffsetMs ?? 0), timers: new RealTimers(), random: new RealRandom() };
}
