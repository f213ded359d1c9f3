// The records the PBX keeps: extensions, registered contacts and call detail records. Times are epoch
// milliseconds (UTC) everywhere; `null` means "not known / not set", never an empty string.

/** JSON value stored as-is (forwarding rules, call-rule options, step details). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------------------------
// Extensions (FEATURES 1)

export const EXTENSION_ROLES = ['admin', 'supervisor', 'user', 'report-viewer'] as const;
/** report-viewer may read reports but not change the PBX. */
export type ExtensionRole = (typeof EXTENSION_ROLES)[number];

export const PRESENCE_STATUSES = ['available', 'away', 'do-not-disturb', 'lunch', 'business-trip'] as const;
export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];

export const FORWARDING_KINDS = ['immediate', 'busy', 'no-answer', 'unreachable', 'simultaneous'] as const;
export type ForwardingKind = (typeof FORWARDING_KINDS)[number];

/** One forwarding rule (FEATURES 3); `presence` limits it to some presence statuses (FEATURES 1). */
export interface ForwardingRule {
  readonly kind: ForwardingKind;
  /** An extension number, an external number or a destination reference such as `voicemail:201`. */
  readonly destination: string;
  /** For `no-answer`: ring this long first. */
  readonly afterSeconds?: number;
  readonly presence?: readonly PresenceStatus[];
  readonly enabled: boolean;
}

/** Per-extension incoming-call rules (FEATURES 2). Kept as one JSON object so new rules need no schema change. */
export interface IncomingCallRules {
  readonly rejectAnonymous?: boolean;
  readonly rejectUnknown?: boolean;
  readonly blacklist?: readonly string[];
  readonly maxConcurrentCalls?: number;
  readonly overflowDestination?: string;
  readonly autoHoldAfterSeconds?: number;
  readonly autoDivertAfterSeconds?: number;
  readonly autoDivertDestination?: string;
  readonly autoAnswer?: boolean;
  readonly recordCalls?: boolean;
}

export interface Extension {
  /** The extension number; also the SIP user name and the address-of-record's user part. */
  readonly number: string;
  readonly displayName: string;
  /**
   * Digest credentials (RFC 7616 / RFC 8760): the clear password, or H(user:realm:password) per hash when the
   * password is not to be kept. At least one of them is needed to register.
   */
  readonly sipPassword: string | null;
  readonly ha1Md5: string | null;
  readonly ha1Sha256: string | null;
  readonly ha1Sha512_256: string | null;
  readonly email: string | null;
  readonly mobile: string | null;
  readonly role: ExtensionRole;
  readonly presence: PresenceStatus;
  readonly enabled: boolean;
  readonly voicemailPin: string | null;
  readonly forwarding: readonly ForwardingRule[];
  readonly callRules: IncomingCallRules;
  /** Id of the restriction profile applied to outbound calls (FEATURES 3), or null for none. */
  readonly restrictionProfileId: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What `create` takes: the number and name, everything else defaulted. */
export type NewExtension = Pick<Extension, 'number' | 'displayName'> &
  Partial<Omit<Extension, 'number' | 'displayName' | 'createdAt' | 'updatedAt'>>;

/** What `update` takes: any field but the key and the timestamps. */
export type ExtensionPatch = Partial<Omit<Extension, 'number' | 'createdAt' | 'updatedAt'>>;

// ---------------------------------------------------------------------------------------------------------------
// Registrations (RFC 3261 10.3, RFC 5626 outbound, RFC 3327 Path)

export const SIP_TRANSPORTS = ['udp', 'tcp', 'tls', 'ws', 'wss'] as const;
export type SipTransport = (typeof SIP_TRANSPORTS)[number];

/** One binding of an extension's address-of-record to a device contact. */
export interface Registration {
  readonly extension: string;
  readonly contactUri: string;
  /** RFC 5626 +sip.instance and reg-id, when the device uses outbound. */
  readonly instanceId: string | null;
  readonly regId: number | null;
  /** RFC 3261 10.3 step 7: the Call-ID and CSeq that last refreshed the binding. */
  readonly callId: string;
  readonly cseq: number;
  /** RFC 3327 Path header values, in order. */
  readonly path: readonly string[];
  readonly transport: SipTransport;
  /** Where the REGISTER came from (RFC 3581 received/rport): requests to the device go back there. */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  /** The connection (TCP/TLS/WS) or flow (RFC 5626) the device is reachable on, when connection-oriented. */
  readonly flowId: string | null;
  readonly userAgent: string | null;
  /** Contact q-value, 0..1 (RFC 3261 20.10). */
  readonly q: number;
  readonly expiresAt: number;
  readonly registeredAt: number;
  readonly updatedAt: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Call detail records (FEATURES 11, 12)

export const CALL_DIRECTIONS = ['internal', 'inbound', 'outbound'] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

export const CALL_STATUSES = [
  'answered',
  'missed',
  'busy',
  'rejected',
  'cancelled',
  'failed',
  'no-answer',
  'restricted',
  'wrong-number',
  'forwarded',
  'transferred',
  'voicemail',
  'do-not-disturb',
] as const;
/** How the call ended, as the call log shows it. */
export type CallStatus = (typeof CALL_STATUSES)[number];

export const HANGUP_SIDES = ['caller', 'callee', 'system'] as const;
export type HangupSide = (typeof HANGUP_SIDES)[number];

export const LEG_PEER_KINDS = ['extension', 'trunk', 'service'] as const;
/** `service`: a leg to the PBX itself (IVR, voicemail, queue hold, conference). */
export type LegPeerKind = (typeof LEG_PEER_KINDS)[number];

export const LEG_STATUSES = [
  'answered',
  'busy',
  'rejected',
  'cancelled',
  'failed',
  'no-answer',
  'unreachable',
  'do-not-disturb',
] as const;
export type LegStatus = (typeof LEG_STATUSES)[number];

/** One side of the B2BUA: the caller's leg, or one of the legs the PBX placed (ringing several devices = several). */
export interface CallLeg {
  readonly legId: string;
  readonly peerKind: LegPeerKind;
  /** Extension number, trunk id or service name. */
  readonly peer: string;
  /** Relative to the PBX: `inbound` for the leg that called in, `outbound` for legs the PBX placed. */
  readonly direction: 'inbound' | 'outbound';
  readonly sipCallId: string | null;
  readonly contactUri: string | null;
  readonly startedAt: number;
  readonly ringingAt: number | null;
  readonly answeredAt: number | null;
  readonly endedAt: number;
  readonly status: LegStatus;
  /** Final SIP status of the leg's INVITE (200 for answered legs), null if none was received. */
  readonly sipStatus: number | null;
  readonly codec: string | null;
}

export const CALL_STEP_KINDS = [
  'ivr',
  'ivr-key',
  'queue',
  'queue-callback',
  'ring-group',
  'time-condition',
  'forward',
  'transfer',
  'attended-transfer',
  'park',
  'unpark',
  'pickup',
  'hold',
  'resume',
  'conference',
  'voicemail',
  'recording',
  'restriction',
  'note',
] as const;
export type CallStepKind = (typeof CALL_STEP_KINDS)[number];

/** One thing that happened to the call, for the call-detail report (FEATURES 12). */
export interface CallStep {
  readonly at: number;
  readonly kind: CallStepKind;
  /** What the step acted on: an IVR id, queue id, extension, park slot... */
  readonly target: string | null;
  readonly endedAt: number | null;
  readonly detail: JsonObject | null;
}

export interface CallRecord {
  /** The B2BUA's call UUID. */
  readonly callId: string;
  readonly direction: CallDirection;
  readonly callerNumber: string;
  readonly callerName: string | null;
  readonly calleeNumber: string;
  readonly calleeName: string | null;
  /** What the caller dialled, before forwarding and routing. */
  readonly dialledNumber: string;
  /** The local extensions on each side (null for external parties), for per-user call logs. */
  readonly callerExtension: string | null;
  readonly calleeExtension: string | null;
  readonly did: string | null;
  readonly trunk: string | null;
  readonly status: CallStatus;
  readonly startedAt: number;
  readonly ringingAt: number | null;
  readonly answeredAt: number | null;
  readonly endedAt: number;
  readonly hangupSide: HangupSide | null;
  /** SIP status that ended the call (or the final failure response), and the Reason / reason phrase. */
  readonly hangupSipStatus: number | null;
  readonly hangupReason: string | null;
  /** Call type by prefix (local, national, mobile, international...) and its cost in tariff currency units. */
  readonly callType: string | null;
  readonly cost: number | null;
  readonly recordingPath: string | null;
  readonly legs: readonly CallLeg[];
  readonly steps: readonly CallStep[];
}

/** Durations derived from a record's times, in milliseconds. */
export interface CallDurations {
  /** Start to end. */
  readonly totalMs: number;
  /** Start to answer, or to end when never answered: the wait the caller had. */
  readonly waitMs: number;
  /** Answer to end, 0 when not answered. */
  readonly talkMs: number;
}

export function callDurations(record: Pick<CallRecord, 'startedAt' | 'answeredAt' | 'endedAt'>): CallDurations {
  const answered = record.answeredAt;
  return {
    totalMs: record.endedAt - record.startedAt,
    waitMs: (answered ?? record.endedAt) - record.startedAt,
    talkMs: answered === null ? 0 : record.endedAt - answered,
  };
}

/** Which calls a query selects. Ranges are on the start time, `from` inclusive and `to` exclusive. */
export interface CallRecordFilter {
  readonly from?: number;
  readonly to?: number;
  /** Calls where this extension was the caller, the callee or the peer of any leg. */
  readonly extension?: string;
  /** Calls where this number was the caller, the callee or the dialled number. */
  readonly number?: string;
  readonly direction?: CallDirection;
  readonly statuses?: readonly CallStatus[];
  readonly trunk?: string;
  readonly did?: string;
}

export interface CallRecordQuery extends CallRecordFilter {
  /** Rows per page, 1..10000 (default 100). There is no cap on the total: page with `cursor`. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** By start time, then call id. Default `asc`. */
  readonly order?: 'asc' | 'desc';
}

export interface CallRecordPage {
  readonly records: readonly CallRecord[];
  /** Pass to the next query for the following page; null on the last page. */
  readonly nextCursor: string | null;
}

export const CDR_PAGE_DEFAULT = 100;
export const CDR_PAGE_MAX = 10_000;
