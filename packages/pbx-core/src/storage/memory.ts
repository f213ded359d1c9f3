// Storage in Maps, for unit tests of the PBX logic and for running without a disk. It enforces the same rules as
// the SQLite schema (keys, enumerations, time order) so that the shared contract tests hold for both.
import { StorageError } from './errors.js';
import {
  AGENT_EVENTS,
  AGENT_STATES,
  type AgentLogEntry,
  type AgentLogQuery,
  QUEUE_EVENTS,
  type QueueLogEntry,
  type QueueLogQuery,
} from './model.js';
import type {
  AgentLogRepository,
  CdrRepository,
  ExtensionRepository,
  QueueLogRepository,
  RegistrationRepository,
  Storage,
} from './repositories.js';
import {
  CALL_DIRECTIONS,
  CALL_STATUSES,
  CALL_STEP_KINDS,
  type CallLeg,
  type CallRecord,
  type CallRecordFilter,
  type CallRecordPage,
  type CallRecordQuery,
  CDR_PAGE_DEFAULT,
  CDR_PAGE_MAX,
  EXTENSION_ROLES,
  type Extension,
  type ExtensionPatch,
  HANGUP_SIDES,
  LEG_PEER_KINDS,
  LEG_STATUSES,
  type NewExtension,
  PRESENCE_STATUSES,
  type Registration,
  SIP_TRANSPORTS,
} from './types.js';

/** Source of "now" for created/updated times. */
export interface StorageClock {
  now(): number;
}

const wallClock: StorageClock = { now: () => Date.now() };

/** Shared by the repositories of one storage: once closed, every call fails as a real backend's would. */
export class StorageGate {
  closed = false;
  assertOpen(): void {
    if (this.closed) throw new StorageError('closed', 'storage is closed');
  }
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown, field: string): void {
  if (!allowed.includes(value as T)) throw new StorageError('invalid', `${field}: ${String(value)} is not allowed`);
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new StorageError('invalid', message);
}

/** Structured clone keeps stored rows independent of the caller's objects. */
function copy<T>(value: T): T {
  return structuredClone(value);
}

/** The fields of a patch that are set: `{ email: undefined }` means "leave email alone", as if absent. */
export function definedFields<T extends object>(patch: T): Partial<T> {
  const result: Partial<T> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) (result as Record<string, unknown>)[key] = value;
  }
  return result;
}

export function validateExtension(extension: Extension): void {
  check(extension.number.length >= 1 && extension.number.length <= 64, 'number: 1 to 64 characters');
  oneOf(EXTENSION_ROLES, extension.role, 'role');
  oneOf(PRESENCE_STATUSES, extension.presence, 'presence');
}

/** Epoch milliseconds and counters are integers; a NaN or fraction is a bug upstream, not data to keep. */
function integers(values: Readonly<Record<string, number | null>>): void {
  for (const [field, value] of Object.entries(values)) {
    if (value !== null) check(Number.isSafeInteger(value), `${field}: not an integer`);
  }
}

export function validateRegistration(registration: Registration): void {
  check(registration.contactUri.length > 0, 'contactUri: empty');
  integers({
    cseq: registration.cseq,
    regId: registration.regId,
    expiresAt: registration.expiresAt,
    registeredAt: registration.registeredAt,
    updatedAt: registration.updatedAt,
  });
  oneOf(SIP_TRANSPORTS, registration.transport, 'transport');
  check(registration.q >= 0 && registration.q <= 1, 'q: outside 0..1');
  check(registration.sourcePort >= 0 && registration.sourcePort <= 65535, 'sourcePort: outside 0..65535');
}

function validTimes(startedAt: number, ringingAt: number | null, answeredAt: number | null, endedAt: number) {
  integers({ startedAt, ringingAt, answeredAt, endedAt });
  return (
    endedAt >= startedAt &&
    (ringingAt === null || (ringingAt >= startedAt && ringingAt <= endedAt)) &&
    (answeredAt === null || (answeredAt >= startedAt && answeredAt <= endedAt))
  );
}

export function validateCallRecord(record: CallRecord): void {
  check(record.callId.length > 0, 'callId: empty');
  oneOf(CALL_DIRECTIONS, record.direction, 'direction');
  oneOf(CALL_STATUSES, record.status, 'status');
  if (record.hangupSide !== null) oneOf(HANGUP_SIDES, record.hangupSide, 'hangupSide');
  check(validTimes(record.startedAt, record.ringingAt, record.answeredAt, record.endedAt), 'times out of order');
  const legIds = new Set<string>();
  for (const leg of record.legs) {
    check(!legIds.has(leg.legId), `leg ${leg.legId}: duplicate`);
    legIds.add(leg.legId);
    oneOf(LEG_PEER_KINDS, leg.peerKind, 'leg peerKind');
    oneOf(LEG_STATUSES, leg.status, 'leg status');
    oneOf(['inbound', 'outbound'], leg.direction, 'leg direction');
    check(
      validTimes(leg.startedAt, leg.ringingAt, leg.answeredAt, leg.endedAt),
      `leg ${leg.legId}: times out of order`,
    );
  }
  if (record.hangupSipStatus !== null) integers({ hangupSipStatus: record.hangupSipStatus });
  for (const step of record.steps) {
    oneOf(CALL_STEP_KINDS, step.kind, 'step kind');
    integers({ at: step.at, endedAt: step.endedAt });
  }
}

/** The page cursor: start time and call id of the last row, opaque to callers. */
export function encodeCdrCursor(startedAt: number, callId: string): string {
  return Buffer.from(`${startedAt}\n${callId}`, 'utf8').toString('base64url');
}

export function decodeCdrCursor(cursor: string): { startedAt: number; callId: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const newline = text.indexOf('\n');
  const startedAt = newline > 0 ? Number(text.slice(0, newline)) : Number.NaN;
  if (!Number.isSafeInteger(startedAt)) throw new StorageError('invalid', 'cursor: malformed');
  return { startedAt, callId: text.slice(newline + 1) };
}

export function cdrPageLimit(limit: number | undefined): number {
  const value = limit ?? CDR_PAGE_DEFAULT;
  check(Number.isInteger(value) && value >= 1 && value <= CDR_PAGE_MAX, `limit: 1 to ${CDR_PAGE_MAX}`);
  return value;
}

export class InMemoryExtensionRepository implements ExtensionRepository {
  readonly #rows = new Map<string, Extension>();
  constructor(
    private readonly clock: StorageClock,
    private readonly onDelete: (number: string) => void,
    private readonly gate: StorageGate = new StorageGate(),
  ) {}

  async list(): Promise<Extension[]> {
    this.gate.assertOpen();
    return [...this.#rows.values()].sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0)).map(copy);
  }

  async get(number: string): Promise<Extension | undefined> {
    this.gate.assertOpen();
    const row = this.#rows.get(number);
    return row === undefined ? undefined : copy(row);
  }

  has(number: string): boolean {
    return this.#rows.has(number);
  }

  async create(input: NewExtension): Promise<Extension> {
    this.gate.assertOpen();
    const now = this.clock.now();
    const extension: Extension = {
      sipPassword: null,
      ha1Md5: null,
      ha1Sha256: null,
      ha1Sha512_256: null,
      email: null,
      mobile: null,
      role: 'user',
      presence: 'available',
      enabled: true,
      voicemailPin: null,
      forwarding: [],
      callRules: {},
      restrictionProfileId: null,
      ...copy(definedFields(input)),
      number: input.number,
      displayName: input.displayName,
      createdAt: now,
      updatedAt: now,
    };
    validateExtension(extension);
    if (this.#rows.has(extension.number)) throw new StorageError('conflict', `extension ${extension.number} exists`);
    this.#rows.set(extension.number, extension);
    return copy(extension);
  }

  async update(number: string, patch: ExtensionPatch): Promise<Extension> {
    this.gate.assertOpen();
    const current = this.#rows.get(number);
    if (current === undefined) throw new StorageError('not-found', `extension ${number} does not exist`);
    const next: Extension = { ...current, ...copy(definedFields(patch)), number, createdAt: current.createdAt };
    const updated: Extension = { ...next, updatedAt: this.clock.now() };
    validateExtension(updated);
    this.#rows.set(number, updated);
    return copy(updated);
  }

  async delete(number: string): Promise<boolean> {
    this.gate.assertOpen();
    const existed = this.#rows.delete(number);
    if (existed) this.onDelete(number);
    return existed;
  }
}

function byPreference(a: Registration, b: Registration): number {
  return b.q - a.q || b.updatedAt - a.updatedAt || (a.contactUri < b.contactUri ? -1 : 1);
}

export class InMemoryRegistrationRepository implements RegistrationRepository {
  /** extension -> contact URI -> binding */
  readonly #rows = new Map<string, Map<string, Registration>>();
  constructor(
    private readonly extensionExists: (number: string) => boolean,
    private readonly gate: StorageGate = new StorageGate(),
  ) {}

  async upsert(registration: Registration): Promise<Registration> {
    this.gate.assertOpen();
    validateRegistration(registration);
    if (!this.extensionExists(registration.extension)) {
      throw new StorageError('not-found', `extension ${registration.extension} does not exist`);
    }
    let bindings = this.#rows.get(registration.extension);
    if (bindings === undefined) {
      bindings = new Map();
      this.#rows.set(registration.extension, bindings);
    }
    const existing = bindings.get(registration.contactUri);
    const stored = copy({ ...registration, registeredAt: existing?.registeredAt ?? registration.registeredAt });
    bindings.set(registration.contactUri, stored);
    return copy(stored);
  }

  async remove(extension: string, contactUri: string): Promise<boolean> {
    this.gate.assertOpen();
    return this.#rows.get(extension)?.delete(contactUri) ?? false;
  }

  async removeAll(extension: string): Promise<number> {
    this.gate.assertOpen();
    const count = this.#rows.get(extension)?.size ?? 0;
    this.#rows.delete(extension);
    return count;
  }

  async list(extension: string, now?: number): Promise<Registration[]> {
    this.gate.assertOpen();
    const bindings = [...(this.#rows.get(extension)?.values() ?? [])];
    return bindings
      .filter((r) => now === undefined || r.expiresAt > now)
      .sort(byPreference)
      .map(copy);
  }

  async listAll(now?: number): Promise<Registration[]> {
    this.gate.assertOpen();
    const all: Registration[] = [];
    for (const bindings of this.#rows.values()) {
      for (const r of bindings.values()) if (now === undefined || r.expiresAt > now) all.push(copy(r));
    }
    return all.sort((a, b) =>
      a.extension !== b.extension ? (a.extension < b.extension ? -1 : 1) : a.contactUri < b.contactUri ? -1 : 1,
    );
  }

  async purgeExpired(now: number): Promise<Registration[]> {
    this.gate.assertOpen();
    const removed: Registration[] = [];
    for (const [extension, bindings] of this.#rows) {
      for (const [contact, r] of bindings) {
        if (r.expiresAt <= now) {
          bindings.delete(contact);
          removed.push(r);
        }
      }
      if (bindings.size === 0) this.#rows.delete(extension);
    }
    return removed;
  }

  /** Drops the bindings of a deleted extension (the SQLite schema cascades the same way). */
  dropExtension(extension: string): void {
    this.#rows.delete(extension);
  }
}

function matchesFilter(record: CallRecord, filter: CallRecordFilter): boolean {
  if (filter.from !== undefined && record.startedAt < filter.from) return false;
  if (filter.to !== undefined && record.startedAt >= filter.to) return false;
  if (filter.direction !== undefined && record.direction !== filter.direction) return false;
  if (filter.statuses !== undefined && !filter.statuses.includes(record.status)) return false;
  if (filter.trunk !== undefined && record.trunk !== filter.trunk) return false;
  if (filter.did !== undefined && record.did !== filter.did) return false;
  const number = filter.number;
  if (
    number !== undefined &&
    record.callerNumber !== number &&
    record.calleeNumber !== number &&
    record.dialledNumber !== number
  ) {
    return false;
  }
  const extension = filter.extension;
  if (
    extension !== undefined &&
    record.callerExtension !== extension &&
    record.calleeExtension !== extension &&
    !record.legs.some((leg: CallLeg) => leg.peerKind === 'extension' && leg.peer === extension)
  ) {
    return false;
  }
  return true;
}

function compareStart(a: CallRecord, b: CallRecord): number {
  return a.startedAt - b.startedAt || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0);
}

export class InMemoryCdrRepository implements CdrRepository {
  readonly #rows = new Map<string, CallRecord>();
  constructor(private readonly gate: StorageGate = new StorageGate()) {}

  async insert(record: CallRecord): Promise<void> {
    this.gate.assertOpen();
    validateCallRecord(record);
    if (this.#rows.has(record.callId)) throw new StorageError('conflict', `call ${record.callId} already stored`);
    this.#rows.set(record.callId, copy(record));
  }

  async get(callId: string): Promise<CallRecord | undefined> {
    this.gate.assertOpen();
    const row = this.#rows.get(callId);
    return row === undefined ? undefined : copy(row);
  }

  async query(query: CallRecordQuery): Promise<CallRecordPage> {
    this.gate.assertOpen();
    const limit = cdrPageLimit(query.limit);
    const descending = query.order === 'desc';
    const after = query.cursor === undefined ? undefined : decodeCdrCursor(query.cursor);
    const matching = [...this.#rows.values()].filter((r) => matchesFilter(r, query)).sort(compareStart);
    if (descending) matching.reverse();
    const beyondCursor =
      after === undefined
        ? matching
        : matching.filter((r) => {
            const order = compareStart(r, { startedAt: after.startedAt, callId: after.callId } as CallRecord);
            return descending ? order < 0 : order > 0;
          });
    const records = beyondCursor.slice(0, limit);
    const last = records[records.length - 1];
    const nextCursor =
      beyondCursor.length > limit && last !== undefined ? encodeCdrCursor(last.startedAt, last.callId) : null;
    return { records: records.map(copy), nextCursor };
  }

  async count(filter: CallRecordFilter): Promise<number> {
    this.gate.assertOpen();
    let n = 0;
    for (const r of this.#rows.values()) if (matchesFilter(r, filter)) n++;
    return n;
  }
}

export const EVENT_LOG_PAGE_DEFAULT = 1000;
export const EVENT_LOG_PAGE_MAX = 10_000;

export function eventLogLimit(limit: number | undefined): number {
  const value = limit ?? EVENT_LOG_PAGE_DEFAULT;
  check(Number.isInteger(value) && value >= 1 && value <= EVENT_LOG_PAGE_MAX, `limit: 1 to ${EVENT_LOG_PAGE_MAX}`);
  return value;
}

export function validateQueueLogEntry(entry: Omit<QueueLogEntry, 'id'>): void {
  integers({ at: entry.at, position: entry.position, waitMs: entry.waitMs, talkMs: entry.talkMs });
  check(entry.queueId.length > 0 && entry.callId.length > 0, 'queueId and callId: required');
  oneOf(QUEUE_EVENTS, entry.event, 'event');
  if (entry.handling !== null) oneOf(['handled', 'being-handled', 'not-handled'], entry.handling, 'handling');
}

export function validateAgentLogEntry(entry: Omit<AgentLogEntry, 'id'>): void {
  integers({ at: entry.at });
  check(entry.extension.length > 0, 'extension: required');
  oneOf(AGENT_EVENTS, entry.event, 'event');
  if (entry.state !== null) oneOf(AGENT_STATES, entry.state, 'state');
}

function inRange(at: number, query: { readonly from?: number; readonly to?: number }) {
  return (query.from === undefined || at >= query.from) && (query.to === undefined || at < query.to);
}

/** An append-only event log in memory, queried by id cursor, time range and the log's own filter. */
class InMemoryEventLog<E extends { readonly id: number; readonly at: number }, Q extends EventLogQueryBase> {
  readonly #entries: E[] = [];
  constructor(
    private readonly gate: StorageGate,
    private readonly validate: (entry: Omit<E, 'id'>) => void,
    private readonly matches: (entry: E, query: Q) => boolean,
  ) {}

  async append(entry: Omit<E, 'id'>): Promise<E> {
    this.gate.assertOpen();
    this.validate(entry);
    const stored = { ...copy(entry), id: this.#entries.length + 1 } as E;
    this.#entries.push(stored);
    return copy(stored);
  }

  async query(query: Q): Promise<E[]> {
    this.gate.assertOpen();
    const limit = eventLogLimit(query.limit);
    const afterId = query.afterId ?? 0;
    return this.#entries
      .filter((e) => e.id > afterId && inRange(e.at, query) && this.matches(e, query))
      .slice(0, limit)
      .map(copy);
  }
}

interface EventLogQueryBase {
  readonly afterId?: number;
  readonly limit?: number;
  readonly from?: number;
  readonly to?: number;
}

export class InMemoryQueueLogRepository
  extends InMemoryEventLog<QueueLogEntry, QueueLogQuery>
  implements QueueLogRepository
{
  constructor(gate: StorageGate = new StorageGate()) {
    super(
      gate,
      validateQueueLogEntry,
      (e, q) =>
        (q.queueId === undefined || e.queueId === q.queueId) &&
        (q.callId === undefined || e.callId === q.callId) &&
        (q.agent === undefined || e.agent === q.agent),
    );
  }
}

export class InMemoryAgentLogRepository
  extends InMemoryEventLog<AgentLogEntry, AgentLogQuery>
  implements AgentLogRepository
{
  constructor(gate: StorageGate = new StorageGate()) {
    super(
      gate,
      validateAgentLogEntry,
      (e, q) =>
        (q.extension === undefined || e.extension === q.extension) &&
        (q.queueId === undefined || e.queueId === q.queueId),
    );
  }
}

export interface InMemoryStorageOptions {
  readonly clock?: StorageClock;
}

/** Storage held in memory: for unit tests, gone when the process ends. */
export class InMemoryStorage implements Storage {
  readonly #gate = new StorageGate();
  readonly extensions: InMemoryExtensionRepository;
  readonly registrations: InMemoryRegistrationRepository;
  readonly cdrs: InMemoryCdrRepository;
  readonly queueLog: InMemoryQueueLogRepository;
  readonly agentLog: InMemoryAgentLogRepository;

  constructor(options: InMemoryStorageOptions = {}) {
    const clock = options.clock ?? wallClock;
    this.extensions = new InMemoryExtensionRepository(
      clock,
      (number) => this.registrations.dropExtension(number),
      this.#gate,
    );
    this.registrations = new InMemoryRegistrationRepository((number) => this.extensions.has(number), this.#gate);
    this.cdrs = new InMemoryCdrRepository(this.#gate);
    this.queueLog = new InMemoryQueueLogRepository(this.#gate);
    this.agentLog = new InMemoryAgentLogRepository(this.#gate);
  }

  async close(): Promise<void> {
    this.#gate.closed = true;
  }
}
