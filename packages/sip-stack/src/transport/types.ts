// Shared shapes of the transport layer (RFC 3261 section 18): where a message came from and where it goes.

export type SipTransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** An address a SIP message is sent to or came from. IPv6 addresses are bare (no brackets). */
export interface SipEndpoint {
  readonly protocol: SipTransportProtocol;
  readonly address: string;
  readonly port: number;
}

/** A connection-oriented flow (TCP, TLS, WS, WSS) a message arrived on and a response can go back on. */
export interface SipConnection {
  readonly id: number;
  readonly protocol: SipTransportProtocol;
  readonly local: SipEndpoint;
  readonly remote: SipEndpoint;
  send(bytes: Uint8Array): Promise<void>;
  close(): void;
  readonly closed: boolean;
}

/** Raw bytes delivered by a listener: one datagram, one WebSocket message, or a chunk of a TCP/TLS stream. */
export interface RawSipInput {
  readonly bytes: Uint8Array;
  readonly source: SipEndpoint;
  readonly local: SipEndpoint;
  /** Present for connection-oriented transports. */
  readonly connection?: SipConnection;
}

/** A datagram as it went out: what a completed server transaction keeps to answer retransmissions (17.2.2). */
export interface SentDatagram {
  readonly bytes: Uint8Array;
  readonly destination: SipEndpoint;
}

/**
 * Told of a failed send by its `sendFailed` method: a sender that is an object (a transaction) passes itself
 * instead of a closure made per send (SipTransportPort.transmitResponseTo).
 */
export interface SendFailureSink {
  sendFailed(error: unknown): void;
}

/** Whom a promise-free send tells of its failure: a callback, or a sink. */
export type SendFailureTarget = ((error: unknown) => void) | SendFailureSink;

/** Tells `target` of `error`. */
export function reportSendFailure(target: SendFailureTarget, error: unknown): void {
  if (typeof target === 'function') target(error);
  else target.sendFailed(error);
}

/** `target` as a callback (for a promise's rejection). */
export function sendFailureCallback(target: SendFailureTarget): (error: unknown) => void {
  return typeof target === 'function' ? target : (error) => target.sendFailed(error);
}

export function isReliable(protocol: SipTransportProtocol): boolean {
  return protocol !== 'udp';
}

export function isSecure(protocol: SipTransportProtocol): boolean {
  return protocol === 'tls' || protocol === 'wss';
}

/** The Via transport token for a protocol (RFC 3261 20.42, RFC 7118 5). */
export function viaTransport(protocol: SipTransportProtocol): string {
  return protocol.toUpperCase();
}

export function endpointKey(e: SipEndpoint): string {
  return `${e.protocol}:${e.address.toLowerCase()}:${e.port}`;
}

export class SipTransportError extends Error {
  constructor(
    readonly code: 'listen-failed' | 'connect-failed' | 'send-failed' | 'no-transport' | 'closed' | 'bad-listen-url',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SipTransportError';
  }
}
