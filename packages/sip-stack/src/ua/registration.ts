// The registration client (RFC 3261 section 10.2): binds a Contact to an address-of-record, refreshes before the
// granted expiry, answers digest challenges, honours 423 Min-Expires, and retries with back-off after failures.
import { type ClientCredentials, DigestClient } from '../auth/index.js';
import type { Clock, TimerHandle } from '../clock.js';
import { createRequest, generateCallId, generateTag, type SipRequest, type SipResponse } from '../message/index.js';

/** Sends a non-INVITE request in a new client transaction and resolves with its final response. */
export interface NonInviteSender {
  send(request: SipRequest): Promise<SipResponse>;
}

export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed' | 'unregistering';

export interface RegistrationClientOptions {
  /** Request-URI of REGISTER: the registrar's domain (RFC 3261 10.2: `sip:domain`). */
  readonly registrar: string;
  /** The address-of-record (To and From). */
  readonly aor: string;
  readonly displayName?: string;
  /** The Contact URI to bind (without <>). */
  readonly contact: string;
  /** Requested binding lifetime in seconds (default 3600). */
  readonly expires?: number;
  readonly credentials?: ClientCredentials;
  readonly clock: Clock;
  readonly sender: NonInviteSender;
  /** First retry delay after a failure, doubled each time up to `maxRetryMs` (RFC 5626 4.5 style). */
  readonly retryBaseMs?: number;
  readonly maxRetryMs?: number;
  /** In [0, 1): spreads retries so a fleet of phones does not re-register in step. */
  readonly random?: () => number;
  readonly userAgent?: string;
  readonly onStateChange?: (state: RegistrationState, detail: RegistrationDetail) => void;
}

export interface RegistrationDetail {
  /** Seconds granted by the registrar, when registered. */
  readonly expires?: number;
  /** Final status of the last REGISTER. */
  readonly status?: number;
  readonly reason?: string;
  /** Every binding the registrar reported for the AOR (RFC 3261 10.2.4: the 200 lists them all). */
  readonly bindings?: readonly string[];
}

export class RegistrationError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RegistrationError';
  }
}

function sameUri(a: string, b: string): boolean {
  return a.replace(/^<|>$/g, '').toLowerCase() === b.replace(/^<|>$/g, '').toLowerCase();
}

/** Keeps one Contact registered for one AOR until `unregister()` or `stop()`. */
export class RegistrationClient {
  state: RegistrationState = 'unregistered';
  private readonly callId = generateCallId();
  private readonly fromTag = generateTag();
  private cseq = 0;
  private requestedExpires: number;
  private readonly digest: DigestClient | undefined;
  private timer: TimerHandle | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly options: RegistrationClientOptions) {
    this.requestedExpires = options.expires ?? 3600;
    this.digest = options.credentials ? new DigestClient(options.credentials) : undefined;
  }

  private setState(state: RegistrationState, detail: RegistrationDetail): void {
    this.state = state;
    this.options.onStateChange?.(state, detail);
  }

  private build(expires: number): SipRequest {
    const o = this.options;
    return createRequest({
      method: 'REGISTER',
      uri: o.registrar,
      from: { uri: o.aor, displayName: o.displayName, tag: this.fromTag },
      to: { uri: o.aor, displayName: o.displayName },
      callId: this.callId,
      // RFC 3261 10.2.4: the same Call-ID and an increasing CSeq for every refresh.
      cseq: ++this.cseq,
      contact: `<${o.contact}>`,
      headers: [
        ['Expires', String(expires)],
        ...(o.userAgent ? ([['User-Agent', o.userAgent]] as [string, string][]) : []),
      ],
    });
  }

  /** One REGISTER exchange, answering challenges and 423; resolves with the final response. */
  private async exchange(expires: number): Promise<SipResponse> {
    let request = this.build(expires);
    if (this.digest) for (const [n, v] of this.digest.credentialsFor(request)) request.appendHeader(n, v);
    for (let attempt = 0; attempt < 4; attempt++) {
      const response = await this.options.sender.send(request);
      if ((response.status === 401 || response.status === 407) && this.digest) {
        const retry = this.build(expires);
        const headers = this.digest.authorize(retry, response);
        if (headers === undefined) return response;
        for (const [n, v] of headers) retry.appendHeader(n, v);
        request = retry;
        continue;
      }
      if (response.status === 423 && expires !== 0) {
        // RFC 3261 10.2.8: retry with at least Min-Expires.
        const min = response.minExpires();
        if (min === undefined || min <= expires) return response;
        expires = min;
        this.requestedExpires = min;
        request = this.build(expires);
        if (this.digest) for (const [n, v] of this.digest.credentialsFor(request)) request.appendHeader(n, v);
        continue;
      }
      return response;
    }
    throw new RegistrationError(500, 'registration loop: too many challenges');
  }

  /** Registers now; resolves once registered, rejects with RegistrationError (and schedules a retry) on failure. */
  async register(): Promise<RegistrationDetail> {
    this.stopped = false;
    this.clearTimer();
    this.setState('registering', {});
    let response: SipResponse;
    try {
      response = await this.exchange(this.requestedExpires);
    } catch (err) {
      this.fail(408, (err as Error).message);
      throw err instanceof RegistrationError ? err : new RegistrationError(408, (err as Error).message);
    }
    if (response.status < 200 || response.status >= 300) {
      this.fail(response.status, response.reason);
      throw new RegistrationError(response.status, `registration refused: ${response.status} ${response.reason}`);
    }
    const bindings = response.contacts().map((c) => c.uri);
    const ours = response.contacts().find((c) => sameUri(c.uri, this.options.contact));
    // RFC 3261 10.2.4: the granted expiry is our Contact's expires param, else the Expires header.
    const granted = ours?.expires ?? response.expires() ?? this.requestedExpires;
    this.failures = 0;
    const detail: RegistrationDetail = { expires: granted, status: response.status, reason: response.reason, bindings };
    this.setState('registered', detail);
    if (!this.stopped && granted > 0) {
      // Refresh before expiry: half-way for short bindings, 30 s ahead for long ones.
      const refreshIn = Math.max(granted / 2, granted - 30) * 1000;
      this.timer = this.options.clock.setTimeout(() => void this.register().catch(() => {}), refreshIn);
    }
    return detail;
  }

  private fail(status: number, reason: string): void {
    this.setState('failed', { status, reason });
    if (this.stopped) return;
    const base = this.options.retryBaseMs ?? 30_000;
    const max = this.options.maxRetryMs ?? 1_800_000;
    const delay = Math.min(max, base * 2 ** this.failures);
    this.failures++;
    const random = this.options.random ?? Math.random;
    // Wait between half and all of the back-off (RFC 5626 4.5).
    const wait = delay * (0.5 + random() / 2);
    this.timer = this.options.clock.setTimeout(() => void this.register().catch(() => {}), wait);
  }

  /** Removes the binding (Expires: 0) and stops refreshing. */
  async unregister(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.setState('unregistering', {});
    const response = await this.exchange(0);
    this.setState('unregistered', { status: response.status, reason: response.reason });
    if (response.status < 200 || response.status >= 300)
      throw new RegistrationError(response.status, `unregister refused: ${response.status} ${response.reason}`);
  }

  /** Stops refreshing without telling the registrar. */
  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
