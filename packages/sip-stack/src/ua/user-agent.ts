// The user agent core (RFC 3261 sections 8, 12-15) for embedders: place and answer calls with the caller's SDP,
// send and answer requests in and out of dialogs, register, challenge and answer digest authentication.
import { type ClientCredentials, DigestClient, type DigestServer } from '../auth/index.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { dialogKey, SipDialog } from '../dialog/index.js';
import {
  createResponse,
  formatVia,
  generateBranch,
  generateCallId,
  generateTag,
  parseNameAddr,
  parseUri,
  reasonPhrase,
  SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.js';
import {
  type ClientTransaction,
  type InviteServerTransaction,
  type ServerTransaction,
  TransactionLayer,
  type TransactionTimerSettings,
} from '../transaction/index.js';
import {
  type SipEndpoint,
  type SipInboundContext,
  SipLocator,
  type SipTransportLayer,
  type SipTransportProtocol,
} from '../transport/index.js';
import { RegistrationClient, type RegistrationClientOptions } from './registration.js';

/** Methods this UA answers; sent in Allow (RFC 3261 20.5). */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, NOTIFY, REFER';
/** Methods some SIP element implements: a request with another method gets 501, these 405 (RFC 3261 8.2.1). */
const KNOWN_ELSEWHERE: ReadonlySet<string> = new Set([
  ...ALLOW.split(', '),
  'REGISTER',
  'SUBSCRIBE',
  'PRACK',
  'PUBLISH',
]);

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
}

/** Something the other side did in an established call. */
export interface SessionEvents {
  /** The call ended: by BYE from the peer, our bye(), or a failure. */
  onEnded?(by: 'local' | 'remote' | 'failure'): void;
  /**
   * A re-INVITE or UPDATE with an offer: return the answer body (or undefined to answer without a body). Throwing
   * answers 488 Not Acceptable Here.
   */
  onOffer?(offer: Uint8Array, request: SipRequest): { body: Uint8Array | string; contentType: string } | undefined;
  /** Any other in-dialog request (INFO, MESSAGE, NOTIFY, REFER): return the status (default 200). */
  onRequest?(request: SipRequest): number | undefined;
}

/** An INVITE dialog that has been answered and ACKed. */
export class SipSession {
  events: SessionEvents = {};
  ended = false;
  /** The last offer/answer body the peer sent. */
  remoteBody: Uint8Array;

  constructor(
    private readonly ua: UserAgent,
    readonly dialog: SipDialog,
    readonly role: 'uac' | 'uas',
    remoteBody: Uint8Array,
  ) {
    this.remoteBody = remoteBody;
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
    if (this.ended) return;
    this.end('local');
    const bye = this.dialog.createRequest('BYE');
    try {
      await this.ua.sendInDialog(this.dialog, bye);
    } catch {
      // The call is over for us whatever the peer says (15.1.1).
    }
  }

  /** A re-INVITE with a new offer; resolves with the answer (RFC 3261 14.1; ACK sent). */
  async reinvite(body: Uint8Array | string, contentType = 'application/sdp'): Promise<SipResponse> {
    const invite = this.dialog.createRequest('INVITE', { body, contentType });
    const response = await this.ua.sendInDialog(this.dialog, invite);
    if (response.status >= 200 && response.status < 300) {
      this.dialog.receiveResponse(response);
      this.remoteBody = response.body;
      this.ua.sendAck(this.dialog, invite.cseq().seq);
    }
    return response;
  }

  /** @internal */
  end(by: 'local' | 'remote' | 'failure'): void {
    if (this.ended) return;
    this.ended = true;
    this.dialog.terminate();
    this.ua.forgetSession(this);
    this.events.onEnded?.(by);
  }

  /** @internal an in-dialog request from the peer */
  receive(request: SipRequest, tx: ServerTransaction): void {
    const verdict = this.dialog.receiveRequest(request);
    if (!verdict.ok) {
      tx.reply(verdict.status, verdict.reason);
      return;
    }
    const contact: [string, string][] = [['Contact', this.dialog.localContact]];
    switch (request.method) {
      case 'BYE':
        tx.reply(200);
        this.end('remote');
        return;
      case 'INVITE':
      case 'UPDATE': {
        if (request.body.length === 0) {
          tx.respond(createResponse(request, 200, undefined, { headers: contact }));
          return;
        }
        this.remoteBody = request.body;
        let answer: { body: Uint8Array | string; contentType: string } | undefined;
        try {
          answer = this.events.onOffer?.(request.body, request);
        } catch {
          tx.reply(488);
          return;
        }
        tx.respond(
          createResponse(request, 200, undefined, {
            headers: contact,
            body: answer?.body,
            contentType: answer?.contentType,
          }),
        );
        return;
      }
      default: {
        const status = this.events.onRequest?.(request) ?? 200;
        tx.reply(status);
      }
    }
  }
}

/** A call we placed; `answered` resolves with the session once a 2xx arrived and was ACKed. */
export class OutgoingCall {
  readonly answered: Promise<SipSession>;
  private tx: ClientTransaction | undefined;
  private settle!: { resolve(s: SipSession): void; reject(e: SipRequestError): void };
  private cancelled = false;

  constructor(
    private readonly ua: UserAgent,
    readonly invite: SipRequest,
    private readonly options: CallOptions,
  ) {
    this.answered = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
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
    const digest = this.ua.digestClient();
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await this.ua.transact(
        invite,
        (tx) => {
          this.tx = tx;
          if (this.cancelled) (tx as { cancel?: () => unknown }).cancel?.();
        },
        (provisional) => this.options.onProgress?.(provisional),
        (ok) => this.on2xx(ok),
      );
      if (response.status >= 200 && response.status < 300) return; // on2xx settled it
      if ((response.status === 401 || response.status === 407) && digest && !this.cancelled) {
        const retry = this.ua.retryWithNewCSeq(invite);
        const headers = digest.authorize(retry, response);
        if (headers !== undefined) {
          for (const [n, v] of headers) retry.appendHeader(n, v);
          invite = retry;
          continue;
        }
      }
      this.settle.reject(new SipRequestError(response.status, response.reason, response));
      return;
    }
  }

  private session: SipSession | undefined;

  /** Every 2xx: the first makes the session; retransmissions are ACKed again; other forks are ACKed and ended. */
  private on2xx(response: SipResponse): void {
    const tag = response.to().tag;
    if (this.session && this.session.dialog.remoteTag === tag) {
      this.ua.sendAck(this.session.dialog, response.cseq().seq);
      return;
    }
    let dialog: SipDialog;
    try {
      dialog = SipDialog.asUac(this.invite, response, this.ua.localContact(this.invite));
    } catch {
      return;
    }
    this.ua.sendAck(dialog, response.cseq().seq);
    if (this.session || this.cancelled) {
      // RFC 3261 13.2.2.4: a second 2xx from another fork is ACKed and then ended with BYE.
      void this.ua.sendInDialog(dialog, dialog.createRequest('BYE')).catch(() => {});
      return;
    }
    this.session = this.ua.adoptSession(dialog, 'uac', response.body);
    this.settle.resolve(this.session);
  }

  /** Cancels the call if it has not been answered (RFC 3261 9.1). */
  cancel(): void {
    if (this.cancelled || this.session) return;
    this.cancelled = true;
    (this.tx as { cancel?: () => unknown } | undefined)?.cancel?.();
  }
}

/** A call offered to us; answer it with ring/progress/accept or reject it. */
export class IncomingCall {
  readonly toTag = generateTag();
  cancelled = false;
  /** Called when the caller cancels before we answer. */
  onCancel: (() => void) | undefined;
  private session: SipSession | undefined;

  constructor(
    private readonly ua: UserAgent,
    readonly request: SipRequest,
    readonly tx: InviteServerTransaction,
    readonly context: SipInboundContext,
  ) {}

  get from(): string {
    return this.request.header('from') ?? '';
  }

  /** The offer in the INVITE (empty for a late offer). */
  get body(): Uint8Array {
    return this.request.body;
  }

  private respond(status: number, reason?: string, options: RequestOptions = {}): SipResponse {
    const headers: [string, string][] = [['Contact', this.ua.localContact(this.request, this.context)]];
    if (status >= 200 && status < 300) headers.push(['Allow', ALLOW]);
    for (const h of options.headers ?? []) headers.push([h[0], h[1]]);
    const response = createResponse(this.request, status, reason, {
      toTag: this.toTag,
      headers,
      body: options.body,
      contentType: options.contentType,
    });
    this.tx.respond(response);
    return response;
  }

  /** 180 Ringing. */
  ring(): void {
    if (this.tx.state === 'proceeding') this.respond(180);
  }

  /** 183 Session Progress with early media. */
  progress(options: RequestOptions = {}): void {
    if (this.tx.state === 'proceeding') this.respond(183, undefined, options);
  }

  /**
   * Answers 200 with our body; retransmits it until the ACK (RFC 3261 13.3.1.4) and resolves with the session then.
   * Rejects when the caller cancelled first, or no ACK came within 64*T1 (the call is then ended with BYE).
   */
  accept(options: RequestOptions = {}): Promise<SipSession> {
    if (this.cancelled || this.tx.state !== 'proceeding')
      return Promise.reject(new SipRequestError(487, 'Request Terminated'));
    const response = this.respond(200, undefined, options);
    const dialog = SipDialog.asUas(this.request, this.toTag, this.ua.localContact(this.request, this.context), false);
    const session = this.ua.adoptSession(dialog, 'uas', this.request.body);
    this.session = session;
    return this.ua.awaitAck(session, this.tx, response, this.context);
  }

  /** A final non-2xx answer (486 Busy Here, 603 Decline, ...). */
  reject(status = 486, reason?: string, headers?: Iterable<readonly [string, string]>): void {
    if (this.tx.state === 'proceeding') this.respond(status, reason, { headers });
  }

  /** @internal */
  cancel(): void {
    if (this.session) return;
    this.cancelled = true;
    this.onCancel?.();
  }
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

  private readonly locator: SipLocator;
  private readonly sessions = new Map<string, SipSession>();
  private readonly incoming = new Map<InviteServerTransaction, IncomingCall>();
  private readonly awaitingAck = new Map<string, () => void>();

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

  /** @internal */
  digestClient(): DigestClient | undefined {
    return this.options.credentials ? new DigestClient(this.options.credentials) : undefined;
  }

  /** Our Contact for a request toward `request`'s target (or answering on `context`). */
  localContact(request: SipRequest, context?: SipInboundContext): string {
    const protocol: SipTransportProtocol = context?.local.protocol ?? this.protocolFor(request);
    const user = this.options.contactUser ?? this.aorUser();
    const uri =
      this.options.transport.contactUri(protocol, user, context?.source.address) ??
      this.options.transport.contactUri('udp', user);
    return `<${uri}>`;
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
   * error, as RFC 3261 8.1.3.1 says). For INVITE, `on2xx` sees every 2xx (forks and retransmissions).
   */
  async transact(
    request: SipRequest,
    started?: (tx: ClientTransaction) => void,
    onProvisional?: (r: SipResponse) => void,
    on2xx?: (r: SipResponse) => void,
  ): Promise<SipResponse> {
    const destination = await this.destinationOf(request);
    return new Promise((resolve) => {
      let final: SipResponse | undefined;
      const synthetic = (status: number) => {
        if (final === undefined) {
          final = createResponse(request, status, reasonPhrase(status));
          resolve(final);
        }
      };
      let tx: ClientTransaction;
      try {
        tx = this.transactions.sendRequest(request, destination, {
          onResponse: (response) => {
            if (response.status < 200) {
              onProvisional?.(response);
              return;
            }
            if (response.status < 300) on2xx?.(response);
            if (final === undefined) {
              final = response;
              resolve(response);
            }
          },
          onTimeout: () => synthetic(408),
          onTransportError: () => synthetic(503),
        });
      } catch {
        synthetic(503);
        return;
      }
      started?.(tx);
    });
  }

  /** Sends a request outside any dialog and resolves with the final response, answering digest challenges. */
  async send(request: SipRequest): Promise<SipResponse> {
    let current = request;
    const digest = this.digestClient();
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await this.transact(current);
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
    if (this.options.outboundProxy) headers.push(['Route', `<${this.options.outboundProxy};lr>`]);
    headers.push(['Allow', ALLOW]);
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
    request.appendHeader('Content-Length', String(request.body.length));
    return this.send(request);
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
    this.sessions.set(dialog.key, session);
    return session;
  }

  /** @internal */
  forgetSession(session: SipSession): void {
    if (this.sessions.get(session.dialog.key) === session) this.sessions.delete(session.dialog.key);
  }

  /** Calls that are up, keyed by dialog. */
  get activeSessions(): SipSession[] {
    return [...this.sessions.values()];
  }

  /** @internal retransmits the 2xx until the ACK arrives (RFC 3261 13.3.1.4). */
  awaitAck(
    session: SipSession,
    tx: InviteServerTransaction,
    response: SipResponse,
    context: SipInboundContext,
  ): Promise<SipSession> {
    const { t1, t2 } = this.transactions.timers;
    const reliable = context.source.protocol !== 'udp';
    return new Promise((resolve, reject) => {
      let timer: TimerHandle | undefined;
      let giveUp: TimerHandle | undefined;
      const key = session.dialog.key;
      const done = () => {
        if (timer) this.clock.clearTimeout(timer);
        if (giveUp) this.clock.clearTimeout(giveUp);
        this.awaitingAck.delete(key);
      };
      this.awaitingAck.set(key, () => {
        done();
        resolve(session);
      });
      const retransmit = (interval: number) => {
        timer = this.clock.setTimeout(() => {
          if (tx.state === 'accepted') tx.respond(response);
          else void Promise.resolve(this.options.transport.sendResponse(response, context)).catch(() => {});
          retransmit(Math.min(interval * 2, t2));
        }, interval);
      };
      if (!reliable) retransmit(t1);
      giveUp = this.clock.setTimeout(() => {
        done();
        // 13.3.1.4: no ACK within 64*T1 ends the dialog with BYE.
        void session.bye();
        reject(new SipRequestError(408, 'no ACK for the 2xx'));
      }, 64 * t1);
    });
  }

  private receiveAck(ack: SipRequest): void {
    let key: string;
    try {
      key = dialogKey(ack.callId(), ack.to().tag ?? '', ack.from().tag ?? '');
    } catch {
      return;
    }
    this.awaitingAck.get(key)?.();
    const session = this.sessions.get(key);
    if (session && ack.body.length > 0) session.remoteBody = ack.body;
  }

  private receiveCancel(cancelTx: ServerTransaction, inviteTx: InviteServerTransaction | undefined): void {
    if (inviteTx === undefined) {
      cancelTx.reply(481);
      return;
    }
    // RFC 3261 9.2: 200 to the CANCEL, 487 to the INVITE if it is still pending.
    cancelTx.reply(200);
    const call = this.incoming.get(inviteTx);
    if (inviteTx.state === 'proceeding') {
      inviteTx.respond(createResponse(inviteTx.request, 487, undefined, { toTag: call?.toTag }));
      call?.cancel();
    }
  }

  private async receiveRequest(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): Promise<void> {
    try {
      await this.dispatch(request, tx, context);
    } catch {
      // Whatever went wrong in a handler, the peer gets an answer and the UA keeps running.
      try {
        tx.reply(500);
      } catch {
        // already answered
      }
    }
  }

  private async dispatch(request: SipRequest, tx: ServerTransaction, context: SipInboundContext): Promise<void> {
    const method = request.method;
    const toTag = request.to().tag;
    if (toTag !== undefined) {
      // In a dialog (RFC 3261 12.2.2): find it, or 481.
      const session = this.sessions.get(dialogKey(request.callId(), toTag, request.from().tag ?? ''));
      if (session) session.receive(request, tx);
      else tx.reply(481);
      return;
    }
    const auth = this.options.authenticator;
    const challenged = auth?.methods ?? ['INVITE', 'MESSAGE', 'SUBSCRIBE', 'REFER', 'REGISTER'];
    if (auth && challenged.includes(method)) {
      const verdict = await auth.server.authenticate(request, { source: context.source.address });
      if (!verdict.ok) {
        tx.reply(verdict.status, undefined, verdict.headers);
        return;
      }
    }
    switch (method) {
      case 'INVITE': {
        const inviteTx = tx as InviteServerTransaction;
        const call = new IncomingCall(this, request, inviteTx, context);
        this.incoming.set(inviteTx, call);
        inviteTx.events.onTerminated = () => this.incoming.delete(inviteTx);
        if (this.onInvite) this.onInvite(call);
        else call.reject(480);
        return;
      }
      case 'OPTIONS':
        // RFC 3261 11.2: the answer says what we support.
        tx.respond(
          createResponse(request, 200, undefined, {
            headers: [
              ['Allow', ALLOW],
              ['Accept', 'application/sdp'],
              ['Supported', 'replaces, timer'],
            ],
          }),
        );
        return;
      case 'MESSAGE':
        tx.reply(this.onMessage?.(request) ?? 200);
        return;
      case 'BYE':
        tx.reply(481);
        return;
      default:
        if (this.onRequest) {
          this.onRequest(request, tx, context);
          return;
        }
        tx.reply(KNOWN_ELSEWHERE.has(method) ? 405 : 501, undefined, [['Allow', ALLOW]]);
    }
  }

  /** Stops every transaction; the transport stays the caller's. */
  close(): void {
    for (const s of [...this.sessions.values()]) s.end('failure');
    this.transactions.close();
  }
}
