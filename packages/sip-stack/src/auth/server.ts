// Digest authentication of requests by a UAS, registrar or proxy (RFC 3261 22.1-22.4, RFC 7616, RFC 8760).

import { type Clock, systemClock } from '../clock.js';
import { type AuthValue, parseUri, type SipRequest, uriEquals } from '../message/index.js';
import {
  computeDigestResponse,
  computeHa1,
  type DigestAlgorithm,
  type DigestHash,
  type DigestQop,
  digestEquals,
  digestHashOf,
  formatDigest,
  parseDigestAlgorithm,
  parseNonceCount,
} from './digest.js';
import type { AuthFailureLimiter } from './limiter.js';
import { NonceCountTracker, NonceIssuer } from './nonce.js';

/** What a credential store knows of a user: the password, or H(user:realm:password) per hash. */
export type StoredCredentials =
  | { readonly password: string }
  | { readonly ha1Md5?: string; readonly ha1Sha256?: string; readonly ha1Sha512_256?: string };

export interface CredentialStore {
  lookup(realm: string, username: string): StoredCredentials | undefined | Promise<StoredCredentials | undefined>;
}

export interface DigestServerOptions {
  readonly realm: string;
  readonly credentials: CredentialStore;
  /** HMAC key for nonces; random per instance when omitted (share it between servers that share nonces). */
  readonly secret?: Uint8Array;
  readonly clock?: Clock;
  /** How long a nonce is accepted; afterwards a correct digest gets stale=true. Default 300 s. */
  readonly nonceLifetimeMs?: number;
  /** Offered in this order, one challenge each (RFC 8760 2.4: most preferred first). Default SHA-256, MD5. */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** Accept RFC 2069 credentials (no qop, so no replay protection). Default false. */
  readonly allowRfc2069?: boolean;
  /** Out-of-order nonce counts accepted below the highest seen (at most 32). Default 32. */
  readonly nonceCountWindow?: number;
  /** Nonces whose counts are remembered at once. Default 65536. */
  readonly maxTrackedNonces?: number;
  readonly limiter?: AuthFailureLimiter;
}

export interface AuthenticateOptions {
  /** Realm to check against, instead of the server's default. */
  readonly realm?: string;
  /** Proxy authentication: Proxy-Authorization in, 407 with Proxy-Authenticate out (RFC 3261 22.3). */
  readonly proxy?: boolean;
  /** Source address, for the failure limiter. */
  readonly source?: string;
}

export type DigestFailure =
  /** No credentials for this realm: the first challenge. */
  | 'no-credentials'
  /** Credentials that cannot be read or lack required parameters. */
  | 'malformed'
  /** Algorithm or qop that was not offered. */
  | 'unsupported'
  /** The digest-uri does not name the Request-URI (RFC 3261 22.4, RFC 2617 3.2.2.5). */
  | 'uri-mismatch'
  /** Unknown user or wrong password (not told apart, so user names do not leak). */
  | 'invalid'
  /** Correct digest on an expired or unknown nonce: stale=true. */
  | 'stale'
  /** A nonce count seen before. */
  | 'replay'
  /** The source is blocked by the failure limiter. */
  | 'blocked';

export type DigestVerdict =
  | { readonly ok: true; readonly username: string; readonly realm: string; readonly algorithm: DigestAlgorithm }
  | {
      readonly ok: false;
      readonly reason: DigestFailure;
      /** Status to answer with: 401 / 407 with a challenge, 400 for bad credentials syntax, 403 when blocked. */
      readonly status: number;
      /** Headers of the answer (the challenges), ready for createResponse's `headers`. */
      readonly headers: ReadonlyArray<readonly [string, string]>;
    };

const CHALLENGE_BARE = new Set(['algorithm', 'stale']);
// A syntactically valid user that never matches, so unknown users cost the same work as known ones.
const DUMMY_HA1: Readonly<Record<DigestHash, string>> = {
  MD5: '0'.repeat(32),
  'SHA-256': '0'.repeat(64),
  'SHA-512-256': '0'.repeat(64),
};

function storedHa1(stored: StoredCredentials, hash: DigestHash, username: string, realm: string): string | undefined {
  if ('password' in stored) return computeHa1(hash, username, realm, stored.password);
  if (hash === 'MD5') return stored.ha1Md5;
  if (hash === 'SHA-256') return stored.ha1Sha256;
  return stored.ha1Sha512_256;
}

/** The server side of Digest: challenges, and verdicts on credentials. */
export class DigestServer {
  private readonly clock: Clock;
  private readonly nonces: NonceIssuer;
  private readonly counts: NonceCountTracker;
  private readonly algorithms: readonly DigestAlgorithm[];

  constructor(private readonly options: DigestServerOptions) {
    this.clock = options.clock ?? systemClock;
    const now = () => this.clock.now();
    const lifetime = options.nonceLifetimeMs ?? 300_000;
    this.nonces = new NonceIssuer(options.secret, now, lifetime);
    this.counts = new NonceCountTracker(
      Math.min(32, options.nonceCountWindow ?? 32),
      options.maxTrackedNonces ?? 65_536,
      lifetime,
      now,
    );
    this.algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
  }

  /** Nonces whose counts are being tracked (bounded by maxTrackedNonces). */
  get trackedNonces(): number {
    return this.counts.size;
  }

  /** Challenge header values for a realm, one per algorithm, each with a fresh nonce (RFC 7616 3.3). */
  challenges(realm: string = this.options.realm, stale = false): string[] {
    return this.algorithms.map((algorithm) =>
      formatDigest(
        [
          ['realm', realm],
          ['nonce', this.nonces.issue(realm)],
          ['algorithm', algorithm],
          ['qop', 'auth'],
          ['stale', stale ? 'true' : undefined],
        ],
        CHALLENGE_BARE,
      ),
    );
  }

  /** Checks the request's credentials for the realm. Never throws on malformed input. */
  async authenticate(request: SipRequest, options: AuthenticateOptions = {}): Promise<DigestVerdict> {
    const realm = options.realm ?? this.options.realm;
    const proxy = options.proxy === true;
    const limiter = this.options.limiter;
    const source = options.source;
    const fail = (reason: DigestFailure, status?: number): DigestVerdict => {
      if (status === 400 || status === 403) return { ok: false, reason, status, headers: [] };
      const name = proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
      const headers = this.challenges(realm, reason === 'stale').map((v) => [name, v] as const);
      return { ok: false, reason, status: proxy ? 407 : 401, headers };
    };
    if (limiter !== undefined && source !== undefined && limiter.isBlocked(source)) return fail('blocked', 403);

    let all: AuthValue[];
    try {
      all = proxy ? request.proxyAuthorizations() : request.authorizations();
    } catch {
      return fail('malformed', 400);
    }
    // RFC 3261 22.3: several credentials may be present, one per realm; ours is the one naming our realm.
    const cred = all.find((c) => c.scheme.toLowerCase() === 'digest' && c.params.get('realm') === realm);
    if (cred === undefined) return fail('no-credentials');
    const p = cred.params;
    const username = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return fail('malformed', 400);
    }
    const algorithm = parseDigestAlgorithm(p.get('algorithm'));
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) return fail('unsupported');
    const qopText = p.get('qop');
    let qop: DigestQop | undefined;
    let nc = 0;
    const cnonce = p.get('cnonce');
    if (qopText !== undefined) {
      if (qopText !== 'auth') return fail('unsupported');
      qop = 'auth';
      const ncText = p.get('nc');
      nc = ncText === undefined ? -1 : parseNonceCount(ncText);
      if (nc < 1 || cnonce === undefined) return fail('malformed', 400);
    } else if (this.options.allowRfc2069 !== true) {
      return fail('unsupported');
    }
    if (!uriMatches(uri, request.uri)) return fail('uri-mismatch', 400);

    const hash = digestHashOf(algorithm);
    let stored: StoredCredentials | undefined;
    try {
      stored = await this.options.credentials.lookup(realm, username);
    } catch {
      stored = undefined;
    }
    const ha1 = stored === undefined ? undefined : storedHa1(stored, hash, username, realm);
    const expected = computeDigestResponse({
      algorithm,
      ha1: ha1 ?? DUMMY_HA1[hash],
      nonce,
      method: request.method,
      uri,
      qop,
      nc: p.get('nc'),
      cnonce,
    });
    if (!digestEquals(expected, response) || ha1 === undefined) {
      if (limiter !== undefined && source !== undefined && limiter.recordFailure(source)) return fail('blocked', 403);
      return fail('invalid');
    }
    // The password is right: a nonce problem is only staleness (RFC 7616 3.3 stale).
    const issuedAt = this.nonces.issuedAt(nonce, realm);
    if (issuedAt === undefined || this.nonces.check(nonce, realm) !== 'valid') return fail('stale');
    if (qop !== undefined && !this.counts.accept(nonce, nc, issuedAt)) return fail('replay');
    return { ok: true, username, realm, algorithm };
  }
}

/** RFC 3261 22.4: the digest-uri names the Request-URI; compared by URI equality (19.1.4) when not identical. */
function uriMatches(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  try {
    return uriEquals(parseUri(digestUri), parseUri(requestUri));
  } catch {
    return false;
  }
}
