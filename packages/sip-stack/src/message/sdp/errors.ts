// Typed errors of the SDP layer: what was wrong and on which line (1-based), never thrown for good input.

/** Machine-readable reason of an SdpParseError. */
export type SdpParseErrorCode =
  | 'too-large'
  | 'too-many-lines'
  | 'line-too-long'
  | 'too-many-media'
  | 'too-many-attributes'
  | 'encoding'
  | 'empty'
  | 'line-syntax'
  | 'version-first'
  | 'version'
  | 'missing-line'
  | 'duplicate-line'
  | 'misplaced-line'
  | 'origin'
  | 'connection'
  | 'bandwidth'
  | 'timing'
  | 'media'
  | 'port'
  | 'format'
  | 'attribute';

/** A malformed session description (RFC 4566). `line` is 1-based when the fault lies on one line. */
export class SdpParseError extends Error {
  override readonly name = 'SdpParseError';
  readonly code: SdpParseErrorCode;
  readonly line: number | undefined;

  constructor(code: SdpParseErrorCode, message: string, line?: number) {
    super(line !== undefined ? `${message} (SDP line ${line})` : message);
    this.code = code;
    this.line = line;
  }
}

/** Machine-readable reason of an SdpSerializeError. */
export type SdpSerializeErrorCode = 'invalid-field' | 'invalid-option';

/**
 * A session description or offer/answer option that cannot be written as valid SDP (a value holding CR or LF,
 * a port out of range...). Raised instead of writing a line that would change the description's meaning.
 */
export class SdpSerializeError extends Error {
  override readonly name = 'SdpSerializeError';
  readonly code: SdpSerializeErrorCode;
  /** The field at fault, e.g. `media[1].port`. */
  readonly field: string;

  constructor(code: SdpSerializeErrorCode, field: string, message: string) {
    super(`${field}: ${message}`);
    this.code = code;
    this.field = field;
  }
}
