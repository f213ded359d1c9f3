import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RtcpCompoundReader,
  RtcpPacketType,
  RtcpParseStatus,
  RtcpReportBlock,
  rtcpInterval,
  rtcpNtpFractionOf,
  rtcpNtpMiddle32,
  rtcpNtpSecondsOf,
  rtcpRoundTripMs,
  writeRtcpBye,
  writeRtcpReceiverReport,
  writeRtcpSdesCname,
  writeRtcpSenderReport,
} from '../../src/rtp/index.js';

function block(ssrc: number, lost: number): RtcpReportBlock {
  const b = new RtcpReportBlock();
  b.ssrc = ssrc;
  b.fractionLost = 12;
  b.cumulativeLost = lost;
  b.extendedHighestSequence = 70000;
  b.jitter = 33;
  b.lastSr = 0x12345678;
  b.delaySinceLastSr = 65536;
  return b;
}

describe('RTCP', () => {
  it('builds SR + SDES CNAME + BYE and reads the compound back', () => {
    const buf = new Uint8Array(512);
    const cname = new TextEncoder().encode('user@192.0.2.1');
    let n = writeRtcpSenderReport(
      buf,
      0,
      {
        ssrc: 0xdeadbeef,
        ntpSeconds: 3900000000,
        ntpFraction: 0x80000000,
        rtpTimestamp: 123456,
        packetCount: 50,
        octetCount: 8000,
      },
      [block(1, -3), block(2, 0x7fffff)],
    );
    n += writeRtcpSdesCname(buf, n, 0xdeadbeef, cname);
    n += writeRtcpBye(buf, n, [0xdeadbeef], 1, new TextEncoder().encode('bye'));
    const r = new RtcpCompoundReader();
    expect(r.validate(buf, n)).toBe(RtcpParseStatus.Ok);
    expect(r.next()).toBe(RtcpPacketType.SR);
    expect(r.ssrc).toBe(0xdeadbeef);
    expect(r.ntpSeconds).toBe(3900000000);
    expect(r.ntpFraction).toBe(0x80000000);
    expect(r.rtpTimestamp).toBe(123456);
    expect(r.packetCount).toBe(50);
    expect(r.octetCount).toBe(8000);
    expect(r.blockCount).toBe(2);
    expect(r.blocks[0].cumulativeLost).toBe(-3);
    expect(r.blocks[0].fractionLost).toBe(12);
    expect(r.blocks[1].cumulativeLost).toBe(0x7fffff);
    expect(r.blocks[1].extendedHighestSequence).toBe(70000);
    expect(r.blocks[1].lastSr).toBe(0x12345678);
    expect(r.next()).toBe(RtcpPacketType.SDES);
    expect(new TextDecoder().decode(buf.subarray(r.cnameOffset, r.cnameOffset + r.cnameLength))).toBe('user@192.0.2.1');
    expect(r.cnameSsrc).toBe(0xdeadbeef);
    expect(r.next()).toBe(RtcpPacketType.BYE);
    expect(r.count).toBe(1);
    expect(r.byeSsrcs[0]).toBe(0xdeadbeef);
    expect(r.next()).toBe(0);
  });

  it('builds an RR and checks compound validity (A.2)', () => {
    const buf = new Uint8Array(256);
    const n = writeRtcpReceiverReport(buf, 0, 42, [block(7, 5)]);
    expect(n).toBe(32);
    const r = new RtcpCompoundReader();
    expect(r.validate(buf, n)).toBe(RtcpParseStatus.Ok);
    expect(r.next()).toBe(RtcpPacketType.RR);
    expect(r.blocks[0].ssrc).toBe(7);
    expect(r.validate(buf, n - 4)).toBe(RtcpParseStatus.BadLength);
    const sdesFirst = new Uint8Array(64);
    const m = writeRtcpSdesCname(sdesFirst, 0, 1, new Uint8Array([65]));
    expect(r.validate(sdesFirst, m)).toBe(RtcpParseStatus.BadFirstPacket);
    buf[0] = 0x40 | (buf[0] & 0x3f);
    expect(r.validate(buf, n)).toBe(RtcpParseStatus.BadVersion);
  });

  it('never throws on random bytes', () => {
    const r = new RtcpCompoundReader();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        if (bytes.length > 1) {
          bytes[0] = 0x80 | (bytes[0] & 0x3f);
          bytes[1] = 200 + (bytes[1] & 1);
        }
        if (r.validate(bytes, bytes.length) === RtcpParseStatus.Ok) {
          let guard = 0;
          while (r.next() !== 0 && guard++ < 100) expect(r.blockCount).toBeLessThanOrEqual(31);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('computes the round trip from LSR and DLSR', () => {
    // SR sent at T (NTP middle bits), held 0.5 s, report back at T + 0.7 s: RTT 0.2 s
    const t = 1_700_000_000_000;
    const lsr = rtcpNtpMiddle32(rtcpNtpSecondsOf(t), rtcpNtpFractionOf(t));
    const arrival = rtcpNtpMiddle32(rtcpNtpSecondsOf(t + 700), rtcpNtpFractionOf(t + 700));
    const rtt = rtcpRoundTripMs(arrival, lsr, 0.5 * 65536);
    expect(rtt).toBeGreaterThan(199);
    expect(rtt).toBeLessThan(201);
    expect(rtcpRoundTripMs(arrival, 0, 0)).toBeUndefined();
  });

  it('computes the RTCP interval (A.7) with the injected random', () => {
    const base = { members: 2, senders: 2, rtcpBandwidth: 400, weSent: true, avgRtcpSize: 100, initial: false };
    // two members at 400 octets/s: 0.5 s < 5 s minimum; random 0.5 gives 5 s / (e - 1.5)
    expect(rtcpInterval(base, () => 0.5)).toBeCloseTo(5 / (Math.E - 1.5), 4);
    expect(rtcpInterval({ ...base, initial: true }, () => 0)).toBeCloseTo((2.5 * 0.5) / (Math.E - 1.5), 4);
    // many receivers: 1000 members, 1 sender (us not sending) share 75% of the bandwidth
    const big = { members: 1000, senders: 1, rtcpBandwidth: 400, weSent: false, avgRtcpSize: 100, initial: false };
    expect(rtcpInterval(big, () => 0.5)).toBeCloseTo((100 * 999) / 300 / (Math.E - 1.5), 4);
  });
});
