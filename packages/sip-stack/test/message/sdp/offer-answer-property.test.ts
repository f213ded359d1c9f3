import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createSdpAnswer,
  createSdpOffer,
  getSdpCodecs,
  getSdpDirection,
  getSdpTelephoneEvents,
  intersectSdpDirections,
  isSdpAuxiliaryCodec,
  negotiateSdp,
  parseSdp,
  reverseSdpDirection,
  type SdpCodecPreference,
  type SdpDirection,
  type SdpLocalMedia,
  sameSdpCodec,
  serializeSdp,
} from '../../../src/message/sdp/index.js';

const POOL: SdpCodecPreference[] = [
  { encodingName: 'PCMU', clockRate: 8000 },
  { encodingName: 'PCMA', clockRate: 8000 },
  { encodingName: 'G722', clockRate: 8000 },
  { encodingName: 'G729', clockRate: 8000, fmtp: 'annexb=no' },
  { encodingName: 'opus', clockRate: 48000, channels: 2 },
  { encodingName: 'iLBC', clockRate: 8000, fmtp: 'mode=30' },
  { encodingName: 'speex', clockRate: 16000 },
  { encodingName: 'L16', clockRate: 16000 },
];

const direction = fc.constantFrom<SdpDirection>('sendrecv', 'sendonly', 'recvonly', 'inactive');

// Codecs drawn from the pool; dynamic ones get random numbers so offer and answer numbering differ.
const codecs = fc
  .uniqueArray(fc.integer({ min: 0, max: POOL.length - 1 }), { minLength: 1, maxLength: 5 })
  .chain((idx) =>
    fc.uniqueArray(fc.integer({ min: 96, max: 127 }), { minLength: idx.length, maxLength: idx.length }).map((pts) =>
      idx.map((i, k) => {
        const c = { ...POOL[i] };
        // Static codecs keep their RFC 3551 number; the rest get a random dynamic one.
        if (!['PCMU', 'PCMA', 'G722', 'G729'].includes(c.encodingName)) c.payloadType = pts[k];
        return c;
      }),
    ),
  );

const localMedia = (port: number): fc.Arbitrary<SdpLocalMedia> =>
  fc.record({
    type: fc.constantFrom('audio', 'audio', 'video'),
    port: fc.constant(port),
    codecs,
    telephoneEvent: fc.boolean(),
    direction,
    rtcpMux: fc.boolean(),
    ptime: fc.constantFrom(10, 20, 30),
  });

describe('offer/answer properties (RFC 3264 6)', () => {
  it('answers keep m-lines, use offered numbers, intersect codecs, directions and telephone-event', () => {
    fc.assert(
      fc.property(
        fc.array(localMedia(4000), { minLength: 1, maxLength: 3 }),
        fc.array(localMedia(5000), { minLength: 0, maxLength: 3 }),
        fc.boolean(),
        (offered, capabilities, legacyHold) => {
          const offer = parseSdp(
            serializeSdp(createSdpOffer({ address: '10.0.0.1', sessionId: '1', media: offered })).replace(
              legacyHold ? 'c=IN IP4 10.0.0.1' : '\0',
              'c=IN IP4 0.0.0.0',
            ),
          );
          const answer = parseSdp(
            serializeSdp(createSdpAnswer(offer, { address: '10.0.0.2', sessionId: '2', media: capabilities })),
          );
          expect(answer.media.map((m) => m.type)).toEqual(offer.media.map((m) => m.type));
          const result = negotiateSdp(offer, answer, 'offerer');
          const mirror = negotiateSdp(offer, answer, 'answerer');
          const used = new Set<number>();
          offer.media.forEach((om, i) => {
            const am = answer.media[i];
            const s = result.streams[i];
            expect(s.active).toBe(am.port !== 0);
            expect(mirror.streams[i].active).toBe(s.active);
            // The capability the answerer should use: the first unused one of the same media type that has a
            // voice codec in common with the offered stream.
            const offeredCodecs = getSdpCodecs(om).filter((c) => !isSdpAuxiliaryCodec(c.encodingName));
            const j = capabilities.findIndex(
              (cap, k) =>
                !used.has(k) &&
                cap.type === om.type &&
                cap.codecs.some((c) => offeredCodecs.some((o) => sameSdpCodec(o, c))),
            );
            const expected = j >= 0 ? capabilities[j] : undefined;
            used.add(j);
            if (!expected) {
              expect(am.port).toBe(0);
              expect(s.codec).toBeUndefined();
              return;
            }
            expect(am.port).toBe(5000);
            // every answered format is an offered one, with the offerer's number for the same encoding
            const offeredAll = getSdpCodecs(om);
            for (const ac of getSdpCodecs(am)) {
              expect(om.formats).toContain(String(ac.payloadType));
              const oc = offeredAll.find((c) => c.payloadType === ac.payloadType);
              expect(oc && sameSdpCodec(oc, ac)).toBe(true);
            }
            // the first answered codec is our first preference the offer has
            const first = expected.codecs.find((c) => offeredCodecs.some((o) => sameSdpCodec(o, c)));
            expect(s.codec && sameSdpCodec(s.codec, first!)).toBe(true);
            expect(s.codec?.sendPayloadType).toBe(s.codec?.receivePayloadType); // answer echoes the numbers
            // telephone-event only when both sides have it
            const te = getSdpTelephoneEvents(am).length > 0;
            expect(te).toBe(expected.telephoneEvent === true && getSdpTelephoneEvents(om).length > 0);
            expect(s.telephoneEvent !== undefined).toBe(te);
            // direction: the reverse of the offer, within our own
            const want = intersectSdpDirections(
              reverseSdpDirection(getSdpDirection(offer, om)),
              expected.direction ?? 'sendrecv',
            );
            expect(getSdpDirection(answer, am)).toBe(want);
            expect(mirror.streams[i].direction).toBe(want);
            expect(s.rtcpMux).toBe(expected.rtcpMux === true && om.attributes.some((a) => a.name === 'rtcp-mux'));
            expect(s.remotePtime).toBe(expected.ptime);
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});
