import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseRtpHeader,
  RtpHeader,
  RtpJitterBuffer,
  RtpJitterInsert,
  RtpJitterStatus,
  writeRtpHeader,
} from '../../src/rtp/index.js';

const EVENT_PT = 101;

function packet(seq: number, ts: number, opts: { ssrc?: number; marker?: boolean; pt?: number } = {}): Uint8Array {
  const h = new RtpHeader();
  h.sequenceNumber = seq & 0xffff;
  h.timestamp = ts >>> 0;
  h.ssrc = opts.ssrc ?? 1;
  h.marker = opts.marker ?? false;
  h.payloadType = opts.pt ?? 0;
  const buf = new Uint8Array(16);
  writeRtpHeader(buf, 0, h);
  buf[12] = seq & 0xff;
  buf[13] = (seq >>> 8) & 0xff;
  buf[14] = 0xab;
  buf[15] = 0xcd;
  return buf;
}

const header = new RtpHeader();
function insert(jb: RtpJitterBuffer, p: Uint8Array, at: number): number {
  parseRtpHeader(p, p.length, header);
  return jb.insert(p, header, at);
}

describe('RtpJitterBuffer', () => {
  it('plays a shuffled, duplicated, lossy stream in order and signals losses exactly where packets are missing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.record({ drop: fc.nat(4), dup: fc.boolean(), delay: fc.integer({ min: 0, max: 79 }) }), {
          minLength: 20,
          maxLength: 200,
        }),
        (seq0, ts0, plan) => {
          // one packet in five dropped on average; the first arrives on time and the last is not dropped (a loss is
          // only known once a later packet arrives)
          const dropped = plan.map((p, i) => p.drop === 0 && i > 0 && i < plan.length - 1);
          const jb = new RtpJitterBuffer({ minDelayMs: 100, maxDelayMs: 300, telephoneEventPayloadType: EVENT_PT });
          // arrival events: packet i sent at 20 i ms, delayed by up to 79 ms (reordering), maybe duplicated
          const arrivals: { at: number; i: number }[] = [];
          plan.forEach((p, i) => {
            if (dropped[i]) return;
            arrivals.push({ at: i * 20 + (i === 0 ? 0 : p.delay), i });
            if (p.dup) arrivals.push({ at: i * 20 + ((p.delay * 7) % 80), i });
          });
          arrivals.sort((a, b) => a.at - b.at);
          const out: (number | 'lost')[] = [];
          let k = 0;
          for (let now = 0; now < plan.length * 20 + 400; now += 20) {
            while (k < arrivals.length && arrivals[k].at <= now) {
              const a = arrivals[k++];
              insert(jb, packet(seq0 + a.i, ts0 + a.i * 160, { marker: a.i === 0 }), a.at);
            }
            const st = jb.get(now);
            if (st === RtpJitterStatus.Packet) {
              const i = (jb.sequenceNumber - seq0) & 0xffff;
              expect(jb.payload[0]).toBe((seq0 + i) & 0xff);
              expect(jb.timestamp).toBe((ts0 + i * 160) >>> 0);
              expect(jb.payloadLength).toBe(4);
              out.push(i);
            } else if (st === RtpJitterStatus.Lost) {
              out.push('lost');
            }
          }
          expect(out).toEqual(plan.map((_, i) => (dropped[i] ? 'lost' : i)));
          expect(jb.lost).toBe(dropped.filter((d) => d).length);
          expect(jb.late).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('plays across a sequence and timestamp wrap', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 40 });
    const order = [0, 2, 1, 3, 5, 4, 6, 7, 9, 8];
    const seqs: number[] = [];
    const stamps: number[] = [];
    for (let t = 0; t < 400; t += 20) {
      const i = order[t / 20];
      if (i !== undefined) insert(jb, packet(65531 + i, 0xfffffd80 + i * 160, { marker: i === 0 }), t);
      if (jb.get(t) === RtpJitterStatus.Packet) {
        seqs.push(jb.sequenceNumber);
        stamps.push(jb.timestamp);
      }
    }
    expect(seqs).toEqual([65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4]);
    expect(stamps).toEqual(Array.from({ length: 10 }, (_, i) => (0xfffffd80 + i * 160) >>> 0));
  });

  it('drops packets to catch up after a stall leaves a standing backlog, one per frame, never a lost one', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 40 });
    insert(jb, packet(0, 0, { marker: true }), 0);
    const seqs: number[] = [];
    let lastSent = 0;
    for (let t = 0; t <= 4000; t += 20) {
      if (t === 600) for (let i = 1; i <= 30; i++) insert(jb, packet(i, i * 160), 600); // a 580 ms stall
      if (t > 600) insert(jb, packet(t / 20, (t / 20) * 160), t); // then on time again
      lastSent = t < 600 ? 0 : t / 20;
      const before = jb.dropped;
      const st = jb.get(t);
      expect(st).not.toBe(RtpJitterStatus.Lost);
      expect(jb.dropped - before).toBeLessThanOrEqual(1);
      if (st === RtpJitterStatus.Packet) seqs.push(jb.sequenceNumber);
    }
    expect(jb.dropped).toBeGreaterThan(20);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seqs.length + jb.dropped + jb.bufferedPackets).toBe(lastSent + 1);
    // the delay is back near the target: what is left behind the last packet played
    expect((lastSent - seqs[seqs.length - 1]) * 20).toBeLessThanOrEqual(40 + 40);
  });

  it('plays a bursty link (200 ms of packets at a time, on time on average) without dropping any', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 300 });
    const seqs: number[] = [];
    for (let t = 0; t < 6000; t += 20) {
      if (t % 200 === 0) for (let i = t / 20; i < t / 20 + 10; i++) insert(jb, packet(i, i * 160), t);
      if (jb.get(t) === RtpJitterStatus.Packet) seqs.push(jb.sequenceNumber);
    }
    expect(jb.dropped).toBe(0);
    expect(jb.lost).toBe(0);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    expect(seqs.length).toBeGreaterThan(280);
  });

  it('shows the packet after a lost one (for FEC) and gives exact-length views without one per packet', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 40 });
    insert(jb, packet(0, 0, { marker: true }), 0);
    insert(jb, packet(2, 320, { pt: 9 }), 40);
    expect(jb.get(40)).toBe(RtpJitterStatus.Packet);
    const view = jb.payloadView();
    expect(view.length).toBe(4);
    expect(view[0]).toBe(0);
    expect(jb.get(60)).toBe(RtpJitterStatus.Lost);
    expect(jb.peekNext()).toBe(4);
    expect(jb.nextPayloadType).toBe(9);
    expect(jb.nextPayload[0]).toBe(2);
    expect(jb.get(80)).toBe(RtpJitterStatus.Packet);
    expect(jb.sequenceNumber).toBe(2);
    expect(jb.peekNext()).toBe(-1);
    insert(jb, packet(3, 480), 80);
    insert(jb, packet(64, 64 * 160), 90); // lands in packet 0's slot again, same length: the same view
    expect(jb.get(100)).toBe(RtpJitterStatus.Packet);
    for (let t = 120; jb.sequenceNumber !== 64 && t < 2000; t += 20) jb.get(t);
    expect(jb.sequenceNumber).toBe(64);
    expect(jb.payloadView()).toBe(view);
    expect(view[0]).toBe(64);
  });

  it('drops duplicates and late packets', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40 });
    expect(insert(jb, packet(10, 0, { marker: true }), 0)).toBe(RtpJitterInsert.Inserted);
    expect(insert(jb, packet(10, 0), 1)).toBe(RtpJitterInsert.Duplicate);
    expect(insert(jb, packet(11, 160), 20)).toBe(RtpJitterInsert.Inserted);
    expect(jb.get(40)).toBe(RtpJitterStatus.Packet);
    expect(jb.sequenceNumber).toBe(10);
    expect(insert(jb, packet(9, 0xffffff60), 45)).toBe(RtpJitterInsert.Late);
    expect(jb.late).toBe(1);
    expect(jb.duplicates).toBe(1);
  });

  it('accepts an earlier packet that arrives before playout starts', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40 });
    insert(jb, packet(6, 320), 0);
    insert(jb, packet(5, 160), 5);
    insert(jb, packet(4, 0, { marker: true }), 10);
    const seqs: number[] = [];
    for (let t = 0; t < 200; t += 20) if (jb.get(t) === RtpJitterStatus.Packet) seqs.push(jb.sequenceNumber);
    expect(seqs).toEqual([4, 5, 6]);
  });

  it('keeps telephone-events out of the audio without counting them as lost', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40, telephoneEventPayloadType: EVENT_PT });
    insert(jb, packet(100, 0, { marker: true }), 0);
    expect(insert(jb, packet(101, 160, { pt: EVENT_PT }), 20)).toBe(RtpJitterInsert.NotAudio);
    insert(jb, packet(102, 320), 40);
    const seqs: number[] = [];
    for (let t = 40; t < 200; t += 20) {
      const st = jb.get(t);
      expect(st).not.toBe(RtpJitterStatus.Lost);
      if (st === RtpJitterStatus.Packet) seqs.push(jb.sequenceNumber);
    }
    expect(seqs).toEqual([100, 102]);
    expect(jb.lost).toBe(0);
  });

  it('resets on a new SSRC and on a sequence jump beyond its window', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 20, capacity: 16 });
    insert(jb, packet(1, 0, { marker: true }), 0);
    expect(jb.get(20)).toBe(RtpJitterStatus.Packet);
    expect(insert(jb, packet(5000, 0, { ssrc: 2, marker: true }), 30)).toBe(RtpJitterInsert.Reset);
    expect(jb.get(40)).toBe(RtpJitterStatus.Empty);
    expect(jb.get(60)).toBe(RtpJitterStatus.Packet);
    expect(jb.sequenceNumber).toBe(5000);
    expect(insert(jb, packet(9000, 0, { ssrc: 2 }), 70)).toBe(RtpJitterInsert.Reset);
    expect(jb.resets).toBe(2);
  });

  it('raises its playout delay with measured jitter, within the bounds', () => {
    const calm = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 200 });
    const rough = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 200 });
    const wild = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 200 });
    for (let i = 0; i < 300; i++) {
      insert(calm, packet(i, i * 160), i * 20);
      insert(rough, packet(i, i * 160), i * 20 + (i % 2) * 15);
      insert(wild, packet(i, i * 160), i * 20 + (i % 2) * 150);
    }
    expect(calm.targetDelayMs).toBe(40);
    expect(rough.jitterMs).toBeGreaterThan(10);
    expect(rough.targetDelayMs).toBeGreaterThan(40);
    expect(rough.targetDelayMs).toBeLessThan(200);
    expect(wild.targetDelayMs).toBe(200);
  });

  it('underruns to empty and refills before resuming', () => {
    const jb = new RtpJitterBuffer({ minDelayMs: 40, maxDelayMs: 40 });
    insert(jb, packet(1, 0, { marker: true }), 0);
    expect(jb.get(20)).toBe(RtpJitterStatus.Empty);
    expect(jb.get(40)).toBe(RtpJitterStatus.Packet);
    expect(jb.get(60)).toBe(RtpJitterStatus.Empty);
    expect(jb.underruns).toBe(1);
    insert(jb, packet(2, 160), 70);
    expect(jb.get(80)).toBe(RtpJitterStatus.Empty);
    expect(jb.get(110)).toBe(RtpJitterStatus.Packet);
    expect(jb.sequenceNumber).toBe(2);
  });
});
