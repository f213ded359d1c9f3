// SIP requests and responses (RFC 3261 section 7): header lines indexed once by the parser and decoded on first
// access, typed accessors that validate before returning, and mutation for proxies and user agents.

import { SipParseError } from './errors.js';
import { canonicalHeaderName, FOLDED, HeaderId as HEADER_ID, headerIdOf, isListHeader, PLAIN } from './header-names.js';
import {
  parseAuth,
  parseContacts,
  parseCSeq,
  parseDeltaSeconds,
  parseEvent,
  parseFromTo,
  parseMediaType,
  parseNameAddr,
  parseNameAddrList,
  parseReplaces,
  parseSessionExpires,
  parseSipDate,
  parseSubscriptionState,
  parseTokenList,
  parseVia,
  parseVias,
  StampedViaValue,
} from './headers.js';
import { firstListElement, splitList, TOKEN, trimEnd } from './scan.js';
import type {
  AnyUri,
  AuthValue,
  ContactValue,
  CSeq,
  EventValue,
  FromTo,
  MediaType,
  NameAddr,
  ReplacesValue,
  SessionExpiresValue,
  SipUri,
  SubscriptionStateValue,
  Via,
} from './types.js';
import { parseUri } from './uri.js';

// a module constant: `HeaderId.Via` is then a constant in optimized code, not a cell load, a map check and a load
const HeaderId = HEADER_ID;

const EMPTY_BODY = new Uint8Array(0);

/**
 * The received header lines of a parsed message, kept through edits so that the serializer writes unchanged lines
 * as received (as it writes an unchanged message).
 */
export interface WireLines {
  /** the parser's header text */
  readonly text: string;
  /** 2 numbers per header line: its range in text without the line break, or -1, -1 once new or changed */
  readonly at: number[];
}

/**
 * The lines a response repeats from its request (RFC 3261 8.2.6.2: Via, From, To, Call-ID, CSeq), kept as places
 * in the request's received text until somebody reads or edits the response's headers, and written out once as the
 * text the serializer puts into the datagram. Only for a request whose header text is ASCII (so the datagram is
 * that text, one byte per character).
 */
export interface ResponseEcho {
  /** the request's header text */
  readonly text: string;
  /** the request's layout (SipMessageBase._pos: 3 per line, never changed after parsing) */
  readonly pos: number[];
  /** 2 numbers per repeated line, in order: the request's line index and the header id */
  readonly lines: number[];
  /** the stamped top Via (RFC 3261 18.2.1) in place of the received text of the first Via line, if stamped */
  readonly via0: string | undefined;
  /** the To-tag added to the To value as `;tag=` (RFC 3261 8.2.6.2), or '' for none */
  readonly tag: string;
  /**
   * the repeated lines as the serializer writes them: `Name: value` CRLF each, canonical names, all ASCII; '' once
   * written into `sent`
   */
  head: string;
  /**
   * the datagram written from this echo, with the status line and body it was written with (serializer.ts): a 2xx
   * kept until its ACK holds these bytes, not the pieces of its head, and goes out again as they are
   */
  sent: Uint8Array | undefined;
  sentLine: string;
  sentBody: Uint8Array | undefined;
  /**
   * the response's own lines as the serializer writes them (Content-Length last, then the empty line ending the
   * head), all ASCII, while the body is `ownBodyLength` long; undefined when they take the general path. Any edit of
   * the header lines unechoes first, so while the echo is there these are the lines createResponse gave.
   */
  own: string | undefined;
  ownBodyLength: number;
}

/** Header lines whose names and values were checked (and ids looked up) once, then `Content-Length: 0`. */
export interface CheckedLines {
  readonly ids: number[];
  readonly names: string[];
  readonly values: string[];
  /** those lines as serializeMessage writes them, each with its CRLF */
  readonly text: string;
  /** the same without the last line (Content-Length: 0) */
  readonly head: string;
  /** whether that text is all ASCII */
  readonly ascii: boolean;
}

/** Unfolds (RFC 3261 7.3.1: LWS with CRLF is one SP) and trims a value spanning lines. */
function unfold(s: string, start: number, end: number): string {
  let out = '';
  let from = start;
  let i = start;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10) {
      const before = trimEnd(s, from, i);
      out += s.slice(from, before);
      while (i < end) {
        const w = s.charCodeAt(i);
        if (w !== 13 && w !== 10 && w !== 32 && w !== 9) break;
        i++;
      }
      out += ' ';
      from = i;
      continue;
    }
    i++;
  }
  out += s.slice(from, trimEnd(s, from, end));
  return out.trim();
}

const NO_NUMBERS: number[] = [];
const NO_STRINGS: Array<string | undefined> = [];
Object.freeze(NO_NUMBERS);
Object.freeze(NO_STRINGS);

/**
 * Whether s[start, end) (a line's value) has no comma, CR or NUL: one value the stamp can be recorded on. Out of
 * _stampLater, which a transport's receive path inlines: only lines no byte scanner saw come here.
 */
function singleValueLine(s: string, start: number, end: number): boolean {
  const comma = s.indexOf(',', start);
  if (comma >= 0 && comma < end) return false;
  const cr = s.indexOf('\r', start);
  if (cr >= 0 && cr < end) return false;
  const nul = s.indexOf('\0', start);
  return nul < 0 || nul >= end;
}

/**
 * @internal Where parsed header line k starts in text: after the line before it (its value's end is followed by
 * CRLF or LF) or, for the first, after the start line. Not kept in the layout: only names and edits need it.
 */
export function lineStartOf(text: string, pos: number[], k: number): number {
  if (k === 0) return text.indexOf('\n') + 1;
  const end = pos[3 * k - 1];
  return end + (text.charCodeAt(end) === 13 ? 2 : 1);
}

/** Where the header name starting at s[a] ends: a parsed name is a token (RFC 3261 7.3.1, checked by the parser). */
function nameEndAt(s: string, a: number): number {
  let i = a;
  for (let c = s.charCodeAt(i); c < 256 && TOKEN[c] === 1; c = s.charCodeAt(++i));
  return i;
}

/** Shared part of requests and responses: the header list, the body and typed accessors. */
export abstract class SipMessageBase {
  /** @internal parsed header text ('' once materialized) */
  declare _text: string;
  /**
   * @internal 3 numbers per parsed header line: header id with the parser's flags (FOLDED, PLAIN, AS_WRITTEN),
   * value start, value end (the line's start follows from the line before: lineStartOf). One array for the whole
   * layout, as small as can be: a parsed INVITE stays alive until its ACK, and every scavenge copies it.
   */
  declare _pos: number[];
  /** @internal header ids of a built or edited message; unused (empty) while the message is as parsed (_text set) */
  declare _ids: number[];
  /** @internal header names as written (filled lazily for parsed headers) */
  declare _names: Array<string | undefined>;
  /** @internal decoded values */
  declare _values: Array<string | undefined>;
  /** @internal the received bytes while the message is unmodified */
  declare _src: Uint8Array | undefined;
  /** @internal set by the parser when _text is all ASCII (one byte per character); false means not known */
  declare _asciiText: boolean;
  /** @internal where the message starts in _src (also the byte offset of _text, for error positions) */
  declare _offset: number;
  /** @internal after the first edit of a parsed message: the received lines (serializer.ts); declared only, so
   * parsing does not pay for the field */
  declare _wire: WireLines | undefined;
  /** @internal where the body starts in _src */
  declare _bodyStart: number;
  /** @internal where the message ends in _src */
  declare _end: number;
  /** @internal */
  declare _body: Uint8Array | undefined;
  /** @internal typed values cached by accessor name */
  declare _cache: Map<string, unknown> | undefined;
  /** @internal eager caches filled by the parser */
  declare _topVia: Via | undefined;
  /** @internal */
  declare _from: FromTo | undefined;
  /** @internal */
  declare _to: FromTo | undefined;
  /** @internal */
  declare _cseq: CSeq | undefined;
  /** @internal */
  declare _callId: string | undefined;
  /** @internal received/rport recorded on the top Via (RFC 3261 18.2.1), not yet written into its line */
  declare _stamped: StampedViaValue | undefined;
  /** @internal a response's repeated request lines, not yet in the header arrays */
  declare _echo: ResponseEcho | undefined;

  // Fields are declared and assigned in the constructor: cheaper to construct (every parse makes one) than
  // class-field definitions.
  constructor() {
    this._text = '';
    this._pos = NO_NUMBERS;
    this._ids = NO_NUMBERS;
    this._names = NO_STRINGS;
    this._values = NO_STRINGS;
    this._src = undefined;
    this._asciiText = false;
    this._offset = 0;
    this._bodyStart = 0;
    this._end = 0;
    this._body = undefined;
    this._cache = undefined;
    this._topVia = undefined;
    this._from = undefined;
    this._to = undefined;
    this._cseq = undefined;
    this._callId = undefined;
    this._stamped = undefined;
    // _echo is a response's (assigned in its constructor): a request has no such field (reads give undefined)
  }

  /** @internal the headers and body given to a constructor (kept out of it so parsing constructs cheaply) */
  protected _fill(headers: Iterable<readonly [string, string]> | undefined, body: Uint8Array | undefined): void {
    if (headers !== undefined) for (const [name, value] of headers) this.appendHeader(name, value);
    if (body !== undefined) this.body = body;
  }

  /** @internal used by the parser */
  _adopt(text: string, pos: number[], offset: number): void {
    this._text = text;
    this._pos = pos;
    this._offset = offset;
  }

  /** @internal used by the parser: the message is src[offset, end), its body src[bodyStart, end) */
  _setSource(src: Uint8Array, bodyStart: number, end: number): void {
    this._src = src;
    this._bodyStart = bodyStart;
    this._end = end;
  }

  /** The message bytes as received while nothing has been changed; undefined after any change. */
  get raw(): Uint8Array | undefined {
    const src = this._src;
    return src === undefined || this._stamped !== undefined ? undefined : src.subarray(this._offset, this._end);
  }

  /** The body, binary-safe (a view of the received bytes, not a copy). */
  get body(): Uint8Array {
    let b = this._body;
    if (b === undefined) {
      const src = this._src;
      b = src === undefined || this._bodyStart === this._end ? EMPTY_BODY : src.subarray(this._bodyStart, this._end);
      this._body = b;
    }
    return b;
  }

  set body(value: Uint8Array) {
    this._body = value;
    this._src = undefined;
  }

  /** @internal forget the received bytes (after a change), keeping the body */
  protected _dropSource(): void {
    if (this._stamped !== undefined) this._writeStamp();
    if (this._src !== undefined) {
      this._body = this.body;
      this._src = undefined;
    }
  }

  /**
   * @internal RFC 3261 18.2.1, RFC 3581 4: records received (and rport) on the top Via of a received request, to be
   * written into its line when the line is read or the message changed. False when the line is not a plain single
   * value as received (then the caller rewrites it at once).
   */
  _stampLater(received: string, rport: number | undefined): boolean {
    if (this._src === undefined || this._text === '' || this._stamped !== undefined || this._topVia === undefined) {
      return false;
    }
    const k = this._find(HeaderId.Via);
    // (no value string made yet: none at all as parsed; a load past the end of that frozen empty array costs a
    // generic keyed-load call)
    const values = this._values;
    if (k < 0 || (this._pos[3 * k] & FOLDED) !== 0 || (k < values.length && values[k] !== undefined)) return false;
    // a comma-joined line is split the slow way; CR and NUL are refused by the slow way (a PLAIN line has none)
    if ((this._pos[3 * k] & PLAIN) === 0 && !singleValueLine(this._text, this._pos[3 * k + 1], this._pos[3 * k + 2])) {
      return false;
    }
    const stamped = new StampedViaValue(this._topVia, received, rport);
    this._stamped = stamped;
    this._topVia = stamped;
    this._cache = undefined;
    // no longer written as received: a request without a body lets its datagram go, as a rewritten one does (a
    // transaction may keep the request for 32 s)
    if (this._bodyStart === this._end) {
      this._body = EMPTY_BODY;
      this._src = undefined;
    }
    return true;
  }

  /** @internal the recorded stamp into the top Via line (the message no longer reads as received) */
  private _writeStamp(): void {
    const k = this._find(HeaderId.Via);
    this._value(k);
    this._stamped = undefined;
  }

  /** @internal the repeated request lines of a response into the header arrays, before any header access */
  _unecho(): void {
    const e = this._echo;
    if (e === undefined) return;
    this._echo = undefined;
    const { text, pos, lines } = e;
    const ids: number[] = [];
    const names: string[] = [];
    const values: string[] = [];
    let via0 = e.via0;
    for (let j = 0; j < lines.length; j += 2) {
      const k = lines[j];
      const id = lines[j + 1];
      let v: string;
      if (id === HeaderId.Via && via0 !== undefined) {
        v = via0;
        via0 = undefined;
      } else {
        const a = pos[3 * k + 1];
        v = text.slice(a, trimEnd(text, a, pos[3 * k + 2]));
        if (id === HeaderId.To && e.tag !== '') v += `;tag=${e.tag}`;
      }
      ids.push(id);
      names.push(canonicalHeaderName(id));
      values.push(v);
    }
    const own = this._ids;
    for (let k = 0; k < own.length; k++) {
      ids.push(own[k]);
      names.push(this._names[k] as string);
      values.push(this._values[k] as string);
    }
    this._ids = ids;
    this._names = names;
    this._values = values;
  }

  /** Number of header lines. */
  get headerCount(): number {
    if (this._echo !== undefined) this._unecho();
    return this._count();
  }

  /** @internal number of header lines (of a response: once unechoed) */
  _count(): number {
    return this._text === '' ? this._ids.length : (this._pos.length / 3) | 0;
  }

  /** @internal id of header line k, with the parser's flags on a parsed line */
  _id(k: number): number {
    return this._text === '' ? this._ids[k] : this._pos[3 * k];
  }

  /** @internal name of header line k as written */
  _name(k: number): string {
    if (this._echo !== undefined) this._unecho();
    let name = this._names[k];
    if (name === undefined) {
      const s = this._text;
      const a = lineStartOf(s, this._pos, k);
      name = s.slice(a, nameEndAt(s, a));
      if (this._names === NO_STRINGS) this._names = [];
      this._names[k] = name;
    }
    return name;
  }

  /** @internal value of header line k (trimmed, unfolded) */
  _value(k: number): string {
    if (this._echo !== undefined) this._unecho();
    let v = this._values[k];
    if (v === undefined) {
      const s = this._text;
      const start = this._pos[3 * k + 1];
      const end = this._pos[3 * k + 2];
      if (this._stamped !== undefined && k === this._find(HeaderId.Via)) v = this._stamped.text;
      else v = (this._pos[3 * k] & FOLDED) !== 0 ? unfold(s, start, end) : s.slice(start, trimEnd(s, start, end));
      if (this._values === NO_STRINGS) this._values = [];
      this._values[k] = v;
    }
    return v;
  }

  /** @internal whether header line k has the given id (or lower-cased name when id is 0) */
  protected _is(k: number, id: number, lower: string): boolean {
    const hid = this._id(k) & 0xff;
    if (id !== 0) return hid === id;
    if (hid !== 0) return false;
    const name = this._names[k];
    if (name !== undefined) return name.length === lower.length && name.toLowerCase() === lower;
    const s = this._text;
    const a = lineStartOf(s, this._pos, k);
    if (nameEndAt(s, a) - a !== lower.length) return false;
    for (let j = 0; j < lower.length; j++) {
      let c = s.charCodeAt(a + j);
      if (c >= 65 && c <= 90) c += 32;
      if (c !== lower.charCodeAt(j)) return false;
    }
    return true;
  }

  /** @internal index of the first header line with this id, or -1 */
  _find(id: number): number {
    if (this._echo !== undefined) this._unecho();
    if (this._text !== '') {
      const pos = this._pos;
      for (let k = 0; k < pos.length; k += 3) if ((pos[k] & 0xff) === id) return k / 3;
      return -1;
    }
    const ids = this._ids;
    for (let k = 0; k < ids.length; k++) if ((ids[k] & 0xff) === id) return k;
    return -1;
  }

  /** @internal decoded values of every line with this id, one string per line (lists not split) */
  _lineValues(id: number, lower = ''): string[] {
    if (this._echo !== undefined) this._unecho();
    const out: string[] = [];
    for (let k = 0; k < this._count(); k++) if (this._is(k, id, lower)) out.push(this._value(k));
    return out;
  }

  /**
   * First value of a header, by long or compact name in any case; for comma-list headers the first element.
   * Trimmed, folded lines joined by one space; undefined when absent.
   */
  header(name: string): string | undefined {
    if (this._echo !== undefined) this._unecho();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    for (let k = 0; k < this._count(); k++) {
      if (this._is(k, id, lower)) {
        const v = this._value(k);
        return isListHeader(id, lower) ? firstListElement(v) : v;
      }
    }
    return undefined;
  }

  /** Every value of a header in order; comma-joined values are split for headers whose grammar is a list. */
  headers(name: string): string[] {
    if (this._echo !== undefined) this._unecho();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    const list = isListHeader(id, lower);
    const out: string[] = [];
    for (let k = 0; k < this._count(); k++) {
      if (!this._is(k, id, lower)) continue;
      if (list) splitList(this._value(k), out);
      else out.push(this._value(k));
    }
    return out;
  }

  /** Whether a header is present. */
  hasHeader(name: string): boolean {
    if (this._echo !== undefined) this._unecho();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    for (let k = 0; k < this._count(); k++) if (this._is(k, id, lower)) return true;
    return false;
  }

  /** All header lines in order as [name as written, value]. */
  headerEntries(): Array<[string, string]> {
    if (this._echo !== undefined) this._unecho();
    const out: Array<[string, string]> = [];
    for (let k = 0; k < this._count(); k++) out.push([this._name(k), this._value(k)]);
    return out;
  }

  // ---- mutation ----------------------------------------------------------------------------------------------

  /** @internal decode every line so edits no longer depend on the parsed text */
  protected _materialize(): void {
    if (this._echo !== undefined) this._unecho();
    const received = this._src !== undefined && this._stamped === undefined;
    this._dropSource();
    this._cache = undefined;
    this._topVia = undefined;
    this._from = undefined;
    this._to = undefined;
    this._cseq = undefined;
    this._callId = undefined;
    if (this._text === '') {
      if (this._ids === NO_NUMBERS) {
        this._ids = [];
        this._names = [];
        this._values = [];
      }
      return;
    }
    const pos = this._pos;
    const n = (pos.length / 3) | 0;
    if (received) {
      // the byte ranges of the received lines (folded ones are written unfolded, as new)
      const at: number[] = new Array(2 * n);
      for (let k = 0; k < n; k++) {
        const folded = (pos[3 * k] & FOLDED) !== 0;
        at[2 * k] = folded ? -1 : lineStartOf(this._text, pos, k);
        at[2 * k + 1] = folded ? -1 : pos[3 * k + 2];
      }
      this._wire = { text: this._text, at };
    }
    if (this._names === NO_STRINGS) this._names = [];
    const ids: number[] = [];
    for (let k = 0; k < n; k++) {
      this._name(k);
      this._value(k);
      ids.push(pos[3 * k] & 0xff);
    }
    this._ids = ids;
    this._text = '';
    this._pos = NO_NUMBERS;
  }

  private _insert(at: number, name: string, value: string): void {
    checkHeaderName(name);
    checkHeaderValue(value);
    this._ids.splice(at, 0, headerIdOf(name, 0, name.length));
    if (this._wire !== undefined) this._wire.at.splice(2 * at, 0, -1, -1);
    this._names.splice(at, 0, name);
    this._values.splice(at, 0, value);
  }

  /** Replaces every line of this header by the given value(s), in place of the first one (or at the end). */
  setHeader(name: string, value: string | readonly string[]): this {
    this._materialize();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    let at = -1;
    for (let k = this._count() - 1; k >= 0; k--) {
      if (this._is(k, id, lower)) {
        this._removeAt(k);
        at = k;
      }
    }
    if (at < 0) at = this._ids.length;
    const values = typeof value === 'string' ? [value] : value;
    for (let j = 0; j < values.length; j++) this._insert(at + j, name, values[j]);
    return this;
  }

  /** Adds a header line after all others. */
  appendHeader(name: string, value: string): this {
    this._materialize();
    this._insert(this._ids.length, name, value);
    return this;
  }

  /** Adds a header line before the first line of the same header (or first of all): how a proxy adds its Via. */
  prependHeader(name: string, value: string): this {
    this._materialize();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    let at = 0;
    for (let k = 0; k < this._count(); k++) {
      if (this._is(k, id, lower)) {
        at = k;
        break;
      }
    }
    this._insert(at, name, value);
    return this;
  }

  /** Removes every line of a header; returns how many lines were removed. */
  removeHeader(name: string): number {
    if (this._echo !== undefined) this._unecho();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    let removed = 0;
    for (let k = this._count() - 1; k >= 0; k--) {
      if (this._is(k, id, lower)) {
        if (removed === 0) this._materialize();
        this._removeAt(k);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Removes the first value of a header: the first element of a comma-joined line, or the whole first line.
   * Returns the removed value. This is how a proxy strips its own Via from a response (RFC 3261 16.7 step 3).
   */
  removeFirstValue(name: string): string | undefined {
    if (this._echo !== undefined) this._unecho();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    for (let k = 0; k < this._count(); k++) {
      if (!this._is(k, id, lower)) continue;
      this._materialize();
      const v = this._value(k);
      if (!isListHeader(id, lower)) {
        this._removeAt(k);
        return v;
      }
      const parts: string[] = [];
      splitList(v, parts);
      if (parts.length <= 1) this._removeAt(k);
      else {
        this._values[k] = parts.slice(1).join(', ');
        this._changedLine(k);
      }
      return parts[0];
    }
    return undefined;
  }

  /**
   * Replaces the first value of a header in place (how a transport stamps received/rport on the top Via, RFC 3261
   * 18.2.1), without decoding the other lines. Returns false, changing nothing, when the header is absent.
   */
  replaceFirstValue(name: string, value: string): boolean {
    if (this._echo !== undefined) this._unecho();
    const id = headerIdOf(name, 0, name.length);
    const lower = id === 0 ? name.toLowerCase() : '';
    for (let k = 0; k < this._count(); k++) {
      if (!this._is(k, id, lower)) continue;
      checkHeaderValue(value);
      const current = this._value(k);
      if (isListHeader(id, lower) && firstListElement(current) !== current) {
        // a comma-joined line: split it the slow way
        this.removeFirstValue(name);
        this.prependHeader(name, value);
        return true;
      }
      this._dropSource();
      this._cache = undefined;
      if (id === HeaderId.Via) this._topVia = undefined;
      else if (id === HeaderId.From) this._from = undefined;
      else if (id === HeaderId.To) this._to = undefined;
      else if (id === HeaderId.CSeq) this._cseq = undefined;
      else if (id === HeaderId.CallId) this._callId = undefined;
      this._values[k] = value;
      this._changedLine(k);
      return true;
    }
    return false;
  }

  /** @internal line k no longer reads as received */
  private _changedLine(k: number): void {
    const wire = this._wire;
    if (wire !== undefined) {
      wire.at[2 * k] = -1;
      wire.at[2 * k + 1] = -1;
    }
  }

  private _removeAt(k: number): void {
    if (this._wire !== undefined) this._wire.at.splice(2 * k, 2);
    this._ids.splice(k, 1);
    this._names.splice(k, 1);
    this._values.splice(k, 1);
  }

  // ---- typed accessors ---------------------------------------------------------------------------------------

  /** @internal wraps a value parser: caches, and names the header and line in errors */
  protected _typed<T>(key: string, id: number, parse: (lines: string[]) => T): T {
    const cache = this._cache ?? new Map<string, unknown>();
    this._cache = cache;
    if (cache.has(key)) return cache.get(key) as T;
    const lines = this._lineValues(id);
    let value: T;
    try {
      value = parse(lines);
    } catch (e) {
      throw this._locate(e, id);
    }
    cache.set(key, value);
    return value;
  }

  /** @internal adds the header name and line position to a value error */
  _locate(e: unknown, id: number, k = this._find(id)): unknown {
    if (!(e instanceof SipParseError)) return e;
    const lineStart = k >= 0 && this._text !== '' ? lineStartOf(this._text, this._pos, k) : undefined;
    let line: number | undefined;
    if (lineStart !== undefined) {
      line = 1;
      for (let i = this._text.indexOf('\n'); i >= 0 && i < lineStart; i = this._text.indexOf('\n', i + 1)) line++;
    }
    return new SipParseError(e.code, `${canonicalHeaderName(id)}: ${e.message}`, {
      offset: lineStart !== undefined ? this._offset + lineStart : undefined,
      line,
      status: e.status,
    });
  }

  private _single<T>(key: string, id: number, parse: (v: string) => T): T | undefined {
    return this._typed(key, id, (lines) => (lines.length === 0 ? undefined : parse(lines[0])));
  }

  private _allLines<T>(key: string, id: number, parse: (v: string, out: T[]) => unknown): T[] {
    return this._typed(key, id, (lines) => {
      const out: T[] = [];
      for (const line of lines) parse(line, out);
      return out;
    });
  }

  /** Top Via (RFC 3261 20.42); validated by the parser for received messages. Throws when absent. */
  via(): Via {
    let v = this._topVia;
    if (v === undefined) {
      const k = this._find(HeaderId.Via);
      if (k < 0) throw new SipParseError('missing-header', 'no Via header');
      try {
        v = parseVia(this._value(k));
      } catch (e) {
        throw this._locate(e, HeaderId.Via, k);
      }
      this._topVia = v;
    }
    return v;
  }

  /** Every Via value, top first, comma-joined lines split. */
  vias(): Via[] {
    return this._allLines('vias', HeaderId.Via, parseVias);
  }

  /** From (RFC 3261 20.20). Throws when absent or malformed. */
  from(): FromTo {
    let v = this._from;
    if (v === undefined) {
      v = this._single('from', HeaderId.From, parseFromTo);
      if (v === undefined) throw new SipParseError('missing-header', 'no From header');
      this._from = v;
    }
    return v;
  }

  /** To (RFC 3261 20.39). Throws when absent or malformed. */
  to(): FromTo {
    let v = this._to;
    if (v === undefined) {
      v = this._single('to', HeaderId.To, parseFromTo);
      if (v === undefined) throw new SipParseError('missing-header', 'no To header');
      this._to = v;
    }
    return v;
  }

  /** Call-ID (RFC 3261 20.8). Throws when absent. */
  callId(): string {
    let v = this._callId;
    if (v === undefined) {
      const k = this._find(HeaderId.CallId);
      if (k < 0) throw new SipParseError('missing-header', 'no Call-ID header');
      v = this._value(k);
      this._callId = v;
    }
    return v;
  }

  /** CSeq (RFC 3261 20.16). Throws when absent or malformed. */
  cseq(): CSeq {
    let v = this._cseq;
    if (v === undefined) {
      v = this._single('cseq', HeaderId.CSeq, parseCSeq);
      if (v === undefined) throw new SipParseError('missing-header', 'no CSeq header');
      this._cseq = v;
    }
    return v;
  }

  /** Max-Forwards (RFC 3261 20.22), undefined when absent. */
  maxForwards(): number | undefined {
    return this._single('max-forwards', HeaderId.MaxForwards, (v) => {
      const n = parseDeltaSeconds(v, 256);
      if (n > 255) throw new SipParseError('header-value', `Max-Forwards ${v} above 255`);
      return n;
    });
  }

  /** Contact values (RFC 3261 20.10), `*` included; empty when absent. */
  contacts(): ContactValue[] {
    return this._allLines('contacts', HeaderId.Contact, parseContacts);
  }

  /** Route values in order (RFC 3261 20.34). */
  routes(): NameAddr[] {
    return this._allLines('routes', HeaderId.Route, parseNameAddrList);
  }

  /** Record-Route values in order (RFC 3261 20.30). */
  recordRoutes(): NameAddr[] {
    return this._allLines('record-routes', HeaderId.RecordRoute, parseNameAddrList);
  }

  /** Content-Type (RFC 3261 20.15), undefined when absent. */
  contentType(): MediaType | undefined {
    return this._single('content-type', HeaderId.ContentType, parseMediaType);
  }

  /** The Content-Length header as received (RFC 3261 20.14), undefined when absent. */
  contentLength(): number | undefined {
    return this._single('content-length', HeaderId.ContentLength, (v) => parseDeltaSeconds(v));
  }

  /** Expires (RFC 3261 20.19) in seconds; an overlarge value is clamped to 2^32-1. */
  expires(): number | undefined {
    return this._single('expires', HeaderId.Expires, (v) => parseDeltaSeconds(v));
  }

  /** Min-Expires (RFC 3261 20.23). */
  minExpires(): number | undefined {
    const v = this.header('Min-Expires');
    return v === undefined ? undefined : parseDeltaSeconds(v);
  }

  /** Authorization credentials, one per header line (RFC 3261 20.7). */
  authorizations(): AuthValue[] {
    return this._allLines('authorization', HeaderId.Authorization, (v, out: AuthValue[]) => out.push(parseAuth(v)));
  }

  /** Proxy-Authorization credentials (RFC 3261 20.28). */
  proxyAuthorizations(): AuthValue[] {
    return this._allLines('proxy-authorization', HeaderId.ProxyAuthorization, (v, out: AuthValue[]) =>
      out.push(parseAuth(v)),
    );
  }

  /** WWW-Authenticate challenges (RFC 3261 20.44). */
  wwwAuthenticates(): AuthValue[] {
    return this._allLines('www-authenticate', HeaderId.WwwAuthenticate, (v, out: AuthValue[]) =>
      out.push(parseAuth(v)),
    );
  }

  /** Proxy-Authenticate challenges (RFC 3261 20.27). */
  proxyAuthenticates(): AuthValue[] {
    return this._allLines('proxy-authenticate', HeaderId.ProxyAuthenticate, (v, out: AuthValue[]) =>
      out.push(parseAuth(v)),
    );
  }

  /** Allow methods (RFC 3261 20.5). */
  allow(): string[] {
    return this._allLines('allow', HeaderId.Allow, parseTokenList);
  }

  /** Supported option tags (RFC 3261 20.37). */
  supported(): string[] {
    return this._allLines('supported', HeaderId.Supported, parseTokenList);
  }

  /** Require option tags (RFC 3261 20.32). */
  require(): string[] {
    return this._allLines('require', HeaderId.Require, parseTokenList);
  }

  /** Proxy-Require option tags (RFC 3261 20.29). */
  proxyRequire(): string[] {
    return this._allLines('proxy-require', HeaderId.ProxyRequire, parseTokenList);
  }

  /** Unsupported option tags (RFC 3261 20.40). */
  unsupported(): string[] {
    return this._allLines('unsupported', HeaderId.Unsupported, parseTokenList);
  }

  /** Allow-Events packages (RFC 6665 8.2.2). */
  allowEvents(): string[] {
    return this._allLines('allow-events', HeaderId.AllowEvents, parseTokenList);
  }

  /** Event (RFC 6665 8.2.1). */
  event(): EventValue | undefined {
    return this._single('event', HeaderId.Event, parseEvent);
  }

  /** Subscription-State (RFC 6665 8.2.3). */
  subscriptionState(): SubscriptionStateValue | undefined {
    return this._single('subscription-state', HeaderId.SubscriptionState, parseSubscriptionState);
  }

  /** Refer-To (RFC 3515 2.1). */
  referTo(): NameAddr | undefined {
    return this._single('refer-to', HeaderId.ReferTo, parseNameAddr);
  }

  /** Referred-By (RFC 3892). */
  referredBy(): NameAddr | undefined {
    return this._single('referred-by', HeaderId.ReferredBy, parseNameAddr);
  }

  /** Replaces (RFC 3891). */
  replaces(): ReplacesValue | undefined {
    return this._single('replaces', HeaderId.Replaces, parseReplaces);
  }

  /** Session-Expires (RFC 4028). */
  sessionExpires(): SessionExpiresValue | undefined {
    return this._single('session-expires', HeaderId.SessionExpires, parseSessionExpires);
  }

  /** Min-SE (RFC 4028 5) in seconds. */
  minSE(): number | undefined {
    return this._single('min-se', HeaderId.MinSE, (v) => {
      const semi = v.indexOf(';');
      return parseDeltaSeconds(semi < 0 ? v : v.slice(0, semi));
    });
  }

  /** Date (RFC 3261 20.17): only RFC 1123 dates in GMT are valid (RFC 4475 3.1.2.12). */
  date(): Date | undefined {
    return this._single('date', HeaderId.Date, parseSipDate);
  }
}

/** A SIP request (RFC 3261 7.1). */
export class SipRequest extends SipMessageBase {
  declare readonly type: 'request';
  declare readonly isRequest: true;
  declare readonly isResponse: false;
  declare private _method: string;
  /**
   * undefined while the parsed Request-URI is still only its place in the header text: after the method and one SP,
   * up to the next SP (RFC 3261 7.1: one SP between the elements, checked by the parser)
   */
  declare private _uri: string | undefined;
  declare private _requestUri: AnyUri | undefined;

  constructor(method: string, uri: string, headers?: Iterable<readonly [string, string]>, body?: Uint8Array) {
    super();
    // assigned, not defined as class fields (see SipMessageBase); type, isRequest and isResponse are on the prototype
    this._method = method;
    this._uri = uri;
    this._requestUri = undefined;
    if (headers !== undefined || body !== undefined) this._fill(headers, body);
  }

  /** The method, case-sensitive (RFC 3261 7.1); unknown methods are kept as they are. */
  get method(): string {
    return this._method;
  }

  set method(value: string) {
    // the parsed Request-URI's place depends on the method's length
    if (this._uri === undefined) this._uri = this.uri;
    this._method = value;
    this._dropSource();
  }

  /** The Request-URI exactly as received (or set). */
  get uri(): string {
    let u = this._uri;
    if (u === undefined) {
      const s = this._text;
      const at = this._method.length + 1;
      u = s.slice(at, s.indexOf(' ', at));
      this._uri = u;
    }
    return u;
  }

  /** @internal used by the parser: the Request-URI is in the request line of _text, sliced on first use */
  _uriInText(): void {
    this._uri = undefined;
  }

  /** @internal the Request-URI is taken out of the header text before the text is dropped */
  protected override _materialize(): void {
    if (this._uri === undefined) this._uri = this.uri;
    super._materialize();
  }

  set uri(value: string) {
    this._uri = value;
    this._requestUri = undefined;
    this._dropSource();
  }

  /**
   * The Request-URI parsed (cached). Throws SipParseError (code 'request-uri') when it is malformed, including a
   * SIP URI carrying headers, which RFC 3261 19.1.1 forbids in a Request-URI (RFC 4475 3.1.2.11): answer 400.
   */
  get requestUri(): AnyUri {
    let u = this._requestUri;
    if (u === undefined) {
      try {
        u = parseUri(this.uri);
      } catch (e) {
        const detail = e instanceof SipParseError ? e.detail : String(e);
        throw new SipParseError('request-uri', `bad Request-URI: ${detail}`, { line: 1 });
      }
      if ((u.scheme === 'sip' || u.scheme === 'sips') && (u as SipUri).headers.length > 0) {
        throw new SipParseError('request-uri', 'headers are not allowed in a Request-URI', { line: 1 });
      }
      this._requestUri = u;
    }
    return u;
  }

  /** The start line without CRLF. */
  startLine(): string {
    return `${this._method} ${this.uri} SIP/2.0`;
  }
}

/** A SIP response (RFC 3261 7.2). */
export class SipResponse extends SipMessageBase {
  declare readonly type: 'response';
  declare readonly isRequest: false;
  declare readonly isResponse: true;
  declare private _status: number;
  declare private _reason: string;

  constructor(status: number, reason: string, headers?: Iterable<readonly [string, string]>, body?: Uint8Array) {
    super();
    // assigned, not defined as class fields (see SipMessageBase); type, isRequest and isResponse are on the prototype
    this._status = status;
    this._reason = reason;
    this._echo = undefined;
    if (headers !== undefined || body !== undefined) this._fill(headers, body);
  }

  /** Status-Code, 100..699. */
  get status(): number {
    return this._status;
  }

  set status(value: number) {
    this._status = value;
    this._dropSource();
  }

  /** Reason-Phrase as received (may be empty, may hold UTF-8). */
  get reason(): string {
    return this._reason;
  }

  set reason(value: string) {
    this._reason = value;
    this._dropSource();
  }

  /** The start line without CRLF. */
  startLine(): string {
    return `SIP/2.0 ${this._status} ${this._reason}`;
  }
}

// The same for every message of a class: read from the prototype rather than stored in each message.
Object.defineProperties(SipRequest.prototype, {
  type: { value: 'request', enumerable: true },
  isRequest: { value: true, enumerable: true },
  isResponse: { value: false, enumerable: true },
});
Object.defineProperties(SipResponse.prototype, {
  type: { value: 'response', enumerable: true },
  isRequest: { value: false, enumerable: true },
  isResponse: { value: true, enumerable: true },
});

export type SipMessage = SipRequest | SipResponse;

/** Header names must be tokens (RFC 3261 25.1 field-name). */
function checkHeaderName(name: string): void {
  if (name.length === 0) throw new SipParseError('header-line', 'empty header name');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 0x3a) throw new SipParseError('header-line', `bad header name "${name}"`);
  }
}

/** A value set by code must not smuggle line breaks (header injection). */
function checkHeaderValue(value: string): void {
  // three native searches cost less than a loop of charCodeAt on the usual values
  if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) {
    throw new SipParseError('header-value', 'line break or NUL in header value');
  }
}
