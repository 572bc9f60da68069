/**
 * PartitionTree: the Merkle tree of one partition's (key, digest) pairs, kept in memory
 * and updated in O(depth) on every local write. index.ts explains the design; this file
 * is the mechanics.
 */
import { aeSegmentsPerPartition, aeSegmentsPerPartitionMax, aeTreeFanout } from '../config/index.js';
import { ShoalError } from '../errors/index.js';
import { contribution, HASH_BYTES, hashKey, hashUtf8Lo } from './hash.js';

export interface TreeShape {
  /** Leaves; a power of two, 1..aeSegmentsPerPartitionMax. */
  readonly segments: number;
  /** Children per interior node; a power of two >= 2. */
  readonly fanout: number;
}

function log2(n: number): number {
  return 31 - Math.clz32(n);
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 2 ** 30 && (n & (n - 1)) === 0;
}

export class PartitionTree {
  readonly segments: number;
  readonly fanout: number;
  /** Levels below the root: level 0 is the root, level `depth` the segments. */
  readonly depth: number;
  /** Per level, 2 uint32 (hi, lo) per node. */
  private readonly levels: Uint32Array[];
  /** Per level, how far to shift a segment number right to get its ancestor's index. */
  private readonly shifts: number[];
  /** While rebuilding: the latest digest known per key (null = deleted); else null. */
  private known: Map<string, Uint8Array | null> | null = null;
  /** Held: not ready, updates dropped, until a rebuild (or a restore) replaces the contents. */
  private held = false;
  private count = 0;

  constructor(shape: Partial<TreeShape> = {}) {
    const segments = shape.segments ?? aeSegmentsPerPartition;
    const fanout = shape.fanout ?? aeTreeFanout;
    if (!isPow2(segments) || segments > aeSegmentsPerPartitionMax || !isPow2(fanout) || fanout < 2) {
      throw new ShoalError(
        'INVALID_CONFIG',
        `tree shape must be powers of two with segments <= ${aeSegmentsPerPartitionMax} and fanout >= 2, got ${segments} and ${fanout}`,
      );
    }
    this.segments = segments;
    this.fanout = fanout;
    const s = log2(segments);
    const f = log2(fanout);
    this.depth = Math.ceil(s / f);
    this.levels = [];
    this.shifts = [];
    for (let level = 0; level <= this.depth; level++) {
      const bits = Math.max(0, s - f * (this.depth - level));
      this.shifts.push(s - bits);
      this.levels.push(new Uint32Array(2 << bits));
    }
  }

  /** A ready tree of exactly these (key, digest) pairs; keys must be distinct. */
  static build(entries: Iterable<readonly [string, Uint8Array]>, shape: Partial<TreeShape> = {}): PartitionTree {
    const tree = new PartitionTree(shape);
    for (const [key, digest] of entries) tree.update(key, undefined, digest);
    return tree;
  }

  /** False while a rebuild is under way: such a tree takes no part in exchanges. */
  get ready(): boolean {
    return this.known === null && !this.held;
  }

  /** Keys the tree holds (creates minus deletes): for status pages, not for correctness. */
  get size(): number {
    return this.known === null ? this.count : 0;
  }

  get shape(): TreeShape {
    return { segments: this.segments, fanout: this.fanout };
  }

  /** Nodes at `level` (0 = root, `depth` = segments). */
  width(level: number): number {
    const l = this.levels[level];
    if (l === undefined) throw new ShoalError('BAD_REQUEST', `level ${level} outside 0..${this.depth}`);
    return l.length / 2;
  }

  /** Index range [first, first + count) of the children of node `index` at `level` < depth. */
  children(level: number, index: number): { first: number; count: number } {
    const count = this.width(level + 1) / this.width(level);
    return { first: index * count, count };
  }

  /**
   * The segment of a key: the low bits of its 64-bit ring hash. The partition is the top
   * bits of the same hash, so within a partition the low bits are still uniform.
   */
  segmentOf(key: string): number {
    return hashKey(key).lo & (this.segments - 1);
  }

  /** `segmentOf` of a key given as its UTF-8 bytes, `bytes` from `offset` on (see hashUtf8Lo). */
  segmentOfUtf8(bytes: Uint8Array, offset: number): number {
    return hashUtf8Lo(bytes, offset) & (this.segments - 1);
  }

  /**
   * Records that `key` changed from `oldDigest` to `newDigest` (undefined = absent).
   * O(depth): the key's contribution is XOR-ed out of and into its segment and every
   * ancestor. Deltas commute, so concurrent writes may report in any order, provided each
   * reports the exact (before, after) of its own store update.
   */
  update(key: string, oldDigest: Uint8Array | undefined, newDigest: Uint8Array | undefined): void {
    if (this.held) return;
    if (this.known !== null) {
      // Rebuilding: the latest write wins over whatever the scan read (see feed()).
      this.known.set(key, newDigest ?? null);
      return;
    }
    if (oldDigest === undefined && newDigest === undefined) return;
    const h = hashKey(key);
    const { hi, lo } = h;
    const seg = lo & (this.segments - 1);
    if (oldDigest !== undefined) {
      const c = contribution(hi, lo, oldDigest);
      this.xorPath(seg, c.hi, c.lo);
      this.count--;
    }
    if (newDigest !== undefined) {
      const c = contribution(hi, lo, newDigest);
      this.xorPath(seg, c.hi, c.lo);
      this.count++;
    }
  }

  private xorPath(seg: number, hi: number, lo: number): void {
    for (let level = 0; level <= this.depth; level++) {
      const a = this.levels[level]!;
      const i = (seg >>> this.shifts[level]!) * 2;
      a[i] = (a[i]! ^ hi) >>> 0;
      a[i + 1] = (a[i + 1]! ^ lo) >>> 0;
    }
  }

  /** The root hash, 8 bytes. */
  rootHash(): Uint8Array {
    return this.levelHashes(0, [0]);
  }

  /**
   * The hashes of nodes `indices` at `level`, concatenated (8 bytes each, in the order
   * asked). Throws BAD_REQUEST for a level or index outside the tree (peer input).
   */
  levelHashes(level: number, indices: readonly number[]): Uint8Array {
    const a = this.levels[level];
    if (a === undefined) throw new ShoalError('BAD_REQUEST', `level ${level} outside 0..${this.depth}`);
    const out = new Uint8Array(indices.length * HASH_BYTES);
    const width = a.length / 2;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      if (!Number.isInteger(i) || i < 0 || i >= width) throw new ShoalError('BAD_REQUEST', `index ${i} outside level ${level} of width ${width}`);
      const hi = a[2 * i]!;
      const lo = a[2 * i + 1]!;
      const o = j * HASH_BYTES;
      out[o] = hi >>> 24;
      out[o + 1] = hi >>> 16;
      out[o + 2] = hi >>> 8;
      out[o + 3] = hi;
      out[o + 4] = lo >>> 24;
      out[o + 5] = lo >>> 16;
      out[o + 6] = lo >>> 8;
      out[o + 7] = lo;
    }
    return out;
  }

  /** Empties the tree; it stays ready (an empty tree is the exact tree of an empty partition). */
  clear(): void {
    for (const a of this.levels) a.fill(0);
    this.count = 0;
    this.known = null;
    this.held = false;
  }

  /**
   * Empties the tree and holds it: not ready, and update() is a no-op, until
   * beginRebuild() (whose scan reads every write made meanwhile from the store) or
   * restore(). For a node that has not yet decided between a saved tree and a rebuild.
   */
  hold(): void {
    this.clear();
    this.held = true;
  }

  /** Copies of the tree's node hashes, level by level (root first), and its key count. */
  state(): { count: number; levels: Uint32Array[] } {
    return { count: this.count, levels: this.levels.map((a) => a.slice()) };
  }

  /**
   * Replaces the contents with a state() of a tree of the same shape; the tree becomes
   * ready. Throws INTERNAL when the level sizes do not match this shape.
   */
  restore(state: { count: number; levels: readonly Uint32Array[] }): void {
    if (state.levels.length !== this.levels.length || state.levels.some((a, i) => a.length !== this.levels[i]!.length)) {
      throw new ShoalError('INTERNAL', 'restored tree levels do not match the tree shape');
    }
    this.clear();
    state.levels.forEach((a, i) => this.levels[i]!.set(a));
    this.count = state.count;
  }

  /**
   * Starts a rebuild: the tree empties and is not ready until finishRebuild(). Meanwhile
   * the node keeps calling update() for every write as usual and feeds every (key,
   * digest) its scan of the partition reads. Memory while rebuilding: one map entry per
   * key of this partition (~100 bytes each), so rebuild one partition at a time.
   */
  beginRebuild(): void {
    this.clear();
    this.known = new Map();
  }

  /** Words of hash state per tree of this shape (2 per node, every level). */
  get stateWords(): number {
    return this.levels.reduce((n, a) => n + a.length, 0);
  }

  /**
   * One (key, digest) read by the rebuild scan. A write reported for the key since the
   * rebuild began wins over the scan's read: the scan may have read the key before or
   * after that write, but the write's after-state is newer either way (the store reports
   * writes to one key in commit order). The scan needs no snapshot and may page.
   */
  feed(key: string, digest: Uint8Array): void {
    if (this.known === null) throw new ShoalError('INTERNAL', 'feed() outside a rebuild');
    if (!this.known.has(key)) this.known.set(key, digest);
  }

  /**
   * Ends the rebuild once the scan has read the whole partition. Call it when no write to
   * this partition is between its store commit and its update() (the node counts writes in
   * flight per partition): such a write's update() would otherwise be applied as a delta
   * to a state the scan may already have read.
   */
  finishRebuild(): void {
    const known = this.known;
    if (known === null) return;
    this.known = null;
    for (const [key, digest] of known) if (digest !== null) this.update(key, undefined, digest);
  }
}
