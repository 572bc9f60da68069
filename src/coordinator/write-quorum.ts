import type { ReplicaTarget } from './replicas.js';

export type WriteState = 'pending' | 'succeeded' | 'failed';

/**
 * The write side of a sloppy quorum as a state machine without I/O. The node sends the
 * replica writes, then feeds each outcome in; the machine says when W acks have been
 * reached (answer the client), when W can no longer be reached (answer 503), and, once
 * every target has answered or the deadline passed, which primaries are still owed the
 * write (the coordinator records hints for them).
 *
 * A target's ack counts once, whatever duplicates arrive. A primary is "confirmed" when it
 * acked itself or a fallback standing in for it acked (that fallback holds the hint).
 */
export class WriteQuorum {
  private readonly acked = new Set<string>();
  private readonly failedNodes = new Set<string>();
  private decided: WriteState = 'pending';

  constructor(
    private readonly targets: readonly ReplicaTarget[],
    private readonly w: number,
  ) {
    if (targets.length < w) this.decided = 'failed';
  }

  get state(): WriteState {
    return this.decided;
  }

  get acks(): number {
    return this.acked.size;
  }

  /** True when every target has answered (ack or failure). */
  get settled(): boolean {
    return this.acked.size + this.failedNodes.size >= this.targets.length;
  }

  /** Records an ack; returns the new state. */
  ack(node: string): WriteState {
    if (!this.isTarget(node) || this.failedNodes.has(node)) return this.decided;
    this.acked.add(node);
    if (this.decided === 'pending' && this.acked.size >= this.w) this.decided = 'succeeded';
    return this.decided;
  }

  /** Records a failure (error or timeout); returns the new state. */
  fail(node: string): WriteState {
    if (!this.isTarget(node) || this.acked.has(node)) return this.decided;
    this.failedNodes.add(node);
    const possible = this.targets.length - this.failedNodes.size;
    if (this.decided === 'pending' && possible < this.w) this.decided = 'failed';
    return this.decided;
  }

  /** Gives up on every target that has not answered (the deadline passed). */
  expire(): WriteState {
    for (const t of this.targets) if (!this.acked.has(t.node)) this.fail(t.node);
    return this.decided;
  }

  /**
   * Primaries whose copy is not confirmed: a primary target that did not ack, or a primary a
   * fallback stood in for when that fallback did not ack. The caller adds the primaries it
   * could not cover at all (ReplicaPlan.uncovered).
   */
  unconfirmedPrimaries(): string[] {
    const out: string[] = [];
    for (const t of this.targets) {
      if (this.acked.has(t.node)) continue;
      out.push(t.hintFor ?? t.node);
    }
    return out;
  }

  private isTarget(node: string): boolean {
    return this.targets.some((t) => t.node === node);
  }
}
