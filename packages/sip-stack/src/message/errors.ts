// Typed parse errors: what was wrong, where, and whether the sender can be told (RFC 3261 8.2 / 16.3 / 18.3).

/** Machine-readable reason of a SipParseError. */
export type SipParseErrorCode =
  | 'message-too-large'
  | 'too-many-headers'
  | 'line-too-long'
  | 'incomplete'
  | 'start-line'
  | 'version'
  | 'status-code'
  | 'request-uri'
  | 'header-line'
  | 'header-value'
  | 'missing-header'
  | 'duplicate-header'
  | 'cseq-mismatch'
  | 'content-length'
  | 'uri'
  | 'stream-closed';

/** Raw values of the headers a 400 response copies (RFC 3261 8.2.6.2), as far as they could be read. */
export interface SipParsePartial {
  /** True when the message was a request (only requests are answered). */
  readonly isRequest: boolean;
  readonly method: string | undefined;
  /** All Via values in order (one string per header line, comma lists not split). */
  readonly via: readonly string[];
  readonly callId: string | undefined;
  readonly cseq: string | undefined;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

export interface SipParseErrorDetails {
  /** Byte offset in the input where the fault was found. */
  readonly offset?: number;
  /** 1-based line number of the fault, when it lies in the start line or headers. */
  readonly line?: number;
  /** The SIP status a UAS answers with (400 by default; 505 for a bad version, 501 for unknown methods...). */
  readonly status?: number;
  readonly partial?: SipParsePartial;
  /** For a stream: the framing is lost and the connection must be closed (RFC 3261 18.3). */
  readonly fatal?: boolean;
}

/** A malformed SIP message. Never thrown for anything but bad input. */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  readonly code: SipParseErrorCode;
  /** What was wrong, without the position. */
  readonly detail: string;
  readonly offset: number | undefined;
  readonly line: number | undefined;
  /** SIP status code this maps to (RFC 3261 21.4.1 400, 21.5.6 505, 21.5.2 501). */
  readonly status: number;
  /** True when the message is a request and enough was read (a Via at least) to answer it with `status`. */
  readonly canRespond: boolean;
  readonly partial: SipParsePartial | undefined;
  /** True when a stream's framing is lost (connection must close). */
  readonly fatal: boolean;

  constructor(code: SipParseErrorCode, message: string, details: SipParseErrorDetails = {}) {
    const where =
      details.line !== undefined
        ? ` (line ${details.line}, byte ${details.offset ?? '?'})`
        : details.offset !== undefined
          ? ` (byte ${details.offset})`
          : '';
    super(message + where);
    this.code = code;
    this.detail = message;
    this.offset = details.offset;
    this.line = details.line;
    this.status = details.status ?? 400;
    this.partial = details.partial;
    this.fatal = details.fatal ?? false;
    const p = details.partial;
    this.canRespond = p?.isRequest === true && p.via.length > 0 && p.method !== 'ACK';
  }
}
