/**
 * Client authentication and the browser Origin check.
 *
 * The token is compared in constant time: both sides are hashed with SHA-256 first so
 * the comparison always runs over 32 equal-length bytes (timingSafeEqual refuses unequal
 * lengths, and comparing lengths first would leak the token's length).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The subprotocol a browser client offers (and we select) on /v1/ws. */
export const WS_PROTOCOL = 'shoal.v1';
/**
 * Prefix of the subprotocol that carries a browser's token: `shoal.bearer.` followed by
 * the token in base64url. Browsers cannot set an Authorization header on a WebSocket, and
 * a `?token=` query parameter ends up in proxy and access logs; a subprotocol does not.
 * We never echo it back: the server selects `shoal.v1`.
 */
export const WS_BEARER_PREFIX = 'shoal.bearer.';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time token comparison. */
export function tokenMatches(expected: string, presented: string): boolean {
  return timingSafeEqual(digest(expected), digest(presented));
}

/** The token from `Authorization: Bearer TOKEN` (scheme case-insensitive), or undefined. */
export function bearerFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  return m?.[1];
}

/** The token from a `shoal.bearer.BASE64URL` subprotocol offer, or undefined. */
export function bearerFromProtocols(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(',')) {
    const p = part.trim();
    if (p.startsWith(WS_BEARER_PREFIX)) {
      return Buffer.from(p.slice(WS_BEARER_PREFIX.length), 'base64url').toString('utf8');
    }
  }
  return undefined;
}

/**
 * Whether the request carries the client token (always true when no token is set).
 * WebSocket upgrades may carry it as a subprotocol as well as a header.
 */
export function isAuthorized(req: IncomingMessage, token: string | undefined, allowSubprotocol: boolean): boolean {
  if (token === undefined) return true;
  const fromHeader = bearerFromHeader(req.headers.authorization);
  if (fromHeader !== undefined) return tokenMatches(token, fromHeader);
  if (allowSubprotocol) {
    const fromProto = bearerFromProtocols(req.headers['sec-websocket-protocol']);
    if (fromProto !== undefined) return tokenMatches(token, fromProto);
  }
  return false;
}

/**
 * Browser Origin check for /v1/ws (cross-site WebSocket hijacking: a page on another
 * site could otherwise open a socket with the user's network position). No Origin header
 * means a non-browser client, which is allowed (the token guards it). Otherwise the
 * Origin must be this node itself (same origin: the dashboard) or on the allow-list.
 */
export function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[], tls: boolean): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowedOrigins.includes('*') || allowedOrigins.includes(origin)) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  return origin.toLowerCase() === `${tls ? 'https' : 'http'}://${host.toLowerCase()}`;
}
