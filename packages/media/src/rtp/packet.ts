import { RtpError } from './errors.js';

/** Outcome of parseRtpHeader: 0 is a well-formed packet, the rest name why it was dropped (and counted). */
export const RtpParseStatus = {
  Ok: 0,
  TooShort: 1,
  BadVersion: 2,
  TruncatedCsrc: 3,
  TruncatedExtension: 4,
  BadPadding: 5,
} as const;
export type RtpParseStatus = (typeof RtpParseStatus)[keyof typeof RtpParseStatus];

/** The fields of one RTP fixed header (RFC 3550 5.1); one instance is reused for every packet. */
export class RtpHeader {
  padding = false;
  extension = false;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  csrcCount = 0;
  /** CSRC identifiers; only the first `csrcCount` are meaningful. */
  readonly csrc = new Uint32Array(15);
  /** Profile-defined 16 bits of the header extension (RFC 3550 5.3.1). */
  extensionProfile = 0;
  /** Offset and length in bytes of the extension data (after its 4-byte header) in the parsed buffer. */
  extensionOffset = 0;
  extensionLength = 0;
  payloadOffset = 0;
  payloadLength = 0;
  paddingLength = 0;

  /** Resets to an empty 12-byte header (version 2 is implied). */
  clear(): void {
    this.padding = false;
    this.extension = false;
    this.marker = false;
    this.payloadType = 0;
    this.sequenceNumber = 0;
    this.timestamp = 0;
    this.ssrc = 0;
    this.csrcCount = 0;
    this.extensionProfile = 0;
    this.extensionOffset = 0;
    this.extensionLength = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.paddingLength = 0;
  }
}

/**
 * Parses an RTP header from `buf[0..length)` into `out` without allocating. Never throws for any bytes: malformed
 * packets give a non-zero status for the caller to count (RFC 3550 A.1 validity checks on the fixed header).
 */
export function parseRtpHeader(buf: Uint8Array, length: number, out: RtpHeader): RtpParseStatus {
  if (length > buf.length) length = buf.length;
  if (length < 12) return RtpParseStatus.TooShort;
  const b0 = buf[0];
  if (b0 >> 6 !== 2) return RtpParseStatus.BadVersion;
  const cc = b0 & 0x0f;
  let offset = 12 + cc * 4;
  if (offset > length) return RtpParseStatus.TruncatedCsrc;
  let extOffset = 0;
  let extLength = 0;
  let extProfile = 0;
  if (b0 & 0x10) {
    // RFC 3550 5.3.1: 16-bit profile, 16-bit length in 32-bit words not counting this 4-byte header
    if (offset + 4 > length) return RtpParseStatus.TruncatedExtension;
    extProfile = (buf[offset] << 8) | buf[offset + 1];
    extLength = ((buf[offset + 2] << 8) | buf[offset + 3]) * 4;
    extOffset = offset + 4;
    offset = extOffset + extLength;
    if (offset > length) return RtpParseStatus.TruncatedExtension;
  }
  let pad = 0;
  if (b0 & 0x20) {
    // RFC 3550 5.1: the last octet counts the padding octets, itself included
    pad = buf[length - 1];
    if (pad === 0 || offset + pad > length) return RtpParseStatus.BadPadding;
  }
  const b1 = buf[1];
  out.padding = pad !== 0;
  out.extension = (b0 & 0x10) !== 0;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequenceNumber = (buf[2] << 8) | buf[3];
  out.timestamp = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
  out.ssrc = ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
  out.csrcCount = cc;
  for (let i = 0, p = 12; i < cc; i++, p += 4) {
    out.csrc[i] = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
  }
  out.extensionProfile = extProfile;
  out.extensionOffset = extOffset;
  out.extensionLength = extLength;
  out.payloadOffset = offset;
  out.payloadLength = length - offset - pad;
  out.paddingLength = pad;
  return RtpParseStatus.Ok;
}

/** Size in bytes of the header `h` describes (fixed part, CSRCs, extension header and data). */
export function rtpHeaderSize(h: RtpHeader): number {
  return 12 + h.csrcCount * 4 + (h.extension ? 4 + h.extensionLength : 0);
}

/**
 * Writes the header `h` at `buf[offset..]` and returns the offset of the payload. With `h.extension` set, the
 * extension header (profile, length) is written and `h.extensionLength` bytes (a multiple of 4) are left for the
 * caller to fill. The padding bit is left clear: appendRtpPadding sets it once the payload is in place.
 */
export function writeRtpHeader(buf: Uint8Array, offset: number, h: RtpHeader): number {
  const size = rtpHeaderSize(h);
  if (offset + size > buf.length) throw new RtpError('BUFFER_TOO_SMALL', `RTP header needs ${size} bytes`);
  if (h.csrcCount > 15 || (h.extension && h.extensionLength % 4 !== 0) || h.extensionLength > 0x3fffc) {
    throw new RtpError('INVALID_ARGUMENT', 'CSRC count or extension length out of range');
  }
  const cc = h.csrcCount;
  buf[offset] = 0x80 | (h.extension ? 0x10 : 0) | cc;
  buf[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  const seq = h.sequenceNumber;
  buf[offset + 2] = (seq >>> 8) & 0xff;
  buf[offset + 3] = seq & 0xff;
  writeUint32(buf, offset + 4, h.timestamp);
  writeUint32(buf, offset + 8, h.ssrc);
  let p = offset + 12;
  for (let i = 0; i < cc; i++, p += 4) writeUint32(buf, p, h.csrc[i]);
  if (h.extension) {
    const words = h.extensionLength / 4;
    buf[p] = (h.extensionProfile >>> 8) & 0xff;
    buf[p + 1] = h.extensionProfile & 0xff;
    buf[p + 2] = (words >>> 8) & 0xff;
    buf[p + 3] = words & 0xff;
    p += 4 + h.extensionLength;
  }
  return p;
}

/**
 * Appends `count` (1..255) padding octets at `buf[end..]` of the packet starting at `start` and sets its P bit
 * (RFC 3550 5.1); returns the new end. SRTP and block ciphers use this.
 */
export function appendRtpPadding(buf: Uint8Array, start: number, end: number, count: number): number {
  if (count < 1 || count > 255 || end + count > buf.length) {
    throw new RtpError('INVALID_ARGUMENT', 'padding must be 1..255 octets and fit the buffer');
  }
  buf.fill(0, end, end + count - 1);
  buf[end + count - 1] = count;
  buf[start] |= 0x20;
  return end + count;
}

/**
 * RFC 5761 4: with rtcp-mux, a packet whose second octet is 192..223 (RTP payload types 64..95 with the marker
 * set) is RTCP; everything else is RTP. Needs at least the two first octets and version 2.
 */
export function isRtcpPacket(buf: Uint8Array, length: number): boolean {
  if (length < 8 || buf[0] >> 6 !== 2) return false;
  const pt = buf[1];
  return pt >= 192 && pt <= 223;
}

export function writeUint32(buf: Uint8Array, offset: number, v: number): void {
  buf[offset] = (v >>> 24) & 0xff;
  buf[offset + 1] = (v >>> 16) & 0xff;
  buf[offset + 2] = (v >>> 8) & 0xff;
  buf[offset + 3] = v & 0xff;
}

export function readUint32(buf: Uint8Array, offset: number): number {
  return ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
}
