// Completed non-INVITE server transactions over UDP, kept off the JS heap. RFC 3261 17.2.2 asks only one thing of
// such a transaction until Timer J (64*T1) ends it: answer each retransmitted request with the same final response.
// So all that is kept is its matching key (17.2.3) and the datagram that went out, as bytes in 256 KiB chunks, with
// their metadata in typed arrays and an open-addressing index over the keys. A busy server holds 32 s of these
// (hundreds of thousands): as JS objects they made every garbage collection copy and mark them.
//
// Every entry waits the same Timer J, so they expire first-in first-out: a ring of records, freed from the tail.

import type { Clock, TimerHandle } from '../clock.js';
import type { SentDatagram, SipEndpoint, SipTransportProtocol } from '../transport/index.js';

type Chunk = Buffer;

/** Bytes per chunk of the byte store; a record never spans two chunks. */
const CHUNK = 1 << 18;
const PROTOCOLS: readonly SipTransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/**
 * @internal FNV-1a over the UTF-16 code units (keys here are latin1: branch, host, method). The seed is written as
 * the int32 it is: a double there keeps the loop off the integer path.
 */
export function hashKey(key: string): number {
  let h = -2128831035; // 0x811c9dc5
  const n = key.length;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h;
}

/** Spare chunks kept for reuse: a chunk freed by Timer J is soon needed again, and a fresh one costs page faults. */
const SPARE_CHUNKS = 8;

/** The final responses of completed non-INVITE transactions, by key, until their common deadline. */
export class CompletedResponses {
  /** Records, a ring indexed by record number & (capacity - 1) (a power of two). */
  private capacity: number;
  /** Record number of the oldest kept record and of the next one. */
  private tail = 0;
  private head = 0;
  private live = 0;
  private at: Float64Array;
  private keyLength: Uint32Array;
  private addressLength: Uint32Array;
  private bytesLength: Uint32Array;
  private port: Uint16Array;
  private protocol: Uint8Array;
  private due: Float64Array;
  private hash: Int32Array;
  /** 1 while the record can be matched. */
  private alive: Uint8Array;
  /**
   * Open addressing, linear probing, two int32 per bucket: ring slot + 1 (0 for empty) and that record's hash, so
   * a probe reads one cache line instead of the bucket and then the record. At most half the buckets are used.
   */
  private index: Int32Array;
  /** Byte chunks, the first holding position firstChunk * CHUNK. */
  private chunks: Chunk[] = [];
  private firstChunk = 0;
  private spare: Chunk[] = [];
  /** Byte position where the next record goes (only grows). */
  private cursor = 0;
  private timer: TimerHandle | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    /** The common wait (Timer J): every entry is kept this long. */
    readonly ms: number,
    /** Records before the first growth (rounded up to a power of two). */
    initialCapacity = 1024,
  ) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(2, initialCapacity)));
    this.capacity = capacity;
    this.at = new Float64Array(capacity);
    this.keyLength = new Uint32Array(capacity);
    this.addressLength = new Uint32Array(capacity);
    this.bytesLength = new Uint32Array(capacity);
    this.port = new Uint16Array(capacity);
    this.protocol = new Uint8Array(capacity);
    this.due = new Float64Array(capacity);
    this.hash = new Int32Array(capacity);
    this.alive = new Uint8Array(capacity);
    this.index = new Int32Array(4 * capacity);
  }

  /** Records that can still be matched. */
  get size(): number {
    return this.live;
  }

  /** Records the ring holds before it must grow. */
  get recordCapacity(): number {
    return this.capacity;
  }

  /** True when the next add grows the ring (CompletedGenerations starts a new store instead). */
  get full(): boolean {
    return this.head - this.tail === this.capacity;
  }

  /**
   * Keeps `sent` under `key` until now + ms; returns the deadline, or undefined when it cannot be kept here (the
   * caller then keeps the transaction as it is). `hash` is hashKey(key) when the caller has it already.
   */
  add(key: string, sent: SentDatagram, hash?: number): number | undefined {
    const dest = sent.destination;
    const protocol = PROTOCOLS.indexOf(dest.protocol);
    const address = dest.address;
    const bytes = sent.bytes;
    const keyLength = key.length;
    const addressLength = address.length;
    const total = keyLength + addressLength + bytes.length;
    if (protocol < 0 || total > CHUNK) return undefined;
    let pos = this.cursor;
    if ((pos % CHUNK) + total > CHUNK) pos = Math.ceil(pos / CHUNK) * CHUNK;
    const chunk = this.chunkAt(pos);
    let off = pos % CHUNK;
    // Short latin1 text is copied here rather than by a call into C++; anything wider is refused (nothing is kept
    // until the cursor moves, so the bytes written so far are simply overwritten later).
    for (let j = 0; j < keyLength; j++) {
      const c = key.charCodeAt(j);
      if (c > 255) return undefined;
      chunk[off++] = c;
    }
    for (let j = 0; j < addressLength; j++) {
      const c = address.charCodeAt(j);
      if (c > 255) return undefined;
      chunk[off++] = c;
    }
    chunk.set(bytes, off);
    if (this.head - this.tail === this.capacity) this.grow();
    this.cursor = pos + total;
    const slot = this.head & (this.capacity - 1);
    this.head++;
    const due = this.clock.now() + this.ms;
    this.at[slot] = pos;
    this.keyLength[slot] = keyLength;
    this.addressLength[slot] = addressLength;
    this.bytesLength[slot] = bytes.length;
    this.port[slot] = dest.port;
    this.protocol[slot] = protocol;
    this.due[slot] = due;
    const h = hash ?? hashKey(key);
    this.hash[slot] = h;
    this.alive[slot] = 1;
    this.live++;
    const index = this.index;
    const mask = (index.length >> 1) - 1;
    let i = h & mask;
    while (index[2 * i] !== 0) i = (i + 1) & mask;
    index[2 * i] = slot + 1;
    index[2 * i + 1] = h;
    if (this.timer === undefined) this.arm(this.ms);
    return due;
  }

  /** The ring slot of the live record kept under `key`, or -1. `hash` is hashKey(key) when the caller has it. */
  find(key: string, hash?: number): number {
    if (this.live === 0) return -1;
    const index = this.index;
    const mask = (index.length >> 1) - 1;
    const h = hash ?? hashKey(key);
    for (let i = h & mask; index[2 * i] !== 0; i = (i + 1) & mask) {
      if (index[2 * i + 1] !== h) continue;
      const slot = index[2 * i] - 1;
      if (this.keyIs(slot, key)) return slot;
    }
    return -1;
  }

  /** The datagram of record `slot` (a copy: the store reuses its bytes). */
  datagram(slot: number): SentDatagram {
    const pos = this.at[slot];
    const chunk = this.chunkAt(pos);
    const off = (pos % CHUNK) + this.keyLength[slot];
    const addressEnd = off + this.addressLength[slot];
    const destination: SipEndpoint = {
      protocol: PROTOCOLS[this.protocol[slot]],
      address: chunk.toString('latin1', off, addressEnd),
      port: this.port[slot],
    };
    const bytes = Buffer.from(chunk.subarray(addressEnd, addressEnd + this.bytesLength[slot]));
    return { bytes, destination };
  }

  /** Stops matching record `slot` (RFC 3261 17.2.4: a failed send ends the transaction). */
  forget(slot: number): void {
    if (this.alive[slot] === 0) return;
    this.alive[slot] = 0;
    this.live--;
    this.unindex(slot);
  }

  /** Drops every record and stops the timer. */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.alive.fill(0);
    this.index.fill(0);
    this.tail = this.head = this.live = 0;
    this.chunks = [];
    this.spare = [];
    this.firstChunk = 0;
    this.cursor = 0;
  }

  private keyIs(slot: number, key: string): boolean {
    if (this.keyLength[slot] !== key.length || this.alive[slot] === 0) return false;
    const pos = this.at[slot];
    const chunk = this.chunkAt(pos);
    const off = pos % CHUNK;
    for (let j = 0; j < key.length; j++) if (chunk[off + j] !== key.charCodeAt(j)) return false;
    return true;
  }

  private chunkAt(pos: number): Chunk {
    const n = Math.floor(pos / CHUNK) - this.firstChunk;
    let chunk = this.chunks[n];
    if (chunk === undefined) {
      chunk = this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
      this.chunks[n] = chunk;
    }
    return chunk;
  }

  /** Removes `slot` from the index, shifting back the entries probed past it (linear probing deletion). */
  private unindex(slot: number): void {
    const index = this.index;
    const mask = (index.length >> 1) - 1;
    let i = this.hash[slot] & mask;
    while (index[2 * i] !== slot + 1) {
      if (index[2 * i] === 0) return;
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; index[2 * j] !== 0; j = (j + 1) & mask) {
      const home = index[2 * j + 1] & mask;
      // the entry at j may move to i when its home is not cyclically within (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        index[2 * i] = index[2 * j];
        index[2 * i + 1] = index[2 * j + 1];
        i = j;
      }
    }
    index[2 * i] = 0;
  }

  private grow(): void {
    const old = this.capacity;
    const capacity = old * 2;
    const arrays = [
      this.at,
      this.keyLength,
      this.addressLength,
      this.bytesLength,
      this.port,
      this.protocol,
      this.due,
      this.hash,
      this.alive,
    ] as const;
    const grown = arrays.map((a) => new (a.constructor as new (n: number) => typeof a)(capacity));
    // records tail..head keep their numbers: copied in runs that are contiguous in both rings
    for (let n = this.tail; n < this.head; ) {
      const from = n & (old - 1);
      const to = n & (capacity - 1);
      const run = Math.min(this.head - n, old - from, capacity - to);
      for (let k = 0; k < arrays.length; k++) grown[k].set(arrays[k].subarray(from, from + run) as never, to);
      n += run;
    }
    this.at = grown[0] as Float64Array;
    this.keyLength = grown[1] as Uint32Array;
    this.addressLength = grown[2] as Uint32Array;
    this.bytesLength = grown[3] as Uint32Array;
    this.port = grown[4] as Uint16Array;
    this.protocol = grown[5] as Uint8Array;
    this.due = grown[6] as Float64Array;
    this.hash = grown[7] as Int32Array;
    this.alive = grown[8] as Uint8Array;
    this.capacity = capacity;
    const index = new Int32Array(4 * capacity);
    const mask = 2 * capacity - 1;
    for (let n = this.tail; n < this.head; n++) {
      const slot = n & (capacity - 1);
      if (this.alive[slot] === 0) continue;
      const h = this.hash[slot];
      let i = h & mask;
      while (index[2 * i] !== 0) i = (i + 1) & mask;
      index[2 * i] = slot + 1;
      index[2 * i + 1] = h;
    }
    this.index = index;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.expire(), ms);
  }

  /** Timer J of every record due by now (RFC 3261 17.2.2: Completed -> Terminated). */
  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const mask = this.capacity - 1;
    while (this.tail < this.head && this.due[this.tail & mask] <= now) {
      const slot = this.tail & mask;
      if (this.alive[slot] !== 0) {
        this.alive[slot] = 0;
        this.live--;
        this.unindex(slot);
      }
      this.tail++;
    }
    if (this.tail === this.head) {
      // none left: the next record starts a fresh chunk (the last one is kept for it)
      const last = this.chunks.at(-1);
      if (last !== undefined) this.keepSpare(last);
      this.chunks = [];
      this.firstChunk = Math.ceil(this.cursor / CHUNK);
      this.cursor = this.firstChunk * CHUNK;
      return;
    }
    // chunks wholly before the oldest record kept are free (a few are kept for reuse)
    const keepFrom = Math.floor(this.at[this.tail & mask] / CHUNK);
    if (this.firstChunk < keepFrom) {
      const freed = this.chunks.splice(0, keepFrom - this.firstChunk);
      for (const c of freed) if (c !== undefined) this.keepSpare(c);
      this.firstChunk = keepFrom;
    }
    this.arm(this.due[this.tail & mask] - now);
  }

  private keepSpare(chunk: Chunk): void {
    if (this.spare.length < SPARE_CHUNKS) this.spare.push(chunk);
  }
}
