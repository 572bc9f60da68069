export type ReadState = 'pending' | 'succeeded' | 'failed';

export interface ReadOps<O> {
  /** Merges two replicas' versions (the dvvset sync). */
  merge(a: O, b: O): O;
  /** Structural equality of two versions (after merge, a replica equal to the result is up to date). */
  equals(a: O, b: O): boolean;
  /** The version of a key no replica has. */
  empty(): O;
}

/**
 * The read side of a quorum as a state machine without I/O.
 *
 * Targets come ordered by preference (the node orders them by observed latency, the local
 * replica first: Cassandra's dynamic snitch). The machine asks for R of them at first;
 * each failure brings in the next one, and so does `speculate()` (the node calls it when a
 * reply is slow: Cassandra's speculative retry). With `contactAll` (the read-repair chance)
 * every target is asked at once, so every replica's staleness is seen.
 *
 * After R replies the merged version is the answer. Replies that arrive later still count
 * for read repair: `staleReplicas()` names every replier whose copy differs from the merge
 * of everything seen, and the node sends them the merged version.
 */
export class ReadQuorum<O> {
  private readonly replies = new Map<string, O>();
  private readonly failures = new Set<string>();
  private readonly contacted = new Set<string>();
  private merged: O;
  private decided: ReadState = 'pending';

  constructor(
    private readonly targets: readonly string[],
    private readonly r: number,
    private readonly ops: ReadOps<O>,
    private readonly contactAll = false,
  ) {
    this.merged = ops.empty();
    if (targets.length < r) this.decided = 'failed';
  }

  get state(): ReadState {
    return this.decided;
  }

  /** The merge of every reply so far. */
  get result(): O {
    return this.merged;
  }

  get replyCount(): number {
    return this.replies.size;
  }

  /** True when no contacted target is still outstanding. */
  get settled(): boolean {
    for (const node of this.contacted) if (!this.replies.has(node) && !this.failures.has(node)) return false;
    return true;
  }

  /** The targets to ask first. */
  initial(): string[] {
    if (this.decided === 'failed') return [];
    const count = this.contactAll ? this.targets.length : this.r;
    return this.contactMore(count);
  }

  /** Records a replica's version (undefined = it holds nothing); returns who else to ask (nobody). */
  reply(node: string, version: O | undefined): ReadState {
    if (!this.contacted.has(node) || this.replies.has(node) || this.failures.has(node)) return this.decided;
    const v = version ?? this.ops.empty();
    this.replies.set(node, v);
    this.merged = this.ops.merge(this.merged, v);
    if (this.decided === 'pending' && this.replies.size >= this.r) this.decided = 'succeeded';
    return this.decided;
  }

  /** Records a failed target; returns further targets to ask in its place. */
  fail(node: string): string[] {
    if (!this.contacted.has(node) || this.replies.has(node) || this.failures.has(node)) return [];
    this.failures.add(node);
    if (this.decided !== 'pending') return [];
    const more = this.contactMore(1);
    const reachable = this.targets.length - this.failures.size;
    if (reachable < this.r) this.decided = 'failed';
    return more;
  }

  /** A slow read: ask one more target, if any is left. */
  speculate(): string[] {
    if (this.decided !== 'pending') return [];
    return this.contactMore(1);
  }

  /** The deadline passed: every outstanding target counts as failed. */
  expire(): ReadState {
    for (const node of this.contacted) {
      if (!this.replies.has(node) && !this.failures.has(node)) this.failures.add(node);
    }
    if (this.decided === 'pending') this.decided = 'failed';
    return this.decided;
  }

  /** Repliers whose copy is behind the merge of all replies: the read-repair targets. */
  staleReplicas(): string[] {
    const out: string[] = [];
    for (const [node, v] of this.replies) if (!this.ops.equals(v, this.merged)) out.push(node);
    return out;
  }

  private contactMore(count: number): string[] {
    const out: string[] = [];
    for (const t of this.targets) {
      if (out.length >= count) break;
      if (this.contacted.has(t)) continue;
      this.contacted.add(t);
      out.push(t);
    }
    return out;
  }
}
