// Brute-force protection: after `maxFailures` failed authentications from one source within `windowMs`, the source
// is refused for `blockMs`. Runs on the injected clock; the table is bounded.

import { type Clock, systemClock } from '../clock.js';

export interface AuthFailureLimiterOptions {
  /** Failures within the window that block the source. Default 5. */
  readonly maxFailures?: number;
  /** Default 60 s. */
  readonly windowMs?: number;
  /** How long a source stays blocked. Default 300 s. */
  readonly blockMs?: number;
  /** Most sources tracked; the oldest entries are forgotten first. Default 100000. */
  readonly maxSources?: number;
  readonly clock?: Clock;
}

interface SourceRecord {
  windowStart: number;
  failures: number;
  blockedUntil: number;
}

export class AuthFailureLimiter {
  private readonly sources = new Map<string, SourceRecord>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly maxSources: number;
  private readonly clock: Clock;

  constructor(options: AuthFailureLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.blockMs = options.blockMs ?? 300_000;
    this.maxSources = options.maxSources ?? 100_000;
    this.clock = options.clock ?? systemClock;
  }

  /** Sources currently tracked (blocked or with recent failures). */
  get trackedSources(): number {
    return this.sources.size;
  }

  isBlocked(source: string): boolean {
    const r = this.sources.get(source);
    return r !== undefined && r.blockedUntil > this.clock.now();
  }

  /** Counts a failure; returns true when the source is (now) blocked. */
  recordFailure(source: string): boolean {
    const now = this.clock.now();
    let r = this.sources.get(source);
    if (r === undefined) {
      this.evict(now);
      r = { windowStart: now, failures: 0, blockedUntil: 0 };
    } else {
      // Re-insert so Map order stays oldest-activity first (eviction takes from the front).
      this.sources.delete(source);
    }
    this.sources.set(source, r);
    if (r.blockedUntil > now) return true;
    if (now - r.windowStart >= this.windowMs) {
      r.windowStart = now;
      r.failures = 0;
    }
    r.failures++;
    if (r.failures >= this.maxFailures) {
      r.blockedUntil = now + this.blockMs;
      r.failures = 0;
      r.windowStart = now;
      return true;
    }
    return false;
  }

  /** Lifts a block and forgets the failures of a source (an operator action). */
  reset(source: string): void {
    this.sources.delete(source);
  }

  private evict(now: number): void {
    for (const [source, r] of this.sources) {
      const idle = r.blockedUntil <= now && now - r.windowStart >= this.windowMs;
      if (!idle && this.sources.size < this.maxSources) break;
      this.sources.delete(source);
    }
  }
}
