// The clock every SIP timer runs on (transaction timers A..M, nonce lifetimes, failure windows). Logic never calls
// setTimeout directly: it is given a Clock, so tests and simulations drive time with a VirtualClock.

/** Opaque handle of a scheduled callback. */
export type TimerHandle = object;

export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Wall-clock time and Node timers. Timers are unref'd: pending SIP timers alone do not keep a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

class VirtualTimer {
  cancelled = false;
  constructor(
    readonly due: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * A clock that moves only when told. Timers fire in order of due time, ties in order of scheduling, each with
 * `now()` equal to its due time; a timer scheduled while firing runs in the same `advance` when it falls due.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly heap: VirtualTimer[] = [];
  private live = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const t = new VirtualTimer(this.current + delay, this.seq++, fn);
    this.push(t);
    this.live++;
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof VirtualTimer && !handle.cancelled) {
      handle.cancelled = true;
      this.live--;
    }
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.live;
  }

  /** Due time of the next live timer, or undefined. */
  nextDue(): number | undefined {
    this.dropCancelled();
    return this.heap.length === 0 ? undefined : this.heap[0].due;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. Returns how many fired. */
  advance(ms: number): number {
    return this.advanceTo(this.current + Math.max(0, ms));
  }

  /** Moves time to `time` (never backwards), firing timers due up to and including it. */
  advanceTo(time: number): number {
    let fired = 0;
    for (;;) {
      this.dropCancelled();
      const next = this.heap[0];
      if (next === undefined || next.due > time) break;
      this.fire();
      fired++;
    }
    if (time > this.current) this.current = time;
    return fired;
  }

  /** Fires the next timer (moving time to it); false when none is pending. */
  runNext(): boolean {
    this.dropCancelled();
    if (this.heap.length === 0) return false;
    this.fire();
    return true;
  }

  /**
   * Fires timers until none is left. `maxTimers` bounds runaway schedules (a timer that always re-arms): reaching
   * it throws, so a test fails instead of hanging.
   */
  runUntilIdle(maxTimers = 1_000_000): number {
    let fired = 0;
    while (this.runNext()) {
      if (++fired >= maxTimers) throw new Error(`VirtualClock: more than ${maxTimers} timers fired`);
    }
    return fired;
  }

  private fire(): void {
    const t = this.pop();
    this.live--;
    t.cancelled = true;
    if (t.due > this.current) this.current = t.due;
    t.fn();
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
  }

  private push(t: VirtualTimer): void {
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(t, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = t;
  }

  private pop(): VirtualTimer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as VirtualTimer;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r], h[l]) ? r : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
