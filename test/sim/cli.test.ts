/**
 * The simulator's command line: replay prints the trace hash, a sweep prints the
 * summary, a failing seed prints seed=S and the replay command, bad flags exit 2.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/sim/cli.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

describe('npm run sim', () => {
  it('replays one seed and prints its trace hash, the same each time', async () => {
    const a = await run(['--seed', '11', '--ops', '20', '--no-faults']);
    const b = await run(['--seed', '11', '--ops', '20', '--no-faults']);
    expect(a.code).toBe(0);
    const hash = /^trace ([0-9a-f]{16})$/m.exec(a.out)?.[1];
    expect(hash).toBeDefined();
    expect(b.out).toContain(`trace ${hash}`);
    expect(a.out).toContain('no violations');
  }, 60_000);

  it('sweeps seeds and prints the summary', async () => {
    const r = await run(['--seeds', '2', '--from', '5', '--ops', '20', '--no-faults', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/seeds 2 \(from 5\), operations \d+, faults injected 0 \(0 crashes, 0 clean restarts\), violations 0 in 0 seed\(s\)/);
    expect(r.out).toMatch(/seeds\/min/);
  }, 60_000);

  it('prints seed=S and the replay command for a failing seed', async () => {
    const r = await run(['--seed', '1', '--broken', 'ack-before-store']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('seed=1 failed');
    expect(r.out).toContain('replay: npm run sim -- --seed 1 --broken ack-before-store');
  }, 60_000);

  it('rejects unknown flags and components with exit status 2', async () => {
    expect((await run(['--bogus'])).code).toBe(2);
    const r = await run(['--seed', '1', '--broken', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown broken component');
  });
});
