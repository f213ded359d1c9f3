// RTP module: RTP/RTCP packets and statistics (RFC 3550), symmetric-RTP latching, an adaptive jitter buffer, RTP
// timeouts, SRTP/SRTCP (RFC 3711) and RFC 4733 telephone-events. Allocation-free per packet where node:crypto
// allows; never imports the SIP stack.
export { RtpError, type RtpErrorCode } from './errors.js';
export {
  RtpJitterBuffer,
  type RtpJitterBufferOptions,
  RtpJitterInsert,
  RtpJitterStatus,
} from './jitter-buffer.js';
export { RtpLatch, type RtpLatchOptions, RtpLatchResult } from './latch.js';
export {
  appendRtpPadding,
  isRtcpPacket,
  parseRtpHeader,
  RtpHeader,
  RtpParseStatus,
  rtpHeaderSize,
  writeRtpHeader,
} from './packet.js';
export {
  RtcpCompoundReader,
  type RtcpIntervalParams,
  RtcpPacketType,
  RtcpParseStatus,
  type RtcpSenderInfo,
  rtcpInterval,
  rtcpNtpFractionOf,
  rtcpNtpMiddle32,
  rtcpNtpSecondsOf,
  rtcpRoundTripMs,
  writeRtcpBye,
  writeRtcpReceiverReport,
  writeRtcpSdesCname,
  writeRtcpSenderReport,
} from './rtcp.js';
export { RtcpReportBlock, RtpSequenceStatus, RtpSourceStatistics } from './source.js';
export {
  createSrtpSession,
  parseSrtpKeyParams,
  type SrtpCryptoSuite,
  type SrtpMasterKey,
  SrtpSession,
  type SrtpSessionOptions,
  srtpAesCmKeystream,
  srtpDeriveKey,
} from './srtp.js';
export {
  digitToTelephoneEvent,
  type TelephoneEventListener,
  TelephoneEventReceiver,
  type TelephoneEventReceiverOptions,
  TelephoneEventSender,
  type TelephoneEventSenderOptions,
  telephoneEventToDigit,
} from './telephone-event.js';
export { type MediaClock, RtpTimeoutMonitor, type RtpTimeoutOptions } from './timeout.js';
