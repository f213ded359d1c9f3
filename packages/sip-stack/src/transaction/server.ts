// Server transactions: INVITE (RFC 3261 17.2.1 with RFC 6026 Accepted state and Timer L) and non-INVITE (17.2.2).
// They absorb retransmitted requests by sending the last response again, and retransmit INVITE finals (Timer G).

import { createResponse, type SipRequest, type SipResponse, type Via } from '../message/index.js';
import type { SentDatagram, SipInboundContext } from '../transport/index.js';
import { TransactionBase, type TransactionEnv, TransactionError } from './base.js';

export interface ServerTransactionEvents {
  /** The ACK of a non-2xx final arrived (Completed -> Confirmed, 17.2.1). */
  onAck?(ack: SipRequest, tx: ServerTransaction): void;
  /** Timer H fired: no ACK for the non-2xx final (17.2.1). */
  onTimeout?(tx: ServerTransaction): void;
  /** A response could not be sent (17.2.4). */
  onTransportError?(error: unknown, tx: ServerTransaction): void;
  onTerminated?(tx: ServerTransaction): void;
}

/** @internal */
export interface ServerTransactionEnv extends TransactionEnv {
  /** An INVITE transaction sent a final response with this To tag: RFC 2543 ACKs carry it (17.2.3). */
  finalSent(tx: ServerTransaction, response: SipResponse): void;
  /**
   * Completed non-INVITE: the layer may keep only `sent` for the `ms` of Timer J and let the transaction object go
   * (it reads as Terminated from the deadline on). Returns false when it keeps the transaction instead.
   */
  retire(tx: NonInviteServerTransaction, sent: SentDatagram, ms: number): boolean;
  /**
   * Accepted INVITE: the layer may keep only the key for the `ms` of Timer L and let the transaction object go
   * (RFC 6026 7.1). Returns the deadline, or undefined when it keeps the transaction instead.
   */
  accepted(tx: InviteServerTransaction, ms: number): number | undefined;
  /** The key (17.2.3) of a transaction the layer matched without making it. */
  keyOf(tx: ServerTransaction): string;
}

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

// Fields declared and assigned in the constructors: see TransactionBase.
abstract class ServerTransactionBase extends TransactionBase {
  /** Where the request came from: responses go back by RFC 3261 18.2.2. */
  declare readonly context: SipInboundContext;
  declare protected readonly env: ServerTransactionEnv;
  declare private eventHandlers: ServerTransactionEvents | undefined;
  /** The last response sent, the one a retransmitted request gets again. */
  declare lastResponse: SipResponse | undefined;
  /** @internal the RFC 2543 ACK key the layer also files this transaction under (17.2.3) */
  declare ackKey: string | undefined;
  /** @internal hashKey(key) when the layer has it (the store it may go to then need not hash it again) */
  declare keyHash: number | undefined;
  /** @internal the completed store's staging of its key (CompletedGenerations.stageKey), or -1 */
  declare staging: number;
  /** @internal the top Via its key was staged from (a magic-cookie branch), when the key's text is not made yet */
  declare keyVia: Via | undefined;

  constructor(request: SipRequest, key: string | undefined, context: SipInboundContext, env: ServerTransactionEnv) {
    super(request, key, context.source.protocol !== 'udp', env);
    this.context = context;
    this.eventHandlers = undefined;
    this.lastResponse = undefined;
    this.ackKey = undefined;
    this.keyHash = undefined;
    this.staging = -1;
    this.keyVia = undefined;
  }

  protected override keyOf(): string {
    return this.env.keyOf(this as unknown as ServerTransaction);
  }

  /** What the TU wants to hear about (made on first use: most transactions never need one). */
  get events(): ServerTransactionEvents {
    let e = this.eventHandlers;
    if (e === undefined) {
      e = {};
      this.eventHandlers = e;
    }
    return e;
  }

  set events(value: ServerTransactionEvents) {
    this.eventHandlers = value;
  }

  /** @internal whether the TU asked to hear about this transaction (then the layer keeps it whole) */
  get watched(): boolean {
    return this.eventHandlers !== undefined;
  }

  /** Sends a response from the TU; throws TransactionError when the state does not allow it. */
  abstract respond(response: SipResponse): void;
  /** @internal a retransmission of the request (or the ACK) matched to this transaction */
  abstract receiveRequest(request: SipRequest): void;

  /** Builds the response to this transaction's request (RFC 3261 8.2.6) and sends it. */
  reply(status: number, reason?: string, headers?: Iterable<readonly [string, string]>): SipResponse {
    const toTag = this.lastResponse?.status === 100 ? undefined : this.lastResponse?.to().tag;
    const response = createResponse(this.request, status, reason, { headers, toTag });
    this.respond(response);
    return response;
  }

  protected checkStatus(response: SipResponse): void {
    const s = response.status;
    if (!Number.isInteger(s) || s < 100 || s > 699) throw new TransactionError('bad-status', `bad status ${s}`);
  }

  /** Sends and remembers a response; returns the datagram when the port says what it sent. */
  protected sendResponse(response: SipResponse): SentDatagram | undefined {
    this.lastResponse = response;
    return this.transmitResponse(response, this.context);
  }

  protected resendLast(): void {
    const last = this.lastResponse;
    if (last !== undefined) this.transmitResponse(last, this.context);
  }

  protected notifyTransportError(error: unknown): void {
    this.eventHandlers?.onTransportError?.(error, this as unknown as ServerTransaction);
  }

  protected notifyTerminated(): void {
    this.eventHandlers?.onTerminated?.(this as unknown as ServerTransaction);
  }
}

/** RFC 3261 17.2.1 (Figure 7) with RFC 6026 (Figure 5: Accepted state, Timer L). */
export class InviteServerTransaction extends ServerTransactionBase {
  declare readonly kind: 'invite-server';
  declare private current: InviteServerState;
  /**
   * @internal the TU's pending call on this INVITE (a user agent's, until its final answer or the transaction's
   * end): found from the transaction without a table keyed by transaction objects
   */
  declare pendingCall: object | undefined;

  constructor(request: SipRequest, key: string | undefined, context: SipInboundContext, env: ServerTransactionEnv) {
    super(request, key, context, env);
    this.kind = 'invite-server';
    this.current = 'proceeding';
    this.pendingCall = undefined;
  }

  get state(): InviteServerState {
    // An Accepted transaction the layer let go of reads as Terminated once its Timer L is over.
    return this.current === 'accepted' && this.isTerminated ? 'terminated' : this.current;
  }

  /**
   * @internal starts the 100 Trying timer: sent unless the TU answers within 200 ms (17.2.1). Called once the TU
   * has seen the INVITE: when it answered already (a 1xx or final went out), there is nothing to time.
   */
  start(): void {
    if (this.lastResponse !== undefined || this.current !== 'proceeding') return;
    const delay = this.env.timers.trying;
    // A TU that always answers at once (a proxy core sending its own 100) may switch this off with Infinity.
    if (!Number.isFinite(delay)) return;
    this.startTimer('Trying', delay, () => {
      if (this.current === 'proceeding' && this.lastResponse === undefined) {
        this.sendResponse(createResponse(this.request, 100));
      }
    });
  }

  respond(response: SipResponse): void {
    this.respondSent(response);
  }

  /**
   * @internal `respond`, returning the datagram when the port says what it sent (a UDP response): a TU may send a
   * 2xx again as it is (RFC 3261 13.3.1.4) without keeping the transaction, its request and the 2xx.
   */
  respondSent(response: SipResponse): SentDatagram | undefined {
    this.checkStatus(response);
    const status = response.status;
    const s = this.state;
    if (s === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 8.5: the TU's 2xx retransmissions (and other 2xx) go out through the transaction.
      return this.sendResponse(response);
    }
    if (s !== 'proceeding') throw new TransactionError('bad-state', `cannot send ${status} in state ${s}`);
    this.stopTimer('Trying');
    if (status < 200) return this.sendResponse(response);
    const t1 = this.env.timers.t1;
    if (status < 300) {
      this.current = 'accepted';
      this.env.finalSent(this, response);
      const sent = this.sendResponse(response);
      if (this.isTerminated) return sent;
      // RFC 6026 7.1: Timer L = 64*T1 keeps the transaction to absorb INVITE retransmissions. That needs only its
      // key: unless someone waits to hear of its end, the layer keeps just that and the request and 2xx go with the
      // TU's call. Otherwise a fixed wait on the wait queues.
      const l = 64 * t1;
      const due = this.watched && this.events.onTerminated !== undefined ? undefined : this.env.accepted(this, l);
      if (due !== undefined) this.retired('L', due);
      else this.startWait('L', l);
      return sent;
    }
    this.current = 'completed';
    this.env.finalSent(this, response);
    const sent = this.sendResponse(response);
    if (this.isTerminated) return sent;
    if (!this.reliable) this.armG(t1);
    this.startTimer('H', 64 * t1, () => {
      if (this.current !== 'completed') return;
      this.events.onTimeout?.(this);
      this.terminate('timeout');
    });
    return sent;
  }

  private armG(interval: number): void {
    this.startTimer('G', interval, () => {
      if (this.current !== 'completed') return;
      this.resendLast();
      if (!this.isTerminated) this.armG(Math.min(interval * 2, this.env.timers.t2));
    });
  }

  /**
   * A 2xx that could not be sent (the TU retransmits it) leaves the transaction Accepted until Timer L, so that
   * retransmitted INVITEs are still absorbed and never seen as new requests (RFC 6026 7.1).
   */
  protected override survivesTransportError(): boolean {
    return this.current === 'accepted';
  }

  /** @internal */
  receiveRequest(request: SipRequest): void {
    const s = this.current;
    if (request.method === 'ACK') {
      if (s !== 'completed') return; // Confirmed absorbs ACKs; Accepted ones go to the TU (the layer sees to it)
      this.current = 'confirmed';
      this.stopTimer('G');
      this.stopTimer('H');
      this.events.onAck?.(request, this);
      if (this.isTerminated) return;
      // Timer I = T4 absorbs ACK retransmissions on unreliable transports; zero on reliable ones.
      this.waitThenTerminate('I', this.reliable ? 0 : this.env.timers.t4);
      return;
    }
    // A retransmitted INVITE: the last provisional or final again; Accepted absorbs it (RFC 6026 7.1).
    if (s === 'proceeding' || s === 'completed') this.resendLast();
  }

  protected setTerminatedState(): void {
    this.current = 'terminated';
  }
}

/** RFC 3261 17.2.2 (Figure 8). */
export class NonInviteServerTransaction extends ServerTransactionBase {
  declare readonly kind: 'non-invite-server';
  declare private current: NonInviteServerState;

  constructor(request: SipRequest, key: string | undefined, context: SipInboundContext, env: ServerTransactionEnv) {
    super(request, key, context, env);
    this.kind = 'non-invite-server';
    this.current = 'trying';
  }

  get state(): NonInviteServerState {
    return this.isTerminated ? 'terminated' : this.current;
  }

  respond(response: SipResponse): void {
    this.checkStatus(response);
    const s = this.current;
    if (s === 'completed' || s === 'terminated') {
      throw new TransactionError('bad-state', `cannot send ${response.status} in state ${s}`);
    }
    if (response.status < 200) {
      this.current = 'proceeding';
      this.sendResponse(response);
      return;
    }
    this.current = 'completed';
    // (no finalSent: only an INVITE transaction is matched by the To tag of its final, RFC 3261 17.2.3)
    const sent = this.sendResponse(response);
    if (this.isTerminated) return;
    // Timer J = 64*T1 absorbs request retransmissions on unreliable transports; zero on reliable ones.
    const j = this.reliable ? 0 : 64 * this.env.timers.t1;
    // Nobody waits on this transaction: the layer keeps only the datagram to answer retransmissions with.
    if (j > 0 && sent !== undefined && !this.watched && this.env.retire(this, sent, j)) return;
    this.waitThenTerminate('J', j);
  }

  /** @internal */
  receiveRequest(_request: SipRequest): void {
    // Trying discards retransmissions; Proceeding and Completed send the last response again.
    if (this.current === 'proceeding' || this.current === 'completed') this.resendLast();
  }

  protected setTerminatedState(): void {
    this.current = 'terminated';
  }
}

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
