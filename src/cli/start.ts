/**
 * `shoal start`: flags → validated NodeOptions → the node, until SIGTERM/SIGINT.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  cliClockOffsetMsMax,
  cliIdCharsMax,
  cliMaxValueBytesMax,
  hostDefault,
  maxValueBytesDefault,
  memorySoftLimitBytes as memorySoftLimitBytesDefault,
  nDefault,
  nMax,
  partitionsDefault,
  partitionsMax,
  portDefault,
  rDefault,
  storeCacheEntriesLimit,
  wDefault,
} from '../config/index.js';
import { ShoalError } from '../errors/index.js';
import type { NodeOptions } from '../node/options.js';
import { EXIT, type CliIo } from './io.js';

/** What src/node/index.ts provides (imported dynamically so this folder does not depend on it at build time). */
export interface RunningNode {
  port: number;
  /** Settles when the node stops for a reason of its own (a finished leave, a fatal error); rejects on a fatal error. */
  stopped?: Promise<void>;
  stop(): Promise<void>;
}
export type StartNode = (options: NodeOptions) => Promise<RunningNode>;

const START_FLAGS = {
  id: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  data: { type: 'string' },
  seeds: { type: 'string' },
  'secret-file': { type: 'string' },
  'client-token-file': { type: 'string' },
  n: { type: 'string' },
  r: { type: 'string' },
  w: { type: 'string' },
  partitions: { type: 'string' },
  'max-value-bytes': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  engine: { type: 'string' },
  sync: { type: 'boolean' },
  'clock-offset-ms': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'tombstone-grace-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function usageError(message: string): ShoalError {
  return new ShoalError('INVALID_CONFIG', message);
}

/** Runs a `node:util` parseArgs call, turning its errors into INVALID_CONFIG (exit 2). */
export function parseFlags<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw usageError(message);
  }
}

/** Parses a decimal integer flag within [min, max]. */
export function intFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw usageError(`--${name} must be an integer (got '${raw}')`);
  const v = Number(raw.trim());
  if (!Number.isSafeInteger(v) || v < min || v > max) throw usageError(`--${name} must be between ${min} and ${max} (got ${raw})`);
  return v;
}

/** Parses `HOST:PORT` (IPv6 hosts in brackets); returns it normalised. */
export function hostPort(flag: string, raw: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/.exec(raw.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 1 && port <= 65535)) throw usageError(`${flag}: '${raw}' is not HOST:PORT`);
  return `${m[1]}:${port}`;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * The default data directory name for a node id: the id itself, as CONTRACT.md says
 * (`./data/ID`, so `127.0.0.1:7070` → `data/127.0.0.1:7070`). Only what would make it
 * another path is replaced by '_': path separators, NUL, and the names `.` and `..`.
 * One rule for every id keeps `shoal dev` and `shoal start` agreeing on where a node's
 * data is.
 */
export function dataDirName(id: string): string {
  const name = id.replace(/[/\\\0]/g, '_');
  return name === '.' || name === '..' ? name.replace(/\./g, '_') : name;
}

function readSecretFile(flag: string, path: string, cwd: string): string {
  let text: string;
  try {
    text = readFileSync(isAbsolute(path) ? path : resolve(cwd, path), 'utf8');
  } catch (err) {
    throw usageError(`${flag}: cannot read '${path}': ${(err as Error).message}`);
  }
  const value = text.trim();
  if (value === '') throw usageError(`${flag}: '${path}' is empty`);
  return value;
}

function list(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Parses and validates `shoal start`'s flags. Throws ShoalError INVALID_CONFIG with a
 * message naming the flag. Reads --secret-file and --client-token-file (trimmed); TLS
 * files are checked to exist and passed on as paths.
 */
export function parseStartArgs(argv: string[], env: Record<string, string | undefined>, cwd = process.cwd()): NodeOptions {
  const { values: f } = parseFlags(() => parseArgs({ args: argv, options: START_FLAGS, allowPositionals: false, strict: true }));

  const host = (f.host ?? hostDefault).trim();
  if (host === '' || /[\s/]/.test(host)) throw usageError(`--host: '${f.host}' is not an address`);
  const port = intFlag('port', f.port, portDefault, 0, 65535);
  const hostForId = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const id = (f.id ?? `${hostForId}:${port}`).trim();
  if (id === '' || id.length > cliIdCharsMax || /[\s\p{C}]/u.test(id)) {
    throw usageError(`--id must be 1 to ${cliIdCharsMax} printable characters without spaces (got '${f.id}')`);
  }
  const dataDir = f.data !== undefined ? f.data : join('data', dataDirName(id));
  if (dataDir.trim() === '') throw usageError('--data must not be empty');

  const seeds = list(f.seeds).map((s) => hostPort('--seeds', s));

  let secret: string | undefined;
  if (f['secret-file'] !== undefined) secret = readSecretFile('--secret-file', f['secret-file'], cwd);
  else {
    const fromEnv = env['SHOAL_SECRET']?.trim();
    secret = fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  }
  if (secret === undefined && !isLoopback(host)) {
    throw usageError(
      `--host ${host} is reachable from other machines, but no cluster secret is set: pass --secret-file F or set SHOAL_SECRET (or listen on 127.0.0.1)`,
    );
  }
  const clientToken = f['client-token-file'] === undefined ? undefined : readSecretFile('--client-token-file', f['client-token-file'], cwd);

  const n = intFlag('n', f.n, nDefault, 1, nMax);
  // The defaults are majorities of the default N; a smaller N caps them so `--n 1` just works.
  const r = intFlag('r', f.r, Math.min(rDefault, n), 1, n);
  const w = intFlag('w', f.w, Math.min(wDefault, n), 1, n);
  const partitions = intFlag('partitions', f.partitions, partitionsDefault, 1, partitionsMax);
  if ((partitions & (partitions - 1)) !== 0) throw usageError(`--partitions must be a power of two (got ${partitions})`);
  if (partitions < n) throw usageError(`--partitions (${partitions}) must be at least --n (${n}) so N consecutive partitions can sit on N nodes`);
  const maxValueBytes = intFlag('max-value-bytes', f['max-value-bytes'], maxValueBytesDefault, 1, cliMaxValueBytesMax);

  const cert = f['tls-cert'];
  const key = f['tls-key'];
  if ((cert === undefined) !== (key === undefined)) throw usageError('--tls-cert and --tls-key go together: pass both or neither');
  let tls: NodeOptions['tls'];
  if (cert !== undefined && key !== undefined) {
    for (const [flag, path] of [['--tls-cert', cert], ['--tls-key', key]] as const) {
      if (!existsSync(isAbsolute(path) ? path : resolve(cwd, path))) throw usageError(`${flag}: '${path}' does not exist`);
    }
    tls = { cert, key };
  }

  const engine = f.engine ?? 'classic-level';
  if (engine !== 'classic-level' && engine !== 'rocksdb') throw usageError(`--engine must be classic-level or rocksdb (got '${engine}')`);

  const clockOffsetMs = intFlag('clock-offset-ms', f['clock-offset-ms'], 0, -cliClockOffsetMsMax, cliClockOffsetMsMax);

  const tombstoneGraceMs =
    f['tombstone-grace-ms'] === undefined ? undefined : intFlag('tombstone-grace-ms', f['tombstone-grace-ms'], 0, 0, 7 * 24 * 3_600_000);

  const allowedOrigins = list(f['allowed-origins']).map((o) => {
    let origin: string;
    try {
      origin = new URL(o).origin;
    } catch {
      origin = 'null';
    }
    if (origin === 'null' || origin !== o.replace(/\/$/, '')) throw usageError(`--allowed-origins: '${o}' is not an origin like https://example.com:8080`);
    return origin;
  });

  // Not a flag (the contract's flags are fixed): an operator's knob for a bigger or smaller machine.
  let memorySoftLimitBytes = memorySoftLimitBytesDefault;
  const memoryRaw = env['SHOAL_MEMORY_SOFT_LIMIT_MB']?.trim();
  if (memoryRaw !== undefined && memoryRaw !== '') {
    if (!/^\d{1,7}$/.test(memoryRaw) || Number(memoryRaw) > memoryMbMax) {
      throw usageError(`SHOAL_MEMORY_SOFT_LIMIT_MB must be a whole number of MiB from 0 (off) to ${memoryMbMax} (got '${memoryRaw}')`);
    }
    memorySoftLimitBytes = Number(memoryRaw) * 1024 * 1024;
  }

  // Also not a flag: the store's read cache is off by default (see storeCacheEntriesMax).
  let cacheEntriesMax: number | undefined;
  const cacheRaw = env['SHOAL_READ_CACHE_ENTRIES']?.trim();
  if (cacheRaw !== undefined && cacheRaw !== '') {
    if (!/^\d{1,7}$/.test(cacheRaw) || Number(cacheRaw) > storeCacheEntriesLimit) {
      throw usageError(`SHOAL_READ_CACHE_ENTRIES must be a whole number of objects from 0 (no cache) to ${storeCacheEntriesLimit} (got '${cacheRaw}')`);
    }
    cacheEntriesMax = Number(cacheRaw);
  }

  // Also not a flag: value separation is on by default, with --sync too (src/store/vlog.ts);
  // 'off' keeps every object inside the engine, as before the eighth session.
  let valueLog: boolean | undefined;
  const valueLogRaw = env['SHOAL_VALUE_LOG']?.trim();
  if (valueLogRaw !== undefined && valueLogRaw !== '') {
    if (valueLogRaw !== 'on' && valueLogRaw !== 'off') throw usageError(`SHOAL_VALUE_LOG must be 'on' or 'off' (got '${valueLogRaw}')`);
    valueLog = valueLogRaw === 'on';
  }

  // Also not a flag: how much of the value log is read back into the page cache at a
  // start (storeValueLogPrewarmBytesMax, always within a quarter of the memory available).
  let valueLogPrewarmBytes: number | undefined;
  const prewarmRaw = env['SHOAL_VALUE_LOG_PREWARM_MB']?.trim();
  if (prewarmRaw !== undefined && prewarmRaw !== '') {
    if (!/^\d{1,7}$/.test(prewarmRaw)) throw usageError(`SHOAL_VALUE_LOG_PREWARM_MB must be a whole number of MiB, 0 for none (got '${prewarmRaw}')`);
    valueLogPrewarmBytes = Number(prewarmRaw) * 1024 * 1024;
  }

  // Also not a flag: for a data directory put back from a copy taken at a clean stop
  // (README, "Restoring a node from a copy"); the saved actor memory is dropped unused.
  const forgetRaw = env['SHOAL_FORGET_ACTORS']?.trim();
  if (forgetRaw !== undefined && forgetRaw !== '' && forgetRaw !== '0' && forgetRaw !== '1') {
    throw usageError(`SHOAL_FORGET_ACTORS must be '1' (drop the saved actor memory) or '0' (got '${forgetRaw}')`);
  }
  const forgetActors = forgetRaw === '1';

  return {
    id,
    host,
    port,
    dataDir,
    seeds,
    secret,
    clientToken,
    n,
    r,
    w,
    partitions,
    maxValueBytes,
    tls,
    engine,
    sync: f.sync ?? false,
    clockOffsetMs,
    allowedOrigins,
    ...(tombstoneGraceMs === undefined ? {} : { tombstoneGraceMs }),
    memorySoftLimitBytes,
    ...(cacheEntriesMax === undefined ? {} : { cacheEntriesMax }),
    ...(valueLog === undefined ? {} : { valueLog }),
    ...(valueLogPrewarmBytes === undefined ? {} : { valueLogPrewarmBytes }),
    ...(forgetActors ? { forgetActors } : {}),
  };
}

/** The largest SHOAL_MEMORY_SOFT_LIMIT_MB taken: 1 TiB, past any machine this runs on. */
const memoryMbMax = 1_048_576;

/** Loads the node module at run time (see RunningNode). */
async function loadStartNode(): Promise<StartNode> {
  const specifier = '../node/index.js';
  const mod = (await import(specifier)) as { startNode?: StartNode };
  if (typeof mod.startNode !== 'function') throw new ShoalError('INTERNAL', 'src/node does not export startNode');
  return mod.startNode;
}

/**
 * Runs one node until SIGTERM or SIGINT, then stops it and returns 0. `startNode` is
 * injectable for tests.
 */
export async function runStart(argv: string[], io: CliIo, startNode?: StartNode, signals: NodeJS.EventEmitter = process): Promise<number> {
  const options = parseStartArgs(argv, io.env, io.cwd);
  const start = startNode ?? (await loadStartNode());
  const node = await start(options);
  const scheme = options.tls === undefined ? 'http' : 'https';
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  io.stderr.write(`shoal: node ${options.id} serving ${scheme}://${host}:${node.port}/ (data ${options.dataDir})\n`);
  // The first signal stops the node; later ones (a terminal's Ctrl-C reaches the whole
  // process group, and `shoal dev` forwards a SIGTERM too) must not kill it mid-stop.
  let stopping = false;
  let requested: () => void = () => undefined;
  const stopRequested = new Promise<void>((r) => (requested = r));
  const onSignal = (sig: string): void => {
    if (stopping) {
      io.stderr.write(`shoal: ${sig}: already stopping node ${options.id}\n`);
      return;
    }
    stopping = true;
    io.stderr.write(`shoal: ${sig}: stopping node ${options.id}\n`);
    requested();
  };
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  try {
    // Either a signal asks us to stop, or the node stops by itself (after `shoal leave`).
    const selfStop = node.stopped === undefined ? new Promise<never>(() => undefined) : node.stopped.then(() => 'self' as const);
    let why: 'signal' | 'self';
    try {
      why = await Promise.race([stopRequested.then(() => 'signal' as const), selfStop]);
    } catch (err) {
      // The node cannot go on (e.g. every seed refused our cluster settings): close it, then fail.
      await node.stop().catch(() => undefined);
      throw err;
    }
    if (why === 'self') {
      await node.stop();
      io.stderr.write(`shoal: node ${options.id} stopped by itself\n`);
      return EXIT.ok;
    }
    await node.stop();
  } finally {
    signals.off('SIGTERM', onSignal);
    signals.off('SIGINT', onSignal);
  }
  io.stderr.write(`shoal: node ${options.id} stopped\n`);
  return EXIT.ok;
}
