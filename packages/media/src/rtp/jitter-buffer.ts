import { RtpError } from './errors.js';
import type { RtpHeader } from './packet.js';

/** What RtpJitterBuffer.get produced for a frame. */
export const RtpJitterStatus = {
  /** The next packet in sequence: its fields and payload are on the buffer (valid until the next insert/get). */
  Packet: 0,
  /** The next packet is missing while later ones are buffered: run the codec's packet-loss concealment. */
  Lost: 1,
  /** Nothing to play (not started, filling to the playout delay, or drained): play silence/comfort noise. */
  Empty: 2,
} as const;
export type RtpJitterStatus = (typeof RtpJitterStatus)[keyof typeof RtpJitterStatus];

/** What RtpJitterBuffer.insert did with a packet. */
export const RtpJitterInsert = {
  Inserted: 0,
  Duplicate: 1,
  /** Its playout time has passed (sequence before the next to play). */
  Late: 2,
  /** A telephone-event packet: its sequence number is noted (not a loss), its payload is not audio. */
  NotAudio: 3,
  /** A new SSRC or a sequence restart: the buffer was reset and the packet inserted. */
  Reset: 4,
  /** Larger than a slot. */
  TooLarge: 5,
} as const;
export type RtpJitterInsert = (typeof RtpJitterInsert)[keyof typeof RtpJitterInsert];

/** Options of RtpJitterBuffer. */
export interface RtpJitterBufferOptions {
  /** Slots (a power of two, default 64): the reordering window in packets. */
  capacity?: number;
  /** Largest payload a slot holds (default 1500). */
  maxPayload?: number;
  /** RTP clock rate of the audio (default 8000). */
  clockRate?: number;
  /** Playout delay bounds in ms (defaults 40 and 300). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Playout delay = packet time + factor * measured jitter, within the bounds (default 4). */
  jitterFactor?: number;
  /** RFC 4733 payload type, whose packets are kept out of the audio. */
  telephoneEventPayloadType?: number;
}

// Buffer's copy works on any Uint8Array source and, unlike subarray + set, allocates nothing per packet
const copyBytes = Buffer.prototype.copy;

const EMPTY = 0;
const AUDIO = 1;
const SKIP = 2;
const EXT_BASE = 0x100000; // extended sequence numbers start at cycle 16, so a reordered first packet stays positive
const LEVEL_WINDOW_MS = 1000; // the buffer level's minimum is taken over windows of this length

/**
 * Adaptive jitter buffer for one RTP audio stream over a preallocated ring of slots. Packets come in any order;
 * duplicates and late packets are dropped; `get` is called once per packet time and returns the next packet, a
 * loss (for concealment) or empty. The playout delay follows the measured interarrival jitter (RFC 3550 A.8),
 * grown at talkspurt starts (marker bit) and shrunk by dropping packets when the buffer's lowest level over a
 * second stayed above the target: a standing surplus (a stall's backlog, a sender's fast clock), not a burst that
 * drains before the next one (a bursty link must not lose audio).
 */
export class RtpJitterBuffer {
  // output of get()
  sequenceNumber = 0;
  extendedSequence = 0;
  timestamp = 0;
  marker = false;
  payloadType = 0;
  /** The slot holding the packet returned by get (read `payloadLength` bytes). */
  payload: Uint8Array;
  payloadLength = 0;
  /** After `peekNext`: the slot and payload type of the packet after the one reported lost. */
  nextPayload: Uint8Array;
  nextPayloadType = 0;
  // counters
  inserted = 0;
  duplicates = 0;
  late = 0;
  lost = 0;
  /** Packets dropped to shrink the delay or because the ring overflowed. */
  dropped = 0;
  underruns = 0;
  resets = 0;
  /** Interarrival jitter estimate in ms. */
  jitterMs = 0;
  /** Duration of one packet in ms as seen from timestamps (20 until measured). */
  packetMs = 20;

  private readonly capacity: number;
  private readonly mask: number;
  private readonly maxPayload: number;
  private readonly clockRate: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly factor: number;
  private readonly eventPt: number;
  private readonly state: Uint8Array;
  private readonly seqs: Float64Array;
  private readonly stamps: Uint32Array;
  private readonly markers: Uint8Array;
  private readonly types: Uint8Array;
  private readonly lengths: Uint16Array;
  private readonly arrivals: Float64Array;
  private readonly views: Uint8Array[];
  /** Per slot, a view of exactly the last payload length held there (remade only when that length changes). */
  private readonly exact: Uint8Array[];
  private playedSlot = 0;
  private windowStart = -1;
  private windowMin = Number.POSITIVE_INFINITY;
  private shrink = 0;
  private ssrc = 0;
  private hasStream = false;
  private nextSeq = 0;
  private highest = 0;
  private count = 0;
  private playing = false;
  private playedAny = false;
  private fillStart = -1;
  private lastArrival = 0;
  private lastTs = 0;
  private haveLast = false;
  private lastAudioExt = -1;
  private lastAudioTs = 0;

  constructor(options: RtpJitterBufferOptions = {}) {
    const capacity = options.capacity ?? 64;
    if (!Number.isInteger(capacity) || capacity < 4 || capacity > 4096 || (capacity & (capacity - 1)) !== 0) {
      throw new RtpError('INVALID_ARGUMENT', 'capacity must be a power of two in 4..4096');
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxPayload = options.maxPayload ?? 1500;
    this.clockRate = options.clockRate ?? 8000;
    this.minDelay = options.minDelayMs ?? 40;
    this.maxDelay = Math.max(this.minDelay, options.maxDelayMs ?? 300);
    this.factor = options.jitterFactor ?? 4;
    this.eventPt = options.telephoneEventPayloadType ?? -1;
    this.state = new Uint8Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.markers = new Uint8Array(capacity);
    this.types = new Uint8Array(capacity);
    this.lengths = new Uint16Array(capacity);
    this.arrivals = new Float64Array(capacity);
    const storage = new Uint8Array(capacity * this.maxPayload);
    this.views = [];
    for (let i = 0; i < capacity; i++) {
      this.views.push(storage.subarray(i * this.maxPayload, (i + 1) * this.maxPayload));
    }
    this.payload = this.views[0];
    this.nextPayload = this.views[0];
    this.exact = this.views.map((v) => v.subarray(0, 0));
  }

  /** The payload returned by get as a view of exactly `payloadLength` bytes (made only when a slot's length changes). */
  payloadView(): Uint8Array {
    const slot = this.playedSlot;
    let v = this.exact[slot];
    if (v.length !== this.payloadLength) {
      v = this.views[slot].subarray(0, this.payloadLength);
      this.exact[slot] = v;
    }
    return v;
  }

  /**
   * After `get` returned Lost: the length of the packet that follows the lost one when it is already buffered (its
   * slot in `nextPayload`, its type in `nextPayloadType`), for codecs that rebuild a loss from it (Opus FEC); else -1.
   */
  peekNext(): number {
    const slot = this.nextSeq & this.mask;
    if (this.state[slot] !== AUDIO) return -1;
    this.nextPayload = this.views[slot];
    this.nextPayloadType = this.types[slot];
    return this.lengths[slot];
  }

  /** The playout delay the buffer aims at, in ms. */
  get targetDelayMs(): number {
    const t = this.packetMs + this.factor * this.jitterMs;
    return t < this.minDelay ? this.minDelay : Math.min(t, this.maxDelay);
  }

  /** Packets currently buffered (audio and telephone-event placeholders). */
  get bufferedPackets(): number {
    return this.count;
  }

  /** Empties the buffer and forgets the stream. */
  reset(): void {
    this.state.fill(EMPTY);
    this.hasStream = false;
    this.count = 0;
    this.playing = false;
    this.playedAny = false;
    this.fillStart = -1;
    this.haveLast = false;
    this.lastAudioExt = -1;
    this.windowStart = -1;
    this.windowMin = Number.POSITIVE_INFINITY;
    this.shrink = 0;
  }

  /** Adds the packet whose header was parsed into `h` (payload in `buf`) that arrived at `arrivalMs`. */
  insert(buf: Uint8Array, h: RtpHeader, arrivalMs: number): RtpJitterInsert {
    if (h.payloadLength > this.maxPayload) return RtpJitterInsert.TooLarge;
    let result: RtpJitterInsert = RtpJitterInsert.Inserted;
    let ext: number;
    if (!this.hasStream || h.ssrc !== this.ssrc) {
      if (this.hasStream) result = RtpJitterInsert.Reset;
      ext = this.restart(h.ssrc, h.sequenceNumber);
    } else {
      // extend the 16-bit sequence number around the highest seen (RFC 3550 A.1 style wrap handling)
      const d = ((h.sequenceNumber - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      ext = this.highest + d;
      if (ext < this.nextSeq) {
        if (!this.playedAny && this.highest - ext < this.capacity) {
          this.nextSeq = ext; // still filling: an earlier packet of the stream arrived after a later one
        } else {
          this.late++;
          return RtpJitterInsert.Late;
        }
      } else if (ext - this.nextSeq >= this.capacity) {
        if (ext - this.highest >= this.capacity) {
          // a jump larger than the window: the sender restarted its numbering
          ext = this.restart(h.ssrc, h.sequenceNumber);
          result = RtpJitterInsert.Reset;
        } else {
          // the ring is full: give up the oldest packets
          this.discardBefore(ext - this.capacity + 1);
        }
      }
    }
    const slot = ext & this.mask;
    if (this.state[slot] !== EMPTY) {
      this.duplicates++;
      return RtpJitterInsert.Duplicate;
    }
    if (ext > this.highest) this.highest = ext;
    this.count++;
    this.seqs[slot] = ext;
    this.arrivals[slot] = arrivalMs;
    if (this.fillStart < 0) this.fillStart = arrivalMs;
    if (h.payloadType === this.eventPt) {
      this.state[slot] = SKIP;
      return result === RtpJitterInsert.Inserted ? RtpJitterInsert.NotAudio : result;
    }
    this.state[slot] = AUDIO;
    this.stamps[slot] = h.timestamp;
    this.markers[slot] = h.marker ? 1 : 0;
    this.types[slot] = h.payloadType;
    this.lengths[slot] = h.payloadLength;
    copyBytes.call(buf as Buffer, this.views[slot], 0, h.payloadOffset, h.payloadOffset + h.payloadLength);
    this.inserted++;
    this.measure(ext, h.timestamp, arrivalMs);
    return result;
  }

  private restart(ssrc: number, seq: number): number {
    if (this.hasStream) this.resets++;
    this.reset();
    this.hasStream = true;
    this.ssrc = ssrc;
    const ext = EXT_BASE + seq;
    this.nextSeq = ext;
    this.highest = ext;
    return ext;
  }

  private discardBefore(ext: number): void {
    while (this.nextSeq < ext) {
      const slot = this.nextSeq & this.mask;
      if (this.state[slot] !== EMPTY) {
        if (this.state[slot] === AUDIO) this.dropped++;
        this.state[slot] = EMPTY;
        this.count--;
      }
      this.nextSeq++;
    }
  }

  // RFC 3550 A.8 in ms: D = (arrival difference) - (timestamp difference); J += (|D| - J) / 16
  private measure(ext: number, ts: number, arrivalMs: number): void {
    if (this.haveLast) {
      const dTs = (((ts - this.lastTs) | 0) * 1000) / this.clockRate;
      let d = arrivalMs - this.lastArrival - dTs;
      if (d < 0) d = -d;
      this.jitterMs += (d - this.jitterMs) / 16;
    }
    this.haveLast = true;
    this.lastArrival = arrivalMs;
    this.lastTs = ts;
    if (ext === this.lastAudioExt + 1) {
      const samples = (ts - this.lastAudioTs) | 0;
      if (samples > 0 && samples <= this.clockRate / 5) this.packetMs = (samples * 1000) / this.clockRate;
    }
    if (ext > this.lastAudioExt) {
      this.lastAudioExt = ext;
      this.lastAudioTs = ts;
    }
  }

  /** The next frame at `nowMs`: Packet (fields set), Lost (sequence fields name the missing packet) or Empty. */
  get(nowMs: number): RtpJitterStatus {
    if (!this.hasStream) return RtpJitterStatus.Empty;
    if (!this.playing) {
      if (this.count === 0 || this.fillStart < 0 || nowMs - this.fillStart < this.targetDelayMs) {
        return RtpJitterStatus.Empty;
      }
      // the first start begins at the oldest buffered packet; after an underrun the packets missing since the
      // last one played are still reported as lost (the ring never holds a gap wider than its capacity)
      if (!this.playedAny) {
        while (this.state[this.nextSeq & this.mask] === EMPTY && this.nextSeq < this.highest) this.nextSeq++;
      }
      this.playing = true;
      this.playedAny = true;
    }
    let shrunk = false;
    for (;;) {
      if (this.count === 0) {
        // drained: fill to the playout delay again before resuming
        this.playing = false;
        this.fillStart = -1;
        this.underruns++;
        this.windowMin = 0;
        return RtpJitterStatus.Empty;
      }
      const slot = this.nextSeq & this.mask;
      const st = this.state[slot];
      if (st === SKIP) {
        this.state[slot] = EMPTY;
        this.count--;
        this.nextSeq++;
        continue;
      }
      if (st === EMPTY) {
        this.sequenceNumber = this.nextSeq & 0xffff;
        this.extendedSequence = this.nextSeq;
        this.timestamp = (this.timestamp + Math.round((this.packetMs * this.clockRate) / 1000)) >>> 0;
        this.marker = false;
        this.payloadLength = 0;
        this.nextSeq++;
        this.lost++;
        return RtpJitterStatus.Lost;
      }
      const target = this.targetDelayMs;
      if (this.markers[slot] !== 0 && nowMs - this.arrivals[slot] < target) {
        // a talkspurt starts: hold it until it has waited the (possibly grown) playout delay
        return RtpJitterStatus.Empty;
      }
      const level = (this.highest - this.nextSeq) * this.packetMs; // ms buffered behind this packet
      if (this.shrink > 0 && !shrunk && this.markers[slot] === 0) {
        // a standing surplus: drop one packet per frame to bring the delay back to the target
        this.shrink--;
        shrunk = true;
        this.state[slot] = EMPTY;
        this.count--;
        this.nextSeq++;
        this.dropped++;
        continue;
      }
      this.trackLevel(nowMs, level, target);
      this.state[slot] = EMPTY;
      this.count--;
      this.sequenceNumber = this.nextSeq & 0xffff;
      this.extendedSequence = this.nextSeq;
      this.timestamp = this.stamps[slot];
      this.marker = this.markers[slot] !== 0;
      this.payloadType = this.types[slot];
      this.payload = this.views[slot];
      this.payloadLength = this.lengths[slot];
      this.playedSlot = slot;
      this.nextSeq++;
      return RtpJitterStatus.Packet;
    }
  }

  /**
   * The lowest level over each window: when even that stayed above the target by two packets or more, the surplus
   * (less one packet of margin) is dropped over the next frames. A burst that drains within the window never does.
   */
  private trackLevel(nowMs: number, level: number, target: number): void {
    if (level < this.windowMin) this.windowMin = level;
    if (this.windowStart < 0) this.windowStart = nowMs;
    if (nowMs - this.windowStart < LEVEL_WINDOW_MS) return;
    const surplus = this.windowMin - target;
    this.shrink = surplus >= 2 * this.packetMs ? Math.floor(surplus / this.packetMs) - 1 : 0;
    this.windowStart = nowMs;
    this.windowMin = Number.POSITIVE_INFINITY;
  }
}
