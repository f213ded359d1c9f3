// Server nonces that verify without state (RFC 7616 3.3 leaves the format to the server): a timestamp and random
// octets, authenticated with an HMAC under a server secret and bound to the realm. An expired nonce with a correct
// digest earns stale=true; nonce counts are tracked per nonce to refuse replays (RFC 7616 3.4, 5.3).

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const PAYLOAD = 16; // 8 octets of time (ms), 8 random
const MAC = 16;
const ENCODED_LENGTH = 43; // base64url of 32 octets without padding

export type NonceCheck = 'valid' | 'expired' | 'invalid';

/** Issues and checks realm-bound nonces. */
export class NonceIssuer {
  private readonly secret: Uint8Array;

  constructor(
    secret: Uint8Array | undefined,
    private readonly now: () => number,
    readonly lifetimeMs: number,
  ) {
    this.secret = secret ?? randomBytes(32);
  }

  private mac(payload: Uint8Array, realm: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).update(realm, 'utf8').digest().subarray(0, MAC);
  }

  issue(realm: string): string {
    const buf = Buffer.alloc(PAYLOAD + MAC);
    buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.now()))), 0);
    randomBytes(8).copy(buf, 8);
    this.mac(buf.subarray(0, PAYLOAD), realm).copy(buf, PAYLOAD);
    return buf.toString('base64url');
  }

  /** Time the nonce was issued, or undefined when it is not one of ours for this realm. */
  issuedAt(nonce: string, realm: string): number | undefined {
    if (nonce.length !== ENCODED_LENGTH) return undefined;
    const buf = Buffer.from(nonce, 'base64url');
    // Buffer's base64url decoder skips stray characters: insist the text is exactly the canonical encoding.
    if (buf.length !== PAYLOAD + MAC || buf.toString('base64url') !== nonce) return undefined;
    const expected = this.mac(buf.subarray(0, PAYLOAD), realm);
    if (!timingSafeEqual(expected, buf.subarray(PAYLOAD))) return undefined;
    return Number(buf.readBigUInt64BE(0));
  }

  check(nonce: string, realm: string): NonceCheck {
    const at = this.issuedAt(nonce, realm);
    if (at === undefined) return 'invalid';
    const age = this.now() - at;
    // A nonce from the future is not ours to trust either (clock moved back, or forged time).
    return age < 0 || age > this.lifetimeMs ? 'expired' : 'valid';
  }
}

interface CountState {
  issuedAt: number;
  highest: number;
  /** Bit i set: highest - i was seen. */
  seen: number;
}

/**
 * Nonce counts seen per nonce: a count is accepted once, either above the highest seen or within `window` below it
 * (requests sent in parallel may arrive out of order). Bounded: the oldest entries go first.
 */
export class NonceCountTracker {
  private readonly counts = new Map<string, CountState>();

  constructor(
    private readonly window: number,
    private readonly maxEntries: number,
    private readonly lifetimeMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.counts.size;
  }

  /** Records nc for nonce; false when it is a replay or too old for the window. */
  accept(nonce: string, nc: number, issuedAt: number): boolean {
    if (nc < 1) return false;
    let s = this.counts.get(nonce);
    if (s === undefined) {
      this.prune();
      s = { issuedAt, highest: nc, seen: 1 };
      this.counts.set(nonce, s);
      return true;
    }
    if (nc > s.highest) {
      const shift = nc - s.highest;
      s.seen = shift >= 32 ? 1 : ((s.seen << shift) | 1) >>> 0;
      s.highest = nc;
      return true;
    }
    const back = s.highest - nc;
    if (back >= this.window || back >= 32) return false;
    const bit = (1 << back) >>> 0;
    if ((s.seen & bit) !== 0) return false;
    s.seen = (s.seen | bit) >>> 0;
    return true;
  }

  private prune(): void {
    const limit = this.now() - this.lifetimeMs;
    for (const [nonce, s] of this.counts) {
      if (this.counts.size < this.maxEntries && s.issuedAt >= limit) break;
      this.counts.delete(nonce);
    }
  }
}
