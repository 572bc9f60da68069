/**
 * Child processes for the comparison: a 3-node Shoal cluster (bin/shoal start), a
 * 3-member etcd cluster, and the bare ws server. Every wait polls with a deadline; every
 * stop sends SIGTERM, waits a bounded time, then SIGKILL; `stopAll` runs on exit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const live = new Set<ChildProcess>();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function launch(cmd: string, args: string[], logFile: string, env: Record<string, string> = {}): ChildProcess {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const log: string[] = [];
  const keep = (c: Buffer) => {
    log.push(c.toString());
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  p.on('exit', () => {
    live.delete(p);
    try {
      writeFileSync(logFile, log.join(''));
    } catch {
      /* the directory may be gone */
    }
  });
  live.add(p);
  return p;
}

export async function stop(p: ChildProcess, graceMs = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stop(p, 5_000)));
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void stopAll().then(() => process.exit(130));
  });
}

/** Resident set size of a process in bytes (Linux /proc), or NaN. */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

export interface ShoalCluster {
  endpoints: string[];
  procs: ChildProcess[];
  stop(): Promise<void>;
}

/** Starts 3 (or `nodes`) Shoal nodes on fixed ports and data dirs, so a restart (with or without --sync) finds the same data. */
export async function startShoal(o: {
  root: string;
  shoal: string;
  ports: number[];
  sync: boolean;
  nodeArgs?: (i: number) => string[];
  extra?: string[];
}): Promise<ShoalCluster> {
  mkdirSync(o.root, { recursive: true });
  const secret = join(o.root, 'secret');
  if (!existsSync(secret)) writeFileSync(secret, 'bench-secret-0123456789abcdef');
  const seed = `127.0.0.1:${o.ports[0]}`;
  const procs = o.ports.map((port, i) =>
    launch(
      process.execPath,
      [...(o.nodeArgs?.(i) ?? []), o.shoal, 'start', '--port', String(port), '--data', join(o.root, `node${i}`), '--secret-file', secret, '--n', '3', '--r', '2', '--w', '2', ...(i > 0 ? ['--seeds', seed] : []), ...(o.sync ? ['--sync'] : []), ...(o.extra ?? [])],
      join(o.root, `node${i}${o.sync ? '-sync' : ''}.log`),
      { SHOAL_LOG_LEVEL: 'warn' },
    ),
  );
  const urls = o.ports.map((p) => `http://127.0.0.1:${p}`);
  for (const u of urls) await waitFor(`${u} healthy`, async () => (await fetch(`${u}/v1/health`)).status === 200);
  await waitFor('Shoal members up and ring agreed', async () => {
    const rings = new Set<string>();
    for (const u of urls) {
      const s = (await (await fetch(`${u}/v1/status`)).json()) as { members: Array<{ status: string }> };
      if (s.members.length !== urls.length || s.members.some((m) => m.status !== 'up')) return false;
      rings.add(JSON.stringify(await (await fetch(`${u}/v1/ring`)).json()));
    }
    return rings.size === 1 && ![...rings][0]!.includes('"partitions":[]');
  });
  return {
    endpoints: o.ports.map((p) => `127.0.0.1:${p}`),
    procs,
    stop: async () => {
      await Promise.all(procs.map((p) => stop(p)));
    },
  };
}

export function ensureEtcd(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  if (which.status === 0) return which.stdout.trim();
  console.error('etcd not found; installing Debian\'s etcd-server with apt-get');
  const r = spawnSync('apt-get', ['install', '-y', 'etcd-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) return null;
  const again = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return again.status === 0 ? again.stdout.trim() : null;
}

/** A 3-member etcd cluster on loopback; etcd fsyncs its WAL on every commit (its only mode). */
export async function startEtcd(o: { root: string; etcd: string; clientPorts: number[]; peerPorts: number[] }): Promise<ShoalCluster> {
  const names = o.clientPorts.map((_, i) => `m${i}`);
  const initial = names.map((n, i) => `${n}=http://127.0.0.1:${o.peerPorts[i]}`).join(',');
  const procs = names.map((name, i) => {
    const dataDir = join(o.root, name);
    const fresh = !existsSync(dataDir);
    return launch(
      o.etcd,
      [
        '--name', name,
        '--data-dir', dataDir,
        '--listen-client-urls', `http://127.0.0.1:${o.clientPorts[i]}`,
        '--advertise-client-urls', `http://127.0.0.1:${o.clientPorts[i]}`,
        '--listen-peer-urls', `http://127.0.0.1:${o.peerPorts[i]}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${o.peerPorts[i]}`,
        '--initial-cluster', initial,
        '--initial-cluster-token', 'shoal-bench',
        '--initial-cluster-state', fresh ? 'new' : 'existing',
        '--quota-backend-bytes', String(8 * 2 ** 30),
        '--log-level', 'warn',
      ],
      join(o.root, `${name}.log`),
      { ETCD_UNSUPPORTED_ARCH: '' },
    );
  });
  for (const p of o.clientPorts) {
    await waitFor(`etcd :${p} healthy`, async () => {
      const r = await fetch(`http://127.0.0.1:${p}/health`);
      return r.status === 200 && ((await r.json()) as { health: string }).health === 'true';
    });
  }
  return {
    endpoints: o.clientPorts.map((p) => `127.0.0.1:${p}`),
    procs,
    stop: async () => {
      await Promise.all(procs.map((p) => stop(p)));
    },
  };
}
