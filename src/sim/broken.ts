import * as vc from '../vclock/index.js';
import type { DVVSet, Entry } from '../vclock/types.js';
import type { NodeHooks } from '../node/index.js';
import type { Random } from '../env/index.js';
import type { LinkHandler, MessageHandler, RefusedHandler, Transport, TransportStats } from '../transport/index.js';
import { createPeerCodec } from '../wire/index.js';
import * as cfg from '../config/index.js';

/**
 * Deliberately broken components, injected through the same seams the simulator uses for
 * the real ones (NodeHooks, the engine under the store, the store itself). They exist to
 * prove the checker bites: test/sim runs each and expects a violation within a bounded
 * number of seeds.
 *
 * - `lossy-engine`: the storage engine acknowledges one batch in a hundred without
 *   writing it.
 * - `ack-before-store`: a replica acknowledges a write before its store has it.
 * - `phantom-acks`: the coordinator's transport answers one replica write in ten with an
 *   acknowledgement of its own, without sending it (a coordinator that counts acks it
 *   never got).
 * - `forgetful-handoff`: a fallback accepts hints and forgets them. The node's partition
 *   sweep pushes every fallback copy to the primaries anyway, so this one breaks nothing
 *   a client can observe; it is kept to show that, and left out of the "bites" test.
 * - `sibling-dropping-merge`: the replica merge silently drops one of two or more siblings.
 * - `tombstone-losing-merge`: the merge prefers live values over a tombstone, whatever
 *   the clocks say, so deletes come undone.
 *
 * - `skip-antientropy-repair`: anti-entropy exchanges run but never repair, so replicas
 *   that hinted handoff does not reach stay apart (the liveness phase catches it).
 */
export const brokenComponents = [
  'lossy-engine',
  'ack-before-store',
  'phantom-acks',
  'sibling-dropping-merge',
  'tombstone-losing-merge',
  'skip-antientropy-repair',
  'forgetful-handoff',
] as const;

/** The broken components the checker must report (see forgetful-handoff above for the one it cannot). */
export const observableBrokenComponents: readonly BrokenName[] = brokenComponents.filter((b) => b !== 'forgetful-handoff');

export type BrokenName = (typeof brokenComponents)[number];

export function isBrokenName(s: string): s is BrokenName {
  return (brokenComponents as readonly string[]).includes(s);
}

/** The node hooks a broken component needs (undefined when it is not a hook). */
export function brokenHooks(name: BrokenName | undefined): NodeHooks | undefined {
  switch (name) {
    case 'ack-before-store':
      return { ackBeforeStore: true };
    case 'sibling-dropping-merge':
      return { sync: (a, b) => dropOneSibling(vc.sync(a, b)) };
    case 'tombstone-losing-merge':
      return { sync: preferLive };
    case 'skip-antientropy-repair':
      return { skipAntiEntropyRepair: true };
    default:
      return undefined;
  }
}

/** Removes the oldest value of the first entry holding one, when there are two or more siblings. */
function dropOneSibling(c: DVVSet): DVVSet {
  if (vc.siblingCount(c) < 2) return c;
  const i = c.entries.findIndex((e) => e.values.length > 0);
  if (i < 0) return c;
  const e = c.entries[i]!;
  const entries: Entry[] = [...c.entries];
  entries[i] = { ...e, values: e.values.slice(0, -1) };
  return { entries, anon: c.anon };
}

function preferLive(a: DVVSet, b: DVVSet): DVVSet {
  const live = (x: DVVSet) => vc.liveSiblings(x).length > 0;
  if (vc.isTombstone(a) && live(b)) return b;
  if (vc.isTombstone(b) && live(a)) return a;
  return vc.sync(a, b);
}

/** Deliberately broken: a transport that acknowledges one replica write (rput) in ten without sending it. */
export class PhantomAckTransport implements Transport {
  private readonly codec = createPeerCodec({ maxValueBytes: cfg.maxValueBytesDefault });
  faked = 0;
  constructor(
    private readonly inner: Transport,
    private readonly random: Random,
  ) {}
  get self(): string {
    return this.inner.self;
  }
  setPeer(id: string, address: string): void {
    this.inner.setPeer(id, address);
  }
  connectSeed(address: string): Promise<string> {
    return this.inner.connectSeed(address);
  }
  removePeer(id: string): void {
    this.inner.removePeer(id);
  }
  send(to: string, payload: Uint8Array): boolean {
    return this.inner.send(to, payload);
  }
  request(to: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.random.int(10) === 0) {
      let isPut = false;
      try {
        isPut = this.codec.decode(payload).t === 'rput';
      } catch {
        isPut = false;
      }
      if (isPut) {
        this.faked++;
        return Promise.resolve(this.codec.encode({ t: 'rput_ok' }));
      }
    }
    return this.inner.request(to, payload, timeoutMs);
  }
  onMessage(handler: MessageHandler): void {
    this.inner.onMessage(handler);
  }
  onLink(handler: LinkHandler): void {
    this.inner.onLink(handler);
  }
  onRefused(handler: RefusedHandler): void {
    this.inner.onRefused(handler);
  }
  stats(): TransportStats {
    return this.inner.stats();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
