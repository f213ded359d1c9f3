// serializeMessage: back to bytes (RFC 3261 7). An unmodified parsed message returns its received bytes;
// otherwise the start line and header lines are written out and Content-Length is set to the body length.

import { Buffer } from 'node:buffer';
import { SipParseError } from './errors.js';
import { HeaderId } from './header-names.js';
import type { SipMessage } from './message.js';

// memchr-backed indexOf finds none faster than the regex; the regex says where
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

interface Utf8Writing {
  utf8Write(text: string, offset: number, length: number): number;
}

/** The wire form of a message. Content-Length always matches the body (RFC 3261 20.14) once anything changed. */
export function serializeMessage(message: SipMessage): Uint8Array {
  const raw = message.raw;
  if (raw !== undefined) return raw;
  const body = message.body;
  const startLine = message.startLine();
  // a method, Request-URI or reason phrase set by code must not break the framing (header injection)
  if (startLine.indexOf('\r') >= 0 || startLine.indexOf('\n') >= 0 || startLine.indexOf('\0') >= 0) {
    const bad = startLine.search(LINE_BREAK_OR_NUL);
    throw new SipParseError('start-line', 'line break or NUL in the start line', { offset: bad, line: 1 });
  }
  let head = `${startLine}\r\n`;
  let sawLength = false;
  const n = message.headerCount;
  for (let k = 0; k < n; k++) {
    if ((message._ids[k] & 0xff) === HeaderId.ContentLength) {
      // a single Content-Length, always right (RFC 3261 18.3 framing depends on it)
      if (sawLength) continue;
      sawLength = true;
      head += `${message._name(k)}: ${body.length}\r\n`;
      continue;
    }
    head += `${message._name(k)}: ${message._value(k)}\r\n`;
  }
  if (!sawLength) head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  // one buffer for head and body: the head is encoded in place (no intermediate copy through the pool)
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + body.length) as Buffer & Utf8Writing;
  out.utf8Write(head, 0, headLength);
  if (body.length > 0) out.set(body, headLength);
  return out;
}
