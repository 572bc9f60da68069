/**
 * # Metrics: what the node tells Prometheus and the dashboard
 *
 * Two consumers, two shapes, one place that records them.
 *
 * - **Prometheus** (`GET /metrics`) gets the conventional text format from a prom-client
 *   `Registry` owned by this object (never prom-client's global registry: two nodes in
 *   one process, as in tests and the simulator, must not share series). Names carry the
 *   `shoal_` prefix, counters end in `_total`, durations are `_seconds`. Request latency
 *   is a histogram by operation and outcome, recorded by a decorator around the
 *   KvService (`instrument`), so the API and the node stay unaware of it. Everything else
 *   (node counters, members by status, hints by target, store statistics, anti-entropy
 *   and transfer progress when the node reports them, storage size on disk) is *pulled*
 *   at scrape time through collect callbacks: a scrape costs a few map walks, a request
 *   costs nothing extra. Event-loop lag and the process figures come from prom-client's
 *   default metrics (`nodejs_eventloop_lag_*`, `process_*`), which sample with
 *   perf_hooks' monitorEventLoopDelay.
 * - **The dashboard** needs ops/s and p50/p99 per node every second. Estimating
 *   quantiles from Prometheus's coarse buckets would be poor, so the decorator also
 *   counts each request in a small log-scale histogram (64 buckets of ratio 1.25, so a
 *   quantile is within 12%). `stats()` returns the cumulative counts; whoever wants a
 *   rate takes the difference of two samples (routes.ts does, once a second, for every
 *   node). Cumulative counts need no timer here and survive a missed sample.
 *
 * Label values come from fixed sets (operation names, error codes, member statuses) or
 * from cluster membership (hint targets, peers), never from request input, so a client
 * cannot grow the series count.
 *
 * Per-request cost: one `performance.now()` pair, one counter increment, one histogram
 * observe, one array increment. Labelled children are created once per (op, status)
 * and cached, so the steady state allocates nothing of its own.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KvService, ReadOptions, ReadResult, StatusView, WriteOptions, WriteResult } from '../api/types.js';
import type { DVVSet } from '../vclock/types.js';
import * as cfg from '../config/index.js';
import { isShoalError } from '../errors/index.js';

export type Operation = 'get' | 'put' | 'del';
const OPERATIONS: readonly Operation[] = ['get', 'put', 'del'];
const MEMBER_STATUSES = ['up', 'suspect', 'down', 'leaving'] as const;

/**
 * What the metrics read from a node. ShoalNode has all of it; the interface is here so
 * tests can pass a small fake and so the metrics never reach into the node's internals.
 */
export interface MetricsSource {
  status(): StatusView;
  inspect(): {
    readonly counters: Readonly<Record<string, number>>;
    readonly peers: ReadonlyArray<{ peer: string; latencyMs: number; open: boolean; failures: number }>;
    readonly inFlight: number;
    readonly ring: { readonly version: number } | undefined;
    readonly hintsByTarget: ReadonlyMap<string, number>;
    readonly members: ReadonlyArray<{ id: string; status: string; incarnation: number; heartbeat: number }>;
  };
}

export interface NodeMetricsOptions {
  /** The node, once it exists (the API's port opens before the node is built). */
  readonly source: () => MetricsSource | undefined;
  /** Text to append to the scrape: the API's own counters (`ApiServer.apiMetricsText`). */
  readonly extraText?: () => string;
  /** The storage directory, for `shoal_storage_disk_bytes`; absent for memory stores. */
  readonly dataDir?: string;
  /** prom-client's process and event-loop metrics; default true. Tests may turn them off. */
  readonly defaultMetrics?: boolean;
}

/** Cumulative request counts and latency buckets, for rates and quantiles by difference. */
export interface LocalStats {
  /** Requests finished (any outcome) since start. */
  readonly requests: number;
  /** Requests that failed (anything but ok and not_found). */
  readonly errors: number;
  /** Counts per latency bucket; bucket i holds latencies below `bucketBoundMs(i)`. */
  readonly buckets: readonly number[];
}

/** Upper bound of dashboard latency bucket i, ms (the last bucket is open-ended). */
export function bucketBoundMs(i: number): number {
  return cfg.dashboardLatencyBucketMinMs * cfg.dashboardLatencyBucketRatio ** i;
}

const LOG_RATIO = Math.log(cfg.dashboardLatencyBucketRatio);

function bucketOf(ms: number): number {
  if (!(ms > cfg.dashboardLatencyBucketMinMs)) return 0;
  const i = Math.ceil(Math.log(ms / cfg.dashboardLatencyBucketMinMs) / LOG_RATIO);
  return i < cfg.dashboardLatencyBucketsMax ? i : cfg.dashboardLatencyBucketsMax - 1;
}

/**
 * The q-quantile (0..1) of the requests counted between two cumulative samples, ms:
 * the upper bound of the bucket where the q-th request falls. null when none finished.
 */
export function quantileMs(before: readonly number[] | undefined, after: readonly number[], q: number): number | null {
  let total = 0;
  for (let i = 0; i < after.length; i++) total += (after[i] ?? 0) - (before?.[i] ?? 0);
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < after.length; i++) {
    seen += (after[i] ?? 0) - (before?.[i] ?? 0);
    if (seen >= rank) return bucketBoundMs(i);
  }
  return bucketBoundMs(after.length - 1);
}

/** The label a request's outcome gets: `ok`, `not_found`, or a wire error code (`unavailable`, ...). */
export function outcomeOf(err: unknown): string {
  return isShoalError(err) ? err.wireCode : 'internal';
}

interface Child {
  readonly count: Counter.Internal;
  readonly time: Histogram.Internal<'op' | 'status'>;
}

/** Reads a number-valued field, or undefined. */
function num(obj: unknown, key: string): number | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The list inside a status field that is either a list or `{ partitions | transfers | items: [...] }`. */
export function listOf(field: unknown, ...keys: string[]): readonly unknown[] | undefined {
  if (Array.isArray(field)) return field;
  if (typeof field !== 'object' || field === null) return undefined;
  for (const k of keys) {
    const v = (field as Record<string, unknown>)[k];
    if (Array.isArray(v)) return v;
  }
  return undefined;
}

function sumOf(list: readonly unknown[] | undefined, key: string): number | undefined {
  if (list === undefined) return undefined;
  let total = 0;
  for (const item of list) total += num(item, key) ?? 0;
  return total;
}

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'status'>;
  private readonly duration: Histogram<'op' | 'status'>;
  private readonly siblings: Histogram;
  private readonly children = new Map<string, Child>();
  private readonly buckets: number[] = new Array<number>(cfg.dashboardLatencyBucketsMax).fill(0);
  private requestCount = 0;
  private errorCount = 0;

  constructor(private readonly options: NodeMetricsOptions) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'shoal_requests_total',
      help: 'Client get/put/del requests this node coordinated, by operation and outcome (ok, not_found, or the error code).',
      labelNames: ['op', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'shoal_request_duration_seconds',
      help: 'Time from the API handing a request to the node until the node answered, by operation and outcome.',
      labelNames: ['op', 'status'],
      buckets: [...cfg.metricsLatencyBucketsSeconds],
      registers,
    });
    this.siblings = new Histogram({
      name: 'shoal_read_siblings',
      help: 'Live siblings per successful read (1 is normal; more means concurrent writes without a shared context).',
      buckets: [...cfg.metricsSiblingsBuckets],
      registers,
    });
    // Pre-create the ok series so a fresh node already shows every operation at 0.
    for (const op of OPERATIONS) {
      this.child(op, 'ok');
      this.requests.inc({ op, status: 'ok' }, 0);
      this.duration.zero({ op, status: 'ok' });
    }
    this.pulled(registers);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  private child(op: Operation, status: string): Child {
    const key = op + ' ' + status;
    let c = this.children.get(key);
    if (c === undefined) {
      c = { count: this.requests.labels(op, status), time: this.duration.labels(op, status) };
      this.children.set(key, c);
    }
    return c;
  }

  /** Records one finished request: `startMs` from performance.now() when it began. */
  record(op: Operation, status: string, startMs: number): void {
    const ms = performance.now() - startMs;
    const c = this.child(op, status);
    c.count.inc();
    c.time.observe(ms / 1000);
    const b = bucketOf(ms);
    this.buckets[b] = (this.buckets[b] ?? 0) + 1;
    this.requestCount++;
    if (status !== 'ok' && status !== 'not_found') this.errorCount++;
  }

  /**
   * Counts a direct read this node answered (`lget`) in the dashboard's ops/s, so SDK reads
   * stay visible there; not in its latency (a local read, not a request's whole time) nor
   * in `shoal_requests_total` (requests this node coordinated).
   */
  countDirect(failed: boolean): void {
    this.requestCount++;
    if (failed) this.errorCount++;
  }

  /** Cumulative counts for the dashboard (a copy). */
  stats(): LocalStats {
    return { requests: this.requestCount, errors: this.errorCount, buckets: this.buckets.slice() };
  }

  /**
   * Wraps a KvService so that get, put and del are timed and counted; everything else
   * passes straight through. Properties are read from `inner` on each access, so `inner`
   * may be a proxy for a node that does not exist yet.
   */
  instrument(inner: KvService): KvService {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const m = this;
    return {
      get n() {
        return inner.n;
      },
      get partitions() {
        return inner.partitions;
      },
      get maxValueBytes() {
        return inner.maxValueBytes;
      },
      async get(key: string, options: ReadOptions): Promise<ReadResult> {
        const t0 = performance.now();
        let r: ReadResult;
        try {
          r = await inner.get(key, options);
        } catch (err) {
          m.record('get', outcomeOf(err), t0);
          throw err;
        }
        const live = r.siblings.length;
        m.record('get', live === 0 ? 'not_found' : 'ok', t0);
        if (live > 0) m.siblings.observe(live);
        return r;
      },
      async put(key: string, value: Uint8Array, options: WriteOptions): Promise<WriteResult> {
        const t0 = performance.now();
        try {
          const r = await inner.put(key, value, options);
          m.record('put', 'ok', t0);
          return r;
        } catch (err) {
          m.record('put', outcomeOf(err), t0);
          throw err;
        }
      },
      async del(key: string, options: WriteOptions): Promise<WriteResult> {
        const t0 = performance.now();
        try {
          const r = await inner.del(key, options);
          m.record('del', 'ok', t0);
          return r;
        } catch (err) {
          m.record('del', outcomeOf(err), t0);
          throw err;
        }
      },
      local: (key) => inner.local(key),
      async ownCopy(key: string): Promise<DVVSet | undefined> {
        try {
          const r = await inner.ownCopy(key);
          m.countDirect(false);
          return r;
        } catch (err) {
          m.countDirect(true);
          throw err;
        }
      },
      status: () => inner.status(),
      ring: () => inner.ring(),
      routing: () => inner.routing(),
      leave: () => inner.leave(),
    };
  }

  /** The whole scrape: this registry, then the extra text (the API's counters). */
  async text(): Promise<string> {
    const own = await this.registry.metrics();
    const extra = this.options.extraText?.() ?? '';
    return extra === '' ? own : `${own.endsWith('\n') ? own : `${own}\n`}${extra}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Series whose values are read from the node at scrape time. */
  private pulled(registers: Registry[]): void {
    const source = this.options.source;
    // Monotonic node counters become Prometheus counters; at scrape time each is set
    // to the node's value (reset + inc: prom-client counters have no set()).
    const counter = (name: string, help: string, read: (counters: Readonly<Record<string, number>>, status: StatusView) => number | undefined): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const node = source();
          if (node === undefined) return;
          const v = read(node.inspect().counters, node.status());
          this.reset();
          this.inc(v !== undefined && v >= 0 ? v : 0);
        },
      });
    };
    counter('shoal_coordinated_gets_total', 'Gets this node coordinated (including ones that failed).', (c) => c['gets']);
    counter('shoal_direct_reads_total', "Direct reads of this node's own copy by the SDK, which coordinates those gets itself (including refused ones).", (c) => c['directReads']);
    counter('shoal_coordinated_puts_total', 'Puts this node coordinated (including ones that failed).', (c) => c['puts']);
    counter('shoal_coordinated_deletes_total', 'Deletes this node coordinated (including ones that failed).', (c) => c['deletes']);
    counter('shoal_forwards_total', 'Requests this node forwarded to another coordinator.', (c) => c['forwards']);
    counter('shoal_sibling_limit_refusals_total', 'Client writes refused because the key would hold more than siblingsHardMax siblings.', (c) => c['siblingRefusals']);
    counter('shoal_sibling_bytes_refusals_total', 'Client writes refused because the key\'s siblings would hold more value bytes than one replica message carries.', (c) => c['siblingBytesRefusals']);
    counter('shoal_quorum_failures_total', 'Requests that got fewer than R or W replica answers in time.', (c) => c['quorumFailures']);
    counter('shoal_read_repairs_total', 'Replicas found behind on a read and sent the merged version.', (c) => c['readRepairs']);
    counter('shoal_read_repairs_too_old_total', 'Reads whose replies were older than readRepairMaxAgeMs when they settled, so they repaired nothing (anti-entropy does).', (c) => c['readRepairsTooOld']);
    counter('shoal_hints_stored_total', 'Hinted writes this node stored for an unreachable primary.', (c) => c['hintsStored']);
    counter('shoal_hints_delivered_total', 'Hints delivered to their primary (and then deleted).', (c) => c['hintsDelivered']);
    counter('shoal_replica_writes_total', 'Replica writes this node applied for any coordinator.', (c) => c['replicaWrites']);
    counter('shoal_replica_reads_total', 'Replica reads this node answered for any coordinator.', (c) => c['replicaReads']);
    counter(
      'shoal_antientropy_keys_repaired_total',
      'Keys anti-entropy repaired on this node (0 until the node reports anti-entropy).',
      (c, s) => c['antiEntropyKeysRepaired'] ?? c['aeKeysRepaired'] ?? num(s['antiEntropy'], 'keysRepaired') ?? sumOf(listOf(s['antiEntropy'], 'partitions'), 'keysRepaired'),
    );
    counter(
      'shoal_transfer_bytes_total',
      'Bytes of partition data this node sent in ownership transfers (0 until the node reports transfers).',
      (c, s) => c['transferBytes'] ?? num(s['transfers'], 'bytes') ?? sumOf(listOf(s['transfers'], 'transfers', 'active'), 'bytes'),
    );

    new Gauge({
      name: 'shoal_members',
      help: 'Cluster members by status, as this node sees them through gossip.',
      labelNames: ['status'],
      registers,
      collect() {
        const node = source();
        if (node === undefined) return;
        const counts: Record<string, number> = { up: 0, suspect: 0, down: 0, leaving: 0 };
        for (const m of node.status().members) counts[m.status] = (counts[m.status] ?? 0) + 1;
        for (const st of MEMBER_STATUSES) this.set({ status: st }, counts[st] ?? 0);
      },
    });
    new Gauge({
      name: 'shoal_hints_pending',
      help: 'Hints this node holds, by the primary they are for.',
      labelNames: ['target'],
      registers,
      collect() {
        const node = source();
        if (node === undefined) return;
        this.reset();
        for (const [target, count] of node.inspect().hintsByTarget) this.set({ target }, count);
      },
    });
    new Gauge({
      name: 'shoal_peer_latency_seconds',
      help: 'Smoothed replica round-trip time to each peer (what latency-aware reads rank by).',
      labelNames: ['peer'],
      registers,
      collect() {
        const node = source();
        if (node === undefined) return;
        this.reset();
        for (const p of node.inspect().peers) this.set({ peer: p.peer }, p.latencyMs / 1000);
      },
    });
    new Gauge({
      name: 'shoal_peer_circuit_open',
      help: '1 while requests to the peer are short-circuited after repeated failures.',
      labelNames: ['peer'],
      registers,
      collect() {
        const node = source();
        if (node === undefined) return;
        this.reset();
        for (const p of node.inspect().peers) this.set({ peer: p.peer }, p.open ? 1 : 0);
      },
    });
    new Gauge({
      name: 'shoal_coordinator_in_flight',
      help: 'Client requests the coordinator is working on.',
      registers,
      collect() {
        const node = source();
        if (node !== undefined) this.set(node.inspect().inFlight);
      },
    });
    new Gauge({
      name: 'shoal_ring_version',
      help: 'Version of the ring this node uses (equal on every node once gossip converged).',
      registers,
      collect() {
        const node = source();
        if (node !== undefined) this.set(node.inspect().ring?.version ?? 0);
      },
    });
    const store = (name: string, help: string, field: string): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const node = source();
          if (node !== undefined) this.set(num(node.status()['store'], field) ?? 0);
        },
      });
    };
    store('shoal_store_cache_entries', 'Objects in the store read cache (off, 0, unless SHOAL_READ_CACHE_ENTRIES is set).', 'cacheEntries');
    store('shoal_store_cache_bytes', 'Bytes held by the store read cache.', 'cacheBytes');
    store('shoal_store_queued_operations', 'Store operations waiting for or inside the current group commit.', 'queued');
    store('shoal_store_hints_pending', 'Hints in the store, all targets together.', 'hintsPending');
    store('shoal_store_value_log_segments', 'Segment files of the value log (large objects kept beside the engine; 0 when SHOAL_VALUE_LOG=off).', 'valueLogSegments');
    store('shoal_store_value_log_bytes', 'Bytes in the value log, live and garbage.', 'valueLogBytes');
    store('shoal_store_value_log_keydir_entries', 'Value-log pointers held in memory (recently written large objects, read without an engine lookup).', 'valueLogKeydirEntries');
    store('shoal_store_value_log_garbage_bytes', 'Estimated garbage in the value log (overwritten and deleted objects not yet collected).', 'valueLogGarbageBytes');
    const storeCounter = (name: string, help: string, field: string): void => {
      counter(name, help, (_c, s) => num(s['store'], field));
    };
    storeCounter('shoal_store_writes_total', 'Records written to the storage engine (objects, removes, hints, meta).', 'writes');
    storeCounter('shoal_store_batches_total', 'Batches written to the storage engine (group commits).', 'batches');
    storeCounter('shoal_store_cache_hits_total', 'Store reads answered from the cache.', 'cacheHits');
    storeCounter('shoal_store_cache_misses_total', 'Store reads that went to the engine.', 'cacheMisses');
    storeCounter('shoal_store_corrupt_records_total', 'Corrupt records met in the store.', 'corrupt');
    storeCounter('shoal_store_corrupt_replaced_total', 'Corrupt objects replaced by a replica write, read repair or anti-entropy.', 'corruptReplaced');
    storeCounter('shoal_store_value_log_collections_total', 'Value-log segments collected (live records moved, the file deleted).', 'valueLogCollections');
    storeCounter('shoal_store_value_log_moved_records_total', 'Live records moved to the head of the value log by collection.', 'valueLogMovedRecords');
    storeCounter('shoal_store_value_log_reclaimed_bytes_total', 'Bytes of garbage the value log reclaimed.', 'valueLogReclaimedBytes');
    storeCounter('shoal_store_value_log_keydir_hits_total', 'Value-log pointer lookups (reads and collection checks) answered from memory instead of the engine.', 'valueLogKeydirHits');
    storeCounter('shoal_store_value_log_keydir_warmed_total', 'Engine entries read to fill the value log keydir after the start.', 'valueLogKeydirWarmed');
    storeCounter('shoal_store_value_log_prewarmed_bytes_total', 'Value log bytes read back into the page cache after the start.', 'valueLogPrewarmedBytes');
    storeCounter('shoal_store_value_log_prewarm_failures_total', 'Read-backs of the value log after the start ended by a failed read (reads still work; the rest of the log stays cold).', 'valueLogPrewarmFailures');
    storeCounter('shoal_store_value_log_checkpoints_total', 'Checkpoints of the value log as the write-ahead log (--sync): synced engine writes that bound what a start replays.', 'valueLogCheckpoints');
    storeCounter('shoal_store_value_log_replayed_batches_total', 'Batches replayed from the value log into the engine at the start (--sync, after a crash of the machine).', 'valueLogReplayedBatches');
    storeCounter('shoal_store_value_log_preallocated_segments_total', 'Value-log segments made ahead of time (zero-filled and synced, --sync) that became the head: commits sync into them without changing file metadata.', 'valueLogPreallocatedSegments');
    storeCounter('shoal_store_value_log_preallocate_failures_total', 'Value-log segments that could not be made ahead of time (the head then grows by appends, as without --sync).', 'valueLogPreallocateFailures');
    storeCounter('shoal_store_value_log_trimmed_bytes_total', 'Bytes cut from the ends of value-log segments at the start (zeros of a segment made ahead of time, or a batch never wholly synced, after a crash).', 'valueLogTrimmedBytes');
    storeCounter('shoal_store_value_log_collect_failures_total', 'Value-log collections given up (a damaged record or a storage error); the segment is kept.', 'valueLogCollectFailures');
    storeCounter('shoal_store_engine_reads_sync_total', 'Engine read calls made synchronously on the event loop (small batches while reads are fast).', 'engineReadsSync');
    storeCounter('shoal_store_engine_reads_async_total', "Engine read calls made on the engine's thread pool.", 'engineReadsAsync');
    storeCounter('shoal_store_engine_reads_slow_sync_total', 'Synchronous engine read calls that ran past storeSyncReadSlowMs (their remaining keys went to the thread pool; several in a row send all reads there for a while).', 'engineReadsSlowSync');

    const dataDir = this.options.dataDir;
    if (dataDir !== undefined) {
      const truncated = new Gauge({
        name: 'shoal_storage_disk_files_truncated',
        help: `1 when the data directory has more than ${cfg.metricsDataDirFilesMax} files and the disk size counts only the first ones.`,
        registers,
      });
      new Gauge({
        name: 'shoal_storage_disk_bytes',
        help: 'Bytes of the files in the data directory (the storage engine, its logs and metadata).',
        registers,
        async collect() {
          const r = await directoryBytes(dataDir, cfg.metricsDataDirFilesMax);
          this.set(r.bytes);
          truncated.set(r.truncated ? 1 : 0);
        },
      });
    }
  }
}

/** Sums file sizes under `dir`, visiting at most `filesMax` entries. A missing directory is 0. */
export async function directoryBytes(dir: string, filesMax: number): Promise<{ bytes: number; truncated: boolean }> {
  let bytes = 0;
  let visited = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (++visited > filesMax) return { bytes, truncated: true };
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) bytes += await stat(p).then((s) => s.size, () => 0);
    }
  }
  return { bytes, truncated: false };
}
