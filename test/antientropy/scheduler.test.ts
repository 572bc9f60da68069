import { describe, expect, it } from 'vitest';
import { AntiEntropyScheduler, type ReplicaSet, type SchedulerTick } from '../../src/antientropy/index.js';

const replicas: ReplicaSet[] = [
  { partition: 0, peers: ['b', 'c'] },
  { partition: 1, peers: ['c', 'd'] },
  { partition: 2, peers: ['d', 'b'] },
];

function tick(now: number, over: Partial<SchedulerTick> = {}): SchedulerTick {
  return { now, replicas, isUp: () => true, isReady: () => true, ...over };
}

const done = { keysDiffering: 0, keysRepaired: 0, complete: true };

describe('AntiEntropyScheduler', () => {
  it('goes round robin: every partition with its first peer before any second peer', () => {
    const s = new AntiEntropyScheduler(0, { concurrentExchanges: 1, exchangeIntervalMs: 1000 });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const g = s.tick(tick(i));
      expect(g).toHaveLength(1);
      order.push(`${g[0]!.partition}${g[0]!.peer}`);
      s.finished(g[0]!.partition, g[0]!.peer, { ...done, now: i });
    }
    expect(order).toEqual(['0b', '1c', '2d', '0c', '1d', '2b']);
    // All six pairs ran within the interval: nothing more is due.
    expect(s.tick(tick(10))).toEqual([]);
  });

  it('never runs more than the concurrency cap, nor two exchanges of one partition', () => {
    const s = new AntiEntropyScheduler(0, { concurrentExchanges: 2, exchangeIntervalMs: 0 });
    const g = s.tick(tick(0));
    expect(g).toEqual([
      { partition: 0, peer: 'b' },
      { partition: 1, peer: 'c' },
    ]);
    expect(s.active).toBe(2);
    expect(s.tick(tick(1))).toEqual([]);
    s.finished(0, 'b', { ...done, now: 2 });
    const next = s.tick(tick(3));
    expect(next).toEqual([{ partition: 2, peer: 'd' }]);
    // Partition 1 is still running, so its second peer waits even though it is due.
    s.finished(2, 'd', { ...done, now: 4 });
    expect(s.tick(tick(5))).toEqual([{ partition: 0, peer: 'c' }]);
  });

  it('starts a pair again only after the interval', () => {
    const s = new AntiEntropyScheduler(0, { concurrentExchanges: 1, exchangeIntervalMs: 10_000 });
    const single = [{ partition: 5, peers: ['x'] }];
    expect(s.tick(tick(0, { replicas: single }))).toEqual([{ partition: 5, peer: 'x' }]);
    s.finished(5, 'x', { ...done, now: 100 });
    expect(s.tick(tick(9_999, { replicas: single }))).toEqual([]);
    expect(s.tick(tick(10_000, { replicas: single }))).toEqual([{ partition: 5, peer: 'x' }]);
  });

  it('skips peers that are down and trees that are not ready', () => {
    const s = new AntiEntropyScheduler(0, { concurrentExchanges: 10, exchangeIntervalMs: 1000 });
    const g = s.tick(tick(0, { isUp: (p) => p !== 'c', isReady: (p) => p !== 2 }));
    expect(g).toEqual([{ partition: 0, peer: 'b' }, { partition: 1, peer: 'd' }]);
  });

  it('pauses while foreground p99 is above target and resumes when it is back', () => {
    const s = new AntiEntropyScheduler(0, { concurrentExchanges: 1, exchangeIntervalMs: 0, foregroundLatencyTargetMs: 50, repairKeysPerSecond: 100, repairBurstKeys: 100 });
    expect(s.tick(tick(0, { p99Ms: 80 }))).toEqual([]);
    expect(s.paused).toBe(true);
    expect(s.takeRepairTokens(10, 0)).toBe(0);
    // No measurement keeps the last state.
    expect(s.tick(tick(1))).toEqual([]);
    expect(s.tick(tick(2, { p99Ms: 50 }))).toHaveLength(1);
    expect(s.paused).toBe(false);
    expect(s.takeRepairTokens(10, 2)).toBe(10);
  });

  it('throttles repairs with a token bucket', () => {
    const s = new AntiEntropyScheduler(0, { repairKeysPerSecond: 100, repairBurstKeys: 50 });
    expect(s.takeRepairTokens(80, 0)).toBe(50);
    expect(s.takeRepairTokens(10, 0)).toBe(0);
    expect(s.takeRepairTokens(100, 200)).toBe(20);
    s.refundRepairTokens(5);
    expect(s.takeRepairTokens(100, 200)).toBe(5);
    expect(s.takeRepairTokens(1000, 10_200)).toBe(50);
  });

  it('frees the slot of an exchange that never reports back', () => {
    const s = new AntiEntropyScheduler(0, { concurrentExchanges: 1, exchangeIntervalMs: 0, exchangeTimeoutMs: 1000 });
    expect(s.tick(tick(0))).toHaveLength(1);
    expect(s.tick(tick(999))).toEqual([]);
    expect(s.tick(tick(1000))).toHaveLength(1);
  });

  it('records per partition: last exchange, keys repaired, in sync', () => {
    const s = new AntiEntropyScheduler(0, { concurrentExchanges: 3, exchangeIntervalMs: 0 });
    s.tick(tick(0));
    s.finished(0, 'b', { now: 10, keysDiffering: 3, keysRepaired: 3, complete: true });
    s.finished(1, 'c', { now: 11, keysDiffering: 0, keysRepaired: 0, complete: true });
    s.finished(2, 'd', { now: 12, keysDiffering: 0, keysRepaired: 0, complete: false, failed: true });
    expect(s.status()).toEqual([
      { partition: 0, lastExchangeMs: 10, lastPeer: 'b', keysRepaired: 3, inSync: false, exchanges: 1, failures: 0 },
      { partition: 1, lastExchangeMs: 11, lastPeer: 'c', keysRepaired: 0, inSync: true, exchanges: 1, failures: 0 },
      { partition: 2, lastExchangeMs: 12, lastPeer: 'd', keysRepaired: 0, inSync: null, exchanges: 1, failures: 1 },
    ]);
    // A partition the node no longer replicates is dropped from the records.
    s.tick(tick(20, { replicas: replicas.slice(0, 2) }));
    expect(s.status().map((r) => r.partition)).toEqual([0, 1]);
  });

  it('at defaults, a node with 48 partitions x 2 peers starts every pair within one interval', () => {
    const many: ReplicaSet[] = Array.from({ length: 48 }, (_, p) => ({ partition: p, peers: ['x', 'y'] }));
    const s = new AntiEntropyScheduler(0);
    const seen = new Set<string>();
    let now = 0;
    // Each exchange takes 50 ms; the node ticks every 50 ms.
    for (; now < 10_000 && seen.size < 96; now += 50) {
      for (const g of s.tick({ now, replicas: many, isUp: () => true, isReady: () => true })) {
        seen.add(`${g.partition}/${g.peer}`);
        s.finished(g.partition, g.peer, { ...done, now: now + 50 });
      }
    }
    expect(seen.size).toBe(96);
    expect(now).toBeLessThan(10_000);
  });
});
