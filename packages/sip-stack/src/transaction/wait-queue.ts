// The wait states' timers (RFC 3261 17: D, I, J, K) share one clock timer per duration. Every transaction waits
// the same time in a given state (Timer J is always 64*T1), so a first-in first-out queue per duration is already
// in deadline order: a waiting transaction costs two array slots instead of a timer object and its closures, which
// matters when a busy server holds 32 s of completed non-INVITE transactions.

import type { Clock, TimerHandle } from '../clock.js';

/** What waits: the queue calls `waitEnded` at the deadline unless `waitDue` changed (the wait was abandoned). */
export interface WaitingTransaction {
  /** Deadline of the wait now running, or undefined. */
  readonly waitDue: number | undefined;
  waitEnded(): void;
}

class DeadlineFifo {
  private readonly waiting: WaitingTransaction[] = [];
  private readonly dues: number[] = [];
  private head = 0;
  private timer: TimerHandle | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
  ) {}

  get size(): number {
    return this.waiting.length - this.head;
  }

  /** Queues `tx`; returns its deadline. */
  add(tx: WaitingTransaction): number {
    const due = this.clock.now() + this.ms;
    this.waiting.push(tx);
    this.dues.push(due);
    if (this.timer === undefined) this.arm(this.ms);
    return due;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.fire(), ms);
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const waiting = this.waiting;
    const dues = this.dues;
    while (this.head < waiting.length && dues[this.head] <= now) {
      const tx = waiting[this.head];
      const due = dues[this.head];
      waiting[this.head] = undefined as unknown as WaitingTransaction;
      this.head++;
      if (tx.waitDue === due) tx.waitEnded();
    }
    if (this.head >= waiting.length) {
      waiting.length = 0;
      dues.length = 0;
      this.head = 0;
      return;
    }
    if (this.head > 1024 && this.head * 2 > waiting.length) {
      waiting.splice(0, this.head);
      dues.splice(0, this.head);
      this.head = 0;
    }
    if (this.timer === undefined) this.arm(dues[this.head] - now);
  }

  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
    this.dues.length = 0;
    this.head = 0;
  }
}

/** One deadline queue per wait duration, on the injected clock. */
export class WaitQueues {
  private readonly queues = new Map<number, DeadlineFifo>();

  constructor(private readonly clock: Clock) {}

  /** Starts a wait of `ms` for `tx`; returns the deadline it must keep in `waitDue`. */
  add(tx: WaitingTransaction, ms: number): number {
    let q = this.queues.get(ms);
    if (q === undefined) {
      q = new DeadlineFifo(this.clock, ms);
      this.queues.set(ms, q);
    }
    return q.add(tx);
  }

  /** Entries queued (abandoned ones included until their deadline). */
  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.size;
    return n;
  }

  clear(): void {
    for (const q of this.queues.values()) q.clear();
    this.queues.clear();
  }
}
