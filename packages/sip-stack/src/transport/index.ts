// Transport layer (RFC 3261 section 18, RFC 3263, RFC 3581, RFC 5626 keep-alives, RFC 7118 WebSocket).

export { formatListenUrl, parseListenUrl } from './listen-url.js';
export type { ListenSpec, TlsFiles } from './listeners.js';
export {
  dnsResolver,
  type NaptrRecord,
  orderSrvRecords,
  type SipLocateRequest,
  SipLocator,
  type SipLocatorOptions,
  type SipResolver,
  type SipTarget,
  type SrvRecord,
  StaticSipResolver,
} from './locator.js';
export {
  type SourceLimitCounters,
  SourceLimiter,
  type SourceLimitsOptions,
  type SourceVerdict,
} from './source-limits.js';
export {
  type SipInboundContext,
  type SipMessageHandler,
  type SipSentHandler,
  type SipTransportCounters,
  SipTransportLayer,
  type SipTransportLayerOptions,
} from './transport-layer.js';
export {
  endpointKey,
  isReliable,
  isSecure,
  type SendFailureSink,
  type SentDatagram,
  type SipConnection,
  type SipEndpoint,
  SipTransportError,
  type SipTransportProtocol,
} from './types.js';
