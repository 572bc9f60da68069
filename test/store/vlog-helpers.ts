/** What the value log's tests share: temporary locations, object values and keys, segment listings. */
import { afterAll } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeValueLogFiles, objectKey } from '../../src/store/index.js';
import type { EngineOp, ValueLogFiles } from '../../src/store/index.js';

/** New locations under one temporary directory (named `prefix`...), removed after the file's tests. */
export function tempLocations(prefix: string): () => Promise<string> {
  let root: string | undefined;
  let n = 0;
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });
  return async () => {
    root ??= await mkdtemp(join(tmpdir(), prefix));
    return join(root, `db${n++}`);
  };
}

/** An object value as the store writes them (format byte 0x01), `size` bytes, filled with `fill`. */
export function value(size: number, fill: number): Uint8Array {
  const v = new Uint8Array(size).fill(fill);
  v[0] = 0x01;
  return v;
}

/** The object key of test key `i` (over four partitions). */
export const key = (i: number): Uint8Array => objectKey(i % 4, `key-${i}`);

/** The segment files in `dir`, sorted. */
export const segmentFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((f) => f.endsWith('.vlog')).sort();

/**
 * A random batch of one to three writes over keys 0-9 (a delete in seven of fifty, a small
 * inline value in ten, else one the log keeps), recorded in `model` as the fill each key
 * then holds (undefined: absent). Fills count up from `fill.next`, wrapping under 250.
 */
export function randomBatch(random: { int(n: number): number; float(): number }, model: Map<number, number | undefined>, fill: { next: number }): EngineOp[] {
  const ops: EngineOp[] = [];
  for (let j = 1 + random.int(3); j > 0; j--) {
    const k = random.int(10);
    const t = random.float();
    fill.next = (fill.next + 1) % 250;
    if (t < 0.15) {
      ops.push({ type: 'del', key: key(k) });
      model.set(k, undefined);
    } else {
      ops.push({ type: 'put', key: key(k), value: value(t < 0.35 ? 60 : 200, fill.next) });
      model.set(k, fill.next);
    }
  }
  return ops;
}

/** A call of the value log's files that a test records. */
export type FileEvent = 'sync' | 'syncdir' | 'write' | 'unlink';

/**
 * The node:fs files of the value log, reporting each call of a kind in `events` to
 * `push` before making it (tests check the order of syncs, writes and deletions).
 */
export function loggedFiles(push: (event: FileEvent) => void, events: readonly FileEvent[]): ValueLogFiles {
  const on = new Set(events);
  const f = nodeValueLogFiles;
  return {
    ...f,
    sync: (fd) => (on.has('sync') && push('sync'), f.sync(fd)),
    syncDir: (dir) => (on.has('syncdir') && push('syncdir'), f.syncDir(dir)),
    write: (fd, buf, offset, length, position) => (on.has('write') && push('write'), f.write(fd, buf, offset, length, position)),
    unlink: (path) => (on.has('unlink') && push('unlink'), f.unlink(path)),
  };
}
