// The SIP transport layer (RFC 3261 section 18): listens on several transports and addresses at once, frames and
// parses what arrives, stamps received/rport on requests (18.2.1, RFC 3581), answers unparseable requests with 400,
// answers CRLF keep-alives (RFC 5626 3.5.1), reuses connections, and sends responses where 18.2.2 says.

import { stampVia } from '../message/builders.js';
import {
  createErrorResponse,
  formatHost,
  type ParseOptions,
  parseMessage,
  type SipMessage,
  SipParseError,
  type SipParseLimits,
  SipRequest,
  type SipResponse,
  SipStreamFramer,
  serializeMessage,
} from '../message/index.js';
import { parseListenUrl } from './listen-url.js';
import {
  type ConnectionIds,
  connectStream,
  connectWebSocket,
  type ListenSpec,
  type SipListener,
  StreamListener,
  type TlsFiles,
  UdpListener,
  WebSocketListener,
} from './listeners.js';
import { SourceLimiter, type SourceLimitsOptions, turnClock } from './source-limits.js';
import {
  endpointKey,
  isReliable,
  type RawSipInput,
  reportSendFailure,
  type SendFailureSink,
  type SendFailureTarget,
  type SentDatagram,
  type SipConnection,
  type SipEndpoint,
  SipTransportError,
  type SipTransportProtocol,
  sendFailureCallback,
} from './types.js';

/** Where a message came from: the handler answers on `connection` when there is one. */
export interface SipInboundContext {
  readonly source: SipEndpoint;
  readonly local: SipEndpoint;
  readonly connection?: SipConnection;
}

export type SipMessageHandler = (message: SipMessage, context: SipInboundContext) => void;

/** Told of every message `send` has handed to a socket, with where it went (for metrics and tracing). */
export type SipSentHandler = (message: SipMessage, destination: SipEndpoint) => void;

export interface SipTransportCounters {
  received: number;
  sent: number;
  /** Malformed messages answered with 400 (or 505/501). */
  answeredMalformed: number;
  /** Malformed messages dropped because no answer was possible (responses, or nothing to answer to). */
  droppedMalformed: number;
  /** Messages dropped by per-source limits. */
  droppedByLimits: number;
  keepAlives: number;
  connectionsClosedForAbuse: number;
}

export interface SipTransportLayerOptions {
  /** Milliseconds clock for the per-source limits (injected; defaults to Date.now, read once per event-loop turn). */
  readonly now?: () => number;
  readonly limits?: SourceLimitsOptions;
  readonly parseLimits?: SipParseLimits;
  /** Client-side TLS settings for outbound tls:// and wss:// connections. */
  readonly tls?: TlsFiles;
  /** RFC 3261 18.1.1: a UDP request larger than this goes over TCP when a TCP listener exists. */
  readonly udpMtuLimit?: number;
  readonly connectTimeoutMs?: number;
}

const KEEPALIVE_PONG = new Uint8Array([13, 10]);

const ignoreSendError = (): void => {};

function isOnlyCrlf(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 13 && bytes[i] !== 10) return false;
  return true;
}

/** Rewrites the top Via's sent-protocol transport token, e.g. when 18.1.1 moves a large request to TCP. */
function withViaTransport(via: string, protocol: SipTransportProtocol): string {
  const slash = via.indexOf('/', via.indexOf('/') + 1);
  if (slash < 0) return via;
  let end = slash + 1;
  while (end < via.length && via.charCodeAt(end) === 32) end++;
  while (end < via.length && via.charCodeAt(end) !== 32 && via.charCodeAt(end) !== 9) end++;
  return `${via.slice(0, slash + 1)}${protocol.toUpperCase()}${via.slice(end)}`;
}

/**
 * RFC 3261 18.2.1 and RFC 3581 4: record where a request really came from in its top Via.
 * @internal exported for tests
 */
export function stampReceived(request: SipRequest, source: SipEndpoint): void {
  const via = request.via();
  const fillRport = via.rport === null;
  // RFC 3581 4: with rport, received is added even when the host matches.
  if (!fillRport && via.host.toLowerCase() === source.address.toLowerCase()) return;
  const rport = fillRport ? source.port : undefined;
  // Recorded on the request and written into the Via line when somebody reads or changes it (a response copies
  // it): the other lines stay as received, and the stamped Via is kept parsed for the transaction layer's matching
  // (17.2.3) and the response's routing (18.2.2).
  if (request._stampLater(source.address, rport)) return;
  // a comma-joined or unusual top Via line: rewritten now
  const stamped = stampVia(via, source.address, rport);
  request.replaceFirstValue('via', stamped.text);
  request._topVia = stamped.via;
}

/** A stack's transport layer: every listener, the connection table, and the send and receive paths. */
/**
 * Whether an address has a colon, kept for the last address asked about: usually the very same string again, which
 * compares at once, where `includes` is a builtin call per send (callgrind: ~110 instructions each).
 */
class ColonMemo {
  private last = '';
  private colon = false;

  of(address: string): boolean {
    if (address !== this.last) {
      this.colon = address.includes(':');
      this.last = address;
    }
    return this.colon;
  }
}

export class SipTransportLayer {
  readonly counters: SipTransportCounters = {
    received: 0,
    sent: 0,
    answeredMalformed: 0,
    droppedMalformed: 0,
    droppedByLimits: 0,
    keepAlives: 0,
    connectionsClosedForAbuse: 0,
  };
  readonly limiter: SourceLimiter;
  private readonly handlers: SipMessageHandler[] = [];
  private readonly sentHandlers: SipSentHandler[] = [];
  private readonly listenersList: SipListener[] = [];
  private readonly udp: UdpListener[] = [];
  private readonly connections = new Map<number, SipConnection>();
  private readonly byRemote = new Map<string, SipConnection>();
  private readonly pending = new Map<string, Promise<SipConnection>>();
  private readonly framers = new Map<number, SipStreamFramer>();
  private readonly ids: ConnectionIds;
  private readonly mtuLimit: number;
  /** parseMessage's options, made once (not per datagram). */
  private readonly datagramParse: ParseOptions;
  private readonly streamParse: ParseOptions;
  private closed = false;

  constructor(private readonly options: SipTransportLayerOptions = {}) {
    // without an injected clock, Date.now read once per event-loop turn (turnClock)
    this.limiter = new SourceLimiter(options.now ?? turnClock(), options.limits);
    this.mtuLimit = options.udpMtuLimit ?? 1300;
    this.datagramParse = Object.freeze({ limits: options.parseLimits, framing: 'datagram' });
    this.streamParse = Object.freeze({ limits: options.parseLimits, framing: 'stream' });
    let next = 1;
    this.ids = { next: () => next++ };
  }

  onMessage(handler: SipMessageHandler): void {
    this.handlers.push(handler);
  }

  /** Observes every message sent through `send`, `transmit` and their response forms (not datagram resends). */
  onSent(handler: SipSentHandler): void {
    this.sentHandlers.push(handler);
  }

  private notifySent(message: SipMessage, destination: SipEndpoint): void {
    for (const h of this.sentHandlers) h(message, destination);
  }

  /** Starts listening; `spec` is a URL like `udp://127.0.0.1:5060` or a ListenSpec (with TLS files for tls/wss). */
  async listen(spec: string | ListenSpec): Promise<SipEndpoint> {
    const s: ListenSpec = typeof spec === 'string' ? parseListenUrl(spec) : spec;
    const onInput = (input: RawSipInput) => this.receive(input);
    const onConnection = (c: SipConnection, event: 'open' | 'close') => this.trackConnection(c, event);
    const admit = (remote: SipEndpoint) => this.limiter.connectionOpened(remote.address);
    let listener: SipListener;
    switch (s.protocol) {
      case 'udp': {
        const udp = await UdpListener.open(s, onInput);
        this.udp.push(udp);
        listener = udp;
        break;
      }
      case 'tcp':
      case 'tls':
        listener = await StreamListener.open(this.ids, s, onInput, onConnection, admit);
        break;
      case 'ws':
      case 'wss':
        listener = await WebSocketListener.open(this.ids, s, onInput, onConnection, admit, this.maxMessageSize());
        break;
    }
    this.listenersList.push(listener);
    this.lastContact = undefined;
    return listener.local;
  }

  /** The endpoints this layer listens on. */
  get localEndpoints(): SipEndpoint[] {
    return this.listenersList.map((l) => l.local);
  }

  /** A local endpoint for `protocol` in the same address family as `toward` (for Via sent-by and Contact). */
  localEndpoint(protocol: SipTransportProtocol, toward?: string): SipEndpoint | undefined {
    const v6 = toward?.includes(':') ?? false;
    const same = this.listenersList.filter((l) => l.local.protocol === protocol);
    return (same.find((l) => l.local.address.includes(':') === v6) ?? same[0])?.local;
  }

  connection(id: number): SipConnection | undefined {
    return this.connections.get(id);
  }

  get openConnections(): number {
    return this.connections.size;
  }

  private maxMessageSize(): number {
    return this.options.parseLimits?.maxMessageSize ?? 65536;
  }

  private trackConnection(c: SipConnection, event: 'open' | 'close'): void {
    const key = endpointKey(c.remote);
    if (event === 'open') {
      this.connections.set(c.id, c);
      this.byRemote.set(key, c);
      return;
    }
    this.connections.delete(c.id);
    if (this.byRemote.get(key) === c) this.byRemote.delete(key);
    this.framers.delete(c.id);
    this.limiter.connectionClosed(c.remote.address);
  }

  private receive(input: RawSipInput): void {
    if (this.closed) return;
    const { bytes, connection } = input;
    if (connection && (connection.protocol === 'tcp' || connection.protocol === 'tls')) {
      this.receiveStream(input, connection);
      return;
    }
    // A datagram or WebSocket message holds exactly one message (RFC 3261 18.3, RFC 7118 5).
    if (isOnlyCrlf(bytes)) {
      this.counters.keepAlives++;
      if (connection) void connection.send(KEEPALIVE_PONG).catch(() => {});
      return;
    }
    if (this.limiter.message(input.source.address) !== 'ok') {
      this.counters.droppedByLimits++;
      return;
    }
    let message: SipMessage;
    try {
      message = parseMessage(bytes, connection ? this.streamParse : this.datagramParse);
    } catch (err) {
      this.malformed(err as SipParseError, input);
      return;
    }
    this.deliver(message, input);
  }

  private receiveStream(input: RawSipInput, connection: SipConnection): void {
    let framer = this.framers.get(connection.id);
    if (framer === undefined) {
      framer = new SipStreamFramer({ limits: this.options.parseLimits });
      this.framers.set(connection.id, framer);
    }
    try {
      for (const item of framer.push(input.bytes)) {
        if (item === 'keepalive') {
          // RFC 5626 3.5.1: a double-CRLF ping is answered with a single CRLF pong.
          this.counters.keepAlives++;
          void connection.send(KEEPALIVE_PONG).catch(() => {});
          continue;
        }
        if (this.limiter.message(input.source.address) !== 'ok') {
          this.counters.droppedByLimits++;
          if (this.limiter.isBlocked(input.source.address)) {
            this.counters.connectionsClosedForAbuse++;
            connection.close();
            return;
          }
          continue;
        }
        this.deliver(item, input);
      }
    } catch (err) {
      const e = err as SipParseError;
      this.malformed(e, input);
      if (e.fatal !== false) {
        // The framing is lost: nothing after this point can be trusted (RFC 3261 18.3).
        this.counters.connectionsClosedForAbuse++;
        connection.close();
      }
      return;
    }
    if (framer.buffered > this.limiter.bytesPerConnection) {
      this.counters.connectionsClosedForAbuse++;
      connection.close();
    }
  }

  private deliver(message: SipMessage, input: RawSipInput): void {
    this.counters.received++;
    if (message instanceof SipRequest) {
      try {
        stampReceived(message, input.source);
      } catch (err) {
        this.malformed(err as SipParseError, input);
        return;
      }
    }
    for (const h of this.handlers) h(message, this.contextOf(input));
  }

  /** The last datagram's context: kept with every transaction and call, and from one peer always the same. */
  private lastContext: SipInboundContext | undefined = undefined;

  /**
   * Where a message came from. A datagram from the same peer on the same socket as the last one shares its
   * (read-only) context: one object less per message, and per call held.
   */
  private contextOf(input: RawSipInput): SipInboundContext {
    const last = this.lastContext;
    const connection = input.connection;
    if (last !== undefined && connection === undefined && last.source === input.source && last.local === input.local) {
      return last;
    }
    const context: SipInboundContext = { source: input.source, local: input.local, connection };
    this.lastContext = connection === undefined ? context : undefined;
    return context;
  }

  /** A message that did not parse: answered when it is a request with enough to answer, dropped and counted else. */
  private malformed(err: SipParseError, input: RawSipInput): void {
    const response = err instanceof SipParseError ? createErrorResponse(err) : undefined;
    if (response === undefined) {
      this.counters.droppedMalformed++;
      return;
    }
    this.counters.answeredMalformed++;
    const bytes = serializeMessage(response);
    if (input.connection !== undefined) {
      void input.connection.send(bytes).catch(ignoreSendError);
      return;
    }
    // a response like any other (transmit): no promise, nobody to tell of a failure
    const socket = this.udpFor(input.source.address, input.local);
    if (socket === undefined) return;
    this.counters.sent++;
    socket.sendUnconfirmed(bytes, input.source.address, input.source.port, ignoreSendError);
  }

  /** The UDP socket to send from: the one `via` names, else the first of the destination's address family. */
  private udpFor(address: string, via?: SipEndpoint): UdpListener | undefined {
    const udp = this.udp;
    if (via !== undefined) {
      for (let i = 0; i < udp.length; i++) {
        const l = udp[i].local;
        if (l.port === via.port && l.address === via.address) return udp[i];
      }
    }
    if (udp.length === 1) {
      // the common case: one UDP listener, used when the families match
      return this.localColon.of(udp[0].local.address) === this.destinationColon.of(address) ? udp[0] : undefined;
    }
    const v6 = address.includes(':');
    return udp.find((u) => u.local.address.includes(':') === v6);
  }

  /** Whether the last addresses udpFor saw have a colon (IPv6): a server answers the same few again and again. */
  private readonly localColon = new ColonMemo();
  private readonly destinationColon = new ColonMemo();

  private sendDatagram(bytes: Uint8Array, address: string, port: number, via?: SipEndpoint): Promise<void> {
    const socket = this.udpFor(address, via);
    if (!socket) return Promise.reject(new SipTransportError('no-transport', `no UDP listener for ${address}`));
    this.counters.sent++;
    return socket.send(bytes, address, port);
  }

  /**
   * `send` without a promise for the transaction layer's hot path (SipTransportPort.transmit): a datagram is handed
   * to its socket's queue (sent at the end of this event-loop turn, UdpListener) and a failure comes to `onError`
   * (for a UDP response only the failures known before the kernel is asked: UdpListener.sendUnconfirmed); anything
   * needing a connection takes the `send` path.
   */
  transmit(message: SipMessage, destination: SipEndpoint, onError: SendFailureTarget): Uint8Array | undefined {
    if (destination.protocol !== 'udp' || this.closed) {
      this.send(message, destination).then(undefined, sendFailureCallback(onError));
      return undefined;
    }
    const bytes = serializeMessage(message);
    if (
      message.isRequest &&
      bytes.length > this.mtuLimit &&
      this.listenersList.some((l) => l.local.protocol === 'tcp')
    ) {
      // RFC 3261 18.1.1: the large-request rule lives in `send`
      this.send(message, destination).then(undefined, sendFailureCallback(onError));
      return undefined;
    }
    const socket = this.udpFor(destination.address);
    if (socket === undefined) {
      reportSendFailure(onError, new SipTransportError('no-transport', `no UDP listener for ${destination.address}`));
      return undefined;
    }
    this.counters.sent++;
    // A request's sender needs every failure (17.1.4, RFC 3263 4.3 failover); a response's only what is known
    // without the kernel's verdict, which costs a callback per datagram (UdpListener.sendUnconfirmed).
    if (message.isRequest) socket.sendNow(bytes, destination.address, destination.port, onError);
    else socket.sendUnconfirmed(bytes, destination.address, destination.port, onError);
    if (this.sentHandlers.length > 0) this.notifySent(message, destination);
    return bytes;
  }

  /**
   * `sendResponse` without a promise (SipTransportPort.transmitResponse): RFC 3261 18.2.2 all the same. Returns
   * the datagram as sent when it went out as one, for `resend`.
   */
  transmitResponse(
    response: SipResponse,
    context: SipInboundContext,
    onError: SendFailureTarget,
  ): SentDatagram | undefined {
    if (context.connection !== undefined) {
      this.sendResponse(response, context).then(undefined, sendFailureCallback(onError));
      return undefined;
    }
    const source = context.source;
    // Usually the source itself (received/rport, RFC 3581 4): keep that object rather than a copy whose address
    // is a slice of the Via text, for as long as the datagram is kept. Checked first without building the copy.
    let destination = this.isBackToSource(response, source) ? source : this.responseDestination(response, context);
    if (destination.port === source.port && destination.address === source.address) destination = source;
    const bytes = this.transmit(response, destination, onError);
    return bytes === undefined ? undefined : { bytes, destination };
  }

  /** `transmitResponse` telling `sink` of a failure (SipTransportPort.transmitResponseTo): no closure per send. */
  transmitResponseTo(
    response: SipResponse,
    context: SipInboundContext,
    sink: SendFailureSink,
  ): SentDatagram | undefined {
    return this.transmitResponse(response, context, sink);
  }

  /** Whether RFC 3261 18.2.2 (`responseDestination`) sends a UDP response back to the request's source. */
  private isBackToSource(response: SipResponse, source: SipEndpoint): boolean {
    const via = response.via();
    if (via.maddr !== undefined || via.transport !== 'UDP' || source.protocol !== 'udp') return false;
    const received = via.received;
    if (received === undefined) return true;
    const rport = via.rport;
    return received === source.address && (typeof rport === 'number' ? rport : (via.port ?? 5060)) === source.port;
  }

  /** Sends a datagram again, as it went out before (a completed server transaction answering a retransmission). */
  resend(sent: SentDatagram, onError: (error: unknown) => void): void {
    const socket = this.closed ? undefined : this.udpFor(sent.destination.address);
    if (socket === undefined) {
      onError(new SipTransportError('no-transport', `no UDP listener for ${sent.destination.address}`));
      return;
    }
    this.counters.sent++;
    // always a response: failures are reported as for transmitResponse
    socket.sendUnconfirmed(sent.bytes, sent.destination.address, sent.destination.port, onError);
  }

  /**
   * Sends a message to `destination`. A reliable destination reuses an open connection to it or opens one;
   * `connectionId` sends on a known connection (a response to a request that came on it, or a registered client
   * reached over its own flow). Returns where it went.
   */
  async send(message: SipMessage, destination: SipEndpoint, connectionId?: number): Promise<SipEndpoint> {
    if (this.closed) throw new SipTransportError('closed', 'transport layer is closed');
    if (connectionId !== undefined) {
      const c = this.connections.get(connectionId);
      if (c && !c.closed) {
        await c.send(serializeMessage(message));
        this.counters.sent++;
        this.notifySent(message, c.remote);
        return c.remote;
      }
      // The flow is gone: fall through to `destination` (18.2.2: a new connection to the Via address).
    }
    let target = destination;
    let bytes = serializeMessage(message);
    if (
      message instanceof SipRequest &&
      target.protocol === 'udp' &&
      bytes.length > this.mtuLimit &&
      this.listenersList.some((l) => l.local.protocol === 'tcp')
    ) {
      // RFC 3261 18.1.1: large requests go over a congestion-controlled transport, and the Via says so.
      target = { ...target, protocol: 'tcp' };
      const via = message.header('via');
      if (via !== undefined) {
        message.removeFirstValue('via');
        message.prependHeader('via', withViaTransport(via, 'tcp'));
        bytes = serializeMessage(message);
      }
    }
    if (target.protocol === 'udp') {
      await this.sendDatagram(bytes, target.address, target.port);
      this.notifySent(message, target);
      return target;
    }
    const c = await this.connectionTo(target);
    await c.send(bytes);
    this.counters.sent++;
    this.notifySent(message, target);
    return target;
  }

  /** RFC 3261 18.2.2 (with RFC 3581): where a response to a request goes. */
  responseDestination(response: SipResponse, context?: SipInboundContext): SipEndpoint {
    const via = response.via();
    const protocol = (via.transport.toLowerCase() as SipTransportProtocol) ?? 'udp';
    const defaultPort = protocol === 'tls' ? 5061 : 5060;
    if (via.maddr !== undefined) return { protocol, address: via.maddr, port: via.port ?? defaultPort };
    if (via.received !== undefined) {
      const port = typeof via.rport === 'number' ? via.rport : (via.port ?? defaultPort);
      return { protocol, address: via.received, port };
    }
    if (context && !isReliable(protocol)) return context.source;
    return { protocol, address: via.host, port: via.port ?? defaultPort };
  }

  /** Sends a response where 18.2.2 says: back on the request's connection while it is open, else by its Via. */
  async sendResponse(response: SipResponse, context?: SipInboundContext): Promise<SipEndpoint> {
    const destination = this.responseDestination(response, context);
    return this.send(response, destination, context?.connection?.id);
  }

  private connectionTo(target: SipEndpoint): Promise<SipConnection> {
    const key = endpointKey(target);
    const existing = this.byRemote.get(key);
    if (existing && !existing.closed) return Promise.resolve(existing);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const onInput = (input: RawSipInput) => this.receive(input);
    const onConnection = (c: SipConnection, event: 'open' | 'close') => this.trackConnection(c, event);
    const timeoutMs = this.options.connectTimeoutMs;
    const opening =
      target.protocol === 'ws' || target.protocol === 'wss'
        ? connectWebSocket(this.ids, target, onInput, onConnection, { tls: this.options.tls, timeoutMs })
        : connectStream(this.ids, target, onInput, onConnection, { tls: this.options.tls, timeoutMs });
    const tracked = opening.finally(() => this.pending.delete(key));
    this.pending.set(key, tracked);
    return tracked;
  }

  /** A `sip:` URI naming this layer's endpoint for `protocol` (for Contact and Record-Route). */
  contactUri(protocol: SipTransportProtocol, user?: string, toward?: string): string | undefined {
    const v6 = toward?.includes(':') ?? false;
    // the last answer again (a UA asks once per call, nearly always the same question)
    const last = this.lastContact;
    if (last !== undefined && last.protocol === protocol && last.user === user && last.v6 === v6) return last.uri;
    const e = this.localEndpoint(protocol, toward);
    if (!e) return undefined;
    const scheme = protocol === 'tls' || protocol === 'wss' ? 'sips' : 'sip';
    const transport = protocol === 'udp' ? '' : `;transport=${protocol === 'wss' ? 'ws' : protocol}`;
    const uri = `${scheme}:${user ? `${user}@` : ''}${formatHost(e.address)}:${e.port}${transport}`;
    this.lastContact = { protocol, user, v6, uri };
    return uri;
  }

  /** contactUri's last answer; forgotten whenever the listeners change. */
  private lastContact:
    | { protocol: SipTransportProtocol; user: string | undefined; v6: boolean; uri: string }
    | undefined = undefined;

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.connections.values()) c.close();
    await Promise.all(this.listenersList.map((l) => l.close()));
    this.listenersList.length = 0;
    this.lastContact = undefined;
    this.udp.length = 0;
    this.connections.clear();
    this.byRemote.clear();
    this.framers.clear();
  }
}
