// One index over every store of completed transactions (RFC 3261 17.2.3 matching for CompletedResponses and
// CompletedGenerations). With an index per store, a request that matches nothing (nearly every request) probed
// each store still holding records, a cache miss each. Here it is one probe, two while the index grows: growing
// moves the entries a few buckets at a time as records are added and removed, so it never pauses the server
// (re-indexing 2^18 records at once takes longer than a UDP socket buffer holds traffic).

/** Bits of a reference naming the record within its store; the bits above name the store (its tag). */
export const RECORD_BITS = 24;
/** Most records a store may hold (its ring's capacity). */
export const MAX_RECORDS = 2 ** RECORD_BITS;
/** Stores one index serves at once. */
export const MAX_STORES = 64;
/** Old buckets moved to the grown table per add or remove: the move ends long before the new table fills. */
const MOVE_STEP = 8;
/** An entry removed from the table being moved (it keeps later entries reachable until the move ends). */
const GONE = -1;

/** What the index asks of a store: does its record `ref` hold `key` (and is it still live)? */
export interface IndexedStore {
  keyIs(ref: number, key: string): boolean;
  /** The same for the key in src[at, at + length) (latin1 bytes). */
  keyBytesAre(ref: number, src: Uint8Array, at: number, length: number): boolean;
}

/** Which store a reference is in. */
export function tagOf(ref: number): number {
  return ref >>> RECORD_BITS;
}

/**
 * Open addressing, linear probing, two int32 per bucket: reference + 1 (0 for empty) and the key's hash, so a
 * probe reads one cache line. At most half the buckets are used.
 */
export class CompletedIndex {
  private table: Int32Array;
  /** The table being moved into `table` after a growth, and the next of its buckets to move. */
  private old: Int32Array | undefined = undefined;
  private moved = 0;
  private count = 0;
  private readonly stores: (IndexedStore | undefined)[] = [];

  constructor(private readonly initialBuckets = 2048) {
    this.table = new Int32Array(2 * CompletedIndex.buckets(initialBuckets));
  }

  private static buckets(n: number): number {
    return 2 ** Math.ceil(Math.log2(Math.max(4, n)));
  }

  /** Entries indexed. */
  get size(): number {
    return this.count;
  }

  /** Lets references with `tag` reach `store` (undefined: none any more). */
  attach(tag: number, store: IndexedStore | undefined): void {
    this.stores[tag] = store;
  }

  /** The store references with `tag` are in. */
  store(tag: number): IndexedStore | undefined {
    return this.stores[tag];
  }

  /** The reference of the live record kept under `key` (`hash` is hashKey(key)), or -1. */
  find(key: string, hash: number): number {
    if (this.count === 0) return -1;
    let ref = CompletedIndex.probe(this.table, this.stores, key, hash);
    const old = this.old;
    if (ref < 0 && old !== undefined) ref = CompletedIndex.probe(old, this.stores, key, hash);
    return ref;
  }

  /** As `find`, for the key in src[at, at + length) (a staged key: no string made). */
  findBytes(hash: number, src: Uint8Array, at: number, length: number): number {
    if (this.count === 0) return -1;
    let ref = CompletedIndex.probeBytes(this.table, this.stores, hash, src, at, length);
    const old = this.old;
    if (ref < 0 && old !== undefined) ref = CompletedIndex.probeBytes(old, this.stores, hash, src, at, length);
    return ref;
  }

  private static probeBytes(
    table: Int32Array,
    stores: (IndexedStore | undefined)[],
    hash: number,
    src: Uint8Array,
    at: number,
    length: number,
  ): number {
    const mask = (table.length >> 1) - 1;
    for (let i = hash & mask; table[2 * i] !== 0; i = (i + 1) & mask) {
      if (table[2 * i + 1] !== hash) continue;
      const ref = table[2 * i] - 1;
      if (ref >= 0 && stores[ref >>> RECORD_BITS]?.keyBytesAre(ref, src, at, length) === true) return ref;
    }
    return -1;
  }

  private static probe(table: Int32Array, stores: (IndexedStore | undefined)[], key: string, hash: number): number {
    const mask = (table.length >> 1) - 1;
    for (let i = hash & mask; table[2 * i] !== 0; i = (i + 1) & mask) {
      if (table[2 * i + 1] !== hash) continue;
      const ref = table[2 * i] - 1;
      if (ref >= 0 && stores[ref >>> RECORD_BITS]?.keyIs(ref, key) === true) return ref;
    }
    return -1;
  }

  /** Indexes record `ref` under `hash`. */
  insert(ref: number, hash: number): void {
    if (this.old === undefined && 2 * (this.count + 1) > this.table.length >> 1) this.startMove(2);
    CompletedIndex.place(this.table, ref, hash);
    this.count++;
    if (this.old !== undefined) this.moveSome();
  }

  /** Stops indexing record `ref` (its hash given); nothing happens when it is not indexed. */
  remove(ref: number, hash: number): void {
    if (this.count === 0) return;
    if (CompletedIndex.unplace(this.table, ref, hash)) this.count--;
    const old = this.old;
    if (old !== undefined) {
      // entries the move has not reached yet are only here; those moved are here too: either way, gone
      const mask = (old.length >> 1) - 1;
      for (let i = hash & mask; old[2 * i] !== 0; i = (i + 1) & mask) {
        if (old[2 * i] === ref + 1) {
          if (i >= this.moved) this.count--;
          old[2 * i] = GONE;
          break;
        }
      }
      this.moveSome();
    } else if (this.count === 0 && this.table.length > 2 * CompletedIndex.buckets(this.initialBuckets)) {
      // every record gone after a peak: back to the first size
      this.table = new Int32Array(2 * CompletedIndex.buckets(this.initialBuckets));
    }
  }

  /** Drops every entry and store. */
  clear(): void {
    this.table = new Int32Array(2 * CompletedIndex.buckets(this.initialBuckets));
    this.old = undefined;
    this.moved = 0;
    this.count = 0;
    this.stores.length = 0;
  }

  private startMove(factor: number): void {
    this.old = this.table;
    this.moved = 0;
    this.table = new Int32Array(this.table.length * factor);
  }

  /** Moves the next few buckets of the old table (entries in `count` are those in `table` plus unmoved old ones). */
  private moveSome(): void {
    const old = this.old as Int32Array;
    const buckets = old.length >> 1;
    const end = Math.min(buckets, this.moved + MOVE_STEP);
    for (let i = this.moved; i < end; i++) {
      const e = old[2 * i];
      if (e > 0) CompletedIndex.place(this.table, e - 1, old[2 * i + 1]);
      this.moved = i + 1;
    }
    if (this.moved === buckets) this.old = undefined;
  }

  private static place(table: Int32Array, ref: number, hash: number): void {
    const mask = (table.length >> 1) - 1;
    let i = hash & mask;
    while (table[2 * i] !== 0) i = (i + 1) & mask;
    table[2 * i] = ref + 1;
    table[2 * i + 1] = hash;
  }

  /** Removes `ref` from `table`, shifting back the entries probed past it (linear probing deletion). */
  private static unplace(table: Int32Array, ref: number, hash: number): boolean {
    const mask = (table.length >> 1) - 1;
    let i = hash & mask;
    while (table[2 * i] !== ref + 1) {
      if (table[2 * i] === 0) return false;
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; table[2 * j] !== 0; j = (j + 1) & mask) {
      const home = table[2 * j + 1] & mask;
      // the entry at j may move to i when its home is not cyclically within (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        table[2 * i] = table[2 * j];
        table[2 * i + 1] = table[2 * j + 1];
        i = j;
      }
    }
    table[2 * i] = 0;
    return true;
  }
}
