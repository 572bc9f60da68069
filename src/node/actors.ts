/**
 * Per-key actor ids: the fix for Riak's kv679 ("a deleted and recreated key loses writes").
 *
 * A dot (actor, counter) must never name two different writes. A node's counter for a key
 * lives in the key's own stored object, so once the node forgets the object (a partition
 * handed off and dropped, a tombstone reaped, a wiped disk) its next write would restart
 * at counter 1, a dot that other replicas may still hold for an older value: sync would
 * then take one for the other and silently drop a write. The simulator found exactly that.
 *
 * So a node uses a fresh actor id whenever it writes a key it holds no entry of its own
 * for, or whose client context shows one of its actors further along than its own copy
 * (it forgot something): `NODE#STOREEPOCH.SEQ`, with SEQ from a node-wide sequence that is
 * persisted in blocks before use, so it never repeats across restarts. Otherwise it keeps
 * using the newest actor it already has in the object, so a key written through one node
 * carries one entry for it, and clocks stay small.
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

  constructor(
    private readonly store: ObjectStore,
    /** `NODE#STOREEPOCH`: the prefix of every actor id this node uses. */
    readonly base: string,
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
   * The actor for a write of a key whose local copy is `local`, given the client's
   * context. Call ensure() first; this is synchronous (it runs inside a store update).
   */
  choose(local: DVVSet | undefined, context: VersionVector): string {
    let mine: { id: string; n: number } | undefined;
    for (const e of local?.entries ?? []) if (this.owns(e.id) && (!mine || e.n > mine.n)) mine = { id: e.id, n: e.n };
    if (mine) {
      const seen = context.find(([id]) => id === mine!.id)?.[1] ?? 0;
      if (seen <= mine.n) return mine.id;
    }
    if (this.next >= this.limit) {
      // ensure() keeps half a block ahead; running dry takes a burst of more first writes
      // than that between two reservations. Refuse this one (the client retries) rather
      // than hand out an id that was not persisted.
      void this.reserve();
      throw new ShoalError('OVERLOADED', 'too many first writes at once; retry');
    }
    const id = `${this.base}.${(this.next++).toString(36)}`;
    return id;
  }
}
