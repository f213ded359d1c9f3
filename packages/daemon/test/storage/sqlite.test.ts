import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, sampleCall, storageContract } from '../../../pbx-core/test/storage/contract.js';
import { DEFAULT_DATABASE_FILE, MIGRATIONS, type Migration, openSqliteStorage } from '../../src/storage/index.js';

const root = mkdtempSync(join(tmpdir(), 'switchyard-sqlite-'));
let dirs = 0;
const freshDir = () => join(root, `data-${++dirs}`);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
}

storageContract('sqlite', async (clock) => openSqliteStorage(freshDir(), { clock }));

describe('sqlite storage: opening and migrations', () => {
  it('creates a private directory and file, in WAL mode with full sync and foreign keys', async () => {
    const dir = join(freshDir(), 'nested');
    const storage = openSqliteStorage(dir);
    try {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, DEFAULT_DATABASE_FILE)).mode & 0o777).toBe(0o600);
      expect(storage.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(storage.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(storage.db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(storage.db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(storage.integrityCheck()).toEqual(['ok']);
    } finally {
      await storage.close();
    }
  });

  it('applies every migration to an empty file, then nothing on reopen, keeping the data', async () => {
    const dir = freshDir();
    const first = openSqliteStorage(dir, { clock: new ManualClock(42) });
    expect(first.migration).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: MIGRATIONS.length });
    const tables = (
      first.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    ).map((t) => t.name);
    for (const table of [
      'schema_migrations',
      'extensions',
      'registrations',
      'cdrs',
      'cdr_legs',
      'cdr_steps',
      'ring_groups',
      'ring_group_members',
      'queues',
      'queue_members',
      'queue_log',
      'agent_log',
      'agent_states',
      'reason_codes',
      'ivr_menus',
      'ivr_options',
      'time_conditions',
      'holidays',
      'trunks',
      'inbound_routes',
      'outbound_routes',
      'restriction_profiles',
      'park_slots',
      'voicemail_boxes',
      'voicemail_messages',
      'contacts',
      'contact_numbers',
      'tariffs',
    ]) {
      expect(tables).toContain(table);
    }
    await first.extensions.create({ number: '201', displayName: 'Alice' });
    await first.cdrs.insert(sampleCall('kept', 1000));
    await first.close();

    const second = openSqliteStorage(dir);
    expect(second.migration).toEqual({ applied: [], version: MIGRATIONS.length });
    expect(second.db.prepare('SELECT version, applied_at FROM schema_migrations').all()).toEqual(
      MIGRATIONS.map((m) => ({ version: m.version, applied_at: 42 })),
    );
    expect((await second.extensions.get('201'))?.displayName).toBe('Alice');
    expect(await second.cdrs.get('kept')).toEqual(sampleCall('kept', 1000));
    await second.close();
  });

  it('applies only the migrations a database lacks', async () => {
    const dir = freshDir();
    const extra: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'test column',
      sql: 'ALTER TABLE cdrs ADD x TEXT',
    };
    await openSqliteStorage(dir).close();
    const upgraded = openSqliteStorage(dir, { migrations: [...MIGRATIONS, extra] });
    expect(upgraded.migration.applied).toEqual([extra.version]);
    await upgraded.close();
    const again = openSqliteStorage(dir, { migrations: [...MIGRATIONS, extra] });
    expect(again.migration.applied).toEqual([]);
    await again.close();
  });

  it('rolls back a failing migration entirely', async () => {
    const dir = freshDir();
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      sql: 'CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);',
    };
    expect(codeOf(() => openSqliteStorage(dir, { migrations: [...MIGRATIONS, broken] }))).toBe('backend');
    const db = new Database(join(dir, DEFAULT_DATABASE_FILE));
    try {
      // The earlier migrations committed; the broken one left neither its table nor its version row.
      expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: MIGRATIONS.length });
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('refuses a database written by newer code, and migrations out of order', async () => {
    const dir = freshDir();
    await openSqliteStorage(dir).close();
    const db = new Database(join(dir, DEFAULT_DATABASE_FILE));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      MIGRATIONS.length + 5,
      'from the future',
      0,
    );
    db.close();
    let message = '';
    try {
      openSqliteStorage(dir);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('schema-too-new');
      message = (error as Error).message;
    }
    expect(message).toContain(`version ${MIGRATIONS.length + 5} is newer`);

    const gap: Migration = { version: MIGRATIONS.length + 2, name: 'gap', sql: 'SELECT 1' };
    expect(codeOf(() => openSqliteStorage(freshDir(), { migrations: [...MIGRATIONS, gap] }))).toBe('invalid');
  });

  it('reports a file that is not a database as a backend error naming the path', () => {
    const dir = freshDir();
    const storage = openSqliteStorage(dir);
    storage.db.close();
    writeFileSync(join(dir, DEFAULT_DATABASE_FILE), 'this is not an SQLite file, just text that is long enough.');
    rmSync(join(dir, `${DEFAULT_DATABASE_FILE}-wal`), { force: true });
    rmSync(join(dir, `${DEFAULT_DATABASE_FILE}-shm`), { force: true });
    let error: unknown;
    try {
      openSqliteStorage(dir);
    } catch (caught) {
      error = caught;
    }
    expect((error as { code?: string }).code).toBe('backend');
    expect((error as Error).message).toContain(DEFAULT_DATABASE_FILE);
  });

  it('reports a data directory that cannot be created as a backend error', () => {
    const file = join(root, 'plain-file');
    writeFileSync(file, 'x');
    let error: unknown;
    try {
      openSqliteStorage(join(file, 'data'));
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ name: 'StorageError', code: 'backend' });
    expect((error as Error).message).toContain('plain-file');
  });

  it('throws `closed` after close, and close twice is harmless', async () => {
    const storage = openSqliteStorage(freshDir());
    await storage.close();
    await storage.close();
    await expect(storage.extensions.list()).rejects.toMatchObject({ code: 'closed' });
    await expect(storage.cdrs.insert(sampleCall('late', 0))).rejects.toMatchObject({ code: 'closed' });
  });

  it('keeps call records when the extension they name is deleted', async () => {
    const storage = openSqliteStorage(freshDir());
    try {
      await storage.extensions.create({ number: '201', displayName: 'Alice' });
      await storage.cdrs.insert(sampleCall('history', 5000));
      await storage.extensions.delete('201');
      expect(await storage.cdrs.count({ extension: '201' })).toBe(1);
    } finally {
      await storage.close();
    }
  });

  it('serves repeated extension reads from memory, and sees every change, made here or by another connection', async () => {
    const dir = freshDir();
    const storage = openSqliteStorage(dir);
    const other = new Database(join(dir, DEFAULT_DATABASE_FILE));
    try {
      await storage.extensions.create({ number: '301', displayName: 'Alice', forwarding: [] });
      const first = await storage.extensions.get('301');
      expect(await storage.extensions.get('301')).toBe(first);
      // Shared between readers, so nobody can change it under the others.
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first?.forwarding)).toBe(true);
      await storage.extensions.update('301', { displayName: 'Alice B' });
      expect((await storage.extensions.get('301'))?.displayName).toBe('Alice B');
      // Another process editing the file (sqlite3 at a shell, a second daemon) is seen too.
      other.prepare("UPDATE extensions SET display_name = 'Alice C', enabled = 0 WHERE number = '301'").run();
      expect(await storage.extensions.get('301')).toMatchObject({ displayName: 'Alice C', enabled: false });
      other.prepare("DELETE FROM extensions WHERE number = '301'").run();
      expect(await storage.extensions.get('301')).toBeUndefined();
      await storage.extensions.create({ number: '301', displayName: 'Bob' });
      expect((await storage.extensions.get('301'))?.displayName).toBe('Bob');
      await storage.extensions.delete('301');
      expect(await storage.extensions.get('301')).toBeUndefined();
    } finally {
      other.close();
      await storage.close();
    }
  });

  it('uses the indexes for the call-log queries', async () => {
    const storage = openSqliteStorage(freshDir());
    try {
      const plan = (sql: string) =>
        (storage.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('|');
      expect(plan('SELECT * FROM cdrs WHERE started_at >= 1 ORDER BY started_at, call_id LIMIT 5')).toContain(
        'cdrs_started',
      );
      expect(plan("SELECT 1 FROM cdr_legs WHERE peer_kind = 'extension' AND peer = '1' AND call_id = 'x'")).toContain(
        'cdr_legs_peer',
      );
      expect(plan('SELECT * FROM registrations WHERE expires_at <= 5')).toContain('registrations_expires');
    } finally {
      await storage.close();
    }
  });
});
