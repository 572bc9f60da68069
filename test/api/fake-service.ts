/**
 * An in-memory KvService for the API tests. Each key holds a list of siblings and a
 * version counter; a context token is `v<version>` of the key. A write with the current
 * token replaces every sibling (it saw them all); a blind write, or one with an older
 * token, adds a sibling. A delete with the current token leaves a tombstone. Calls are
 * recorded, failures can be injected, and requests can be held open with a gate.
 */
import { ShoalError } from '../../src/errors/index.js';
import type { KvService, LocalCopy, ReadOptions, ReadResult, RingView, StatusView, WriteOptions, WriteResult } from '../../src/api/index.js';
import type { DVVSet, Sibling } from '../../src/vclock/types.js';

interface Obj {
  siblings: Sibling[];
  version: number;
}

export interface Call {
  op: 'get' | 'put' | 'del' | 'local' | 'own' | 'leave';
  key?: string;
  options?: ReadOptions | WriteOptions;
  value?: Uint8Array;
}

export class FakeService implements KvService {
  readonly n = 3;
  readonly partitions = 8;
  readonly data = new Map<string, Obj>();
  readonly calls: Call[] = [];
  /** Thrown by the next get/put/del (then cleared). */
  failNext: unknown = undefined;
  /** While set, get/put/del wait for it before answering. */
  gate: Promise<void> | undefined = undefined;
  /** Resolves when a get/put/del call starts (for tests that hold requests open). */
  private waiters: Array<() => void> = [];
  leaveCalls = 0;

  constructor(readonly maxValueBytes = 1024) {}

  /** Holds every following get/put/del until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((r) => {
      release = r;
    });
    return () => {
      this.gate = undefined;
      release();
    };
  }

  /** Resolves once `count` get/put/del calls have been recorded in total. */
  async callsReach(count: number): Promise<void> {
    while (this.kvCalls() < count) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  kvCalls(): number {
    return this.calls.filter((c) => c.op === 'get' || c.op === 'put' || c.op === 'del').length;
  }

  private async enter(call: Call): Promise<void> {
    this.calls.push(call);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    if (this.gate !== undefined) await this.gate;
    const err = this.failNext;
    if (err !== undefined) {
      this.failNext = undefined;
      throw err;
    }
  }

  private check(context: string | undefined): number | undefined {
    if (context === undefined) return undefined;
    const m = /^v([0-9]+)$/.exec(context);
    if (m === null) throw new ShoalError('BAD_REQUEST', 'the context token is not valid');
    return Number(m[1]);
  }

  async get(key: string, options: ReadOptions): Promise<ReadResult> {
    await this.enter({ op: 'get', key, options });
    const o = this.data.get(key);
    if (o === undefined) return { siblings: [], context: null };
    return { siblings: o.siblings.filter((s) => s.value !== null), context: `v${o.version}` };
  }

  private write(key: string, value: Uint8Array | null, options: WriteOptions): WriteResult {
    const seen = this.check(options.context);
    const o = this.data.get(key) ?? { siblings: [], version: 0 };
    const sibling: Sibling = { value, ts: 1 };
    if (seen !== undefined && seen >= o.version) o.siblings = [sibling];
    else if (value === null) {
      // A delete without a current context deletes nothing it has not seen.
      if (o.siblings.length === 0) o.siblings = [sibling];
    } else o.siblings = [...o.siblings.filter((s) => s.value !== null), sibling];
    o.version += 1;
    this.data.set(key, o);
    return { context: `v${o.version}` };
  }

  async put(key: string, value: Uint8Array, options: WriteOptions): Promise<WriteResult> {
    await this.enter({ op: 'put', key, options, value });
    return this.write(key, value, options);
  }

  async del(key: string, options: WriteOptions): Promise<WriteResult> {
    await this.enter({ op: 'del', key, options });
    return this.write(key, null, options);
  }

  async local(key: string): Promise<LocalCopy | undefined> {
    this.calls.push({ op: 'local', key });
    const o = this.data.get(key);
    if (o === undefined) return undefined;
    return { siblings: o.siblings, context: `v${o.version}`, tombstone: o.siblings.every((s) => s.value === null) };
  }

  /** The key as one DVVSet entry of actor `n1` (its siblings newest first); failNext applies. */
  async ownCopy(key: string): Promise<DVVSet | undefined> {
    await this.enter({ op: 'own', key });
    const o = this.data.get(key);
    if (o === undefined) return undefined;
    return { entries: [{ id: 'n1', n: o.version, ts: 0, values: [...o.siblings].reverse() }], anon: [] };
  }

  status(): StatusView {
    return { node: 'n1', n: this.n, partitions: this.partitions, members: [{ id: 'n1', address: '127.0.0.1:1', status: 'up' }], hints: { pending: 0 } };
  }

  ring(): RingView {
    return { partitions: [{ id: 0, owners: ['n1', 'n2', 'n3'] }] };
  }

  routing(): { q: number; n: number; r: number; owners: readonly string[]; members: ReadonlyArray<{ id: string; addr: string }> } {
    return { q: this.partitions, n: this.n, r: 2, owners: ['n1', 'n2'], members: [{ id: 'n1', addr: '127.0.0.1:1' }] };
  }

  async leave(): Promise<void> {
    this.calls.push({ op: 'leave' });
    this.leaveCalls += 1;
  }
}
