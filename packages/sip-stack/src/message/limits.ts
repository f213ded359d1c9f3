import type { SipParseLimits } from './types.js';

/** Defaults: 64 KiB message (the UDP maximum), 256 headers, 8 KiB line. */
export const DEFAULT_SIP_PARSE_LIMITS: Required<SipParseLimits> = Object.freeze({
  maxMessageSize: 65536,
  maxHeaders: 256,
  maxLineLength: 8192,
});

export function resolveLimits(limits: SipParseLimits | undefined): Required<SipParseLimits> {
  if (limits === undefined) return DEFAULT_SIP_PARSE_LIMITS;
  return {
    maxMessageSize: limits.maxMessageSize ?? DEFAULT_SIP_PARSE_LIMITS.maxMessageSize,
    maxHeaders: limits.maxHeaders ?? DEFAULT_SIP_PARSE_LIMITS.maxHeaders,
    maxLineLength: limits.maxLineLength ?? DEFAULT_SIP_PARSE_LIMITS.maxLineLength,
  };
}
