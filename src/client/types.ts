/**
 * The SDK's public types. Kept free of Node types: this module is loaded in browsers.
 */
import type { Clock, Random, Timers } from '../env/index.js';

/** A read or write quorum: a count 1..N, or one of the named forms. */
export type Quorum = number | 'one' | 'quorum' | 'all';

/**
 * Merges concurrent siblings into one value. Called with two or more values; must be
 * deterministic (the same siblings give the same answer on every client) so clients that
 * resolve independently converge.
 */
export type Resolver = (values: Uint8Array[]) => Uint8Array;

/**
 * The part of a WebSocket the SDK uses: the browser's `WebSocket` and the `ws` package's
 * both have it. Handlers are assigned as properties (`onopen`...), which both support.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class, as `new WebSocket(url, protocols?)` (browser and `ws`). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * Opens one socket. The default (browser) factory uses the WebSocket constructor and,
 * because a browser cannot set headers on a WebSocket, offers the subprotocols
 * `shoal.v1` and `shoal.bearer.<token as base64url>` (the server selects `shoal.v1` and
 * never echoes the token); the Node entry (`src/client/node.ts`) sends
 * `Authorization: Bearer TOKEN` instead.
 */
export type SocketFactory = (url: string, token: string | undefined) => WebSocketLike;

export interface ConnectOptions {
  /** `HOST:PORT` (or full `ws://` / `wss://` URLs); at least one. */
  endpoints: string[];
  /** Client bearer token (the server's `--client-token-file`). */
  token?: string;
  /** Use `wss://` for endpoints given as `HOST:PORT`. */
  tls?: boolean;
  /** WebSocket class; defaults to `globalThis.WebSocket` (the Node entry injects `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Lower-level hook that replaces `WebSocket` entirely (the Node entry uses it for headers). */
  createSocket?: SocketFactory;
  /** How long connect() waits for a first connection (ms); it fails sooner once every endpoint has failed once. */
  connectTimeoutMs?: number;
  /** Default per-request timeout (ms); also sent to the server as the request's `tmo`. */
  timeoutMs?: number;
  /** Default read quorum; absent = the server's default. */
  r?: Quorum;
  /** Default write quorum; absent = the server's default. */
  w?: Quorum;
  /** Sibling resolver for `getResolved` and `update`; default {@link resolveByGreatestBytes}. */
  resolver?: Resolver;
  /** Largest value the client sends (bytes); larger ones fail with TOO_LARGE without a round trip. */
  maxValueBytes?: number;
  /** Send each key to a connected owner of its partition (default true). */
  routing?: boolean;
  /**
   * With routing: read the key's owners directly and answer here when R of their copies
   * hold the same versions, instead of asking one node to coordinate the read (default
   * true). Falls back to a coordinated read whenever the copies differ, an owner refuses
   * or is not connected.
   */
  directReads?: boolean;
  /**
   * With direct reads: when a get is the only request in flight on this client, ask every
   * connected owner for its copy and answer from the first R that agree (default true;
   * see clientDirectReadAllOwnersInFlightMax). Off, a direct get always asks exactly R.
   */
  directReadsAskAllWhenIdle?: boolean;
  /** Injected environment, for tests; defaults are the real ones. */
  clock?: Clock;
  timers?: Timers;
  random?: Random;
}

export interface GetOptions {
  r?: Quorum;
  timeoutMs?: number;
}

export interface PutOptions {
  /** Context token from an earlier read: the new value supersedes what it covers. */
  context?: string | null;
  w?: Quorum;
  timeoutMs?: number;
}

export type DeleteOptions = PutOptions;

export interface GetResult {
  /** Live sibling values; `[]` when the key was never written or is deleted. */
  values: Uint8Array[];
  /** Context token covering what was read (tombstones too); null when the key was never written. */
  context: string | null;
  /** True when at least one live value exists. */
  found: boolean;
}

export interface ResolvedResult {
  /** The one value after the resolver ran; null when nothing is live. */
  value: Uint8Array | null;
  context: string | null;
  found: boolean;
}

export interface WriteResult {
  /** Context of the version just written; pass it to the next write to supersede it. */
  context: string;
}

export interface UpdateResult extends WriteResult {
  /** The value that was written. */
  value: Uint8Array;
}

/** The routing table (`ring` on /v1/ws). */
export interface RoutingTable {
  /** Number of partitions. */
  partitions: number;
  /** Replication factor. */
  n: number;
  /** Owner (node id) per partition; index = partition id. */
  owners: string[];
  /** Members and their client addresses (`HOST:PORT`). */
  members: Array<{ id: string; addr: string }>;
  /** The answering node's default read quorum, when it said (direct reads need it). */
  r?: number;
}

/** What the client did with its gets (cumulative). */
export interface ClientStats {
  /** Gets answered from direct reads of R owners (no coordinator). */
  directReads: number;
  /** Gets that tried direct reads and went through a coordinator after all. */
  directFallbacks: number;
}
