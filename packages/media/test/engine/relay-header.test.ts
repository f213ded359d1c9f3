import { describe, expect, it } from 'vitest';
import { rewriteRtpHeader } from '../../src/engine/relay-header.js';
import { parseRtpHeader, RtpHeader, RtpParseStatus } from '../../src/rtp/index.js';

describe('rewriteRtpHeader', () => {
  it('translates PT, sequence, timestamp and SSRC in place, keeping marker, CSRCs and payload', () => {
    const buf = new Uint8Array(12 + 4 + 8);
    buf.set([0x81, 0x80 | 0, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 0xca, 0xfe, 0xba, 0xbe, 9, 9, 9, 9, 9, 9, 9, 9]);
    rewriteRtpHeader(buf, 9, 65535, 0xfffffff0, 0xdeadbeef);
    const h = new RtpHeader();
    expect(parseRtpHeader(buf, buf.length, h)).toBe(RtpParseStatus.Ok);
    expect([h.payloadType, h.marker, h.sequenceNumber, h.timestamp, h.ssrc]).toEqual([
      9,
      true,
      65535,
      0xfffffff0,
      0xdeadbeef,
    ]);
    expect([h.csrcCount, h.csrc[0], h.payloadOffset, h.payloadLength]).toEqual([1, 0xcafebabe, 16, 8]);
  });
});
