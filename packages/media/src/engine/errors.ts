/** Why an engine command failed; stable strings that callers can switch on. */
export type MediaEngineErrorCode =
  | 'ENGINE_CLOSED'
  | 'UNKNOWN_SESSION'
  | 'UNKNOWN_CONFERENCE'
  | 'SESSION_EXISTS'
  | 'NO_PORT_AVAILABLE'
  | 'BIND_FAILED'
  | 'UNSUPPORTED_CODEC'
  | 'NO_REMOTE'
  | 'INVALID_ARGUMENT'
  | 'BUSY'
  | 'NOT_MANUAL_CLOCK'
  | 'FILE_ERROR'
  | 'WORKER_CRASHED'
  | 'WORKER_UNAVAILABLE'
  | 'STREAM_CLOSED'
  | 'INTERNAL';

/** Every failure the engine reports, on either thread, is one of these. */
export class MediaEngineError extends Error {
  readonly code: MediaEngineErrorCode;
  constructor(code: MediaEngineErrorCode, message: string) {
    super(message);
    this.name = 'MediaEngineError';
    this.code = code;
  }
}
