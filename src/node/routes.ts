/**
 * # The operator's routes: explain, overview, stats and the live event stream
 *
 * These are the node's additions to the API (through its `extraRoutes` hook), all
 * read-only and all behind the client token like every other data route:
 *
 * - `GET /v1/explain/{key}`: why a key looks as it does (ShoalNode.explain): partition,
 *   preference list with statuses, every replica's versions read without repair, hints.
 * - `GET /v1/overview`: one snapshot of everything the dashboard shows, the same facts
 *   `shoal status` and `shoal ring` print: members with their gossip versions
 *   (incarnation, heartbeat), the ring with who stands in for a member that is not up,
 *   hints per target, peer latencies, and the anti-entropy and transfer state when the
 *   node reports them in /v1/status (`antiEntropy`, `transfers`; null otherwise).
 * - `GET /v1/stats`: this node's cumulative request count and latency buckets
 *   (metrics.ts), for whoever computes rates: the event stream below, on another node.
 * - `GET /v1/events`: Server-Sent Events. While at least one viewer is connected the node
 *   builds a snapshot every second and sends it to all of them. Each snapshot carries one
 *   chart point per node (ops/s, p50, p99 over the last second): the node reads its own
 *   stats and fetches every other up member's /v1/stats over HTTP, then differences the
 *   cumulative counts. So a page open on any node charts the whole cluster, and a dead
 *   node simply has no point (and shows down in the members). A viewer that connects late
 *   first gets the last two minutes of points. Nothing runs while nobody watches.
 *
 * The page reads the stream with fetch() rather than EventSource because EventSource
 * cannot send the Authorization header a node with a client token requires.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExtraRouteHandler, ExtraRoutes, RouteTools, StatusView } from '../api/index.js';
import { parseTimeoutMs } from '../api/index.js';
import * as cfg from '../config/index.js';
import { planReplicas } from '../coordinator/index.js';
import { ShoalError } from '../errors/index.js';
import { RingIndex } from '../ring/index.js';
import type { RingState } from '../ring/types.js';
import { type LocalStats, type MetricsSource, type NodeMetrics, listOf, quantileMs } from './metrics.js';

/** What the routes need from the node: ShoalNode satisfies it. */
export interface DashboardSource extends MetricsSource {
  readonly id: string;
  readonly n: number;
  explain(key: string, timeoutMs?: number): Promise<unknown>;
  inspect(): ReturnType<MetricsSource['inspect']> & { readonly ring: RingState | undefined; readonly members: ReadonlyArray<{ id: string; address: string; status: string; incarnation: number; heartbeat: number }> };
}

export interface NodeRoutesOptions {
  /** The node, once it exists. */
  readonly node: () => DashboardSource | undefined;
  readonly metrics: NodeMetrics;
  /** Sent to peers' /v1/stats (a cluster normally shares one client token). */
  readonly clientToken?: string;
  /** Peers are reached over https when the node serves TLS. */
  readonly tls?: boolean;
  /** Wall clock, ms (chart time axis). Default Date.now. */
  readonly now?: () => number;
  /** Fetch for peers' stats; default the global fetch. Tests inject one. */
  readonly fetch?: typeof fetch;
  /** Event interval override for tests, ms. */
  readonly eventIntervalMs?: number;
}

export interface NodeRoutes {
  readonly routes: ExtraRoutes;
  /** Ends every event stream (call before closing the API, so its close does not wait for them). */
  close(): void;
  /** Builds one overview now (for tests). */
  overview(): Overview | undefined;
}

export interface MemberOverview {
  readonly id: string;
  readonly address: string;
  readonly status: string;
  readonly incarnation: number | null;
  readonly heartbeat: number | null;
  readonly self: boolean;
  /** Hints this node holds for the member. */
  readonly hintsPending: number;
  /** Smoothed replica round trip from this node, ms; null for self or unmeasured. */
  readonly latencyMs: number | null;
  readonly circuitOpen: boolean;
}

export interface PartitionOverview {
  readonly id: number;
  /** The N primaries, in preference order. */
  readonly owners: readonly string[];
  /** Fallbacks that take a non-up primary's writes as hints (sloppy quorum), as this node plans them. */
  readonly standIns: ReadonlyArray<{ readonly for: string; readonly by: string }>;
  /** Non-up primaries no fallback can cover (the coordinator keeps their hints). */
  readonly uncovered: readonly string[];
}

/** One chart point per node: rates over the last interval. null fields: no requests, or no answer. */
export interface NodePoint {
  readonly ops: number | null;
  readonly errors: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface Tick {
  /** Wall clock, ms. */
  readonly t: number;
  readonly nodes: Readonly<Record<string, NodePoint | null>>;
}

export interface Overview {
  readonly overview: 1;
  readonly node: string;
  readonly n: number;
  readonly partitions: number;
  /** Wall clock of the snapshot, ms. */
  readonly t: number;
  readonly members: readonly MemberOverview[];
  readonly ring: { readonly version: number; readonly claimant: string; readonly partitions: readonly PartitionOverview[] } | null;
  readonly hints: { readonly pending: number; readonly byTarget: Readonly<Record<string, number>> };
  /** The node's /v1/status `antiEntropy` field as it reports it, or null when it has none. */
  readonly antiEntropy: unknown;
  /** The node's /v1/status `transfers` field as it reports it, or null when it has none. */
  readonly transfers: unknown;
  readonly tick?: Tick;
}

const STATS_PATH = '/v1/stats';
const EXPLAIN_PREFIX = '/v1/explain/';

/** Builds the overview from the node's own views. Pure apart from reading the node. */
export function buildOverview(node: DashboardSource, t: number, ringCache?: { ring?: RingState; index?: RingIndex }): Overview {
  const status: StatusView = node.status();
  const inspect = node.inspect();
  const versions = new Map(inspect.members.map((m) => [m.id, m]));
  const peers = new Map(inspect.peers.map((p) => [p.peer, p]));
  const members: MemberOverview[] = status.members.map((m) => {
    const v = versions.get(m.id);
    const p = peers.get(m.id);
    return {
      id: m.id,
      address: m.address,
      status: m.status,
      incarnation: v?.incarnation ?? null,
      heartbeat: v?.heartbeat ?? null,
      self: m.id === node.id,
      hintsPending: inspect.hintsByTarget.get(m.id) ?? 0,
      latencyMs: m.id === node.id || p === undefined || p.latencyMs <= 0 ? null : Math.round(p.latencyMs * 100) / 100,
      circuitOpen: p?.open ?? false,
    };
  });
  const byTarget: Record<string, number> = {};
  for (const [target, count] of inspect.hintsByTarget) byTarget[target] = count;
  const statusOf = new Map(members.map((m) => [m.id, m.status]));
  let ring: Overview['ring'] = null;
  const state = inspect.ring;
  if (state !== undefined && state.owners.length > 0) {
    let index = ringCache?.ring === state ? ringCache.index : undefined;
    if (index === undefined) {
      index = new RingIndex(state, node.n);
      if (ringCache) {
        ringCache.ring = state;
        ringCache.index = index;
      }
    }
    const up = (id: string): boolean => id === node.id || statusOf.get(id) === 'up';
    const partitions: PartitionOverview[] = [];
    for (let id = 0; id < state.partitions; id++) {
      const pref = index.preferenceList(id);
      const plan = planReplicas(pref, up);
      const standIns: Array<{ for: string; by: string }> = [];
      for (const target of plan.targets) if (target.hintFor !== undefined) standIns.push({ for: target.hintFor, by: target.node });
      partitions.push({ id, owners: [...pref.primaries], standIns, uncovered: [...plan.uncovered] });
    }
    ring = { version: state.version, claimant: state.claimant, partitions };
  }
  return {
    overview: 1,
    node: node.id,
    n: status.n,
    partitions: status.partitions,
    t,
    members,
    ring,
    hints: { pending: status.hints.pending, byTarget },
    antiEntropy: status['antiEntropy'] ?? null,
    transfers: status['transfers'] ?? null,
  };
}

/** Rates between two cumulative samples taken `seconds` apart. */
export function pointBetween(before: LocalStats | undefined, after: LocalStats, seconds: number): NodePoint {
  if (before === undefined || seconds <= 0 || after.requests < before.requests) return { ops: null, errors: null, p50Ms: null, p99Ms: null };
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    ops: Math.round(((after.requests - before.requests) / seconds) * 10) / 10,
    errors: Math.round(((after.errors - before.errors) / seconds) * 10) / 10,
    p50Ms: round(quantileMs(before.buckets, after.buckets, 0.5)),
    p99Ms: round(quantileMs(before.buckets, after.buckets, 0.99)),
  };
}

function isStats(x: unknown): x is LocalStats {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  return typeof s['requests'] === 'number' && typeof s['errors'] === 'number' && Array.isArray(s['buckets']) && s['buckets'].length <= cfg.dashboardLatencyBucketsMax && s['buckets'].every((b) => typeof b === 'number');
}

export function createNodeRoutes(options: NodeRoutesOptions): NodeRoutes {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const intervalMs = options.eventIntervalMs ?? cfg.dashboardEventIntervalMs;
  const ringCache: { ring?: RingState; index?: RingIndex } = {};
  const clients = new Set<ServerResponse>();
  const history: Tick[] = [];
  const previous = new Map<string, { t: number; stats: LocalStats }>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let closed = false;

  const overview = (): Overview | undefined => {
    const node = options.node();
    return node === undefined ? undefined : buildOverview(node, now(), ringCache);
  };

  const peerStats = async (address: string): Promise<LocalStats | undefined> => {
    try {
      const res = await doFetch(`${options.tls === true ? 'https' : 'http'}://${address}${STATS_PATH}`, {
        headers: options.clientToken === undefined ? {} : { authorization: `Bearer ${options.clientToken}` },
        signal: AbortSignal.timeout(cfg.dashboardPeerStatsTimeoutMs),
      });
      if (res.status !== 200) {
        await res.arrayBuffer().catch(() => undefined);
        return undefined;
      }
      const body: unknown = await res.json();
      return isStats(body) ? body : undefined;
    } catch {
      return undefined;
    }
  };

  /** One chart point per member, from fresh samples and the previous ones. */
  const gather = async (ov: Overview): Promise<Tick> => {
    const members = ov.members.slice(0, cfg.dashboardChartNodesMax);
    const samples = await Promise.all(
      members.map(async (m) => (m.self ? options.metrics.stats() : m.status === 'up' || m.status === 'suspect' ? peerStats(m.address) : undefined)),
    );
    const t = now();
    const nodes: Record<string, NodePoint | null> = {};
    members.forEach((m, i) => {
      const s = samples[i];
      if (s === undefined) {
        previous.delete(m.id);
        nodes[m.id] = null;
        return;
      }
      const before = previous.get(m.id);
      nodes[m.id] = pointBetween(before?.stats, s, before === undefined ? 0 : (t - before.t) / 1000);
      previous.set(m.id, { t, stats: s });
    });
    for (const id of previous.keys()) if (!(id in nodes)) previous.delete(id);
    return { t, nodes };
  };

  const send = (res: ServerResponse, event: string, data: unknown): void => {
    // A viewer that does not read is not worth buffering for: drop it (it reconnects).
    if (res.writableLength > 1_048_576) {
      res.destroy();
      return;
    }
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const tick = async (): Promise<void> => {
    if (ticking || closed) return;
    ticking = true;
    try {
      const ov = overview();
      if (ov === undefined) return;
      const point = await gather(ov);
      history.push(point);
      if (history.length > cfg.dashboardHistoryPointsMax) history.splice(0, history.length - cfg.dashboardHistoryPointsMax);
      const snapshot: Overview = { ...ov, tick: point };
      for (const res of clients) send(res, 'snapshot', snapshot);
    } finally {
      ticking = false;
    }
  };

  const stopTimer = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    // Rates restart from fresh samples when someone watches again.
    previous.clear();
  };

  const events: ExtraRouteHandler = (req: IncomingMessage, res: ServerResponse) => {
    if (closed) throw new ShoalError('UNAVAILABLE', 'the node is stopping');
    if (clients.size >= cfg.dashboardEventStreamsMax) {
      throw new ShoalError('OVERLOADED', `too many event streams open on this node (limit ${cfg.dashboardEventStreamsMax})`);
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    clients.add(res);
    const drop = (): void => {
      clients.delete(res);
      if (clients.size === 0) stopTimer();
    };
    res.once('close', drop);
    req.socket.setNoDelay(true);
    send(res, 'history', history);
    const ov = overview();
    if (ov !== undefined) send(res, 'snapshot', { ...ov, tick: history[history.length - 1] });
    if (timer === undefined) {
      timer = setInterval(() => void tick().catch(() => undefined), intervalMs);
      timer.unref();
      void tick().catch(() => undefined);
    }
  };

  const explain: ExtraRouteHandler = async (_req, _res, tools: RouteTools) => {
    const node = options.node();
    if (node === undefined) throw new ShoalError('UNAVAILABLE', 'the node is starting');
    for (const name of tools.query.keys()) if (name !== 'timeout_ms') throw new ShoalError('BAD_REQUEST', `unknown query parameter '${name.slice(0, 32)}'`);
    const raw = tools.query.getAll('timeout_ms');
    if (raw.length > 1) throw new ShoalError('BAD_REQUEST', 'timeout_ms is given more than once');
    const timeoutMs = raw[0] === undefined ? undefined : parseTimeoutMs(raw[0]);
    const key = tools.decodeKey(tools.path.slice(EXPLAIN_PREFIX.length));
    tools.sendJson(200, await node.explain(key, timeoutMs));
  };

  const overviewRoute: ExtraRouteHandler = (_req, _res, tools) => {
    const ov = overview();
    if (ov === undefined) throw new ShoalError('UNAVAILABLE', 'the node is starting');
    const last = history[history.length - 1];
    tools.sendJson(200, last === undefined ? ov : { ...ov, tick: last });
  };

  const stats: ExtraRouteHandler = (_req, _res, tools) => {
    tools.sendJson(200, { node: options.node()?.id ?? null, ...options.metrics.stats() });
  };

  const methodNotAllowed: ExtraRouteHandler = (_req, res, tools) => {
    res.setHeader('Allow', 'GET');
    tools.sendJson(405, { error: { code: 'method_not_allowed', message: 'only GET is allowed here' } }, { Allow: 'GET' });
  };

  const routes: ExtraRoutes = (method, path) => {
    let handler: ExtraRouteHandler | undefined;
    if (path.startsWith(EXPLAIN_PREFIX)) handler = explain;
    else if (path === '/v1/events') handler = events;
    else if (path === '/v1/overview') handler = overviewRoute;
    else if (path === STATS_PATH) handler = stats;
    if (handler === undefined) return undefined;
    return method === 'GET' ? handler : methodNotAllowed;
  };

  return {
    routes,
    overview,
    close(): void {
      closed = true;
      stopTimer();
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
