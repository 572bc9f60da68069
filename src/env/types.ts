/**
 * The injected environment. Protocol cores never read the time, start a timer or draw a
 * random number themselves: the node hands them these interfaces (or just `now`), so the
 * same code runs on real time in production and on simulated time in `src/sim`.
 */

/** Time source. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (shifted by `--clock-offset-ms`). Used for timestamps that travel (pruning ages, hint ages). */
  now(): number;
  /** Monotonic milliseconds from an arbitrary origin. Used for timeouts and latency; never jumps. */
  monotonic(): number;
}

export interface TimerHandle {
  readonly __timer: true;
}

/** Deferred work. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Randomness. Seeded in the simulator, so every draw is reproducible. */
export interface Random {
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** `n` random bytes (cryptographically strong in production; seeded in the simulator). */
  bytes(n: number): Uint8Array;
}

/** Everything a node needs from its surroundings, in one bundle. */
export interface Env {
  clock: Clock;
  timers: Timers;
  random: Random;
}
