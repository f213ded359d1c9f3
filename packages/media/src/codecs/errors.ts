/** Typed codec errors: every failure carries a stable `code`. */
export class CodecError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
  }
}

/** The encoding name (or its options) is not one this package implements. */
export class UnsupportedCodecError extends CodecError {
  readonly encoding: string;
  constructor(encoding: string, detail?: string) {
    super('UNSUPPORTED_CODEC', `unsupported codec ${JSON.stringify(encoding)}${detail ? `: ${detail}` : ''}`);
    this.name = 'UnsupportedCodecError';
    this.encoding = encoding;
  }
}

/** An output buffer cannot hold the result, or a parameter is out of range. */
export class CodecBufferError extends CodecError {
  constructor(message: string) {
    super('CODEC_BUFFER', message);
    this.name = 'CodecBufferError';
  }
}
