/**
 * The simulator's parts on their own: fault shapes, plans from seeds, the node timers'
 * crash and pause semantics, the slow disk's crash model, and the history's checks.
 */
import { describe, expect, it } from 'vitest';
import { SimScheduler, SimTimers } from '../../src/env/index.js';
import { MemoryBacking, MemoryEngine } from '../../src/store/index.js';
import * as vc from '../../src/vclock/index.js';
import { onewayPairs, partitionPairs, planFromSeed } from '../../src/sim/index.js';
import { History } from '../../src/sim/history.js';
import { NodeTimers, SlowDiskEngine } from '../../src/sim/storage.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const drain = () => new Promise<void>((r) => setImmediate(r));

describe('fault shapes', () => {
  const norm = (pairs: Array<[number, number]>) => pairs.map(([a, b]) => (a < b ? `${a}-${b}` : `${b}-${a}`)).sort();

  it('isolates one node from every other', () => {
    expect(norm(partitionPairs('isolate', 4, [2, 0]))).toEqual(['0-2', '1-2', '2-3']);
  });

  it('splits into halves', () => {
    expect(norm(partitionPairs('halves', 4, [3, 1, 0]))).toEqual(['0-1', '0-3', '1-2', '2-3']);
  });

  it('keeps a bridge node connected to both sides', () => {
    // Node 2 bridges {0} and {1, 3}.
    const pairs = norm(partitionPairs('bridge', 4, [2, 0]));
    expect(pairs).toEqual(['0-1', '0-3']);
    expect(pairs.some((p) => p.includes('2'))).toBe(false);
  });

  it('cuts one direction only', () => {
    expect(onewayPairs(3, [1])).toEqual([
      [1, 0],
      [1, 2],
    ]);
  });
});

describe('plans', () => {
  it('are a pure function of the seed, within the configured bounds', () => {
    expect(planFromSeed(7)).toEqual(planFromSeed(7));
    expect(planFromSeed(7)).not.toEqual(planFromSeed(8));
    for (let s = 0; s < 50; s++) {
      const p = planFromSeed(s);
      expect(p.nodes).toBeGreaterThanOrEqual(3);
      expect(p.nodes).toBeLessThanOrEqual(7);
      for (const f of p.faults) expect(f.at).toBeLessThan(p.safetyMs);
      for (const c of p.clients) for (const op of c) expect(op.node).toBeLessThan(p.nodes);
    }
  });
});

describe('NodeTimers', () => {
  it('holds callbacks during a pause and runs them in order on resume', async () => {
    const sched = new SimScheduler();
    const t = new NodeTimers(new SimTimers(sched));
    const seen: string[] = [];
    t.setTimeout(() => seen.push('a'), 10);
    t.setTimeout(() => seen.push('b'), 20);
    const c = t.setTimeout(() => seen.push('c'), 30);
    t.pause();
    sched.advance(50);
    expect(seen).toEqual([]);
    t.clearTimeout(c);
    t.resume();
    sched.advance(1);
    expect(seen).toEqual(['a', 'b']);
  });

  it('never runs anything after a kill', () => {
    const sched = new SimScheduler();
    const t = new NodeTimers(new SimTimers(sched));
    let ran = false;
    t.setTimeout(() => (ran = true), 5);
    t.kill();
    sched.advance(10);
    t.run(() => (ran = true));
    expect(ran).toBe(false);
  });
});

describe('SlowDiskEngine', () => {
  it('lands a batch after its delay, and a crash before that loses it', async () => {
    const sched = new SimScheduler();
    const backing = new MemoryBacking();
    const timers = new NodeTimers(new SimTimers(sched));
    const engine = new MemoryEngine(backing);
    const disk = new SlowDiskEngine(engine, timers, 3);
    await disk.open();
    let landed = false;
    void disk.batch([{ type: 'put', key: bytes('a'), value: bytes('1') }]).then(() => (landed = true));
    sched.advance(3);
    await drain();
    expect(landed).toBe(true);
    expect(backing.size).toBe(1);

    void disk.batch([{ type: 'put', key: bytes('b'), value: bytes('2') }]).then(() => (landed = false));
    sched.advance(1);
    timers.kill();
    engine.crash();
    sched.advance(10);
    await drain();
    expect(backing.size).toBe(1);
    expect(landed).toBe(true);
  });
});

describe('History', () => {
  const sib = (v: string | null) => ({ value: v === null ? null : bytes(v), ts: 1 });

  it('reports a value nobody wrote', () => {
    const h = new History(() => 0);
    h.write('k', 'c0.0', [], 2);
    h.stored('n1', 'k', undefined, vc.update(vc.fresh([], sib('c0.0')), vc.empty(), 'n1#e', 1));
    expect(h.violationCount).toBe(0);
    h.stored('n1', 'k', undefined, vc.update(vc.fresh([], sib('ghost')), vc.empty(), 'n2#e', 1));
    expect(h.violations.map((v) => v.invariant)).toContain('no-phantom-values');
  });

  it('reports a clock that goes backwards on a replica', () => {
    const h = new History(() => 0);
    h.write('k', 'c0.0', [], 2);
    h.write('k', 'c0.1', [], 2);
    const one = vc.update(vc.fresh([], sib('c0.0')), vc.empty(), 'n1#e', 1);
    const two = vc.update(vc.fresh([], sib('c0.1')), one, 'n1#e', 2);
    h.stored('n1', 'k', one, two);
    h.stored('n1', 'k', one, one);
    expect(h.violations.map((v) => v.invariant)).toEqual(['version-vector-monotonic']);
    // After a physical removal the clock may start again.
    h.removed('n1', 'k');
    h.stored('n1', 'k', undefined, one);
    expect(h.violationCount).toBe(1);
  });

  it('reports siblings one of which was written over the other', () => {
    const h = new History(() => 0);
    h.write('k', 'c0.0', [], 2);
    const first = vc.update(vc.fresh([], sib('c0.0')), vc.empty(), 'n1#e', 1);
    h.stored('n1', 'k', undefined, first);
    // c1.0 was written with a context covering c0.0 ...
    h.write('k', 'c1.0', vc.join(first), 2);
    // ... yet a broken merge keeps both.
    const second = vc.update(vc.fresh([], sib('c1.0')), vc.empty(), 'n2#e', 1);
    h.checkState('k', 'test', vc.sync(first, second));
    expect(h.violations.map((v) => v.invariant)).toContain('siblings-concurrent');
  });

  it('reports one dot naming two values', () => {
    const h = new History(() => 0);
    h.write('k', 'c0.0', [], 2);
    h.write('k', 'c0.1', [], 2);
    h.checkState('k', 'a', vc.update(vc.fresh([], sib('c0.0')), vc.empty(), 'n1#e', 1));
    h.checkState('k', 'b', vc.update(vc.fresh([], sib('c0.1')), vc.empty(), 'n1#e', 1));
    expect(h.violations.map((v) => v.invariant)).toEqual(['unique-dots']);
  });
});
