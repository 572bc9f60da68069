import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KvService, StatusView } from '../../src/api/index.js';
import { ShoalError } from '../../src/errors/index.js';
import { NodeMetrics, bucketBoundMs, directoryBytes, quantileMs, type MetricsSource } from '../../src/node/metrics.js';

function fakeSource(extra: Record<string, unknown> = {}) {
  const counters: Record<string, number> = { gets: 0, puts: 0, deletes: 0, forwards: 0, readRepairs: 0, hintsStored: 0, hintsDelivered: 0, quorumFailures: 0, replicaWrites: 0, replicaReads: 0 };
  const hints = new Map<string, number>([['n2', 5]]);
  const source: MetricsSource = {
    status: (): StatusView => ({
      node: 'n1',
      n: 3,
      partitions: 8,
      members: [
        { id: 'n1', address: 'a:1', status: 'up' },
        { id: 'n2', address: 'a:2', status: 'down' },
        { id: 'n3', address: 'a:3', status: 'suspect' },
      ],
      hints: { pending: 5 },
      store: { cacheEntries: 7, cacheBytes: 700, queued: 0, hintsPending: 5, writes: 42, batches: 4, cacheHits: 3, cacheMisses: 1, corrupt: 0, engineReadsSync: 11, engineReadsAsync: 6, engineReadsSlowSync: 2 },
      ...extra,
    }),
    inspect: () => ({
      counters,
      peers: [{ peer: 'n3', latencyMs: 2.5, open: false, failures: 0 }],
      inFlight: 2,
      ring: { version: 9 },
      hintsByTarget: hints,
      members: [],
    }),
  };
  return { source, counters, hints };
}

function fakeService(): KvService & { fail?: ShoalError; siblings: number } {
  const svc = {
    n: 3,
    partitions: 8,
    maxValueBytes: 1024,
    siblings: 1,
    fail: undefined as ShoalError | undefined,
    async get() {
      if (svc.fail) throw svc.fail;
      return { siblings: Array.from({ length: svc.siblings }, () => ({ value: new Uint8Array(1), ts: 0 })), context: svc.siblings ? 'c' : null };
    },
    async put() {
      if (svc.fail) throw svc.fail;
      return { context: 'c' };
    },
    async del() {
      if (svc.fail) throw svc.fail;
      return { context: 'c' };
    },
    async local() {
      return undefined;
    },
    async ownCopy() {
      if (svc.fail) throw svc.fail;
      return undefined;
    },
    status: () => ({}) as StatusView,
    ring: () => ({ partitions: [] }),
    routing: () => ({ q: 8, n: 3, owners: [], members: [] }),
    async leave() {},
  };
  return svc as unknown as KvService & { fail?: ShoalError; siblings: number };
}

/** The value of one sample line, e.g. `shoal_requests_total{op="get",status="ok"}`. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    if (line.slice(0, i) === series) return Number(line.slice(i + 1));
  }
  return undefined;
}

describe('NodeMetrics: Prometheus text', () => {
  it('counts requests by operation and outcome, with latency histograms and siblings per read', async () => {
    const { source } = fakeSource();
    const m = new NodeMetrics({ source: () => source, defaultMetrics: false });
    const svc = fakeService();
    const timed = m.instrument(svc);
    let text = await m.text();
    expect(sample(text, 'shoal_requests_total{op="get",status="ok"}')).toBe(0);
    await timed.get('k', {});
    await timed.get('k', {});
    svc.siblings = 3;
    await timed.get('k', {});
    svc.siblings = 0;
    await timed.get('k', {});
    await timed.put('k', new Uint8Array(1), {});
    svc.fail = new ShoalError('UNAVAILABLE', 'too few');
    await expect(timed.put('k', new Uint8Array(1), {})).rejects.toThrow('too few');
    await expect(timed.del('k', {})).rejects.toThrow();
    svc.fail = new Error('boom') as ShoalError;
    await expect(timed.get('k', {})).rejects.toThrow('boom');
    text = await m.text();
    expect(sample(text, 'shoal_requests_total{op="get",status="ok"}')).toBe(3);
    expect(sample(text, 'shoal_requests_total{op="get",status="not_found"}')).toBe(1);
    expect(sample(text, 'shoal_requests_total{op="get",status="internal"}')).toBe(1);
    expect(sample(text, 'shoal_requests_total{op="put",status="ok"}')).toBe(1);
    expect(sample(text, 'shoal_requests_total{op="put",status="unavailable"}')).toBe(1);
    expect(sample(text, 'shoal_requests_total{op="del",status="unavailable"}')).toBe(1);
    expect(text).toContain('# TYPE shoal_request_duration_seconds histogram');
    expect(sample(text, 'shoal_request_duration_seconds_count{op="get",status="ok"}')).toBe(3);
    expect(sample(text, 'shoal_request_duration_seconds_bucket{le="+Inf",op="put",status="ok"}')).toBe(1);
    expect(sample(text, 'shoal_read_siblings_count')).toBe(3);
    expect(sample(text, 'shoal_read_siblings_sum')).toBe(5);
    expect(sample(text, 'shoal_read_siblings_bucket{le="2"}')).toBe(2);
    // The dashboard's cumulative stats moved too.
    const st = m.stats();
    expect(st.requests).toBe(8);
    expect(st.errors).toBe(3);
    expect(st.buckets.reduce((a, b) => a + b, 0)).toBe(8);
    // Direct reads the node answers count in the dashboard's ops (and errors), not in its
    // latency buckets nor in shoal_requests_total (requests this node coordinated).
    svc.fail = undefined;
    await timed.ownCopy('k');
    svc.fail = new ShoalError('UNAVAILABLE', 'not a primary owner of this key');
    await expect(timed.ownCopy('k')).rejects.toThrow('not a primary');
    const after = m.stats();
    expect(after.requests).toBe(10);
    expect(after.errors).toBe(4);
    expect(after.buckets.reduce((a, b) => a + b, 0)).toBe(8);
    text = await m.text();
    expect(sample(text, 'shoal_requests_total{op="get",status="ok"}')).toBe(3);
  });

  it('reads node counters, members by status, hints, peers and store figures at scrape time', async () => {
    const { source, counters, hints } = fakeSource();
    const m = new NodeMetrics({ source: () => source, defaultMetrics: false, extraText: () => '# HELP shoal_api_x x\n# TYPE shoal_api_x counter\nshoal_api_x 1\n' });
    let text = await m.text();
    expect(sample(text, 'shoal_quorum_failures_total')).toBe(0);
    counters['quorumFailures'] = 4;
    counters['readRepairs'] = 2;
    counters['readRepairsTooOld'] = 3;
    counters['hintsDelivered'] = 6;
    hints.set('n3', 1);
    text = await m.text();
    expect(sample(text, 'shoal_quorum_failures_total')).toBe(4);
    expect(sample(text, 'shoal_read_repairs_total')).toBe(2);
    expect(sample(text, 'shoal_read_repairs_too_old_total')).toBe(3);
    expect(sample(text, 'shoal_hints_delivered_total')).toBe(6);
    expect(text).toContain('# TYPE shoal_quorum_failures_total counter');
    expect(sample(text, 'shoal_members{status="up"}')).toBe(1);
    expect(sample(text, 'shoal_members{status="down"}')).toBe(1);
    expect(sample(text, 'shoal_members{status="suspect"}')).toBe(1);
    expect(sample(text, 'shoal_members{status="leaving"}')).toBe(0);
    expect(sample(text, 'shoal_hints_pending{target="n2"}')).toBe(5);
    expect(sample(text, 'shoal_hints_pending{target="n3"}')).toBe(1);
    expect(sample(text, 'shoal_peer_latency_seconds{peer="n3"}')).toBe(0.0025);
    expect(sample(text, 'shoal_peer_circuit_open{peer="n3"}')).toBe(0);
    expect(sample(text, 'shoal_coordinator_in_flight')).toBe(2);
    expect(sample(text, 'shoal_ring_version')).toBe(9);
    expect(sample(text, 'shoal_store_cache_bytes')).toBe(700);
    expect(sample(text, 'shoal_store_writes_total')).toBe(42);
    expect(sample(text, 'shoal_store_engine_reads_sync_total')).toBe(11);
    expect(sample(text, 'shoal_store_engine_reads_async_total')).toBe(6);
    expect(sample(text, 'shoal_store_engine_reads_slow_sync_total')).toBe(2);
    // Absent until anti-entropy and transfers exist: 0, never missing.
    expect(sample(text, 'shoal_antientropy_keys_repaired_total')).toBe(0);
    expect(sample(text, 'shoal_transfer_bytes_total')).toBe(0);
    // The API's own text is appended.
    expect(sample(text, 'shoal_api_x')).toBe(1);
    // A hint target that is gone disappears (gauges are rebuilt per scrape).
    hints.delete('n2');
    expect(sample(await m.text(), 'shoal_hints_pending{target="n2"}')).toBeUndefined();
  });

  it('takes anti-entropy and transfer figures from /v1/status when the node reports them', async () => {
    const { source } = fakeSource({
      antiEntropy: { partitions: [{ partition: 0, keysRepaired: 3 }, { partition: 1, keysRepaired: 4 }] },
      transfers: [{ partition: 2, bytes: 1000 }, { partition: 3, bytes: 24 }],
    });
    const text = await new NodeMetrics({ source: () => source, defaultMetrics: false }).text();
    expect(sample(text, 'shoal_antientropy_keys_repaired_total')).toBe(7);
    expect(sample(text, 'shoal_transfer_bytes_total')).toBe(1024);
  });

  it('serves before the node exists, and includes event-loop lag and storage size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-metrics-'));
    try {
      mkdirSync(join(dir, 'db'));
      writeFileSync(join(dir, 'db', 'a.ldb'), Buffer.alloc(1000));
      writeFileSync(join(dir, 'LOG'), Buffer.alloc(24));
      const m = new NodeMetrics({ source: () => undefined, dataDir: dir });
      const text = await m.text();
      expect(text).toContain('nodejs_eventloop_lag_seconds');
      expect(sample(text, 'shoal_storage_disk_bytes')).toBe(1024);
      expect(sample(text, 'shoal_storage_disk_files_truncated')).toBe(0);
      expect(await directoryBytes(dir, 1)).toEqual({ bytes: 24, truncated: true });
      expect(await directoryBytes(join(dir, 'missing'), 10)).toEqual({ bytes: 0, truncated: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every series name in Prometheus form: shoal_ prefix, _total counters, _seconds durations', async () => {
    const { source } = fakeSource();
    const text = await new NodeMetrics({ source: () => source, defaultMetrics: false }).text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1]!, x[2]!] as const);
    expect(types.length).toBeGreaterThan(20);
    for (const [name, type] of types) {
      expect(name).toMatch(/^shoal_[a-z_]+$/);
      if (type === 'counter') expect(name).toMatch(/_total$/);
      if (name.includes('duration') || name.includes('latency')) expect(name).toMatch(/_seconds$/);
    }
  });

  it('two nodes in one process keep separate registries', async () => {
    const a = new NodeMetrics({ source: () => undefined, defaultMetrics: false });
    const b = new NodeMetrics({ source: () => undefined, defaultMetrics: false });
    await a.instrument(fakeService()).put('k', new Uint8Array(1), {});
    expect(sample(await a.text(), 'shoal_requests_total{op="put",status="ok"}')).toBe(1);
    expect(sample(await b.text(), 'shoal_requests_total{op="put",status="ok"}')).toBe(0);
  });
});

describe('dashboard latency quantiles', () => {
  it('takes the quantile of the requests between two samples', () => {
    const before = new Array<number>(64).fill(0);
    const after = before.slice();
    after[10] = 90; // 90 requests below bucketBoundMs(10)
    after[30] = 10;
    expect(quantileMs(before, after, 0.5)).toBe(bucketBoundMs(10));
    expect(quantileMs(before, after, 0.9)).toBe(bucketBoundMs(10));
    expect(quantileMs(before, after, 0.99)).toBe(bucketBoundMs(30));
    // Only the difference counts.
    const later = after.slice();
    later[20] = 5;
    expect(quantileMs(after, later, 0.5)).toBe(bucketBoundMs(20));
    expect(quantileMs(after, after, 0.5)).toBeNull();
  });

  it('buckets are within 25% of each other', () => {
    for (let i = 1; i < 64; i++) expect(bucketBoundMs(i) / bucketBoundMs(i - 1)).toBeCloseTo(1.25);
  });
});
