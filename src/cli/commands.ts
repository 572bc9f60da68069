/**
 * The client commands (`get`, `put`, `del`, `status`, `ring`, `explain`, `leave`) over the HTTP API.
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
  let context = f.context;
  if (context === undefined) {
    // A delete without a context deletes nothing it has not seen (the HTTP rule), so
    // `shoal del KEY` first reads the key and deletes what that read saw, as Riak's
    // clients fetch before they delete. A version written after the read survives.
    const read = await call(t, 'GET', kvUrl(t, key, {}), { headers: { accept: 'application/json' }, allow404: true });
    if (read.status === 404) {
      await read.arrayBuffer().catch(() => undefined);
      context = read.headers.get('x-shoal-context') ?? undefined;
    } else {
      context = (await readValues(read)).context ?? undefined;
    }
    if (context === undefined) {
      // Nothing was ever written there: nothing to delete (deleting is idempotent).
      if (f.json === true) io.stdout.write(`${JSON.stringify({ context: null })}\n`);
      return EXIT.ok;
    }
  }
  const res = await call(t, 'DELETE', url, { headers: { 'x-shoal-context': context } });
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

/** The node's /v1/overview (the dashboard's snapshot), or undefined from a node without it. */
async function overviewOf(t: Target): Promise<Overview | undefined> {
  try {
    const res = await call(t, 'GET', `${t.base}/v1/overview`, { allow404: true });
    const body = (await res.json().catch(() => undefined)) as Partial<Overview> | undefined;
    // Only a real overview: an older node answers 404, and a stand-in may answer anything.
    return res.status === 200 && body?.overview === 1 && Array.isArray(body.members) ? (body as Overview) : undefined;
  } catch {
    return undefined;
  }
}

interface Overview {
  overview: 1;
  members: Array<{ id: string; address: string; status: string; incarnation: number | null; heartbeat: number | null; self: boolean; hintsPending: number; latencyMs: number | null; circuitOpen: boolean }>;
  ring: { version: number; partitions: Array<{ id: number; owners: string[]; standIns: Array<{ for: string; by: string }>; uncovered: string[] }> } | null;
  hints: { pending: number; byTarget: Record<string, number> };
  antiEntropy: unknown;
  transfers: unknown;
}

function listIn(field: unknown, ...keys: string[]): Array<Record<string, unknown>> | undefined {
  if (Array.isArray(field)) return field as Array<Record<string, unknown>>;
  if (typeof field !== 'object' || field === null) return undefined;
  for (const k of keys) {
    const v = (field as Record<string, unknown>)[k];
    if (Array.isArray(v)) return v as Array<Record<string, unknown>>;
  }
  return undefined;
}

const dash = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));

export async function runStatus(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({ args: argv, options: { ...COMMON, json: { type: 'boolean' } }, allowPositionals: true, strict: true }),
  );
  noPositionals(positionals, 'status');
  const t = target(f, io);
  const res = await call(t, 'GET', `${t.base}/v1/status`);
  const text = await res.text();
  let s: StatusJson;
  try {
    s = JSON.parse(text) as StatusJson;
  } catch {
    throw new ShoalError('DECODE', 'the server answered /v1/status with something that is not JSON');
  }
  const ov = await overviewOf(t);
  if (f.json === true) {
    // /v1/status as the node sent it, plus the dashboard's facts when the node has them.
    const out = ov === undefined ? text : JSON.stringify({ ...(s as Record<string, unknown>), overview: ov });
    io.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
    return EXIT.ok;
  }
  io.stdout.write(`node ${String(s.node)}  n=${String(s.n)}  partitions=${String(s.partitions)}  hints pending=${String(s.hints?.pending ?? 0)}\n\n`);
  if (ov === undefined) {
    const rows = [['ID', 'ADDRESS', 'STATUS']];
    for (const m of s.members ?? []) rows.push([String(m.id), String(m.address), String(m.status)]);
    io.stdout.write(table(rows));
    return EXIT.ok;
  }
  const rows = [['ID', 'ADDRESS', 'STATUS', 'INCARNATION', 'HEARTBEAT', 'HINTS FOR IT', 'LATENCY']];
  for (const m of ov.members) {
    const latency = m.latencyMs === null ? '-' : `${m.latencyMs.toFixed(2)} ms${m.circuitOpen ? ' (open)' : ''}`;
    rows.push([m.self ? `${m.id} *` : m.id, m.address, m.status, dash(m.incarnation), dash(m.heartbeat), String(m.hintsPending), latency]);
  }
  io.stdout.write(table(rows));
  io.stdout.write(`(* = this node; ring version ${dash(ov.ring?.version)})\n\n`);
  const ae = listIn(ov.antiEntropy, 'partitions');
  if (ae === undefined) io.stdout.write('anti-entropy: not available\n');
  else {
    const inSync = ae.filter((p) => p['inSync'] === true || p['state'] === 'in_sync').length;
    const repairing = ae.filter((p) => p['inSync'] === false || p['repairing'] === true || p['state'] === 'repairing').length;
    const repaired = ae.reduce((sum, p) => sum + (typeof p['keysRepaired'] === 'number' ? p['keysRepaired'] : 0), 0);
    io.stdout.write(`anti-entropy: ${inSync} partitions in sync, ${repairing} repairing, ${ae.length - inSync - repairing} not yet known; ${repaired} keys repaired\n`);
  }
  const tr = listIn(ov.transfers, 'transfers', 'active');
  if (tr === undefined) io.stdout.write('transfers: not available\n');
  else if (tr.length === 0) io.stdout.write('transfers: none\n');
  else {
    const trows = [['PARTITION', 'FROM', 'TO', 'PROGRESS', 'KEYS', 'RATE', 'ETA', 'STATE']];
    for (const x of tr) {
      const done = Number(x['keysSent'] ?? x['keys'] ?? x['bytesSent'] ?? x['bytes'] ?? 0);
      const total = Number(x['keysTotal'] ?? x['bytesTotal'] ?? 0);
      const eta = typeof x['etaMs'] === 'number' ? `${Math.round(x['etaMs'] / 1000)} s` : '-';
      const rate = typeof x['rateKeysPerSecond'] === 'number' ? `${x['rateKeysPerSecond']}/s` : '-';
      const state = String(x['state'] ?? '');
      trows.push([dash(x['partition']), dash(x['from']), dash(x['to']), progressBar(state === 'done' ? 1 : total > 0 ? done / total : 0), total > 0 ? `${done}/${total}` : String(done), rate, eta, state]);
    }
    io.stdout.write(`\n${table(trows)}`);
  }
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
  let ring: { partitions?: Array<{ id?: unknown; owners?: unknown }> };
  try {
    ring = JSON.parse(text) as typeof ring;
  } catch {
    throw new ShoalError('DECODE', 'the server answered /v1/ring with something that is not JSON');
  }
  const ov = await overviewOf(t);
  if (f.json === true) {
    // /v1/ring, with each partition's stand-ins when the node reports them (the dashboard's ring).
    const out = ov?.ring ? JSON.stringify({ version: ov.ring.version, partitions: ov.ring.partitions }) : text;
    io.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
    return EXIT.ok;
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
  if (ov?.ring) {
    const status = new Map(ov.members.map((m) => [m.id, m.status]));
    const notUp = [...status].filter(([, st]) => st !== 'up');
    io.stdout.write(`\nring version ${ov.ring.version}; ${notUp.length === 0 ? 'every owner is up' : `not up: ${notUp.map(([id, st]) => `${id} (${st})`).join(', ')}`}\n`);
    const stand = [['PARTITION', 'STANDS IN (fallback for owner)', 'UNCOVERED (hints kept by the coordinator)']];
    for (const p of ov.ring.partitions) {
      if (p.standIns.length === 0 && p.uncovered.length === 0) continue;
      stand.push([String(p.id), p.standIns.map((x) => `${x.by} for ${x.for}`).join(', ') || '-', p.uncovered.join(', ') || '-']);
    }
    if (stand.length > 1) io.stdout.write(`\n${table(stand)}`);
  }
  return EXIT.ok;
}

export async function runExplain(argv: string[], io: CliIo): Promise<number> {
  const { values: f, positionals } = parseFlags(() =>
    parseArgs({ args: argv, options: { ...COMMON, json: { type: 'boolean' } }, allowPositionals: true, strict: true }),
  );
  const key = keyArg(positionals, 'explain', 1);
  const t = target(f, io);
  const q = t.timeoutMs === undefined ? '' : `?timeout_ms=${t.timeoutMs}`;
  const res = await call(t, 'GET', `${t.base}/v1/explain/${encodeURIComponent(key)}${q}`);
  const text = await res.text();
  if (f.json === true) {
    io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return EXIT.ok;
  }
  type Replica = { node: string; role: string; status: string; ok: boolean; error?: string; tombstone?: boolean; versions?: Array<{ actor: string; counter: number; ts: number; tombstone: boolean; bytes: number }> };
  let x: { key: string; partition: number; preferenceList: Array<{ node: string; role: string; status: string }>; replicas: Replica[]; hints: Array<{ target: string; holder: string }> } & Record<string, unknown>;
  try {
    x = JSON.parse(text) as typeof x;
  } catch {
    throw new ShoalError('DECODE', 'the server answered /v1/explain with something that is not JSON');
  }
  io.stdout.write(`key ${x.key}  partition ${x.partition}\n`);
  for (const [k, v] of Object.entries(x)) {
    if (['key', 'partition', 'preferenceList', 'replicas', 'hints'].includes(k)) continue;
    io.stdout.write(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
  }
  io.stdout.write('\npreference list\n');
  io.stdout.write(table([['#', 'NODE', 'ROLE', 'STATUS'], ...x.preferenceList.map((p, i) => [String(i + 1), p.node, p.role, p.status])]));
  io.stdout.write('\nreplicas (read without repair)\n');
  const rows = [['NODE', 'ROLE', 'STATUS', 'ANSWER', 'VERSIONS (actor:counter bytes time)']];
  for (const r of x.replicas) {
    const versions = r.versions ?? [];
    const answer = !r.ok ? `no answer: ${r.error ?? ''}` : versions.length === 0 ? 'holds nothing' : `${versions.length} version${versions.length > 1 ? 's' : ''}${r.tombstone === true ? ' (tombstone)' : ''}`;
    const first = versions[0];
    const fmt = (v: NonNullable<typeof first>): string => `${v.actor}:${v.counter} ${v.tombstone ? 'tombstone' : `${v.bytes} B`} ${new Date(v.ts).toISOString()}`;
    rows.push([r.node, r.role, r.status, answer, first === undefined ? '-' : fmt(first)]);
    for (const v of versions.slice(1)) rows.push(['', '', '', '', fmt(v)]);
  }
  io.stdout.write(table(rows));
  io.stdout.write(x.hints.length === 0 ? '\nno hints pending for this key on this node\n' : `\nhints pending: ${x.hints.map((h) => `for ${h.target} held by ${h.holder}`).join('; ')}\n`);
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

/** A text progress bar: [#########...........]  45% */
export function progressBar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}
