/**
 * # Coordinator: sloppy quorums as state machines
 *
 * Any node can take a client request. For a key, the ring gives a preference list: the N
 * distinct primary owners, then every other node as a fallback. `planReplicas` picks the
 * first N *reachable* nodes of that list (Dynamo's sloppy quorum): each unreachable
 * primary is replaced by the next reachable fallback, which stores the write as a hinted
 * copy owed to that primary. When no fallback is left (a cluster of N nodes or fewer) the
 * coordinator itself owes the primary a hint.
 *
 * A write is coordinated by one of its replicas, so the new version's dot is assigned by
 * a node that holds the key: the coordinating replica applies the client's value and
 * context to its own copy (a dvvset update), then sends the resulting object to the other
 * replicas, which merge it (dvvset sync). `WriteQuorum` counts acks — each sent by a
 * replica only after its storage engine has the write — and answers after W. If the node
 * a client reached is not among the targets it forwards the request to the first target.
 *
 * A read asks R replicas, chosen by observed latency (`PeerHealth`), and one more each time
 * one fails or is slow (speculative retry). The answer is the merge of the replies; replicas
 * whose copy differs from that merge get it back (read repair), after the client has its
 * answer. A share of reads ask all N so that read repair sees every replica.
 *
 * `PeerHealth` also keeps a circuit breaker per peer, so a peer that keeps failing is
 * treated as unreachable for a while instead of costing every request a timeout.
 *
 * Everything here is pure: the node performs the sends, storage and timers.
 */
export { planReplicas } from './replicas.js';
export type { ReplicaPlan, ReplicaTarget } from './replicas.js';
export { WriteQuorum } from './write-quorum.js';
export type { WriteState } from './write-quorum.js';
export { ReadQuorum } from './read-quorum.js';
export type { ReadOps, ReadState } from './read-quorum.js';
export { PeerHealth } from './peer-health.js';
export type { PeerHealthConfig } from './peer-health.js';
export { parseQuorum } from './quorum.js';
