// Versioned schema migrations: each applied once, in order, inside its own transaction, and recorded in
// schema_migrations. Re-running is a no-op; a database written by newer code is refused rather than guessed at.
import type Database from 'better-sqlite3';
import { SqliteStorageError } from './errors.js';
import type { Migration } from './schema.js';

export interface MigrationResult {
  /** Versions applied by this call, in order (empty when the schema was current). */
  readonly applied: readonly number[];
  readonly version: number;
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new SqliteStorageError(
        'invalid',
        `migration ${migration.name}: version ${migration.version}, expected ${index + 1}`,
      );
    }
  });
}

export function schemaVersion(db: Database.Database): number {
  const row = db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as { version: number | null };
  return row.version ?? 0;
}

export function migrate(db: Database.Database, migrations: readonly Migration[], now: () => number): MigrationResult {
  checkOrder(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const latest = migrations.length;
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  // Each migration commits on its own, so a failing one leaves the database at the previous version. IMMEDIATE
  // takes the write lock before reading the version, so two processes opening one new file do not both apply it.
  const applyNext = db.transaction((): boolean => {
    const current = schemaVersion(db);
    if (current > latest) {
      throw new SqliteStorageError(
        'schema-too-new',
        `database schema version ${current} is newer than this Switchyard knows (${latest}): ` +
          'run the Switchyard release that wrote it, or point the data directory elsewhere',
      );
    }
    const migration = migrations[current];
    if (migration === undefined) return false;
    db.exec(migration.sql);
    record.run(migration.version, migration.name, now());
    applied.push(migration.version);
    return true;
  });
  while (applyNext.immediate()) {
    // next migration
  }
  return { applied, version: schemaVersion(db) };
}
