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
  declare remoteTarget: string;
  declare readonly remoteTag: string;
  /** The Contact this side puts on its requests and responses. */
  declare localContact: string;
  declare private keyValue: string | undefined;
  declare private localValue: string;
  declare private remoteValue: string;
  /**
   * A UAS dialog's request text until its From and To values are first read, with where they lie in it (and
   * whether its To has a tag already): most calls end with a BYE from the peer and never read them. Only the text
   * is kept (the Call-ID and remote target are mostly slices of it anyway), not the parsed request, which then dies
   * young instead of being held, and copied by every young-generation GC, while the call is set up.
   */
  declare private sourceText: string | undefined;
  declare private fromAt: number;
  declare private fromEnd: number;
  declare private toAt: number;
  declare private toEnd: number;
  declare private toTagged: boolean;
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
    this.fromAt = 0;
    this.fromEnd = 0;
    this.toAt = 0;
    this.toEnd = 0;
    this.toTagged = true;
    this.remoteSeq = remoteSeq;
    this.remoteTarget = remoteTarget;
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

  /** RFC 3261 12.1.1: the UAS's local and remote values, From and To of the request, as their lines say. */
  private fromSource(text: string): void {
    this.sourceText = undefined;
    const to = text.slice(this.toAt, this.toEnd);
    this.localValue = this.toTagged ? to : `${to};tag=${this.localTag}`;
    this.remoteValue = text.slice(this.fromAt, this.fromEnd);
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
    // the remote target now: a request without a usable Contact makes no dialog
    const target = contactUri(request);
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
      target,
      routeSet,
      isSips(request.uri),
      localContact,
      early ? 'early' : 'confirmed',
    );
    dialog.toTagged = toTagged;
    // From and To by id, not by name: where their lines' values lie in the text, when they are plain slices of it
    const f = request._find(HeaderId.From);
    const t = request._find(HeaderId.To);
    const text = request._text;
    const ids = request._ids;
    if (text !== '' && (ids[f] & FOLDED) === 0 && (ids[t] & FOLDED) === 0) {
      // (a header's four numbers: name start and end, value start and end; `_value` trims the end so)
      const pos = request._pos;
      dialog.fromAt = pos[4 * f + 2];
      dialog.fromEnd = trimEnd(text, dialog.fromAt, pos[4 * f + 3]);
      dialog.toAt = pos[4 * t + 2];
      dialog.toEnd = trimEnd(text, dialog.toAt, pos[4 * t + 3]);
      dialog.sourceText = text;
    } else {
      const to = request._value(t);
      dialog.localValue = toTagged ? to : `${to};tag=${localTag}`;
      dialog.remoteValue = request._value(f);
    }
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
