import * as defaults from '../config/gossip.js';
import type { Random } from '../env/types.js';
import { ShoalError, assert } from '../errors/index.js';
import type { RingState } from '../ring/types.js';
import type { GossipMsg, MemberWire } from '../wire/messages.js';
import { addFall, isSuppressed, newDamping, type Damping } from './damping.js';
import type {
  GossipConfig,
  GossipEvent,
  GossipOptions,
  GossipOutput,
  GossipWireMsg,
  MemberInfo,
  MemberStatus,
  RingOps,
} from './types.js';
import { compareVersion, isHostPort, isValidId, isValidMember, ringFromWire, ringToWire, sameContent } from './wire.js';

export const defaultGossipConfig: Readonly<GossipConfig> = Object.freeze({
  gossipIntervalMs: defaults.gossipIntervalMs,
  gossipFanout: defaults.gossipFanout,
  gossipReplyIntervalMs: defaults.gossipReplyIntervalMs,
  probeIntervalMs: defaults.gossipProbeIntervalMs,
  probeTimeoutMs: defaults.gossipProbeTimeoutMs,
  indirectProbes: defaults.gossipIndirectProbes,
  indirectTimeoutMs: defaults.gossipIndirectTimeoutMs,
  suspectTimeoutMs: defaults.gossipSuspectTimeoutMs,
  refuteIntervalMs: defaults.gossipRefuteIntervalMs,
  soloClaimDelayMs: defaults.gossipSoloClaimDelayMs,
  membersMax: defaults.gossipMembersMax,
  seedsMax: defaults.gossipSeedsMax,
  susMax: defaults.gossipSusMax,
  relaysMax: defaults.gossipRelaysMax,
  flapPenalty: defaults.flapPenalty,
  flapSuppressThreshold: defaults.flapSuppressThreshold,
  flapReuseThreshold: defaults.flapReuseThreshold,
  flapHalfLifeMs: defaults.flapHalfLifeMs,
  flapSuppressMaxMs: defaults.flapSuppressMaxMs,
});

type Liveness = 'up' | 'suspect' | 'down';
type Declared = MemberWire['st'];

/**
 * One probe of one member. `direct`: a ping, then on timeout `indirect`: ping_req through
 * `via`, then on timeout the member is suspected. `check`: a ping to a member already not
 * up, asking only "are you back?"; its timeout changes nothing.
 */
interface Probe {
  seq: number;
  target: string;
  phase: 'direct' | 'indirect' | 'check';
  deadline: number;
  via: string[];
}

/** A ping we send on behalf of a ping_req; its ack is forwarded to `requester` under `seq`. */
interface Relay {
  requester: string;
  seq: number;
  target: string;
  deadline: number;
}

/** Another member as this node knows it: its own record plus our private view of its liveness. */
interface Peer {
  rec: MemberWire;
  /** Liveness from our own probes only. A new member starts `suspect` (unconfirmed) until its first ack. */
  liveness: Liveness;
  /** When it last became suspect. */
  suspectSince: number;
  lastAckAt: number;
  lastMissAt: number;
  damping: Damping;
  probe: Probe | undefined;
  /** When its record last changed here; the oldest `left` tombstone is evicted first. */
  updatedAt: number;
}

function emptyOutput(): GossipOutput {
  return { send: [], events: [] };
}

/**
 * The membership state machine of one node. See index.ts for the algorithm. Every public
 * method takes `now` (monotonic ms) and returns what the driver must send and report.
 */
export class Gossip {
  private readonly cfg: GossipConfig;
  private readonly selfId: string;
  private readonly selfAddr: string;
  private readonly n: number;
  private readonly partitions: number;
  private readonly ringOps: RingOps;
  private readonly random: Random;

  private inc: number;
  private hb = 0;
  private st: Declared = 'up';
  private lastRefuteAt = Number.NEGATIVE_INFINITY;

  private readonly peers = new Map<string, Peer>();
  /** Seeds the node dialed whose record has not reached us yet: gossiped to every round. */
  private readonly seeds = new Map<string, string>();
  private readonly probes = new Map<number, Probe>();
  private readonly relays = new Map<number, Relay>();
  private readonly lastReplyAt = new Map<string, number>();
  private readonly ignoredReported = new Set<string>();
  /** The statuses last reported in events; diffed at the end of every call. */
  private reported = new Map<string, MemberStatus>();

  private current: RingState | undefined;
  private lastClaimKey = '';
  private lastTarget: readonly string[] | undefined;
  /** Ready version: the pending ring version whose inbound transfers this node has completed. */
  private rv = 0;
  /** Something the ring decision depends on changed since it last ran (members, their states, liveness, the ring). */
  private claimInputsChanged = true;
  private seq: number;
  private nextGossipAt: number;
  private nextProbeAt: number;

  /** Output being built by the current call. */
  private out: GossipOutput = emptyOutput();
  /** Members to send our state to at the end of the call, once the ring decision is made. */
  private gossipTo = new Set<string>();
  private readonly startedAt: number;
  private ringAtStart: RingState | undefined;

  constructor(options: GossipOptions) {
    const { self, n, partitions } = options;
    if (!isValidId(self.id)) throw new ShoalError('INVALID_CONFIG', `invalid node id ${JSON.stringify(self.id)}`);
    if (!isHostPort(self.address)) throw new ShoalError('INVALID_CONFIG', `node address ${JSON.stringify(self.address)} is not HOST:PORT`);
    if (!Number.isSafeInteger(n) || n < 1) throw new ShoalError('INVALID_CONFIG', `n must be a positive integer, got ${n}`);
    if (!Number.isSafeInteger(partitions) || partitions < 1) throw new ShoalError('INVALID_CONFIG', `partitions must be a positive integer, got ${partitions}`);
    this.cfg = { ...defaultGossipConfig, ...options.config };
    this.selfId = self.id;
    this.selfAddr = self.address;
    this.n = n;
    this.partitions = partitions;
    this.ringOps = options.ring;
    this.random = options.random;

    const restored = options.restored;
    if (restored !== undefined && (!Number.isSafeInteger(restored.incarnation) || restored.incarnation < 0)) {
      throw new ShoalError('INVALID_CONFIG', `restored incarnation must be a non-negative integer, got ${restored.incarnation}`);
    }
    // Never reuse an incarnation: the one restored may already have been announced.
    this.inc = (restored?.incarnation ?? 0) + 1;
    if (restored?.ring !== undefined) {
      if (restored.ring.partitions !== partitions || restored.ring.owners.length !== partitions) {
        throw new ShoalError('INVALID_CONFIG', `restored ring has ${restored.ring.partitions} partitions, the node runs with ${partitions}`);
      }
      this.current = restored.ring;
    }
    this.reported.set(this.selfId, 'up');
    this.startedAt = options.now;

    this.seq = this.random.int(2 ** 30);
    // Random phases keep the nodes of a cluster started together from probing and gossiping in lockstep.
    this.nextGossipAt = options.now + this.random.int(this.cfg.gossipIntervalMs);
    this.nextProbeAt = options.now + this.random.int(this.cfg.probeIntervalMs);
  }

  // ------------------------------------------------------------------ public API

  /** The current incarnation. Persist it (before sending) whenever it changes; pass it back as `restored.incarnation` on restart. */
  get incarnation(): number {
    return this.inc;
  }

  /** A seed the node dialed and authenticated (the transport learned its id). Start gossiping with it. */
  addSeed(id: string, address: string, now: number): GossipOutput {
    this.begin();
    if (id !== this.selfId && isValidId(id) && isHostPort(address)) {
      const peer = this.peers.get(id);
      if (peer === undefined || peer.rec.st === 'left') {
        if (this.seeds.has(id) || this.seeds.size < this.cfg.seedsMax) this.seeds.set(id, address);
      }
      if (peer !== undefined || this.seeds.has(id)) this.sendGossip(id);
    }
    return this.finish(now);
  }

  /** Called every gossipTickMs by the driver: timeouts, probe periods, gossip rounds, ring decisions. */
  tick(now: number): GossipOutput {
    this.begin();
    this.expireRelays(now);
    if (this.st !== 'left') {
      this.expireProbes(now);
      this.updateLiveness(now);
      if (now >= this.nextProbeAt) {
        this.nextProbeAt = Math.max(this.nextProbeAt + this.cfg.probeIntervalMs, now + 1);
        for (const peer of this.peers.values()) {
          if (peer.rec.st !== 'left' && peer.probe === undefined) this.startProbe(peer, now);
        }
      }
    }
    if (now >= this.nextGossipAt) {
      this.nextGossipAt = Math.max(this.nextGossipAt + this.cfg.gossipIntervalMs, now + 1);
      this.gossipRound();
    }
    return this.finish(now, true);
  }

  /** An incoming peer message. `from` is the authenticated sender id (the transport's job). */
  step(from: string, msg: GossipWireMsg, now: number): GossipOutput {
    this.begin();
    if (from === this.selfId || !isValidId(from)) return this.finish(now);
    const sender = this.peers.get(from);
    // Any message shows the sender can reach us, not that we can reach it: it only prompts our own probe.
    if (sender !== undefined && sender.liveness !== 'up') this.probeSoon(sender, now);
    switch (msg.t) {
      case 'ping':
        this.send(from, { t: 'ack', seq: msg.seq });
        break;
      case 'ack':
        this.onAck(from, msg.seq, now);
        break;
      case 'ping_req':
        this.onPingReq(from, msg.target, msg.seq, now);
        break;
      case 'gossip':
        this.onGossip(from, msg, now);
        break;
    }
    return this.finish(now);
  }

  /** Transport hints (advisory): a link came up or went down. Either only prompts a probe now. */
  linkChanged(peer: string, up: boolean, now: number): GossipOutput {
    this.begin();
    const p = this.peers.get(peer);
    if (p !== undefined && p.rec.st !== 'left' && up === (p.liveness !== 'up')) this.probeSoon(p, now);
    return this.finish(now);
  }

  /** Declares this node `leaving` (incarnation bump): the claimant moves its partitions away. */
  /**
   * This node has pulled every partition it gains in pending ring `version`: say so in our
   * own record (the claimant waits for it before making the pending ring current).
   */
  setReady(version: number, now: number): GossipOutput {
    this.begin();
    if (version > this.rv) {
      this.rv = version;
      this.hb += 1;
      this.claimInputsChanged = true;
      this.gossipRound();
    }
    return this.finish(now);
  }

  /** The ready version a member last declared (ours included). */
  readyVersion(id: string): number {
    if (id === this.selfId) return this.rv;
    return this.peers.get(id)?.rec.rv ?? 0;
  }

  leave(now: number): GossipOutput {
    this.begin();
    if (this.st === 'up') {
      this.st = 'leaving';
      this.claimInputsChanged = true;
      this.inc += 1;
      this.gossipRound();
    }
    return this.finish(now);
  }

  /** Declares this node `left` after handoff: told to every reachable member; the node should stop soon after. */
  left(now: number): GossipOutput {
    this.begin();
    if (this.st !== 'left') {
      this.st = 'left';
      this.claimInputsChanged = true;
      this.inc += 1;
      for (const p of this.probes.values()) {
        const peer = this.peers.get(p.target);
        if (peer !== undefined) peer.probe = undefined;
      }
      this.probes.clear();
      for (const [id, peer] of this.peers) if (peer.rec.st !== 'left' && peer.liveness === 'up') this.sendGossip(id);
    }
    return this.finish(now);
  }

  /** Every member but those that left, this node included, sorted by id. */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    const self = this.selfStatus();
    if (self !== undefined) out.push({ id: this.selfId, address: this.selfAddr, status: self, incarnation: this.inc, heartbeat: this.hb });
    for (const [id, peer] of this.peers) {
      const status = peerStatus(peer);
      if (status !== undefined) out.push({ id, address: peer.rec.addr, status, incarnation: peer.rec.inc, heartbeat: peer.rec.hb });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  status(id: string): MemberStatus | undefined {
    if (id === this.selfId) return this.selfStatus();
    const peer = this.peers.get(id);
    return peer === undefined ? undefined : peerStatus(peer);
  }

  /** Reachable in this node's own view (what the coordinator uses): our probes get answers. Leaving members still serve. */
  isUp(id: string): boolean {
    if (id === this.selfId) return this.st !== 'left';
    const peer = this.peers.get(id);
    return peer !== undefined && peer.rec.st !== 'left' && peer.liveness === 'up';
  }

  /** Where to reach `id` (HOST:PORT): a member's gossiped address, or a pending seed's dialed one. */
  address(id: string): string | undefined {
    if (id === this.selfId) return this.selfAddr;
    return this.peers.get(id)?.rec.addr ?? this.seeds.get(id);
  }

  ring(): RingState | undefined {
    return this.current;
  }

  // ------------------------------------------------------------------ output plumbing

  private begin(): void {
    this.out = emptyOutput();
    this.gossipTo.clear();
    this.ringAtStart = this.current;
  }

  private finish(now: number, timePassed = false): GossipOutput {
    // The solo-claim delay depends on time alone, so a tick always decides.
    if (this.claimInputsChanged || timePassed) {
      this.claimInputsChanged = false;
      this.decideRing(now);
    }
    if (this.gossipTo.size > 0) {
      // Built last, so it carries everything this call learned and decided (one message for all targets).
      const msg = this.gossipMsg();
      for (const to of this.gossipTo) this.send(to, msg);
      this.gossipTo.clear();
    }
    this.reportStatuses();
    if (this.current !== this.ringAtStart && this.current !== undefined) {
      this.out.events.push({ kind: 'ring_changed', ring: this.current, previous: this.ringAtStart });
    }
    const out = this.out;
    this.out = emptyOutput();
    return out;
  }

  private send(to: string, msg: GossipWireMsg): void {
    this.out.send.push({ to, msg });
  }

  private emit(event: GossipEvent): void {
    this.out.events.push(event);
  }

  /** One event per status change: compares what we report now with what we reported last. */
  private reportStatuses(): void {
    const now = new Map<string, MemberStatus>();
    const self = this.selfStatus();
    if (self !== undefined) now.set(this.selfId, self);
    for (const [id, peer] of this.peers) {
      const status = peerStatus(peer);
      if (status !== undefined) now.set(id, status);
    }
    for (const id of this.reported.keys()) if (!now.has(id)) this.emit({ kind: 'member_removed', id });
    for (const [id, status] of now) {
      const previous = this.reported.get(id);
      if (previous === undefined) {
        this.emit({ kind: 'member_added', id, address: this.address(id) ?? '' });
        this.emit({ kind: 'member_status', id, status });
      } else if (previous !== status) {
        this.emit({ kind: 'member_status', id, status, previous });
      }
    }
    this.reported = now;
  }

  private selfStatus(): MemberStatus | undefined {
    return this.st === 'left' ? undefined : this.st;
  }

  // ------------------------------------------------------------------ dissemination

  private selfRecord(): MemberWire {
    const rec: MemberWire = { id: this.selfId, addr: this.selfAddr, inc: this.inc, hb: this.hb, st: this.st, n: this.n, q: this.partitions };
    if (this.rv > 0) rec.rv = this.rv;
    return rec;
  }

  /** Our full state. Its size is bounded: at most membersMax records, susMax suspicions, one ring. */
  private gossipMsg(): GossipMsg {
    const members: MemberWire[] = [this.selfRecord()];
    const suspects: string[] = [];
    for (const [id, peer] of this.peers) {
      members.push({ ...peer.rec });
      // Only members whose last probe went unanswered: not the unconfirmed new ones, nor
      // held-back flappers that answer.
      if (peer.rec.st !== 'left' && peer.liveness !== 'up' && peer.lastMissAt > peer.lastAckAt) suspects.push(id);
    }
    return { t: 'gossip', members, ring: ringToWire(this.current), sus: this.sample(suspects, this.cfg.susMax) };
  }

  private sendGossip(to: string): void {
    this.gossipTo.add(to);
  }

  /**
   * One round: bump our heartbeat, push to `gossipFanout` members we see up, to one member
   * we do not (so a healed partition is noticed by gossip too, as Cassandra does), and to
   * every seed that has not answered yet.
   */
  private gossipRound(): void {
    this.hb += 1;
    const up: string[] = [];
    const notUp: string[] = [];
    for (const [id, peer] of this.peers) {
      if (peer.rec.st === 'left') continue;
      (peer.liveness === 'up' ? up : notUp).push(id);
    }
    const targets = this.sample(up, this.cfg.gossipFanout);
    targets.push(...this.sample(notUp, 1));
    for (const [id] of this.seeds) {
      const peer = this.peers.get(id);
      if (peer !== undefined && peer.rec.st !== 'left') this.seeds.delete(id);
      else targets.push(id);
    }
    for (const to of targets) this.sendGossip(to);
  }

  private onGossip(from: string, msg: GossipMsg, now: number): void {
    const records = msg.members.length > this.cfg.membersMax ? msg.members.slice(0, this.cfg.membersMax) : msg.members;
    const senderRec = records.find((m) => m.id === from);
    // A sender always includes its own record; without it we cannot check its settings.
    if (senderRec === undefined || !isValidMember(senderRec)) return;
    if (senderRec.n !== this.n || senderRec.q !== this.partitions) {
      this.seeds.delete(from);
      this.emit({
        kind: 'config_mismatch',
        peer: from,
        detail: `peer runs with n=${senderRec.n} partitions=${senderRec.q}, this node with n=${this.n} partitions=${this.partitions}`,
      });
      return;
    }

    const theirs = new Map<string, MemberWire>();
    for (const rec of records) {
      if (theirs.has(rec.id) || !isValidMember(rec) || rec.n !== this.n || rec.q !== this.partitions) continue;
      theirs.set(rec.id, rec);
      this.mergeRecord(rec, now);
    }
    if (this.peers.has(from)) this.seeds.delete(from);

    const theirRing = ringFromWire(msg.ring, this.partitions);
    if (theirRing && (this.current === undefined || this.ringOps.compare(theirRing, this.current) > 0) && this.ringOfMembers(theirRing)) {
      this.current = theirRing;
      this.claimInputsChanged = true;
    }

    const sus = msg.sus.length > this.cfg.susMax ? msg.sus.slice(0, this.cfg.susMax) : msg.sus;
    for (const id of sus) {
      if (id === this.selfId) {
        this.refute(theirs.get(this.selfId), now);
        continue;
      }
      // Advisory: someone else's suspicion only makes us look for ourselves, now.
      const peer = this.peers.get(id);
      if (peer !== undefined && peer.rec.st !== 'left' && peer.liveness === 'up') this.probeSoon(peer, now);
    }

    if (this.senderLacks(theirs, theirRing ?? undefined)) {
      const last = this.lastReplyAt.get(from);
      if (last === undefined || now - last >= this.cfg.gossipReplyIntervalMs) {
        this.noteReply(from, now);
        this.sendGossip(from);
      }
    }
  }

  /**
   * Whether a gossiped ring names only nodes this node knows as members (itself included):
   * its claimant and every owner and pending owner. A peer is authenticated by the cluster
   * secret, but what it relays is not proof: a ring naming strangers (a forged frame, or a
   * peer whose state is corrupt) would route every key to nodes nobody can reach, so it is
   * ignored and our ring stays. A real claim names only members; the sender's own records,
   * merged just before, make any newly joined member known in the same frame.
   */
  private ringOfMembers(ring: RingState): boolean {
    const known = (id: string): boolean => id === this.selfId || this.peers.has(id);
    if (!known(ring.claimant)) return false;
    for (const id of ring.owners) if (!known(id)) return false;
    if (ring.next !== undefined) for (const id of ring.next) if (!known(id)) return false;
    return true;
  }

  /** Merge one member record by max (incarnation, heartbeat); only the member itself authors it. */
  private mergeRecord(incoming: MemberWire, now: number): void {
    // Our own copy with only the known fields: nothing a caller later does to the frame reaches our state.
    const rec: MemberWire =
      incoming.rv !== undefined
        ? { id: incoming.id, addr: incoming.addr, inc: incoming.inc, hb: incoming.hb, st: incoming.st, n: incoming.n, q: incoming.q, rv: incoming.rv }
        : { id: incoming.id, addr: incoming.addr, inc: incoming.inc, hb: incoming.hb, st: incoming.st, n: incoming.n, q: incoming.q };
    if (rec.id === this.selfId) {
      const ours = this.selfRecord();
      const c = compareVersion(rec, ours);
      // Someone holds a record of us at least as new as ours that we did not write in this
      // life (we restarted and lost our incarnation): jump above it so ours wins again.
      if (c > 0 || (c === 0 && !sameContent(rec, ours))) this.inc = Math.max(this.inc, rec.inc) + 1;
      return;
    }
    const peer = this.peers.get(rec.id);
    if (peer === undefined) {
      if (!this.makeRoom()) {
        if (rec.st !== 'left' && !this.ignoredReported.has(rec.id)) {
          if (this.ignoredReported.size < this.cfg.membersMax) this.ignoredReported.add(rec.id);
          this.emit({ kind: 'member_ignored', id: rec.id, reason: 'members_full' });
        }
        return;
      }
      const fresh: Peer = {
        rec,
        liveness: 'suspect',
        suspectSince: now,
        lastAckAt: Number.NEGATIVE_INFINITY,
        lastMissAt: Number.NEGATIVE_INFINITY,
        damping: newDamping(now),
        probe: undefined,
        updatedAt: now,
      };
      this.peers.set(rec.id, fresh);
      this.claimInputsChanged = true;
      if (rec.st !== 'left') this.startProbe(fresh, now);
      return;
    }
    if (compareVersion(rec, peer.rec) <= 0) return;
    const old = peer.rec;
    peer.rec = rec;
    if (rec.st !== old.st || (rec.rv ?? 0) !== (old.rv ?? 0)) this.claimInputsChanged = true;
    peer.updatedAt = now;
    if (rec.st === 'left') {
      this.cancelProbe(peer);
    } else if (old.st === 'left') {
      // Back after leaving (a restart with a higher incarnation): unconfirmed until it answers.
      this.setLiveness(peer, 'suspect');
      peer.suspectSince = now;
      this.probeSoon(peer, now);
    } else if (rec.inc > old.inc && peer.liveness !== 'up') {
      // A refutation: it says it is alive. Only our own ack will say we can reach it.
      this.probeSoon(peer, now);
    }
  }

  /** Room for one more member: evicts the `left` tombstone we updated longest ago when full. */
  private makeRoom(): boolean {
    if (this.peers.size + 1 < this.cfg.membersMax) return true;
    let oldest: [string, Peer] | undefined;
    for (const entry of this.peers) {
      if (entry[1].rec.st === 'left' && (oldest === undefined || entry[1].updatedAt < oldest[1].updatedAt)) oldest = entry;
    }
    if (oldest === undefined) return false;
    this.peers.delete(oldest[0]);
    this.claimInputsChanged = true;
    this.lastReplyAt.delete(oldest[0]);
    return true;
  }

  /** Seen in someone's `sus`: bump our incarnation so everyone probes us again, unless they have not yet seen our last bump. */
  private refute(theirViewOfUs: MemberWire | undefined, now: number): void {
    if (this.st === 'left') return;
    if (theirViewOfUs !== undefined && theirViewOfUs.inc < this.inc) return;
    if (now - this.lastRefuteAt < this.cfg.refuteIntervalMs) return;
    this.lastRefuteAt = now;
    this.inc += 1;
  }

  /** True when the sender's state misses or has older anything we have, so our answer would teach it something. */
  private senderLacks(theirs: Map<string, MemberWire>, theirRing: RingState | undefined): boolean {
    const us = theirs.get(this.selfId);
    if (us === undefined || compareVersion(this.selfRecord(), us) > 0) return true;
    for (const [id, peer] of this.peers) {
      const t = theirs.get(id);
      if (t === undefined || compareVersion(peer.rec, t) > 0) return true;
    }
    if (this.current === undefined) return false;
    return theirRing === undefined || this.ringOps.compare(this.current, theirRing) > 0;
  }

  private noteReply(to: string, now: number): void {
    const cap = this.cfg.membersMax + this.cfg.seedsMax;
    if (!this.lastReplyAt.has(to) && this.lastReplyAt.size >= cap) {
      // Map order is insertion order: drop the entry set longest ago.
      const first = this.lastReplyAt.keys().next();
      if (first.done !== true) this.lastReplyAt.delete(first.value);
    }
    this.lastReplyAt.delete(to);
    this.lastReplyAt.set(to, now);
  }

  // ------------------------------------------------------------------ failure detection

  private nextSeq(): number {
    this.seq = this.seq >= Number.MAX_SAFE_INTEGER ? 1 : this.seq + 1;
    return this.seq;
  }

  /** A direct probe of a member we see up; a "check" ping of one we do not. */
  private startProbe(peer: Peer, now: number): void {
    const seq = this.nextSeq();
    const probe: Probe = {
      seq,
      target: peer.rec.id,
      phase: peer.liveness === 'up' ? 'direct' : 'check',
      deadline: now + this.cfg.probeTimeoutMs,
      via: [],
    };
    peer.probe = probe;
    this.probes.set(seq, probe);
    this.send(probe.target, { t: 'ping', seq });
  }

  /** An early probe (advisory hint), unless one is already out: at most one probe per member at a time. */
  private probeSoon(peer: Peer, now: number): void {
    if (this.st !== 'left' && peer.probe === undefined) this.startProbe(peer, now);
  }

  private cancelProbe(peer: Peer): void {
    if (peer.probe !== undefined) this.probes.delete(peer.probe.seq);
    peer.probe = undefined;
  }

  private expireProbes(now: number): void {
    const due: Probe[] = [];
    for (const p of this.probes.values()) if (p.deadline <= now) due.push(p);
    for (const p of due) {
      const peer = this.peers.get(p.target);
      if (peer === undefined || peer.probe !== p) {
        this.probes.delete(p.seq);
        continue;
      }
      if (p.phase === 'direct') {
        const helpers: string[] = [];
        for (const [id, other] of this.peers) {
          if (id !== p.target && other.rec.st !== 'left' && other.liveness === 'up') helpers.push(id);
        }
        p.via = this.sample(helpers, this.cfg.indirectProbes);
        if (p.via.length > 0) {
          p.phase = 'indirect';
          p.deadline = now + this.cfg.indirectTimeoutMs;
          for (const via of p.via) this.send(via, { t: 'ping_req', target: p.target, seq: p.seq });
          continue;
        }
      }
      this.cancelProbe(peer);
      this.onMiss(peer, now, p.phase !== 'check');
    }
  }

  /** Our probe went unanswered. Only a full probe (direct and indirect) of an up member makes it suspect. */
  private onMiss(peer: Peer, now: number, fullProbe: boolean): void {
    peer.lastMissAt = now;
    if (fullProbe && peer.liveness === 'up') {
      this.setLiveness(peer, 'suspect');
      peer.suspectSince = now;
      addFall(peer.damping, now, this.cfg);
    }
  }

  private onAck(from: string, seq: number, now: number): void {
    const probe = this.probes.get(seq);
    if (probe !== undefined) {
      if (from !== probe.target && !probe.via.includes(from)) return;
      const peer = this.peers.get(probe.target);
      this.probes.delete(seq);
      if (peer === undefined || peer.probe !== probe) return;
      peer.probe = undefined;
      this.onAlive(peer, now);
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined && relay.target === from) {
      this.relays.delete(seq);
      this.send(relay.requester, { t: 'ack', seq: relay.seq });
    }
  }

  /** Our probe was answered: the member is up in our view, unless flap damping holds it back. */
  private onAlive(peer: Peer, now: number): void {
    peer.lastAckAt = now;
    if (peer.liveness !== 'up' && !isSuppressed(peer.damping, now, this.cfg)) this.setLiveness(peer, 'up');
  }

  private onPingReq(from: string, target: string, seq: number, now: number): void {
    if (target === this.selfId) {
      this.send(from, { t: 'ack', seq });
      return;
    }
    const peer = this.peers.get(target);
    // Relay only to members we know (the transport needs their address), within our bound.
    if (peer === undefined || peer.rec.st === 'left' || this.relays.size >= this.cfg.relaysMax) return;
    const ours = this.nextSeq();
    this.relays.set(ours, { requester: from, seq, target, deadline: now + this.cfg.indirectTimeoutMs });
    this.send(target, { t: 'ping', seq: ours });
  }

  private expireRelays(now: number): void {
    for (const [seq, r] of this.relays) if (r.deadline <= now) this.relays.delete(seq);
  }

  private setLiveness(peer: Peer, liveness: Liveness): void {
    if (peer.liveness === liveness) return;
    peer.liveness = liveness;
    this.claimInputsChanged = true;
  }

  /** Suspect to down after a silence, and the end of flap suppression for members that answer. */
  private updateLiveness(now: number): void {
    for (const peer of this.peers.values()) {
      if (peer.rec.st === 'left') continue;
      const answering = peer.lastAckAt > peer.lastMissAt;
      if (peer.liveness !== 'up' && answering && !isSuppressed(peer.damping, now, this.cfg)) {
        this.setLiveness(peer, 'up');
      } else if (peer.liveness === 'suspect' && now - Math.max(peer.suspectSince, peer.lastAckAt) >= this.cfg.suspectTimeoutMs) {
        this.setLiveness(peer, 'down');
      }
    }
  }

  // ------------------------------------------------------------------ ring

  /**
   * The one place that decides whether this node claims a new ring. The claimant is the
   * smallest id among members we see up and not leaving (us included). It claims when the
   * declared members (down ones included: a failure is not a membership change; leaving
   * ones excluded, so their partitions move away) differ from the ring's owners.
   */
  private decideRing(now: number): void {
    if (this.st === 'left') return;
    if (this.current === undefined && !this.hasOtherMembers()) {
      // Alone and ringless: a node told to join (a seed pending) or just started waits, so a
      // fresh node's one-member ring does not race the cluster's ring.
      if (this.seeds.size > 0 || now - this.startedAt < this.cfg.soloClaimDelayMs) return;
    }
    let claimant = this.st === 'up' ? this.selfId : undefined;
    const input: string[] = this.st === 'up' ? [this.selfId] : [];
    for (const [id, peer] of this.peers) {
      if (peer.rec.st !== 'up') continue;
      input.push(id);
      if (peer.liveness === 'up' && (claimant === undefined || id < claimant)) claimant = id;
    }
    if (claimant !== this.selfId) return;
    // Owners of the current ring we know nothing about yet (a restarted node restores its
    // ring before gossip brings back its peers) stay in: not knowing a member is not its
    // leaving. Only a member's own `leaving`/`left` record takes it out.
    if (this.current !== undefined) {
      for (const id of new Set(this.current.owners)) if (id !== this.selfId && !this.peers.has(id) && !input.includes(id)) input.push(id);
    }
    input.sort();
    const previous = this.current;
    if (previous === undefined) {
      // The first ring: nothing is stored anywhere yet, so it is current at once.
      const key = `-1//${input.join('\u0000')}`;
      if (key === this.lastClaimKey) return;
      this.lastClaimKey = key;
      const first = this.ringOps.claim(undefined, input, { partitions: this.partitions, n: this.n, claimant: this.selfId });
      assert(first.partitions === this.partitions && first.owners.length === this.partitions, 'claim returned a ring of the wrong size');
      this.current = first;
      return;
    }
    // A membership change first publishes the target as pending owners (`next`); the nodes
    // that gain partitions pull them, declare themselves ready, and only then do the
    // pending owners become the owners. Serving keeps using the old owners meanwhile.
    const settled: RingState = { partitions: previous.partitions, owners: previous.owners, version: previous.version, claimant: previous.claimant };
    const key = `${previous.version}/${previous.claimant}/${input.join('\u0000')}`;
    let target: readonly string[];
    if (key === this.lastClaimKey && this.lastTarget !== undefined) {
      target = this.lastTarget;
    } else {
      if (sameSet(previous.owners, input) && previous.next === undefined) {
        this.lastClaimKey = key;
        this.lastTarget = previous.owners;
        return;
      }
      const claimed = this.ringOps.claim(settled, input, { partitions: this.partitions, n: this.n, claimant: this.selfId });
      assert(claimed.partitions === this.partitions && claimed.owners.length === this.partitions, 'claim returned a ring of the wrong size');
      target = claimed.owners;
      this.lastClaimKey = key;
      this.lastTarget = target;
    }
    const version = previous.version + 1;
    if (sameOwners(previous.owners, target)) {
      // Nothing moves (or a pending change was undone): settle without a pending list.
      if (previous.next !== undefined) this.current = { partitions: this.partitions, owners: previous.owners, version, claimant: this.selfId };
      return;
    }
    if (!this.ringOps.gainers) {
      // No transfer protocol plugged in (unit tests of membership alone): the target is current at once.
      this.current = { partitions: this.partitions, owners: target, version, claimant: this.selfId };
      return;
    }
    if (previous.next === undefined || !sameOwners(previous.next, target)) {
      this.current = { partitions: this.partitions, owners: previous.owners, next: target, version, claimant: this.selfId };
      return;
    }
    // The pending ring is the target: make it current once every node that gains data is ready for it.
    const gainers = this.ringOps.gainers(previous);
    for (const g of gainers) if (this.readyVersion(g) < previous.version) return;
    this.current = { partitions: this.partitions, owners: target, version, claimant: this.selfId };
  }

  // ------------------------------------------------------------------ helpers

  private hasOtherMembers(): boolean {
    for (const peer of this.peers.values()) if (peer.rec.st !== 'left') return true;
    return false;
  }

  /** Up to `k` distinct random elements of `items` (a partial Fisher-Yates shuffle on a copy). */
  private sample<T>(items: readonly T[], k: number): T[] {
    const a = items.slice();
    const m = Math.min(k, a.length);
    for (let i = 0; i < m; i++) {
      const j = i + this.random.int(a.length - i);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    a.length = m;
    return a;
  }
}

function peerStatus(peer: Peer): MemberStatus | undefined {
  if (peer.rec.st === 'left') return undefined;
  if (peer.liveness !== 'up') return peer.liveness;
  return peer.rec.st === 'leaving' ? 'leaving' : 'up';
}

function sameSet(owners: readonly string[], sortedIds: readonly string[]): boolean {
  const set = new Set(owners);
  if (set.size !== sortedIds.length) return false;
  for (const id of sortedIds) if (!set.has(id)) return false;
  return true;
}

function sameOwners(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
