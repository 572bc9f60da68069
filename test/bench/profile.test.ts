import { describe, expect, it } from 'vitest';
import { flameSvg, summariseProfile, type CpuProfile } from '../../bench/lib/profile.js';

const frame = (id: number, functionName: string, children: number[] = []) => ({ id, callFrame: { functionName, url: '', lineNumber: 0 }, children });

/** (root) -> a -> b<x>, (root) -> c, and idle time, with known times in µs. */
const profile: CpuProfile = {
  nodes: [frame(1, '(root)', [2, 4, 5]), frame(2, 'a', [3]), frame(3, 'b<x>'), frame(4, 'c'), frame(5, '(idle)')],
  samples: [3, 3, 2, 4, 5],
  timeDeltas: [10_000, 10_000, 10_000, 20_000, 100_000],
  startTime: 0,
  endTime: 150_000,
};

/** Each frame's width and row, by name, read back from the SVG. */
function frames(svg: string): Map<string, { w: number; y: number; tip: string }> {
  const out = new Map<string, { w: number; y: number; tip: string }>();
  for (const m of svg.matchAll(/<title>([^<]*)<\/title><rect x="[^"]+" y="(\d+)" width="([^"]+)"/g)) {
    const tip = m[1]!;
    out.set(tip.slice(0, tip.indexOf(':')), { w: Number(m[3]), y: Number(m[2]), tip });
  }
  return out;
}

describe('flameSvg', () => {
  it('draws each call path as wide as its time with what it called, idle left out, callers below callees', () => {
    const svg = flameSvg(profile, 'test & <profile>');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('test &amp; &lt;profile&gt;');
    const f = frames(svg);
    expect([...f.keys()].sort()).toEqual(['a', 'all', 'b&lt;x&gt;', 'c']);
    expect(f.get('all')!.w).toBeCloseTo(1200);
    expect(f.get('a')!.w).toBeCloseTo(1200 * (30 / 50));
    expect(f.get('b&lt;x&gt;')!.w).toBeCloseTo(1200 * (20 / 50));
    expect(f.get('c')!.w).toBeCloseTo(1200 * (20 / 50));
    // The root at the bottom, then one row up per call.
    expect(f.get('a')!.y).toBeLessThan(f.get('all')!.y);
    expect(f.get('b&lt;x&gt;')!.y).toBeLessThan(f.get('a')!.y);
    expect(f.get('c')!.y).toBe(f.get('a')!.y);
    expect(f.get('a')!.tip).toBe('a: 30 ms, 60.0%');
  });

  it('agrees with the self-time table on the busy time', () => {
    expect(summariseProfile(profile)).toContain('0.1 s busy');
    expect(flameSvg(profile, 't')).toContain('(0.1 s busy;');
  });
});
