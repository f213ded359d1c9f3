// Receive-side state of one RTP source: RFC 3550 A.1 (sequence validation and probation), A.3 (loss) and A.8
// (interarrival jitter).

const RTP_SEQ_MOD = 0x10000;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const MIN_SEQUENTIAL = 2;

/** What RtpSourceStatistics.update made of a packet. */
export const RtpSequenceStatus = {
  /** In sequence or within the allowed dropout/misorder: count it. */
  Valid: 0,
  /** The source is still on probation (A.1): not yet counted as valid. */
  Probation: 1,
  /** A very large jump or old duplicate: dropped unless the next packet confirms a restart. */
  Invalid: 2,
  /** A new SSRC: the receive state was reset for it (the packet starts a new probation). */
  SsrcChanged: 3,
  /** Two sequential packets after a large jump: the sender restarted its numbering; state was reset. */
  Restarted: 4,
} as const;
export type RtpSequenceStatus = (typeof RtpSequenceStatus)[keyof typeof RtpSequenceStatus];

/** One RTCP report block (RFC 3550 6.4.1) as numbers; reused by writers and readers. */
export class RtcpReportBlock {
  ssrc = 0;
  /** Fraction lost since the previous report, as the 8-bit fixed-point value (0..255). */
  fractionLost = 0;
  /** Cumulative number of packets lost (24-bit signed, clamped). */
  cumulativeLost = 0;
  extendedHighestSequence = 0;
  /** Interarrival jitter in timestamp units. */
  jitter = 0;
  /** Middle 32 bits of the NTP timestamp of the last SR received (0 if none). */
  lastSr = 0;
  /** Delay since that SR in units of 1/65536 s. */
  delaySinceLastSr = 0;
}

/** Sequence, loss and jitter bookkeeping for the one source a session receives (RFC 3550 A.1, A.3, A.8). */
export class RtpSourceStatistics {
  ssrc = 0;
  /** True once a packet was seen (the SSRC is known). */
  active = false;
  maxSeq = 0;
  /** Shifted count of sequence number cycles (a multiple of 65536). */
  cycles = 0;
  baseSeq = 0;
  badSeq = RTP_SEQ_MOD + 1;
  probation = MIN_SEQUENTIAL;
  received = 0;
  expectedPrior = 0;
  receivedPrior = 0;
  /** Interarrival jitter estimate in timestamp units (A.8, kept as a float). */
  jitter = 0;
  /** Packets rejected by the sequence checks, and SSRC changes seen. */
  invalid = 0;
  ssrcChanges = 0;
  private transit = 0;
  private haveTransit = false;
  private lastSrNtp = 0;
  private lastSrArrivalMs = 0;
  private readonly clockRate: number;

  /** `clockRate` is the RTP timestamp rate used to convert arrival times (ms) for jitter. */
  constructor(clockRate = 8000) {
    this.clockRate = clockRate;
  }

  /** Extended highest sequence number received (cycles + max). */
  get extendedMaxSequence(): number {
    return this.cycles + this.maxSeq;
  }

  /** Jitter in milliseconds. */
  get jitterMs(): number {
    return (this.jitter / this.clockRate) * 1000;
  }

  /** Expected packets (A.3): extended max - base + 1. */
  get expected(): number {
    return this.active ? this.extendedMaxSequence - this.baseSeq + 1 : 0;
  }

  /** Cumulative loss (A.3); negative with duplicates. */
  get cumulativeLost(): number {
    return this.expected - this.received;
  }

  /** Forgets everything (a new session or SSRC). */
  reset(ssrc = 0): void {
    this.ssrc = ssrc;
    this.active = false;
    this.maxSeq = 0;
    this.cycles = 0;
    this.baseSeq = 0;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.probation = MIN_SEQUENTIAL;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.jitter = 0;
    this.haveTransit = false;
    this.lastSrNtp = 0;
    this.lastSrArrivalMs = 0;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
  }

  /**
   * Accounts one packet: sequence checks (A.1), then jitter (A.8) for valid ones. `arrivalMs` is the local arrival
   * time in milliseconds (any monotonic origin).
   */
  update(ssrc: number, seq: number, timestamp: number, arrivalMs: number): RtpSequenceStatus {
    let changed = false;
    if (!this.active || ssrc !== this.ssrc) {
      changed = this.active;
      if (changed) this.ssrcChanges++;
      const changes = this.ssrcChanges;
      const invalid = this.invalid;
      this.reset(ssrc);
      this.ssrcChanges = changes;
      this.invalid = invalid;
      this.active = true;
      // A.1: a new source starts on probation
      this.initSeq(seq);
      this.maxSeq = (seq - 1) & 0xffff;
      this.probation = MIN_SEQUENTIAL;
      this.updateJitter(timestamp, arrivalMs);
      const first = this.updateSeq(seq);
      return changed ? RtpSequenceStatus.SsrcChanged : first;
    }
    const status = this.updateSeq(seq);
    if (status === RtpSequenceStatus.Valid || status === RtpSequenceStatus.Restarted) {
      this.updateJitter(timestamp, arrivalMs);
    } else if (status === RtpSequenceStatus.Invalid) {
      this.invalid++;
    }
    return status;
  }

  // RFC 3550 A.1 update_seq
  private updateSeq(seq: number): RtpSequenceStatus {
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation > 0) {
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSeq(seq);
          this.received++;
          return RtpSequenceStatus.Valid;
        }
      } else {
        this.probation = MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return RtpSequenceStatus.Probation;
    }
    if (udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD; // wrapped
      this.maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // a very large jump
      if (seq === this.badSeq) {
        // two sequential packets: assume the other side restarted without telling us
        this.initSeq(seq);
        this.received++;
        return RtpSequenceStatus.Restarted;
      }
      this.badSeq = (seq + 1) & 0xffff;
      return RtpSequenceStatus.Invalid;
    }
    // else a duplicate or reordered packet: counted, as A.1 does
    this.received++;
    return RtpSequenceStatus.Valid;
  }

  // RFC 3550 A.8: transit = arrival - timestamp in timestamp units; J += (|D| - J) / 16
  private updateJitter(timestamp: number, arrivalMs: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    // keep transit small: fold the timestamp into int32 so wrap-around gives a continuous difference
    const transit = arrival - (timestamp | 0);
    if (this.haveTransit) {
      let d = transit - this.transit;
      // a timestamp wrap between two packets shows as a 2^32 jump in transit
      if (d > 2147483648) d -= 4294967296;
      else if (d < -2147483648) d += 4294967296;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
    this.haveTransit = true;
  }

  /** Records a received SR for LSR/DLSR (RFC 3550 6.4.1): `ntpMiddle` is the middle 32 bits of its NTP time. */
  onSenderReport(ntpMiddle: number, arrivalMs: number): void {
    this.lastSrNtp = ntpMiddle >>> 0;
    this.lastSrArrivalMs = arrivalMs;
  }

  /**
   * Fills a report block for this source at `nowMs` (A.3 fraction lost over the interval since the previous call,
   * cumulative loss clamped to 24 bits signed) and starts the next interval.
   */
  fillReportBlock(block: RtcpReportBlock, nowMs: number): void {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    block.ssrc = this.ssrc;
    block.fractionLost =
      expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    if (block.fractionLost > 255) block.fractionLost = 255;
    let lost = expected - this.received;
    if (lost > 0x7fffff) lost = 0x7fffff;
    else if (lost < -0x800000) lost = -0x800000;
    block.cumulativeLost = lost;
    block.extendedHighestSequence = this.extendedMaxSequence >>> 0;
    block.jitter = Math.floor(this.jitter) >>> 0;
    block.lastSr = this.lastSrNtp;
    block.delaySinceLastSr =
      this.lastSrNtp === 0 ? 0 : Math.floor(((nowMs - this.lastSrArrivalMs) * 65536) / 1000) >>> 0;
  }
}
