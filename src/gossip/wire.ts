/**
 * Validation of gossiped content and conversion between the wire shapes and ours. The
 * wire layer has already checked types and sizes; here we check meaning: ids that are
 * not empty, addresses that are HOST:PORT, counters that are non-negative integers, a
 * ring with exactly our partition count. Anything that fails is skipped, never thrown.
 */
import { wireAddrBytesMax, wireIdBytesMax } from '../config/index.js';
import type { RingState } from '../ring/types.js';
import type { MemberWire, RingWire } from '../wire/messages.js';

const utf8 = new TextEncoder();

function utf8Within(s: string, max: number): boolean {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes, so most strings are decided without encoding.
  return s.length * 3 <= max || (s.length <= max && utf8.encode(s).length <= max);
}

/** A node id: a non-empty string within the wire's id limit. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && utf8Within(id, wireIdBytesMax);
}

const hostPort = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?):([0-9]{1,5})$/;

/** HOST:PORT with a DNS name, IPv4 address or bracketed IPv6 address, and a port 1..65535. */
export function isHostPort(addr: unknown): addr is string {
  if (typeof addr !== 'string' || addr.length > wireAddrBytesMax) return false;
  const m = hostPort.exec(addr);
  if (!m) return false;
  const port = Number(m[1]);
  return port >= 1 && port <= 65_535;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** A member record we may merge: every field present and meaningful. */
export function isValidMember(m: MemberWire): boolean {
  return (
    isValidId(m.id) &&
    isHostPort(m.addr) &&
    isCount(m.inc) &&
    isCount(m.hb) &&
    (m.st === 'up' || m.st === 'leaving' || m.st === 'left') &&
    isCount(m.n) &&
    m.n > 0 &&
    isCount(m.q) &&
    m.q > 0 &&
    (m.rv === undefined || isCount(m.rv))
  );
}

/** Orders two records of the same member by (incarnation, heartbeat): both only ever grow, and only the member itself bumps them. */
export function compareVersion(a: MemberWire, b: MemberWire): number {
  return a.inc - b.inc || a.hb - b.hb;
}

/** Same version but different content: only possible when a member lost its state and reused a version. */
export function sameContent(a: MemberWire, b: MemberWire): boolean {
  return a.addr === b.addr && a.st === b.st && a.n === b.n && a.q === b.q && (a.rv ?? 0) === (b.rv ?? 0);
}

/** Our ring on the wire. "No ring yet" is an empty ring (the message type requires one). */
export function ringToWire(ring: RingState | undefined): RingWire {
  if (ring === undefined) return { v: 0, c: '', o: [] };
  return ring.next ? { v: ring.version, c: ring.claimant, o: [...ring.owners], x: [...ring.next] } : { v: ring.version, c: ring.claimant, o: [...ring.owners] };
}

/**
 * The ring a peer gossiped: `undefined` when it has none yet, `null` when it is not a
 * valid ring for our partition count (ignored, like any invalid content).
 */
export function ringFromWire(wire: RingWire, partitions: number): RingState | undefined | null {
  if (wire.o.length === 0) return undefined;
  if (wire.o.length !== partitions || !isCount(wire.v) || !isValidId(wire.c)) return null;
  for (const owner of wire.o) if (!isValidId(owner)) return null;
  if (wire.x !== undefined) {
    if (wire.x.length !== partitions) return null;
    for (const owner of wire.x) if (!isValidId(owner)) return null;
    return { partitions, owners: [...wire.o], version: wire.v, claimant: wire.c, next: [...wire.x] };
  }
  return { partitions, owners: [...wire.o], version: wire.v, claimant: wire.c };
}
