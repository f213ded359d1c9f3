// Header names: case-insensitive matching (RFC 3261 7.3.1), compact forms (RFC 3261 7.3.3 and the registry of
// later RFCs), and which headers are comma-separated lists (RFC 3261 7.3.1: only those whose grammar is one).

/** Small integer ids of the headers the stack reads itself; 0 for any other header. */
/** Flag set in a parsed message's header id when the value spans folded lines (RFC 3261 7.3.1). */
export const FOLDED = 0x100;
/**
 * Flag set by the parser in a header id when a byte scanner accepted the line's value whole: one line with no CR,
 * NUL or other control character (so readers need not look for them again).
 */
export const PLAIN = 0x200;
/**
 * Flag set by the parser in a header id when the line is written as the serializer writes one: the canonical name
 * (RFC 3261 spelling), `: `, and a value with no trailing whitespace.
 */
export const AS_WRITTEN = 0x400;

export enum HeaderId {
  Other = 0,
  Via,
  From,
  To,
  CallId,
  CSeq,
  MaxForwards,
  Contact,
  ContentLength,
  ContentType,
  Route,
  RecordRoute,
  Expires,
  ContentEncoding,
  Supported,
  Subject,
  Event,
  AllowEvents,
  ReferTo,
  ReferredBy,
  SessionExpires,
  Identity,
  AcceptContact,
  RejectContact,
  RequestDisposition,
  IdentityInfo,
  Allow,
  Require,
  ProxyRequire,
  Unsupported,
  Authorization,
  ProxyAuthorization,
  WwwAuthenticate,
  ProxyAuthenticate,
  SubscriptionState,
  Replaces,
  MinSE,
  Date,
}

/** The enum as a module constant: its fields are constants in optimized code (the enum itself is a `var`). */
const Id = HeaderId;

/** Canonical spelling of each known header (index = HeaderId). */
const CANONICAL: readonly string[] = [
  '',
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Max-Forwards',
  'Contact',
  'Content-Length',
  'Content-Type',
  'Route',
  'Record-Route',
  'Expires',
  'Content-Encoding',
  'Supported',
  'Subject',
  'Event',
  'Allow-Events',
  'Refer-To',
  'Referred-By',
  'Session-Expires',
  'Identity',
  'Accept-Contact',
  'Reject-Contact',
  'Request-Disposition',
  'Identity-Info',
  'Allow',
  'Require',
  'Proxy-Require',
  'Unsupported',
  'Authorization',
  'Proxy-Authorization',
  'WWW-Authenticate',
  'Proxy-Authenticate',
  'Subscription-State',
  'Replaces',
  'Min-SE',
  'Date',
];

/**
 * Matcher tables: each known long name is the only one with its (length, first letter, last letter) shape, so a
 * name is identified by one table load and one comparison. Per name: lower-case codes and an OR mask (0x20 on
 * letters, so `c | mask` folds case only where case folding is exact).
 */
const CODES: Uint8Array[] = [];
const MASKS: Uint8Array[] = [];
const MAX_NAME = 19;
const BY_SHAPE = new Uint8Array((MAX_NAME + 1) * 1024);
const shapeOf = (len: number, first: number, last: number): number => len * 1024 + (first & 31) * 32 + (last & 31);
for (let id = 1; id < CANONICAL.length; id++) {
  const lower = CANONICAL[id].toLowerCase();
  const codes = new Uint8Array(lower.length);
  const masks = new Uint8Array(lower.length);
  for (let k = 0; k < lower.length; k++) {
    const c = lower.charCodeAt(k);
    codes[k] = c;
    masks[k] = c >= 97 && c <= 122 ? 0x20 : 0;
  }
  CODES[id] = codes;
  MASKS[id] = masks;
  const shape = shapeOf(lower.length, lower.charCodeAt(0), lower.charCodeAt(lower.length - 1));
  if (BY_SHAPE[shape] !== 0)
    throw new Error(`header names ${CANONICAL[BY_SHAPE[shape]]} and ${CANONICAL[id]} share a shape`);
  BY_SHAPE[shape] = id;
}

/** RFC 3261 7.3.3 compact forms (and RFC 3265, 3515, 3892, 3841, 4028, 4474), indexed by lower-case letter. */
const COMPACT: Int8Array = new Int8Array(128);
COMPACT[0x69] = HeaderId.CallId; // i
COMPACT[0x6d] = HeaderId.Contact; // m
COMPACT[0x66] = HeaderId.From; // f
COMPACT[0x74] = HeaderId.To; // t
COMPACT[0x76] = HeaderId.Via; // v
COMPACT[0x6c] = HeaderId.ContentLength; // l
COMPACT[0x63] = HeaderId.ContentType; // c
COMPACT[0x65] = HeaderId.ContentEncoding; // e
COMPACT[0x6b] = HeaderId.Supported; // k
COMPACT[0x73] = HeaderId.Subject; // s
COMPACT[0x6f] = HeaderId.Event; // o
COMPACT[0x75] = HeaderId.AllowEvents; // u
COMPACT[0x72] = HeaderId.ReferTo; // r
COMPACT[0x62] = HeaderId.ReferredBy; // b
COMPACT[0x78] = HeaderId.SessionExpires; // x
COMPACT[0x79] = HeaderId.Identity; // y
COMPACT[0x61] = HeaderId.AcceptContact; // a
COMPACT[0x6a] = HeaderId.RejectContact; // j
COMPACT[0x64] = HeaderId.RequestDisposition; // d
COMPACT[0x6e] = HeaderId.IdentityInfo; // n

/** The id of the header named by `s[start, end)`, matched case-insensitively; compact forms map to their long id. */
export function headerIdOf(s: string, start: number, end: number): number {
  const len = end - start;
  if (len === 1) {
    const c = s.charCodeAt(start) | 0x20;
    return c < 128 ? COMPACT[c] : 0;
  }
  if (len > MAX_NAME || len < 2) return 0;
  const l0 = s.charCodeAt(start) | 0x20;
  const ln = s.charCodeAt(end - 1) | 0x20;
  // first and last letters only: anything else cannot be a known name
  if (l0 < 97 || l0 > 122 || ln < 97 || ln > 122) return 0;
  const id = BY_SHAPE[shapeOf(len, l0, ln)];
  if (id === 0) return 0;
  const codes = CODES[id];
  const masks = MASKS[id];
  for (let k = 1; k < len - 1; k++) if ((s.charCodeAt(start + k) | masks[k]) !== codes[k]) return 0;
  return id;
}

/** Known long names by lower-case first letter (a = 0), in CANONICAL order: the common ones first. */
const BY_FIRST: number[][] = [];
for (let l = 0; l < 26; l++) BY_FIRST.push([]);
for (let id = 1; id < CANONICAL.length; id++) BY_FIRST[(CANONICAL[id].charCodeAt(0) | 0x20) - 97].push(id);
/** Every lower-case long name in one array: name `id` is NAME_CODES[NAME_AT[id], NAME_AT[id] + NAME_LENGTH[id]). */
const NAME_AT = new Uint16Array(CANONICAL.length);
const NAME_LENGTH = new Uint8Array(CANONICAL.length);
const NAME_CODES = new Uint8Array(CANONICAL.reduce((n, name) => n + name.length, 0));
for (let id = 1, at = 0; id < CANONICAL.length; id++) {
  NAME_AT[id] = at;
  NAME_LENGTH[id] = CANONICAL[id].length;
  for (let k = 0; k < CANONICAL[id].length; k++) NAME_CODES[at++] = CANONICAL[id].toLowerCase().charCodeAt(k);
}

/**
 * The known header whose name starts the ASCII bytes b[at, end) and is followed by ":", SP or HT (RFC 3261 7.3.1:
 * field-name HCOLON), compact forms included: `length * 256 + id`, or 0 when none is (the name may still be an
 * unknown token).
 */
export function knownNameAt(b: Uint8Array, at: number, end: number): number {
  const c = b[at] | 0x20;
  if (c < 97 || c > 122 || at + 1 >= end) return 0;
  const next = b[at + 1];
  if (next === 58 || next === 32 || next === 9) return COMPACT[c] === 0 ? 0 : 256 + COMPACT[c];
  const list = BY_FIRST[c - 97];
  for (let g = 0; g < list.length; g++) {
    const id = list[g];
    const len = NAME_LENGTH[id];
    if (at + len >= end) continue;
    const t = b[at + len];
    if (t !== 58 && t !== 32 && t !== 9) continue;
    // names are letters and "-": case folds (| 0x20) only where the code is a letter (has bit 0x40)
    const base = NAME_AT[id] - at;
    let k = at + 1;
    const stop = at + len;
    for (; k < stop; k++) {
      const code = NAME_CODES[base + k];
      if ((b[k] | ((code & 0x40) >> 1)) !== code) break;
    }
    if (k === stop) return len * 256 + id;
  }
  return 0;
}

/**
 * knownNameAt for the headers of nearly every request spelled as RFC 3261 writes them and followed by ":" (Via,
 * From, To, Call-ID, CSeq, Contact, Max-Forwards, Content-Length), by comparing constants; 0 for anything else
 * (then knownNameAt decides). Where it is not 0 it equals knownNameAt (test/message/header-names.test.ts).
 */
export function wireNameAt(b: Uint8Array, at: number, end: number): number {
  if (at + 14 >= end) return 0;
  switch (b[at]) {
    case 0x56: // Via
      return b[at + 1] === 0x69 && b[at + 2] === 0x61 && b[at + 3] === 0x3a ? 0x300 | Id.Via : 0;
    case 0x46: // From
      return b[at + 1] === 0x72 && b[at + 2] === 0x6f && b[at + 3] === 0x6d && b[at + 4] === 0x3a ? 0x400 | Id.From : 0;
    case 0x54: // To
      return b[at + 1] === 0x6f && b[at + 2] === 0x3a ? 0x200 | Id.To : 0;
    case 0x4d: // Max-Forwards
      return b[at + 1] === 0x61 &&
        b[at + 2] === 0x78 &&
        b[at + 3] === 0x2d &&
        b[at + 4] === 0x46 &&
        b[at + 5] === 0x6f &&
        b[at + 6] === 0x72 &&
        b[at + 7] === 0x77 &&
        b[at + 8] === 0x61 &&
        b[at + 9] === 0x72 &&
        b[at + 10] === 0x64 &&
        b[at + 11] === 0x73 &&
        b[at + 12] === 0x3a
        ? 0xc00 | Id.MaxForwards
        : 0;
    case 0x43: {
      const c1 = b[at + 1];
      if (c1 === 0x53) {
        // CSeq
        return b[at + 2] === 0x65 && b[at + 3] === 0x71 && b[at + 4] === 0x3a ? 0x400 | Id.CSeq : 0;
      }
      if (c1 === 0x61) {
        // Call-ID
        return b[at + 2] === 0x6c &&
          b[at + 3] === 0x6c &&
          b[at + 4] === 0x2d &&
          b[at + 5] === 0x49 &&
          b[at + 6] === 0x44 &&
          b[at + 7] === 0x3a
          ? 0x700 | Id.CallId
          : 0;
      }
      if (c1 !== 0x6f || b[at + 2] !== 0x6e || b[at + 3] !== 0x74) return 0;
      // Contact, Content-Length
      if (b[at + 4] === 0x61) {
        return b[at + 5] === 0x63 && b[at + 6] === 0x74 && b[at + 7] === 0x3a ? 0x700 | Id.Contact : 0;
      }
      return b[at + 4] === 0x65 &&
        b[at + 5] === 0x6e &&
        b[at + 6] === 0x74 &&
        b[at + 7] === 0x2d &&
        b[at + 8] === 0x4c &&
        b[at + 9] === 0x65 &&
        b[at + 10] === 0x6e &&
        b[at + 11] === 0x67 &&
        b[at + 12] === 0x74 &&
        b[at + 13] === 0x68 &&
        b[at + 14] === 0x3a
        ? 0xe00 | Id.ContentLength
        : 0;
    }
    default:
      return 0;
  }
}

export function canonicalHeaderName(id: number): string {
  return CANONICAL[id] ?? '';
}

/** Lower-cased long name for a header name (compact forms expanded). */
export function normalizeHeaderName(name: string): string {
  const id = headerIdOf(name, 0, name.length);
  return id === 0 ? name.toLowerCase() : CANONICAL[id].toLowerCase();
}

const LIST_IDS: Uint8Array = new Uint8Array(CANONICAL.length);
for (const id of [
  HeaderId.Via,
  HeaderId.Contact,
  HeaderId.Route,
  HeaderId.RecordRoute,
  HeaderId.ContentEncoding,
  HeaderId.Supported,
  HeaderId.AllowEvents,
  HeaderId.AcceptContact,
  HeaderId.RejectContact,
  HeaderId.RequestDisposition,
  HeaderId.Allow,
  HeaderId.Require,
  HeaderId.ProxyRequire,
  HeaderId.Unsupported,
]) {
  LIST_IDS[id] = 1;
}

/** Other headers whose grammar is `x *(COMMA x)` (RFC 3261 section 20 and common extensions). */
const LIST_NAMES: ReadonlySet<string> = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'alert-info',
  'call-info',
  'error-info',
  'content-language',
  'in-reply-to',
  'warning',
  'reason',
  'path',
  'service-route',
  'p-asserted-identity',
  'p-preferred-identity',
  'p-associated-uri',
  'history-info',
  'diversion',
  'security-client',
  'security-server',
  'security-verify',
  'privacy',
  'p-early-media',
  'recv-info',
  'permission-missing',
  'trigger-consent',
]);

/** Whether values of this header (given its id, or its lower-cased name when the id is 0) are comma lists. */
export function isListHeader(id: number, lowerName: string): boolean {
  return id !== 0 ? LIST_IDS[id] === 1 : LIST_NAMES.has(lowerName);
}
