// Typed readers and writers of the attributes a PBX acts on. They work on the ordered attribute lists of the
// parsed model, never throw on malformed values (a malformed attribute is skipped, as RFC 4566 5.13 tells a
// receiver to ignore what it does not understand), and leave every other attribute (ICE, DTLS...) untouched.

import { isSdpToken, parseSdpDigits, splitSdpFields } from './parse.js';
import type { SdpAttribute, SdpConnection, SdpDirection, SdpMediaDescription, SdpSessionDescription } from './types.js';

// ---------------------------------------------------------------------------------------------------------------
// Generic attribute access

function sameName(a: SdpAttribute, name: string): boolean {
  return a.name.length === name.length && a.name.toLowerCase() === name;
}

/** The first attribute called `name` (compared case-insensitively; pass it in lower case). */
export function findSdpAttribute(attributes: readonly SdpAttribute[], name: string): SdpAttribute | undefined {
  for (const a of attributes) if (sameName(a, name)) return a;
  return undefined;
}

/** Values of every attribute called `name` ('' for a property attribute), in order. */
export function getSdpAttributeValues(attributes: readonly SdpAttribute[], name: string): string[] {
  const out: string[] = [];
  for (const a of attributes) if (sameName(a, name)) out.push(a.value ?? '');
  return out;
}

/** True when a property or value attribute called `name` is present. */
export function hasSdpAttribute(attributes: readonly SdpAttribute[], name: string): boolean {
  return findSdpAttribute(attributes, name) !== undefined;
}

/** Removes every attribute called `name` in place; returns how many were removed. */
export function removeSdpAttributes(attributes: SdpAttribute[], name: string): number {
  let kept = 0;
  const before = attributes.length;
  for (let i = 0; i < before; i++) {
    const a = attributes[i];
    if (!sameName(a, name)) attributes[kept++] = a;
  }
  attributes.length = kept;
  return before - kept;
}

// ---------------------------------------------------------------------------------------------------------------
// rtpmap / fmtp / codecs (RFC 4566 6, RFC 3551 6)

/** a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] (RFC 4566 6). */
export interface SdpRtpMap {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  /** Encoding parameters: the channel count for audio; absent means one channel. */
  channels?: number;
}

/** A static RTP payload type of RFC 3551 table 4/5. */
export interface SdpStaticPayloadType {
  readonly encodingName: string;
  readonly clockRate: number;
  readonly channels: number;
}

// RFC 3551 6, tables 4 and 5. G722 is listed at 8000 Hz although it samples at 16 kHz (RFC 3551 4.5.2).
const STATIC: ReadonlyArray<readonly [number, string, number, number]> = [
  [0, 'PCMU', 8000, 1],
  [3, 'GSM', 8000, 1],
  [4, 'G723', 8000, 1],
  [5, 'DVI4', 8000, 1],
  [6, 'DVI4', 16000, 1],
  [7, 'LPC', 8000, 1],
  [8, 'PCMA', 8000, 1],
  [9, 'G722', 8000, 1],
  [10, 'L16', 44100, 2],
  [11, 'L16', 44100, 1],
  [12, 'QCELP', 8000, 1],
  [13, 'CN', 8000, 1],
  [14, 'MPA', 90000, 1],
  [15, 'G728', 8000, 1],
  [16, 'DVI4', 11025, 1],
  [17, 'DVI4', 22050, 1],
  [18, 'G729', 8000, 1],
  [25, 'CelB', 90000, 1],
  [26, 'JPEG', 90000, 1],
  [28, 'nv', 90000, 1],
  [31, 'H261', 90000, 1],
  [32, 'MPV', 90000, 1],
  [33, 'MP2T', 90000, 1],
  [34, 'H263', 90000, 1],
];

/** Static payload types (RFC 3551 6), usable without an rtpmap line. */
export const SDP_STATIC_PAYLOAD_TYPES: ReadonlyMap<number, SdpStaticPayloadType> = new Map(
  STATIC.map(([pt, encodingName, clockRate, channels]) => [pt, Object.freeze({ encodingName, clockRate, channels })]),
);

/** First payload type of the dynamic range (RFC 3551 3). */
export const SDP_FIRST_DYNAMIC_PAYLOAD_TYPE = 96;

export function parseSdpRtpMap(value: string): SdpRtpMap | undefined {
  const f = splitSdpFields(value);
  if (f.length !== 2) return undefined;
  const payloadType = parseSdpDigits(f[0], 3);
  if (payloadType < 0 || payloadType > 127) return undefined;
  const parts = f[1].split('/');
  if (parts.length < 2 || parts.length > 3 || parts[0].length === 0) return undefined;
  const clockRate = parseSdpDigits(parts[1], 10);
  if (clockRate <= 0) return undefined;
  const map: SdpRtpMap = { payloadType, encodingName: parts[0], clockRate };
  if (parts.length === 3) {
    const channels = parseSdpDigits(parts[2], 3);
    if (channels <= 0) return undefined;
    map.channels = channels;
  }
  return map;
}

export function serializeSdpRtpMap(map: SdpRtpMap): string {
  const tail = map.channels !== undefined ? `/${map.channels}` : '';
  return `${map.payloadType} ${map.encodingName}/${map.clockRate}${tail}`;
}

/** a=fmtp:<format> <format specific parameters> (RFC 4566 6). */
export interface SdpFmtp {
  format: string;
  parameters: string;
}

export function parseSdpFmtp(value: string): SdpFmtp | undefined {
  let i = 0;
  while (i < value.length && value.charCodeAt(i) !== 32 && value.charCodeAt(i) !== 9) i++;
  const format = value.slice(0, i);
  if (format.length === 0) return undefined;
  return { format, parameters: value.slice(i).trim() };
}

/** Splits `key=value;key2=value2` fmtp parameters (RFC 4855 3) into names (lower-cased) and values. */
export function parseSdpFmtpParameters(parameters: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of parameters.split(';')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (key.length > 0) out.set(key, eq < 0 ? '' : part.slice(eq + 1).trim());
  }
  return out;
}

/** A format of an RTP media description with its rtpmap (or static definition) and fmtp resolved. */
export interface SdpCodec {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  /** Channel count (1 when the rtpmap gives none). */
  channels: number;
  /** fmtp parameters as written, when the description has an fmtp line for this payload type. */
  fmtp?: string;
}

/**
 * The codecs of an RTP media description in the m= line's preference order. An rtpmap line wins over the static
 * table (RFC 3551 6); a dynamic payload type without rtpmap is skipped (nothing says what it is).
 */
export function getSdpCodecs(media: SdpMediaDescription): SdpCodec[] {
  const maps = new Map<number, SdpRtpMap>();
  const fmtps = new Map<string, string>();
  for (const a of media.attributes) {
    if (a.value === undefined) continue;
    if (sameName(a, 'rtpmap')) {
      const m = parseSdpRtpMap(a.value);
      if (m && !maps.has(m.payloadType)) maps.set(m.payloadType, m);
    } else if (sameName(a, 'fmtp')) {
      const f = parseSdpFmtp(a.value);
      if (f && !fmtps.has(f.format)) fmtps.set(f.format, f.parameters);
    }
  }
  const out: SdpCodec[] = [];
  for (const fmt of media.formats) {
    const pt = parseSdpDigits(fmt, 3);
    if (pt < 0 || pt > 127) continue;
    const map = maps.get(pt);
    const fixed = SDP_STATIC_PAYLOAD_TYPES.get(pt);
    let codec: SdpCodec;
    if (map) {
      codec = {
        payloadType: pt,
        encodingName: map.encodingName,
        clockRate: map.clockRate,
        channels: map.channels ?? 1,
      };
    } else if (fixed) {
      codec = {
        payloadType: pt,
        encodingName: fixed.encodingName,
        clockRate: fixed.clockRate,
        channels: fixed.channels,
      };
    } else {
      continue;
    }
    const fmtp = fmtps.get(fmt);
    if (fmtp !== undefined) codec.fmtp = fmtp;
    out.push(codec);
  }
  return out;
}

/** True when two codecs are the same encoding: name (case-insensitive), clock rate and channels (RFC 3264 6.1). */
export function sameSdpCodec(
  a: { encodingName: string; clockRate: number; channels?: number },
  b: { encodingName: string; clockRate: number; channels?: number },
): boolean {
  return (
    a.clockRate === b.clockRate &&
    (a.channels ?? 1) === (b.channels ?? 1) &&
    a.encodingName.toLowerCase() === b.encodingName.toLowerCase()
  );
}

// ---------------------------------------------------------------------------------------------------------------
// telephone-event (RFC 4733 7.1.1)

/** A telephone-event format: its payload type, clock rate and the events it carries. */
export interface SdpTelephoneEvent {
  payloadType: number;
  clockRate: number;
  /** Event ranges, inclusive; RFC 4733 7.1.1: without fmtp the events are 0-15. */
  events: Array<[number, number]>;
}

/** Parses an RFC 4733 event list (`0-15`, `0-16,32,36`); undefined when malformed. Events are 0-255. */
export function parseSdpEventList(list: string): Array<[number, number]> | undefined {
  const out: Array<[number, number]> = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    const dash = item.indexOf('-');
    const from = parseSdpDigits(dash < 0 ? item : item.slice(0, dash), 3);
    const to = dash < 0 ? from : parseSdpDigits(item.slice(dash + 1), 3);
    if (from < 0 || to < from || to > 255) return undefined;
    out.push([from, to]);
  }
  return out;
}

/** Writes event ranges as an RFC 4733 event list. */
export function serializeSdpEventList(ranges: ReadonlyArray<readonly [number, number]>): string {
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
}

/** The events both lists carry, as sorted disjoint ranges. */
export function intersectSdpEventLists(
  a: ReadonlyArray<readonly [number, number]>,
  b: ReadonlyArray<readonly [number, number]>,
): Array<[number, number]> {
  const inA = new Uint8Array(256);
  for (const [x, y] of a) for (let e = x; e <= y && e < 256; e++) inA[e] = 1;
  const out: Array<[number, number]> = [];
  const both = new Uint8Array(256);
  for (const [x, y] of b) for (let e = x; e <= y && e < 256; e++) if (inA[e]) both[e] = 1;
  for (let e = 0; e < 256; e++) {
    if (!both[e]) continue;
    const last = out[out.length - 1];
    if (last && last[1] === e - 1) last[1] = e;
    else out.push([e, e]);
  }
  return out;
}

/** Every telephone-event format of a media description (WebRTC offers one per clock rate). */
export function getSdpTelephoneEvents(media: SdpMediaDescription): SdpTelephoneEvent[] {
  const out: SdpTelephoneEvent[] = [];
  for (const c of getSdpCodecs(media)) {
    if (c.encodingName.toLowerCase() !== 'telephone-event') continue;
    const events = c.fmtp !== undefined && c.fmtp.length > 0 ? parseSdpEventList(c.fmtp) : undefined;
    out.push({ payloadType: c.payloadType, clockRate: c.clockRate, events: events ?? [[0, 15]] });
  }
  return out;
}

/** True for formats that are not a voice codec: DTMF events, comfort noise, redundancy, FEC. */
export function isSdpAuxiliaryCodec(encodingName: string): boolean {
  const n = encodingName.toLowerCase();
  return n === 'telephone-event' || n === 'cn' || n === 'red' || n === 'ulpfec' || n === 'rtx' || n === 'flexfec';
}

// ---------------------------------------------------------------------------------------------------------------
// ptime / maxptime (RFC 4566 6)

function positiveNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  return value.trim().length > 0 && Number.isFinite(n) && n > 0 && n <= 10000 ? n : undefined;
}

/** a=ptime in milliseconds (media level, else session level as some phones write it). */
export function getSdpPtime(media: SdpMediaDescription, session?: SdpSessionDescription): number | undefined {
  return (
    positiveNumber(findSdpAttribute(media.attributes, 'ptime')?.value) ??
    (session ? positiveNumber(findSdpAttribute(session.attributes, 'ptime')?.value) : undefined)
  );
}

/** a=maxptime in milliseconds (media level, else session level). */
export function getSdpMaxptime(media: SdpMediaDescription, session?: SdpSessionDescription): number | undefined {
  return (
    positiveNumber(findSdpAttribute(media.attributes, 'maxptime')?.value) ??
    (session ? positiveNumber(findSdpAttribute(session.attributes, 'maxptime')?.value) : undefined)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Directions and hold (RFC 4566 6, RFC 3264 5.1 / 8.4, RFC 2543 c=0.0.0.0)

const DIRECTIONS: readonly SdpDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** The direction attribute of a list, if any. */
export function getSdpDirectionAttribute(attributes: readonly SdpAttribute[]): SdpDirection | undefined {
  for (const a of attributes) {
    if (a.value !== undefined) continue;
    const n = a.name.toLowerCase();
    for (const d of DIRECTIONS) if (n === d) return d;
  }
  return undefined;
}

/** Replaces the direction attribute in place (keeping its position) or appends one. */
export function setSdpDirectionAttribute(attributes: SdpAttribute[], direction: SdpDirection): void {
  let done = false;
  let kept = 0;
  const n = attributes.length;
  for (let i = 0; i < n; i++) {
    const a = attributes[i];
    const isDirection = a.value === undefined && (DIRECTIONS as readonly string[]).includes(a.name.toLowerCase());
    if (!isDirection) attributes[kept++] = a;
    else if (!done) {
      attributes[kept++] = { name: direction };
      done = true;
    }
  }
  attributes.length = kept;
  if (!done) attributes.push({ name: direction });
}

/** The connection that applies to a media description: its own c=, else the session's (RFC 4566 5.7). */
export function getSdpMediaConnection(
  session: SdpSessionDescription,
  media: SdpMediaDescription,
): SdpConnection | undefined {
  return media.connection ?? session.connection;
}

/** True for the RFC 2543 hold address c=IN IP4 0.0.0.0 (still sent by old phones; RFC 3264 8.4). */
export function isSdpHoldConnection(connection: SdpConnection | undefined): boolean {
  return connection !== undefined && connection.address === '0.0.0.0';
}

/**
 * True when a stream is held the RFC 2543 way: c= 0.0.0.0 without ICE. With ICE the 0.0.0.0 / port 9 pair is only
 * a placeholder until candidates arrive (Trickle ICE, RFC 8838; JSEP, RFC 8829), not a hold.
 */
export function isSdpLegacyHold(session: SdpSessionDescription, media: SdpMediaDescription): boolean {
  return (
    isSdpHoldConnection(getSdpMediaConnection(session, media)) &&
    !hasSdpAttribute(media.attributes, 'ice-ufrag') &&
    !hasSdpAttribute(session.attributes, 'ice-ufrag')
  );
}

/**
 * The direction a media description declares: media attribute, else session attribute, else sendrecv
 * (RFC 3264 5.1). An RFC 2543 hold address means the sender will not receive, so `sendrecv` becomes `sendonly`
 * and `recvonly` becomes `inactive`.
 */
export function getSdpDirection(session: SdpSessionDescription, media: SdpMediaDescription): SdpDirection {
  const declared =
    getSdpDirectionAttribute(media.attributes) ?? getSdpDirectionAttribute(session.attributes) ?? 'sendrecv';
  if (!isSdpLegacyHold(session, media)) return declared;
  if (declared === 'sendrecv') return 'sendonly';
  if (declared === 'recvonly') return 'inactive';
  return declared;
}

/** True when the description puts the stream on hold: sendonly, inactive or the RFC 2543 0.0.0.0 address. */
export function isSdpHold(session: SdpSessionDescription, media: SdpMediaDescription): boolean {
  const d = getSdpDirection(session, media);
  return d === 'sendonly' || d === 'inactive';
}

/** The direction an answerer or receiver sees: sendonly and recvonly swap (RFC 3264 6.1). */
export function reverseSdpDirection(direction: SdpDirection): SdpDirection {
  if (direction === 'sendonly') return 'recvonly';
  if (direction === 'recvonly') return 'sendonly';
  return direction;
}

/** The intersection of two directions, both seen from the same side. */
export function intersectSdpDirections(a: SdpDirection, b: SdpDirection): SdpDirection {
  const send = a !== 'recvonly' && a !== 'inactive' && b !== 'recvonly' && b !== 'inactive';
  const recv = a !== 'sendonly' && a !== 'inactive' && b !== 'sendonly' && b !== 'inactive';
  return send ? (recv ? 'sendrecv' : 'sendonly') : recv ? 'recvonly' : 'inactive';
}

// ---------------------------------------------------------------------------------------------------------------
// rtcp (RFC 3605) and rtcp-mux (RFC 5761)

/** a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 2.1). */
export interface SdpRtcp {
  port: number;
  netType?: string;
  addressType?: string;
  address?: string;
}

export function parseSdpRtcp(value: string): SdpRtcp | undefined {
  const f = splitSdpFields(value);
  if (f.length !== 1 && f.length !== 4) return undefined;
  const port = parseSdpDigits(f[0], 5);
  if (port < 0 || port > 65535) return undefined;
  if (f.length === 1) return { port };
  return { port, netType: f[1], addressType: f[2], address: f[3] };
}

export function serializeSdpRtcp(rtcp: SdpRtcp): string {
  if (rtcp.address === undefined) return String(rtcp.port);
  return `${rtcp.port} ${rtcp.netType ?? 'IN'} ${rtcp.addressType ?? sdpAddressType(rtcp.address)} ${rtcp.address}`;
}

export function getSdpRtcp(media: SdpMediaDescription): SdpRtcp | undefined {
  const a = findSdpAttribute(media.attributes, 'rtcp');
  return a?.value !== undefined ? parseSdpRtcp(a.value) : undefined;
}

/** a=rtcp-mux (RFC 5761 5.1.1): RTP and RTCP share the port. */
export function hasSdpRtcpMux(media: SdpMediaDescription): boolean {
  return hasSdpAttribute(media.attributes, 'rtcp-mux');
}

/** `IP6` for an address with a colon, else `IP4` (RFC 4566 5.7). */
export function sdpAddressType(address: string): 'IP4' | 'IP6' {
  return address.includes(':') ? 'IP6' : 'IP4';
}

// ---------------------------------------------------------------------------------------------------------------
// SDES crypto (RFC 4568)

/** One key parameter: `inline:<key||salt base64>[|<lifetime>][|<MKI>:<length>]` (RFC 4568 6.1) or another method. */
export interface SdpCryptoKeyParam {
  /** Key method; `inline` is the only one RFC 4568 defines. */
  method: string;
  /** For `inline`: the base64 master key and salt concatenated. For other methods: the key info as written. */
  keySalt: string;
  /** Master key lifetime as written: `2^31` or a decimal count of packets. */
  lifetime?: string;
  /** Master key identifier value (decimal, as written) and its length in bytes (1-128). */
  mki?: { value: string; length: number };
}

/** a=crypto:<tag> <crypto-suite> <key-params> [<session-params>] (RFC 4568 9.1). */
export interface SdpCrypto {
  tag: number;
  suite: string;
  keyParams: SdpCryptoKeyParam[];
  /** Session parameters as written: `KDR=1`, `UNENCRYPTED_SRTCP`, `WSH=64`, `FEC_ORDER=...`. */
  sessionParams: string[];
}

/** True for a non-empty run of base64 characters (RFC 4648 4). */
export function isSdpBase64(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok =
      (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61;
    if (!ok) return false;
  }
  return true;
}

function parseKeyParam(text: string): SdpCryptoKeyParam | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const method = text.slice(0, colon);
  const info = text.slice(colon + 1);
  if (method.toLowerCase() !== 'inline') return info.length > 0 ? { method, keySalt: info } : undefined;
  const parts = info.split('|');
  if (parts.length > 3 || !isSdpBase64(parts[0])) return undefined;
  const param: SdpCryptoKeyParam = { method, keySalt: parts[0] };
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    const c = p.indexOf(':');
    if (c >= 0) {
      // RFC 4568 9.1: mki = mki-value ":" mki-length, the MKI comes last.
      if (param.mki !== undefined || i !== parts.length - 1) return undefined;
      const length = parseSdpDigits(p.slice(c + 1), 3);
      const value = p.slice(0, c);
      if (parseSdpDigits(value, 128) < 0 || length < 1 || length > 128) return undefined;
      param.mki = { value, length };
    } else {
      if (param.lifetime !== undefined || param.mki !== undefined) return undefined;
      const exp = p.startsWith('2^') ? p.slice(2) : p;
      if (parseSdpDigits(exp, 20) < 0) return undefined;
      param.lifetime = p;
    }
  }
  return param;
}

/** Parses the value of an a=crypto line (RFC 4568 9.1); undefined when malformed. */
export function parseSdpCrypto(value: string): SdpCrypto | undefined {
  const f = splitSdpFields(value);
  if (f.length < 3) return undefined;
  const tag = parseSdpDigits(f[0], 9);
  if (tag < 0 || !isSdpToken(f[1])) return undefined;
  const keyParams: SdpCryptoKeyParam[] = [];
  for (const p of f[2].split(';')) {
    const k = parseKeyParam(p);
    if (k === undefined) return undefined;
    keyParams.push(k);
  }
  return { tag, suite: f[1], keyParams, sessionParams: f.slice(3) };
}

/** Writes the value of an a=crypto line. */
export function serializeSdpCrypto(crypto: SdpCrypto): string {
  const keys = crypto.keyParams
    .map((k) => {
      let info = k.keySalt;
      if (k.lifetime !== undefined) info += `|${k.lifetime}`;
      if (k.mki !== undefined) info += `|${k.mki.value}:${k.mki.length}`;
      return `${k.method}:${info}`;
    })
    .join(';');
  const tail = crypto.sessionParams.length > 0 ? ` ${crypto.sessionParams.join(' ')}` : '';
  return `${crypto.tag} ${crypto.suite} ${keys}${tail}`;
}

/** Every well-formed a=crypto line of a media description, in preference order. */
export function getSdpCryptos(media: SdpMediaDescription): SdpCrypto[] {
  const out: SdpCrypto[] = [];
  for (const v of getSdpAttributeValues(media.attributes, 'crypto')) {
    const c = parseSdpCrypto(v);
    if (c) out.push(c);
  }
  return out;
}

// Master key + salt lengths in bytes: RFC 4568 6.2 (AES_CM_128, F8_128), RFC 6188 (AES_192/256_CM), RFC 7714 (GCM).
const CRYPTO_KEY_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['AES_CM_128_HMAC_SHA1_80', 30],
  ['AES_CM_128_HMAC_SHA1_32', 30],
  ['F8_128_HMAC_SHA1_80', 30],
  ['AES_192_CM_HMAC_SHA1_80', 38],
  ['AES_192_CM_HMAC_SHA1_32', 38],
  ['AES_256_CM_HMAC_SHA1_80', 46],
  ['AES_256_CM_HMAC_SHA1_32', 46],
  ['AEAD_AES_128_GCM', 28],
  ['AEAD_AES_256_GCM', 44],
]);

/** Bytes of master key plus salt a suite needs; undefined for a suite this table does not know. */
export function sdpCryptoKeyLength(suite: string): number | undefined {
  return CRYPTO_KEY_LENGTHS.get(suite.toUpperCase());
}

/** A fresh inline key||salt (base64) for `suite`, drawn from the injected random source (e.g. crypto.randomBytes). */
export function createSdpCryptoKeySalt(suite: string, randomBytes: (length: number) => Uint8Array): string | undefined {
  const n = sdpCryptoKeyLength(suite);
  if (n === undefined) return undefined;
  const bytes = randomBytes(n);
  if (bytes.length !== n) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
