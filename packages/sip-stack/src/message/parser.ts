// parseMessage: one SIP message from bytes (RFC 3261 7 and 18.3). The header section is decoded to a string once
// (latin1 when it is all ASCII, UTF-8 otherwise), header lines are indexed in one pass with indexOf/charCodeAt,
// and only the headers the transaction layer relies on are parsed before returning.

import { Buffer, isAscii } from 'node:buffer';
import { cseqBytes, fromToBytes, fromToWire, viaBytes, viaWire } from './byte-scan.js';
import { SipParseError, type SipParseErrorCode, type SipParsePartial } from './errors.js';
import {
  AS_WRITTEN as AS_WRITTEN_FLAG,
  FOLDED as FOLDED_FLAG,
  HeaderId as HEADER_ID,
  headerIdOf,
  knownNameAt as KNOWN_NAME_AT,
  PLAIN as PLAIN_FLAG,
  wireNameAt as WIRE_NAME_AT,
} from './header-names.js';
import { cseqAt, fromToAt, parseCSeq, parseFromTo, parseVia, viaAt } from './headers.js';
import { DEFAULT_SIP_PARSE_LIMITS, resolveLimits } from './limits.js';
import { lineStartOf, type SipMessage, type SipMessageBase, SipRequest, SipResponse } from './message.js';
import { TOKEN as TOKEN_TABLE, trimEnd } from './scan.js';
import type { CSeq, FromTo, ParseOptions, SipParseLimits, Via } from './types.js';

// Module-local copies: optimized code reads an imported binding through its cell, with a TDZ check, on every use.
const TOKEN = TOKEN_TABLE;
const FOLDED = FOLDED_FLAG;
const PLAIN = PLAIN_FLAG;
const AS_WRITTEN = AS_WRITTEN_FLAG;
// the enum too: `HeaderId.Via` on a module constant is a constant, not a cell load, a map check and a field load
const HeaderId = HEADER_ID;
// and the functions called per header: a direct call, without the cell load, hole check and target check
const wireNameAt = WIRE_NAME_AT;
const knownNameAt = KNOWN_NAME_AT;

interface NodeStringSlicing {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

type SlicingBuffer = Buffer & NodeStringSlicing;

/** Methods of RFC 3261 and its extensions; others are "unknown" (RFC 4475 3.1.2.18: answered 501). */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'REGISTER',
  'OPTIONS',
  'INFO',
  'PRACK',
  'UPDATE',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'MESSAGE',
  'PUBLISH',
]);

/**
 * The method of a request line when it is one of the common ones (methods are case-sensitive, RFC 3261 7.1): the
 * constant string, so parsing makes none; undefined for any other.
 */
function knownMethodAt(b: Uint8Array, at: number, len: number): string | undefined {
  // short bytecode: parseMessage inlines it, and still has room to inline the message's constructors
  const m = len === 3 ? (b[at] === 0x41 ? 'ACK' : 'BYE') : len === 6 ? 'INVITE' : len === 7 ? 'OPTIONS' : undefined;
  if (m === undefined) return undefined;
  for (let k = 0; k < len; k++) if (b[at + k] !== m.charCodeAt(k)) return undefined;
  return m;
}

function asBuffer(input: Uint8Array): SlicingBuffer {
  return (
    Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  ) as SlicingBuffer;
}

/** Thrown inside the scanner; carries what parseMessage turns into a SipParseError. */
function fault(code: SipParseErrorCode, message: string, offset: number, text?: string, at?: number): SipParseError {
  let line: number | undefined;
  if (text !== undefined && at !== undefined) {
    line = 1;
    for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  }
  return new SipParseError(code, message, { offset, line });
}

/**
 * Indexes the header lines after the start line (RFC 3261 7.3: field-name HCOLON value, continuation lines start
 * with SP/HT). Returns the text offset of the body (after the empty line), or -1 when the empty line is missing.
 *
 * The usual line (token name, optional SP/HT, colon, value on one line) is scanned forward once: the name is
 * checked as a token on the way to the colon, and one indexOf finds the end of the line. Anything else (a folded
 * line, a bad name, a line too long, the header limit) goes to indexHeadersFrom, which says exactly what is wrong.
 */
function indexHeaders(
  text: string,
  from: number,
  limits: Required<SipParseLimits>,
  offset: number,
  pos: number[],
  bytes: Uint8Array | undefined,
  off: number,
): number {
  const maxLine = limits.maxLineLength;
  const maxHeaders = limits.maxHeaders;
  let p = from;
  let count = 0;
  if (bytes !== undefined) {
    // the same scan on the received bytes of an ASCII message (byte off + k is text index k)
    const last = text.length - 1;
    for (;;) {
      if (p >= last) break;
      let c = bytes[off + p];
      if (c === 13 && bytes[off + p + 1] === 10) return indexedUpTo(count, p + 2);
      if (c === 10) return indexedUpTo(count, p + 1);
      if (count >= maxHeaders) break;
      let i = p;
      // a known name is matched whole; any other must be a token
      let known = wireNameAt(bytes, off + p, off + last);
      // the name as the serializer writes it (wireNameAt matches the canonical spelling only)
      let written = known === 0 ? 0 : AS_WRITTEN;
      if (known === 0) known = knownNameAt(bytes, off + p, off + last);
      if (known !== 0) {
        i = p + (known >> 8);
        c = bytes[off + i];
      } else {
        while (TOKEN[c] === 1 && i < last) c = bytes[off + ++i];
      }
      const nameEnd = i;
      while ((c === 32 || c === 9) && i < last) c = bytes[off + ++i];
      if (c !== 58 || nameEnd === p) break;
      c = bytes[off + ++i];
      while ((c === 32 || c === 9) && i < last) c = bytes[off + ++i];
      let eol: number;
      const id = known & 0xff;
      if (id === HeaderId.CSeq || id === HeaderId.MaxForwards || id === HeaderId.ContentLength) {
        // values of a few bytes: a loop costs less than a call of indexOf
        let j = off + i;
        const stop = off + last;
        while (j < stop && bytes[j] !== 10) j++;
        eol = j - off;
      } else {
        eol = text.indexOf('\n', i);
      }
      if (eol < 0 || eol >= last) break;
      const next = bytes[off + eol + 1];
      if (next === 32 || next === 9) break;
      const lineEnd = bytes[off + eol - 1] === 13 && eol - 1 >= i ? eol - 1 : eol;
      if (lineEnd - p > maxLine) break;
      // `Name: value` with one SP after the colon and no whitespace after the value
      if (
        written !== 0 &&
        (i !== nameEnd + 2 ||
          bytes[off + nameEnd + 1] !== 32 ||
          (lineEnd > i && (bytes[off + lineEnd - 1] === 32 || bytes[off + lineEnd - 1] === 9)))
      ) {
        written = 0;
      }
      const at = 3 * count;
      pos[at] = id | written;
      pos[at + 1] = i;
      pos[at + 2] = lineEnd;
      count++;
      p = eol + 1;
    }
    return indexHeadersFrom(text, p, count, limits, offset, pos);
  }
  for (;;) {
    let c = text.charCodeAt(p);
    if (c === 13 && text.charCodeAt(p + 1) === 10) return indexedUpTo(count, p + 2);
    if (c === 10) return indexedUpTo(count, p + 1);
    if (count >= maxHeaders) break;
    // field-name = token (RFC 3261 25.1); charCodeAt past the end is NaN and stops the loop
    let i = p;
    while (c < 256 && TOKEN[c] === 1) c = text.charCodeAt(++i);
    const nameEnd = i;
    // HCOLON = *( SP / HTAB ) ":" SWS
    while (c === 32 || c === 9) c = text.charCodeAt(++i);
    if (c !== 58 || nameEnd === p) break;
    c = text.charCodeAt(++i);
    while (c === 32 || c === 9) c = text.charCodeAt(++i);
    const eol = text.indexOf('\n', i);
    if (eol < 0) break;
    // a continuation line (RFC 3261 7.3.1) makes this header a folded one
    const next = text.charCodeAt(eol + 1);
    if (next === 32 || next === 9) break;
    const lineEnd = text.charCodeAt(eol - 1) === 13 && eol - 1 >= i ? eol - 1 : eol;
    if (lineEnd - p > maxLine) break;
    const at = 3 * count;
    pos[at] = headerIdOf(text, p, nameEnd);
    pos[at + 1] = i;
    pos[at + 2] = lineEnd;
    count++;
    p = eol + 1;
  }
  return indexHeadersFrom(text, p, count, limits, offset, pos);
}

/** The line-by-line indexer for the rest of the header section from `p`, after `count` indexed headers. */
function indexHeadersFrom(
  text: string,
  p: number,
  count: number,
  limits: Required<SipParseLimits>,
  offset: number,
  pos: number[],
): number {
  const maxLine = limits.maxLineLength;
  const maxHeaders = limits.maxHeaders;
  const length = text.length;
  // the lines indexed so far, also when a fault is thrown below
  indexed = count;
  for (;;) {
    if (p >= length) return -1;
    const eol = text.indexOf('\n', p);
    if (eol < 0) {
      if (length - p > maxLine) throw fault('line-too-long', `line longer than ${maxLine} bytes`, offset + p, text, p);
      return -1;
    }
    let lineEnd = eol;
    if (lineEnd > p && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    if (lineEnd - p > maxLine) throw fault('line-too-long', `line longer than ${maxLine} bytes`, offset + p, text, p);
    if (lineEnd === p) return eol + 1;
    const c = text.charCodeAt(p);
    if (c === 32 || c === 9) {
      // RFC 3261 7.3.1: a line starting with whitespace continues the previous header value
      if (count === 0) throw fault('header-line', 'continuation line before any header', offset + p, text, p);
      pos[3 * count - 1] = lineEnd;
      pos[3 * count - 3] |= FOLDED;
    } else {
      if (count >= maxHeaders) {
        throw fault('too-many-headers', `more than ${maxHeaders} header lines`, offset + p, text, p);
      }
      // field-name = token, then HCOLON = *( SP / HTAB ) ":" SWS (RFC 3261 25.1)
      const colon = text.indexOf(':', p);
      if (colon < 0 || colon >= lineEnd) throw fault('header-line', 'header line without ":"', offset + p, text, p);
      let nameEnd = colon;
      while (nameEnd > p) {
        const w = text.charCodeAt(nameEnd - 1);
        if (w !== 32 && w !== 9) break;
        nameEnd--;
      }
      if (nameEnd === p) throw fault('header-line', 'empty header name', offset + p, text, p);
      for (let i = p; i < nameEnd; i++) {
        const n = text.charCodeAt(i);
        if (n >= 256 || TOKEN[n] !== 1) throw fault('header-line', 'bad header name', offset + i, text, i);
      }
      let vs = colon + 1;
      while (vs < lineEnd) {
        const w = text.charCodeAt(vs);
        if (w !== 32 && w !== 9) break;
        vs++;
      }
      const at = 3 * count;
      pos[at] = headerIdOf(text, p, nameEnd);
      pos[at + 1] = vs;
      pos[at + 2] = lineEnd;
      indexed = ++count;
    }
    p = eol + 1;
  }
}

/**
 * Where the indexers write the layout (SipMessageBase._pos: id, value start, value end per line), then
 * copied at its exact length into the message (parsing is synchronous: one message at a time). A message then holds
 * no room for lines it does not have (an INVITE's layout stays alive until its ACK, copied by every scavenge), and
 * writing it costs no growth.
 */
const POS_SCRATCH: number[] = [];
/** how many lines the last run of the indexers indexed (also when one threw) */
let indexed = 0;

function indexedUpTo(count: number, bodyAt: number): number {
  indexed = count;
  return bodyAt;
}

function hasUriScheme(uri: string): boolean {
  const c0 = uri.charCodeAt(0) | 0x20;
  if (c0 < 97 || c0 > 122) return false;
  for (let i = 1; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === 0x3a) return i + 1 < uri.length;
    const l = c | 0x20;
    if (!((l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 0x2b || c === 0x2d || c === 0x2e)) return false;
  }
  return false;
}

/** hasUriScheme for the ASCII bytes b[from, to). */
function hasUriSchemeAt(b: Uint8Array, from: number, to: number): boolean {
  const c0 = b[from] | 0x20;
  if (c0 < 97 || c0 > 122) return false;
  for (let i = from + 1; i < to; i++) {
    const c = b[i];
    if (c === 0x3a) return i + 1 < to;
    const l = c | 0x20;
    if (!((l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 0x2b || c === 0x2d || c === 0x2e)) return false;
  }
  return false;
}

function isSipVersion(text: string, a: number, b: number): boolean {
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; literal text is case-insensitive (RFC 3261 25.1)
  return (
    b - a === 7 &&
    (text.charCodeAt(a) | 0x20) === 0x73 &&
    (text.charCodeAt(a + 1) | 0x20) === 0x69 &&
    (text.charCodeAt(a + 2) | 0x20) === 0x70 &&
    text.charCodeAt(a + 3) === 0x2f &&
    text.charCodeAt(a + 4) === 0x32 &&
    text.charCodeAt(a + 5) === 0x2e &&
    text.charCodeAt(a + 6) === 0x30
  );
}

function startsWithSipSlash(text: string, a: number): boolean {
  return (
    (text.charCodeAt(a) | 0x20) === 0x73 &&
    (text.charCodeAt(a + 1) | 0x20) === 0x69 &&
    (text.charCodeAt(a + 2) | 0x20) === 0x70 &&
    text.charCodeAt(a + 3) === 0x2f
  );
}

function rawValue(msg: SipMessageBase, id: number): string | undefined {
  const k = msg._find(id);
  return k < 0 ? undefined : msg._value(k);
}

function partialOf(msg: SipMessageBase | undefined, isRequest: boolean, method: string | undefined): SipParsePartial {
  return {
    isRequest,
    method,
    via: msg === undefined ? [] : msg._lineValues(HeaderId.Via),
    callId: msg === undefined ? undefined : rawValue(msg, HeaderId.CallId),
    cseq: msg === undefined ? undefined : rawValue(msg, HeaderId.CSeq),
    from: msg === undefined ? undefined : rawValue(msg, HeaderId.From),
    to: msg === undefined ? undefined : rawValue(msg, HeaderId.To),
  };
}

function withPartial(e: unknown, partial: SipParsePartial): unknown {
  if (!(e instanceof SipParseError)) return e;
  return new SipParseError(e.code, e.detail, {
    offset: e.offset,
    line: e.line,
    status: e.status,
    fatal: e.fatal,
    partial,
  });
}

/**
 * Strict decimal s[start, end) (trailing SP/HT ignored) for Content-Length (RFC 3261 20.14, RFC 4475 3.1.2.3) and
 * Max-Forwards: -1 when not 1*DIGIT, -2 when above `limit`.
 */
function decimalAt(s: string, start: number, end: number, limit: number): number {
  end = trimEnd(s, start, end);
  if (end === start) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > limit) return -2;
  }
  return n;
}

function decimalOf(msg: SipMessageBase, k: number, limit: number, bytes: Uint8Array | undefined, off: number): number {
  if ((msg._pos[3 * k] & FOLDED) !== 0) {
    const v = msg._value(k);
    return decimalAt(v, 0, v.length, limit);
  }
  const start = msg._pos[3 * k + 1];
  const end = msg._pos[3 * k + 2];
  if (bytes === undefined) return decimalAt(msg._text, start, end, limit);
  // decimalAt on the bytes of an ASCII message
  let e = off + end;
  const a = off + start;
  while (e > a && (bytes[e - 1] === 32 || bytes[e - 1] === 9)) e--;
  if (e === a) return -1;
  let n = 0;
  for (let i = a; i < e; i++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > limit) return -2;
  }
  return n;
}

/**
 * Parses one SIP request or response. By default the bytes are a whole datagram (RFC 3261 18.3: a missing
 * Content-Length means the body runs to the end; octets after Content-Length are ignored). Validates the start
 * line and the headers the transaction layer relies on (Via, From, To, Call-ID, CSeq matching the method,
 * Max-Forwards, Content-Length). Throws SipParseError, and nothing else, on bad input.
 */
export function parseMessage(input: Uint8Array | string, options?: ParseOptions): SipMessage {
  const limits = options?.limits === undefined ? DEFAULT_SIP_PARSE_LIMITS : resolveLimits(options.limits);
  const maxSize = limits.maxMessageSize;
  if (typeof input === 'string') {
    // a string of n UTF-16 units is at least n bytes: refuse before encoding
    if (input.length > maxSize) {
      throw new SipParseError('message-too-large', `message larger than ${maxSize} bytes`, { offset: maxSize });
    }
    input = Buffer.from(input, 'utf8');
  }
  const buf = asBuffer(input);
  const total = buf.length;
  if (total > maxSize) {
    throw new SipParseError('message-too-large', `message of ${total} bytes, limit ${maxSize}`, { offset: maxSize });
  }
  // RFC 3261 7.5: CRLFs before the start line are ignored
  let start = 0;
  while (start < total && (buf[start] === 13 || buf[start] === 10)) start++;
  if (start === total) throw new SipParseError('incomplete', 'empty message', { offset: start });

  // One native call for the usual all-ASCII datagram: UTF-8 decoding gives one character per byte only when every
  // byte is ASCII or when an invalid byte became U+FFFD (RFC 3629; then the string holds one), so those two checks
  // say whether the text is ASCII; anything else is decoded again as latin1 (byte k is character k) below.
  let text = buf.utf8Slice(start, total);
  const ascii = text.length === total - start && text.indexOf('\uFFFD') < 0;
  if (!ascii) text = buf.latin1Slice(start, total);
  const firstEol = text.indexOf('\n');
  if (firstEol < 0 || firstEol > limits.maxLineLength + 1) {
    if (firstEol < 0 && text.length <= limits.maxLineLength) {
      throw new SipParseError('incomplete', 'no end of the start line', { offset: start + text.length });
    }
    throw new SipParseError('line-too-long', `start line longer than ${limits.maxLineLength} bytes`, {
      offset: start,
      line: 1,
    });
  }
  let scanError: unknown;
  let bodyAt = -1;
  let reDecoded = false;
  try {
    bodyAt = indexHeaders(text, firstEol + 1, limits, start, POS_SCRATCH, ascii ? buf : undefined, start);
  } catch (e) {
    scanError = e;
  }
  const headBytes = bodyAt >= 0 ? bodyAt : firstEol + 1;
  if (!ascii && !isAscii(buf.subarray(start, start + headBytes))) {
    // Non-ASCII octets in the header section: decode it as UTF-8 (RFC 3261 7.3.1 allows UTF-8 in values).
    text = buf.utf8Slice(start, start + headBytes);
    reDecoded = true;
    indexed = 0;
    if (scanError === undefined) {
      const eol = text.indexOf('\n');
      try {
        indexHeaders(text, eol + 1, limits, start, POS_SCRATCH, undefined, 0);
      } catch (e) {
        scanError = e;
      }
    }
  }
  // the layout at its exact length: a message holds no room for lines it does not have
  const pos = POS_SCRATCH.slice(0, 3 * indexed);
  const bodyStart = start + headBytes;
  if (scanError === undefined && bodyAt < 0) {
    scanError = new SipParseError('incomplete', 'no empty line after the headers', { offset: total });
  }

  // ---- start line (RFC 3261 7.1 Request-Line, 7.2 Status-Line) ----
  const eol0 = reDecoded ? text.indexOf('\n') : firstEol;
  const lineEnd = eol0 > 0 && text.charCodeAt(eol0 - 1) === 13 ? eol0 - 1 : eol0;
  let msg: SipRequest | SipResponse;
  let method: string | undefined;
  const isResponse = startsWithSipSlash(text, 0);
  if (isResponse) {
    const sp = text.indexOf(' ', 0);
    if (sp < 0 || sp > lineEnd) throw startError('start-line', 'status line without a status code', start);
    if (!isSipVersion(text, 0, sp)) {
      throw startError('version', `unsupported version "${text.slice(0, sp)}"`, start, 505);
    }
    let i = sp + 1;
    let status = 0;
    const codeStart = i;
    while (i < lineEnd) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      status = status * 10 + d;
      i++;
      if (i - codeStart > 3) break;
    }
    // Status-Code = 3DIGIT, 100..699 (RFC 3261 7.2, RFC 4475 3.1.2.19)
    if (i - codeStart !== 3 || status < 100 || status > 699 || (i < lineEnd && text.charCodeAt(i) !== 32)) {
      throw startError('status-code', 'status code is not three digits in 100..699', start + codeStart);
    }
    const reason = i < lineEnd ? text.slice(i + 1, lineEnd) : '';
    for (let k = 0; k < reason.length; k++) {
      const c = reason.charCodeAt(k);
      if ((c < 32 && c !== 9) || c === 127) {
        throw startError('start-line', 'control character in reason phrase', start + i + 1 + k);
      }
    }
    msg = new SipResponse(status, reason);
  } else {
    let i = 0;
    if (reDecoded) while (i < lineEnd && TOKEN[text.charCodeAt(i)] === 1) i++;
    else while (i < lineEnd && TOKEN[buf[start + i]] === 1) i++;
    method = i === 0 ? undefined : ((reDecoded ? undefined : knownMethodAt(buf, start, i)) ?? text.slice(0, i));
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF: exactly one SP between elements
    if (i === 0 || text.charCodeAt(i) !== 32) {
      throw withPartial(
        startError('start-line', 'request line must start with a method token and one SP', start + i),
        requestPartial(text, pos, start, method),
      );
    }
    const uriStart = i + 1;
    const sp2 = text.indexOf(' ', uriStart);
    if (sp2 < 0 || sp2 > lineEnd || sp2 === uriStart) {
      throw withPartial(
        startError('start-line', 'request line needs Method SP Request-URI SP SIP-Version', start + uriStart),
        requestPartial(text, pos, start, method),
      );
    }
    const versionStart = sp2 + 1;
    if (!isSipVersion(text, versionStart, lineEnd)) {
      let known = startsWithSipSlash(text, versionStart);
      for (let k = versionStart; known && k < lineEnd; k++) if (text.charCodeAt(k) === 32) known = false;
      throw withPartial(
        known
          ? startError('version', `unsupported version "${text.slice(versionStart, lineEnd)}"`, start, 505)
          : startError('start-line', 'bad SIP-Version at the end of the request line', start + versionStart),
        requestPartial(text, pos, start, method),
      );
    }
    // the Request-URI string is made on first use (the transaction layer does not read it)
    const req = new SipRequest(method!, '');
    req._uriInText();
    // The Request-URI is parsed on first use of `requestUri` (which throws SipParseError when it is malformed);
    // here only its scheme is checked (RFC 3261 25.1 absoluteURI / SIP-URI; RFC 4475 3.1.2.7).
    if (reDecoded ? !hasUriScheme(text.slice(uriStart, sp2)) : !hasUriSchemeAt(buf, start + uriStart, start + sp2)) {
      req._adopt(text, pos, start);
      throw withPartial(
        new SipParseError('request-uri', 'Request-URI without a scheme', { offset: start + uriStart, line: 1 }),
        partialOf(req, true, method),
      );
    }
    msg = req;
  }
  msg._adopt(text, pos, start);
  if (scanError !== undefined) throw withPartial(scanError, partialOf(msg, !isResponse, method));

  try {
    const end = validate(msg, method, bodyStart, total, maxSize, reDecoded ? undefined : buf, start);
    msg._setSource(buf, bodyStart, end);
    msg._asciiText = ascii;
  } catch (e) {
    throw withPartial(e, partialOf(msg, !isResponse, method));
  }
  return msg;
}

/** What a request with a bad request line carries for a 400 answer. */
function requestPartial(text: string, pos: number[], start: number, method: string | undefined): SipParsePartial {
  const probe = new SipRequest(method ?? '', '');
  probe._adopt(text, pos, start);
  return partialOf(probe, true, method);
}

function startError(code: SipParseErrorCode, message: string, offset: number, status?: number): SipParseError {
  return new SipParseError(code, message, { offset, line: 1, status });
}

/** The top Via from the bytes: the usual wire form in one loop, else the byte scanner (undefined when unusual). */
function viaOf(b: Uint8Array, off: number, s: string, k: number, pos: number[]): Via | undefined {
  const start = pos[3 * k + 1];
  const end = pos[3 * k + 2];
  const via = viaWire(b, off, s, start, end);
  if (via === undefined) return viaBytes(b, off, s, start, end);
  // the whole line is that one value
  pos[3 * k] |= PLAIN;
  return via;
}

/** From / To from the bytes, as viaOf. */
function fromToOf(b: Uint8Array, off: number, s: string, k: number, pos: number[]): FromTo | undefined {
  const start = pos[3 * k + 1];
  const end = pos[3 * k + 2];
  const value = fromToWire(b, off, s, start, end);
  if (value === undefined) return fromToBytes(b, off, s, start, end);
  pos[3 * k] |= PLAIN;
  return value;
}

/**
 * Checks the headers the transaction layer trusts (RFC 3261 8.1.1, 8.2.2, 17, 18.3; RFC 4475 3.3.1, 3.3.8,
 * 3.1.2.3-3.1.2.4, 3.1.2.17-3.1.2.18, 3.3.9) and returns the byte offset where the message ends.
 */
function validate(
  msg: SipRequest | SipResponse,
  method: string | undefined,
  bodyStart: number,
  total: number,
  maxSize: number,
  bytes: Uint8Array | undefined,
  off: number,
): number {
  const pos = msg._pos;
  const n = (pos.length / 3) | 0;
  let via = -1;
  let from = -1;
  let to = -1;
  let callId = -1;
  let cseq = -1;
  let mf = -1;
  let dup = 0;
  let contentLength = -1;
  for (let k = 0; k < n; k++) {
    switch (pos[3 * k] & 0xff) {
      case HeaderId.Via:
        if (via < 0) via = k;
        break;
      case HeaderId.From:
        if (from >= 0) dup = HeaderId.From;
        from = k;
        break;
      case HeaderId.To:
        if (to >= 0) dup = HeaderId.To;
        to = k;
        break;
      case HeaderId.CallId:
        if (callId >= 0) dup = HeaderId.CallId;
        callId = k;
        break;
      case HeaderId.CSeq:
        if (cseq >= 0) dup = HeaderId.CSeq;
        cseq = k;
        break;
      case HeaderId.MaxForwards:
        if (mf >= 0) dup = HeaderId.MaxForwards;
        mf = k;
        break;
      case HeaderId.ContentLength: {
        const n = decimalOf(msg, k, maxSize, bytes, off);
        if (n === -2) {
          throw headerError(msg, k, 'content-length', `Content-Length above the ${maxSize} byte limit`, true);
        }
        if (n < 0) throw headerError(msg, k, 'content-length', 'Content-Length is not a non-negative number', true);
        if (contentLength >= 0 && n !== contentLength) {
          throw headerError(msg, k, 'content-length', 'conflicting Content-Length values', true);
        }
        contentLength = n;
        break;
      }
    }
  }
  if (via < 0) throw missing('Via');
  if (from < 0) throw missing('From');
  if (to < 0) throw missing('To');
  if (callId < 0) throw missing('Call-ID');
  if (cseq < 0) throw missing('CSeq');
  if (dup !== 0) {
    const k = msg._find(dup);
    throw headerError(msg, k, 'duplicate-header', `${msg._name(k)} appears more than once`);
  }
  // Parsed straight from the header text (no value copies); a folded value or a fault goes through the value
  // string so the error quotes the value itself.
  const text = msg._text;
  let k = via;
  try {
    // the usual form straight from the bytes when the message is ASCII, else (or when unusual) from the text
    // a line the one-loop scanners (or cseqBytes) accept is marked PLAIN: no CR, NUL or comma-joined value in it
    msg._topVia =
      (pos[3 * via] & FOLDED) !== 0
        ? parseVia(msg._value(via))
        : ((bytes !== undefined ? viaOf(bytes, off, text, via, pos) : undefined) ??
          viaAt(text, pos[3 * via + 1], pos[3 * via + 2]));
    k = from;
    msg._from =
      (pos[3 * from] & FOLDED) !== 0
        ? parseFromTo(msg._value(from))
        : ((bytes !== undefined ? fromToOf(bytes, off, text, from, pos) : undefined) ??
          fromToAt(text, pos[3 * from + 1], pos[3 * from + 2]));
    k = to;
    msg._to =
      (pos[3 * to] & FOLDED) !== 0
        ? parseFromTo(msg._value(to))
        : ((bytes !== undefined ? fromToOf(bytes, off, text, to, pos) : undefined) ??
          fromToAt(text, pos[3 * to + 1], pos[3 * to + 2]));
    k = cseq;
    let cs: CSeq | undefined;
    if ((pos[3 * cseq] & FOLDED) !== 0) cs = parseCSeq(msg._value(cseq), method);
    else {
      if (bytes !== undefined) {
        cs = cseqBytes(bytes, off, text, pos[3 * cseq + 1], pos[3 * cseq + 2], method, method === undefined ? -1 : 0);
        if (cs !== undefined) pos[3 * cseq] |= PLAIN;
      }
      cs ??= cseqAt(text, pos[3 * cseq + 1], pos[3 * cseq + 2], method);
    }
    msg._cseq = cs;
  } catch (e) {
    // redo on the value string for an error that quotes it
    try {
      if (k === via) parseVia(msg._value(k));
      else if (k === cseq) parseCSeq(msg._value(k), method);
      else parseFromTo(msg._value(k));
    } catch (e2) {
      throw relocate(msg, k, e2);
    }
    throw relocate(msg, k, e);
  }
  const folded = (pos[3 * callId] & FOLDED) !== 0;
  const idAt = pos[3 * callId + 1];
  let id: string;
  // Call-ID = word [ "@" word ] (RFC 3261 25.1): no whitespace
  if (!folded && bytes !== undefined) {
    // the same checks on the bytes of an ASCII message
    const a = off + idAt;
    let e = off + pos[3 * callId + 2];
    while (e > a && (bytes[e - 1] === 32 || bytes[e - 1] === 9)) e--;
    if (e === a) throw headerError(msg, callId, 'header-value', 'empty Call-ID');
    let plain = PLAIN;
    for (let i = a; i < e; i++) {
      const c = bytes[i];
      if (c < 33) {
        if (c === 32 || c === 9) throw headerError(msg, callId, 'header-value', 'whitespace in Call-ID');
        plain = 0;
      }
    }
    pos[3 * callId] |= plain;
    id = text.slice(idAt, e - off);
  } else {
    id = folded ? msg._value(callId) : text.slice(idAt, trimEnd(text, idAt, pos[3 * callId + 2]));
    if (id.length === 0) throw headerError(msg, callId, 'header-value', 'empty Call-ID');
    let ws = false;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c === 32 || c === 9) {
        ws = true;
        break;
      }
    }
    if (ws) {
      throw headerError(msg, callId, 'header-value', 'whitespace in Call-ID');
    }
  }
  msg._callId = id;
  if (method !== undefined && msg._cseq.method !== method) {
    // RFC 4475 3.1.2.17 (400) and 3.1.2.18 (unknown method: 501 preferred)
    throw headerError(
      msg,
      cseq,
      'cseq-mismatch',
      `CSeq method ${msg._cseq.method} does not match ${method}`,
      false,
      KNOWN_METHODS.has(method) ? 400 : 501,
    );
  }
  if (mf >= 0) {
    // Max-Forwards = 1*DIGIT, 0..255 (RFC 3261 20.22)
    if (decimalOf(msg, mf, 255, bytes, off) < 0) {
      throw headerError(msg, mf, 'header-value', 'Max-Forwards is not a number in 0..255');
    }
  }
  // No Content-Length: the body runs to the end of the datagram or of the frame (RFC 3261 18.3, RFC 7118 5)
  if (contentLength < 0) return total;
  if (bodyStart + contentLength > total) {
    // RFC 3261 18.3: a datagram shorter than Content-Length is an error (RFC 4475 3.1.2.2)
    throw headerError(
      msg,
      msg._find(HeaderId.ContentLength),
      'content-length',
      `Content-Length ${contentLength} larger than the ${total - bodyStart} body bytes`,
    );
  }
  return bodyStart + contentLength;
}

function missing(name: string): SipParseError {
  return new SipParseError('missing-header', `missing ${name} header`);
}

function lineOf(msg: SipMessageBase, k: number): { offset: number | undefined; line: number | undefined } {
  const m = msg;
  const at = m._text === '' ? undefined : lineStartOf(m._text, m._pos, k);
  if (at === undefined) return { offset: undefined, line: undefined };
  let line = 1;
  for (let i = m._text.indexOf('\n'); i >= 0 && i < at; i = m._text.indexOf('\n', i + 1)) line++;
  return { offset: m._offset + at, line };
}

function headerError(
  msg: SipMessageBase,
  k: number,
  code: SipParseErrorCode,
  message: string,
  fatal = false,
  status?: number,
): SipParseError {
  const where = lineOf(msg, k);
  return new SipParseError(code, message, { ...where, fatal, status });
}

function relocate(msg: SipMessageBase, k: number, e: unknown): unknown {
  if (!(e instanceof SipParseError)) return e;
  return new SipParseError(e.code, `${msg._name(k)}: ${e.detail}`, lineOf(msg, k));
}

/**
 * Full check of a parsed message for a UAS or registrar (parseMessage checks only what the transaction layer
 * needs): the Request-URI and every typed header present. Returns the first fault, or undefined when all parse.
 */
export function validateMessage(message: SipMessage): SipParseError | undefined {
  const checks: Array<() => unknown> = [
    () => (message instanceof SipRequest ? message.requestUri : undefined),
    () => message.vias(),
    () => message.contacts(),
    () => message.routes(),
    () => message.recordRoutes(),
    () => message.contentType(),
    () => message.expires(),
    () => message.minExpires(),
    () => message.authorizations(),
    () => message.proxyAuthorizations(),
    () => message.wwwAuthenticates(),
    () => message.proxyAuthenticates(),
    () => message.allow(),
    () => message.supported(),
    () => message.require(),
    () => message.proxyRequire(),
    () => message.unsupported(),
    () => message.allowEvents(),
    () => message.event(),
    () => message.subscriptionState(),
    () => message.referTo(),
    () => message.referredBy(),
    () => message.replaces(),
    () => message.sessionExpires(),
    () => message.minSE(),
    () => message.date(),
  ];
  for (const check of checks) {
    try {
      check();
    } catch (e) {
      if (e instanceof SipParseError) return e;
      throw e;
    }
  }
  return undefined;
}
