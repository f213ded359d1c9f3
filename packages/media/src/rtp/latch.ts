/** What RtpLatch.check decided for a packet. */
export const RtpLatchResult = {
  /** From the latched source: process it. */
  Accepted: 0,
  /** This packet completed a valid stream and the latch moved to its source: process it. */
  Latched: 1,
  /** From a candidate source that has not yet shown a valid stream: drop it. */
  Pending: 2,
  /** From some other source while latched: drop it (hijack guard). */
  Rejected: 3,
} as const;
export type RtpLatchResult = (typeof RtpLatchResult)[keyof typeof RtpLatchResult];

/** Options of RtpLatch. */
export interface RtpLatchOptions {
  /** Consecutive in-sequence packets with one SSRC a source must send before it is latched (default 3). */
  requiredPackets?: number;
}

/**
 * Symmetric RTP (RFC 4961) behind NAT: sends go to where media really comes from. To resist hijacking, the latch
 * is taken only by the first source sending a valid stream (consecutive packets, one SSRC, sequence numbers in
 * order) or by a packet from exactly the signalled address, and once latched it moves only to a stream coming from
 * the signalled host. Pure logic; feed it packets that parsed (and passed SRTP authentication, when used).
 */
export class RtpLatch {
  /** The source sends go to (latched, else the signalled one); undefined before either is known. */
  latchedAddress: string | undefined;
  latchedPort = 0;
  /** Times the latch was taken or moved, and packets rejected or held while pending. */
  latches = 0;
  rejected = 0;
  pending = 0;
  private remoteAddress: string | undefined;
  private remotePort = 0;
  private candAddress: string | undefined;
  private candPort = 0;
  private candSsrc = 0;
  private candSeq = 0;
  private candCount = 0;
  private readonly required: number;

  constructor(options: RtpLatchOptions = {}) {
    this.required = Math.max(1, options.requiredPackets ?? 3);
  }

  /** The address signalling (SDP) gave; a stream from this IP may take over the latch. */
  setRemote(address: string, port: number): void {
    this.remoteAddress = address;
    this.remotePort = port;
  }

  /** Where to send: the latched source, else the signalled address. */
  get sendAddress(): string | undefined {
    return this.latchedAddress ?? this.remoteAddress;
  }
  get sendPort(): number {
    return this.latchedAddress !== undefined ? this.latchedPort : this.remotePort;
  }

  /** Whether a latch was taken. */
  get isLatched(): boolean {
    return this.latchedAddress !== undefined;
  }

  /** Drops the latch (e.g. a re-INVITE moved the call); the next valid stream latches again. */
  reset(): void {
    this.latchedAddress = undefined;
    this.latchedPort = 0;
    this.candAddress = undefined;
    this.candCount = 0;
  }

  /** Takes the latch as it was decided before (a session moved to another worker keeps where its media comes from). */
  restore(address: string, port: number): void {
    this.latchedAddress = address;
    this.latchedPort = port;
    this.candAddress = undefined;
    this.candCount = 0;
  }

  /** Decides for one well-formed RTP packet from `address`:`port` with its SSRC and sequence number. */
  check(address: string, port: number, ssrc: number, seq: number): RtpLatchResult {
    if (this.latchedAddress !== undefined) {
      if (address === this.latchedAddress && port === this.latchedPort) return RtpLatchResult.Accepted;
      // re-latch only towards the signalled address (its IP; NAT may change the port)
      if (address !== this.remoteAddress) {
        this.rejected++;
        return RtpLatchResult.Rejected;
      }
    }
    if (
      this.candAddress === address &&
      this.candPort === port &&
      this.candSsrc === ssrc &&
      seq === ((this.candSeq + 1) & 0xffff)
    ) {
      this.candCount++;
    } else {
      this.candAddress = address;
      this.candPort = port;
      this.candSsrc = ssrc;
      this.candCount = 1;
    }
    this.candSeq = seq;
    // the exact address signalling gave is trusted at once; any other source must first show a valid stream
    const required = address === this.remoteAddress && port === this.remotePort ? 1 : this.required;
    if (this.candCount >= required) {
      this.latchedAddress = address;
      this.latchedPort = port;
      this.candAddress = undefined;
      this.candCount = 0;
      this.latches++;
      return RtpLatchResult.Latched;
    }
    this.pending++;
    return RtpLatchResult.Pending;
  }
}
