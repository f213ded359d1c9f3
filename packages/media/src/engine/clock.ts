/**
 * The pacing clock of a media worker. Generated audio (playback, tones, conference mix, transcoded output, audio
 * streams) is produced once per tick; relayed RTP never waits for a tick.
 */
export interface TickClock {
  /** Milliseconds on this clock's own time line (monotonic). */
  now(): number;
  /** Calls `onTick(now)` once every `periodMs` until stopped. */
  start(periodMs: number, onTick: (now: number) => void): void;
  stop(): void;
}

/** Monotonic time in milliseconds with sub-millisecond resolution (read per packet, so no BigInt). */
function monotonicMs(): number {
  return performance.now();
}

/**
 * Real time. Node timers drift and fire late, so the schedule is anchored to the start instant: each wake-up runs
 * every tick that is due by hrtime (catching up after a stall, but giving up on more than `maxCatchUp` ticks, which
 * would only burst stale audio) and sleeps until the next tick is due.
 */
export class RealTickClock implements TickClock {
  private timer: NodeJS.Timeout | undefined;
  private readonly maxCatchUp: number;
  constructor(maxCatchUp = 5) {
    this.maxCatchUp = maxCatchUp;
  }
  now(): number {
    return monotonicMs();
  }
  start(periodMs: number, onTick: (now: number) => void): void {
    this.stop();
    let next = monotonicMs() + periodMs;
    const wake = (): void => {
      const t = monotonicMs();
      let ran = 0;
      while (next <= t && ran < this.maxCatchUp) {
        onTick(next);
        next += periodMs;
        ran++;
      }
      if (next <= t) next = t + periodMs; // too far behind: skip, do not burst
      this.timer = setTimeout(wake, Math.max(0, next - monotonicMs()));
    };
    this.timer = setTimeout(wake, periodMs);
  }
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Virtual time for tests: nothing happens until `advance` is called, then every due tick runs in order. */
export class ManualTickClock implements TickClock {
  private time = 0;
  private period = 0;
  private next = 0;
  private onTick: ((now: number) => void) | undefined;
  now(): number {
    return this.time;
  }
  start(periodMs: number, onTick: (now: number) => void): void {
    this.period = periodMs;
    this.next = this.time + periodMs;
    this.onTick = onTick;
  }
  stop(): void {
    this.onTick = undefined;
  }
  /** Moves time forward by `ms`, running each tick that falls due; returns how many ran. */
  advance(ms: number): number {
    const target = this.time + ms;
    let ran = 0;
    while (this.onTick && this.next <= target) {
      this.time = this.next;
      this.next += this.period;
      this.onTick(this.time);
      ran++;
    }
    this.time = target;
    return ran;
  }
}
