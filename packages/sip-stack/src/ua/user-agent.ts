// The user agent core (RFC 3261 sections 8, 12-15) for embedders: place and answer calls with the caller's SDP,
// send and answer requests in and out of dialogs, register, challenge and answer digest authentication.
import { type ClientCredentials, DigestClient, type DigestServer } from '../auth/index.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { DialogTable } from '../dialog/dialog-table.js';
import { dialogKey, SipDialog } from '../dialog/index.js';
import { HeaderId } from '../message/header-names.js';
import {
  createResponse,
  formatVia,
  generateBranch,
  generateCallId,
  generateTag,
  parseMessage,
  parseNameAddr,
  parseUri,
  reasonPhrase,
  type SipMessage,
  SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.js';
import { DeadlineQueue } from '../transaction/deadline-queue.js';
import {
  type ClientTransaction,
  type ClientTransactionEvents,
  type InviteServerTransaction,
  type ServerTransaction,
  TransactionLayer,
  type TransactionTimerSettings,
} from '../transaction/index.js';
import {
  type SentDatagram,
  type SipEndpoint,
  type SipInboundContext,
  SipLocator,
  type SipTransportLayer,
  type SipTransportProtocol,
} from '../transport/index.js';
import { RegistrationClient, type RegistrationClientOptions } from './registration.js';
import { IncomingSubscription, parseSipFrag, type SubscribeOptions, Subscription } from './subscription.js';

/** Something that lives in a dialog and takes its in-dialog requests (a subscription, either side). */
interface DialogUsage {
  receive(request: SipRequest, tx: ServerTransaction): void;
}

function pendingKey(request: SipRequest): string {
  return `${request.callId()}\n${request.from().tag ?? ''}`;
}

/** Methods this UA answers; sent in Allow (RFC 3261 20.5). */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, NOTIFY, REFER, PRACK, SUBSCRIBE';
/** Extensions we implement (RFC 3262, 4028, 3891), sent in Supported. */
const SUPPORTED = '100rel, timer, replaces';
/** Methods some SIP element implements: a request with another method gets 501, these 405 (RFC 3261 8.2.1). */
const KNOWN_ELSEWHERE: ReadonlySet<string> = new Set([...ALLOW.split(', '), 'REGISTER', 'PUBLISH']);
/** Methods challenged by default when the UA has an authenticator. */
const CHALLENGED: readonly string[] = ['INVITE', 'MESSAGE', 'SUBSCRIBE', 'REFER', 'REGISTER'];
/** RFC 3261 11.2: what an OPTIONS answer says we support (one array for every answer). */
// Frozen through and through: createResponse then checks these lines once, not per answer.
const OPTIONS_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([
  Object.freeze(['Allow', ALLOW] as const),
  Object.freeze(['Accept', 'application/sdp'] as const),
  Object.freeze(['Supported', SUPPORTED] as const),
]);
/** The options of every OPTIONS answer (createResponse only reads them): no object per answer. */
const OPTIONS_ANSWER = Object.freeze({ headers: OPTIONS_HEADERS });

/** No response options (shared, never written into). */
const NO_RESPONSE_OPTIONS = Object.freeze({});
/** No options (shared, never written into). */
const NO_OPTIONS: AcceptOptions = Object.freeze({});
/** No body (shared: bodies are replaced, never written into). */
const NO_BODY = new Uint8Array(0);
/** No methods known (shared: remoteAllow is replaced, never added to). */
const NO_METHODS: readonly string[] = Object.freeze([]);

// Typed reads of headers most calls lack (found by id, not by name): an absent header then costs no parse cache on
// the message, which an INVITE transaction keeps for 64*T1 after the call (RFC 6026 Timer L).
function sessionExpiresOf(message: SipRequest | SipResponse): ReturnType<SipRequest['sessionExpires']> {
  return message._find(HeaderId.SessionExpires) >= 0 ? message.sessionExpires() : undefined;
}

function allowOf(message: SipRequest | SipResponse): readonly string[] {
  return message._find(HeaderId.Allow) >= 0 ? message.allow() : NO_METHODS;
}

/** Whatever went wrong in a handler, the peer gets an answer and the UA keeps running. */
function failed(tx: ServerTransaction): void {
  try {
    tx.reply(500);
  } catch {
    // already answered
  }
}

export interface UserAgentOptions {
  /** A transport layer that is already listening. */
  readonly transport: SipTransportLayer;
  readonly clock?: Clock;
  readonly timers?: Partial<TransactionTimerSettings>;
  /** Our address-of-record, e.g. `sip:1000@pbx.example.test`: the From of requests we start. */
  readonly aor: string;
  readonly displayName?: string;
  /** Answers 401/407 challenges with these. */
  readonly credentials?: ClientCredentials;
  /** The user part of our Contact (defaults to the AOR's user). */
  readonly contactUser?: string;
  readonly userAgent?: string;
  /** Every out-of-dialog request goes here first (a loose route, RFC 3261 8.1.2). */
  readonly outboundProxy?: string;
  readonly locator?: SipLocator;
  /** Challenge incoming requests of these methods (default INVITE, MESSAGE, SUBSCRIBE, REFER, REGISTER). */
  readonly authenticator?: { readonly server: DigestServer; readonly methods?: readonly string[] };
  /**
   * Session timers (RFC 4028): the smallest interval we accept (Min-SE, default 90 s), and the interval we ask for
   * when answering a call whose INVITE named none (default: none, no timer).
   */
  readonly sessionTimer?: { readonly minSE?: number; readonly interval?: number };
  /** Uniform random numbers in [0, 1) for the glare back-off (RFC 3261 14.1); default Math.random. */
  readonly random?: () => number;
}

/** A request that failed: the final status (408 for a timeout, 503 for a transport error, RFC 3261 8.1.3.1). */
export class SipRequestError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly response?: SipResponse,
  ) {
    super(`${status} ${reason}`);
    this.name = 'SipRequestError';
  }
}

export interface RequestOptions {
  readonly headers?: Iterable<readonly [string, string]>;
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
}

export interface CallOptions extends RequestOptions {
  /** Provisional responses as they arrive (180, 183 with early media SDP). */
  readonly onProgress?: (response: SipResponse) => void;
  /** Ask for a session timer of this many seconds (RFC 4028 7.1); raised on 422 to the peer's Min-SE. */
  readonly sessionExpires?: number;
  /** Replace this session at the peer (RFC 3891): the INVITE carries its dialog in Replaces. */
  readonly replaces?: SipSession;
  /**
   * Told of the 2xx that answers the call before it is ACKed: a B2BUA readies its media path first, since the
   * callee may start sending RTP only once it has the ACK. The ACK waits for the returned promise, but at most
   * T1: RFC 3261 13.2.2.4 wants it sent promptly, and the callee retransmits its 2xx from T1 on.
   */
  readonly beforeAck?: (response: SipResponse) => Promise<unknown> | undefined;
  /**
   * An offer in an UPDATE the callee sent in an early dialog (RFC 3311 5.1): return the answer for its 200.
   * Without this callback, or when it throws or returns nothing, the UPDATE gets 488 (RFC 3311 5.2).
   */
  readonly onEarlyOffer?: (offer: Uint8Array, request: SipRequest) => OfferAnswer | undefined;
}

/** Options of IncomingCall.accept. */
export interface AcceptOptions extends RequestOptions {
  /**
   * Told of the session as soon as the 200 is sent, before the ACK: a BYE that overtakes the ACK (RFC 3261 15)
   * ends it, and whoever set its `events` here hears of that.
   */
  readonly onSession?: (session: SipSession) => void;
}

/** What we did with an offer: the answer body and its type. */
export interface OfferAnswer {
  readonly body: Uint8Array | string;
  readonly contentType: string;
}

/** Progress of a REFER we sent, from the NOTIFY sipfrag bodies (RFC 3515 2.4.5). */
export interface ReferProgress {
  readonly status: number;
  readonly reason: string;
}

/** A REFER we sent: `accepted` is its final response, `done` the final status the referred call reached. */
export interface OutgoingRefer {
  readonly accepted: Promise<SipResponse>;
  readonly done: Promise<ReferProgress>;
  readonly progress: ReferProgress[];
}

/** A REFER the peer sent us (RFC 3515 2.4.2): accept to get a reporter for the new call's progress. */
export interface IncomingRefer {
  /** The Refer-To URI (with any embedded headers such as Replaces, RFC 3515 2.1). */
  readonly referTo: string;
  readonly request: SipRequest;
  /** 202 Accepted and the first NOTIFY (100 Trying); the reporter sends one NOTIFY per status (RFC 3515 2.4.4). */
  accept(): ReferReporter;
  reject(status?: number): void;
}

export interface ReferReporter {
  /** Reports a status of the referred call; a final status (>= 200) ends the implicit subscription. */
  notify(status: number, reason?: string): Promise<void>;
}

/** Something the other side did in an established call. */
export interface SessionEvents {
  /** The call ended: by BYE from the peer, our bye(), a failure, or a session timer that ran out (RFC 4028 10). */
  onEnded?(by: 'local' | 'remote' | 'failure' | 'expired'): void;
  /** A REFER from the peer (RFC 3515). Without a handler it is declined with 603. */
  onRefer?(refer: IncomingRefer): void;
  /** The session timer was refreshed (by either side, RFC 4028 10). */
  onRefreshed?(interval: number): void;
  /**
   * A re-INVITE or UPDATE with an offer: return the answer body (or undefined to answer without a body). Throwing
   * answers 488 Not Acceptable Here.
   */
  onOffer?(offer: Uint8Array, request: SipRequest): { body: Uint8Array | string; contentType: string } | undefined;
  /** Any other in-dialog request (INFO, MESSAGE, NOTIFY, REFER): return the status (default 200). */
  onRequest?(request: SipRequest): number | undefined;
}

/** Session timer state (RFC 4028): the interval in seconds and who refreshes. */
export interface SessionTimerState {
  readonly interval: number;
  readonly refresher: 'local' | 'remote';
}

interface ReferWatch {
  readonly id: number;
  readonly progress: ReferProgress[];
  resolve(p: ReferProgress): void;
}

/** An INVITE dialog that has been answered and ACKed. */
export class SipSession {
  // Fields are declared and assigned in the constructor, not written as class fields or parameter properties: a
  // class field's definition is a call of its initializer per object (one session per call).
  declare private readonly ua: UserAgent;
  declare readonly dialog: SipDialog;
  declare readonly role: 'uac' | 'uas';
  /** What the embedder hears of (made on first use: most sessions end without anyone asking). */
  declare private handlers: SessionEvents | undefined;
  declare ended: boolean;
  /** The last offer/answer body the peer sent. */
  declare remoteBody: Uint8Array;
  /** The last offer/answer body we sent (reused by re-INVITE session refreshes). */
  declare localBody: Uint8Array;
  /** The methods the peer said it allows (Allow of its INVITE or 2xx). */
  declare remoteAllow: readonly string[];
  /** The running session timer, if any. */
  declare sessionTimer: SessionTimerState | undefined;
  declare private timerHandle: TimerHandle | undefined;
  /** An offer of ours awaits its answer: an INVITE or UPDATE from the peer now gets 491 (RFC 3261 14.2, 3311 5.2). */
  declare private offerPending: boolean;
  /** REFERs we sent that await their outcome (made on the first: most calls never send one). */
  declare private refers: ReferWatch[] | undefined;
  /** @internal our 2xx awaiting its ACK (RFC 3261 13.3.1.4), found through the session by the ACK's dialog */
  declare ackWait: AckWait | undefined;
  /** @internal when the UA adopted it, in adoptions (the order of `activeSessions`) */
  declare adoptedAt: number;

  constructor(ua: UserAgent, dialog: SipDialog, role: 'uac' | 'uas', remoteBody: Uint8Array) {
    this.ua = ua;
    this.dialog = dialog;
    this.role = role;
    this.handlers = undefined;
    this.ended = false;
    this.remoteBody = remoteBody;
    this.localBody = NO_BODY;
    this.remoteAllow = NO_METHODS;
    this.sessionTimer = undefined;
    this.timerHandle = undefined;
    this.offerPending = false;
    this.refers = undefined;
    this.ackWait = undefined;
    this.adoptedAt = 0;
  }

  get events(): SessionEvents {
    let e = this.handlers;
    if (e === undefined) {
      e = {};
      this.handlers = e;
    }
    return e;
  }

  set events(value: SessionEvents) {
    this.handlers = value;
  }

  /** Sends a request in the dialog and resolves with its final response (rejects on timeout or 481). */
  async request(method: string, options: RequestOptions = {}): Promise<SipResponse> {
    const request = this.dialog.createRequest(method, options);
    const response = await this.ua.sendInDialog(this.dialog, request);
    this.dialog.receiveResponse(response);
    if (this.dialog.state === 'terminated' && !this.ended) this.end('failure');
    return response;
  }

  /** Ends the call (RFC 3261 15.1.1). */
  async bye(): Promise<void> {
    await this.hangUp('local');
  }

  private async hangUp(by: 'local' | 'expired'): Promise<void> {
    if (this.ended) return;
    this.end(by);
    const bye = this.dialog.createRequest('BYE');
    try {
      await this.ua.sendInDialog(this.dialog, bye);
    } catch {
      // The call is over for us whatever the peer says (15.1.1).
    }
  }

  /** Headers that keep the session timer going on a refresh we send (RFC 4028 7.4). */
  private timerHeaders(): [string, string][] {
    const timer = this.sessionTimer;
    if (!timer) return [['Supported', SUPPORTED]];
    // Whoever refreshes now keeps doing so; on this transaction we are the UAC.
    const refresher = timer.refresher === 'local' ? 'uac' : 'uas';
    return [
      ['Supported', SUPPORTED],
      ['Session-Expires', `${timer.interval};refresher=${refresher}`],
    ];
  }

  /**
   * A re-INVITE with a new offer; resolves with the final response (RFC 3261 14.1; ACK sent). A 491 (glare) is
   * retried after the random back-off of 14.1, twice at most.
   */
  async reinvite(body: Uint8Array | string, contentType = 'application/sdp'): Promise<SipResponse> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    for (let attempt = 0; ; attempt++) {
      const invite = this.dialog.createRequest('INVITE', { body: bytes, contentType, headers: this.timerHeaders() });
      this.offerPending = true;
      let response: SipResponse;
      try {
        response = await this.ua.sendInDialog(this.dialog, invite);
      } finally {
        this.offerPending = false;
      }
      if (response.status >= 200 && response.status < 300) {
        this.dialog.receiveResponse(response);
        this.remoteBody = response.body;
        this.localBody = bytes;
        this.ua.sendAck(this.dialog, response.cseq().seq);
        this.timerFromOwnRefresh(response);
        return response;
      }
      if (response.status === 491 && attempt < 2 && !this.ended) {
        await this.ua.glareBackOff(this.role === 'uac');
        if (this.ended) return response;
        continue;
      }
      this.dialog.receiveResponse(response);
      if (this.dialog.state === 'terminated' && !this.ended) this.end('failure');
      return response;
    }
  }

  /**
   * UPDATE (RFC 3311): a new offer without re-INVITE (or a bare session refresh without a body); resolves with the
   * final response, the answer in `remoteBody`.
   */
  async update(body?: Uint8Array | string, contentType = 'application/sdp'): Promise<SipResponse> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.offerPending = bytes !== undefined;
    let response: SipResponse;
    try {
      response = await this.request('UPDATE', {
        body: bytes,
        contentType: bytes ? contentType : undefined,
        headers: this.timerHeaders(),
      });
    } finally {
      this.offerPending = false;
    }
    if (response.status >= 200 && response.status < 300) {
      if (bytes) {
        this.localBody = bytes;
        this.remoteBody = response.body;
      }
      this.timerFromOwnRefresh(response);
    }
    return response;
  }

  /**
   * REFER (RFC 3515): asks the peer to call `target`; its progress comes back as NOTIFY sipfrag bodies. With
   * `replaces`, the Refer-To carries that session's dialog so the new call replaces it (RFC 3891 attended transfer).
   */
  refer(target: string, options: { replaces?: SipSession } = {}): OutgoingRefer {
    let referTo = target;
    if (options.replaces) {
      const d = options.replaces.dialog;
      referTo += `${target.includes('?') ? '&' : '?'}Replaces=${encodeURIComponent(replacesValue(d))}`;
    }
    const request = this.dialog.createRequest('REFER', { headers: [['Refer-To', `<${referTo}>`]] });
    const progress: ReferProgress[] = [];
    let resolveDone!: (p: ReferProgress) => void;
    const done = new Promise<ReferProgress>((resolve) => {
      resolveDone = resolve;
    });
    const watch: ReferWatch = { id: request.cseq().seq, progress, resolve: resolveDone };
    if (this.refers === undefined) this.refers = [watch];
    else this.refers.push(watch);
    const accepted = this.ua.sendInDialog(this.dialog, request).then((response) => {
      this.dialog.receiveResponse(response);
      if (response.status >= 300) {
        this.dropRefer(watch);
        resolveDone({ status: response.status, reason: response.reason });
      }
      return response;
    });
    accepted.catch((e: { status?: number; message?: string }) => {
      this.dropRefer(watch);
      resolveDone({ status: e.status ?? 503, reason: e.message ?? 'Service Unavailable' });
    });
    return { accepted, done, progress };
  }

  private dropRefer(watch: ReferWatch): void {
    const i = this.refers?.indexOf(watch) ?? -1;
    if (i >= 0) this.refers?.splice(i, 1);
  }

  /** @internal starts (or restarts) the session timer (RFC 4028 10). */
  startSessionTimer(interval: number, refresher: 'local' | 'remote'): void {
    this.stopSessionTimer();
    if (this.ended) return;
    this.sessionTimer = { interval, refresher };
    // 10: the refresher refreshes at half the interval; the other side sends BYE if nothing came by the end minus
    // a margin of a third of the interval, at most 32 s.
    const seconds = refresher === 'local' ? interval / 2 : interval - Math.min(32, interval / 3);
    this.timerHandle = this.ua.clock.setTimeout(() => {
      this.timerHandle = undefined;
      if (refresher === 'local') void this.refreshSession();
      else void this.hangUp('expired');
    }, seconds * 1000);
  }

  private stopSessionTimer(): void {
    if (this.timerHandle) this.ua.clock.clearTimeout(this.timerHandle);
    this.timerHandle = undefined;
    this.sessionTimer = undefined;
  }

  /** Our turn to refresh: UPDATE when the peer allows it, else a re-INVITE with our last body (RFC 4028 7.4). */
  private async refreshSession(): Promise<void> {
    const timer = this.sessionTimer;
    if (!timer || this.ended) return;
    let response: SipResponse | undefined;
    try {
      response = this.remoteAllow.includes('UPDATE')
        ? await this.update()
        : await this.reinvite(this.localBody, this.localBody.length > 0 ? 'application/sdp' : undefined);
    } catch {
      response = undefined;
    }
    if (this.ended) return;
    if (response && response.status >= 200 && response.status < 300) return;
    // 10: a refresh that fails with 408 or 481 (or not at all) ends the session; otherwise let the timer run out.
    if (!response || response.status === 408 || response.status === 481) void this.hangUp('expired');
    else this.startSessionTimer(timer.interval / 2, 'remote');
  }

  /** The 2xx to a refresh we sent says what the timer is now (RFC 4028 7.2). */
  private timerFromOwnRefresh(response: SipResponse): void {
    let se: ReturnType<SipResponse['sessionExpires']>;
    try {
      se = response.sessionExpires();
    } catch {
      se = undefined;
    }
    if (!se) {
      if (this.sessionTimer) this.stopSessionTimer();
      return;
    }
    this.startSessionTimer(se.delta, se.refresher === 'uas' ? 'remote' : 'local');
    this.handlers?.onRefreshed?.(se.delta);
  }

  /** @internal */
  end(by: 'local' | 'remote' | 'failure' | 'expired'): void {
    if (this.ended) return;
    this.ended = true;
    this.stopSessionTimer();
    // REFERs still waiting for their outcome will not hear of it now.
    const refers = this.refers;
    this.refers = undefined;
    if (refers) for (const watch of refers) watch.resolve({ status: 481, reason: 'Session Ended' });
    this.dialog.terminate();
    this.ua.forgetSession(this);
    // Ended before the ACK came (a BYE overtook it): the ACK still ends the wait.
    if (this.ackWait !== undefined) this.ua.keepAckWait(this.dialog.key, this.ackWait);
    // The embedder's handlers go with the session: the INVITE transactions (RFC 6026 Timers L and M, 64*T1) keep
    // this object for seconds after the call, and must not keep the embedder's whole call with it.
    const onEnded = this.handlers?.onEnded;
    this.handlers = undefined;
    onEnded?.(by);
  }

  /** @internal an in-dialog request from the peer */
  receive(request: SipRequest, tx: ServerTransaction): void {
    // 14.2 / RFC 3311 5.2: an offer while ours is outstanding is glare (checked before the CSeq is absorbed).
    if (this.offerPending && (request.method === 'INVITE' || (request.method === 'UPDATE' && request.body.length))) {
      tx.reply(491);
      return;
    }
    const verdict = this.dialog.receiveRequest(request);
    if (!verdict.ok) {
      tx.reply(verdict.status, verdict.reason);
      return;
    }
    switch (request.method) {
      case 'BYE':
        // 15.1.2: 200 and the session ends. (Built here: the request has its To tag, so no options object.)
        tx.respond(createResponse(request, 200, undefined, NO_RESPONSE_OPTIONS));
        this.end('remote');
        return;
      case 'INVITE':
      case 'UPDATE':
        this.receiveOffer(request, tx, [['Contact', this.dialog.localContact]]);
        return;
      case 'REFER':
        this.receiveRefer(request, tx);
        return;
      case 'NOTIFY':
        if (this.receiveReferNotify(request, tx)) return;
        tx.reply(this.handlers?.onRequest?.(request) ?? 200);
        return;
      default: {
        const status = this.handlers?.onRequest?.(request) ?? 200;
        tx.reply(status);
      }
    }
  }

  private receiveOffer(request: SipRequest, tx: ServerTransaction, headers: [string, string][]): void {
    // RFC 4028 9: a refresh names the interval; answer with it and the refresher, and restart the timer.
    let se: ReturnType<SipRequest['sessionExpires']>;
    try {
      se = request.sessionExpires();
    } catch {
      tx.reply(400, 'Bad Request (Session-Expires)');
      return;
    }
    let timer: { interval: number; refresher: 'uac' | 'uas' } | undefined;
    if (se) {
      const minSE = this.ua.minSE;
      if (se.delta < minSE) {
        tx.reply(422, undefined, [['Min-SE', String(minSE)]]);
        return;
      }
      // 9: without a refresher parameter the UAS picks: the requester if it supports timers, else itself.
      timer = {
        interval: se.delta,
        refresher: se.refresher ?? (request.supported().includes('timer') ? 'uac' : 'uas'),
      };
      headers.push(['Session-Expires', `${timer.interval};refresher=${timer.refresher}`]);
      if (request.supported().includes('timer')) headers.push(['Require', 'timer']);
    }
    let answer: OfferAnswer | undefined;
    if (request.body.length > 0) {
      this.remoteBody = request.body;
      try {
        answer = this.handlers?.onOffer?.(request.body, request);
      } catch {
        tx.reply(488);
        return;
      }
      if (answer) this.localBody = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : answer.body;
    } else if (request.method === 'INVITE' && this.localBody.length > 0) {
      // A re-INVITE without an offer: our 2xx carries one, the last we sent (RFC 3261 14.2).
      answer = { body: this.localBody, contentType: 'application/sdp' };
    }
    tx.respond(
      createResponse(request, 200, undefined, {
        headers,
        body: answer?.body,
        contentType: answer?.contentType,
      }),
    );
    if (timer) {
      this.startSessionTimer(timer.interval, timer.refresher === 'uac' ? 'remote' : 'local');
      this.handlers?.onRefreshed?.(timer.interval);
    }
  }

  private receiveRefer(request: SipRequest, tx: ServerTransaction): void {
    let referTo: string | undefined;
    try {
      referTo = request.referTo()?.uri;
    } catch {
      referTo = undefined;
    }
    // RFC 3515 2.4.1: exactly one Refer-To.
    if (referTo === undefined || request.headers('refer-to').length !== 1) {
      tx.reply(400, 'Bad Request (Refer-To)');
      return;
    }
    const handler = this.handlers?.onRefer;
    if (!handler) {
      tx.reply(603);
      return;
    }
    const id = request.cseq().seq;
    let answered = false;
    const session = this;
    handler({
      referTo,
      request,
      accept(): ReferReporter {
        if (!answered) tx.reply(202);
        answered = true;
        let finished = false;
        const reporter: ReferReporter = {
          async notify(status: number, reason?: string): Promise<void> {
            if (finished || session.ended) return;
            finished = status >= 200;
            const state = finished ? 'terminated;reason=noresource' : 'active;expires=60';
            const request = session.dialog.createRequest('NOTIFY', {
              headers: [
                ['Event', `refer;id=${id}`],
                ['Subscription-State', state],
              ],
              body: `SIP/2.0 ${status} ${reason ?? reasonPhrase(status)}\r\n`,
              contentType: 'message/sipfrag;version=2.0',
            });
            try {
              const response = await session.ua.sendInDialog(session.dialog, request);
              session.dialog.receiveResponse(response);
            } catch {
              // The referrer went away; the referred call goes on.
            }
          },
        };
        // 2.4.4: the first NOTIFY follows the 202 at once.
        void reporter.notify(100, 'Trying');
        return reporter;
      },
      reject(status = 603): void {
        if (!answered) tx.reply(status);
        answered = true;
      },
    });
  }

  /** A NOTIFY of a REFER we sent (RFC 3515 2.4.5); false when it is not one. */
  private receiveReferNotify(request: SipRequest, tx: ServerTransaction): boolean {
    let event: ReturnType<SipRequest['event']>;
    let substate: ReturnType<SipRequest['subscriptionState']>;
    try {
      event = request.event();
      substate = request.subscriptionState();
    } catch {
      return false;
    }
    if (event?.event.toLowerCase() !== 'refer') return false;
    const idParam = event.params.get('id');
    const id = idParam ? Number(idParam) : undefined;
    const watch = id === undefined ? this.refers?.[0] : this.refers?.find((w) => w.id === id);
    if (!watch) {
      tx.reply(481);
      return true;
    }
    tx.reply(200);
    const frag = parseSipFrag(request.body);
    if (frag) watch.progress.push(frag);
    const terminated = substate?.state.toLowerCase() === 'terminated';
    if (terminated || (frag && frag.status >= 200)) {
      this.dropRefer(watch);
      watch.resolve(frag ?? { status: 500, reason: substate?.reason ?? 'terminated' });
    }
    return true;
  }
}

/** The Replaces value naming `dialog` at its peer (RFC 3891 6.1: to-tag is the peer's local tag). */
function replacesValue(dialog: SipDialog): string {
  return `${dialog.callId};to-tag=${dialog.remoteTag};from-tag=${dialog.localTag}`;
}

/** What a settled OutgoingCall keeps of its options: nothing of the embedder's. */
const SETTLED_CALL: CallOptions = Object.freeze({});

/** A settled promise's resolvers, once let go. */
const SETTLED = (): void => {};

/** A 2xx retransmission that fails is not told of: the next one, or the ACK wait's end, follows (13.3.1.4). */
const IGNORE_SEND_FAILURE = (): void => {};

/**
 * An UPDATE in an early dialog, either side (RFC 3311 5.2): an offer gets `onOffer`'s answer in the 200, or 488
 * when there is none (no handler, it threw or returned nothing); one without a body only refreshes the target.
 */
function answerEarlyUpdate(
  request: SipRequest,
  tx: ServerTransaction,
  localContact: string,
  onOffer: ((offer: Uint8Array, request: SipRequest) => OfferAnswer | undefined) | undefined,
): void {
  let answer: OfferAnswer | undefined;
  if (request.body.length > 0) {
    try {
      answer = onOffer?.(request.body, request);
    } catch {
      answer = undefined;
    }
    if (answer === undefined) return void tx.reply(488);
  }
  tx.respond(
    createResponse(request, 200, undefined, {
      headers: [['Contact', localContact]],
      body: answer?.body,
      contentType: answer?.contentType,
    }),
  );
}

/** A call we placed; `answered` resolves with the session once a 2xx arrived and was ACKed. */
export class OutgoingCall implements InviteLeg {
  readonly answered: Promise<SipSession>;
  private tx: ClientTransaction | undefined;
  private resolveAnswered: (s: SipSession) => void = SETTLED;
  private rejectAnswered: (e: SipRequestError) => void = SETTLED;
  private cancelled = false;
  /** The INVITE of the current attempt (a challenge or a 422 makes a new one). */
  private current: SipRequest;
  /**
   * Early dialogs from reliable provisionals, by To tag, with the last RSeq we PRACKed (RFC 3262 4); made on the
   * first. `offering`: an UPDATE offer of ours in it awaits its answer (RFC 3311 5.2 glare).
   */
  private early: Map<string, { dialog: SipDialog; rseq: number; offering: boolean }> | undefined;

  constructor(
    private readonly ua: UserAgent,
    readonly invite: SipRequest,
    private options: CallOptions,
  ) {
    this.current = invite;
    this.answered = new Promise((resolve, reject) => {
      this.resolveAnswered = resolve;
      this.rejectAnswered = reject;
    });
    // A rejected call is a normal outcome; callers that never await it must not crash the process.
    this.answered.catch(() => {});
  }

  get callId(): string {
    return this.invite.callId();
  }

  /** @internal */
  async start(): Promise<void> {
    let invite = this.invite;
    // Made at the first challenge and kept for the next ones (its nonce counts go on).
    let digest: DigestClient | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      this.current = invite;
      const response = await this.ua.transact(invite, this);
      if (response.status >= 200 && response.status < 300) return; // on2xx settled it
      if (response.status === 401 || response.status === 407) digest ??= this.ua.digestClient();
      if ((response.status === 401 || response.status === 407) && digest && !this.cancelled) {
        const retry = this.ua.retryWithNewCSeq(invite);
        const headers = digest.authorize(retry, response);
        if (headers !== undefined) {
          for (const [n, v] of headers) retry.appendHeader(n, v);
          invite = retry;
          continue;
        }
      }
      let minSE: number | undefined;
      try {
        minSE = response.status === 422 ? response.minSE() : undefined;
      } catch {
        minSE = undefined;
      }
      if (minSE !== undefined && invite.hasHeader('session-expires') && !this.cancelled) {
        // RFC 4028 7.3: retry with the interval raised to the peer's Min-SE, and say so in Min-SE.
        const retry = this.ua.retryWithNewCSeq(invite);
        const asked = this.options.sessionExpires ?? 0;
        retry.setHeader('Session-Expires', String(Math.max(asked, minSE)));
        retry.setHeader('Min-SE', String(minSE));
        invite = retry;
        continue;
      }
      const reject = this.rejectAnswered;
      this.release();
      reject(new SipRequestError(response.status, response.reason, response));
      return;
    }
  }

  /**
   * The call is settled: no more provisionals or first 2xx, so the embedder's callbacks are let go. The INVITE
   * client transaction keeps this object through Timer M (RFC 6026 7.2, 64*T1) to ACK 2xx retransmissions, and
   * must not keep the embedder's call (and all it holds) alive that long.
   */
  private release(): void {
    this.options = SETTLED_CALL;
    this.resolveAnswered = SETTLED;
    this.rejectAnswered = SETTLED;
    // Settled: requests in its early dialogs no longer reach it (a confirmed one is the session's now).
    if (this.early) for (const early of this.early.values()) this.ua.forgetEarly(early.dialog.key, this);
  }

  /** @internal the INVITE's client transaction of this attempt */
  started(tx: ClientTransaction): void {
    this.tx = tx;
    if (this.cancelled) (tx as { cancel?: () => unknown }).cancel?.();
  }

  /** @internal a 1xx: PRACK it when it is reliable (RFC 3262 4), then tell the embedder. */
  onProvisional(response: SipResponse): void {
    const rseqValue = response.header('rseq');
    const tag = response.to().tag;
    if (rseqValue !== undefined && tag !== undefined && response.require().includes('100rel')) {
      const rseq = /^\d{1,10}$/.test(rseqValue.trim()) ? Number(rseqValue.trim()) : Number.NaN;
      if (!Number.isFinite(rseq)) return;
      let early = this.early?.get(tag);
      if (early === undefined) {
        let dialog: SipDialog;
        try {
          dialog = SipDialog.asUac(this.current, response, this.ua.localContact(this.current));
        } catch {
          return;
        }
        early = { dialog, rseq: rseq - 1, offering: false };
        if (this.early === undefined) this.early = new Map();
        this.early.set(tag, early);
        // The callee may send UPDATE in this early dialog (RFC 3311 5.1): route it here while the call is pending.
        if (this.options !== SETTLED_CALL) this.ua.registerEarly(dialog.key, this);
      }
      // 4: a retransmission (RSeq already seen) is not PRACKed again, nor passed on; one out of order waits.
      if (rseq !== early.rseq + 1) return;
      early.rseq = rseq;
      early.dialog.updateFromResponse(response);
      const prack = early.dialog.createRequest('PRACK', {
        headers: [['RAck', `${rseq} ${response.cseq().seq} ${response.cseq().method}`]],
      });
      void this.ua.sendInDialog(early.dialog, prack).catch(() => {});
    }
    this.options.onProgress?.(response);
  }

  /** The dialog of the answered call (its session's), once ACKed. */
  private confirmed: SipDialog | undefined;

  /** The To tag of the 2xx whose ACK waits for `beforeAck`. */
  private acking: string | undefined;

  /** @internal every 2xx: the first makes the session; retransmissions are ACKed again; other forks are ACKed and ended. */
  on2xx(response: SipResponse): void {
    const tag = response.to().tag;
    const confirmed = this.confirmed;
    if (confirmed !== undefined && confirmed.remoteTag === tag) {
      this.ua.sendAck(confirmed, response.cseq().seq);
      return;
    }
    // A retransmission of the 2xx being readied: its ACK is about to go.
    if (this.acking !== undefined && this.acking === tag) return;
    let dialog: SipDialog;
    const early = tag === undefined ? undefined : this.early?.get(tag);
    if (early) {
      // The early dialog of a reliable 1xx becomes the session: its CSeq already counts the PRACKs.
      dialog = early.dialog;
      dialog.updateFromResponse(response);
    } else {
      try {
        dialog = SipDialog.asUac(this.current, response, this.ua.localContact(this.current));
      } catch {
        return;
      }
    }
    if (this.confirmed || this.cancelled || this.acking !== undefined) {
      // RFC 3261 13.2.2.4: a second 2xx from another fork is ACKed and then ended with BYE.
      this.ua.sendAck(dialog, response.cseq().seq);
      void this.ua.sendInDialog(dialog, dialog.createRequest('BYE')).catch(() => {});
      if (!this.confirmed && this.acking === undefined) this.settleCancelled();
      return;
    }
    const ready = this.options.beforeAck?.(response);
    if (ready === undefined) {
      this.confirm(dialog, response);
      return;
    }
    this.acking = tag ?? '';
    let timer: TimerHandle | undefined;
    const go = () => {
      if (this.acking === undefined) return;
      this.acking = undefined;
      if (timer !== undefined) this.ua.clock.clearTimeout(timer);
      if (!this.cancelled) {
        this.confirm(dialog, response);
        return;
      }
      // Cancelled while the 2xx was readied: the call is taken and ended at once.
      this.ua.sendAck(dialog, response.cseq().seq);
      void this.ua.sendInDialog(dialog, dialog.createRequest('BYE')).catch(() => {});
      this.settleCancelled();
    };
    timer = this.ua.clock.setTimeout(go, this.ua.transactions.timers.t1);
    void Promise.resolve(ready).then(go, go);
  }

  /** A call cancelled as it was answered: `answered` settles (the call was taken and ended at once). */
  private settleCancelled(): void {
    const reject = this.rejectAnswered;
    this.release();
    reject(new SipRequestError(487, 'Request Terminated'));
  }

  /** ACKs the 2xx and makes the session. */
  private confirm(dialog: SipDialog, response: SipResponse): void {
    this.ua.sendAck(dialog, response.cseq().seq);
    const session = this.ua.adoptSession(dialog, 'uac', response.body);
    session.localBody = this.invite.body;
    session.remoteAllow = allowOf(response);
    let se: ReturnType<SipResponse['sessionExpires']>;
    try {
      se = sessionExpiresOf(response);
    } catch {
      se = undefined;
    }
    // RFC 4028 7.2: the 2xx says the interval and who refreshes; without Session-Expires there is no timer.
    if (se) session.startSessionTimer(se.delta, se.refresher === 'uas' ? 'remote' : 'local');
    // Only the dialog stays (to ACK 2xx retransmissions until Timer M): the session goes when the call ends.
    this.confirmed = dialog;
    // The INVITE transaction tells of further 2xx until Timer M (RFC 6026 7.2): with no early dialogs to look in,
    // a small object answers them, and this call (its promise holds the session) is not kept for 64*T1.
    const tx = this.tx;
    if (tx !== undefined && this.early === undefined) tx.events = new AnsweredInvite(this.ua, dialog, this.current);
    const resolve = this.resolveAnswered;
    this.release();
    resolve(session);
  }

  /**
   * UPDATE in the early dialog of the last reliable provisional (RFC 3311 5.1): a new offer before the answer;
   * resolves with the final response (the answer is its body). Rejects with 481 when there is no early dialog.
   */
  async update(body: Uint8Array | string, contentType = 'application/sdp'): Promise<SipResponse> {
    const early = this.early === undefined ? undefined : [...this.early.values()].pop();
    if (!early || this.confirmed) throw new SipRequestError(481, 'no early dialog');
    const request = early.dialog.createRequest('UPDATE', { body, contentType });
    // Not dialog.receiveResponse: a 2xx to UPDATE must not confirm the early dialog (only the INVITE's 2xx does).
    early.offering = true;
    try {
      return await this.ua.sendInDialog(early.dialog, request);
    } finally {
      early.offering = false;
    }
  }

  /** @internal a request from the callee in one of our early dialogs (by its From tag): UPDATE (RFC 3311 5.2). */
  receiveEarly(request: SipRequest, tx: ServerTransaction): void {
    const tag = request.from().tag;
    const early = tag === undefined ? undefined : this.early?.get(tag);
    // Only UPDATE is served in our early dialogs; BYE and the rest keep the 481 they got before.
    if (!early || this.confirmed || request.method !== 'UPDATE') return void tx.reply(481);
    // RFC 3311 5.2: an offer while ours is unanswered is glare (checked before the CSeq is absorbed).
    if (early.offering && request.body.length > 0) return void tx.reply(491);
    // RFC 3261 12.2.2 / RFC 3311 5.2: CSeq order, and the Contact refreshes the remote target.
    const verdict = early.dialog.receiveRequest(request);
    if (!verdict.ok) return void tx.reply(verdict.status, verdict.reason);
    answerEarlyUpdate(request, tx, early.dialog.localContact, this.options.onEarlyOffer);
  }

  /** Cancels the call if it has not been answered (RFC 3261 9.1). */
  cancel(): void {
    if (this.cancelled || this.confirmed) return;
    this.cancelled = true;
    (this.tx as { cancel?: () => unknown } | undefined)?.cancel?.();
  }
}

export interface ProgressOptions extends RequestOptions {
  /** Send it reliably (RFC 3262): Require: 100rel and RSeq, retransmitted until PRACKed. */
  readonly reliable?: boolean;
}

/** A call offered to us; answer it with ring/progress/accept or reject it. */
export class IncomingCall {
  // Fields are declared and assigned in the constructor (one call object per INVITE): see SipSession.
  declare private readonly ua: UserAgent;
  declare readonly request: SipRequest;
  declare readonly tx: InviteServerTransaction;
  declare readonly context: SipInboundContext;
  /** The INVITE's Session-Expires (RFC 4028) as the UA read it, null when absent; undefined: read here. */
  declare private readonly sessionExpires: ReturnType<SipRequest['sessionExpires']> | null | undefined;
  declare readonly toTag: string;
  declare cancelled: boolean;
  /** Called when the caller cancels before we answer. */
  declare onCancel: (() => void) | undefined;
  /**
   * With a Replaces header (RFC 3891): the session of ours this call is to replace. Accepting the call ends that
   * session with BYE once the new one is confirmed; rejecting it leaves the session alone.
   */
  declare replaces: SipSession | undefined;
  /** An offer in an UPDATE on the early dialog (RFC 3311): return the answer. */
  declare onEarlyOffer: ((offer: Uint8Array, request: SipRequest) => OfferAnswer | undefined) | undefined;
  /** The early dialog, made by the first reliable provisional. */
  declare dialog: SipDialog | undefined;
  declare private session: SipSession | undefined;
  declare private rseq: number | undefined;
  /** The reliable provisional awaiting its PRACK (RFC 3262 3: one at a time here). */
  declare private unacked: { rseq: number; done(ok: boolean): void } | undefined;
  declare private unackedPromise: Promise<void> | undefined;
  /** Our Contact in this call's answers and dialog (made once). */
  declare private contactValue: string | undefined;
  /** The datagram of the last answer, when the transport sent it as one (UDP). */
  declare private lastSent: SentDatagram | undefined;
  /** An UPDATE offer of ours in the early dialog awaits its answer (RFC 3311 5.2 glare). */
  declare private offering: boolean;

  constructor(
    ua: UserAgent,
    request: SipRequest,
    tx: InviteServerTransaction,
    context: SipInboundContext,
    /** @internal the INVITE's Session-Expires (RFC 4028) as the UA read it, null when absent; else read here */
    sessionExpires?: ReturnType<SipRequest['sessionExpires']> | null,
  ) {
    this.ua = ua;
    this.request = request;
    this.tx = tx;
    this.context = context;
    this.sessionExpires = sessionExpires;
    this.toTag = ua.newTag();
    this.cancelled = false;
    this.onCancel = undefined;
    this.replaces = undefined;
    this.onEarlyOffer = undefined;
    this.dialog = undefined;
    this.session = undefined;
    this.rseq = undefined;
    this.unacked = undefined;
    this.unackedPromise = undefined;
    this.contactValue = undefined;
    this.lastSent = undefined;
    this.offering = false;
  }

  private contact(): string {
    let contact = this.contactValue;
    if (contact === undefined) {
      contact = this.ua.localContact(this.request, this.context);
      this.contactValue = contact;
    }
    return contact;
  }

  get from(): string {
    return this.request.header('from') ?? '';
  }

  /** The offer in the INVITE (empty for a late offer). */
  get body(): Uint8Array {
    return this.request.body;
  }

  private respond(
    status: number,
    reason?: string,
    extra?: Iterable<readonly [string, string]>,
    body?: Uint8Array | string,
    contentType?: string,
  ): SipResponse {
    const ok = status >= 200 && status < 300;
    const ours = this.ua.answerHeaders(this.contact(), ok);
    const headers = extra === undefined ? ours : [...ours, ...extra];
    const response = createResponse(this.request, status, reason, { toTag: this.toTag, headers, body, contentType });
    const tx = this.tx;
    // A 2xx forgets the call (below), so nothing waits for the transaction's end: the layer may then keep only its
    // key for Timer L (RFC 6026 7.1) instead of the INVITE and this 2xx.
    const events = ok && tx.watched ? tx.events : undefined;
    const ended = events?.onTerminated;
    if (events !== undefined) events.onTerminated = undefined;
    try {
      this.lastSent = tx.respondSent(response);
    } catch (err) {
      if (events !== undefined) events.onTerminated = ended;
      throw err;
    }
    if (status >= 200) {
      // Final: CANCEL and early UPDATEs no longer reach this call (RFC 3261 9.2, RFC 3311 5.1), so their handlers
      // go, and the UA forgets it, while the transaction lives on for Timer L or H (64*T1).
      this.onCancel = undefined;
      this.onEarlyOffer = undefined;
      this.ua.forgetIncoming(this.tx, this);
    }
    return response;
  }

  /** 180 Ringing. */
  ring(): void {
    if (this.tx.state === 'proceeding') this.respond(180);
  }

  /**
   * 183 Session Progress with early media. With `reliable` (and a caller that supports 100rel) the 183 carries
   * Require: 100rel and RSeq and is retransmitted (T1, doubling) until PRACKed; the promise settles then, or fails
   * after 64*T1 when the call is rejected with 504 (RFC 3262 3).
   */
  progress(options: ProgressOptions = {}): Promise<void> {
    if (this.tx.state !== 'proceeding') return Promise.resolve();
    const supported = [...this.request.supported(), ...this.request.require()];
    if (!options.reliable || !supported.includes('100rel')) {
      this.respond(183, undefined, options.headers, options.body, options.contentType);
      return Promise.resolve();
    }
    if (this.unackedPromise) return this.unackedPromise.then(() => this.progress(options));
    // 3: the first RSeq is random in 1..2^31-1, each next one is one more.
    this.rseq = this.rseq === undefined ? 1 + Math.floor(this.ua.randomUnit() * 0x7ffffffe) : this.rseq + 1;
    const rseq = this.rseq;
    const headers: [string, string][] = [
      ['Require', '100rel'],
      ['RSeq', String(rseq)],
    ];
    for (const h of options.headers ?? []) headers.push([h[0], h[1]]);
    const response = this.respond(183, undefined, headers, options.body, options.contentType);
    if (!this.dialog) {
      this.dialog = SipDialog.asUas(this.request, this.toTag, this.contact(), true);
      this.ua.registerEarly(this.dialog.key, this);
      // The UA now files this call: it must hear of the transaction's end, whoever else listens to it.
      const events = this.tx.events;
      const theirs = events.onTerminated;
      const ended = this.ua.inviteEnded;
      events.onTerminated =
        theirs === undefined
          ? ended
          : (tx) => {
              ended(tx);
              theirs(tx);
            };
    }
    const { t1 } = this.ua.transactions.timers;
    const clock = this.ua.clock;
    const promise = new Promise<void>((resolve, reject) => {
      let retransmit: TimerHandle | undefined;
      const giveUp = clock.setTimeout(() => {
        finish(false);
        try {
          this.reject(504, 'Server Time-out (no PRACK)');
        } catch {
          // the transaction went away meanwhile (UA closed)
        }
      }, 64 * t1);
      const finish = (ok: boolean) => {
        if (retransmit) clock.clearTimeout(retransmit);
        clock.clearTimeout(giveUp);
        this.unacked = undefined;
        this.unackedPromise = undefined;
        if (ok) resolve();
        else reject(new SipRequestError(504, 'no PRACK for the reliable provisional'));
      };
      const again = (interval: number) => {
        retransmit = clock.setTimeout(() => {
          if (this.tx.state !== 'proceeding') return finish(false);
          try {
            this.tx.respond(response);
          } catch {
            return finish(false);
          }
          again(interval * 2);
        }, interval);
      };
      again(t1);
      this.unacked = { rseq, done: finish };
    });
    promise.catch(() => {});
    this.unackedPromise = promise;
    return promise;
  }

  /**
   * Answers 200 with our body; retransmits it until the ACK (RFC 3261 13.3.1.4) and resolves with the session then.
   * Waits first for the PRACK of an outstanding reliable provisional (RFC 3262 3). Rejects when the caller
   * cancelled first, or no ACK came within 64*T1 (the call is then ended with BYE).
   */
  accept(options: AcceptOptions = NO_OPTIONS): Promise<SipSession> {
    const unacked = this.unackedPromise;
    if (unacked) return unacked.then(() => this.answer(options));
    try {
      return this.answer(options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The 200 itself, once no reliable provisional is outstanding; throws when the call can no longer take it. */
  private answer(options: AcceptOptions): Promise<SipSession> {
    if (this.cancelled || this.tx.state !== 'proceeding') throw new SipRequestError(487, 'Request Terminated');
    const timer = this.negotiateTimer();
    const extra = options.headers;
    const headers = timer === undefined ? extra : extra === undefined ? timer.headers : [...extra, ...timer.headers];
    const response = this.respond(200, undefined, headers, options.body, options.contentType);
    const dialog = this.dialog ?? SipDialog.asUas(this.request, this.toTag, this.contact(), false);
    dialog.state = 'confirmed';
    if (this.dialog) this.ua.forgetEarly(dialog.key);
    const session = this.ua.adoptSession(dialog, 'uas', this.request.body);
    if (options.body !== undefined)
      session.localBody = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
    session.remoteAllow = allowOf(this.request);
    if (timer) session.startSessionTimer(timer.interval, timer.refresher === 'uas' ? 'local' : 'remote');
    this.session = session;
    options.onSession?.(session);
    const confirmed = this.ua.awaitAck(session, this.tx, response, this.context, this.lastSent);
    const replaced = this.replaces;
    if (replaced) {
      // RFC 3891 3: once the new dialog is confirmed, the replaced one is ended with BYE.
      void confirmed.then(
        () => replaced.bye(),
        () => {},
      );
    }
    return confirmed;
  }

  /** RFC 4028 9: the interval and refresher our 2xx names, or none. */
  private negotiateTimer(): { interval: number; refresher: 'uac' | 'uas'; headers: [string, string][] } | undefined {
    let se = this.sessionExpires;
    if (se === undefined) {
      try {
        se = sessionExpiresOf(this.request);
      } catch {
        se = undefined;
      }
    }
    const interval = se?.delta ?? this.ua.sessionInterval;
    if (interval === undefined) return undefined;
    const uacSupports = this.request.supported().includes('timer');
    // A UAC that does not support timers cannot refresh; we do (9).
    const refresher = uacSupports ? (se?.refresher ?? 'uac') : 'uas';
    const headers: [string, string][] = [['Session-Expires', `${interval};refresher=${refresher}`]];
    if (uacSupports) headers.push(['Require', 'timer']);
    return { interval, refresher, headers };
  }

  /** A final non-2xx answer (486 Busy Here, 603 Decline, ...). */
  reject(status = 486, reason?: string, headers?: Iterable<readonly [string, string]>): void {
    if (this.tx.state === 'proceeding') this.respond(status, reason, headers);
    this.unacked?.done(false);
    if (this.dialog) this.ua.forgetEarly(this.dialog.key);
  }

  /**
   * UPDATE in the early dialog (RFC 3311 5.1): a new offer once the first offer/answer is done (a reliable 1xx
   * answered and PRACKed); resolves with the final response. Rejects with 481 when there is no early dialog.
   */
  async update(body: Uint8Array | string, contentType = 'application/sdp'): Promise<SipResponse> {
    const dialog = this.dialog;
    if (!dialog || this.session || dialog.state !== 'early') throw new SipRequestError(481, 'no early dialog');
    const request = dialog.createRequest('UPDATE', { body, contentType });
    this.offering = true;
    try {
      return await this.ua.sendInDialog(dialog, request);
    } finally {
      this.offering = false;
    }
  }

  /** @internal a request in the early dialog: PRACK (RFC 3262 3) or UPDATE (RFC 3311 5.2). */
  receiveEarly(request: SipRequest, tx: ServerTransaction): void {
    const dialog = this.dialog;
    if (!dialog) return void tx.reply(481);
    // RFC 3311 5.2: an offer while ours is unanswered is glare.
    if (this.offering && request.method === 'UPDATE' && request.body.length > 0) return void tx.reply(491);
    const verdict = dialog.receiveRequest(request);
    if (!verdict.ok) return void tx.reply(verdict.status, verdict.reason);
    if (request.method === 'PRACK') {
      // RAck = response-num CSeq-num Method; it must name the outstanding reliable provisional, else 481.
      const rack = (request.header('rack') ?? '').trim().split(/\s+/);
      const invite = this.request.cseq();
      const unacked = this.unacked;
      if (
        unacked &&
        rack.length === 3 &&
        rack[0] === String(unacked.rseq) &&
        rack[1] === String(invite.seq) &&
        rack[2].toUpperCase() === 'INVITE'
      ) {
        tx.reply(200);
        unacked.done(true);
      } else tx.reply(481);
      return;
    }
    if (request.method === 'UPDATE') return void answerEarlyUpdate(request, tx, dialog.localContact, this.onEarlyOffer);
    tx.reply(request.method === 'BYE' ? 481 : 405, undefined, [['Allow', ALLOW]]);
  }

  /** @internal */
  cancel(): void {
    if (this.session) return;
    this.cancelled = true;
    this.unacked?.done(false);
    if (this.dialog) this.ua.forgetEarly(this.dialog.key);
    this.onCancel?.();
  }
}

/**
 * What an answered call leaves on its INVITE client transaction until Timer M (RFC 6026 7.2): a 2xx retransmission
 * is ACKed again; another fork's 2xx is ACKed and ended with BYE (RFC 3261 13.2.2.4).
 */
class AnsweredInvite implements ClientTransactionEvents {
  constructor(
    private readonly ua: UserAgent,
    private readonly dialog: SipDialog,
    private readonly invite: SipRequest,
  ) {}

  onResponse(response: SipResponse): void {
    if (response.status < 200 || response.status >= 300) return;
    if (response.to().tag === this.dialog.remoteTag) return void this.ua.sendAck(this.dialog, response.cseq().seq);
    let dialog: SipDialog;
    try {
      dialog = SipDialog.asUac(this.invite, response, this.ua.localContact(this.invite));
    } catch {
      return;
    }
    this.ua.sendAck(dialog, response.cseq().seq);
    void this.ua.sendInDialog(dialog, dialog.createRequest('BYE')).catch(() => {});
  }
}

/** @internal what places an INVITE hears of besides its final response */
export interface InviteLeg {
  started(tx: ClientTransaction): void;
  onProvisional(response: SipResponse): void;
  /** Every 2xx: the first, retransmissions and other forks' (RFC 6026 7.2: the TU ACKs them all). */
  on2xx(response: SipResponse): void;
}

/**
 * One client transaction's final response for the UA; a timeout is 408 and a transport error 503 (RFC 3261
 * 8.1.3.1). Once settled it keeps only the INVITE's leg, which the transaction still tells of 2xx until Timer M.
 */
class FinalResponseWait implements ClientTransactionEvents {
  private request: SipRequest | undefined;
  private resolve: ((response: SipResponse) => void) | undefined;

  constructor(
    request: SipRequest,
    resolve: (response: SipResponse) => void,
    private readonly leg: InviteLeg | undefined,
  ) {
    this.request = request;
    this.resolve = resolve;
  }

  onResponse(response: SipResponse): void {
    const status = response.status;
    if (status < 200) {
      this.leg?.onProvisional(response);
      return;
    }
    if (status < 300) this.leg?.on2xx(response);
    this.settle(response);
  }

  onTimeout(): void {
    this.synthetic(408);
  }

  onTransportError(): void {
    this.synthetic(503);
  }

  private synthetic(status: number): void {
    const request = this.request;
    if (request !== undefined) this.settle(createResponse(request, status, reasonPhrase(status)));
  }

  private settle(response: SipResponse): void {
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    this.request = undefined;
    resolve(response);
  }
}

/** The later retransmissions of a 2xx still unACKed after its first wait (rare): a clock timer each. */
interface LateAck {
  timer: TimerHandle | undefined;
  interval: number;
  readonly deadline: number;
}

/**
 * A 2xx we sent that awaits its ACK (RFC 3261 13.3.1.4): over UDP it goes again at T1, doubling up to T2; with no
 * ACK within 64*T1 the call is ended with BYE. The first wait (T1, or 64*T1 when reliable) is the same for every
 * call, so it sits on one of the UA's ACK queues instead of a timer of its own, and leaves it at the ACK: nothing
 * holds an ACKed wait. The rare later ones are clock timers.
 */
function ackWaitReached(wait: AckWait, due: number): void {
  wait.ackQueueDue(due);
}

/** A 2xx awaiting its ACK sent again through its transaction (RFC 6026 8.5). */
interface Resend2xxThrough {
  readonly tx: InviteServerTransaction;
  readonly response: SipResponse;
  readonly context: SipInboundContext;
}

/** What the wait for an ACK of a 2xx resolves its promise with. */
type SessionResolve = (value: SipSession | PromiseLike<SipSession>) => void;

class AckWait {
  // Fields are declared and assigned in the constructor (one wait per answered call): see SipSession.
  declare private readonly ua: UserAgent;
  /** Position on the ACK queue while the first wait runs, else -1. */
  declare private position: number;
  declare private late: LateAck | undefined;
  declare private session: SipSession | undefined;
  /**
   * How the 2xx goes out again (13.3.1.4). Over UDP the datagram as it went out, sent again as it is: nothing else
   * of the INVITE or the 2xx is kept (a call awaiting its ACK would hold them, and every young-generation GC would
   * copy them meanwhile). Through its transaction when the TU watches that, or the 2xx went out other than as one
   * datagram. None over a reliable transport, where the 2xx is sent once.
   */
  declare private again: Uint8Array | Resend2xxThrough | undefined;
  /** Where the datagram went (not the transport's SentDatagram object: one object less per call). */
  declare private destination: SipEndpoint | undefined;
  /**
   * The only resolver kept: a wait that fails resolves with a rejected promise, which rejects the call's promise
   * all the same (a resolve function follows a thenable), and its reject function dies young.
   */
  declare private resolve: SessionResolve;

  constructor(
    ua: UserAgent,
    session: SipSession,
    again: SentDatagram | Resend2xxThrough | undefined,
    resolve: SessionResolve,
  ) {
    this.ua = ua;
    this.late = undefined;
    this.session = session;
    if (again !== undefined && 'bytes' in again) {
      this.again = again.bytes;
      this.destination = again.destination;
    } else {
      this.again = again;
      this.destination = undefined;
    }
    this.resolve = resolve;
    // (last: the queue holds this from now on)
    this.position = ua.ackQueue(again === undefined).add(this);
  }

  /** Over a reliable transport: the first wait is 64*T1, and nothing is sent again. */
  private get reliable(): boolean {
    return this.again === undefined;
  }

  /** The ACK came. */
  acked(): void {
    const session = this.session;
    if (session === undefined) return;
    const resolve = this.resolve;
    this.stop(session);
    resolve(session);
  }

  private stop(session: SipSession): void {
    if (this.position >= 0) {
      this.ua.ackQueue(this.reliable).remove(this.position);
      this.position = -1;
    }
    const late = this.late;
    if (late?.timer !== undefined) this.ua.clock.clearTimeout(late.timer);
    this.late = undefined;
    if (session.ackWait === this) session.ackWait = undefined;
    this.ua.forgetAckWait(session.dialog, this);
    this.session = undefined;
    this.again = undefined;
    this.destination = undefined;
    this.resolve = SETTLED;
  }

  /** @internal the first wait is over (the UA's ACK queue); `due` is when it was due */
  ackQueueDue(due: number): void {
    this.position = -1;
    const t1 = this.ua.transactions.timers.t1;
    // 64*T1 from the 2xx (the first wait started with it)
    this.late = { timer: undefined, interval: t1, deadline: this.reliable ? due : due + 63 * t1 };
    this.timerFired();
  }

  private timerFired(): void {
    const late = this.late;
    const session = this.session;
    if (late === undefined || session === undefined) return;
    late.timer = undefined;
    const clock = this.ua.clock;
    const left = late.deadline - clock.now();
    if (left <= 0) {
      const resolve = this.resolve;
      this.stop(session);
      // 13.3.1.4: no ACK within 64*T1 ends the dialog with BYE.
      void session.bye();
      resolve(Promise.reject(new SipRequestError(408, 'no ACK for the 2xx')));
      return;
    }
    const again = this.again;
    if (again instanceof Uint8Array) this.ua.resendDatagram(again, this.destination as SipEndpoint);
    else if (again !== undefined) this.ua.resend2xx(again.tx, again.response, again.context);
    late.interval = Math.min(late.interval * 2, this.ua.transactions.timers.t2);
    late.timer = clock.setTimeout(() => this.timerFired(), Math.min(late.interval, left));
  }
}

/** The resolve function of the promise being made, handed over by catchResolve at once (never kept here). */
const caught: { resolve: SessionResolve } = { resolve: SETTLED };

function catchResolve(resolve: SessionResolve): void {
  caught.resolve = resolve;
}

/** A UA: one identity, one transaction layer over a transport layer. */
export class UserAgent {
  readonly transactions: TransactionLayer;
  readonly clock: Clock;
  /** New calls offered to us. Without a handler they are answered 480 Temporarily Unavailable. */
  onInvite: ((call: IncomingCall) => void) | undefined;
  /** Out-of-dialog MESSAGE (RFC 3428); return the status (default 200). */
  onMessage: ((request: SipRequest) => number | undefined) | undefined;
  /**
   * Any other out-of-dialog request (REGISTER for a registrar, SUBSCRIBE, ...). Answer on `tx` yourself. Without a
   * handler: 405 Method Not Allowed with Allow, or 501 for methods nobody knows.
   */
  onRequest: ((request: SipRequest, tx: ServerTransaction, context: SipInboundContext) => void) | undefined;
  /**
   * New subscriptions to us as notifier (RFC 6665 4.2): accept or reject them. Without a handler SUBSCRIBE goes
   * to `onRequest` (or 489 Bad Event).
   */
  onSubscribe: ((subscription: IncomingSubscription) => void) | undefined;

  private readonly locator: SipLocator;
  /** Sessions by dialog (Call-ID, local tag, remote tag). */
  private readonly sessions = new DialogTable<SipSession>();
  /** How many sessions were adopted: their order for `activeSessions`. */
  private adopted = 0;
  /** Calls either way with an early dialog (after a reliable 1xx), for PRACK and UPDATE. */
  private readonly earlyCalls = new Map<string, IncomingCall | OutgoingCall>();
  /** Subscription dialogs, either side, by dialog key. */
  private readonly usages = new Map<string, DialogUsage>();
  /** Our SUBSCRIBEs awaiting a dialog, by Call-ID and From tag (a NOTIFY may come before the 2xx). */
  private readonly pendingSubscriptions = new Map<string, Subscription>();
  /** 2xx waits for an ACK whose session ended first, by dialog key (the others are on their session). */
  private readonly awaitingAck = new Map<string, AckWait>();
  /** The first waits of 2xx for their ACK: over UDP (T1) and over reliable transports (64*T1), made on first use. */
  private ackQueueUdp: DeadlineQueue<AckWait> | undefined = undefined;
  private ackQueueReliable: DeadlineQueue<AckWait> | undefined = undefined;
  /** The header lists of answers without extra headers, for the last Contact (2xx: with Allow and Supported). */
  private answerContact: string | undefined;
  private answerLists: [ReadonlyArray<readonly [string, string]>, ReadonlyArray<readonly [string, string]>] | undefined;
  /** Our Contact's user part, once worked out (the options do not change). */
  private contactUserValue: string | undefined;
  private contactUserKnown = false;
  /**
   * An INVITE server transaction with an early dialog ended, whatever the cause: its call, if still pending, is
   * forgotten. One handler for every transaction, given the transaction: nothing per call stays reachable from it.
   */
  /** @internal */
  readonly inviteEnded = (tx: ServerTransaction): void => {
    const call = (tx as InviteServerTransaction).pendingCall as IncomingCall | undefined;
    if (call !== undefined) this.forgetIncoming(tx as InviteServerTransaction, call);
  };

  constructor(private readonly options: UserAgentOptions) {
    this.clock = options.clock ?? systemClock;
    this.locator = options.locator ?? new SipLocator({ supported: ['udp', 'tcp', 'tls', 'ws', 'wss'] });
    const transport = options.transport;
    this.transactions = new TransactionLayer({
      transport,
      clock: this.clock,
      timers: options.timers,
      sentBy: (destination) => {
        const local = transport.localEndpoint(destination.protocol, destination.address);
        if (!local) throw new SipRequestError(503, `no ${destination.protocol} listener`);
        return { host: local.address, port: local.port };
      },
      user: {
        onRequest: (request, tx, context) => void this.receiveRequest(request, tx, context),
        onAck: (ack) => this.receiveAck(ack),
        onCancel: (_cancel, cancelTx, inviteTx) => this.receiveCancel(cancelTx, inviteTx),
      },
    });
    transport.onMessage((message, context) => this.transactions.receive(message, context));
  }

  /** @internal the queue of first ACK waits: T1 over UDP, 64*T1 over a reliable transport (RFC 3261 13.3.1.4) */
  ackQueue(reliable: boolean): DeadlineQueue<AckWait> {
    let q = reliable ? this.ackQueueReliable : this.ackQueueUdp;
    if (q === undefined) {
      const t1 = this.transactions.timers.t1;
      // an ACKed wait is taken out at once: nearly every call is ACKed long before T1, and its wait then dies young
      // instead of being held (and copied out of the young generation) until the deadline
      q = new DeadlineQueue(this.clock, reliable ? 64 * t1 : t1, ackWaitReached);
      if (reliable) this.ackQueueReliable = q;
      else this.ackQueueUdp = q;
    }
    return q;
  }

  /** @internal */
  newTag(): string {
    return generateTag();
  }

  /** @internal a uniform random number in [0, 1). */
  randomUnit(): number {
    return (this.options.random ?? Math.random)();
  }

  /** @internal the smallest session interval we accept (RFC 4028 5; at least 90 s by default). */
  get minSE(): number {
    return this.options.sessionTimer?.minSE ?? 90;
  }

  /** @internal the interval we ask for when the caller named none. */
  get sessionInterval(): number | undefined {
    return this.options.sessionTimer?.interval;
  }

  /**
   * @internal waits out the glare back-off of RFC 3261 14.1: 2.1..4 s for the owner of the Call-ID (who generated
   * it), else 0..2 s, on the UA's clock.
   */
  glareBackOff(owner: boolean): Promise<void> {
    const r = this.randomUnit();
    // In units of 10 ms, bounds included.
    const ms = owner ? 2100 + 10 * Math.floor(r * 191) : 10 * Math.floor(r * 201);
    return new Promise((resolve) => {
      this.clock.setTimeout(resolve, ms);
    });
  }

  /** @internal */
  registerEarly(key: string, call: IncomingCall | OutgoingCall): void {
    this.earlyCalls.set(key, call);
  }

  /** @internal forgets the early dialog `key` (only while `call` holds it, when given). */
  forgetEarly(key: string, call?: IncomingCall | OutgoingCall): void {
    if (call === undefined || this.earlyCalls.get(key) === call) this.earlyCalls.delete(key);
  }

  /** @internal */
  registerUsage(key: string, usage: DialogUsage): void {
    this.usages.set(key, usage);
    if (usage instanceof Subscription) this.pendingSubscriptions.delete(pendingKey(usage.request));
  }

  /** @internal */
  forgetUsage(usage: DialogUsage): void {
    for (const [key, u] of this.usages) if (u === usage) this.usages.delete(key);
  }

  /** @internal */
  forgetSubscription(subscription: Subscription): void {
    this.pendingSubscriptions.delete(pendingKey(subscription.request));
    this.forgetUsage(subscription);
  }

  /**
   * Subscribes to `event` at `target` (RFC 6665 4.1): the SUBSCRIBE goes out at once; `accepted` settles with its
   * answer, NOTIFYs arrive through `options.onNotify`, and the subscription refreshes itself before it expires.
   */
  subscribe(target: string, event: string, options: SubscribeOptions = {}): Subscription {
    const headers: [string, string][] = [
      ['Event', event],
      ['Expires', String(options.expires ?? 3600)],
    ];
    if (options.accept) headers.push(['Accept', options.accept]);
    for (const h of options.headers ?? []) headers.push([h[0], h[1]]);
    const request = this.buildRequest('SUBSCRIBE', target, { ...options, headers });
    request.setHeader('Content-Length', String(request.body.length));
    const eventName = event.split(';')[0].trim();
    const subscription = new Subscription(
      this,
      request,
      eventName,
      options,
      (status, reason, response) => new SipRequestError(status, reason, response),
    );
    this.pendingSubscriptions.set(pendingKey(request), subscription);
    void subscription.start().catch(() => subscription.terminate('failure'));
    return subscription;
  }

  /** @internal */
  digestClient(): DigestClient | undefined {
    return this.options.credentials ? new DigestClient(this.options.credentials) : undefined;
  }

  /** Our Contact for a request toward `request`'s target (or answering on `context`). */
  localContact(request: SipRequest, context?: SipInboundContext): string {
    const protocol: SipTransportProtocol = context?.local.protocol ?? this.protocolFor(request);
    const user = this.contactUser();
    const uri =
      this.options.transport.contactUri(protocol, user, context?.source.address) ??
      this.options.transport.contactUri('udp', user);
    // the same URI as last time (the transport keeps its answer): the same value, not one more string per call
    if (uri !== this.lastContactUri || this.lastContact === undefined) {
      this.lastContactUri = uri;
      this.lastContact = `<${uri}>`;
    }
    return this.lastContact;
  }

  private lastContactUri: string | undefined = undefined;
  private lastContact: string | undefined = undefined;

  private contactUser(): string | undefined {
    if (!this.contactUserKnown) {
      this.contactUserValue = this.options.contactUser ?? this.aorUser();
      this.contactUserKnown = true;
    }
    return this.contactUserValue;
  }

  private aorUser(): string | undefined {
    const uri = parseUri(this.options.aor);
    return 'user' in uri ? uri.user : undefined;
  }

  private protocolFor(request: SipRequest): SipTransportProtocol {
    const uri = request.requestUri;
    const transport = 'params' in uri ? uri.params.get('transport')?.toLowerCase() : undefined;
    if (transport === 'tcp' || transport === 'tls' || transport === 'ws' || transport === 'wss') return transport;
    return uri.scheme === 'sips' ? 'tls' : 'udp';
  }

  /** Where a request goes first: its first Route, else its Request-URI (RFC 3261 8.1.2), located per RFC 3263. */
  async destinationOf(request: SipRequest): Promise<SipEndpoint> {
    const route = request.header('route');
    const target = route !== undefined ? parseNameAddr(route).uri : request.uri;
    const uri = parseUri(target);
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') throw new SipRequestError(416, 'Unsupported URI Scheme');
    const sip = uri as SipUri;
    const targets = await this.locator.locate({
      host: sip.host,
      port: sip.port,
      transport: sip.params.get('transport') ?? undefined,
      secure: sip.scheme === 'sips',
    });
    if (targets.length === 0) throw new SipRequestError(404, `cannot resolve ${sip.host}`);
    return targets[0];
  }

  /**
   * @internal Runs one client transaction and resolves with its final response (408 on timeout, 503 on a transport
   * error, as RFC 3261 8.1.3.1 says). For INVITE, `leg` hears of the transaction, provisionals and every 2xx (forks
   * and retransmissions).
   */
  async transact(request: SipRequest, leg?: InviteLeg): Promise<SipResponse> {
    const destination = await this.destinationOf(request);
    let resolve!: (response: SipResponse) => void;
    const outcome = new Promise<SipResponse>((r) => {
      resolve = r;
    });
    const wait = new FinalResponseWait(request, resolve, leg);
    let tx: ClientTransaction;
    try {
      tx = this.transactions.sendRequest(request, destination, wait);
    } catch {
      wait.onTransportError();
      return outcome;
    }
    leg?.started(tx);
    return outcome;
  }

  /** Sends a request outside any dialog and resolves with the final response, answering digest challenges. */
  async send(request: SipRequest): Promise<SipResponse> {
    let current = request;
    // Made at the first challenge and kept for the next ones (its nonce counts go on).
    let digest: DigestClient | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await this.transact(current);
      if (response.status === 401 || response.status === 407) digest ??= this.digestClient();
      if ((response.status === 401 || response.status === 407) && digest) {
        const retry = this.retryWithNewCSeq(current);
        const headers = digest.authorize(retry, response);
        if (headers === undefined) return response;
        for (const [n, v] of headers) retry.appendHeader(n, v);
        current = retry;
        continue;
      }
      return response;
    }
    throw new SipRequestError(500, 'authentication loop');
  }

  /** @internal a copy of `request` with CSeq + 1 and no Via, for a retry with credentials (RFC 3261 22.2). */
  retryWithNewCSeq(request: SipRequest): SipRequest {
    const cseq = request.cseq();
    const headers = request
      .headerEntries()
      .filter(([n]) => {
        const lower = n.toLowerCase();
        return lower !== 'via' && lower !== 'v' && lower !== 'cseq' && lower !== 'authorization';
      })
      .filter(([n]) => n.toLowerCase() !== 'proxy-authorization');
    const copy = new SipRequest(request.method, request.uri, headers, request.body);
    copy.setHeader('CSeq', `${cseq.seq + 1} ${cseq.method}`);
    return copy;
  }

  /** @internal sends an in-dialog request, resolving with the final response (answers challenges too). */
  async sendInDialog(dialog: SipDialog, request: SipRequest): Promise<SipResponse> {
    const response = await this.transact(request);
    if (response.status === 401 || response.status === 407) {
      const digest = this.digestClient();
      if (digest) {
        const retry = dialog.createRequest(request.method, {
          body: request.body.length > 0 ? request.body : undefined,
          contentType: request.header('content-type'),
        });
        const headers = digest.authorize(retry, response);
        if (headers) {
          for (const [n, v] of headers) retry.appendHeader(n, v);
          return this.transact(retry);
        }
      }
    }
    return response;
  }

  /** @internal the ACK of a 2xx, sent outside any transaction with a fresh branch (RFC 3261 13.2.2.4). */
  sendAck(dialog: SipDialog, cseq: number): void {
    const ack = dialog.createRequest('ACK', { cseq });
    void this.destinationOf(ack).then(
      (destination) => {
        const local = this.options.transport.localEndpoint(destination.protocol, destination.address);
        if (!local) return;
        const transport = destination.protocol.toUpperCase();
        const branch = generateBranch();
        ack.prependHeader('Via', formatVia({ transport, host: local.address, port: local.port, branch, rport: true }));
        void Promise.resolve(this.transactions.sendStateless(ack, destination)).catch(() => {});
      },
      () => {},
    );
  }

  /** Places a call to `target` (a SIP URI) with our offer in `options.body`. */
  call(target: string, options: CallOptions = {}): OutgoingCall {
    const headers: [string, string][] = [];
    // RFC 3261 19.1.5: headers embedded in the URI (a Refer-To with ?Replaces=..., RFC 3891 7) go on the request.
    const question = target.indexOf('?');
    if (question >= 0) {
      for (const pair of target.slice(question + 1).split('&')) {
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        try {
          headers.push([decodeURIComponent(pair.slice(0, eq)), decodeURIComponent(pair.slice(eq + 1))]);
        } catch {
          // a malformed escape: leave that header out
        }
      }
      target = target.slice(0, question);
    }
    if (this.options.outboundProxy) headers.push(['Route', `<${this.options.outboundProxy};lr>`]);
    headers.push(['Allow', ALLOW], ['Supported', SUPPORTED]);
    if (options.sessionExpires !== undefined) headers.push(['Session-Expires', String(options.sessionExpires)]);
    if (options.replaces) headers.push(['Replaces', replacesValue(options.replaces.dialog)]);
    if (this.options.userAgent) headers.push(['User-Agent', this.options.userAgent]);
    for (const h of options.headers ?? []) headers.push([h[0], h[1]]);
    const invite = new SipRequest('INVITE', target);
    invite.appendHeader('Max-Forwards', '70');
    invite.appendHeader('From', this.fromValue());
    invite.appendHeader('To', `<${target}>`);
    invite.appendHeader('Call-ID', generateCallId());
    invite.appendHeader('CSeq', '1 INVITE');
    invite.appendHeader('Contact', this.localContact(invite));
    for (const [n, v] of headers) invite.appendHeader(n, v);
    if (options.body !== undefined) {
      invite.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
      invite.appendHeader('Content-Type', options.contentType ?? 'application/sdp');
    }
    invite.appendHeader('Content-Length', String(invite.body.length));
    const call = new OutgoingCall(this, invite, options);
    void call.start().catch(() => {});
    return call;
  }

  private fromValue(): string {
    const name = this.options.displayName;
    const quoted = name === undefined ? '' : `"${name.replace(/["\\]/g, (c) => `\\${c}`)}" `;
    return `${quoted}<${this.options.aor}>;tag=${generateTag()}`;
  }

  /** A request outside any dialog (OPTIONS, MESSAGE, ...) to `target`; resolves with the final response. */
  request(method: string, target: string, options: RequestOptions = {}): Promise<SipResponse> {
    return this.send(this.buildRequest(method, target, options));
  }

  private buildRequest(method: string, target: string, options: RequestOptions): SipRequest {
    const request = new SipRequest(method, target);
    request.appendHeader('Max-Forwards', '70');
    request.appendHeader('From', this.fromValue());
    request.appendHeader('To', `<${target}>`);
    request.appendHeader('Call-ID', generateCallId());
    request.appendHeader('CSeq', `1 ${method}`);
    if (this.options.outboundProxy) request.appendHeader('Route', `<${this.options.outboundProxy};lr>`);
    if (this.options.userAgent) request.appendHeader('User-Agent', this.options.userAgent);
    for (const [n, v] of options.headers ?? []) request.appendHeader(n, v);
    if (options.body !== undefined) {
      request.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
      request.appendHeader('Content-Type', options.contentType ?? 'text/plain');
    }
    if (method === 'SUBSCRIBE') request.appendHeader('Contact', this.localContact(request));
    request.appendHeader('Content-Length', String(request.body.length));
    return request;
  }

  /** A registration client bound to this UA's transactions (refreshes on the UA's clock). */
  registration(
    options: Omit<RegistrationClientOptions, 'clock' | 'sender' | 'contact' | 'aor'> & {
      contact?: string;
      aor?: string;
    },
  ): RegistrationClient {
    const aor = options.aor ?? this.options.aor;
    const probe = new SipRequest('REGISTER', options.registrar);
    const contact = options.contact ?? this.localContact(probe).slice(1, -1);
    return new RegistrationClient({
      credentials: this.options.credentials,
      userAgent: this.options.userAgent,
      ...options,
      aor,
      contact,
      clock: this.clock,
      sender: { send: (request) => this.transact(request) },
    });
  }

  /** @internal */
  adoptSession(dialog: SipDialog, role: 'uac' | 'uas', remoteBody: Uint8Array): SipSession {
    const session = new SipSession(this, dialog, role, remoteBody);
    session.adoptedAt = this.adopted++;
    this.sessions.set(session);
    return session;
  }

  /** @internal */
  forgetSession(session: SipSession): void {
    this.sessions.delete(session);
  }

  /** Calls that are up, keyed by dialog. */
  get activeSessions(): SipSession[] {
    // in the order they came up in (the table keeps none)
    return this.sessions.values().sort((a, b) => a.adoptedAt - b.adoptedAt);
  }

  /** @internal retransmits the 2xx until the ACK arrives (RFC 3261 13.3.1.4). */
  awaitAck(
    session: SipSession,
    tx: InviteServerTransaction,
    response: SipResponse,
    context: SipInboundContext,
    sent: SentDatagram | undefined,
  ): Promise<SipSession> {
    // one shared executor: no closure per call to hand the resolve function over
    const promise = new Promise<SipSession>(catchResolve);
    const resolve = caught.resolve;
    caught.resolve = SETTLED;
    // the datagram, unless the TU hears of its transaction (RFC 6026 8.5: then through it); none when reliable
    const again =
      context.source.protocol !== 'udp'
        ? undefined
        : sent !== undefined && !tx.watched
          ? sent
          : { tx, response, context };
    session.ackWait = new AckWait(this, session, again, resolve);
    return promise;
  }

  /**
   * @internal the headers of an answer to an INVITE with no extra ones: Contact, and Allow and Supported on a 2xx
   * (the same lists for every call while our Contact stays the same).
   */
  answerHeaders(contact: string, ok: boolean): ReadonlyArray<readonly [string, string]> {
    let lists = this.answerLists;
    if (lists === undefined || this.answerContact !== contact) {
      // frozen through: createResponse checks the lines of each list once, not per answer
      const c = Object.freeze(['Contact', contact] as const);
      const allow = Object.freeze(['Allow', ALLOW] as const);
      const supported = Object.freeze(['Supported', SUPPORTED] as const);
      lists = [Object.freeze([c]), Object.freeze([c, allow, supported] as const)];
      this.answerLists = lists;
      this.answerContact = contact;
    }
    return lists[ok ? 1 : 0];
  }

  /** @internal a 2xx again, through its transaction while that is Accepted (RFC 6026 8.5), else straight out. */
  resend2xx(tx: InviteServerTransaction, response: SipResponse, context: SipInboundContext): void {
    if (tx.state === 'accepted') tx.respond(response);
    else void Promise.resolve(this.options.transport.sendResponse(response, context)).catch(() => {});
  }

  /**
   * @internal a 2xx again as its datagram went out (the transaction would serialize it to the same bytes, to the
   * same place); observers of the transport's sends hear of it as a message, as of any other send.
   */
  resendDatagram(bytes: Uint8Array, destination: SipEndpoint): void {
    const transport = this.options.transport;
    let again: SipMessage;
    try {
      again = parseMessage(bytes);
    } catch {
      transport.resend({ bytes, destination }, IGNORE_SEND_FAILURE);
      return;
    }
    transport.transmit(again, destination, IGNORE_SEND_FAILURE);
  }

  /** @internal the wait for an ACK is over (it came, or 64*T1 passed). */
  forgetAckWait(dialog: SipDialog, wait: AckWait): void {
    // (the dialog's key string is made only when some wait outlived its session)
    if (this.awaitingAck.size > 0 && this.awaitingAck.get(dialog.key) === wait) this.awaitingAck.delete(dialog.key);
  }

  /** @internal the session ended with its 2xx still awaiting the ACK. */
  keepAckWait(key: string, wait: AckWait): void {
    this.awaitingAck.set(key, wait);
  }

  private receiveAck(ack: SipRequest): void {
    let callId: string;
    let localTag: string;
    let remoteTag: string;
    try {
      callId = ack.callId();
      localTag = ack.to().tag ?? '';
      remoteTag = ack.from().tag ?? '';
    } catch {
      return;
    }
    // 13.3.1.4: the ACK is matched to its dialog, which stops the 2xx retransmissions.
    const session = this.sessions.get(callId, localTag, remoteTag);
    if (session === undefined) {
      if (this.awaitingAck.size > 0) this.awaitingAck.get(dialogKey(callId, localTag, remoteTag))?.acked();
      return;
    }
    session.ackWait?.acked();
    if (ack.body.length > 0) session.remoteBody = ack.body;
  }

  /** @internal the INVITE was answered finally or its transaction ended: the call is no longer pending. */
  forgetIncoming(inviteTx: InviteServerTransaction, call: IncomingCall): void {
    if (inviteTx.pendingCall === call) inviteTx.pendingCall = undefined;
    const early = call.dialog?.key;
    if (early !== undefined && this.earlyCalls.get(early) === call) this.earlyCalls.delete(early);
  }

  private receiveCancel(cancelTx: ServerTransaction, inviteTx: InviteServerTransaction | undefined): void {
    if (inviteTx === undefined) {
      cancelTx.reply(481);
      return;
    }
    // RFC 3261 9.2: 200 to the CANCEL, 487 to the INVITE if it is still pending.
    cancelTx.reply(200);
    const call = inviteTx.pendingCall as IncomingCall | undefined;
    if (inviteTx.state === 'proceeding') {
      inviteTx.respond(createResponse(inviteTx.request, 487, undefined, { toTag: call?.toTag }));
      if (call !== undefined) {
        this.forgetIncoming(inviteTx, call);
        call.cancel();
      }
    }
  }

  private receiveRequest(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): void {
    // Synchronous unless the request waits for digest authentication: no promise per request on the hot path.
    let pending: Promise<void> | undefined;
    try {
      pending = this.dispatch(request, tx, context);
    } catch {
      failed(tx);
      return;
    }
    if (pending !== undefined) pending.then(undefined, () => failed(tx));
  }

  private dispatch(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): Promise<void> | undefined {
    const method = request.method;
    const toTag = request.to().tag;
    if (toTag !== undefined) {
      // In a dialog (RFC 3261 12.2.2): find it, or 481.
      const callId = request.callId();
      const fromTag = request.from().tag ?? '';
      const session = this.sessions.get(callId, toTag, fromTag);
      if (session) return void session.receive(request, tx);
      const key = dialogKey(callId, toTag, fromTag);
      const usage = this.usages.get(key);
      if (usage) return void usage.receive(request, tx);
      const early = this.earlyCalls.get(key);
      if (early) return void early.receiveEarly(request, tx);
      // RFC 6665 4.1.2.4: the first NOTIFY may beat the 2xx to our SUBSCRIBE.
      const pending = method === 'NOTIFY' ? this.pendingSubscriptions.get(`${request.callId()}\n${toTag}`) : undefined;
      if (pending) return void pending.receiveFirstNotify(request, tx);
      tx.reply(481);
      return;
    }
    const auth = this.options.authenticator;
    if (auth !== undefined && (auth.methods ?? CHALLENGED).includes(method)) {
      return auth.server.authenticate(request, { source: context.source.address }).then((verdict) => {
        if (!verdict.ok) tx.reply(verdict.status, undefined, verdict.headers);
        else this.dispatchOutOfDialog(request, tx, context);
      });
    }
    this.dispatchOutOfDialog(request, tx, context);
    return undefined;
  }

  /** An out-of-dialog request, once authenticated where that is asked for. */
  private dispatchOutOfDialog(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): void {
    const method = request.method;
    switch (method) {
      case 'INVITE': {
        const inviteTx = tx as InviteServerTransaction;
        let se: ReturnType<SipRequest['sessionExpires']>;
        let replacing: ReturnType<SipRequest['replaces']>;
        try {
          se = sessionExpiresOf(request);
          replacing = request._find(HeaderId.Replaces) >= 0 ? request.replaces() : undefined;
        } catch {
          tx.reply(400, 'Bad Request (Session-Expires or Replaces)');
          return;
        }
        if (se && se.delta < this.minSE) {
          // RFC 4028 8.1: too short an interval gets 422 with our Min-SE.
          tx.reply(422, undefined, [['Min-SE', String(this.minSE)]]);
          return;
        }
        let replaces: SipSession | undefined;
        if (replacing) {
          // RFC 3891 3: to-tag names our local tag, from-tag the peer's; no such confirmed dialog is 481, and
          // early-only against a confirmed dialog is 486.
          replaces = this.sessions.get(replacing.callId, replacing.toTag ?? '', replacing.fromTag ?? '');
          if (!replaces || replaces.ended) return void tx.reply(481);
          if (replacing.earlyOnly) return void tx.reply(486);
        }
        const call = new IncomingCall(this, request, inviteTx, context, se ?? null);
        call.replaces = replaces;
        // The transaction holds its pending call (nothing in the UA does until an early dialog is made).
        inviteTx.pendingCall = call;
        if (this.onInvite) this.onInvite(call);
        else call.reject(480);
        return;
      }
      case 'OPTIONS':
        // RFC 3261 11.2: the answer says what we support.
        tx.respond(createResponse(request, 200, undefined, OPTIONS_ANSWER));
        return;
      case 'MESSAGE':
        tx.reply(this.onMessage?.(request) ?? 200);
        return;
      case 'BYE':
        tx.reply(481);
        return;
      case 'SUBSCRIBE': {
        if (!this.onSubscribe) break;
        let event: ReturnType<SipRequest['event']>;
        try {
          event = request.event();
        } catch {
          event = undefined;
        }
        // RFC 6665 8.2.1 / 3.1.2: no Event header is 489 Bad Event.
        if (!event) return void tx.reply(489);
        this.onSubscribe(new IncomingSubscription(this, request, tx, context, event.event));
        return;
      }
      default:
        break;
    }
    if (this.onRequest) {
      this.onRequest(request, tx, context);
      return;
    }
    if (method === 'SUBSCRIBE') return void tx.reply(489);
    tx.reply(KNOWN_ELSEWHERE.has(method) ? 405 : 501, undefined, [['Allow', ALLOW]]);
  }

  /** Stops every transaction; the transport stays the caller's. */
  close(): void {
    for (const s of this.sessions.values()) s.end('failure');
    this.ackQueueUdp?.clear();
    this.ackQueueReliable?.clear();
    for (const u of [...this.usages.values(), ...this.pendingSubscriptions.values()]) {
      if (u instanceof Subscription) u.terminate('closed');
      else if (u instanceof IncomingSubscription) u.abandon();
    }
    this.usages.clear();
    this.transactions.close();
  }
}
