/**
 * The operator's routes and CLI views against a real 3-node cluster: /v1/explain,
 * /v1/overview, /v1/events (SSE), /metrics, and `shoal status|ring|explain`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../cli/helpers.js';
import { Cluster, waitFor } from '../integration/harness.js';

const cluster = new Cluster({ nodes: 3 });
const url = (i: number) => cluster.nodes[i]!.url;
const endpoint = (i: number) => `127.0.0.1:${cluster.nodes[i]!.port}`;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/** Reads SSE events from /v1/events until `count` snapshots arrived. */
async function readEvents(base: string, count: number): Promise<Array<{ event: string; data: unknown }>> {
  const ctl = new AbortController();
  const res = await fetch(`${base}/v1/events`, { signal: ctl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<{ event: string; data: unknown }> = [];
  let buf = '';
  while (events.filter((e) => e.event === 'snapshot').length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
    }
  }
  ctl.abort();
  return events;
}

beforeAll(async () => {
  await cluster.start();
  await cluster.waitConverged();
}, 60_000);
afterAll(() => cluster.stop());

describe('operator routes on a real cluster', () => {
  it('explains a key: partition, preference list, each replica read without repair', async () => {
    expect((await fetch(`${url(0)}/v1/kv/apple`, { method: 'PUT', body: 'red' })).status).toBe(204);
    const x = (await (await fetch(`${url(1)}/v1/explain/apple`)).json()) as {
      key: string;
      partition: number;
      preferenceList: Array<{ node: string; status: string }>;
      replicas: Array<{ ok: boolean; versions: unknown[] }>;
    };
    expect(x.key).toBe('apple');
    expect(x.preferenceList.map((p) => p.status)).toEqual(['up', 'up', 'up']);
    expect(new Set(x.preferenceList.map((p) => p.node))).toEqual(new Set(cluster.nodes.map((n) => n.id)));
    // W=2: at least two replicas hold it; none was repaired by explaining.
    expect(x.replicas.filter((r) => r.ok && r.versions.length === 1).length).toBeGreaterThanOrEqual(2);
    const ring = (await (await fetch(`${url(0)}/v1/ring`)).json()) as { partitions: Array<{ owners: string[] }> };
    expect(x.preferenceList.map((p) => p.node)).toEqual(ring.partitions[x.partition]!.owners);
    // Bad input is a 400, other methods 405, unknown query parameters 400.
    expect((await fetch(`${url(0)}/v1/explain/a/b`)).status).toBe(400);
    expect((await fetch(`${url(0)}/v1/explain/apple?x=1`)).status).toBe(400);
    expect((await fetch(`${url(0)}/v1/explain/apple`, { method: 'POST' })).status).toBe(405);
  });

  it('serves the overview and streams snapshots with a chart point for every node', async () => {
    const ov = (await (await fetch(`${url(0)}/v1/overview`)).json()) as { overview: number; members: Array<{ status: string; incarnation: number; heartbeat: number }>; ring: { partitions: unknown[] } };
    expect(ov.overview).toBe(1);
    expect(ov.members.map((m) => m.status)).toEqual(['up', 'up', 'up']);
    for (const m of ov.members) expect(m.heartbeat).toBeGreaterThanOrEqual(0);
    expect(ov.ring.partitions).toHaveLength(64);
    for (let i = 0; i < 10; i++) await fetch(`${url(i % 3)}/v1/kv/k${i}`, { method: 'PUT', body: 'x' });
    const events = await readEvents(url(0), 3);
    expect(events[0]!.event).toBe('history');
    const last = events[events.length - 1]!.data as { tick: { nodes: Record<string, { ops: number } | null> } };
    // Every node answered /v1/stats, so each has a point (rates may be 0 in a quiet second).
    expect(Object.keys(last.tick.nodes).sort()).toEqual(cluster.nodes.map((n) => n.id).sort());
    for (const p of Object.values(last.tick.nodes)) expect(p).not.toBeNull();
  });

  it('exposes Prometheus metrics whose request counters move', async () => {
    const scrape = async () => (await (await fetch(`${url(2)}/metrics`)).text());
    const count = (text: string) => Number(/^shoal_requests_total\{op="put",status="ok"\} (\d+)$/m.exec(text)?.[1] ?? 'NaN');
    const before = count(await scrape());
    for (let i = 0; i < 5; i++) expect((await fetch(`${url(2)}/v1/kv/m${i}`, { method: 'PUT', body: 'x' })).status).toBe(204);
    const text = await scrape();
    expect(count(text)).toBe(before + 5);
    expect(text).toMatch(/^shoal_members\{status="up"\} 3$/m);
    expect(text).toMatch(/^shoal_request_duration_seconds_bucket\{le="\+Inf",op="put",status="ok"\} \d+$/m);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toMatch(/^shoal_storage_disk_bytes [1-9]\d*$/m);
    expect(text).toContain('shoal_api_requests_total'); // the API's own counters are included
  });
});

describe('shoal status, ring and explain', () => {
  it('status prints members with versions; --json carries the overview', async () => {
    const r = await cli('status', '--endpoint', endpoint(0));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ID\s+ADDRESS\s+STATUS\s+INCARNATION\s+HEARTBEAT/);
    for (const n of cluster.nodes) expect(r.out).toMatch(new RegExp(`^${n.id.replace(/\./g, '\\.')}( \\*)?\\s+\\S+\\s+up\\s+\\d+\\s+\\d+`, 'm'));
    expect(r.out).toContain('anti-entropy:');
    const j = JSON.parse((await cli('status', '--json', '--endpoint', endpoint(0))).out) as { node: string; overview: { members: unknown[] } };
    expect(j.node).toBe(cluster.nodes[0]!.id);
    expect(j.overview.members).toHaveLength(3);
  });

  it('explain prints the preference list and replicas', async () => {
    const r = await cli('explain', 'apple', '--endpoint', endpoint(2));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^key apple {2}partition \d+$/m);
    expect(r.out).toMatch(/^1\s+\S+\s+primary\s+up$/m);
    expect(r.out).toMatch(/1 version/);
    expect(JSON.parse((await cli('explain', 'apple', '--json', '--endpoint', endpoint(2))).out).key).toBe('apple');
  });

  it('ring shows owners, and which owner is down once a node dies', async () => {
    let r = await cli('ring', '--endpoint', endpoint(0));
    expect(r.code).toBe(0);
    expect(r.out).toContain('every owner is up');
    const victim = cluster.nodes[2]!.id;
    await cluster.kill(2);
    await cluster.waitMembers(0, { [victim]: 'down' }, 30_000);
    r = await cli('ring', '--endpoint', endpoint(0));
    expect(r.out).toContain(`not up: ${victim} (down)`);
    // N=3 on 3 nodes: no fallback exists, so the dead node is uncovered everywhere it owns.
    expect(r.out).toMatch(new RegExp(`^\\d+\\s+-\\s+${victim.replace(/\./g, '\\.')}$`, 'm'));
    const j = JSON.parse((await cli('ring', '--json', '--endpoint', endpoint(0))).out) as { partitions: Array<{ uncovered: string[] }> };
    expect(j.partitions.filter((p) => p.uncovered.includes(victim))).toHaveLength(64);
    await waitFor('status table shows it down', async () => (await cli('status', '--endpoint', endpoint(1))).out.includes('down'));
  }, 40_000);
});
