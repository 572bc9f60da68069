/**
 * Saved trees: every partition tree of a node in one byte string, written at a clean
 * shutdown and read at the next start instead of rebuilding the trees from a scan of the
 * whole store (riak_kv keeps its hashtrees on disk for the same reason). Whether a saved
 * copy may be used is the node's business (src/node/antientropy.ts: it is dropped before
 * the first write after it was taken); this file is the format.
 *
 * Layout, little-endian: magic "SAT1", then segments, fanout, partitions, entries (u32
 * each); per entry its partition (u32), the wall-clock ms of the scan the tree descends
 * from (f64), its key count (f64), and every level's words (u32, root first); finally the
 * XXH64 of everything before it (hi, lo). At the defaults that is ~8.5 KiB per partition.
 */
import { ShoalError } from '../errors/index.js';
import { hashBytes } from '../ring/index.js';
import { PartitionTree, type TreeShape } from './tree.js';

const MAGIC = 0x31544153; // "SAT1" read as a little-endian u32
const HEADER_BYTES = 20;
const ENTRY_HEADER_BYTES = 20;
const TRAILER_BYTES = 8;

export interface SavedTree {
  partition: number;
  /** Wall-clock ms when the scan this tree descends from was taken (saved trees expire). */
  builtAtMs: number;
  tree: PartitionTree;
}

export function encodeTrees(entries: readonly SavedTree[], shape: TreeShape, partitions: number): Uint8Array {
  const words = new PartitionTree(shape).stateWords;
  const size = HEADER_BYTES + entries.length * (ENTRY_HEADER_BYTES + words * 4) + TRAILER_BYTES;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, shape.segments, true);
  v.setUint32(8, shape.fanout, true);
  v.setUint32(12, partitions, true);
  v.setUint32(16, entries.length, true);
  let o = HEADER_BYTES;
  for (const e of entries) {
    if (e.tree.segments !== shape.segments || e.tree.fanout !== shape.fanout) throw new ShoalError('INTERNAL', 'a saved tree has another shape');
    if (!e.tree.ready) throw new ShoalError('INTERNAL', `tree of partition ${e.partition} is not ready; it cannot be saved`);
    const st = e.tree.state();
    v.setUint32(o, e.partition, true);
    v.setFloat64(o + 4, e.builtAtMs, true);
    v.setFloat64(o + 12, st.count, true);
    o += ENTRY_HEADER_BYTES;
    for (const level of st.levels) {
      for (let i = 0; i < level.length; i++) v.setUint32(o + 4 * i, level[i]!, true);
      o += level.length * 4;
    }
  }
  const h = hashBytes(out.subarray(0, o));
  v.setUint32(o, h.hi, true);
  v.setUint32(o + 4, h.lo, true);
  return out;
}

/**
 * The saved trees, if `bytes` is an intact save for this tree shape and partition count.
 * Throws CORRUPT for damaged bytes and CONFIG_MISMATCH for another shape or partition
 * count: either way the caller rebuilds from the store.
 */
export function decodeTrees(bytes: Uint8Array, shape: TreeShape, partitions: number): SavedTree[] {
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES) throw new ShoalError('CORRUPT', `saved trees: ${bytes.length} bytes is too short`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - TRAILER_BYTES;
  const h = hashBytes(bytes.subarray(0, end));
  if (v.getUint32(0, true) !== MAGIC || v.getUint32(end, true) !== h.hi || v.getUint32(end + 4, true) !== h.lo) {
    throw new ShoalError('CORRUPT', 'saved trees: bad magic or checksum');
  }
  if (v.getUint32(4, true) !== shape.segments || v.getUint32(8, true) !== shape.fanout || v.getUint32(12, true) !== partitions) {
    throw new ShoalError('CONFIG_MISMATCH', 'saved trees were made for another tree shape or partition count');
  }
  const count = v.getUint32(16, true);
  const proto = new PartitionTree(shape);
  const sizes = proto.state().levels.map((a) => a.length);
  const words = proto.stateWords;
  if (end !== HEADER_BYTES + count * (ENTRY_HEADER_BYTES + words * 4)) throw new ShoalError('CORRUPT', 'saved trees: length does not match the entry count');
  const out: SavedTree[] = [];
  const seen = new Set<number>();
  let o = HEADER_BYTES;
  for (let n = 0; n < count; n++) {
    const partition = v.getUint32(o, true);
    const builtAtMs = v.getFloat64(o + 4, true);
    const keys = v.getFloat64(o + 12, true);
    if (partition >= partitions || seen.has(partition) || !Number.isFinite(builtAtMs) || !Number.isInteger(keys)) {
      throw new ShoalError('CORRUPT', `saved trees: bad entry ${n}`);
    }
    seen.add(partition);
    o += ENTRY_HEADER_BYTES;
    const levels = sizes.map((len) => {
      const a = new Uint32Array(len);
      for (let i = 0; i < len; i++) a[i] = v.getUint32(o + 4 * i, true);
      o += len * 4;
      return a;
    });
    const tree = new PartitionTree(shape);
    tree.restore({ count: keys, levels });
    out.push({ partition, builtAtMs, tree });
  }
  return out;
}
