import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TelephoneEventReceiver, TelephoneEventSender, telephoneEventToDigit } from '../../src/rtp/index.js';

interface Sent {
  payload: Uint8Array;
  timestamp: number;
  marker: boolean;
  end: boolean;
  dueMs: number;
}

function sendAll(digit: string, ms: number, ts: number): Sent[] {
  const s = new TelephoneEventSender();
  s.start(digit, ms, ts);
  const out: Sent[] = [];
  const buf = new Uint8Array(4);
  while (s.next(buf, 0) > 0) {
    out.push({ payload: buf.slice(), timestamp: s.timestamp, marker: s.marker, end: s.end, dueMs: s.dueMs });
  }
  return out;
}

function receiveAll(packets: Sent[], timeout = true): { digit: string; ms: number }[] {
  const got: { digit: string; ms: number }[] = [];
  const r = new TelephoneEventReceiver((digit, ms) => got.push({ digit, ms }));
  for (const p of packets) r.receive(p.payload, 0, 4, p.timestamp, p.marker, p.dueMs);
  if (timeout) r.check(1e9);
  return got;
}

describe('RFC 4733 telephone-events', () => {
  it('sends a start with the marker, growing updates, then three end packets', () => {
    const p = sendAll('5', 200, 1000);
    expect(p[0].marker).toBe(true);
    expect(p.slice(1).every((x) => !x.marker)).toBe(true);
    expect(p.every((x) => x.timestamp === 1000)).toBe(true);
    const durations = p.map((x) => (x.payload[2] << 8) | x.payload[3]);
    for (let i = 1; i < durations.length; i++) expect(durations[i]).toBeGreaterThanOrEqual(durations[i - 1]);
    const ends = p.filter((x) => x.end);
    expect(ends.length).toBe(3);
    expect(p.slice(-3).every((x) => x.end && (x.payload[1] & 0x80) !== 0)).toBe(true);
    expect(durations.at(-1)).toBe(1600);
    expect(p[0].payload[0]).toBe(5);
    const updates = p.filter((x) => !x.end).map((x) => x.dueMs);
    expect(updates).toEqual([0, 50, 100, 150]);
    expect(p.filter((x) => x.end).map((x) => x.dueMs)).toEqual([200, 220, 240]);
  });

  it('segments an event longer than the 16-bit duration (2.5.1.3) and the receiver joins it', () => {
    const p = sendAll('#', 20000, 0xfffff000); // 160000 samples, timestamp wraps too
    const stamps = [...new Set(p.map((x) => x.timestamp))];
    expect(stamps).toEqual([0xfffff000, (0xfffff000 + 0xffff) >>> 0, (0xfffff000 + 2 * 0xffff) >>> 0]);
    expect(p.filter((x) => x.marker).length).toBe(1);
    for (const x of p) expect((x.payload[2] << 8) | x.payload[3]).toBeLessThanOrEqual(0xffff);
    expect(receiveAll(p)).toEqual([{ digit: '#', ms: 20000 }]);
  });

  it('maps events 0-15 to digits', () => {
    expect(Array.from({ length: 17 }, (_, i) => telephoneEventToDigit(i)).join(',')).toBe(
      '0,1,2,3,4,5,6,7,8,9,*,#,A,B,C,D,',
    );
  });

  it('reports one digit per event with its duration under reordering, duplicates and loss', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            digit: fc.constantFrom(...'0123456789*#ABCD'),
            ms: fc.integer({ min: 40, max: 2000 }),
            loseStart: fc.boolean(),
            lostEnds: fc.integer({ min: 0, max: 2 }),
            seed: fc.integer(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (digits) => {
          let ts = 12345;
          const stream: Sent[] = [];
          for (const d of digits) {
            let p = sendAll(d.digit, d.ms, ts);
            if (d.loseStart) p = p.slice(1);
            const ends = p.filter((x) => x.end).slice(d.lostEnds);
            p = [...p.filter((x) => !x.end), ...ends];
            // duplicates and reordering inside the event
            const dup = p.concat(p.filter((_, i) => (i + d.seed) % 3 === 0));
            dup.sort((a, b) => ((a.dueMs * 7 + d.seed) % 5) - ((b.dueMs * 7 + d.seed) % 5));
            stream.push(...dup);
            ts += Math.round((d.ms * 8000) / 1000) + 800;
          }
          const got = receiveAll(stream);
          expect(got).toEqual(digits.map((d) => ({ digit: d.digit, ms: Math.round(d.ms * 8) / 8 })));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('still reports a digit whose end packets were all lost, with the last duration seen', () => {
    const p = sendAll('7', 300, 0).filter((x) => !x.end);
    const got = receiveAll(p, false);
    expect(got).toEqual([]);
    const r = new TelephoneEventReceiver((digit, ms) => got.push({ digit, ms }));
    for (const x of p) r.receive(x.payload, 0, 4, x.timestamp, x.marker, x.dueMs);
    r.check(500);
    expect(got).toEqual([]);
    r.check(2000);
    expect(got).toEqual([{ digit: '7', ms: 300 }]);
  });

  it('ignores late packets of an event already reported', () => {
    const a = sendAll('1', 100, 0);
    const b = sendAll('2', 100, 2000);
    const got = receiveAll([...a, ...b, ...a]);
    expect(got.map((g) => g.digit)).toEqual(['1', '2']);
  });

  it('starts over when the SSRC changes, whatever the new timestamps', () => {
    const got: string[] = [];
    const r = new TelephoneEventReceiver((digit) => got.push(digit));
    const feed = (digit: string, ts: number, ssrc: number): void => {
      for (const p of sendAll(digit, 100, ts)) r.receive(p.payload, 0, 4, p.timestamp, p.marker, p.dueMs, ssrc);
    };
    feed('1', 1_000_000, 1);
    feed('2', 5, 2); // far behind the old source's timeline
    feed('3', 1000, 2);
    feed('4', 900_000, 3); // only a little behind: the SSRC says it is a new source
    expect(got).toEqual(['1', '2', '3', '4']);
  });

  it('never throws on random payloads and reports each timestamp at most once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bytes: fc.uint8Array({ maxLength: 6 }), ts: fc.integer({ min: 0, max: 20 }) })),
        (packets) => {
          let reports = 0;
          const r = new TelephoneEventReceiver(() => reports++);
          for (const p of packets) r.receive(p.bytes, 0, p.bytes.length, p.ts * 1000, false, 0);
          r.check(1e9);
          expect(reports).toBeLessThanOrEqual(
            new Set(packets.filter((p) => p.bytes.length >= 4).map((p) => p.ts)).size,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
