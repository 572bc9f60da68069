import { TokenBucket } from './token-bucket.js';

export interface HandoffConfig {
  readonly batchMax: number;
  readonly keysPerSecond: number;
  readonly burstKeys: number;
  readonly targetsConcurrentMax: number;
  readonly retryMs: number;
  readonly retryMaxMs: number;
}

/** Permission to deliver up to `keys` hints to `target` now. */
export interface HandoffGrant {
  readonly target: string;
  readonly keys: number;
}

interface TargetState {
  busy: boolean;
  failures: number;
  notBefore: number;
}

/**
 * Decides which targets get a delivery batch now. Pure: the node reports pending hint
 * counts and reachability at each tick and the outcome of each batch.
 *
 * Order: targets with the most pending hints first (they are the furthest behind), ties
 * by id so the choice is deterministic; a target that failed waits `retryMs`, doubling
 * per consecutive failure up to `retryMaxMs`.
 */
export class HandoffScheduler {
  private readonly targets = new Map<string, TargetState>();
  private readonly bucket: TokenBucket;

  constructor(
    private readonly config: HandoffConfig,
    now: number,
  ) {
    this.bucket = new TokenBucket(config.keysPerSecond, config.burstKeys, now);
  }

  /**
   * `pending`: hints per target; `reachable`: whether a target may be sent to now.
   * Returns the batches to start. Each must be finished with `done` or `failed`.
   */
  tick(pending: ReadonlyMap<string, number>, reachable: (target: string) => boolean, now: number): HandoffGrant[] {
    let busy = 0;
    for (const s of this.targets.values()) if (s.busy) busy++;
    const candidates = [...pending]
      .filter(([t, count]) => count > 0 && reachable(t))
      .filter(([t]) => {
        const s = this.targets.get(t);
        return !s || (!s.busy && now >= s.notBefore);
      })
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const grants: HandoffGrant[] = [];
    for (const [target, count] of candidates) {
      if (busy >= this.config.targetsConcurrentMax) break;
      const keys = this.bucket.take(Math.min(count, this.config.batchMax), now);
      if (keys === 0) break;
      const s = this.state(target);
      s.busy = true;
      busy++;
      grants.push({ target, keys });
    }
    // Forget targets with nothing pending so the map stays as small as the hint set.
    for (const [t, s] of this.targets) if (!s.busy && s.failures === 0 && !pending.get(t)) this.targets.delete(t);
    return grants;
  }

  /** A batch finished; `delivered` keys were acknowledged, the rest of the grant is refunded. */
  done(target: string, granted: number, delivered: number): void {
    const s = this.state(target);
    s.busy = false;
    s.failures = 0;
    s.notBefore = 0;
    if (granted > delivered) this.bucket.refund(granted - delivered);
  }

  /** A batch failed (the target did not answer); back off before the next. */
  failed(target: string, granted: number, delivered: number, now: number): void {
    const s = this.state(target);
    s.busy = false;
    s.failures++;
    s.notBefore = now + Math.min(this.config.retryMs * 2 ** (s.failures - 1), this.config.retryMaxMs);
    if (granted > delivered) this.bucket.refund(granted - delivered);
  }

  private state(target: string): TargetState {
    let s = this.targets.get(target);
    if (!s) {
      s = { busy: false, failures: 0, notBefore: 0 };
      this.targets.set(target, s);
    }
    return s;
  }
}
