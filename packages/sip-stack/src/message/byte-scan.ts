// Byte scanners for the usual wire form of the headers the transaction layer reads (RFC 3261 20.42 Via, 20.20 and
// 20.39 From/To, 20.16 CSeq), run on the received bytes of an all-ASCII message, where typed-array reads are
// cheaper than charCodeAt on the decoded text. Byte k of the text is b[off + k]. Each scanner returns undefined for
// anything unusual (quoted or odd params, IPv6, escapes, other transports, any fault); the caller then parses the
// text with the general parsers of headers.ts, which give the same value or the precise error.

import { NameAddrValue, ViaValue } from './headers.js';
import { TOKEN as TOKEN_TABLE, VALUE_STOP as VALUE_STOP_TABLE } from './scan.js';
import type { CSeq, FromTo, Via } from './types.js';
import { HOST as HOST_BIT, CLASS as URI_CLASS } from './uri.js';

// Module-local copies of the tables: optimized code reads an imported binding through its cell, with a TDZ check,
// on every use (once per byte in the loops below); a local const is a constant to it.
const TOKEN = TOKEN_TABLE;
/** VALUE_STOP and the control characters: a value with CR or NUL (say) is left to the general parsers, so that a
 * value these scanners accept is known to hold none (PLAIN in header-names.ts). */
const WIRE_VALUE_STOP = new Uint8Array(63);
for (let c = 0; c < 63; c++) WIRE_VALUE_STOP[c] = c < 32 || VALUE_STOP_TABLE[c] === 1 ? 1 : 0;
const CLASS = URI_CLASS;
const HOST = HOST_BIT;

const MAX_UINT32 = 4294967295;

function skipWs(b: Uint8Array, off: number, i: number, end: number): number {
  while (i < end) {
    const c = b[off + i];
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

function skipToken(b: Uint8Array, off: number, i: number, end: number): number {
  while (i < end && TOKEN[b[off + i]] === 1) i++;
  return i;
}

// Values of the parameters read here, from the last paramsAt call (undefined: absent, null: no value).
let tag: string | null | undefined;
let branch: string | null | undefined;
let received: string | null | undefined;
/** rport as a number (-1 when not a port number) */
let rport: number | null | undefined;
let maddr: string | null | undefined;
let ttl: string | null | undefined;

const TAG = 1;
const BRANCH = 2;
const RECEIVED = 3;
const RPORT = 4;
const MADDR = 5;
const TTL = 6;

/** Which of the parameters read here b[at, at + len) names, ignoring case (all letters: `| 0x20` folds exactly). */
function knownParam(b: Uint8Array, at: number, len: number): number {
  switch (len) {
    case 3: {
      const c0 = b[at] | 0x20;
      const c1 = b[at + 1] | 0x20;
      const c2 = b[at + 2] | 0x20;
      if (c0 !== 0x74) return 0;
      if (c1 === 0x61 && c2 === 0x67) return TAG;
      return c1 === 0x74 && c2 === 0x6c ? TTL : 0;
    }
    case 5: {
      const c0 = b[at] | 0x20;
      if (c0 === 0x72) {
        return (b[at + 1] | 0x20) === 0x70 &&
          (b[at + 2] | 0x20) === 0x6f &&
          (b[at + 3] | 0x20) === 0x72 &&
          (b[at + 4] | 0x20) === 0x74
          ? RPORT
          : 0;
      }
      return c0 === 0x6d &&
        (b[at + 1] | 0x20) === 0x61 &&
        (b[at + 2] | 0x20) === 0x64 &&
        (b[at + 3] | 0x20) === 0x64 &&
        (b[at + 4] | 0x20) === 0x72
        ? MADDR
        : 0;
    }
    case 6:
      return (b[at] | 0x20) === 0x62 &&
        (b[at + 1] | 0x20) === 0x72 &&
        (b[at + 2] | 0x20) === 0x61 &&
        (b[at + 3] | 0x20) === 0x6e &&
        (b[at + 4] | 0x20) === 0x63 &&
        (b[at + 5] | 0x20) === 0x68
        ? BRANCH
        : 0;
    case 8:
      return (b[at] | 0x20) === 0x72 &&
        (b[at + 1] | 0x20) === 0x65 &&
        (b[at + 2] | 0x20) === 0x63 &&
        (b[at + 3] | 0x20) === 0x65 &&
        (b[at + 4] | 0x20) === 0x69 &&
        (b[at + 5] | 0x20) === 0x76 &&
        (b[at + 6] | 0x20) === 0x65 &&
        (b[at + 7] | 0x20) === 0x64
        ? RECEIVED
        : 0;
    default:
      return 0;
  }
}

/**
 * *( SEMI generic-param ) with token values (scan.ts scanParams, RFC 3261 25.1), keeping only the values read
 * above: the first tag; branch, received, rport, maddr and ttl as Via takes them (the first with a value).
 * Returns where the params end (the end or a comma), or -1 to leave the value to the general parser.
 */
function paramsAt(b: Uint8Array, off: number, s: string, i: number, end: number): number {
  tag = undefined;
  branch = undefined;
  received = undefined;
  rport = undefined;
  maddr = undefined;
  ttl = undefined;
  for (;;) {
    i = skipWs(b, off, i, end);
    if (i >= end) return i;
    let c = b[off + i];
    if (c === 0x2c) return i;
    if (c !== 0x3b) return -1;
    i = skipWs(b, off, i + 1, end);
    const nameStart = i;
    i = skipToken(b, off, i, end);
    if (i === nameStart) return -1;
    const which = knownParam(b, off + nameStart, i - nameStart);
    i = skipWs(b, off, i, end);
    let value: string | null = null;
    if (i < end && b[off + i] === 0x3d) {
      i = skipWs(b, off, i + 1, end);
      const valueStart = i;
      while (i < end) {
        c = b[off + i];
        // letters pass with one comparison; the stops are all below "?"
        if (c < 63 && WIRE_VALUE_STOP[c] === 1) break;
        i++;
      }
      // a quoted value (or none) goes to the general parser
      if (i === valueStart || c === 0x22) return -1;
      if (which === RPORT) {
        // the port is read from the bytes: no string for it
        if (rport === undefined || rport === null) rport = portAt(b, off + valueStart, off + i);
        continue;
      }
      if (which !== 0) value = s.slice(valueStart, i);
    }
    switch (which) {
      case TAG:
        if (tag === undefined) tag = value;
        break;
      case BRANCH:
        branch ??= value;
        break;
      case RECEIVED:
        received ??= value;
        break;
      case RPORT:
        rport ??= null;
        break;
      case MADDR:
        maddr ??= value;
        break;
      case TTL:
        ttl ??= value;
        break;
    }
  }
}

/** 1*DIGIT no larger than 65535 in b[from, to); -1 when not one. */
function portAt(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > 65535) return -1;
  }
  return n;
}

/** 1*DIGIT no larger than `max` in s (a parameter value); -1 when not one. */
function decimal(s: string, max: number): number {
  if (s.length === 0) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > max) return -1;
  }
  return n;
}

/** The usual transports, upper-cased (headers.ts transportName); undefined for others. */
function transportAt(b: Uint8Array, at: number, len: number): string | undefined {
  const c0 = b[at] & 0xdf;
  if (len === 3) {
    const c1 = b[at + 1] & 0xdf;
    const c2 = b[at + 2] & 0xdf;
    if (c1 === 0x44 && c2 === 0x50 && c0 === 0x55) return 'UDP';
    if (c1 === 0x43 && c2 === 0x50 && c0 === 0x54) return 'TCP';
    if (c1 === 0x4c && c2 === 0x53 && c0 === 0x54) return 'TLS';
    if (c1 === 0x53 && c2 === 0x53 && c0 === 0x57) return 'WSS';
  } else if (len === 2) {
    if (c0 === 0x57 && (b[at + 1] & 0xdf) === 0x53) return 'WS';
  }
  return undefined;
}

function isIPv4(b: Uint8Array, off: number, start: number, end: number): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = b[off + i];
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
 * The wire form nearly every Via has, scanned in one loop with no helper calls: `SIP/2.0/UDP` (or TCP, TLS), one
 * SP, host, optional `:port`, then `;name[=value]` params with no whitespace, to the end of the line. Anything
 * else (whitespace, a comma, case variants, quotes, an odd param) returns undefined for viaBytes to scan; where
 * this returns a value it is the one viaBytes gives (test/message/byte-scan.test.ts).
 */
export function viaWire(b: Uint8Array, off: number, s: string, start: number, end: number): Via | undefined {
  const e = off + end;
  let i = off + start;
  if (
    i + 13 > e ||
    b[i] !== 0x53 ||
    b[i + 1] !== 0x49 ||
    b[i + 2] !== 0x50 ||
    b[i + 3] !== 0x2f ||
    b[i + 4] !== 0x32 ||
    b[i + 5] !== 0x2e ||
    b[i + 6] !== 0x30 ||
    b[i + 7] !== 0x2f ||
    b[i + 11] !== 32
  ) {
    return undefined;
  }
  const t0 = b[i + 8];
  const t1 = b[i + 9];
  const t2 = b[i + 10];
  let transport: string;
  if (t0 === 0x55 && t1 === 0x44 && t2 === 0x50) transport = 'UDP';
  else if (t0 === 0x54 && t1 === 0x43 && t2 === 0x50) transport = 'TCP';
  else if (t0 === 0x54 && t1 === 0x4c && t2 === 0x53) transport = 'TLS';
  else return undefined;
  i += 12;
  // host: hostname characters; numeric (digits and dots) only as an IPv4 address
  const h = i;
  let numeric = true;
  let c = 0;
  while (i < e) {
    c = b[i];
    // digits and dots (an IPv4 address) pass without a table load: each load checks the table's map and bounds
    if ((c >= 48 && c <= 57) || c === 0x2e) {
      i++;
      continue;
    }
    if (c >= 128 || (CLASS[c] & HOST) === 0) break;
    numeric = false;
    i++;
  }
  if (i === h) return undefined;
  let hostType: 'ipv4' | 'name' = 'name';
  if (numeric) {
    if (!isIPv4(b, 0, h, i)) return undefined;
    hostType = 'ipv4';
  }
  const host = s.slice(h - off, i - off);
  // whether the sent-by reads as StampedViaValue would write it (ViaValue wireAt): the protocol, transport and host
  // are as matched here; a port with a leading zero is not
  let plain = true;
  let port: number | undefined;
  if (i < e && c === 0x3a) {
    const a = ++i;
    let n = 0;
    while (i < e) {
      const d = b[i] - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      i++;
    }
    if (i === a || i - a > 5 || n > 65535) return undefined;
    port = n;
    if (b[a] === 0x30 && i - a > 1) plain = false;
  }
  const paramsStart = i - off;
  // ;name[=value]: the first branch, received, maddr with a value; rport with or without a port (RFC 3581)
  let viaBranch: string | undefined;
  let viaReceived: string | undefined;
  let viaMaddr: string | undefined;
  let viaRport: number | null | undefined;
  // whether the params are written as StampedViaValue writes them back (ViaValue plainParams: lower-case names,
  // token or host values, no received, no name twice, at most 8), so that the stamped text need not check them
  // again; names knownParam does not know are not compared here: a second one leaves that to plainParams
  let paramsPlain = plain;
  let seen = 0;
  let count = 0;
  let unknown = 0;
  while (i < e) {
    if (b[i] !== 0x3b) return undefined;
    const n0 = ++i;
    while (i < e) {
      c = b[i];
      // lower-case letters (nearly every name) are plain token characters: no table load
      if (c >= 0x61 && c <= 0x7a) {
        i++;
        continue;
      }
      if (TOKEN[c] !== 1) break;
      if (c <= 0x5a && c >= 0x41) paramsPlain = false;
      i++;
    }
    const len = i - n0;
    if (len === 0) return undefined;
    let v0 = -1;
    if (i < e) {
      c = b[i];
      if (c === 0x3d) {
        v0 = ++i;
        while (i < e) {
          c = b[i];
          // letters and digits are token characters and no stop: no table loads
          if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a)) {
            i++;
            continue;
          }
          if (c < 63 && WIRE_VALUE_STOP[c] === 1) break;
          if (TOKEN[c] !== 1 && c !== 0x3a && c !== 0x5b && c !== 0x5d) paramsPlain = false;
          i++;
        }
        if (i === v0) return undefined;
      } else if (c !== 0x3b) return undefined;
    }
    // branch and rport as written in nearly every Via are matched here, without a call
    const which =
      len === 6 &&
      b[n0] === 0x62 &&
      b[n0 + 1] === 0x72 &&
      b[n0 + 2] === 0x61 &&
      b[n0 + 3] === 0x6e &&
      b[n0 + 4] === 0x63 &&
      b[n0 + 5] === 0x68
        ? BRANCH
        : len === 5 &&
            b[n0] === 0x72 &&
            b[n0 + 1] === 0x70 &&
            b[n0 + 2] === 0x6f &&
            b[n0 + 3] === 0x72 &&
            b[n0 + 4] === 0x74
          ? RPORT
          : knownParam(b, n0, len);
    if (++count > 8 || which === RECEIVED) paramsPlain = false;
    else if (which !== 0) {
      if ((seen & (1 << which)) !== 0) paramsPlain = false;
      seen |= 1 << which;
    } else if (unknown++ > 0) paramsPlain = false;
    if (which === 0) continue;
    if (v0 < 0) {
      // branch, received, maddr and ttl need a value; tag is not a Via param here (viaBytes ignores it)
      if (which === RPORT) viaRport ??= null;
      else if (which !== TAG) return undefined;
      continue;
    }
    switch (which) {
      case BRANCH:
        viaBranch ??= s.slice(v0 - off, i - off);
        break;
      case RECEIVED:
        viaReceived ??= s.slice(v0 - off, i - off);
        break;
      case MADDR:
        viaMaddr ??= s.slice(v0 - off, i - off);
        break;
      case RPORT:
        if (viaRport === undefined || viaRport === null) {
          viaRport = portAt(b, v0, i);
          if (viaRport < 0) return undefined;
        }
        break;
      case TTL:
        // the ttl's number is viaBytes's
        return undefined;
    }
  }
  return new ViaValue(
    'SIP',
    '2.0',
    transport,
    host,
    hostType,
    port,
    viaBranch,
    viaReceived,
    viaRport,
    viaMaddr,
    undefined,
    undefined,
    s,
    paramsStart,
    end,
    plain ? start : -1,
    paramsPlain,
    // `;rport` last (so that the stamped text need not search for it)
    e - 6 >= paramsStart + off &&
      b[e - 6] === 0x3b &&
      b[e - 5] === 0x72 &&
      b[e - 4] === 0x70 &&
      b[e - 3] === 0x6f &&
      b[e - 2] === 0x72 &&
      b[e - 1] === 0x74,
  );
}

/** The first Via value in text[start, end) when it is `SIP/2.0/<transport> host[:port]` with token params. */
export function viaBytes(b: Uint8Array, off: number, s: string, start: number, end: number): Via | undefined {
  let i = skipWs(b, off, start, end);
  if (i + 11 > end) return undefined;
  const o = off + i;
  if (
    b[o] !== 0x53 ||
    b[o + 1] !== 0x49 ||
    b[o + 2] !== 0x50 ||
    b[o + 3] !== 0x2f ||
    b[o + 4] !== 0x32 ||
    b[o + 5] !== 0x2e ||
    b[o + 6] !== 0x30 ||
    b[o + 7] !== 0x2f
  ) {
    return undefined;
  }
  i += 8;
  let a = i;
  i = skipToken(b, off, i, end);
  const transport = transportAt(b, off + a, i - a);
  if (transport === undefined) return undefined;
  const afterTransport = i;
  i = skipWs(b, off, i, end);
  if (i === afterTransport) return undefined;
  // host = hostname / IPv4address (an IPv6 reference goes to the general parser)
  a = i;
  let numeric = true;
  while (i < end) {
    const c = b[off + i];
    if (c >= 128 || (CLASS[c] & HOST) === 0) break;
    if (numeric && c !== 0x2e && (c < 48 || c > 57)) numeric = false;
    i++;
  }
  if (i === a) return undefined;
  const host = s.slice(a, i);
  const hostType = numeric && isIPv4(b, off, a, i) ? 'ipv4' : 'name';
  i = skipWs(b, off, i, end);
  let port: number | undefined;
  if (i < end && b[off + i] === 0x3a) {
    i = skipWs(b, off, i + 1, end);
    a = i;
    let n = 0;
    while (i < end) {
      const d = b[off + i] - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      if (n > 65535) return undefined;
      i++;
    }
    if (i === a) return undefined;
    port = n;
  }
  const paramsStart = i;
  if (paramsAt(b, off, s, i, end) < 0) return undefined;
  if (branch === null || received === null || maddr === null || ttl === null) return undefined;
  if (rport === -1) return undefined;
  let ttlNumber: number | undefined;
  if (ttl !== undefined) {
    ttlNumber = decimal(ttl, 255);
    if (ttlNumber < 0) return undefined;
  }
  return new ViaValue(
    'SIP',
    '2.0',
    transport,
    host,
    hostType,
    port,
    branch,
    received,
    rport,
    maddr,
    ttlNumber,
    undefined,
    s,
    paramsStart,
    end,
    -1,
    false,
  );
}

/**
 * From / To in their usual wire form, `<URI>` then `;name[=value]` params with no whitespace, in one loop; anything
 * else returns undefined for fromToBytes to scan. Where this returns a value it is the one fromToBytes gives.
 */
export function fromToWire(b: Uint8Array, off: number, s: string, start: number, end: number): FromTo | undefined {
  const e = off + end;
  const lt = off + start;
  if (lt >= e || b[lt] !== 0x3c) return undefined;
  // "<" addr-spec ">" with no LWS inside (RFC 4475 3.1.2.14)
  let i = lt + 1;
  let c = 0;
  // two bytes a turn: each turn of a loop checks the array's map, reloads its base and passes a stack check
  while (i + 1 < e) {
    c = b[i];
    if (c === 0x3e || c <= 32) break;
    c = b[i + 1];
    if (c === 0x3e || c <= 32) {
      i++;
      break;
    }
    i += 2;
  }
  if (i + 1 >= e && i < e) c = b[i];
  if (i >= e || c !== 0x3e || i === lt + 1) return undefined;
  const uriAt = lt + 1 - off;
  const uriEnd = i - off;
  const paramsStart = ++i - off;
  let tagValue: string | undefined;
  while (i < e) {
    if (b[i] !== 0x3b) return undefined;
    const n0 = ++i;
    while (i < e) {
      c = b[i];
      // lower-case letters (nearly every name) with no table load
      if ((c < 0x61 || c > 0x7a) && TOKEN[c] !== 1) break;
      i++;
    }
    const len = i - n0;
    if (len === 0) return undefined;
    let v0 = -1;
    if (i < e) {
      c = b[i];
      if (c === 0x3d) {
        v0 = ++i;
        while (i < e) {
          c = b[i];
          if (c < 63 && WIRE_VALUE_STOP[c] === 1) break;
          i++;
        }
        if (i === v0) return undefined;
      } else if (c !== 0x3b) return undefined;
    }
    // "tag" in any case, compared here rather than by a call of knownParam
    if (
      len === 3 &&
      tagValue === undefined &&
      (b[n0] | 0x20) === 0x74 &&
      (b[n0 + 1] | 0x20) === 0x61 &&
      (b[n0 + 2] | 0x20) === 0x67
    ) {
      // a tag without a value is the general parser's to refuse
      if (v0 < 0) return undefined;
      tagValue = s.slice(v0 - off, i - off);
    }
  }
  return new NameAddrValue(undefined, undefined, true, tagValue, undefined, s, paramsStart, end, uriAt, uriEnd);
}

/** From / To in text[start, end) when it is `[display-name] <URI>` with token params. */
export function fromToBytes(b: Uint8Array, off: number, s: string, start: number, end: number): FromTo | undefined {
  let i = skipWs(b, off, start, end);
  if (i >= end) return undefined;
  let displayName: string | undefined;
  let c = b[off + i];
  if (c === 0x22) {
    // quoted-string without quoted-pairs
    let j = i + 1;
    while (j < end) {
      c = b[off + j];
      if (c === 0x22 || c === 0x5c || c === 13 || c === 10) break;
      j++;
    }
    if (j >= end || c !== 0x22) return undefined;
    displayName = s.slice(i + 1, j);
    i = skipWs(b, off, j + 1, end);
    if (i >= end || b[off + i] !== 0x3c) return undefined;
  } else if (c !== 0x3c) {
    // *(token LWS) before "<"; an addr-spec without <> goes to the general parser
    let j = i;
    while (j < end) {
      c = b[off + j];
      if (c !== 32 && c !== 9 && TOKEN[c] !== 1) break;
      j++;
    }
    if (j >= end || c !== 0x3c) return undefined;
    let nameEnd = j;
    while (nameEnd > i && (b[off + nameEnd - 1] === 32 || b[off + nameEnd - 1] === 9)) nameEnd--;
    if (nameEnd > i) displayName = s.slice(i, nameEnd);
    i = j;
  }
  // "<" addr-spec ">" with no LWS inside (RFC 4475 3.1.2.14)
  let k = i + 1;
  while (k < end) {
    c = b[off + k];
    if (c === 0x3e || c <= 32) break;
    k++;
  }
  if (k >= end || c !== 0x3e || k === i + 1) return undefined;
  // the value ends after its params (a comma would be a second value)
  if (paramsAt(b, off, s, k + 1, end) !== end || tag === null) return undefined;
  return new NameAddrValue(displayName, undefined, true, tag, undefined, s, k + 1, end, i + 1, k);
}

/**
 * CSeq = 1*DIGIT LWS Method (RFC 3261 20.16) in text[start, end); the request's method string is reused. When
 * `methodAt` is not -1 the method's bytes are text[methodAt, methodAt + method.length) (the request line): they are
 * compared byte to byte, cheaper than charCodeAt on the method string.
 */
export function cseqBytes(
  b: Uint8Array,
  off: number,
  s: string,
  start: number,
  end: number,
  method: string | undefined,
  methodAt = -1,
): CSeq | undefined {
  let i = skipWs(b, off, start, end);
  const a = i;
  let seq = 0;
  while (i < end) {
    const d = b[off + i] - 48;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
    if (seq > MAX_UINT32) return undefined;
    i++;
  }
  if (i === a) return undefined;
  const m = skipWs(b, off, i, end);
  if (m === i) return undefined;
  let same = method !== undefined;
  if (methodAt >= 0) {
    // the token scanned and compared with the request line's method in one loop; upper-case letters (every usual
    // method) pass without a table load. b[j] stays before b[off + i]: methodAt + (i - m) < i.
    const j = off + methodAt - m;
    for (i = m; i < end; i++) {
      const c = b[off + i];
      if ((c < 0x41 || c > 0x5a) && TOKEN[c] !== 1) break;
      if (c !== b[j + i]) same = false;
    }
    same &&= (method as string).length === i - m;
  } else {
    i = skipToken(b, off, m, end);
    same &&= (method as string).length === i - m;
    for (let k = 0; same && k < i - m; k++) same = b[off + m + k] === (method as string).charCodeAt(k);
  }
  if (i === m || skipWs(b, off, i, end) < end) return undefined;
  return { seq, method: same ? (method as string) : s.slice(m, i) };
}
