/**
 * A 3-node Shoal cluster for the growth benchmark whose nodes can be stopped and started
 * one at a time on the same ports and data directories (node ids are HOST:PORT, so the
 * ports are kept in the data root and reused by `--data` reruns), plus readers of a
 * node's memory (/proc and /metrics) and anti-entropy status.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, launch, stop, waitFor } from './procs.js';

export interface MemoryOf {
  /** VmRSS: what "resident" means in the issue (anonymous + file-backed + shared memory). */
  rssMb: number;
  /** RssAnon: the process's own heap, stacks and malloc arenas (V8 and LevelDB). */
  anonMb: number;
  /** RssFile: pages of mapped files (LevelDB maps its table files) and of loaded code. */
  fileMb: number;
  /** V8 heap in use and external (Buffers) memory, from the node's /metrics. */
  heapUsedMb: number;
  /** V8 heap committed (what the heap holds of RssAnon, live or not yet collected). */
  heapTotalMb: number;
  externalMb: number;
}

export interface AeStatus {
  /** Partitions listed with a ready tree / partitions listed. */
  ready: number;
  listed: number;
  /** Keys in this node's trees (the sum over partitions). */
  keys: number;
  keysRepaired: number;
}

export class GrowthCluster {
  readonly procs: Array<ChildProcess | undefined> = [];
  private constructor(
    readonly root: string,
    readonly entry: string,
    readonly ports: number[],
  ) {}

  /** Opens (or creates) the cluster's root; ports are chosen once and kept in `ports.json`. */
  static async at(root: string, entry: string, nodes = 3): Promise<GrowthCluster> {
    mkdirSync(root, { recursive: true });
    const portsFile = join(root, 'ports.json');
    let ports: number[];
    if (existsSync(portsFile)) ports = JSON.parse(readFileSync(portsFile, 'utf8')) as number[];
    else {
      ports = [];
      for (let i = 0; i < nodes; i++) ports.push(await freePort());
      writeFileSync(portsFile, JSON.stringify(ports));
    }
    const secret = join(root, 'secret');
    if (!existsSync(secret)) writeFileSync(secret, 'bench-secret-0123456789abcdef');
    return new GrowthCluster(root, entry, ports);
  }

  get endpoints(): string[] {
    return this.ports.map((p) => `127.0.0.1:${p}`);
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.ports[i]}`;
  }

  dataDir(i: number): string {
    return join(this.root, `node${i}`);
  }

  /** Starts node i (node 0 founds the cluster, the others join through it) and waits until it is healthy. */
  async start(i: number, o: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<void> {
    const args = [...(o.nodeArgs ?? []), this.entry, 'start', '--port', String(this.ports[i]), '--data', this.dataDir(i), '--secret-file', join(this.root, 'secret'), '--n', '3', '--r', '2', '--w', '2'];
    if (i > 0) args.push('--seeds', `127.0.0.1:${this.ports[0]}`);
    this.procs[i] = launch(process.execPath, args, join(this.root, `node${i}.log`), { SHOAL_LOG_LEVEL: 'info', ...o.env });
    await waitFor(`node ${i} healthy`, async () => (await fetch(`${this.url(i)}/v1/health`)).status === 200, 120_000);
  }

  async startAll(): Promise<void> {
    for (let i = 0; i < this.ports.length; i++) await this.start(i);
    await waitFor(
      'members up and ring agreed',
      async () => {
        const rings = new Set<string>();
        for (let i = 0; i < this.ports.length; i++) {
          const s = (await (await fetch(`${this.url(i)}/v1/status`)).json()) as { members: Array<{ status: string }> };
          if (s.members.length !== this.ports.length || s.members.some((m) => m.status !== 'up')) return false;
          rings.add(JSON.stringify(await (await fetch(`${this.url(i)}/v1/ring`)).json()));
        }
        return rings.size === 1 && ![...rings][0]!.includes('"partitions":[]');
      },
      120_000,
    );
  }

  async stop(i: number): Promise<void> {
    const p = this.procs[i];
    this.procs[i] = undefined;
    if (p !== undefined) await stop(p, 60_000);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.ports.map((_, i) => this.stop(i)));
  }

  cpu(i: number): number {
    return cpuSeconds(this.procs[i]?.pid);
  }

  memory(i: number): Promise<MemoryOf> {
    return memoryOf(this.procs[i]?.pid, this.url(i));
  }

  /** Waits until every partition's anti-entropy tree on node i is built; returns the status. */
  async treesReady(i: number, timeoutMs: number, onPoll?: () => Promise<void>): Promise<AeStatus> {
    let ae: AeStatus | undefined;
    await waitFor(
      `node ${i}'s trees rebuilt`,
      async () => {
        await onPoll?.();
        ae = await this.ae(i);
        return ae.listed > 0 && ae.ready === ae.listed;
      },
      timeoutMs,
    );
    return ae!;
  }

  async ae(i: number): Promise<AeStatus> {
    const s = (await (await fetch(`${this.url(i)}/v1/status`)).json()) as {
      antiEntropy?: { keysRepaired: number; partitions: Array<{ treeReady: boolean; keys: number }> };
    };
    const parts = s.antiEntropy?.partitions ?? [];
    return {
      ready: parts.filter((p) => p.treeReady).length,
      listed: parts.length,
      keys: parts.reduce((a, p) => a + p.keys, 0),
      keysRepaired: s.antiEntropy?.keysRepaired ?? 0,
    };
  }
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat; NaN when gone. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    if (pid === undefined) return NaN;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function statusKb(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

export async function memoryOf(pid: number | undefined, url: string): Promise<MemoryOf> {
  let status = '';
  try {
    if (pid !== undefined) status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    /* gone */
  }
  let metrics = '';
  try {
    metrics = await (await fetch(`${url}/metrics`)).text();
  } catch {
    /* not answering */
  }
  const mb = (kb: number) => kb / 1024;
  return {
    rssMb: mb(statusKb(status, 'VmRSS')),
    anonMb: mb(statusKb(status, 'RssAnon')),
    fileMb: mb(statusKb(status, 'RssFile')),
    heapUsedMb: metric(metrics, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    heapTotalMb: metric(metrics, 'nodejs_heap_size_total_bytes') / 2 ** 20,
    externalMb: metric(metrics, 'nodejs_external_memory_bytes') / 2 ** 20,
  };
}
