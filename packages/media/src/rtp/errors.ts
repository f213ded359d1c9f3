/** Error codes of the RTP module (thrown only from configuration calls, never from the receive path). */
export type RtpErrorCode = 'INVALID_ARGUMENT' | 'BUFFER_TOO_SMALL' | 'BAD_KEY_PARAMS' | 'UNSUPPORTED_SUITE';

/** A typed error of the RTP module. */
export class RtpError extends Error {
  readonly code: RtpErrorCode;
  constructor(code: RtpErrorCode, message: string) {
    super(message);
    this.name = 'RtpError';
    this.code = code;
  }
}
