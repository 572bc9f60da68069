import { describe, expect, it } from 'vitest';
import { frameLimits } from '../../src/wire/index.js';
import { wireObjectMarginBytes } from '../../src/config/index.js';
import { memClusterPerTest, ringAgreed } from './mem-cluster.js';

/**
 * Limits on a key's siblings. A key's siblings may hold together no more value bytes than one replica message carries.
 * Before this bound, the write that passed it was stored on its coordinator only: every
 * replica write, hint and anti-entropy exchange of the key failed from then on (payload
 * over the peer limit), and reads through other nodes no longer saw the coordinator's copy.
 */
describe('sibling limits', () => {
  const clusters = memClusterPerTest();

  it('refuses (TOO_LARGE) the write that would pass one frame, stores nothing of it, and keeps every replica equal', async () => {
    const c = await clusters.start();
    expect(await ringAgreed(c)).toBe(true);
    const mib = 1 << 20;
    const limit = frameLimits({ maxValueBytes: mib }).peerFrameBytesMax - wireObjectMarginBytes;
    const fits = Math.floor(limit / mib);
    const value = (i: number) => new Uint8Array(mib).fill(i + 1);
    for (let i = 0; i < fits; i++) await c.run(c.nodes[i % 3]!.put('big', value(i), { w: 3 }));
    const refused = await c.run(c.nodes[0]!.put('big', value(fits), { w: 3 }).then(() => undefined, (err: unknown) => err));
    expect(refused).toMatchObject({ code: 'TOO_LARGE', message: expect.stringMatching(/bytes of values in \d+ siblings/) });
    await c.settle(2_000);
    const written = Array.from({ length: fits }, (_, i) => i + 1);
    for (const node of c.nodes) {
      const copy = await node.local('big');
      expect(copy!.siblings.map((s) => s.value![0]).sort((a, b) => a! - b!)).toEqual(written);
    }
    // Resolved with the read's context, the key takes writes again.
    const read = await c.run(c.nodes[1]!.get('big', { r: 3 }));
    expect(read.siblings).toHaveLength(fits);
    await c.run(c.nodes[2]!.put('big', value(99), { w: 3, context: read.context! }));
    const after = await c.run(c.nodes[0]!.get('big', { r: 3 }));
    expect(after.siblings.map((s) => s.value![0])).toEqual([100]);
  });

  it('two sides of a partition, 100 blind writes each: once healed the key holds all 200 and is read and resolved through any node', async () => {
    const c = await clusters.start();
    expect(await ringAgreed(c)).toBe(true);
    c.network.partition(['n1'], ['n2', 'n3']);
    await c.settle(6_000);
    const text = (s: string) => new TextEncoder().encode(s);
    // Each side's coordinator holds the key below its limit of 100 siblings.
    for (let i = 0; i < 100; i++) {
      await c.run(c.nodes[0]!.put('split', text(`a${i}`), { w: 1 }));
      await c.run(c.nodes[1 + (i % 2)]!.put('split', text(`b${i}`), { w: 1 }));
    }
    c.network.heal();
    // Read repair and anti-entropy carry the 200-sibling object between replicas.
    let read = await c.run(c.nodes[2]!.get('split', { r: 3 }).catch(() => undefined));
    for (let i = 0; i < 60 && read?.siblings.length !== 200; i++) {
      await c.settle(1_000);
      read = await c.run(c.nodes[i % 3]!.get('split', { r: 3 }).catch(() => undefined));
    }
    expect(read?.siblings.length).toBe(200);
    for (const node of c.nodes) expect((await node.local('split'))!.siblings).toHaveLength(200);
    await c.run(c.nodes[0]!.put('split', text('resolved'), { w: 3, context: read!.context! }));
    const after = await c.run(c.nodes[1]!.get('split', { r: 3 }));
    expect(after.siblings.map((s) => new TextDecoder().decode(s.value!))).toEqual(['resolved']);
  });
});
