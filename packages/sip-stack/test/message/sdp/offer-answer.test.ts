import { describe, expect, it } from 'vitest';
import {
  createSdpAnswer,
  createSdpOffer,
  getSdpCodecs,
  getSdpCryptos,
  getSdpDirection,
  incrementSdpSessionVersion,
  negotiateSdp,
  parseSdp,
  type SdpAnswerOptions,
  type SdpCodecPreference,
  type SdpLocalMedia,
  SdpSerializeError,
  serializeSdp,
  updateSdpSessionVersion,
} from '../../../src/message/sdp/index.js';
import {
  AUDIO_VIDEO_OFFER,
  DESK_PHONE_OFFER,
  IPV6_OFFER,
  SRTP_OFFER,
  WEBRTC_OFFER,
  YEALINK_OFFER,
} from './fixtures.js';

const G722: SdpCodecPreference = { encodingName: 'G722', clockRate: 8000 };
const PCMU: SdpCodecPreference = { encodingName: 'PCMU', clockRate: 8000 };
const PCMA: SdpCodecPreference = { encodingName: 'PCMA', clockRate: 8000 };
const OPUS: SdpCodecPreference = { encodingName: 'opus', clockRate: 48000, channels: 2, fmtp: 'useinbandfec=1' };

const KEY_A = 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB';
const KEY_B = 'QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC';

function answerer(media: SdpLocalMedia[]): SdpAnswerOptions {
  return { address: '10.1.1.1', sessionId: '777', media };
}

const pbxAudio: SdpLocalMedia = { port: 40000, codecs: [G722, PCMA, PCMU], telephoneEvent: true, ptime: 20 };

function reparse(text: string) {
  return parseSdp(serializeSdp(parseSdp(text)));
}

describe('createSdpOffer', () => {
  it('writes a desk-phone style offer that parses back to the same codecs', () => {
    const offer = createSdpOffer({
      address: '192.0.2.10',
      sessionId: '123456',
      port: 4000,
      codecs: [G722, PCMU, { encodingName: 'G729', clockRate: 8000, fmtp: 'annexb=no' }, OPUS],
      telephoneEvent: true,
      ptime: 20,
    });
    const text = serializeSdp(offer);
    expect(text).toBe(
      [
        'v=0',
        'o=- 123456 0 IN IP4 192.0.2.10',
        's=-',
        'c=IN IP4 192.0.2.10',
        't=0 0',
        'm=audio 4000 RTP/AVP 9 0 18 96 101',
        'a=rtpmap:9 G722/8000',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:18 G729/8000',
        'a=fmtp:18 annexb=no',
        'a=rtpmap:96 opus/48000/2',
        'a=fmtp:96 useinbandfec=1',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
    expect(getSdpCodecs(parseSdp(text).media[0]).map((c) => c.encodingName)).toEqual([
      'G722',
      'PCMU',
      'G729',
      'opus',
      'telephone-event',
    ]);
  });

  it('writes IPv6, several streams, rtcp-mux, crypto (RTP/SAVP) and caller attributes', () => {
    const offer = createSdpOffer({
      address: '2001:db8::1',
      sessionId: '9',
      sessionVersion: '3',
      media: [
        {
          port: 5000,
          codecs: [PCMU],
          rtcpMux: true,
          direction: 'sendonly',
          crypto: [{ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt: KEY_A, lifetime: '2^31' }],
          attributes: [{ name: 'ice-ufrag', value: 'abcd' }],
        },
        {
          type: 'video',
          port: 5002,
          address: '2001:db8::2',
          codecs: [{ encodingName: 'H264', clockRate: 90000, payloadType: 99 }],
        },
      ],
    });
    const sdp = parseSdp(serializeSdp(offer));
    expect(sdp.origin).toMatchObject({ addressType: 'IP6', address: '2001:db8::1', sessionVersion: '3' });
    expect(sdp.connection).toEqual({ netType: 'IN', addressType: 'IP6', address: '2001:db8::1' });
    expect(sdp.media[0].protocol).toBe('RTP/SAVP');
    expect(sdp.media[0].attributes).toEqual([
      { name: 'rtpmap', value: '0 PCMU/8000' },
      { name: 'rtcp-mux' },
      { name: 'crypto', value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}|2^31` },
      { name: 'sendonly' },
      { name: 'ice-ufrag', value: 'abcd' },
    ]);
    expect(sdp.media[1]).toMatchObject({ type: 'video', port: 5002, protocol: 'RTP/AVP', formats: ['99'] });
    expect(sdp.media[1].connection?.address).toBe('2001:db8::2');
  });

  it('avoids payload type clashes and refuses impossible options', () => {
    const offer = createSdpOffer({
      address: '10.0.0.1',
      sessionId: '1',
      port: 4000,
      codecs: [
        { encodingName: 'opus', clockRate: 48000, channels: 2, payloadType: 96 },
        { encodingName: 'speex', clockRate: 16000 },
      ],
      telephoneEvent: { payloadType: 97, events: '0-15' },
    });
    expect(offer.media[0].formats).toEqual(['96', '98', '97']);
    const bad = (o: Partial<SdpLocalMedia>) => () =>
      createSdpOffer({ address: '10.0.0.1', sessionId: '1', port: 4000, codecs: [PCMU], ...o });
    expect(bad({ port: 70000 })).toThrow(SdpSerializeError);
    expect(bad({ codecs: [] })).toThrow(SdpSerializeError);
    expect(bad({ codecs: [PCMU, { ...PCMA, payloadType: 0 }] })).toThrow(/used twice/);
    expect(bad({ telephoneEvent: { events: 'all' } })).toThrow(SdpSerializeError);
    expect(bad({ attributes: [{ name: 'x', value: 'a\r\nb' }] })).toThrow(SdpSerializeError);
    expect(bad({ ptime: Number.NaN })).toThrow(/ptime/);
    expect(bad({ maxptime: -20 })).toThrow(/maxptime/);
    expect(bad({ codecs: [{ encodingName: 'G 722', clockRate: 8000 }] })).toThrow(/codecs\[0\]/);
    expect(bad({ codecs: [{ encodingName: 'opus', clockRate: 48000, channels: 0 }] })).toThrow(SdpSerializeError);
    expect(bad({ crypto: [{ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt: 'not base64!' }] })).toThrow(/crypto\[0\]/);
    expect(bad({ crypto: [{ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt: KEY_A, lifetime: 'forever' }] })).toThrow(
      SdpSerializeError,
    );
    expect(() => createSdpOffer({ address: '10.0.0.1', sessionId: 'x y', port: 1, codecs: [PCMU] })).toThrow(
      SdpSerializeError,
    );
  });
});

describe('createSdpAnswer (RFC 3264 6)', () => {
  it('answers a desk phone in our preference order with telephone-event intersected', () => {
    const offer = reparse(DESK_PHONE_OFFER);
    const answer = createSdpAnswer(offer, answerer([{ ...pbxAudio, codecs: [PCMA, G722] }]));
    const m = answer.media[0];
    expect(m.port).toBe(40000);
    expect(m.formats).toEqual(['8', '9', '101']);
    expect(m.attributes).toEqual([
      { name: 'rtpmap', value: '8 PCMA/8000' },
      { name: 'rtpmap', value: '9 G722/8000' },
      { name: 'rtpmap', value: '101 telephone-event/8000' },
      { name: 'fmtp', value: '101 0-15' }, // offer 0-15, ours 0-16
      { name: 'ptime', value: '20' },
      { name: 'sendrecv' },
    ]);
    expect(answer.timing).toEqual(offer.timing);
    expect(answer.connection?.address).toBe('10.1.1.1');
  });

  it('limits the answer to maxCodecs voice codecs', () => {
    const answer = createSdpAnswer(parseSdp(DESK_PHONE_OFFER), answerer([{ ...pbxAudio, maxCodecs: 1 }]));
    expect(answer.media[0].formats).toEqual(['9', '101']);
  });

  it('answers a sendonly hold with recvonly, recvonly with sendonly, inactive with inactive', () => {
    for (const [offered, answered] of [
      ['sendonly', 'recvonly'],
      ['recvonly', 'sendonly'],
      ['inactive', 'inactive'],
      ['sendrecv', 'sendrecv'],
    ]) {
      const offer = parseSdp(YEALINK_OFFER.replace('a=sendrecv', `a=${offered}`));
      const answer = createSdpAnswer(offer, answerer([pbxAudio]));
      expect(getSdpDirection(answer, answer.media[0]), offered).toBe(answered);
    }
    // our own limit: a recvonly line (e.g. a recorder) answers sendrecv with recvonly, sendonly with inactive
    const recorder = { ...pbxAudio, direction: 'recvonly' as const };
    const a1 = createSdpAnswer(parseSdp(YEALINK_OFFER), answerer([recorder]));
    expect(getSdpDirection(a1, a1.media[0])).toBe('recvonly');
    const a2 = createSdpAnswer(parseSdp(YEALINK_OFFER.replace('a=sendrecv', 'a=recvonly')), answerer([recorder]));
    expect(getSdpDirection(a2, a2.media[0])).toBe('inactive');
  });

  it('recognises the RFC 2543 hold (c=0.0.0.0) and answers recvonly', () => {
    const offer = parseSdp(DESK_PHONE_OFFER.replace('c=IN IP4 192.168.1.50', 'c=IN IP4 0.0.0.0'));
    const answer = createSdpAnswer(offer, answerer([pbxAudio]));
    expect(getSdpDirection(answer, answer.media[0])).toBe('recvonly');
    const result = negotiateSdp(offer, answer, 'answerer').streams[0];
    expect(result.remoteHold).toBe(true);
    expect(result.direction).toBe('recvonly');
    expect(result.remoteAddress).toBe('0.0.0.0');
  });

  it('rejects a stream with no common codec with port 0, keeping type, protocol and formats', () => {
    const offer = parseSdp(DESK_PHONE_OFFER);
    const answer = createSdpAnswer(offer, answerer([{ port: 40000, codecs: [OPUS], telephoneEvent: true }]));
    expect(answer.media).toHaveLength(1);
    expect(answer.media[0]).toEqual({
      type: 'audio',
      port: 0,
      protocol: 'RTP/AVP',
      formats: ['9', '0', '8', '18', '101'],
      bandwidths: [],
      attributes: [],
      extraLines: [],
    });
    // telephone-event alone is no voice codec
    const onlyDtmf = createSdpAnswer(
      offer,
      answerer([{ port: 1, codecs: [{ encodingName: 'telephone-event', clockRate: 8000 }] }]),
    );
    expect(onlyDtmf.media[0].port).toBe(0);
  });

  it('leaves telephone-event out when only one side has it', () => {
    const noDtmfOffer = parseSdp(
      'v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8\r\n',
    );
    const a1 = createSdpAnswer(noDtmfOffer, answerer([pbxAudio]));
    expect(a1.media[0].formats).toEqual(['8', '0']);
    expect(negotiateSdp(noDtmfOffer, a1, 'answerer').streams[0].telephoneEvent).toBeUndefined();
    const a2 = createSdpAnswer(parseSdp(DESK_PHONE_OFFER), answerer([{ ...pbxAudio, telephoneEvent: false }]));
    expect(a2.media[0].formats).toEqual(['9', '8', '0']);
    expect(a2.media[0].attributes.some((a) => a.value?.includes('telephone-event'))).toBe(false);
  });

  it('answers dynamic codecs with the offerer payload numbers, matched by name/rate/channels', () => {
    const offer = parseSdp(
      [
        'v=0',
        'o=- 1 1 IN IP4 10.0.0.2',
        's=-',
        'c=IN IP4 10.0.0.2',
        't=0 0',
        'm=audio 6000 RTP/AVP 120 121 122 123',
        'a=rtpmap:120 OPUS/48000/2',
        'a=rtpmap:121 opus/48000',
        'a=rtpmap:122 iLBC/8000',
        'a=rtpmap:123 TELEPHONE-EVENT/8000',
        'a=fmtp:123 0-11',
        '',
      ].join('\r\n'),
    );
    const answer = createSdpAnswer(offer, answerer([{ port: 7000, codecs: [OPUS, PCMU], telephoneEvent: true }]));
    expect(answer.media[0].formats).toEqual(['120', '123']);
    expect(answer.media[0].attributes.slice(0, 4)).toEqual([
      { name: 'rtpmap', value: '120 OPUS/48000/2' },
      { name: 'fmtp', value: '120 useinbandfec=1' },
      { name: 'rtpmap', value: '123 telephone-event/8000' },
      { name: 'fmtp', value: '123 0-11' },
    ]);
    // the negotiated view: we send with the offerer's numbers and receive with ours (the same here)
    const ours = createSdpOffer({
      address: '10.9.9.9',
      sessionId: '5',
      port: 8000,
      codecs: [{ ...OPUS, payloadType: 111 }],
      telephoneEvent: { payloadType: 126 },
    });
    const theirAnswer = parseSdp(
      'v=0\r\no=- 2 2 IN IP4 10.0.0.3\r\ns=-\r\nc=IN IP4 10.0.0.3\r\nt=0 0\r\nm=audio 9000 RTP/AVP 96 101\r\n' +
        'a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=0\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:40\r\n',
    );
    const s = negotiateSdp(ours, theirAnswer, 'offerer').streams[0];
    expect(s.codec).toEqual({
      encodingName: 'opus',
      clockRate: 48000,
      channels: 2,
      sendPayloadType: 96,
      receivePayloadType: 111,
      remoteFmtp: 'stereo=0',
      localFmtp: 'useinbandfec=1',
    });
    expect(s.telephoneEvent).toEqual({
      sendPayloadType: 101,
      receivePayloadType: 126,
      clockRate: 8000,
      events: [[0, 15]],
    });
    expect(s.remotePtime).toBe(40);
  });

  it('keeps m-line order and count, rejecting the unsupported video stream', () => {
    const offer = parseSdp(AUDIO_VIDEO_OFFER);
    const answer = createSdpAnswer(offer, answerer([pbxAudio]));
    expect(answer.media.map((m) => [m.type, m.port])).toEqual([
      ['audio', 40000],
      ['video', 0],
    ]);
    const result = negotiateSdp(offer, answer, 'answerer');
    expect(result.streams.map((s) => s.active)).toEqual([true, false]);
    expect(result.streams[0]).toMatchObject({
      remoteAddress: '198.51.100.7',
      remotePort: 30000,
      remoteRtcpPort: 30001,
    });
    // video first, audio second: the audio capability still serves the audio line
    const swapped = parseSdp(AUDIO_VIDEO_OFFER.replace(/(m=audio[\s\S]*?)(m=video[\s\S]*)$/, '$2$1'));
    expect(createSdpAnswer(swapped, answerer([pbxAudio])).media.map((m) => [m.type, m.port])).toEqual([
      ['video', 0],
      ['audio', 40000],
    ]);
  });

  it('keeps an offered port-0 stream rejected and uses each local stream once', () => {
    const two = parseSdp(
      `${DESK_PHONE_OFFER}m=audio 0 RTP/AVP 0\r\nm=audio 3000 RTP/AVP 0\r\n`.replace('s=Polycom IP Phone', 's=x'),
    );
    const answer = createSdpAnswer(two, answerer([pbxAudio, { ...pbxAudio, port: 40002 }]));
    expect(answer.media.map((m) => m.port)).toEqual([40000, 0, 40002]);
    const single = createSdpAnswer(two, answerer([pbxAudio]));
    expect(single.media.map((m) => m.port)).toEqual([40000, 0, 0]);
  });

  it('answers rtcp-mux only when offered and supported', () => {
    const mux = (m: { attributes: { name: string }[] }) => m.attributes.some((a) => a.name === 'rtcp-mux');
    const offerMux = parseSdp(`${DESK_PHONE_OFFER}a=rtcp-mux\r\n`);
    expect(mux(createSdpAnswer(offerMux, answerer([{ ...pbxAudio, rtcpMux: true }])).media[0])).toBe(true);
    expect(mux(createSdpAnswer(offerMux, answerer([pbxAudio])).media[0])).toBe(false);
    expect(mux(createSdpAnswer(parseSdp(DESK_PHONE_OFFER), answerer([{ ...pbxAudio, rtcpMux: true }])).media[0])).toBe(
      false,
    );
    const answer = createSdpAnswer(offerMux, answerer([{ ...pbxAudio, rtcpMux: true }]));
    const s = negotiateSdp(offerMux, answer, 'answerer').streams[0];
    expect(s.rtcpMux).toBe(true);
    expect(s.remoteRtcpPort).toBe(2222);
  });

  it('picks the first offered crypto suite we support, same tag, our key', () => {
    const offer = parseSdp(SRTP_OFFER);
    const srtpAudio: SdpLocalMedia = {
      ...pbxAudio,
      crypto: [
        { suite: 'AES_CM_128_HMAC_SHA1_32', keySalt: KEY_A },
        { suite: 'AES_256_CM_HMAC_SHA1_80', keySalt: KEY_B },
      ],
    };
    const answer = createSdpAnswer(offer, answerer([srtpAudio]));
    expect(answer.media[0].protocol).toBe('RTP/SAVP');
    expect(getSdpCryptos(answer.media[0])).toEqual([
      {
        tag: 2,
        suite: 'AES_CM_128_HMAC_SHA1_32',
        keyParams: [{ method: 'inline', keySalt: KEY_A }],
        sessionParams: [],
      },
    ]);
    const s = negotiateSdp(offer, answer, 'answerer').streams[0];
    expect(s.crypto).toEqual({
      suite: 'AES_CM_128_HMAC_SHA1_32',
      tag: 2,
      sendKey: { method: 'inline', keySalt: KEY_A },
      receiveKey: {
        method: 'inline',
        keySalt: 'NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj',
        lifetime: '2^20',
        mki: { value: '1', length: 4 },
      },
    });
    // the offerer's view of the same exchange swaps the keys
    expect(negotiateSdp(offer, answer, 'offerer').streams[0].crypto?.sendKey.keySalt).toBe(
      'NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj',
    );
  });

  it('rejects RTP/SAVP without a common suite or without SRTP support; requireCrypto rejects plain RTP', () => {
    const offer = parseSdp(SRTP_OFFER);
    expect(createSdpAnswer(offer, answerer([pbxAudio])).media[0].port).toBe(0);
    const gcmOnly = { ...pbxAudio, crypto: [{ suite: 'AEAD_AES_128_GCM', keySalt: KEY_A }] };
    expect(createSdpAnswer(offer, answerer([gcmOnly])).media[0].port).toBe(0);
    const strict = { ...pbxAudio, crypto: [{ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt: KEY_A }], requireCrypto: true };
    expect(createSdpAnswer(parseSdp(DESK_PHONE_OFFER), answerer([strict])).media[0].port).toBe(0);
    expect(createSdpAnswer(offer, answerer([strict])).media[0].port).toBe(40000);
  });

  it('rejects a WebRTC (DTLS) offer unless the protocol is accepted explicitly', () => {
    const offer = parseSdp(WEBRTC_OFFER);
    expect(createSdpAnswer(offer, answerer([{ ...pbxAudio, codecs: [OPUS, PCMU] }])).media[0].port).toBe(0);
    const webrtc: SdpLocalMedia = {
      port: 40000,
      protocol: 'UDP/TLS/RTP/SAVPF',
      codecs: [OPUS, PCMU],
      telephoneEvent: true,
      rtcpMux: true,
      attributes: [
        { name: 'setup', value: 'active' },
        { name: 'fingerprint', value: 'sha-256 00:11' },
      ],
    };
    const answer = createSdpAnswer(offer, answerer([webrtc]));
    const m = answer.media[0];
    expect(m.protocol).toBe('UDP/TLS/RTP/SAVPF');
    // opus at 48 kHz takes telephone-event/48000: events share the audio timestamp clock
    expect(m.formats).toEqual(['111', '0', '110']);
    expect(m.attributes.slice(-3)).toEqual([{ name: 'sendrecv' }, ...(webrtc.attributes ?? [])]);
    expect(m.attributes).toContainEqual({ name: 'rtcp-mux' });
    const s = negotiateSdp(offer, answer, 'answerer').streams[0];
    expect(s).toMatchObject({ rtcpMux: true, remotePort: 9, remoteRtcpPort: 9, remoteAddress: '0.0.0.0' });
    expect(s.codec?.encodingName).toBe('opus');
    expect(s.telephoneEvent?.sendPayloadType).toBe(110);
  });
});

describe('IPv6', () => {
  it('answers an IPv6 offer from an IPv6 address and reads the RFC 3605 rtcp address', () => {
    const offer = parseSdp(IPV6_OFFER);
    const answer = createSdpAnswer(offer, { address: '2001:db8::99', sessionId: '4', media: [pbxAudio] });
    const text = serializeSdp(answer);
    expect(text).toContain('\r\no=- 4 0 IN IP6 2001:db8::99\r\n');
    expect(text).toContain('\r\nc=IN IP6 2001:db8::99\r\n');
    expect(answer.media[0].formats).toEqual(['8', '0', '101']);
    const s = negotiateSdp(offer, answer, 'answerer').streams[0];
    expect(s).toMatchObject({
      remoteAddress: '2001:db8::10',
      remotePort: 49170,
      remoteRtcpAddress: '2001:db8::10',
      remoteRtcpPort: 49171,
    });
    expect(s.codec?.encodingName).toBe('PCMA');
    expect(s.telephoneEvent?.events).toEqual([[0, 16]]);
    const phone = negotiateSdp(offer, answer, 'offerer').streams[0];
    expect(phone).toMatchObject({ remoteAddress: '2001:db8::99', remotePort: 40000, remoteRtcpPort: 40001 });
  });
});

describe('negotiateSdp', () => {
  it('describes both sides of a desk phone call', () => {
    const offer = parseSdp(DESK_PHONE_OFFER);
    const answer = createSdpAnswer(offer, answerer([{ ...pbxAudio, address: '10.1.1.2' }]));
    const us = negotiateSdp(offer, answer, 'answerer').streams[0];
    expect(us).toEqual({
      index: 0,
      type: 'audio',
      protocol: 'RTP/AVP',
      active: true,
      localPort: 40000,
      remoteAddress: '192.168.1.50',
      remotePort: 2222,
      rtcpMux: false,
      remoteRtcpAddress: '192.168.1.50',
      remoteRtcpPort: 2223,
      codec: { encodingName: 'G722', clockRate: 8000, channels: 1, sendPayloadType: 9, receivePayloadType: 9 },
      codecs: [
        { encodingName: 'G722', clockRate: 8000, channels: 1, sendPayloadType: 9, receivePayloadType: 9 },
        { encodingName: 'PCMA', clockRate: 8000, channels: 1, sendPayloadType: 8, receivePayloadType: 8 },
        { encodingName: 'PCMU', clockRate: 8000, channels: 1, sendPayloadType: 0, receivePayloadType: 0 },
      ],
      telephoneEvent: { sendPayloadType: 101, receivePayloadType: 101, clockRate: 8000, events: [[0, 15]] },
      remotePtime: 20,
      direction: 'sendrecv',
      remoteHold: false,
      localHold: false,
      crypto: undefined,
    });
    const phone = negotiateSdp(offer, answer, 'offerer').streams[0];
    expect(phone).toMatchObject({ remoteAddress: '10.1.1.2', remotePort: 40000, localPort: 2222, remotePtime: 20 });
  });

  it('reports hold from either side and the direction that remains', () => {
    const offer = parseSdp(DESK_PHONE_OFFER.replace('a=sendrecv', 'a=sendonly'));
    const answer = createSdpAnswer(offer, answerer([pbxAudio]));
    const us = negotiateSdp(offer, answer, 'answerer').streams[0];
    expect(us).toMatchObject({ remoteHold: true, localHold: false, direction: 'recvonly' });
    const phone = negotiateSdp(offer, answer, 'offerer').streams[0];
    expect(phone).toMatchObject({ remoteHold: false, localHold: true, direction: 'sendonly' });
  });

  it('reports a rejected stream as inactive with no codec', () => {
    const offer = parseSdp(DESK_PHONE_OFFER);
    const answer = createSdpAnswer(offer, answerer([{ port: 1, codecs: [OPUS] }]));
    expect(negotiateSdp(offer, answer, 'offerer').streams[0]).toMatchObject({
      active: false,
      codec: undefined,
      codecs: [],
      direction: 'inactive',
      remotePort: 0,
      remoteRtcpPort: 0,
    });
  });
});

describe('session version (RFC 3264 8)', () => {
  it('increments digit strings beyond 2^53', () => {
    const o = parseSdp(DESK_PHONE_OFFER.replace('1700000000 1700000000', '1 18446744073709551615')).origin;
    expect(incrementSdpSessionVersion(o)).toBe('18446744073709551616');
    expect(o.sessionVersion).toBe('18446744073709551616');
  });

  it('keeps the version for an unchanged re-offer and increments it for a changed one', () => {
    const first = createSdpOffer({
      address: '10.0.0.1',
      sessionId: '55',
      sessionVersion: '7',
      port: 4000,
      codecs: [PCMU],
    });
    const same = createSdpOffer({ address: '10.0.0.1', sessionId: 'ignored', port: 4000, codecs: [PCMU] });
    expect(updateSdpSessionVersion(first, same)).toBe(false);
    expect(same.origin).toEqual(first.origin);
    const hold = createSdpOffer({
      address: '10.0.0.1',
      sessionId: '1',
      port: 4000,
      codecs: [PCMU],
      direction: 'sendonly',
    });
    expect(updateSdpSessionVersion(first, hold)).toBe(true);
    expect(hold.origin).toMatchObject({ sessionId: '55', sessionVersion: '8' });
    expect(first.origin.sessionVersion).toBe('7');
  });
});
