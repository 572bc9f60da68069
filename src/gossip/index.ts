/**
 * Membership, failure detection and ring dissemination, as a pure state machine.
 *
 * Like etcd's raft, this folder does no I/O. The node's driver loop calls `tick(now)`
 * every gossipTickMs, `step(from, msg, now)` for each incoming ping, ack, ping_req or
 * gossip frame, `linkChanged` when the transport sees a connection come or go, and
 * `addSeed` for each seed it dialed. Each call returns the messages to send and the
 * events to report. Time is the monotonic `now` passed in; randomness is the injected
 * `Random`; so a whole cluster runs deterministically in one test.
 *
 * Who says what. Every member authors its own record: id, address, incarnation,
 * heartbeat, declared state (`up`, `leaving`, `left`) and the cluster settings n and q.
 * Records spread by gossip and merge by max (incarnation, heartbeat); nobody edits
 * another member's record, and our own record is never overwritten. If someone holds a
 * record of us at least as new as ours that we did not write (we restarted and lost our
 * incarnation), we jump our incarnation above it. Liveness is different: it is not a
 * property of a member but of the path from us to it, so the status of another node in
 * this node's view changes only through this node's own probes. "A peer speaks only for
 * itself."
 *
 * Dissemination (push-pull, as Cassandra and Riak). Every gossipIntervalMs a node bumps
 * its heartbeat and sends its whole state (members, ring, a sample of its suspicions) to
 * gossipFanout random members it sees up, to one random member it does not (so a healed
 * partition is noticed even when probes are not), and to seeds that have not answered.
 * Frames are built at the end of each call, after the ring decision, so an answer
 * carries everything the call learned. A receiver merges, and if the sender misses or
 * holds older anything the receiver has (after merging), it answers with its own state,
 * so two nodes agree after one round trip. A node does not answer a message that taught it something but left the sender
 * nothing to learn: the sender's state is then already a superset, and answering would
 * start an endless echo because every message carries a fresher heartbeat. Answers to
 * one peer are spaced by gossipReplyIntervalMs, which only matters when two full member
 * maps can never agree.
 *
 * Failure detection (SWIM, with ringpop's 3 indirect probes). Every probe period we ping
 * each member directly (not one member per period: detection time then does not grow
 * with the cluster, and membersMax bounds the cost). No ack within probeTimeoutMs: we
 * ask `indirectProbes` other members to ping it for us (ping_req); their ack, forwarded
 * under our sequence number, counts like a direct one. No ack within indirectTimeoutMs
 * either: the member is suspect. Suspect and silent for suspectTimeoutMs: down. Members
 * not up get a plain ping every period; the first ack brings them back up. A member we
 * just learned of is `suspect` (unconfirmed) and pinged at once; a few milliseconds later
 * its ack makes it up, and if it never answers it goes down like any other.
 *
 * Suspicion gossip is advisory. `sus` lists the members whose last probe by the sender
 * went unanswered (not the unconfirmed new ones, nor held-back flappers that answer). It
 * never changes our view by itself: for a member we see up it only triggers an early
 * probe of our own, whose failure (not the rumour) may then make it suspect. A node that finds itself in someone's
 * `sus` refutes by bumping its incarnation (at most once per refuteIntervalMs, and not
 * while the suspecter has not yet seen our last bump). We decided that a higher
 * incarnation seen for a member we hold suspect or down does NOT clear the suspicion: it
 * triggers an immediate ping, and only that ack clears it. The refutation proves the
 * member is alive, not that we can reach it (an asymmetric partition), and reachability
 * is what `isUp` promises the coordinator. Any message received from a member we do not
 * see up, and a transport link that comes up, likewise prompt a ping.
 *
 * Flap damping (BGP's route-flap damping, RFC 2439). Each fall from up adds a penalty
 * that halves every flapHalfLifeMs. Once it reaches flapSuppressThreshold, the member's
 * return to up waits until the penalty decays below flapReuseThreshold (capped so no
 * member waits longer than flapSuppressMaxMs after its last fall). While held back it is
 * still probed; it stays suspect while it answers, or goes down when it is silent.
 * Events report each status change once, never each probe.
 *
 * The ring. The claimant is the smallest id among members this node sees up and not
 * leaving (itself included). When the claimant's declared members (every member not
 * `left`, down ones included: in Dynamo a failure is not a membership change) differ
 * from the owners of the current ring, or there is no ring, it computes
 * `ring.claim(previous, members)` with leaving members excluded (so their partitions move
 * away) and adopts it. A node alone without a ring waits soloClaimDelayMs, and does not
 * claim at all while a seed it dialed has not answered: a joining node must adopt the
 * cluster's ring rather than race it with a one-member ring. Every node adopts a
 * gossiped ring that wins `ring.compare` (a higher version, ties broken by claimant),
 * so all converge on one ring. The decision
 * lives in one method (`decideRing`) so a later rule (move ownership only after the data
 * has been transferred) has one place to go.
 *
 * Defence in depth. A gossip frame whose sender runs with another n or q is not merged
 * (`config_mismatch`); the transport handshake normally refuses such peers first. Records
 * with empty ids, addresses that are not HOST:PORT or negative counters are skipped. Every
 * collection is bounded: membersMax members (beyond it new ones are ignored with a
 * `member_ignored` event; a `left` tombstone is evicted first), seedsMax pending seeds,
 * relaysMax relayed probes, susMax suspicions per frame, one probe per member.
 *
 * Driver obligations: persist `incarnation` whenever it changed, before performing the
 * sends of that call, and pass it back as `restored.incarnation` on restart (we start one
 * above it, so an incarnation is never reused). Persist the ring on `ring_changed` and
 * pass it back as `restored.ring`. Use `address(id)` to reach a member or pending seed.
 */
export { Gossip, defaultGossipConfig } from './gossip.js';
export type {
  GossipConfig,
  GossipEvent,
  GossipOptions,
  GossipOutput,
  GossipWireMsg,
  MemberInfo,
  MemberStatus,
  RingOps,
} from './types.js';
export { isHostPort, ringFromWire, ringToWire } from './wire.js';
