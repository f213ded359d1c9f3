import { describe, expect, it } from 'vitest';
import {
  createSdpCryptoKeySalt,
  findSdpAttribute,
  getSdpAttributeValues,
  getSdpCodecs,
  getSdpCryptos,
  getSdpDirection,
  getSdpMaxptime,
  getSdpPtime,
  getSdpRtcp,
  getSdpTelephoneEvents,
  hasSdpRtcpMux,
  intersectSdpDirections,
  intersectSdpEventLists,
  isSdpHold,
  isSdpLegacyHold,
  parseSdp,
  parseSdpCrypto,
  parseSdpEventList,
  parseSdpFmtp,
  parseSdpFmtpParameters,
  parseSdpRtcp,
  parseSdpRtpMap,
  removeSdpAttributes,
  reverseSdpDirection,
  SDP_STATIC_PAYLOAD_TYPES,
  type SdpDirection,
  sdpCryptoKeyLength,
  serializeSdp,
  serializeSdpCrypto,
  serializeSdpEventList,
  serializeSdpRtcp,
  setSdpDirectionAttribute,
} from '../../../src/message/sdp/index.js';
import { DESK_PHONE_OFFER, IPV6_OFFER, SRTP_OFFER, WEBRTC_OFFER, YEALINK_OFFER } from './fixtures.js';

const base = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n';

describe('codecs', () => {
  it('resolves rtpmap, static payload types and fmtp in m= order', () => {
    expect(getSdpCodecs(parseSdp(DESK_PHONE_OFFER).media[0])).toEqual([
      { payloadType: 9, encodingName: 'G722', clockRate: 8000, channels: 1 },
      { payloadType: 0, encodingName: 'PCMU', clockRate: 8000, channels: 1 },
      { payloadType: 8, encodingName: 'PCMA', clockRate: 8000, channels: 1 },
      { payloadType: 18, encodingName: 'G729', clockRate: 8000, channels: 1, fmtp: 'annexb=no' },
      { payloadType: 101, encodingName: 'telephone-event', clockRate: 8000, channels: 1, fmtp: '0-15' },
    ]);
  });

  it('knows G729 (18) without rtpmap and G722 at the RFC 3551 clock rate of 8000', () => {
    const codecs = getSdpCodecs(parseSdp(YEALINK_OFFER).media[0]);
    expect(codecs.find((c) => c.payloadType === 18)).toEqual({
      payloadType: 18,
      encodingName: 'G729',
      clockRate: 8000,
      channels: 1,
      fmtp: 'annexb=no',
    });
    const sdp = parseSdp(`${base}m=audio 4000 RTP/AVP 0 8 9 18 3\r\n`);
    expect(getSdpCodecs(sdp.media[0]).map((c) => `${c.payloadType} ${c.encodingName}/${c.clockRate}`)).toEqual([
      '0 PCMU/8000',
      '8 PCMA/8000',
      '9 G722/8000',
      '18 G729/8000',
      '3 GSM/8000',
    ]);
    expect(SDP_STATIC_PAYLOAD_TYPES.get(9)).toEqual({ encodingName: 'G722', clockRate: 8000, channels: 1 });
  });

  it('skips dynamic payload types without rtpmap and lets rtpmap override a static number', () => {
    const sdp = parseSdp(`${base}m=audio 4000 RTP/AVP 97 0 96\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMA/8000\r\n`);
    expect(getSdpCodecs(sdp.media[0])).toEqual([
      { payloadType: 0, encodingName: 'PCMA', clockRate: 8000, channels: 1 },
      { payloadType: 96, encodingName: 'opus', clockRate: 48000, channels: 2 },
    ]);
  });

  it('parses rtpmap and fmtp values and rejects malformed ones', () => {
    expect(parseSdpRtpMap('111 opus/48000/2')).toEqual({
      payloadType: 111,
      encodingName: 'opus',
      clockRate: 48000,
      channels: 2,
    });
    expect(parseSdpRtpMap('0 PCMU/8000')).toEqual({ payloadType: 0, encodingName: 'PCMU', clockRate: 8000 });
    for (const bad of [
      '',
      '0',
      '0 PCMU',
      '128 X/8000',
      'x PCMU/8000',
      '0 PCMU/0',
      '0 /8000',
      '0 A/8000/0',
      '0 A/1/2/3',
    ]) {
      expect(parseSdpRtpMap(bad)).toBeUndefined();
    }
    expect(parseSdpFmtp('111 minptime=10;useinbandfec=1')).toEqual({
      format: '111',
      parameters: 'minptime=10;useinbandfec=1',
    });
    expect(parseSdpFmtp('')).toBeUndefined();
    expect([...parseSdpFmtpParameters('minptime=10; useinbandfec=1;STEREO=0;flag')]).toEqual([
      ['minptime', '10'],
      ['useinbandfec', '1'],
      ['stereo', '0'],
      ['flag', ''],
    ]);
  });
});

describe('telephone-event (RFC 4733)', () => {
  it('reads the events range of each telephone-event format', () => {
    expect(getSdpTelephoneEvents(parseSdp(DESK_PHONE_OFFER).media[0])).toEqual([
      { payloadType: 101, clockRate: 8000, events: [[0, 15]] },
    ]);
    // WebRTC: two clock rates, no fmtp -> RFC 4733 7.1.1 default 0-15
    expect(getSdpTelephoneEvents(parseSdp(WEBRTC_OFFER).media[0])).toEqual([
      { payloadType: 110, clockRate: 48000, events: [[0, 15]] },
      { payloadType: 126, clockRate: 8000, events: [[0, 15]] },
    ]);
  });

  it('parses, writes and intersects event lists', () => {
    expect(parseSdpEventList('0-16,32,36-40')).toEqual([
      [0, 16],
      [32, 32],
      [36, 40],
    ]);
    for (const bad of ['', '16-0', '0-256', 'a', '1,,2', '0-']) expect(parseSdpEventList(bad)).toBeUndefined();
    expect(
      serializeSdpEventList([
        [0, 15],
        [32, 32],
      ]),
    ).toBe('0-15,32');
    expect(
      intersectSdpEventLists(
        [
          [0, 16],
          [32, 40],
        ],
        [
          [10, 35],
          [39, 39],
        ],
      ),
    ).toEqual([
      [10, 16],
      [32, 35],
      [39, 39],
    ]);
    expect(intersectSdpEventLists([[0, 15]], [[16, 16]])).toEqual([]);
  });
});

describe('ptime, rtcp, rtcp-mux', () => {
  it('reads ptime and maxptime, with a session-level fallback', () => {
    const srtp = parseSdp(SRTP_OFFER);
    expect(getSdpPtime(srtp.media[0])).toBe(20);
    expect(getSdpMaxptime(srtp.media[0])).toBe(150);
    const s = parseSdp(`${base}a=ptime:30\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:junk\r\n`);
    expect(getSdpPtime(s.media[0])).toBeUndefined();
    expect(getSdpPtime(s.media[0], s)).toBe(30);
  });

  it('reads and writes a=rtcp (RFC 3605) and a=rtcp-mux (RFC 5761)', () => {
    expect(getSdpRtcp(parseSdp(IPV6_OFFER).media[0])).toEqual({
      port: 49171,
      netType: 'IN',
      addressType: 'IP6',
      address: '2001:db8::10',
    });
    expect(parseSdpRtcp('53020')).toEqual({ port: 53020 });
    expect(parseSdpRtcp('53020 IN IP4')).toBeUndefined();
    expect(parseSdpRtcp('99999')).toBeUndefined();
    expect(serializeSdpRtcp({ port: 9, address: '::1' })).toBe('9 IN IP6 ::1');
    expect(serializeSdpRtcp({ port: 9 })).toBe('9');
    expect(hasSdpRtcpMux(parseSdp(WEBRTC_OFFER).media[0])).toBe(true);
    expect(hasSdpRtcpMux(parseSdp(DESK_PHONE_OFFER).media[0])).toBe(false);
  });
});

describe('directions and hold', () => {
  const withDir = (session: string, media: string, address = '10.0.0.1') =>
    parseSdp(
      `v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\n${session}m=audio 4000 RTP/AVP 0\r\n${media}`,
    );

  it('media level wins over session level, default sendrecv', () => {
    const cases: Array<[string, string, SdpDirection]> = [
      ['', '', 'sendrecv'],
      ['a=sendonly\r\n', '', 'sendonly'],
      ['a=sendonly\r\n', 'a=recvonly\r\n', 'recvonly'],
      ['', 'a=inactive\r\n', 'inactive'],
    ];
    for (const [s, m, want] of cases) {
      const sdp = withDir(s, m);
      expect(getSdpDirection(sdp, sdp.media[0])).toBe(want);
    }
  });

  it('recognises RFC 2543 hold (c=0.0.0.0) and sendonly/inactive as hold', () => {
    const old = withDir('', '', '0.0.0.0');
    expect(getSdpDirection(old, old.media[0])).toBe('sendonly');
    expect(isSdpHold(old, old.media[0])).toBe(true);
    const oldRecv = withDir('', 'a=recvonly\r\n', '0.0.0.0');
    expect(getSdpDirection(oldRecv, oldRecv.media[0])).toBe('inactive');
    for (const [m, hold] of [
      ['a=sendonly\r\n', true],
      ['a=inactive\r\n', true],
      ['a=recvonly\r\n', false],
      ['a=sendrecv\r\n', false],
    ] as const) {
      const sdp = withDir('', m);
      expect(isSdpHold(sdp, sdp.media[0])).toBe(hold);
    }
  });

  it('does not take the ICE placeholder c=0.0.0.0 for a hold (Trickle ICE, JSEP)', () => {
    const webrtc = parseSdp(WEBRTC_OFFER);
    expect(isSdpLegacyHold(webrtc, webrtc.media[0])).toBe(false);
    expect(isSdpHold(webrtc, webrtc.media[0])).toBe(false);
    expect(getSdpDirection(webrtc, webrtc.media[0])).toBe('sendrecv');
    const old = withDir('', '', '0.0.0.0');
    expect(isSdpLegacyHold(old, old.media[0])).toBe(true);
    const iceSession = withDir('a=ice-ufrag:abcd\r\n', '', '0.0.0.0');
    expect(isSdpLegacyHold(iceSession, iceSession.media[0])).toBe(false);
  });

  it('reverses and intersects directions (RFC 3264 6.1)', () => {
    expect(reverseSdpDirection('sendonly')).toBe('recvonly');
    expect(reverseSdpDirection('recvonly')).toBe('sendonly');
    expect(reverseSdpDirection('inactive')).toBe('inactive');
    expect(reverseSdpDirection('sendrecv')).toBe('sendrecv');
    expect(intersectSdpDirections('sendrecv', 'recvonly')).toBe('recvonly');
    expect(intersectSdpDirections('sendonly', 'recvonly')).toBe('inactive');
    expect(intersectSdpDirections('sendonly', 'sendrecv')).toBe('sendonly');
  });

  it('replaces the direction attribute in place and removes duplicates', () => {
    const sdp = parseSdp(YEALINK_OFFER);
    const attrs = sdp.media[0].attributes;
    const at = attrs.findIndex((a) => a.name === 'sendrecv');
    setSdpDirectionAttribute(attrs, 'sendonly');
    expect(attrs[at]).toEqual({ name: 'sendonly' });
    expect(attrs.filter((a) => ['sendrecv', 'sendonly'].includes(a.name))).toHaveLength(1);
    attrs.push({ name: 'recvonly' });
    setSdpDirectionAttribute(attrs, 'inactive');
    expect(attrs.filter((a) => a.name === 'inactive')).toHaveLength(1);
    expect(attrs.some((a) => a.name === 'recvonly' || a.name === 'sendonly')).toBe(false);
    const bare: { name: string; value?: string }[] = [];
    setSdpDirectionAttribute(bare, 'recvonly');
    expect(bare).toEqual([{ name: 'recvonly' }]);
  });
});

describe('generic attribute access', () => {
  it('finds, lists and removes attributes case-insensitively, leaving ICE untouched', () => {
    const sdp = parseSdp(WEBRTC_OFFER);
    const m = sdp.media[0];
    expect(findSdpAttribute(m.attributes, 'ice-ufrag')?.value).toBe('Oyef');
    expect(getSdpAttributeValues(m.attributes, 'candidate')).toHaveLength(2);
    expect(removeSdpAttributes(m.attributes, 'ssrc')).toBe(2);
    expect(findSdpAttribute(m.attributes, 'ssrc')).toBeUndefined();
    expect(serializeSdp(sdp)).toBe(WEBRTC_OFFER.replace(/a=ssrc:[^\r]*\r\n/g, ''));
  });
});

describe('crypto (RFC 4568)', () => {
  it('parses tag, suite, inline key with lifetime and MKI, and session parameters', () => {
    const cryptos = getSdpCryptos(parseSdp(SRTP_OFFER).media[0]);
    expect(cryptos).toEqual([
      {
        tag: 1,
        suite: 'AES_CM_128_HMAC_SHA1_80',
        keyParams: [
          {
            method: 'inline',
            keySalt: 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz',
            lifetime: '2^20',
            mki: { value: '1', length: 4 },
          },
        ],
        sessionParams: [],
      },
      {
        tag: 2,
        suite: 'AES_CM_128_HMAC_SHA1_32',
        keyParams: [
          {
            method: 'inline',
            keySalt: 'NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj',
            lifetime: '2^20',
            mki: { value: '1', length: 4 },
          },
        ],
        sessionParams: ['KDR=1', 'UNENCRYPTED_SRTCP'],
      },
    ]);
    for (const c of cryptos) {
      const text = serializeSdpCrypto(c);
      expect(parseSdpCrypto(text)).toEqual(c);
    }
    expect(serializeSdpCrypto(cryptos[1])).toBe(
      '2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4 KDR=1 UNENCRYPTED_SRTCP',
    );
  });

  it('handles several keys, a decimal lifetime, a lone MKI, and rejects malformed lines', () => {
    const v = '3 AES_256_CM_HMAC_SHA1_80 inline:QUJD|1048576;inline:REVG|2:1';
    const c = parseSdpCrypto(v);
    expect(c?.keyParams).toEqual([
      { method: 'inline', keySalt: 'QUJD', lifetime: '1048576' },
      { method: 'inline', keySalt: 'REVG', mki: { value: '2', length: 1 } },
    ]);
    expect(serializeSdpCrypto(c!)).toBe(v);
    for (const bad of [
      '',
      '1 AES_CM_128_HMAC_SHA1_80',
      'x AES_CM_128_HMAC_SHA1_80 inline:QUJD',
      '1 AES_CM_128_HMAC_SHA1_80 inline:',
      '1 AES_CM_128_HMAC_SHA1_80 inline:QU*D',
      '1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:4|2^20',
      '1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^x',
      '1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:0',
      '1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1|2|3',
      '1 AES_CM_128_HMAC_SHA1_80 nokeymethod',
    ]) {
      expect(parseSdpCrypto(bad), bad).toBeUndefined();
    }
  });

  it('knows key lengths and draws keys from the injected random source', () => {
    expect(sdpCryptoKeyLength('AES_CM_128_HMAC_SHA1_80')).toBe(30);
    expect(sdpCryptoKeyLength('aes_256_cm_hmac_sha1_32')).toBe(46);
    expect(sdpCryptoKeyLength('AEAD_AES_128_GCM')).toBe(28);
    expect(sdpCryptoKeyLength('NULL_HMAC')).toBeUndefined();
    const fill = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
    const key = createSdpCryptoKeySalt('AES_CM_128_HMAC_SHA1_80', fill);
    expect(key).toBe(Buffer.from(fill(30)).toString('base64'));
    expect(key).toHaveLength(40);
    expect(createSdpCryptoKeySalt('AES_CM_128_HMAC_SHA1_80', () => new Uint8Array(3))).toBeUndefined();
    expect(createSdpCryptoKeySalt('UNKNOWN', fill)).toBeUndefined();
  });
});
