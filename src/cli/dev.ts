/**
 * `shoal dev`: a local cluster of separate node processes, for development and for
 * `npm start`. Separate processes (not one process with many nodes) so that killing one
 * behaves exactly like a machine failing, and so the nodes run the same code path as
 * production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  cliDevNodesDefault,
  cliDevNodesMax,
  cliDevPollMs,
  cliDevReadyTimeoutMs,
  cliDevSecretBytes,
  cliDevStopTimeoutMs,
  portDefault,
} from '../config/index.js';
import { EXIT, type CliIo } from './io.js';
import { dataDirName, intFlag, parseFlags, usageError } from './start.js';

/** bin/shoal, relative to this file (src/cli/dev.ts in tests, dist/cli/dev.js when built). */
const BIN = fileURLToPath(new URL('../../bin/shoal', import.meta.url));

export interface DevPlan {
  dataDir: string;
  secretFile: string;
  nodes: Array<{ id: string; port: number; args: string[] }>;
}

/** Works out the nodes `shoal dev` starts: pure, so it is tested without processes. */
export function planDev(argv: string[], cwd: string): DevPlan {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({
      args: argv,
      options: { nodes: { type: 'string' }, 'base-port': { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (positionals.length > 0) throw usageError(`'dev' takes no arguments (got '${positionals.join(' ')}')`);
  const count = intFlag('nodes', f.nodes, cliDevNodesDefault, 1, cliDevNodesMax);
  const base = intFlag('base-port', f['base-port'], portDefault, 1, 65535 - count + 1);
  const dataArg = f.data ?? './data';
  const dataDir = isAbsolute(dataArg) ? dataArg : resolve(cwd, dataArg);
  const secretFile = join(dataDir, 'dev-secret');
  const first = `127.0.0.1:${base}`;
  const nodes = Array.from({ length: count }, (_, i) => {
    const port = base + i;
    const id = `127.0.0.1:${port}`;
    const args = ['start', '--id', id, '--host', '127.0.0.1', '--port', String(port), '--data', join(dataDir, dataDirName(id)), '--secret-file', secretFile];
    if (i > 0) args.push('--seeds', first);
    return { id, port, args };
  });
  return { dataDir, secretFile, nodes };
}

/** Reuses DATA/dev-secret, or writes a fresh one (mode 0600) so restarts keep the same cluster. */
export function ensureDevSecret(secretFile: string): void {
  if (existsSync(secretFile) && readFileSync(secretFile, 'utf8').trim() !== '') return;
  writeFileSync(secretFile, `${randomBytes(cliDevSecretBytes).toString('hex')}\n`, { mode: 0o600 });
}

function pipeLines(stream: NodeJS.ReadableStream | null, prefix: string, out: { write(s: string): unknown }): void {
  if (stream === null) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${prefix}${line}\n`));
}

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/health`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Resolves true when every port answers health, false at the deadline or when `gaveUp()` says so. */
async function waitHealthy(ports: number[], gaveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + cliDevReadyTimeoutMs;
  const pending = new Set(ports);
  while (pending.size > 0) {
    if (gaveUp() || Date.now() > deadline) return false;
    for (const p of [...pending]) if (await healthy(p)) pending.delete(p);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, cliDevPollMs));
  }
  return true;
}

/** `signals` and `bin` (the script each child runs) are injectable for tests. */
export async function runDev(argv: string[], io: CliIo, signals: NodeJS.EventEmitter = process, bin = BIN): Promise<number> {
  const plan = planDev(argv, io.cwd);
  mkdirSync(plan.dataDir, { recursive: true });
  ensureDevSecret(plan.secretFile);

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let failed = false;
  let allGone: () => void = () => undefined;
  const gone = new Promise<void>((r) => (allGone = r));

  const stopAll = (signal: NodeJS.Signals): void => {
    for (const c of children.values()) c.kill(signal);
  };
  const onSignal = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    io.stderr.write(`shoal dev: ${sig}: stopping ${children.size} node(s)\n`);
    stopAll('SIGTERM');
    const killer = setTimeout(() => stopAll('SIGKILL'), cliDevStopTimeoutMs);
    killer.unref();
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);

  for (const node of plan.nodes) {
    const child = spawn(process.execPath, [bin, ...node.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...io.env } });
    children.set(node.id, child);
    const prefix = `[${node.id}] `;
    pipeLines(child.stdout, prefix, io.stdout);
    pipeLines(child.stderr, prefix, io.stderr);
    child.on('exit', (code, signal) => {
      children.delete(node.id);
      if (!stopping) {
        failed = true;
        io.stderr.write(`shoal dev: node ${node.id} exited (${signal ?? `code ${String(code)}`})\n`);
      } else if (code !== 0 && signal !== 'SIGTERM') failed = true;
      if (children.size === 0) allGone();
    });
    child.on('error', (err) => {
      io.stderr.write(`shoal dev: could not start node ${node.id}: ${err.message}\n`);
    });
  }

  const ready = await waitHealthy(
    plan.nodes.map((n) => n.port),
    () => stopping || children.size < plan.nodes.length,
  );
  if (ready) {
    io.stdout.write(`shoal dev: ${plan.nodes.length} node(s) ready (data in ${plan.dataDir})\n`);
    for (const n of plan.nodes) io.stdout.write(`  node ${n.id}  http://127.0.0.1:${n.port}/\n`);
    io.stdout.write(`  dashboard    http://127.0.0.1:${plan.nodes[0]?.port ?? portDefault}/\n`);
    io.stdout.write('Ctrl-C stops every node.\n');
  } else if (!stopping) {
    io.stderr.write(`shoal dev: the cluster did not become healthy within ${cliDevReadyTimeoutMs} ms; stopping\n`);
    failed = true;
    onSignal('startup failure');
  }
  if (children.size > 0) await gone;
  signals.off('SIGINT', onSignal);
  signals.off('SIGTERM', onSignal);
  return failed ? EXIT.failed : EXIT.ok;
}
