/**
 * Per-key actor ids: the fix for Riak's kv679 ("a deleted and recreated key loses writes").
 *
 * A dot (actor, counter) must never name two different writes. A node's counter for a key
 * lives in the key's own stored object, so once the node forgets the object (a partition
 * handed off and dropped, a tombstone reaped, a wiped disk) its next write would restart
 * at counter 1, a dot that other replicas may still hold for an older value: sync would
 * then take one for the other and silently drop a write. The simulator found exactly that.
 *
 * An own entry found in the stored object is not proof either: after a removal, an old
 * copy can come back (a delayed replica write, a replica that missed the removal) with an
 * entry of ours that is behind what we had issued. So a node reuses an actor id for a key
 * only while it remembers, in this process, having written the key under it and not
 * having removed the key since (a bounded map, oldest entry out first, forgotten on every
 * removal); its stored entry for that actor is then authoritative, since every dot of the
 * actor went through this node's own copy first. It also reuses the id only for a
 * writer whose context has seen every event of it, so that the context a put answers
 * with (the writer's context plus the new dot) covers no value the writer did not see
 * (CONTRACT: "for the version just written"); a blind write to a key holding our values
 * gains an entry, as it gains a sibling, while the clock has fewer than
 * actorsFreshEntriesMax entries (young entries are not pruned, so many writers behind
 * would grow it without bound; past that size the id is reused and the answer's context
 * also covers our concurrent values). Otherwise it takes a fresh id
 * `NODE#STOREEPOCH.SEQ`, with SEQ from a node-wide sequence persisted in blocks before
 * use, so it never repeats across restarts. A key thus gains an entry per node per lifetime
 * of this memory, and one more each time actorsRecentMax other keys have taken fresh ids
 * here since it was remembered; the old entries carry no values and are pruned (but only
 * past vclockSmallMax entries, so until then every one is carried, encoded, decoded and
 * compared on every read and write of the key).
 *
 * The memory outlives a clean restart. Forgetting it at every stop gave every key written
 * after each restart one more entry: after eight restarts of a benchmark cluster the
 * clocks held 5-6 entries instead of 1-2, and a put's node CPU had gone from 224-238 µs to
 * 313-387 (docs/performance.md, eleventh pass); a rolling restart did the same to a whole
 * cluster.
 * The memory is only right for the store exactly as this process leaves it, so it is
 * the store's saved state `actor.recent`: written by the store's clean close, after the
 * last write has landed and nothing more can be queued, and handed over once by the next
 * open, which deletes it (synced) before anything is written (ObjectStore.onClose and
 * takeSaved). So a copy is used at most by the one start that directly follows its clean
 * stop: a start that crashed, a start after a crash (which never saved) or a later start
 * find none, and take fresh ids as before. The copy is also tagged with the actor
 * sequence's persisted high-water mark and taken only if that mark is unchanged (the
 * start moves it on, synced, before it writes anything): a second guard, in case a copy
 * came back after its start. Like the saved anti-entropy trees, it assumes nothing writes
 * the store while the node is stopped: a data directory put back from a copy taken at a
 * clean stop, after the node has run on since, must have the saved state removed
 * (README, "Restoring a node from a copy"), or a key's next dot could repeat one already
 * issued.
 */
import * as cfg from '../config/index.js';
import { ShoalError } from '../errors/index.js';
import type { ObjectStore } from '../store/index.js';
import type { DVVSet, VersionVector } from '../vclock/types.js';

const META = 'actor.seq';
/**
 * The memory saved at the last clean stop, as the store's saved state. JSON of at most actorsRecentMax
 * keys and id suffixes: ~3 MB for 100,000 short keys, ~55 MB if every key had the
 * largest size a key may have (512 bytes), the same order as the map it copies.
 */
const SAVED = 'actor.recent';
const SAVED_FORMAT = 1;

interface SavedMemory {
  readonly v: number;
  /** The persisted actor.seq when it was saved. */
  readonly tag: number;
  readonly base: string;
  /** Remembered keys, oldest first, and the suffix of each one's actor id (after `base.`). */
  readonly keys: string[];
  readonly ids: string[];
}
const enc = new TextEncoder();
const dec = new TextDecoder();

export class ActorIds {
  private next = 0;
  private limit = 0;
  private reserving: Promise<void> | undefined;
  private restored = 0;
  /**
   * Key → the actor this process last wrote it under, oldest first. A key found here is
   * not moved to the end (first in, first out, not least recently used): forgetting a key
   * only costs its next write a fresh actor id, while moving it cost a delete and a set on
   * a map of up to actorsRecentMax keys on every write (a write of a remembered key among
   * 100,000: 2.2 -> 1.7 µs) and made V8 rehash the whole map each time its deleted slots
   * filled up.
   */
  private readonly recent = new Map<string, string>();

  constructor(
    private readonly store: ObjectStore,
    /** `NODE#STOREEPOCH`: the prefix of every actor id this node uses. */
    readonly base: string,
    /** Keys remembered at most (tests make it small). */
    private readonly recentMax: number = cfg.actorsRecentMax,
    /** Clock size from which a writer behind our actor reuses it (cfg.actorsFreshEntriesMax). */
    private readonly freshEntriesMax: number = cfg.actorsFreshEntriesMax,
  ) {}

  /**
   * Loads the persisted high-water mark (ids handed out before a crash are never reused),
   * and the memory a clean stop saved right before this start, if it was that (see the
   * file comment); then moves the mark on, synced, so that no later start takes the same
   * copy. Registers the save for this process's own clean stop.
   */
  async open(options: { readonly forgetSaved?: boolean } = {}): Promise<void> {
    const raw = await this.store.getMeta(META);
    const persisted = raw ? Number(dec.decode(raw)) : 0;
    this.next = Number.isSafeInteger(persisted) && persisted > 0 ? persisted : 0;
    this.limit = this.next;
    const saved = this.store.takeSaved(SAVED);
    if (saved !== undefined && options.forgetSaved !== true) this.restored = this.restore(saved, this.next);
    await this.reserve();
    this.store.onClose(SAVED, () => this.save());
  }

  /** Keys whose memory the last start took over from the clean stop before it. */
  restoredKeys(): number {
    return this.restored;
  }

  /** The saved memory, if it is the one the stop right before this start wrote; else none. */
  private restore(bytes: Uint8Array, persisted: number): number {
    let m: SavedMemory;
    try {
      m = JSON.parse(dec.decode(bytes)) as SavedMemory;
    } catch {
      return 0;
    }
    if (m === null || typeof m !== 'object' || m.v !== SAVED_FORMAT || m.tag !== persisted || persisted <= 0 || m.base !== this.base) return 0;
    if (!Array.isArray(m.keys) || !Array.isArray(m.ids) || m.keys.length !== m.ids.length) return 0;
    const n = Math.min(m.keys.length, this.recentMax);
    // The newest `recentMax` entries, oldest first, as they were in memory.
    for (let i = m.keys.length - n; i < m.keys.length; i++) {
      const key = m.keys[i];
      const suffix = m.ids[i];
      if (typeof key !== 'string' || typeof suffix !== 'string') continue;
      // Only ids of this base that the sequence had handed out before the stop.
      const seq = parseInt(suffix, 36);
      if (!/^[0-9a-z]+$/.test(suffix) || !(seq >= 0 && seq < persisted)) continue;
      this.recent.set(key, `${this.base}.${suffix}`);
    }
    return this.recent.size;
  }

  /** The memory as the store's close writes it, tagged with the persisted mark. */
  private save(): Uint8Array {
    const keys: string[] = [];
    const ids: string[] = [];
    const prefix = `${this.base}.`;
    for (const [k, id] of this.recent) {
      keys.push(k);
      ids.push(id.slice(prefix.length));
    }
    const m: SavedMemory = { v: SAVED_FORMAT, tag: this.limit, base: this.base, keys, ids };
    return enc.encode(JSON.stringify(m));
  }

  /** Resolves once at least one fresh id can be handed out synchronously. */
  async ensure(): Promise<void> {
    while (this.next >= this.limit) await this.reserve();
    if (this.limit - this.next < cfg.actorSeqBlock / 2) void this.reserve();
  }

  private reserve(): Promise<void> {
    this.reserving ??= (async () => {
      const limit = Math.max(this.limit, this.next) + cfg.actorSeqBlock;
      // Synced whatever --sync says: a mark lost in a machine crash would hand out ids
      // again that peers may already hold dots of (and would let a saved memory be
      // taken twice). The engine's log alone: the mark vouches for no object written
      // before it, and syncing the value log's recent segments too held the store's
      // queue for tens of milliseconds once per block of ids.
      await this.store.putMeta(META, enc.encode(String(limit)), { sync: true, logOnly: true });
      this.limit = limit;
    })().finally(() => {
      this.reserving = undefined;
    });
    return this.reserving;
  }

  /** Whether `id` is one of this node's actors (of this storage epoch). */
  owns(id: string): boolean {
    return id === this.base || id.startsWith(`${this.base}.`);
  }

  /**
   * The actor for a write of `key` whose local copy is `local`, given the client's
   * context. Call ensure() first; this is synchronous (it runs inside a store update).
   */
  choose(partition: number, key: string, local: DVVSet | undefined, context: VersionVector): string {
    const rk = `${partition}/${key}`;
    const remembered = this.recent.get(rk);
    if (remembered !== undefined) {
      const mine = local?.entries.find((e) => e.id === remembered);
      const seen = context.find(([id]) => id === remembered)?.[1] ?? 0;
      // Only when the writer has seen every event of it: the write's dot is then
      // (actor, seen + 1), and the context the write answers with (its own context plus
      // that dot) covers nothing it did not see. A writer behind it (a blind write to a
      // key we hold values for) takes a fresh id instead: with (actor, n + 1) its context
      // would also cover our concurrent values, and its next write would drop them.
      if (mine && seen === mine.n) return remembered;
      // Each fresh id is one more clock entry that will not be pruned for a while: past a
      // small clock, a writer behind us reuses the id (its context then also covers our
      // concurrent values, as every put's did before).
      if (mine && seen < mine.n && (local?.entries.length ?? 0) >= this.freshEntriesMax) return remembered;
    }
    if (this.next >= this.limit) {
      // ensure() keeps half a block ahead; running dry takes a burst of more first writes
      // than that between two reservations. Refuse this one (the client retries) rather
      // than hand out an id that was not persisted.
      void this.reserve();
      throw new ShoalError('OVERLOADED', 'too many first writes at once; retry');
    }
    const id = `${this.base}.${(this.next++).toString(36)}`;
    this.recent.delete(rk);
    this.recent.set(rk, id);
    if (this.recent.size > this.recentMax) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
    return id;
  }

  /** The key was removed locally: its next write must not trust any entry of ours that comes back. */
  forget(partition: number, key: string): void {
    this.recent.delete(`${partition}/${key}`);
  }
}
