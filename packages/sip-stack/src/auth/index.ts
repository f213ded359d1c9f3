// Digest authentication (RFC 3261 section 22, RFC 7616, RFC 8760): server verdicts with stateless realm-bound
// nonces and replay protection, a per-source failure limiter, and the client side answering 401/407.
export { type ClientCredentials, DigestClient, type DigestClientOptions } from './client.js';
export {
  computeDigestResponse,
  computeHa1,
  type DigestAlgorithm,
  type DigestHash,
  type DigestQop,
  type DigestResponseInput,
  digestHashOf,
  digestHex,
  formatNonceCount,
  parseDigestAlgorithm,
  parseNonceCount,
} from './digest.js';
export { AuthFailureLimiter, type AuthFailureLimiterOptions } from './limiter.js';
export {
  type AuthenticateOptions,
  type CredentialStore,
  type DigestFailure,
  DigestServer,
  type DigestServerOptions,
  type DigestVerdict,
  type StoredCredentials,
} from './server.js';
