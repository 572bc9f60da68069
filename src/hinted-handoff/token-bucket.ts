/**
 * A token bucket on an injected clock: `rate` tokens per second, at most `burst` saved up.
 * Used to throttle background work (handoff, anti-entropy, transfers).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
  }

  /** Takes up to `want` whole tokens; returns how many were granted. */
  take(want: number, now: number): number {
    this.refill(now);
    const granted = Math.max(0, Math.min(want, Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  /** Gives back tokens that were granted but not used. */
  refund(count: number): void {
    this.tokens = Math.min(this.burst, this.tokens + count);
  }

  available(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }
}
