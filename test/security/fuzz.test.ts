/**
 * The hostile-input fuzz run against one real node (see fuzz.ts). In `npm test` a bounded
 * number of inputs (SHOAL_FUZZ_RUNS, default 5000, about 15 s); `npm run fuzz --
 * --runs 1000000` is the long version. The node's resident memory (VmRSS) is measured
 * before and after: it must stay within fuzzRssGrowthBytesMax of where it started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, waitFor } from '../integration/harness.js';
import { fuzzNode } from './fuzz.js';
import { rssBytes } from './helpers.js';

const SECRET = 'fuzz-secret-0123456789abcdef0123';
const runs = Number(process.env['SHOAL_FUZZ_RUNS'] ?? 5_000);
const seed = Number(process.env['SHOAL_FUZZ_SEED'] ?? 1_234);
/** Documented bound (docs/reliability.md): the node's RSS may grow by at most this much over a fuzz run. */
const fuzzRssGrowthBytesMax = 256 * 1_048_576;
const maxValueBytes = 65_536;
let cluster: Cluster;

beforeAll(async () => {
  cluster = new Cluster({ nodes: 1, secret: SECRET, extraArgs: ['--n', '1', '--partitions', '8', '--max-value-bytes', String(maxValueBytes)] });
  await cluster.start();
  await waitFor('a ring', async () => !JSON.stringify(await (await fetch(`${cluster.url(0)}/v1/ring`)).json()).includes('"partitions":[]'), 30_000);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('hostile input against a real node', () => {
  it(`${runs} generated inputs over HTTP, /v1/ws and /v1/peer: coded answers or closed connections, node up, memory bounded`, async () => {
    const n = cluster.nodes[0]!;
    const pid = n.proc!.pid;
    const before = rssBytes(pid);
    const started = Date.now();
    const counts = await fuzzNode(
      { host: n.host, port: n.port, id: n.id, secret: SECRET, params: 'n=1,q=8', maxValueBytes },
      runs,
      seed,
      () => cluster.isRunning(0),
      (done) => process.stderr.write(`fuzz: ${done} inputs, ${Math.round((Date.now() - started) / 1000)} s, VmRSS ${Math.round((rssBytes(pid) ?? 0) / 1_048_576)} MiB\n`),
    );
    const after = rssBytes(pid);
    expect(cluster.isRunning(0)).toBe(true);
    expect((await fetch(`${n.url}/v1/health`)).status).toBe(200);
    const put = await fetch(`${n.url}/v1/kv/after-fuzz`, { method: 'PUT', body: 'ok' });
    expect(put.status).toBe(204);
    const total = counts.http + counts.ws + counts.peerOpen + counts.peerAuth;
    expect(total).toBe(runs);
    const line = `fuzz: ${total} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s (http ${counts.http}, ws ${counts.ws}, peer before handshake ${counts.peerOpen}, authenticated peer ${counts.peerAuth}; ${counts.answers} answered, ${counts.closes} closed); VmRSS ${before === undefined ? '?' : (before / 1_048_576).toFixed(1)} -> ${after === undefined ? '?' : (after / 1_048_576).toFixed(1)} MiB`;
    process.stderr.write(line + '\n');
    if (before !== undefined && after !== undefined) expect(after - before).toBeLessThan(fuzzRssGrowthBytesMax);
  }, Math.max(120_000, runs * 10));
});
