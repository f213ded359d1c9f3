// serializeMessage: back to bytes (RFC 3261 7). An unmodified parsed message returns its received bytes;
// otherwise the start line, edited header lines and Content-Length (set to the body length) are written out, and
// unchanged received lines are kept as received.

import { Buffer } from 'node:buffer';
import { SipParseError } from './errors.js';
import { canonicalHeaderName, HeaderId } from './header-names.js';
import type { CheckedLines, ResponseEcho, SipMessage, WireLines } from './message.js';
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
  const body = message.body;
  const startLine = message.startLine();
  // a method, Request-URI or reason phrase set by code must not break the framing (header injection)
  // the reason phrase is all a response's start line takes from code (the status is a checked number)
  if (message.isResponse && message._echo !== undefined ? hasBreakOrNul(message.reason) : hasBreakOrNul(startLine)) {
    const bad = startLine.search(LINE_BREAK_OR_NUL);
    throw new SipParseError('start-line', 'line break or NUL in the start line', { offset: bad, line: 1 });
  }
  const wire = message._wire;
  const echo = message._echo;
  const head =
    echo !== undefined
      ? headOfEcho(message, echo, startLine, body.length)
      : wire !== undefined
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

/**
 * The head of a response whose repeated request lines are still places in the request's text, as headByLines
 * writes it (same bytes): a line the request wrote as we write it (canonical name, ": ", value, CRLF) is taken
 * with its neighbours as one slice of the request text, so the head is a few pieces instead of four per line.
 */
function headOfEcho(message: SipMessage, echo: ResponseEcho, startLine: string, bodyLength: number): string {
  const { text, pos, lines, toTag } = echo;
  let via0 = echo.via0;
  let head = `${startLine}\r\n`;
  let runStart = -1;
  let runEnd = -1;
  for (let j = 0; j < lines.length; j += 2) {
    const k = lines[j];
    const id = lines[j + 1];
    const name = canonicalHeaderName(id);
    if (via0 !== undefined && id === HeaderId.Via) {
      if (runStart >= 0) head += text.slice(runStart, runEnd);
      runStart = -1;
      runEnd = -1;
      head += `${name}: ${via0}\r\n`;
      via0 = undefined;
      continue;
    }
    const lineStart = pos[4 * k];
    const nameEnd = pos[4 * k + 1];
    const valueStart = pos[4 * k + 2];
    const lineEnd = pos[4 * k + 3];
    if (
      nameEnd - lineStart === name.length &&
      valueStart === nameEnd + 2 &&
      text.charCodeAt(nameEnd) === 58 &&
      text.charCodeAt(nameEnd + 1) === 32 &&
      text.charCodeAt(lineEnd) === 13 &&
      text.charCodeAt(lineEnd + 1) === 10 &&
      trimEnd(text, valueStart, lineEnd) === lineEnd &&
      sameText(text, lineStart, name)
    ) {
      // written as we write it: part of a run of such lines
      if (lineStart !== runEnd) {
        if (runStart >= 0) head += text.slice(runStart, runEnd);
        runStart = lineStart;
      }
      if (id === HeaderId.To && toTag !== '') {
        head += text.slice(runStart, lineEnd) + toTag;
        runStart = lineEnd;
      }
      runEnd = lineEnd + 2;
      continue;
    }
    if (runStart >= 0) head += text.slice(runStart, runEnd);
    runStart = -1;
    runEnd = -1;
    head += `${name}: ${text.slice(valueStart, trimEnd(text, valueStart, lineEnd))}`;
    head += id === HeaderId.To ? `${toTag}\r\n` : '\r\n';
  }
  if (runStart >= 0) head += text.slice(runStart, runEnd);
  // the response's own lines, as headByLines writes them
  const ids = message._ids;
  const names = message._names as string[];
  const values = message._values as string[];
  const own = echo.own;
  // still the checked lines createResponse gave it (Content-Length: 0 last): their text, written once
  if (own !== undefined && bodyLength === 0 && sameLines(own, ids, names, values)) return `${head}${own.text}\r\n`;
  let sawLength = false;
  for (let k = 0; k < ids.length; k++) {
    if ((ids[k] & 0xff) === HeaderId.ContentLength) {
      if (sawLength) continue;
      sawLength = true;
      head += `${names[k]}: ${bodyLength}\r\n`;
      continue;
    }
    head += `${names[k]}: ${values[k]}\r\n`;
  }
  if (!sawLength) head += `Content-Length: ${bodyLength}\r\n`;
  return `${head}\r\n`;
}

/** Whether the lines are exactly `own`'s (same ids, same strings). */
function sameLines(own: CheckedLines, ids: number[], names: string[], values: string[]): boolean {
  const n = ids.length;
  if (n !== own.ids.length || names.length !== n || values.length !== n) return false;
  for (let k = 0; k < n; k++) {
    if (ids[k] !== own.ids[k] || names[k] !== own.names[k] || values[k] !== own.values[k]) return false;
  }
  return true;
}

function hasBreakOrNul(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return true;
  }
  return false;
}

/** Whether text holds s at `at` (startsWith without its call cost on short names). */
function sameText(text: string, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (text.charCodeAt(at + i) !== s.charCodeAt(i)) return false;
  return true;
}
