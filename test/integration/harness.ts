/**
 * Real-process cluster harness for integration tests: starts `bin/shoal start` processes
 * on random free loopback ports with temporary data directories, waits on health and
 * membership by polling with deadlines, and cleans everything up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SHOAL = join(ROOT, 'bin', 'shoal');

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface NodeProc {
  id: string;
  host: string;
  port: number;
  dataDir: string;
  args: string[];
  proc: ChildProcess | undefined;
  logs: string[];
  url: string;
}

export interface ClusterOptions {
  nodes: number;
  secret?: string;
  extraArgs?: string[];
  host?: string;
  /** Environment added to every node's (on top of this process's). */
  env?: Record<string, string>;
  /** Flags for node itself, before bin/shoal. */
  nodeArgs?: string[];
}

export class Cluster {
  readonly dir: string;
  readonly nodes: NodeProc[] = [];
  readonly secretFile: string;

  constructor(private readonly options: ClusterOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'shoal-it-'));
    this.secretFile = join(this.dir, 'secret');
    writeFileSync(this.secretFile, options.secret ?? 'integration-test-secret-0123456789');
  }

  async start(): Promise<void> {
    await this.startSome(this.options.nodes);
  }

  /** Prepares all nodes but spawns only the first `count` (the rest can join later with spawn(i)). */
  async startSome(count: number): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    const ports: number[] = [];
    for (let i = 0; i < this.options.nodes; i++) ports.push(await freePort(host));
    const seed = `${host}:${ports[0]}`;
    for (let i = 0; i < this.options.nodes; i++) {
      const port = ports[i]!;
      const id = `${host}:${port}`;
      const dataDir = join(this.dir, `node${i}`);
      const args = ['start', '--host', host, '--port', String(port), '--data', dataDir, '--secret-file', this.secretFile, ...(i > 0 ? ['--seeds', seed] : []), ...(this.options.extraArgs ?? [])];
      this.nodes.push({ id, host, port, dataDir, args, proc: undefined, logs: [], url: `http://${host}:${port}` });
    }
    for (let i = 0; i < count; i++) this.spawn(i);
    await Promise.all(this.nodes.slice(0, count).map((_, i) => this.waitHealthy(i)));
  }

  spawn(i: number, extra: string[] = [], env: Record<string, string> = {}): void {
    const n = this.nodes[i]!;
    const proc = spawn(process.execPath, [...(this.options.nodeArgs ?? []), SHOAL, ...n.args, ...extra], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SHOAL_LOG_LEVEL: 'info', ...this.options.env, ...env },
    });
    n.proc = proc;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) n.logs.push(line);
      if (n.logs.length > 5000) n.logs.splice(0, n.logs.length - 5000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  async waitHealthy(i: number, timeoutMs = 20_000): Promise<void> {
    const n = this.nodes[i]!;
    await waitFor(`${n.id} healthy`, async () => {
      if (n.proc && n.proc.exitCode !== null) throw new Error(`${n.id} exited with ${n.proc.exitCode}: ${n.logs.slice(-5).join('\n')}`);
      const res = await fetch(`${n.url}/v1/health`).catch(() => undefined);
      return res?.status === 200;
    }, timeoutMs);
  }

  /** Waits until node i sees every node with the given statuses. */
  async waitMembers(i: number, expect: Record<string, string>, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${this.nodes[i]!.id} to see ${JSON.stringify(expect)}`, async () => {
      const s = (await (await fetch(`${this.nodes[i]!.url}/v1/status`)).json()) as { members: Array<{ id: string; status: string }> };
      return Object.entries(expect).every(([id, st]) => s.members.some((m) => m.id === id && m.status === st));
    }, timeoutMs);
  }

  async waitConverged(which?: number[], timeoutMs = 20_000): Promise<void> {
    const idx = which ?? this.nodes.map((_, i) => i);
    const all = Object.fromEntries(idx.map((i) => [this.nodes[i]!.id, 'up']));
    for (const i of idx) if (this.isRunning(i)) await this.waitMembers(i, all, timeoutMs);
    // Same ring everywhere.
    await waitFor('all nodes agree on the ring', async () => {
      const rings = await Promise.all(this.nodes.filter((_, i) => this.isRunning(i)).map(async (n) => JSON.stringify(await (await fetch(`${n.url}/v1/ring`)).json())));
      if (!(rings.every((r) => r === rings[0]) && !rings[0]!.includes('"partitions":[]'))) return false;
      // Settled: no membership change pending, and every member owns partitions.
      const s = (await (await fetch(`${this.nodes[idx[0]!]!.url}/v1/status`)).json()) as { ring: { pending?: boolean } | null };
      const owners = new Set((JSON.parse(rings[0]!) as { partitions: Array<{ owners: string[] }> }).partitions.flatMap((p) => p.owners));
      return s.ring?.pending !== true && idx.every((i) => owners.has(this.nodes[i]!.id));
    }, timeoutMs);
  }

  isRunning(i: number): boolean {
    const p = this.nodes[i]!.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.nodes[i]!.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  async restart(i: number): Promise<void> {
    await this.kill(i, 'SIGTERM');
    this.spawn(i);
    await this.waitHealthy(i);
  }

  /** The last log lines of every node (for failure messages). */
  tail(lines = 30): string {
    return this.nodes.map((n) => `--- ${n.id}\n${n.logs.slice(-lines).join('\n')}`).join('\n');
  }

  async stop(): Promise<void> {
    if (process.env['SHOAL_TEST_LOGS']) process.stderr.write(this.tail(200) + '\n');
    await Promise.all(this.nodes.map((_, i) => this.kill(i, 'SIGTERM')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  url(i: number): string {
    return this.nodes[i]!.url;
  }
}

export async function put(base: string, key: string, value: string | Uint8Array, opts: { context?: string; query?: string } = {}): Promise<Response> {
  return fetch(`${base}/v1/kv/${encodeURIComponent(key)}${opts.query ? `?${opts.query}` : ''}`, {
    method: 'PUT',
    body: typeof value === 'string' ? value : new Blob([value as Uint8Array<ArrayBuffer>]),
    headers: opts.context ? { 'X-Shoal-Context': opts.context } : {},
  });
}

export async function get(base: string, key: string, opts: { query?: string; json?: boolean } = {}): Promise<Response> {
  return fetch(`${base}/v1/kv/${encodeURIComponent(key)}${opts.query ? `?${opts.query}` : ''}`, {
    headers: opts.json ? { Accept: 'application/json' } : {},
  });
}

export async function del(base: string, key: string, opts: { context?: string; query?: string } = {}): Promise<Response> {
  return fetch(`${base}/v1/kv/${encodeURIComponent(key)}${opts.query ? `?${opts.query}` : ''}`, {
    method: 'DELETE',
    headers: opts.context ? { 'X-Shoal-Context': opts.context } : {},
  });
}

export async function local(base: string, key: string): Promise<{ status: number; body: { values: string[]; context: string; tombstone: boolean } | undefined }> {
  const res = await fetch(`${base}/v1/local/${encodeURIComponent(key)}`);
  return { status: res.status, body: res.status === 200 ? ((await res.json()) as { values: string[]; context: string; tombstone: boolean }) : undefined };
}
