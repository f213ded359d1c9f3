// Errors every storage implementation throws, told apart by `code` so that callers (and the shared contract tests)
// do not depend on which backend raised them.

export type StorageErrorCode =
  /** The row the operation needs (an extension, a call record) does not exist. */
  | 'not-found'
  /** A row with the same key already exists. */
  | 'conflict'
  /** The input breaks a rule of the data model (unknown status, end before start, bad cursor). */
  | 'invalid'
  /** The database was written by a newer Switchyard than this one. */
  | 'schema-too-new'
  /** The storage was closed. */
  | 'closed'
  /** The backend failed (disk full, corrupt file, lost connection). */
  | 'backend';

export const STORAGE_ERROR_CODES: ReadonlySet<StorageErrorCode> = new Set([
  'not-found',
  'conflict',
  'invalid',
  'schema-too-new',
  'closed',
  'backend',
]);

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * True for any error a storage backend raised with a storage code. Backends outside this package (the daemon's
 * SQLite) may throw their own class, so this checks the shape rather than the prototype.
 */
export function isStorageError(error: unknown): error is Error & { readonly code: StorageErrorCode } {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && STORAGE_ERROR_CODES.has(code as StorageErrorCode);
}
