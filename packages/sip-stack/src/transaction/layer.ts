// The transaction layer (RFC 3261 section 17): owns the client and server transaction tables, matches what the
// transport delivers (17.1.3, 17.2.3, with the RFC 2543 fallback), hands the rest to the TU, and forgets every
// transaction once it terminates.

import { type Clock, systemClock } from '../clock.js';
import {
  formatVia,
  generateBranch,
  isRfc3261Branch,
  type RandomSource,
  type SipRequest,
  type SipResponse,
  type Via,
} from '../message/index.js';
import type { SentDatagram, SipEndpoint, SipInboundContext } from '../transport/index.js';
import {
  DEFAULT_TRANSACTION_TIMERS,
  type SipTransportPort,
  type TransactionBase,
  TransactionError,
  type TransactionTimerSettings,
} from './base.js';
import {
  type ClientTransaction,
  type ClientTransactionEnv,
  type ClientTransactionEvents,
  InviteClientTransaction,
  NonInviteClientTransaction,
} from './client.js';
import { CompletedGenerations } from './completed-generations.js';
import {
  InviteServerTransaction,
  NonInviteServerTransaction,
  type ServerTransaction,
  type ServerTransactionEnv,
} from './server.js';
import { WaitQueues } from './wait-queue.js';

/** The transaction user: the UA core or proxy core above the layer. */
export interface TransactionUser {
  /** A request that matched no transaction: its new server transaction (RFC 3261 17.2). Not called for CANCEL
   * when `onCancel` is given, nor for ACK. */
  onRequest(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): void;
  /** An ACK that matched no transaction, i.e. the ACK of a 2xx (17.2.3, 13.3.1.4), or one matched while Accepted. */
  onAck?(ack: SipRequest, context: SipInboundContext): void;
  /**
   * A CANCEL in its own server transaction, with the INVITE server transaction it matches (RFC 3261 9.2), if any.
   * The TU answers 200 (481 without a match) on `cancelTx`, and 487 on the INVITE if it is still proceeding.
   * Without this callback the layer does exactly that itself.
   */
  onCancel?(cancel: SipRequest, cancelTx: ServerTransaction, inviteTx: InviteServerTransaction | undefined): void;
  /** A response that matched no client transaction: 2xx retransmissions for the UA core (13.2.2.4), or strays. */
  onStrayResponse?(response: SipResponse, context: SipInboundContext): void;
}

export interface TransactionLayerOptions {
  readonly transport: SipTransportPort;
  readonly user: TransactionUser;
  readonly clock?: Clock;
  readonly timers?: Partial<TransactionTimerSettings>;
  /**
   * sent-by of this element per destination: when set, a request without a Via gets one with a fresh branch
   * (RFC 3261 8.1.1.7, 18.1.1). Without it, requests must carry their Via.
   */
  readonly sentBy?: (destination: SipEndpoint) => { readonly host: string; readonly port?: number };
  readonly random?: RandomSource;
  /** @internal sizes of the stores of completed and accepted transactions (tests use tiny ones) */
  readonly completedStores?: { readonly initialCapacity: number; readonly growInPlaceBelow: number };
}

export interface TransactionLayerCounters {
  /** Requests and responses dropped because the headers matching needs were missing or malformed. */
  droppedMalformed: number;
  strayResponses: number;
  strayAcks: number;
  retransmissionsAbsorbed: number;
}

function sentByOf(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? ''}`;
}

/** RFC 3261 17.1.3: branch of the top Via and the CSeq method. */
function clientKey(branch: string, method: string): string {
  return `${branch}\n${method}`;
}

/** RFC 3261 17.2.3 with a magic-cookie branch; the port (undefined when absent) joins as ''. */
function rfc3261Key(via: Via, method: string): string {
  return [via.branch, via.host.toLowerCase(), via.port, method].join('\n');
}

/**
 * RFC 3261 17.2.3: with a magic-cookie branch, branch + sent-by + method (ACK matches INVITE); otherwise the
 * RFC 2543 rule on Request-URI, tags, Call-ID, CSeq and the top Via. `toTag` lets an RFC 2543 ACK be matched by
 * the tag of the response (the caller passes it). Built by one join rather than a template: a concatenation keeps
 * its parts (the branch is a slice of the whole request's text, which an entry living 64*T1 would keep alive),
 * flattening it later is a call into the runtime, and each character read of a flat string is cheaper.
 */
function serverKey(request: SipRequest, method: string, toTag: string | undefined): string {
  const via = request.via();
  const branch = via.branch;
  if (isRfc3261Branch(branch)) return rfc3261Key(via, method);
  const cseq = request.cseq();
  return [
    'rfc2543',
    request.uri,
    toTag ?? '',
    request.from().tag ?? '',
    request.callId(),
    cseq.seq,
    method,
    via.transport,
    sentByOf(via),
    branch ?? '',
  ].join('\n');
}

/** What an Accepted INVITE kept as its key has to send again: nothing (the TU retransmits its 2xx). */
const NOTHING_SENT: SentDatagram = Object.freeze({
  bytes: new Uint8Array(0),
  destination: Object.freeze({ protocol: 'udp' as const, address: '', port: 0 }),
});

/** Owns every transaction of one SIP element. */
export class TransactionLayer {
  readonly counters: TransactionLayerCounters = {
    droppedMalformed: 0,
    strayResponses: 0,
    strayAcks: 0,
    retransmissionsAbsorbed: 0,
  };
  readonly clock: Clock;
  readonly timers: TransactionTimerSettings;
  private readonly clientTable = new Map<string, ClientTransaction>();
  /**
   * INVITE server transactions by key, and by their RFC 2543 ACK key once they have one (`ackKey`): what INVITE,
   * ACK and CANCEL (9.2) look up. Apart from them the non-INVITE ones, so that while those are all answered at once
   * (none alive: see `pendingTx`) a new request's lookup is skipped instead of hashing its key into a big table.
   */
  private readonly inviteTable = new Map<string, ServerTransaction>();
  private readonly nonInviteTable = new Map<string, ServerTransaction>();
  /** Completed non-INVITE transactions reduced to their final response until Timer J (off the JS heap). */
  private completed: CompletedGenerations | undefined = undefined;
  /**
   * Accepted INVITE transactions reduced to their key until Timer L (RFC 6026 7.1: they only absorb retransmitted
   * INVITEs), kept off the JS heap like completed ones, with no datagram.
   */
  private accepted: CompletedGenerations | undefined = undefined;
  private serverCount = 0;
  /**
   * A new transaction while its TU callback runs, not yet in its table: a TU that answers it with a final response
   * at once sends it straight to `completed` (non-INVITE) or `accepted` (INVITE, 2xx), so the table never sees it
   * (RFC 3261 17.2.2, RFC 6026 7.1 all the same: the stores absorb the retransmissions). One that is still alive
   * after the callback is filed then. (An INVITE is pending only when its key was staged: RFC 2543 ones are filed
   * at once, for their ACK key.)
   */
  private pendingTx: ServerTransaction | undefined = undefined;
  /** The pending transaction was retired or terminated during its callback. */
  private pendingDone = false;
  private readonly waits: WaitQueues;
  private readonly clientEnv: ClientTransactionEnv;
  private readonly serverEnv: ServerTransactionEnv;

  constructor(private readonly options: TransactionLayerOptions) {
    this.clock = options.clock ?? systemClock;
    const t = options.timers ?? {};
    const d = DEFAULT_TRANSACTION_TIMERS;
    this.timers = {
      t1: t.t1 ?? d.t1,
      t2: t.t2 ?? d.t2,
      t4: t.t4 ?? d.t4,
      timerD: t.timerD ?? d.timerD,
      trying: t.trying ?? d.trying,
    };
    this.waits = new WaitQueues(this.clock);
    const base = {
      clock: this.clock,
      timers: this.timers,
      port: options.transport,
      waits: this.waits,
    };
    this.clientEnv = {
      ...base,
      terminated: (tx: TransactionBase) => {
        if (this.clientTable.get(tx.key) === tx) this.clientTable.delete(tx.key);
      },
      startCancel: (cancel, destination, events) => this.sendRequest(cancel, destination, events),
    };
    this.serverEnv = {
      ...base,
      terminated: (tx: TransactionBase) => this.forgetServer(tx as ServerTransaction),
      finalSent: (tx, response) => this.fileRfc2543Ack(tx, response),
      retire: (tx, sent, ms) => this.retire(tx, sent, ms),
      accepted: (tx, ms) => this.keepAcceptedKey(tx, ms),
      // the Via staged on arrival, not the request's: the TU may have changed that since
      keyOf: (tx) => rfc3261Key(tx.keyVia as Via, tx.kind === 'invite-server' ? 'INVITE' : tx.request.method),
    };
  }

  /** Client transactions alive. */
  get clientTransactionCount(): number {
    return this.clientTable.size;
  }

  /** Server transactions alive. */
  get serverTransactionCount(): number {
    const pending = this.pendingTx !== undefined && !this.pendingDone ? 1 : 0;
    return this.serverCount + pending + (this.completed?.size ?? 0) + (this.accepted?.size ?? 0);
  }

  /**
   * Starts a client transaction for `request` (not ACK: the ACK of a 2xx is sent with `sendStateless`, the ACK of
   * a non-2xx by the INVITE transaction itself).
   */
  sendRequest(request: SipRequest, destination: SipEndpoint, events: ClientTransactionEvents = {}): ClientTransaction {
    if (request.method === 'ACK') throw new TransactionError('bad-method', 'ACK is not sent in a client transaction');
    if (!request.hasHeader('Via')) {
      const sentBy = this.options.sentBy;
      if (sentBy === undefined) throw new TransactionError('no-via', 'the request has no Via');
      const at = sentBy(destination);
      request.prependHeader(
        'Via',
        formatVia({
          transport: destination.protocol.toUpperCase(),
          host: at.host,
          port: at.port,
          branch: generateBranch(this.options.random),
          rport: destination.protocol === 'udp',
        }),
      );
    }
    const branch = request.via().branch;
    // RFC 3261 8.1.1.7: our branches carry the magic cookie, so peers can match by branch.
    if (!isRfc3261Branch(branch)) throw new TransactionError('bad-branch', 'the top Via needs a z9hG4bK branch');
    const key = clientKey(branch as string, request.method);
    if (this.clientTable.has(key)) throw new TransactionError('duplicate-branch', `branch ${branch} is in use`);
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(request, key, destination, events, this.clientEnv)
        : new NonInviteClientTransaction(request, key, destination, events, this.clientEnv);
    this.clientTable.set(key, tx);
    tx.start();
    return tx;
  }

  /** Sends outside any transaction: the ACK of a 2xx (13.2.2.4), a stateless proxy's forward. */
  sendStateless(message: SipRequest | SipResponse, destination: SipEndpoint): unknown {
    return this.options.transport.send(message, destination);
  }

  /** Feeds a message from the transport (fits SipTransportLayer.onMessage). Never throws on malformed input. */
  receive(message: SipRequest | SipResponse, context: SipInboundContext): void {
    if (message.isResponse) this.receiveResponse(message, context);
    else this.receiveRequest(message, context);
  }

  private receiveResponse(response: SipResponse, context: SipInboundContext): void {
    let key: string;
    try {
      const branch = response.via().branch;
      const method = response.cseq().method;
      key = branch === undefined ? '' : clientKey(branch, method);
    } catch {
      this.counters.droppedMalformed++;
      return;
    }
    const tx = key === '' ? undefined : this.clientTable.get(key);
    if (tx !== undefined) {
      tx.receiveResponse(response);
      return;
    }
    this.counters.strayResponses++;
    this.options.user.onStrayResponse?.(response, context);
  }

  private receiveRequest(request: SipRequest, context: SipInboundContext): void {
    const method = request.method;
    const completed = this.completed;
    // The usual request, with a magic-cookie branch while no transaction of its kind is alive (those answered at
    // once are kept in the stores): its key (RFC 3261 17.2.3) is staged in the store that would keep it from its
    // parts, and matched there, without making its text. An INVITE's store is that of Accepted ones (RFC 6026 7.1).
    const invite = method === 'INVITE';
    const store = invite ? this.accepted : completed;
    if (
      store !== undefined &&
      this.pendingTx === undefined &&
      (invite ? this.inviteTable : this.nonInviteTable).size === 0 &&
      method !== 'ACK' &&
      method !== 'CANCEL'
    ) {
      let staging: number;
      let via: Via;
      try {
        if (request.cseq().method !== method) throw new Error('CSeq method mismatch');
        request.to();
        via = request.via();
        const branch = via.branch;
        // (stageKey checks the magic cookie: -1 without it, and the key is then made the RFC 2543 way below)
        staging = branch !== undefined ? store.stageKey(branch, via.host, via.port, method) : -1;
      } catch {
        this.counters.droppedMalformed++;
        return;
      }
      if (staging >= 0) {
        const ref = store.findStaged();
        if (ref < 0) {
          const tx = invite
            ? new InviteServerTransaction(request, undefined, context, this.serverEnv)
            : new NonInviteServerTransaction(request, undefined, context, this.serverEnv);
          tx.staging = staging;
          tx.keyVia = via;
          this.receivePending(request, tx, undefined, context, store.stagedHash);
        } else if (invite) this.counters.retransmissionsAbsorbed++;
        else this.absorbCompleted(store, ref);
        return;
      }
    }
    let key: string;
    let cancelKey: string | undefined;
    try {
      if (request.cseq().method !== method) throw new Error('CSeq method mismatch');
      const toTag = request.to().tag;
      // Only an INVITE transaction could match an ACK (17.2.3): with none filed it is the ACK of a 2xx (13.3.1.4),
      // checked as below but with no key to build.
      key =
        method === 'ACK' &&
        this.inviteTable.size === 0 &&
        this.pendingTx === undefined &&
        isRfc3261Branch(request.via().branch)
          ? ''
          : serverKey(request, method === 'ACK' ? 'INVITE' : method, toTag);
      // RFC 3261 9.2: the CANCEL matches the INVITE's transaction by the same rule with the method ignored.
      if (method === 'CANCEL') cancelKey = serverKey(request, 'INVITE', toTag);
    } catch {
      this.counters.droppedMalformed++;
      return;
    }
    if (key === '') {
      this.counters.strayAcks++;
      this.options.user.onAck?.(request, context);
      return;
    }
    const inviteKey = invite || method === 'ACK';
    const table = inviteKey ? this.inviteTable : this.nonInviteTable;
    const existing = (table.size === 0 ? undefined : table.get(key)) ?? this.pendingMatch(key);
    let hash: number | undefined;
    // The store keeps non-INVITE transactions only: an INVITE or ACK key (method INVITE) is never in it.
    if (existing === undefined && completed !== undefined && !inviteKey) {
      hash = completed.stage(key);
      const ref = completed.find(key, hash);
      if (ref >= 0) {
        this.absorbCompleted(completed, ref);
        return;
      }
    }
    // RFC 6026 7.1: Accepted absorbs a retransmitted INVITE. (An ACK matched there goes to the TU, as an ACK that
    // matches nothing does: no need to look.)
    const accepted = this.accepted;
    if (existing === undefined && method === 'INVITE' && accepted !== undefined) {
      // staged: an INVITE answered 2xx at once is kept in this store with its key copied already
      hash = accepted.stage(key);
      if (accepted.find(key, hash) >= 0) {
        this.counters.retransmissionsAbsorbed++;
        return;
      }
    }
    if (existing !== undefined) {
      if (method === 'ACK' && existing.kind === 'invite-server' && existing.state === 'accepted') {
        // RFC 6026 7.1: an ACK matched in the Accepted state goes to the TU.
        this.options.user.onAck?.(request, context);
        return;
      }
      if (method !== 'ACK') this.counters.retransmissionsAbsorbed++;
      existing.receiveRequest(request);
      return;
    }
    if (method === 'ACK') {
      this.counters.strayAcks++;
      this.options.user.onAck?.(request, context);
      return;
    }
    if (method !== 'INVITE' && this.pendingTx === undefined) {
      const tx = new NonInviteServerTransaction(request, key, context, this.serverEnv);
      this.receivePending(request, tx, cancelKey, context, hash);
      return;
    }
    const tx =
      method === 'INVITE'
        ? new InviteServerTransaction(request, key, context, this.serverEnv)
        : new NonInviteServerTransaction(request, key, context, this.serverEnv);
    tx.keyHash = hash;
    table.set(key, tx);
    this.serverCount++;
    this.handOver(request, tx, cancelKey, context);
  }

  /** The pending transaction when `key` is its key (a request handed in again from inside its own callback). */
  private pendingMatch(key: string): ServerTransaction | undefined {
    const tx = this.pendingTx;
    return tx !== undefined && !this.pendingDone && tx.key === key ? tx : undefined;
  }

  /** A new transaction: filed in its table only if it outlives its TU callback (see `pendingTx`). */
  private receivePending(
    request: SipRequest,
    tx: ServerTransaction,
    cancelKey: string | undefined,
    context: SipInboundContext,
    hash: number | undefined,
  ): void {
    this.pendingTx = tx;
    tx.keyHash = hash;
    this.pendingDone = false;
    try {
      this.handOver(request, tx, cancelKey, context);
    } finally {
      this.pendingTx = undefined;
      if (!this.pendingDone) {
        (tx.kind === 'invite-server' ? this.inviteTable : this.nonInviteTable).set(tx.key, tx);
        this.serverCount++;
      }
    }
  }

  /** Gives a new transaction to the TU (a CANCEL with the INVITE transaction it matches, RFC 3261 9.2). */
  private handOver(
    request: SipRequest,
    tx: ServerTransaction,
    cancelKey: string | undefined,
    context: SipInboundContext,
  ): void {
    if (cancelKey !== undefined) {
      const target = this.inviteTable.get(cancelKey) ?? this.pendingMatch(cancelKey);
      const inviteTx = target instanceof InviteServerTransaction ? target : undefined;
      // RFC 3261 9.2: the INVITE matched but was answered already (an Accepted one kept as its key): 200, no effect.
      if (inviteTx === undefined && this.accepted !== undefined && this.accepted.find(cancelKey) >= 0)
        return void tx.reply(200);
      this.dispatchCancel(request, tx, inviteTx);
      return;
    }
    if (tx.kind !== 'invite-server') return void this.options.user.onRequest(request, tx, context);
    // 17.2.1: the 100 Trying timer starts once the TU has seen the INVITE: one that answered at once needs none.
    try {
      this.options.user.onRequest(request, tx, context);
    } finally {
      tx.start();
    }
  }

  /** RFC 3261 17.2.2: Completed answers a retransmitted request with the final response again. */
  private absorbCompleted(completed: CompletedGenerations, slot: number): void {
    this.counters.retransmissionsAbsorbed++;
    // RFC 3261 17.2.4: a send that fails ends it (nobody is left to tell).
    const forget = (): void => completed.forget(slot);
    try {
      this.options.transport.resend?.(completed.datagram(slot), forget);
    } catch {
      forget();
    }
  }

  private dispatchCancel(cancel: SipRequest, cancelTx: ServerTransaction, inviteTx?: InviteServerTransaction): void {
    const onCancel = this.options.user.onCancel;
    if (onCancel !== undefined) {
      onCancel(cancel, cancelTx, inviteTx);
      return;
    }
    if (inviteTx === undefined) {
      cancelTx.reply(481);
      return;
    }
    // RFC 3261 9.2: 200 to the CANCEL; 487 to the INVITE when no final response was sent yet.
    cancelTx.reply(200);
    if (inviteTx.state === 'proceeding') inviteTx.reply(487);
  }

  private retire(tx: NonInviteServerTransaction, sent: SentDatagram, ms: number): boolean {
    if (this.options.transport.resend === undefined) return false;
    const pending = tx === this.pendingTx && !this.pendingDone;
    if (!pending && this.nonInviteTable.get(tx.key) !== tx) return false;
    let completed = this.completed;
    if (completed === undefined) {
      completed = this.newStore(ms);
      this.completed = completed;
    }
    if (completed.ms !== ms) return false;
    // the key staged on arrival is where this record goes unless another request came in between
    const due =
      (tx.staging >= 0 ? completed.addStaged(tx.staging, sent) : undefined) ?? completed.add(tx.key, sent, tx.keyHash);
    if (due === undefined) return false;
    if (pending) this.pendingDone = true;
    else {
      this.nonInviteTable.delete(tx.key);
      this.serverCount--;
    }
    tx.retired('J', due);
    return true;
  }

  /** Keeps an Accepted INVITE transaction as its key until Timer L (not one also filed under an RFC 2543 ACK key). */
  private keepAcceptedKey(tx: InviteServerTransaction, ms: number): number | undefined {
    const pending = tx === this.pendingTx && !this.pendingDone;
    if (tx.ackKey !== undefined || (!pending && this.inviteTable.get(tx.key) !== tx)) return undefined;
    let accepted = this.accepted;
    if (accepted === undefined) {
      accepted = this.newStore(ms);
      this.accepted = accepted;
    }
    if (accepted.ms !== ms) return undefined;
    const due =
      (tx.staging >= 0 ? accepted.addStaged(tx.staging, NOTHING_SENT) : undefined) ??
      accepted.add(tx.key, NOTHING_SENT, tx.keyHash);
    if (due === undefined) return undefined;
    if (pending) this.pendingDone = true;
    else {
      this.inviteTable.delete(tx.key);
      this.serverCount--;
    }
    return due;
  }

  private newStore(ms: number): CompletedGenerations {
    const sizes = this.options.completedStores;
    return new CompletedGenerations(this.clock, ms, sizes?.initialCapacity, sizes?.growInPlaceBelow);
  }

  /** RFC 3261 17.2.3: an RFC 2543 ACK carries the To tag of the final response; file the transaction under it. */
  private fileRfc2543Ack(tx: ServerTransaction, response: SipResponse): void {
    // a key staged on arrival (keyVia) had a magic-cookie branch: nothing to look at again
    if (tx.kind !== 'invite-server' || tx.keyVia !== undefined || isRfc3261Branch(tx.request.via().branch)) return;
    let tag: string | undefined;
    try {
      tag = response.to().tag;
    } catch {
      return;
    }
    if (tag === undefined || tag === tx.request.to().tag) return;
    const alias = serverKey(tx.request, 'INVITE', tag);
    if (tx.isTerminated || tx.ackKey !== undefined || this.inviteTable.has(alias)) return;
    this.inviteTable.set(alias, tx);
    tx.ackKey = alias;
  }

  private forgetServer(tx: ServerTransaction): void {
    if (tx === this.pendingTx) {
      this.pendingDone = true;
      return;
    }
    const table = tx.kind === 'invite-server' ? this.inviteTable : this.nonInviteTable;
    if (table.get(tx.key) !== tx) return;
    table.delete(tx.key);
    this.serverCount--;
    const alias = tx.ackKey;
    if (alias !== undefined && table.get(alias) === tx) table.delete(alias);
  }

  /** The server transaction a request would match, for a TU that needs to look (e.g. a proxy's CANCEL). */
  findServerTransaction(request: SipRequest): ServerTransaction | undefined {
    try {
      const method = request.method === 'ACK' ? 'INVITE' : request.method;
      const key = serverKey(request, method, request.to().tag);
      const table = method === 'INVITE' ? this.inviteTable : this.nonInviteTable;
      const found = table.get(key) ?? this.pendingMatch(key);
      // a completed non-INVITE transaction kept as its final response only is not found
      return found;
    } catch {
      return undefined;
    }
  }

  /** Ends every transaction (their timers stopped, users told with cause 'closed'). */
  close(): void {
    for (const tx of [...this.clientTable.values()]) tx.terminate('closed');
    for (const tx of new Set(this.inviteTable.values())) tx.terminate('closed');
    for (const tx of [...this.nonInviteTable.values()]) tx.terminate('closed');
    if (this.pendingTx !== undefined && !this.pendingDone) this.pendingTx.terminate('closed');
    this.completed?.clear();
    this.accepted?.clear();
    this.waits.clear();
  }
}
