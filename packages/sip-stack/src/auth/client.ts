// The client side of Digest (RFC 3261 22.2, 22.3; RFC 7616 3.4; RFC 8760): answers 401/407 challenges, keeps the
// nonce count per nonce, reuses challenges for later requests, and gives up instead of looping on bad credentials.

import { randomBytes } from 'node:crypto';
import type { AuthValue, RandomSource, SipRequest, SipResponse } from '../message/index.js';
import {
  computeDigestResponse,
  computeHa1,
  type DigestAlgorithm,
  type DigestHash,
  type DigestQop,
  digestHashOf,
  formatDigest,
  formatNonceCount,
  parseDigestAlgorithm,
} from './digest.js';

/** A user's secret: the password, or precomputed H(user:realm:password) per hash. */
export type ClientCredentials =
  | { readonly username: string; readonly password: string }
  | {
      readonly username: string;
      readonly ha1Md5?: string;
      readonly ha1Sha256?: string;
      readonly ha1Sha512_256?: string;
    };

export interface DigestClientOptions {
  /** Random octets for cnonce; crypto.randomBytes by default. */
  readonly random?: RandomSource;
  /** Consecutive stale=true challenges answered per realm before giving up. Default 3. */
  readonly maxStaleRetries?: number;
}

interface CachedChallenge {
  readonly kind: 'www' | 'proxy';
  readonly realm: string;
  readonly nonce: string;
  readonly algorithm: DigestAlgorithm;
  /** Whether the challenge named an algorithm (echoed only then, for RFC 2617 servers). */
  readonly algorithmGiven: boolean;
  readonly qop: DigestQop | undefined;
  readonly opaque: string | undefined;
  readonly ha1: string;
  readonly username: string;
  /** Requests that carried credentials built from this challenge. */
  uses: number;
  staleRetries: number;
}

/** RFC 8760 2.4 lets the client pick; SHA-256 is preferred, then SHA-512/256, then MD5, plain before -sess. */
const PREFERENCE: readonly DigestAlgorithm[] = [
  'SHA-256',
  'SHA-256-sess',
  'SHA-512-256',
  'SHA-512-256-sess',
  'MD5',
  'MD5-sess',
];

const BARE = new Set(['algorithm', 'nc', 'qop']);

function clientHa1(c: ClientCredentials, hash: DigestHash, realm: string): string | undefined {
  if ('password' in c) return computeHa1(hash, c.username, realm, c.password);
  if (hash === 'MD5') return c.ha1Md5;
  if (hash === 'SHA-256') return c.ha1Sha256;
  return c.ha1Sha512_256;
}

function chooseQop(qopOptions: string | undefined): DigestQop | undefined | null {
  if (qopOptions === undefined) return undefined; // RFC 2069 server
  const offered = qopOptions.split(',').map((q) => q.trim().toLowerCase());
  if (offered.includes('auth')) return 'auth';
  if (offered.includes('auth-int')) return 'auth-int';
  return null;
}

/**
 * Digest credentials for one sequence of requests (a registration, the requests of a call). Feed it each 401/407
 * with `handleChallenge` (or `authorize`) and take the header values for the next request from `credentialsFor`.
 */
export class DigestClient {
  private readonly challenges = new Map<string, CachedChallenge>();
  private readonly nonceCounts = new Map<string, number>();
  private readonly random: RandomSource;
  private readonly maxStaleRetries: number;

  constructor(
    private readonly credentials: ClientCredentials | ((realm: string) => ClientCredentials | undefined),
    options: DigestClientOptions = {},
  ) {
    this.random = options.random ?? ((n) => randomBytes(n));
    this.maxStaleRetries = options.maxStaleRetries ?? 3;
  }

  private credentialsOf(realm: string): ClientCredentials | undefined {
    return typeof this.credentials === 'function' ? this.credentials(realm) : this.credentials;
  }

  /**
   * Records the challenges of a 401 or 407. Returns false when the request should not be retried: not a challenge,
   * nothing we can answer, or a repeat challenge after our credentials were refused (wrong password) without
   * stale=true (RFC 7616 3.3), so a UA never loops.
   */
  handleChallenge(response: SipResponse): boolean {
    const kind = response.status === 401 ? 'www' : response.status === 407 ? 'proxy' : undefined;
    if (kind === undefined) return false;
    let values: AuthValue[];
    try {
      values = kind === 'www' ? response.wwwAuthenticates() : response.proxyAuthenticates();
    } catch {
      return false;
    }
    // One challenge per realm: the most preferred algorithm we have a secret for.
    const best = new Map<string, { value: AuthValue; algorithm: DigestAlgorithm; ha1: string; username: string }>();
    for (const value of values) {
      if (value.scheme.toLowerCase() !== 'digest') continue;
      const realm = value.params.get('realm');
      const nonce = value.params.get('nonce');
      const algorithm = parseDigestAlgorithm(value.params.get('algorithm'));
      if (realm === undefined || nonce === undefined || algorithm === undefined) continue;
      if (chooseQop(value.params.get('qop')) === null) continue;
      const creds = this.credentialsOf(realm);
      if (creds === undefined) continue;
      const ha1 = clientHa1(creds, digestHashOf(algorithm), realm);
      if (ha1 === undefined) continue;
      const prior = best.get(realm);
      if (prior === undefined || PREFERENCE.indexOf(algorithm) < PREFERENCE.indexOf(prior.algorithm)) {
        best.set(realm, { value, algorithm, ha1, username: creds.username });
      }
    }
    if (best.size === 0) return false;
    const next: CachedChallenge[] = [];
    for (const [realm, b] of best) {
      const key = `${kind}\n${realm}`;
      const prior = this.challenges.get(key);
      const nonce = b.value.params.get('nonce') as string;
      const stale = b.value.params.get('stale')?.toLowerCase() === 'true';
      let staleRetries = 0;
      if (prior !== undefined && prior.uses > 0) {
        // The same nonce refused again: the server does not accept what we send.
        if (prior.nonce === nonce) return false;
        if (stale) {
          staleRetries = prior.staleRetries + 1;
          if (staleRetries > this.maxStaleRetries) return false;
        } else if (prior.uses === 1) {
          // Fresh credentials refused without stale=true: wrong user name or password.
          return false;
        }
        // Else reused credentials were refused (an old nonce): answer the new challenge once afresh.
      }
      next.push({
        kind,
        realm,
        nonce,
        algorithm: b.algorithm,
        algorithmGiven: b.value.params.has('algorithm'),
        qop: chooseQop(b.value.params.get('qop')) ?? undefined,
        opaque: b.value.params.get('opaque'),
        ha1: b.ha1,
        username: b.username,
        uses: 0,
        staleRetries,
      });
    }
    for (const c of next) {
      const old = this.challenges.get(`${c.kind}\n${c.realm}`);
      if (old !== undefined) this.nonceCounts.delete(old.nonce);
      this.challenges.set(`${c.kind}\n${c.realm}`, c);
    }
    return true;
  }

  /**
   * Authorization / Proxy-Authorization header entries for `request` from every challenge seen so far, each with
   * the next nonce count for its nonce. Empty before any challenge.
   */
  credentialsFor(request: SipRequest): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const c of this.challenges.values()) {
      c.uses++;
      const uri = request.uri; // RFC 3261 22.4: digest-uri is the Request-URI
      let nc: string | undefined;
      let cnonce: string | undefined;
      if (c.qop !== undefined) {
        const n = (this.nonceCounts.get(c.nonce) ?? 0) + 1;
        this.nonceCounts.set(c.nonce, n);
        nc = formatNonceCount(n);
        cnonce = Buffer.from(this.random(16)).toString('hex');
      }
      const response = computeDigestResponse({
        algorithm: c.algorithm,
        ha1: c.ha1,
        nonce: c.nonce,
        method: request.method,
        uri,
        qop: c.qop,
        nc,
        cnonce,
        body: request.body,
      });
      const value = formatDigest(
        [
          ['username', c.username],
          ['realm', c.realm],
          ['nonce', c.nonce],
          ['uri', uri],
          ['response', response],
          ['algorithm', c.algorithmGiven ? c.algorithm : undefined],
          ['cnonce', cnonce],
          ['opaque', c.opaque],
          ['qop', c.qop],
          ['nc', nc],
        ],
        BARE,
      );
      out.push([c.kind === 'www' ? 'Authorization' : 'Proxy-Authorization', value]);
    }
    return out;
  }

  /** handleChallenge then credentialsFor: the header entries for the retried request, or undefined to give up. */
  authorize(request: SipRequest, response: SipResponse): Array<[string, string]> | undefined {
    return this.handleChallenge(response) ? this.credentialsFor(request) : undefined;
  }

  /** The nonce count last sent with a nonce (0 when never used). */
  nonceCount(nonce: string): number {
    return this.nonceCounts.get(nonce) ?? 0;
  }
}
