// serializeMessage: back to bytes (RFC 3261 7). An unmodified parsed message returns its received bytes;
// otherwise the start line, edited header lines and Content-Length (set to the body length) are written out, and
// unchanged received lines are kept as received.

import { Buffer } from 'node:buffer';
import { SipParseError } from './errors.js';
import { HeaderId } from './header-names.js';
import type { ResponseEcho, SipMessage, SipResponse, WireLines } from './message.js';

// memchr-backed indexOf finds none faster than the regex; the regex says where
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

interface TextWriting {
  utf8Write(text: string, offset: number, length: number): number;
  latin1Write(text: string, offset?: number, length?: number): number;
}

/** The wire form of a message. Content-Length always matches the body (RFC 3261 20.14) once anything changed. */
export function serializeMessage(message: SipMessage): Uint8Array {
  const raw = message.raw;
  if (raw !== undefined) return raw;
  const body = message.body;
  const echo = message._echo;
  if (echo !== undefined) {
    // a response to a parsed request, its lines still as createResponse wrote them out (all ASCII)
    const own = echo.own;
    const line = own !== undefined && body.length === echo.ownBodyLength ? statusLine(message as SipResponse) : '';
    if (line !== '') {
      const sent = echo.sent;
      if (sent === undefined) return firstDatagram(echo, line, own as string, body);
      // written before (a 2xx retransmitted until its ACK, RFC 3261 13.3.1.4): the same bytes while nothing changed
      // (an edited header line unechoes)
      if (line === echo.sentLine && body === echo.sentBody) return sent;
    }
    // anything else (a body set later, a reason phrase to check or not ASCII, a status changed once written): as any
    // other message
    message._unecho();
  }
  return written(message, body);
}

/**
 * The datagram of an echo, kept with it in place of the text it is written from: a 2xx awaiting its ACK holds one
 * buffer (its octets in a shared pool slab, off the JS heap) rather than the head's pieces, which every scavenge
 * would copy.
 */
function firstDatagram(echo: ResponseEcho, line: string, own: string, body: Uint8Array): Uint8Array {
  const bytes = datagram(line + echo.head + own, true, body);
  echo.sent = bytes;
  echo.sentLine = line;
  echo.sentBody = body;
  echo.head = '';
  return bytes;
}

/**
 * The general path, out of serializeMessage: a transport inlines that, within TurboFan's inlining budget, for the
 * two fast paths above.
 */
function written(message: SipMessage, body: Uint8Array): Uint8Array {
  const startLine = message.startLine();
  // a method, Request-URI or reason phrase set by code must not break the framing (header injection)
  if (hasBreakOrNul(startLine)) {
    const bad = startLine.search(LINE_BREAK_OR_NUL);
    throw new SipParseError('start-line', 'line break or NUL in the start line', { offset: bad, line: 1 });
  }
  const wire = message._wire;
  const head =
    wire !== undefined
      ? headWithReceivedLines(message, wire, startLine, body.length)
      : headByLines(message, startLine, body.length);
  return datagram(head, false, body);
}

/** Per status code: the last reason phrase seen with it and their status line, checked (ASCII, no line break). */
const STATUS_LINES: Array<readonly [string, string] | undefined> = Array.from({ length: 1000 }, () => undefined);
/** A reason phrase the one-pass path leaves to the general one: a line break or NUL (refused there), or non-ASCII. */
const BREAK_NUL_OR_NON_ASCII = /[\r\n\0\x80-\uffff]/;

/** `SIP/2.0 200 OK` CRLF, made once per status and reason; '' when the general path must write or refuse it. */
function statusLine(response: SipResponse): string {
  const status = response.status;
  const reason = response.reason;
  if (!(status >= 100 && status <= 999) || status !== Math.floor(status)) return '';
  const known = STATUS_LINES[status];
  if (known !== undefined && known[0] === reason) return known[1];
  if (BREAK_NUL_OR_NON_ASCII.test(reason)) return '';
  const line = flatString(`SIP/2.0 ${status} ${reason}\r\n`);
  STATUS_LINES[status] = [reason, line];
  return line;
}

/**
 * Head and body in one new buffer, the head encoded in place: `ascii` says the head is all ASCII (one byte per
 * character, no length to work out: a plain copy); else it is measured as UTF-8. (Datagrams cut from a slab of our
 * own cost more: every slab is an ArrayBuffer the collector tracks; callgrind counted +16k instructions per OPTIONS.)
 */
function datagram(head: string, ascii: boolean, body: Uint8Array): Uint8Array {
  let headLength = head.length;
  // all ASCII (the usual head) when the UTF-8 length is the string length: then a plain copy
  if (!ascii) {
    headLength = Buffer.byteLength(head, 'utf8');
    ascii = headLength === head.length;
  }
  const out = Buffer.allocUnsafe(headLength + body.length) as Buffer & TextWriting;
  // at 0 and as long as the head (latin1 writes one byte per character): no offset or length for node to convert
  if (ascii) out.latin1Write(head);
  else out.utf8Write(head, 0, headLength);
  if (body.length > 0) out.set(body, headLength);
  return out;
}

/**
 * The head of an edited parsed message: unchanged header lines are taken from the received text in runs (one
 * slice per run of adjacent CRLF-ended lines); the start line, new or changed lines and Content-Length are written.
 */
function headWithReceivedLines(message: SipMessage, wire: WireLines, startLine: string, bodyLength: number): string {
  const text = wire.text;
  const at = wire.at;
  let head = `${startLine}\r\n`;
  let runStart = -1;
  let runEnd = -1;
  let sawLength = false;
  const n = message.headerCount;
  for (let k = 0; k < n; k++) {
    let line: string;
    if ((message._id(k) & 0xff) === HeaderId.ContentLength) {
      // a single Content-Length, always right (RFC 3261 18.3)
      if (sawLength) continue;
      sawLength = true;
      line = `${message._name(k)}: ${bodyLength}\r\n`;
    } else {
      const a = at[2 * k];
      const b = at[2 * k + 1];
      if (a >= 0 && text.charCodeAt(b) === 13 && text.charCodeAt(b + 1) === 10) {
        // a received line with its CRLF
        if (a !== runEnd) {
          if (runStart >= 0) head += text.slice(runStart, runEnd);
          runStart = a;
        }
        runEnd = b + 2;
        continue;
      }
      line = `${message._name(k)}: ${message._value(k)}\r\n`;
    }
    if (runStart >= 0) {
      head += text.slice(runStart, runEnd);
      runStart = -1;
      runEnd = -1;
    }
    head += line;
  }
  if (runStart >= 0) head += text.slice(runStart, runEnd);
  if (!sawLength) head += `Content-Length: ${bodyLength}\r\n`;
  return `${head}\r\n`;
}

/** The head written line by line. */
function headByLines(message: SipMessage, startLine: string, bodyLength: number): string {
  let head = `${startLine}\r\n`;
  let sawLength = false;
  const n = message.headerCount;
  for (let k = 0; k < n; k++) {
    if ((message._id(k) & 0xff) === HeaderId.ContentLength) {
      // a single Content-Length, always right (RFC 3261 18.3 framing depends on it)
      if (sawLength) continue;
      sawLength = true;
      head += `${message._name(k)}: ${bodyLength}\r\n`;
      continue;
    }
    head += `${message._name(k)}: ${message._value(k)}\r\n`;
  }
  if (!sawLength) head += `Content-Length: ${bodyLength}\r\n`;
  return `${head}\r\n`;
}

/**
 * `s` in one piece when every character is below 256 (else `s`): a string kept to be written into many datagrams.
 * V8 flattens a concatenation before writing it, walking its pieces each time: a cached piece that is itself a
 * concatenation makes every datagram's walk longer.
 */
export function flatString(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return s;
  return Buffer.from(s, 'latin1').toString('latin1');
}

function hasBreakOrNul(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return true;
  }
  return false;
}
