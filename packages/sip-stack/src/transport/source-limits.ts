// Per-source limits: messages per second (token bucket), concurrent connections, and a block period for a
// source that exceeds them, so one misbehaving peer is cut off without affecting the others.

export interface SourceLimitsOptions {
  /** Sustained messages per second allowed from one source address. */
  readonly messagesPerSecond?: number;
  /** Burst above the sustained rate. */
  readonly burst?: number;
  /** Concurrent TCP/TLS/WS connections from one source address. */
  readonly connectionsPerSource?: number;
  /** Bytes one connection may buffer without yielding a complete message. */
  readonly bytesPerConnection?: number;
  /** How long an offending source stays blocked, in ms. */
  readonly blockMs?: number;
  /** Bound on tracked sources; the least recently seen are forgotten first. */
  readonly maxSources?: number;
}

interface SourceState {
  tokens: number;
  updated: number;
  /** Messages refused since the last one allowed: a flood that keeps going gets blocked. */
  excess: number;
  connections: number;
  blockedUntil: number;
  /** When the entry last moved to the end of the recency order. */
  moved: number;
}

/** Granularity of the least-recently-seen order used for eviction. */
const RECENCY_MS = 1000;

export type SourceVerdict = 'ok' | 'rate-limited' | 'blocked';

export interface SourceLimitCounters {
  rateLimited: number;
  connectionsRefused: number;
  blocks: number;
}

/**
 * `read` at most once per event-loop turn (the limits' default clock, Date.now): a poll hands over a burst of
 * datagrams one callback each, and every reading is a call into the runtime. Within a turn the time stands still.
 */
export function turnClock(read: () => number = Date.now): () => number {
  let time = 0;
  let fresh = false;
  const expire = (): void => {
    fresh = false;
  };
  return () => {
    if (!fresh) {
      time = read();
      fresh = true;
      setImmediate(expire);
    }
    return time;
  };
}

/** Tracks each source address against the limits; time comes from the injected `now`. */
export class SourceLimiter {
  readonly counters: SourceLimitCounters = { rateLimited: 0, connectionsRefused: 0, blocks: 0 };
  readonly bytesPerConnection: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxConnections: number;
  private readonly blockMs: number;
  private readonly maxSources: number;
  private readonly sources = new Map<string, SourceState>();

  constructor(
    private readonly now: () => number,
    options: SourceLimitsOptions = {},
  ) {
    this.rate = options.messagesPerSecond ?? 500;
    this.burst = options.burst ?? this.rate;
    this.maxConnections = options.connectionsPerSource ?? 64;
    this.bytesPerConnection = options.bytesPerConnection ?? 256 * 1024;
    this.blockMs = options.blockMs ?? 30_000;
    this.maxSources = options.maxSources ?? 100_000;
  }

  /** The last source's entry: a burst of datagrams from one peer looks it up once. Forgotten with the entry. */
  private lastSource = '';
  private lastState: SourceState | undefined = undefined;

  private state(source: string, now: number): SourceState {
    const last = this.lastState;
    if (last !== undefined && source === this.lastSource && now - last.moved < RECENCY_MS) return last;
    let s = this.sources.get(source);
    if (s === undefined) {
      if (this.sources.size >= this.maxSources) this.evict();
      s = { tokens: this.burst, updated: now, excess: 0, connections: 0, blockedUntil: 0, moved: now };
      this.sources.set(source, s);
    } else if (now - s.moved >= RECENCY_MS) {
      // Re-insert so iteration order is least-recently-seen first, to the second: a busy peer's every message
      // would otherwise cost a delete and an insert.
      s.moved = now;
      this.sources.delete(source);
      this.sources.set(source, s);
    }
    this.lastSource = source;
    this.lastState = s;
    return s;
  }

  private evict(): void {
    for (const [key, s] of this.sources) {
      if (s.connections === 0) {
        this.sources.delete(key);
        if (s === this.lastState) this.lastState = undefined;
        return;
      }
    }
  }

  /** Accounts one message from `source`. */
  message(source: string): SourceVerdict {
    const now = this.now();
    const s = this.state(source, now);
    if (s.blockedUntil > now) return 'blocked';
    s.tokens = Math.min(this.burst, s.tokens + ((now - s.updated) * this.rate) / 1000);
    s.updated = now;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      s.excess = 0;
      return 'ok';
    }
    this.counters.rateLimited++;
    // A source that keeps flooding past a second burst's worth is blocked outright.
    if (++s.excess > this.burst) {
      s.excess = 0;
      this.block(source);
      return 'blocked';
    }
    return 'rate-limited';
  }

  /** Asks to accept a new connection from `source`; on true, call `connectionClosed` when it ends. */
  connectionOpened(source: string): boolean {
    const now = this.now();
    const s = this.state(source, now);
    if (s.blockedUntil > now || s.connections >= this.maxConnections) {
      this.counters.connectionsRefused++;
      return false;
    }
    s.connections++;
    return true;
  }

  connectionClosed(source: string): void {
    const s = this.sources.get(source);
    if (s && s.connections > 0) s.connections--;
  }

  block(source: string): void {
    const now = this.now();
    const s = this.state(source, now);
    s.blockedUntil = now + this.blockMs;
    this.counters.blocks++;
  }

  isBlocked(source: string): boolean {
    const s = this.sources.get(source);
    return s !== undefined && s.blockedUntil > this.now();
  }
}
