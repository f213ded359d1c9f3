// INVITE server transactions in the Accepted state (RFC 6026 7.1), reduced to their matching key until Timer L.
// All Accepted asks of the transaction is to absorb retransmissions of the INVITE (and let the ACK through to the
// TU); the TU sends its 2xx retransmissions itself (RFC 3261 13.3.1.4). So the layer keeps only the key, and the
// request and the 2xx go with the call instead of living 64*T1 (32 s) after it: a busy server holds hundreds of
// thousands of these, and as whole transactions they made every garbage collection copy and mark them.
//
// Every entry waits the same Timer L, so they expire first-in first-out: a queue of keys and deadlines, one clock
// timer for the oldest.

import type { Clock, TimerHandle } from '../clock.js';

/** @internal the keys of Accepted INVITE transactions the layer let go of, until their Timer L. */
export class AcceptedInvites {
  /** Deadline by key (a key seen again after its deadline is a new entry). */
  private readonly due = new Map<string, number>();
  /** Keys and deadlines in the order they came (deadline order: one wait for all). */
  private keys: string[] = [];
  private dues: number[] = [];
  private head = 0;
  private timer: TimerHandle | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    /** Timer L: every key is kept this long. */
    readonly ms: number,
  ) {}

  get size(): number {
    return this.due.size;
  }

  /** Keeps `key` until Timer L; returns the deadline. */
  add(key: string): number {
    const due = this.clock.now() + this.ms;
    this.due.set(key, due);
    this.keys.push(key);
    this.dues.push(due);
    if (this.timer === undefined) this.arm(this.ms);
    return due;
  }

  /** Whether `key` is an Accepted transaction whose Timer L has not fired. */
  has(key: string): boolean {
    const due = this.due.get(key);
    return due !== undefined && due > this.clock.now();
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.expire(), ms);
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const { keys, dues, due: byKey } = this;
    while (this.head < keys.length && dues[this.head] <= now) {
      const key = keys[this.head];
      if (byKey.get(key) === dues[this.head]) byKey.delete(key);
      keys[this.head] = '';
      this.head++;
    }
    if (this.head >= keys.length) {
      this.keys = [];
      this.dues = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024 && this.head * 2 > keys.length) {
      this.keys = keys.slice(this.head);
      this.dues = dues.slice(this.head);
      this.head = 0;
    }
    this.arm(this.dues[this.head] - now);
  }

  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.due.clear();
    this.keys = [];
    this.dues = [];
    this.head = 0;
  }
}
