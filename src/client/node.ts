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

/**
 * Opens `ws` sockets, sending the token as a header. Two savings on the hot path:
 *
 * - a zero masking key (ws's `generateMask`), so ws neither copies nor XORs each
 *   request and the node skips unmasking. Masking protects HTTP intermediaries from
 *   frames a hostile web page composes; this entry point runs in Node, not a page.
 * - writes corked until the end of the event-loop turn: the requests an application
 *   issues in one turn (a loop over keys, or many workers woken by one batch of
 *   answers) leave in one write system call instead of one each.
 */
export const nodeSocketFactory: SocketFactory = (url, token) => {
  const ws = new WebSocket(url, { generateMask: zeroMask, ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) });
  const send = ws.send.bind(ws);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    (ws as unknown as { _socket?: Corkable })._socket?.uncork();
  };
  (ws as unknown as { send: (data: Uint8Array) => void }).send = (data: Uint8Array) => {
    const socket = (ws as unknown as { _socket?: Corkable })._socket;
    if (!corked && socket !== undefined && ws.readyState === WebSocket.OPEN) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    send(data);
  };
  return ws as unknown as WebSocketLike;
};

interface Corkable {
  cork(): void;
  uncork(): void;
}

function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

/** `connect` from ./index.js, defaulting to `ws` sockets. */
export function connect(options: ConnectOptions): Promise<ShoalClient> {
  const injected = options.createSocket !== undefined || options.WebSocket !== undefined;
  return connectWith(injected ? options : { ...options, createSocket: nodeSocketFactory });
}
