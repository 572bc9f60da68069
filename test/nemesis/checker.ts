/**
 * The set checker (Jepsen's riak set test, adapted). Pure: it reads a history and the
 * final reads and returns figures; it never talks to a node.
 *
 * Definitions, per key:
 * - *attempted*: every element an `add` was invoked with. Each element is unique in the
 *   run, so an element names exactly one operation.
 * - *acknowledged*: adds whose completion is `ok` (the node answered 204).
 * - *lost*: acknowledged elements missing from the final read. Must be 0.
 * - *unexpected*: elements in the final read that no add was ever invoked with (a
 *   corrupted or invented value). Must be 0.
 * - *duplicates*: elements that occur more than once inside one stored sibling. Every
 *   value a client writes is a set (sorted, each element once), so a duplicate means a
 *   merge that concatenated instead of joining, or a value mangled on the way. Must be 0.
 * - *recovered*: adds that ended `info` (timed out or 503: maybe written) or `fail` yet
 *   are present in the final read. Allowed: an unacknowledged write may still land.
 *   A `fail` here is only possible when the client's GET failed before its PUT was
 *   sent, so a recovered `fail` would be a checker bug; it is counted, not excused.
 * - *availability*: acknowledged / attempted, overall and for each fault and side of it
 *   (the side of the node the client was bound to when it invoked: majority, minority,
 *   killed, stopped (SIGTERM), paused, or none between faults).
 */

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

/** One history line. `process` is a client number, or 'nemesis'. */
export interface HistoryOp {
  process: number | 'nemesis';
  type: OpType;
  f: string;
  value: unknown;
  /** Milliseconds since the run started. */
  time: number;
  /** Client ops: the node index the client talks to, the fault then active and the node's side of it. */
  node?: number;
  fault?: string;
  side?: string;
  error?: string;
}

export interface AddValue {
  key: string;
  element: number;
}

/** The final state of one key: the sibling values (each a decoded element array) that a read returned. */
export interface FinalRead {
  key: string;
  siblings: number[][];
}

export interface Tally {
  ok: number;
  total: number;
}

export interface SetCheck {
  valid: boolean;
  attempted: number;
  acknowledged: number;
  failed: number;
  indeterminate: number;
  lost: Array<{ key: string; element: number }>;
  unexpected: Array<{ key: string; element: number }>;
  duplicates: Array<{ key: string; element: number }>;
  recovered: number;
  recoveredFailed: number;
  availability: number;
  /** fault → side → ok/total. */
  availabilityBy: Record<string, Record<string, Tally>>;
  problems: string[];
}

function isAdd(v: unknown): v is AddValue {
  return typeof v === 'object' && v !== null && typeof (v as AddValue).key === 'string' && Number.isInteger((v as AddValue).element);
}

export function checkSet(history: readonly HistoryOp[], finals: readonly FinalRead[]): SetCheck {
  const problems: string[] = [];
  /** element → invocation (key, fault, side) */
  const invoked = new Map<number, { key: string; fault: string; side: string }>();
  const outcome = new Map<number, OpType>();
  const pending = new Map<number | 'nemesis', number>();
  for (const op of history) {
    if (op.f !== 'add') continue;
    if (!isAdd(op.value)) {
      problems.push(`malformed add at ${op.time} ms`);
      continue;
    }
    const el = op.value.element;
    if (op.type === 'invoke') {
      if (invoked.has(el)) problems.push(`element ${el} invoked twice`);
      if (pending.has(op.process)) problems.push(`process ${op.process} invoked ${el} while ${pending.get(op.process)} was pending`);
      invoked.set(el, { key: op.value.key, fault: op.fault ?? 'none', side: op.side ?? 'none' });
      pending.set(op.process, el);
    } else {
      if (pending.get(op.process) !== el) problems.push(`process ${op.process} completed ${el} without invoking it`);
      pending.delete(op.process);
      if (outcome.has(el)) problems.push(`element ${el} completed twice`);
      outcome.set(el, op.type);
    }
  }
  // An invocation the run never completed (it ended mid-flight) counts as indeterminate.
  for (const el of invoked.keys()) if (!outcome.has(el)) outcome.set(el, 'info');

  const present = new Map<string, Set<number>>();
  const duplicates: SetCheck['duplicates'] = [];
  for (const f of finals) {
    const set = present.get(f.key) ?? new Set<number>();
    present.set(f.key, set);
    for (const sib of f.siblings) {
      const seen = new Set<number>();
      for (const el of sib) {
        if (seen.has(el)) duplicates.push({ key: f.key, element: el });
        seen.add(el);
        set.add(el);
      }
    }
  }

  const lost: SetCheck['lost'] = [];
  const unexpected: SetCheck['unexpected'] = [];
  let acknowledged = 0;
  let failed = 0;
  let indeterminate = 0;
  let recovered = 0;
  let recoveredFailed = 0;
  const availabilityBy: Record<string, Record<string, Tally>> = {};
  for (const [el, inv] of invoked) {
    const type = outcome.get(el)!;
    const here = present.get(inv.key)?.has(el) ?? false;
    const bySide = (availabilityBy[inv.fault] ??= {});
    const tally = (bySide[inv.side] ??= { ok: 0, total: 0 });
    tally.total += 1;
    if (type === 'ok') {
      acknowledged += 1;
      tally.ok += 1;
      if (!here) lost.push({ key: inv.key, element: el });
    } else if (type === 'fail') {
      failed += 1;
      if (here) recoveredFailed += 1;
    } else {
      indeterminate += 1;
      if (here) recovered += 1;
    }
  }
  for (const [key, set] of present) {
    for (const el of set) {
      const inv = invoked.get(el);
      if (inv === undefined || inv.key !== key) unexpected.push({ key, element: el });
    }
  }
  lost.sort((a, b) => a.element - b.element);
  unexpected.sort((a, b) => a.element - b.element);
  const attempted = invoked.size;
  return {
    valid: lost.length === 0 && unexpected.length === 0 && duplicates.length === 0 && recoveredFailed === 0 && problems.length === 0,
    attempted,
    acknowledged,
    failed,
    indeterminate,
    lost,
    unexpected,
    duplicates,
    recovered,
    recoveredFailed,
    availability: attempted === 0 ? 0 : acknowledged / attempted,
    availabilityBy,
    problems,
  };
}

/** Reads a JSON-lines history (one op per line; blank lines ignored). */
export function parseHistory(text: string): HistoryOp[] {
  const out: HistoryOp[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    out.push(JSON.parse(line) as HistoryOp);
  }
  return out;
}

/**
 * Decodes one stored sibling the way clients write them: a JSON array of integers.
 * Anything else (a value no client of this test writes) decodes to NaN entries, which
 * the checker then reports as unexpected.
 */
export function decodeSibling(base64: string): number[] {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return v as number[];
  } catch {
    // fall through
  }
  return [Number.NaN];
}
