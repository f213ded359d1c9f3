// Group commit: record writes that arrive within one event-loop turn share one transaction, so one WAL fsync
// (synchronous=FULL syncs on every commit) serves them all. A writer's promise settles only after that commit,
// so "resolved" still means "on disk".
import type Database from 'better-sqlite3';
import { fromSqliteError, SqliteStorageError } from './errors.js';

/** Runs `flush` once the current event-loop turn's I/O callbacks are done (default: setImmediate). */
export type FlushScheduler = (flush: () => void) => void;

export const nextTurn: FlushScheduler = (flush) => {
  setImmediate(flush);
};

/** The timers `spacedTurns` needs (the daemon passes its clock). */
export interface FlushClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
}

/**
 * Like nextTurn, but at most one commit per `gapMs`: a write after a quiet spell is committed on the next turn;
 * under load, writes wait out the rest of the gap, so one WAL fsync (it blocks the event loop) serves every call
 * that ended meanwhile rather than one per turn. A write waits `gapMs` at most for its promise.
 */
export function spacedTurns(clock: FlushClock, gapMs: number): FlushScheduler {
  let last = Number.NEGATIVE_INFINITY;
  return (flush) => {
    const run = () => {
      last = clock.now();
      flush();
    };
    const wait = last + gapMs - clock.now();
    if (wait <= 0) setImmediate(run);
    else clock.setTimeout(run, wait);
  };
}

interface PendingWrite {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Thrown inside a batch when SQLite rolled the whole transaction back (I/O error, disk full). */
class BatchAborted extends Error {}

export class GroupCommit {
  #pending: PendingWrite[] = [];
  #scheduled = false;
  #commits = 0;
  readonly #begin;
  readonly #commit;
  readonly #rollback;
  readonly #savepoint;
  readonly #release;
  readonly #rollbackTo;

  constructor(
    private readonly db: Database.Database,
    private readonly schedule: FlushScheduler | 'immediate',
  ) {
    // IMMEDIATE: take the write lock up front, so a busy database fails the batch before any work runs.
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#savepoint = db.prepare('SAVEPOINT grouped_write');
    this.#release = db.prepare('RELEASE grouped_write');
    this.#rollbackTo = db.prepare('ROLLBACK TO grouped_write');
  }

  /** Transactions committed so far. */
  get commits(): number {
    return this.#commits;
  }

  /** Writes waiting for the next commit. */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Queues `work` (synchronous statements) for the next group commit. Its result resolves the promise after the
   * commit; what it throws rejects only this write (its statements are rolled back to a savepoint).
   */
  enqueue<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.schedule === 'immediate') this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        this.schedule(() => {
          this.#scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Commits every queued write now (before a read, so reads see earlier writes; before close). Never throws. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    const results: unknown[] = new Array(batch.length);
    const failures: unknown[] = new Array(batch.length);
    try {
      this.#begin.run();
      for (let i = 0; i < batch.length; i++) {
        this.#savepoint.run();
        try {
          results[i] = batch[i]!.work();
          this.#release.run();
        } catch (error) {
          if (!this.db.inTransaction) throw new BatchAborted('transaction rolled back', { cause: error });
          this.#rollbackTo.run();
          this.#release.run();
          failures[i] = fromSqliteError(error);
        }
      }
      this.#commit.run();
      this.#commits++;
    } catch (error) {
      try {
        if (this.db.open && this.db.inTransaction) this.#rollback.run();
      } catch {
        // The connection is unusable; the rejection below reports the original failure.
      }
      const cause = error instanceof BatchAborted ? error.cause : error;
      const failure = new SqliteStorageError(
        'backend',
        `commit of ${batch.length} writes failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
      // Nothing of the batch is on disk: every writer learns it.
      for (const write of batch) write.reject(failure);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const write = batch[i]!;
      if (failures[i] !== undefined) write.reject(failures[i]);
      else write.resolve(results[i]);
    }
  }
}
