// Digest computations shared by the server and client sides: RFC 2617 / RFC 7616 section 3.4 as SIP uses them
// (RFC 3261 22.4), with the algorithms of RFC 8760 (MD5, SHA-256, SHA-512/256, and their -sess variants).

import { createHash, timingSafeEqual } from 'node:crypto';
import { quoteString } from '../message/index.js';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

/** The hash under an algorithm name (RFC 7616 3.2: the -sess variants use the same hash). */
export type DigestHash = 'MD5' | 'SHA-256' | 'SHA-512-256';

export type DigestQop = 'auth' | 'auth-int';

const NODE_HASH: Readonly<Record<DigestHash, string>> = {
  MD5: 'md5',
  'SHA-256': 'sha256',
  'SHA-512-256': 'sha512-256',
};

/** Parses an algorithm token case-insensitively (RFC 7616 3.3); undefined for unknown ones. Absent means MD5. */
export function parseDigestAlgorithm(token: string | undefined): DigestAlgorithm | undefined {
  if (token === undefined) return 'MD5';
  switch (token.toUpperCase()) {
    case 'MD5':
      return 'MD5';
    case 'MD5-SESS':
      return 'MD5-sess';
    case 'SHA-256':
      return 'SHA-256';
    case 'SHA-256-SESS':
      return 'SHA-256-sess';
    case 'SHA-512-256':
      return 'SHA-512-256';
    case 'SHA-512-256-SESS':
      return 'SHA-512-256-sess';
    default:
      return undefined;
  }
}

export function digestHashOf(algorithm: DigestAlgorithm): DigestHash {
  if (algorithm.startsWith('SHA-512-256')) return 'SHA-512-256';
  if (algorithm.startsWith('SHA-256')) return 'SHA-256';
  return 'MD5';
}

function isSess(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith('-sess');
}

/** Lower-case hex of H(data). */
export function digestHex(hash: DigestHash, data: string | Uint8Array): string {
  return createHash(NODE_HASH[hash]).update(data).digest('hex');
}

/** H(username ":" realm ":" password): what a credential store may keep instead of the password. */
export function computeHa1(hash: DigestHash, username: string, realm: string, password: string): string {
  return digestHex(hash, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  readonly algorithm: DigestAlgorithm;
  /** H(username:realm:password) in hex for the algorithm's hash (not yet the -sess form). */
  readonly ha1: string;
  readonly nonce: string;
  readonly method: string;
  /** The digest-uri as it appears in the credentials. */
  readonly uri: string;
  /** Absent: RFC 2069 compatibility (no nc, no cnonce). */
  readonly qop?: DigestQop;
  /** 8 hex digits (RFC 7616 3.4). */
  readonly nc?: string;
  readonly cnonce?: string;
  /** Entity body for qop=auth-int. */
  readonly body?: Uint8Array;
}

/** request-digest of RFC 7616 3.4.1 (and RFC 2069 when qop is absent). */
export function computeDigestResponse(input: DigestResponseInput): string {
  const hash = digestHashOf(input.algorithm);
  const cnonce = input.cnonce ?? '';
  // RFC 7616 3.4.2: A1 for -sess is H(user:realm:pass):nonce:cnonce.
  const ha1 = isSess(input.algorithm) ? digestHex(hash, `${input.ha1}:${input.nonce}:${cnonce}`) : input.ha1;
  // RFC 7616 3.4.3: A2 = method:uri, plus :H(body) for auth-int.
  const a2 =
    input.qop === 'auth-int'
      ? `${input.method}:${input.uri}:${digestHex(hash, input.body ?? new Uint8Array(0))}`
      : `${input.method}:${input.uri}`;
  const ha2 = digestHex(hash, a2);
  if (input.qop === undefined) return digestHex(hash, `${ha1}:${input.nonce}:${ha2}`);
  return digestHex(hash, `${ha1}:${input.nonce}:${input.nc ?? ''}:${cnonce}:${input.qop}:${ha2}`);
}

/** Constant-time comparison of two hex strings (length leaks, content does not). */
export function digestEquals(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'latin1');
  const y = Buffer.from(b.toLowerCase(), 'latin1');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** nc as 8 lower-case hex digits (RFC 7616 3.4). */
export function formatNonceCount(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Parses an nc value: exactly 8 hex digits; -1 when malformed. */
export function parseNonceCount(value: string): number {
  if (value.length !== 8) return -1;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const c = value.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    n = n * 16 + d;
  }
  return n;
}

/** Writes `Digest name="value", ...`; tokens listed in `bare` are written unquoted (RFC 7616 3.3/3.4). */
export function formatDigest(
  params: ReadonlyArray<readonly [string, string | undefined]>,
  bare: ReadonlySet<string>,
): string {
  const parts: string[] = [];
  for (const [name, value] of params) {
    if (value === undefined) continue;
    parts.push(bare.has(name) ? `${name}=${value}` : `${name}=${quoteString(value)}`);
  }
  return `Digest ${parts.join(', ')}`;
}
