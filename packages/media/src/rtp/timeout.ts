/** The clock a media component runs on (ms); timers go through it so tests use virtual time. */
export interface MediaClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of RtpTimeoutMonitor (0 disables a timeout). */
export interface RtpTimeoutOptions {
  /** No packets for this long while the stream is active (sendrecv/sendonly from the peer): a timeout. */
  timeoutMs: number;
  /** The same while the peer put us on hold or the stream is inactive (peers often stop sending then). */
  holdTimeoutMs?: number;
}

/**
 * RTP inactivity detection with a pure `check(now)` API: the owner calls `onPacket(now)` per received packet and
 * `check(now)` on its tick; `check` returns the silence in ms once per silence period that crossed the timeout
 * (then stays quiet until packets resume), else 0. `watch` drives it from a MediaClock instead.
 */
export class RtpTimeoutMonitor {
  private last: number;
  private reported = false;
  private onHold = false;
  private timeoutMs: number;
  private holdTimeoutMs: number;
  private timer: unknown;
  private clock: MediaClock | undefined;

  constructor(options: RtpTimeoutOptions, now: number) {
    this.timeoutMs = Math.max(0, options.timeoutMs);
    this.holdTimeoutMs = Math.max(0, options.holdTimeoutMs ?? 0);
    this.last = now;
  }

  /** A packet arrived. */
  onPacket(now: number): void {
    this.last = now;
    this.reported = false;
  }

  /** Switches between the active and hold timeouts (the silence counted so far is kept). */
  setHold(onHold: boolean): void {
    this.onHold = onHold;
  }

  private get limit(): number {
    return this.onHold ? this.holdTimeoutMs : this.timeoutMs;
  }

  /** When check should next run (ms on the same clock), or Infinity when no timeout applies. */
  deadline(): number {
    const limit = this.limit;
    return limit === 0 || this.reported ? Number.POSITIVE_INFINITY : this.last + limit;
  }

  /** Silence in ms when a timeout is due now (reported once), else 0. */
  check(now: number): number {
    const limit = this.limit;
    if (limit === 0 || this.reported) return 0;
    const silent = now - this.last;
    if (silent < limit) return 0;
    this.reported = true;
    return silent;
  }

  /** Polls `check` on `clock` every `periodMs` and calls `onTimeout(silentMs)`; `unwatch` stops it. */
  watch(clock: MediaClock, periodMs: number, onTimeout: (silentMs: number) => void): void {
    this.unwatch();
    this.clock = clock;
    const tick = (): void => {
      const silent = this.check(clock.now());
      if (silent > 0) onTimeout(silent);
      if (this.clock === clock) this.timer = clock.setTimeout(tick, periodMs);
    };
    this.timer = clock.setTimeout(tick, periodMs);
  }

  unwatch(): void {
    if (this.clock && this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.clock = undefined;
    this.timer = undefined;
  }
}
