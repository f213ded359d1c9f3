// Building requests and responses (RFC 3261 8.1.1, 8.2.6, 12.1.1) and the random identifiers they carry.

import { randomFillSync } from 'node:crypto';
import { SipParseError } from './errors.js';
import { AS_WRITTEN, FOLDED, HeaderId, headerIdOf, PLAIN } from './header-names.js';
import { BRANCH_MAGIC_COOKIE, quoteString, StampedViaValue } from './headers.js';
import { type CheckedLines, lineStartOf, type ResponseEcho, SipRequest, SipResponse } from './message.js';
import { trimEnd } from './scan.js';
import { flatString } from './serializer.js';
import type { Via } from './types.js';
import { formatHost } from './uri.js';

export { quoteString };

/** Source of random octets; inject a deterministic one in tests. */
export type RandomSource = (size: number) => Uint8Array;

/** Two lower-case hex digits per octet value. */
const HEX_OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16));
/** Octets of the pool written out as hex at a time (hex identifiers are slices of that text). */
const HEX_SPAN = 512;

/**
 * Cryptographic randomness drawn from a refilled pool: a tag or branch per message would otherwise cost a
 * getrandom() call each (it was 5% of a stateful UAS's profile).
 */
class RandomPool {
  private readonly pool: Buffer;
  private used: number;
  /** pool[hexAt, hexAt + hexText.length / 2) as hex: identifiers are slices of it (see hex). */
  private hexText = '';
  private hexAt = 0;

  constructor(private readonly size = 4096) {
    this.pool = Buffer.allocUnsafe(size);
    this.used = size;
  }

  /** Where `n` fresh octets start in `pool`. */
  private take(n: number): number {
    if (this.used + n > this.size) {
      randomFillSync(this.pool);
      this.used = 0;
      // the text written before is of the old octets
      this.hexText = '';
    }
    const at = this.used;
    this.used += n;
    return at;
  }

  readonly source: RandomSource = (n) => {
    if (n > this.size) return randomFillSync(Buffer.allocUnsafe(n));
    const at = this.take(n);
    return this.pool.subarray(at, at + n);
  };

  /**
   * `n` random octets as hex: a slice of the pool's hex text, written out HEX_SPAN octets at a time by one native
   * call (a slice costs less than building the string per identifier; an identifier kept alive keeps at most
   * 2 * HEX_SPAN characters alive with it).
   */
  hex(n: number): string {
    if (n > HEX_SPAN) return hex(this.source(n));
    const at = this.take(n);
    let from = 2 * (at - this.hexAt);
    if (from < 0 || from + 2 * n > this.hexText.length) {
      const end = Math.min(at + HEX_SPAN, this.size);
      this.hexText = (this.pool as Buffer & { hexSlice(start: number, end: number): string }).hexSlice(at, end);
      this.hexAt = at;
      from = 0;
    }
    return this.hexText.slice(from, from + 2 * n);
  }
}

const defaultPool = new RandomPool();
const defaultRandom: RandomSource = defaultPool.source;

function hex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_OCTETS[bytes[i]];
  return out;
}

/** `n` random octets from `random` as hex. */
function randomHex(random: RandomSource, n: number): string {
  return random === defaultRandom ? defaultPool.hex(n) : hex(random(n));
}

/** A From/To tag: 64 random bits (RFC 3261 19.3 asks for at least 32). */
export function generateTag(random: RandomSource = defaultRandom): string {
  return randomHex(random, 8);
}

/** A branch: the RFC 3261 magic cookie and 96 random bits, unique per transaction (RFC 3261 8.1.1.7). */
export function generateBranch(random: RandomSource = defaultRandom): string {
  return BRANCH_MAGIC_COOKIE + randomHex(random, 12);
}

/** A Call-ID: 128 random bits, optionally `@host` (RFC 3261 8.1.1.4). */
export function generateCallId(host?: string, random: RandomSource = defaultRandom): string {
  const id = randomHex(random, 16);
  return host === undefined ? id : `${id}@${host}`;
}

/** Reason phrases of RFC 3261 section 21 and common extensions. */
const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK',
  202: 'Accepted',
  204: 'No Notification',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority',
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small',
  423: 'Interval Too Brief',
  428: 'Use Identity Header',
  429: 'Provide Referrer Identity',
  433: 'Anonymity Disallowed',
  436: 'Bad Identity-Info',
  437: 'Unsupported Certificate',
  438: 'Invalid Identity Header',
  439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded',
  469: 'Bad Info Package',
  470: 'Consent Needed',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  555: 'Push Notification Service Not Supported',
  580: 'Precondition Failure',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted',
  608: 'Rejected',
};

/** The usual reason phrase of a status code (falls back to the class name). */
export function reasonPhrase(status: number): string {
  const r = REASONS[status];
  // the class name out of line: createResponse inlines this, within TurboFan's inlining budget
  return r !== undefined ? r : className(status);
}

function className(status: number): string {
  if (status < 200) return 'Provisional';
  if (status < 300) return 'Success';
  if (status < 400) return 'Redirection';
  if (status < 500) return 'Client Error';
  if (status < 600) return 'Server Error';
  return 'Global Failure';
}

/** Parts of a name-addr to write (RFC 3261 25.1). */
export interface NameAddrParts {
  readonly uri: string;
  readonly displayName?: string;
  readonly tag?: string;
  readonly params?: Readonly<Record<string, string | null>>;
}

/** Writes `"Display" <uri>;tag=...;name=value` (always with <> so URI params stay URI params). */
export function formatNameAddr(parts: NameAddrParts): string {
  let out = parts.displayName !== undefined && parts.displayName !== '' ? `${quoteString(parts.displayName)} ` : '';
  out += `<${parts.uri}>`;
  if (parts.params !== undefined) {
    for (const [name, value] of Object.entries(parts.params)) out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  if (parts.tag !== undefined) out += `;tag=${parts.tag}`;
  return out;
}

/** Parts of a Via value to write (RFC 3261 20.42); host bare (IPv6 without brackets). */
export interface ViaParts {
  readonly transport: string;
  readonly host: string;
  readonly port?: number;
  readonly branch: string;
  /** Add `;rport` (RFC 3581) without a value. */
  readonly rport?: boolean;
  readonly params?: Readonly<Record<string, string | null>>;
}

/** Writes `SIP/2.0/UDP host:port;branch=...`. */
export function formatVia(parts: ViaParts): string {
  let out = `SIP/2.0/${parts.transport.toUpperCase()} ${formatHost(parts.host)}`;
  if (parts.port !== undefined) out += `:${parts.port}`;
  out += `;branch=${parts.branch}`;
  if (parts.rport === true) out += ';rport';
  if (parts.params !== undefined) {
    for (const [name, value] of Object.entries(parts.params)) out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

export interface CreateRequestOptions {
  readonly method: string;
  /** Request-URI. */
  readonly uri: string;
  /** From: a formatted value, or parts (a tag is generated when `tag` is omitted from parts). */
  readonly from: string | NameAddrParts;
  /** To: a formatted value, or parts. */
  readonly to: string | NameAddrParts;
  /** Generated when omitted. */
  readonly callId?: string;
  /** CSeq number; 1 when omitted. The CSeq method is the request method (RFC 3261 8.1.1.5). */
  readonly cseq?: number;
  /** Via values, top first, as strings or parts. Optional: the transport may add its own. */
  readonly via?: string | ViaParts | ReadonlyArray<string | ViaParts>;
  /** RFC 3261 8.1.1.6: 70 when omitted; null leaves the header out. */
  readonly maxForwards?: number | null;
  readonly contact?: string | NameAddrParts;
  /** Further headers, in order. */
  readonly headers?: Iterable<readonly [string, string]>;
  readonly body?: Uint8Array | string;
  /** Content-Type of the body (required by RFC 3261 20.15 when there is one). */
  readonly contentType?: string;
  readonly random?: RandomSource;
}

/** Builds a request with the headers RFC 3261 8.1.1 requires, Content-Length included. */
export function createRequest(options: CreateRequestOptions): SipRequest {
  const random = options.random ?? defaultRandom;
  const req = new SipRequest(options.method, options.uri);
  const via = options.via;
  if (via !== undefined) {
    const list = typeof via === 'string' || !Array.isArray(via) ? [via as string | ViaParts] : via;
    for (const v of list) req.appendHeader('Via', typeof v === 'string' ? v : formatVia(v));
  }
  if (options.maxForwards !== null) req.appendHeader('Max-Forwards', String(options.maxForwards ?? 70));
  const to = options.to;
  req.appendHeader('To', typeof to === 'string' ? to : formatNameAddr(to));
  const from = options.from;
  req.appendHeader(
    'From',
    typeof from === 'string' ? from : formatNameAddr({ ...from, tag: from.tag ?? generateTag(random) }),
  );
  req.appendHeader('Call-ID', options.callId ?? generateCallId(undefined, random));
  req.appendHeader('CSeq', `${options.cseq ?? 1} ${options.method}`);
  const contact = options.contact;
  if (contact !== undefined)
    req.appendHeader('Contact', typeof contact === 'string' ? contact : formatNameAddr(contact));
  if (options.headers !== undefined) for (const [name, value] of options.headers) req.appendHeader(name, value);
  const body = options.body;
  if (body !== undefined) {
    req.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (options.contentType !== undefined) req.appendHeader('Content-Type', options.contentType);
  }
  req.appendHeader('Content-Length', String(req.body.length));
  return req;
}

export interface CreateResponseOptions {
  /** To-tag to add when the request's To has none; generated when omitted (not for 100, RFC 3261 8.2.6.2). */
  readonly toTag?: string;
  /** Further headers (e.g. Contact, Allow, WWW-Authenticate). */
  readonly headers?: Iterable<readonly [string, string]>;
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
  readonly random?: RandomSource;
}

/** Methods whose 1xx/2xx responses create a dialog and so copy Record-Route (RFC 3261 12.1.1; RFC 6665; RFC 3515). */
function isDialogCreating(method: string): boolean {
  return method === 'INVITE' || method === 'SUBSCRIBE' || method === 'REFER';
}

/**
 * A response to `request` (RFC 3261 8.2.6): Via (all values, in order), From, To, Call-ID and CSeq copied; a To-tag
 * added when absent except for 100 Trying; Record-Route copied for 101..299 to dialog-creating requests (12.1.1);
 * Timestamp copied into 100 (8.2.6.1).
 */
export function createResponse(
  request: SipRequest,
  status: number,
  reason?: string,
  options: CreateResponseOptions = {},
): SipResponse {
  const res = new SipResponse(status, reason ?? reasonPhrase(status));
  // the ids of a parsed request are in its layout (3 numbers per line, the id first); read here, not by calls that
  // would take from the inlining budget that constructs the response
  const parsed = request._text !== '';
  const layout = request._pos;
  const n = parsed ? (layout.length / 3) | 0 : request._ids.length;
  let fromK = -1;
  let toK = -1;
  let callK = -1;
  let cseqK = -1;
  let vias = 0;
  let viaK = -1;
  let recordRoutes = 0;
  for (let k = 0; k < n; k++) {
    const id = (parsed ? layout[3 * k] : request._ids[k]) & 0xff;
    if (id === HeaderId.Via) {
      if (vias++ === 0) viaK = k;
    } else if (id === HeaderId.From) {
      if (fromK < 0) fromK = k;
    } else if (id === HeaderId.To) {
      if (toK < 0) toK = k;
    } else if (id === HeaderId.CallId) {
      if (callK < 0) callK = k;
    } else if (id === HeaderId.CSeq) {
      if (cseqK < 0) cseqK = k;
    } else if (id === HeaderId.RecordRoute) recordRoutes++;
  }
  // the To-tag alone: `;tag=` is written with it (no joined string per response)
  let tag = '';
  if (toK >= 0 && status !== 100 && request.to().tag === undefined) {
    tag = options.toTag ?? generateTag(options.random ?? defaultRandom);
  }
  const echo = echoOf(request, vias, viaK, fromK, toK, callK, cseqK, tag, options.toTag !== undefined);
  const extra = options.headers;
  const checked = extra === undefined ? undefined : checkedLinesOf(extra);
  const body = options.body;
  const withRecordRoute = status > 100 && status < 300 && recordRoutes > 0 && isDialogCreating(request.method);
  if (echo !== undefined && body === undefined && (extra === undefined || checked !== undefined) && status !== 100) {
    if (!withRecordRoute) {
      // The usual answer (an OPTIONS 200, a BYE 200, an INVITE's error): its own lines are the given ones and
      // Content-Length: 0 (no Record-Route, 12.1.1; no Timestamp, 8.2.6.1; no body). The checked arrays
      // themselves, not copies: while the echo is there every header access or edit unechoes first, which makes
      // new arrays.
      const own = checked ?? NO_LINES;
      res._ids = own.ids;
      res._names = own.names;
      res._values = own.values;
      if (own.ascii) echo.own = own.end;
      if (vias > 0) res._topVia = request._topVia;
      res._echo = echo;
      return res;
    }
  }
  const ids: number[] = [];
  const names: string[] = [];
  const values: string[] = [];
  if (echo === undefined) {
    // The copied lines are filled in directly: their names are ours and their values come from a parsed (or
    // checked) request, so appendHeader's per-line checks and splices would only cost time on every response.
    for (let k = 0; k < n; k++) {
      if ((request._id(k) & 0xff) === HeaderId.Via) push(ids, names, values, HeaderId.Via, 'Via', request._value(k));
    }
    if (fromK >= 0) push(ids, names, values, HeaderId.From, 'From', request._value(fromK));
    if (toK >= 0) {
      const to = request._value(toK);
      push(ids, names, values, HeaderId.To, 'To', tag === '' ? to : `${to};tag=${tag}`);
    }
    if (callK >= 0) push(ids, names, values, HeaderId.CallId, 'Call-ID', request._value(callK));
    if (cseqK >= 0) push(ids, names, values, HeaderId.CSeq, 'CSeq', request._value(cseqK));
  }
  // While the echo is there, the own lines are also written out once (when all ASCII): `own`. Lines from the
  // request's text are ASCII when there is an echo; the others are looked at.
  let own = '';
  let ascii = echo !== undefined;
  if (withRecordRoute) {
    for (const v of request._lineValues(HeaderId.RecordRoute)) {
      push(ids, names, values, HeaderId.RecordRoute, 'Record-Route', v);
      if (ascii) own += `Record-Route: ${v}\r\n`;
    }
  }
  if (status === 100) {
    const ts = request.header('Timestamp');
    if (ts !== undefined) {
      push(ids, names, values, TIMESTAMP, 'Timestamp', ts);
      if (ascii) own += `Timestamp: ${ts}\r\n`;
    }
  }
  if (extra !== undefined) {
    if (checked !== undefined) {
      // all but their last line, Content-Length (written below)
      for (let k = 0; k < checked.ids.length - 1; k++) {
        ids.push(checked.ids[k]);
        names.push(checked.names[k]);
        values.push(checked.values[k]);
      }
      if (ascii) ascii = checked.ascii;
      if (ascii) own += checked.head;
    } else {
      for (const [name, value] of extra) {
        checkName(name);
        push(ids, names, values, headerIdOf(name, 0, name.length), name, value);
        if (ascii) ascii = isAscii(value);
        // the name is a token: ASCII
        if (ascii) own += `${name}: ${value}\r\n`;
      }
    }
  }
  if (body !== undefined) {
    res.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const type = options.contentType;
    if (type !== undefined) {
      push(ids, names, values, HeaderId.ContentType, 'Content-Type', type);
      if (ascii) ascii = isAscii(type);
      if (ascii) own += `Content-Type: ${type}\r\n`;
    }
  }
  ids.push(HeaderId.ContentLength);
  names.push('Content-Length');
  const length = res.body.length;
  const lengthText = length === 0 ? '0' : String(length);
  values.push(lengthText);
  res._ids = ids;
  res._names = names;
  res._values = values;
  if (echo !== undefined && ascii) {
    echo.own = `${own}Content-Length: ${lengthText}\r\n\r\n`;
    echo.ownBodyLength = length;
  }
  // The top Via is the request's, already parsed (and immutable): the transport routes the response by it (18.2.2).
  if (vias > 0) res._topVia = request._topVia;
  res._echo = echo;
  return res;
}

const TIMESTAMP = headerIdOf('Timestamp', 0, 9);

/** What the repeated lines may not hold (RFC 3261 25: no NUL in a header; CR only as part of a line break). */
const NUL = '\0';
/** Anything but ASCII: such a head is written by the general path (as UTF-8). */
const NON_ASCII = /[^\x00-\x7f]/;
/** What a given To-tag may not hold: a line break or NUL (refused as appendHeader refuses it), or non-ASCII. */
const BREAK_NUL_OR_NON_ASCII = /[\r\n\0\x80-\uffff]/;

function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

/**
 * The last `received` address found ASCII: a server stamps the same few source addresses again and again, and a
 * string compare (the same string object, usually) costs less than the regular expression per response.
 */
let lastAsciiReceived = '';

function isAsciiReceived(received: string): boolean {
  if (received === lastAsciiReceived) return true;
  if (!isAscii(received)) return false;
  lastAsciiReceived = received;
  return true;
}

const CRLF = '\r\n';
const TAG = ';tag=';

/**
 * The repeated lines of a response as places in the request's received text (RFC 3261 8.2.6.2) and as the text
 * they are written as, when the request is as parsed, its header text is ASCII and those lines are plain (not
 * folded, no CR or NUL, which `push` refuses); undefined otherwise (then they are copied as strings).
 */
function echoOf(
  request: SipRequest,
  vias: number,
  viaK: number,
  fromK: number,
  toK: number,
  callK: number,
  cseqK: number,
  tag: string,
  givenTag: boolean,
): ResponseEcho | undefined {
  const text = request._text;
  const stamped = request._stamped;
  // as parsed: nothing changed since (a recorded stamp is no change: it is written from the parsed Via)
  if ((request._src === undefined && stamped === undefined) || text === '') return undefined;
  // as parsed: the ids are in the layout (3 per line, the id first)
  const pos = request._pos;
  const lines = repeatedLines(pos, vias, viaK, fromK, toK, callK, cseqK);
  // RFC 3261 25: no NUL in a header; one that came in is refused by push on the string path. The text is searched
  // only when a repeated line is not PLAIN (a byte scanner saw none in it).
  let plain = true;
  for (let j = 0; j < lines.length; j += 2) if ((pos[3 * lines[j]] & PLAIN) === 0) plain = false;
  if (!plain) {
    const nul = text.indexOf(NUL);
    if (nul >= 0 && nul < request._bodyStart - request._offset) return undefined;
  }
  // one byte per character: the text is ASCII (a non-ASCII body, rare, takes the string path too); the parser
  // says so when it saw it while decoding
  if (!request._asciiText && Buffer.byteLength(text, 'utf8') !== text.length) return undefined;
  // the stamp's received address is the only part of the stamped Via not from the text
  if (stamped !== undefined && stamped.received !== undefined && !isAsciiReceived(stamped.received)) return undefined;
  if (givenTag && BREAK_NUL_OR_NON_ASCII.test(tag)) {
    // checked as push would check the To value: a line break or NUL is refused, anything else non-ASCII is
    // written by the string path
    checkValue(tag);
    return undefined;
  }
  // The head as few strings as can be: a line received as `Name: value` CRLF with the canonical name (the bytes the
  // string path writes) is taken with its neighbours as one slice of the request text, so the head is a short rope
  // (stamped Via, one or two runs of request text, the To-tag) that V8 flattens cheaply into the datagram; other
  // lines are written `Name: value`. A line is open at the end of `head` (its CRLF not yet written) unless it is ''.
  let head = '';
  // a run of request text not yet in head: text[runA, runB), runB the end of the open line's value
  let runA = -1;
  let runB = -1;
  // where the open line ends in the text when it is (the end of) a line of the text, else -1
  let at = -1;
  let via0: string | undefined;
  for (let j = 0; j < lines.length; j += 2) {
    const k = lines[j];
    const id = lines[j + 1];
    const name = ECHO_NAMES[id];
    let value: string;
    if (j === 0 && id === HeaderId.Via && stamped !== undefined) {
      // the stamped top Via (the text _value gives that line while the stamp is recorded)
      via0 = stamped.text;
      value = via0;
    } else {
      if (!plainLine(text, pos, k)) return undefined;
      const v = pos[3 * k + 1];
      const e = pos[3 * k + 2];
      const written = (pos[3 * k] & AS_WRITTEN) !== 0;
      const s = lineStartOf(text, pos, k);
      // AS_WRITTEN: the parser saw it so (no char codes read again here); else (a text the parser decoded
      // as UTF-8) the name and the line's end are checked here
      if (written || (v - s === name.length && text.startsWith(name, s) && trimEnd(text, v, e) === e)) {
        // as received: one run with the line before it when they are neighbours in the text
        if (at >= 0 && s === at + 2 && isCrLf(text, at)) {
          if (runA < 0) runA = at;
        } else {
          if (runA >= 0) head += text.slice(runA, runB);
          if (head === '') runA = s;
          else if (s >= 2 && isCrLf(text, s - 2)) runA = s - 2;
          else {
            head += CRLF;
            runA = s;
          }
        }
        runB = e;
        at = e;
        if (id === HeaderId.To && tag !== '') {
          // the text goes on after the To value: a run may start again there
          head += text.slice(runA, runB) + TAG + tag;
          runA = -1;
        }
        continue;
      }
      value = text.slice(v, trimEnd(text, v, e));
    }
    if (runA >= 0) {
      head += text.slice(runA, runB);
      runA = -1;
    }
    head = head === '' ? name + value : head + CRLF + name + value;
    at = -1;
    if (id === HeaderId.To && tag !== '') head += TAG + tag;
  }
  if (runA >= 0) {
    // the last line's CRLF from the text too when it is there
    head += text.slice(runA, isCrLf(text, runB) ? runB + 2 : runB);
    if (!isCrLf(text, runB)) head += CRLF;
  } else if (head !== '') head += CRLF;
  return {
    text,
    pos,
    lines,
    via0,
    tag,
    head,
    own: undefined,
    ownBodyLength: 0,
    sent: undefined,
    sentLine: '',
    sentBody: undefined,
  };
}

/**
 * repeatedLines' last array, made for a request with one Via, and where its lines were. The array is never changed
 * once made (only _unecho reads it), so the next request laid out the same way shares it.
 */
const lastLayout = { lines: [] as number[], via: -1, from: -1, to: -1, callId: -1, cseq: -1 };

/**
 * The repeated lines (ResponseEcho.lines): the Via lines, then From, To, Call-ID and CSeq (`viaK` is the first
 * Via). Requests from one peer are laid out alike: one array less per response.
 */
function repeatedLines(
  pos: number[],
  vias: number,
  viaK: number,
  fromK: number,
  toK: number,
  callK: number,
  cseqK: number,
): number[] {
  const last = lastLayout;
  if (
    vias === 1 &&
    viaK === last.via &&
    fromK === last.from &&
    toK === last.to &&
    callK === last.callId &&
    cseqK === last.cseq
  ) {
    return last.lines;
  }
  const lines: number[] = [];
  for (let k = viaK; k >= 0 && 3 * k < pos.length && lines.length < 2 * vias; k++) {
    if ((pos[3 * k] & 0xff) === HeaderId.Via) lines.push(k, HeaderId.Via);
  }
  if (fromK >= 0) lines.push(fromK, HeaderId.From);
  if (toK >= 0) lines.push(toK, HeaderId.To);
  if (callK >= 0) lines.push(callK, HeaderId.CallId);
  if (cseqK >= 0) lines.push(cseqK, HeaderId.CSeq);
  if (vias === 1) {
    last.lines = lines;
    last.via = viaK;
    last.from = fromK;
    last.to = toK;
    last.callId = callK;
    last.cseq = cseqK;
  }
  return lines;
}

/** The canonical `Name: ` of each repeated header, by id (HeaderId.Via .. HeaderId.CSeq are 1..5). */
const ECHO_NAMES: readonly string[] = ['', 'Via: ', 'From: ', 'To: ', 'Call-ID: ', 'CSeq: '];
if (ECHO_NAMES[HeaderId.Via] !== 'Via: ' || ECHO_NAMES[HeaderId.CSeq] !== 'CSeq: ') throw new Error('HeaderId order');

function isCrLf(text: string, at: number): boolean {
  return text.charCodeAt(at) === 13 && text.charCodeAt(at + 1) === 10;
}

/** Whether line k of a parsed message is one line whose value has no CR (NUL is looked for once, in echoOf). */
function plainLine(text: string, pos: number[], k: number): boolean {
  // a line a byte scanner accepted whole has no CR (PLAIN)
  const id = pos[3 * k];
  if ((id & PLAIN) !== 0) return true;
  if ((id & FOLDED) !== 0) return false;
  const cr = text.indexOf('\r', pos[3 * k + 1]);
  return cr < 0 || cr >= pos[3 * k + 2];
}

/** The own lines of a response given no extra header. */
const NO_LINES: OwnLines = checkedLines([]);

/** Checked own lines and, for the serializer, their text with the blank line that ends the head. */
interface OwnLines extends CheckedLines {
  readonly end: string;
}

/** Checks `headers` (throws SipParseError as appendHeader would) and adds Content-Length: 0. */
function checkedLines(headers: ReadonlyArray<readonly [string, string]>): OwnLines {
  const ids: number[] = [];
  const names: string[] = [];
  const values: string[] = [];
  for (const [name, value] of headers) {
    checkName(name);
    push(ids, names, values, headerIdOf(name, 0, name.length), name, value);
  }
  let head = '';
  for (let k = 0; k < ids.length; k++) head += `${names[k]}: ${values[k]}\r\n`;
  push(ids, names, values, HeaderId.ContentLength, 'Content-Length', '0');
  const text = `${head}Content-Length: 0\r\n`;
  // in one piece each: written into every datagram
  return {
    ids,
    names,
    values,
    text: flatString(text),
    head: flatString(head),
    ascii: isAscii(text),
    end: flatString(text + CRLF),
  };
}

/** Checked forms of frozen header lists (a UA's OPTIONS answer, its answers' Contact/Allow/Supported). */
const checkedLists = new WeakMap<object, OwnLines>();

/** The list checkedLinesOf last found in checkedLists, and its lines (frozen: they cannot change). */
const lastChecked: { headers: object | undefined; lines: OwnLines | undefined } = {
  headers: undefined,
  lines: undefined,
};

/**
 * The checked lines of `headers` when it is a frozen array of frozen [name, value] pairs of strings (it cannot
 * change, so it is checked on first use only); undefined for anything else (checked line by line per use).
 */
function checkedLinesOf(headers: Iterable<readonly [string, string]>): OwnLines | undefined {
  // the same list as last time (a UA answers every OPTIONS with one): no WeakMap lookup
  if (headers === lastChecked.headers) return lastChecked.lines;
  if (!Array.isArray(headers)) return undefined;
  // a list in the map was frozen when it went in, and stays frozen (Object.isFrozen is a call into the runtime)
  const known = checkedLists.get(headers);
  if (known !== undefined) {
    lastChecked.headers = headers;
    lastChecked.lines = known;
    return known;
  }
  if (!Object.isFrozen(headers)) return undefined;
  for (const h of headers as unknown[]) {
    if (!Array.isArray(h) || !Object.isFrozen(h) || h.length !== 2) return undefined;
    if (typeof h[0] !== 'string' || typeof h[1] !== 'string') return undefined;
  }
  const lines = checkedLines(headers as ReadonlyArray<readonly [string, string]>);
  checkedLists.set(headers, lines);
  return lines;
}

/** Header names must be tokens (RFC 3261 25.1 field-name), as appendHeader checks them. */
function checkName(name: string): void {
  if (name.length === 0) throw new SipParseError('header-line', 'empty header name');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 0x3a) throw new SipParseError('header-line', `bad header name "${name}"`);
  }
}

/** Values with a line break or NUL are refused (header injection). */
function checkValue(value: string): void {
  // three native searches cost less than a loop of charCodeAt on the usual values (a long Allow)
  if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) {
    throw new SipParseError('header-value', 'line break or NUL in header value');
  }
}

/** One copied line; values with a line break or NUL (possible only in code-built requests) are refused. */
function push(ids: number[], names: string[], values: string[], id: number, name: string, value: string): void {
  checkValue(value);
  ids.push(id);
  names.push(name);
  values.push(value);
}

/**
 * The answer to a request that failed to parse (RFC 3261 8.2.6, 21.4.1), built from the raw values the error
 * carries; undefined when the error says it cannot be answered (a response, an ACK, or no Via).
 */
export function createErrorResponse(
  error: SipParseError,
  random: RandomSource = defaultRandom,
): SipResponse | undefined {
  const p = error.partial;
  if (!error.canRespond || p === undefined) return undefined;
  // The reason phrase says what was wrong, on one safe line.
  let detail = '';
  for (let i = 0; i < error.detail.length && detail.length < 120; i++) {
    const c = error.detail.charCodeAt(i);
    detail += c >= 32 && c < 127 ? error.detail[i] : ' ';
  }
  const base = reasonPhrase(error.status);
  const res = new SipResponse(error.status, error.status === 400 ? `${base} (${detail})` : base);
  for (const v of p.via) res.appendHeader('Via', stripLineBreaks(v));
  if (p.from !== undefined) res.appendHeader('From', stripLineBreaks(p.from));
  if (p.to !== undefined) {
    const to = stripLineBreaks(p.to);
    res.appendHeader('To', to.indexOf('tag=') < 0 ? `${to};tag=${generateTag(random)}` : to);
  }
  if (p.callId !== undefined) res.appendHeader('Call-ID', stripLineBreaks(p.callId));
  if (p.cseq !== undefined) res.appendHeader('CSeq', stripLineBreaks(p.cseq));
  res.appendHeader('Content-Length', '0');
  return res;
}

function stripLineBreaks(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c === 13 || c === 10 || c === 0 ? ' ' : s[i];
  }
  return out;
}

/**
 * A Via value with `received` set and, when `rport` is given, `rport=` filled in (RFC 3261 18.2.1, RFC 3581 4),
 * other params written back as parsed (quoted values re-quoted). Returns its text and its parsed form together,
 * so a transport stamping every request does not parse the Via it just wrote.
 */
export function stampVia(via: Via, received: string, rport: number | undefined): { text: string; via: Via } {
  const stamped = new StampedViaValue(via, received, rport);
  return { text: stamped.text, via: stamped };
}
