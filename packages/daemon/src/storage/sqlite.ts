// pbx-core's repositories on SQLite (better-sqlite3): one file under the data directory, WAL with
// synchronous=FULL so a committed call record survives a crash or power loss, statements prepared once.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AgentLogEntry,
  type AgentLogQuery,
  type AgentLogRepository,
  type CallLeg,
  type CallRecord,
  type CallRecordFilter,
  type CallRecordPage,
  type CallRecordQuery,
  type CallStep,
  type CdrRepository,
  cdrPageLimit,
  decodeCdrCursor,
  definedFields,
  type Extension,
  type ExtensionPatch,
  type ExtensionRepository,
  encodeCdrCursor,
  eventLogLimit,
  type JsonObject,
  type NewExtension,
  type QueueLogEntry,
  type QueueLogQuery,
  type QueueLogRepository,
  type Registration,
  type RegistrationRepository,
  type Storage,
  type StorageClock,
  validateAgentLogEntry,
  validateCallRecord,
  validateExtension,
  validateQueueLogEntry,
  validateRegistration,
} from '@switchyard/pbx-core';
import Database from 'better-sqlite3';
import { fromSqliteError, SqliteStorageError } from './errors.js';
import { type FlushScheduler, GroupCommit, nextTurn } from './group-commit.js';
import { type MigrationResult, migrate } from './migrate.js';
import { MIGRATIONS, type Migration } from './schema.js';

export const DEFAULT_DATABASE_FILE = 'switchyard.db';

export interface SqliteStorageOptions {
  readonly clock?: StorageClock;
  /** File name inside the data directory. */
  readonly fileName?: string;
  /** How long a write waits for another connection's lock (ms). */
  readonly busyTimeoutMs?: number;
  /** For tests of the migration machinery; defaults to the real schema. */
  readonly migrations?: readonly Migration[];
  /**
   * When grouped record writes (call records, queue and agent log entries) are committed: by default once per
   * event-loop turn, all in one transaction; 'immediate' commits each write on its own.
   */
  readonly groupCommit?: FlushScheduler | 'immediate';
}

type Row = Record<string, unknown>;

interface ExtensionRow {
  number: string;
  display_name: string;
  sip_password: string | null;
  ha1_md5: string | null;
  ha1_sha256: string | null;
  ha1_sha512_256: string | null;
  email: string | null;
  mobile: string | null;
  role: Extension['role'];
  presence: Extension['presence'];
  enabled: number;
  voicemail_pin: string | null;
  forwarding_json: string;
  call_rules_json: string;
  restriction_profile_id: string | null;
  created_at: number;
  updated_at: number;
}

function extensionFromRow(row: ExtensionRow): Extension {
  return {
    number: row.number,
    displayName: row.display_name,
    sipPassword: row.sip_password,
    ha1Md5: row.ha1_md5,
    ha1Sha256: row.ha1_sha256,
    ha1Sha512_256: row.ha1_sha512_256,
    email: row.email,
    mobile: row.mobile,
    role: row.role,
    presence: row.presence,
    enabled: row.enabled === 1,
    voicemailPin: row.voicemail_pin,
    forwarding: JSON.parse(row.forwarding_json),
    callRules: JSON.parse(row.call_rules_json),
    restrictionProfileId: row.restriction_profile_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function extensionParams(e: Extension): Row {
  return {
    number: e.number,
    display_name: e.displayName,
    sip_password: e.sipPassword,
    ha1_md5: e.ha1Md5,
    ha1_sha256: e.ha1Sha256,
    ha1_sha512_256: e.ha1Sha512_256,
    email: e.email,
    mobile: e.mobile,
    role: e.role,
    presence: e.presence,
    enabled: e.enabled ? 1 : 0,
    voicemail_pin: e.voicemailPin,
    forwarding_json: JSON.stringify(e.forwarding),
    call_rules_json: JSON.stringify(e.callRules),
    restriction_profile_id: e.restrictionProfileId,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

const EXTENSION_COLUMNS = [
  'number',
  'display_name',
  'sip_password',
  'ha1_md5',
  'ha1_sha256',
  'ha1_sha512_256',
  'email',
  'mobile',
  'role',
  'presence',
  'enabled',
  'voicemail_pin',
  'forwarding_json',
  'call_rules_json',
  'restriction_profile_id',
  'created_at',
  'updated_at',
];

function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

/** Runs a synchronous driver call and converts what it throws. */
function guarded<T>(storage: { assertOpen(): void }, work: () => T, constraint?: 'invalid'): T {
  storage.assertOpen();
  try {
    return work();
  } catch (error) {
    throw fromSqliteError(error, constraint);
  }
}

/** Freezes a value read from storage and everything in it, so one cached copy can be handed to every reader. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

class SqliteExtensionRepository implements ExtensionRepository {
  readonly #list;
  readonly #get;
  readonly #insert;
  readonly #update;
  readonly #delete;
  readonly #dataVersion;
  /**
   * Extensions read so far, frozen: every call looks its caller and callee up several times (digest, dial plan,
   * names), and a row read costs tens of microseconds (two JSON columns). Writes through this repository drop
   * their entry; a commit by another connection (PRAGMA data_version changes) drops them all.
   */
  readonly #cache = new Map<string, Extension>();
  #seenVersion: unknown;

  constructor(
    db: Database.Database,
    private readonly owner: SqliteStorage,
    private readonly clock: StorageClock,
  ) {
    this.#list = db.prepare<[], ExtensionRow>('SELECT * FROM extensions ORDER BY number');
    this.#get = db.prepare<[string], ExtensionRow>('SELECT * FROM extensions WHERE number = ?');
    this.#insert = db.prepare<[Row]>(insertSql('extensions', EXTENSION_COLUMNS));
    this.#update = db.prepare<[Row]>(
      `UPDATE extensions SET ${EXTENSION_COLUMNS.filter((c) => c !== 'number' && c !== 'created_at')
        .map((c) => `${c} = @${c}`)
        .join(', ')} WHERE number = @number`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM extensions WHERE number = ?');
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  async list(): Promise<Extension[]> {
    return guarded(this.owner, () => this.#list.all().map(extensionFromRow));
  }

  async get(number: string): Promise<Extension | undefined> {
    return guarded(this.owner, () => {
      const version = this.#dataVersion.get();
      if (version !== this.#seenVersion) {
        this.#cache.clear();
        this.#seenVersion = version;
      }
      const cached = this.#cache.get(number);
      if (cached !== undefined) return cached;
      const row = this.#get.get(number);
      if (row === undefined) return undefined; // unknown numbers are not kept: anyone can dial any number
      const extension = deepFreeze(extensionFromRow(row));
      this.#cache.set(number, extension);
      return extension;
    });
  }

  async create(input: NewExtension): Promise<Extension> {
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
      ...definedFields(input),
      number: input.number,
      displayName: input.displayName,
      createdAt: now,
      updatedAt: now,
    };
    return guarded(this.owner, () => {
      validateExtension(extension);
      this.#cache.delete(extension.number);
      this.#insert.run(extensionParams(extension));
      // Read back: the caller gets exactly what is stored, sharing no objects with its input.
      return extensionFromRow(this.#get.get(extension.number)!);
    });
  }

  async update(number: string, patch: ExtensionPatch): Promise<Extension> {
    this.#cache.delete(number);
    return guarded(this.owner, () =>
      this.owner.db.transaction(() => {
        const row = this.#get.get(number);
        if (row === undefined) throw new SqliteStorageError('not-found', `extension ${number} does not exist`);
        const current = extensionFromRow(row);
        const updated: Extension = {
          ...current,
          ...definedFields(patch),
          number,
          createdAt: current.createdAt,
          updatedAt: this.clock.now(),
        };
        validateExtension(updated);
        this.#update.run(extensionParams(updated));
        return extensionFromRow(this.#get.get(number)!);
      })(),
    );
  }

  async delete(number: string): Promise<boolean> {
    this.#cache.delete(number);
    return guarded(this.owner, () => this.#delete.run(number).changes > 0);
  }
}

interface RegistrationRow {
  extension: string;
  contact_uri: string;
  instance_id: string | null;
  reg_id: number | null;
  call_id: string;
  cseq: number;
  path_json: string;
  transport: Registration['transport'];
  source_address: string;
  source_port: number;
  flow_id: string | null;
  user_agent: string | null;
  q: number;
  expires_at: number;
  registered_at: number;
  updated_at: number;
}

function registrationFromRow(row: RegistrationRow): Registration {
  return {
    extension: row.extension,
    contactUri: row.contact_uri,
    instanceId: row.instance_id,
    regId: row.reg_id,
    callId: row.call_id,
    cseq: row.cseq,
    path: JSON.parse(row.path_json),
    transport: row.transport,
    sourceAddress: row.source_address,
    sourcePort: row.source_port,
    flowId: row.flow_id,
    userAgent: row.user_agent,
    q: row.q,
    expiresAt: row.expires_at,
    registeredAt: row.registered_at,
    updatedAt: row.updated_at,
  };
}

const REGISTRATION_ORDER = 'ORDER BY q DESC, updated_at DESC, contact_uri';

class SqliteRegistrationRepository implements RegistrationRepository {
  readonly #upsert;
  readonly #get;
  readonly #remove;
  readonly #removeAll;
  readonly #list;
  readonly #listLive;
  readonly #listAll;
  readonly #listAllLive;
  readonly #expired;
  readonly #purge;

  constructor(
    db: Database.Database,
    private readonly owner: SqliteStorage,
  ) {
    // RFC 3261 10.3: a refresh replaces the binding's parameters; the first registration time is kept.
    this.#upsert = db.prepare<[Row]>(
      `INSERT INTO registrations (extension, contact_uri, instance_id, reg_id, call_id, cseq, path_json, transport,
         source_address, source_port, flow_id, user_agent, q, expires_at, registered_at, updated_at)
       VALUES (@extension, @contact_uri, @instance_id, @reg_id, @call_id, @cseq, @path_json, @transport,
         @source_address, @source_port, @flow_id, @user_agent, @q, @expires_at, @registered_at, @updated_at)
       ON CONFLICT (extension, contact_uri) DO UPDATE SET instance_id = excluded.instance_id,
         reg_id = excluded.reg_id, call_id = excluded.call_id, cseq = excluded.cseq, path_json = excluded.path_json,
         transport = excluded.transport, source_address = excluded.source_address,
         source_port = excluded.source_port, flow_id = excluded.flow_id, user_agent = excluded.user_agent,
         q = excluded.q, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    );
    this.#get = db.prepare<[string, string], RegistrationRow>(
      'SELECT * FROM registrations WHERE extension = ? AND contact_uri = ?',
    );
    this.#remove = db.prepare<[string, string]>('DELETE FROM registrations WHERE extension = ? AND contact_uri = ?');
    this.#removeAll = db.prepare<[string]>('DELETE FROM registrations WHERE extension = ?');
    this.#list = db.prepare<[string], RegistrationRow>(
      `SELECT * FROM registrations WHERE extension = ? ${REGISTRATION_ORDER}`,
    );
    this.#listLive = db.prepare<[string, number], RegistrationRow>(
      `SELECT * FROM registrations WHERE extension = ? AND expires_at > ? ${REGISTRATION_ORDER}`,
    );
    this.#listAll = db.prepare<[], RegistrationRow>('SELECT * FROM registrations ORDER BY extension, contact_uri');
    this.#listAllLive = db.prepare<[number], RegistrationRow>(
      'SELECT * FROM registrations WHERE expires_at > ? ORDER BY extension, contact_uri',
    );
    this.#expired = db.prepare<[number], RegistrationRow>('SELECT * FROM registrations WHERE expires_at <= ?');
    this.#purge = db.prepare<[number]>('DELETE FROM registrations WHERE expires_at <= ?');
  }

  /** Registration writes queued for the group commit, by extension ('' for purges that touch them all). */
  readonly #queued = new Map<string, number>();

  /**
   * A registration write goes into the group commit like a call record: a registration storm shares one WAL
   * fsync per event-loop turn instead of one per REGISTER, and the promise (so the registrar's 200) still settles
   * only after the commit.
   */
  #write<T>(extension: string, work: () => T): Promise<T> {
    const promise = this.owner.groupWrite(work);
    this.#queued.set(extension, (this.#queued.get(extension) ?? 0) + 1);
    const done = () => {
      const left = (this.#queued.get(extension) ?? 1) - 1;
      if (left <= 0) this.#queued.delete(extension);
      else this.#queued.set(extension, left);
    };
    promise.then(done, done);
    return promise;
  }

  /** Read-your-writes: a read of an extension commits the writes queued for it (and purges) first. */
  #flushFor(extension: string | undefined): void {
    if (this.#queued.size === 0) return;
    if (extension === undefined || this.#queued.has(extension) || this.#queued.has('')) this.owner.flushWrites();
  }

  async upsert(r: Registration): Promise<Registration> {
    guarded(this.owner, () => validateRegistration(r));
    return this.#write(r.extension, () => {
      this.#upsert.run({
        extension: r.extension,
        contact_uri: r.contactUri,
        instance_id: r.instanceId,
        reg_id: r.regId,
        call_id: r.callId,
        cseq: r.cseq,
        path_json: JSON.stringify(r.path),
        transport: r.transport,
        source_address: r.sourceAddress,
        source_port: r.sourcePort,
        flow_id: r.flowId,
        user_agent: r.userAgent,
        q: r.q,
        expires_at: r.expiresAt,
        registered_at: r.registeredAt,
        updated_at: r.updatedAt,
      });
      return registrationFromRow(this.#get.get(r.extension, r.contactUri)!);
    });
  }

  async remove(extension: string, contactUri: string): Promise<boolean> {
    return this.#write(extension, () => this.#remove.run(extension, contactUri).changes > 0);
  }

  async removeAll(extension: string): Promise<number> {
    return this.#write(extension, () => this.#removeAll.run(extension).changes);
  }

  async list(extension: string, now?: number): Promise<Registration[]> {
    return guarded(this.owner, () => {
      this.#flushFor(extension);
      return (now === undefined ? this.#list.all(extension) : this.#listLive.all(extension, now)).map(
        registrationFromRow,
      );
    });
  }

  async listAll(now?: number): Promise<Registration[]> {
    return guarded(this.owner, () => {
      this.#flushFor(undefined);
      return (now === undefined ? this.#listAll.all() : this.#listAllLive.all(now)).map(registrationFromRow);
    });
  }

  async purgeExpired(now: number): Promise<Registration[]> {
    return this.#write('', () => {
      const removed = this.#expired.all(now).map(registrationFromRow);
      this.#purge.run(now);
      return removed;
    });
  }
}

interface CdrRow {
  call_id: string;
  direction: CallRecord['direction'];
  caller_number: string;
  caller_name: string | null;
  callee_number: string;
  callee_name: string | null;
  dialled_number: string;
  caller_extension: string | null;
  callee_extension: string | null;
  did: string | null;
  trunk: string | null;
  status: CallRecord['status'];
  started_at: number;
  ringing_at: number | null;
  answered_at: number | null;
  ended_at: number;
  hangup_side: CallRecord['hangupSide'];
  hangup_sip_status: number | null;
  hangup_reason: string | null;
  call_type: string | null;
  cost: number | null;
  recording_path: string | null;
}

interface LegRow {
  leg_id: string;
  peer_kind: CallLeg['peerKind'];
  peer: string;
  direction: CallLeg['direction'];
  sip_call_id: string | null;
  contact_uri: string | null;
  started_at: number;
  ringing_at: number | null;
  answered_at: number | null;
  ended_at: number;
  status: CallLeg['status'];
  sip_status: number | null;
  codec: string | null;
}

interface StepRow {
  at: number;
  kind: CallStep['kind'];
  target: string | null;
  ended_at: number | null;
  detail_json: string | null;
}

const CDR_COLUMNS = [
  'call_id',
  'direction',
  'caller_number',
  'caller_name',
  'callee_number',
  'callee_name',
  'dialled_number',
  'caller_extension',
  'callee_extension',
  'did',
  'trunk',
  'status',
  'started_at',
  'ringing_at',
  'answered_at',
  'ended_at',
  'hangup_side',
  'hangup_sip_status',
  'hangup_reason',
  'call_type',
  'cost',
  'recording_path',
];

const LEG_COLUMNS = [
  'call_id',
  'position',
  'leg_id',
  'peer_kind',
  'peer',
  'direction',
  'sip_call_id',
  'contact_uri',
  'started_at',
  'ringing_at',
  'answered_at',
  'ended_at',
  'status',
  'sip_status',
  'codec',
];

const STEP_COLUMNS = ['call_id', 'position', 'at', 'kind', 'target', 'ended_at', 'detail_json'];

function groupByCall<T extends { call_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(row.call_id);
    if (group === undefined) groups.set(row.call_id, [row]);
    else group.push(row);
  }
  return groups;
}

/** WHERE clause and parameters for a filter; every value is bound, never spliced into the SQL. */
function filterSql(filter: CallRecordFilter): { where: string; params: Row } {
  const clauses: string[] = [];
  const params: Row = {};
  if (filter.from !== undefined) {
    clauses.push('c.started_at >= @from');
    params.from = filter.from;
  }
  if (filter.to !== undefined) {
    clauses.push('c.started_at < @to');
    params.to = filter.to;
  }
  if (filter.direction !== undefined) {
    clauses.push('c.direction = @direction');
    params.direction = filter.direction;
  }
  if (filter.trunk !== undefined) {
    clauses.push('c.trunk = @trunk');
    params.trunk = filter.trunk;
  }
  if (filter.did !== undefined) {
    clauses.push('c.did = @did');
    params.did = filter.did;
  }
  if (filter.number !== undefined) {
    clauses.push('(c.caller_number = @number OR c.callee_number = @number OR c.dialled_number = @number)');
    params.number = filter.number;
  }
  if (filter.extension !== undefined) {
    // A union of three index lookups rather than an OR, which would scan every record.
    clauses.push(
      `c.call_id IN (SELECT call_id FROM cdrs WHERE caller_extension = @extension
        UNION SELECT call_id FROM cdrs WHERE callee_extension = @extension
        UNION SELECT call_id FROM cdr_legs WHERE peer_kind = 'extension' AND peer = @extension)`,
    );
    params.extension = filter.extension;
  }
  if (filter.statuses !== undefined) {
    if (filter.statuses.length === 0) clauses.push('0');
    else {
      clauses.push(`c.status IN (${filter.statuses.map((_, i) => `@status${i}`).join(', ')})`);
      filter.statuses.forEach((status, i) => {
        params[`status${i}`] = status;
      });
    }
  }
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

/** Statements built from a filter's shape are cached by their SQL text (a handful of shapes in practice). */
const STATEMENT_CACHE_LIMIT = 128;

class StatementCache {
  readonly #statements = new Map<string, Database.Statement>();
  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      if (this.#statements.size >= STATEMENT_CACHE_LIMIT) this.#statements.clear();
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

class SqliteCdrRepository implements CdrRepository {
  readonly #insertCdr;
  readonly #insertLeg;
  readonly #insertStep;
  readonly #getCdr;
  readonly #legs;
  readonly #steps;
  readonly #pageLegs;
  readonly #pageSteps;
  readonly #statements;

  constructor(
    private readonly db: Database.Database,
    private readonly owner: SqliteStorage,
  ) {
    this.#statements = new StatementCache(db);
    this.#insertCdr = db.prepare<[Row]>(insertSql('cdrs', CDR_COLUMNS));
    this.#insertLeg = db.prepare<[Row]>(insertSql('cdr_legs', LEG_COLUMNS));
    this.#insertStep = db.prepare<[Row]>(insertSql('cdr_steps', STEP_COLUMNS));
    this.#getCdr = db.prepare<[string], CdrRow>('SELECT * FROM cdrs WHERE call_id = ?');
    this.#legs = db.prepare<[string], LegRow>('SELECT * FROM cdr_legs WHERE call_id = ? ORDER BY position');
    this.#steps = db.prepare<[string], StepRow>('SELECT * FROM cdr_steps WHERE call_id = ? ORDER BY position');
    // A page's legs and steps in one statement each: the call ids go in as one JSON array.
    this.#pageLegs = db.prepare<[string], LegRow & { call_id: string }>(
      'SELECT * FROM cdr_legs WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, position',
    );
    this.#pageSteps = db.prepare<[string], StepRow & { call_id: string }>(
      'SELECT * FROM cdr_steps WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, position',
    );
  }

  async insert(record: CallRecord): Promise<void> {
    guarded(this.owner, () => validateCallRecord(record));
    // One savepoint: the record, its legs and steps are committed together or not at all, in the group commit
    // of this event-loop turn; with synchronous=FULL that commit is on disk before the promise resolves.
    return this.owner.groupWrite(() => {
      this.db.transaction(() => {
        try {
          this.#insertCdr.run({
            call_id: record.callId,
            direction: record.direction,
            caller_number: record.callerNumber,
            caller_name: record.callerName,
            callee_number: record.calleeNumber,
            callee_name: record.calleeName,
            dialled_number: record.dialledNumber,
            caller_extension: record.callerExtension,
            callee_extension: record.calleeExtension,
            did: record.did,
            trunk: record.trunk,
            status: record.status,
            started_at: record.startedAt,
            ringing_at: record.ringingAt,
            answered_at: record.answeredAt,
            ended_at: record.endedAt,
            hangup_side: record.hangupSide,
            hangup_sip_status: record.hangupSipStatus,
            hangup_reason: record.hangupReason,
            call_type: record.callType,
            cost: record.cost,
            recording_path: record.recordingPath,
          });
        } catch (error) {
          throw fromSqliteError(error);
        }
        try {
          record.legs.forEach((leg, position) => {
            this.#insertLeg.run({
              call_id: record.callId,
              position,
              leg_id: leg.legId,
              peer_kind: leg.peerKind,
              peer: leg.peer,
              direction: leg.direction,
              sip_call_id: leg.sipCallId,
              contact_uri: leg.contactUri,
              started_at: leg.startedAt,
              ringing_at: leg.ringingAt,
              answered_at: leg.answeredAt,
              ended_at: leg.endedAt,
              status: leg.status,
              sip_status: leg.sipStatus,
              codec: leg.codec,
            });
          });
          record.steps.forEach((step, position) => {
            this.#insertStep.run({
              call_id: record.callId,
              position,
              at: step.at,
              kind: step.kind,
              target: step.target,
              ended_at: step.endedAt,
              detail_json: step.detail === null ? null : JSON.stringify(step.detail),
            });
          });
        } catch (error) {
          // A leg or step that breaks a constraint makes the record inconsistent, not a duplicate call.
          throw fromSqliteError(error, 'invalid');
        }
      })();
    });
  }

  #assemble(row: CdrRow, legRows?: readonly LegRow[], stepRows?: readonly StepRow[]): CallRecord {
    const legs = (legRows ?? this.#legs.all(row.call_id)).map(
      (l): CallLeg => ({
        legId: l.leg_id,
        peerKind: l.peer_kind,
        peer: l.peer,
        direction: l.direction,
        sipCallId: l.sip_call_id,
        contactUri: l.contact_uri,
        startedAt: l.started_at,
        ringingAt: l.ringing_at,
        answeredAt: l.answered_at,
        endedAt: l.ended_at,
        status: l.status,
        sipStatus: l.sip_status,
        codec: l.codec,
      }),
    );
    const steps = (stepRows ?? this.#steps.all(row.call_id)).map(
      (s): CallStep => ({
        at: s.at,
        kind: s.kind,
        target: s.target,
        endedAt: s.ended_at,
        detail: s.detail_json === null ? null : (JSON.parse(s.detail_json) as JsonObject),
      }),
    );
    return {
      callId: row.call_id,
      direction: row.direction,
      callerNumber: row.caller_number,
      callerName: row.caller_name,
      calleeNumber: row.callee_number,
      calleeName: row.callee_name,
      dialledNumber: row.dialled_number,
      callerExtension: row.caller_extension,
      calleeExtension: row.callee_extension,
      did: row.did,
      trunk: row.trunk,
      status: row.status,
      startedAt: row.started_at,
      ringingAt: row.ringing_at,
      answeredAt: row.answered_at,
      endedAt: row.ended_at,
      hangupSide: row.hangup_side,
      hangupSipStatus: row.hangup_sip_status,
      hangupReason: row.hangup_reason,
      callType: row.call_type,
      cost: row.cost,
      recordingPath: row.recording_path,
      legs,
      steps,
    };
  }

  #assemblePage(rows: readonly CdrRow[]): CallRecord[] {
    if (rows.length === 0) return [];
    const ids = JSON.stringify(rows.map((r) => r.call_id));
    const legs = groupByCall(this.#pageLegs.all(ids));
    const steps = groupByCall(this.#pageSteps.all(ids));
    return rows.map((row) => this.#assemble(row, legs.get(row.call_id) ?? [], steps.get(row.call_id) ?? []));
  }

  async get(callId: string): Promise<CallRecord | undefined> {
    this.owner.flushWrites();
    return guarded(this.owner, () =>
      this.db.transaction(() => {
        const row = this.#getCdr.get(callId);
        return row === undefined ? undefined : this.#assemble(row);
      })(),
    );
  }

  async query(query: CallRecordQuery): Promise<CallRecordPage> {
    const limit = cdrPageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCdrCursor(query.cursor);
    this.owner.flushWrites();
    return guarded(this.owner, () => {
      const { where, params } = filterSql(query);
      const descending = query.order === 'desc';
      const clauses = where === '' ? [] : [where.slice('WHERE '.length)];
      if (after !== undefined) {
        // Keyset paging on (started_at, call_id): stable under concurrent inserts, no OFFSET scans.
        clauses.push(
          descending
            ? '(c.started_at < @afterStart OR (c.started_at = @afterStart AND c.call_id < @afterId))'
            : '(c.started_at > @afterStart OR (c.started_at = @afterStart AND c.call_id > @afterId))',
        );
        params.afterStart = after.startedAt;
        params.afterId = after.callId;
      }
      params.limit = limit + 1;
      const direction = descending ? 'DESC' : 'ASC';
      const sql = `SELECT c.* FROM cdrs c ${clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`}
        ORDER BY c.started_at ${direction}, c.call_id ${direction} LIMIT @limit`;
      return this.db.transaction(() => {
        const rows = this.#statements.get(sql).all(params) as CdrRow[];
        const more = rows.length > limit;
        const page = more ? rows.slice(0, limit) : rows;
        const last = page[page.length - 1];
        return {
          records: this.#assemblePage(page),
          nextCursor: more && last !== undefined ? encodeCdrCursor(last.started_at, last.call_id) : null,
        };
      })();
    });
  }

  async count(filter: CallRecordFilter): Promise<number> {
    this.owner.flushWrites();
    return guarded(this.owner, () => {
      const { where, params } = filterSql(filter);
      const row = this.#statements.get(`SELECT count(*) AS n FROM cdrs c ${where}`).get(params) as { n: number };
      return row.n;
    });
  }
}

interface QueueLogRow {
  id: number;
  at: number;
  queue_id: string;
  call_id: string;
  event: QueueLogEntry['event'];
  agent: string | null;
  caller_number: string | null;
  position: number | null;
  wait_ms: number | null;
  talk_ms: number | null;
  handling: QueueLogEntry['handling'];
  detail_json: string | null;
}

interface AgentLogRow {
  id: number;
  at: number;
  extension: string;
  event: AgentLogEntry['event'];
  queue_id: string | null;
  state: AgentLogEntry['state'];
  reason_code: string | null;
  disposition_code: string | null;
  call_id: string | null;
  detail_json: string | null;
}

function jsonOrNull(value: JsonObject | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

function parseOrNull(text: string | null): JsonObject | null {
  return text === null ? null : (JSON.parse(text) as JsonObject);
}

/** WHERE clause of an event-log query: id paging, time range and equality filters on the given columns. */
function eventLogWhere(
  query: { readonly from?: number; readonly to?: number; readonly afterId?: number },
  equals: Readonly<Record<string, string | undefined>>,
): { sql: string; params: Row } {
  const clauses = ['id > @afterId'];
  const params: Row = { afterId: query.afterId ?? 0 };
  if (query.from !== undefined) {
    clauses.push('at >= @from');
    params.from = query.from;
  }
  if (query.to !== undefined) {
    clauses.push('at < @to');
    params.to = query.to;
  }
  for (const [column, value] of Object.entries(equals)) {
    if (value === undefined) continue;
    clauses.push(`${column} = @${column}`);
    params[column] = value;
  }
  return { sql: clauses.join(' AND '), params };
}

class SqliteQueueLogRepository implements QueueLogRepository {
  readonly #insert;
  readonly #statements;

  constructor(
    db: Database.Database,
    private readonly owner: SqliteStorage,
  ) {
    this.#insert = db.prepare<[Row]>(
      `INSERT INTO queue_log (at, queue_id, call_id, event, agent, caller_number, position, wait_ms, talk_ms,
         handling, detail_json)
       VALUES (@at, @queue_id, @call_id, @event, @agent, @caller_number, @position, @wait_ms, @talk_ms, @handling,
         @detail_json)`,
    );
    this.#statements = new StatementCache(db);
  }

  async append(entry: Omit<QueueLogEntry, 'id'>): Promise<QueueLogEntry> {
    guarded(this.owner, () => validateQueueLogEntry(entry));
    return this.owner.groupWrite(() => {
      const result = this.#insert.run({
        at: entry.at,
        queue_id: entry.queueId,
        call_id: entry.callId,
        event: entry.event,
        agent: entry.agent,
        caller_number: entry.callerNumber,
        position: entry.position,
        wait_ms: entry.waitMs,
        talk_ms: entry.talkMs,
        handling: entry.handling,
        detail_json: jsonOrNull(entry.detail),
      });
      return { ...entry, id: Number(result.lastInsertRowid) };
    });
  }

  async query(query: QueueLogQuery): Promise<QueueLogEntry[]> {
    const limit = eventLogLimit(query.limit);
    this.owner.flushWrites();
    return guarded(this.owner, () => {
      const where = eventLogWhere(query, { queue_id: query.queueId, call_id: query.callId, agent: query.agent });
      const sql = `SELECT * FROM queue_log WHERE ${where.sql} ORDER BY id LIMIT @limit`;
      const rows = this.#statements.get(sql).all({ ...where.params, limit }) as QueueLogRow[];
      return rows.map(
        (r): QueueLogEntry => ({
          id: r.id,
          at: r.at,
          queueId: r.queue_id,
          callId: r.call_id,
          event: r.event,
          agent: r.agent,
          callerNumber: r.caller_number,
          position: r.position,
          waitMs: r.wait_ms,
          talkMs: r.talk_ms,
          handling: r.handling,
          detail: parseOrNull(r.detail_json),
        }),
      );
    });
  }
}

class SqliteAgentLogRepository implements AgentLogRepository {
  readonly #insert;
  readonly #statements;

  constructor(
    db: Database.Database,
    private readonly owner: SqliteStorage,
  ) {
    this.#insert = db.prepare<[Row]>(
      `INSERT INTO agent_log (at, extension, event, queue_id, state, reason_code, disposition_code, call_id,
         detail_json)
       VALUES (@at, @extension, @event, @queue_id, @state, @reason_code, @disposition_code, @call_id, @detail_json)`,
    );
    this.#statements = new StatementCache(db);
  }

  async append(entry: Omit<AgentLogEntry, 'id'>): Promise<AgentLogEntry> {
    guarded(this.owner, () => validateAgentLogEntry(entry));
    return this.owner.groupWrite(() => {
      const result = this.#insert.run({
        at: entry.at,
        extension: entry.extension,
        event: entry.event,
        queue_id: entry.queueId,
        state: entry.state,
        reason_code: entry.reasonCode,
        disposition_code: entry.dispositionCode,
        call_id: entry.callId,
        detail_json: jsonOrNull(entry.detail),
      });
      return { ...entry, id: Number(result.lastInsertRowid) };
    });
  }

  async query(query: AgentLogQuery): Promise<AgentLogEntry[]> {
    const limit = eventLogLimit(query.limit);
    this.owner.flushWrites();
    return guarded(this.owner, () => {
      const where = eventLogWhere(query, { extension: query.extension, queue_id: query.queueId });
      const sql = `SELECT * FROM agent_log WHERE ${where.sql} ORDER BY id LIMIT @limit`;
      const rows = this.#statements.get(sql).all({ ...where.params, limit }) as AgentLogRow[];
      return rows.map(
        (r): AgentLogEntry => ({
          id: r.id,
          at: r.at,
          extension: r.extension,
          event: r.event,
          queueId: r.queue_id,
          state: r.state,
          reasonCode: r.reason_code,
          dispositionCode: r.disposition_code,
          callId: r.call_id,
          detail: parseOrNull(r.detail_json),
        }),
      );
    });
  }
}

/** The SQLite backend of pbx-core's Storage. */
export class SqliteStorage implements Storage {
  readonly extensions: ExtensionRepository;
  readonly registrations: RegistrationRepository;
  readonly cdrs: CdrRepository;
  readonly queueLog: QueueLogRepository;
  readonly agentLog: AgentLogRepository;
  /** What opening did to the schema. */
  readonly migration: MigrationResult;
  #closed = false;
  readonly #writes: GroupCommit;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
    options: SqliteStorageOptions,
  ) {
    const clock = options.clock ?? { now: () => Date.now() };
    this.migration = migrate(db, options.migrations ?? MIGRATIONS, () => clock.now());
    this.#writes = new GroupCommit(db, options.groupCommit ?? nextTurn);
    this.extensions = new SqliteExtensionRepository(db, this, clock);
    this.registrations = new SqliteRegistrationRepository(db, this);
    this.cdrs = new SqliteCdrRepository(db, this);
    this.queueLog = new SqliteQueueLogRepository(db, this);
    this.agentLog = new SqliteAgentLogRepository(db, this);
  }

  assertOpen(): void {
    if (this.#closed) throw new SqliteStorageError('closed', `storage ${this.path} is closed`);
  }

  /** Queues a record write for the group commit; resolves once it is committed. */
  groupWrite<T>(work: () => T): Promise<T> {
    this.assertOpen();
    return this.#writes.enqueue(work);
  }

  /** Commits queued record writes now, so a read sees every write issued before it (read-your-writes). */
  flushWrites(): void {
    if (!this.#closed) this.#writes.flush();
  }

  /** Write transactions of grouped records committed since opening (one per group commit). */
  get groupCommits(): number {
    return this.#writes.commits;
  }

  /** PRAGMA integrity_check: 'ok' or the list of problems SQLite found. */
  integrityCheck(): string[] {
    this.assertOpen();
    this.flushWrites();
    return (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Writes queued before close are committed (or rejected), never dropped.
    this.#writes.flush();
    this.#closed = true;
    // Folds the WAL back into the main file so the database is one file again at rest.
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}

/**
 * Opens (creating on first start) the database in `dataDir`: the directory is made private (0700) when created,
 * the file 0600. Throws a storage error with code `schema-too-new` when newer Switchyard code wrote the file.
 */
export function openSqliteStorage(dataDir: string, options: SqliteStorageOptions = {}): SqliteStorage {
  const path = join(dataDir, options.fileName ?? DEFAULT_DATABASE_FILE);
  let db: Database.Database | undefined;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Create the file ourselves so it is born 0600 (SQLite would use the umask); the WAL and shared-memory files
    // SQLite creates later copy the database file's permissions.
    closeSync(openSync(path, 'a', 0o600));
    db = new Database(path);
    const journal = db.pragma('journal_mode = WAL', { simple: true });
    if (journal !== 'wal') throw new SqliteStorageError('backend', `${path}: cannot use WAL journal (got ${journal})`);
    // FULL: in WAL mode, NORMAL may lose the last commits on power loss; FULL syncs the WAL on every commit.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    return new SqliteStorage(db, path, options);
  } catch (error) {
    db?.close();
    const converted = fromSqliteError(error);
    if (converted instanceof SqliteStorageError && converted.code !== 'backend') throw converted;
    throw new SqliteStorageError('backend', `${path}: ${converted.message}`, { cause: error });
  }
}
