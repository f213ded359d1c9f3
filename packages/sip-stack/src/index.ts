// @switchyard/sip-stack: the public API of the SIP stack, layered as RFC 3261 is:
// message (parse, serialize, URIs, headers, SDP) -> transport -> transaction -> dialog -> ua.
export * from './auth/index.js';
export * from './dialog/index.js';
export * from './message/index.js';
export * from './message/sdp/index.js';
export * from './transaction/index.js';
export * from './transport/index.js';
export * from './ua/index.js';
