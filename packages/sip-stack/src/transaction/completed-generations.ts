// The completed-responses store (RFC 3261 17.2.2) in generations, so that it never grows in place under load.
// Growing a full CompletedResponses copies every record's metadata in one turn: ~10 ms at 2^17 records and 20-40 ms
// at 2^18 on the bench machine (with the re-indexing it once did), longer than default UDP socket buffers hold
// (10-20 ms of traffic), so datagrams are lost. Instead a full store is left to empty by itself (every record ends
// at the same Timer J) and new records go to a fresh store of twice its capacity. The stores share one index (a
// find is one probe however many stores hold records) and one pool of byte chunks (a new store takes those the
// old ones let go). Small stores still grow in place: that costs little, and keeps the chain short.

import type { Clock } from '../clock.js';
import type { SentDatagram } from '../transport/index.js';
import { CompletedIndex, MAX_RECORDS, MAX_STORES, tagOf } from './completed-index.js';
import { ChunkPool, CompletedResponses, hashKey } from './completed-responses.js';

/** CompletedResponses' interface over a chain of stores, newest first. */
export class CompletedGenerations {
  /** Stores still holding records, newest first. */
  private readonly stores: CompletedResponses[] = [];
  /** Their tags in the index. */
  private readonly tags: number[] = [];
  private readonly index: CompletedIndex;
  private readonly pool = new ChunkPool();
  /** The tag the next store gets (tags go round, so a stale reference is unlikely to name a new store). */
  private nextTag = 0;
  /** stageKey's last answer, the store it staged in and that store's answer. */
  private stagings = 0;
  private stagedIn: CompletedResponses | undefined = undefined;
  private storeStaging = -1;

  constructor(
    private readonly clock: Clock,
    /** The common wait (Timer J). */
    readonly ms: number,
    private readonly initialCapacity = 1024,
    /** Below this capacity a full store still grows in place (a millisecond or two), so finds probe fewer stores. */
    private readonly growInPlaceBelow = 1 << 14,
  ) {
    this.index = new CompletedIndex(2 * initialCapacity);
    this.open(initialCapacity);
  }

  /** Records that can still be matched. */
  get size(): number {
    let n = 0;
    for (const s of this.stores) n += s.size;
    return n;
  }

  /** Stores holding records (or taking new ones). */
  get storeCount(): number {
    return this.stores.length;
  }

  /** Byte chunks kept for reuse. */
  get spareChunks(): number {
    return this.pool.spareCount;
  }

  /** As CompletedResponses.add (`hash` is hashKey(key) when the caller has it). */
  add(key: string, sent: SentDatagram, hash?: number): number | undefined {
    let current = this.stores[0];
    if (current.full && current.recordCapacity >= this.growInPlaceBelow) {
      this.dropEmpty();
      if (this.stores.length === MAX_STORES) return undefined;
      current = this.open(Math.min(MAX_RECORDS, 2 * current.recordCapacity));
    }
    return current.add(key, sent, hash);
  }

  /** As CompletedResponses.stage, in the store the next record goes to (unless it is full). */
  stage(key: string): number {
    return this.stores[0].stage(key);
  }

  /** As CompletedResponses.stageKey, in the store the next record goes to (numbered across stores). */
  stageKey(branch: string, host: string, port: number | undefined, method: string): number {
    const store = this.stores[0];
    const staging = store.stageKey(branch, host, port, method);
    this.stagedIn = staging < 0 ? undefined : store;
    this.storeStaging = staging;
    return staging < 0 ? -1 : ++this.stagings;
  }

  /** hashKey of the key `stageKey` staged last. */
  get stagedHash(): number {
    return this.stores[0].stagedHash;
  }

  /** The reference of the live record keyed as the key `stageKey` staged last, or -1. */
  findStaged(): number {
    const ref = this.stores[0].findStaged();
    if (ref < 0 && this.stores.length > 1 && this.stores[this.stores.length - 1].size === 0) this.dropEmpty();
    return ref;
  }

  /**
   * As CompletedResponses.addStaged: undefined also when the record must go to a new store (the key was staged in
   * the full one); the caller then adds it by its text.
   */
  addStaged(staging: number, sent: SentDatagram): number | undefined {
    const current = this.stores[0];
    if (staging !== this.stagings || current !== this.stagedIn) return undefined;
    if (current.full && current.recordCapacity >= this.growInPlaceBelow) return undefined;
    return current.addStaged(this.storeStaging, sent);
  }

  /** The reference of the live record kept under `key`, or -1 (`h` is hashKey(key)). */
  find(key: string, h = hashKey(key)): number {
    const ref = this.index.find(key, h);
    if (ref < 0 && this.stores.length > 1 && this.stores[this.stores.length - 1].size === 0) this.dropEmpty();
    return ref;
  }

  /** The datagram of record `ref` (a copy). */
  datagram(ref: number): SentDatagram {
    const store = this.index.store(tagOf(ref)) as CompletedResponses | undefined;
    if (store === undefined) throw new RangeError(`no record ${ref}`);
    return store.datagram(ref);
  }

  /** Stops matching record `ref` (RFC 3261 17.2.4); a record already gone is left alone. */
  forget(ref: number): void {
    (this.index.store(tagOf(ref)) as CompletedResponses | undefined)?.forget(ref);
  }

  /** Drops every record and stops the timers. */
  clear(): void {
    // the index first: the stores then have no entry to remove one by one
    this.index.clear();
    for (const s of this.stores) s.clear();
    this.stores.length = 0;
    this.tags.length = 0;
    this.pool.clear();
    this.open(this.initialCapacity);
  }

  /** Starts a store of `capacity` records as the newest, under a tag no other store has. */
  private open(capacity: number): CompletedResponses {
    let tag = this.nextTag;
    while (this.tags.includes(tag)) tag = (tag + 1) % MAX_STORES;
    this.nextTag = (tag + 1) % MAX_STORES;
    const store = new CompletedResponses(this.clock, this.ms, capacity, { index: this.index, tag, pool: this.pool });
    this.stores.unshift(store);
    this.tags.unshift(tag);
    return store;
  }

  /** Lets go of the older stores left with no record to match (their timers stop, their chunks go back). */
  private dropEmpty(): void {
    const stores = this.stores;
    while (stores.length > 1 && stores[stores.length - 1].size === 0) {
      stores.pop()?.clear();
      this.index.attach(this.tags.pop() as number, undefined);
    }
  }
}
