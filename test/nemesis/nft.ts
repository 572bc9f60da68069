/**
 * Partitions as nftables rules. A *grudge* says, for each node, which nodes it cannot
 * hear from (Jepsen's term); every entry becomes one drop rule on the input hook that
 * matches the (source, destination) address pair. Node processes bind their own
 * 127.0.0.x address and use it as the source of every peer connection, so a rule on an
 * address pair cuts exactly one direction of one node-to-node path. Client traffic is
 * untouched: a client connecting to 127.0.0.x from inside the namespace gets that same
 * address as its source (the kernel picks the destination's own local address), and no
 * rule matches saddr == daddr.
 *
 * Pure: builds the rule text; `nemesis.ts` hands it to `nft -f -`.
 */

export const NFT_TABLE = 'shoal_nemesis';

/** For each node index, the node indexes whose packets it drops. */
export type Grudge = ReadonlyMap<number, ReadonlySet<number>>;

/** A named partition shape over `count` nodes. */
export type PartitionShape = 'halves' | 'isolate' | 'bridge' | 'asymmetric';

function add(g: Map<number, Set<number>>, dst: number, src: number): void {
  if (dst === src) return;
  let s = g.get(dst);
  if (s === undefined) g.set(dst, (s = new Set()));
  s.add(src);
}

/** Two groups that cannot talk to each other, in both directions. */
export function splitGrudge(a: readonly number[], b: readonly number[]): Map<number, Set<number>> {
  const g = new Map<number, Set<number>>();
  for (const x of a) for (const y of b) {
    add(g, x, y);
    add(g, y, x);
  }
  return g;
}

/**
 * The grudge for a shape, rotated by `turn` so successive faults hit different nodes.
 * - halves: a minority of floor(count/2) nodes against the rest.
 * - isolate: one node cut from all others.
 * - bridge: two halves that cannot talk, and one node in the middle that talks to both
 *   (Jepsen's bridge: everyone sees a majority, no two majorities agree).
 * - asymmetric: one node hears nobody, but everyone still hears it (one-way cuts).
 */
export function grudgeFor(shape: PartitionShape, count: number, turn: number): Map<number, Set<number>> {
  const order = Array.from({ length: count }, (_, i) => (i + turn) % count);
  switch (shape) {
    case 'halves': {
      const k = Math.floor(count / 2);
      return splitGrudge(order.slice(0, k), order.slice(k));
    }
    case 'isolate':
      return splitGrudge(order.slice(0, 1), order.slice(1));
    case 'bridge': {
      const mid = Math.floor(count / 2);
      return splitGrudge(order.slice(0, mid), order.slice(mid + 1));
    }
    case 'asymmetric': {
      const g = new Map<number, Set<number>>();
      const victim = order[0]!;
      for (const other of order.slice(1)) add(g, victim, other);
      return g;
    }
  }
}

/**
 * Connected sides of a symmetric-enough grudge, for availability figures: each node maps
 * to 'majority' when it can hear (directly) a majority of the cluster including itself,
 * else 'minority'.
 */
export function sidesOf(grudge: Grudge, count: number): Map<number, 'majority' | 'minority'> {
  const out = new Map<number, 'majority' | 'minority'>();
  for (let i = 0; i < count; i++) {
    const deaf = grudge.get(i)?.size ?? 0;
    out.set(i, count - deaf > count / 2 ? 'majority' : 'minority');
  }
  return out;
}

/** The whole ruleset: our table recreated from scratch, then one drop rule per grudge entry. */
export function nftScript(grudge: Grudge, addressOf: (i: number) => string): string {
  const lines = [
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    `  chain input {`,
    `    type filter hook input priority 0; policy accept;`,
  ];
  const dsts = [...grudge.keys()].sort((a, b) => a - b);
  for (const dst of dsts) {
    for (const src of [...grudge.get(dst)!].sort((a, b) => a - b)) {
      lines.push(`    ip saddr ${addressOf(src)} ip daddr ${addressOf(dst)} drop`);
    }
  }
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}

/** Describes a grudge in one line for the history: "1>0 2>0" means 0 drops from 1 and 2. */
export function describeGrudge(grudge: Grudge): string {
  const parts: string[] = [];
  for (const dst of [...grudge.keys()].sort((a, b) => a - b)) for (const src of [...grudge.get(dst)!].sort((a, b) => a - b)) parts.push(`${src}>${dst}`);
  return parts.join(' ');
}
