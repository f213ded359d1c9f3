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
  type AcceptSubscriptionOptions,
  IncomingSubscription,
  type Notification,
  parseSipFrag,
  type SipFragStatus,
  type SubscribeOptions,
  Subscription,
  SubscriptionError,
  type SubscriptionState,
} from './subscription.js';
export {
  type AcceptOptions,
  type CallOptions,
  IncomingCall,
  type IncomingRefer,
  type OfferAnswer,
  OutgoingCall,
  type OutgoingRefer,
  type ProgressOptions,
  type ReferProgress,
  type ReferReporter,
  type RequestOptions,
  type SessionEvents,
  type SessionTimerState,
  SipRequestError,
  SipSession,
  UserAgent,
  type UserAgentOptions,
} from './user-agent.js';
