// Transaction layer (RFC 3261 section 17, RFC 6026): the four state machines and their timers on an injected
// clock, matching, CANCEL and ACK handling, and the layer that owns the tables. The clock lives here too.
export { type Clock, systemClock, type TimerHandle, VirtualClock } from '../clock.js';
export {
  DEFAULT_TRANSACTION_TIMERS,
  type SipTransportPort,
  type TerminationCause,
  TransactionError,
  type TransactionErrorCode,
  type TransactionTimerName,
  type TransactionTimerSettings,
} from './base.js';
export {
  buildCancel,
  buildNon2xxAck,
  type ClientTransaction,
  type ClientTransactionEvents,
  type InviteClientState,
  InviteClientTransaction,
  type NonInviteClientState,
  NonInviteClientTransaction,
} from './client.js';
export {
  TransactionLayer,
  type TransactionLayerCounters,
  type TransactionLayerOptions,
  type TransactionUser,
} from './layer.js';
export {
  type InviteServerState,
  InviteServerTransaction,
  type NonInviteServerState,
  NonInviteServerTransaction,
  type ServerTransaction,
  type ServerTransactionEvents,
} from './server.js';
