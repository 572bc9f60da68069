/**
 * The client commands (`get`, `put`, `del`, `status`, `ring`, `leave`) over the HTTP API.
 * HTTP rather than the WebSocket SDK: one request per process, and the HTTP API is the
 * contract scripts already speak.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cliEndpointDefault, cliHttpTimeoutMsDefault, cliStdinBytesMax, clientTimeoutGraceMs, clientTimeoutMsMax, keyBytesMax, nMax } from '../config/index.js';
import { ShoalError, codeFromWire } from '../errors/index.js';
import { EXIT, type CliIo } from './io.js';
import { hostPort, intFlag, parseFlags, usageError } from './start.js';

const COMMON = {
  endpoint: { type: 'string' },
  'token-file': { type: 'string' },
  tls: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OUTPUT = { json: { type: 'boolean' }, 'show-context': { type: 'boolean' } } as const;

interface Target {
  base: string;
  headers: Record<string, string>;
  timeoutMs: number | undefined;
}

function target(f: { endpoint?: string; 'token-file'?: string; tls?: boolean; 'timeout-ms'?: string }, io: CliIo): Target {
  const endpoint = hostPort('--endpoint', f.endpoint ?? cliEndpointDefault);
  const headers: Record<string, string> = {};
  if (f['token-file'] !== undefined) {
    const path = f['token-file'];
    let token: string;
    try {
      token = readFileSync(isAbsolute(path) ? path : resolve(io.cwd, path), 'utf8').trim();
    } catch (err) {
      throw usageError(`--token-file: cannot read '${path}': ${(err as Error).message}`);
    }
    if (token === '') throw usageError(`--token-file: '${path}' is empty`);
    headers['authorization'] = `Bearer ${token}`;
  }
  const timeoutMs = f['timeout-ms'] === undefined ? undefined : intFlag('timeout-ms', f['timeout-ms'], 0, 1, clientTimeoutMsMax);
  return { base: `${f.tls === true ? 'https' : 'http'}://${endpoint}`, headers, timeoutMs };
}

function quorumFlag(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'one' || raw === 'quorum' || raw === 'all') return raw;
  return String(intFlag(name, raw, 0, 1, nMax));
}

function keyArg(positionals: string[], command: string, count: number): string {
  if (positionals.length !== count) {
    throw usageError(`'${command}' takes ${count === 1 ? 'KEY' : 'KEY VALUE'} (got ${positionals.length} arguments)`);
  }
  const key = positionals[0] ?? '';
  const bytes = new TextEncoder().encode(key).length;
  if (bytes < 1 || bytes > keyBytesMax) throw usageError(`KEY must be 1 to ${keyBytesMax} bytes of UTF-8 (got ${bytes})`);
  return key;
}

function kvUrl(t: Target, key: string, query: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  if (t.timeoutMs !== undefined) q.set('timeout_ms', String(t.timeoutMs));
  const qs = q.toString();
  return `${t.base}/v1/kv/${encodeURIComponent(key)}${qs === '' ? '' : `?${qs}`}`;
}

/** One HTTP request; network failures and error answers become ShoalErrors. */
async function call(
  t: Target,
  method: string,
  url: string,
  init: { headers?: Record<string, string>; body?: Uint8Array; allow404?: boolean } = {},
): Promise<Response> {
  // The server gives up at timeout_ms and answers 503; the client waits a little longer for that answer.
  const waitMs = (t.timeoutMs ?? cliHttpTimeoutMsDefault) + clientTimeoutGraceMs;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...t.headers, ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body as Uint8Array<ArrayBuffer> }),
      signal: AbortSignal.timeout(waitMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new ShoalError('TIMEOUT', `no answer from ${t.base} within ${waitMs} ms`);
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new ShoalError('UNAVAILABLE', `cannot reach ${t.base}: ${why}`, { cause: err });
  }
  if (res.status === 404 && init.allow404 === true) return res;
  if (res.status >= 400) throw await errorFrom(res);
  return res;
}

async function errorFrom(res: Response): Promise<ShoalError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (body.error !== undefined && typeof body.error.code === 'string') {
      return new ShoalError(codeFromWire(body.error.code), typeof body.error.message === 'string' ? body.error.message : text, {
        details: { status: res.status, wire: body.error.code },
      });
    }
  } catch {
    // Not our JSON error shape: report the status and the start of the body.
  }
  return new ShoalError(statusCode(res.status), `HTTP ${res.status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`, { details: { status: res.status } });
}

function statusCode(status: number): ShoalError['code'] {
  switch (status) {
    case 400:
      return 'BAD_REQUEST';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'TOO_LARGE';
    case 503:
      return 'UNAVAILABLE';
    default:
      return 'INTERNAL';
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function writeValue(io: CliIo, value: Uint8Array): void {
  io.stdout.write(value);
  // A terminal gets a final newline; a pipe gets the exact bytes.
  if (io.stdout.isTTY === true && value[value.length - 1] !== 0x0a) io.stdout.write('\n');
}

function showContext(io: CliIo, ctx: string | null): void {
  io.stderr.write(`context: ${ctx ?? '(none)'}\n`);
}

export async function runGet(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({ args: argv, options: { ...COMMON, ...OUTPUT, r: { type: 'string' } }, allowPositionals: true, strict: true }),
  );
  const key = keyArg(positionals, 'get', 1);
  const t = target(f, io);
  const url = kvUrl(t, key, { r: quorumFlag('r', f.r) });
  const res = await call(t, 'GET', url, { headers: { accept: 'application/json' }, allow404: true });
  let values: Uint8Array[] = [];
  let context: string | null = res.headers.get('x-shoal-context');
  if (res.status === 404) await res.arrayBuffer().catch(() => undefined);
  else ({ values, context } = await readValues(res));
  if (f.json === true) {
    io.stdout.write(`${JSON.stringify({ values: values.map(base64), context, found: values.length > 0 })}\n`);
    return EXIT.ok;
  }
  if (f['show-context'] === true) showContext(io, context);
  if (values.length === 0) {
    io.stderr.write(`shoal: '${key}' not found\n`);
    return EXIT.notFound;
  }
  if (values.length === 1) {
    writeValue(io, values[0] ?? new Uint8Array());
    return EXIT.ok;
  }
  values.forEach((v, i) => {
    io.stdout.write(`--- sibling ${i + 1} of ${values.length} ---\n`);
    io.stdout.write(v);
    if (v[v.length - 1] !== 0x0a) io.stdout.write('\n');
  });
  return EXIT.siblings;
}

/** 200 JSON / 300 JSON / 200 raw body: all become values + context. */
async function readValues(res: Response): Promise<{ values: Uint8Array[]; context: string | null }> {
  const header = res.headers.get('x-shoal-context');
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('application/json')) {
    const body = (await res.json()) as { values?: unknown; context?: unknown };
    if (!Array.isArray(body.values) || !body.values.every((v): v is string => typeof v === 'string')) {
      throw new ShoalError('DECODE', 'the server answered JSON without a values list');
    }
    const context = typeof body.context === 'string' ? body.context : header;
    return { values: body.values.map((v) => new Uint8Array(Buffer.from(v, 'base64'))), context };
  }
  return { values: [new Uint8Array(await res.arrayBuffer())], context: header };
}

async function readStdin(io: CliIo): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    total += bytes.length;
    if (total > cliStdinBytesMax) throw usageError(`standard input is over ${cliStdinBytesMax} bytes`);
    chunks.push(bytes);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export async function runPut(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({
      args: argv,
      options: { ...COMMON, ...OUTPUT, w: { type: 'string' }, context: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    }),
  );
  const key = keyArg(positionals, 'put', 2);
  const t = target(f, io);
  const raw = positionals[1] ?? '';
  const body = raw === '-' ? await readStdin(io) : new TextEncoder().encode(raw);
  const url = kvUrl(t, key, { w: quorumFlag('w', f.w) });
  const res = await call(t, 'PUT', url, {
    headers: { 'content-type': 'application/octet-stream', ...(f.context === undefined ? {} : { 'x-shoal-context': f.context }) },
    body,
  });
  return writeAnswer(res, f, io);
}

export async function runDel(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({
      args: argv,
      options: { ...COMMON, ...OUTPUT, w: { type: 'string' }, context: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    }),
  );
  const key = keyArg(positionals, 'del', 1);
  const t = target(f, io);
  const url = kvUrl(t, key, { w: quorumFlag('w', f.w) });
  const res = await call(t, 'DELETE', url, { headers: f.context === undefined ? {} : { 'x-shoal-context': f.context } });
  return writeAnswer(res, f, io);
}

async function writeAnswer(res: Response, f: { json?: boolean; 'show-context'?: boolean }, io: CliIo): Promise<number> {
  await res.arrayBuffer().catch(() => undefined);
  const context = res.headers.get('x-shoal-context');
  if (f.json === true) io.stdout.write(`${JSON.stringify({ context })}\n`);
  else if (f['show-context'] === true) showContext(io, context);
  return EXIT.ok;
}

function noPositionals(positionals: string[], command: string): void {
  if (positionals.length > 0) throw usageError(`'${command}' takes no arguments (got '${positionals.join(' ')}')`);
}

interface StatusJson {
  node?: unknown;
  n?: unknown;
  partitions?: unknown;
  members?: Array<{ id?: unknown; address?: unknown; status?: unknown }>;
  hints?: { pending?: unknown };
}

/** Fixed-width columns: each as wide as its widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

export async function runStatus(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({ args: argv, options: { ...COMMON, json: { type: 'boolean' } }, allowPositionals: true, strict: true }),
  );
  noPositionals(positionals, 'status');
  const t = target(f, io);
  const res = await call(t, 'GET', `${t.base}/v1/status`);
  const text = await res.text();
  if (f.json === true) {
    io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return EXIT.ok;
  }
  let s: StatusJson;
  try {
    s = JSON.parse(text) as StatusJson;
  } catch {
    throw new ShoalError('DECODE', 'the server answered /v1/status with something that is not JSON');
  }
  io.stdout.write(`node ${String(s.node)}  n=${String(s.n)}  partitions=${String(s.partitions)}  hints pending=${String(s.hints?.pending ?? 0)}\n\n`);
  const rows = [['ID', 'ADDRESS', 'STATUS']];
  for (const m of s.members ?? []) rows.push([String(m.id), String(m.address), String(m.status)]);
  io.stdout.write(table(rows));
  return EXIT.ok;
}

export async function runRing(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({ args: argv, options: { ...COMMON, json: { type: 'boolean' } }, allowPositionals: true, strict: true }),
  );
  noPositionals(positionals, 'ring');
  const t = target(f, io);
  const res = await call(t, 'GET', `${t.base}/v1/ring`);
  const text = await res.text();
  if (f.json === true) {
    io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return EXIT.ok;
  }
  let ring: { partitions?: Array<{ id?: unknown; owners?: unknown }> };
  try {
    ring = JSON.parse(text) as typeof ring;
  } catch {
    throw new ShoalError('DECODE', 'the server answered /v1/ring with something that is not JSON');
  }
  const parts = ring.partitions ?? [];
  const primaries = new Map<string, number>();
  const rows = [['PARTITION', 'OWNERS (preference order)']];
  for (const p of parts) {
    const owners = Array.isArray(p.owners) ? p.owners.map(String) : [];
    const first = owners[0];
    if (first !== undefined) primaries.set(first, (primaries.get(first) ?? 0) + 1);
    rows.push([String(p.id), owners.join(', ')]);
  }
  io.stdout.write(table(rows));
  io.stdout.write('\n');
  const summary = [['NODE', 'PARTITIONS OWNED']];
  for (const [node, count] of [...primaries.entries()].sort((a, b) => a[0].localeCompare(b[0]))) summary.push([node, String(count)]);
  io.stdout.write(table(summary));
  return EXIT.ok;
}

export async function runLeave(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() => parseArgs({ args: argv, options: COMMON, allowPositionals: true, strict: true }));
  noPositionals(positionals, 'leave');
  const t = target(f, io);
  const res = await call(t, 'POST', `${t.base}/v1/admin/leave`);
  await res.arrayBuffer().catch(() => undefined);
  io.stdout.write(`${t.base}: leaving; it hands its partitions to the rest of the cluster, then stops\n`);
  return EXIT.ok;
}
