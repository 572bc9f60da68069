/**
 * `shoal bench`: the load generator (src/bench) over the SDK, or over the HTTP API with
 * `--http`. Progress goes to standard error (one line rewritten in place on a terminal,
 * plain lines otherwise); the final table, or JSON with `--json`, to standard output.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  benchConcurrencyDefault,
  benchConcurrencyMax,
  benchDurationMsDefault,
  benchDurationMsMax,
  benchKeysDefault,
  benchKeysMax,
  benchRequestTimeoutMs,
  benchValueBytesDefault,
  benchValueBytesMax,
  cliEndpointDefault,
  clientTimeoutMsMax,
  nMax,
} from '../config/index.js';
import { RealClock, RealRandom, RealTimers } from '../env/index.js';
import type { Quorum } from '../client/index.js';
import { formatMix, formatTable, parseMix, progressLine, runLoad, sdkDriver, shoalHttpDriver, toJson, type BenchDriver, type Distribution } from '../bench/index.js';
import { EXIT, type CliIo } from './io.js';
import { hostPort, intFlag, parseFlags, usageError } from './start.js';

const FLAGS = {
  endpoint: { type: 'string', multiple: true },
  'token-file': { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  concurrency: { type: 'string' },
  'value-bytes': { type: 'string' },
  keys: { type: 'string' },
  mix: { type: 'string' },
  dist: { type: 'string' },
  r: { type: 'string' },
  w: { type: 'string' },
  'timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
  http: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `20s`, `500ms`, `2m` or a plain number of seconds, as milliseconds. */
export function durationFlag(name: string, raw: string | undefined, fallbackMs: number, maxMs: number): number {
  if (raw === undefined) return fallbackMs;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw);
  if (m === null) throw usageError(`--${name} must be a duration such as 20s, 500ms or 2m (got '${raw}')`);
  const v = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1_000);
  if (!(v >= 0 && v <= maxMs)) throw usageError(`--${name} must be at most ${maxMs / 1000} s (got '${raw}')`);
  return Math.round(v);
}

function quorumFlag(name: string, raw: string | undefined): Quorum | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'one' || raw === 'quorum' || raw === 'all') return raw;
  return intFlag(name, raw, 0, 1, nMax);
}

export interface BenchArgs {
  endpoints: string[];
  token: string | undefined;
  durationMs: number;
  warmupMs: number;
  concurrency: number;
  valueBytes: number;
  keys: number;
  mix: ReturnType<typeof parseMix>;
  dist: Distribution;
  r: Quorum | undefined;
  w: Quorum | undefined;
  timeoutMs: number;
  json: boolean;
  http: boolean;
}

export function parseBenchArgs(argv: string[], cwd: string): BenchArgs {
  const { values: f, positionals } = parseFlags(() => parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true }));
  if (positionals.length > 0) throw usageError(`'bench' takes no arguments (got '${positionals.join(' ')}')`);
  const endpoints = (f.endpoint ?? [cliEndpointDefault]).flatMap((e) => e.split(',')).filter((e) => e.trim() !== '').map((e) => hostPort('--endpoint', e));
  if (endpoints.length === 0) throw usageError('--endpoint: at least one HOST:PORT');
  let token: string | undefined;
  if (f['token-file'] !== undefined) {
    const path = f['token-file'];
    try {
      token = readFileSync(isAbsolute(path) ? path : resolve(cwd, path), 'utf8').trim();
    } catch (err) {
      throw usageError(`--token-file: cannot read '${path}': ${(err as Error).message}`);
    }
    if (token === '') throw usageError(`--token-file: '${path}' is empty`);
  }
  const dist = f.dist ?? 'uniform';
  if (dist !== 'uniform' && dist !== 'zipf') throw usageError(`--dist must be uniform or zipf (got '${dist}')`);
  return {
    endpoints,
    token,
    durationMs: durationFlag('duration', f.duration, benchDurationMsDefault, benchDurationMsMax),
    warmupMs: durationFlag('warmup', f.warmup, 0, benchDurationMsMax),
    concurrency: intFlag('concurrency', f.concurrency, benchConcurrencyDefault, 1, benchConcurrencyMax),
    valueBytes: intFlag('value-bytes', f['value-bytes'], benchValueBytesDefault, 0, benchValueBytesMax),
    keys: intFlag('keys', f.keys, benchKeysDefault, 1, benchKeysMax),
    mix: parseMix(f.mix ?? 'put=50,get=50'),
    dist,
    r: quorumFlag('r', f.r),
    w: quorumFlag('w', f.w),
    timeoutMs: intFlag('timeout-ms', f['timeout-ms'], benchRequestTimeoutMs, 1, clientTimeoutMsMax),
    json: f.json === true,
    http: f.http === true,
  };
}

export async function runBench(argv: string[], io: CliIo): Promise<number> {
  const a = parseBenchArgs(argv, io.cwd);
  const common = { endpoints: a.endpoints, timeoutMs: a.timeoutMs, ...(a.token === undefined ? {} : { token: a.token }), ...(a.r === undefined ? {} : { r: a.r }), ...(a.w === undefined ? {} : { w: a.w }) };
  const driver: BenchDriver = a.http ? shoalHttpDriver({ ...common, concurrency: a.concurrency }) : await sdkDriver(common);
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  io.stderr.write(
    `shoal bench: ${driver.name} → ${a.endpoints.join(',')}, ${a.durationMs / 1000} s, ${a.concurrency} in flight, mix ${formatMix(a.mix)}, ${a.keys} keys (${a.dist}), ${a.valueBytes}-byte values\n`,
  );
  let result;
  try {
    result = await runLoad({
      driver,
      clock: new RealClock(),
      timers: new RealTimers(),
      random: new RealRandom(),
      mix: a.mix,
      keys: a.keys,
      dist: a.dist,
      valueBytes: a.valueBytes,
      concurrency: a.concurrency,
      durationMs: a.durationMs,
      warmupMs: a.warmupMs,
      onProgress: (p) => io.stderr.write(tty ? `\r${progressLine(p)}\x1b[K` : `${progressLine(p)}\n`),
    });
  } finally {
    await driver.close();
  }
  const reads = driver.readStats?.();
  if (tty) io.stderr.write('\n');
  if (a.json) {
    const extra = { mix: a.mix, keys: a.keys, dist: a.dist, valueBytes: a.valueBytes, endpoints: a.endpoints, ...(reads === undefined ? {} : { reads }) };
    io.stdout.write(`${JSON.stringify(toJson(result, extra))}\n`);
  } else {
    io.stdout.write(formatTable(result));
    if (reads !== undefined) io.stdout.write(`gets: ${reads.directReads} direct reads of R owners, ${reads.directFallbacks} through a coordinator after a direct try (the rest went to a coordinator at once)\n`);
  }
  // Errors are part of what a load test reports, not a failure of the command; but a
  // run where nothing at all succeeded is.
  const ok = Object.values(result.ops).reduce((s, o) => s + (o?.ok ?? 0), 0);
  return ok > 0 ? EXIT.ok : EXIT.failed;
}
