/**
 * The SDK's connection pool and request engine. See index.ts for the essay.
 */
import {
  clientConnectTimeoutMs,
  clientConnectionsMax,
  clientInFlightMax,
  clientReconnectBaseMs,
  clientReconnectMaxMs,
  clientRetriesMax,
  clientRingRefreshMinMs,
  clientRingRefreshMs,
  clientTimeoutGraceMs,
  clientTimeoutMsDefault,
  clientTimeoutMsMax,
  clientCloseWaitMs,
  clientDirectReadAvoidMs,
  clientDirectReadAllOwnersInFlightMax,
  clientDirectReadTimeoutMs,
  keyBytesMax,
  maxValueBytesDefault,
  nMax,
  readRepairChance,
} from '../config/index.js';
import { objectDigest, sameDigest } from '../antientropy/index.js';
import { RealClock, RealRandom, RealTimers, type Clock, type Random, type TimerHandle, type Timers } from '../env/index.js';
import { ShoalError, codeFromWire } from '../errors/index.js';
import { partitionOf } from '../ring/index.js';
import * as vc from '../vclock/index.js';
import type { DVVSet } from '../vclock/index.js';
import { createClientCodec } from '../wire/index.js';
import type { ClientRequest, ClientResponse, DVVSetWire } from '../wire/index.js';
import type {
  ClientStats,
  ConnectOptions,
  DeleteOptions,
  GetOptions,
  GetResult,
  PutOptions,
  Quorum,
  ResolvedResult,
  Resolver,
  RoutingTable,
  SocketFactory,
  UpdateResult,
  WebSocketConstructor,
  WebSocketLike,
  WriteResult,
} from './types.js';

const OPEN = 1;
const utf8 = new TextEncoder();

/** Request ids are uint32 and wrap; `nextId` skips ids still in flight. */
const ID_MODULUS = 2 ** 32;

/**
 * The default resolver: keeps the sibling whose bytes are greatest (byte-wise, then
 * longer wins). Arbitrary but deterministic, so independent clients pick the same value;
 * applications with a real merge (sets, counters) should pass their own.
 */
export function resolveByGreatestBytes(values: Uint8Array[]): Uint8Array {
  let best = values[0];
  if (best === undefined) throw new ShoalError('BAD_REQUEST', 'resolver called with no values');
  for (const v of values.slice(1)) if (compareBytes(v, best) > 0) best = v;
  return best;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

type RequestBody = DistributiveOmit<ClientRequest, 'id'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

interface Pending {
  readonly id: number;
  readonly frame: Uint8Array;
  /** Gets and ring requests may be resent anywhere; writes only if never sent. */
  readonly idempotent: boolean;
  readonly key: string | undefined;
  readonly resolve: (res: ClientResponse) => void;
  readonly reject: (err: ShoalError) => void;
  readonly timer: TimerHandle;
  /**
   * A direct read goes to this connection and nowhere else: if it is not open, or drops,
   * the request fails (and its get goes through a coordinator).
   */
  readonly target: Connection | undefined;
  /** The connection it was sent on; null while it waits for one. */
  conn: Connection | null;
  retries: number;
}

/** One endpoint: its socket (when connecting or open), its backoff, the requests sent on it. */
class Connection {
  socket: WebSocketLike | null = null;
  state: 'connecting' | 'open' | 'down' = 'down';
  failures = 0;
  reconnectTimer: TimerHandle | null = null;
  lastError = '';
  /** Ids of requests sent on this socket and not yet answered. */
  readonly sent = new Set<number>();
  /** Direct reads skip this node until then (monotonic ms): it let one time out. */
  directAvoidUntil = -Infinity;
  constructor(
    /** `HOST:PORT`, as the ring's members name their client address. */
    readonly address: string,
    readonly url: string,
  ) {}
}

interface OpenWaiter {
  opened(): void;
  failed(why: string): void;
}

interface Endpoint {
  address: string;
  url: string;
}

/** Parses `HOST:PORT` or a `ws(s)://` URL into the address and the /v1/ws URL. */
export function parseEndpoint(endpoint: string, tls: boolean): Endpoint {
  const raw = endpoint.trim();
  const withScheme = raw.includes('://') ? raw : `${tls ? 'wss' : 'ws'}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ShoalError('BAD_REQUEST', `bad endpoint '${endpoint}': expected HOST:PORT or ws(s)://HOST:PORT`);
  }
  const scheme = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss' : url.protocol === 'http:' || url.protocol === 'ws:' ? 'ws' : null;
  if (scheme === null || url.host === '' || url.port === '') {
    throw new ShoalError('BAD_REQUEST', `bad endpoint '${endpoint}': expected HOST:PORT or ws(s)://HOST:PORT`);
  }
  return { address: url.host, url: `${scheme}://${url.host}/v1/ws` };
}

function defaultSocketFactory(ctor: WebSocketConstructor | undefined): SocketFactory {
  const WS = ctor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WS === undefined) {
    throw new ShoalError(
      'INVALID_CONFIG',
      'no WebSocket implementation: pass `WebSocket` to connect(), or in Node import the SDK from its node entry',
    );
  }
  return (url, token) => new WS(url, token === undefined ? [WS_PROTOCOL] : [WS_PROTOCOL, WS_BEARER_PREFIX + base64url(utf8.encode(token))]);
}

/** The subprotocol the server selects; browsers must offer one to carry a token. */
const WS_PROTOCOL = 'shoal.v1';
/** A browser cannot set headers on a WebSocket, so the token rides as a subprotocol offer the server never echoes. */
const WS_BEARER_PREFIX = 'shoal.bearer.';

/** base64url without padding, with no Buffer (browser-safe). */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new ShoalError('BAD_REQUEST', 'key must be a string');
  const bytes = utf8.encode(key).length;
  if (bytes < 1 || bytes > keyBytesMax) {
    throw new ShoalError('BAD_REQUEST', `key must be 1 to ${keyBytesMax} bytes of UTF-8 (got ${bytes})`);
  }
  return key;
}

function checkQuorum(q: Quorum | undefined, name: string): Quorum | undefined {
  if (q === undefined) return undefined;
  if (q === 'one' || q === 'quorum' || q === 'all') return q;
  if (typeof q === 'number' && Number.isInteger(q) && q >= 1 && q <= nMax) return q;
  throw new ShoalError('BAD_REQUEST', `${name} must be 1..${nMax}, 'one', 'quorum' or 'all' (got ${String(q)})`);
}

function checkTimeout(ms: number | undefined, fallback: number): number {
  if (ms === undefined) return fallback;
  if (!Number.isInteger(ms) || ms < 1 || ms > clientTimeoutMsMax) {
    throw new ShoalError('BAD_REQUEST', `timeoutMs must be an integer 1..${clientTimeoutMsMax} (got ${String(ms)})`);
  }
  return ms;
}

function checkContext(ctx: string | null | undefined): string | undefined {
  if (ctx === undefined || ctx === null) return undefined;
  if (typeof ctx !== 'string' || ctx === '') throw new ShoalError('BAD_REQUEST', 'context must be a non-empty string from an earlier read');
  return ctx;
}

function messageOf(event: unknown): string {
  if (event instanceof Error) return event.message;
  if (typeof event === 'object' && event !== null) {
    const e = event as { message?: unknown; error?: unknown };
    if (e.error instanceof Error) return e.error.message;
    if (typeof e.message === 'string') return e.message;
  }
  return 'connection failed';
}

function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

export class ShoalClient {
  private readonly conns = new Map<string, Connection>();
  private readonly pending = new Map<number, Pending>();
  /** Requests waiting for any connection to open, oldest first. */
  private waiting: Pending[] = [];
  private nextIdValue = 1;
  private roundRobin = 0;
  private closed = false;
  private table: RoutingTable | null = null;
  private memberAddr = new Map<string, string>();
  private ringInFlight = false;
  private lastRingRefresh = -Infinity;
  private refreshTimer: TimerHandle | null = null;
  private readonly codec;
  private readonly factory: SocketFactory;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly timeoutMs: number;
  private readonly maxValueBytes: number;
  private readonly routing: boolean;
  private readonly directReads: boolean;
  private readonly askAllWhenIdle: boolean;
  /** Rotates which R of a key's owners a direct read asks, so reads spread over all N. */
  private directTurn = 0;
  private readonly counts: ClientStats = { directReads: 0, directFallbacks: 0 };
  /** Direct gets in progress, and their `lget` frames in `pending`: a direct get counts once against clientInFlightMax. */
  private directGets = 0;
  private directFrames = 0;
  private readonly resolver: Resolver;
  private readonly r: Quorum | undefined;
  private readonly w: Quorum | undefined;
  private readonly openWaiters = new Set<OpenWaiter>();

  constructor(private readonly options: ConnectOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw new ShoalError('BAD_REQUEST', 'connect() needs at least one endpoint');
    }
    this.clock = options.clock ?? new RealClock();
    this.timers = options.timers ?? new RealTimers();
    this.random = options.random ?? new RealRandom();
    this.timeoutMs = checkTimeout(options.timeoutMs, clientTimeoutMsDefault);
    this.maxValueBytes = options.maxValueBytes ?? maxValueBytesDefault;
    this.routing = options.routing ?? true;
    this.directReads = this.routing && (options.directReads ?? true);
    this.askAllWhenIdle = options.directReadsAskAllWhenIdle ?? true;
    this.resolver = options.resolver ?? resolveByGreatestBytes;
    this.r = checkQuorum(options.r, 'r');
    this.w = checkQuorum(options.w, 'w');
    this.codec = createClientCodec({ maxValueBytes: this.maxValueBytes });
    this.factory = options.createSocket ?? defaultSocketFactory(options.WebSocket);
    for (const e of options.endpoints) this.addEndpoint(parseEndpoint(e, options.tls ?? false));
  }

  // ------------------------------------------------------------ public API

  /**
   * Resolves when one connection is open. Fails with UNAVAILABLE (UNAUTHORIZED when a
   * node refused the token) once every endpoint has failed its first attempt, or at
   * `timeoutMs`: a caller at start-up learns at once that nothing answers, instead of
   * waiting through the reconnect backoff.
   */
  async ready(timeoutMs = this.options.connectTimeoutMs ?? clientConnectTimeoutMs): Promise<void> {
    if (this.openConnections().length === 0) {
      await new Promise<void>((resolve, reject) => {
        const waiter: OpenWaiter = {
          opened: () => {
            this.timers.clearTimeout(timer);
            this.openWaiters.delete(waiter);
            resolve();
          },
          failed: (why: string) => {
            this.timers.clearTimeout(timer);
            this.openWaiters.delete(waiter);
            reject(this.connectError(why));
          },
        };
        const timer = this.timers.setTimeout(() => waiter.failed(`no connection within ${timeoutMs} ms`), timeoutMs);
        this.openWaiters.add(waiter);
      });
    }
    if (this.routing) await this.refreshRing().catch(() => undefined);
  }

  private connectError(why: string): ShoalError {
    const errors = [...this.conns.values()].map((c) => `${c.address}: ${c.lastError || 'no answer'}`);
    const unauthorized = errors.some((e) => /\b401\b/.test(e));
    return new ShoalError(unauthorized ? 'UNAUTHORIZED' : 'UNAVAILABLE', `could not connect: ${why} (${errors.join('; ')})`);
  }

  /** Called after a connection attempt failed: if every endpoint has failed once, connect() gives up. */
  private checkAllFailed(): void {
    if (this.openWaiters.size === 0) return;
    for (const c of this.conns.values()) if (c.state !== 'down' || c.failures === 0) return;
    for (const w of [...this.openWaiters]) w.failed('every endpoint failed');
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    checkKey(key);
    const r = checkQuorum(options.r, 'r') ?? this.r;
    let tmo = checkTimeout(options.timeoutMs, this.timeoutMs);
    const direct = this.closed || this.inFlight() >= clientInFlightMax ? null : this.directTargets(key, r);
    if (direct !== null) {
      const started = this.clock.monotonic();
      this.directGets++;
      let got: GetResult | null;
      try {
        const directTmo = Math.max(1, Math.min(clientDirectReadTimeoutMs, Math.floor(tmo / 2)));
        got =
          direct.targets.length === direct.r
            ? await this.directGet(key, direct.targets, directTmo)
            : await this.directGetFirstAgreeing(key, direct.targets, direct.r, directTmo);
      } finally {
        this.directGets--;
      }
      if (got !== null) {
        this.counts.directReads++;
        return got;
      }
      this.counts.directFallbacks++;
      tmo = Math.max(1, tmo - Math.ceil(this.clock.monotonic() - started));
    }
    const res = await this.request({ t: 'get', k: key, ...(r === undefined ? {} : { r }), tmo }, key, tmo);
    if (res.t !== 'get_ok') throw unexpected(res);
    return { values: res.vals, context: res.ctx, found: res.vals.length > 0 };
  }

  /** How many gets were direct reads, and how many of those fell back to a coordinator. */
  stats(): ClientStats {
    return { ...this.counts };
  }

  /**
   * The connections a direct read of `key` asks, and its R: R of its N owners, rotating,
   * every one open; or, on an idle client (clientDirectReadAllOwnersInFlightMax), every
   * open owner, of which R must agree. Null when a direct read cannot stand in for a
   * coordinated one: direct reads off, no ring yet, R unknown (no option and the server
   * did not say), fewer than R owners connected, or this read drew the read-repair chance
   * (a coordinated read then asks every replica and repairs the stale, as the server does
   * for its own gets).
   */
  private directTargets(key: string, quorum: Quorum | undefined): { targets: Connection[]; r: number } | null {
    const table = this.table;
    if (!this.directReads || table === null) return null;
    const r = quorum === 'one' ? 1 : quorum === 'quorum' ? Math.floor(table.n / 2) + 1 : quorum === 'all' ? table.n : (quorum ?? table.r);
    if (r === undefined || r < 1 || r > table.n) return null;
    if (this.random.float() < readRepairChance) return null;
    const owners = preferredOwners(table, key);
    if (owners.length < r) return null;
    const start = this.directTurn++ % owners.length;
    const now = this.clock.monotonic();
    const want = this.askAllWhenIdle && this.inFlight() < clientDirectReadAllOwnersInFlightMax ? owners.length : r;
    const out: Connection[] = [];
    for (let i = 0; i < owners.length && out.length < want; i++) {
      const addr = this.memberAddr.get(owners[(start + i) % owners.length]!);
      const c = addr === undefined ? undefined : this.conns.get(addr);
      if (c !== undefined && c.state === 'open' && c.socket !== null && c.directAvoidUntil <= now) out.push(c);
    }
    return out.length >= r ? { targets: out, r } : null;
  }

  /**
   * One `lget` of a direct read. Undefined when the owner refused or failed; an owner that
   * does not answer a local read in time is paused, overloaded or cut off, so later direct
   * reads leave it out for a while (a coordinator's speculative retry and circuit breaker
   * deal with it meanwhile).
   */
  private directRequest(c: Connection, key: string, digestOnly: boolean, timeoutMs: number): Promise<ClientResponse | undefined> {
    return this.request(digestOnly ? { t: 'lget', k: key, dg: true } : { t: 'lget', k: key }, key, timeoutMs, c).then(
      (res) => res,
      (err: unknown) => {
        if (err instanceof ShoalError && err.code === 'TIMEOUT') c.directAvoidUntil = this.clock.monotonic() + clientDirectReadAvoidMs;
        return undefined;
      },
    );
  }

  /**
   * Asks every target for its whole copy and answers from the first `r` whose copies hold
   * the same versions (equal digests), without waiting for the rest. Any two sets of R
   * owners share one when R + W > N, so R agreeing copies hold every write acknowledged
   * by W, as R copies read by a coordinator would. Null (the caller reads through a
   * coordinator, which repairs) once no `r` can agree any more.
   */
  private directGetFirstAgreeing(key: string, targets: Connection[], r: number, timeoutMs: number): Promise<GetResult | null> {
    return new Promise((resolve) => {
      const groups: Array<{ digest: Uint8Array | null; count: number }> = [];
      let left = targets.length;
      let best = 0;
      let done = false;
      const settle = (res: ClientResponse | undefined): void => {
        left--;
        if (done) return;
        if (res?.t === 'lget_ok') {
          let obj: DVVSet | undefined;
          let valid = true;
          try {
            obj = res.o === null ? undefined : vc.fromWire(res.o as DVVSetWire);
          } catch {
            valid = false;
          }
          if (valid) {
            const digest = obj === undefined ? null : objectDigest(obj);
            let group = groups.find((g) => (g.digest === null ? digest === null : digest !== null && sameDigest(g.digest, digest)));
            if (group === undefined) groups.push((group = { digest, count: 0 }));
            best = Math.max(best, ++group.count);
            if (group.count >= r) {
              done = true;
              resolve(answerOf(obj));
              return;
            }
          }
        }
        if (best + left < r) {
          done = true;
          resolve(null);
        }
      };
      for (const c of targets) void this.directRequest(c, key, false, timeoutMs).then(settle);
    });
  }

  /**
   * Reads the first target's whole copy (`lget`) and only the digest of the others' (as
   * Cassandra sends one data request and digest requests for the rest), and answers from
   * the copy when every digest matches it, exactly as a coordinator would from the same
   * replies. The digest is anti-entropy's (`objectDigest`: each entry's actor, counter and
   * value count), so equal digests mean the same versions. Null (the caller reads through
   * a coordinator) when any target refused, failed or was slow, or when a copy differs:
   * the coordinator merges them and repairs the stale one.
   */
  private async directGet(key: string, targets: Connection[], timeoutMs: number): Promise<GetResult | null> {
    const replies = await Promise.all(targets.map((c, i) => this.directRequest(c, key, i > 0, timeoutMs)));
    const data = replies[0];
    if (data?.t !== 'lget_ok') return null;
    let obj: DVVSet | undefined;
    try {
      obj = data.o === null ? undefined : vc.fromWire(data.o as DVVSetWire);
    } catch {
      return null;
    }
    let digest: Uint8Array | null | undefined;
    for (let i = 1; i < replies.length; i++) {
      const res = replies[i];
      if (res?.t !== 'lget_dg_ok') return null;
      if (res.dg === null || obj === undefined) {
        if (res.dg !== null || obj !== undefined) return null;
        continue;
      }
      digest ??= objectDigest(obj);
      if (!sameDigest(digest, res.dg)) return null;
    }
    return answerOf(obj);
  }

  async put(key: string, value: Uint8Array | string, options: PutOptions = {}): Promise<WriteResult> {
    checkKey(key);
    const v = typeof value === 'string' ? utf8.encode(value) : value;
    if (!(v instanceof Uint8Array)) throw new ShoalError('BAD_REQUEST', 'value must be a Uint8Array or a string');
    if (v.length > this.maxValueBytes) {
      throw new ShoalError('TOO_LARGE', `value is ${v.length} bytes; the limit is ${this.maxValueBytes}`);
    }
    const ctx = checkContext(options.context);
    const w = checkQuorum(options.w, 'w') ?? this.w;
    const tmo = checkTimeout(options.timeoutMs, this.timeoutMs);
    const body: RequestBody = { t: 'put', k: key, v, tmo, ...(ctx === undefined ? {} : { ctx }), ...(w === undefined ? {} : { w }) };
    const res = await this.request(body, key, tmo);
    if (res.t !== 'put_ok') throw unexpected(res);
    return { context: res.ctx };
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<WriteResult> {
    checkKey(key);
    const ctx = checkContext(options.context);
    const w = checkQuorum(options.w, 'w') ?? this.w;
    const tmo = checkTimeout(options.timeoutMs, this.timeoutMs);
    const body: RequestBody = { t: 'del', k: key, tmo, ...(ctx === undefined ? {} : { ctx }), ...(w === undefined ? {} : { w }) };
    const res = await this.request(body, key, tmo);
    if (res.t !== 'put_ok') throw unexpected(res);
    return { context: res.ctx };
  }

  /** Reads and applies the resolver when there are siblings. */
  async getResolved(key: string, options: GetOptions = {}): Promise<ResolvedResult> {
    const got = await this.get(key, options);
    const value = got.values.length === 0 ? null : got.values.length === 1 ? (got.values[0] ?? null) : this.resolver(got.values);
    return { value, context: got.context, found: got.found };
  }

  /**
   * Read-modify-write: reads the key, calls `fn` with its live values (siblings as a
   * list, `[]` when absent) and writes the result with the read's context, so the new
   * value supersedes every sibling it was computed from. A concurrent writer is not
   * blocked: its write and this one become siblings, as in any Dynamo store.
   */
  async update(
    key: string,
    fn: (current: Uint8Array[]) => Uint8Array | string,
    options: GetOptions & Omit<PutOptions, 'context'> = {},
  ): Promise<UpdateResult> {
    const got = await this.get(key, { ...(options.r === undefined ? {} : { r: options.r }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
    const next = fn(got.values);
    const value = typeof next === 'string' ? utf8.encode(next) : next;
    const put = await this.put(key, value, { context: got.context, ...(options.w === undefined ? {} : { w: options.w }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
    return { context: put.context, value };
  }

  /** Asks a connected node for the routing table (and refreshes the client's copy). */
  async ring(options: { timeoutMs?: number } = {}): Promise<RoutingTable> {
    const tmo = checkTimeout(options.timeoutMs, this.timeoutMs);
    const res = await this.request({ t: 'ring' }, undefined, tmo);
    if (res.t !== 'ring_ok') throw unexpected(res);
    const table: RoutingTable = {
      partitions: res.q,
      n: res.n,
      owners: [...res.o],
      members: res.m.map((m) => ({ id: m.id, addr: m.addr })),
      ...(res.r === undefined ? {} : { r: res.r }),
    };
    this.adoptTable(table);
    return table;
  }

  /** Addresses (`HOST:PORT`) of the connections open right now. */
  connected(): string[] {
    return this.openConnections().map((c) => c.address);
  }

  /** Closes every connection; requests in flight fail with CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer !== null) this.timers.clearTimeout(this.refreshTimer);
    for (const p of [...this.pending.values()]) this.finish(p, null, new ShoalError('CLOSED', 'the client was closed'));
    const sockets: Array<Promise<void>> = [];
    for (const c of this.conns.values()) {
      if (c.reconnectTimer !== null) this.timers.clearTimeout(c.reconnectTimer);
      const s = c.socket;
      c.socket = null;
      c.state = 'down';
      if (s === null) continue;
      sockets.push(
        new Promise<void>((resolve) => {
          const t = this.timers.setTimeout(resolve, clientCloseWaitMs);
          s.onclose = () => {
            this.timers.clearTimeout(t);
            resolve();
          };
          s.onerror = () => undefined;
          s.onmessage = null;
          s.onopen = null;
          try {
            s.close(1000, 'client closed');
          } catch {
            this.timers.clearTimeout(t);
            resolve();
          }
        }),
      );
    }
    await Promise.all(sockets);
  }

  // ------------------------------------------------------------ requests

  /**
   * Sends one request. With `target` it goes to that connection only and fails at its
   * own `timeoutMs` (a direct read: the caller has a fallback); otherwise it goes to the
   * best open connection, moves on failover, and waits `clientTimeoutGraceMs` past the
   * timeout for the server's own answer.
   */
  private request(body: RequestBody, key: string | undefined, timeoutMs: number, target?: Connection): Promise<ClientResponse> {
    if (this.closed) return Promise.reject(new ShoalError('CLOSED', 'the client is closed'));
    // A direct read's frames belong to a get that was admitted already.
    if (target === undefined && this.inFlight() >= clientInFlightMax) {
      return Promise.reject(new ShoalError('OVERLOADED', `${clientInFlightMax} requests already in flight on this client`));
    }
    const id = this.nextId();
    let frame: Uint8Array;
    try {
      frame = this.codec.encodeRequest({ ...body, id } as ClientRequest);
    } catch (err) {
      return Promise.reject(err instanceof ShoalError ? err : new ShoalError('BAD_REQUEST', String(err), { cause: err }));
    }
    return new Promise<ClientResponse>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        const p = this.pending.get(id);
        if (p === undefined) return;
        const where = p.conn === null ? 'no connection was open' : `sent to ${p.conn.address}`;
        this.finish(p, null, new ShoalError('TIMEOUT', `no answer within ${timeoutMs} ms (${where})`, { details: { maybeApplied: p.conn !== null } }));
      }, timeoutMs + (target === undefined ? clientTimeoutGraceMs : 0));
      const p: Pending = { id, frame, idempotent: body.t === 'get' || body.t === 'ring' || body.t === 'lget', key, resolve, reject, timer, target, conn: null, retries: 0 };
      if (target !== undefined) this.directFrames++;
      this.pending.set(id, p);
      this.dispatch(p);
    });
  }

  /** Requests in flight as clientInFlightMax counts them: a direct get is one, however many owners it asks. */
  private inFlight(): number {
    return this.pending.size - this.directFrames + this.directGets;
  }

  private nextId(): number {
    for (;;) {
      const id = this.nextIdValue;
      this.nextIdValue = (this.nextIdValue + 1) % ID_MODULUS;
      if (!this.pending.has(id)) return id;
    }
  }

  /** Sends `p` on the best open connection, or parks it until one opens. */
  private dispatch(p: Pending): void {
    const conn = p.target ?? this.pick(p.key);
    if (p.target !== undefined && (conn === null || conn.state !== 'open' || conn.socket === null)) {
      this.finish(p, null, new ShoalError('UNAVAILABLE', `${p.target.address} is not connected`));
      return;
    }
    if (conn === null || conn.socket === null) {
      this.waiting.push(p);
      return;
    }
    p.conn = conn;
    conn.sent.add(p.id);
    try {
      conn.socket.send(p.frame);
    } catch (err) {
      // The socket died under us; its close handler will move or fail the request.
      conn.lastError = messageOf(err);
      this.dropConnection(conn);
    }
  }

  /** Settles a request exactly once, releasing its timer and bookkeeping. */
  private finish(p: Pending, res: ClientResponse | null, err: ShoalError | null): void {
    if (this.pending.get(p.id) !== p) return;
    this.pending.delete(p.id);
    if (p.target !== undefined) this.directFrames--;
    this.timers.clearTimeout(p.timer);
    p.conn?.sent.delete(p.id);
    const i = this.waiting.indexOf(p);
    if (i >= 0) this.waiting.splice(i, 1);
    if (err !== null) p.reject(err);
    else if (res !== null) p.resolve(res);
  }

  private onFrame(conn: Connection, data: unknown): void {
    const bytes = toBytes(data);
    let res: ClientResponse;
    try {
      if (bytes === null) throw new ShoalError('DECODE', 'expected a binary frame');
      res = this.codec.decodeResponse(bytes);
    } catch (err) {
      // A frame we cannot read means we cannot trust this connection's stream at all.
      conn.lastError = `bad frame from server: ${messageOf(err)}`;
      this.dropConnection(conn);
      return;
    }
    const p = this.pending.get(res.id);
    // An answer for a request we already moved elsewhere (or that timed out) is stale.
    if (p === undefined || p.conn !== conn) return;
    if (res.t === 'err') {
      const code = codeFromWire(res.code);
      if (code === 'UNAVAILABLE') this.ringStale();
      this.finish(p, null, new ShoalError(code, res.msg, { details: { endpoint: conn.address } }));
      return;
    }
    this.finish(p, res, null);
  }

  // ------------------------------------------------------------ connections

  private addEndpoint(e: Endpoint): void {
    if (this.conns.has(e.address) || this.conns.size >= clientConnectionsMax) return;
    const c = new Connection(e.address, e.url);
    this.conns.set(e.address, c);
    this.open(c);
  }

  private open(c: Connection): void {
    if (this.closed) return;
    c.reconnectTimer = null;
    c.state = 'connecting';
    let s: WebSocketLike;
    try {
      s = this.factory(c.url, this.options.token);
    } catch (err) {
      c.lastError = messageOf(err);
      c.state = 'down';
      this.scheduleReconnect(c);
      this.checkAllFailed();
      return;
    }
    c.socket = s;
    // Browsers default to Blob (asynchronous to read): ask for ArrayBuffers. The `ws`
    // package defaults to Node Buffers, which are Uint8Arrays already; asking it for
    // ArrayBuffers would copy every answer out of its receive buffer.
    if (s.binaryType !== 'nodebuffer') s.binaryType = 'arraybuffer';
    s.onopen = () => {
      if (c.socket !== s) return;
      c.state = 'open';
      c.failures = 0;
      c.lastError = '';
      this.onOpen();
    };
    s.onmessage = (ev: { data: unknown }) => {
      if (c.socket === s) this.onFrame(c, ev.data);
    };
    s.onerror = (ev: unknown) => {
      if (c.socket === s) c.lastError = messageOf(ev);
    };
    s.onclose = () => {
      if (c.socket === s) this.dropConnection(c);
    };
  }

  private onOpen(): void {
    for (const w of [...this.openWaiters]) w.opened();
    const parked = this.waiting;
    this.waiting = [];
    for (const p of parked) this.dispatch(p);
    if (this.routing && this.table === null) this.ringStale();
  }

  /**
   * A connection is gone: requests sent on it move to another connection if they are
   * idempotent (or were never sent), otherwise fail saying the write may have landed.
   */
  private dropConnection(c: Connection): void {
    const s = c.socket;
    c.socket = null;
    const wasOpen = c.state === 'open';
    c.state = 'down';
    if (s !== null) {
      s.onopen = null;
      s.onmessage = null;
      s.onclose = null;
      s.onerror = () => undefined;
      if (s.readyState === OPEN) {
        try {
          s.close(1002, 'protocol error');
        } catch {
          // Already closing: nothing more to do.
        }
      }
    }
    const ids = [...c.sent];
    c.sent.clear();
    for (const id of ids) {
      const p = this.pending.get(id);
      if (p === undefined) continue;
      p.conn = null;
      if (p.idempotent && p.retries < clientRetriesMax) {
        p.retries += 1;
        this.dispatch(p);
      } else if (p.idempotent) {
        this.finish(p, null, new ShoalError('UNAVAILABLE', `connection to ${c.address} lost; gave up after ${clientRetriesMax} retries`));
      } else {
        this.finish(
          p,
          null,
          new ShoalError('UNAVAILABLE', `connection to ${c.address} lost after the write was sent; it may or may not have been applied`, {
            details: { endpoint: c.address, maybeApplied: true },
          }),
        );
      }
    }
    if (wasOpen) this.ringStale();
    this.scheduleReconnect(c);
    this.checkAllFailed();
  }

  /** Exponential backoff with full jitter in its upper half, so reconnecting clients spread out. */
  private scheduleReconnect(c: Connection): void {
    if (this.closed || c.reconnectTimer !== null) return;
    const ceiling = Math.min(clientReconnectMaxMs, clientReconnectBaseMs * 2 ** Math.min(c.failures, 20));
    c.failures += 1;
    const delay = Math.round(ceiling / 2 + this.random.float() * (ceiling / 2));
    c.reconnectTimer = this.timers.setTimeout(() => this.open(c), delay);
  }

  private openConnections(): Connection[] {
    const out: Connection[] = [];
    for (const c of this.conns.values()) if (c.state === 'open' && c.socket !== null) out.push(c);
    return out;
  }

  /** An open connection to an owner of `key` when routing knows one, else round robin. */
  private pick(key: string | undefined): Connection | null {
    const open = this.openConnections();
    if (open.length === 0) return null;
    if (key !== undefined && this.table !== null) {
      for (const owner of preferredOwners(this.table, key)) {
        const addr = this.memberAddr.get(owner);
        const c = addr === undefined ? undefined : this.conns.get(addr);
        if (c !== undefined && c.state === 'open' && c.socket !== null) return c;
      }
    }
    this.roundRobin = (this.roundRobin + 1) % open.length;
    return open[this.roundRobin] ?? null;
  }

  // ------------------------------------------------------------ routing

  private adoptTable(table: RoutingTable): void {
    if (!this.routing || this.closed) return;
    this.table = table;
    this.memberAddr = new Map(table.members.map((m) => [m.id, m.addr]));
    for (const m of table.members) {
      try {
        this.addEndpoint(parseEndpoint(m.addr, this.options.tls ?? false));
      } catch {
        // A member address we cannot parse is simply not connected to.
      }
    }
  }

  private async refreshRing(): Promise<void> {
    if (!this.routing || this.closed || this.ringInFlight) return;
    this.ringInFlight = true;
    this.lastRingRefresh = this.clock.monotonic();
    try {
      await this.ring();
    } finally {
      this.ringInFlight = false;
      this.scheduleRefresh();
    }
  }

  private scheduleRefresh(): void {
    if (this.closed) return;
    if (this.refreshTimer !== null) this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = this.timers.setTimeout(() => {
      this.refreshTimer = null;
      void this.refreshRing().catch(() => undefined);
    }, clientRingRefreshMs);
  }

  /** Something suggests the ring moved: refresh, at most once per clientRingRefreshMinMs. */
  private ringStale(): void {
    if (!this.routing || this.closed) return;
    if (this.clock.monotonic() - this.lastRingRefresh < clientRingRefreshMinMs) return;
    void this.refreshRing().catch(() => undefined);
  }
}

/** What a get answers from the copy its direct read agreed on (undefined: no owner has the key). */
function answerOf(obj: DVVSet | undefined): GetResult {
  if (obj === undefined) return { values: [], context: null, found: false };
  const answer = vc.readAnswer(obj);
  const values: Uint8Array[] = [];
  for (const s of answer.siblings) if (s.value !== null) values.push(s.value);
  return { values, context: answer.context, found: values.length > 0 };
}

/** The key's N distinct owners, walking the ring from its partition (the primaries of its preference list). */
export function preferredOwners(table: RoutingTable, key: string): string[] {
  const q = table.owners.length;
  if (q === 0) return [];
  const start = partitionOf(key, table.partitions);
  const out: string[] = [];
  for (let i = 0; i < q && out.length < table.n; i++) {
    const owner = table.owners[(start + i) % q];
    if (owner !== undefined && !out.includes(owner)) out.push(owner);
  }
  return out;
}

function unexpected(res: ClientResponse): ShoalError {
  return new ShoalError('DECODE', `unexpected answer '${res.t}' from the server`);
}

/** Connects to the given endpoints; resolves once one connection is open (and, with routing, the ring is known). */
export async function connect(options: ConnectOptions): Promise<ShoalClient> {
  const client = new ShoalClient(options);
  try {
    await client.ready();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
