import { describe, expect, it } from 'vitest';
import { History } from '../../src/sim/history.js';
import { ObservedStore } from '../../src/sim/storage.js';
import { MemoryBacking, MemoryEngine, REMOVE } from '../../src/store/index.js';
import * as vc from '../../src/vclock/index.js';

/** The simulator's checker must see every write, whichever store call made it. */
describe('ObservedStore', () => {
  it('reports the changes of updateMany items to the history as update() does, failed items excepted', async () => {
    const history = new History(() => 0);
    const store = new ObservedStore(new MemoryEngine(new MemoryBacking()), {}, 'n1', history);
    await store.open();
    const obj = (text: string) => vc.update(vc.fresh([], { value: new TextEncoder().encode(text), ts: 1 }), vc.empty(), 'n1.a', 1);
    await store.update(0, 'gone', () => obj('x'));
    const results = await store.updateMany([
      { partition: 0, key: 'kept', fn: () => obj('v') },
      {
        partition: 0,
        key: 'broken',
        fn: () => {
          throw new Error('no');
        },
      },
      { partition: 0, key: 'gone', fn: () => REMOVE },
    ]);
    expect(results.map((r) => 'error' in r)).toEqual([false, true, false]);
    expect(history.lastStored.has('n1\u0000kept')).toBe(true);
    expect(history.lastStored.has('n1\u0000broken')).toBe(false);
    expect(history.removals.has('n1\u0000gone')).toBe(true);
    await store.close();
  });
});
