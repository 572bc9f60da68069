/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core against a real 3-node cluster. Screenshots go to test-results/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Cluster, ROOT, waitFor } from '../integration/harness.js';

const CHROMIUM = process.env['SHOAL_CHROMIUM'] ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const SHOTS = join(ROOT, 'test-results');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/dashboard/browser.test.ts: skipped, ${CHROMIUM} is missing (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard in headless Chromium on a 3-node cluster', () => {
  const cluster = new Cluster({ nodes: 3 });
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await cluster.start();
    await cluster.waitConverged();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cluster.stop();
  });

  const rowStatus = (id: string) => page.locator(`#members tr[data-member="${id}"]`).getAttribute('data-status');

  it('shows all three members up, the ring drawn and live charts', async () => {
    const base = cluster.nodes[0]!.url;
    // Traffic on every node while the page watches, so each node's line moves.
    let traffic = true;
    const load = (async () => {
      for (let i = 0; traffic; i++) {
        const url = `${cluster.nodes[i % 3]!.url}/v1/kv/warm-${i % 50}`;
        const put = await fetch(url, { method: 'PUT', body: `v${i}` });
        expect(put.status).toBe(204);
        await (await fetch(url)).arrayBuffer();
      }
    })();
    try {
      await page.goto(base + '/');
      await page.locator('#conn.live').waitFor({ timeout: 10_000 });
      await waitFor('three members up on the page', async () => (await page.locator('#members tr[data-status="up"]').count()) === 3, 15_000);
      for (const n of cluster.nodes) expect(await rowStatus(n.id)).toBe('up');
      // 64 partitions x N=3 replica bands, three owners.
      expect(await page.locator('#ring path.partition').count()).toBe(64 * 3);
      const owners = await page.locator('#ring path.partition').evaluateAll((ps) => new Set(ps.map((p) => p.getAttribute('data-owner'))).size);
      expect(owners).toBe(3);
      // Charts: uPlot drew canvases, and every node reports a non-zero rate (stats gathered from peers).
      await waitFor('charts drawn', async () => (await page.locator('#opschart canvas').count()) > 0, 10_000);
      for (const n of cluster.nodes) {
        await waitFor(`a rate for ${n.id}`, async () => /[1-9][0-9.]* ops\/s/.test((await page.locator(`#opslegend [data-node="${n.id}"]`).textContent()) ?? ''), 15_000);
      }
      expect(await page.locator('#latlegend').textContent()).toMatch(/p99 [0-9.]+ ms/);
      expect(await page.locator('#ae').textContent()).toBeDefined();
      await waitFor('a few seconds of chart', async () => (await page.evaluate(() => document.querySelectorAll('#opslegend [data-node]').length)) === 3, 5_000);
      await new Promise((r) => setTimeout(r, 3_000)); // let a few more points arrive for the screenshot only
      await page.screenshot({ path: join(SHOTS, 'dashboard-all-up.png'), fullPage: true });
    } finally {
      traffic = false;
      await load;
    }
  }, 60_000);

  it('looks up a key and shows the explain view', async () => {
    const base = cluster.nodes[0]!.url;
    expect((await fetch(`${base}/v1/kv/${encodeURIComponent('user/42')}`, { method: 'PUT', body: 'hello' })).status).toBe(204);
    await page.fill('#key', 'user/42');
    await page.click('#lookup button');
    await page.locator('#explain tr[data-replica]').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('#explain tr[data-replica]').count()).toBe(3);
    const text = (await page.locator('#explain').textContent()) ?? '';
    expect(text).toContain('user/42');
    expect(text).toContain('preference list');
    expect(text).toMatch(/1 version/);
    await page.screenshot({ path: join(SHOTS, 'dashboard-explain.png'), fullPage: true });
  }, 30_000);

  it('turns a killed node down', async () => {
    const victim = cluster.nodes[2]!;
    await cluster.kill(2);
    await waitFor(`${victim.id} down on the page`, async () => (await rowStatus(victim.id)) === 'down', 30_000, 250);
    // Its partitions are hatched (owner not up) and the others stay up.
    expect(await rowStatus(cluster.nodes[1]!.id)).toBe('up');
    const hatched = await page.locator(`#ring path.partition[data-owner="${victim.id}"]`).evaluateAll((ps) => ps.filter((p) => p.getAttribute('fill') === 'url(#hatch)').length);
    expect(hatched).toBe(64);
    await page.screenshot({ path: join(SHOTS, 'dashboard-node-down.png'), fullPage: true });
  }, 40_000);

  it('says so when its own node dies and links to the others', async () => {
    await cluster.kill(0);
    await page.locator('#banner').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('#conn').textContent()).toBe('node unreachable');
    const links = await page.locator('#banner a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(links).toContain(`${cluster.nodes[1]!.url}/`);
    await page.screenshot({ path: join(SHOTS, 'dashboard-own-node-down.png'), fullPage: true });
  }, 30_000);
});
