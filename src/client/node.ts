/**
 * The SDK's Node entry: everything from ./index.js, with the `ws` package as the
 * WebSocket (Node 20 has no global one) and the client token sent as an
 * `Authorization: Bearer` header on the upgrade request rather than in the URL.
 */
import WebSocket from 'ws';
import { connect as connectWith } from './client.js';
import type { ShoalClient } from './client.js';
import type { ConnectOptions, SocketFactory, WebSocketLike } from './types.js';

export * from './index.js';

/** Opens `ws` sockets, sending the token as a header. */
export const nodeSocketFactory: SocketFactory = (url, token) =>
  new WebSocket(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) as unknown as WebSocketLike;

/** `connect` from ./index.js, defaulting to `ws` sockets. */
export function connect(options: ConnectOptions): Promise<ShoalClient> {
  const injected = options.createSocket !== undefined || options.WebSocket !== undefined;
  return connectWith(injected ? options : { ...options, createSocket: nodeSocketFactory });
}
