import { createHash, type Hash } from 'node:crypto';
import { SeededRandom, SimClock, SimScheduler, SimTimers, type Env } from '../env/index.js';
import * as cfg from '../config/index.js';
import * as vc from '../vclock/index.js';
import { MemoryBacking, MemoryEngine, type Engine } from '../store/index.js';
import { MemoryNetwork, type MemoryTransport } from '../transport/index.js';
import { ShoalNode, silentLogger } from '../node/index.js';
import type { ReadResult, WriteResult } from '../api/types.js';
import { PhantomAckTransport, brokenHooks, type BrokenName } from './broken.js';
import { History, coversDot, valueText, type WriteRecord } from './history.js';
import { keyName, nodeId, type FaultPlan, type OpPlan, type Plan } from './plan.js';
import { ForgetfulStore, LossyEngine, NodeTimers, ObservedStore, SlowDiskEngine, durableObject } from './storage.js';

/** One incarnation of a node: from start (or restart) to crash. */
interface Life {
  readonly timers: NodeTimers;
  readonly engine: MemoryEngine;
  readonly store: ObservedStore;
  transport: MemoryTransport | undefined;
  node: ShoalNode | undefined;
  started: boolean;
  dead: boolean;
  readonly starting: Promise<void>;
}

interface Slot {
  readonly index: number;
  readonly id: string;
  /** The node's "disk": survives crashes (a wipe replaces it). */
  backing: MemoryBacking;
  /** The disks wiped from under this node, as they were at the wipe (see checkAckDurable). */
  readonly wipedDisks: MemoryBacking[];
  readonly clock: SimClock;
  readonly random: SeededRandom;
  life: Life | undefined;
  /** Crash right after the next message delivered to this node. */
  crashOnDelivery: { downMs: number } | undefined;
  /** A clean stop still closing its store: the next start waits for it (it holds the disk). */
  stopping: Promise<void> | undefined;
}

export interface WorldStats {
  messagesDelivered: number;
  messagesDropped: number;
  messagesDuplicated: number;
  faults: number;
  crashes: number;
  /** Clean stops (each followed by a start). */
  restarts: number;
  opsStarted: number;
  /** Writes (puts, deletes) the client saw acknowledged. */
  writesAcked: number;
  /** Reads that answered. */
  readsAnswered: number;
  /** Requests that failed or timed out (unavailable, refused, crashed under the client). */
  requestsFailed: number;
  events: number;
}

export interface WorldOptions {
  readonly broken?: BrokenName;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Node i's HOST:PORT on the simulated network. */
export function addressOf(i: number): string {
  return `10.0.0.${i + 1}:7070`;
}

const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const encoder = new TextEncoder();

/**
 * The simulated world: one scheduler for all time, one memory network, and N real
 * ShoalNodes, each with its own clock (skewed), timers (killable and pausable), store
 * (memory engine on a backing that survives crashes, behind a disk with latency) and
 * transport. Every message goes through `onSend`, where the seed decides its fate.
 */
export class World {
  readonly scheduler = new SimScheduler();
  readonly timers = new SimTimers(this.scheduler);
  readonly history: History;
  readonly network: MemoryNetwork;
  readonly stats: WorldStats = {
    messagesDelivered: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
    faults: 0,
    crashes: 0,
    restarts: 0,
    opsStarted: 0,
    writesAcked: 0,
    readsAnswered: 0,
    requestsFailed: 0,
    events: 0,
  };
  readonly slots: Slot[];
  /** False once the liveness phase begins: no new faults, no message loss. */
  faultsOn = true;
  private readonly trace: Hash = createHash('sha256');
  private readonly netRandom: SeededRandom;
  /** Active cuts (unordered pairs) and one-way cuts (ordered), with reference counts so faults may overlap. */
  private readonly cuts = new Map<string, number>();
  private readonly oneway = new Map<string, number>();
  private runaway = false;

  constructor(
    readonly plan: Plan,
    readonly options: WorldOptions = {},
  ) {
    const root = new SeededRandom(plan.seed);
    this.netRandom = root.fork();
    this.history = new History(() => this.scheduler.now);
    this.network = new MemoryNetwork({ deliver: (from, to, bytes, run) => this.onSend(from, to, bytes, run) });
    this.slots = Array.from({ length: plan.nodes }, (_, i) => ({
      index: i,
      id: nodeId(i),
      backing: new MemoryBacking(),
      clock: new SimClock(this.scheduler, plan.skewMs[i] ?? 0),
      random: root.fork(),
      life: undefined,
      crashOnDelivery: undefined,
      stopping: undefined,
      wipedDisks: [],
    }));
  }

  get now(): number {
    return this.scheduler.now;
  }

  get isRunaway(): boolean {
    return this.runaway;
  }

  /** Hex digest of everything delivered and every client answer, in order. */
  traceHash(): string {
    return this.trace.copy().digest('hex').slice(0, 16);
  }

  record(line: string): void {
    this.trace.update(line);
    this.trace.update('\n');
  }

  // ------------------------------------------------------------------ time

  /** Runs every event up to time `t`, draining the microtasks each one starts before the next. */
  async runUntil(t: number): Promise<void> {
    let reached = false;
    this.timers.setTimeout(() => {
      reached = true;
    }, t - this.now);
    while (!reached && !this.runaway) {
      if (++this.stats.events > cfg.simEventsMax) {
        this.runaway = true;
        this.history.violation('runaway', `more than ${cfg.simEventsMax} scheduler events`);
        break;
      }
      if (!this.scheduler.step()) break;
      await drain();
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  // ------------------------------------------------------------------ network

  private onSend(from: string, to: string, bytes: Uint8Array, run: (bytes?: Uint8Array) => void): void {
    const net = this.plan.network;
    const r = this.netRandom;
    const fi = Number(from.slice(1)) - 1;
    const ti = Number(to.slice(1)) - 1;
    const base = net.pathDelayMs[fi]?.[ti] ?? 1;
    const delay = () => {
      let d = base + Math.floor(-Math.log(1 - r.float()) * net.jitterMeanMs);
      if (this.faultsOn && r.float() < net.spikeChance) d += r.int(cfg.simSpikeMaxMs);
      return d;
    };
    if (this.faultsOn && r.float() < net.dropChance) {
      this.stats.messagesDropped++;
      return;
    }
    this.timers.setTimeout(() => this.deliver(from, to, bytes, run), delay());
    if (this.faultsOn && r.float() < net.duplicateChance) {
      this.stats.messagesDuplicated++;
      this.timers.setTimeout(() => this.deliver(from, to, bytes, run), delay());
    }
  }

  /** At delivery time: one-way cuts drop, a paused target holds the message, then the network's own link check runs. */
  private deliver(from: string, to: string, bytes: Uint8Array, run: (bytes?: Uint8Array) => void): void {
    if (this.oneway.has(`${from}>${to}`)) {
      this.stats.messagesDropped++;
      return;
    }
    const slot = this.slot(to);
    const life = slot?.life;
    const go = () => {
      this.stats.messagesDelivered++;
      this.trace.update(`m${from}>${to}:`);
      this.trace.update(bytes);
      run();
      if (slot?.crashOnDelivery && slot.life === life) {
        const { downMs } = slot.crashOnDelivery;
        slot.crashOnDelivery = undefined;
        // After the microtasks this delivery starts: the node dies mid-stream, its unlanded batches lost.
        this.timers.setTimeout(() => this.crashFor(slot, downMs), 0);
      }
    };
    if (life && !life.dead) life.timers.run(go);
    else go();
  }

  private slot(id: string): Slot | undefined {
    return this.slots[Number(id.slice(1)) - 1];
  }

  private cut(pairs: ReadonlyArray<readonly [number, number]>, on: boolean): void {
    for (const [a, b] of pairs) {
      const x = nodeId(a);
      const y = nodeId(b);
      const k = x < y ? `${x}|${y}` : `${y}|${x}`;
      const c = (this.cuts.get(k) ?? 0) + (on ? 1 : -1);
      if (c > 0) this.cuts.set(k, c);
      else this.cuts.delete(k);
      this.network.setReachable(x, y, c <= 0);
    }
  }

  private cutOneway(pairs: ReadonlyArray<readonly [number, number]>, on: boolean): void {
    for (const [a, b] of pairs) {
      const k = `${nodeId(a)}>${nodeId(b)}`;
      const c = (this.oneway.get(k) ?? 0) + (on ? 1 : -1);
      if (c > 0) this.oneway.set(k, c);
      else this.oneway.delete(k);
    }
  }

  // ------------------------------------------------------------------ nodes

  /** Starts (or restarts) a node on its backing. */
  start(slot: Slot): Life {
    const timers = new NodeTimers(this.timers);
    const engine = new MemoryEngine(slot.backing);
    let disk: Engine = new SlowDiskEngine(engine, timers, this.plan.network.diskDelayMs[slot.index] ?? 0);
    if (this.options.broken === 'lossy-engine') disk = new LossyEngine(disk, slot.random.fork());
    const Store = this.options.broken === 'forgetful-handoff' ? ForgetfulStore : ObservedStore;
    const store = new Store(disk, { random: slot.random.fork(), clock: slot.clock }, slot.id, this.history);
    const env: Env = { clock: slot.clock, timers, random: slot.random.fork() };
    let life!: Life;
    const starting = (async () => {
      if (slot.stopping) {
        await slot.stopping;
        if (life.dead) return;
      }
      await store.open();
      if (life.dead) return;
      life.transport = this.network.transport({ self: slot.id, address: addressOf(slot.index), clusterParams: `n=${this.plan.n},q=${this.plan.partitions}`, env: { timers } });
      const hooks = brokenHooks(this.options.broken);
      life.node = new ShoalNode({
        id: slot.id,
        address: addressOf(slot.index),
        n: this.plan.n,
        r: Math.min(cfg.rDefault, this.plan.n),
        w: Math.min(cfg.wDefault, this.plan.n),
        partitions: this.plan.partitions,
        maxValueBytes: cfg.maxValueBytesDefault,
        seeds: this.slots.filter((s) => s !== slot).map((s) => addressOf(s.index)),
        env,
        store,
        transport: this.options.broken === 'phantom-acks' ? new PhantomAckTransport(life.transport, slot.random.fork()) : life.transport,
        log: silentLogger,
        ...(this.plan.tombstoneGraceMs !== undefined ? { tombstoneGraceMs: this.plan.tombstoneGraceMs } : {}),
        ...(hooks ? { hooks } : {}),
      });
      await life.node.start();
      if (!life.dead) life.started = true;
    })().catch((err: unknown) => {
      // A crash during start rejects here; the next restart starts afresh.
      if (process.env['SHOAL_SIM_DEBUG']) console.error('start failed', slot.id, err);
    });
    life = { timers, engine, store, transport: undefined, node: undefined, started: false, dead: false, starting };
    slot.life = life;
    return life;
  }

  crash(slot: Slot): void {
    const life = slot.life;
    if (!life || life.dead) return;
    this.stats.crashes++;
    this.record(`crash ${slot.id}`);
    life.dead = true;
    // stop() clears the node's own timers synchronously; its later awaits may never end (the engine is gone).
    if (life.node) void life.node.stop();
    life.timers.kill();
    if (life.transport) void life.transport.close();
    life.engine.crash();
    slot.life = undefined;
  }

  /**
   * A clean stop, as on SIGTERM: the node stops, its links close, its store drains and
   * closes (writing what it saves at close), and it starts again after downMs. Requests
   * in flight on it count as failed, as after a crash: the checker then owes nothing
   * they may have done. A node that is not running, or paused, is left alone.
   */
  private restartFor(slot: Slot, downMs: number): void {
    const life = slot.life;
    if (!life || life.dead || !life.started || life.timers.isPaused) return;
    this.stats.restarts++;
    this.record(`restart ${slot.id}`);
    life.dead = true;
    slot.life = undefined;
    const stopping = (async () => {
      if (life.node) await life.node.stop();
      if (life.transport) await life.transport.close();
      await life.store.close();
    })()
      .catch((err: unknown) => {
        if (process.env['SHOAL_SIM_DEBUG']) console.error('clean stop failed', slot.id, err);
        life.engine.crash();
      })
      .finally(() => {
        life.timers.kill();
        if (slot.stopping === stopping) slot.stopping = undefined;
      });
    slot.stopping = stopping;
    this.timers.setTimeout(() => {
      if (!slot.life) this.start(slot);
    }, downMs);
  }

  private crashFor(slot: Slot, downMs: number): void {
    if (!slot.life) return;
    this.crash(slot);
    this.timers.setTimeout(() => {
      if (!slot.life) this.start(slot);
    }, downMs);
  }

  /**
   * The node dies and its disk is replaced by an empty one. Writes that no other node's
   * disk holds are gone for good: they are marked lost, so the checker stops owing them.
   */
  private wipe(slot: Slot): void {
    this.crash(slot);
    const old = slot.backing;
    slot.wipedDisks.push(old);
    slot.backing = new MemoryBacking();
    this.record(`wipe ${slot.id}`);
    for (const rec of this.history.writes) {
      if (rec.lost || !this.holds(old, rec)) continue;
      if (!this.slots.some((s) => s !== slot && this.holds(s.backing, rec))) rec.lost = true;
    }
    this.history.wiped(slot.id);
  }

  /** Whether a disk holds a write (or a version that has seen it). */
  private holds(backing: MemoryBacking, rec: WriteRecord): boolean {
    let obj;
    try {
      obj = durableObject(backing, this.plan.partitions, rec.key);
    } catch {
      return false;
    }
    if (!obj) return false;
    const clock = vc.join(obj);
    if (rec.acked) return vc.descends(clock, rec.acked);
    const dots = rec.value === null ? undefined : this.history.dots.get(rec.value);
    return dots !== undefined && dots.some((d) => coversDot(clock, d));
  }

  // ------------------------------------------------------------------ faults

  scheduleFaults(faults: readonly FaultPlan[]): void {
    for (const f of faults) this.timers.setTimeout(() => this.inject(f), Math.max(0, f.at));
  }

  private inject(f: FaultPlan): void {
    if (!this.faultsOn) return;
    this.stats.faults++;
    this.record(`fault ${JSON.stringify(f)}`);
    const end = (ms: number, fn: () => void) => this.timers.setTimeout(() => this.faultsOn && fn(), ms);
    switch (f.kind) {
      case 'partition':
        this.cut(f.pairs, true);
        end(f.durationMs, () => this.cut(f.pairs, false));
        return;
      case 'oneway':
        this.cutOneway(f.pairs, true);
        end(f.durationMs, () => this.cutOneway(f.pairs, false));
        return;
      case 'crash': {
        const slot = this.slots[f.node];
        if (!slot?.life) return;
        if (f.onDelivery) slot.crashOnDelivery = { downMs: f.downMs };
        else this.crashFor(slot, f.downMs);
        return;
      }
      case 'restart': {
        const slot = this.slots[f.node];
        if (slot) this.restartFor(slot, f.downMs);
        return;
      }
      case 'wipe': {
        const slot = this.slots[f.node];
        if (!slot?.life) return;
        this.wipe(slot);
        this.timers.setTimeout(() => {
          if (!slot.life) this.start(slot);
        }, f.downMs);
        return;
      }
      case 'pause': {
        const life = this.slots[f.node]?.life;
        if (!life || life.timers.isPaused) return;
        life.timers.pause();
        end(f.durationMs, () => life.timers.resume());
        return;
      }
      case 'skew': {
        const slot = this.slots[f.node];
        if (slot) slot.clock.skewMs = f.skewMs;
        return;
      }
    }
  }

  /** Ends every fault: links back, nodes restarted and resumed. Clock skews stay (they are not faults to heal). */
  healAll(): void {
    this.faultsOn = false;
    this.record('heal');
    this.cuts.clear();
    this.oneway.clear();
    this.network.heal();
    for (const slot of this.slots) {
      slot.crashOnDelivery = undefined;
      if (!slot.life) this.start(slot);
      else if (slot.life.timers.isPaused) slot.life.timers.resume();
    }
  }

  // ------------------------------------------------------------------ clients

  /** Calls a node as a client would: refused when it is down, held while it is paused, given up after the timeout. */
  private call<T>(slot: Slot, f: (node: ShoalNode) => Promise<T>): Promise<Outcome<T>> {
    const life = slot.life;
    const node = life?.node;
    if (!life || !node || !life.started || life.dead) return Promise.resolve({ ok: false, error: 'refused' });
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: Outcome<T>) => {
        if (done) return;
        done = true;
        this.timers.clearTimeout(guard);
        // A dead process answers nothing: whatever its promise did after the crash is not an answer.
        resolve(life.dead && o.ok ? { ok: false, error: 'crashed' } : o);
      };
      const guard = this.timers.setTimeout(() => finish({ ok: false, error: 'client-timeout' }), cfg.simRequestTimeoutMs + cfg.simClientGraceMs);
      life.timers.run(() => {
        let p: Promise<T>;
        try {
          p = f(node);
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(
          (value) => finish({ ok: true, value }),
          (err: unknown) => finish({ ok: false, error: (err as { code?: string }).code ?? String(err) }),
        );
      });
    });
  }

  /** Runs one client's operations in order. */
  async client(ci: number, ops: readonly OpPlan[]): Promise<void> {
    const contexts = new Map<string, string | null>();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      await this.sleep(op.thinkMs);
      await this.op(ci, i, op, contexts);
    }
  }

  private async op(ci: number, i: number, op: OpPlan, contexts: Map<string, string | null>): Promise<void> {
    const slot = this.slots[op.node % this.slots.length]!;
    const key = keyName(op.key);
    const value = `c${ci}.${i}`;
    this.stats.opsStarted++;
    const tag = `c${ci}.${i} ${op.kind} ${key} @${slot.id}`;
    switch (op.kind) {
      case 'get':
        await this.read(tag, slot, key, op.q, contexts);
        return;
      case 'put':
        await this.write(tag, slot, key, value, null, op.q);
        return;
      case 'putCtx':
        await this.write(tag, slot, key, value, contexts.get(key) ?? null, op.q);
        return;
      case 'rmw':
      case 'del': {
        const read = await this.read(tag, slot, key, 0, contexts);
        if (!read.ok) return;
        await this.write(tag, slot, key, op.kind === 'del' ? null : value, read.value.context, op.q);
        return;
      }
    }
  }

  private async read(tag: string, slot: Slot, key: string, q: number, contexts: Map<string, string | null>): Promise<Outcome<ReadResult>> {
    this.history.keys.add(key);
    const out = await this.call(slot, (node) => node.get(key, q > 0 ? { r: q, timeoutMs: cfg.simRequestTimeoutMs } : { timeoutMs: cfg.simRequestTimeoutMs }));
    if (out.ok) {
      this.stats.readsAnswered++;
      const values = out.value.siblings.map((s) => valueText(s.value));
      this.record(`${tag} read ${JSON.stringify(values)} ${out.value.context ?? '-'}`);
      this.checkRead(tag, key, values);
      contexts.set(key, out.value.context);
    } else {
      this.record(`${tag} read failed ${out.error}`);
      this.stats.requestsFailed++;
    }
    return out;
  }

  private async write(tag: string, slot: Slot, key: string, value: string | null, context: string | null, q: number): Promise<void> {
    const w = q > 0 ? q : Math.min(cfg.wDefault, this.plan.n);
    const rec = this.history.write(key, value, context ? vc.decodeContext(context) : [], w);
    const opts = { timeoutMs: cfg.simRequestTimeoutMs, ...(q > 0 ? { w: q } : {}), ...(context ? { context } : {}) };
    const out = await this.call(slot, (node): Promise<WriteResult> => (value === null ? node.del(key, opts) : node.put(key, encoder.encode(value), opts)));
    if (out.ok) {
      this.stats.writesAcked++;
      this.record(`${tag} ${value === null ? 'del' : 'put'} ok ${out.value.context}`);
      rec.acked = vc.decodeContext(out.value.context);
      this.checkAckDurable(tag, rec);
    } else {
      this.stats.requestsFailed++;
      this.record(`${tag} ${value === null ? 'del' : 'put'} failed ${out.error}`);
    }
  }

  /** A read returns only values some client wrote, and never two where one's writer had seen the other. */
  private checkRead(tag: string, key: string, values: ReadonlyArray<string | null>): void {
    const h = this.history;
    for (const v of values) {
      if (v !== null && !h.byValue.has(v)) h.violation('no-phantom-values', `${tag}: read returned ${JSON.stringify(v.slice(0, 40))}, never written`);
    }
    for (const v of values) {
      const dots = v === null ? undefined : h.dots.get(v);
      if (!dots) continue;
      for (const w of values) {
        if (w === null || w === v) continue;
        const rec = h.byValue.get(w);
        if (rec && dots.every((dot) => coversDot(rec.context, dot))) h.violation('siblings-concurrent', `${tag}: read returned ${w} and ${v}, but ${w} was written over ${v}`);
      }
    }
    void key;
  }

  /**
   * When a client hears "acknowledged", at least W nodes hold the written version in their
   * storage engines, or held it on a disk wiped since: a replica can ack and lose its disk
   * before the coordinator's answer reaches the client. A wiped disk counts only if it
   * descends the acknowledged version, which carries this write's new dot, so no disk
   * wiped before the write was issued can count.
   */
  private checkAckDurable(tag: string, rec: WriteRecord): void {
    const acked = rec.acked!;
    let copies = 0;
    for (const s of this.slots) {
      const held = (obj: ReturnType<World['durable']>) => obj !== undefined && vc.descends(vc.join(obj), acked);
      if (held(this.durable(s, rec.key)) || s.wipedDisks.some((disk) => held(this.durableOn(disk, s, rec.key)))) copies++;
    }
    if (copies < rec.w) this.history.violation('ack-durable', `${tag}: acknowledged at w=${rec.w} while only ${copies} node(s) had it in storage`);
  }

  durable(slot: Slot, key: string) {
    return this.durableOn(slot.backing, slot, key);
  }

  private durableOn(disk: MemoryBacking, slot: Slot, key: string) {
    try {
      return durableObject(disk, this.plan.partitions, key);
    } catch (err) {
      this.history.violation('storage-decodes', `${slot.id} ${key}: ${String(err)}`);
      return undefined;
    }
  }
}
