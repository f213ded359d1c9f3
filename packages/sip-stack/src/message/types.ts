// Typed shapes of SIP header values (RFC 3261 section 25 / 20). The parsing functions live in headers.ts and
// uri.ts; the message classes in message.ts expose cached accessors returning these.

/** Header or URI parameters: names lower-cased (they are case-insensitive), values as received (null = no value). */
export type SipParams = ReadonlyMap<string, string | null>;

/** `sip:` / `sips:` URI (RFC 3261 19.1). `user` and `password` are %-unescaped; `host` carries no IPv6 brackets. */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly host: string;
  readonly hostType: 'name' | 'ipv4' | 'ipv6';
  readonly port: number | undefined;
  /** uri-parameters (`;lr`, `;transport=tcp`), names lower-cased, values %-unescaped. */
  readonly params: SipParams;
  /** `?name=value&...` headers, names as written, values %-unescaped. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The URI text exactly as it was parsed. */
  readonly raw: string;
}

/** `tel:` URI (RFC 3966): the number (global `+...` or local) and its parameters. */
export interface TelUri {
  readonly scheme: 'tel';
  readonly number: string;
  readonly params: SipParams;
  readonly raw: string;
}

/** Any other absoluteURI (RFC 3261 25.1 allows them, e.g. `mailto:`, `urn:`): kept opaque. */
export interface OtherUri {
  readonly scheme: string;
  /** Everything after the first `:`. */
  readonly opaque: string;
  readonly raw: string;
}

export type AnyUri = SipUri | TelUri | OtherUri;

/** name-addr / addr-spec with header parameters (From, To, Contact, Route, Record-Route, Refer-To, ...). */
export interface NameAddr {
  /** Display name, unquoted and with quoted-pair escapes resolved; undefined when absent. */
  readonly displayName: string | undefined;
  /** The URI text (inside `<...>` when bracketed). Parse it with `parseUri`. */
  readonly uri: string;
  /** True when the URI was written inside `<...>`. */
  readonly bracketed: boolean;
  /** Header parameters after the name-addr (`;tag=`, `;expires=`, `;q=`), names lower-cased. */
  readonly params: SipParams;
}

/** From / To (RFC 3261 20.20, 20.39). */
export interface FromTo extends NameAddr {
  readonly tag: string | undefined;
}

/** One Contact value (RFC 3261 20.10); `star` for `Contact: *` (REGISTER removal). */
export interface ContactValue extends NameAddr {
  readonly star: boolean;
  /** The `expires` contact parameter, when present and numeric. */
  readonly expires: number | undefined;
  /** The `q` contact parameter as a number, when present. */
  readonly q: number | undefined;
}

/** One Via value (RFC 3261 20.42, 18.2.1; RFC 3581 rport). `host` carries no IPv6 brackets. */
export interface Via {
  /** Protocol name, usually `SIP`. */
  readonly protocol: string;
  readonly version: string;
  /** Transport upper-cased: UDP, TCP, TLS, SCTP, WS, WSS, or any other token. */
  readonly transport: string;
  readonly host: string;
  readonly hostType: 'name' | 'ipv4' | 'ipv6';
  readonly port: number | undefined;
  readonly branch: string | undefined;
  readonly received: string | undefined;
  /** RFC 3581: undefined when absent, null when present without a value, else the port. */
  readonly rport: number | null | undefined;
  readonly maddr: string | undefined;
  readonly ttl: number | undefined;
  readonly params: SipParams;
}

/** CSeq (RFC 3261 20.16). */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** Content-Type (RFC 3261 20.15): type and subtype lower-cased, parameters (e.g. boundary) unquoted. */
export interface MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly params: SipParams;
}

/**
 * WWW-Authenticate / Proxy-Authenticate challenge or Authorization / Proxy-Authorization credentials
 * (RFC 3261 20.7, 20.27, 20.28, 20.44, 25.1; RFC 2617). Param names lower-cased, quoted values unquoted.
 */
export interface AuthValue {
  /** The scheme as written (`Digest`); compare case-insensitively. */
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
  /** For non-parameter schemes (`Basic dXNlcjpwYXNz`): the single token68 after the scheme. */
  readonly token68: string | undefined;
}

/** Event (RFC 6665 8.2.1 / RFC 3265): the package (with template suffixes) and its params (`id`). */
export interface EventValue {
  readonly event: string;
  readonly params: SipParams;
}

/** Subscription-State (RFC 6665 8.2.3). */
export interface SubscriptionStateValue {
  readonly state: string;
  readonly reason: string | undefined;
  readonly expires: number | undefined;
  readonly retryAfter: number | undefined;
  readonly params: SipParams;
}

/** Replaces (RFC 3891 6.1). */
export interface ReplacesValue {
  readonly callId: string;
  readonly toTag: string | undefined;
  readonly fromTag: string | undefined;
  readonly earlyOnly: boolean;
  readonly params: SipParams;
}

/** Session-Expires (RFC 4028 4). */
export interface SessionExpiresValue {
  readonly delta: number;
  readonly refresher: 'uac' | 'uas' | undefined;
  readonly params: SipParams;
}

/** Limits against abusive input, each enforced before the work it guards. */
export interface SipParseLimits {
  /** Largest whole message (start line, headers and body) in bytes. Default 65536. */
  readonly maxMessageSize?: number;
  /** Most header lines (each folded line counts once). Default 256. */
  readonly maxHeaders?: number;
  /** Longest single physical line in bytes. Default 8192. */
  readonly maxLineLength?: number;
}

/** Options of `parseMessage`. */
export interface ParseOptions {
  readonly limits?: SipParseLimits;
  /**
   * 'datagram' (default): the bytes are one UDP datagram or WebSocket message; 'stream': the bytes are exactly one
   * message cut from a TCP/TLS stream by SipStreamFramer. Either way a missing Content-Length means the body is
   * the rest (RFC 3261 18.3, RFC 7118 5) and octets past Content-Length are discarded.
   */
  readonly framing?: 'datagram' | 'stream';
}
