// What the four transaction state machines share (RFC 3261 section 17): timer values, the transport port they send
// through, typed errors, and timer bookkeeping on the injected clock.

import type { Clock, TimerHandle } from '../clock.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { SendFailureSink, SentDatagram, SipEndpoint, SipInboundContext } from '../transport/index.js';
import type { WaitingTransaction, WaitQueues } from './wait-queue.js';

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
  /**
   * Optional promise-free forms of `send` and `sendResponse`, preferred when present: a failure is a synchronous
   * throw or one later call of `onError` (SipTransportLayer has them, so a datagram costs no promise).
   */
  transmit?(message: SipRequest | SipResponse, destination: SipEndpoint, onError: (error: unknown) => void): void;
  /**
   * `transmitResponse` telling `sink` (the transaction) of a failure, preferred when present: no callback is made
   * per response.
   */
  transmitResponseTo?(
    response: SipResponse,
    context: SipInboundContext,
    sink: SendFailureSink,
  ): SentDatagram | undefined;
  /** Returns the datagram when the response went out at once as one (a completed transaction may keep it). */
  transmitResponse?(
    response: SipResponse,
    context: SipInboundContext,
    onError: (error: unknown) => void,
  ): SentDatagram | undefined;
  /** Sends a datagram again exactly as it went out; with it, completed non-INVITE transactions are kept small. */
  resend?(sent: SentDatagram, onError: (error: unknown) => void): void;
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
  /** Where the wait states (timers D, I, J, K) are timed. */
  readonly waits: WaitQueues;
  /** Removes the transaction from the layer's tables. */
  terminated(tx: TransactionBase): void;
}

/**
 * A transaction's clock timers and its wait, made on its first timer: a server transaction answered at once (most
 * of them) never times anything, and is smaller without these slots.
 */
class TimerSlots {
  // At most two timers run at once (A+B, E+F, G+H): two slots instead of a Map per transaction; a third would
  // go to `extra`, which no state machine here needs.
  name0: TransactionTimerName | undefined = undefined;
  handle0: TimerHandle | undefined = undefined;
  name1: TransactionTimerName | undefined = undefined;
  handle1: TimerHandle | undefined = undefined;
  extra: Map<TransactionTimerName, TimerHandle> | undefined = undefined;
  /** The wait state's timer (D, I, J or K), timed by the layer's wait queues, and its deadline. */
  waitName: TransactionTimerName | undefined = undefined;
  waitDue: number | undefined = undefined;
}

/** @internal */
export abstract class TransactionBase implements WaitingTransaction, SendFailureSink {
  // Fields are declared and assigned in the constructors (here and in the subclasses), not written as class fields
  // or parameter properties: class-field definitions kept the construction of a server transaction (three classes)
  // out of line in the optimized caller (JSConstructStubGeneric, FastNewObject: callgrind).
  /** The request that created the transaction. */
  declare readonly request: SipRequest;
  /** Messages go over a reliable transport: no retransmission timers, zero wait states. */
  declare readonly reliable: boolean;
  declare protected readonly env: TransactionEnv;
  declare private timers: TimerSlots | undefined;
  /** Why it ended; undefined while it has not. */
  declare cause: TerminationCause | undefined;
  /** The key the transaction is matched by, when made (see `key`). */
  declare private keyText: string | undefined;
  /** Deadline of a wait the layer now times without this object (see ServerTransactionEnv.retire), and its name. */
  declare private retiredUntil: number | undefined;
  declare private retiredTimer: TransactionTimerName | undefined;

  constructor(
    request: SipRequest,
    /** Its key; undefined when the layer matched it without the text (`keyOf` makes it when asked). */
    key: string | undefined,
    reliable: boolean,
    env: TransactionEnv,
  ) {
    this.request = request;
    this.reliable = reliable;
    this.env = env;
    this.timers = undefined;
    this.cause = undefined;
    this.keyText = key;
    this.retiredUntil = undefined;
    this.retiredTimer = undefined;
  }

  /** The key the transaction is matched by (17.1.3 / 17.2.3). */
  get key(): string {
    let key = this.keyText;
    if (key === undefined) {
      key = this.keyOf();
      this.keyText = key;
    }
    return key;
  }

  /** The key, for a transaction made without it. */
  protected keyOf(): string {
    throw new TransactionError('bad-state', 'the transaction has no key');
  }

  abstract get state(): string;

  /** Whether it ended (terminate ran). */
  private get ended(): boolean {
    return this.cause !== undefined;
  }

  get isTerminated(): boolean {
    if (this.cause !== undefined) return true;
    const until = this.retiredUntil;
    return until !== undefined && this.env.clock.now() >= until;
  }

  /** Deadline of the wait now running, or undefined (the wait queue's check: WaitingTransaction). */
  get waitDue(): number | undefined {
    return this.timers?.waitDue;
  }

  /** @internal the layer took over the wait state: the transaction reads as Terminated from `until` on. */
  retired(name: TransactionTimerName, until: number): void {
    this.retiredTimer = name;
    this.retiredUntil = until;
  }

  /** Timers now running, for tests and diagnostics. */
  activeTimers(): TransactionTimerName[] {
    const out: TransactionTimerName[] = [];
    const t = this.timers;
    if (t !== undefined) {
      if (t.name0 !== undefined) out.push(t.name0);
      if (t.name1 !== undefined) out.push(t.name1);
      if (t.extra !== undefined) out.push(...t.extra.keys());
      if (t.waitName !== undefined) out.push(t.waitName);
    }
    if (this.retiredTimer !== undefined && !this.isTerminated) out.push(this.retiredTimer);
    return out;
  }

  protected startTimer(name: TransactionTimerName, ms: number, fire: () => void): void {
    this.stopTimer(name);
    const handle = this.env.clock.setTimeout(() => {
      this.forgetTimer(name);
      if (!this.ended) fire();
    }, ms);
    let t = this.timers;
    if (t === undefined) {
      t = new TimerSlots();
      this.timers = t;
    }
    if (t.name0 === undefined) {
      t.name0 = name;
      t.handle0 = handle;
    } else if (t.name1 === undefined) {
      t.name1 = name;
      t.handle1 = handle;
    } else {
      t.extra ??= new Map();
      t.extra.set(name, handle);
    }
  }

  protected stopTimer(name: TransactionTimerName): void {
    const t = this.timers;
    if (t === undefined) return;
    if (t.waitName === name) {
      // the queue skips an entry whose deadline no longer matches
      t.waitName = undefined;
      t.waitDue = undefined;
      return;
    }
    const h = this.forgetTimer(name);
    if (h !== undefined) this.env.clock.clearTimeout(h);
  }

  /** Drops a timer from the slots (keeping the order they were started in); returns its handle. */
  private forgetTimer(name: TransactionTimerName): TimerHandle | undefined {
    const t = this.timers;
    if (t === undefined) return undefined;
    let h: TimerHandle | undefined;
    if (t.name0 === name) {
      h = t.handle0;
      t.name0 = t.name1;
      t.handle0 = t.handle1;
      t.name1 = undefined;
      t.handle1 = undefined;
    } else if (t.name1 === name) {
      h = t.handle1;
      t.name1 = undefined;
      t.handle1 = undefined;
    } else if (t.extra !== undefined) {
      h = t.extra.get(name);
      t.extra.delete(name);
    }
    return h;
  }

  private stopAllTimers(): void {
    const t = this.timers;
    if (t === undefined) return;
    const clock = this.env.clock;
    if (t.handle0 !== undefined) clock.clearTimeout(t.handle0);
    if (t.handle1 !== undefined) clock.clearTimeout(t.handle1);
    t.name0 = t.name1 = undefined;
    t.handle0 = t.handle1 = undefined;
    if (t.extra !== undefined) {
      for (const h of t.extra.values()) clock.clearTimeout(h);
      t.extra = undefined;
    }
    t.waitName = undefined;
    t.waitDue = undefined;
  }

  /** Enters a wait state for `ms` (timers D, I, J, K) or ends at once when it is zero (reliable transport). */
  protected waitThenTerminate(name: TransactionTimerName, ms: number): void {
    if (ms <= 0) {
      this.terminate('normal');
      return;
    }
    this.startWait(name, ms);
  }

  /**
   * Starts a fixed-length timer on the layer's wait queues instead of a clock timer of its own (one at a time):
   * every transaction waits the same time for it, so a queue per duration keeps them in deadline order.
   * The transaction ends at the deadline unless `stopTimer(name)` came first.
   */
  protected startWait(name: TransactionTimerName, ms: number): void {
    let t = this.timers;
    if (t === undefined) {
      t = new TimerSlots();
      this.timers = t;
    }
    t.waitName = name;
    t.waitDue = this.env.waits.add(this, ms);
  }

  /** @internal the wait queue's call at the deadline */
  waitEnded(): void {
    const t = this.timers;
    if (t === undefined || t.waitName === undefined || this.ended) return;
    t.waitName = undefined;
    t.waitDue = undefined;
    this.terminate('normal');
  }

  /** @internal SendFailureSink: a send through `transmitResponseTo` failed */
  sendFailed(error: unknown): void {
    this.transportError(error);
  }

  /** A callback for one promise-free send's failure (made per send: nothing is kept for the transaction's life). */
  private failure(): (error: unknown) => void {
    return (error: unknown) => this.transportError(error);
  }

  /** Sends a request through the port; a synchronous throw, a rejection or onError is a transport error. */
  protected transmitRequest(message: SipRequest, destination: SipEndpoint): void {
    const port = this.env.port;
    let result: unknown;
    try {
      if (port.transmit !== undefined) port.transmit(message, destination, this.failure());
      else result = port.send(message, destination);
    } catch (err) {
      this.transportError(err);
      return;
    }
    this.watch(result);
  }

  /** Sends a response by RFC 3261 18.2.2 (the port's rule when it has one, else back to the source). */
  protected transmitResponse(response: SipResponse, context: SipInboundContext): SentDatagram | undefined {
    const port = this.env.port;
    let result: unknown;
    try {
      if (port.transmitResponseTo !== undefined) return port.transmitResponseTo(response, context, this);
      if (port.transmitResponse !== undefined) return port.transmitResponse(response, context, this.failure());
      if (port.sendResponse !== undefined) result = port.sendResponse(response, context);
      else result = port.send(response, context.source);
    } catch (err) {
      this.transportError(err);
      return undefined;
    }
    this.watch(result);
    return undefined;
  }

  private watch(result: unknown): void {
    if (typeof result === 'object' && result !== null && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, this.failure());
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
    this.cause = cause;
    this.stopAllTimers();
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
