// The tombstone reaper's waits (src/node/reaper.ts) on one node with scripted peers and
// simulated time: a tombstone every primary holds is removed only once they have held it
// for the grace period by this node's own clock, whatever the wall clocks say.
import { describe, expect, it } from 'vitest';
import { SeededRandom, SimClock, SimScheduler, SimTimers } from '../../src/env/index.js';
import { Reaper, type ReaperHost } from '../../src/node/reaper.js';
import { MemoryBacking, MemoryEngine, ObjectStore, REMOVE } from '../../src/store/index.js';
import * as vc from '../../src/vclock/index.js';
import type { DVVSet } from '../../src/vclock/types.js';
import type { PeerMessage } from '../../src/wire/messages.js';

const GRACE = 5_000;
const P = 0;

/** A tombstone whose delete covered `n` writes of actor a, made by actor d at wall time `ts`. */
function tombstone(n: number, ts: number): DVVSet {
  return vc.update(vc.fresh([['a', n]], { value: null, ts }), vc.empty(), 'd', ts);
}

async function setup(options: { wallAheadMs: number }) {
  const sched = new SimScheduler();
  const clock = new SimClock(sched);
  // This node's wall clock runs ahead of the delete's coordinator by wallAheadMs.
  const wall = { now: () => clock.now() + options.wallAheadMs, monotonic: () => clock.monotonic() };
  const store = new ObjectStore(new MemoryEngine(new MemoryBacking()));
  await store.open();
  let peerCopy: DVVSet | undefined;
  const reapsAsked: string[] = [];
  const host: ReaperHost = {
    id: 'n1',
    partitions: 1,
    env: { clock: wall as unknown as SimClock, timers: new SimTimers(sched), random: new SeededRandom(1) },
    store,
    log: () => undefined,
    graceMs: GRACE,
    quietMembers: () => ['n1', 'n2'],
    primaries: () => ['n1', 'n2'],
    unsettled: async () => 0,
    async request(to, msg): Promise<PeerMessage> {
      if (msg.t === 'hint_count') return { t: 'hint_count_ok', n: 0 };
      if (msg.t === 'rget') return { t: 'rget_ok', o: peerCopy ? vc.toWire(peerCopy) : null };
      if (msg.t === 'reap') {
        reapsAsked.push(`${to}:${msg.k}`);
        return { t: 'reap_ok' } as PeerMessage;
      }
      throw new Error(`unexpected ${msg.t}`);
    },
    async removeTombstone(partition, key, context) {
      const res = await store.update(partition, key, (cur) => (cur !== undefined && vc.isTombstone(cur) && vc.encodeContext(vc.join(cur)) === context ? REMOVE : undefined));
      return res.changed;
    },
  };
  const reaper = new Reaper(host);
  /** One reaper round, run to its end. */
  const round = async (): Promise<void> => {
    reaper.tick();
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
  };
  return {
    sched,
    wallNow: () => wall.now(),
    store,
    reaper,
    round,
    reapsAsked,
    setPeer: (o: DVVSet | undefined) => (peerCopy = o),
    /** Both primaries hold `obj` for key 'k'; then one reaper round. */
    async holdEverywhere(obj: DVVSet): Promise<void> {
      await store.update(P, 'k', () => obj);
      peerCopy = obj;
      await round();
    },
  };
}

describe('tombstone reaper', () => {
  it('removes a tombstone only a grace period after every primary was first seen holding it, even when the wall clocks say it is old', async () => {
    // The delete's timestamp looks an hour old to this node (skewed clocks).
    const t = await setup({ wallAheadMs: 3_600_000 });
    const dead = tombstone(1, 0);
    await t.holdEverywhere(dead);
    // Every primary holds it: the wait starts now, nothing is removed yet.
    expect(t.reaper.waiting).toBe(1);
    expect(await t.store.get(P, 'k')).toBeDefined();
    t.sched.advance(GRACE - 1);
    await t.round();
    expect(await t.store.get(P, 'k')).toBeDefined();
    expect(t.reapsAsked).toEqual([]);
    t.sched.advance(1);
    await t.round();
    expect(await t.store.get(P, 'k')).toBeUndefined();
    expect(t.reapsAsked).toEqual(['n2:k']);
    expect(t.reaper.reaped).toBe(1);
    expect(t.reaper.waiting).toBe(0);
  });

  it('starts the wait again when a primary stops holding that tombstone', async () => {
    const t = await setup({ wallAheadMs: 3_600_000 });
    const dead = tombstone(1, 0);
    await t.holdEverywhere(dead);
    t.sched.advance(GRACE / 2);
    // The peer misses it for a while (a write in between, a wiped copy): the wait is forgotten.
    t.setPeer(undefined);
    await t.round();
    expect(t.reaper.waiting).toBe(0);
    t.setPeer(dead);
    await t.round();
    t.sched.advance(GRACE / 2 + 1);
    await t.round();
    // Only half a grace since the peer held it again.
    expect(await t.store.get(P, 'k')).toBeDefined();
    t.sched.advance(GRACE / 2);
    await t.round();
    expect(await t.store.get(P, 'k')).toBeUndefined();
  });

  it('waits for a newer tombstone from scratch (the context changed)', async () => {
    const t = await setup({ wallAheadMs: 3_600_000 });
    await t.holdEverywhere(tombstone(1, 0));
    t.sched.advance(GRACE - 10);
    // A second delete over the first, on both primaries.
    const newer = tombstone(2, 0);
    await t.holdEverywhere(newer);
    t.sched.advance(10);
    await t.round();
    expect(await t.store.get(P, 'k')).toBeDefined();
    t.sched.advance(GRACE);
    await t.round();
    expect(await t.store.get(P, 'k')).toBeUndefined();
  });

  it('never starts the wait for a tombstone younger than the grace by its timestamp', async () => {
    const t = await setup({ wallAheadMs: 0 });
    const dead = tombstone(1, t.wallNow());
    await t.holdEverywhere(dead);
    expect(t.reaper.waiting).toBe(0);
    t.sched.advance(GRACE);
    await t.round();
    expect(t.reaper.waiting).toBe(1);
    expect(await t.store.get(P, 'k')).toBeDefined();
  });
});
