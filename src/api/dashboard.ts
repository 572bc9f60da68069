/**
 * # The dashboard: the operator's live view, served by every node at `GET /`
 *
 * One HTML page, self-contained: its styles, its script and the uPlot chart library
 * (read once from node_modules and inlined) arrive in the single response to `GET /`,
 * which needs no token because it holds no data. So the page loads without any network
 * but its own node, and a node with a client token still serves it.
 *
 * What it shows, all from its own node:
 * - the ring as a circle of partitions, one band per replica rank (outer = the
 *   partition's first owner), coloured by owner; an owner that is not up is hatched, and
 *   an outer rim shows the fallback that stands in for it (sloppy quorum), or hatching
 *   where no fallback can (the coordinator keeps the hints);
 * - members with status and gossip versions (incarnation, heartbeat), hints this node
 *   holds for each, and the replica round trip to each;
 * - ops/s and p50/p99 latency per node (every node's, gathered by the node it is open on);
 * - hints pending per target, anti-entropy state per partition and transfers with
 *   progress and ETA when the node reports them (`antiEntropy`, `transfers` in
 *   /v1/status), "not available" otherwise;
 * - a key lookup that renders `GET /v1/explain/{key}`.
 *
 * Live updates come from `GET /v1/events` (Server-Sent Events, one snapshot a second;
 * src/node/routes.ts), read with fetch() so the Authorization header can go along
 * (EventSource cannot send it). No page reloads. When the node has a client token the
 * page asks for it once and keeps it in the tab's sessionStorage (never in the URL).
 * A node that predates /v1/events (404) is polled on /v1/status instead. When the page's
 * own node stops answering (an error, or no data for 5 s) it says so, marks the node
 * down, offers links to the other members' dashboards, and keeps retrying.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pageHtml } from './dashboard/page.js';

let cached: Uint8Array | undefined;

/** The uPlot files, from the installed package; a missing package leaves the charts out. */
function uplot(): { js: string; css: string } {
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('uplot/package.json'));
    return {
      js: readFileSync(join(dir, 'dist', 'uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(join(dir, 'dist', 'uPlot.min.css'), 'utf8'),
    };
  } catch {
    return { js: '/* uPlot is not installed: charts are left out */', css: '' };
  }
}

/** The dashboard page; built once per process (it is static). */
export function defaultDashboard(): { contentType: string; body: Uint8Array } {
  if (cached === undefined) {
    const u = uplot();
    cached = new TextEncoder().encode(pageHtml(u.js, u.css));
  }
  return { contentType: 'text/html; charset=utf-8', body: cached };
}
