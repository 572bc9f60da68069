/**
 * What the API layer (HTTP and /v1/ws) needs from a node. The node implements it; unit
 * tests of the API use a fake. Quorum forms (`one`, `quorum`, `all`, 1..N) are parsed by
 * the API into numbers before they reach the node.
 */
import type { DVVSet, Sibling } from '../vclock/types.js';

export interface ReadResult {
  /** Live sibling values (tombstones removed), in a deterministic order. Empty when nothing is live. */
  readonly siblings: readonly Sibling[];
  /** Context token covering everything read (tombstones included); null when the key was never written. */
  readonly context: string | null;
}

export interface WriteResult {
  /** Context token of the version just written. */
  readonly context: string;
}

export interface ReadOptions {
  readonly r?: number;
  readonly timeoutMs?: number;
}

export interface WriteOptions {
  /** Context token from an earlier read; absent = a blind write that becomes a sibling. */
  readonly context?: string;
  readonly w?: number;
  readonly timeoutMs?: number;
}

/** A node's own stored copy of a key, as `GET /v1/local/{key}` shows it. */
export interface LocalCopy {
  readonly siblings: readonly Sibling[];
  readonly context: string;
  /** True when every sibling is a tombstone. */
  readonly tombstone: boolean;
}

export interface MemberView {
  readonly id: string;
  readonly address: string;
  readonly status: 'up' | 'suspect' | 'down' | 'leaving';
}

export interface StatusView {
  readonly node: string;
  readonly n: number;
  readonly partitions: number;
  readonly members: readonly MemberView[];
  readonly hints: { readonly pending: number } & Record<string, unknown>;
  readonly [extra: string]: unknown;
}

export interface RingView {
  readonly partitions: ReadonlyArray<{ readonly id: number; readonly owners: readonly string[] }>;
}

/** The node as the API sees it. Errors are ShoalErrors (BAD_REQUEST, UNAVAILABLE, ...). */
export interface KvService {
  readonly n: number;
  readonly partitions: number;
  readonly maxValueBytes: number;
  get(key: string, options: ReadOptions): Promise<ReadResult>;
  put(key: string, value: Uint8Array, options: WriteOptions): Promise<WriteResult>;
  /** Writes a tombstone superseding what `context` covers. */
  del(key: string, options: WriteOptions): Promise<WriteResult>;
  local(key: string): Promise<LocalCopy | undefined>;
  /**
   * This node's whole stored object for a key (`lget` on /v1/ws, the SDK's direct reads);
   * UNAVAILABLE unless this node is one of the key's N primary owners.
   */
  ownCopy(key: string): Promise<DVVSet | undefined>;
  status(): StatusView;
  ring(): RingView;
  /** Ring and members for SDK routing (`ring` on /v1/ws). */
  routing(): { q: number; n: number; r?: number; owners: readonly string[]; members: ReadonlyArray<{ id: string; addr: string }> };
  /** Starts a graceful leave (POST /v1/admin/leave). */
  leave(): Promise<void>;
}
