import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtcpReportBlock, RtpSequenceStatus, RtpSourceStatistics } from '../../src/rtp/index.js';

describe('RtpSourceStatistics (RFC 3550 A.1, A.3, A.8)', () => {
  it('puts a new source on probation, then counts it, across a sequence wrap', () => {
    const s = new RtpSourceStatistics(8000);
    expect(s.update(1, 65530, 0, 0)).toBe(RtpSequenceStatus.Probation);
    expect(s.update(1, 65531, 160, 20)).toBe(RtpSequenceStatus.Valid);
    for (let i = 2; i < 20; i++) {
      expect(s.update(1, (65530 + i) & 0xffff, i * 160, i * 20)).toBe(RtpSequenceStatus.Valid);
    }
    expect(s.cycles).toBe(65536);
    expect(s.extendedMaxSequence).toBe(65536 + 13);
    expect(s.expected).toBe(19);
    expect(s.received).toBe(19);
    expect(s.cumulativeLost).toBe(0);
  });

  it('resets on a new SSRC and reports it', () => {
    const s = new RtpSourceStatistics();
    s.update(1, 10, 0, 0);
    s.update(1, 11, 160, 20);
    expect(s.update(2, 500, 0, 40)).toBe(RtpSequenceStatus.SsrcChanged);
    expect(s.ssrcChanges).toBe(1);
    expect(s.ssrc).toBe(2);
    expect(s.update(2, 501, 160, 60)).toBe(RtpSequenceStatus.Valid);
    expect(s.received).toBe(1);
  });

  it('treats a large jump as invalid unless the next packet confirms a restart', () => {
    const s = new RtpSourceStatistics();
    for (let i = 0; i < 5; i++) s.update(7, 100 + i, i * 160, i * 20);
    expect(s.update(7, 30000, 0, 120)).toBe(RtpSequenceStatus.Invalid);
    expect(s.update(7, 105, 800, 140)).toBe(RtpSequenceStatus.Valid);
    expect(s.update(7, 40000, 0, 160)).toBe(RtpSequenceStatus.Invalid);
    expect(s.update(7, 40001, 160, 180)).toBe(RtpSequenceStatus.Restarted);
  });

  it('loss and jitter match a straightforward reference on synthetic streams', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.record({ drop: fc.boolean(), delay: fc.integer({ min: 0, max: 60 }) }), {
          minLength: 30,
          maxLength: 300,
        }),
        (seq0, ts0, plan) => {
          // packets every 20 ms (160 samples), delayed by up to 60 ms, some dropped; the first four arrive in order
          for (let k = 0; k < 4; k++) plan[k] = { drop: false, delay: 0 };
          const arrivals = plan
            .map((p, i) => ({ i, at: i * 20 + p.delay, drop: p.drop }))
            .filter((p) => !p.drop)
            .sort((a, b) => a.at - b.at || a.i - b.i);
          const s = new RtpSourceStatistics(8000);
          // reference A.8 jitter over arrival order, in timestamp units
          let refJ = 0;
          let prevTransit: number | undefined;
          let started = false;
          let maxI = 0;
          let receivedRef = 0;
          for (const a of arrivals) {
            const ts = (ts0 + a.i * 160) >>> 0;
            s.update(0x1234, (seq0 + a.i) & 0xffff, ts, a.at);
            const transit = a.at * 8 - a.i * 160;
            if (prevTransit !== undefined) refJ += (Math.abs(transit - prevTransit) - refJ) / 16;
            prevTransit = transit;
            // reference loss: A.1 probation makes the second packet the base
            if (!started) {
              if (a.i === 1) started = true;
              if (started) {
                receivedRef = 1;
                maxI = 1;
              }
              continue;
            }
            receivedRef++;
            if (a.i > maxI) maxI = a.i;
          }
          if (!started) return;
          expect(s.jitter).toBeCloseTo(refJ, 6);
          expect(s.expected).toBe(maxI - 1 + 1);
          expect(s.cumulativeLost).toBe(maxI - receivedRef);
          const block = new RtcpReportBlock();
          s.fillReportBlock(block, 10000);
          const expectedInt = maxI;
          const lostInt = expectedInt - receivedRef;
          expect(block.fractionLost).toBe(lostInt <= 0 ? 0 : Math.floor((lostInt * 256) / expectedInt));
          expect(block.jitter).toBe(Math.floor(refJ));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('computes fraction lost per interval (A.3)', () => {
    const s = new RtpSourceStatistics();
    let seq = 0;
    for (let i = 0; i < 102; i++) s.update(9, seq++, i * 160, i * 20); // 101 counted (first on probation)
    const b = new RtcpReportBlock();
    s.fillReportBlock(b, 5000);
    expect(b.fractionLost).toBe(0);
    // next interval: 100 expected, every fourth dropped -> 25 lost -> 64/256
    for (let i = 0; i < 100; i++) {
      if (i % 4 !== 0) s.update(9, seq, (102 + i) * 160, (102 + i) * 20);
      seq++;
    }
    s.fillReportBlock(b, 10000);
    expect(b.fractionLost).toBe(64);
    expect(b.cumulativeLost).toBe(25);
  });
});
