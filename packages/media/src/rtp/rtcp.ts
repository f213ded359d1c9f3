// RTCP (RFC 3550 section 6): building SR/RR/SDES/BYE into preallocated buffers, reading compound packets into
// reusable fields, round-trip time from LSR/DLSR and the transmission interval of A.7.
import { RtpError } from './errors.js';
import { readUint32, writeUint32 } from './packet.js';
import { RtcpReportBlock } from './source.js';

/** RTCP packet types (RFC 3550 12.1). */
export const RtcpPacketType = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204 } as const;

/** Sender information of an SR (RFC 3550 6.4.1). */
export interface RtcpSenderInfo {
  ssrc: number;
  /** NTP timestamp: seconds since 1900 and the 32-bit binary fraction. */
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

const NTP_UNIX_OFFSET = 2208988800; // seconds from 1900-01-01 to 1970-01-01

/** NTP seconds of a Unix time in ms. */
export function rtcpNtpSecondsOf(unixMs: number): number {
  return (Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET) >>> 0;
}
/** NTP fraction (units of 2^-32 s) of a Unix time in ms. */
export function rtcpNtpFractionOf(unixMs: number): number {
  const ms = unixMs - Math.floor(unixMs / 1000) * 1000;
  return Math.floor((ms / 1000) * 4294967296) >>> 0;
}
/** The middle 32 bits of the NTP timestamp (RFC 3550 6.4.1 LSR), from its two halves. */
export function rtcpNtpMiddle32(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}

/**
 * Round-trip time in ms from a report block (RFC 3550 6.4.1, figure 2): A - LSR - DLSR in 1/65536 s, where A is
 * the middle 32 bits of the NTP time the report arrived. Undefined when the block carries no LSR.
 */
export function rtcpRoundTripMs(
  arrivalNtpMiddle: number,
  lastSr: number,
  delaySinceLastSr: number,
): number | undefined {
  if (lastSr === 0) return undefined;
  const rtt = (arrivalNtpMiddle - lastSr - delaySinceLastSr) | 0;
  return rtt < 0 ? 0 : (rtt * 1000) / 65536;
}

function writeBlock(buf: Uint8Array, p: number, b: RtcpReportBlock): void {
  writeUint32(buf, p, b.ssrc);
  let lost = b.cumulativeLost;
  if (lost > 0x7fffff) lost = 0x7fffff;
  else if (lost < -0x800000) lost = -0x800000;
  writeUint32(buf, p + 4, (((b.fractionLost & 0xff) << 24) | (lost & 0xffffff)) >>> 0);
  writeUint32(buf, p + 8, b.extendedHighestSequence);
  writeUint32(buf, p + 12, b.jitter);
  writeUint32(buf, p + 16, b.lastSr);
  writeUint32(buf, p + 20, b.delaySinceLastSr);
}

function need(buf: Uint8Array, offset: number, size: number): void {
  if (offset + size > buf.length) throw new RtpError('BUFFER_TOO_SMALL', `RTCP packet needs ${size} bytes`);
}

function writeCommon(buf: Uint8Array, p: number, count: number, type: number, bytes: number): void {
  buf[p] = 0x80 | (count & 0x1f);
  buf[p + 1] = type;
  const words = bytes / 4 - 1; // RFC 3550 6.4.1: length in 32-bit words minus one
  buf[p + 2] = (words >>> 8) & 0xff;
  buf[p + 3] = words & 0xff;
}

/** Writes an SR with `count` report blocks at `buf[offset..]`; returns its length in bytes. */
export function writeRtcpSenderReport(
  buf: Uint8Array,
  offset: number,
  info: RtcpSenderInfo,
  blocks: readonly RtcpReportBlock[],
  count = blocks.length,
): number {
  if (count > 31) throw new RtpError('INVALID_ARGUMENT', 'at most 31 report blocks');
  const bytes = 28 + count * 24;
  need(buf, offset, bytes);
  writeCommon(buf, offset, count, RtcpPacketType.SR, bytes);
  writeUint32(buf, offset + 4, info.ssrc);
  writeUint32(buf, offset + 8, info.ntpSeconds);
  writeUint32(buf, offset + 12, info.ntpFraction);
  writeUint32(buf, offset + 16, info.rtpTimestamp);
  writeUint32(buf, offset + 20, info.packetCount);
  writeUint32(buf, offset + 24, info.octetCount);
  for (let i = 0; i < count; i++) writeBlock(buf, offset + 28 + i * 24, blocks[i]);
  return bytes;
}

/** Writes an RR with `count` report blocks; returns its length. */
export function writeRtcpReceiverReport(
  buf: Uint8Array,
  offset: number,
  ssrc: number,
  blocks: readonly RtcpReportBlock[],
  count = blocks.length,
): number {
  if (count > 31) throw new RtpError('INVALID_ARGUMENT', 'at most 31 report blocks');
  const bytes = 8 + count * 24;
  need(buf, offset, bytes);
  writeCommon(buf, offset, count, RtcpPacketType.RR, bytes);
  writeUint32(buf, offset + 4, ssrc);
  for (let i = 0; i < count; i++) writeBlock(buf, offset + 8 + i * 24, blocks[i]);
  return bytes;
}

/** Writes an SDES packet with one chunk holding a CNAME item (RFC 3550 6.5.1); `cname` is its UTF-8 bytes. */
export function writeRtcpSdesCname(buf: Uint8Array, offset: number, ssrc: number, cname: Uint8Array): number {
  if (cname.length > 255) throw new RtpError('INVALID_ARGUMENT', 'CNAME longer than 255 octets');
  // chunk: SSRC, item (type, length, text), then a null item and padding to a 32-bit boundary
  const chunk = 4 + 2 + cname.length;
  const bytes = 4 + ((chunk + 4) & ~3);
  need(buf, offset, bytes);
  writeCommon(buf, offset, 1, RtcpPacketType.SDES, bytes);
  writeUint32(buf, offset + 4, ssrc);
  buf[offset + 8] = 1; // CNAME
  buf[offset + 9] = cname.length;
  buf.set(cname, offset + 10);
  buf.fill(0, offset + 10 + cname.length, offset + bytes);
  return bytes;
}

/** Writes a BYE for `count` SSRCs with an optional reason (UTF-8 bytes); returns its length. */
export function writeRtcpBye(
  buf: Uint8Array,
  offset: number,
  ssrcs: ArrayLike<number>,
  count = ssrcs.length,
  reason?: Uint8Array,
): number {
  if (count > 31 || (reason && reason.length > 255)) throw new RtpError('INVALID_ARGUMENT', 'bad BYE');
  let bytes = 4 + count * 4;
  if (reason) bytes += (1 + reason.length + 3) & ~3;
  need(buf, offset, bytes);
  writeCommon(buf, offset, count, RtcpPacketType.BYE, bytes);
  for (let i = 0; i < count; i++) writeUint32(buf, offset + 4 + i * 4, ssrcs[i]);
  if (reason) {
    const p = offset + 4 + count * 4;
    buf[p] = reason.length;
    buf.set(reason, p + 1);
    buf.fill(0, p + 1 + reason.length, offset + bytes);
  }
  return bytes;
}

/** Why RtcpCompoundReader rejected a compound packet (RFC 3550 A.2 validity checks). */
export const RtcpParseStatus = {
  Ok: 0,
  TooShort: 1,
  BadVersion: 2,
  /** The first packet is not SR or RR, or padding appears before the last packet. */
  BadFirstPacket: 3,
  BadLength: 4,
} as const;
export type RtcpParseStatus = (typeof RtcpParseStatus)[keyof typeof RtcpParseStatus];

/**
 * Reads a compound RTCP packet without allocating: `validate` checks it as a whole (A.2), then `next()` steps
 * through its packets, filling the fields for the current one (SR/RR blocks, SDES CNAME location, BYE SSRCs).
 */
export class RtcpCompoundReader {
  /** Current packet's type (200..204, or others left to the caller), count field and byte range. */
  packetType = 0;
  count = 0;
  packetOffset = 0;
  packetLength = 0;
  /** SR/RR: sender SSRC; SR sender info. */
  ssrc = 0;
  ntpSeconds = 0;
  ntpFraction = 0;
  rtpTimestamp = 0;
  packetCount = 0;
  octetCount = 0;
  /** SR/RR report blocks; the first `blockCount` are filled. */
  readonly blocks: RtcpReportBlock[] = Array.from({ length: 31 }, () => new RtcpReportBlock());
  blockCount = 0;
  /** SDES: the first CNAME found in the packet (offset/length in the buffer; -1 when none) and its SSRC. */
  cnameOffset = -1;
  cnameLength = 0;
  cnameSsrc = 0;
  /** BYE: SSRCs leaving (first `count`). */
  readonly byeSsrcs = new Uint32Array(31);
  private buf: Uint8Array = new Uint8Array(0);
  private end = 0;
  private pos = 0;

  /** Checks a compound packet (RFC 3550 A.2) and positions before its first packet; Ok or why not. */
  validate(buf: Uint8Array, length: number): RtcpParseStatus {
    if (length > buf.length) length = buf.length;
    this.buf = buf;
    this.end = 0;
    this.pos = 0;
    if (length < 8) return RtcpParseStatus.TooShort;
    if (buf[0] >> 6 !== 2) return RtcpParseStatus.BadVersion;
    // A.2: first packet SR or RR with no padding
    if ((buf[0] & 0x20) !== 0 || (buf[1] !== RtcpPacketType.SR && buf[1] !== RtcpPacketType.RR)) {
      return RtcpParseStatus.BadFirstPacket;
    }
    let p = 0;
    while (p < length) {
      if (p + 4 > length) return RtcpParseStatus.BadLength;
      if (buf[p] >> 6 !== 2) return RtcpParseStatus.BadVersion;
      const bytes = (((buf[p + 2] << 8) | buf[p + 3]) + 1) * 4;
      if (p + bytes > length) return RtcpParseStatus.BadLength;
      if ((buf[p] & 0x20) !== 0 && p + bytes !== length) return RtcpParseStatus.BadFirstPacket; // padding only last
      p += bytes;
    }
    if (p !== length) return RtcpParseStatus.BadLength;
    this.end = length;
    return RtcpParseStatus.Ok;
  }

  /** Moves to the next packet of a validated compound; returns its type, or 0 at the end. */
  next(): number {
    const buf = this.buf;
    const p = this.pos;
    if (p + 4 > this.end) return 0;
    const bytes = (((buf[p + 2] << 8) | buf[p + 3]) + 1) * 4;
    this.pos = p + bytes;
    let end = p + bytes;
    if (buf[p] & 0x20) {
      const pad = buf[end - 1];
      end = pad >= bytes - 4 ? p + 4 : end - pad;
    }
    this.packetType = buf[p + 1];
    this.count = buf[p] & 0x1f;
    this.packetOffset = p;
    this.packetLength = bytes;
    this.blockCount = 0;
    this.cnameOffset = -1;
    this.cnameLength = 0;
    switch (this.packetType) {
      case RtcpPacketType.SR:
        if (end - p >= 28) {
          this.ssrc = readUint32(buf, p + 4);
          this.ntpSeconds = readUint32(buf, p + 8);
          this.ntpFraction = readUint32(buf, p + 12);
          this.rtpTimestamp = readUint32(buf, p + 16);
          this.packetCount = readUint32(buf, p + 20);
          this.octetCount = readUint32(buf, p + 24);
          this.readBlocks(p + 28, end);
        }
        break;
      case RtcpPacketType.RR:
        if (end - p >= 8) {
          this.ssrc = readUint32(buf, p + 4);
          this.readBlocks(p + 8, end);
        }
        break;
      case RtcpPacketType.SDES:
        this.readSdes(p + 4, end);
        break;
      case RtcpPacketType.BYE: {
        let n = 0;
        for (let q = p + 4; n < this.count && q + 4 <= end; q += 4) this.byeSsrcs[n++] = readUint32(buf, q);
        this.count = n;
        break;
      }
    }
    return this.packetType;
  }

  private readBlocks(q: number, end: number): void {
    const buf = this.buf;
    let n = 0;
    for (; n < this.count && q + 24 <= end; n++, q += 24) {
      const b = this.blocks[n];
      b.ssrc = readUint32(buf, q);
      b.fractionLost = buf[q + 4];
      const lost = (buf[q + 5] << 16) | (buf[q + 6] << 8) | buf[q + 7];
      b.cumulativeLost = lost & 0x800000 ? lost - 0x1000000 : lost;
      b.extendedHighestSequence = readUint32(buf, q + 8);
      b.jitter = readUint32(buf, q + 12);
      b.lastSr = readUint32(buf, q + 16);
      b.delaySinceLastSr = readUint32(buf, q + 20);
    }
    this.blockCount = n;
  }

  private readSdes(q: number, end: number): void {
    const buf = this.buf;
    for (let chunk = 0; chunk < this.count && q + 4 <= end; chunk++) {
      const ssrc = readUint32(buf, q);
      q += 4;
      // items until a null octet, then padding to the next 32-bit boundary
      while (q < end && buf[q] !== 0) {
        if (q + 2 > end) return;
        const type = buf[q];
        const len = buf[q + 1];
        if (q + 2 + len > end) return;
        if (type === 1 && this.cnameOffset < 0) {
          this.cnameOffset = q + 2;
          this.cnameLength = len;
          this.cnameSsrc = ssrc;
        }
        q += 2 + len;
      }
      // skip the terminating null octet, then pad to a 32-bit boundary relative to the packet start
      q = this.packetOffset + ((q + 1 - this.packetOffset + 3) & ~3);
    }
  }
}

/** Inputs to the RTCP interval (RFC 3550 6.3.1 and A.7). Bandwidth in octets per second. */
export interface RtcpIntervalParams {
  members: number;
  senders: number;
  rtcpBandwidth: number;
  weSent: boolean;
  /** Average compound RTCP size in octets (including UDP/IP overhead, 6.3.3). */
  avgRtcpSize: number;
  initial: boolean;
  /** Minimum interval in seconds (5 by default, 6.2). */
  minInterval?: number;
}

/**
 * Seconds until the next RTCP transmission (RFC 3550 A.7 rtcp_interval), randomized by `random()` in [0, 1)
 * and divided by e - 3/2 to compensate for timer reconsideration.
 */
export function rtcpInterval(p: RtcpIntervalParams, random: () => number): number {
  const RTCP_SENDER_BW_FRACTION = 0.25;
  const RTCP_RCVR_BW_FRACTION = 0.75;
  const COMPENSATION = Math.E - 1.5;
  let minTime = p.minInterval ?? 5;
  if (p.initial) minTime /= 2;
  let n = p.members;
  let bw = p.rtcpBandwidth;
  if (p.senders <= p.members * RTCP_SENDER_BW_FRACTION) {
    if (p.weSent) {
      bw *= RTCP_SENDER_BW_FRACTION;
      n = p.senders;
    } else {
      bw *= RTCP_RCVR_BW_FRACTION;
      n -= p.senders;
    }
  }
  let t = bw > 0 ? (p.avgRtcpSize * n) / bw : minTime;
  if (t < minTime) t = minTime;
  t = t * (random() + 0.5);
  return t / COMPENSATION;
}
