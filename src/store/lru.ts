/**
 * A least-recently-used cache bounded by entry count and by total size. A JavaScript Map
 * iterates in insertion order, so re-inserting on every hit keeps the least recently used
 * entry first, and eviction is deleting from the front: O(1) per operation.
 */
export class Lru<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private bytesTotal = 0;

  constructor(
    private readonly entriesMax: number,
    private readonly bytesMax: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.bytesTotal;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** The cached value, refreshing its recency; `undefined` when absent. */
  get(key: string): { value: V } | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit;
  }

  /** Caches `value`, charged `bytes`; an entry over an eighth of the byte budget is not kept. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (this.entriesMax <= 0 || bytes > this.bytesMax / 8) return;
    this.map.set(key, { value, bytes });
    this.bytesTotal += bytes;
    while (this.map.size > this.entriesMax || this.bytesTotal > this.bytesMax) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.bytesTotal -= old.bytes;
  }

  /** Deletes every key for which `pred` holds. */
  deleteWhere(pred: (key: string) => boolean): void {
    for (const key of [...this.map.keys()]) if (pred(key)) this.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.bytesTotal = 0;
  }
}
