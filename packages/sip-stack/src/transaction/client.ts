// Client transactions: INVITE (RFC 3261 17.1.1 with RFC 6026 Accepted state and Timer M) and non-INVITE (17.1.2),
// plus the ACK for non-2xx finals (17.1.1.3) and CANCEL (section 9.1) built from the INVITE.

import { SipRequest, type SipResponse } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import { TransactionBase, type TransactionEnv, TransactionError } from './base.js';

export interface ClientTransactionEvents {
  /**
   * Responses for the TU: provisionals, the final response, and for INVITE every further 2xx while Accepted
   * (RFC 6026 7.2: forked 2xx and retransmissions go to the TU, which ACKs them). Retransmitted non-2xx finals are
   * absorbed.
   */
  onResponse?(response: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired before a final response (17.1.1.2, 17.1.2.2): the TU treats it as 408. */
  onTimeout?(tx: ClientTransaction): void;
  /** A send failed (17.1.4): the TU treats it as 503. */
  onTransportError?(error: unknown, tx: ClientTransaction): void;
  onTerminated?(tx: ClientTransaction): void;
}

/** @internal the layer's hook to start the CANCEL's own transaction */
export interface ClientTransactionEnv extends TransactionEnv {
  startCancel(cancel: SipRequest, destination: SipEndpoint, events: ClientTransactionEvents): ClientTransaction;
}

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

abstract class ClientTransactionBase extends TransactionBase {
  events: ClientTransactionEvents;
  /** The final response, once received. */
  finalResponse: SipResponse | undefined = undefined;

  constructor(
    request: SipRequest,
    key: string,
    readonly destination: SipEndpoint,
    events: ClientTransactionEvents,
    protected override readonly env: ClientTransactionEnv,
  ) {
    super(request, key, destination.protocol !== 'udp', env);
    this.events = events;
  }

  /** @internal called by the layer once the transaction is in its table */
  abstract start(): void;
  /** @internal a response matched to this transaction (17.1.3) */
  abstract receiveResponse(response: SipResponse): void;

  protected sendRequest(message: SipRequest): void {
    this.transmitRequest(message, this.destination);
  }

  protected pass(response: SipResponse): void {
    this.events.onResponse?.(response, this as unknown as ClientTransaction);
  }

  protected timeout(): void {
    this.events.onTimeout?.(this as unknown as ClientTransaction);
    this.terminate('timeout');
  }

  protected notifyTransportError(error: unknown): void {
    this.events.onTransportError?.(error, this as unknown as ClientTransaction);
  }

  protected notifyTerminated(): void {
    this.events.onTerminated?.(this as unknown as ClientTransaction);
  }
}

/** Header lines of `request` copied by name, in order. */
function copyLines(from: SipRequest, to: SipRequest, name: string): void {
  for (const v of from.headers(name)) to.appendHeader(name, v);
}

/** RFC 3261 9.1: the CANCEL of a client INVITE. */
export function buildCancel(invite: SipRequest): SipRequest {
  const cancel = new SipRequest('CANCEL', invite.uri);
  const via = invite.header('Via');
  if (via === undefined) throw new TransactionError('no-via', 'the INVITE has no Via');
  // One Via: the top Via of the request being cancelled, so the CANCEL matches its transaction (9.1).
  cancel.appendHeader('Via', via);
  copyLines(invite, cancel, 'Route');
  cancel.appendHeader('Max-Forwards', '70');
  cancel.appendHeader('From', invite.header('From') ?? '');
  cancel.appendHeader('To', invite.header('To') ?? '');
  cancel.appendHeader('Call-ID', invite.callId());
  cancel.appendHeader('CSeq', `${invite.cseq().seq} CANCEL`);
  cancel.appendHeader('Content-Length', '0');
  return cancel;
}

/** RFC 3261 17.1.1.3: the ACK for a non-2xx final response, built by the client transaction. */
export function buildNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = new SipRequest('ACK', invite.uri);
  const via = invite.header('Via');
  if (via === undefined) throw new TransactionError('no-via', 'the INVITE has no Via');
  ack.appendHeader('Via', via);
  copyLines(invite, ack, 'Route');
  ack.appendHeader('Max-Forwards', '70');
  ack.appendHeader('From', invite.header('From') ?? '');
  // The To of the response, with its tag.
  ack.appendHeader('To', response.header('To') ?? invite.header('To') ?? '');
  ack.appendHeader('Call-ID', invite.callId());
  ack.appendHeader('CSeq', `${invite.cseq().seq} ACK`);
  ack.appendHeader('Content-Length', '0');
  return ack;
}

/** RFC 3261 17.1.1 (Figure 5) with RFC 6026 (Figure 3: Accepted state, Timer M). */
export class InviteClientTransaction extends ClientTransactionBase {
  readonly kind = 'invite-client' as const;
  private current: InviteClientState = 'calling';
  private ack: SipRequest | undefined = undefined;
  private cancelWanted: ClientTransactionEvents | undefined = undefined;
  /** The CANCEL's transaction, once sent. */
  cancelTransaction: ClientTransaction | undefined = undefined;

  get state(): InviteClientState {
    return this.current;
  }

  /** @internal */
  start(): void {
    this.sendRequest(this.request);
    if (this.isTerminated) return;
    const t1 = this.env.timers.t1;
    // 17.1.1.2: timer A only on unreliable transports, doubling each time; timer B = 64*T1 in any case.
    if (!this.reliable) this.armA(t1);
    this.startTimer('B', 64 * t1, () => {
      if (this.current === 'calling') this.timeout();
    });
  }

  private armA(interval: number): void {
    this.startTimer('A', interval, () => {
      if (this.current !== 'calling') return;
      this.sendRequest(this.request);
      if (!this.isTerminated) this.armA(interval * 2);
    });
  }

  /** @internal */
  receiveResponse(response: SipResponse): void {
    const status = response.status;
    const s = this.current;
    if (status < 200) {
      if (s !== 'calling' && s !== 'proceeding') return;
      // 17.1.1.2: a provisional stops retransmissions; Timer B only ends the Calling state.
      this.current = 'proceeding';
      this.stopTimer('A');
      this.stopTimer('B');
      this.pass(response);
      this.sendPendingCancel();
      return;
    }
    if (status < 300) {
      if (s === 'calling' || s === 'proceeding') {
        // RFC 6026 7.2: Accepted, so that 2xx retransmissions and forks still reach the TU; Timer M = 64*T1.
        this.current = 'accepted';
        this.finalResponse = response;
        this.cancelWanted = undefined;
        this.stopTimer('A');
        this.stopTimer('B');
        this.startTimer('M', 64 * this.env.timers.t1, () => this.terminate('normal'));
        this.pass(response);
      } else if (s === 'accepted') {
        this.pass(response);
      }
      return;
    }
    if (s === 'calling' || s === 'proceeding') {
      this.current = 'completed';
      this.finalResponse = response;
      this.cancelWanted = undefined;
      this.stopTimer('A');
      this.stopTimer('B');
      this.ack = buildNon2xxAck(this.request, response);
      this.pass(response);
      if (this.isTerminated) return;
      this.sendRequest(this.ack);
      if (this.isTerminated) return;
      // Timer D: at least 32 s on unreliable transports to absorb retransmitted finals, zero on reliable ones.
      this.waitThenTerminate('D', this.reliable ? 0 : this.env.timers.timerD);
    } else if (s === 'completed' && this.ack !== undefined) {
      // A retransmitted final: ACK it again, do not pass it up.
      this.sendRequest(this.ack);
    }
  }

  /**
   * Cancels the INVITE (RFC 3261 9.1). Sent at once when a provisional has arrived, else as soon as one does;
   * nothing is sent once a final response has arrived. Returns the CANCEL's transaction when sent now.
   */
  cancel(events: ClientTransactionEvents = {}): ClientTransaction | undefined {
    if (this.cancelTransaction !== undefined) return this.cancelTransaction;
    if (this.current === 'calling') {
      this.cancelWanted = events;
      return undefined;
    }
    if (this.current !== 'proceeding') return undefined;
    this.cancelTransaction = this.env.startCancel(buildCancel(this.request), this.destination, events);
    return this.cancelTransaction;
  }

  /** Whether a CANCEL waits for the first provisional response. */
  get cancelPending(): boolean {
    return this.cancelWanted !== undefined;
  }

  private sendPendingCancel(): void {
    const events = this.cancelWanted;
    if (events === undefined || this.cancelTransaction !== undefined) return;
    this.cancelWanted = undefined;
    this.cancelTransaction = this.env.startCancel(buildCancel(this.request), this.destination, events);
  }

  protected setTerminatedState(): void {
    this.current = 'terminated';
    this.cancelWanted = undefined;
  }
}

/** RFC 3261 17.1.2 (Figure 6). */
export class NonInviteClientTransaction extends ClientTransactionBase {
  readonly kind = 'non-invite-client' as const;
  private current: NonInviteClientState = 'trying';

  get state(): NonInviteClientState {
    return this.current;
  }

  /** @internal */
  start(): void {
    this.sendRequest(this.request);
    if (this.isTerminated) return;
    const t1 = this.env.timers.t1;
    if (!this.reliable) this.armE(t1);
    this.startTimer('F', 64 * t1, () => {
      if (this.current === 'trying' || this.current === 'proceeding') this.timeout();
    });
  }

  private armE(interval: number): void {
    this.startTimer('E', interval, () => {
      if (this.current !== 'trying' && this.current !== 'proceeding') return;
      this.sendRequest(this.request);
      if (this.isTerminated) return;
      // 17.1.2.2: E doubles up to T2 while Trying, and is T2 once Proceeding.
      const t2 = this.env.timers.t2;
      this.armE(this.current === 'trying' ? Math.min(interval * 2, t2) : t2);
    });
  }

  /** @internal */
  receiveResponse(response: SipResponse): void {
    const s = this.current;
    if (s !== 'trying' && s !== 'proceeding') return; // Completed absorbs retransmitted finals
    if (response.status < 200) {
      this.current = 'proceeding';
      this.pass(response);
      return;
    }
    this.current = 'completed';
    this.finalResponse = response;
    this.stopTimer('E');
    this.stopTimer('F');
    this.pass(response);
    if (this.isTerminated) return;
    // Timer K = T4 on unreliable transports (absorbs retransmitted finals), zero on reliable ones.
    this.waitThenTerminate('K', this.reliable ? 0 : this.env.timers.t4);
  }

  protected setTerminatedState(): void {
    this.current = 'terminated';
  }
}

export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
