/**
 * Exchange: one comparison of the local tree of a partition with a replica's tree, as a
 * state machine that returns its requests as data. Plus the two answering helpers the node
 * uses to serve `ae_levels` and `ae_keys` (for peers, and for its own exchanges' `self`
 * steps).
 */
import { aeHashesPerRequestMax, aeKeysPerExchangeMax, aeKeysPerReplyMax, aeSegmentsPerRequestMax } from '../config/index.js';
import { ERROR_CODES, ShoalError, type ErrorCode } from '../errors/index.js';
import { compareKeys, HASH_BYTES, sameDigest } from './hash.js';
import type { AeKeysMsg, AeKeysOkMsg, AeLevelsMsg, AeLevelsOkMsg, AeReply, AeRequest } from './messages.js';
import type { PartitionTree } from './tree.js';

/**
 * What to do next. `to: 'peer'`: send `msg` to the replica and pass its answer (or an
 * `err`) to onReply. `to: 'self'`: answer `msg` from this node's own store exactly as a
 * peer's `ae_keys` would be answered (KeysPage), and pass that to onReply.
 */
export type ExchangeStep = { done: false; to: 'peer' | 'self'; msg: AeRequest } | ExchangeResult;

export interface ExchangeResult {
  done: true;
  /** Keys whose versions differ between the replicas (or that one side lacks): repair these. */
  keys: string[];
  /** False when the exchange stopped early (error, or aeKeysPerExchangeMax reached): the rest waits for the next one. */
  complete: boolean;
  /** Set when the peer refused or answered nonsense; `keys` then holds what was found before. */
  error?: ShoalError;
  /** Segments found to differ (their keys were compared, or would have been). */
  segmentsDiffering: number;
  /** Requests made, both to the peer and to self. */
  requests: number;
}

export interface ExchangeOptions {
  /** Node indices per ae_levels request. */
  hashesPerRequestMax?: number;
  /** Segments per ae_keys request. */
  segmentsPerRequestMax?: number;
  /** Differing keys collected before the exchange stops early. */
  keysPerExchangeMax?: number;
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'levels'; level: number; pending: number[]; next: number; asked: number[]; differing: number[] }
  | {
      kind: 'keys';
      segments: number[];
      next: number;
      batch: number[];
      batchSet: Set<number>;
      side: 'peer' | 'self';
      after: string | undefined;
      remote: Map<string, Uint8Array>;
      local: Map<string, Uint8Array>;
    }
  | { kind: 'done' };

function errorFrom(reply: { code: string; msg: string }): ShoalError {
  const code = (Object.hasOwn(ERROR_CODES, reply.code) ? reply.code : 'INTERNAL') as ErrorCode;
  return new ShoalError(code, `anti-entropy peer refused: ${reply.msg}`, { details: { peerCode: reply.code } });
}

export class Exchange {
  private phase: Phase = { kind: 'idle' };
  private readonly found: string[] = [];
  private requests = 0;
  private segmentsDiffering = 0;
  private readonly hashesMax: number;
  private readonly segmentsMax: number;
  private readonly keysMax: number;

  constructor(
    private readonly tree: PartitionTree,
    readonly partition: number,
    options: ExchangeOptions = {},
  ) {
    this.hashesMax = Math.max(1, options.hashesPerRequestMax ?? aeHashesPerRequestMax);
    this.segmentsMax = Math.max(1, options.segmentsPerRequestMax ?? aeSegmentsPerRequestMax);
    this.keysMax = Math.max(1, options.keysPerExchangeMax ?? aeKeysPerExchangeMax);
  }

  /** The first request: the remote root. A local tree that is not ready ends the exchange at once. */
  start(): ExchangeStep {
    if (this.phase.kind !== 'idle') throw new ShoalError('INTERNAL', 'exchange already started');
    if (!this.tree.ready) return this.finish(false, new ShoalError('UNAVAILABLE', 'local tree is being rebuilt'));
    this.phase = { kind: 'levels', level: 0, pending: [0], next: 0, asked: [], differing: [] };
    return this.askLevels();
  }

  /** Feeds the answer to the last step's request. */
  onReply(reply: AeReply): ExchangeStep {
    const phase = this.phase;
    if (phase.kind === 'idle' || phase.kind === 'done') throw new ShoalError('INTERNAL', `exchange got a reply while ${phase.kind}`);
    if (reply.t === 'err') return this.finish(false, errorFrom(reply));
    if (!this.tree.ready) return this.finish(false, new ShoalError('UNAVAILABLE', 'local tree is being rebuilt'));
    if (phase.kind === 'levels') {
      if (reply.t !== 'ae_levels_ok') return this.fail(`expected ae_levels_ok, got ${reply.t}`);
      return this.onLevels(phase, reply);
    }
    if (reply.t !== 'ae_keys_ok') return this.fail(`expected ae_keys_ok, got ${reply.t}`);
    return this.onKeys(phase, reply);
  }

  // ------------------------------------------------------------ levels

  private askLevels(): ExchangeStep {
    const phase = this.phase;
    if (phase.kind !== 'levels') throw new ShoalError('INTERNAL', 'not comparing levels');
    phase.asked = phase.pending.slice(phase.next, phase.next + this.hashesMax);
    phase.next += phase.asked.length;
    const msg: AeLevelsMsg = {
      t: 'ae_levels',
      p: this.partition,
      width: this.tree.segments,
      fan: this.tree.fanout,
      level: phase.level,
      idx: phase.asked,
    };
    return this.send('peer', msg);
  }

  private onLevels(phase: Extract<Phase, { kind: 'levels' }>, reply: AeLevelsOkMsg): ExchangeStep {
    if (reply.hashes.length !== phase.asked.length * HASH_BYTES) {
      return this.fail(`ae_levels_ok holds ${reply.hashes.length} bytes for ${phase.asked.length} hashes`);
    }
    const mine = this.tree.levelHashes(phase.level, phase.asked);
    for (let j = 0; j < phase.asked.length; j++) {
      const o = j * HASH_BYTES;
      if (!sameDigest(mine.subarray(o, o + HASH_BYTES), reply.hashes.subarray(o, o + HASH_BYTES))) phase.differing.push(phase.asked[j]!);
    }
    if (phase.next < phase.pending.length) return this.askLevels();
    if (phase.differing.length === 0) return this.finish(true);
    if (phase.level === this.tree.depth) return this.startKeys(phase.differing);
    // Descend: the children of every differing node, all of them batched into the next level's requests.
    const pending: number[] = [];
    for (const i of phase.differing) {
      const { first, count } = this.tree.children(phase.level, i);
      for (let c = 0; c < count; c++) pending.push(first + c);
    }
    this.phase = { kind: 'levels', level: phase.level + 1, pending, next: 0, asked: [], differing: [] };
    return this.askLevels();
  }

  // ------------------------------------------------------------ keys

  private startKeys(segments: number[]): ExchangeStep {
    this.segmentsDiffering = segments.length;
    this.phase = {
      kind: 'keys',
      segments,
      next: 0,
      batch: [],
      batchSet: new Set(),
      side: 'peer',
      after: undefined,
      remote: new Map(),
      local: new Map(),
    };
    return this.nextBatch();
  }

  private nextBatch(): ExchangeStep {
    const phase = this.phase;
    if (phase.kind !== 'keys') throw new ShoalError('INTERNAL', 'not comparing keys');
    if (phase.next >= phase.segments.length) return this.finish(true);
    phase.batch = phase.segments.slice(phase.next, phase.next + this.segmentsMax);
    phase.batchSet = new Set(phase.batch);
    phase.next += phase.batch.length;
    phase.side = 'peer';
    phase.after = undefined;
    phase.remote = new Map();
    phase.local = new Map();
    return this.askKeys();
  }

  private askKeys(): ExchangeStep {
    const phase = this.phase;
    if (phase.kind !== 'keys') throw new ShoalError('INTERNAL', 'not comparing keys');
    const msg: AeKeysMsg = { t: 'ae_keys', p: this.partition, width: this.tree.segments, segs: phase.batch };
    if (phase.after !== undefined) msg.after = phase.after;
    return this.send(phase.side, msg);
  }

  private onKeys(phase: Extract<Phase, { kind: 'keys' }>, reply: AeKeysOkMsg): ExchangeStep {
    const into = phase.side === 'peer' ? phase.remote : phase.local;
    let last = phase.after;
    // Every key must belong to the batch and come strictly after the previous one: that
    // is what guarantees paging makes progress and ends.
    for (const [key, digest] of reply.keys) {
      if (last !== undefined && compareKeys(key, last) <= 0) return this.fail('ae_keys_ok keys out of order or not after `after`');
      if (!phase.batchSet.has(this.tree.segmentOf(key))) return this.fail('ae_keys_ok holds a key from a segment not asked for');
      if (digest.length !== HASH_BYTES) return this.fail('ae_keys_ok digest is not 8 bytes');
      into.set(key, digest);
      last = key;
    }
    if (reply.more) {
      if (reply.keys.length === 0) return this.fail('ae_keys_ok says more but holds no keys');
      phase.after = last;
      return this.askKeys();
    }
    if (phase.side === 'peer') {
      phase.side = 'self';
      phase.after = undefined;
      return this.askKeys();
    }
    // Both sides of the batch are in: a key differs if one side lacks it or the digests differ.
    const batchKeys: string[] = [];
    for (const [key, d] of phase.remote) {
      const mine = phase.local.get(key);
      if (mine === undefined || !sameDigest(mine, d)) batchKeys.push(key);
    }
    for (const key of phase.local.keys()) if (!phase.remote.has(key)) batchKeys.push(key);
    batchKeys.sort(compareKeys);
    for (const key of batchKeys) {
      if (this.found.length >= this.keysMax) return this.finish(false);
      this.found.push(key);
    }
    if (this.found.length >= this.keysMax && phase.next < phase.segments.length) return this.finish(false);
    return this.nextBatch();
  }

  // ------------------------------------------------------------ plumbing

  private send(to: 'peer' | 'self', msg: AeRequest): ExchangeStep {
    this.requests++;
    return { done: false, to, msg };
  }

  private fail(message: string): ExchangeResult {
    return this.finish(false, new ShoalError('DECODE', `anti-entropy exchange of partition ${this.partition}: ${message}`));
  }

  private finish(complete: boolean, error?: ShoalError): ExchangeResult {
    this.phase = { kind: 'done' };
    const result: ExchangeResult = {
      done: true,
      keys: this.found,
      complete,
      segmentsDiffering: this.segmentsDiffering,
      requests: this.requests,
    };
    if (error !== undefined) result.error = error;
    return result;
  }
}

// ---------------------------------------------------------------- answering

function checkShape(tree: PartitionTree, msg: { p: number; width: number; fan?: number }): void {
  if (msg.width !== tree.segments || (msg.fan !== undefined && msg.fan !== tree.fanout)) {
    throw new ShoalError(
      'CONFIG_MISMATCH',
      `anti-entropy tree shape differs: asked ${msg.width} segments/fanout ${String(msg.fan ?? tree.fanout)}, ours is ${tree.segments}/${tree.fanout}`,
    );
  }
}

/**
 * Answers a peer's `ae_levels` from this node's tree of partition msg.p. Throws ShoalError
 * (UNAVAILABLE while the tree is rebuilt, CONFIG_MISMATCH for another tree shape,
 * BAD_REQUEST for a level or index outside it): the node sends it back as `err`.
 */
export function answerLevels(tree: PartitionTree, msg: AeLevelsMsg): AeLevelsOkMsg {
  if (!tree.ready) throw new ShoalError('UNAVAILABLE', `tree of partition ${msg.p} is being rebuilt`);
  checkShape(tree, msg);
  if (msg.idx.length > aeHashesPerRequestMax) throw new ShoalError('BAD_REQUEST', `${msg.idx.length} indices; the limit is ${aeHashesPerRequestMax}`);
  return { t: 'ae_levels_ok', hashes: tree.levelHashes(msg.level, msg.idx) };
}

/**
 * One page of an `ae_keys` answer, built while the node scans partition msg.p from
 * `after` (exclusive) in UTF-8 key order, the order the store pages in:
 *
 *   const page = new KeysPage(tree, msg);
 *   scan keys k > page.after in order: if (!page.offer(k, () => objectDigest(obj))) stop;
 *   send(page.reply());
 *
 * Keys outside the asked segments are skipped (their digest is never computed); the page
 * holds at most `limit` pairs, and offer() returns false on the first matching key that no
 * longer fits, which is how `more` is known exactly. The whole answer costs at most one
 * pass over the partition, spread over the pages. The tree is used only for its shape and
 * segmentOf(), so a tree being rebuilt may still answer `ae_keys`.
 */
export class KeysPage {
  private readonly segs: Set<number>;
  private readonly keys: Array<[string, Uint8Array]> = [];
  private more = false;
  private lastOffered: string | undefined;

  constructor(
    private readonly tree: PartitionTree,
    msg: AeKeysMsg,
    private readonly limit: number = aeKeysPerReplyMax,
  ) {
    checkShape(tree, msg);
    if (msg.segs.length > aeSegmentsPerRequestMax) throw new ShoalError('BAD_REQUEST', `${msg.segs.length} segments; the limit is ${aeSegmentsPerRequestMax}`);
    for (const s of msg.segs) {
      if (!Number.isInteger(s) || s < 0 || s >= tree.segments) throw new ShoalError('BAD_REQUEST', `segment ${s} outside 0..${tree.segments - 1}`);
    }
    this.segs = new Set(msg.segs);
    this.after = msg.after;
    this.lastOffered = msg.after;
  }

  /** Where the node's scan starts (exclusive); undefined = the partition's first key. */
  readonly after: string | undefined;

  /**
   * Whether `key` belongs in this page if it fits: in an asked segment and after `after`.
   * Lets a node pick the keys from a keys-only scan and read only their objects.
   */
  wants(key: string): boolean {
    return (this.after === undefined || compareKeys(key, this.after) > 0) && this.segs.has(this.tree.segmentOf(key));
  }

  /** Whether the page asks for `segment` (`wants` of a key in it, for a page with no `after`). */
  wantsSegment(segment: number): boolean {
    return this.segs.has(segment);
  }

  /** Pairs held so far. */
  get size(): number {
    return this.keys.length;
  }

  /** Offers the scan's next key; false = the page is full, stop scanning. */
  offer(key: string, digest: () => Uint8Array): boolean {
    if (this.more) return false;
    if (this.lastOffered !== undefined && compareKeys(key, this.lastOffered) <= 0) {
      // A scan that does not advance would page forever; skipping is safe, and the
      // exchange would refuse such a page anyway.
      return true;
    }
    this.lastOffered = key;
    if (!this.segs.has(this.tree.segmentOf(key))) return true;
    if (this.keys.length >= this.limit) {
      this.more = true;
      return false;
    }
    this.keys.push([key, digest()]);
    return true;
  }

  reply(): AeKeysOkMsg {
    return { t: 'ae_keys_ok', keys: this.keys, more: this.more };
  }
}
