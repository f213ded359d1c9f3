// Framing SIP over byte streams (TCP, TLS): RFC 3261 18.3 frames by the header section's end and Content-Length;
// RFC 5626 3.5.1 double-CRLF keep-alive pings between messages are reported, a single CRLF (a pong, or the CRLFs
// RFC 3261 7.5 lets precede a message) is skipped.

import { SipParseError } from './errors.js';
import { resolveLimits } from './limits.js';
import type { SipMessage } from './message.js';
import { parseMessage } from './parser.js';
import type { SipParseLimits } from './types.js';

/** What a stream yields: a parsed message, or 'keepalive' for a CRLFCRLF ping (answer it with one CRLF). */
export type SipStreamFrame = SipMessage | 'keepalive';

export interface SipStreamFramerOptions {
  readonly limits?: SipParseLimits;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

const CONTENT_LENGTH = 'content-length';

/**
 * The Content-Length of a header section in bytes (RFC 3261 20.14, compact `l`): -1 when absent. Throws a fatal
 * SipParseError when the value is not a number, conflicts with another, or passes `limit` (RFC 4475 3.1.2.3, 3.3.9).
 */
function scanContentLength(b: Uint8Array, headEnd: number, limit: number): number {
  let found = -1;
  let p = b.indexOf(10) + 1; // skip the start line
  while (p > 0 && p < headEnd) {
    let nameEnd = p;
    while (nameEnd < headEnd && b[nameEnd] !== 58 && b[nameEnd] !== 10) nameEnd++;
    let e = nameEnd;
    while (e > p && (b[e - 1] === 32 || b[e - 1] === 9)) e--;
    const len = e - p;
    let isCl = false;
    if (len === 1) isCl = lower(b[p]) === 0x6c;
    else if (len === 14) {
      isCl = true;
      for (let k = 0; k < 14; k++) {
        if (lower(b[p + k]) !== CONTENT_LENGTH.charCodeAt(k)) {
          isCl = false;
          break;
        }
      }
    }
    let next = b.indexOf(10, nameEnd);
    // a folded value continues on lines starting with SP/HT
    while (next >= 0 && next + 1 < headEnd && (b[next + 1] === 32 || b[next + 1] === 9)) next = b.indexOf(10, next + 1);
    if (next < 0) next = headEnd;
    if (isCl && b[nameEnd] === 58) {
      let n = 0;
      let digits = 0;
      for (let i = nameEnd + 1; i < next; i++) {
        const c = b[i];
        if (c === 32 || c === 9 || c === 13 || c === 10) continue;
        if (c < 48 || c > 57 || (digits > 0 && (b[i - 1] === 32 || b[i - 1] === 9))) {
          throw new SipParseError('content-length', 'Content-Length is not a non-negative number', {
            offset: i,
            fatal: true,
          });
        }
        n = n * 10 + c - 48;
        digits++;
        if (n > limit) {
          throw new SipParseError('message-too-large', `Content-Length above the ${limit} byte limit`, {
            offset: i,
            fatal: true,
          });
        }
      }
      if (digits === 0) {
        throw new SipParseError('content-length', 'empty Content-Length', { offset: nameEnd, fatal: true });
      }
      if (found >= 0 && found !== n) {
        throw new SipParseError('content-length', 'conflicting Content-Length values', { offset: p, fatal: true });
      }
      found = n;
    }
    p = next + 1;
  }
  return found;
}

/**
 * Splits a TCP/TLS byte stream into SIP messages. `push(chunk)` stores the chunk at once and returns an iterator
 * over what is now complete. A parse error of one well-framed message is thrown from the iterator (its bytes are
 * consumed, what follows stays buffered for the next push); a framing error is fatal (`error.fatal`): the stream
 * cannot be resynchronised and the connection must be closed (RFC 3261 18.3).
 */
export class SipStreamFramer {
  private readonly limits: Required<SipParseLimits>;
  private pending: Buffer = EMPTY;
  /** Where the search for the end of the header section resumes. */
  private scanFrom = 0;
  /** Total size of the message being received, once its header section is complete; -1 before. */
  private need = -1;
  private failure: SipParseError | undefined;

  constructor(options: SipStreamFramerOptions = {}) {
    this.limits = resolveLimits(options.limits);
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.pending.length;
  }

  /** True after a fatal framing error. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  push(chunk: Uint8Array): IterableIterator<SipStreamFrame> {
    if (this.failure === undefined && chunk.length > 0) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.pending = this.pending.length === 0 ? b : Buffer.concat([this.pending, b]);
    }
    return this.frames();
  }

  private fail(e: SipParseError): SipParseError {
    this.failure = e;
    this.pending = EMPTY;
    return e;
  }

  private *frames(): Generator<SipStreamFrame, void, undefined> {
    const max = this.limits.maxMessageSize;
    for (;;) {
      if (this.failure !== undefined) {
        throw new SipParseError('stream-closed', `stream framing lost earlier: ${this.failure.detail}`, {
          fatal: true,
        });
      }
      let b = this.pending;
      if (this.need < 0) {
        // Between messages: CRLFCRLF is a keep-alive ping (RFC 5626 3.5.1); lone CRLFs are skipped (RFC 3261 7.5).
        let skip = 0;
        while (skip < b.length && (b[skip] === 13 || b[skip] === 10)) {
          if (b[skip] === 13 && b[skip + 1] === 10 && b[skip + 2] === 13 && b[skip + 3] === 10) {
            skip += 4;
            this.pending = b = b.subarray(skip);
            skip = 0;
            yield 'keepalive';
            continue;
          }
          if (b[skip] === 13 && skip + 3 >= b.length) break; // maybe the start of a ping split across reads
          skip++;
        }
        if (skip > 0) this.pending = b = b.subarray(skip);
        if (b.length === 0 || b[0] === 13) {
          this.scanFrom = 0;
          return;
        }
        const end = b.indexOf(CRLFCRLF, this.scanFrom);
        if (end < 0) {
          if (b.length > max) {
            throw this.fail(
              new SipParseError('message-too-large', `no end of headers within ${max} bytes`, { fatal: true }),
            );
          }
          this.scanFrom = b.length > 3 ? b.length - 3 : 0;
          return;
        }
        const headEnd = end + 4;
        if (headEnd > max) {
          throw this.fail(new SipParseError('message-too-large', `header section above ${max} bytes`, { fatal: true }));
        }
        let length: number;
        try {
          length = scanContentLength(b, headEnd, max);
        } catch (e) {
          throw this.fail(e as SipParseError);
        }
        // RFC 3261 18.3: Content-Length is mandatory on streams; absent is read as 0.
        if (length < 0) length = 0;
        if (headEnd + length > max) {
          // refused before buffering the body
          throw this.fail(
            new SipParseError('message-too-large', `message of ${headEnd + length} bytes, limit ${max}`, {
              fatal: true,
            }),
          );
        }
        this.need = headEnd + length;
      }
      if (b.length < this.need) return;
      const bytes = b.subarray(0, this.need);
      this.pending = b.length === this.need ? EMPTY : b.subarray(this.need);
      this.need = -1;
      this.scanFrom = 0;
      yield parseMessage(bytes, { limits: this.limits, framing: 'stream' });
    }
  }
}
