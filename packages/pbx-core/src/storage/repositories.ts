// Repository interfaces: what the PBX asks of storage. Every method returns a promise so that a server database
// (PostgreSQL) can implement the same interfaces as the embedded SQLite and the in-memory maps.
// Implementations throw errors whose `code` is a StorageErrorCode (see errors.ts).
import type {
  AgentLogEntry,
  AgentLogQuery,
  AgentStateRecord,
  Contact,
  ContactQuery,
  InboundRoute,
  IvrMenu,
  OutboundRoute,
  ParkSlot,
  QueueDefinition,
  QueueLogEntry,
  QueueLogQuery,
  ReasonCode,
  RestrictionProfile,
  RingGroup,
  Tariff,
  TimeCondition,
  Trunk,
  VoicemailMessage,
  VoicemailMessageQuery,
} from './model.js';
import type {
  CallRecord,
  CallRecordFilter,
  CallRecordPage,
  CallRecordQuery,
  Extension,
  ExtensionPatch,
  NewExtension,
  Registration,
} from './types.js';

export interface ExtensionRepository {
  /** Every extension, ordered by number. */
  list(): Promise<Extension[]>;
  get(number: string): Promise<Extension | undefined>;
  /** Throws `conflict` if the number exists, `invalid` for a bad role, presence or empty number. */
  create(extension: NewExtension): Promise<Extension>;
  /** Throws `not-found` for an unknown number. */
  update(number: string, patch: ExtensionPatch): Promise<Extension>;
  /** Removes the extension and its registrations; false if there was none. Call records are kept. */
  delete(number: string): Promise<boolean>;
}

export interface RegistrationRepository {
  /**
   * Adds or refreshes the binding (extension, contactUri). Keeps the first `registeredAt` of an existing binding.
   * Throws `not-found` if the extension does not exist.
   */
  upsert(registration: Registration): Promise<Registration>;
  remove(extension: string, contactUri: string): Promise<boolean>;
  /** Removes every binding of the extension (REGISTER with `Contact: *`, RFC 3261 10.2.2); returns how many. */
  removeAll(extension: string): Promise<number>;
  /** The extension's bindings, highest q first then most recently refreshed; with `now`, only unexpired ones. */
  list(extension: string, now?: number): Promise<Registration[]>;
  /** Every binding, ordered by extension then contact. */
  listAll(now?: number): Promise<Registration[]>;
  /** Removes bindings with expiresAt <= now and returns them (so the registrar can publish the change). */
  purgeExpired(now: number): Promise<Registration[]>;
}

export interface CdrRepository {
  /**
   * Stores a finished call with its legs and steps atomically and durably: once the promise resolves the record
   * survives a crash. Throws `conflict` for a call id already stored and `invalid` for an inconsistent record.
   */
  insert(record: CallRecord): Promise<void>;
  get(callId: string): Promise<CallRecord | undefined>;
  /** One page of records ordered by start time (then call id). */
  query(query: CallRecordQuery): Promise<CallRecordPage>;
  count(filter: CallRecordFilter): Promise<number>;
}

// ---------------------------------------------------------------------------------------------------------------
// Declared for the features that follow (FEATURES 3-12). The SQLite schema already holds their tables.

/** CRUD over configuration objects keyed by a string id. */
export interface ConfigRepository<T extends { readonly id: string }> {
  list(): Promise<T[]>;
  get(id: string): Promise<T | undefined>;
  /** Creates or replaces. */
  put(item: T): Promise<T>;
  delete(id: string): Promise<boolean>;
}

export type RingGroupRepository = ConfigRepository<RingGroup>;
export type QueueRepository = ConfigRepository<QueueDefinition>;
export type IvrMenuRepository = ConfigRepository<IvrMenu>;
export type TimeConditionRepository = ConfigRepository<TimeCondition>;
export type TrunkRepository = ConfigRepository<Trunk>;
export type OutboundRouteRepository = ConfigRepository<OutboundRoute>;
export type RestrictionProfileRepository = ConfigRepository<RestrictionProfile>;
export type TariffRepository = ConfigRepository<Tariff>;
export type ReasonCodeRepository = ConfigRepository<ReasonCode>;

export interface InboundRouteRepository {
  list(): Promise<InboundRoute[]>;
  getByDid(did: string): Promise<InboundRoute | undefined>;
  put(route: InboundRoute): Promise<InboundRoute>;
  delete(did: string): Promise<boolean>;
}

/**
 * Queue events, appended as they happen and durable once `append` resolves (ARCHITECTURE "Storage"). Ids grow
 * with every append; `query` returns entries in id order, `afterId` pages (limit 1..10000, default 1000).
 */
export interface QueueLogRepository {
  append(entry: Omit<QueueLogEntry, 'id'>): Promise<QueueLogEntry>;
  query(query: QueueLogQuery): Promise<QueueLogEntry[]>;
}

/** Agent logins, logouts, state changes and dispositions; same rules as the queue log. */
export interface AgentLogRepository {
  append(entry: Omit<AgentLogEntry, 'id'>): Promise<AgentLogEntry>;
  query(query: AgentLogQuery): Promise<AgentLogEntry[]>;
}

/** The current state of each agent, so a restart does not log everyone out silently. */
export interface AgentStateRepository {
  list(): Promise<AgentStateRecord[]>;
  get(extension: string): Promise<AgentStateRecord | undefined>;
  put(state: AgentStateRecord): Promise<void>;
}

export interface ParkSlotRepository {
  list(): Promise<ParkSlot[]>;
  put(slot: ParkSlot): Promise<void>;
  clear(slot: number): Promise<boolean>;
}

export interface VoicemailRepository {
  add(message: VoicemailMessage): Promise<void>;
  get(id: string): Promise<VoicemailMessage | undefined>;
  list(query: VoicemailMessageQuery): Promise<VoicemailMessage[]>;
  /** Counts for MWI (RFC 3842): new = unheard messages in the inbox. */
  counts(mailbox: string): Promise<{ newMessages: number; oldMessages: number }>;
  update(id: string, patch: Partial<Pick<VoicemailMessage, 'folder' | 'heard'>>): Promise<VoicemailMessage>;
  delete(id: string): Promise<boolean>;
}

export interface ContactRepository {
  list(query: ContactQuery): Promise<Contact[]>;
  get(id: string): Promise<Contact | undefined>;
  put(contact: Contact): Promise<Contact>;
  delete(id: string): Promise<boolean>;
  /** The caller-name lookup on incoming calls (FEATURES 9): a personal contact of `extension` wins. */
  findByNumber(number: string, extension?: string): Promise<Contact | undefined>;
}

/** What every backend implements today; FullStorage lists the repositories added as features arrive. */
export interface Storage {
  readonly extensions: ExtensionRepository;
  readonly registrations: RegistrationRepository;
  readonly cdrs: CdrRepository;
  readonly queueLog: QueueLogRepository;
  readonly agentLog: AgentLogRepository;
  /** Flushes and releases the backend; later calls throw `closed`, a second close does nothing. */
  close(): Promise<void>;
}

/** The complete set, for backends that implement every feature's repository. */
export interface FullStorage extends Storage {
  readonly ringGroups: RingGroupRepository;
  readonly queues: QueueRepository;
  readonly agentStates: AgentStateRepository;
  readonly reasonCodes: ReasonCodeRepository;
  readonly ivrMenus: IvrMenuRepository;
  readonly timeConditions: TimeConditionRepository;
  readonly trunks: TrunkRepository;
  readonly inboundRoutes: InboundRouteRepository;
  readonly outboundRoutes: OutboundRouteRepository;
  readonly restrictionProfiles: RestrictionProfileRepository;
  readonly parkSlots: ParkSlotRepository;
  readonly voicemail: VoicemailRepository;
  readonly contacts: ContactRepository;
  readonly tariffs: TariffRepository;
}
