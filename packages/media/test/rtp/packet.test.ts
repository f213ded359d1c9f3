import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appendRtpPadding,
  isRtcpPacket,
  parseRtpHeader,
  RtpHeader,
  RtpParseStatus,
  rtpHeaderSize,
  writeRtpHeader,
} from '../../src/rtp/index.js';

const headerArb = fc.record({
  marker: fc.boolean(),
  payloadType: fc.integer({ min: 0, max: 127 }),
  sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
  timestamp: fc.integer({ min: 0, max: 0xffffffff }),
  ssrc: fc.integer({ min: 0, max: 0xffffffff }),
  csrc: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
  extWords: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
  extProfile: fc.integer({ min: 0, max: 0xffff }),
  payload: fc.uint8Array({ maxLength: 200 }),
  padding: fc.integer({ min: 0, max: 40 }),
});

describe('RTP header', () => {
  it('write then parse gives back every field, payload and padding', () => {
    fc.assert(
      fc.property(headerArb, (f) => {
        const h = new RtpHeader();
        h.marker = f.marker;
        h.payloadType = f.payloadType;
        h.sequenceNumber = f.sequenceNumber;
        h.timestamp = f.timestamp;
        h.ssrc = f.ssrc;
        h.csrcCount = f.csrc.length;
        f.csrc.forEach((c, i) => {
          h.csrc[i] = c;
        });
        h.extension = f.extWords !== undefined;
        h.extensionLength = (f.extWords ?? 0) * 4;
        h.extensionProfile = f.extProfile;
        const buf = new Uint8Array(1500);
        const payloadAt = writeRtpHeader(buf, 0, h);
        expect(payloadAt).toBe(rtpHeaderSize(h));
        buf.set(f.payload, payloadAt);
        let end = payloadAt + f.payload.length;
        if (f.padding > 0) end = appendRtpPadding(buf, 0, end, f.padding);
        const p = new RtpHeader();
        expect(parseRtpHeader(buf, end, p)).toBe(RtpParseStatus.Ok);
        expect(p.marker).toBe(f.marker);
        expect(p.payloadType).toBe(f.payloadType);
        expect(p.sequenceNumber).toBe(f.sequenceNumber);
        expect(p.timestamp).toBe(f.timestamp);
        expect(p.ssrc).toBe(f.ssrc);
        expect(Array.from(p.csrc.subarray(0, p.csrcCount))).toEqual(f.csrc);
        expect(p.extension).toBe(f.extWords !== undefined);
        if (p.extension) {
          expect(p.extensionProfile).toBe(f.extProfile);
          expect(p.extensionLength).toBe((f.extWords ?? 0) * 4);
        }
        expect(p.padding).toBe(f.padding > 0);
        expect(p.paddingLength).toBe(f.padding);
        expect(buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)).toEqual(f.payload);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes and keeps offsets inside the packet', () => {
    const h = new RtpHeader();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat({ max: 130 }), (bytes, len) => {
        const st = parseRtpHeader(bytes, len, h);
        if (st === RtpParseStatus.Ok) {
          expect(h.payloadOffset + h.payloadLength + h.paddingLength).toBe(Math.min(len, bytes.length));
          expect(h.payloadLength).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects short, wrong version, truncated CSRC/extension and bad padding', () => {
    const h = new RtpHeader();
    const b = new Uint8Array(32);
    b[0] = 0x80;
    expect(parseRtpHeader(b, 11, h)).toBe(RtpParseStatus.TooShort);
    b[0] = 0x40;
    expect(parseRtpHeader(b, 20, h)).toBe(RtpParseStatus.BadVersion);
    b[0] = 0x85; // 5 CSRCs = 32 octets of header
    expect(parseRtpHeader(b, 20, h)).toBe(RtpParseStatus.TruncatedCsrc);
    b[0] = 0x90;
    b[14] = 0;
    b[15] = 10; // 40 octets of extension
    expect(parseRtpHeader(b, 32, h)).toBe(RtpParseStatus.TruncatedExtension);
    b[0] = 0xa0;
    b[19] = 0;
    expect(parseRtpHeader(b, 20, h)).toBe(RtpParseStatus.BadPadding);
    b[19] = 9; // more padding than payload
    expect(parseRtpHeader(b, 20, h)).toBe(RtpParseStatus.BadPadding);
    b[19] = 8;
    expect(parseRtpHeader(b, 20, h)).toBe(RtpParseStatus.Ok);
    expect(h.payloadLength).toBe(0);
  });

  it('skips the extension: the payload starts after its data', () => {
    const b = new Uint8Array([0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 0xaa, 0xbb]);
    const h = new RtpHeader();
    expect(parseRtpHeader(b, b.length, h)).toBe(RtpParseStatus.Ok);
    expect(h.extensionProfile).toBe(0xbede);
    expect(h.extensionOffset).toBe(16);
    expect(h.payloadOffset).toBe(20);
    expect(h.payloadLength).toBe(2);
  });

  it('demultiplexes RTCP from RTP by the RFC 5761 payload type range', () => {
    const b = new Uint8Array(12);
    b[0] = 0x80;
    for (let pt = 0; pt < 256; pt++) {
      b[1] = pt;
      expect(isRtcpPacket(b, 12)).toBe(pt >= 192 && pt <= 223);
    }
    b[1] = 200;
    b[0] = 0x40;
    expect(isRtcpPacket(b, 12)).toBe(false);
  });
});
