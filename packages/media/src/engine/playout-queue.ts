/**
 * The inbound side of a session that needs decoded audio: packets in sequence-number order, one popped per tick.
 * Fixed slots (no allocation per packet); reorders within its capacity, drops late and duplicate packets, reports
 * a missing packet as lost so the decoder can conceal it, and waits for `startDepth` packets before playing.
 */
export class PlayoutQueue {
  static readonly EMPTY = -1;
  static readonly LOST = -2;
  private readonly store: Uint8Array;
  private readonly slotBytes: number;
  private readonly lengths: Int32Array;
  private readonly seqs: Int32Array;
  private readonly types: Uint8Array;
  private readonly capacity: number;
  private readonly startDepth: number;
  private nextSeq = -1;
  private held = 0;
  private playing = false;
  /** Payload type of the last popped packet. */
  payloadType = 0;
  /** After `take`: the popped payload, a view of its slot (valid until the next push). */
  payload: Uint8Array = new Uint8Array(0);
  /** One view per slot, remade only when a payload's length changes (a codec's frames have one size). */
  private readonly views: Uint8Array[];
  late = 0;
  overflow = 0;
  oversize = 0;

  /** One contiguous store of `capacity` slots of `maxPayload` bytes: size it to the codec, it is per session. */
  constructor(capacity = 64, maxPayload = 1500, startDepth = 2) {
    this.capacity = capacity;
    this.startDepth = startDepth;
    this.slotBytes = maxPayload;
    this.store = new Uint8Array(capacity * maxPayload);
    this.lengths = new Int32Array(capacity);
    this.seqs = new Int32Array(capacity).fill(-1);
    this.types = new Uint8Array(capacity);
    this.views = Array.from({ length: capacity }, () => this.payload);
  }

  get depth(): number {
    return this.held;
  }

  reset(): void {
    this.seqs.fill(-1);
    this.held = 0;
    this.nextSeq = -1;
    this.playing = false;
  }

  push(seq: number, payloadType: number, payload: Uint8Array, offset: number, length: number): void {
    if (length > this.slotBytes) {
      this.oversize++;
      return;
    }
    if (this.nextSeq < 0) this.nextSeq = seq;
    const ahead = ((seq - this.nextSeq) << 16) >> 16; // signed 16-bit distance (sequence numbers wrap)
    if (ahead < 0) {
      this.late++;
      return;
    }
    if (ahead >= this.capacity) {
      // Far ahead (a jump or a long outage): start again from this packet.
      this.overflow++;
      this.reset();
      this.nextSeq = seq;
    }
    const i = seq % this.capacity;
    if (this.seqs[i] === seq) return; // duplicate
    if (this.seqs[i] < 0) this.held++;
    this.seqs[i] = seq;
    this.lengths[i] = length;
    this.types[i] = payloadType;
    this.store.set(payload.subarray(offset, offset + length), i * this.slotBytes);
  }

  /** Copies the next packet's payload into `out` and returns its length, or EMPTY / LOST. */
  pop(out: Uint8Array): number {
    const n = this.take();
    if (n > 0) out.set(this.payload);
    return n;
  }

  /** Like `pop` without the copy: the payload is left in `payload`; returns its length, or EMPTY / LOST. */
  take(): number {
    if (this.held === 0) {
      this.playing = false;
      return PlayoutQueue.EMPTY;
    }
    if (!this.playing) {
      if (this.held < this.startDepth) return PlayoutQueue.EMPTY;
      this.playing = true;
    }
    const seq = this.nextSeq;
    this.nextSeq = (seq + 1) & 0xffff;
    const i = seq % this.capacity;
    if (this.seqs[i] !== seq) return PlayoutQueue.LOST;
    this.seqs[i] = -1;
    this.held--;
    const n = this.lengths[i];
    let view = this.views[i];
    if (view.length !== n) {
      const at = i * this.slotBytes;
      view = this.store.subarray(at, at + n);
      this.views[i] = view;
    }
    this.payload = view;
    this.payloadType = this.types[i];
    return n;
  }
}
