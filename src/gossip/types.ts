import type { Random } from '../env/types.js';
import type { RingState } from '../ring/types.js';
import type { AckMsg, GossipMsg, PingMsg, PingReqMsg } from '../wire/messages.js';

/** The messages the gossip core sends and receives. */
export type GossipWireMsg = PingMsg | AckMsg | PingReqMsg | GossipMsg;

/**
 * A member's status in THIS node's view: liveness from our own probes (`suspect`,
 * `down`) takes precedence over the member's own declaration (`leaving`).
 */
export type MemberStatus = 'up' | 'suspect' | 'down' | 'leaving';

export type GossipEvent =
  /** The status of a member in our view changed (one event per change, never per probe). `previous` is absent for a member just added. */
  | { kind: 'member_status'; id: string; status: MemberStatus; previous?: MemberStatus }
  /** A member we did not know (or that had left and came back with a higher incarnation). */
  | { kind: 'member_added'; id: string; address: string }
  /** A member declared itself `left` (or was dropped to make room): it is no longer part of the cluster. */
  | { kind: 'member_removed'; id: string }
  /** We adopted a new ring (claimed it ourselves or took a gossiped one that wins). */
  | { kind: 'ring_changed'; ring: RingState; previous: RingState | undefined }
  /** A peer runs with other cluster-wide settings (n, partitions); its gossip was not merged. */
  | { kind: 'config_mismatch'; peer: string; detail: string }
  /** A member was not added because `membersMax` members are already tracked. Reported once per id. */
  | { kind: 'member_ignored'; id: string; reason: 'members_full' };

/**
 * What one call into the core asks the driver to do. Order: if `Gossip.incarnation`
 * changed during the call, persist it FIRST, then perform `send` (so a crash can never
 * let a restarted node reuse an incarnation it already announced), then handle `events`.
 * Sends are fire-and-forget: a lost message is handled by the protocol's own timeouts.
 */
export interface GossipOutput {
  send: Array<{ to: string; msg: GossipWireMsg }>;
  events: GossipEvent[];
}

/** The ring operations gossip needs, injected (src/ring's claim and compare in production, stubs in tests). */
export interface RingOps {
  /**
   * A new ring for `members` (sorted ids, leaving and left members excluded), moving as
   * little as possible from `previous`. The result must win `compare` against `previous`
   * (a higher version), with `claimant` as its claimant.
   */
  claim(previous: RingState | undefined, members: readonly string[], options: { partitions: number; n: number; claimant: string }): RingState;
  /** > 0 when `a` should win over `b`, < 0 when `b` should, 0 when they are the same ring. */
  compare(a: RingState, b: RingState): number;
  /**
   * The nodes that gain data when `ring.next` replaces `ring.owners` (they enter some
   * partition's primaries): the pending ring becomes current only once each is ready.
   * Absent: no transfer protocol (membership-only tests): a claimed ring is current at once.
   */
  gainers?(ring: RingState): readonly string[];
}

/** Every tunable of the core; defaults in src/config/gossip.ts (see there for the reasons). */
export interface GossipConfig {
  gossipIntervalMs: number;
  gossipFanout: number;
  gossipReplyIntervalMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  indirectProbes: number;
  indirectTimeoutMs: number;
  suspectTimeoutMs: number;
  refuteIntervalMs: number;
  soloClaimDelayMs: number;
  membersMax: number;
  seedsMax: number;
  susMax: number;
  relaysMax: number;
  flapPenalty: number;
  flapSuppressThreshold: number;
  flapReuseThreshold: number;
  flapHalfLifeMs: number;
  flapSuppressMaxMs: number;
}

/** One member as `Gossip.members()` reports it. */
export interface MemberInfo {
  id: string;
  address: string;
  status: MemberStatus;
  incarnation: number;
  heartbeat: number;
}

export interface GossipOptions {
  self: { id: string; address: string };
  /** Cluster-wide replication factor; a peer with another is refused. */
  n: number;
  /** Cluster-wide partition count; a peer with another is refused. */
  partitions: number;
  ring: RingOps;
  random: Random;
  /** Monotonic ms at construction. */
  now: number;
  config?: Partial<GossipConfig>;
  /** What the node persisted before a restart: the last incarnation it used and its last ring. */
  restored?: { incarnation: number; ring?: RingState };
}
