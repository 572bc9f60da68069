import { describe, expect, it } from 'vitest';
import { isShoalError } from '../../src/errors/index.js';
import { MemoryBacking, MemoryEngine, ObjectStore, compareBytes } from '../../src/store/index.js';
import { obj, text } from './contract.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('MemoryEngine', () => {
  it('sorts keys bytewise, including bytes above 0x7f', async () => {
    const e = new MemoryEngine();
    await e.open();
    const keys = [b(0x80), b(0x01), b(0xff, 0x00), b(0x01, 0x00), b(0x7f), b(0xff)];
    await e.batch(keys.map((key) => ({ type: 'put' as const, key, value: key })));
    const got = (await e.range({})).map(([k]) => Array.from(k));
    expect(got).toEqual([...keys].sort(compareBytes).map((k) => Array.from(k)));
    expect((await e.range({ reverse: true, limit: 2 })).map(([k]) => Array.from(k))).toEqual([[0xff, 0x00], [0xff]]);
    expect((await e.range({ gt: b(0x01), lte: b(0x80) })).map(([k]) => Array.from(k))).toEqual([[0x01, 0x00], [0x7f], [0x80]]);
    const it: number[][] = [];
    for await (const [k] of e.iterate({ gte: b(0x7f), lt: b(0xff, 0x00) })) it.push(Array.from(k));
    expect(it).toEqual([[0x7f], [0x80], [0xff]]);
    await e.clear({ gte: b(0x7f) });
    expect((await e.range({})).length).toBe(2);
  });

  it('iterates ranges longer than one chunk, forwards and backwards', async () => {
    const e = new MemoryEngine();
    await e.open();
    const ops = Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: b(i >> 8, i & 0xff), value: b(1) }));
    await e.batch(ops);
    let n = 0;
    let prev = -1;
    for await (const [k] of e.iterate({ gte: b(0, 10) })) {
      const v = (k[0]! << 8) | k[1]!;
      expect(v).toBeGreaterThan(prev);
      prev = v;
      n++;
    }
    expect(n).toBe(990);
    let r = 0;
    for await (const _ of e.iterate({ reverse: true, limit: 700 })) r++;
    expect(r).toBe(700);
  });

  it('applies a batch only when it resolves: a crash before that loses it', async () => {
    const backing = new MemoryBacking();
    const e1 = new MemoryEngine(backing);
    await e1.open();
    await e1.batch([{ type: 'put', key: b(1), value: b(10) }]);
    const lost = e1.batch([{ type: 'put', key: b(2), value: b(20) }, { type: 'del', key: b(1) }]);
    let settled = false;
    lost.then(() => (settled = true), () => (settled = true));
    e1.crash();
    const e2 = new MemoryEngine(backing);
    await e2.open(); // the crash released the lock
    expect(await e2.get(b(1))).toEqual(b(10));
    expect(await e2.get(b(2))).toBeUndefined();
    expect(settled).toBe(false); // a dead process hears nothing back
    await expect(e1.get(b(1))).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('copies a batch at the call, so later changes to the caller buffers do not leak in', async () => {
    const e = new MemoryEngine();
    await e.open();
    const key = b(1);
    const value = b(1, 2, 3);
    const p = e.batch([{ type: 'put', key, value }]);
    value[0] = 99;
    key[0] = 2;
    await p;
    expect(await e.get(b(1))).toEqual(b(1, 2, 3));
    expect(await e.get(b(2))).toBeUndefined();
  });

  it('holds a lock on its backing like LevelDB holds its directory', async () => {
    const backing = new MemoryBacking();
    const e1 = new MemoryEngine(backing);
    await e1.open();
    const e2 = new MemoryEngine(backing);
    const err = await e2.open().catch((x: unknown) => x);
    expect(isShoalError(err, 'STORAGE')).toBe(true);
    await e1.close();
    await e2.open();
    await e2.close();
  });

  it('crashes an ObjectStore: acknowledged updates survive, unacknowledged ones are lost', async () => {
    const backing = new MemoryBacking();
    const e1 = new MemoryEngine(backing);
    const s1 = new ObjectStore(e1);
    await s1.open();
    await s1.update(0, 'kept', () => obj('kept'));
    await s1.addHint('t', 0, 'kept', 1);
    // Issued, never acknowledged: the crash comes before the group commit reaches the engine.
    let acked = false;
    void s1.update(0, 'lost', () => obj('lost')).then(() => (acked = true), () => undefined);
    void s1.addHint('t', 0, 'lost', 2).catch(() => undefined);
    e1.crash();
    // Let the queued commit run against the dead engine.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(acked).toBe(false);

    const s2 = new ObjectStore(new MemoryEngine(backing));
    await s2.open();
    expect(s2.epoch).toBe(s1.epoch);
    expect(text(await s2.get(0, 'kept'))).toBe('kept');
    expect(await s2.get(0, 'lost')).toBeUndefined();
    expect(s2.hintsPending()).toBe(1);
    await s2.close();
  });

  it('crash in the middle of a group commit: the batch being written is lost as a whole', async () => {
    const backing = new MemoryBacking();
    const e1 = new MemoryEngine(backing);
    const s1 = new ObjectStore(e1);
    await s1.open();
    await s1.update(0, 'a', () => obj('a1'));
    // Both updates share one batch; crash once the engine has been handed it.
    const origBatch = e1.batch.bind(e1);
    let handed = false;
    e1.batch = (ops, options) => {
      const p = origBatch(ops, options);
      handed = true;
      e1.crash();
      return p;
    };
    void s1.update(0, 'a', () => obj('a2'));
    void s1.update(0, 'b', () => obj('b1'), { hint: 't', now: 1 });
    for (let i = 0; i < 10 && !handed; i++) await Promise.resolve();
    expect(handed).toBe(true);
    const s2 = new ObjectStore(new MemoryEngine(backing));
    await s2.open();
    expect(text(await s2.get(0, 'a'))).toBe('a1');
    expect(await s2.get(0, 'b')).toBeUndefined();
    expect(s2.hintsPending()).toBe(0);
    await s2.close();
  });
});

/** A MemoryEngine whose batches wait for the test to release (or fail) them, one by one. */
class GatedEngine extends MemoryEngine {
  readonly calls: Array<{ ops: number; release: () => void; fail: (err: Error) => void }> = [];
  gated = false;
  override batch(ops: Parameters<MemoryEngine['batch']>[0], options?: Parameters<MemoryEngine['batch']>[1]): Promise<void> {
    if (!this.gated) return super.batch(ops, options);
    return new Promise<void>((resolve, reject) => {
      this.calls.push({
        ops: ops.length,
        release: () => void super.batch(ops, options).then(resolve, reject),
        fail: reject,
      });
    });
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise<void>((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

describe('ObjectStore pipeline', () => {
  it('prepares the next batch on top of the one being written, and writes them in order', async () => {
    const engine = new GatedEngine();
    const store = new ObjectStore(engine);
    await store.open();
    engine.gated = true;
    const seen: Array<string | undefined> = [];
    const first = store.update(0, 'k', (cur) => (seen.push(text(cur)), obj('one')));
    await until(() => engine.calls.length === 1);
    const second = store.update(0, 'k', (cur) => (seen.push(text(cur)), obj(`${text(cur)}+two`)));
    // The second update is applied on top of the first before the first is on disk...
    await until(() => seen.length === 2);
    expect(seen).toEqual([undefined, 'one']);
    // ...but its batch waits until the first has landed.
    expect(engine.calls.length).toBe(1);
    expect(await store.get(0, 'k')).toBeUndefined(); // nothing committed yet
    engine.calls[0]!.release();
    await first;
    await until(() => engine.calls.length === 2);
    engine.calls[1]!.release();
    expect(text((await second).after)).toBe('one+two');
    expect(text(await store.get(0, 'k'))).toBe('one+two');
    engine.gated = false;
    await store.close();
  });

  it('fails a batch prepared on top of a batch that failed, and recovers after', async () => {
    const engine = new GatedEngine();
    const store = new ObjectStore(engine);
    await store.open();
    await store.update(0, 'k', () => obj('base'));
    engine.gated = true;
    const first = store.update(0, 'k', () => obj('lost-1'));
    await until(() => engine.calls.length === 1);
    const second = store.update(0, 'k', (cur) => obj(`${text(cur)}+lost-2`));
    const hint = store.addHint('t', 0, 'k', 1);
    await until(() => store.stats().queued === 3 && engine.calls.length === 1);
    engine.calls[0]!.fail(new Error('disk on fire'));
    await expect(first).rejects.toThrow('disk on fire');
    await expect(second).rejects.toThrow('disk on fire');
    await expect(hint).rejects.toThrow('disk on fire');
    expect(engine.calls.length).toBe(1); // the second batch was never written
    engine.gated = false;
    expect(store.hintsPending()).toBe(0);
    expect(text(await store.get(0, 'k'))).toBe('base');
    expect(text((await store.update(0, 'k', (cur) => obj(`${text(cur)}+ok`))).after)).toBe('base+ok');
    await store.addHint('t', 0, 'k', 2); // the failed reservation was released
    expect(store.hintsPending()).toBe(1);
    await store.close();
  });
});
