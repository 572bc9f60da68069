/**
 * Five (or more) real `shoal start` processes inside the network namespace the harness
 * runs in, each on its own loopback address 127.0.0.(i+1) and the same port, and the
 * faults we do to them: nft partitions, kill -9 and restart, SIGSTOP/SIGCONT, a clock
 * offset given at (re)start. Every wait is a poll with a deadline.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nftScript, type Grudge } from './nft.js';

export interface NemesisNode {
  index: number;
  host: string;
  port: number;
  id: string;
  url: string;
  dataDir: string;
  logFile: string;
  proc: ChildProcess | undefined;
  paused: boolean;
  clockOffsetMs: number;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until truthy or the deadline passes (then throws naming `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

/** fetch with a hard deadline (a SIGSTOPped node would otherwise hang the caller). */
export async function fetchWithin(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

export class NemesisCluster {
  readonly nodes: NemesisNode[] = [];
  private readonly secretFile: string;

  constructor(
    private readonly opts: { count: number; port: number; dir: string; shoalBin: string; root: string; extraArgs: string[] },
  ) {
    mkdirSync(opts.dir, { recursive: true });
    this.secretFile = join(opts.dir, 'secret');
    writeFileSync(this.secretFile, 'nemesis-cluster-secret-0123456789abcdef\n', { mode: 0o600 });
    for (let i = 0; i < opts.count; i++) {
      // Nodes live on 127.0.0.2 and up. The workers' connections to any loopback address
      // leave from 127.0.0.1 (the kernel's source for 127/8), so a node on 127.0.0.1 could
      // not be cut from its peers without cutting every worker off from them too: an
      // `isolate` of that node failed nearly every request to the majority side.
      const host = `127.0.0.${i + 2}`;
      this.nodes.push({
        index: i,
        host,
        port: opts.port,
        id: `${host}:${opts.port}`,
        url: `http://${host}:${opts.port}`,
        dataDir: join(opts.dir, `node${i}`),
        logFile: join(opts.dir, `node${i}.log`),
        proc: undefined,
        paused: false,
        clockOffsetMs: 0,
      });
    }
  }

  address(i: number): string {
    return this.nodes[i]!.host;
  }

  isRunning(i: number): boolean {
    const p = this.nodes[i]!.proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  spawn(i: number, clockOffsetMs = 0): void {
    const n = this.nodes[i]!;
    const seeds = this.nodes.filter((m) => m.index !== i).map((m) => m.id).join(',');
    const args = [
      this.opts.shoalBin, 'start', '--host', n.host, '--port', String(n.port), '--data', n.dataDir,
      '--secret-file', this.secretFile, '--seeds', seeds,
      // `=` form: parseArgs would read a separate negative number as an option.
      `--clock-offset-ms=${clockOffsetMs}`, ...this.opts.extraArgs,
    ];
    const fd = openSync(n.logFile, 'a');
    try {
      n.proc = spawn(process.execPath, args, { cwd: this.opts.root, stdio: ['ignore', fd, fd], env: { ...process.env, SHOAL_LOG_LEVEL: 'info' } });
    } finally {
      closeSync(fd);
    }
    n.paused = false;
    n.clockOffsetMs = clockOffsetMs;
  }

  async startAll(timeoutMs: number): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) this.spawn(i);
    await Promise.all(this.nodes.map((_, i) => this.waitHealthy(i, timeoutMs)));
  }

  async waitHealthy(i: number, timeoutMs: number): Promise<void> {
    const n = this.nodes[i]!;
    await waitFor(`${n.id} healthy`, async () => {
      if (!this.isRunning(i)) throw new Error(`${n.id} is not running (see ${n.logFile})`);
      const res = await fetchWithin(`${n.url}/v1/health`, {}, 1000);
      return res.status === 200;
    }, timeoutMs);
  }

  /** Every node sees every other up, and all agree on one settled ring owned by all of them. */
  async waitSettled(timeoutMs: number): Promise<void> {
    await waitFor('all members up and one settled ring', async () => {
      const rings = new Set<string>();
      for (const n of this.nodes) {
        const s = (await (await fetchWithin(`${n.url}/v1/status`, {}, 1000)).json()) as { members: Array<{ id: string; status: string }>; ring?: { pending?: boolean } | null };
        if (s.members.length !== this.nodes.length || !s.members.every((m) => m.status === 'up')) return false;
        if (s.ring?.pending === true) return false;
        rings.add(JSON.stringify(await (await fetchWithin(`${n.url}/v1/ring`, {}, 1000)).json()));
      }
      if (rings.size !== 1) return false;
      const ring = JSON.parse([...rings][0]!) as { partitions: Array<{ owners: string[] }> };
      const owners = new Set(ring.partitions.flatMap((p) => p.owners));
      return ring.partitions.length > 0 && this.nodes.every((n) => owners.has(n.id));
    }, timeoutMs, 500);
  }

  async kill9(i: number): Promise<void> {
    const n = this.nodes[i]!;
    const p = n.proc;
    if (p === undefined || !this.isRunning(i)) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
    n.paused = false;
  }

  /** Graceful stop of one node (SIGTERM), bounded by graceMs, then SIGKILL. */
  async stop(i: number, graceMs: number): Promise<void> {
    const n = this.nodes[i]!;
    const p = n.proc;
    if (p === undefined || !this.isRunning(i)) return;
    this.resume(i);
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }

  pause(i: number): void {
    const n = this.nodes[i]!;
    if (!this.isRunning(i) || n.paused) return;
    n.proc!.kill('SIGSTOP');
    n.paused = true;
  }

  resume(i: number): void {
    const n = this.nodes[i]!;
    if (!n.paused) return;
    if (this.isRunning(i)) n.proc!.kill('SIGCONT');
    n.paused = false;
  }

  /** Applies a grudge as the whole input ruleset (an empty grudge heals). */
  partition(grudge: Grudge): void {
    const script = nftScript(grudge, (i) => this.address(i));
    const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft failed (${r.status}): ${r.stderr}\n${script}`);
  }

  heal(): void {
    this.partition(new Map());
  }

  /** SIGCONT every paused node, SIGKILL every process, and wait for them to exit. */
  async destroy(): Promise<void> {
    for (const n of this.nodes) this.resume(n.index);
    await Promise.all(this.nodes.map((n) => this.kill9(n.index)));
  }

  /** Graceful stop (SIGTERM), bounded; whatever is still alive after it is killed. */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stop(n.index, graceMs)));
  }
}
