/**
 * The peer handshake: messages, their strict parsing, and the HMAC proofs. No sockets
 * here, so tests can act as a legitimate peer, record a transcript and replay it.
 *
 *   dialer   -> acceptor  hello     {t, v, id: dialerId, nonce: nonceD, params, sec}
 *   acceptor -> dialer    challenge {t, v, id: acceptorId, nonce: nonceA, params, sec,
 *                                    mac: HMAC(secret, "shoal-peer-v1 acceptor", nonceD, nonceA, acceptorId, dialerId, params)}
 *   dialer   -> acceptor  auth      {t, mac: HMAC(secret, "shoal-peer-v1 dialer", nonceA, nonceD, dialerId, acceptorId, params)}
 *   acceptor -> dialer    welcome   {t}
 *
 * Each side proves it knows the secret over a nonce the *other* side just drew, so a
 * recorded transcript replayed later fails: the replayer cannot answer a fresh nonce.
 * The role label stops a reflected proof (an acceptor's MAC sent back as a dialer's),
 * and both ids are inside the MACs so a proof made for one pair of nodes does not
 * authenticate another. MAC fields are length-prefixed so no field can bleed into the
 * next. Comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ShoalError } from '../errors/index.js';

export const handshakeVersion = 1;
export const nonceBytes = 32;

export interface Hello {
  t: 'hello';
  v: number;
  id: string;
  nonce: string;
  params: string;
  /** Whether the sender authenticates with a secret (false: insecure loopback mode). */
  sec: boolean;
}

export interface Challenge {
  t: 'challenge';
  v: number;
  id: string;
  nonce: string;
  params: string;
  sec: boolean;
  /** Hex HMAC, or '' in insecure loopback mode. */
  mac: string;
}

export interface Auth {
  t: 'auth';
  mac: string;
}

export interface Welcome {
  t: 'welcome';
}

export type HandshakeMessage = Hello | Challenge | Auth | Welcome;

export type Role = 'acceptor' | 'dialer';

const hexNonce = /^[0-9a-f]{64}$/;
const hexMac = /^[0-9a-f]{64}$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * The proof `role` sends. For the acceptor: (nonceD, nonceA, acceptorId, dialerId); for
 * the dialer: (nonceA, nonceD, dialerId, acceptorId): own nonce last, own id first.
 */
export function handshakeMac(
  secret: string,
  role: Role,
  fields: { dialerNonce: string; acceptorNonce: string; dialerId: string; acceptorId: string; params: string },
): string {
  const ordered =
    role === 'acceptor'
      ? [fields.dialerNonce, fields.acceptorNonce, fields.acceptorId, fields.dialerId, fields.params]
      : [fields.acceptorNonce, fields.dialerNonce, fields.dialerId, fields.acceptorId, fields.params];
  const h = createHmac('sha256', secret);
  for (const part of [`shoal-peer-v1 ${role}`, ...ordered]) {
    const bytes = Buffer.from(part, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.byteLength);
    h.update(len);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** Constant-time comparison of two hex MACs; false on any malformed input. */
export function macEqual(expected: string, got: string): boolean {
  if (!hexMac.test(got) || !hexMac.test(expected)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(got, 'hex'));
}

/** Parses one handshake message of the expected type; throws ShoalError DECODE on anything else. */
export function parseHandshake<T extends HandshakeMessage['t']>(
  text: string,
  expected: T,
  limits: { idBytesMax: number; paramsBytesMax: number },
): Extract<HandshakeMessage, { t: T }> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ShoalError('DECODE', 'handshake message is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ShoalError('DECODE', 'handshake message is not an object');
  const m = raw as Record<string, unknown>;
  if (m.t !== expected) throw new ShoalError('DECODE', `expected handshake ${expected}, got ${String(m.t).slice(0, 20)}`);
  const keys: Record<HandshakeMessage['t'], string[]> = {
    hello: ['t', 'v', 'id', 'nonce', 'params', 'sec'],
    challenge: ['t', 'v', 'id', 'nonce', 'params', 'sec', 'mac'],
    auth: ['t', 'mac'],
    welcome: ['t'],
  };
  const allowed = keys[expected];
  for (const k of Object.keys(m)) if (!allowed.includes(k)) throw new ShoalError('DECODE', `unexpected handshake field ${k.slice(0, 20)}`);
  for (const k of allowed) if (!(k in m)) throw new ShoalError('DECODE', `missing handshake field ${k}`);
  if ('v' in m && (typeof m.v !== 'number' || !Number.isInteger(m.v))) throw new ShoalError('DECODE', 'bad handshake version');
  if ('id' in m) checkString(m.id, 'id', 1, limits.idBytesMax);
  if ('params' in m) checkString(m.params, 'params', 0, limits.paramsBytesMax);
  if ('nonce' in m && (typeof m.nonce !== 'string' || !hexNonce.test(m.nonce))) throw new ShoalError('DECODE', 'bad handshake nonce');
  if ('sec' in m && typeof m.sec !== 'boolean') throw new ShoalError('DECODE', 'bad handshake sec flag');
  if ('mac' in m && (typeof m.mac !== 'string' || (m.mac !== '' && !hexMac.test(m.mac)))) throw new ShoalError('DECODE', 'bad handshake mac');
  return m as unknown as Extract<HandshakeMessage, { t: T }>;
}

function checkString(v: unknown, name: string, minBytes: number, maxBytes: number): void {
  if (typeof v !== 'string') throw new ShoalError('DECODE', `handshake ${name} is not a string`);
  const n = Buffer.byteLength(v, 'utf8');
  if (n < minBytes || n > maxBytes) throw new ShoalError('DECODE', `handshake ${name} of ${n} bytes out of range`);
}

/** WebSocket close reasons hold at most 123 bytes of UTF-8; cut on a character boundary. */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out, 'utf8') > 123) out = out.slice(0, -1);
  return out;
}

/** The reason both sides report when cluster parameters differ (names both values). */
export function paramsMismatchReason(acceptorParams: string, dialerParams: string): string {
  const cut = (s: string): string => (s.length > 48 ? `${s.slice(0, 45)}...` : s);
  return closeReason(`cluster params differ: acceptor ${cut(acceptorParams)}, dialer ${cut(dialerParams)}`);
}

/** Close codes of a refused handshake. */
export const closeCodes = {
  /** Authentication or identity failure. */
  authFailed: 4001,
  /** Cluster parameters (or the handshake version) differ. */
  configMismatch: 4002,
  /** Malformed envelope after the handshake (RFC 6455: inconsistent data). */
  invalidData: 1007,
  /** Too many handshakes pending; try again later. */
  tryAgainLater: 1013,
  /** Normal closure (duplicate link, removePeer). */
  normal: 1000,
  /** Going away (transport closed). */
  goingAway: 1001,
} as const;
