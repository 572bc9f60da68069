/**
 * Route-flap damping (RFC 2439, as BGP routers do it) for member liveness. Each fall from
 * up adds a fixed penalty; the penalty decays exponentially with a half-life. When it
 * reaches the suppress threshold the member's return to up is held back until the
 * penalty has decayed below the reuse threshold. The penalty is capped so that no member
 * stays suppressed longer than `suppressMaxMs` after its last fall.
 *
 * State is two numbers and a flag, and every function takes `now`: no timers.
 */

export interface DampingConfig {
  flapPenalty: number;
  flapSuppressThreshold: number;
  flapReuseThreshold: number;
  flapHalfLifeMs: number;
  flapSuppressMaxMs: number;
}

export interface Damping {
  /** Penalty as of `at`. */
  penalty: number;
  at: number;
  /** Set when the penalty reached the suppress threshold; cleared once it decays below reuse. */
  suppressed: boolean;
}

export function newDamping(now: number): Damping {
  return { penalty: 0, at: now, suppressed: false };
}

/** The penalty at `now`, decayed from its last update. */
export function penaltyAt(d: Damping, now: number, cfg: DampingConfig): number {
  const dt = Math.max(0, now - d.at);
  return d.penalty * Math.pow(2, -dt / cfg.flapHalfLifeMs);
}

/** Records one fall from up. */
export function addFall(d: Damping, now: number, cfg: DampingConfig): void {
  const ceiling = cfg.flapReuseThreshold * Math.pow(2, cfg.flapSuppressMaxMs / cfg.flapHalfLifeMs);
  d.penalty = Math.min(ceiling, penaltyAt(d, now, cfg) + cfg.flapPenalty);
  d.at = now;
  if (d.penalty >= cfg.flapSuppressThreshold) d.suppressed = true;
}

/** True while the member's return to up must wait; clears the flag once the penalty has decayed below reuse. */
export function isSuppressed(d: Damping, now: number, cfg: DampingConfig): boolean {
  if (d.suppressed && penaltyAt(d, now, cfg) < cfg.flapReuseThreshold) d.suppressed = false;
  return d.suppressed;
}
