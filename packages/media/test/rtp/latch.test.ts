import { describe, expect, it } from 'vitest';
import { RtpLatch, RtpLatchResult } from '../../src/rtp/index.js';

describe('RtpLatch', () => {
  it('latches to the first source that sends a valid stream', () => {
    const l = new RtpLatch({ requiredPackets: 3 });
    l.setRemote('10.0.0.5', 4000);
    expect(l.sendAddress).toBe('10.0.0.5');
    expect(l.check('203.0.113.9', 30000, 77, 10)).toBe(RtpLatchResult.Pending);
    expect(l.check('203.0.113.9', 30000, 77, 11)).toBe(RtpLatchResult.Pending);
    expect(l.check('203.0.113.9', 30000, 77, 12)).toBe(RtpLatchResult.Latched);
    expect(l.sendAddress).toBe('203.0.113.9');
    expect(l.sendPort).toBe(30000);
    expect(l.check('203.0.113.9', 30000, 77, 13)).toBe(RtpLatchResult.Accepted);
  });

  it('needs in-sequence packets with one SSRC from one source', () => {
    const l = new RtpLatch();
    l.check('198.51.100.1', 5000, 1, 100);
    l.check('198.51.100.1', 5000, 2, 101); // SSRC changed: starts over
    l.check('198.51.100.1', 5000, 2, 103); // gap: starts over
    l.check('198.51.100.2', 5000, 2, 104); // other address: starts over
    expect(l.isLatched).toBe(false);
    l.check('198.51.100.2', 5000, 2, 65535);
    expect(l.check('198.51.100.2', 5000, 2, 0)).toBe(RtpLatchResult.Pending); // wraps
    expect(l.check('198.51.100.2', 5000, 2, 1)).toBe(RtpLatchResult.Latched);
  });

  it('rejects a hijacker once latched, and re-latches only from the signalled address', () => {
    const l = new RtpLatch({ requiredPackets: 2 });
    l.setRemote('10.0.0.5', 4000);
    l.check('203.0.113.9', 30000, 1, 1);
    expect(l.check('203.0.113.9', 30000, 1, 2)).toBe(RtpLatchResult.Latched);
    for (let i = 0; i < 10; i++) expect(l.check('192.0.2.66', 6666, 9, i)).toBe(RtpLatchResult.Rejected);
    expect(l.sendAddress).toBe('203.0.113.9');
    expect(l.rejected).toBe(10);
    // the signalled host (another port after a NAT rebinding) takes the latch with a valid stream
    expect(l.check('10.0.0.5', 4002, 5, 900)).toBe(RtpLatchResult.Pending);
    expect(l.check('10.0.0.5', 4002, 5, 901)).toBe(RtpLatchResult.Latched);
    expect(l.sendPort).toBe(4002);
    expect(l.check('203.0.113.9', 30000, 1, 3)).toBe(RtpLatchResult.Rejected);
  });

  it('trusts the exact signalled address at once', () => {
    const l = new RtpLatch({ requiredPackets: 3 });
    l.setRemote('10.0.0.5', 4000);
    expect(l.check('10.0.0.5', 4000, 1, 50)).toBe(RtpLatchResult.Latched);
    expect(l.check('10.0.0.6', 4000, 1, 51)).toBe(RtpLatchResult.Rejected);
  });
});
