// SDP <-> media engine: the media engine speaks in plain descriptions (address, port, payload type, codec), the
// phones speak SDP. These functions read offers and answers into engine terms and write our own offers and answers
// from them, using the sip-stack's RFC 3264 offer/answer helpers. Pure functions: no engine, no sockets.
import type { CodecDescription, MediaEncoding } from '@switchyard/media';
import {
  createSdpAnswer,
  createSdpOffer,
  getSdpCodecs,
  getSdpDirection,
  getSdpMediaConnection,
  getSdpPtime,
  getSdpTelephoneEvents,
  isSdpAuxiliaryCodec,
  isSdpHoldConnection,
  negotiateSdp,
  parseSdp,
  type SdpCodecPreference,
  type SdpDirection,
  type SdpMediaDescription,
  type SdpSessionDescription,
  serializeSdp,
  updateSdpSessionVersion,
} from '@switchyard/sip-stack';

/** Why a description cannot be anchored, with the SIP status that says so (RFC 3261 21.4.26: 488). */
export class MediaAnchorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MediaAnchorError';
  }
}

/** The telephone-event format we offer (RFC 4733 7.1.1: 0-15 are the DTMF digits, 16 flash). */
export const TELEPHONE_EVENT_PAYLOAD_TYPE = 101;

/** Codecs the engine carries, as SDP names them (RFC 3551 4.5, RFC 7587 7 for Opus). */
const ENGINE_CODECS: ReadonlyArray<{ encoding: MediaEncoding; name: string; clockRate: number; channels: number }> = [
  { encoding: 'PCMU', name: 'PCMU', clockRate: 8000, channels: 1 },
  { encoding: 'PCMA', name: 'PCMA', clockRate: 8000, channels: 1 },
  // RFC 3551 4.5.2: G.722 is written 8000 although it samples at 16 kHz.
  { encoding: 'G722', name: 'G722', clockRate: 8000, channels: 1 },
  // RFC 7587 7: always opus/48000/2, whatever the stream carries.
  { encoding: 'opus', name: 'opus', clockRate: 48000, channels: 2 },
];

/** The engine codec an SDP format names, with that format's payload type; undefined when the engine has none. */
export function engineCodecOf(c: {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}): CodecDescription | undefined {
  const name = c.encodingName.toLowerCase();
  const hit = ENGINE_CODECS.find(
    (e) => e.name.toLowerCase() === name && e.clockRate === c.clockRate && e.channels === (c.channels ?? 1),
  );
  if (!hit) return undefined;
  const out: CodecDescription = { payloadType: c.payloadType, encoding: hit.encoding, clockRate: hit.clockRate };
  if (hit.channels !== 1) out.channels = hit.channels;
  if (c.fmtp !== undefined && c.fmtp.length > 0) out.fmtp = c.fmtp;
  return out;
}

/** How SDP writes an engine codec. */
export function sdpCodecOf(c: CodecDescription): SdpCodecPreference {
  const e = ENGINE_CODECS.find((x) => x.encoding === c.encoding);
  const pref: SdpCodecPreference = {
    encodingName: e?.name ?? c.encoding,
    clockRate: c.clockRate,
    payloadType: c.payloadType,
  };
  if ((c.channels ?? 1) !== 1) pref.channels = c.channels;
  if (c.fmtp !== undefined) pref.fmtp = c.fmtp;
  return pref;
}

/** One codec per encoding, same clock rate and channels (a relay needs them equal, not the payload numbers). */
export function sameEncoding(a: CodecDescription, b: CodecDescription): boolean {
  return a.encoding === b.encoding && a.clockRate === b.clockRate && (a.channels ?? 1) === (b.channels ?? 1);
}

/**
 * The codecs the PBX offers, in its order of preference: G.722 (wideband), G.711 mu-law and A-law, then Opus when
 * the engine has it (last: it costs the most to transcode). Payload types are RFC 3551's static ones and 111 for
 * Opus, as most phones write it.
 */
export function defaultEngineCodecs(opus: boolean): CodecDescription[] {
  const list: CodecDescription[] = [
    { payloadType: 9, encoding: 'G722', clockRate: 8000 },
    { payloadType: 0, encoding: 'PCMU', clockRate: 8000 },
    { payloadType: 8, encoding: 'PCMA', clockRate: 8000 },
  ];
  if (opus) list.push({ payloadType: 111, encoding: 'opus', clockRate: 48000, channels: 2, fmtp: 'useinbandfec=1' });
  return list;
}

function parse(body: Uint8Array | string, what: string): SdpSessionDescription {
  try {
    return parseSdp(body);
  } catch (err) {
    throw new MediaAnchorError(400, `${what} is not valid SDP: ${(err as Error).message}`);
  }
}

/** The first live audio stream over plain RTP: the one the engine anchors (others are rejected in our answer). */
function audioIndex(sdp: SdpSessionDescription): number {
  return sdp.media.findIndex((m) => m.type.toLowerCase() === 'audio' && m.port !== 0 && isPlainRtp(m));
}

function isPlainRtp(m: SdpMediaDescription): boolean {
  const p = m.protocol.toUpperCase();
  return p === 'RTP/AVP' || p === 'RTP/AVPF';
}

/** Where the far end wants RTP, in the family of our media address; undefined while it holds with c=0.0.0.0. */
export interface RemoteMedia {
  readonly address: string | undefined;
  readonly port: number;
}

function remoteOf(sdp: SdpSessionDescription, m: SdpMediaDescription, family: 4 | 6, what: string): RemoteMedia {
  const conn = getSdpMediaConnection(sdp, m);
  if (!conn) throw new MediaAnchorError(488, `${what} has no connection address`);
  // RFC 3264 8.4: c=0.0.0.0 is the old way to hold; there is nowhere to send until the next offer.
  if (isSdpHoldConnection(conn)) return { address: undefined, port: m.port };
  if (addressFamily(conn.address) !== family) {
    throw new MediaAnchorError(488, `${what} connection address ${conn.address} is not an IPv${family} literal`);
  }
  return { address: conn.address, port: m.port };
}

/** 4, 6, or 0 for anything that is not an IP literal (a name would cost a DNS lookup per call; phones send IPs). */
export function addressFamily(address: string): 0 | 4 | 6 {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return address.split('.').every((o) => Number(o) <= 255) ? 4 : 0;
  return /^[0-9a-fA-F:.]+$/.test(address) && address.includes(':') ? 6 : 0;
}

/** A phone's offer, read for the engine. */
export interface MediaOffer {
  readonly sdp: SdpSessionDescription;
  /** Index of the audio stream we anchor. */
  readonly index: number;
  /** The offered codecs the engine carries, in the offer's order, with the offer's payload types. */
  readonly codecs: CodecDescription[];
  /** The offered RFC 4733 format at 8000 Hz (else the first offered), for an endpoint made before the codec is chosen. */
  readonly telephoneEventPayloadType: number | undefined;
  /** Every offered RFC 4733 format: one per clock rate it goes with (telephone-event/48000 for Opus, RFC 4733 2.1). */
  readonly telephoneEvents: ReadonlyArray<{ payloadType: number; clockRate: number }>;
  readonly remote: RemoteMedia;
  /** The offerer's direction (RFC 3264 6.1). */
  readonly direction: SdpDirection;
  readonly ptime: number | undefined;
}

/** Reads an offer; throws MediaAnchorError 488 when it has no audio stream with a codec the engine carries. */
export function readMediaOffer(body: Uint8Array | string, family: 4 | 6): MediaOffer {
  const sdp = parse(body, 'the offer');
  const index = audioIndex(sdp);
  if (index < 0) throw new MediaAnchorError(488, 'the offer has no RTP audio stream');
  const m = sdp.media[index];
  const all = getSdpCodecs(m);
  const codecs: CodecDescription[] = [];
  for (const c of all) {
    const e = engineCodecOf(c);
    if (e && !codecs.some((x) => sameEncoding(x, e))) codecs.push(e);
  }
  if (codecs.length === 0) {
    const names = all.filter((c) => !isSdpAuxiliaryCodec(c.encodingName)).map((c) => c.encodingName);
    throw new MediaAnchorError(488, `no offered codec is one the PBX carries (offered: ${names.join(', ') || 'none'})`);
  }
  const events = getSdpTelephoneEvents(m).map((t) => ({ payloadType: t.payloadType, clockRate: t.clockRate }));
  const te = events.find((t) => t.clockRate === 8000) ?? events[0];
  return {
    sdp,
    index,
    codecs,
    telephoneEventPayloadType: te?.payloadType,
    telephoneEvents: events,
    remote: remoteOf(sdp, m, family, 'the offer'),
    direction: getSdpDirection(sdp, m),
    ptime: getSdpPtime(m, sdp),
  };
}

/** Our side of a session description: the o= line stays for the whole dialog (RFC 3264 8). */
export interface LocalMedia {
  readonly address: string;
  readonly port: number;
  readonly sessionId: string;
}

/**
 * The offered telephone-event that goes with `codec`: the one at the codec's RTP clock rate (RFC 4733 2.1, events
 * share the audio's timestamps), which is the one our answer carries and both directions use (RFC 3264 6.1).
 */
export function telephoneEventFor(offer: MediaOffer, codec: CodecDescription): number | undefined {
  return offer.telephoneEvents.find((t) => t.clockRate === codec.clockRate)?.payloadType;
}

/**
 * Answers an offer with one codec of it (`codec`, which must be one of `offer.codecs`) and telephone-event when
 * offered, on our address and port; other streams are rejected with port 0 (RFC 3264 6).
 */
export function answerMediaOffer(
  offer: MediaOffer,
  local: LocalMedia,
  codec: CodecDescription,
  previous?: SdpSessionDescription,
): SdpSessionDescription {
  // Only the anchored stream is answered: a copy of the offer without the others, whose answers are port 0.
  const single: SdpSessionDescription = {
    ...offer.sdp,
    media: offer.sdp.media.map((m, i) => (i === offer.index ? m : { ...m, port: 0 })),
  };
  const answer = createSdpAnswer(single, {
    address: local.address,
    sessionId: local.sessionId,
    media: [
      {
        port: local.port,
        protocol: offer.sdp.media[offer.index].protocol,
        codecs: [sdpCodecOf(codec)],
        maxCodecs: 1,
        // Only the format at the codec's clock (RFC 4733 2.1): an Opus answer never carries telephone-event/8000.
        telephoneEvent:
          telephoneEventFor(offer, codec) !== undefined ? { clockRate: codec.clockRate, events: '0-16' } : false,
        ptime: 20,
      },
    ],
  });
  if (answer.media[offer.index]?.port !== local.port) {
    throw new MediaAnchorError(488, 'the offer cannot be answered with the chosen codec');
  }
  if (previous) updateSdpSessionVersion(previous, answer);
  return answer;
}

/**
 * The telephone-event formats we offer with `codecs`: 101 at 8000, and one more per other clock rate among them
 * (telephone-event/48000 for Opus, RFC 4733 2.1), on the first dynamic numbers the codecs leave free.
 */
export function offerTelephoneEvents(
  codecs: readonly CodecDescription[],
): { payloadType: number; clockRate: number }[] {
  const out = [{ payloadType: TELEPHONE_EVENT_PAYLOAD_TYPE, clockRate: 8000 }];
  const used = new Set<number>([TELEPHONE_EVENT_PAYLOAD_TYPE, ...codecs.map((c) => c.payloadType)]);
  for (const c of codecs) {
    if (out.some((t) => t.clockRate === c.clockRate)) continue;
    let pt = 96;
    while (pt <= 127 && used.has(pt)) pt++;
    if (pt > 127) break; // no number left: those codecs go without events
    used.add(pt);
    out.push({ payloadType: pt, clockRate: c.clockRate });
  }
  return out;
}

/** Our offer to a callee: every codec the engine carries, in the given order, and telephone-event per clock rate. */
export function createMediaOffer(
  local: LocalMedia,
  codecs: readonly CodecDescription[],
  previous?: SdpSessionDescription,
): SdpSessionDescription {
  const extraEvents = offerTelephoneEvents(codecs)
    .slice(1)
    .map((t) => ({
      encodingName: 'telephone-event',
      clockRate: t.clockRate,
      payloadType: t.payloadType,
      fmtp: '0-16',
    }));
  const offer = createSdpOffer({
    address: local.address,
    sessionId: local.sessionId,
    port: local.port,
    codecs: [...codecs.map(sdpCodecOf), ...extraEvents],
    telephoneEvent: { payloadType: TELEPHONE_EVENT_PAYLOAD_TYPE, events: '0-16' },
    ptime: 20,
  });
  if (previous) updateSdpSessionVersion(previous, offer);
  return offer;
}

/** What an answer to our offer settles, for the engine. */
export interface MediaAnswer {
  /** The codec both send, with the payload type of our offer: the one we receive (RFC 3264 6.1). */
  readonly codec: CodecDescription;
  /** The answerer's number for that codec: the one we send with (it may differ from ours, RFC 3264 6.1). */
  readonly sendPayloadType: number;
  readonly telephoneEvent: boolean;
  /** The negotiated telephone-event: our number (received) and the answerer's (sent with). */
  readonly telephoneEventPayloadTypes: { receive: number; send: number } | undefined;
  readonly remote: RemoteMedia;
  readonly direction: SdpDirection;
}

/** Reads the answer to `offer` (ours); throws MediaAnchorError 488 when no codec of ours was accepted. */
export function readMediaAnswer(offer: SdpSessionDescription, body: Uint8Array | string, family: 4 | 6): MediaAnswer {
  const answer = parse(body, 'the answer');
  const result = negotiateSdp(offer, answer, 'offerer');
  const index = offer.media.findIndex((m) => m.type.toLowerCase() === 'audio' && m.port !== 0);
  const stream = result.streams[index];
  if (!stream?.active || !stream.codec) throw new MediaAnchorError(488, 'the answer accepts no audio codec of ours');
  // RFC 3264 6.1: each side receives with the numbers it declared; the answerer SHOULD keep ours but may not.
  const ours = getSdpCodecs(offer.media[index]).find((c) => c.payloadType === stream.codec?.receivePayloadType);
  const codec = ours && engineCodecOf(ours);
  if (!codec) throw new MediaAnchorError(488, `the answer chose ${stream.codec.encodingName}, which we did not offer`);
  // Of the events both sides have, the ones at the codec's clock (RFC 4733 2.1) when the answer kept several.
  const theirEvents = getSdpTelephoneEvents(answer.media[index]);
  const ourAtRate = getSdpTelephoneEvents(offer.media[index]).find((t) => t.clockRate === codec.clockRate);
  const theirAtRate = theirEvents.find((t) => t.clockRate === codec.clockRate);
  const te =
    ourAtRate && theirAtRate && stream.telephoneEvent
      ? { receivePayloadType: ourAtRate.payloadType, sendPayloadType: theirAtRate.payloadType }
      : stream.telephoneEvent;
  return {
    codec,
    sendPayloadType: stream.codec.sendPayloadType,
    telephoneEvent: te !== undefined,
    telephoneEventPayloadTypes: te ? { receive: te.receivePayloadType, send: te.sendPayloadType } : undefined,
    remote: remoteOf(answer, answer.media[index], family, 'the answer'),
    direction: getSdpDirection(answer, answer.media[index]),
  };
}

export function sdpBytes(sdp: SdpSessionDescription): string {
  return serializeSdp(sdp);
}
