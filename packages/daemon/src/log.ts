// Structured logs: one JSON object a line, with a level; lines below the configured level are not written.
import type { LogLevel, SwitchyardConfig } from './config.js';

/** One structured log line (one JSON object a line). */
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(text: string | undefined): text is LogLevel {
  return text !== undefined && Object.hasOwn(RANK, text);
}

/**
 * The level in force: `SWITCHYARD_LOG_LEVEL` from the environment wins over the config's `log.level`, so an operator
 * can turn on debug for one run without editing the file; default info.
 */
export function logLevelOf(config: Pick<SwitchyardConfig, 'log'> | undefined, env: NodeJS.ProcessEnv): LogLevel {
  const fromEnv = env.SWITCHYARD_LOG_LEVEL?.toLowerCase();
  if (isLogLevel(fromEnv)) return fromEnv;
  return config?.log?.level ?? 'info';
}

/** A log whose level a config reload can change. */
export interface LevelledLog extends LogFn {
  readonly level: LogLevel;
  setLevel(level: LogLevel): void;
}

export function isLevelledLog(log: LogFn): log is LevelledLog {
  return typeof (log as Partial<LevelledLog>).setLevel === 'function';
}

export const jsonLog = (
  write: (line: string) => void = (l) => process.stdout.write(l),
  level: LogLevel = 'info',
): LevelledLog => {
  let current = level;
  let min = RANK[level];
  const log: LogFn = (lineLevel, msg, fields = {}) => {
    if (RANK[lineLevel] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lineLevel, msg, ...fields })}\n`);
  };
  // defineProperties, not Object.assign: assign would copy the getter's value once.
  return Object.defineProperties(log, {
    level: { get: () => current },
    setLevel: {
      value: (next: LogLevel) => {
        current = next;
        min = RANK[next];
      },
    },
  }) as LevelledLog;
};

/** Lines collected for one write; see `batchedLines`. */
export interface LineBatch {
  /** Queues a line (with its newline); written with the rest of this event-loop turn's lines. */
  readonly write: (line: string) => void;
  /** Writes what is queued now (before exit, or before something else writes to the same stream). */
  readonly flush: () => void;
}

/**
 * Joins the lines logged in one event-loop turn into one write: a call logs a line per event, and each line was a
 * write(2) of its own to the log file or pipe. `schedule` runs the flush after the turn (default setImmediate).
 */
export function batchedLines(
  write: (text: string) => void,
  schedule: (flush: () => void) => void = (flush) => void setImmediate(flush),
): LineBatch {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  return {
    write: (line) => {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    },
    flush,
  };
}
