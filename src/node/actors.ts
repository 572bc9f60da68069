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
 * use, so it never repeats across restarts. A key thus gains an entry per node per process
 * lifetime, and one more each time actorsRecentMax other keys have taken fresh ids here
 * since it was remembered; the old entries carry no values and are pruned.
 */
import * as cfg from '../config/index.js';
import { ShoalError } from '../errors/index.js';
import type { ObjectStore } from '../store/index.js';
import type { DVVSet, VersionVector } from '../vclock/types.js';

const META = 'actor.seq';
const enc = new TextEncoder();
const dec = new TextDecoder();

export class ActorIds {
  private next = 0;
  private limit = 0;
  private reserving: Promise<void> | undefined;
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

  /** Loads the persisted high-water mark; ids handed out before a crash are never reused. */
  async open(): Promise<void> {
    const raw = await this.store.getMeta(META);
    const persisted = raw ? Number(dec.decode(raw)) : 0;
    this.next = Number.isSafeInteger(persisted) && persisted > 0 ? persisted : 0;
    this.limit = this.next;
    await this.reserve();
  }

  /** Resolves once at least one fresh id can be handed out synchronously. */
  async ensure(): Promise<void> {
    while (this.next >= this.limit) await this.reserve();
    if (this.limit - this.next < cfg.actorSeqBlock / 2) void this.reserve();
  }

  private reserve(): Promise<void> {
    this.reserving ??= (async () => {
      const limit = Math.max(this.limit, this.next) + cfg.actorSeqBlock;
      await this.store.putMeta(META, enc.encode(String(limit)));
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
