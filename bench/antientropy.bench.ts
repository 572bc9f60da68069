/**
 * Anti-entropy benchmark, in memory: tree updates per second, and one exchange between
 * two trees of 1,000,000 keys that differ in 1,000 of them (time to find them all). The
 * store scan that answers `ae_keys` is simulated over arrays in key order, with each
 * key's segment computed once up front (a real node hashes each key it scans, and holds
 * ~20k keys per partition, not a million). `run()` returns the numbers by name.
 */
import { answerLevels, Exchange, KeysPage, PartitionTree, type AeKeysMsg, type AeReply } from '../src/antientropy/index.js';

const KEYS = 1_000_000;
const DIFFERING = 1_000;

/** Zero-padded so index order is key order (ASCII, so also UTF-8 byte order). */
const keyOf = (i: number): string => `key-${String(i).padStart(7, '0')}`;

function digestsFor(seed: number): Uint8Array {
  const d = new Uint8Array(KEYS * 8);
  let x = seed >>> 0;
  for (let i = 0; i < d.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    d[i] = x >>> 24;
  }
  return d;
}

interface Replica {
  tree: PartitionTree;
  digests: Uint8Array;
}

function answerKeys(r: Replica, segOf: Uint16Array, msg: AeKeysMsg): AeReply {
  const page = new KeysPage(r.tree, msg);
  const wanted = new Uint8Array(r.tree.segments);
  for (const s of msg.segs) wanted[s] = 1;
  const start = page.after === undefined ? 0 : Number(page.after.slice(4)) + 1;
  for (let i = start; i < KEYS; i++) {
    if (wanted[segOf[i]!] === 0) continue; // the pre-filter stands in for the store's scan
    if (!page.offer(keyOf(i), () => r.digests.subarray(i * 8, i * 8 + 8))) break;
  }
  return page.reply();
}

export async function run(): Promise<Record<string, number>> {
  const local: Replica = { tree: new PartitionTree(), digests: digestsFor(1) };
  const remoteDigests = Uint8Array.from(local.digests);
  const step = Math.floor(KEYS / DIFFERING);
  for (let j = 0; j < DIFFERING; j++) {
    const at = (j * step + 7) * 8;
    remoteDigests[at] = remoteDigests[at]! ^ 0xff;
  }
  const remote: Replica = { tree: new PartitionTree(), digests: remoteDigests };

  const t0 = performance.now();
  for (let i = 0; i < KEYS; i++) local.tree.update(keyOf(i), undefined, local.digests.subarray(i * 8, i * 8 + 8));
  const buildMs = performance.now() - t0;
  for (let i = 0; i < KEYS; i++) remote.tree.update(keyOf(i), undefined, remote.digests.subarray(i * 8, i * 8 + 8));

  // Steady-state updates: change a digest (old -> new), the hot path of every write.
  const fresh = new Uint8Array(8);
  const UPDATES = 200_000;
  const t1 = performance.now();
  for (let i = 0; i < UPDATES; i++) {
    const k = (i * 7919) % KEYS;
    fresh[0] = i;
    local.tree.update(keyOf(k), local.digests.subarray(k * 8, k * 8 + 8), fresh);
    local.tree.update(keyOf(k), fresh, local.digests.subarray(k * 8, k * 8 + 8));
  }
  const updateMs = performance.now() - t1;

  const segOf = new Uint16Array(KEYS);
  for (let i = 0; i < KEYS; i++) segOf[i] = local.tree.segmentOf(keyOf(i));

  const t2 = performance.now();
  const ex = new Exchange(local.tree, 0);
  let s = ex.start();
  while (!s.done) {
    const side = s.to === 'peer' ? remote : local;
    s = ex.onReply(s.msg.t === 'ae_levels' ? answerLevels(side.tree, s.msg) : answerKeys(side, segOf, s.msg));
  }
  const exchangeMs = performance.now() - t2;
  if (s.keys.length !== DIFFERING || !s.complete) throw new Error(`exchange found ${s.keys.length} keys, complete=${String(s.complete)}`);

  return {
    'antientropy.tree build updates/s (1M keys)': Math.round(KEYS / (buildMs / 1000)),
    'antientropy.tree change updates/s': Math.round((2 * UPDATES) / (updateMs / 1000)),
    'antientropy.exchange 1M keys, 1000 differing: ms': Math.round(exchangeMs),
    'antientropy.exchange requests': s.requests,
    'antientropy.exchange segments differing': s.segmentsDiffering,
  };
}

// Run directly: node dist-bench/bench/antientropy.bench.js
if (typeof process !== 'undefined' && process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  run().then((r) => console.log(r));
}
