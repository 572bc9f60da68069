/**
 * Peer links over WebSocket (`/v1/peer` on the node's one port). See index.ts for the
 * design; this file is the I/O: dialing, accepting, the handshake state machine per
 * socket, batching, keepalive and reconnect.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { peerClusterParamsBytesMax, peerIdBytesMax } from '../config/index.js';
import type { Env, TimerHandle } from '../env/index.js';
import { ShoalError } from '../errors/index.js';
import { Endpoint, type FrameSink } from './endpoint.js';
import { decodeFrames, encodeFrames, frameBytes, type Frame } from './envelope.js';
import {
  closeCodes,
  closeReason,
  handshakeMac,
  handshakeVersion,
  macEqual,
  nonceBytes,
  paramsMismatchReason,
  parseHandshake,
  toHex,
  type Challenge,
  type Hello,
  type Role,
} from './handshake.js';
import {
  toLogger,
  transportLimits,
  type Logger,
  type LinkHandler,
  type MessageHandler,
  type RefusedHandler,
  type Transport,
  type TransportLimits,
  type TransportLog,
  type TransportStats,
} from './types.js';

export interface WsTransportOptions {
  /** This node's id. */
  self: string;
  /** The node's listen address; also bound as the source address of every outgoing link. */
  host: string;
  /** Cluster secret. Required unless `insecureLoopback`. */
  secret?: string | undefined;
  /**
   * Run without a secret: ids are still exchanged but no MAC is checked. Allowed only when
   * `host` is a loopback address, and incoming links from non-loopback addresses are refused.
   */
  insecureLoopback?: boolean;
  /** Cluster-wide settings (e.g. "n=3,q=64"); a peer with a different string is refused (4002). */
  clusterParams?: string;
  env: Env;
  log?: TransportLog;
  limits?: Partial<TransportLimits>;
  /**
   * Dial `wss://` (the peers serve TLS). `true` accepts any certificate: peers are
   * authenticated by the HMAC handshake, and TLS adds confidentiality against passive
   * eavesdroppers (the handshake is not bound to the TLS channel, so an active
   * man-in-the-middle with its own certificate is stopped only by `ca`). Pass `ca` (and
   * leave `rejectUnauthorized` on) to verify certificates.
   */
  tls?: boolean | { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Runs the batch flush after the current event-loop turn (default setImmediate). */
  defer?: (fn: () => void) => void;
}

type HsState = 'open' | 'challenge' | 'welcome' | 'hello' | 'auth' | 'done';

interface Seed {
  resolve: (id: string) => void;
  reject: (err: ShoalError) => void;
}

/** Everything we know about one peer id. */
interface PeerEntry {
  id: string;
  /** Where to dial it (from setPeer); undefined: only links it opened (or a seed dial). */
  address: string | undefined;
  /** Our authenticated outgoing link: we send requests and one-way frames on it. */
  out: WsLink | undefined;
  /** An outgoing link mid-handshake. */
  dialing: WsLink | undefined;
  /** Authenticated links the peer opened to us: we answer on them, and send on them while `out` is down. */
  incoming: Set<WsLink>;
  attempt: number;
  reconnectTimer: TimerHandle | undefined;
  up: boolean;
  everOut: boolean;
}

class WsLink implements FrameSink {
  peer = '';
  hs: HsState;
  authed = false;
  /** Set once the link no longer belongs to the transport's tables. */
  detached = false;
  /** We refused it (and already reported that); the close event must not report again. */
  refusedHere = false;
  /** Error a seed dial rejects with when the socket closes before authentication. */
  failure: ShoalError | undefined;
  alive = true;
  /** An accepted socket still counted in the transport's pending-handshake total. */
  countsAsHandshake = false;
  nonce = '';
  remoteNonce = '';
  /** Id claimed in the handshake (before it is proven). */
  claimedId = '';
  deadline: TimerHandle | undefined;
  seed: Seed | undefined;
  private queue: Frame[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;

  constructor(
    private readonly owner: WsTransport,
    readonly ws: WebSocket,
    readonly role: Role,
    /** Dialed address, or the remote ip:port of an accepted socket. */
    readonly address: string,
    readonly remoteIp: string,
    readonly expectedId: string | undefined,
  ) {
    this.hs = role === 'dialer' ? 'open' : 'hello';
  }

  /** Who to name in logs and refusal events. */
  get who(): string {
    return this.peer || this.expectedId || this.claimedId || this.address;
  }

  enqueue(frame: Frame): boolean {
    if (!this.authed || this.detached || this.ws.readyState !== WebSocket.OPEN) return false;
    const size = frameBytes(frame);
    // A WebSocket message never exceeds the frame limit: cut the batch before it would.
    if (this.queuedBytes + size > this.owner.limits.frameBytesMax) this.flush();
    this.queue.push(frame);
    this.queuedBytes += size;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.owner.defer(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  bufferedBytes(): number {
    return this.queuedBytes + this.ws.bufferedAmount;
  }

  /** Sends every queued frame as one WebSocket message. */
  flush(): void {
    if (this.queue.length === 0) return;
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(encodeFrames(frames), { binary: true });
    this.owner.messageSent(this.peer);
  }

  sendText(message: object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}

/** ws's `generateMask` hook: an all-zero key (see `open`). */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

const refusalErrors: Record<number, 'AUTH_FAILED' | 'CONFIG_MISMATCH'> = {
  [closeCodes.authFailed]: 'AUTH_FAILED',
  [closeCodes.configMismatch]: 'CONFIG_MISMATCH',
};

export class WsTransport implements Transport {
  readonly self: string;
  readonly limits: TransportLimits;
  readonly defer: (fn: () => void) => void;
  private readonly host: string;
  private readonly secret: string | undefined;
  private readonly params: string;
  private readonly env: Env;
  private readonly log: Logger;
  private readonly tls: { ca?: string | Buffer; rejectUnauthorized?: boolean } | undefined;
  private readonly endpoint: Endpoint;
  private readonly wss: WebSocketServer;
  private readonly peers = new Map<string, PeerEntry>();
  private readonly links = new Set<WsLink>();
  private handshaking = 0;
  private keepaliveTimer: TimerHandle | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: WsTransportOptions) {
    const { self, host, secret, insecureLoopback = false, clusterParams = '' } = options;
    if (!self || Buffer.byteLength(self) > peerIdBytesMax) throw new ShoalError('INVALID_CONFIG', `node id must be 1..${peerIdBytesMax} bytes`);
    if (Buffer.byteLength(clusterParams) > peerClusterParamsBytesMax) {
      throw new ShoalError('INVALID_CONFIG', `clusterParams over ${peerClusterParamsBytesMax} bytes`);
    }
    if (insecureLoopback) {
      if (secret) throw new ShoalError('INVALID_CONFIG', 'insecureLoopback and a secret are exclusive');
      if (!isLoopback(host)) throw new ShoalError('INVALID_CONFIG', `insecureLoopback needs a loopback host, not ${host}`);
    } else if (!secret) {
      throw new ShoalError('INVALID_CONFIG', 'a cluster secret is required (there is no default)');
    }
    this.self = self;
    this.host = host;
    this.secret = insecureLoopback ? undefined : secret;
    this.params = clusterParams;
    this.env = options.env;
    this.log = toLogger(options.log);
    this.tls = options.tls === true ? { rejectUnauthorized: false } : options.tls || undefined;
    this.limits = transportLimits(options.limits);
    this.defer = options.defer ?? ((fn) => setImmediate(fn));
    this.endpoint = new Endpoint(self, this.env.timers, this.limits, this.log);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.frameBytesMax, perMessageDeflate: false, clientTracking: false });
    this.armKeepalive();
  }

  // ------------------------------------------------------------------ Transport

  setPeer(id: string, address: string): void {
    if (this.closed || id === this.self) return;
    const entry = this.entry(id);
    if (entry.address === address && (entry.out || entry.dialing || entry.reconnectTimer)) return;
    entry.address = address;
    // A link that is up stays: the address is only used for the next dial.
    if (entry.out) return;
    if (entry.reconnectTimer) this.env.timers.clearTimeout(entry.reconnectTimer);
    entry.reconnectTimer = undefined;
    if (entry.dialing) {
      if (entry.dialing.address === address) return;
      const old = entry.dialing;
      entry.dialing = undefined;
      this.detach(old, 'address changed');
      old.ws.terminate();
    }
    entry.attempt = 0;
    this.dial(entry);
  }

  connectSeed(address: string): Promise<string> {
    if (this.closed) return Promise.reject(new ShoalError('CLOSED', 'transport closed'));
    return new Promise<string>((resolve, reject) => {
      const link = this.open(address, undefined);
      link.seed = { resolve, reject };
    });
  }

  removePeer(id: string): void {
    const entry = this.peers.get(id);
    if (!entry) return;
    entry.address = undefined;
    if (entry.reconnectTimer) this.env.timers.clearTimeout(entry.reconnectTimer);
    entry.reconnectTimer = undefined;
    for (const link of [entry.dialing, entry.out, ...entry.incoming]) {
      if (!link) continue;
      this.detach(link, 'peer removed');
      link.ws.close(closeCodes.normal, 'peer removed');
    }
    this.peers.delete(id);
  }

  send(to: string, payload: Uint8Array): boolean {
    return this.endpoint.send(this.sinkFor(to), to, payload);
  }

  request(to: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.endpoint.request(this.sinkFor(to), to, payload, timeoutMs);
  }

  onMessage(handler: MessageHandler): void {
    this.endpoint.onMessage(handler);
  }

  onLink(handler: LinkHandler): void {
    this.endpoint.onLink(handler);
  }

  onRefused(handler: RefusedHandler): void {
    this.endpoint.onRefused(handler);
  }

  stats(): TransportStats {
    return this.endpoint.stats();
  }

  /** Counts one WebSocket message (a flushed batch) to `peer`. */
  messageSent(peer: string): void {
    this.endpoint.peer(peer).messagesSent++;
  }

  /**
   * Accepts a peer connection. The node calls this from its http.Server's 'upgrade' event
   * for the path /v1/peer (it owns the one port and the routing).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.keepaliveTimer) this.env.timers.clearTimeout(this.keepaliveTimer);
    for (const entry of this.peers.values()) {
      if (entry.reconnectTimer) this.env.timers.clearTimeout(entry.reconnectTimer);
      entry.reconnectTimer = undefined;
    }
    this.endpoint.close();
    const waits: Promise<void>[] = [];
    for (const link of [...this.links]) {
      this.detach(link, 'transport closed', { quiet: true });
      if (link.seed) link.seed.reject(new ShoalError('CLOSED', 'transport closed'));
      link.seed = undefined;
      waits.push(this.closeSocket(link.ws));
    }
    this.peers.clear();
    this.closing = Promise.all(waits).then(
      () =>
        new Promise<void>((resolve) => {
          this.wss.close(() => resolve());
        }),
    );
    return this.closing;
  }

  // ------------------------------------------------------------------ links

  private entry(id: string): PeerEntry {
    let e = this.peers.get(id);
    if (!e) {
      e = { id, address: undefined, out: undefined, dialing: undefined, incoming: new Set(), attempt: 0, reconnectTimer: undefined, up: false, everOut: false };
      this.peers.set(id, e);
    }
    return e;
  }

  /** Our own outgoing link when it is up; otherwise one the peer opened. */
  private sinkFor(to: string): FrameSink | undefined {
    const e = this.peers.get(to);
    if (!e) return undefined;
    if (e.out) return e.out;
    let last: WsLink | undefined;
    for (const l of e.incoming) last = l;
    return last;
  }

  private dial(entry: PeerEntry): void {
    if (this.closed || entry.address === undefined) return;
    entry.dialing = this.open(entry.address, entry.id);
  }

  /** Opens an outgoing socket and starts the dialer side of the handshake. */
  private open(address: string, expectedId: string | undefined): WsLink {
    const url = `${this.tls ? 'wss' : 'ws'}://${address}/v1/peer`;
    const ws = new WebSocket(url, {
      maxPayload: this.limits.frameBytesMax,
      perMessageDeflate: false,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
      followRedirects: false,
      // A zero masking key: ws then neither copies nor XORs each outgoing message, and the
      // receiver skips unmasking. Masking guards HTTP intermediaries against frames a
      // hostile page composes; peer links carry only what two authenticated nodes encode.
      generateMask: zeroMask,
      ...(isIP(this.host) !== 0 ? { localAddress: this.host } : {}),
      ...(this.tls ?? {}),
    });
    const link = new WsLink(this, ws, 'dialer', address, '', expectedId);
    this.track(link);
    ws.on('open', () => {
      if (link.detached) return;
      link.nonce = toHex(this.env.random.bytes(nonceBytes));
      const hello: Hello = { t: 'hello', v: handshakeVersion, id: this.self, nonce: link.nonce, params: this.params, sec: this.secret !== undefined };
      link.sendText(hello);
      link.hs = 'challenge';
    });
    return link;
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const ip = req.socket.remoteAddress ?? '';
    const link = new WsLink(this, ws, 'acceptor', `${ip}:${req.socket.remotePort ?? 0}`, ip, undefined);
    if (this.closed) {
      ws.terminate();
      return;
    }
    if (this.handshaking >= this.limits.handshakesPendingMax) {
      this.log.warn('too many peer handshakes pending; refusing a connection', { remote: link.address });
      ws.close(closeCodes.tryAgainLater, 'too many handshakes pending');
      return;
    }
    this.handshaking++;
    link.countsAsHandshake = true;
    this.track(link);
    if (this.secret === undefined && !isLoopback(ip)) {
      this.refuse(link, closeCodes.authFailed, `insecure loopback node refuses non-loopback peer ${ip}`);
    }
  }

  /** Common wiring for both directions: events, handshake deadline. */
  private track(link: WsLink): void {
    this.links.add(link);
    const { ws } = link;
    link.deadline = this.env.timers.setTimeout(() => {
      link.deadline = undefined;
      if (link.authed) return;
      link.failure = new ShoalError('TIMEOUT', `handshake with ${link.who} not finished within ${this.limits.handshakeTimeoutMs} ms`);
      this.log.warn('peer handshake deadline passed; closing the socket', { who: link.who });
      ws.terminate();
    }, this.limits.handshakeTimeoutMs);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onSocketMessage(link, data, isBinary));
    ws.on('pong', () => {
      link.alive = true;
    });
    ws.on('error', (err: Error) => {
      if (!link.failure) link.failure = new ShoalError('CLOSED', `${link.who}: ${err.message}`, { cause: err });
      this.log.info('peer socket error', { who: link.who, error: err.message });
    });
    ws.on('close', (code: number, reason: Buffer) => this.onSocketClose(link, code, reason.toString('utf8')));
  }

  private onSocketMessage(link: WsLink, data: RawData, isBinary: boolean): void {
    if (link.detached) return;
    link.alive = true;
    const bytes = toBytes(data);
    if (link.authed) {
      if (!isBinary) return this.violation(link, 'text message after the handshake');
      let frames: Frame[];
      try {
        frames = decodeFrames(bytes, this.limits.payloadBytesMax);
      } catch (err) {
        return this.violation(link, err instanceof Error ? err.message : 'bad frame');
      }
      this.endpoint.receive(link, frames);
      return;
    }
    if (isBinary) return this.refuse(link, closeCodes.authFailed, 'binary frame before the handshake finished');
    if (bytes.byteLength > this.limits.handshakeBytesMax) return this.refuse(link, closeCodes.authFailed, 'handshake message too large');
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    const limits = { idBytesMax: peerIdBytesMax, paramsBytesMax: peerClusterParamsBytesMax };
    try {
      switch (link.hs) {
        case 'hello':
          return this.onHello(link, parseHandshake(text, 'hello', limits));
        case 'challenge':
          return this.onChallenge(link, parseHandshake(text, 'challenge', limits));
        case 'auth':
          return this.onAuth(link, parseHandshake(text, 'auth', limits).mac);
        case 'welcome':
          parseHandshake(text, 'welcome', limits);
          return this.authenticated(link, link.claimedId);
        default:
          return this.refuse(link, closeCodes.authFailed, `unexpected handshake message in state ${link.hs}`);
      }
    } catch (err) {
      return this.refuse(link, closeCodes.authFailed, `bad handshake: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Acceptor: the dialer's hello. */
  private onHello(link: WsLink, hello: Hello): void {
    link.claimedId = hello.id;
    if (hello.v !== handshakeVersion) return this.refuse(link, closeCodes.configMismatch, `handshake version differs: acceptor ${handshakeVersion}, dialer ${hello.v}`);
    if (hello.params !== this.params) return this.refuse(link, closeCodes.configMismatch, paramsMismatchReason(this.params, hello.params));
    if (hello.id === this.self) return this.refuse(link, closeCodes.authFailed, `peer claims our own id ${this.self}`);
    if (hello.sec !== (this.secret !== undefined)) return this.refuse(link, closeCodes.authFailed, secretModeReason(this.secret !== undefined));
    link.remoteNonce = hello.nonce;
    link.nonce = toHex(this.env.random.bytes(nonceBytes));
    const mac =
      this.secret === undefined
        ? ''
        : handshakeMac(this.secret, 'acceptor', { dialerNonce: hello.nonce, acceptorNonce: link.nonce, dialerId: hello.id, acceptorId: this.self, params: this.params });
    const challenge: Challenge = { t: 'challenge', v: handshakeVersion, id: this.self, nonce: link.nonce, params: this.params, sec: this.secret !== undefined, mac };
    link.sendText(challenge);
    link.hs = 'auth';
  }

  /** Dialer: the acceptor's proof. */
  private onChallenge(link: WsLink, c: Challenge): void {
    link.claimedId = c.id;
    if (c.v !== handshakeVersion) return this.refuse(link, closeCodes.configMismatch, `handshake version differs: acceptor ${c.v}, dialer ${handshakeVersion}`);
    if (c.params !== this.params) return this.refuse(link, closeCodes.configMismatch, paramsMismatchReason(c.params, this.params));
    if (c.id === this.self) return this.refuse(link, closeCodes.authFailed, `dialed ourselves at ${link.address}`);
    if (link.expectedId !== undefined && c.id !== link.expectedId) {
      return this.refuse(link, closeCodes.authFailed, `expected ${link.expectedId} at ${link.address}, it claims ${c.id}`);
    }
    if (c.sec !== (this.secret !== undefined)) return this.refuse(link, closeCodes.authFailed, secretModeReason(c.sec));
    let mac = '';
    if (this.secret !== undefined) {
      const fields = { dialerNonce: link.nonce, acceptorNonce: c.nonce, dialerId: this.self, acceptorId: c.id, params: this.params };
      if (!macEqual(handshakeMac(this.secret, 'acceptor', fields), c.mac)) {
        return this.refuse(link, closeCodes.authFailed, `${c.id} at ${link.address} failed to prove the cluster secret`);
      }
      mac = handshakeMac(this.secret, 'dialer', fields);
    }
    link.sendText({ t: 'auth', mac });
    link.hs = 'welcome';
  }

  /** Acceptor: the dialer's proof. */
  private onAuth(link: WsLink, mac: string): void {
    const id = link.claimedId;
    if (this.secret !== undefined) {
      const fields = { dialerNonce: link.remoteNonce, acceptorNonce: link.nonce, dialerId: id, acceptorId: this.self, params: this.params };
      if (!macEqual(handshakeMac(this.secret, 'dialer', fields), mac)) {
        return this.refuse(link, closeCodes.authFailed, `${id} from ${link.remoteIp} failed to prove the cluster secret`);
      }
    }
    // An id may have several links from its own address (a reconnect racing the old
    // socket's death), but a second address claiming an authenticated id is an impostor
    // or a misconfigured twin: either way, the first one keeps the id.
    const existing = this.peers.get(id);
    for (const other of existing?.incoming ?? []) {
      if (other.remoteIp !== link.remoteIp) {
        return this.refuse(link, closeCodes.authFailed, `${id} is already connected from ${other.remoteIp}, refused from ${link.remoteIp}`);
      }
    }
    link.sendText({ t: 'welcome' });
    this.authenticated(link, id);
  }

  private authenticated(link: WsLink, id: string): void {
    link.hs = 'done';
    link.authed = true;
    link.peer = id;
    if (link.deadline) this.env.timers.clearTimeout(link.deadline);
    link.deadline = undefined;
    this.endHandshake(link);
    const entry = this.entry(id);
    if (link.seed) {
      link.seed.resolve(id);
      link.seed = undefined;
    }
    if (link.role === 'acceptor') {
      entry.incoming.add(link);
    } else {
      if (entry.dialing === link) entry.dialing = undefined;
      if (entry.out) {
        // Already linked (a seed dial and a gossip dial raced): one outgoing link is enough.
        this.detach(link, 'duplicate link', { quiet: true });
        link.ws.close(closeCodes.normal, 'duplicate link');
        return;
      }
      entry.out = link;
      entry.attempt = 0;
      if (entry.everOut) this.endpoint.peer(id).reconnects++;
      entry.everOut = true;
    }
    this.log.info('peer link up', { peer: id, role: link.role, address: link.address });
    this.updateUp(entry);
  }

  private updateUp(entry: PeerEntry): void {
    const up = entry.out !== undefined || entry.incoming.size > 0;
    if (up !== entry.up) {
      entry.up = up;
      this.endpoint.emitLink(entry.id, up);
    }
  }

  /** Refuses a handshake: reported here, and the close code tells the other side. */
  private refuse(link: WsLink, code: number, reason: string): void {
    link.refusedHere = true;
    link.failure = new ShoalError(refusalErrors[code] ?? 'AUTH_FAILED', reason);
    this.endpoint.emitRefused(link.who, code, reason);
    link.ws.close(code, closeReason(reason));
    this.detach(link, reason);
  }

  /** A malformed envelope: close only this connection (1007); the node keeps serving. */
  private violation(link: WsLink, reason: string): void {
    this.log.warn('peer protocol violation; closing the connection', { peer: link.peer, reason });
    this.detach(link, `protocol violation: ${reason}`);
    link.ws.close(closeCodes.invalidData, closeReason(reason));
  }

  private onSocketClose(link: WsLink, code: number, reason: string): void {
    this.links.delete(link);
    if (link.deadline) this.env.timers.clearTimeout(link.deadline);
    link.deadline = undefined;
    const refusedThere = !link.authed && !link.refusedHere && (code === closeCodes.authFailed || code === closeCodes.configMismatch);
    if (refusedThere) {
      link.failure = new ShoalError(refusalErrors[code] ?? 'AUTH_FAILED', reason || `refused with ${code}`);
      this.endpoint.emitRefused(link.who, code, reason);
    }
    if (link.seed) {
      link.seed.reject(link.failure ?? new ShoalError('CLOSED', `${link.address} closed the connection (${code}${reason ? ` ${reason}` : ''})`));
      link.seed = undefined;
    }
    this.detach(link, reason || `closed (${code})`, { refused: refusedThere || link.refusedHere });
  }

  /**
   * Removes a link from every table, at once (not when its socket finally closes), so
   * pending requests fail and link events fire as soon as we decide a link is gone.
   */
  private detach(link: WsLink, reason: string, options: { quiet?: boolean; refused?: boolean } = {}): void {
    if (link.detached) return;
    link.detached = true;
    if (link.deadline) this.env.timers.clearTimeout(link.deadline);
    link.deadline = undefined;
    this.endHandshake(link);
    if (link.authed) this.endpoint.sinkClosed(link, reason);
    const id = link.peer || link.expectedId;
    const entry = id === undefined ? undefined : this.peers.get(id);
    if (!entry) return;
    let wasDial = false;
    if (entry.out === link) {
      entry.out = undefined;
      wasDial = true;
    }
    if (entry.dialing === link) {
      entry.dialing = undefined;
      wasDial = true;
    }
    entry.incoming.delete(link);
    if (link.authed) this.log.info('peer link down', { peer: entry.id, role: link.role, reason });
    if (!options.quiet) this.updateUp(entry);
    if (wasDial && !this.closed) {
      // A refused peer will most likely refuse again: go straight to the longest delay.
      if (options.refused || link.refusedHere) entry.attempt = Math.max(entry.attempt, 32);
      this.scheduleReconnect(entry);
    }
    if (entry.address === undefined && !entry.out && !entry.dialing && entry.incoming.size === 0) this.peers.delete(entry.id);
  }

  /** An accepted socket stops counting against handshakesPendingMax (once). */
  private endHandshake(link: WsLink): void {
    if (!link.countsAsHandshake) return;
    link.countsAsHandshake = false;
    this.handshaking--;
  }

  private scheduleReconnect(entry: PeerEntry): void {
    if (this.closed || entry.address === undefined || entry.out || entry.dialing || entry.reconnectTimer) return;
    const ceiling = Math.min(this.limits.reconnectMaxMs, this.limits.reconnectBaseMs * 2 ** Math.min(entry.attempt, 32));
    entry.attempt++;
    // "Equal jitter": at least half the ceiling, so retries still back off, plus a random
    // half so peers that lost the same node do not redial it in lockstep.
    const delay = ceiling / 2 + this.env.random.float() * (ceiling / 2);
    entry.reconnectTimer = this.env.timers.setTimeout(() => {
      entry.reconnectTimer = undefined;
      if (this.peers.get(entry.id) === entry && !entry.out && !entry.dialing) this.dial(entry);
    }, delay);
  }

  private armKeepalive(): void {
    this.keepaliveTimer = this.env.timers.setTimeout(() => {
      if (this.closed) return;
      for (const link of this.links) {
        if (!link.authed || link.detached) continue;
        if (!link.alive) {
          this.log.warn('peer link silent for a keepalive period; terminating', { peer: link.peer });
          this.detach(link, 'keepalive timeout');
          link.ws.terminate();
          continue;
        }
        link.alive = false;
        try {
          link.ws.ping();
        } catch {
          // The socket is closing; its close event cleans up.
        }
      }
      this.armKeepalive();
    }, this.limits.keepaliveIntervalMs);
  }

  private closeSocket(ws: WebSocket): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.env.timers.setTimeout(() => ws.terminate(), this.limits.closeTimeoutMs);
      ws.once('close', () => {
        this.env.timers.clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(closeCodes.goingAway, 'shutting down');
    });
  }
}

function secretModeReason(weHaveSecret: boolean): string {
  return weHaveSecret ? 'the peer runs without a cluster secret; this node requires one' : 'the peer requires a cluster secret; this node runs without one';
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Loopback literals and names: 127/8, ::1, IPv4-mapped 127/8, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}
