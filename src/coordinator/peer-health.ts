/**
 * Per-peer latency scores and circuit breakers, both fed by the outcomes of replica
 * requests. Pure: the caller passes `now` (monotonic ms).
 *
 * Latency: an exponentially weighted moving average of reply times per peer (Cassandra's
 * dynamic snitch keeps a similar score). Reads go to the lowest scores first.
 *
 * Circuit breaker: after `failuresToOpen` consecutive failures a peer's circuit opens and
 * the coordinator treats it as unreachable for `openMs`, so a dead peer costs no
 * timeouts; then one trial request is let through (half-open); its success closes the
 * circuit, its failure opens it again for twice as long (capped).
 */
export interface PeerHealthConfig {
  /** EWMA weight of a new sample (0..1]. */
  readonly latencyAlpha: number;
  /** Consecutive failures that open a circuit. */
  readonly failuresToOpen: number;
  /** First open period, ms. */
  readonly openMs: number;
  /** Longest open period, ms. */
  readonly openMaxMs: number;
}

interface PeerState {
  latencyMs: number;
  samples: number;
  failures: number;
  openUntil: number;
  openMs: number;
  trialInFlight: boolean;
}

export class PeerHealth {
  private readonly peers = new Map<string, PeerState>();

  constructor(
    private readonly config: PeerHealthConfig,
    private readonly peersMax: number,
  ) {}

  /** Records a reply that took `ms`. */
  success(peer: string, ms: number): void {
    const s = this.state(peer);
    if (!s) return;
    s.latencyMs = s.samples === 0 ? ms : s.latencyMs + this.config.latencyAlpha * (ms - s.latencyMs);
    s.samples++;
    s.failures = 0;
    s.openUntil = 0;
    s.openMs = this.config.openMs;
    s.trialInFlight = false;
  }

  /** Records a failed or timed-out request. */
  failure(peer: string, now: number): void {
    const s = this.state(peer);
    if (!s) return;
    s.failures++;
    if (s.trialInFlight) {
      s.trialInFlight = false;
      s.openMs = Math.min(s.openMs * 2, this.config.openMaxMs);
      s.openUntil = now + s.openMs;
    } else if (s.failures >= this.config.failuresToOpen) {
      s.openUntil = now + s.openMs;
    }
  }

  /**
   * Whether a request may go to this peer now. While open: no. When the open period has
   * passed: yes, once (the half-open trial), until its outcome is known.
   */
  allow(peer: string, now: number): boolean {
    const s = this.peers.get(peer);
    if (!s || s.openUntil === 0) return true;
    if (now < s.openUntil) return false;
    if (s.trialInFlight) return false;
    s.trialInFlight = true;
    return true;
  }

  /** Whether the circuit is open (without consuming the half-open trial). */
  isOpen(peer: string, now: number): boolean {
    const s = this.peers.get(peer);
    return !!s && s.openUntil !== 0 && (now < s.openUntil || s.trialInFlight);
  }

  /** Latency score, ms (unknown peers score 0 so they get tried and measured). */
  latency(peer: string): number {
    return this.peers.get(peer)?.latencyMs ?? 0;
  }

  /**
   * Closes the peer's circuit: the failure detector has direct evidence it is back (an ack
   * to its own probe), which is stronger than waiting out the open period.
   */
  reset(peer: string): void {
    const s = this.peers.get(peer);
    if (!s) return;
    s.failures = 0;
    s.openUntil = 0;
    s.openMs = this.config.openMs;
    s.trialInFlight = false;
  }

  /** The peer forgot (it left the cluster). */
  forget(peer: string): void {
    this.peers.delete(peer);
  }

  snapshot(now: number): Array<{ peer: string; latencyMs: number; open: boolean; failures: number }> {
    return [...this.peers].map(([peer, s]) => ({ peer, latencyMs: s.latencyMs, open: this.isOpen(peer, now), failures: s.failures }));
  }

  private state(peer: string): PeerState | undefined {
    let s = this.peers.get(peer);
    if (!s) {
      // Bounded: peers are cluster members, so the cap is never reached in a sane cluster;
      // past it, new peers are simply not tracked (treated as healthy and unmeasured).
      if (this.peers.size >= this.peersMax) return undefined;
      s = { latencyMs: 0, samples: 0, failures: 0, openUntil: 0, openMs: this.config.openMs, trialInFlight: false };
      this.peers.set(peer, s);
    }
    return s;
  }
}
