export type DspErrorCode = 'INVALID_ARGUMENT' | 'UNSUPPORTED_RATE' | 'OUTPUT_TOO_SMALL' | 'UNKNOWN_TONE';

/** A DSP building block was asked for something it cannot do (bad rate, bad gain, unknown preset). */
export class DspError extends Error {
  readonly code: DspErrorCode;
  constructor(code: DspErrorCode, message: string) {
    super(message);
    this.name = 'DspError';
    this.code = code;
  }
}
