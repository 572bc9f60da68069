import * as vc from '../vclock/index.js';
import type { DVVSet, VersionVector } from '../vclock/types.js';
import * as cfg from '../config/index.js';

/**
 * What the simulator knows about a run, and the invariants it can check while the run
 * goes on. Every value a client writes is unique (`c<client>.<op>`), so a value found
 * anywhere names the one write that produced it. Dots are learnt from the stores: the
 * coordinator's own store update is the first place a new value gets its dot.
 */

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
  /** Simulated ms when it was found. */
  readonly at: number;
}

/** One client write (put or delete) as the client issued it. */
export interface WriteRecord {
  readonly key: string;
  /** Null for a delete. */
  readonly value: string | null;
  /** The context the client sent, decoded (empty for a blind write). */
  readonly context: VersionVector;
  readonly w: number;
  /** Set once the client got an acknowledgement: the context of the version written. */
  acked: VersionVector | undefined;
  /** Set when a disk wipe destroyed every durable copy: the write is no longer owed. */
  lost?: boolean;
}

type Dot = readonly [actor: string, n: number];

const decoder = new TextDecoder();

export function valueText(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : decoder.decode(bytes);
}

export function coversDot(vv: VersionVector, dot: Dot): boolean {
  for (const [id, n] of vv) if (id === dot[0]) return n >= dot[1];
  return false;
}

export class History {
  readonly violations: Violation[] = [];
  violationCount = 0;
  readonly writes: WriteRecord[] = [];
  /** Value written -> its write. */
  readonly byValue = new Map<string, WriteRecord>();
  /**
   * Value -> its dots, once a store has shown it. Usually one; a duplicated forward
   * (fput) makes the coordinator write the same value twice, as a client retry would.
   */
  readonly dots = new Map<string, Dot[]>();
  /** "actor:n" -> the value that dot carries (null for a tombstone): a dot names one value, everywhere. */
  private readonly dotValues = new Map<string, string | null>();
  /** Keys any client touched. */
  readonly keys = new Set<string>();
  /** Last version vector each replica stored per key ("node\0key"). */
  readonly lastStored = new Map<string, VersionVector>();

  constructor(private readonly now: () => number) {}

  violation(invariant: string, detail: string): void {
    this.violationCount++;
    if (this.violations.length < cfg.simViolationsKeptMax) this.violations.push({ invariant, detail, at: this.now() });
  }

  /** A client is about to send a write. */
  write(key: string, value: string | null, context: VersionVector, w: number): WriteRecord {
    const rec: WriteRecord = { key, value, context, w, acked: undefined };
    this.writes.push(rec);
    this.keys.add(key);
    if (value !== null) this.byValue.set(value, rec);
    return rec;
  }

  /**
   * A replica's store committed an update. Checks that its version vector for the key
   * never goes backwards (across restarts too), that the state holds only values some
   * client wrote, and that its siblings are pairwise concurrent and within the cap.
   */
  stored(node: string, key: string, before: DVVSet | undefined, after: DVVSet | undefined): void {
    const slot = `${node}\u0000${key}`;
    const last = this.lastStored.get(slot);
    const beforeVv = before ? vc.join(before) : [];
    if (last && !vc.descends(beforeVv, last)) {
      this.violation('version-vector-monotonic', `${node} ${key}: stored clock went back from ${fmt(last)} to ${fmt(beforeVv)}`);
    }
    if (!after) return;
    const afterVv = vc.join(after);
    if (!vc.descends(afterVv, beforeVv)) {
      this.violation('version-vector-monotonic', `${node} ${key}: an update moved the clock from ${fmt(beforeVv)} to ${fmt(afterVv)}`);
    }
    this.lastStored.set(slot, afterVv);
    this.checkState(key, `${node} stored ${key}`, after);
  }

  /** A replica's store removed the key physically (tombstone GC): its clock may restart. */
  removed(node: string, key: string): void {
    this.lastStored.delete(`${node}\u0000${key}`);
    this.removals.add(`${node}\u0000${key}`);
  }

  /** Replicas ("node\0key") that removed a key physically at some point. */
  readonly removals = new Set<string>();

  /** Checks one state (stored, read or final): known values, concurrent siblings, the cap. Learns dots. */
  checkState(key: string, where: string, state: DVVSet): void {
    const dotted = vc.dottedSiblings(state);
    // siblingsHardMax bounds what a coordinator accepts; replica merges never drop, so
    // concurrent coordinators may each add one past it. What must hold is that every state
    // can still be sent to a peer.
    if (dotted.length > cfg.wireSiblingsMax) this.violation('sibling-cap', `${where}: ${dotted.length} siblings > ${cfg.wireSiblingsMax}`);
    const present: Array<{ value: string; dot: Dot }> = [];
    for (const d of dotted) {
      const value = valueText(d.sibling.value);
      const dk = `${key}\u0000${d.id}:${d.n}`;
      const had = this.dotValues.get(dk);
      if (had === undefined) this.dotValues.set(dk, value);
      else if (had !== value) {
        const issuer = d.id.split('#')[0] ?? d.id;
        const removedBefore = this.removals.has(`${issuer}\u0000${key}`) ? ` (${issuer} had removed ${key} physically before, so its counter restarted)` : '';
        this.violation('unique-dots', `${where}: dot ${d.id}:${d.n} carries ${value ?? 'a tombstone'} here, ${had ?? 'a tombstone'} elsewhere${removedBefore}`);
      }
      if (value === null) continue;
      if (!this.byValue.has(value)) {
        this.violation('no-phantom-values', `${where}: value ${JSON.stringify(value.slice(0, 40))} was never written`);
        continue;
      }
      const dot: Dot = [d.id, d.n];
      const known = this.dots.get(value);
      if (!known) this.dots.set(value, [dot]);
      else if (!known.some((k) => k[0] === dot[0] && k[1] === dot[1])) known.push(dot);
      present.push({ value, dot });
    }
    for (const v of present) {
      for (const w of present) {
        if (v === w) continue;
        if (coversDot(this.byValue.get(w.value)!.context, v.dot)) {
          this.violation('siblings-concurrent', `${where}: ${w.value} was written with a context covering ${v.value}, yet both are siblings`);
        }
      }
    }
  }

  /** Whether, for every dot `value` was stored under, some write to `key` that may have landed carried a context covering it. */
  superseded(key: string, value: string): boolean {
    const dots = this.dots.get(value);
    if (!dots) return false;
    return dots.every((dot) => this.writes.some((w) => w.key === key && coversDot(w.context, dot) && this.mayHaveLanded(w)));
  }

  /**
   * A put landed if its value was ever seen in a store. A delete's tombstone carries no
   * client-visible name, so any delete counts (lenient: an unlanded delete can only hide
   * a loss, never invent one).
   */
  mayHaveLanded(w: WriteRecord): boolean {
    return w.value === null || this.dots.has(w.value) || w.acked !== undefined;
  }

  /** Writes to `key` that certainly landed (acknowledged, or their value was seen in a store) and were not wiped out. */
  landed(key: string): WriteRecord[] {
    return this.writes.filter((w) => w.key === key && w.lost !== true && (w.acked !== undefined || (w.value !== null && this.dots.has(w.value))));
  }

  /** A node lost its disk: its clocks start afresh. */
  wiped(node: string): void {
    for (const slot of [...this.lastStored.keys()]) if (slot.startsWith(`${node}\u0000`)) this.lastStored.delete(slot);
  }
}

export function fmt(vv: VersionVector): string {
  return `{${vv.map(([id, n]) => `${id}:${n}`).join(',')}}`;
}
