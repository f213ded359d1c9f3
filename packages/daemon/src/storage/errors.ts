// Maps SQLite failures onto the storage error codes pbx-core defines, so callers never see driver errors.
import type { StorageErrorCode } from '@switchyard/pbx-core';
import Database from 'better-sqlite3';

/** Same shape and name as pbx-core's StorageError (callers test `code`, see pbx-core's isStorageError). */
export class SqliteStorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Turns a driver error into a storage error; `constraint` is the code a constraint violation means here. */
export function fromSqliteError(error: unknown, constraint?: StorageErrorCode): Error {
  if (error instanceof SqliteStorageError) return error;
  if (error instanceof Database.SqliteError) {
    const code = error.code;
    if (constraint !== undefined && code.startsWith('SQLITE_CONSTRAINT')) {
      return new SqliteStorageError(constraint, error.message, { cause: error });
    }
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      return new SqliteStorageError('conflict', error.message, { cause: error });
    }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      return new SqliteStorageError('not-found', error.message, { cause: error });
    }
    if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG') {
      return new SqliteStorageError('invalid', error.message, { cause: error });
    }
    return new SqliteStorageError('backend', `${code}: ${error.message}`, { cause: error });
  }
  // Values the driver cannot bind (an object where a string belongs) arrive as TypeError / RangeError.
  if (error instanceof TypeError || error instanceof RangeError) {
    return new SqliteStorageError('invalid', error.message, { cause: error });
  }
  if (error instanceof Error && (error as { code?: unknown }).code !== undefined) return error;
  return new SqliteStorageError('backend', error instanceof Error ? error.message : String(error), { cause: error });
}
