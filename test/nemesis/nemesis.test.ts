/**
 * The short nemesis run inside `npm test`: about a minute of 5 real nodes under
 * partitions, kill -9, pauses and clock skew (scripts/nemesis.mjs). Skips, saying why,
 * where the machine cannot give us a network namespace with nftables.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from './run.js';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'scripts', 'nemesis.mjs');

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (unshare -n and nft need CAP_NET_ADMIN)';
  for (const tool of ['unshare', 'ip', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && nft add table inet shoal_probe'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) return `cannot make a filtered network namespace: ${(probe.stderr || `status ${probe.status}`).trim()}`;
  return undefined;
}

const why = unavailable();
if (why !== undefined) console.warn(`nemesis: skipped: ${why}`);

describe.skipIf(why !== undefined)(`nemesis, short run${why ? ` (skipped: ${why})` : ''}`, () => {
  it('loses no acknowledged add and converges after every fault heals', () => {
    const out = join(root, 'test-results', 'nemesis-short');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const seed = 20_240_601;
    const run = spawnSync(
      process.execPath,
      [script, '--duration', '40', '--fault-ms', '4000', '--rest-ms', '1000', '--seed', String(seed), '--out', out],
      { cwd: root, encoding: 'utf8', timeout: 230_000, killSignal: 'SIGTERM' },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).not.toBe(77);
    // A run that ended without its summary (killed by the timeout, crashed) shows its output.
    expect(existsSync(join(out, 'summary.json')), `status ${run.status} signal ${run.signal} error ${run.error?.message}\n${output.slice(-6000)}`).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
    // At least five fault kinds ran. Faults run in turn, each for --fault-ms after
    // --rest-ms, and a kill or a restart also waits for its node to come back (3-8 s
    // more): 30 s fitted only four kinds once the restart fault joined the cycle.
    expect(new Set(summary.faults.map((f) => f.fault)).size, output).toBeGreaterThanOrEqual(5);
    expect(summary.check.acknowledged, output).toBeGreaterThan(50);
    // Half the workers read through the SDK's direct reads, under the same faults.
    expect(summary.sdk.directReads, output).toBeGreaterThan(10);
    expect(summary.check.lostCount, output).toBe(0);
    expect(summary.check.unexpectedCount, output).toBe(0);
    expect(summary.check.duplicateCount, output).toBe(0);
    expect(summary.convergence.converged, output).toBe(true);
    expect(summary.convergence.seconds!, output).toBeLessThanOrEqual(summary.convergence.boundSeconds);
    expect(summary.pass, output).toBe(true);
    expect(run.status, output).toBe(0);
    // The history is JSON lines another checker can read: every line parses, invokes pair up.
    const lines = readFileSync(summary.historyFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; f: string });
    const invokes = lines.filter((l) => l.f === 'add' && l.type === 'invoke').length;
    expect(invokes).toBe(summary.check.attempted);
  }, 240_000);
});
