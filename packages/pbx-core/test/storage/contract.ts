// The repository contract every storage backend must keep. Written once, run against the in-memory backend here
// and against SQLite by the daemon's tests (which import this file by relative path).
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CALL_STATUSES,
  type CallLeg,
  type CallRecord,
  type CallRecordFilter,
  type CallRecordQuery,
  type CallStatus,
  type QueueLogEntry,
  type Registration,
  type Storage,
  type StorageClock,
} from '../../src/storage/index.js';

export class ManualClock implements StorageClock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
}

export type StorageFactory = (clock: StorageClock) => Promise<Storage>;

const T0 = 1_700_000_000_000;

export function sampleRegistration(extension: string, contactUri: string, over: Partial<Registration> = {}) {
  const registration: Registration = {
    extension,
    contactUri,
    instanceId: null,
    regId: null,
    callId: `reg-${contactUri}`,
    cseq: 1,
    path: [],
    transport: 'udp',
    sourceAddress: '127.0.0.1',
    sourcePort: 5062,
    flowId: null,
    userAgent: 'test-phone/1.0',
    q: 1,
    expiresAt: T0 + 3600_000,
    registeredAt: T0,
    updatedAt: T0,
    ...over,
  };
  return registration;
}

export function sampleLeg(legId: string, peer: string, startedAt: number, over: Partial<CallLeg> = {}): CallLeg {
  return {
    legId,
    peerKind: 'extension',
    peer,
    direction: 'outbound',
    sipCallId: `sip-${legId}`,
    contactUri: `sip:${peer}@127.0.0.1:5062`,
    startedAt,
    ringingAt: startedAt + 100,
    answeredAt: startedAt + 2000,
    endedAt: startedAt + 60_000,
    status: 'answered',
    sipStatus: 200,
    codec: 'PCMU',
    ...over,
  };
}

export function sampleCall(callId: string, startedAt: number, over: Partial<CallRecord> = {}): CallRecord {
  return {
    callId,
    direction: 'internal',
    callerNumber: '201',
    callerName: 'Alice',
    calleeNumber: '202',
    calleeName: 'Bob',
    dialledNumber: '202',
    callerExtension: '201',
    calleeExtension: '202',
    did: null,
    trunk: null,
    status: 'answered',
    startedAt,
    ringingAt: startedAt + 100,
    answeredAt: startedAt + 2000,
    endedAt: startedAt + 60_000,
    hangupSide: 'caller',
    hangupSipStatus: null,
    hangupReason: 'BYE',
    callType: 'internal',
    cost: null,
    recordingPath: null,
    legs: [
      sampleLeg(`${callId}-a`, '201', startedAt, { direction: 'inbound', ringingAt: null, answeredAt: startedAt }),
      sampleLeg(`${callId}-b`, '202', startedAt),
    ],
    steps: [],
    ...over,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
}

/** Every record of the query, following cursors; fails on a page that repeats or loses rows. */
async function allPages(storage: Storage, query: CallRecordQuery): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const result = await storage.cdrs.query({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    ids.push(...result.records.map((r) => r.callId));
    if (result.nextCursor === null) return ids;
    expect(result.records.length).toBe(query.limit ?? 100);
    cursor = result.nextCursor;
  }
  throw new Error('paging did not end');
}

function expectedIds(records: readonly CallRecord[], filter: CallRecordFilter, order: 'asc' | 'desc'): string[] {
  const matching = records.filter(
    (r) =>
      (filter.from === undefined || r.startedAt >= filter.from) &&
      (filter.to === undefined || r.startedAt < filter.to) &&
      (filter.direction === undefined || r.direction === filter.direction) &&
      (filter.statuses === undefined || filter.statuses.includes(r.status)) &&
      (filter.extension === undefined ||
        r.callerExtension === filter.extension ||
        r.calleeExtension === filter.extension ||
        r.legs.some((l) => l.peerKind === 'extension' && l.peer === filter.extension)),
  );
  matching.sort((a, b) => a.startedAt - b.startedAt || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0));
  if (order === 'desc') matching.reverse();
  return matching.map((r) => r.callId);
}

export function storageContract(name: string, factory: StorageFactory): void {
  describe(`${name}: storage contract`, () => {
    let clock: ManualClock;
    let storage: Storage;

    beforeEach(async () => {
      clock = new ManualClock(T0);
      storage = await factory(clock);
    });
    afterEach(async () => {
      await storage.close();
    });

    it('refuses every call once closed; closing twice is harmless', async () => {
      await storage.extensions.create({ number: '201', displayName: 'Alice' });
      await storage.close();
      await storage.close();
      expect(await codeOf(storage.extensions.list())).toBe('closed');
      expect(await codeOf(storage.extensions.create({ number: '202', displayName: 'Bob' }))).toBe('closed');
      expect(await codeOf(storage.registrations.upsert(sampleRegistration('201', 'sip:a@h')))).toBe('closed');
      expect(await codeOf(storage.registrations.purgeExpired(T0))).toBe('closed');
      expect(await codeOf(storage.cdrs.insert(sampleCall('late', T0)))).toBe('closed');
      expect(await codeOf(storage.cdrs.query({}))).toBe('closed');
      expect(await codeOf(storage.cdrs.count({}))).toBe('closed');
    });

    describe('extensions', () => {
      it('creates with defaults and reads back', async () => {
        const created = await storage.extensions.create({ number: '201', displayName: 'Alice', sipPassword: 's3cret' });
        expect(created).toEqual({
          number: '201',
          displayName: 'Alice',
          sipPassword: 's3cret',
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
          createdAt: T0,
          updatedAt: T0,
        });
        expect(await storage.extensions.get('201')).toEqual(created);
        expect(await storage.extensions.get('999')).toBeUndefined();
      });

      it('lists by number and refuses duplicates and bad values', async () => {
        await storage.extensions.create({ number: '300', displayName: 'C' });
        await storage.extensions.create({ number: '201', displayName: 'A', role: 'admin' });
        await storage.extensions.create({ number: '250', displayName: 'B', role: 'report-viewer' });
        expect((await storage.extensions.list()).map((e) => e.number)).toEqual(['201', '250', '300']);
        expect(await codeOf(storage.extensions.create({ number: '201', displayName: 'again' }))).toBe('conflict');
        expect(await codeOf(storage.extensions.create({ number: '', displayName: 'x' }))).toBe('invalid');
        const badRole = { number: '400', displayName: 'x', role: 'root' } as unknown as { number: string };
        expect(await codeOf(storage.extensions.create(badRole as never))).toBe('invalid');
        expect(await storage.extensions.get('400')).toBeUndefined();
      });

      it('updates fields, keeps createdAt, moves updatedAt, round-trips JSON rules', async () => {
        await storage.extensions.create({ number: '201', displayName: 'Alice' });
        clock.time = T0 + 5000;
        const updated = await storage.extensions.update('201', {
          displayName: 'Alice Smith',
          email: 'alice@example.com',
          mobile: '+15551234',
          presence: 'do-not-disturb',
          enabled: false,
          voicemailPin: '0042',
          ha1Md5: 'a'.repeat(32),
          ha1Sha256: 'b'.repeat(64),
          forwarding: [
            { kind: 'no-answer', destination: '202', afterSeconds: 20, enabled: true },
            { kind: 'immediate', destination: '+15550000', presence: ['lunch', 'business-trip'], enabled: false },
          ],
          callRules: { rejectAnonymous: true, blacklist: ['+1900'], maxConcurrentCalls: 2 },
          restrictionProfileId: 'no-international',
        });
        expect(updated.createdAt).toBe(T0);
        expect(updated.updatedAt).toBe(T0 + 5000);
        expect(await storage.extensions.get('201')).toEqual(updated);
        expect(updated.forwarding[1]).toEqual({
          kind: 'immediate',
          destination: '+15550000',
          presence: ['lunch', 'business-trip'],
          enabled: false,
        });
        expect(updated.callRules.blacklist).toEqual(['+1900']);
        expect(updated.enabled).toBe(false);
        // An undefined field in a patch or a new extension means "not given", not "clear it".
        const unchanged = await storage.extensions.update('201', { email: undefined, displayName: undefined });
        expect(unchanged).toEqual({ ...updated, updatedAt: T0 + 5000 });
        const defaulted = await storage.extensions.create({ number: '209', displayName: 'D', role: undefined });
        expect(defaulted.role).toBe('user');
        expect(await codeOf(storage.extensions.update('999', { displayName: 'x' }))).toBe('not-found');
        expect(await codeOf(storage.extensions.update('201', { presence: 'asleep' as never }))).toBe('invalid');
        expect((await storage.extensions.get('201'))?.presence).toBe('do-not-disturb');
      });

      it('deletes an extension with its registrations', async () => {
        await storage.extensions.create({ number: '201', displayName: 'Alice' });
        await storage.registrations.upsert(sampleRegistration('201', 'sip:201@10.0.0.1'));
        expect(await storage.extensions.delete('201')).toBe(true);
        expect(await storage.extensions.delete('201')).toBe(false);
        expect(await storage.registrations.list('201')).toEqual([]);
        await storage.extensions.create({ number: '201', displayName: 'Alice again' });
        expect(await storage.registrations.list('201')).toEqual([]);
      });

      it('hands out copies, not its own rows', async () => {
        const created = await storage.extensions.create({ number: '201', displayName: 'A', forwarding: [] });
        (created.forwarding as unknown[]).push({ kind: 'busy', destination: '1', enabled: true });
        expect((await storage.extensions.get('201'))?.forwarding).toEqual([]);
      });
    });

    describe('registrations', () => {
      beforeEach(async () => {
        await storage.extensions.create({ number: '201', displayName: 'Alice' });
        await storage.extensions.create({ number: '202', displayName: 'Bob' });
      });

      it('stores every field and orders by q, then most recent refresh', async () => {
        const desk = sampleRegistration('201', 'sip:201@10.0.0.1:5060;transport=tcp', {
          q: 0.5,
          transport: 'tcp',
          flowId: 'tcp-7',
          path: ['<sip:edge1.example.com;lr>', '<sip:edge2.example.com;lr>'],
          instanceId: '<urn:uuid:00000000-0000-0000-0000-000000000001>',
          regId: 1,
        });
        const softphone = sampleRegistration('201', 'sip:201@10.0.0.2:5060', { q: 0.5, updatedAt: T0 + 10 });
        const mobile = sampleRegistration('201', 'sip:201@10.0.0.3:5060', { q: 0.9, userAgent: null });
        for (const r of [desk, softphone, mobile]) await storage.registrations.upsert(r);
        expect(await storage.registrations.list('201')).toEqual([mobile, softphone, desk]);
        expect(await storage.registrations.list('202')).toEqual([]);
      });

      it('refreshes a binding in place and keeps the first registration time', async () => {
        await storage.registrations.upsert(sampleRegistration('201', 'sip:201@10.0.0.1'));
        const refresh = sampleRegistration('201', 'sip:201@10.0.0.1', {
          cseq: 2,
          expiresAt: T0 + 7200_000,
          registeredAt: T0 + 3000,
          updatedAt: T0 + 3000,
        });
        const stored = await storage.registrations.upsert(refresh);
        expect(stored).toEqual({ ...refresh, registeredAt: T0 });
        expect(await storage.registrations.list('201')).toEqual([stored]);
      });

      it('refuses unknown extensions and bad values', async () => {
        expect(await codeOf(storage.registrations.upsert(sampleRegistration('999', 'sip:x@h')))).toBe('not-found');
        expect(await codeOf(storage.registrations.upsert(sampleRegistration('201', 'sip:x@h', { q: 2 })))).toBe(
          'invalid',
        );
        expect(await codeOf(storage.registrations.upsert(sampleRegistration('201', 'sip:x@h', { cseq: 1.5 })))).toBe(
          'invalid',
        );
        const badTransport = sampleRegistration('201', 'sip:x@h', { transport: 'sctp' as never });
        expect(await codeOf(storage.registrations.upsert(badTransport))).toBe('invalid');
        expect(await storage.registrations.listAll()).toEqual([]);
      });

      it('filters and purges expired bindings', async () => {
        await storage.registrations.upsert(sampleRegistration('201', 'sip:a@h', { expiresAt: T0 + 100 }));
        await storage.registrations.upsert(sampleRegistration('201', 'sip:b@h', { expiresAt: T0 + 200 }));
        await storage.registrations.upsert(sampleRegistration('202', 'sip:c@h', { expiresAt: T0 + 300 }));
        expect((await storage.registrations.list('201', T0 + 100)).map((r) => r.contactUri)).toEqual(['sip:b@h']);
        expect((await storage.registrations.listAll(T0 + 150)).map((r) => r.contactUri)).toEqual([
          'sip:b@h',
          'sip:c@h',
        ]);
        const purged = await storage.registrations.purgeExpired(T0 + 200);
        expect(purged.map((r) => r.contactUri).sort()).toEqual(['sip:a@h', 'sip:b@h']);
        expect((await storage.registrations.listAll()).map((r) => r.contactUri)).toEqual(['sip:c@h']);
        expect(await storage.registrations.purgeExpired(T0 + 200)).toEqual([]);
      });

      it('removes one binding or all of an extension', async () => {
        await storage.registrations.upsert(sampleRegistration('201', 'sip:a@h'));
        await storage.registrations.upsert(sampleRegistration('201', 'sip:b@h'));
        await storage.registrations.upsert(sampleRegistration('202', 'sip:c@h'));
        expect(await storage.registrations.remove('201', 'sip:a@h')).toBe(true);
        expect(await storage.registrations.remove('201', 'sip:a@h')).toBe(false);
        expect(await storage.registrations.removeAll('201')).toBe(1);
        expect(await storage.registrations.removeAll('201')).toBe(0);
        expect((await storage.registrations.listAll()).map((r) => r.contactUri)).toEqual(['sip:c@h']);
      });
    });

    describe('queue and agent logs', () => {
      const queueEntry = (at: number, over: Partial<QueueLogEntry> = {}): Omit<QueueLogEntry, 'id'> => ({
        at,
        queueId: 'sales',
        callId: `call-${at}`,
        event: 'enter',
        agent: null,
        callerNumber: '+15551234',
        position: 1,
        waitMs: null,
        talkMs: null,
        handling: null,
        detail: null,
        ...over,
      });

      it('appends queue events with growing ids and reads them back by queue, call, agent and time', async () => {
        const enter = await storage.queueLog.append(queueEntry(T0));
        const answer = await storage.queueLog.append(
          queueEntry(T0 + 5000, { callId: `call-${T0}`, event: 'answer', agent: '203', waitMs: 5000, position: null }),
        );
        const abandon = await storage.queueLog.append(
          queueEntry(T0 + 9000, {
            queueId: 'support',
            event: 'abandon',
            waitMs: 9000,
            handling: 'not-handled',
            detail: { polled: ['204', '205'] },
          }),
        );
        expect(answer.id).toBeGreaterThan(enter.id);
        expect(abandon.id).toBeGreaterThan(answer.id);
        expect(abandon.detail).toEqual({ polled: ['204', '205'] });
        expect(await storage.queueLog.query({})).toEqual([enter, answer, abandon]);
        expect(await storage.queueLog.query({ queueId: 'sales' })).toEqual([enter, answer]);
        expect(await storage.queueLog.query({ callId: `call-${T0}` })).toEqual([enter, answer]);
        expect(await storage.queueLog.query({ agent: '203' })).toEqual([answer]);
        expect(await storage.queueLog.query({ from: T0 + 1, to: T0 + 9000 })).toEqual([answer]);
        expect(await storage.queueLog.query({ afterId: enter.id, limit: 1 })).toEqual([answer]);
        expect(await codeOf(storage.queueLog.append(queueEntry(T0, { event: 'vanish' as never })))).toBe('invalid');
        expect(await codeOf(storage.queueLog.query({ limit: 0 }))).toBe('invalid');
        expect(await storage.queueLog.query({})).toHaveLength(3);
      });

      it('appends agent events and reads them back by agent, queue and time', async () => {
        const base = {
          queueId: null,
          state: null,
          reasonCode: null,
          dispositionCode: null,
          callId: null,
          detail: null,
        };
        const login = await storage.agentLog.append({
          ...base,
          at: T0,
          extension: '203',
          event: 'login',
          queueId: 'sales',
        });
        const pause = await storage.agentLog.append({
          ...base,
          at: T0 + 60_000,
          extension: '203',
          event: 'state',
          state: 'paused',
          reasonCode: 'lunch',
        });
        const other = await storage.agentLog.append({ ...base, at: T0 + 1, extension: '204', event: 'login' });
        const disposition = await storage.agentLog.append({
          ...base,
          at: T0 + 90_000,
          extension: '203',
          event: 'disposition',
          dispositionCode: 'sale',
          callId: 'call-9',
          detail: { note: 'upsell' },
        });
        expect(await storage.agentLog.query({ extension: '203' })).toEqual([login, pause, disposition]);
        expect(await storage.agentLog.query({ queueId: 'sales' })).toEqual([login]);
        expect(await storage.agentLog.query({ from: T0 + 1, to: T0 + 60_001 })).toEqual([pause, other]);
        expect(await storage.agentLog.query({ afterId: pause.id })).toEqual([other, disposition]);
        const badState = { ...base, at: T0, extension: '203', event: 'state' as const, state: 'asleep' as never };
        expect(await codeOf(storage.agentLog.append(badState))).toBe('invalid');
      });
    });

    describe('call records', () => {
      it('stores a record with legs and steps and reads it back unchanged', async () => {
        const record = sampleCall('call-1', T0, {
          direction: 'inbound',
          callerNumber: '+15557654321',
          callerName: null,
          callerExtension: null,
          did: '+15550100',
          trunk: 'carrier-a',
          status: 'transferred',
          hangupSide: 'callee',
          hangupSipStatus: 487,
          hangupReason: 'Q.850;cause=16',
          cost: 0.042,
          callType: 'national',
          recordingPath: 'recordings/call-1.wav',
          legs: [
            sampleLeg('in', 'carrier-a', T0, { peerKind: 'trunk', direction: 'inbound', ringingAt: null }),
            sampleLeg('ivr', 'ivr:main', T0 + 10, { peerKind: 'service', codec: null, ringingAt: null }),
            sampleLeg('q1', '203', T0 + 5000, { status: 'no-answer', answeredAt: null, sipStatus: 487 }),
            sampleLeg('q2', '204', T0 + 5000),
          ],
          steps: [
            { at: T0 + 10, kind: 'ivr', target: 'main', endedAt: T0 + 4000, detail: null },
            { at: T0 + 3000, kind: 'ivr-key', target: 'main', endedAt: null, detail: { digit: '2' } },
            {
              at: T0 + 4000,
              kind: 'queue',
              target: 'sales',
              endedAt: T0 + 9000,
              detail: { position: 1, agents: ['203', '204'], nested: { ok: true } },
            },
            { at: T0 + 30_000, kind: 'transfer', target: '205', endedAt: null, detail: null },
          ],
        });
        await storage.cdrs.insert(record);
        expect(await storage.cdrs.get('call-1')).toEqual(record);
        expect(await storage.cdrs.get('call-2')).toBeUndefined();
      });

      it('refuses duplicates and inconsistent records, storing nothing of them', async () => {
        await storage.cdrs.insert(sampleCall('call-1', T0));
        expect(await codeOf(storage.cdrs.insert(sampleCall('call-1', T0 + 1)))).toBe('conflict');
        expect((await storage.cdrs.get('call-1'))?.startedAt).toBe(T0);

        const endsBeforeStart = sampleCall('call-2', T0, { endedAt: T0 - 1, answeredAt: null, ringingAt: null });
        expect(await codeOf(storage.cdrs.insert(endsBeforeStart))).toBe('invalid');
        const badStatus = sampleCall('call-3', T0, { status: 'lost' as CallStatus });
        expect(await codeOf(storage.cdrs.insert(badStatus))).toBe('invalid');
        // The last leg is bad: the record and the legs before it must not be stored either (atomic insert).
        const good = sampleCall('call-4', T0);
        const badLeg = { ...good, legs: [...good.legs, sampleLeg('x', '209', T0, { status: 'gone' as never })] };
        expect(await codeOf(storage.cdrs.insert(badLeg))).toBe('invalid');
        const duplicateLeg = { ...good, legs: [good.legs[0], good.legs[0]] };
        expect(await codeOf(storage.cdrs.insert(duplicateLeg))).toBe('invalid');
        expect(await codeOf(storage.cdrs.insert(sampleCall('call-6', Number.NaN)))).toBe('invalid');
        expect(await codeOf(storage.cdrs.insert(sampleCall('call-7', T0 + 0.5)))).toBe('invalid');
        const badStep = sampleCall('call-5', T0, {
          steps: [{ at: T0, kind: 'teleport' as never, target: null, endedAt: null, detail: null }],
        });
        expect(await codeOf(storage.cdrs.insert(badStep))).toBe('invalid');
        for (const id of ['call-2', 'call-3', 'call-4', 'call-5', 'call-6', 'call-7'])
          expect(await storage.cdrs.get(id)).toBeUndefined();
        expect(await storage.cdrs.count({})).toBe(1);
        await storage.cdrs.insert(good);
        expect(await storage.cdrs.get('call-4')).toEqual(good);
      });

      it('pages by start time in both orders, ties broken by call id', async () => {
        // Five calls share a start time, so the cursor must carry the call id as well.
        const ids: string[] = [];
        for (let i = 0; i < 23; i++) {
          const id = `c${String(i).padStart(2, '0')}`;
          ids.push(id);
          await storage.cdrs.insert(sampleCall(id, T0 + Math.max(0, i - 4) * 1000));
        }
        expect(await allPages(storage, { limit: 5 })).toEqual(ids);
        expect(await allPages(storage, { limit: 5, order: 'desc' })).toEqual([...ids].reverse());
        expect(await allPages(storage, { limit: 23 })).toEqual(ids);
        const first = await storage.cdrs.query({ limit: 2 });
        expect(first.records.map((r) => r.callId)).toEqual(['c00', 'c01']);
        expect(first.records[0]).toEqual(sampleCall('c00', T0));
        expect(await storage.cdrs.count({})).toBe(23);
        expect(await codeOf(storage.cdrs.query({ cursor: '!!not a cursor' }))).toBe('invalid');
        expect(await codeOf(storage.cdrs.query({ limit: 0 }))).toBe('invalid');
        expect(await codeOf(storage.cdrs.query({ limit: 1.5 }))).toBe('invalid');
      });

      it('filters by time range, extension (either party or a leg), number, direction, status and trunk', async () => {
        await storage.cdrs.insert(sampleCall('a', T0));
        await storage.cdrs.insert(
          sampleCall('b', T0 + 1000, {
            direction: 'outbound',
            calleeNumber: '+15550199',
            dialledNumber: '9+15550199',
            calleeExtension: null,
            trunk: 'carrier-a',
            status: 'busy',
            answeredAt: null,
            legs: [sampleLeg('b1', 'carrier-a', T0 + 1000, { peerKind: 'trunk', status: 'busy', answeredAt: null })],
          }),
        );
        // 203 only appears as a leg: a ring-group member that did not answer.
        await storage.cdrs.insert(
          sampleCall('c', T0 + 2000, {
            callerNumber: '202',
            callerExtension: '202',
            calleeNumber: '600',
            calleeExtension: '204',
            legs: [
              sampleLeg('c1', '203', T0 + 2000, { status: 'no-answer', answeredAt: null }),
              sampleLeg('c2', '204', T0 + 2000),
            ],
          }),
        );
        await storage.cdrs.insert(
          sampleCall('d', T0 + 3000, { direction: 'inbound', status: 'missed', answeredAt: null }),
        );

        const ids = async (filter: CallRecordFilter) => (await storage.cdrs.query(filter)).records.map((r) => r.callId);
        expect(await ids({ from: T0 + 1000, to: T0 + 3000 })).toEqual(['b', 'c']);
        expect(await ids({ from: T0 + 3001 })).toEqual([]);
        expect(await ids({ extension: '203' })).toEqual(['c']);
        expect(await ids({ extension: '202' })).toEqual(['a', 'c', 'd']);
        expect(await ids({ extension: '201' })).toEqual(['a', 'b', 'd']);
        expect(await ids({ extension: 'carrier-a' })).toEqual([]);
        expect(await ids({ number: '+15550199' })).toEqual(['b']);
        expect(await ids({ number: '9+15550199' })).toEqual(['b']);
        expect(await ids({ direction: 'outbound' })).toEqual(['b']);
        expect(await ids({ statuses: ['busy', 'missed'] })).toEqual(['b', 'd']);
        expect(await ids({ trunk: 'carrier-a' })).toEqual(['b']);
        expect(await ids({ extension: '202', from: T0 + 1500, statuses: ['answered'] })).toEqual(['c']);
        expect(await storage.cdrs.count({ extension: '201' })).toBe(3);
        expect(await storage.cdrs.count({ statuses: [] })).toBe(0);
      });

      it('paging through any filter returns exactly the matching records (property)', async () => {
        const extensions = ['201', '202', '203'];
        const callArb = fc.record({
          offset: fc.integer({ min: 0, max: 20 }),
          caller: fc.constantFrom(...extensions, null),
          callee: fc.constantFrom(...extensions, null),
          legPeer: fc.constantFrom(...extensions),
          status: fc.constantFrom(...CALL_STATUSES),
          direction: fc.constantFrom('internal' as const, 'inbound' as const, 'outbound' as const),
        });
        const filterArb = fc.record(
          {
            from: fc.integer({ min: 0, max: 20 }).map((s) => T0 + s * 1000),
            to: fc.integer({ min: 0, max: 21 }).map((s) => T0 + s * 1000),
            extension: fc.constantFrom(...extensions, '299'),
            direction: fc.constantFrom('internal' as const, 'inbound' as const, 'outbound' as const),
            statuses: fc.subarray([...CALL_STATUSES], { maxLength: 4 }),
          },
          { requiredKeys: [] },
        );
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(callArb, { maxLength: 30 }),
            filterArb,
            fc.integer({ min: 1, max: 7 }),
            fc.boolean(),
            async (calls, filter, limit, descending) => {
              run++;
              const records = calls.map((c, i) =>
                sampleCall(`r${run}-${String(i).padStart(2, '0')}`, T0 + c.offset * 1000, {
                  callerExtension: c.caller,
                  calleeExtension: c.callee,
                  status: c.status,
                  direction: c.direction,
                  legs: [sampleLeg(`r${run}-${i}-leg`, c.legPeer, T0 + c.offset * 1000)],
                }),
              );
              // Each run uses its own call-id prefix in one storage; restrict the expectation to this run's rows.
              for (const r of records) await storage.cdrs.insert(r);
              const order = descending ? 'desc' : 'asc';
              const got = (await allPages(storage, { ...filter, limit, order })).filter((id) =>
                id.startsWith(`r${run}-`),
              );
              expect(got).toEqual(expectedIds(records, filter, order));
            },
          ),
          { numRuns: 25 },
        );
      });
    });
  });
}
