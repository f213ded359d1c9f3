// The wait states' timers (RFC 3261 17: D, I, J, K) share one clock timer per duration (a DeadlineQueue): every
// transaction waits the same time in a given state (Timer J is always 64*T1). An abandoned wait is not taken out:
// it stays queued, and is ignored at its deadline, since its transaction's `waitDue` moved on.

import type { Clock } from '../clock.js';
import { DeadlineQueue } from './deadline-queue.js';

/** What waits: the queue calls `waitEnded` at the deadline unless `waitDue` changed (the wait was abandoned). */
export interface WaitingTransaction {
  /** Deadline of the wait now running, or undefined. */
  readonly waitDue: number | undefined;
  waitEnded(): void;
}

function waitReached(tx: WaitingTransaction, due: number): void {
  if (tx.waitDue === due) tx.waitEnded();
}

/** One deadline queue per wait duration, on the injected clock. */
export class WaitQueues {
  private readonly queues = new Map<number, DeadlineQueue<WaitingTransaction>>();

  constructor(private readonly clock: Clock) {}

  /** Starts a wait of `ms` for `tx`; returns the deadline it must keep in `waitDue`. */
  add(tx: WaitingTransaction, ms: number): number {
    let q = this.queues.get(ms);
    if (q === undefined) {
      q = new DeadlineQueue(this.clock, ms, waitReached);
      this.queues.set(ms, q);
    }
    q.add(tx);
    return q.lastDue;
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
