// User-agent layer (RFC 3261 sections 8, 10, 13-15 and the extensions embedders need).
export {
  type NonInviteSender,
  RegistrationClient,
  type RegistrationClientOptions,
  type RegistrationDetail,
  RegistrationError,
  type RegistrationState,
} from './registration.js';
export {
  type CallOptions,
  IncomingCall,
  OutgoingCall,
  type RequestOptions,
  type SessionEvents,
  SipRequestError,
  SipSession,
  UserAgent,
  type UserAgentOptions,
} from './user-agent.js';
