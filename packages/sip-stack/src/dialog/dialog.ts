// Dialogs (RFC 3261 section 12): the state two user agents share (Call-ID, tags, CSeq numbers, remote target,
// route set), created from a dialog-creating request and its response, and used to build in-dialog requests.

import { FOLDED, HeaderId } from '../message/header-names.js';
import {
  createRequest,
  parseContacts,
  parseNameAddr,
  parseUri,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.js';
import { trimEnd } from '../message/scan.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** Methods whose requests and 2xx responses replace the remote target (RFC 3261 12.2, RFC 3311, RFC 6665 4.1.2.4). */
const TARGET_REFRESH: ReadonlySet<string> = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

export class DialogError extends Error {
  constructor(
    readonly code: 'no-tag' | 'no-contact' | 'bad-contact',
    message: string,
    /** The SIP status the peer should get when this comes from its request. */
    readonly status = 400,
  ) {
    super(message);
    this.name = 'DialogError';
  }
}

/** Verdict on an in-dialog request (RFC 3261 12.2.2). */
export type InDialogVerdict = { readonly ok: true } | { readonly ok: false; readonly status: number; reason: string };

/** No routes (shared, never written into: route sets are replaced, not changed). */
const NO_ROUTES: readonly string[] = Object.freeze([]);

/** The verdict of every acceptable request (one object for all). */
const ACCEPTED: InDialogVerdict = Object.freeze({ ok: true });

export interface InDialogRequestOptions {
  readonly headers?: Iterable<readonly [string, string]>;
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
  /** CSeq number to use instead of the next one (ACK and CANCEL reuse the INVITE's, RFC 3261 13.2.2.4, 9.1). */
  readonly cseq?: number;
}

/**
 * The remote target: the first Contact's URI (RFC 3261 12.1.1 allows one). Parsed here rather than through the
 * message's cached accessor, which would keep the parse with the request for as long as its transaction lives.
 */
function contactUri(message: SipRequest | SipResponse): string {
  // the first Contact line whole: when it is just <URI> it is also its first list element (no top-level comma)
  const k = message._find(HeaderId.Contact);
  if (k >= 0) {
    const uri = bracketedOnly(message._value(k));
    if (uri !== undefined) return uri;
  }
  const first = message.header('contact');
  const contact = first === undefined ? undefined : parseContacts(first)[0];
  if (contact === undefined || contact.star)
    throw new DialogError('no-contact', 'a dialog-creating message needs a Contact (RFC 3261 12.1)');
  return contact.uri;
}

/**
 * The URI of a Contact that is just `<URI>` (no display name, parameters or second value), as parseContacts reads
 * it, without making its ContactValue; undefined for anything else (the full parse then decides).
 */
function bracketedOnly(value: string): string | undefined {
  // no LWS inside <addr-spec> (RFC 4475 3.1.2.14): such a value goes to the full parse, which rejects it. One
  // regular expression: a char-by-char loop over a slice of the message text cost ~4 times as much (callgrind).
  return BRACKETED_ONLY.test(value) ? value.slice(1, value.length - 1) : undefined;
}

/** `<`, at least one char that is neither a control char, a space nor `>`, and `>` last. */
const BRACKETED_ONLY = /^<[^\x00-\x20>]+>$/;

/** RFC 3261 12.1.1 / 12.1.2: a dialog is secure when the request was sent to a SIPS URI (scheme case-insensitive). */
function isSips(uri: string): boolean {
  return uri.length > 5 && uri.charCodeAt(4) === 58 && uri.slice(0, 4).toLowerCase() === 'sips';
}

/**
 * Where a header value lies in its message's text, as one small integer: its start times SPAN_START plus its
 * length (a smi for values starting in the first 512 KiB, up to 4 KiB long).
 */
const SPAN_START = 4096;
const SPAN_STARTS = 1 << 19;

/** The span of header line k's value (trimmed, as `_value` makes it), or -1: none, folded, or too far or long. */
function valueSpan(message: SipRequest, k: number): number {
  if (k < 0 || (message._id(k) & FOLDED) !== 0) return -1;
  // (a parsed header's three numbers: id with the parser's flags, value start, value end)
  const pos = message._pos;
  const start = pos[3 * k + 1];
  const length = trimEnd(message._text, start, pos[3 * k + 2]) - start;
  return start < SPAN_STARTS && length < SPAN_START ? start * SPAN_START + length : -1;
}

function sliceSpan(text: string, span: number): string {
  const start = (span / SPAN_START) | 0;
  return text.slice(start, start + (span & (SPAN_START - 1)));
}

/** bracketedOnly on a span of the text: `<`, at least one char that is no control char, space or `>`, and `>`. */
function bracketedOnlyAt(text: string, span: number): boolean {
  const start = (span / SPAN_START) | 0;
  const last = start + (span & (SPAN_START - 1)) - 1;
  if (last - start < 2 || text.charCodeAt(start) !== 60 || text.charCodeAt(last) !== 62) return false;
  for (let i = start + 1; i < last; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 62) return false;
  }
  return true;
}

/** A dialog from one side's point of view. */
export class SipDialog {
  // Fields are declared and assigned in the constructor, not written as class fields or parameter properties: a
  // class field's definition is a call of its initializer per object (a dialog per call).
  declare readonly callId: string;
  declare readonly localTag: string;
  declare state: DialogState;
  /** Local CSeq: the last one this side used. */
  declare localSeq: number;
  /** Remote CSeq; undefined until the peer sends a request in the dialog (RFC 3261 12.1.2). */
  declare remoteSeq: number | undefined;
  declare private remoteTargetValue: string;
  declare readonly remoteTag: string;
  /** The Contact this side puts on its requests and responses. */
  declare localContact: string;
  declare private keyValue: string | undefined;
  declare private localValue: string;
  declare private remoteValue: string;
  /**
   * A UAS dialog's request text until its From, To or remote target is first read, with where their values lie in
   * it (spanAt): most calls end with a BYE from the peer and never read them. Only the text is kept, not the parsed
   * request, which then dies young instead of being held (and copied by every young-generation GC) by the call.
   */
  declare private sourceText: string | undefined;
  declare private fromSpan: number;
  declare private toSpan: number;
  declare private targetSpan: number;
  declare private routeSetValue: readonly string[];
  /** Whether the dialog-creating request went to a SIPS URI (RFC 3261 12.1.1 / 12.1.2). */
  declare readonly secure: boolean;

  private constructor(
    callId: string,
    localTag: string,
    remoteTag: string,
    local: string,
    remote: string,
    localSeq: number,
    remoteSeq: number | undefined,
    remoteTarget: string,
    routeSet: readonly string[],
    secure: boolean,
    localContact: string,
    state: DialogState,
  ) {
    this.callId = callId;
    this.localTag = localTag;
    this.localSeq = localSeq;
    this.localContact = localContact;
    this.keyValue = undefined;
    this.remoteTag = remoteTag;
    this.localValue = local;
    this.remoteValue = remote;
    this.sourceText = undefined;
    this.fromSpan = 0;
    this.toSpan = 0;
    this.targetSpan = 0;
    this.remoteSeq = remoteSeq;
    this.remoteTargetValue = remoteTarget;
    this.routeSetValue = routeSet;
    this.secure = secure;
    this.state = state;
  }

  /** The local party's header value (To at a UAS, From at a UAC), with its tag. */
  get local(): string {
    if (this.sourceText !== undefined) this.fromSource(this.sourceText);
    return this.localValue;
  }

  /** The remote party's header value (From at a UAS, To at a UAC), with its tag. */
  get remote(): string {
    if (this.sourceText !== undefined) this.fromSource(this.sourceText);
    return this.remoteValue;
  }

  set remote(value: string) {
    if (this.sourceText !== undefined) this.fromSource(this.sourceText);
    this.remoteValue = value;
  }

  /** The remote target: the URI requests in the dialog go to (RFC 3261 12.1.1, 12.1.2; target refreshes 12.2). */
  get remoteTarget(): string {
    if (this.sourceText !== undefined) this.fromSource(this.sourceText);
    return this.remoteTargetValue;
  }

  set remoteTarget(value: string) {
    if (this.sourceText !== undefined) this.fromSource(this.sourceText);
    this.remoteTargetValue = value;
  }

  /** RFC 3261 12.1.1: the UAS's values from its request's From, To (tag added) and Contact, as their lines say. */
  private fromSource(text: string): void {
    this.sourceText = undefined;
    this.localValue = `${sliceSpan(text, this.toSpan)};tag=${this.localTag}`;
    this.remoteValue = sliceSpan(text, this.fromSpan);
    this.remoteTargetValue = sliceSpan(text, this.targetSpan);
  }

  /** Route header values to put on requests, in order (RFC 3261 12.1.1 / 12.1.2). */
  get routeSet(): readonly string[] {
    return this.routeSetValue;
  }

  /** Call-ID and both tags as one string (RFC 3261 12: they identify the dialog), made once on first use. */
  get key(): string {
    let key = this.keyValue;
    if (key === undefined) {
      key = dialogKey(this.callId, this.localTag, this.remoteTag);
      this.keyValue = key;
    }
    return key;
  }

  /** RFC 3261 12.1.2: the UAC's dialog from a 1xx (with a To tag) or 2xx to its request. */
  static asUac(request: SipRequest, response: SipResponse, localContact: string): SipDialog {
    const to = response.to();
    if (to.tag === undefined) throw new DialogError('no-tag', 'a response without a To tag creates no dialog');
    const from = request.from();
    if (from.tag === undefined) throw new DialogError('no-tag', 'the request has no From tag');
    // Route set: the Record-Route of the response in reverse order.
    const routeSet = response.headers('record-route').reverse();
    const secure = isSips(request.uri);
    return new SipDialog(
      request.callId(),
      from.tag,
      to.tag,
      request.header('from')!,
      response.header('to')!,
      request.cseq().seq,
      undefined,
      contactUri(response),
      routeSet,
      secure,
      localContact,
      response.status >= 200 ? 'confirmed' : 'early',
    );
  }

  /** RFC 3261 12.1.1: the UAS's dialog when it answers `request` with a 1xx or 2xx carrying `localTag`. */
  static asUas(request: SipRequest, localTag: string, localContact: string, early: boolean): SipDialog {
    const from = request.from();
    if (from.tag === undefined) throw new DialogError('no-tag', 'the request has no From tag');
    const toTagged = request.to().tag !== undefined; // (throws without a To)
    // most requests come straight from the peer: no Record-Route, and one shared empty route set
    const routeSet = request._find(HeaderId.RecordRoute) < 0 ? NO_ROUTES : request.headers('record-route');
    const dialog = new SipDialog(
      request.callId(),
      localTag,
      from.tag,
      '',
      '',
      0,
      request.cseq().seq,
      '',
      routeSet,
      isSips(request.uri),
      localContact,
      early ? 'early' : 'confirmed',
    );
    // From, To and Contact by id, not by name: where their values lie in the request's text, when they are plain
    // slices of it and the Contact is just <URI> (the usual request, whose To has no tag yet)
    const text = request._text;
    if (text !== '' && !toTagged) {
      const f = valueSpan(request, request._find(HeaderId.From));
      const t = valueSpan(request, request._find(HeaderId.To));
      const c = valueSpan(request, request._find(HeaderId.Contact));
      if (f >= 0 && t >= 0 && c >= 0 && bracketedOnlyAt(text, c)) {
        dialog.fromSpan = f;
        dialog.toSpan = t;
        // the URI within the brackets
        dialog.targetSpan = c + SPAN_START - 2;
        dialog.sourceText = text;
        return dialog;
      }
    }
    // anything else at once; a request without a usable Contact makes no dialog
    dialog.remoteTargetValue = contactUri(request);
    const to = request._value(request._find(HeaderId.To));
    dialog.localValue = toTagged ? to : `${to};tag=${localTag}`;
    dialog.remoteValue = request._value(request._find(HeaderId.From));
    return dialog;
  }

  /** Where the next request goes first: the first route if there is one, else the remote target. */
  nextHop(): SipUri {
    const first = this.routeSet[0];
    const uri = parseUri(first === undefined ? this.remoteTarget : parseNameAddr(first).uri);
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips')
      throw new DialogError('bad-contact', 'next hop is not a SIP URI');
    return uri as SipUri;
  }

  /** RFC 3261 12.2.1.1: a request within the dialog (without Via: the transaction layer adds it). */
  createRequest(method: string, options: InDialogRequestOptions = {}): SipRequest {
    const cseq = options.cseq ?? (method === 'ACK' || method === 'CANCEL' ? this.localSeq : ++this.localSeq);
    let requestUri = this.remoteTarget;
    let routes = this.routeSet;
    const first = routes[0];
    if (first !== undefined) {
      const firstUri = parseUri(parseNameAddr(first).uri);
      const loose = 'params' in firstUri && firstUri.params.has('lr');
      if (!loose) {
        // Strict router: it becomes the Request-URI and the remote target goes last in Route.
        requestUri = firstUri.raw.split('?')[0];
        routes = [...routes.slice(1), `<${this.remoteTarget}>`];
      }
    }
    const headers: Array<[string, string]> = routes.map((r) => ['Route', r]);
    if (method !== 'ACK' && method !== 'CANCEL' && method !== 'BYE') headers.push(['Contact', this.localContact]);
    if (options.headers) for (const [n, v] of options.headers) headers.push([n, v]);
    return createRequest({
      method,
      uri: requestUri,
      from: this.local,
      to: this.remote,
      callId: this.callId,
      cseq,
      headers,
      body: options.body,
      contentType: options.contentType,
    });
  }

  /** RFC 3261 12.2.2: checks and absorbs a request the peer sent in this dialog. */
  receiveRequest(request: SipRequest): InDialogVerdict {
    const seq = request.cseq().seq;
    const method = request.method;
    if (method !== 'ACK' && method !== 'CANCEL') {
      if (this.remoteSeq !== undefined && seq < this.remoteSeq) {
        // Lower is out of order: 500 (12.2.2). Retransmissions never get here: transactions absorb them.
        return { ok: false, status: 500, reason: 'Server Internal Error (CSeq out of order)' };
      }
      this.remoteSeq = seq;
    }
    if (TARGET_REFRESH.has(method) && request.hasHeader('contact')) {
      try {
        this.remoteTarget = contactUri(request);
      } catch {
        return { ok: false, status: 400, reason: 'Bad Request (Contact)' };
      }
    }
    if (method === 'BYE') this.state = 'terminated';
    return ACCEPTED;
  }

  /** Absorbs a response to a request this side sent in the dialog: confirmation and target refresh. */
  receiveResponse(response: SipResponse): void {
    const method = response.cseq().method;
    if (response.status >= 200 && response.status < 300) {
      // Only the INVITE's 2xx confirms an early dialog; a 2xx to PRACK or UPDATE in it does not (RFC 3262, 3311).
      if (this.state === 'early' && method === 'INVITE') this.state = 'confirmed';
      if (TARGET_REFRESH.has(method) && response.hasHeader('contact')) {
        try {
          this.remoteTarget = contactUri(response);
        } catch {
          // A broken Contact on a refresh keeps the old target.
        }
      }
    }
    // RFC 3261 12.2.1.2: 481 or 408 to an in-dialog request ends the dialog.
    if (response.status === 481 || response.status === 408) this.state = 'terminated';
  }

  /** Updates an early UAC dialog from a later 1xx or the 2xx (remote target from its Contact). */
  updateFromResponse(response: SipResponse): void {
    if (response.hasHeader('contact')) {
      try {
        this.remoteTarget = contactUri(response);
      } catch {
        // keep the previous target
      }
    }
    this.remote = response.header('to') ?? this.remote;
    if (response.status >= 200 && response.status < 300) this.state = 'confirmed';
  }

  terminate(): void {
    this.state = 'terminated';
  }
}
