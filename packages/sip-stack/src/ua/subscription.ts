// SIP-specific event notification (RFC 6665): the subscriber's Subscription and the notifier's
// IncomingSubscription, plus the message/sipfrag bodies REFER progress travels in (RFC 3515 2.4.5).
import type { TimerHandle } from '../clock.js';
import { SipDialog } from '../dialog/index.js';
import { createResponse, type SipRequest, SipResponse } from '../message/index.js';
import type { ServerTransaction } from '../transaction/index.js';
import type { SipInboundContext } from '../transport/index.js';
import type { SipRequestError as RequestErrorType, UserAgent } from './user-agent.js';

export type SubscriptionState = 'pending' | 'active' | 'terminated';

/** A notifier operation on a subscription that is not (or no longer) accepted. */
export class SubscriptionError extends Error {
  constructor(
    readonly code: 'not-accepted' | 'terminated',
    message: string,
  ) {
    super(message);
    this.name = 'SubscriptionError';
  }
}

/** One NOTIFY as the subscriber saw it. */
export interface Notification {
  readonly state: SubscriptionState;
  /** Subscription-State reason (RFC 6665 4.1.3), e.g. `timeout`, `noresource`. */
  readonly reason: string | undefined;
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  readonly request: SipRequest;
}

export interface SubscribeOptions {
  /** Requested duration in seconds (RFC 6665 4.1.2.1); default 3600. */
  readonly expires?: number;
  /** Accept header: the body types we understand. */
  readonly accept?: string;
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
  readonly headers?: Iterable<readonly [string, string]>;
  /** Every NOTIFY, including the first (which may arrive before the SUBSCRIBE's 2xx, RFC 6665 4.1.2.4). */
  readonly onNotify?: (notification: Notification) => void;
  /** The subscription ended: by the notifier, by unsubscribe(), by a failed refresh, or by expiry. */
  readonly onTerminated?: (reason: string | undefined) => void;
}

function bodyBytes(body: Uint8Array | string | undefined): Uint8Array | undefined {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Seconds before expiry at which the subscriber refreshes: a third of the time, at most 32 s (cf. RFC 4028 10.2). */
export function refreshLead(expires: number): number {
  return Math.min(32, expires / 3);
}

function stateOf(value: string): SubscriptionState {
  return value === 'active' ? 'active' : value === 'pending' ? 'pending' : 'terminated';
}

/** The subscriber's side of one subscription (RFC 6665 4.1). */
export class Subscription {
  state: SubscriptionState = 'pending';
  dialog: SipDialog | undefined;
  readonly notifications: Notification[] = [];
  /** Resolves with the 2xx to the initial SUBSCRIBE; rejects with its failure. */
  readonly accepted: Promise<SipResponse>;
  /** The duration the notifier granted, in seconds. */
  expires: number;
  private refreshTimer: TimerHandle | undefined;
  private unsubscribing = false;
  private settle!: { resolve(r: SipResponse): void; reject(e: Error): void };

  constructor(
    private readonly ua: UserAgent,
    readonly request: SipRequest,
    readonly event: string,
    private readonly options: SubscribeOptions,
    private readonly makeError: (status: number, reason: string, response?: SipResponse) => RequestErrorType,
  ) {
    this.expires = options.expires ?? 3600;
    this.accepted = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.accepted.catch(() => {});
  }

  /** @internal */
  async start(): Promise<void> {
    let response: SipResponse;
    try {
      response = await this.ua.send(this.request);
    } catch (e) {
      // No route to the target at all (RFC 3263 found nothing, unsupported scheme): the subscription fails.
      this.terminate('failure');
      const status = (e as { status?: number }).status ?? 503;
      this.settle.reject(this.makeError(status, (e as Error).message));
      return;
    }
    if (response.status >= 200 && response.status < 300) {
      if (this.state === 'terminated') return this.settle.resolve(response);
      if (!this.dialog) {
        try {
          this.dialog = SipDialog.asUac(this.request, response, this.request.header('contact') ?? '');
        } catch (e) {
          this.terminate('bad-response');
          return this.settle.reject(e as Error);
        }
        this.ua.registerUsage(this.dialog.key, this);
      } else this.dialog.receiveResponse(response);
      this.schedule(response.expires() ?? this.expires);
      this.settle.resolve(response);
      return;
    }
    this.terminate(`${response.status}`);
    this.settle.reject(this.makeError(response.status, response.reason, response));
  }

  private schedule(expires: number): void {
    this.expires = expires;
    if (this.refreshTimer) this.ua.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.state === 'terminated' || expires <= 0 || this.unsubscribing) return;
    this.refreshTimer = this.ua.clock.setTimeout(
      () => {
        this.refreshTimer = undefined;
        void this.refresh().catch(() => {});
      },
      (expires - refreshLead(expires)) * 1000,
    );
  }

  private subscribeHeaders(expires: number): [string, string][] {
    const headers: [string, string][] = [
      ['Event', this.request.header('event') ?? this.event],
      ['Expires', String(expires)],
    ];
    if (this.options.accept) headers.push(['Accept', this.options.accept]);
    return headers;
  }

  /** Refreshes the subscription in its dialog (RFC 6665 4.1.2.2); a 481 or timeout ends it. */
  async refresh(expires = this.options.expires ?? 3600): Promise<SipResponse | undefined> {
    const dialog = this.dialog;
    if (!dialog || this.state === 'terminated') return undefined;
    const response = await this.ua.sendInDialog(
      dialog,
      dialog.createRequest('SUBSCRIBE', { headers: this.subscribeHeaders(expires) }),
    );
    if (response.status >= 200 && response.status < 300) {
      dialog.receiveResponse(response);
      this.schedule(response.expires() ?? expires);
    } else if (expires > 0) this.terminate(`${response.status}`);
    return response;
  }

  /**
   * Ends the subscription with Expires: 0 (RFC 6665 4.1.2.3). The notifier's final NOTIFY still arrives as an
   * event; the subscription is terminated then, or after 64*T1 without it.
   */
  async unsubscribe(): Promise<void> {
    if (this.state === 'terminated' || this.unsubscribing) return;
    if (!this.dialog) {
      this.terminate('unsubscribed');
      return;
    }
    this.unsubscribing = true;
    let response: SipResponse | undefined;
    try {
      response = await this.refresh(0);
    } finally {
      if (!response || response.status >= 300) this.terminate('unsubscribed');
      else if ((this.state as SubscriptionState) !== 'terminated') {
        const t1 = this.ua.transactions.timers.t1;
        this.refreshTimer = this.ua.clock.setTimeout(() => this.terminate('unsubscribed'), 64 * t1);
      }
    }
  }

  /** @internal a NOTIFY before the 2xx creates the dialog (RFC 6665 4.1.2.4). */
  receiveFirstNotify(request: SipRequest, tx: ServerTransaction): void {
    if (!this.dialog) {
      const from = request.from();
      const synthetic = new SipResponse(200, 'OK', [
        ['To', `${this.request.header('to') ?? ''};tag=${from.tag ?? ''}`],
        ['Contact', request.header('contact') ?? ''],
        ...request.headers('record-route').map((r) => ['Record-Route', r] as [string, string]),
      ]);
      try {
        // asUac reverses Record-Route; a NOTIFY's route set keeps its order (RFC 6665 4.1.2.4), so feed it reversed.
        synthetic.setHeader('Record-Route', request.headers('record-route').reverse());
        this.dialog = SipDialog.asUac(this.request, synthetic, this.request.header('contact') ?? '');
      } catch {
        tx.reply(400, 'Bad Request (Contact)');
        return;
      }
      this.ua.registerUsage(this.dialog.key, this);
    }
    this.receive(request, tx);
  }

  /** @internal an in-dialog request: NOTIFY (RFC 6665 4.1.3). */
  receive(request: SipRequest, tx: ServerTransaction): void {
    if (request.method !== 'NOTIFY' || !this.dialog) {
      tx.reply(request.method === 'NOTIFY' ? 481 : 405);
      return;
    }
    const verdict = this.dialog.receiveRequest(request);
    if (!verdict.ok) {
      tx.reply(verdict.status, verdict.reason);
      return;
    }
    let substate: ReturnType<SipRequest['subscriptionState']>;
    let event: ReturnType<SipRequest['event']>;
    try {
      substate = request.subscriptionState();
      event = request.event();
    } catch {
      tx.reply(400, 'Bad Request (Subscription-State)');
      return;
    }
    if (!substate || event?.event.toLowerCase() !== this.event.toLowerCase()) {
      // RFC 6665 4.1.3: a NOTIFY for another event package, or without state, is not ours.
      tx.reply(substate ? 489 : 400);
      return;
    }
    tx.reply(200);
    if (this.state === 'terminated') return;
    const state = stateOf(substate.state);
    const notification: Notification = {
      state,
      reason: substate.reason,
      body: request.body,
      contentType: request.header('content-type'),
      request,
    };
    this.notifications.push(notification);
    if (state !== 'terminated') {
      this.state = state;
      if (substate.expires !== undefined && substate.expires < this.expires) this.schedule(substate.expires);
    }
    this.options.onNotify?.(notification);
    if (state === 'terminated') this.terminate(substate.reason ?? (this.unsubscribing ? 'unsubscribed' : undefined));
  }

  /** @internal */
  terminate(reason: string | undefined): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    if (this.refreshTimer) this.ua.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.ua.forgetSubscription(this);
    this.options.onTerminated?.(reason);
  }
}

export interface AcceptSubscriptionOptions {
  /** Granted duration in seconds; at most what was asked (RFC 6665 4.2.1.1). */
  readonly expires?: number;
  /** State of the first NOTIFY, which goes out at once (RFC 6665 4.2.1.2); default active. */
  readonly state?: 'active' | 'pending';
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
}

/** A SUBSCRIBE offered to us as notifier (RFC 6665 4.2). */
export class IncomingSubscription {
  state: SubscriptionState = 'pending';
  dialog: SipDialog | undefined;
  readonly event: string;
  /** Requested duration in seconds. */
  readonly requestedExpires: number;
  /** The subscriber unsubscribed or the subscription expired. */
  onTerminated: ((reason: string) => void) | undefined;
  private expiresAt = 0;
  private expiryTimer: TimerHandle | undefined;
  private lastBody: { body?: Uint8Array; contentType?: string } = {};

  constructor(
    private readonly ua: UserAgent,
    readonly request: SipRequest,
    private readonly tx: ServerTransaction,
    private readonly context: SipInboundContext,
    event: string,
  ) {
    this.event = event;
    this.requestedExpires = request.expires() ?? 3600;
  }

  /** 200 OK with the granted Expires, then the immediate NOTIFY (RFC 6665 4.2.1.2). */
  accept(options: AcceptSubscriptionOptions = {}): Promise<SipResponse> {
    const expires = Math.min(options.expires ?? this.requestedExpires, this.requestedExpires);
    const toTag = this.ua.newTag();
    const contact = this.ua.localContact(this.request, this.context);
    this.tx.respond(
      createResponse(this.request, 200, undefined, {
        toTag,
        headers: [
          ['Contact', contact],
          ['Expires', String(expires)],
        ],
      }),
    );
    this.dialog = SipDialog.asUas(this.request, toTag, contact, false);
    this.ua.registerUsage(this.dialog.key, this);
    this.state = options.state ?? 'active';
    this.arm(expires);
    return this.notify(options.body, options.contentType, this.state);
  }

  reject(status = 403, reason?: string): void {
    this.tx.reply(status, reason);
    this.state = 'terminated';
  }

  private arm(expires: number): void {
    if (this.expiryTimer) this.ua.clock.clearTimeout(this.expiryTimer);
    this.expiresAt = this.ua.clock.now() + expires * 1000;
    // RFC 6665 4.2.2: at expiry the notifier ends the subscription with reason=timeout.
    this.expiryTimer = this.ua.clock.setTimeout(() => {
      this.expiryTimer = undefined;
      void this.terminate('timeout').catch(() => {});
    }, expires * 1000);
  }

  /** Sends a NOTIFY with the state and body (RFC 6665 4.2.2); a 481 ends the subscription. */
  async notify(
    body?: Uint8Array | string,
    contentType?: string,
    state: SubscriptionState = 'active',
    reason?: string,
  ): Promise<SipResponse> {
    const dialog = this.dialog;
    if (!dialog) throw new SubscriptionError('not-accepted', 'subscription not accepted');
    if (this.state === 'terminated' && state !== 'terminated')
      throw new SubscriptionError('terminated', 'the subscription has ended');
    const bytes = bodyBytes(body);
    if (bytes) this.lastBody = { body: bytes, contentType };
    let substate: string = state;
    if (state === 'terminated') substate += reason ? `;reason=${reason}` : '';
    else substate += `;expires=${Math.max(0, Math.round((this.expiresAt - this.ua.clock.now()) / 1000))}`;
    if (state !== 'terminated') this.state = state;
    const request = dialog.createRequest('NOTIFY', {
      headers: [
        ['Event', this.request.header('event') ?? this.event],
        ['Subscription-State', substate],
      ],
      body: bytes,
      contentType: bytes ? (contentType ?? 'text/plain') : undefined,
    });
    const response = await this.ua.sendInDialog(dialog, request);
    dialog.receiveResponse(response);
    if (response.status === 481 || response.status === 408) this.finish('gone');
    return response;
  }

  /** Ends the subscription with a final NOTIFY (RFC 6665 4.2.2). */
  async terminate(reason = 'noresource'): Promise<void> {
    if (this.state === 'terminated') return;
    const last = this.lastBody;
    this.finish(reason);
    try {
      await this.notify(last.body, last.contentType, 'terminated', reason);
    } catch {
      // The subscription is over for us whatever happens to the last NOTIFY.
    }
  }

  /** @internal the UA is closing: stop the expiry timer without a NOTIFY. */
  abandon(): void {
    this.finish('closed');
  }

  private finish(reason: string): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    if (this.expiryTimer) this.ua.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.ua.forgetUsage(this);
    this.onTerminated?.(reason);
  }

  /** @internal a refresh or unsubscribe in the dialog (RFC 6665 4.2.1.2). */
  receive(request: SipRequest, tx: ServerTransaction): void {
    const dialog = this.dialog;
    if (!dialog || request.method !== 'SUBSCRIBE') {
      tx.reply(request.method === 'SUBSCRIBE' ? 481 : 405);
      return;
    }
    const verdict = dialog.receiveRequest(request);
    if (!verdict.ok) {
      tx.reply(verdict.status, verdict.reason);
      return;
    }
    const expires = Math.min(request.expires() ?? this.requestedExpires, this.requestedExpires);
    tx.respond(createResponse(request, 200, undefined, { headers: [['Expires', String(expires)]] }));
    if (expires === 0) {
      void this.terminate('unsubscribed').catch(() => {});
      return;
    }
    this.arm(expires);
    const last = this.lastBody;
    void this.notify(last.body, last.contentType, this.state).catch(() => {});
  }
}

/** A status line in a message/sipfrag body (RFC 3420), as REFER progress reports carry (RFC 3515 2.4.5). */
export interface SipFragStatus {
  readonly status: number;
  readonly reason: string;
}

/** Reads the status line of a message/sipfrag body; undefined when it is not one. */
export function parseSipFrag(body: Uint8Array): SipFragStatus | undefined {
  const text = Buffer.from(body.subarray(0, Math.min(body.length, 256))).toString('latin1');
  const end = text.indexOf('\r\n');
  const line = end < 0 ? text : text.slice(0, end);
  if (!line.startsWith('SIP/2.0 ')) return undefined;
  const code = line.slice(8, 11);
  if (!/^[1-6]\d\d$/.test(code)) return undefined;
  return { status: Number(code), reason: line.slice(12).trim() };
}
