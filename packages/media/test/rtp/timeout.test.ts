import { describe, expect, it } from 'vitest';
import { type MediaClock, RtpTimeoutMonitor } from '../../src/rtp/index.js';

class VirtualClock implements MediaClock {
  time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private id = 0;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.push({ at: this.time + ms, fn, id: ++this.id });
    return this.id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > end) break;
      this.timers.shift();
      this.time = t.at;
      t.fn();
    }
    this.time = end;
  }
}

describe('RtpTimeoutMonitor', () => {
  it('reports silence once per silent period, with a separate hold timeout', () => {
    const m = new RtpTimeoutMonitor({ timeoutMs: 30000, holdTimeoutMs: 0 }, 0);
    m.onPacket(1000);
    expect(m.check(30999)).toBe(0);
    expect(m.deadline()).toBe(31000);
    expect(m.check(31000)).toBe(30000);
    expect(m.check(40000)).toBe(0);
    m.onPacket(41000);
    m.setHold(true);
    expect(m.check(1_000_000)).toBe(0); // on hold without a hold timeout: never
    m.setHold(false);
    expect(m.check(1_000_000)).toBe(959000);
  });

  it('drives itself from a MediaClock', () => {
    const clock = new VirtualClock();
    const m = new RtpTimeoutMonitor({ timeoutMs: 5000 }, 0);
    const events: number[] = [];
    m.watch(clock, 1000, (ms) => events.push(ms));
    clock.advance(3000);
    m.onPacket(clock.now());
    clock.advance(7000);
    expect(events).toEqual([5000]);
    m.unwatch();
    clock.advance(60000);
    expect(events).toEqual([5000]);
  });
});
