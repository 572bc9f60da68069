/**
 * # Node: one Shoal process
 *
 * `ShoalNode` is the driver loop around the protocol cores (see node.ts); `startNode`
 * builds one for production: classic-level or RocksDB storage, the WebSocket transport,
 * and the HTTP/WebSocket API on one port. The simulator builds `ShoalNode` with memory
 * versions of the same dependencies.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { realEnv } from '../env/index.js';
import { ShoalError } from '../errors/index.js';
import { ObjectStore, createEngine } from '../store/index.js';
import { WsTransport } from '../transport/index.js';
import { createApiServer } from '../api/index.js';
import { frameLimits } from '../wire/index.js';
import { memoryCheckMs, tombstoneGraceSafeMinMs } from '../config/index.js';
import { createLogger } from './log.js';
import { ShoalNode } from './node.js';
import { NodeMetrics } from './metrics.js';
import { createNodeRoutes } from './routes.js';
import { MemoryGovernor, heapGrowthSetByOperator } from './memory.js';
import type { NodeOptions } from './options.js';

export { ShoalNode, checkKey } from './node.js';
export type { NodeHooks, KeyExplain, ReplicaExplain } from './node.js';
export type { NodeDeps } from './node.js';
export type { NodeOptions } from './options.js';
export { createLogger, silentLogger } from './log.js';
export type { Logger, LogLevel } from './log.js';

export interface RunningNode {
  readonly id: string;
  /** The port actually bound (differs from options.port when that was 0). */
  readonly port: number;
  readonly node: ShoalNode;
  /** Resolves when the node stopped for a reason of its own (fatal error or a finished leave). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const log = createLogger({ node: options.id });
  const env = realEnv({ clockOffsetMs: options.clockOffsetMs });
  const store = new ObjectStore(createEngine(options.engine, options.dataDir, {
    // With --sync too: each commit then fsyncs the log and then the database, two fsyncs
    // instead of one, which cost 13-15% of puts on fresh stores; but with objects inline,
    // LevelDB's compaction of values grew with every minute of writes, and after 80 s of
    // writes puts were as fast or faster with the log, p99 lower and gets 2.2-2.5x faster
    // (docs/performance.md, eighth and fourteenth passes).
    valueLog: options.valueLog ?? true,
    // With --sync the log is also the write-ahead log: one fsync per commit instead of
    // two, LevelDB's writes unsynced and replayed from the log after a crash
    // (docs/performance.md, fifteenth pass).
    wal: options.sync,
    ...(options.valueLogPrewarmBytes === undefined ? {} : { prewarmBytesMax: options.valueLogPrewarmBytes }),
    // A node allowed more memory keeps more of its tables open (openTablesFor).
    memorySoftLimitBytes: options.memorySoftLimitBytes ?? 0,
  }), {
    sync: options.sync,
    random: env.random,
    ...(options.cacheEntriesMax === undefined ? {} : { cacheEntriesMax: options.cacheEntriesMax }),
  });
  await store.open();
  const transport = new WsTransport({
    self: options.id,
    host: options.host,
    secret: options.secret,
    insecureLoopback: options.secret === undefined,
    clusterParams: `n=${options.n},q=${options.partitions}`,
    env,
    log: (event: string, fields: Record<string, unknown>, level: 'info' | 'warn') => log(event, fields, level),
    tls: options.tls !== undefined,
    // Peer frames carry whole objects with siblings: the wire layer derives their cap from --max-value-bytes.
    limits: { payloadBytesMax: frameLimits({ maxValueBytes: options.maxValueBytes }).peerFrameBytesMax },
  });
  let fatal: (err: ShoalError) => void = () => {};
  let leftCluster: () => void = () => {};
  const stoppedByItself = new Promise<void>((resolve, reject) => {
    fatal = (err) => {
      log('fatal', { code: err.code, message: err.message }, 'error');
      // The caller (shoal start) stops the node and exits non-zero with this error.
      reject(err);
    };
    leftCluster = () => {
      process.stderr.write(`shoal: node ${options.id} has left the cluster\n`);
      resolve();
    };
  });
  const tls = options.tls ? { cert: readFileSync(options.tls.cert, 'utf8'), key: readFileSync(options.tls.key, 'utf8') } : undefined;
  let node: ShoalNode | undefined;
  let serving = false;
  // Operator's view (metrics.ts, routes.ts): timed KvService, /metrics, explain, dashboard events.
  const governor = memoryGovernor(options, log);
  const metrics = new NodeMetrics({ source: () => node, extraText: () => api.apiMetricsText() + (governor?.metricsText() ?? ''), dataDir: options.dataDir });
  const operator = createNodeRoutes({ node: () => node, metrics, clientToken: options.clientToken, tls: options.tls !== undefined });
  const api = createApiServer({
    metrics: () => metrics.text(),
    extraRoutes: operator.routes,
    service: metrics.instrument(new Proxy({} as ShoalNode, {
      get: (_t, prop) => {
        if (!node) throw new ShoalError('UNAVAILABLE', 'the node is starting');
        const v = (node as unknown as Record<string | symbol, unknown>)[prop];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(node) : v;
      },
    })),
    clientToken: options.clientToken,
    tls,
    allowedOrigins: options.allowedOrigins,
    peerUpgrade: (req, socket, head) => transport.handleUpgrade(req, socket, head),
    // Health says 200 only once the node serves: it has started, restored its state,
    // holds a ring to route keys with, and its view of the other members has settled
    // (ShoalNode.readyForClients). A node with no seeds claims its ring only after
    // gossipSoloClaimDelayMs (peers seeded to it join first), and until then every key
    // request would answer 503.
    ready: () => serving && node?.readyForClients === true,
    log: (event, fields) => log(event, fields),
  });
  let port: number;
  try {
    port = await api.listen(options.port, options.host);
  } catch (err) {
    releaseGovernor(governor);
    await store.close().catch(() => {});
    throw new ShoalError('INVALID_CONFIG', `cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`, { cause: err });
  }
  node = new ShoalNode({
    id: options.id,
    address: `${options.host}:${port}`,
    n: options.n,
    r: options.r,
    w: options.w,
    partitions: options.partitions,
    maxValueBytes: options.maxValueBytes,
    seeds: options.seeds,
    env,
    store,
    transport,
    log,
    onFatal: (err) => fatal(err),
    onLeft: () => leftCluster(),
    ...(options.tombstoneGraceMs === undefined ? {} : { tombstoneGraceMs: options.tombstoneGraceMs }),
    ...(options.forgetActors === true ? { forgetActors: true } : {}),
  });
  if (options.tombstoneGraceMs !== undefined && options.tombstoneGraceMs < tombstoneGraceSafeMinMs) {
    log('tombstone_grace_short', { graceMs: options.tombstoneGraceMs, safeMinMs: tombstoneGraceSafeMinMs, reason: 'a repair still in flight when a tombstone is reaped can bring back what the delete removed' }, 'warn');
  }
  try {
    await node.start();
  } catch (err) {
    releaseGovernor(governor);
    await api.close().catch(() => {});
    await transport.close().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
  serving = true;
  const governorTimer = governor === undefined ? undefined : setInterval(() => governor.check(), memoryCheckMs);
  governorTimer?.unref();
  let stopping: Promise<void> | undefined;
  const started = node;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      serving = false;
      if (governorTimer !== undefined) clearInterval(governorTimer);
      releaseGovernor(governor);
      await started.stop();
      operator.close();
      await api.close().catch((err) => log('api_close_failed', { err }, 'warn'));
      await transport.close().catch((err) => log('transport_close_failed', { err }, 'warn'));
      await store.close().catch((err) => log('store_close_failed', { err }, 'warn'));
      log('node_stopped', {});
    })();
    return stopping;
  };
  return { id: options.id, port, node: started, stopped: stoppedByItself, stop };
}

/** The node whose soft memory limit steers this process's V8 heap, if any. */
let governing: string | undefined;

/** Ends a node's governor: V8 decides its heap growth again, and another node may govern. */
function releaseGovernor(governor: MemoryGovernor | undefined): void {
  if (governor === undefined) return;
  governor.stop();
  governing = undefined;
}

/**
 * The node's soft memory limit, unless it is off or the operator set V8's heap growth
 * themselves (then theirs stands, and the log says so).
 */
function memoryGovernor(options: NodeOptions, log: ReturnType<typeof createLogger>): MemoryGovernor | undefined {
  const limitBytes = options.memorySoftLimitBytes ?? 0;
  if (limitBytes <= 0) return undefined;
  if (heapGrowthSetByOperator(process.execArgv, process.env['NODE_OPTIONS'])) {
    log('memory_soft_limit_off', { reason: 'node was started with its own --heap-growing-percent' }, 'info');
    return undefined;
  }
  // V8's setting is process-wide: two governors would overwrite each other's steps.
  if (governing !== undefined) {
    log('memory_soft_limit_off', { reason: `node ${governing} in this process already steers V8's heap` }, 'warn');
    return undefined;
  }
  governing = options.id;
  return new MemoryGovernor({
    limitBytes,
    residentBytes: () => process.memoryUsage.rss(),
    setGrowingPercent: (percent) => {
      setFlagsFromString(`--heap-growing-percent=${percent}`);
      log('memory_gc_step', { growingPercent: percent, residentMb: Math.round(process.memoryUsage.rss() / 1048576), limitMb: Math.round(limitBytes / 1048576) }, 'info');
    },
  });
}
