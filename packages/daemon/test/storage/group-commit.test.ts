// Group commit of record writes: concurrent writers share transactions, each promise settles after its commit,
// a failed commit rejects every writer in it, and reads see writes issued before them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleCall } from '../../../pbx-core/test/storage/contract.js';
import { GroupCommit } from '../../src/storage/group-commit.js';
import { openSqliteStorage, spacedTurns } from '../../src/storage/index.js';

const root = mkdtempSync(join(tmpdir(), 'switchyard-group-'));
let dirs = 0;
const freshDir = () => join(root, `data-${++dirs}`);
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
const queueEntry = (at: number) => ({
  at,
  queueId: 'sales',
  callId: `call-${at}`,
  event: 'enter' as const,
  agent: null,
  callerNumber: '+15551234',
  position: 1,
  waitMs: null,
  talkMs: null,
  handling: null,
  detail: null,
});

/** A device's binding of `extension`, expiring an hour after `at`. */
function registration(extension: string, at: number) {
  return {
    extension,
    contactUri: `sip:${extension}@127.0.0.1:5062`,
    instanceId: null,
    regId: null,
    callId: `reg-${extension}`,
    cseq: 1,
    path: [],
    transport: 'udp' as const,
    sourceAddress: '127.0.0.1',
    sourcePort: 5062,
    flowId: null,
    userAgent: 'storm',
    q: 1,
    expiresAt: at + 3_600_000,
    registeredAt: at,
    updatedAt: at,
  };
}

async function settle<T>(promises: readonly Promise<T>[]) {
  return Promise.allSettled(promises);
}

describe('sqlite storage: group commit', () => {
  it('commits N concurrent record writes in far fewer than N transactions, resolving every one', async () => {
    const storage = openSqliteStorage(freshDir());
    try {
      const before = storage.groupCommits;
      const n = 200;
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        writes.push(storage.cdrs.insert(sampleCall(`g-${i}`, T0 + i)));
        if (i % 4 === 0) writes.push(storage.queueLog.append(queueEntry(T0 + i)));
      }
      const results = await settle(writes);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const commits = storage.groupCommits - before;
      expect(commits).toBeGreaterThanOrEqual(1);
      expect(commits).toBeLessThanOrEqual(n / 20);
      expect(await storage.cdrs.count({})).toBe(n);
      // Ids still grow in append order inside a batch.
      const ids = (await storage.queueLog.query({})).map((e) => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids).toHaveLength(n / 4);
    } finally {
      await storage.close();
    }
  });

  it('spaces commits by a gap under load: the first after a quiet spell goes at once, later ones share one', async () => {
    let now = T0;
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const clock = { now: () => now, setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }) };
    const storage = openSqliteStorage(freshDir(), { groupCommit: spacedTurns(clock, 10) });
    try {
      const before = storage.groupCommits;
      await storage.cdrs.insert(sampleCall('quiet', T0)); // committed on the next turn, no timer
      expect(timers).toHaveLength(0);
      now += 3;
      let settled = 0;
      const later = [1, 2, 3].map((i) => storage.cdrs.insert(sampleCall(`busy-${i}`, T0 + i)).then(() => settled++));
      await new Promise((r) => setImmediate(r));
      expect(settled).toBe(0); // waiting out the gap: 7 ms left of it
      expect(timers.map((t) => t.ms)).toEqual([7]);
      now += 7;
      timers.shift()?.fn();
      await Promise.all(later);
      expect(storage.groupCommits - before).toBe(2);
      now += 50; // quiet again: at once
      await storage.cdrs.insert(sampleCall('quiet-again', T0 + 60));
      expect(timers).toHaveLength(0);
      expect(await storage.cdrs.count({})).toBe(5);
    } finally {
      await storage.close();
    }
  });

  it('commits each write on its own with groupCommit: immediate', async () => {
    const storage = openSqliteStorage(freshDir(), { groupCommit: 'immediate' });
    try {
      await Promise.all([0, 1, 2, 3].map((i) => storage.cdrs.insert(sampleCall(`i-${i}`, T0 + i))));
      expect(storage.groupCommits).toBe(4);
    } finally {
      await storage.close();
    }
  });

  it('rejects every write of a batch whose transaction fails, and stores none of them', async () => {
    const dir = freshDir();
    const storage = openSqliteStorage(dir, { busyTimeoutMs: 0 });
    // Another connection holds the write lock, so the batch cannot begin (SQLITE_BUSY).
    const other = new Database(join(dir, 'switchyard.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const writes: Promise<unknown>[] = [
        ...[0, 1, 2, 3, 4].map((i) => storage.cdrs.insert(sampleCall(`b-${i}`, T0 + i))),
        storage.queueLog.append(queueEntry(T0)),
      ];
      const results = await settle(writes);
      expect(results.map((r) => r.status)).toEqual(Array(writes.length).fill('rejected'));
      for (const r of results) expect((r as PromiseRejectedResult).reason.code).toBe('backend');
      other.exec('ROLLBACK');
      expect(await storage.cdrs.count({})).toBe(0);
      expect(await storage.queueLog.query({})).toEqual([]);
      // The storage recovers: the next batch commits.
      await storage.cdrs.insert(sampleCall('b-after', T0));
      expect(await storage.cdrs.count({})).toBe(1);
    } finally {
      other.close();
      await storage.close();
    }
  });

  it('rejects only the bad write of a batch; the others commit', async () => {
    const storage = openSqliteStorage(freshDir());
    try {
      await storage.cdrs.insert(sampleCall('dup', T0));
      storage.db.exec(`CREATE TRIGGER boom BEFORE INSERT ON cdr_legs WHEN NEW.call_id = 'bad-legs' AND NEW.position = 1
        BEGIN SELECT RAISE(ABORT, 'leg refused'); END`);
      const commits = storage.groupCommits;
      const results = await settle([
        storage.cdrs.insert(sampleCall('ok-1', T0 + 1)),
        storage.cdrs.insert(sampleCall('dup', T0 + 2)),
        // Fails at its second leg, after the record row and first leg were written: its savepoint undoes them.
        storage.cdrs.insert(sampleCall('bad-legs', T0 + 3)),
        storage.cdrs.insert(sampleCall('ok-2', T0 + 4)),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason.code).toBe('conflict');
      expect((results[2] as PromiseRejectedResult).reason.message).toContain('leg refused');
      expect(storage.groupCommits - commits).toBe(1);
      expect((await storage.cdrs.query({})).records.map((r) => r.callId).sort()).toEqual(['dup', 'ok-1', 'ok-2']);
      // The failed record left nothing behind: no row, no first leg.
      expect(storage.db.prepare("SELECT count(*) AS n FROM cdr_legs WHERE call_id = 'bad-legs'").get()).toEqual({
        n: 0,
      });
      expect(storage.db.prepare('SELECT count(*) AS n FROM cdr_legs').get()).toEqual({ n: 3 * 2 });
    } finally {
      await storage.close();
    }
  });

  it('groups a registration storm into few commits; each REGISTER write settles only once it is on disk', async () => {
    const dir = freshDir();
    const storage = openSqliteStorage(dir);
    const other = new Database(join(dir, 'switchyard.db'), { readonly: true });
    try {
      const n = 100;
      for (let i = 0; i < n; i++) {
        await storage.extensions.create({ number: String(2000 + i), displayName: `E${i}`, sipPassword: 'pw-secret' });
      }
      const before = storage.groupCommits;
      const seenByOther: boolean[] = [];
      const writes = Array.from({ length: n }, (_, i) =>
        storage.registrations.upsert(registration(String(2000 + i), T0)).then((r) => {
          // Another connection reads the file: what resolved is committed.
          const row = other
            .prepare('SELECT count(*) AS n FROM registrations WHERE extension = ? AND contact_uri = ?')
            .get(r.extension, r.contactUri) as { n: number };
          seenByOther.push(row.n === 1);
          return r;
        }),
      );
      const results = await Promise.all(writes);
      expect(results.map((r) => r.extension)).toEqual(Array.from({ length: n }, (_, i) => String(2000 + i)));
      expect(seenByOther).toEqual(Array(n).fill(true));
      const commits = storage.groupCommits - before;
      expect(commits).toBeGreaterThanOrEqual(1);
      expect(commits).toBeLessThanOrEqual(n / 20);
      // Removals and purges go through the same commits.
      const gone = storage.registrations.removeAll('2000');
      const purged = storage.registrations.purgeExpired(T0 + 3_600_001);
      expect(await gone).toBe(1);
      expect(await purged).toHaveLength(n - 1);
      expect(storage.groupCommits - before).toBeLessThanOrEqual(n / 20 + 1);
    } finally {
      other.close();
      await storage.close();
    }
  });

  it('lets a registration read see the writes queued for its extension', async () => {
    const storage = openSqliteStorage(freshDir(), { groupCommit: () => {} }); // never flushes by itself
    try {
      await storage.extensions.create({ number: '3000', displayName: 'A', sipPassword: 'pw-secret' });
      await storage.extensions.create({ number: '3001', displayName: 'B', sipPassword: 'pw-secret' });
      const bound = storage.registrations.upsert(registration('3000', T0));
      const commits = storage.groupCommits;
      // Another extension's read does not commit 3000's write early...
      expect(await storage.registrations.list('3001', T0)).toEqual([]);
      expect(storage.groupCommits).toBe(commits);
      // ...its own read does.
      expect((await storage.registrations.list('3000', T0)).map((r) => r.extension)).toEqual(['3000']);
      expect(storage.groupCommits).toBe(commits + 1);
      await bound;
      const removed = storage.registrations.remove('3000', 'sip:3000@127.0.0.1:5062');
      expect(await storage.registrations.listAll(T0)).toEqual([]);
      expect(await removed).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it('lets a read see writes issued before it, before their commit was scheduled', async () => {
    const storage = openSqliteStorage(freshDir(), { groupCommit: () => {} }); // never flushes by itself
    try {
      const insert = storage.cdrs.insert(sampleCall('ryw', T0));
      const append = storage.queueLog.append(queueEntry(T0));
      expect((await storage.cdrs.get('ryw'))?.callId).toBe('ryw');
      await insert;
      expect((await append).id).toBeGreaterThan(0);
      expect(await storage.queueLog.query({})).toHaveLength(1);
      const late = storage.cdrs.insert(sampleCall('at-close', T0 + 1));
      await storage.close();
      await late; // committed by close, not dropped
      const reopened = openSqliteStorage(dirname(storage.path));
      expect(await reopened.cdrs.count({})).toBe(2);
      await reopened.close();
    } finally {
      await storage.close();
    }
  });

  it('undoes the statements of a write that throws halfway, keeping its batch-mates', async () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE t (v INTEGER)');
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      let flush = () => {};
      const group = new GroupCommit(db, (run) => {
        flush = run;
      });
      const writes = [
        group.enqueue(() => insert.run(1).changes),
        group.enqueue(() => {
          insert.run(2);
          throw new Error('halfway');
        }),
        group.enqueue(() => insert.run(3).changes),
      ];
      expect(group.pending).toBe(3);
      flush();
      const results = await settle(writes);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(group.commits).toBe(1);
      expect(db.prepare('SELECT v FROM t ORDER BY v').pluck().all()).toEqual([1, 3]);
    } finally {
      db.close();
    }
  });
});
