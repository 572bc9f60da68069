import * as vc from '../vclock/index.js';
import type { DVVSet, Entry } from '../vclock/types.js';
import type { NodeHooks } from '../node/index.js';

/**
 * Deliberately broken components, injected through the same seams the simulator uses for
 * the real ones (NodeHooks, the engine under the store, the store itself). They exist to
 * prove the checker bites: test/sim runs each and expects a violation within a bounded
 * number of seeds.
 *
 * - `lossy-engine`: the storage engine acknowledges one batch in a hundred without
 *   writing it.
 * - `ack-before-store`: a replica acknowledges a write before its store has it.
 * - `forgetful-handoff`: a fallback accepts hints and forgets them.
 * - `sibling-dropping-merge`: the replica merge silently drops one of two or more siblings.
 * - `tombstone-losing-merge`: the merge prefers live values over a tombstone, whatever
 *   the clocks say, so deletes come undone.
 *
 * (`skip-antientropy-repair` joins the list once the node runs anti-entropy.)
 */
export const brokenComponents = ['lossy-engine', 'ack-before-store', 'forgetful-handoff', 'sibling-dropping-merge', 'tombstone-losing-merge'] as const;

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
