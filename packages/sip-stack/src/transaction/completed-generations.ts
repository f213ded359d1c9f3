// The completed-responses store (RFC 3261 17.2.2) in generations, so that it never grows in place under load.
// Growing a full CompletedResponses copies and re-indexes every record in one turn: ~10 ms at 2^17 records and
// 20-40 ms at 2^18 on the bench machine, longer than default UDP socket buffers hold (10-20 ms of traffic), so
// datagrams are lost. Instead a full store is left to empty by itself (every record ends at the same Timer J) and
// new records go to a fresh store of twice its capacity; a find looks in each store still holding records (one or
// two once the load is steady, more only while it keeps doubling within one Timer J). Small stores still grow in
// place: that costs little, and keeps the chain short.

import type { Clock } from '../clock.js';
import type { SentDatagram } from '../transport/index.js';
import { CompletedResponses, hashKey } from './completed-responses.js';

/** Slots of generation g are g * SPAN + slot (a ring never holds 2^31 records). */
const SPAN = 2 ** 31;

/** CompletedResponses' interface over a chain of stores, newest first. */
export class CompletedGenerations {
  /** Stores still holding records, newest first, and their generation numbers. */
  private readonly stores: CompletedResponses[];
  private readonly numbers: number[];
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    /** The common wait (Timer J). */
    readonly ms: number,
    initialCapacity = 1024,
    /** Below this capacity a full store still grows in place (a millisecond or two), so finds probe fewer stores. */
    private readonly growInPlaceBelow = 1 << 14,
  ) {
    this.stores = [new CompletedResponses(clock, ms, initialCapacity)];
    this.numbers = [0];
  }

  /** Records that can still be matched. */
  get size(): number {
    let n = 0;
    for (const s of this.stores) n += s.size;
    return n;
  }

  /** As CompletedResponses.add (`hash` is hashKey(key) when the caller has it). */
  add(key: string, sent: SentDatagram, hash?: number): number | undefined {
    let current = this.stores[0];
    if (current.full && current.recordCapacity >= this.growInPlaceBelow) {
      this.dropEmpty();
      current = new CompletedResponses(this.clock, this.ms, 2 * current.recordCapacity);
      this.stores.unshift(current);
      this.numbers.unshift(++this.generation);
    }
    return current.add(key, sent, hash);
  }

  /** The slot of the live record kept under `key`, or -1 (`h` is hashKey(key), hashed once for every store). */
  find(key: string, h = hashKey(key)): number {
    const stores = this.stores;
    for (let i = 0; i < stores.length; i++) {
      const slot = stores[i].find(key, h);
      if (slot >= 0) return this.numbers[i] * SPAN + slot;
    }
    if (stores.length > 1 && stores[stores.length - 1].size === 0) this.dropEmpty();
    return -1;
  }

  /** The datagram of record `slot` (a copy). */
  datagram(slot: number): SentDatagram {
    const i = this.numbers.indexOf(Math.floor(slot / SPAN));
    if (i < 0) throw new RangeError(`no record ${slot}`);
    return this.stores[i].datagram(slot % SPAN);
  }

  /** Stops matching record `slot` (RFC 3261 17.2.4); a record already gone is left alone. */
  forget(slot: number): void {
    const i = this.numbers.indexOf(Math.floor(slot / SPAN));
    if (i >= 0) this.stores[i].forget(slot % SPAN);
  }

  /** Drops every record and stops the timers. */
  clear(): void {
    for (const s of this.stores) s.clear();
    this.stores.length = 1;
    this.numbers.length = 1;
  }

  /** Lets go of the older stores left with no record to match (their timers stop). */
  private dropEmpty(): void {
    const stores = this.stores;
    while (stores.length > 1 && stores[stores.length - 1].size === 0) {
      stores.pop()?.clear();
      this.numbers.pop();
    }
  }
}
