/**
 * One nemesis run: start the cluster, run the set workload while the schedule injects
 * faults, heal everything, measure convergence, read the final sets and check them.
 * Runs inside a private network namespace (scripts/nemesis.mjs puts it there).
 */
import { createWriteStream, mkdirSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { checkSet, decodeSibling, type FinalRead, type HistoryOp, type SetCheck } from './checker.js';
import { fetchWithin, NemesisCluster, sleep, waitFor } from './cluster.js';
import { describeGrudge, grudgeFor, sidesOf, type PartitionShape } from './nft.js';

export type FaultName = PartitionShape | 'kill' | 'restart' | 'pause' | 'clock';
export const ALL_FAULTS: readonly FaultName[] = ['halves', 'kill', 'restart', 'isolate', 'pause', 'bridge', 'asymmetric', 'clock'];

export interface RunOptions {
  root: string;
  out: string;
  nodes: number;
  port: number;
  clients: number;
  keys: number;
  durationS: number;
  faultMs: number;
  restMs: number;
  thinkMs: number;
  seed: number;
  convergenceBoundS: number;
  faults: readonly FaultName[];
  clockOffsetMs: number;
  /** Nodes run with `--sync` (the value log as the write-ahead log, replayed at each restart). */
  sync?: boolean;
}

export interface RunSummary {
  pass: boolean;
  seed: number;
  options: Omit<RunOptions, 'root' | 'out'>;
  historyFile: string;
  startupMs: number;
  faults: Array<{ fault: string; detail: string; atS: number }>;
  check: Omit<SetCheck, 'lost' | 'unexpected' | 'duplicates'> & { lostCount: number; unexpectedCount: number; duplicateCount: number; lost: SetCheck['lost']; unexpected: SetCheck['unexpected']; duplicates: SetCheck['duplicates'] };
  convergence: { converged: boolean; seconds: number | null; boundSeconds: number };
  finalElements: number;
  /** The SDK workers' gets: answered by direct reads, or by a coordinator after a direct try. */
  sdk: { directReads: number; directFallbacks: number };
  reasons: string[];
}

/** mulberry32: a small seeded generator, so a run's choices replay from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class History {
  private readonly stream: WriteStream;
  readonly ops: HistoryOp[] = [];
  constructor(readonly file: string, private readonly t0: number) {
    this.stream = createWriteStream(file);
  }
  now(): number {
    return Date.now() - this.t0;
  }
  add(op: Omit<HistoryOp, 'time'>): void {
    const full: HistoryOp = { ...op, time: this.now() };
    this.ops.push(full);
    this.stream.write(JSON.stringify(full) + '\n');
  }
  async close(): Promise<void> {
    await new Promise<void>((r) => this.stream.end(() => r()));
  }
}

/** What the nemesis currently does, for tagging client ops with their side. */
interface FaultState {
  name: string;
  side: Map<number, string>;
}

const REQUEST_TIMEOUT_MS = 1_500;
const FETCH_DEADLINE_MS = 3_000;

function kvUrl(base: string, key: string, query: string): string {
  return `${base}/v1/kv/${encodeURIComponent(key)}?${query}`;
}

/** What a read gave a worker: the context to write back and the elements seen, or why it failed. */
type ReadOutcome = { ok: true; context: string | undefined; elements: number[] } | { ok: false; error: string };
/** A write's outcome as the checker counts it: done, failed before it could apply, or unknown. */
type WriteOutcome = { type: 'ok' } | { type: 'fail' | 'info'; error: string };

/** How a worker talks to the cluster: HTTP to the node it is bound to, or the SDK. */
interface KvPath {
  read(key: string): Promise<ReadOutcome>;
  write(key: string, body: string, context: string | undefined): Promise<WriteOutcome>;
}

/** HTTP against one node, which coordinates every request. */
function httpPath(base: string): KvPath {
  return {
    async read(key) {
      try {
        const res = await fetchWithin(kvUrl(base, key, `timeout_ms=${REQUEST_TIMEOUT_MS}`), { headers: { Accept: 'application/json' } }, FETCH_DEADLINE_MS);
        if (res.status === 200) {
          const body = (await res.json()) as { values: string[]; context: string };
          return { ok: true, context: body.context, elements: body.values.flatMap(decodeSibling) };
        }
        if (res.status === 404) {
          await res.arrayBuffer();
          return { ok: true, context: res.headers.get('x-shoal-context') ?? undefined, elements: [] };
        }
        return { ok: false, error: `get ${res.status} ${(await res.text()).slice(0, 120)}` };
      } catch (err) {
        return { ok: false, error: `get ${(err as Error).name}: ${(err as Error).message}`.slice(0, 160) };
      }
    },
    async write(key, body, context) {
      try {
        const res = await fetchWithin(
          kvUrl(base, key, `timeout_ms=${REQUEST_TIMEOUT_MS}`),
          { method: 'PUT', body, headers: context ? { 'X-Shoal-Context': context } : {} },
          FETCH_DEADLINE_MS,
        );
        const text = await res.text();
        if (res.status === 204) return { type: 'ok' };
        return { type: res.status >= 500 ? 'info' : 'fail', error: `put ${res.status} ${text.slice(0, 120)}` };
      } catch (err) {
        // The request may have reached the node: indeterminate.
        return { type: 'info', error: `put ${(err as Error).name}: ${(err as Error).message}`.slice(0, 160) };
      }
    },
  };
}

/** The parts of the SDK (dist/client/node.js) the workers use. */
interface SdkClient {
  get(key: string): Promise<{ values: Uint8Array[]; context: string | null }>;
  put(key: string, value: string, options: { context?: string }): Promise<unknown>;
  stats(): { directReads: number; directFallbacks: number };
  close(): Promise<void>;
}
type SdkConnect = (options: { endpoints: string[]; timeoutMs: number; connectTimeoutMs: number }) => Promise<SdkClient>;

/**
 * The SDK, connected to every node and routing by the ring: its gets are direct reads of
 * R owners (falling back to a coordinator), so faults reach that path too. Only errors the
 * server gave before doing anything (bad input) count as failed writes; anything else may
 * have landed.
 */
function sdkPath(client: SdkClient): KvPath {
  const sent = (err: unknown): string => `${(err as { code?: string }).code ?? (err as Error).name}: ${(err as Error).message}`.slice(0, 160);
  return {
    async read(key) {
      try {
        const got = await client.get(key);
        return { ok: true, context: got.context ?? undefined, elements: got.values.flatMap((v) => decodeSibling(Buffer.from(v).toString('base64'))) };
      } catch (err) {
        return { ok: false, error: `get ${sent(err)}` };
      }
    },
    async write(key, body, context) {
      try {
        await client.put(key, body, context === undefined ? {} : { context });
        return { type: 'ok' };
      } catch (err) {
        const code = (err as { code?: string }).code;
        return { type: code === 'BAD_REQUEST' || code === 'TOO_LARGE' ? 'fail' : 'info', error: `put ${sent(err)}` };
      }
    },
  };
}

/** One client: read-modify-write adds of unique elements, through `path`. */
async function client(
  p: number,
  node: number,
  path: KvPath,
  keys: string[],
  nextElement: () => number,
  rnd: () => number,
  history: History,
  fault: () => FaultState,
  stopAt: number,
  thinkMs: number,
): Promise<void> {
  while (Date.now() < stopAt) {
    const key = keys[Math.floor(rnd() * keys.length)]!;
    const element = nextElement();
    const f = fault();
    const tag = { node, fault: f.name, side: f.side.get(node) ?? 'none' };
    history.add({ process: p, type: 'invoke', f: 'add', value: { key, element }, ...tag });
    const done = (type: 'ok' | 'fail' | 'info', error?: string): void =>
      history.add({ process: p, type, f: 'add', value: { key, element }, ...tag, ...(error ? { error } : {}) });
    // Read: any failure here means the PUT was never sent, so the add definitely did not happen.
    const read = await path.read(key);
    if (!read.ok) {
      done('fail', read.error);
      await sleep(thinkMs);
      continue;
    }
    const current = new Set<number>();
    for (const el of read.elements) if (Number.isInteger(el)) current.add(el);
    current.add(element);
    const wrote = await path.write(key, JSON.stringify([...current].sort((a, b) => a - b)), read.context);
    if (wrote.type === 'ok') done('ok');
    else done(wrote.type, wrote.error);
    await sleep(thinkMs);
  }
}

/** The nemesis: cycles through the faults, `faultMs` on and `restMs` healed, until stopAt. */
async function nemesis(
  cluster: NemesisCluster,
  opts: RunOptions,
  rnd: () => number,
  history: History,
  setFault: (f: FaultState) => void,
  stopAt: number,
  log: RunSummary['faults'],
  t0: number,
): Promise<void> {
  const count = cluster.nodes.length;
  let turn = 0;
  let clockSign = 1;
  const none = (): FaultState => ({ name: 'none', side: new Map() });
  while (Date.now() + opts.faultMs <= stopAt) {
    await sleep(opts.restMs);
    if (Date.now() + opts.faultMs > stopAt) break;
    const fault = opts.faults[turn % opts.faults.length]!;
    const rot = Math.floor(rnd() * count);
    const victim = rot;
    let detail = '';
    let undo: () => Promise<void> = async () => undefined;
    const side = new Map<number, string>();
    switch (fault) {
      case 'halves':
      case 'isolate':
      case 'bridge':
      case 'asymmetric': {
        const g = grudgeFor(fault, count, rot);
        cluster.partition(g);
        detail = describeGrudge(g);
        for (const [i, s] of sidesOf(g, count)) side.set(i, s);
        undo = async () => cluster.heal();
        break;
      }
      case 'kill':
        await cluster.kill9(victim);
        detail = `kill -9 ${cluster.nodes[victim]!.id}`;
        for (let i = 0; i < count; i++) side.set(i, i === victim ? 'killed' : 'majority');
        undo = async () => {
          cluster.spawn(victim, cluster.nodes[victim]!.clockOffsetMs);
          await cluster.waitHealthy(victim, 30_000);
        };
        break;
      case 'restart':
        // A clean stop (SIGTERM, as an operator's restart): the node drains and saves what
        // it keeps across restarts (anti-entropy trees, actor memory), then comes back.
        await cluster.stop(victim, 15_000);
        detail = `SIGTERM ${cluster.nodes[victim]!.id}`;
        for (let i = 0; i < count; i++) side.set(i, i === victim ? 'stopped' : 'majority');
        undo = async () => {
          cluster.spawn(victim, cluster.nodes[victim]!.clockOffsetMs);
          await cluster.waitHealthy(victim, 30_000);
        };
        break;
      case 'pause':
        cluster.pause(victim);
        detail = `SIGSTOP ${cluster.nodes[victim]!.id}`;
        for (let i = 0; i < count; i++) side.set(i, i === victim ? 'paused' : 'majority');
        undo = async () => cluster.resume(victim);
        break;
      case 'clock': {
        const offset = clockSign * opts.clockOffsetMs;
        clockSign = -clockSign;
        await cluster.kill9(victim);
        cluster.spawn(victim, offset);
        detail = `kill -9 and restart ${cluster.nodes[victim]!.id} with --clock-offset-ms ${offset}`;
        for (let i = 0; i < count; i++) side.set(i, i === victim ? 'skewed' : 'majority');
        undo = async () => {
          await cluster.waitHealthy(victim, 30_000);
        };
        break;
      }
    }
    turn += 1;
    log.push({ fault, detail, atS: Math.round((Date.now() - t0) / 100) / 10 });
    history.add({ process: 'nemesis', type: 'info', f: 'start', value: { fault, detail } });
    setFault({ name: fault, side });
    await sleep(opts.faultMs);
    try {
      await undo();
    } catch (err) {
      // A node that cannot come back is left to the final heal, which restarts it; the run goes on.
      history.add({ process: 'nemesis', type: 'fail', f: 'stop', value: { fault, detail }, error: (err as Error).message.slice(0, 300) });
    }
    setFault(none());
    history.add({ process: 'nemesis', type: 'info', f: 'stop', value: { fault, detail } });
  }
}

interface LocalCopy {
  values: string[];
  tombstone: boolean;
}

async function localCopy(url: string, key: string): Promise<LocalCopy | undefined> {
  const res = await fetchWithin(`${url}/v1/local/${encodeURIComponent(key)}`, {}, 2_000);
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (res.status !== 200) throw new Error(`local ${res.status}`);
  return (await res.json()) as LocalCopy;
}

/** The primaries of a key, from the node's own explanation of it. */
async function primariesOf(url: string, key: string): Promise<string[]> {
  const res = await fetchWithin(`${url}/v1/explain/${encodeURIComponent(key)}`, {}, 5_000);
  const body = (await res.json()) as { preferenceList: Array<{ node: string; role: string }> };
  return body.preferenceList.filter((p) => p.role === 'primary').map((p) => p.node);
}

/**
 * '' when every primary of every key holds the same versions and no node has hints
 * pending; otherwise what still differs (recorded in the history, to see what convergence waits on).
 */
async function disagreement(cluster: NemesisCluster, keys: string[], primaries: Map<string, string[]>): Promise<string> {
  const why: string[] = [];
  for (const n of cluster.nodes) {
    const s = (await (await fetchWithin(`${n.url}/v1/status`, {}, 2_000)).json()) as { hints?: { pending?: number }; members?: Array<{ id: string; status: string }> };
    if ((s.hints?.pending ?? 0) !== 0) why.push(`node ${n.index} holds ${s.hints?.pending} hints`);
    const notUp = (s.members ?? []).filter((m) => m.status !== 'up').map((m) => `${m.id} ${m.status}`);
    if (notUp.length > 0) why.push(`node ${n.index} sees ${notUp.join(', ')}`);
  }
  for (const key of keys) {
    const copies = new Map<string, number>();
    for (const id of primaries.get(key) ?? []) {
      const node = cluster.nodes.find((m) => m.id === id);
      const copy = node === undefined ? undefined : await localCopy(node.url, key);
      const canon = copy === undefined ? 'none' : JSON.stringify({ v: [...copy.values].sort(), t: copy.tombstone });
      copies.set(canon, (copies.get(canon) ?? 0) + 1);
    }
    if (copies.size !== 1 || copies.has('none')) why.push(`${key}: ${copies.size} different copies on its primaries`);
  }
  // Members not up do not block agreement by themselves; they only explain a wait.
  return why.some((w) => !w.includes(' sees ')) ? why.join('; ') : '';
}

export async function runNemesis(opts: RunOptions, say: (line: string) => void): Promise<RunSummary> {
  mkdirSync(opts.out, { recursive: true });
  // Data left by an earlier run in the same directory would show up as unexpected elements.
  rmSync(join(opts.out, 'cluster'), { recursive: true, force: true });
  const t0 = Date.now();
  const history = new History(join(opts.out, 'history.jsonl'), t0);
  const cluster = new NemesisCluster({
    count: opts.nodes,
    port: opts.port,
    dir: join(opts.out, 'cluster'),
    shoalBin: join(opts.root, 'bin', 'shoal'),
    root: opts.root,
    extraArgs: opts.sync === true ? ['--sync'] : [],
  });
  const stopCluster = (): void => {
    void cluster.destroy().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopCluster);
  process.once('SIGTERM', stopCluster);
  const rnd = seeded(opts.seed);
  let sdk: SdkClient | undefined;
  const faults: RunSummary['faults'] = [];
  const reasons: string[] = [];
  try {
    await cluster.startAll(30_000);
    await cluster.waitSettled(60_000);
    const startupMs = Date.now() - t0;
    say(`cluster of ${opts.nodes} up and settled in ${(startupMs / 1000).toFixed(1)} s; workload for ${opts.durationS} s (seed ${opts.seed})`);

    const keys = Array.from({ length: opts.keys }, (_, i) => `set-${i}`);
    let next = 0;
    let fault: { name: string; side: Map<number, string> } = { name: 'none', side: new Map() };
    const stopAt = Date.now() + opts.durationS * 1000;
    // Every other worker goes through the SDK (direct reads, routing), the rest through
    // HTTP to the node they are bound to: both paths meet every fault.
    const { connect } = (await import(join(opts.root, 'dist', 'client', 'node.js'))) as { connect: SdkConnect };
    const endpoints = cluster.nodes.map((n) => n.url.replace(/^http:\/\//, ''));
    sdk = await connect({ endpoints, timeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: 10_000 });
    const viaSdk = sdkPath(sdk);
    const clients = Array.from({ length: opts.clients }, (_, p) =>
      client(p, p % opts.nodes, p % 2 === 1 ? viaSdk : httpPath(cluster.nodes[p % opts.nodes]!.url), keys, () => next++, seeded(opts.seed * 7919 + p), history, () => fault, stopAt, opts.thinkMs),
    );
    const nem = nemesis(cluster, opts, rnd, history, (f) => (fault = f), stopAt, faults, t0);
    await Promise.all([...clients, nem]);

    // Heal everything: network, pauses, dead processes (clock offsets stay as they are).
    cluster.heal();
    for (const n of cluster.nodes) {
      cluster.resume(n.index);
      if (!cluster.isRunning(n.index)) cluster.spawn(n.index, n.clockOffsetMs);
    }
    const healAt = Date.now();
    history.add({ process: 'nemesis', type: 'info', f: 'heal', value: 'all faults healed' });
    const sdkStats = sdk.stats();
    say(
      `workload done: ${next} adds invoked (SDK gets: ${sdkStats.directReads} direct, ${sdkStats.directFallbacks} through a coordinator after a direct try); ` +
        `healed, waiting for convergence (bound ${opts.convergenceBoundS} s)`,
    );
    await Promise.all(cluster.nodes.map((n) => cluster.waitHealthy(n.index, 30_000)));

    const primaries = new Map<string, string[]>();
    for (const key of keys) primaries.set(key, await waitFor(`primaries of ${key}`, () => primariesOf(cluster.nodes[0]!.url, key), 10_000));
    // Converged: agreement on two polls in a row, timed from the first of them.
    let convergedAt: number | undefined;
    let candidate: number | undefined;
    let lastWhy = '-';
    const deadline = healAt + opts.convergenceBoundS * 1000;
    while (Date.now() < deadline + 1_000) {
      const at = Date.now();
      let ok = false;
      let why: string;
      try {
        why = await disagreement(cluster, keys, primaries);
        ok = why === '';
      } catch (err) {
        why = `poll failed: ${(err as Error).message}`;
      }
      if (why !== lastWhy) history.add({ process: 'nemesis', type: 'info', f: 'converge', value: why === '' ? 'agreed' : why });
      lastWhy = why;
      if (ok && candidate !== undefined) {
        convergedAt = candidate;
        break;
      }
      candidate = ok ? at : undefined;
      await sleep(500);
    }
    const seconds = convergedAt === undefined ? null : Math.round((convergedAt - healAt) / 100) / 10;
    const converged = seconds !== null && seconds <= opts.convergenceBoundS;
    if (!converged) reasons.push(`replicas did not agree within ${opts.convergenceBoundS} s of the heal`);

    // Final reads: a quorum read with r=all through node 0, plus every primary's local copy.
    const finals: FinalRead[] = [];
    for (const key of keys) {
      const read = await waitFor(`final read of ${key}`, async () => {
        const res = await fetchWithin(kvUrl(cluster.nodes[0]!.url, key, 'r=all&timeout_ms=5000'), { headers: { Accept: 'application/json' } }, 8_000);
        if (res.status === 404) return { values: [] as string[] };
        if (res.status !== 200) return false;
        return (await res.json()) as { values: string[] };
      }, 30_000, 500);
      finals.push({ key, siblings: read.values.map(decodeSibling) });
      history.add({ process: 'nemesis', type: 'ok', f: 'read', value: { key, siblings: read.values.length, elements: new Set(read.values.flatMap(decodeSibling)).size } });
      for (const id of primaries.get(key) ?? []) {
        const node = cluster.nodes.find((m) => m.id === id)!;
        const copy = await localCopy(node.url, key).catch(() => undefined);
        if (copy !== undefined) finals.push({ key, siblings: copy.values.map(decodeSibling) });
      }
    }
    const check = checkSet(history.ops, finals);
    if (check.lost.length > 0) reasons.push(`${check.lost.length} acknowledged adds lost`);
    if (check.unexpected.length > 0) reasons.push(`${check.unexpected.length} unexpected elements`);
    if (check.duplicates.length > 0) reasons.push(`${check.duplicates.length} duplicates`);
    if (check.recoveredFailed > 0) reasons.push(`${check.recoveredFailed} adds that failed before their PUT are present`);
    reasons.push(...check.problems);
    const finalElements = new Set(finals.flatMap((f) => f.siblings.flat())).size;
    const { lost, unexpected, duplicates, ...rest } = check;
    const { root: _root, out: _out, ...shown } = opts;
    return {
      pass: reasons.length === 0,
      seed: opts.seed,
      options: shown,
      historyFile: history.file,
      startupMs,
      faults,
      check: { ...rest, lostCount: lost.length, unexpectedCount: unexpected.length, duplicateCount: duplicates.length, lost: lost.slice(0, 50), unexpected: unexpected.slice(0, 50), duplicates: duplicates.slice(0, 50) },
      convergence: { converged, seconds, boundSeconds: opts.convergenceBoundS },
      finalElements,
      sdk: sdkStats,
      reasons,
    };
  } finally {
    await sdk?.close().catch(() => undefined);
    await history.close();
    await cluster.stopAll(5_000);
    process.off('SIGINT', stopCluster);
    process.off('SIGTERM', stopCluster);
  }
}

export function writeSummary(out: string, summary: RunSummary): string {
  const file = join(out, 'summary.json');
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
  return file;
}
