/**
 * The message catalogue: every frame that crosses a socket, as TypeScript types. The
 * validators in this folder check each incoming frame against these shapes (and the
 * limits in src/config/wire.ts) before any logic sees it.
 *
 * Conventions: `t` is the type tag; short field names keep frames small (they are on the
 * hot path); byte strings are `Uint8Array` (CBOR major type 2), never base64.
 */

// ---------------------------------------------------------------- shared shapes

/** A sibling on the wire: [value bytes or null for a tombstone, write timestamp ms]. */
export type SiblingWire = [value: Uint8Array | null, ts: number];

/** A dvvset entry on the wire: [actor id, counter, timestamp ms, values newest first]. */
export type EntryWire = [id: string, n: number, ts: number, values: SiblingWire[]];

/** A whole DVVSet on the wire. */
export interface DVVSetWire {
  e: EntryWire[];
  a: SiblingWire[];
}

/** One member as gossiped. `st` is the member's own declared state, never liveness. */
export interface MemberWire {
  id: string;
  /** HOST:PORT of the member's one port. */
  addr: string;
  /** Incarnation: bumped by the member itself to refute suspicion or announce a change. */
  inc: number;
  /** Heartbeat version: bumped by the member itself every gossip round. */
  hb: number;
  /** Declared state: `up` (serving), `leaving` (handing off), `left` (gone for good). */
  st: 'up' | 'leaving' | 'left';
  /** Cluster-wide settings this member runs with; must match ours. */
  n: number;
  q: number;
  /**
   * Ready version: the highest pending ring version for which this member has pulled every
   * partition it gains. The claimant makes a pending ring current only when every gaining
   * member is ready for it. Absent = 0.
   */
  rv?: number;
}

/** The ring as gossiped. */
export interface RingWire {
  /** Version; higher wins, ties broken by claimant id. */
  v: number;
  /** Claimant: node that computed this version. */
  c: string;
  /** Owner per partition (length = partitions). */
  o: string[];
  /** Pending owners during a membership change (length = partitions); absent when settled. */
  x?: string[];
}

// ---------------------------------------------------------------- peer protocol (/v1/peer)
// Request/response correlation is the transport's job; these are payloads.

/** Direct liveness probe. */
export interface PingMsg { t: 'ping'; seq: number }
/** Answer to ping or ping_req. */
export interface AckMsg { t: 'ack'; seq: number }
/** Indirect probe: "please ping `target` for me" (SWIM). */
export interface PingReqMsg { t: 'ping_req'; target: string; seq: number }
/**
 * Membership and ring dissemination. `sus` lists the members the sender currently
 * suspects: advisory only (a receiver probes them itself; the suspected node refutes by
 * bumping its incarnation); nobody marks a node down on someone else's word.
 */
export interface GossipMsg { t: 'gossip'; members: MemberWire[]; ring: RingWire; sus: string[] }

/**
 * Replica write: merge `o` into the local copy of key `k` in partition `p` and ack after
 * the storage engine has it. `h`, when present, names the primary this is a hinted copy
 * for: the receiver must also record a durable hint for it.
 */
export interface ReplicaPutMsg { t: 'rput'; p: number; k: string; o: DVVSetWire; h?: string }
export interface ReplicaPutOkMsg { t: 'rput_ok' }
/** Replica read of key `k` in partition `p`: answers the local copy or null. */
export interface ReplicaGetMsg { t: 'rget'; p: number; k: string }
export interface ReplicaGetOkMsg { t: 'rget_ok'; o: DVVSetWire | null }
/**
 * Forwarded client write: the receiving node coordinates it (used when the node a client
 * reached is not among the key's first N reachable nodes, so the dot is always assigned
 * by a replica).
 */
export interface ForwardPutMsg { t: 'fput'; k: string; v: Uint8Array | null; ctx: string | null; w: number; tmo: number }
export interface ForwardPutOkMsg { t: 'fput_ok'; ctx: string }
/** One key's whole object, as partition transfers carry it. */
export type TransferItem = [key: string, o: DVVSetWire];
/**
 * Partition transfer, pulled by the node that gains the partition: the next batch of
 * partition `p` in key order after `after` (null = from the start), at most `limit` keys.
 */
export interface TransferPullMsg { t: 'xfer_pull'; p: number; after: string | null; limit: number }
/** A transfer batch; `total` is the source's key count for the partition (for progress), `more` whether keys remain. */
export interface TransferBatchMsg { t: 'xfer_batch'; items: TransferItem[]; more: boolean; total: number }
/** Partition handoff pushed by a node that holds keys it no longer replicates; the receiver merges them. */
export interface TransferPushMsg { t: 'xfer_push'; p: number; items: TransferItem[] }
export interface TransferPushOkMsg { t: 'xfer_push_ok' }
/** Pending hints this node holds for keys of partition `p` (tombstone reaping needs zero everywhere). */
export interface HintCountMsg { t: 'hint_count'; p: number }
export interface HintCountOkMsg { t: 'hint_count_ok'; n: number }
/**
 * A starting node asks each other owner of its ring whether the cluster has taken it in
 * (ShoalNode.readyForClients): the answer holds the ring version and claimant the owner
 * routes with (0 and null before it has a ring) and whether the asker is reachable in the
 * owner's own view.
 */
export interface ViewMsg { t: 'view' }
export interface ViewOkMsg { t: 'view_ok'; v: number; c: string | null; up: boolean }
/**
 * Tombstone reaping: remove key `k` of partition `p` if the local copy is a tombstone whose
 * causal context equals `ctx` (so nothing newer is removed).
 */
export interface ReapMsg { t: 'reap'; p: number; k: string; ctx: string }
export interface ReapOkMsg { t: 'reap_ok'; removed: boolean }
/**
 * Anti-entropy (src/antientropy): the hashes of nodes `idx` at `level` (0 = root) of the
 * Merkle tree of partition `p`. `width` (segments) and `fan` (fanout) name the tree's shape:
 * a node whose tree has another shape answers `err` CONFIG_MISMATCH, one still rebuilding
 * its tree UNAVAILABLE.
 */
export interface AeLevelsMsg { t: 'ae_levels'; p: number; width: number; fan: number; level: number; idx: number[] }
/** The hashes asked for, 8 bytes each, concatenated in the order of `idx`. */
export interface AeLevelsOkMsg { t: 'ae_levels_ok'; hashes: Uint8Array }
/** The (key, digest) pairs of segments `segs` of partition `p`, in UTF-8 byte order of keys, after key `after` when present. */
export interface AeKeysMsg { t: 'ae_keys'; p: number; width: number; segs: number[]; after?: string }
/** One page of (key, 8-byte causal digest) pairs; `more` = pairs remain after the last key. */
export interface AeKeysOkMsg { t: 'ae_keys_ok'; keys: Array<[key: string, digest: Uint8Array]>; more: boolean }
/** Error answer to any request. `code` is an ErrorCode. */
export interface PeerErrorMsg { t: 'err'; code: string; msg: string }

export type PeerMessage =
  | PingMsg
  | AckMsg
  | PingReqMsg
  | GossipMsg
  | ReplicaPutMsg
  | ReplicaPutOkMsg
  | ReplicaGetMsg
  | ReplicaGetOkMsg
  | ForwardPutMsg
  | ForwardPutOkMsg
  | TransferPullMsg
  | TransferBatchMsg
  | TransferPushMsg
  | TransferPushOkMsg
  | HintCountMsg
  | HintCountOkMsg
  | ViewMsg
  | ViewOkMsg
  | ReapMsg
  | ReapOkMsg
  | AeLevelsMsg
  | AeLevelsOkMsg
  | AeKeysMsg
  | AeKeysOkMsg
  | PeerErrorMsg;

// ---------------------------------------------------------------- client protocol (/v1/ws)
// Every request carries `id` (an unsigned integer chosen by the client, unique among its
// requests in flight); the answer carries the same `id`.

export interface ClientGetMsg { t: 'get'; id: number; k: string; r?: number | 'one' | 'quorum' | 'all'; tmo?: number }
export interface ClientPutMsg {
  t: 'put';
  id: number;
  k: string;
  v: Uint8Array;
  ctx?: string;
  w?: number | 'one' | 'quorum' | 'all';
  tmo?: number;
}
export interface ClientDelMsg { t: 'del'; id: number; k: string; ctx?: string; w?: number | 'one' | 'quorum' | 'all'; tmo?: number }
/** Asks for the ring and members, so the SDK can send each key to one of its owners. */
export interface ClientRingMsg { t: 'ring'; id: number }
/**
 * A direct read (Dynamo's client-driven coordination): this node's own copy of a key, which
 * it answers only while it is one of the key's N primary owners (else `unavailable`). The
 * SDK sends it to R owners at once (one for the object, the rest for its digest), or on
 * an idle client to every owner for the object, and compares the answers itself, saving
 * the coordinator's hop; see src/client and docs/protocol.md.
 */
export interface ClientLocalGetMsg {
  t: 'lget';
  id: number;
  k: string;
  /** Answer with the object's digest only (`lget_dg_ok`): the SDK compares the other owners' copies with the one it reads in full. */
  dg?: boolean;
}

export type ClientRequest = ClientGetMsg | ClientPutMsg | ClientDelMsg | ClientRingMsg | ClientLocalGetMsg;

/** Read answer: live sibling values (empty when not found or deleted) and the context token. */
export interface ClientGetOkMsg { t: 'get_ok'; id: number; vals: Uint8Array[]; ctx: string | null }
/** Write or delete answer: the context of the version just written. */
export interface ClientPutOkMsg { t: 'put_ok'; id: number; ctx: string }
export interface ClientRingOkMsg {
  t: 'ring_ok';
  id: number;
  q: number;
  n: number;
  /** Owner per partition. */
  o: string[];
  /** Members and their client addresses. */
  m: Array<{ id: string; addr: string }>;
  /** The node's default read quorum (its `--r`), for direct reads without an explicit r. */
  r?: number;
}
/** Answer to `lget`: the node's whole stored object (siblings with their dots, tombstones too), or null. */
export interface ClientLocalGetOkMsg { t: 'lget_ok'; id: number; o: DVVSetWire | null }
/** Answer to `lget` with `dg`: the 8-byte digest of the stored object's causal content (anti-entropy's), or null. */
export interface ClientLocalDigestOkMsg { t: 'lget_dg_ok'; id: number; dg: Uint8Array | null }
/** Error answer: `code` is the lowercase wire code (`bad_request`, `unavailable`, ...). */
export interface ClientErrorMsg { t: 'err'; id: number; code: string; msg: string }

export type ClientResponse = ClientGetOkMsg | ClientPutOkMsg | ClientRingOkMsg | ClientLocalGetOkMsg | ClientLocalDigestOkMsg | ClientErrorMsg;
