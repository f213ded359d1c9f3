// The typed shape of a session description (RFC 4566 section 5). parseSdp returns fresh plain objects the caller
// owns and may edit before serializeSdp writes them back. Lines are kept in the order RFC 4566 5 prescribes;
// attributes (known or not) keep their order, so a description written in that order round-trips exactly.

/** o= (RFC 4566 5.2). Session id and version are kept as digit strings: they may exceed 2^53 (NTP values). */
export interface SdpOrigin {
  username: string;
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addressType: string;
  address: string;
}

/** c= (RFC 4566 5.7). `ttl` (IP4 multicast) and `addressCount` come from the `/` suffixes of the address. */
export interface SdpConnection {
  netType: string;
  /** `IP4` or `IP6` (compare case-insensitively); other tokens are kept as written. */
  addressType: string;
  address: string;
  ttl?: number;
  addressCount?: number;
}

/** b= (RFC 4566 5.8): `CT`, `AS`, `TIAS` (RFC 3890), `RS`/`RR` (RFC 3556) or any other token; kbit/s or bit/s. */
export interface SdpBandwidth {
  type: string;
  value: number;
}

/** t= (RFC 4566 5.9) with its r= repeat lines (RFC 4566 5.10) kept as written. `0 0` is a permanent session. */
export interface SdpTiming {
  start: number;
  stop: number;
  repeats: string[];
}

/** a= (RFC 4566 5.13): a property attribute has no value (`a=rtcp-mux`), a value attribute has one (may be ''). */
export interface SdpAttribute {
  name: string;
  value?: string;
}

/** A line whose type letter RFC 4566 does not define (5: "MUST ignore"); kept at the end of its section. */
export interface SdpExtraLine {
  type: string;
  value: string;
}

/** One media description: m= (RFC 4566 5.14) and the i= c= b= k= a= lines that follow it. */
export interface SdpMediaDescription {
  /** `audio`, `video`, `text`, `application`, `message`, `image` or another token. */
  type: string;
  /** 0 marks a rejected or disabled stream (RFC 3264 6, 8.2). */
  port: number;
  /** The `/<number of ports>` suffix, when written. */
  portCount?: number;
  /** Transport protocol: `RTP/AVP`, `RTP/SAVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, `udptl`... */
  protocol: string;
  /** Formats in preference order: payload type numbers for RTP profiles, other tokens otherwise. */
  formats: string[];
  information?: string;
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  encryptionKey?: string;
  attributes: SdpAttribute[];
  extraLines: SdpExtraLine[];
}

/** A whole session description. */
export interface SdpSessionDescription {
  /** v= (RFC 4566 5.1), always 0 today. */
  version: number;
  origin: SdpOrigin;
  /** s= (RFC 4566 5.3); `-` or a single space when there is no name. */
  sessionName: string;
  information?: string;
  uri?: string;
  emails: string[];
  phones: string[];
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  timing: SdpTiming[];
  /** z= (RFC 4566 5.11) as written. */
  timeZones?: string;
  encryptionKey?: string;
  attributes: SdpAttribute[];
  extraLines: SdpExtraLine[];
  media: SdpMediaDescription[];
}

/** Limits against abusive input, each enforced before the work it guards. */
export interface SdpParseLimits {
  /** Largest description in bytes (or UTF-16 code units for a string). Default 65536. */
  maxSize?: number;
  /** Most lines. Default 2048. */
  maxLines?: number;
  /** Longest line in characters. Default 4096. */
  maxLineLength?: number;
  /** Most m= sections. Default 64. */
  maxMedia?: number;
  /** Most a= lines in the whole description. Default 1024. */
  maxAttributes?: number;
}

/** RFC 3264 6.1 stream directions (RFC 4566 6 attributes). */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
