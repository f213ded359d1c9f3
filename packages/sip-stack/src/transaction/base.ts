// What the four transaction state machines share (RFC 3261 section 17): timer values, the transport port they send
// through, typed errors, and timer bookkeeping on the injected clock.

import type { Clock, TimerHandle } from '../clock.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { SipEndpoint, SipInboundContext } from '../transport/index.js';

/** RFC 3261 17.1.1.1 / Table 4 timer bases, in milliseconds. */
export interface TransactionTimerSettings {
  /** RTT estimate. Default 500. */
  readonly t1: number;
  /** Longest retransmit interval for non-INVITE requests and INVITE responses. Default 4000. */
  readonly t2: number;
  /** Longest time a message stays in the network. Default 5000. */
  readonly t4: number;
  /** Timer D on unreliable transports: at least 32 s (17.1.1.2). Default 32000. */
  readonly timerD: number;
  /**
   * When an INVITE server transaction sends 100 Trying if the TU has not answered (17.2.1). Default 200;
   * Infinity turns it off.
   */
  readonly trying: number;
}

export const DEFAULT_TRANSACTION_TIMERS: TransactionTimerSettings = Object.freeze({
  t1: 500,
  t2: 4000,
  t4: 5000,
  timerD: 32_000,
  trying: 200,
});

/**
 * What the transaction layer needs from a transport: the SipTransportLayer fits it as it is, and tests plug in a
 * simulated network. A send may fail synchronously or by rejecting; either is a transport error (17.1.4, 17.2.4).
 */
export interface SipTransportPort {
  /** Returns nothing, or a promise whose rejection is a transport error (SipTransportLayer returns one). */
  send(message: SipRequest | SipResponse, destination: SipEndpoint): unknown;
  /** RFC 3261 18.2.2 response routing; when absent responses go back to `context.source`. */
  sendResponse?(response: SipResponse, context: SipInboundContext): unknown;
}

export type TransactionErrorCode =
  | 'no-via'
  | 'bad-branch'
  | 'duplicate-branch'
  | 'bad-method'
  | 'bad-state'
  | 'bad-status';

/** A misuse of a transaction by its user (never raised for anything received from the network). */
export class TransactionError extends Error {
  constructor(
    readonly code: TransactionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TransactionError';
  }
}

export type TransactionTimerName = 'A' | 'B' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M' | 'Trying';

/** Why a transaction ended, as reported to its user. */
export type TerminationCause = 'normal' | 'timeout' | 'transport-error' | 'closed';

/** @internal what the layer gives each transaction */
export interface TransactionEnv {
  readonly clock: Clock;
  readonly timers: TransactionTimerSettings;
  readonly port: SipTransportPort;
  /** Removes the transaction from the layer's tables. */
  terminated(tx: TransactionBase): void;
}

/** @internal */
export abstract class TransactionBase {
  private readonly running = new Map<TransactionTimerName, TimerHandle>();
  private ended = false;
  cause: TerminationCause | undefined = undefined;

  constructor(
    /** The request that created the transaction. */
    readonly request: SipRequest,
    /** The key the transaction is matched by (17.1.3 / 17.2.3). */
    readonly key: string,
    /** Messages go over a reliable transport: no retransmission timers, zero wait states. */
    readonly reliable: boolean,
    protected readonly env: TransactionEnv,
  ) {}

  abstract get state(): string;

  get isTerminated(): boolean {
    return this.ended;
  }

  /** Timers now running, for tests and diagnostics. */
  activeTimers(): TransactionTimerName[] {
    return [...this.running.keys()];
  }

  protected startTimer(name: TransactionTimerName, ms: number, fire: () => void): void {
    this.stopTimer(name);
    const handle = this.env.clock.setTimeout(() => {
      this.running.delete(name);
      if (!this.ended) fire();
    }, ms);
    this.running.set(name, handle);
  }

  protected stopTimer(name: TransactionTimerName): void {
    const h = this.running.get(name);
    if (h !== undefined) {
      this.env.clock.clearTimeout(h);
      this.running.delete(name);
    }
  }

  /** Enters a wait state for `ms` (timers D, I, J, K, L, M) or ends at once when it is zero (reliable transport). */
  protected waitThenTerminate(name: TransactionTimerName, ms: number): void {
    if (ms <= 0) this.terminate('normal');
    else this.startTimer(name, ms, () => this.terminate('normal'));
  }

  /** Sends through the port; a synchronous throw or a rejection is a transport error. */
  protected transmit(send: () => unknown): void {
    let result: unknown;
    try {
      result = send();
    } catch (err) {
      this.transportError(err);
      return;
    }
    if (typeof result === 'object' && result !== null && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => this.transportError(err));
    }
  }

  /** RFC 3261 17.1.4 / 17.2.4 (and 8.1.3.1): a failed send ends the transaction and tells the user. */
  protected transportError(error: unknown): void {
    if (this.ended) return;
    if (this.survivesTransportError()) {
      this.notifyTransportError(error);
      return;
    }
    this.setTerminatedState();
    this.notifyTransportError(error);
    this.terminate('transport-error');
  }

  /** Ends the transaction: every timer stopped, removed from the layer, the user told once. */
  terminate(cause: TerminationCause): void {
    if (this.ended) return;
    this.ended = true;
    this.cause = cause;
    for (const h of this.running.values()) this.env.clock.clearTimeout(h);
    this.running.clear();
    this.setTerminatedState();
    this.env.terminated(this);
    this.notifyTerminated();
  }

  /** Whether a failed send leaves the state as it is (the user is still told). */
  protected survivesTransportError(): boolean {
    return false;
  }

  protected abstract setTerminatedState(): void;
  protected abstract notifyTransportError(error: unknown): void;
  protected abstract notifyTerminated(): void;
}

/** The response destination rule shared by server transactions. */
export function sendResponseThrough(
  port: SipTransportPort,
  response: SipResponse,
  context: SipInboundContext,
): unknown {
  return port.sendResponse !== undefined ? port.sendResponse(response, context) : port.send(response, context.source);
}
