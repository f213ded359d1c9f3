// SIP message layer (RFC 3261 section 7, 18.3, 19, 20, 25): parse, serialize, URIs, typed headers, builders,
// stream framing. SDP lives in ./sdp and is exported by the package entry separately.

export {
  type CreateRequestOptions,
  type CreateResponseOptions,
  createErrorResponse,
  createRequest,
  createResponse,
  formatNameAddr,
  formatVia,
  generateBranch,
  generateCallId,
  generateTag,
  type NameAddrParts,
  quoteString,
  type RandomSource,
  reasonPhrase,
  type ViaParts,
} from './builders.js';
export {
  SipParseError,
  type SipParseErrorCode,
  type SipParseErrorDetails,
  type SipParsePartial,
} from './errors.js';
export { type SipStreamFrame, SipStreamFramer, type SipStreamFramerOptions } from './framer.js';
export { canonicalHeaderName, normalizeHeaderName } from './header-names.js';
export {
  BRANCH_MAGIC_COOKIE,
  firstListElement,
  isRfc3261Branch,
  parseAuth,
  parseContacts,
  parseCSeq,
  parseDeltaSeconds,
  parseEvent,
  parseFromTo,
  parseMediaType,
  parseNameAddr,
  parseNameAddrList,
  parseReplaces,
  parseSessionExpires,
  parseSipDate,
  parseSubscriptionState,
  parseTokenList,
  parseVia,
  parseVias,
  splitList,
} from './headers.js';
export { DEFAULT_SIP_PARSE_LIMITS } from './limits.js';
export { type SipMessage, SipMessageBase, SipRequest, SipResponse } from './message.js';
export { KNOWN_METHODS, parseMessage, validateMessage } from './parser.js';
export { serializeMessage } from './serializer.js';
export type {
  AnyUri,
  AuthValue,
  ContactValue,
  CSeq,
  EventValue,
  FromTo,
  MediaType,
  NameAddr,
  OtherUri,
  ParseOptions,
  ReplacesValue,
  SessionExpiresValue,
  SipParams,
  SipParseLimits,
  SipUri,
  SubscriptionStateValue,
  TelUri,
  Via,
} from './types.js';
export {
  formatHost,
  formatSipUri,
  formatUri,
  hostTypeOf,
  isSipUri,
  isTelUri,
  parseUri,
  type SipUriParts,
  unescapeUriPart,
  uriEquals,
} from './uri.js';
