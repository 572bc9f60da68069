/**
 * A minimal in-memory KvService, so SDK and CLI tests can run against the real API
 * server (src/api) and catch protocol drift between the two sides.
 */
import type { KvService, ReadOptions, ReadResult, WriteOptions, WriteResult } from '../../src/api/index.js';
import { createApiServer, type ApiServer } from '../../src/api/index.js';
import { ShoalError } from '../../src/errors/index.js';

export class MemoryKv implements KvService {
  readonly n = 3;
  readonly partitions = 8;
  readonly maxValueBytes = 1024;
  readonly data = new Map<string, { values: Uint8Array[]; version: number }>();
  readonly calls: Array<{ op: string; key: string; options: ReadOptions | WriteOptions }> = [];
  members: Array<{ id: string; addr: string }> = [];

  async get(key: string, options: ReadOptions): Promise<ReadResult> {
    this.calls.push({ op: 'get', key, options });
    const o = this.data.get(key);
    if (o === undefined) return { siblings: [], context: null };
    return { siblings: o.values.map((value) => ({ value, ts: 1 })), context: `v${o.version}` };
  }

  private write(key: string, value: Uint8Array | null, options: WriteOptions): WriteResult {
    const o = this.data.get(key) ?? { values: [], version: 0 };
    let seen: number | undefined;
    if (options.context !== undefined) {
      const m = /^v(\d+)$/.exec(options.context);
      if (m === null) throw new ShoalError('BAD_REQUEST', 'the context token is not valid');
      seen = Number(m[1]);
    }
    const kept = seen !== undefined && seen >= o.version ? [] : o.values;
    o.values = value === null ? kept : [...kept, new Uint8Array(value)];
    o.version += 1;
    this.data.set(key, o);
    return { context: `v${o.version}` };
  }

  async put(key: string, value: Uint8Array, options: WriteOptions): Promise<WriteResult> {
    this.calls.push({ op: 'put', key, options });
    return this.write(key, value, options);
  }

  async del(key: string, options: WriteOptions): Promise<WriteResult> {
    this.calls.push({ op: 'del', key, options });
    return this.write(key, null, options);
  }

  async local(): Promise<undefined> {
    return undefined;
  }

  async ownCopy(): Promise<undefined> {
    throw new ShoalError('UNAVAILABLE', 'no direct reads here');
  }

  status() {
    return { node: 'n1', n: this.n, partitions: this.partitions, members: [{ id: 'n1', address: '127.0.0.1:1', status: 'up' as const }], hints: { pending: 2 } };
  }

  ring() {
    return { partitions: [{ id: 0, owners: ['n1', 'n2', 'n3'] }] };
  }

  routing() {
    return { q: this.partitions, n: this.n, owners: Array.from({ length: this.partitions }, () => 'n1'), members: this.members };
  }

  async leave(): Promise<void> {
    this.calls.push({ op: 'leave', key: '', options: {} });
  }
}

export async function startApi(options: { clientToken?: string } = {}): Promise<{ api: ApiServer; service: MemoryKv; address: string }> {
  const service = new MemoryKv();
  const api = createApiServer({ service, log: () => undefined, ...options });
  const port = await api.listen(0, '127.0.0.1');
  const address = `127.0.0.1:${port}`;
  service.members = [{ id: 'n1', addr: address }];
  return { api, service, address };
}
