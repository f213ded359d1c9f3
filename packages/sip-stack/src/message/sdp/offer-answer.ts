// RFC 3264 offer/answer: building an offer from local capabilities, answering an offer (section 6), and reading
// the outcome of an offer/answer exchange as plain stream descriptions a media engine can act on.

import {
  getSdpCodecs,
  getSdpCryptos,
  getSdpDirection,
  getSdpMediaConnection,
  getSdpPtime,
  getSdpRtcp,
  getSdpTelephoneEvents,
  hasSdpRtcpMux,
  intersectSdpDirections,
  intersectSdpEventLists,
  isSdpAuxiliaryCodec,
  isSdpBase64,
  isSdpHold,
  parseSdpCrypto,
  parseSdpEventList,
  reverseSdpDirection,
  SDP_FIRST_DYNAMIC_PAYLOAD_TYPE,
  SDP_STATIC_PAYLOAD_TYPES,
  type SdpCodec,
  type SdpCrypto,
  type SdpCryptoKeyParam,
  type SdpRtpMap,
  sameSdpCodec,
  sdpAddressType,
  serializeSdpCrypto,
  serializeSdpEventList,
  serializeSdpRtpMap,
} from './attributes.js';
import { SdpSerializeError } from './errors.js';
import { isSdpToken } from './parse.js';
import { serializeSdp } from './serialize.js';
import type {
  SdpAttribute,
  SdpConnection,
  SdpDirection,
  SdpMediaDescription,
  SdpOrigin,
  SdpSessionDescription,
} from './types.js';

/** A codec we can send and receive, by encoding (matched by name, clock rate and channels, RFC 3264 6.1). */
export interface SdpCodecPreference {
  encodingName: string;
  /** RTP clock rate as SDP writes it (8000 for G722, RFC 3551 4.5.2). */
  clockRate: number;
  /** Channels; 1 when absent. */
  channels?: number;
  /** Payload type to offer. Default: the RFC 3551 static number when there is one, else the next free dynamic. */
  payloadType?: number;
  /** fmtp parameters to write (e.g. `annexb=no` for G729, `useinbandfec=1` for opus). */
  fmtp?: string;
}

/** RFC 4733 telephone-event options. */
export interface SdpTelephoneEventOptions {
  /** Payload type to offer; default 101 (the usual choice of phones). */
  payloadType?: number;
  /** Default 8000. */
  clockRate?: number;
  /** Event list for the fmtp line (RFC 4733 7.1.1); default `0-16` (DTMF digits and flash). */
  events?: string;
}

/** One SDES key we offer or answer with (RFC 4568). */
export interface SdpLocalCrypto {
  suite: string;
  /** base64 master key || salt (see createSdpCryptoKeySalt). */
  keySalt: string;
  lifetime?: string;
  mki?: { value: string; length: number };
  sessionParams?: string[];
}

/** What we offer, or are able to answer with, for one stream. */
export interface SdpLocalMedia {
  /** Default `audio`. */
  type?: string;
  /** Our RTP port (0 offers a disabled stream). */
  port: number;
  /**
   * Transport protocol. Offer default: RTP/SAVP when crypto is given, else RTP/AVP. In an answer, when set, only
   * offers with this exact protocol are accepted; when unset, RTP/AVP and (with a crypto match) RTP/SAVP are.
   */
  protocol?: string;
  /** c= address of this stream when it differs from the session address. */
  address?: string;
  /** Codecs in our order of preference. */
  codecs: SdpCodecPreference[];
  /** RFC 4733 DTMF events; `true` takes the defaults. */
  telephoneEvent?: boolean | SdpTelephoneEventOptions;
  /** Packetization we want to receive, in ms (RFC 4566 6 a=ptime). */
  ptime?: number;
  maxptime?: number;
  /** Default sendrecv. */
  direction?: SdpDirection;
  /** Offer / accept RTP and RTCP on one port (RFC 5761). */
  rtcpMux?: boolean;
  /** SDES keys in preference order (RFC 4568); each suite once. */
  crypto?: SdpLocalCrypto[];
  /** Answer: reject the stream unless SRTP is agreed. */
  requireCrypto?: boolean;
  /** Answer: list at most this many voice codecs (1 avoids asymmetric codecs with some phones). */
  maxCodecs?: number;
  /** Extra attributes written after ours (ICE, DTLS fingerprint/setup supplied by the caller...). */
  attributes?: SdpAttribute[];
}

/** The session-level part of an offer or answer. */
export interface SdpLocalSession {
  /** Our address for c= and o= (IPv4 or IPv6, chosen by the presence of a colon). */
  address: string;
  /** o= username; default `-`. */
  username?: string;
  /** o= session id: digits, unique per session (RFC 4566 5.2 suggests an NTP timestamp). */
  sessionId: string;
  /** o= version; default `0`. Use updateSdpSessionVersion for re-offers. */
  sessionVersion?: string;
  /** s=; default `-`. */
  sessionName?: string;
}

/** Offer options: session fields with either one stream's fields inline or a list of streams. */
export type SdpOfferOptions = SdpLocalSession & (SdpLocalMedia | { media: SdpLocalMedia[] });

/** Answer options: session fields and the streams we can take, matched to offered streams by media type. */
export interface SdpAnswerOptions extends SdpLocalSession {
  media: SdpLocalMedia[];
}

function fail(field: string, message: string): never {
  throw new SdpSerializeError('invalid-option', field, message);
}

function connectionFor(address: string): SdpConnection {
  return { netType: 'IN', addressType: sdpAddressType(address), address };
}

function sessionShell(o: SdpLocalSession): SdpSessionDescription {
  if (o.address.length === 0) fail('address', 'empty');
  const origin: SdpOrigin = {
    username: o.username ?? '-',
    sessionId: o.sessionId,
    sessionVersion: o.sessionVersion ?? '0',
    netType: 'IN',
    addressType: sdpAddressType(o.address),
    address: o.address,
  };
  return {
    version: 0,
    origin,
    sessionName: o.sessionName ?? '-',
    emails: [],
    phones: [],
    connection: connectionFor(o.address),
    bandwidths: [],
    timing: [{ start: 0, stop: 0, repeats: [] }],
    attributes: [],
    extraLines: [],
    media: [],
  };
}

function checkPort(port: number, field: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(field, `port ${port} out of range`);
}

function telephoneEventOptions(local: SdpLocalMedia): Required<SdpTelephoneEventOptions> | undefined {
  const t = local.telephoneEvent;
  if (t === undefined || t === false) return undefined;
  const o = t === true ? {} : t;
  return { payloadType: o.payloadType ?? 101, clockRate: o.clockRate ?? 8000, events: o.events ?? '0-16' };
}

function cryptoAttribute(tag: number, c: SdpLocalCrypto, field: string): SdpAttribute {
  const key: SdpCryptoKeyParam = { method: 'inline', keySalt: c.keySalt };
  if (c.lifetime !== undefined) key.lifetime = c.lifetime;
  if (c.mki !== undefined) key.mki = c.mki;
  const crypto: SdpCrypto = { tag, suite: c.suite, keyParams: [key], sessionParams: c.sessionParams ?? [] };
  const value = serializeSdpCrypto(crypto);
  // Reading the line back checks the rest of the RFC 4568 9.1 grammar (lifetime, MKI).
  const tokens = isSdpToken(c.suite) && crypto.sessionParams.every(isSdpToken);
  if (!tokens || !isSdpBase64(c.keySalt) || parseSdpCrypto(value) === undefined) {
    fail(field, 'not a valid RFC 4568 crypto line');
  }
  return { name: 'crypto', value };
}

function checkPacketTime(value: number | undefined, field: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0 && value <= 10000)) {
    fail(field, `${value} is not a packet time in ms`);
  }
}

/** Attributes common to offers and answers, after the rtpmap/fmtp lines. */
function tailAttributes(
  attrs: SdpAttribute[],
  local: SdpLocalMedia,
  direction: SdpDirection,
  rtcpMux: boolean,
  crypto: SdpAttribute[],
  field: string,
): void {
  checkPacketTime(local.ptime, `${field}.ptime`);
  checkPacketTime(local.maxptime, `${field}.maxptime`);
  if (local.ptime !== undefined) attrs.push({ name: 'ptime', value: String(local.ptime) });
  if (local.maxptime !== undefined) attrs.push({ name: 'maxptime', value: String(local.maxptime) });
  if (rtcpMux) attrs.push({ name: 'rtcp-mux' });
  attrs.push(...crypto);
  attrs.push({ name: direction });
  if (local.attributes) attrs.push(...local.attributes.map((a) => ({ ...a })));
}

function codecAttributes(attrs: SdpAttribute[], pt: number, c: SdpCodecPreference | SdpCodec): void {
  // An rtpmap for static payload types too: RFC 4566 6 allows it and some peers rely on it.
  const map: SdpRtpMap = { payloadType: pt, encodingName: c.encodingName, clockRate: c.clockRate };
  if (c.channels !== undefined && c.channels !== 1) map.channels = c.channels;
  attrs.push({ name: 'rtpmap', value: serializeSdpRtpMap(map) });
  if (c.fmtp !== undefined && c.fmtp.length > 0) attrs.push({ name: 'fmtp', value: `${pt} ${c.fmtp}` });
}

function staticPayloadTypeOf(c: SdpCodecPreference): number | undefined {
  for (const [pt, s] of SDP_STATIC_PAYLOAD_TYPES) if (sameSdpCodec(s, c)) return pt;
  return undefined;
}

function offerMedia(local: SdpLocalMedia, sessionAddress: string, field: string): SdpMediaDescription {
  checkPort(local.port, `${field}.port`);
  if (local.codecs.length === 0) fail(`${field}.codecs`, 'no codec to offer');
  const used = new Set<number>();
  const take = (pt: number, f: string): number => {
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) fail(f, `payload type ${pt} is not 0-127`);
    if (used.has(pt)) fail(f, `payload type ${pt} used twice`);
    used.add(pt);
    return pt;
  };
  const explicit = new Set(local.codecs.map((c) => c.payloadType).filter((pt) => pt !== undefined));
  const te = telephoneEventOptions(local);
  if (te && local.telephoneEvent !== true) explicit.add(te.payloadType);
  const nextDynamic = (): number => {
    for (let pt = SDP_FIRST_DYNAMIC_PAYLOAD_TYPE; pt <= 127; pt++) if (!used.has(pt) && !explicit.has(pt)) return pt;
    return fail(field, 'no dynamic payload type left');
  };
  const formats: string[] = [];
  const attrs: SdpAttribute[] = [];
  local.codecs.forEach((c, i) => {
    const f = `${field}.codecs[${i}]`;
    const badName = !isSdpToken(c.encodingName) || c.encodingName.includes('/');
    const badChannels = c.channels !== undefined && !(Number.isInteger(c.channels) && c.channels > 0);
    if (badName || badChannels || !Number.isInteger(c.clockRate) || c.clockRate <= 0) fail(f, 'not a codec');
    const pt = take(c.payloadType ?? staticPayloadTypeOf(c) ?? nextDynamic(), `${f}.payloadType`);
    formats.push(String(pt));
    codecAttributes(attrs, pt, c);
  });
  if (te) {
    if (parseSdpEventList(te.events) === undefined) fail(`${field}.telephoneEvent.events`, 'not an event list');
    const wanted = te.payloadType;
    const pt = take(
      used.has(wanted) && local.telephoneEvent === true ? nextDynamic() : wanted,
      `${field}.telephoneEvent.payloadType`,
    );
    formats.push(String(pt));
    codecAttributes(attrs, pt, { encodingName: 'telephone-event', clockRate: te.clockRate, fmtp: te.events });
  }
  const crypto = (local.crypto ?? []).map((c, i) => cryptoAttribute(i + 1, c, `${field}.crypto[${i}]`));
  tailAttributes(attrs, local, local.direction ?? 'sendrecv', local.rtcpMux === true, crypto, field);
  const media: SdpMediaDescription = {
    type: local.type ?? 'audio',
    port: local.port,
    protocol: local.protocol ?? (crypto.length > 0 ? 'RTP/SAVP' : 'RTP/AVP'),
    formats,
    bandwidths: [],
    attributes: attrs,
    extraLines: [],
  };
  if (local.address !== undefined && local.address !== sessionAddress) media.connection = connectionFor(local.address);
  return media;
}

/** Builds an offer (RFC 3264 5) from local capabilities. Throws SdpSerializeError on invalid options. */
export function createSdpOffer(options: SdpOfferOptions): SdpSessionDescription {
  const sdp = sessionShell(options);
  const list = 'media' in options ? options.media : [options];
  list.forEach((m, i) => {
    sdp.media.push(offerMedia(m, options.address, 'media' in options ? `media[${i}]` : 'options'));
  });
  serializeSdp(sdp); // surfaces any unwritable field now rather than when the offer is sent
  return sdp;
}

// ---------------------------------------------------------------------------------------------------------------
// Answer (RFC 3264 6)

function rejectedMedia(offered: SdpMediaDescription): SdpMediaDescription {
  // RFC 3264 6: a rejected stream keeps its m= line (same type and protocol) with port 0.
  return {
    type: offered.type,
    port: 0,
    protocol: offered.protocol,
    formats: offered.formats.length > 0 ? [...offered.formats] : ['0'],
    bandwidths: [],
    attributes: [],
    extraLines: [],
  };
}

function protocolAccepted(offered: string, local: SdpLocalMedia): boolean {
  const p = offered.toUpperCase();
  if (local.protocol !== undefined) return local.protocol.toUpperCase() === p;
  return p === 'RTP/AVP' || p === 'RTP/SAVP';
}

function answerCrypto(offered: SdpMediaDescription, local: SdpLocalMedia, field: string): SdpAttribute | undefined {
  if (!local.crypto || local.crypto.length === 0) return undefined;
  // RFC 4568 7.1.2: take the first offered crypto line we support; answer with the same tag and our own key.
  for (const c of getSdpCryptos(offered)) {
    const mine = local.crypto.find((l) => l.suite.toUpperCase() === c.suite.toUpperCase());
    if (mine) return cryptoAttribute(c.tag, { ...mine, suite: c.suite }, `${field}.crypto`);
  }
  return undefined;
}

function answerMedia(
  offer: SdpSessionDescription,
  offered: SdpMediaDescription,
  local: SdpLocalMedia,
  sessionAddress: string,
  field: string,
): SdpMediaDescription | undefined {
  if (!protocolAccepted(offered.protocol, local)) return undefined;
  const isSdes = offered.protocol.toUpperCase().includes('SAVP') && !offered.protocol.toUpperCase().includes('TLS');
  const crypto = isSdes ? answerCrypto(offered, local, field) : undefined;
  if (isSdes && crypto === undefined) return undefined; // RFC 4568 7.1.2: no common suite, no secure stream
  if (local.requireCrypto && crypto === undefined) return undefined;

  // RFC 3264 6.1: formats matched by encoding, answered with the offer's payload numbers, in our preference order.
  const offeredCodecs = getSdpCodecs(offered);
  const chosen: SdpCodec[] = [];
  const taken = new Set<number>();
  const max = local.maxCodecs ?? Number.POSITIVE_INFINITY;
  let voiceCount = 0;
  for (const want of local.codecs) {
    const auxiliary = isSdpAuxiliaryCodec(want.encodingName);
    if (voiceCount >= max && !auxiliary) continue;
    const hit = offeredCodecs.find((c) => !taken.has(c.payloadType) && sameSdpCodec(c, want));
    if (!hit) continue;
    taken.add(hit.payloadType);
    if (!auxiliary) voiceCount++;
    chosen.push({ ...hit, ...(want.fmtp !== undefined ? { fmtp: want.fmtp } : {}) });
  }
  if (!chosen.some((c) => !isSdpAuxiliaryCodec(c.encodingName))) return undefined;

  const formats: string[] = [];
  const attrs: SdpAttribute[] = [];
  for (const c of chosen) {
    formats.push(String(c.payloadType));
    codecAttributes(attrs, c.payloadType, c);
  }
  // telephone-event only when both sides have it (RFC 4733 events are negotiated like any format); prefer the
  // clock rate of the voice codec, since events share the audio timestamp clock.
  const te = telephoneEventOptions(local);
  if (te) {
    const voiceRate = chosen.find((c) => !isSdpAuxiliaryCodec(c.encodingName))?.clockRate;
    const offeredTe = getSdpTelephoneEvents(offered);
    const pick =
      offeredTe.find((t) => t.clockRate === voiceRate) ?? offeredTe.find((t) => t.clockRate === te.clockRate);
    const ours = parseSdpEventList(te.events);
    if (ours === undefined) fail(`${field}.telephoneEvent.events`, 'not an event list');
    const events = pick ? intersectSdpEventLists(pick.events, ours) : [];
    if (pick && events.length > 0) {
      formats.push(String(pick.payloadType));
      codecAttributes(attrs, pick.payloadType, {
        encodingName: 'telephone-event',
        clockRate: pick.clockRate,
        fmtp: serializeSdpEventList(events),
      });
    }
  }
  // RFC 3264 6.1: sendonly is answered recvonly, recvonly sendonly, inactive inactive, within our own limits.
  const direction = intersectSdpDirections(
    reverseSdpDirection(getSdpDirection(offer, offered)),
    local.direction ?? 'sendrecv',
  );
  const rtcpMux = local.rtcpMux === true && hasSdpRtcpMux(offered); // RFC 5761 5.1.1
  tailAttributes(attrs, local, direction, rtcpMux, crypto ? [crypto] : [], field);
  const media: SdpMediaDescription = {
    type: offered.type,
    port: local.port,
    protocol: offered.protocol,
    formats,
    bandwidths: [],
    attributes: attrs,
    extraLines: [],
  };
  if (local.address !== undefined && local.address !== sessionAddress) media.connection = connectionFor(local.address);
  return media;
}

/**
 * Answers an offer (RFC 3264 6): one m= line per offered one, in order; each offered stream takes the first unused
 * local stream of its media type that can serve it, and is rejected with port 0 when none can.
 */
export function createSdpAnswer(offer: SdpSessionDescription, options: SdpAnswerOptions): SdpSessionDescription {
  const sdp = sessionShell(options);
  // RFC 3264 6: the t= line of the answer equals that of the offer.
  sdp.timing = offer.timing.map((t) => ({ start: t.start, stop: t.stop, repeats: [...t.repeats] }));
  const used = new Set<number>();
  options.media.forEach((m, i) => {
    checkPort(m.port, `media[${i}].port`);
  });
  for (const offered of offer.media) {
    let answer: SdpMediaDescription | undefined;
    if (offered.port !== 0) {
      // RFC 3264 6: a stream offered with port 0 stays rejected.
      for (let j = 0; j < options.media.length && answer === undefined; j++) {
        const local = options.media[j];
        if (used.has(j) || local.port === 0) continue;
        if ((local.type ?? 'audio').toLowerCase() !== offered.type.toLowerCase()) continue;
        answer = answerMedia(offer, offered, local, options.address, `media[${j}]`);
        if (answer) used.add(j);
      }
    }
    sdp.media.push(answer ?? rejectedMedia(offered));
  }
  serializeSdp(sdp);
  return sdp;
}

// ---------------------------------------------------------------------------------------------------------------
// Outcome of an exchange

/** A codec both sides agreed on, with the payload number for each direction (they may differ, RFC 3264 5.1). */
export interface SdpNegotiatedCodec {
  encodingName: string;
  clockRate: number;
  channels: number;
  /** Payload type to put in RTP we send: the number the remote side listed. */
  sendPayloadType: number;
  /** Payload type of RTP we receive: the number we listed. */
  receivePayloadType: number;
  /** fmtp parameters the remote side wrote (its receive capabilities), when any. */
  remoteFmtp?: string;
  localFmtp?: string;
}

/** RFC 4733 events both sides take. */
export interface SdpNegotiatedTelephoneEvent {
  sendPayloadType: number;
  receivePayloadType: number;
  clockRate: number;
  events: Array<[number, number]>;
}

/** SRTP keys agreed with SDES (RFC 4568). */
export interface SdpNegotiatedCrypto {
  suite: string;
  tag: number;
  /** Our key: protects what we send. */
  sendKey: SdpCryptoKeyParam;
  /** The remote side's key: protects what we receive. */
  receiveKey: SdpCryptoKeyParam;
}

/** One stream as a media engine needs it, seen from the local side. */
export interface SdpNegotiatedStream {
  index: number;
  type: string;
  protocol: string;
  /** False when either side set port 0 or no voice codec is common. */
  active: boolean;
  localPort: number;
  remoteAddress: string | undefined;
  remotePort: number;
  /** RFC 5761: RTCP on the RTP port. */
  rtcpMux: boolean;
  /** Where to send RTCP: a=rtcp (RFC 3605), the RTP port with rtcp-mux, else RTP port + 1 (RFC 3550 11). */
  remoteRtcpAddress: string | undefined;
  remoteRtcpPort: number;
  /** The first codec of the answer: the one to send (RFC 3264 6.1). */
  codec: SdpNegotiatedCodec | undefined;
  /** Every common codec in the answer's order (voice codecs and CN, without telephone-event). */
  codecs: SdpNegotiatedCodec[];
  telephoneEvent: SdpNegotiatedTelephoneEvent | undefined;
  /** The remote side's a=ptime: the packetization to send with. */
  remotePtime: number | undefined;
  /** What we may do on this stream after both sides' directions. */
  direction: SdpDirection;
  /** The remote side holds the call (sendonly, inactive or c=0.0.0.0 in its description). */
  remoteHold: boolean;
  /** Our own description holds the call. */
  localHold: boolean;
  crypto: SdpNegotiatedCrypto | undefined;
}

export interface SdpNegotiation {
  streams: SdpNegotiatedStream[];
}

function negotiatedCrypto(localM: SdpMediaDescription, remoteM: SdpMediaDescription, answer: SdpMediaDescription) {
  const picked = getSdpCryptos(answer)[0];
  if (!picked) return undefined;
  const mine = getSdpCryptos(localM).find((c) => c.tag === picked.tag);
  const theirs = getSdpCryptos(remoteM).find((c) => c.tag === picked.tag);
  if (!mine || !theirs || mine.suite.toUpperCase() !== theirs.suite.toUpperCase()) return undefined;
  if (!mine.keyParams[0] || !theirs.keyParams[0]) return undefined;
  return { suite: picked.suite, tag: picked.tag, sendKey: mine.keyParams[0], receiveKey: theirs.keyParams[0] };
}

/**
 * Reads the result of an offer/answer exchange from the local side's point of view (`localRole` says whether we
 * made the offer). Streams are paired by position (RFC 3264 6).
 */
export function negotiateSdp(
  offer: SdpSessionDescription,
  answer: SdpSessionDescription,
  localRole: 'offerer' | 'answerer',
): SdpNegotiation {
  const local = localRole === 'offerer' ? offer : answer;
  const remote = localRole === 'offerer' ? answer : offer;
  const streams: SdpNegotiatedStream[] = [];
  const n = Math.min(offer.media.length, answer.media.length);
  for (let i = 0; i < n; i++) {
    const localM = local.media[i];
    const remoteM = remote.media[i];
    const answerM = answer.media[i];
    const localCodecs = getSdpCodecs(localM);
    const remoteCodecs = getSdpCodecs(remoteM);
    const codecs: SdpNegotiatedCodec[] = [];
    let telephoneEvent: SdpNegotiatedTelephoneEvent | undefined;
    for (const a of getSdpCodecs(answerM)) {
      const mine = localCodecs.find((c) => sameSdpCodec(c, a));
      const theirs = remoteCodecs.find((c) => sameSdpCodec(c, a));
      if (!mine || !theirs) continue;
      if (a.encodingName.toLowerCase() === 'telephone-event') {
        if (telephoneEvent) continue;
        const ev = intersectSdpEventLists(
          getSdpTelephoneEvents(localM).find((t) => t.payloadType === mine.payloadType)?.events ?? [],
          getSdpTelephoneEvents(remoteM).find((t) => t.payloadType === theirs.payloadType)?.events ?? [],
        );
        if (ev.length > 0) {
          telephoneEvent = {
            sendPayloadType: theirs.payloadType,
            receivePayloadType: mine.payloadType,
            clockRate: a.clockRate,
            events: ev,
          };
        }
        continue;
      }
      const codec: SdpNegotiatedCodec = {
        encodingName: a.encodingName,
        clockRate: a.clockRate,
        channels: a.channels,
        sendPayloadType: theirs.payloadType,
        receivePayloadType: mine.payloadType,
      };
      if (theirs.fmtp !== undefined) codec.remoteFmtp = theirs.fmtp;
      if (mine.fmtp !== undefined) codec.localFmtp = mine.fmtp;
      codecs.push(codec);
    }
    const voice = codecs.find((c) => !isSdpAuxiliaryCodec(c.encodingName));
    const active = offer.media[i].port !== 0 && answerM.port !== 0 && voice !== undefined;
    const remoteConn = getSdpMediaConnection(remote, remoteM);
    const rtcpMux = hasSdpRtcpMux(localM) && hasSdpRtcpMux(remoteM);
    const rtcp = getSdpRtcp(remoteM);
    const remoteHold = isSdpHold(remote, remoteM);
    const localHold = isSdpHold(local, localM);
    const direction = active
      ? intersectSdpDirections(getSdpDirection(local, localM), reverseSdpDirection(getSdpDirection(remote, remoteM)))
      : 'inactive';
    streams.push({
      index: i,
      type: answerM.type,
      protocol: answerM.protocol,
      active,
      localPort: localM.port,
      remoteAddress: remoteConn?.address,
      remotePort: remoteM.port,
      rtcpMux,
      remoteRtcpAddress: rtcp?.address ?? remoteConn?.address,
      remoteRtcpPort: rtcpMux ? remoteM.port : (rtcp?.port ?? (remoteM.port === 0 ? 0 : remoteM.port + 1)),
      codec: active ? voice : undefined,
      codecs: active ? codecs : [],
      telephoneEvent: active ? telephoneEvent : undefined,
      remotePtime: getSdpPtime(remoteM, remote),
      direction,
      remoteHold,
      localHold,
      crypto: active ? negotiatedCrypto(localM, remoteM, answerM) : undefined,
    });
  }
  return { streams };
}

// ---------------------------------------------------------------------------------------------------------------
// Re-offers (RFC 3264 8)

/** Adds one to o= sess-version in place (digit strings of any length) and returns the new version. */
export function incrementSdpSessionVersion(origin: SdpOrigin): string {
  const next = (BigInt(origin.sessionVersion) + 1n).toString();
  origin.sessionVersion = next;
  return next;
}

/**
 * Prepares `next` to be sent after `previous` in the same session: it takes the previous o= line (RFC 3264 8:
 * username, id and address do not change) and a version one higher when anything else differs, the same
 * version when the description is unchanged. Returns true when the version was incremented.
 */
export function updateSdpSessionVersion(previous: SdpSessionDescription, next: SdpSessionDescription): boolean {
  next.origin = { ...previous.origin };
  const changed = serializeSdp(previous) !== serializeSdp(next);
  if (changed) incrementSdpSessionVersion(next.origin);
  return changed;
}
