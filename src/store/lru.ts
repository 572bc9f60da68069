/**
 * A least-recently-used cache bounded by entry count and by total size. A JavaScript Map
 * iterates in insertion order, so re-inserting an entry moves it to the back, and
 * eviction deletes from the front: O(1) per operation.
 *
 * Promotion is lazy (as in CLOCK-style caches): a hit re-inserts its entry only when the
 * entry sits in the older half of the order. A delete and a set on every hit were a
 * visible cost on the read path (two string hashes and a Map hole each), and a hot entry
 * in the newer half is far from eviction anyway: at least half the capacity of newer
 * insertions must pass before it reaches the front, and any hit in that time promotes
 * it. So every entry used within the last `entriesMax / 2` insertions or promotions is
 * still cached.
 *
 * Eviction walks the Map with one long-lived iterator rather than a new `keys()` each
 * time. V8 leaves a hole where an entry is deleted until the table is rebuilt, and a new
 * iterator starts from the front, so once the cache was full every eviction skipped over
 * every hole left by the evictions before it: about 1 µs per insert into a full cache of
 * 10,000 entries, as much as the rest of a store update. A Map iterator stays valid
 * through deletes, inserts and rebuilds and only ever moves forward; every entry behind it
 * has been evicted (inserts and promotions go to the back), so it always stands at the
 * oldest entry.
 */
export class Lru<V> {
  private readonly map = new Map<string, { value: V; bytes: number; seq: number }>();
  private bytesTotal = 0;
  /** Counts insertions and promotions: an entry's `seq` says how recently it moved to the back. */
  private seq = 0;
  /** Stands at the oldest entry; see the note above. */
  private oldest: Iterator<string> | undefined;

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
    if (this.seq - hit.seq > this.map.size >>> 1) {
      this.map.delete(key);
      hit.seq = ++this.seq;
      this.map.set(key, hit);
    }
    return hit;
  }

  /** Caches `value`, charged `bytes`; an entry over an eighth of the byte budget is not kept. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (this.entriesMax <= 0 || bytes > this.bytesMax / 8) return;
    this.map.set(key, { value, bytes, seq: ++this.seq });
    this.bytesTotal += bytes;
    while (this.map.size > this.entriesMax || this.bytesTotal > this.bytesMax) {
      this.oldest ??= this.map.keys();
      const next = this.oldest.next();
      if (next.done) {
        // An iterator that reached the end stays there: start a new one (the map is not
        // empty, so it finds an entry).
        this.oldest = undefined;
        if (this.map.size === 0) break;
        continue;
      }
      this.delete(next.value);
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
    this.oldest = undefined;
    this.map.clear();
    this.bytesTotal = 0;
  }
}
