// Records of the features after issue 5 (FEATURES 3-12): groups, queues, agents, IVR, time conditions, trunks,
// routes, park, voicemail, contacts, tariffs. Their tables exist in the schema from the start so that later
// issues add columns rather than restructure. Times are epoch milliseconds.
import type { JsonObject } from './types.js';

/** Where a call goes next: an extension, group, queue, IVR, voicemail box, external number, or hang up. */
export interface Destination {
  readonly kind:
    | 'extension'
    | 'ring-group'
    | 'queue'
    | 'ivr'
    | 'voicemail'
    | 'external'
    | 'time-condition'
    | 'message'
    | 'hangup';
  /** Number or id of the target; for `message`, the prompt file. Empty for `hangup`. */
  readonly target: string;
}

// Time conditions (FEATURES 3) --------------------------------------------------------------------------------

/** A weekly open interval: day 0 = Sunday, minutes since local midnight, end exclusive. */
export interface WeeklyInterval {
  readonly day: 0 | 1 | 2 | 3 | 4 | 5 | 6;
  readonly startMinute: number;
  readonly endMinute: number;
}

export interface Holiday {
  /** Calendar dates YYYY-MM-DD, inclusive. */
  readonly from: string;
  readonly to: string;
  readonly name: string;
}

export interface TimeCondition {
  readonly id: string;
  readonly name: string;
  /** open permanently, by schedule, or closed permanently. */
  readonly mode: 'open' | 'schedule' | 'closed';
  /** IANA time zone the schedule is read in. */
  readonly timeZone: string;
  readonly openIntervals: readonly WeeklyInterval[];
  readonly holidays: readonly Holiday[];
  readonly closedDestination: Destination | null;
}

// Ring groups (FEATURES 4) ------------------------------------------------------------------------------------

export interface RingGroup {
  readonly id: string;
  readonly number: string;
  readonly name: string;
  readonly strategy: 'simultaneous' | 'sequential';
  /** Members in hunt order. */
  readonly members: readonly string[];
  readonly ringSeconds: number;
  readonly loops: number;
  readonly waitingList: boolean;
  readonly ringtone: string | null;
  readonly timeConditionId: string | null;
  readonly closedDestination: Destination | null;
  readonly noAnswerDestination: Destination | null;
}

// Queues and agents (FEATURES 5) ------------------------------------------------------------------------------

export const QUEUE_STRATEGIES = ['ring-all', 'longest-idle', 'round-robin', 'fewest-calls', 'random'] as const;
export type QueueStrategy = (typeof QUEUE_STRATEGIES)[number];

export interface QueueMember {
  readonly extension: string;
  readonly penalty: number;
}

export interface QueueDefinition {
  readonly id: string;
  readonly number: string;
  readonly name: string;
  readonly strategy: QueueStrategy;
  readonly members: readonly QueueMember[];
  readonly maxWaitSeconds: number | null;
  /** Acceptable wait for the SLA percentage. */
  readonly slaSeconds: number;
  readonly ringSeconds: number;
  readonly wrapUpSeconds: number;
  readonly musicOnHold: string | null;
  readonly periodicMessage: string | null;
  readonly periodicMessageSeconds: number | null;
  readonly announcePosition: boolean;
  readonly callbackKey: string | null;
  readonly voicemailKey: string | null;
  readonly exitWhenNoAgents: boolean;
  readonly exitMessage: string | null;
  readonly overflowDestination: Destination | null;
  readonly dispositionRequired: boolean;
  readonly timeConditionId: string | null;
}

export const AGENT_STATES = ['available', 'busy', 'wrap-up', 'offline', 'paused', 'logged-out'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** Admin-defined codes: pause/offline reasons, and dispositions picked after an interaction. */
export interface ReasonCode {
  readonly id: string;
  readonly kind: 'pause' | 'offline' | 'disposition';
  readonly label: string;
  /** A disposition limited to one queue; null for all. */
  readonly queueId: string | null;
}

export interface AgentStateRecord {
  readonly extension: string;
  readonly state: AgentState;
  readonly reasonCode: string | null;
  readonly since: number;
  /** Queues the agent is logged in to. */
  readonly queues: readonly string[];
}

export const QUEUE_EVENTS = [
  'enter',
  'ring',
  'ring-no-answer',
  'answer',
  'complete',
  'abandon',
  'timeout',
  'exit-empty',
  'exit-key',
  'overflow',
  'transfer',
  'callback-request',
  'callback-attempt',
  'callback-answer',
  'callback-failed',
  'handled-mark',
] as const;
export type QueueEvent = (typeof QUEUE_EVENTS)[number];

export interface QueueLogEntry {
  readonly id: number;
  readonly at: number;
  readonly queueId: string;
  readonly callId: string;
  readonly event: QueueEvent;
  readonly agent: string | null;
  readonly callerNumber: string | null;
  readonly position: number | null;
  readonly waitMs: number | null;
  readonly talkMs: number | null;
  /** For missed/abandoned calls: handled, being-handled, not-handled (FEATURES 5). */
  readonly handling: 'handled' | 'being-handled' | 'not-handled' | null;
  readonly detail: JsonObject | null;
}

export interface QueueLogQuery {
  readonly from?: number;
  readonly to?: number;
  readonly queueId?: string;
  readonly callId?: string;
  readonly agent?: string;
  readonly limit?: number;
  readonly afterId?: number;
}

export const AGENT_EVENTS = ['login', 'logout', 'state', 'disposition'] as const;
export type AgentEvent = (typeof AGENT_EVENTS)[number];

export interface AgentLogEntry {
  readonly id: number;
  readonly at: number;
  readonly extension: string;
  readonly event: AgentEvent;
  readonly queueId: string | null;
  readonly state: AgentState | null;
  readonly reasonCode: string | null;
  readonly dispositionCode: string | null;
  readonly callId: string | null;
  readonly detail: JsonObject | null;
}

export interface AgentLogQuery {
  readonly from?: number;
  readonly to?: number;
  readonly extension?: string;
  readonly queueId?: string;
  readonly limit?: number;
  readonly afterId?: number;
}

// IVR (FEATURES 6) ----------------------------------------------------------------------------------------------

export interface IvrMenu {
  readonly id: string;
  readonly name: string;
  /** Short internal number that reaches the menu; DIDs reach it through inbound routes. */
  readonly number: string | null;
  readonly welcomePrompt: string | null;
  readonly invalidPrompt: string | null;
  readonly timeoutPrompt: string | null;
  readonly timeoutSeconds: number;
  readonly maxLoops: number;
  /** Digits 0-9, * and #. */
  readonly options: Readonly<Record<string, Destination>>;
  readonly directDial: boolean;
  readonly loopsExceededDestination: Destination | null;
  readonly timeConditionId: string | null;
  readonly unconditionalDestination: Destination | null;
}

// Trunks, routes, restrictions (FEATURES 3) -------------------------------------------------------------------

export interface Trunk {
  readonly id: string;
  readonly name: string;
  readonly host: string;
  readonly port: number | null;
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly username: string | null;
  readonly authUsername: string | null;
  readonly password: string | null;
  /** Register to the provider (RFC 3261 10). */
  readonly register: boolean;
  readonly fromDomain: string | null;
  readonly callerId: string | null;
  readonly maxChannels: number | null;
  readonly enabled: boolean;
}

export interface InboundRoute {
  readonly did: string;
  readonly trunkId: string | null;
  readonly destination: Destination;
  readonly timeConditionId: string | null;
}

export interface OutboundRoute {
  readonly id: string;
  readonly name: string;
  /** Lower first. */
  readonly priority: number;
  /** Dialled-number prefix; the longest matching prefix wins, then priority. */
  readonly prefix: string;
  readonly stripDigits: number;
  readonly prepend: string;
  /** Trunks in failover order. */
  readonly trunkIds: readonly string[];
  readonly enabled: boolean;
}

export interface RestrictionProfile {
  readonly id: string;
  readonly name: string;
  readonly blockedPrefixes: readonly string[];
  /** Exceptions to the blocked prefixes (longest prefix wins). */
  readonly allowedPrefixes: readonly string[];
}

// Park (FEATURES 2) ---------------------------------------------------------------------------------------------

export interface ParkSlot {
  readonly slot: number;
  readonly callId: string;
  readonly parkedBy: string | null;
  readonly parkedAt: number;
  readonly timeoutAt: number | null;
}

// Voicemail (FEATURES 7) ----------------------------------------------------------------------------------------

export const VOICEMAIL_FOLDERS = ['inbox', 'old', 'saved', 'trash'] as const;
export type VoicemailFolder = (typeof VOICEMAIL_FOLDERS)[number];

export interface VoicemailMessage {
  readonly id: string;
  readonly mailbox: string;
  readonly folder: VoicemailFolder;
  readonly callId: string | null;
  readonly callerNumber: string | null;
  readonly callerName: string | null;
  readonly receivedAt: number;
  readonly durationMs: number;
  /** The audio file, relative to the data directory. */
  readonly filePath: string;
  readonly heard: boolean;
}

export interface VoicemailMessageQuery {
  readonly mailbox: string;
  readonly folder?: VoicemailFolder;
  readonly limit?: number;
}

// Contacts (FEATURES 9) -----------------------------------------------------------------------------------------

export interface ContactNumber {
  readonly number: string;
  readonly label: 'work' | 'mobile' | 'home' | 'fax' | 'other';
}

export interface Contact {
  readonly id: string;
  /** null for a company contact shared by everyone, else the extension owning a personal contact. */
  readonly owner: string | null;
  readonly name: string;
  readonly company: string | null;
  readonly email: string | null;
  readonly numbers: readonly ContactNumber[];
  readonly notes: string | null;
}

export interface ContactQuery {
  /** Company contacts plus this extension's personal ones; company contacts only when absent. */
  readonly owner?: string;
  /** Substring of the name, company or a number. */
  readonly search?: string;
  readonly limit?: number;
}

// Tariffs and call types (FEATURES 12) ------------------------------------------------------------------------

export interface Tariff {
  readonly id: string;
  /** Dialled-number prefix; longest match wins. */
  readonly prefix: string;
  readonly callType: 'internal' | 'local' | 'national' | 'mobile' | 'international' | 'premium' | 'emergency';
  readonly description: string;
  /** Number length bounds used with the prefix to classify a call; null for any. */
  readonly minLength: number | null;
  readonly maxLength: number | null;
  /** Price per minute and per call set-up, in the currency's units. */
  readonly ratePerMinute: number;
  readonly connectionFee: number;
  /** Billing increment in seconds (60 = per started minute). */
  readonly incrementSeconds: number;
  readonly currency: string;
}
