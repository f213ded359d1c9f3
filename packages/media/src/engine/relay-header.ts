/**
 * The relay's header translation: rewrites payload type, sequence number, timestamp and SSRC of a received RTP
 * packet in place (RFC 3550 5.1 offsets; the marker bit, CSRCs and extensions are kept), so relaying allocates
 * nothing. Parsing is the RTP module's parseRtpHeader.
 */
export function rewriteRtpHeader(
  buf: Uint8Array,
  payloadType: number,
  seq: number,
  timestamp: number,
  ssrc: number,
): void {
  buf[1] = (buf[1] & 0x80) | (payloadType & 0x7f);
  buf[2] = (seq >>> 8) & 0xff;
  buf[3] = seq & 0xff;
  buf[4] = timestamp >>> 24;
  buf[5] = (timestamp >>> 16) & 0xff;
  buf[6] = (timestamp >>> 8) & 0xff;
  buf[7] = timestamp & 0xff;
  buf[8] = ssrc >>> 24;
  buf[9] = (ssrc >>> 16) & 0xff;
  buf[10] = (ssrc >>> 8) & 0xff;
  buf[11] = ssrc & 0xff;
}
