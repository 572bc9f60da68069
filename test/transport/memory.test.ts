/**
 * MemoryTransport under simulated time: the delivery hook, partitions, link epochs and
 * refusals, all deterministic (SimScheduler, no real timers).
 */
import { describe, expect, it } from 'vitest';
import { SimScheduler, SimTimers } from '../../src/env/index.js';
import { MemoryNetwork, type DeliverFn, type MemoryTransport } from '../../src/transport/index.js';
import { bytes, expectCode, text } from './helpers.js';

/** A simulated cluster: every delivery and event runs on the scheduler. */
function sim(deliver?: (sched: SimScheduler) => DeliverFn) {
  const sched = new SimScheduler();
  const timers = new SimTimers(sched);
  const network = new MemoryNetwork({ defer: (fn) => sched.schedule(0, fn), ...(deliver ? { deliver: deliver(sched) } : {}) });
  const events: string[] = [];
  const warnings: string[] = [];
  const make = (self: string, clusterParams = 'n=3,q=64'): MemoryTransport => {
    const t = network.transport({ self, env: { timers }, clusterParams, log: (event, _f, level) => level === 'warn' && warnings.push(`${self}: ${event}`) });
    t.onLink((peer, up) => events.push(`${self}-${peer}:${up ? 'up' : 'down'}`));
    t.onRefused((who, code) => events.push(`${self} refused ${who} ${code}`));
    return t;
  };
  /** Runs the scheduler until `p` settles (microtasks between steps). */
  const settle = async <T>(p: Promise<T>, maxMs = 60_000): Promise<T> => {
    let done = false;
    const watched = p.finally(() => {
      done = true;
    });
    watched.catch(() => {});
    while (!done && sched.now <= maxMs) {
      await Promise.resolve();
      if (done) break;
      if (!sched.step()) sched.advance(1);
      await Promise.resolve();
    }
    return p;
  };
  const drain = async (): Promise<void> => {
    for (let i = 0; i < 1000 && sched.step(); i++) await Promise.resolve();
  };
  return { sched, network, events, warnings, make, settle, drain };
}

describe('MemoryTransport on simulated time', () => {
  it('times out on simulated time when the hook delays past the deadline', async () => {
    const { make, settle, sched } = sim((s) => (_f, _t, _b, run) => s.schedule(200, () => run()));
    const a = make('a');
    const b = make('b');
    b.onMessage((_f, p, reply) => reply?.(p));
    a.setPeer('b', 'b');
    await expectCode(settle(a.request('b', bytes('x'), 100)), 'TIMEOUT');
    expect(sched.now).toBe(100);
    expect(text(await settle(a.request('b', bytes('y'), 1_000)))).toBe('y');
    expect(sched.now).toBe(500);
  });

  it('drops what the hook never runs, and delivers duplicates twice with one answer', async () => {
    let mode: 'drop' | 'dup' = 'drop';
    const { make, settle, drain } = sim((s) => (_f, _t, _b, run) => {
      if (mode === 'drop') return;
      s.schedule(1, () => run());
      s.schedule(2, () => run());
    });
    const a = make('a');
    const b = make('b');
    const seen: string[] = [];
    b.onMessage((_f, p, reply) => {
      seen.push(text(p));
      reply?.(p);
    });
    a.setPeer('b', 'b');
    await expectCode(settle(a.request('b', bytes('lost'), 50)), 'TIMEOUT');
    expect(seen).toEqual([]);
    mode = 'dup';
    a.send('b', bytes('one-way'));
    expect(text(await settle(a.request('b', bytes('req'), 50)))).toBe('req');
    await drain();
    expect(seen.sort()).toEqual(['one-way', 'one-way', 'req', 'req']);
  });

  it('drops a corrupted delivery and keeps the link', async () => {
    let corrupt = true;
    const { make, settle, warnings, network } = sim((s) => (_f, _t, _b, run) => {
      s.schedule(1, () => (corrupt ? run(new Uint8Array([9, 9])) : run()));
    });
    const a = make('a');
    const b = make('b');
    b.onMessage((_f, p, reply) => reply?.(p));
    a.setPeer('b', 'b');
    await expectCode(settle(a.request('b', bytes('x'), 20)), 'TIMEOUT');
    expect(warnings).toEqual(['b: malformed delivery dropped']);
    expect(network.linkUp('a', 'b')).toBe(true);
    corrupt = false;
    expect(text(await settle(a.request('b', bytes('y'), 20)))).toBe('y');
  });

  it('takes links down on a partition (pending requests CLOSED) and up on heal', async () => {
    const { make, settle, network, events, drain } = sim();
    const a = make('a');
    const b = make('b');
    const c = make('c');
    b.onMessage(() => {});
    a.setPeer('b', 'b');
    a.setPeer('c', 'c');
    await drain();
    expect(events.sort()).toEqual(['a-b:up', 'a-c:up', 'b-a:up', 'c-a:up']);
    events.length = 0;
    const pending = a.request('b', bytes('x'), 10_000);
    network.partition(['a', 'c'], ['b']);
    await expectCode(settle(pending), 'CLOSED');
    await drain();
    expect(events.sort()).toEqual(['a-b:down', 'b-a:down']);
    expect(network.linkUp('a', 'c')).toBe(true);
    await expectCode(settle(a.request('b', bytes('y'), 100)), 'CLOSED');
    events.length = 0;
    network.heal();
    await drain();
    expect(events.sort()).toEqual(['a-b:up', 'b-a:up']);
    void c;
  });

  it('drops frames sent before a link flap, as a broken connection loses its bytes', async () => {
    const held: Array<() => void> = [];
    const { make, network, drain } = sim(() => (_f, _t, _b, run) => held.push(() => run()));
    const a = make('a');
    const b = make('b');
    const got: string[] = [];
    b.onMessage((_f, p) => got.push(text(p)));
    a.setPeer('b', 'b');
    await drain();
    a.send('b', bytes('before'));
    network.setReachable('a', 'b', false);
    network.setReachable('a', 'b', true);
    a.send('b', bytes('after'));
    for (const run of held) run();
    expect(got).toEqual(['after']);
  });

  it('refuses different cluster parameters on both sides', async () => {
    const { make, settle, events, drain, network } = sim();
    const a = make('a', 'n=3,q=64');
    make('b', 'n=5,q=64');
    const err = await expectCode(settle(a.connectSeed('b')), 'CONFIG_MISMATCH');
    expect(err.message).toBe('cluster params differ: acceptor n=5,q=64, dialer n=3,q=64');
    a.setPeer('b', 'b');
    await drain();
    expect(network.linkUp('a', 'b')).toBe(false);
    expect(events).toContain('a refused b 4002');
    expect(events).toContain('b refused a 4002');
  });

  it('resolves a seed with its id, refuses an address held by another id, and rejects unknown addresses', async () => {
    const { make, settle, events, drain, network } = sim();
    const a = make('a');
    network.transport({ self: 'b', address: '10.0.0.2:7070', env: { timers: new SimTimers(new SimScheduler()) }, clusterParams: 'n=3,q=64' });
    expect(await settle(a.connectSeed('10.0.0.2:7070'))).toBe('b');
    await expectCode(settle(a.connectSeed('10.0.0.9:7070')), 'CLOSED');
    a.setPeer('x', '10.0.0.2:7070');
    await drain();
    expect(events).toContain('a refused x 4001');
  });

  it('removePeer closes the link; it comes back while the other side still wants it', async () => {
    const { make, events, drain, network } = sim();
    const a = make('a');
    const b = make('b');
    a.setPeer('b', 'b');
    await drain();
    events.length = 0;
    a.removePeer('b');
    await drain();
    expect(network.linkUp('a', 'b')).toBe(false);
    expect(events.sort()).toEqual(['a-b:down', 'b-a:down']);
    b.setPeer('a', 'a');
    a.removePeer('b');
    await drain();
    expect(network.linkUp('a', 'b')).toBe(true);
  });

  it('is deterministic: the same script gives the same event trace', async () => {
    const run = async (): Promise<string[]> => {
      const { make, drain, network, events } = sim((s) => (_f, _t, b, r) => s.schedule(b.length % 7, () => r()));
      const ts = ['a', 'b', 'c', 'd'].map((id) => make(id));
      for (const t of ts) t.onMessage((from, p, reply) => reply ? reply(p) : events.push(`${t.self}<-${from}:${text(p)}`));
      for (const t of ts) for (const u of ts) t.setPeer(u.self, u.self);
      for (const t of ts) for (const u of ts) if (t !== u) t.send(u.self, bytes(`${t.self}${u.self}`.repeat(u.self.charCodeAt(0) % 5)));
      network.partition(['a', 'b'], ['c', 'd']);
      await drain();
      return events;
    };
    expect(await run()).toEqual(await run());
  });
});
