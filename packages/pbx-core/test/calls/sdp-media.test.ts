import { createSdpAnswer, parseSdp, serializeSdp } from '@switchyard/sip-stack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  answerMediaOffer,
  createMediaOffer,
  defaultEngineCodecs,
  engineCodecOf,
  MediaAnchorError,
  offerTelephoneEvents,
  readMediaAnswer,
  readMediaOffer,
  telephoneEventFor,
} from '../../src/calls/sdp-media.js';

function sdp(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

const PHONE_OFFER = sdp([
  'v=0',
  'o=alice 7 7 IN IP4 192.0.2.5',
  's=-',
  'c=IN IP4 192.0.2.5',
  't=0 0',
  'm=audio 4000 RTP/AVP 18 8 9 96 101',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:96 opus/48000/2',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
  'm=video 4002 RTP/AVP 97',
  'a=rtpmap:97 H264/90000',
]);

function expectAnchorError(fn: () => unknown, status: number): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MediaAnchorError);
    expect((err as MediaAnchorError).status).toBe(status);
    return;
  }
  throw new Error('expected a MediaAnchorError');
}

describe('engineCodecOf', () => {
  it('knows G.711, G.722 (written 8000, RFC 3551 4.5.2) and opus/48000/2 (RFC 7587 7)', () => {
    expect(engineCodecOf({ payloadType: 0, encodingName: 'pcmu', clockRate: 8000 })).toEqual({
      payloadType: 0,
      encoding: 'PCMU',
      clockRate: 8000,
    });
    expect(engineCodecOf({ payloadType: 9, encodingName: 'G722', clockRate: 8000 })?.encoding).toBe('G722');
    expect(engineCodecOf({ payloadType: 9, encodingName: 'G722', clockRate: 16000 })).toBeUndefined();
    expect(engineCodecOf({ payloadType: 111, encodingName: 'opus', clockRate: 48000, channels: 2 })).toMatchObject({
      encoding: 'opus',
      channels: 2,
    });
    expect(engineCodecOf({ payloadType: 18, encodingName: 'G729', clockRate: 8000 })).toBeUndefined();
  });
});

describe('readMediaOffer', () => {
  it('takes the first audio stream, the codecs the engine carries in the offer order, and telephone-event', () => {
    const offer = readMediaOffer(PHONE_OFFER, 4);
    expect(offer.index).toBe(0);
    expect(offer.codecs.map((c) => [c.encoding, c.payloadType])).toEqual([
      ['PCMA', 8],
      ['G722', 9],
      ['opus', 96],
    ]);
    expect(offer.telephoneEventPayloadType).toBe(101);
    expect(offer.remote).toEqual({ address: '192.0.2.5', port: 4000 });
    expect(offer.direction).toBe('sendrecv');
    expect(offer.ptime).toBe(20);
  });

  it('reads an old-style hold (c=0.0.0.0, RFC 3264 8.4) as nowhere to send', () => {
    const offer = readMediaOffer(PHONE_OFFER.replace('c=IN IP4 192.0.2.5', 'c=IN IP4 0.0.0.0'), 4);
    expect(offer.remote.address).toBeUndefined();
    expect(offer.direction).toBe('sendonly');
  });

  it('refuses with 488 what the engine cannot carry, and with 400 what is not SDP', () => {
    expectAnchorError(() => readMediaOffer(PHONE_OFFER.replace('18 8 9 96 101', '18 101'), 4), 488);
    expectAnchorError(() => readMediaOffer(PHONE_OFFER.replace('m=audio 4000', 'm=audio 0'), 4), 488);
    expectAnchorError(() => readMediaOffer(PHONE_OFFER.replace('RTP/AVP 18', 'RTP/SAVP 18'), 4), 488);
    expectAnchorError(() => readMediaOffer(PHONE_OFFER.replace('c=IN IP4 192.0.2.5', 'c=IN IP6 2001:db8::5'), 4), 488);
    expectAnchorError(() => readMediaOffer(PHONE_OFFER.replace('c=IN IP4 192.0.2.5', 'c=IN IP4 phone.test'), 4), 488);
    expectAnchorError(() => readMediaOffer('hello', 4), 400);
  });

  it('never fails on any input with anything but a MediaAnchorError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.integer({ min: 0, max: 12 }), (junk, line) => {
        const lines = PHONE_OFFER.split('\r\n');
        lines.splice(line, 1, junk);
        for (const text of [junk, lines.join('\r\n')]) {
          try {
            readMediaOffer(text, 4);
          } catch (err) {
            if (!(err instanceof MediaAnchorError)) throw err;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('answerMediaOffer', () => {
  const local = { address: '198.51.100.1', port: 30000, sessionId: '4242' };

  it('answers one codec with the offer payload type, telephone-event, our address, and rejects the video', () => {
    const offer = readMediaOffer(PHONE_OFFER, 4);
    const answer = answerMediaOffer(offer, local, offer.codecs[1]);
    const text = serializeSdp(answer);
    expect(answer.connection?.address).toBe('198.51.100.1');
    expect(answer.media[0]).toMatchObject({ type: 'audio', port: 30000, formats: ['9', '101'] });
    expect(answer.media[1]).toMatchObject({ type: 'video', port: 0 });
    expect(text).not.toContain('192.0.2.5');
    expect(text).toContain('a=rtpmap:9 G722/8000');
  });

  it('answers a hold (sendonly) with recvonly, keeping the o= line and raising its version (RFC 3264 8)', () => {
    const first = answerMediaOffer(readMediaOffer(PHONE_OFFER, 4), local, {
      payloadType: 8,
      encoding: 'PCMA',
      clockRate: 8000,
    });
    const hold = readMediaOffer(PHONE_OFFER.replace('a=sendrecv', 'a=sendonly'), 4);
    const again = answerMediaOffer(hold, local, hold.codecs[0], first);
    expect(again.origin.sessionId).toBe(first.origin.sessionId);
    expect(BigInt(again.origin.sessionVersion)).toBe(BigInt(first.origin.sessionVersion) + 1n);
    expect(serializeSdp(again)).toContain('a=recvonly');
  });
});

describe('createMediaOffer and readMediaAnswer', () => {
  const local = { address: '198.51.100.1', port: 30002, sessionId: '99' };

  it('offers every engine codec and telephone-event, and reads back the codec a phone chose', () => {
    const offer = createMediaOffer(local, defaultEngineCodecs(true));
    // telephone-event/48000 for Opus on the first free dynamic number, /8000 on 101 (RFC 4733 2.1).
    expect(offer.media[0].formats).toEqual(['9', '0', '8', '111', '96', '101']);
    const phone = createSdpAnswer(parseSdp(serializeSdp(offer)), {
      address: '192.0.2.9',
      sessionId: '1',
      media: [{ port: 5000, codecs: [{ encodingName: 'PCMA', clockRate: 8000 }], telephoneEvent: true }],
    });
    const answer = readMediaAnswer(offer, serializeSdp(phone), 4);
    expect(answer.codec).toEqual({ payloadType: 8, encoding: 'PCMA', clockRate: 8000 });
    expect(answer.telephoneEvent).toBe(true);
    expect(answer.remote).toEqual({ address: '192.0.2.9', port: 5000 });
  });

  it('refuses an answer that takes none of our codecs', () => {
    const offer = createMediaOffer(local, defaultEngineCodecs(false));
    const rejected = sdp([
      'v=0',
      'o=- 1 1 IN IP4 192.0.2.9',
      's=-',
      'c=IN IP4 192.0.2.9',
      't=0 0',
      'm=audio 0 RTP/AVP 0',
    ]);
    expectAnchorError(() => readMediaAnswer(offer, rejected, 4), 488);
    const foreign = rejected.replace('m=audio 0 RTP/AVP 0', 'm=audio 5000 RTP/AVP 18');
    expectAnchorError(() => readMediaAnswer(offer, foreign, 4), 488);
  });
});

describe('payload types per direction (RFC 3264 6.1)', () => {
  const local = { address: '198.51.100.1', port: 30004, sessionId: '7' };
  const answerWith = (formats: string, attrs: string[]): string =>
    sdp([
      'v=0',
      'o=phone 1 1 IN IP4 192.0.2.9',
      's=-',
      'c=IN IP4 192.0.2.9',
      't=0 0',
      `m=audio 5000 RTP/AVP ${formats}`,
      ...attrs,
      'a=sendrecv',
    ]);

  it("receives with our numbers and sends with the answerer's when it renumbers codec and events", () => {
    const offer = createMediaOffer(local, defaultEngineCodecs(true));
    // Opus (ours 111) answered as 107, telephone-event/48000 (ours 96) as 100.
    const answer = readMediaAnswer(
      offer,
      answerWith('107 100', ['a=rtpmap:107 opus/48000/2', 'a=rtpmap:100 telephone-event/48000', 'a=fmtp:100 0-16']),
      4,
    );
    expect(answer.codec).toMatchObject({ payloadType: 111, encoding: 'opus' });
    expect(answer.sendPayloadType).toBe(107);
    expect(answer.telephoneEventPayloadTypes).toEqual({ receive: 96, send: 100 });
  });

  it('takes the telephone-event of the answer at the codec clock rate when it kept both', () => {
    const offer = createMediaOffer(local, defaultEngineCodecs(true));
    const answer = readMediaAnswer(
      offer,
      answerWith('0 96 101', [
        'a=rtpmap:96 telephone-event/8000',
        'a=fmtp:96 0-16',
        'a=rtpmap:101 telephone-event/48000',
        'a=fmtp:101 0-16',
      ]),
      4,
    );
    // PCMU: events at 8000, ours 101, theirs 96 (even though their 101 is an event format too).
    expect(answer.codec).toMatchObject({ payloadType: 0, encoding: 'PCMU' });
    expect(answer.sendPayloadType).toBe(0);
    expect(answer.telephoneEventPayloadTypes).toEqual({ receive: 101, send: 96 });
  });

  it('answers an Opus offer with the telephone-event of the chosen codec clock rate (RFC 4733 2.1)', () => {
    const body = sdp([
      'v=0',
      'o=webrtc 3 3 IN IP4 192.0.2.7',
      's=-',
      'c=IN IP4 192.0.2.7',
      't=0 0',
      'm=audio 4100 RTP/AVP 111 0 110 126',
      'a=rtpmap:111 opus/48000/2',
      'a=rtpmap:110 telephone-event/48000',
      'a=rtpmap:126 telephone-event/8000',
      'a=sendrecv',
    ]);
    const offer = readMediaOffer(body, 4);
    expect(offer.telephoneEvents).toEqual([
      { payloadType: 110, clockRate: 48000 },
      { payloadType: 126, clockRate: 8000 },
    ]);
    // The endpoint is made before the codec is chosen: the 8000 one until then.
    expect(offer.telephoneEventPayloadType).toBe(126);
    const opus = offer.codecs.find((c) => c.encoding === 'opus')!;
    const pcmu = offer.codecs.find((c) => c.encoding === 'PCMU')!;
    expect(telephoneEventFor(offer, opus)).toBe(110);
    expect(telephoneEventFor(offer, pcmu)).toBe(126);
    expect(answerMediaOffer(offer, local, opus).media[0].formats).toEqual(['111', '110']);
    expect(answerMediaOffer(offer, local, pcmu).media[0].formats).toEqual(['0', '126']);
    // An Opus offer with events at 8000 only gets none with Opus: they would run on the wrong clock.
    const narrowOnly = readMediaOffer(body.replace('111 0 110 126', '111 0 126'), 4);
    expect(telephoneEventFor(narrowOnly, opus)).toBeUndefined();
    expect(answerMediaOffer(narrowOnly, local, opus).media[0].formats).toEqual(['111']);
  });

  it('offers telephone-event once per codec clock rate on numbers the codecs leave free', () => {
    expect(offerTelephoneEvents(defaultEngineCodecs(false))).toEqual([{ payloadType: 101, clockRate: 8000 }]);
    expect(
      offerTelephoneEvents([
        { payloadType: 96, encoding: 'opus', clockRate: 48000, channels: 2 },
        { payloadType: 0, encoding: 'PCMU', clockRate: 8000 },
      ]),
    ).toEqual([
      { payloadType: 101, clockRate: 8000 },
      { payloadType: 97, clockRate: 48000 },
    ]);
  });
});
