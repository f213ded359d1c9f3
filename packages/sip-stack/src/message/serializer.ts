// serializeMessage: back to bytes (RFC 3261 7). An unmodified parsed message returns its received bytes;
// otherwise the start line, edited header lines and Content-Length (set to the body length) are written out, and
// unchanged received lines are kept as received.

import { Buffer } from 'node:buffer';
import { SipParseError } from './errors.js';
import { canonicalHeaderName, HeaderId } from './header-names.js';
import type { ResponseEcho, SipMessage, WireLines } from './message.js';
import { trimEnd } from './scan.js';

// memchr-backed indexOf finds none faster than the regex; the regex says where
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

interface TextWriting {
  utf8Write(text: string, offset: number, length: number): number;
  latin1Write(text: string, offset: number, length: number): number;
}

/** The wire form of a message. Content-Length always matches the body (RFC 3261 20.14) once anything changed. */
export function serializeMessage(message: SipMessage): Uint8Array {
  const raw = message.raw;
  if (raw !== undefined) return raw;
  const echo = message._echo;
  if (echo !== undefined) {
    const out = writeEcho(message, echo);
    if (out !== undefined) return out;
  }
  const body = message.body;
  const startLine = message.startLine();
  // a method, Request-URI or reason phrase set by code must not break the framing (header injection)
  if (startLine.indexOf('\r') >= 0 || startLine.indexOf('\n') >= 0 || startLine.indexOf('\0') >= 0) {
    const bad = startLine.search(LINE_BREAK_OR_NUL);
    throw new SipParseError('start-line', 'line break or NUL in the start line', { offset: bad, line: 1 });
  }
  const wire = message._wire;
  const head =
    wire !== undefined
      ? headWithReceivedLines(message, wire, startLine, body.length)
      : headByLines(message, startLine, body.length);
  // one buffer for head and body: the head is encoded in place (no intermediate copy through the pool)
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + body.length) as Buffer & TextWriting;
  // all ASCII (the usual head) when the UTF-8 length is the string length: then a plain copy
  if (headLength === head.length) out.latin1Write(head, 0, headLength);
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
    if ((message._ids[k] & 0xff) === HeaderId.ContentLength) {
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
    if ((message._ids[k] & 0xff) === HeaderId.ContentLength) {
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

/** Writes the ASCII string s at out[at]; -1 when s is not ASCII. */
function put(out: Uint8Array, at: number, s: string): number {
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    bad |= c;
    out[at + i] = c;
  }
  return bad > 127 ? -1 : at + s.length;
}

/** ": " and CRLF after a name and a value. */
function putColon(out: Uint8Array, at: number): number {
  out[at] = 58;
  out[at + 1] = 32;
  return at + 2;
}

function putCrlf(out: Uint8Array, at: number): number {
  out[at] = 13;
  out[at + 1] = 10;
  return at + 2;
}

/**
 * A response whose repeated request lines are still places in the request's bytes: one buffer sized in advance,
 * those lines copied from the bytes, the others written from their strings, as headByLines writes them (same
 * bytes). Undefined, writing nothing that counts, when a line or the start line is not ASCII or the start line
 * is bad (the general path then writes it or says what is wrong).
 */
function writeEcho(message: SipMessage, echo: ResponseEcho): Uint8Array | undefined {
  const startLine = message.startLine();
  const body = message.body;
  const bodyLength = body.length;
  const { text, src, off, pos, lines, via0, toTag } = echo;
  const ids = message._ids;
  const names = message._names as string[];
  const values = message._values as string[];
  // sizes: all ASCII, so one byte per UTF-16 unit (checked while writing)
  let size = startLine.length + 2;
  let first = via0 !== undefined;
  for (let j = 0; j < lines.length; j += 2) {
    const k = lines[j];
    const id = lines[j + 1];
    size += canonicalHeaderName(id).length + 4;
    if (first && id === HeaderId.Via) {
      size += (via0 as string).length;
      first = false;
      continue;
    }
    const a = pos[4 * k + 2];
    size += trimEnd(text, a, pos[4 * k + 3]) - a;
    if (id === HeaderId.To) size += toTag.length;
  }
  const lengthText = String(bodyLength);
  let sawLength = false;
  for (let k = 0; k < ids.length; k++) {
    if ((ids[k] & 0xff) === HeaderId.ContentLength) {
      if (sawLength) continue;
      sawLength = true;
      size += names[k].length + 4 + lengthText.length;
      continue;
    }
    size += names[k].length + values[k].length + 4;
  }
  if (!sawLength) size += 18 + lengthText.length;
  size += 2;
  const out = Buffer.allocUnsafe(size + bodyLength);
  let at = put(out, 0, startLine);
  // a reason phrase set by code must not break the framing (header injection): the general path says so
  for (let i = 0; i < startLine.length; i++) {
    const c = startLine.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return undefined;
  }
  if (at < 0) return undefined;
  at = putCrlf(out, at);
  first = via0 !== undefined;
  for (let j = 0; j < lines.length; j += 2) {
    const k = lines[j];
    const id = lines[j + 1];
    at = putColon(out, put(out, at, canonicalHeaderName(id)));
    if (first && id === HeaderId.Via) {
      at = put(out, at, via0 as string);
      if (at < 0) return undefined;
      first = false;
    } else {
      const a = pos[4 * k + 2];
      const b = off + trimEnd(text, a, pos[4 * k + 3]);
      for (let i = off + a; i < b; i++) out[at++] = src[i];
      if (id === HeaderId.To) at = put(out, at, toTag);
      if (at < 0) return undefined;
    }
    at = putCrlf(out, at);
  }
  sawLength = false;
  for (let k = 0; k < ids.length && at >= 0; k++) {
    if ((ids[k] & 0xff) === HeaderId.ContentLength) {
      if (sawLength) continue;
      sawLength = true;
      at = put(out, at, names[k]);
      if (at >= 0) at = putCrlf(out, put(out, putColon(out, at), lengthText));
      continue;
    }
    at = put(out, at, names[k]);
    if (at >= 0) at = put(out, putColon(out, at), values[k]);
    if (at >= 0) at = putCrlf(out, at);
  }
  if (at < 0) return undefined;
  if (!sawLength) {
    at = put(out, at, 'Content-Length: ');
    at = putCrlf(out, put(out, at, lengthText));
  }
  at = putCrlf(out, at);
  if (bodyLength > 0) out.set(body, at);
  return out;
}
