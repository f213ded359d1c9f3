// Socket listeners for each SIP transport: UDP datagrams, TCP/TLS byte streams, WebSocket messages (RFC 7118).
// They deliver raw bytes and know nothing of SIP framing or transactions.
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  createServer,
  isIP,
  isIPv6,
  type Server as NetServer,
  type Socket as NetSocket,
  connect as netConnect,
} from 'node:net';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  type RawSipInput,
  type SendFailureSink,
  type SipConnection,
  type SipEndpoint,
  SipTransportError,
  type SipTransportProtocol,
} from './types.js';

export interface TlsFiles {
  /** PEM certificate chain file. */
  readonly certFile: string;
  /** PEM private key file. */
  readonly keyFile: string;
  /** Optional PEM CA bundle to verify peers with. */
  readonly caFile?: string;
  /** Verify the peer's certificate on outbound connections (default true). */
  readonly verifyPeer?: boolean;
}

export interface ListenSpec {
  readonly protocol: SipTransportProtocol;
  readonly address: string;
  readonly port: number;
  readonly tls?: TlsFiles;
  /** UDP socket buffer sizes in bytes (the kernel may cap them). */
  readonly receiveBufferSize?: number;
  readonly sendBufferSize?: number;
}

/**
 * Told of each datagram, message or chunk. A UDP listener hands the same input object for every datagram (one
 * object less per datagram): read it during the call and keep its fields, never the object itself.
 */
export type RawInputHandler = (input: RawSipInput) => void;
export type ConnectionHandler = (connection: SipConnection, event: 'open' | 'close') => void;

/** A bound socket for one transport on one address. */
export interface SipListener {
  readonly local: SipEndpoint;
  /** UDP: send a datagram. Connection-oriented: open (or reuse) a connection is the layer's job, not this. */
  close(): Promise<void>;
}

/** Hands out connection ids; one per transport layer, so two stacks in one process never share state. */
export interface ConnectionIds {
  next(): number;
}

function bare(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * The family of an IP literal (4 or 6), 0 for a host name. The last literal is kept: a server answers the same few
 * peers over and over, and isIP is a regex. One per socket, shared by its lookup and its send path.
 */
class LiteralFamilies {
  private lastHost = '';
  private lastFamily = 0;
  of(host: string): number {
    if (host === this.lastHost) return this.lastFamily;
    const family = isIP(host);
    if (family !== 0) {
      this.lastHost = host;
      this.lastFamily = family;
    }
    return family;
  }
}

/**
 * dgram resolves every destination through its `lookup`, and dns.lookup answers even an IP literal a tick later:
 * the transport sends to addresses (RFC 3263 resolution is the locator's job), so those are passed straight on.
 */
function literalLookup(
  literals: LiteralFamilies,
): (hostname: string, options: LookupOneOptions | number, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    const family = literals.of(hostname);
    if (family === 0) dnsLookup(hostname, options as LookupOneOptions, callback);
    else callback(null, hostname, family);
  };
}

/** What becomes of one queued datagram: told of its failure (or, for `send`, of its success too). */
type DatagramDone = (err: Error | null) => void;

/** Told of a datagram that could not be sent. */
export type SendErrorHandler = (error: SipTransportError) => void;

/** Tells `onError` (a callback or a sink) of `error`. */
function tell(onError: SendErrorHandler | SendFailureSink, error: SipTransportError): void {
  if (typeof onError === 'function') onError(error);
  else onError.sendFailed(error);
}

/** Runs `flush` once the current event-loop turn's I/O callbacks are done. */
export type FlushScheduler = (flush: () => void) => void;

const afterThisTurn: FlushScheduler = (flush) => void setImmediate(flush);

function sendFailure(err: Error): SipTransportError {
  return err instanceof SipTransportError ? err : new SipTransportError('send-failed', err.message, { cause: err });
}

const NO_BYTES = new Uint8Array(0);

/** Datagrams queued beyond this go out at once rather than waiting for the end of the turn. */
const MAX_QUEUED = 64;

/** The largest UDP payload: 65535 less the UDP header, and for IPv4 less the IP header too (IPv6's is not counted). */
const MAX_PAYLOAD_V4 = 65_507;
const MAX_PAYLOAD_V6 = 65_527;

/**
 * A UDP socket. Datagrams sent during one event-loop turn are queued and handed to the kernel together when the
 * turn's I/O callbacks are done: a burst of requests read in one poll is answered by a burst of sendmsg calls, so
 * the peer is woken once per burst rather than once per response. Order is kept.
 *
 * Two ways to send: `sendNow` (and `send`) ask dgram for the kernel's verdict, which costs a callback, a
 * process.nextTick and two more properties on dgram's SendWrap per datagram; `sendUnconfirmed` (responses) does
 * not, so it reports only what is known before the kernel is asked (see there).
 */
export class UdpListener implements SipListener {
  local: SipEndpoint;
  /** The queue, as parallel arrays reused from turn to turn (no object per datagram). */
  private readonly outBytes: (Uint8Array | undefined)[] = [];
  private readonly outAddress: string[] = [];
  private readonly outPort: number[] = [];
  /** Set for a datagram sent with dgram's callback (`sendNow`, `send`). */
  private readonly outDone: (DatagramDone | undefined)[] = [];
  /** Set for a datagram sent without it (`sendUnconfirmed`): told only of failures found before the kernel. */
  private readonly outOnError: (SendErrorHandler | SendFailureSink | undefined)[] = [];
  private queued = 0;
  private flushPending = false;
  private closed = false;
  private readonly flushNow = () => this.flush();
  /** 4 or 6: the socket's address family. */
  private readonly family: number;
  private readonly maxPayload: number;

  private constructor(
    private readonly socket: DgramSocket,
    local: SipEndpoint,
    private readonly schedule: FlushScheduler,
    private readonly literals: LiteralFamilies,
  ) {
    this.local = local;
    this.family = isIPv6(local.address) ? 6 : 4;
    this.maxPayload = this.family === 6 ? MAX_PAYLOAD_V6 : MAX_PAYLOAD_V4;
  }

  static async open(
    spec: ListenSpec,
    onInput: RawInputHandler,
    schedule: FlushScheduler = afterThisTurn,
  ): Promise<UdpListener> {
    const literals = new LiteralFamilies();
    const socket = createSocket({
      type: isIPv6(spec.address) ? 'udp6' : 'udp4',
      reuseAddr: false,
      lookup: literalLookup(literals) as never,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) =>
        reject(
          new SipTransportError('listen-failed', `udp ${spec.address}:${spec.port}: ${err.message}`, { cause: err }),
        ),
      );
      socket.bind(spec.port, spec.address, () => resolve());
    });
    if (spec.receiveBufferSize) socket.setRecvBufferSize(spec.receiveBufferSize);
    if (spec.sendBufferSize) socket.setSendBufferSize(spec.sendBufferSize);
    const addr = socket.address();
    const local: SipEndpoint = { protocol: 'udp', address: addr.address, port: addr.port };
    const listener = new UdpListener(socket, local, schedule, literals);
    // After binding, socket errors (e.g. ICMP unreachable on some systems) must not crash the process.
    socket.on('error', () => {});
    // node:dgram gives a fresh rinfo per datagram; consecutive datagrams from one peer share one (read-only)
    // endpoint instead of a new object each, and every datagram comes in the same input object (RawInputHandler).
    let lastAddress = '';
    const input: { bytes: Uint8Array; source: SipEndpoint; local: SipEndpoint } = {
      bytes: NO_BYTES,
      source: local,
      local,
    };
    socket.on('message', (bytes, rinfo) => {
      const address = rinfo.address;
      let source = input.source;
      if (rinfo.port !== source.port || address !== lastAddress) {
        source = { protocol: 'udp', address: bare(address), port: rinfo.port };
        lastAddress = address;
      }
      input.bytes = bytes;
      input.source = source;
      onInput(input);
      // the datagram is not kept alive by the listener until the next one
      input.bytes = NO_BYTES;
    });
    return listener;
  }

  /** Sends a datagram at the end of this turn; settles when the kernel has it (or refused it). */
  send(bytes: Uint8Array, address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.enqueue(bytes, address, port, (err) => (err ? reject(sendFailure(err)) : resolve()), undefined);
    });
  }

  /**
   * Sends a datagram at the end of this turn without a promise: any failure, the kernel's included, is reported to
   * `onError`, once (a request's sender needs it: RFC 3261 17.1.4, and RFC 3263 4.3 tries the next address).
   */
  sendNow(bytes: Uint8Array, address: string, port: number, onError: SendErrorHandler | SendFailureSink): void {
    this.enqueue(
      bytes,
      address,
      port,
      (err) => {
        if (err) tell(onError, sendFailure(err));
      },
      undefined,
    );
  }

  /**
   * Sends a datagram at the end of this turn without asking dgram for the kernel's verdict (a response: nobody
   * fails over on it, and this saves dgram's per-send callback tick). `onError` is told, once, of what is known
   * before the kernel is asked: a socket that is closed, a port dgram refuses, a datagram over the family's largest
   * UDP payload. Failures only the kernel finds (unreachable network, a firewall's EPERM, a full buffer's later
   * error) are lost: without a callback node:dgram drops them. A host name (not an IP literal of the socket's
   * family) takes the `sendNow` path, so a lookup failure is still reported.
   */
  sendUnconfirmed(bytes: Uint8Array, address: string, port: number, onError: SendErrorHandler | SendFailureSink): void {
    if (this.literals.of(address) !== this.family) {
      this.sendNow(bytes, address, port, onError);
      return;
    }
    this.enqueue(bytes, address, port, undefined, onError);
  }

  private enqueue(
    bytes: Uint8Array,
    address: string,
    port: number,
    done: DatagramDone | undefined,
    onError: SendErrorHandler | SendFailureSink | undefined,
  ): void {
    if (this.closed) {
      const error = new SipTransportError('closed', `udp ${this.local.address}:${this.local.port} is closed`);
      if (done !== undefined) done(error);
      else if (onError !== undefined) tell(onError, error);
      return;
    }
    const i = this.queued++;
    this.outBytes[i] = bytes;
    this.outAddress[i] = address;
    this.outPort[i] = port;
    this.outDone[i] = done;
    this.outOnError[i] = onError;
    if (i + 1 >= MAX_QUEUED) this.flush();
    else if (!this.flushPending) {
      this.flushPending = true;
      this.schedule(this.flushNow);
    }
  }

  /** Hands every queued datagram to the socket, in order. */
  private flush(): void {
    this.flushPending = false;
    const n = this.queued;
    const socket = this.socket;
    const maxPayload = this.maxPayload;
    // dgram calls back a tick later, never from inside send: nothing is queued while this runs
    let refused: unknown[] | undefined;
    for (let i = 0; i < n; i++) {
      const bytes = this.outBytes[i] as Uint8Array;
      const done = this.outDone[i];
      const onError = this.outOnError[i];
      this.outBytes[i] = undefined;
      this.outDone[i] = undefined;
      this.outOnError[i] = undefined;
      try {
        if (done !== undefined) socket.send(bytes, this.outPort[i], this.outAddress[i], done);
        else if (bytes.length <= maxPayload) socket.send(bytes, this.outPort[i], this.outAddress[i]);
        else {
          // the kernel's EMSGSIZE, which dgram would drop without a callback
          if (refused === undefined) refused = [];
          refused.push(
            onError,
            new SipTransportError(
              'send-failed',
              `send EMSGSIZE ${this.outAddress[i]}:${this.outPort[i]}: ${bytes.length} bytes is over the largest UDP payload (${maxPayload})`,
            ),
          );
        }
      } catch (err) {
        // a bad port or a socket closed under us: dgram throws instead of calling back
        if (refused === undefined) refused = [];
        refused.push(done ?? onError, err);
      }
    }
    this.queued = 0;
    // told after the queue is empty again: a sender may send anew from its error handler
    if (refused !== undefined) {
      for (let i = 0; i < refused.length; i += 2) {
        tell(refused[i] as SendErrorHandler | SendFailureSink, sendFailure(refused[i + 1] as Error));
      }
    }
  }

  close(): Promise<void> {
    // what was sent before close still goes out
    this.flush();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** A TCP or TLS connection: a byte stream whose chunks the layer frames by Content-Length (RFC 3261 18.3). */
class StreamConnection implements SipConnection {
  closed = false;
  constructor(
    readonly id: number,
    readonly protocol: SipTransportProtocol,
    readonly local: SipEndpoint,
    readonly remote: SipEndpoint,
    private readonly socket: NetSocket | TLSSocket,
  ) {}
  send(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new SipTransportError('closed', `connection ${this.id} is closed`));
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) =>
        err ? reject(new SipTransportError('send-failed', err.message, { cause: err })) : resolve(),
      );
    });
  }
  close(): void {
    if (!this.closed) this.socket.destroy();
    this.closed = true;
  }
}

function wireStream(
  ids: ConnectionIds,
  socket: NetSocket | TLSSocket,
  protocol: SipTransportProtocol,
  onInput: RawInputHandler,
  onConnection: ConnectionHandler,
): StreamConnection {
  const local: SipEndpoint = { protocol, address: bare(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
  const remote: SipEndpoint = { protocol, address: bare(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
  const connection = new StreamConnection(ids.next(), protocol, local, remote, socket);
  socket.setNoDelay(true);
  socket.on('data', (bytes: Buffer) => onInput({ bytes, source: remote, local, connection }));
  socket.on('error', () => {});
  socket.on('close', () => {
    connection.closed = true;
    onConnection(connection, 'close');
  });
  onConnection(connection, 'open');
  return connection;
}

export class StreamListener implements SipListener {
  private readonly sockets = new Set<NetSocket>();
  private constructor(
    private readonly server: NetServer,
    readonly local: SipEndpoint,
  ) {}

  static async open(
    ids: ConnectionIds,
    spec: ListenSpec,
    onInput: RawInputHandler,
    onConnection: ConnectionHandler,
    admit: (remote: SipEndpoint) => boolean,
  ): Promise<StreamListener> {
    const protocol = spec.protocol;
    const server: NetServer =
      protocol === 'tls'
        ? createTlsServer({ ...tlsOptions(spec.tls, 'server') })
        : createServer({ noDelay: true, pauseOnConnect: false });
    let listener: StreamListener | undefined;
    server.on(protocol === 'tls' ? 'secureConnection' : 'connection', (socket: NetSocket) => {
      const remote: SipEndpoint = { protocol, address: bare(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
      if (!admit(remote)) {
        socket.destroy();
        return;
      }
      listener?.sockets.add(socket);
      socket.on('close', () => listener?.sockets.delete(socket));
      wireStream(ids, socket, protocol, onInput, onConnection);
    });
    // A failed TLS handshake or a reset before accept is the peer's problem, not ours.
    server.on('tlsClientError', () => {});
    server.on('error', () => {});
    await listen(server, spec);
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : spec.port;
    listener = new StreamListener(server, { protocol, address: spec.address, port });
    return listener;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function listen(server: NetServer | HttpServer, spec: ListenSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new SipTransportError('listen-failed', `${spec.protocol} ${spec.address}:${spec.port}: ${err.message}`, {
          cause: err,
        }),
      );
    server.once('error', onError);
    server.listen(spec.port, spec.address, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function tlsOptions(files: TlsFiles | undefined, side: 'server' | 'client') {
  if (side === 'server' && !files) throw new SipTransportError('bad-listen-url', 'tls needs a certificate and key');
  return {
    cert: files ? readFileSync(files.certFile) : undefined,
    key: files ? readFileSync(files.keyFile) : undefined,
    ca: files?.caFile ? readFileSync(files.caFile) : undefined,
    rejectUnauthorized: files?.verifyPeer ?? true,
    minVersion: 'TLSv1.2' as const,
  };
}

/** Opens an outbound TCP or TLS connection (RFC 3261 18.1.1: the client opens it when none exists to reuse). */
export function connectStream(
  ids: ConnectionIds,
  remote: SipEndpoint,
  onInput: RawInputHandler,
  onConnection: ConnectionHandler,
  options: { tls?: TlsFiles; servername?: string; timeoutMs?: number } = {},
): Promise<SipConnection> {
  return new Promise((resolve, reject) => {
    const socket =
      remote.protocol === 'tls'
        ? tlsConnect({
            host: remote.address,
            port: remote.port,
            servername: options.servername,
            ...tlsOptions(options.tls, 'client'),
          })
        : netConnect({ host: remote.address, port: remote.port });
    const fail = (err: Error) => {
      socket.destroy();
      reject(
        new SipTransportError('connect-failed', `${remote.protocol} ${remote.address}:${remote.port}: ${err.message}`, {
          cause: err,
        }),
      );
    };
    socket.setTimeout(options.timeoutMs ?? 10_000, () => fail(new Error('connect timed out')));
    socket.once('error', fail);
    socket.once(remote.protocol === 'tls' ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      socket.off('error', fail);
      resolve(wireStream(ids, socket, remote.protocol, onInput, onConnection));
    });
  });
}

/** A WebSocket connection carrying one SIP message per WebSocket message (RFC 7118 5). */
class WsConnection implements SipConnection {
  closed = false;
  constructor(
    readonly id: number,
    readonly protocol: SipTransportProtocol,
    readonly local: SipEndpoint,
    readonly remote: SipEndpoint,
    private readonly ws: WebSocket,
  ) {}
  send(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new SipTransportError('closed', `connection ${this.id} is closed`));
    return new Promise((resolve, reject) => {
      // RFC 7118 5: text frames carry UTF-8 messages; binary frames are allowed too.
      this.ws.send(bytes, { binary: false }, (err) =>
        err ? reject(new SipTransportError('send-failed', err.message, { cause: err })) : resolve(),
      );
    });
  }
  close(): void {
    if (!this.closed) this.ws.close(1000);
    this.closed = true;
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function wireWebSocket(
  ids: ConnectionIds,
  ws: WebSocket,
  protocol: SipTransportProtocol,
  local: SipEndpoint,
  remote: SipEndpoint,
  onInput: RawInputHandler,
  onConnection: ConnectionHandler,
): WsConnection {
  const connection = new WsConnection(ids.next(), protocol, local, remote, ws);
  ws.on('message', (data) => onInput({ bytes: toBytes(data), source: remote, local, connection }));
  ws.on('error', () => {});
  ws.on('close', () => {
    connection.closed = true;
    onConnection(connection, 'close');
  });
  onConnection(connection, 'open');
  return connection;
}

export class WebSocketListener implements SipListener {
  private constructor(
    private readonly http: HttpServer,
    private readonly wss: WebSocketServer,
    readonly local: SipEndpoint,
  ) {}

  static async open(
    ids: ConnectionIds,
    spec: ListenSpec,
    onInput: RawInputHandler,
    onConnection: ConnectionHandler,
    admit: (remote: SipEndpoint) => boolean,
    maxMessageBytes: number,
  ): Promise<WebSocketListener> {
    const protocol = spec.protocol;
    const http = protocol === 'wss' ? createHttpsServer(tlsOptions(spec.tls, 'server')) : createHttpServer();
    http.on('clientError', (_err, socket) => socket.destroy());
    // RFC 7118 4: the "sip" WebSocket subprotocol is required.
    const wss = new WebSocketServer({
      server: http,
      maxPayload: maxMessageBytes,
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
    });
    await listen(http, spec);
    const addr = http.address();
    const local: SipEndpoint = {
      protocol,
      address: spec.address,
      port: typeof addr === 'object' && addr ? addr.port : 0,
    };
    wss.on('connection', (ws, req) => {
      const remote: SipEndpoint = {
        protocol,
        address: bare(req.socket.remoteAddress ?? ''),
        port: req.socket.remotePort ?? 0,
      };
      if (ws.protocol !== 'sip' || !admit(remote)) {
        ws.close(1002);
        return;
      }
      wireWebSocket(ids, ws, protocol, local, remote, onInput, onConnection);
    });
    wss.on('error', () => {});
    return new WebSocketListener(http, wss, local);
  }

  close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    return new Promise((resolve) => this.wss.close(() => this.http.close(() => resolve())));
  }
}

/** Opens an outbound WebSocket (ws:// or wss://) with the "sip" subprotocol. */
export function connectWebSocket(
  ids: ConnectionIds,
  remote: SipEndpoint,
  onInput: RawInputHandler,
  onConnection: ConnectionHandler,
  options: { tls?: TlsFiles; path?: string; timeoutMs?: number } = {},
): Promise<SipConnection> {
  const host = remote.address.includes(':') ? `[${remote.address}]` : remote.address;
  const url = `${remote.protocol}://${host}:${remote.port}${options.path ?? '/'}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'sip', {
      handshakeTimeout: options.timeoutMs ?? 10_000,
      ...(remote.protocol === 'wss' ? tlsOptions(options.tls, 'client') : {}),
    });
    ws.once('error', (err) =>
      reject(new SipTransportError('connect-failed', `${url}: ${err.message}`, { cause: err })),
    );
    ws.once('open', () => {
      const raw = (ws as unknown as { _socket?: NetSocket })._socket;
      const local: SipEndpoint = {
        protocol: remote.protocol,
        address: bare(raw?.localAddress ?? ''),
        port: raw?.localPort ?? 0,
      };
      resolve(wireWebSocket(ids, ws, remote.protocol, local, remote, onInput, onConnection));
    });
  });
}
