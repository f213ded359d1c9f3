// Many waits of one fixed duration on one clock timer (RFC 3261 17's Timers D, I, J and K; 13.3.1.4's first wait of
// a 2xx for its ACK). Every entry waits the same time, so a first-in first-out queue is already in deadline order:
// a waiting entry costs two array slots instead of a timer object and its closures, which matters when a busy
// server holds 32 s of completed transactions. An entry taken out early is no longer held (it may die young).

import type { Clock, TimerHandle } from '../clock.js';

/** Told of an entry whose deadline came (`due` is that deadline). */
export type DeadlineReached<T> = (entry: T, due: number) => void;

export class DeadlineQueue<T> {
  private readonly waiting: (T | undefined)[] = [];
  private readonly dues: number[] = [];
  /** Index of the first entry not yet due. */
  private head = 0;
  /** Position of waiting[0]: positions only grow, so they stay valid across compaction and emptying. */
  private base = 0;
  private live = 0;
  private timer: TimerHandle | undefined = undefined;
  /** The deadline of the entry added last. */
  lastDue = 0;

  constructor(
    private readonly clock: Clock,
    readonly ms: number,
    private readonly reached: DeadlineReached<T>,
  ) {}

  /** Entries waiting (taken-out ones not counted). */
  get size(): number {
    return this.live;
  }

  /** Queues `entry` until `ms` from now (kept in `lastDue`); returns its position, for `remove`. */
  add(entry: T): number {
    const due = this.clock.now() + this.ms;
    const position = this.base + this.waiting.length;
    this.waiting.push(entry);
    this.dues.push(due);
    this.lastDue = due;
    this.live++;
    if (this.timer === undefined) this.arm(this.ms);
    return position;
  }

  /** Takes out the entry at `position` (from `add`) if it still waits: it will not be told, nor held. */
  remove(position: number): void {
    const i = position - this.base;
    if (i < this.head || i >= this.waiting.length || this.waiting[i] === undefined) return;
    this.waiting[i] = undefined;
    this.live--;
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
      const entry = waiting[this.head];
      const due = dues[this.head];
      waiting[this.head] = undefined;
      this.head++;
      if (entry !== undefined) {
        this.live--;
        this.reached(entry, due);
      }
    }
    if (this.head >= waiting.length) {
      // positions never start again: an entry told or dropped may still try to take itself out later, and must
      // not take out a newer one (2^53 positions outlast any process)
      this.base += waiting.length;
      waiting.length = 0;
      dues.length = 0;
      this.head = 0;
      return;
    }
    if (this.head > 1024 && this.head * 2 > waiting.length) {
      waiting.splice(0, this.head);
      dues.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (this.timer === undefined) this.arm(dues[this.head] - now);
  }

  /** Drops every entry without telling it. */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    // positions handed out so far are never handed out again (a dropped entry may still try to take itself out)
    this.base += this.waiting.length;
    this.waiting.length = 0;
    this.dues.length = 0;
    this.head = 0;
    this.live = 0;
  }
}
