// The daemon's storage backends: pbx-core's repositories on SQLite, with versioned migrations.
export { fromSqliteError, SqliteStorageError } from './errors.js';
export { type FlushClock, type FlushScheduler, nextTurn, spacedTurns } from './group-commit.js';
export { type MigrationResult, migrate, schemaVersion } from './migrate.js';
export { MIGRATIONS, type Migration } from './schema.js';
export { DEFAULT_DATABASE_FILE, openSqliteStorage, SqliteStorage, type SqliteStorageOptions } from './sqlite.js';
