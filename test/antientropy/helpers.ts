// Shared helpers: random key→digest maps, and a loop that runs an Exchange between two trees.
import fc from 'fast-check';
import {
  answerLevels,
  compareKeys,
  Exchange,
  KeysPage,
  PartitionTree,
  type AeReply,
  type AeRequest,
  type ExchangeOptions,
  type ExchangeResult,
  type TreeShape,
} from '../../src/antientropy/index.js';

export type KeyMap = Map<string, Uint8Array>;

export function digestOf(n: number): Uint8Array {
  const d = new Uint8Array(8);
  new DataView(d.buffer).setUint32(4, n >>> 0);
  new DataView(d.buffer).setUint32(0, (n * 2654435761) >>> 0);
  return d;
}

/** Keys: short ASCII mostly (so maps overlap), sometimes any Unicode (to exercise key order). */
export const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), minLength: 1, maxLength: 5 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }) },
);
export const digestArb = fc.uint8Array({ minLength: 8, maxLength: 8 });

export function treeOf(map: KeyMap, shape: Partial<TreeShape>): PartitionTree {
  return PartitionTree.build(map.entries(), shape);
}

/** Answers an ae_keys request from a key map the way the node answers it from its store: a scan in key order from `after`. */
export function answerKeys(tree: PartitionTree, map: KeyMap, msg: Extract<AeRequest, { t: 'ae_keys' }>, limit?: number): AeReply {
  const page = new KeysPage(tree, msg, limit);
  const keys = [...map.keys()].sort(compareKeys);
  for (const k of keys) {
    if (page.after !== undefined && compareKeys(k, page.after) <= 0) continue;
    if (!page.offer(k, () => map.get(k)!)) break;
  }
  return page.reply();
}

export interface Side {
  tree: PartitionTree;
  map: KeyMap;
}

/** Runs one exchange between `local` and `remote` to its end; counts the requests sent to each side. */
export function runExchange(
  local: Side,
  remote: Side,
  options: ExchangeOptions & { pageLimit?: number } = {},
): ExchangeResult & { peerRequests: number; selfRequests: number } {
  const ex = new Exchange(local.tree, 7, options);
  let step = ex.start();
  let peerRequests = 0;
  let selfRequests = 0;
  for (let guard = 0; !step.done; guard++) {
    if (guard > 1_000_000) throw new Error('exchange does not end');
    const side = step.to === 'peer' ? remote : local;
    if (step.to === 'peer') peerRequests++;
    else selfRequests++;
    const msg = step.msg;
    let reply: AeReply;
    try {
      reply = msg.t === 'ae_levels' ? answerLevels(side.tree, msg) : answerKeys(side.tree, side.map, msg, options.pageLimit);
    } catch (err) {
      const e = err as { code: string; message: string };
      reply = { t: 'err', code: e.code, msg: e.message };
    }
    step = ex.onReply(reply);
  }
  return { ...step, peerRequests, selfRequests };
}

/** Keys whose digests differ between the maps, or that one map lacks. */
export function expectedDiff(a: KeyMap, b: KeyMap): string[] {
  const out = new Set<string>();
  for (const [k, d] of a) {
    const e = b.get(k);
    if (e === undefined || !Buffer.from(e).equals(Buffer.from(d))) out.add(k);
  }
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return [...out].sort(compareKeys);
}

/** Two maps with a random shared part and random differences. */
export const mapPairArb = fc
  .record({
    shared: fc.dictionary(keyArb, digestArb, { maxKeys: 120 }),
    onlyA: fc.dictionary(keyArb, digestArb, { maxKeys: 20 }),
    onlyB: fc.dictionary(keyArb, digestArb, { maxKeys: 20 }),
    changed: fc.array(fc.tuple(fc.nat(), digestArb), { maxLength: 20 }),
  })
  .map(({ shared, onlyA, onlyB, changed }) => {
    const a: KeyMap = new Map(Object.entries(shared));
    const b: KeyMap = new Map(Object.entries(shared));
    for (const [k, d] of Object.entries(onlyA)) a.set(k, d);
    for (const [k, d] of Object.entries(onlyB)) if (!a.has(k)) b.set(k, d);
    const sharedKeys = Object.keys(shared);
    if (sharedKeys.length > 0) for (const [i, d] of changed) b.set(sharedKeys[i % sharedKeys.length]!, d);
    return { a, b };
  });

export const shapeArb = fc.constantFrom<Partial<TreeShape>>(
  { segments: 1, fanout: 2 },
  { segments: 2, fanout: 2 },
  { segments: 16, fanout: 4 },
  { segments: 32, fanout: 4 },
  { segments: 64, fanout: 8 },
  { segments: 1024, fanout: 32 },
);
