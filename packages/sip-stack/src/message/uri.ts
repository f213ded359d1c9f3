// URIs (RFC 3261 19.1 and 25.1 SIP-URI / SIPS-URI, RFC 3966 tel, RFC 3986 others kept opaque), with %-escapes
// resolved in the parts the RFC defines them for and IPv6 references (RFC 5118).

import { SipParseError } from './errors.js';
import { EMPTY_PARAMS } from './scan.js';
import type { AnyUri, OtherUri, SipParams, SipUri, TelUri } from './types.js';

const NO_HEADERS: Array<readonly [string, string]> = [];
Object.freeze(NO_HEADERS);

function uriError(what: string, s: string, at: number): SipParseError {
  const shown = s.length > 80 ? `${s.slice(0, 77)}...` : s;
  return new SipParseError('uri', `${what} at column ${at + 1} of URI "${shown}"`);
}

// Character classes (RFC 3261 25.1): unreserved = alphanum / mark.
const UNRESERVED = 1;
const USER = 2; // user-unreserved: & = + $ , ; ? /
const PASSWORD = 4; // & = + $ ,
const PARAM = 8; // param-unreserved: [ ] / : & + $
const HNV = 16; // hnv-unreserved: [ ] / ? : + $
/** @internal */
export const HOST = 32; // hostname chars (alphanum - . and, liberally, _)
/** @internal hostname characters (alphanum - . _), shared with the Via parser */
export const CLASS = new Uint8Array(128);
{
  const set = (chars: string, bits: number): void => {
    for (const ch of chars) CLASS[ch.charCodeAt(0)] |= bits;
  };
  for (let c = 0x30; c <= 0x39; c++) CLASS[c] |= UNRESERVED | HOST;
  for (let c = 0x41; c <= 0x5a; c++) CLASS[c] |= UNRESERVED | HOST;
  for (let c = 0x61; c <= 0x7a; c++) CLASS[c] |= UNRESERVED | HOST;
  set("-_.!~*'()", UNRESERVED);
  set('-._', HOST);
  set('&=+$,;?/', USER);
  set('&=+$,', PASSWORD);
  set('[]/:&+$', PARAM);
  set('[]/?:+$', HNV);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Checks s[start, end) holds only characters of `bits` or valid %HH escapes; returns whether any escape was seen. */
function checkChars(s: string, start: number, end: number, bits: number, part: string): boolean {
  let escaped = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= end) throw uriError(`truncated escape in ${part}`, s, i);
      if (hexValue(s.charCodeAt(i + 1)) < 0 || hexValue(s.charCodeAt(i + 2)) < 0) {
        throw uriError(`bad escape in ${part}`, s, i);
      }
      escaped = true;
      i += 2;
    } else if (c >= 128 || (CLASS[c] & bits) === 0) {
      throw uriError(`character "${String.fromCharCode(c)}" not allowed in ${part}`, s, i);
    }
  }
  return escaped;
}

/**
 * Resolves %HH escapes (RFC 3261 19.1.2 / RFC 3986 2.1), decoding the octets as UTF-8. `%00` is kept as U+0000,
 * never truncating (RFC 4475 3.1.1.4). A `%` not followed by two hex digits is kept literally.
 */
export function unescapeUriPart(s: string): string {
  if (s.indexOf('%') < 0) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length) {
      const h = hexValue(s.charCodeAt(i + 1));
      const l = hexValue(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        bytes.push(h * 16 + l);
        i += 2;
        continue;
      }
    }
    if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(String.fromCharCode(c), 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** %-escapes every character of `s` outside the `allowed` class bits (UTF-8 octets for non-ASCII). */
function escapePart(s: string, allowed: number): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && (CLASS[c] & allowed) !== 0) continue;
    out += s.slice(from, i);
    let ch = s[i];
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      ch += s[i + 1];
      i++;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
    from = i + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

/** Host type of a bare host (no brackets). */
export function hostTypeOf(host: string): 'name' | 'ipv4' | 'ipv6' {
  if (host.indexOf(':') >= 0) return 'ipv6';
  return isIPv4(host, 0, host.length) ? 'ipv4' : 'name';
}

export function isIPv4(s: string, start: number, end: number): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0) return false;
      parts++;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + c - 48;
      digits++;
      if (digits > 3 || value > 255) return false;
    } else return false;
  }
  return parts === 3 && digits > 0;
}

/**
 * IPv6reference contents (RFC 3261 25.1 / RFC 4291 2.2), validated for shape: hex groups, colons, an optional
 * trailing IPv4. Three colons in a row are tolerated (RFC 5118 4.10, robustness).
 */
export function isIPv6(s: string, start: number, end: number): boolean {
  let colons = 0;
  let groupDigits = 0;
  let sawDot = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) {
      if (sawDot) return false;
      colons++;
      groupDigits = 0;
    } else if (c === 0x2e) {
      sawDot = true;
    } else if (hexValue(c) >= 0) {
      groupDigits++;
      if (groupDigits > 4 && !sawDot) return false;
    } else return false;
  }
  if (colons < 2 || colons > 8) return false;
  if (sawDot) {
    const lastColon = s.lastIndexOf(':', end - 1);
    return isIPv4(s, lastColon + 1, end);
  }
  return true;
}

function scanUriParams(s: string, i: number, end: number, params: Map<string, string | null>, part: string): number {
  // uri-parameters = *( ";" uri-parameter ), uri-parameter = pname [ "=" pvalue ] (RFC 3261 25.1)
  while (i < end && s.charCodeAt(i) === 0x3b) {
    i++;
    const nameStart = i;
    let eq = -1;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 0x3b || c === 0x3f) break;
      if (c === 0x3d && eq < 0) eq = i;
      i++;
    }
    const nameEnd = eq < 0 ? i : eq;
    if (nameEnd === nameStart) throw uriError(`empty ${part} name`, s, nameStart);
    const nameEscaped = checkChars(s, nameStart, nameEnd, UNRESERVED | PARAM, part);
    let value: string | null = null;
    if (eq >= 0) {
      if (eq + 1 === i) throw uriError(`empty ${part} value`, s, eq);
      const valueEscaped = checkChars(s, eq + 1, i, UNRESERVED | PARAM, part);
      value = s.slice(eq + 1, i);
      if (valueEscaped) value = unescapeUriPart(value);
    }
    let name = s.slice(nameStart, nameEnd);
    if (nameEscaped) name = unescapeUriPart(name);
    params.set(name.toLowerCase(), value);
  }
  return i;
}

function parseSipUri(s: string, scheme: 'sip' | 'sips', p: number): SipUri {
  const end = s.length;
  let user: string | undefined;
  let password: string | undefined;
  const at = s.indexOf('@', p);
  if (at >= 0) {
    // userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
    let colon = -1;
    for (let i = p; i < at; i++) {
      if (s.charCodeAt(i) === 0x3a) {
        colon = i;
        break;
      }
    }
    const userEnd = colon < 0 ? at : colon;
    if (userEnd === p) throw uriError('empty user part', s, p);
    const userEscaped = checkChars(s, p, userEnd, UNRESERVED | USER, 'user part');
    user = s.slice(p, userEnd);
    if (userEscaped) user = unescapeUriPart(user);
    if (colon >= 0) {
      const pwEscaped = checkChars(s, colon + 1, at, UNRESERVED | PASSWORD, 'password');
      password = s.slice(colon + 1, at);
      if (pwEscaped) password = unescapeUriPart(password);
    }
    p = at + 1;
  }
  // hostport = host [ ":" port ]
  let host: string;
  let hostType: 'name' | 'ipv4' | 'ipv6';
  let i = p;
  if (i < end && s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0 || !isIPv6(s, i + 1, close)) throw uriError('bad IPv6 reference', s, i);
    host = s.slice(i + 1, close);
    hostType = 'ipv6';
    i = close + 1;
  } else {
    let numeric = true;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c >= 128 || (CLASS[c] & HOST) === 0) break;
      if (numeric && c !== 0x2e && (c < 48 || c > 57)) numeric = false;
      i++;
    }
    if (i === p) throw uriError('missing host', s, p);
    host = s.slice(p, i);
    hostType = numeric && isIPv4(s, p, i) ? 'ipv4' : 'name';
  }
  let port: number | undefined;
  if (i < end && s.charCodeAt(i) === 0x3a) {
    const portStart = ++i;
    let n = 0;
    while (i < end) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      if (n > 65535) throw uriError('port out of range', s, portStart);
      i++;
    }
    if (i === portStart) throw uriError('bad port', s, portStart);
    port = n;
  }
  let params: SipParams = EMPTY_PARAMS;
  if (i < end && s.charCodeAt(i) === 0x3b) {
    const m = new Map<string, string | null>();
    i = scanUriParams(s, i, end, m, 'uri-parameter');
    params = m;
  }
  let headers: Array<readonly [string, string]> = NO_HEADERS;
  if (i < end && s.charCodeAt(i) === 0x3f) {
    headers = [];
    // headers = "?" header *( "&" header ), header = hname "=" hvalue
    i++;
    for (;;) {
      const start = i;
      let eq = -1;
      while (i < end && s.charCodeAt(i) !== 0x26) {
        if (s.charCodeAt(i) === 0x3d && eq < 0) eq = i;
        i++;
      }
      if (eq <= start) throw uriError('bad URI header', s, start);
      checkChars(s, start, eq, UNRESERVED | HNV, 'URI header name');
      checkChars(s, eq + 1, i, UNRESERVED | HNV, 'URI header value');
      headers.push([unescapeUriPart(s.slice(start, eq)), unescapeUriPart(s.slice(eq + 1, i))]);
      if (i >= end) break;
      i++;
    }
  }
  if (i < end) throw uriError(`unexpected character "${s[i]}"`, s, i);
  return { scheme, user, password, host, hostType, port, params, headers, raw: s };
}

function parseTelUri(s: string, p: number): TelUri {
  // RFC 3966 3: telephone-subscriber = global-number / local-number, then ;par
  const end = s.length;
  let i = p;
  while (i < end && s.charCodeAt(i) !== 0x3b) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 48 && c <= 57) ||
      c === 0x2b ||
      c === 0x2d ||
      c === 0x2e ||
      c === 0x28 ||
      c === 0x29 ||
      c === 0x2a ||
      c === 0x23 ||
      (hexValue(c) >= 0 && c > 57) ||
      (c | 0x20) === 0x70 ||
      (c | 0x20) === 0x77;
    if (!ok) throw uriError(`character "${s[i]}" not allowed in a telephone number`, s, i);
    i++;
  }
  if (i === p || (i === p + 1 && s.charCodeAt(p) === 0x2b)) throw uriError('empty telephone number', s, p);
  const number = s.slice(p, i);
  const params = new Map<string, string | null>();
  i = scanUriParams(s, i, end, params, 'tel parameter');
  if (i < end) throw uriError(`unexpected character "${s[i]}"`, s, i);
  return { scheme: 'tel', number, params, raw: s };
}

/**
 * Parses a URI: `sip:` / `sips:` into a SipUri, `tel:` into a TelUri, any other `scheme:` into an opaque OtherUri.
 * Throws SipParseError (code 'uri') when malformed, including any whitespace inside (RFC 4475 3.1.2.8, 3.1.2.14).
 */
export function parseUri(s: string): AnyUri {
  const end = s.length;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  let i = 0;
  const c0 = s.charCodeAt(0) | 0x20;
  if (!(c0 >= 97 && c0 <= 122)) throw uriError('missing scheme', s, 0);
  i = 1;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) break;
    const l = c | 0x20;
    if (!((l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 0x2b || c === 0x2d || c === 0x2e)) {
      throw uriError('bad scheme', s, i);
    }
    i++;
  }
  if (i >= end) throw uriError('missing ":" after scheme', s, i);
  const schemeLen = i;
  const p = i + 1;
  if (schemeLen === 3) {
    const a = s.charCodeAt(0) | 0x20;
    const b = s.charCodeAt(1) | 0x20;
    const c = s.charCodeAt(2) | 0x20;
    if (a === 0x73 && b === 0x69 && c === 0x70) return parseSipUri(s, 'sip', p);
    if (a === 0x74 && b === 0x65 && c === 0x6c) return parseTelUri(s, p);
  } else if (schemeLen === 4 && s.slice(0, 4).toLowerCase() === 'sips') {
    return parseSipUri(s, 'sips', p);
  }
  for (let k = p; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c <= 32 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      throw uriError('character not allowed in URI', s, k);
    }
  }
  const other: OtherUri = { scheme: s.slice(0, schemeLen).toLowerCase(), opaque: s.slice(p), raw: s };
  return other;
}

export function isSipUri(uri: AnyUri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

export function isTelUri(uri: AnyUri): uri is TelUri {
  return uri.scheme === 'tel';
}

/** The parts needed to write a SIP URI; host is bare (IPv6 without brackets). */
export interface SipUriParts {
  readonly scheme?: 'sip' | 'sips';
  readonly user?: string;
  readonly password?: string;
  readonly host: string;
  readonly port?: number;
  readonly params?: ReadonlyMap<string, string | null> | Readonly<Record<string, string | null>>;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

function paramEntries(
  params: ReadonlyMap<string, string | null> | Readonly<Record<string, string | null>> | undefined,
): Iterable<readonly [string, string | null]> {
  if (params === undefined) return [];
  return params instanceof Map ? params.entries() : Object.entries(params);
}

/** Writes a SIP/SIPS URI, %-escaping what the grammar requires (RFC 3261 19.1.2). */
export function formatSipUri(parts: SipUriParts): string {
  let out = `${parts.scheme ?? 'sip'}:`;
  if (parts.user !== undefined) {
    out += escapePart(parts.user, UNRESERVED | USER);
    if (parts.password !== undefined) out += `:${escapePart(parts.password, UNRESERVED | PASSWORD)}`;
    out += '@';
  }
  out += parts.host.indexOf(':') >= 0 && parts.host.charCodeAt(0) !== 0x5b ? `[${parts.host}]` : parts.host;
  if (parts.port !== undefined) out += `:${parts.port}`;
  for (const [name, value] of paramEntries(parts.params)) {
    out += `;${escapePart(name, UNRESERVED | PARAM)}`;
    if (value !== null) out += `=${escapePart(value, UNRESERVED | PARAM)}`;
  }
  if (parts.headers !== undefined && parts.headers.length > 0) {
    out += '?';
    parts.headers.forEach(([name, value], k) => {
      out += `${k > 0 ? '&' : ''}${escapePart(name, UNRESERVED | HNV)}=${escapePart(value, UNRESERVED | HNV)}`;
    });
  }
  return out;
}

/** Writes any parsed URI back to text (a SipUri is rebuilt from its parts, so edits to a copy show). */
export function formatUri(uri: AnyUri): string {
  if (isSipUri(uri)) return formatSipUri(uri);
  if (isTelUri(uri)) {
    let out = `tel:${uri.number}`;
    for (const [name, value] of uri.params) out += value === null ? `;${name}` : `;${name}=${value}`;
    return out;
  }
  return `${uri.scheme}:${(uri as OtherUri).opaque}`;
}

/** Host as written in a URI or Via sent-by: IPv6 gets brackets. */
export function formatHost(host: string): string {
  return host.indexOf(':') >= 0 && host.charCodeAt(0) !== 0x5b ? `[${host}]` : host;
}

/**
 * URI equality (RFC 3261 19.1.4) for SIP/SIPS: scheme, user and password case-sensitively after unescaping,
 * host case-insensitively, port, and the parameters both carry (user, ttl, method, maddr and transport must match
 * when either has them); headers compared as sets. Other schemes compare by raw text, case-insensitive scheme.
 */
export function uriEquals(a: AnyUri, b: AnyUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (!isSipUri(a) || !isSipUri(b)) {
    if (isTelUri(a) && isTelUri(b)) return a.number === b.number;
    return a.raw === b.raw;
  }
  if (a.user !== b.user || a.password !== b.password) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase() || a.port !== b.port) return false;
  for (const name of ['user', 'ttl', 'method', 'maddr', 'transport']) {
    const va = a.params.get(name);
    const vb = b.params.get(name);
    if ((va === undefined) !== (vb === undefined)) return false;
    if (va !== undefined && (va ?? '').toLowerCase() !== (vb ?? '').toLowerCase()) return false;
  }
  for (const [name, va] of a.params) {
    const vb = b.params.get(name);
    if (vb !== undefined && (va ?? '').toLowerCase() !== (vb ?? '').toLowerCase()) return false;
  }
  if (a.headers.length !== b.headers.length) return false;
  for (const [name, value] of a.headers) {
    if (!b.headers.some(([n, v]) => n.toLowerCase() === name.toLowerCase() && v === value)) return false;
  }
  return true;
}
