// Completed non-INVITE server transactions over UDP, kept off the JS heap. RFC 3261 17.2.2 asks only one thing of
// such a transaction until Timer J (64*T1) ends it: answer each retransmitted request with the same final response.
// So all that is kept is its matching key (17.2.3) and the datagram that went out, as bytes in 256 KiB chunks, with
// their metadata in typed arrays and an open-addressing index over the keys. A busy server holds 32 s of these
// (hundreds of thousands): as JS objects they made every garbage collection copy and mark them.
//
// Every entry waits the same Timer J, so they expire first-in first-out: a ring of records, freed from the tail.

import type { Clock, TimerHandle } from '../clock.js';
import type { SentDatagram, SipEndpoint, SipTransportProtocol } from '../transport/index.js';
import { CompletedIndex, type IndexedStore, MAX_RECORDS, RECORD_BITS } from './completed-index.js';

type Chunk = Buffer;

/** Bytes per chunk of the byte store; a record never spans two chunks. */
const CHUNK = 1 << 18;
const PROTOCOLS: readonly SipTransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];
const RECORD_MASK = MAX_RECORDS - 1;
/** Distinct destination addresses a store names by number (beyond, a record keeps its address's bytes). */
const MAX_ADDRESSES = 4096;

const FNV_SEED = -2128831035; // 0x811c9dc5, written as the int32 it is: a double there keeps loops off the integer path
const FNV_PRIME = 0x01000193;

/**
 * @internal The hash of a key: FNV-1a over the UTF-16 code units (keys here are latin1: branch, host, method) of the
 * text before its first '\n' and, apart, of the rest, joined. For an RFC 3261 key the rest is `\nhost\nport\nmethod`,
 * nearly always that of the last key: stageKey keeps its hash and bytes instead of reading them again.
 */
export function hashKey(key: string): number {
  const n = key.length;
  let h = FNV_SEED;
  let i = 0;
  for (; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c === 10) break;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  let t = FNV_SEED;
  for (; i < n; i++) t = Math.imul(t ^ key.charCodeAt(i), FNV_PRIME);
  return joinHash(h, t);
}

/** hashKey's join of the hash of a key's head and of its rest. */
function joinHash(head: number, rest: number): number {
  return Math.imul(head ^ rest, FNV_PRIME);
}

/** Spare chunks kept however few are in use. */
const MIN_SPARE = 8;

/**
 * Byte chunks for the stores of one layer. A fresh chunk costs a page fault per 4 KiB on first touch, so freed ones
 * are kept for the next records (of any store: a new generation takes what the old ones let go), up to as many as
 * are in use: memory stays within twice what the live records need, and goes back as they expire.
 */
export class ChunkPool {
  private readonly spare: Chunk[] = [];
  private inUse = 0;

  /** Chunks kept for reuse now. */
  get spareCount(): number {
    return this.spare.length;
  }

  take(): Chunk {
    this.inUse++;
    // Shared memory, because V8 leaves it out of its external-memory count: a plain buffer counts, and every
    // 64 MiB of store growth then starts a full collection. That collection can free none of these chunks, and its
    // marking threads take the server's core while the store fills (~10 MB/s at 20,000 OPTIONS/s for Timer J's 32 s).
    return this.spare.pop() ?? Buffer.from(new SharedArrayBuffer(CHUNK));
  }

  give(chunk: Chunk): void {
    this.inUse--;
    const spare = this.spare;
    const keep = Math.max(MIN_SPARE, this.inUse);
    if (spare.length < keep) spare.push(chunk);
    while (spare.length > keep) spare.pop();
  }

  /** Forgets the chunks out (their stores were cleared) and the spares. */
  clear(): void {
    this.spare.length = 0;
    this.inUse = 0;
  }
}

/**
 * The part of a staged key after its branch, `\n${host.toLowerCase()}\n${port ?? ''}\n${method}`, as latin1 bytes
 * and their hash (hashKey's rest), kept for the next key with the same host, port and method (stageKey).
 */
class KeySuffix {
  /** What the bytes are of ('' and -2: none; -1: no port). Fields of one type each: no generic comparisons. */
  host = '';
  port = -2;
  method = '';
  hash = 0;
  /** The bytes, exactly (chunk.set copies them in one call). */
  bytes = new Uint8Array(0);

  /** Makes the suffix of these parts; false when they are not plain (non-ASCII host, wide method, odd port). */
  set(host: string, port: number, method: string): boolean {
    this.host = '';
    // the decimal digits of the port (none when -1)
    let digits = port < 0 ? 0 : 1;
    for (let p = port; p >= 10; p = (p - (p % 10)) / 10) digits++;
    const n = host.length + digits + method.length + 3;
    const bytes = new Uint8Array(n);
    let off = 0;
    bytes[off++] = 10;
    for (let j = 0; j < host.length; j++) {
      let c = host.charCodeAt(j);
      if (c > 127) return false;
      // ASCII only: then this is toLowerCase
      if (c >= 65 && c <= 90) c += 32;
      bytes[off++] = c;
    }
    bytes[off++] = 10;
    for (let k = digits - 1, p = port; k >= 0; k--) {
      const d = p % 10;
      bytes[off + k] = 48 + d;
      p = (p - d) / 10;
    }
    off += digits;
    bytes[off++] = 10;
    for (let j = 0; j < method.length; j++) {
      const c = method.charCodeAt(j);
      if (c > 255) return false;
      bytes[off++] = c;
    }
    let t = FNV_SEED;
    for (let j = 0; j < n; j++) t = Math.imul(t ^ bytes[j], FNV_PRIME);
    this.bytes = bytes;
    this.hash = t;
    this.host = host;
    this.port = port;
    this.method = method;
    return true;
  }
}

/** Where a store of CompletedGenerations keeps its records' keys and chunks, shared with the other stores. */
export interface SharedStorage {
  readonly index: CompletedIndex;
  /** The store's tag in `index` (the high bits of its references). */
  readonly tag: number;
  readonly pool: ChunkPool;
}

/**
 * The final responses of completed non-INVITE transactions, by key, until their common deadline. Records are
 * named by references (find's answer): the store's tag and the record's number, which growth does not change.
 */
export class CompletedResponses implements IndexedStore {
  /** Records, a ring indexed by record number & (capacity - 1) (a power of two). */
  private capacity: number;
  /** Record number of the oldest kept record and of the next one. */
  private tail = 0;
  private head = 0;
  private live = 0;
  /** Where each record's bytes are: chunk number (counted from the store's start) and offset in it. */
  private chunkNo: Float64Array;
  private offset: Uint32Array;
  private keyLength: Uint32Array;
  private addressLength: Uint32Array;
  /** The record's address as a number in `addresses`, or -1: its bytes follow the key (addressLength of them). */
  private addressNo: Int32Array;
  private bytesLength: Uint32Array;
  private port: Uint16Array;
  private protocol: Uint8Array;
  private due: Float64Array;
  private hash: Int32Array;
  /** 1 while the record can be matched. */
  private alive: Uint8Array;
  /** Byte chunks from chunk number firstChunk on. */
  private chunks: (Chunk | undefined)[] = [];
  private firstChunk = 0;
  /**
   * Where the next record goes: a chunk number (only grows) and an offset. Kept apart, so that positions are small
   * integers: a position past 2^31 bytes as one double made every % and / a floating-point call.
   */
  private cursorChunk = 0;
  private cursorOff = 0;
  private timer: TimerHandle | undefined = undefined;
  /**
   * Destination addresses by number, and the last one: answers go to few peers, and a record naming its peer by
   * number costs an equality test instead of a copy of the address char by char (~35 instructions a char).
   */
  private addresses: string[] = [];
  private addressNumbers = new Map<string, number>();
  private lastAddress = '';
  private lastAddressNo = -1;
  /**
   * A key copied by `stage` or `stageKey` to where the next record went then (stagedChunk, stagedOff): its length
   * (-1: none), hash, the string when `stage` had one, and the staging's number (`stageKey`'s answer).
   */
  private stagedLength = -1;
  private stagedKey: string | undefined = undefined;
  private stagedChunk = -1;
  private stagedOff = 0;
  private stagedHashValue = 0;
  private stageCount = 0;
  /** The last host (lower-cased), port and method stageKey wrote, as bytes. */
  private readonly suffix = new KeySuffix();
  private readonly index: CompletedIndex;
  /** tag << RECORD_BITS: a record's reference is this plus its number's low bits. */
  private readonly refBase: number;
  private readonly pool: ChunkPool;

  constructor(
    private readonly clock: Clock,
    /** The common wait (Timer J): every entry is kept this long. */
    readonly ms: number,
    /** Records before the first growth (rounded up to a power of two, at most MAX_RECORDS). */
    initialCapacity = 1024,
    /** Index and chunks shared with other stores (CompletedGenerations); a store of its own by default. */
    shared?: SharedStorage,
  ) {
    const capacity = 2 ** Math.min(RECORD_BITS, Math.ceil(Math.log2(Math.max(2, initialCapacity))));
    this.capacity = capacity;
    this.chunkNo = new Float64Array(capacity);
    this.offset = new Uint32Array(capacity);
    this.keyLength = new Uint32Array(capacity);
    this.addressLength = new Uint32Array(capacity);
    this.addressNo = new Int32Array(capacity);
    this.bytesLength = new Uint32Array(capacity);
    this.port = new Uint16Array(capacity);
    this.protocol = new Uint8Array(capacity);
    this.due = new Float64Array(capacity);
    this.hash = new Int32Array(capacity);
    this.alive = new Uint8Array(capacity);
    this.index = shared?.index ?? new CompletedIndex(2 * capacity);
    this.refBase = (shared?.tag ?? 0) << RECORD_BITS;
    this.pool = shared?.pool ?? new ChunkPool();
    this.index.attach(shared?.tag ?? 0, this);
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
    const staged = this.stagedKey === key && this.stagedLength >= 0;
    return this.put(key, key.length, staged, sent, hash);
  }

  /**
   * As `add`, for the key staged by `stageKey` whose answer was `staging`; undefined also when that key is no longer
   * staged (another was staged or added since): the caller then adds it by its text.
   */
  addStaged(staging: number, sent: SentDatagram): number | undefined {
    if (staging !== this.stageCount || this.stagedLength < 0) return undefined;
    return this.put(undefined, this.stagedLength, true, sent, this.stagedHashValue);
  }

  /** add's work: the key is `key`, or the staged one when `staged` (then `key` may be undefined). */
  private put(
    key: string | undefined,
    keyLength: number,
    staged: boolean,
    sent: SentDatagram,
    hash: number | undefined,
  ): number | undefined {
    // whatever happens below, the staged key is used up (its bytes may be overwritten)
    this.stagedLength = -1;
    this.stagedKey = undefined;
    const dest = sent.destination;
    const protocol = dest.protocol === 'udp' ? 0 : PROTOCOLS.indexOf(dest.protocol);
    const address = dest.address;
    const bytes = sent.bytes;
    const addressNo = address === this.lastAddress ? this.lastAddressNo : this.numberAddress(address);
    const addressLength = addressNo < 0 ? address.length : 0;
    const total = keyLength + addressLength + bytes.length;
    if (protocol < 0 || total > CHUNK) return undefined;
    if (this.head - this.tail === this.capacity && this.capacity === MAX_RECORDS) return undefined;
    let c = this.cursorChunk;
    let start = this.cursorOff;
    if (start + total > CHUNK) {
      c++;
      start = 0;
    }
    const chunk = this.chunkAt(c);
    let off = start;
    // Short latin1 text is copied here rather than by a call into C++; anything wider is refused (nothing is kept
    // until the cursor moves, so the bytes written so far are simply overwritten later).
    if (staged && this.stagedChunk === c && this.stagedOff === start) off += keyLength;
    else if (staged && key === undefined) {
      // staged where the record no longer fits: moved to the next chunk
      const from = this.chunkAt(this.stagedChunk);
      const at = this.stagedOff;
      for (let j = 0; j < keyLength; j++) chunk[off++] = from[at + j];
    } else {
      const text = key as string;
      for (let j = 0; j < keyLength; j++) {
        const c = text.charCodeAt(j);
        if (c > 255) return undefined;
        chunk[off++] = c;
      }
    }
    for (let j = 0; j < addressLength; j++) {
      const c = address.charCodeAt(j);
      if (c > 255) return undefined;
      chunk[off++] = c;
    }
    chunk.set(bytes, off);
    if (this.head - this.tail === this.capacity) this.grow();
    this.cursorChunk = c;
    this.cursorOff = start + total;
    const n = this.head++;
    const slot = n & (this.capacity - 1);
    const due = this.clock.now() + this.ms;
    this.chunkNo[slot] = c;
    this.offset[slot] = start;
    this.keyLength[slot] = keyLength;
    this.addressLength[slot] = addressLength;
    this.addressNo[slot] = addressNo;
    this.bytesLength[slot] = bytes.length;
    this.port[slot] = dest.port;
    this.protocol[slot] = protocol;
    this.due[slot] = due;
    const h = hash ?? hashKey(key as string);
    this.hash[slot] = h;
    this.alive[slot] = 1;
    this.live++;
    this.index.insert(this.refBase + (n & RECORD_MASK), h);
    if (this.timer === undefined) this.arm(this.ms);
    return due;
  }

  /** The number of `address` in `addresses` (made the last one), or -1 when there are too many. */
  private numberAddress(address: string): number {
    let no = this.addressNumbers.get(address);
    if (no === undefined) {
      if (this.addresses.length === MAX_ADDRESSES) return -1;
      no = this.addresses.length;
      this.addresses.push(address);
      this.addressNumbers.set(address, no);
    }
    this.lastAddress = address;
    this.lastAddressNo = no;
    return no;
  }

  /** Forgets the address numbers (no record uses them any more). */
  private forgetAddresses(): void {
    this.addresses = [];
    this.addressNumbers = new Map();
    this.lastAddress = '';
    this.lastAddressNo = -1;
  }

  /**
   * hashKey(key), copying the key on the way to where the next record goes: a request that matches nothing is
   * often answered at once, and its add then finds its key in place (one pass over its characters, not two).
   */
  stage(key: string): number {
    const keyLength = key.length;
    this.stagedLength = -1;
    this.stagedKey = undefined;
    this.stageCount++;
    if (keyLength > CHUNK) return hashKey(key);
    const chunk = this.stageAt(keyLength);
    let off = this.stagedOff;
    // hashKey's two hashes: of the text before the first '\n', and of the rest
    let h = FNV_SEED;
    let t = FNV_SEED;
    let head = true;
    let wide = 0;
    for (let j = 0; j < keyLength; j++) {
      const c = key.charCodeAt(j);
      if (c === 10) head = false;
      if (head) h = Math.imul(h ^ c, FNV_PRIME);
      else t = Math.imul(t ^ c, FNV_PRIME);
      wide |= c;
      chunk[off++] = c;
    }
    h = joinHash(h, t);
    if (wide <= 255) {
      this.stagedKey = key;
      this.stagedLength = keyLength;
      this.stagedHashValue = h;
    }
    return h;
  }

  /**
   * Stages the RFC 3261 17.2.3 key `${branch}\n${host.toLowerCase()}\n${port ?? ''}\n${method}` from its parts,
   * without making that string: its hash is then `stagedHash`, `findStaged` looks it up and `addStaged` keeps it.
   * Returns the staging's number for `addStaged`, or -1 when the branch has no magic cookie (isRfc3261Branch) or
   * the parts are not plain (a non-ASCII host, wide characters, an odd port): the caller then uses the key's text.
   */
  stageKey(branch: string, host: string, port: number | undefined, method: string): number {
    this.stagedLength = -1;
    this.stagedKey = undefined;
    const count = ++this.stageCount;
    let p = -1;
    if (port !== undefined) {
      // a 31-bit integer (as its text: no sign, exponent or fraction)
      if ((port | 0) !== port || port < 0) return -1;
      p = port;
    }
    // the host, port and method are nearly always those of the last key: their bytes and hash are kept from there,
    // not read again char by char (a char code costs ~25 instructions here, a byte copied by chunk.set ~5: callgrind)
    const suffix = this.suffix;
    if ((host !== suffix.host || p !== suffix.port || method !== suffix.method) && !suffix.set(host, p, method)) {
      return -1;
    }
    const branchLength = branch.length;
    // RFC 3261 17.2.3: only a branch with the magic cookie (8.1.1.7) and more is matched by such a key
    if (branchLength <= 7) return -1;
    const tail = suffix.bytes;
    const keyLength = branchLength + tail.length;
    if (keyLength > CHUNK) return -1;
    const chunk = this.stageAt(keyLength);
    let off = this.stagedOff;
    let h = FNV_SEED;
    let wide = 0;
    let j = 0;
    // four chars a turn: the chunk's checks are made once per turn, not per byte (callgrind: ~60 instructions a
    // char one at a time)
    for (; j + 4 <= branchLength; j += 4) {
      const c0 = branch.charCodeAt(j);
      const c1 = branch.charCodeAt(j + 1);
      const c2 = branch.charCodeAt(j + 2);
      const c3 = branch.charCodeAt(j + 3);
      // a '\n' in the branch would end hashKey's head there: such a key is left to the text path
      if (c0 === 10 || c1 === 10 || c2 === 10 || c3 === 10) return -1;
      h = Math.imul(Math.imul(Math.imul(Math.imul(h ^ c0, FNV_PRIME) ^ c1, FNV_PRIME) ^ c2, FNV_PRIME) ^ c3, FNV_PRIME);
      wide |= c0 | c1 | c2 | c3;
      chunk[off] = c0;
      chunk[off + 1] = c1;
      chunk[off + 2] = c2;
      chunk[off + 3] = c3;
      off += 4;
    }
    for (; j < branchLength; j++) {
      const c = branch.charCodeAt(j);
      if (c === 10) return -1;
      h = Math.imul(h ^ c, FNV_PRIME);
      wide |= c;
      chunk[off++] = c;
    }
    if (wide > 255) return -1;
    // the cookie checked here, on bytes, rather than by the caller on the branch's chars (a slice of the request's
    // text: ~45 instructions a char)
    const b = this.stagedOff;
    if (
      chunk[b] !== 122 || // z9hG4bK
      chunk[b + 1] !== 57 ||
      chunk[b + 2] !== 104 ||
      chunk[b + 3] !== 71 ||
      chunk[b + 4] !== 52 ||
      chunk[b + 5] !== 98 ||
      chunk[b + 6] !== 75
    ) {
      return -1;
    }
    chunk.set(tail, off);
    h = joinHash(h, suffix.hash);
    this.stagedLength = keyLength;
    this.stagedHashValue = h;
    return count;
  }

  /** hashKey of the key `stageKey` staged last. */
  get stagedHash(): number {
    return this.stagedHashValue;
  }

  /** The reference of the live record (of any store sharing the index) keyed as `stageKey`'s key, or -1. */
  findStaged(): number {
    if (this.stagedLength < 0) return -1;
    return this.index.findBytes(
      this.stagedHashValue,
      this.chunkAt(this.stagedChunk),
      this.stagedOff,
      this.stagedLength,
    );
  }

  /** The chunk a key of `keyLength` is staged in, where the next record would start (stagedChunk, stagedOff). */
  private stageAt(keyLength: number): Chunk {
    let c = this.cursorChunk;
    let start = this.cursorOff;
    if (start + keyLength > CHUNK) {
      c++;
      start = 0;
    }
    this.stagedChunk = c;
    this.stagedOff = start;
    return this.chunkAt(c);
  }

  /** The reference of the live record kept under `key`, or -1. `hash` is hashKey(key) when the caller has it. */
  find(key: string, hash?: number): number {
    if (this.live === 0) return -1;
    return this.index.find(key, hash ?? hashKey(key));
  }

  /** The datagram of record `ref` (a copy: the store reuses its bytes). */
  datagram(ref: number): SentDatagram {
    const slot = this.slotOf(ref);
    if (slot < 0) throw new RangeError(`no record ${ref}`);
    const chunk = this.chunkAt(this.chunkNo[slot]);
    const off = this.offset[slot] + this.keyLength[slot];
    const addressEnd = off + this.addressLength[slot];
    const destination: SipEndpoint = {
      protocol: PROTOCOLS[this.protocol[slot]],
      address:
        this.addressNo[slot] >= 0 ? this.addresses[this.addressNo[slot]] : chunk.toString('latin1', off, addressEnd),
      port: this.port[slot],
    };
    const bytes = Buffer.from(chunk.subarray(addressEnd, addressEnd + this.bytesLength[slot]));
    return { bytes, destination };
  }

  /** Stops matching record `ref` (RFC 3261 17.2.4: a failed send ends the transaction); a gone one is left alone. */
  forget(ref: number): void {
    const slot = this.slotOf(ref);
    if (slot >= 0) this.end(slot, ref);
  }

  /** Drops every record (and its index entry), gives back the chunks and stops the timer. */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const mask = this.capacity - 1;
    for (let n = this.tail; this.live > 0 && n < this.head; n++) {
      if (this.alive[n & mask] !== 0) this.end(n & mask, this.refBase + (n & RECORD_MASK));
    }
    for (const c of this.chunks) if (c !== undefined) this.pool.give(c);
    this.tail = this.head = this.live = 0;
    this.chunks = [];
    this.firstChunk = 0;
    this.cursorChunk = 0;
    this.cursorOff = 0;
    this.stagedLength = -1;
    this.stagedKey = undefined;
    this.forgetAddresses();
  }

  /** @internal IndexedStore: whether live record `ref` holds `key`. */
  keyIs(ref: number, key: string): boolean {
    const slot = ref & (this.capacity - 1);
    if (this.keyLength[slot] !== key.length || this.alive[slot] === 0) return false;
    const chunk = this.chunkAt(this.chunkNo[slot]);
    const off = this.offset[slot];
    for (let j = 0; j < key.length; j++) if (chunk[off + j] !== key.charCodeAt(j)) return false;
    return true;
  }

  /** @internal IndexedStore: whether live record `ref` holds the key in src[at, at + length). */
  keyBytesAre(ref: number, src: Uint8Array, at: number, length: number): boolean {
    const slot = ref & (this.capacity - 1);
    if (this.keyLength[slot] !== length || this.alive[slot] === 0) return false;
    const chunk = this.chunkAt(this.chunkNo[slot]);
    const off = this.offset[slot];
    for (let j = 0; j < length; j++) if (chunk[off + j] !== src[at + j]) return false;
    return true;
  }

  /** The ring slot of live record `ref` of this store, or -1 (gone, or a reference from elsewhere). */
  private slotOf(ref: number): number {
    if (ref < 0 || ref - (ref & RECORD_MASK) !== this.refBase) return -1;
    const mask = this.capacity - 1;
    const slot = ref & mask;
    if (this.alive[slot] === 0) return -1;
    // the live record in that slot is the one numbered tail + (slot - tail) mod capacity
    const n = this.tail + ((slot - this.tail) & mask);
    return ((n ^ ref) & RECORD_MASK) === 0 ? slot : -1;
  }

  /** Record `slot` (reference `ref`) ends: no longer matched. */
  private end(slot: number, ref: number): void {
    this.alive[slot] = 0;
    this.live--;
    this.index.remove(ref, this.hash[slot]);
  }

  private chunkAt(chunkNo: number): Chunk {
    const n = chunkNo - this.firstChunk;
    let chunk = this.chunks[n];
    if (chunk === undefined) {
      chunk = this.pool.take();
      this.chunks[n] = chunk;
    }
    return chunk;
  }

  private grow(): void {
    const old = this.capacity;
    const capacity = old * 2;
    const arrays = [
      this.chunkNo,
      this.offset,
      this.keyLength,
      this.addressLength,
      this.addressNo,
      this.bytesLength,
      this.port,
      this.protocol,
      this.due,
      this.hash,
      this.alive,
    ] as const;
    const grown = arrays.map((a) => new (a.constructor as new (n: number) => typeof a)(capacity));
    // records tail..head keep their numbers (and so their references): copied in runs contiguous in both rings
    for (let n = this.tail; n < this.head; ) {
      const from = n & (old - 1);
      const to = n & (capacity - 1);
      const run = Math.min(this.head - n, old - from, capacity - to);
      for (let k = 0; k < arrays.length; k++) grown[k].set(arrays[k].subarray(from, from + run) as never, to);
      n += run;
    }
    this.chunkNo = grown[0] as Float64Array;
    this.offset = grown[1] as Uint32Array;
    this.keyLength = grown[2] as Uint32Array;
    this.addressLength = grown[3] as Uint32Array;
    this.addressNo = grown[4] as Int32Array;
    this.bytesLength = grown[5] as Uint32Array;
    this.port = grown[6] as Uint16Array;
    this.protocol = grown[7] as Uint8Array;
    this.due = grown[8] as Float64Array;
    this.hash = grown[9] as Int32Array;
    this.alive = grown[10] as Uint8Array;
    this.capacity = capacity;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.expire(), ms);
  }

  /** Timer J of every record due by now (RFC 3261 17.2.2: Completed -> Terminated). */
  private expire(): void {
    this.timer = undefined;
    // chunks may go back to the pool below: a staged key's bytes may go with them
    this.stagedLength = -1;
    this.stagedKey = undefined;
    const now = this.clock.now();
    const mask = this.capacity - 1;
    while (this.tail < this.head && this.due[this.tail & mask] <= now) {
      const slot = this.tail & mask;
      if (this.alive[slot] !== 0) this.end(slot, this.refBase + (this.tail & RECORD_MASK));
      this.tail++;
    }
    if (this.tail === this.head) {
      // none left: every chunk goes back, and the next record starts a fresh one
      for (const c of this.chunks) if (c !== undefined) this.pool.give(c);
      this.chunks = [];
      this.firstChunk = this.cursorOff > 0 ? this.cursorChunk + 1 : this.cursorChunk;
      this.cursorChunk = this.firstChunk;
      this.cursorOff = 0;
      this.forgetAddresses();
      return;
    }
    // chunks wholly before the oldest record kept are free
    const keepFrom = this.chunkNo[this.tail & mask];
    if (this.firstChunk < keepFrom) {
      const freed = this.chunks.splice(0, keepFrom - this.firstChunk);
      for (const c of freed) if (c !== undefined) this.pool.give(c);
      this.firstChunk = keepFrom;
    }
    this.arm(this.due[this.tail & mask] - now);
  }
}
