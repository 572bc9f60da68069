/**
 * An in-test cluster for the gossip core: several Gossip instances, a simulated clock
 * (SimScheduler) and a message loop that delays and drops by rules the test sets. No
 * sockets, no real time.
 */
import { SeededRandom, SimScheduler } from '../../src/env/index.js';
import { Gossip, type GossipConfig, type GossipEvent, type GossipOutput, type GossipWireMsg, type RingOps } from '../../src/gossip/index.js';
import type { RingState } from '../../src/ring/types.js';
import { gossipTickMs } from '../../src/config/index.js';

type RecordingRingOps = RingOps & { claims: Array<{ members: string[]; claimant: string; previous: RingState | undefined }> };

/** Wraps real ring operations (src/ring's claim and compareRings) so the claims they are asked for are recorded. */
export function recording(ops: RingOps): RecordingRingOps {
  const claims: RecordingRingOps['claims'] = [];
  return {
    claims,
    claim(previous, members, options) {
      claims.push({ members: [...members], claimant: options.claimant, previous });
      return ops.claim(previous, members, options);
    },
    compare: (a, b) => ops.compare(a, b),
  };
}

/** A stand-in for src/ring: owners round-robin over the sorted members; higher version wins, then the smaller claimant. */
export function stubRing(): RecordingRingOps {
  const claims: Array<{ members: string[]; claimant: string; previous: RingState | undefined }> = [];
  return {
    claims,
    claim(previous, members, options) {
      claims.push({ members: [...members], claimant: options.claimant, previous });
      const sorted = [...members].sort();
      const owners = Array.from({ length: options.partitions }, (_, p) => sorted[p % sorted.length]!);
      return { partitions: options.partitions, owners, version: (previous?.version ?? 0) + 1, claimant: options.claimant };
    },
    compare(a, b) {
      if (a.version !== b.version) return a.version - b.version;
      if (a.claimant !== b.claimant) return a.claimant < b.claimant ? 1 : -1;
      return 0;
    },
  };
}

export interface ClusterOptions {
  n?: number;
  partitions?: number;
  config?: Partial<GossipConfig>;
  /** Ring operations; the stub by default. */
  ring?: RecordingRingOps;
}

export interface SimNode {
  id: string;
  address: string;
  gossip: Gossip;
  crashed: boolean;
  /** Bumped on restart so the old instance's pending tick chain stops. */
  life: number;
}

export interface Delivery {
  from: string;
  to: string;
  msg: GossipWireMsg;
  at: number;
}

export class Cluster {
  readonly sched = new SimScheduler();
  readonly nodes = new Map<string, SimNode>();
  readonly events: Array<{ at: number; node: string; event: GossipEvent }> = [];
  readonly ringOps: RecordingRingOps;
  private readonly rnd: SeededRandom;
  /** Return true to drop a message. */
  drop: (from: string, to: string, msg: GossipWireMsg, now: number) => boolean = () => false;
  /** Delivery delay, ms. */
  latency: (from: string, to: string, rnd: SeededRandom) => number = (_f, _t, r) => 1 + r.int(10);
  /** Every message handed to a live receiver (for assertions). */
  readonly delivered: Delivery[] = [];
  recordDeliveries = false;

  constructor(
    seed: number,
    private readonly options: ClusterOptions = {},
  ) {
    this.rnd = new SeededRandom(seed);
    this.ringOps = options.ring ?? stubRing();
  }

  get now(): number {
    return this.sched.now;
  }

  static address(i: number): string {
    return `127.0.0.1:${7000 + i}`;
  }

  /** Starts a node (ticking every gossipTickMs); `restored` as after a restart. */
  start(id: string, address: string, restored?: { incarnation: number; ring?: RingState }): SimNode {
    const prev = this.nodes.get(id);
    const node: SimNode = {
      id,
      address,
      gossip: new Gossip({
        self: { id, address },
        n: this.options.n ?? 3,
        partitions: this.options.partitions ?? 16,
        ring: this.ringOps,
        random: this.rnd.fork(),
        now: this.now,
        config: this.options.config,
        restored,
      }),
      crashed: false,
      life: (prev?.life ?? 0) + 1,
    };
    this.nodes.set(id, node);
    const life = node.life;
    const tick = (): void => {
      const cur = this.nodes.get(id);
      if (cur === undefined || cur.life !== life) return;
      if (!cur.crashed) this.apply(id, cur.gossip.tick(this.now));
      this.sched.schedule(gossipTickMs, tick);
    };
    this.sched.schedule(this.rnd.int(gossipTickMs), tick);
    return node;
  }

  node(id: string): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  gossip(id: string): Gossip {
    return this.node(id).gossip;
  }

  /** The node dialed `seed` and learned its id. */
  join(id: string, seed: string): void {
    this.apply(id, this.gossip(id).addSeed(seed, this.node(seed).address, this.now));
  }

  /** Feeds a message to `to` as if `from` had sent it, and performs the answer. */
  inject(to: string, from: string, msg: GossipWireMsg): GossipOutput {
    const out = this.gossip(to).step(from, structuredClone(msg), this.now);
    this.apply(to, out);
    return out;
  }

  /** Performs one output of node `id`: records its events and puts its messages on the simulated network. */
  apply(id: string, out: GossipOutput): void {
    for (const event of out.events) this.events.push({ at: this.now, node: id, event });
    for (const { to, msg } of out.send) {
      const sender = this.nodes.get(id);
      if (sender === undefined || sender.crashed) continue;
      if (this.drop(id, to, msg, this.now)) continue;
      const copy = structuredClone(msg);
      this.sched.schedule(this.latency(id, to, this.rnd), () => {
        const receiver = this.nodes.get(to);
        if (receiver === undefined || receiver.crashed) return;
        if (this.recordDeliveries) this.delivered.push({ from: id, to, msg: copy, at: this.now });
        this.apply(to, receiver.gossip.step(id, copy, this.now));
      });
    }
  }

  crash(id: string): void {
    this.node(id).crashed = true;
  }

  recover(id: string): void {
    this.node(id).crashed = false;
  }

  run(ms: number): void {
    this.sched.advance(ms);
  }

  /** Runs until `cond` holds, checking after every tick period; returns the time it first held, or throws at the deadline. */
  runUntil(cond: () => boolean, deadlineMs: number, what = 'condition'): number {
    const end = this.now + deadlineMs;
    while (!cond()) {
      if (this.now >= end) throw new Error(`${what} not reached within ${deadlineMs} ms (t=${this.now})`);
      this.run(10);
    }
    return this.now;
  }

  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.crashed);
  }

  /** Every node in `ids` sees exactly `ids` as members, all up, and they hold the same ring owned by exactly `ids`. */
  converged(ids: readonly string[]): boolean {
    const want = [...ids].sort().join(',');
    let ring: string | undefined;
    for (const id of ids) {
      const g = this.gossip(id);
      const members = g.members();
      if (members.map((m) => m.id).join(',') !== want) return false;
      if (members.some((m) => m.status !== 'up')) return false;
      const r = g.ring();
      if (r === undefined || [...new Set(r.owners)].sort().join(',') !== want) return false;
      const key = `${r.version}/${r.claimant}/${r.owners.join(',')}`;
      if (ring !== undefined && key !== ring) return false;
      ring = key;
    }
    return true;
  }

  /** Status events `observer` reported about `subject`, from time `since`. */
  statusEvents(observer: string, subject: string, since = 0): Array<{ at: number; status: string; previous: string | undefined }> {
    const out: Array<{ at: number; status: string; previous: string | undefined }> = [];
    for (const e of this.events) {
      if (e.node === observer && e.at >= since && e.event.kind === 'member_status' && e.event.id === subject) {
        out.push({ at: e.at, status: e.event.status, previous: e.event.previous });
      }
    }
    return out;
  }

  /** Starts `count` nodes n0.. and has each join through n0. */
  static formed(seed: number, count: number, options: ClusterOptions = {}): Cluster {
    const c = new Cluster(seed, options);
    for (let i = 0; i < count; i++) c.start(`n${i}`, Cluster.address(i));
    for (let i = 1; i < count; i++) c.join(`n${i}`, 'n0');
    return c;
  }
}

export function ids(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `n${i}`);
}
