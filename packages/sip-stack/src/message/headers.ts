// Parsers of typed header values (RFC 3261 section 20 and 25.1, plus the extension headers the stack uses).
// Each takes the header value (trimmed, folded lines already joined by single spaces) and throws SipParseError
// (code 'header-value') when it does not follow the grammar.

import {
  firstListElement,
  isToken,
  nextComma,
  paramOf,
  paramsMap,
  parseDecimal,
  quotedText,
  scanParams,
  scanQuoted,
  skipToken,
  skipWs,
  splitList,
  TOKEN,
  trimEnd,
  valueError,
} from './scan.js';
import { flatString } from './serializer.js';
import type {
  AuthValue,
  ContactValue,
  CSeq,
  EventValue,
  FromTo,
  MediaType,
  NameAddr,
  ReplacesValue,
  SessionExpiresValue,
  SipParams,
  SubscriptionStateValue,
  Via,
} from './types.js';
import { CLASS, formatHost, HOST, isIPv4, isIPv6 } from './uri.js';

const MAX_UINT32 = 4294967295;

/** Scratch: where the last scan* function stopped. */
let scanEnd = 0;

// Fields are declared (not defined) and assigned once in the constructor: cheaper than class-field definitions
// followed by parameter-property assignments on this hot path.

/**
 * Header params of a value, kept as where they were written: the flat [name, value, ...] list is scanned on first
 * use when the parser did not need it (the scan succeeded once on the same text, so it cannot throw).
 */
function flatParams(flat: Array<string | null> | undefined, src: string, start: number, end: number) {
  if (flat !== undefined) return flat;
  const out: Array<string | null> = [];
  scanParams(src, start, end, out);
  return out;
}

/**
 * @internal A parsed name-addr / addr-spec (From, To, Route...); params are built on first access. A Contact's own
 * fields are on ContactNameAddr: From and To, kept with every request (an INVITE until its ACK), carry none.
 */
export class NameAddrValue implements FromTo {
  declare readonly displayName: string | undefined;
  /** the URI, or undefined until first read when the byte scanner left it as src[uriAt, uriEnd) */
  declare private _uri: string | undefined;
  declare private readonly uriAt: number;
  declare private readonly uriEnd: number;
  declare readonly bracketed: boolean;
  declare readonly tag: string | undefined;
  declare private readonly src: string;
  declare private readonly paramsStart: number;
  declare private readonly paramsEnd: number;
  /** the params: the flat [name, value, ...] list when the parser made one, then the map built on first access */
  declare private _params: Array<string | null> | SipParams | undefined;

  constructor(
    displayName: string | undefined,
    uri: string | undefined,
    bracketed: boolean,
    tag: string | undefined,
    flat: Array<string | null> | undefined,
    src: string,
    paramsStart: number,
    paramsEnd: number,
    uriAt = 0,
    uriEnd = 0,
  ) {
    this.displayName = displayName;
    this._uri = uri;
    this.uriAt = uriAt;
    this.uriEnd = uriEnd;
    this.bracketed = bracketed;
    this.tag = tag;
    this.src = src;
    this.paramsStart = paramsStart;
    this.paramsEnd = paramsEnd;
    this._params = flat;
  }

  get uri(): string {
    let u = this._uri;
    if (u === undefined) {
      // a From or To read by the transaction layer only for its tag: no string for the URI until one is wanted
      u = this.src.slice(this.uriAt, this.uriEnd);
      this._uri = u;
    }
    return u;
  }

  get params(): SipParams {
    const p = this._params;
    if (p !== undefined && !Array.isArray(p)) return p as SipParams;
    const map = paramsMap(flatParams(p, this.src, this.paramsStart, this.paramsEnd));
    this._params = map;
    return map;
  }
}

/** @internal A parsed Contact value (RFC 3261 20.10): `*`, expires and q besides the name-addr. */
export class ContactNameAddr extends NameAddrValue implements ContactValue {
  declare readonly star: boolean;
  declare readonly expires: number | undefined;
  declare readonly q: number | undefined;

  constructor(
    displayName: string | undefined,
    uri: string,
    bracketed: boolean,
    star: boolean,
    expires: number | undefined,
    q: number | undefined,
    tag: string | undefined,
    flat: Array<string | null>,
  ) {
    super(displayName, uri, bracketed, tag, flat, '', 0, 0);
    this.star = star;
    this.expires = expires;
    this.q = q;
  }
}

/** @internal A parsed Via value; params are built on first access. */
export class ViaValue implements Via {
  declare readonly protocol: string;
  declare readonly version: string;
  declare readonly transport: string;
  declare readonly host: string;
  declare readonly hostType: 'name' | 'ipv4' | 'ipv6';
  declare readonly port: number | undefined;
  declare readonly branch: string | undefined;
  declare readonly received: string | undefined;
  declare readonly rport: number | null | undefined;
  declare readonly maddr: string | undefined;
  declare readonly ttl: number | undefined;
  declare private readonly flat: Array<string | null> | undefined;
  declare private readonly src: string;
  declare private readonly paramsStart: number;
  declare private readonly paramsEnd: number;
  /**
   * where the value starts in src when the byte scanner saw its sent-by written exactly as StampedViaValue writes
   * it (so with plain params src[wireAt, paramsEnd) is the text it writes); -1 when not known
   */
  declare private readonly wireAt: number;
  /**
   * @internal true when the byte scanner saw the params written as plainParams requires (then plainParams gives
   * their text); false when not known
   */
  declare readonly paramsPlain: boolean;
  /** @internal true when the byte scanner saw the value end in `;rport` with no value (the usual request Via) */
  declare readonly rportLast: boolean;
  declare private _params: SipParams | undefined;

  constructor(
    protocol: string,
    version: string,
    transport: string,
    host: string,
    hostType: 'name' | 'ipv4' | 'ipv6',
    port: number | undefined,
    branch: string | undefined,
    received: string | undefined,
    rport: number | null | undefined,
    maddr: string | undefined,
    ttl: number | undefined,
    flat: Array<string | null> | undefined,
    src: string,
    paramsStart: number,
    paramsEnd: number,
    wireAt: number,
    paramsPlain: boolean,
    rportLast = false,
  ) {
    this.protocol = protocol;
    this.version = version;
    this.transport = transport;
    this.host = host;
    this.hostType = hostType;
    this.port = port;
    this.branch = branch;
    this.received = received;
    this.rport = rport;
    this.maddr = maddr;
    this.ttl = ttl;
    this.flat = flat;
    this.src = src;
    this.paramsStart = paramsStart;
    this.paramsEnd = paramsEnd;
    this.wireAt = wireAt;
    this.paramsPlain = paramsPlain;
    this.rportLast = rportLast;
    this._params = undefined;
  }

  get params(): SipParams {
    let p = this._params;
    if (p === undefined) {
      p = paramsMap(flatParams(this.flat, this.src, this.paramsStart, this.paramsEnd));
      this._params = p;
    }
    return p;
  }

  /** @internal the whole value as StampedViaValue writes it when it is the received text; else undefined */
  wireText(): string | undefined {
    return this.wireAt < 0 || (!this.paramsPlain && this.plainParams() === undefined)
      ? undefined
      : this.src.slice(this.wireAt, this.paramsEnd);
  }

  /** @internal where the params start in wireText() */
  wireParamsAt(): number {
    return this.paramsStart - this.wireAt;
  }

  /** @internal the params in order as a flat [name, value, ...] list (value null when absent), without a Map */
  paramList(): ReadonlyArray<string | null> {
    return flatParams(this.flat, this.src, this.paramsStart, this.paramsEnd);
  }

  /**
   * @internal the params text when StampedViaValue would write it back unchanged: `;name` or `;name=value` with
   * lower-case token names, token values, no whitespace or quotes, no received and no name twice; else undefined
   */
  plainParams(): string | undefined {
    if (this.flat !== undefined) return undefined;
    const s = this.src;
    const end = this.paramsEnd;
    let i = this.paramsStart;
    let count = 0;
    while (i < end) {
      if (s.charCodeAt(i) !== 0x3b || count === NAME_SCRATCH.length / 2) return undefined;
      const nameStart = ++i;
      for (; i < end; i++) {
        const c = s.charCodeAt(i);
        if (c >= 256 || TOKEN[c] !== 1 || (c >= 65 && c <= 90)) break;
      }
      if (i === nameStart) return undefined;
      const length = i - nameStart;
      if (length === 8 && s.startsWith('received', nameStart)) return undefined;
      for (let j = 0; j < count; j++) {
        const a = NAME_SCRATCH[2 * j];
        if (NAME_SCRATCH[2 * j + 1] - a === length && s.startsWith(s.slice(a, a + length), nameStart)) return undefined;
      }
      NAME_SCRATCH[2 * count] = nameStart;
      NAME_SCRATCH[2 * count + 1] = i;
      count++;
      if (i < end && s.charCodeAt(i) === 0x3d) {
        const valueStart = ++i;
        for (; i < end; i++) {
          const c = s.charCodeAt(i);
          if (c >= 256 || (TOKEN[c] !== 1 && c !== 58 && c !== 91 && c !== 93)) break;
        }
        if (i === valueStart) return undefined;
      }
      if (i < end && s.charCodeAt(i) !== 0x3b) return undefined;
    }
    return s.slice(this.paramsStart, end);
  }
}

/** Scratch for plainParams: where the names seen so far start and end. */
const NAME_SCRATCH = new Int32Array(16);

/** True when `s` can stand unquoted as a generic-param value (token or host, RFC 3261 25.1). */
function isTokenText(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // token characters, and ':' '[' ']' for IPv6 hosts
    if (!isToken(c) && c !== 58 && c !== 91 && c !== 93) return false;
  }
  return true;
}

/** Whether the param name at flat[i] came earlier (the first one counts, as in `params`). */
function seenBefore(flat: ReadonlyArray<string | null>, i: number): boolean {
  for (let j = 0; j < i; j += 2) if (flat[j] === flat[i]) return true;
  return false;
}

/** Writes a quoted-string, escaping `"` and `\` (RFC 3261 25.1 quoted-pair). */
export function quoteString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    out += c === '"' || c === '\\' ? `\\${c}` : c;
  }
  return `${out}"`;
}

/** Whether plain params end with a valueless `;rport`. */
function endsWithRport(params: string): boolean {
  const n = params.length;
  return (
    n >= 6 &&
    params.charCodeAt(n - 6) === 0x3b &&
    params.charCodeAt(n - 5) === 0x72 &&
    params.charCodeAt(n - 4) === 0x70 &&
    params.charCodeAt(n - 3) === 0x6f &&
    params.charCodeAt(n - 2) === 0x72 &&
    params.charCodeAt(n - 1) === 0x74
  );
}

/** The last stamp's end, `=rport;received=address`: a server stamps requests from the same few peers. */
const lastStampEnd = { rport: -1, received: '', text: '' };

function stampEnd(rport: number, received: string): string {
  const last = lastStampEnd;
  if (last.rport !== rport || last.received !== received) {
    last.text = flatString(`=${rport};received=${received}`);
    last.rport = rport;
    last.received = received;
  }
  return last.text;
}

/** Plain params (ViaValue.plainParams) with rport given this value (RFC 3581 4). */
function withRportValue(params: string, rport: number): string {
  // the usual `...;rport` last (plain params name it once): no search, no slices
  if (endsWithRport(params)) return `${params}=${rport}`;
  for (let at = params.indexOf(';rport'); at >= 0; at = params.indexOf(';rport', at + 1)) {
    const after = at + 6;
    const c = params.charCodeAt(after);
    if (after === params.length || c === 0x3b) return `${params.slice(0, after)}=${rport}${params.slice(after)}`;
    if (c === 0x3d) {
      const next = params.indexOf(';', after);
      return `${params.slice(0, after)}=${rport}${next < 0 ? '' : params.slice(next)}`;
    }
  }
  return params;
}

/**
 * A received Via with `received` set and, when `rport` is given, `rport=` filled in (RFC 3261 18.2.1, RFC 3581 4).
 * Its text (other params written back as parsed, quoted values re-quoted) is made on first use: a transport stamps
 * every request, and most of them are answered without anybody reading the stamped text.
 */
export class StampedViaValue implements Via {
  // Not a ViaValue: only the Via fields and the stamp's own, so a stamped request (an INVITE kept until its ACK)
  // holds fewer bytes; the received text's places are needed only until the stamped text is made.
  declare readonly protocol: string;
  declare readonly version: string;
  declare readonly transport: string;
  declare readonly host: string;
  declare readonly hostType: 'name' | 'ipv4' | 'ipv6';
  declare readonly port: number | undefined;
  declare readonly branch: string | undefined;
  declare readonly received: string | undefined;
  declare readonly rport: number | null | undefined;
  declare readonly maddr: string | undefined;
  declare readonly ttl: number | undefined;
  /** the received Via, until the stamped text is made (then released: a kept transaction holds only one form) */
  declare private original: Via | undefined;
  /** whether rport= is filled in */
  declare private readonly fill: boolean;
  declare private stampedText: string | undefined;
  declare private stampedParamsStart: number;
  /** the params, first as the flat [name, value, ...] list and then as the map built from it */
  declare private stampedParams: Array<string | null> | SipParams | undefined;

  constructor(via: Via, received: string, rport: number | undefined) {
    this.protocol = via.protocol;
    this.version = via.version;
    this.transport = via.transport;
    this.host = via.host;
    this.hostType = via.hostType;
    this.port = via.port;
    this.branch = via.branch;
    this.received = received;
    this.rport = rport ?? via.rport;
    this.maddr = via.maddr;
    this.ttl = via.ttl;
    this.original = via;
    this.fill = rport !== undefined;
    this.stampedText = undefined;
    this.stampedParamsStart = 0;
    this.stampedParams = undefined;
  }

  /** The stamped value as written in the Via header. */
  get text(): string {
    let out = this.stampedText;
    if (out === undefined) {
      const via = this.original as Via;
      // the received text itself when the parser saw it written as it would be rewritten (the usual case)
      const wire = via instanceof ViaValue ? via.wireText() : undefined;
      if (wire !== undefined) {
        // the usual `;rport` last, as the parser saw: its filled-in end and received in one string, usually the
        // last one again
        out =
          this.fill && (via as ViaValue).rportLast
            ? wire + stampEnd(this.rport as number, this.received as string)
            : `${this.fill ? withRportValue(wire, this.rport as number) : wire};received=${this.received}`;
        this.stampedParamsStart = (via as ViaValue).wireParamsAt();
        this.stampedText = out;
        this.original = undefined;
        return out;
      }
      out = `${via.protocol}/${via.version}/${via.transport} ${formatHost(via.host)}`;
      if (via.port !== undefined) out += `:${via.port}`;
      this.stampedParamsStart = out.length;
      const rport = this.rport;
      const fill = this.fill;
      // params already written as they would be rewritten (the usual case) are taken as they are
      const plain = via instanceof ViaValue ? via.plainParams() : undefined;
      if (plain !== undefined) {
        out += fill ? withRportValue(plain, rport as number) : plain;
      } else {
        // the parsed form's flat list when there is one (no Map built per request)
        const list = via instanceof ViaValue ? via.paramList() : [...via.params].flat();
        for (let i = 0; i < list.length; i += 2) {
          const name = list[i] as string;
          const value = list[i + 1];
          if (name === 'received' || seenBefore(list, i)) continue;
          if (name === 'rport' && fill) out += `;rport=${rport}`;
          else if (value === null) out += `;${name}`;
          else out += isTokenText(value) ? `;${name}=${value}` : `;${name}=${quoteString(value)}`;
        }
      }
      out += `;received=${this.received}`;
      this.stampedText = out;
      this.original = undefined;
    }
    return out;
  }

  get params(): SipParams {
    const p = this.stampedParams;
    if (p !== undefined && !Array.isArray(p)) return p as SipParams;
    const map = paramsMap(this.paramList());
    this.stampedParams = map;
    return map;
  }

  /** @internal the params in order as a flat [name, value, ...] list (value null when absent) */
  paramList(): ReadonlyArray<string | null> {
    const p = this.stampedParams;
    if (Array.isArray(p)) return p;
    const text = this.text;
    const flat: Array<string | null> = [];
    scanParams(text, this.stampedParamsStart, text.length, flat);
    // the map, once made, is kept instead
    if (p === undefined) this.stampedParams = flat;
    return flat;
  }
}

function isDisplayNameChar(c: number): boolean {
  return c === 32 || c === 9 || (c < 256 && TOKEN[c] === 1);
}

/**
 * name-addr / addr-spec (RFC 3261 20.10, 25.1) at s[i, end), followed by header params, stopping at a top-level
 * comma or end. `allowStar` admits the `*` of Contact. Unbracketed URIs cannot carry `,`, `?` or `;` (RFC 3261 20).
 */
function scanNameAddr(s: string, i: number, end: number, allowStar: boolean): NameAddrValue {
  i = skipWs(s, i, end);
  if (i >= end) throw valueError('empty name-addr', s, i);
  let displayName: string | undefined;
  let uri: string;
  let bracketed = false;
  let star = false;
  const c0 = s.charCodeAt(i);
  if (allowStar && c0 === 0x2a && trimEnd(s, i, nextComma(s, i, end)) === i + 1) {
    // Contact: * (RFC 3261 20.10); the star stands alone apart from params such as expires.
    star = true;
    uri = '*';
    i++;
  } else {
    if (c0 === 0x22) {
      i = scanQuoted(s, i, end);
      displayName = quotedText;
      i = skipWs(s, i, end); // RFC 4475 3.1.1.6: LWS before "<" may be absent
      if (i >= end || s.charCodeAt(i) !== 0x3c) throw valueError('expected "<" after display name', s, i);
    } else if (c0 !== 0x3c) {
      // Either *(token LWS) "<" or an addr-spec.
      let j = i;
      while (j < end && isDisplayNameChar(s.charCodeAt(j))) j++;
      if (j < end && s.charCodeAt(j) === 0x3c) {
        const nameEnd = trimEnd(s, i, j);
        if (nameEnd > i) displayName = s.slice(i, nameEnd);
        i = j;
      }
    }
    if (s.charCodeAt(i) === 0x3c) {
      const close = s.indexOf('>', i + 1);
      if (close < 0 || close >= end) throw valueError('missing ">"', s, i);
      // no LWS inside <addr-spec> (RFC 4475 3.1.2.14); the URI's own grammar is checked when it is parsed
      for (let k = i + 1; k < close; k++) {
        if (s.charCodeAt(k) <= 32) throw valueError('whitespace inside <URI>', s, k);
      }
      if (close === i + 1) throw valueError('empty <URI>', s, i);
      uri = s.slice(i + 1, close);
      bracketed = true;
      i = close + 1;
    } else {
      const start = i;
      while (i < end) {
        const c = s.charCodeAt(i);
        if (c === 0x3b || c === 0x2c || c === 32 || c === 9) break;
        if (c === 0x3f || c === 0x3c || c === 0x3e || c === 0x22 || c < 32) {
          throw valueError('character not allowed in an addr-spec without <>', s, i);
        }
        i++;
      }
      uri = s.slice(start, i);
      checkScheme(uri, s, start);
    }
  }
  const flat: Array<string | null> = [];
  scanEnd = scanParams(s, i, end, flat);
  let expires: number | undefined;
  let q: number | undefined;
  if (allowStar && flat.length > 0) {
    const e = paramOf(flat, 'expires');
    if (e !== undefined) {
      const n = e === null ? -1 : parseDecimal(e, 0, e.length, Number.MAX_SAFE_INTEGER);
      if (n < 0) throw valueError('bad expires parameter', s, i);
      // RFC 4475 3.1.2.4: an overlarge expires may be treated as large; clamp to 2^32-1
      expires = Math.min(n, MAX_UINT32);
    }
    const qv = paramOf(flat, 'q');
    if (qv !== undefined) {
      q = qv === null ? Number.NaN : Number(qv);
      if (!(q >= 0 && q <= 1)) throw valueError('bad q parameter', s, i);
    }
  }
  const tag = flat.length === 0 ? undefined : paramOf(flat, 'tag');
  if (tag === null) throw valueError('tag without a value', s, i);
  return allowStar
    ? new ContactNameAddr(displayName, uri, bracketed, star, expires, q, tag, flat)
    : new NameAddrValue(displayName, uri, bracketed, tag, flat, '', 0, 0);
}

function checkScheme(uri: string, s: string, at: number): void {
  const colon = uri.indexOf(':');
  if (colon <= 0) throw valueError('URI without a scheme', s, at);
  const c0 = uri.charCodeAt(0) | 0x20;
  if (c0 < 97 || c0 > 122) throw valueError('URI scheme must start with a letter', s, at);
}

function endOfSingle(s: string, i: number, end: number, what: string): void {
  if (skipWs(s, i, end) < end) throw valueError(`unexpected text after the ${what}`, s, i);
}

/** A single name-addr / addr-spec with params (Refer-To, Referred-By, P-Asserted-Identity element...). */
export function parseNameAddr(value: string): NameAddr {
  const na = scanNameAddr(value, 0, value.length, false);
  endOfSingle(value, scanEnd, value.length, 'name-addr');
  return na;
}

/** From / To (RFC 3261 20.20, 20.39): one name-addr or addr-spec with params, the tag among them. */
export function parseFromTo(value: string): FromTo {
  return fromToAt(value, 0, value.length);
}

/** @internal From/To in s[start, end), e.g. straight from the header text without copying the value. */
export function fromToAt(s: string, start: number, end: number): FromTo {
  const na = scanNameAddr(s, start, end, false);
  endOfSingle(s, scanEnd, end, 'From/To value');
  return na;
}

/** A comma list of name-addrs (Route, Record-Route, Path, ...), appended to `out`. */
export function parseNameAddrList(value: string, out: NameAddr[] = []): NameAddr[] {
  const end = value.length;
  let i = 0;
  for (;;) {
    out.push(scanNameAddr(value, i, end, false));
    i = scanEnd;
    if (i >= end) return out;
    i++; // the comma
  }
}

/** Contact values (RFC 3261 20.10) of one header line, `*` included, appended to `out`. */
export function parseContacts(value: string, out: ContactValue[] = []): ContactValue[] {
  const end = value.length;
  let i = 0;
  for (;;) {
    // with allowStar the value is a ContactNameAddr
    out.push(scanNameAddr(value, i, end, true) as ContactNameAddr);
    i = scanEnd;
    if (i >= end) return out;
    i++;
  }
}

const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'WSS', 'SCTP', 'WS'];

/** Upper-cased transport token, without allocating for the usual ones. */
function transportName(s: string, a: number, b: number): string {
  for (let t = 0; t < TRANSPORTS.length; t++) {
    const cand = TRANSPORTS[t];
    if (cand.length !== b - a) continue;
    let k = 0;
    for (; k < cand.length; k++) if ((s.charCodeAt(a + k) & 0xdf) !== cand.charCodeAt(k)) break;
    if (k === cand.length) return cand;
  }
  return s.slice(a, b).toUpperCase();
}

/**
 * via-parm = sent-protocol LWS sent-by *( SEMI via-params ) (RFC 3261 20.42, 25.1), LWS allowed around "/".
 * received may be an IPv6 address with or without brackets (RFC 5118 4.5).
 */
function scanVia(s: string, i: number, end: number): Via {
  i = skipWs(s, i, end);
  let a = i;
  let protocol: string;
  let version: string;
  if (
    i + 11 <= end &&
    s.charCodeAt(i) === 0x53 &&
    s.charCodeAt(i + 1) === 0x49 &&
    s.charCodeAt(i + 2) === 0x50 &&
    s.charCodeAt(i + 3) === 0x2f &&
    s.charCodeAt(i + 4) === 0x32 &&
    s.charCodeAt(i + 5) === 0x2e &&
    s.charCodeAt(i + 6) === 0x30 &&
    s.charCodeAt(i + 7) === 0x2f
  ) {
    // the usual `SIP/2.0/` without LWS: no slicing
    protocol = 'SIP';
    version = '2.0';
    i += 8;
  } else {
    i = skipToken(s, i, end);
    if (i === a) throw valueError('missing protocol name', s, i);
    protocol = s.slice(a, i);
    i = skipWs(s, i, end);
    if (s.charCodeAt(i) !== 0x2f) throw valueError('expected "/"', s, i);
    i = skipWs(s, i + 1, end);
    a = i;
    i = skipToken(s, i, end);
    if (i === a) throw valueError('missing protocol version', s, i);
    version = s.slice(a, i);
    i = skipWs(s, i, end);
    if (s.charCodeAt(i) !== 0x2f) throw valueError('expected "/"', s, i);
    i = skipWs(s, i + 1, end);
  }
  a = i;
  i = skipToken(s, i, end);
  if (i === a) throw valueError('missing transport', s, i);
  const transport = transportName(s, a, i);
  const afterTransport = i;
  i = skipWs(s, i, end);
  if (i === afterTransport) throw valueError('expected whitespace before sent-by', s, i);
  let host: string;
  let hostType: 'name' | 'ipv4' | 'ipv6';
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0 || close >= end || !isIPv6(s, i + 1, close)) throw valueError('bad IPv6 reference', s, i);
    host = s.slice(i + 1, close);
    hostType = 'ipv6';
    i = close + 1;
  } else {
    a = i;
    let numeric = true;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c >= 128 || (CLASS[c] & HOST) === 0) break;
      if (numeric && c !== 0x2e && (c < 48 || c > 57)) numeric = false;
      i++;
    }
    if (i === a) throw valueError('missing sent-by host', s, i);
    host = s.slice(a, i);
    hostType = numeric && isIPv4(s, a, i) ? 'ipv4' : 'name';
  }
  i = skipWs(s, i, end);
  let port: number | undefined;
  if (s.charCodeAt(i) === 0x3a) {
    i = skipWs(s, i + 1, end);
    a = i;
    while (i < end) {
      const d = s.charCodeAt(i);
      if (d < 48 || d > 57) break;
      i++;
    }
    port = parseDecimal(s, a, i, 65535);
    if (port < 0) throw valueError('bad sent-by port', s, a);
  }
  const flat: Array<string | null> = [];
  scanEnd = scanParams(s, i, end, flat);
  let branch: string | null | undefined;
  let received: string | null | undefined;
  let rportValue: string | null | undefined;
  let maddr: string | null | undefined;
  let ttlValue: string | null | undefined;
  for (let k = 0; k < flat.length; k += 2) {
    const name = flat[k];
    const v = flat[k + 1];
    if (name === 'branch') branch ??= v;
    else if (name === 'received') received ??= v;
    else if (name === 'rport') rportValue ??= v;
    else if (name === 'maddr') maddr ??= v;
    else if (name === 'ttl') ttlValue ??= v;
  }
  if (branch === null || received === null || maddr === null || ttlValue === null) {
    throw valueError('Via parameter without a value', s, i);
  }
  let rport: number | null | undefined;
  if (rportValue !== undefined) {
    rport = rportValue === null ? null : parseDecimal(rportValue, 0, rportValue.length, 65535);
    if (rport === -1) throw valueError('bad rport', s, i);
  }
  let ttl: number | undefined;
  if (ttlValue !== undefined) {
    ttl = parseDecimal(ttlValue, 0, ttlValue.length, 255);
    if (ttl < 0) throw valueError('bad ttl', s, i);
  }
  return new ViaValue(
    protocol,
    version,
    transport,
    host,
    hostType,
    port,
    branch,
    received,
    rport,
    maddr,
    ttl,
    flat,
    '',
    0,
    0,
    -1,
    false,
  );
}

/** The first Via value of a header line (the rest of a comma list is not examined). */
export function parseVia(value: string): Via {
  return viaAt(value, 0, value.length);
}

/** @internal the first Via value in s[start, end). */
export function viaAt(s: string, start: number, end: number): Via {
  const via = scanVia(s, start, end);
  if (scanEnd < end && s.charCodeAt(scanEnd) !== 0x2c) throw valueError('bad Via', s, scanEnd);
  return via;
}

/** Every Via value of a header line, appended to `out`. */
export function parseVias(value: string, out: Via[] = []): Via[] {
  const end = value.length;
  let i = 0;
  for (;;) {
    out.push(scanVia(value, i, end));
    i = scanEnd;
    if (i >= end) return out;
    i++;
  }
}

/** The magic cookie of RFC 3261 branches (17.1.1.3 / 8.1.1.7). */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** True for an RFC 3261 branch: the magic cookie followed by at least one character (RFC 4475 3.2.1). */
export function isRfc3261Branch(branch: string | undefined): boolean {
  return branch !== undefined && branch.length > 7 && branch.startsWith(BRANCH_MAGIC_COOKIE);
}

/** CSeq = 1*DIGIT LWS Method (RFC 3261 20.16); the number must fit 32 bits (RFC 4475 3.1.2.4). */
export function parseCSeq(value: string, expectedMethod?: string): CSeq {
  return cseqAt(value, 0, value.length, expectedMethod);
}

/** @internal CSeq in value[start, end). */
export function cseqAt(value: string, start: number, end: number, expectedMethod?: string): CSeq {
  let i = skipWs(value, start, end);
  const a = i;
  let seq = 0;
  while (i < end) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
    if (seq > MAX_UINT32) throw valueError('CSeq number above 2^32-1', value, a);
    i++;
  }
  if (i === a) throw valueError('CSeq number missing', value, a);
  const b = skipWs(value, i, end);
  if (b === i) throw valueError('expected whitespace after the CSeq number', value, i);
  i = skipToken(value, b, end);
  if (i === b) throw valueError('missing CSeq method', value, b);
  endOfSingle(value, i, end, 'CSeq method');
  // the request's own method string is reused when it matches (no copy)
  let same = expectedMethod !== undefined && expectedMethod.length === i - b;
  for (let k = 0; same && k < i - b; k++) same = value.charCodeAt(b + k) === (expectedMethod as string).charCodeAt(k);
  return { seq, method: same ? (expectedMethod as string) : value.slice(b, i) };
}

/** delta-seconds for Expires, Min-Expires, Max-Forwards...: an overlarge value is clamped to `max`. */
export function parseDeltaSeconds(value: string, max: number = MAX_UINT32): number {
  const a = skipWs(value, 0, value.length);
  const b = trimEnd(value, a, value.length);
  if (b === a) throw valueError('empty number', value, a);
  for (let i = a; i < b; i++) {
    const d = value.charCodeAt(i);
    if (d < 48 || d > 57) throw valueError('not a number', value, i);
  }
  const n = parseDecimal(value, a, b, max);
  return n < 0 ? max : n;
}

/** Content-Type = m-type SLASH m-subtype *(SEMI m-parameter) (RFC 3261 20.15). */
export function parseMediaType(value: string): MediaType {
  const end = value.length;
  let i = skipWs(value, 0, end);
  const a = i;
  i = skipToken(value, i, end);
  if (i === a) throw valueError('missing media type', value, a);
  const type = value.slice(a, i).toLowerCase();
  i = skipWs(value, i, end);
  if (value.charCodeAt(i) !== 0x2f) throw valueError('expected "/" in media type', value, i);
  i = skipWs(value, i + 1, end);
  const b = i;
  i = skipToken(value, i, end);
  if (i === b) throw valueError('missing media subtype', value, b);
  const subtype = value.slice(b, i).toLowerCase();
  const flat: Array<string | null> = [];
  i = scanParams(value, i, end, flat);
  const params = paramsMap(flat);
  endOfSingle(value, i, end, 'media type');
  return { type, subtype, params };
}

/** A comma list of tokens (Allow, Supported, Require, Proxy-Require, Unsupported, Allow-Events...). */
export function parseTokenList(value: string, out: string[] = []): string[] {
  const items: string[] = [];
  splitList(value, items);
  for (const item of items) {
    if (skipToken(item, 0, item.length) !== item.length) throw valueError('not a token', item, 0);
    out.push(item);
  }
  return out;
}

/**
 * challenge / credentials (RFC 3261 25.1, RFC 2617 / RFC 7616): scheme LWS auth-param *(COMMA auth-param),
 * or a single token68 (`Basic ...`). Names lower-cased, quoted values unquoted.
 */
export function parseAuth(value: string): AuthValue {
  const end = value.length;
  let i = skipWs(value, 0, end);
  const a = i;
  i = skipToken(value, i, end);
  if (i === a) throw valueError('missing auth scheme', value, a);
  const scheme = value.slice(a, i);
  const params = new Map<string, string>();
  i = skipWs(value, i, end);
  if (i >= end) return { scheme, params, token68: undefined };
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  let j = i;
  while (j < end) {
    const c = value.charCodeAt(j);
    if (c === 0x2f || (c < 256 && TOKEN[c] === 1)) j++;
    else break;
  }
  let k = j;
  while (k < end && value.charCodeAt(k) === 0x3d) k++;
  if (skipWs(value, k, end) === end) return { scheme, params, token68: value.slice(i, trimEnd(value, i, end)) };
  for (;;) {
    i = skipWs(value, i, end);
    const n = i;
    i = skipToken(value, i, end);
    if (i === n) throw valueError('missing auth-param name', value, n);
    const name = value.slice(n, i).toLowerCase();
    i = skipWs(value, i, end);
    if (value.charCodeAt(i) !== 0x3d) throw valueError(`expected "=" after ${name}`, value, i);
    i = skipWs(value, i + 1, end);
    let v: string;
    if (value.charCodeAt(i) === 0x22) {
      i = scanQuoted(value, i, end);
      v = quotedText;
    } else {
      const s = i;
      while (i < end) {
        const c = value.charCodeAt(i);
        if (c === 0x2c || c === 32 || c === 9) break;
        i++;
      }
      if (i === s) throw valueError(`empty value of ${name}`, value, s);
      v = value.slice(s, i);
    }
    params.set(name, v);
    i = skipWs(value, i, end);
    if (i >= end) break;
    if (value.charCodeAt(i) !== 0x2c) throw valueError('expected "," between auth-params', value, i);
    i++;
  }
  return { scheme, params, token68: undefined };
}

/** Event = event-type *( SEMI event-param ) (RFC 6665 8.2.1). */
export function parseEvent(value: string): EventValue {
  const end = value.length;
  const a = skipWs(value, 0, end);
  const i = skipToken(value, a, end);
  if (i === a) throw valueError('missing event package', value, a);
  const flat: Array<string | null> = [];
  const j = scanParams(value, i, end, flat);
  const params = paramsMap(flat);
  endOfSingle(value, j, end, 'Event');
  return { event: value.slice(a, i), params };
}

function optionalNumber(params: SipParams, name: string, value: string): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (v === null) throw valueError(`${name} without a value`, value, 0);
  return parseDeltaSeconds(v);
}

/** Subscription-State = substate-value *( SEMI subexp-params ) (RFC 6665 8.2.3). */
export function parseSubscriptionState(value: string): SubscriptionStateValue {
  const end = value.length;
  const a = skipWs(value, 0, end);
  const i = skipToken(value, a, end);
  if (i === a) throw valueError('missing subscription state', value, a);
  const flat: Array<string | null> = [];
  const j = scanParams(value, i, end, flat);
  const params = paramsMap(flat);
  endOfSingle(value, j, end, 'Subscription-State');
  const reason = params.get('reason');
  return {
    state: value.slice(a, i).toLowerCase(),
    reason: reason ?? undefined,
    expires: optionalNumber(params, 'expires', value),
    retryAfter: optionalNumber(params, 'retry-after', value),
    params,
  };
}

/** Replaces = callid *(SEMI replaces-param) (RFC 3891 6.1). */
export function parseReplaces(value: string): ReplacesValue {
  const end = value.length;
  const a = skipWs(value, 0, end);
  let i = a;
  while (i < end) {
    const c = value.charCodeAt(i);
    if (c === 0x3b || c === 32 || c === 9) break;
    i++;
  }
  if (i === a) throw valueError('missing Call-ID in Replaces', value, a);
  const flat: Array<string | null> = [];
  const j = scanParams(value, i, end, flat);
  const params = paramsMap(flat);
  endOfSingle(value, j, end, 'Replaces');
  return {
    callId: value.slice(a, i),
    toTag: params.get('to-tag') ?? undefined,
    fromTag: params.get('from-tag') ?? undefined,
    earlyOnly: params.has('early-only'),
    params,
  };
}

/** Session-Expires = delta-seconds *(SEMI se-params), refresher = uac / uas (RFC 4028 4). */
export function parseSessionExpires(value: string): SessionExpiresValue {
  const end = value.length;
  const a = skipWs(value, 0, end);
  let i = a;
  while (i < end) {
    const d = value.charCodeAt(i);
    if (d < 48 || d > 57) break;
    i++;
  }
  if (i === a) throw valueError('missing delta-seconds', value, a);
  const delta = parseDecimal(value, a, i, MAX_UINT32);
  const flat: Array<string | null> = [];
  const j = scanParams(value, i, end, flat);
  const params = paramsMap(flat);
  endOfSingle(value, j, end, 'Session-Expires');
  const r = params.get('refresher');
  const lower = r?.toLowerCase();
  if (r !== undefined && lower !== 'uac' && lower !== 'uas') throw valueError('bad refresher', value, 0);
  return { delta: delta < 0 ? MAX_UINT32 : delta, refresher: lower as 'uac' | 'uas' | undefined, params };
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * SIP-date = rfc1123-date (RFC 3261 20.17, 25.1): `Sat, 13 Nov 2010 23:29:00 GMT`. Only GMT is a valid zone
 * (RFC 4475 3.1.2.12), anything else throws.
 */
export function parseSipDate(value: string): Date {
  const v = value.trim();
  // wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"
  if (v.length !== 29 || v.charCodeAt(3) !== 0x2c || v.slice(26) !== 'GMT') {
    throw valueError('not an RFC 1123 date in GMT', value, 0);
  }
  const day = parseDecimal(v, 5, 7, 31);
  const month = MONTHS.indexOf(v.slice(8, 11).toLowerCase());
  const year = parseDecimal(v, 12, 16, 9999);
  const hh = parseDecimal(v, 17, 19, 23);
  const mm = parseDecimal(v, 20, 22, 59);
  const ss = parseDecimal(v, 23, 25, 60);
  if (day < 1 || month < 0 || year < 0 || hh < 0 || mm < 0 || ss < 0 || v[19] !== ':' || v[22] !== ':') {
    throw valueError('not an RFC 1123 date', value, 0);
  }
  return new Date(Date.UTC(year, month, day, hh, mm, ss));
}

export { firstListElement, splitList };
