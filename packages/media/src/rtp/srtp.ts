// SRTP and SRTCP (RFC 3711) with the AES_CM_128_HMAC_SHA1_80/_32 suites (RFC 4568 6.2), on node:crypto.
import { type Cipher, createCipheriv, createHmac } from 'node:crypto';
import { RtpError } from './errors.js';
import { readUint32 } from './packet.js';

/** The SDES crypto suites supported (RFC 4568 6.2.1, 6.2.2). */
export type SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

/** A master key and salt with the optional lifetime and MKI of an RFC 4568 key-params string. */
export interface SrtpMasterKey {
  suite: SrtpCryptoSuite;
  key: Uint8Array;
  salt: Uint8Array;
  /** Packets the key may protect (from `|2^31` or `|1048576`); undefined = the suite's default. */
  lifetime?: number;
  /** Master key identifier and its length in octets (0 = no MKI in packets). */
  mki: number;
  mkiLength: number;
}

const KEY_LEN = 16;
const SALT_LEN = 14;
const AUTH_KEY_LEN = 20;
const SRTCP_TAG_LEN = 10; // both suites use an 80-bit tag for SRTCP (RFC 4568 6.2.2)

function suiteTagLength(suite: string): number {
  if (suite === 'AES_CM_128_HMAC_SHA1_80') return 10;
  if (suite === 'AES_CM_128_HMAC_SHA1_32') return 4;
  throw new RtpError('UNSUPPORTED_SUITE', `unsupported SRTP crypto suite ${suite.slice(0, 64)}`);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeBase64Strict(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new RtpError('BAD_KEY_PARAMS', 'key||salt is not whole base64 quanta');
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const c = s[i + j];
      let d = B64.indexOf(c);
      if (c === '=' && i + 4 === s.length && j >= 4 - pad) d = 0;
      else if (d < 0) throw new RtpError('BAD_KEY_PARAMS', 'key||salt is not base64');
      v = (v << 6) | d;
    }
    if (o < out.length) out[o++] = (v >>> 16) & 0xff;
    if (o < out.length) out[o++] = (v >>> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
  }
  return out;
}

function parseDecimal(s: string, what: string): number {
  if (s.length === 0 || s.length > 15) throw new RtpError('BAD_KEY_PARAMS', `bad ${what}`);
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw new RtpError('BAD_KEY_PARAMS', `bad ${what}`);
    v = v * 10 + d;
  }
  return v;
}

/**
 * Parses one RFC 4568 key-params value for `suite` (section 6.1 / 9.2):
 * `inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>]`; the `inline:` prefix may be omitted. Lifetime is a
 * decimal or `2^n`. SDP-agnostic: the caller splits the a=crypto line. Throws RtpError BAD_KEY_PARAMS.
 */
export function parseSrtpKeyParams(suite: string, keyParams: string): SrtpMasterKey {
  suiteTagLength(suite);
  let s = keyParams.trim();
  if (s.length > 512) throw new RtpError('BAD_KEY_PARAMS', 'key-params too long');
  if (s.startsWith('inline:')) s = s.slice(7);
  const parts = s.split('|');
  if (parts.length > 3) throw new RtpError('BAD_KEY_PARAMS', 'too many key-params fields');
  const keySalt = decodeBase64Strict(parts[0]);
  if (keySalt.length !== KEY_LEN + SALT_LEN) {
    throw new RtpError('BAD_KEY_PARAMS', `key||salt must be ${KEY_LEN + SALT_LEN} octets, got ${keySalt.length}`);
  }
  const result: SrtpMasterKey = {
    suite: suite as SrtpCryptoSuite,
    key: keySalt.slice(0, KEY_LEN),
    salt: keySalt.slice(KEY_LEN),
    mki: 0,
    mkiLength: 0,
  };
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    const colon = p.indexOf(':');
    if (colon >= 0) {
      if (result.mkiLength !== 0) throw new RtpError('BAD_KEY_PARAMS', 'two MKI fields');
      result.mki = parseDecimal(p.slice(0, colon), 'MKI');
      result.mkiLength = parseDecimal(p.slice(colon + 1), 'MKI length');
      // RFC 4568 6.1: length 1..128; values beyond 32 bits are not supported here
      if (result.mkiLength < 1 || result.mkiLength > 4 || result.mki >= 2 ** (8 * result.mkiLength)) {
        throw new RtpError('BAD_KEY_PARAMS', 'MKI out of range');
      }
    } else {
      if (result.lifetime !== undefined || i !== 1) throw new RtpError('BAD_KEY_PARAMS', 'misplaced lifetime');
      if (p.startsWith('2^')) {
        const e = parseDecimal(p.slice(2), 'lifetime');
        if (e > 48) throw new RtpError('BAD_KEY_PARAMS', 'lifetime beyond 2^48');
        result.lifetime = 2 ** e;
      } else {
        result.lifetime = parseDecimal(p, 'lifetime');
      }
    }
  }
  return result;
}

/** AES-CM keystream (RFC 3711 4.1.1) of `length` octets from a 16-octet initial counter block. */
export function srtpAesCmKeystream(key: Uint8Array, iv: Uint8Array, length: number): Uint8Array {
  const c = createCipheriv('aes-128-ctr', key, iv);
  return new Uint8Array(c.update(new Uint8Array(length)));
}

/**
 * The SRTP key derivation function (RFC 3711 4.3.1, 4.3.3) with key_derivation_rate 0: label 0/1/2 give the
 * SRTP cipher key, auth key and salt; 3/4/5 the SRTCP ones.
 */
export function srtpDeriveKey(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  label: number,
  length: number,
): Uint8Array {
  // x = (label || r) XOR master salt, right-aligned; r = 0; IV = x * 2^16
  const iv = new Uint8Array(16);
  iv.set(masterSalt.subarray(0, SALT_LEN), 0);
  iv[7] ^= label;
  return srtpAesCmKeystream(masterKey, iv, length);
}

/** Replay windows (RFC 3711 3.3.2) and rollover state (3.3.1) for a few SSRCs, preallocated. */
class StreamTable {
  readonly ssrcs: Uint32Array;
  readonly used: Uint8Array;
  readonly highestSeq: Uint32Array; // s_l (SRTP only)
  readonly roc: Float64Array;
  readonly maxIndex: Float64Array;
  readonly lastUse: Float64Array;
  readonly seen: Uint8Array;
  private tick = 0;
  constructor(
    readonly size: number,
    readonly window: number,
  ) {
    this.ssrcs = new Uint32Array(size);
    this.used = new Uint8Array(size);
    this.highestSeq = new Uint32Array(size);
    this.roc = new Float64Array(size);
    this.maxIndex = new Float64Array(size);
    this.lastUse = new Float64Array(size);
    this.seen = new Uint8Array(size * window);
  }
  find(ssrc: number): number {
    for (let i = 0; i < this.size; i++) if (this.used[i] && this.ssrcs[i] === ssrc) return i;
    return -1;
  }
  /** A slot for a new SSRC: an empty one or the least recently used. */
  claim(ssrc: number): number {
    let best = 0;
    for (let i = 0; i < this.size; i++) {
      if (!this.used[i]) {
        best = i;
        break;
      }
      if (this.lastUse[i] < this.lastUse[best]) best = i;
    }
    this.used[best] = 1;
    this.ssrcs[best] = ssrc;
    this.highestSeq[best] = 0;
    this.roc[best] = 0;
    this.maxIndex[best] = -1;
    this.seen.fill(0, best * this.window, (best + 1) * this.window);
    return best;
  }
  /** False when `index` was seen or is older than the window. A slot with maxIndex -1 is fresh. */
  fresh(slot: number, index: number): boolean {
    const max = this.maxIndex[slot];
    if (max < 0 || index > max) return true;
    if (max - index >= this.window) return false;
    return this.seen[slot * this.window + (index % this.window)] === 0;
  }
  mark(slot: number, index: number): void {
    const w = this.window;
    const base = slot * w;
    const max = this.maxIndex[slot];
    if (index > max) {
      const from = max < 0 || index - max > w ? index - w + 1 : max + 1;
      for (let i = from; i < index; i++) this.seen[base + (i % w)] = 0;
      this.maxIndex[slot] = index;
    }
    this.seen[base + (index % w)] = 1;
    this.lastUse[slot] = ++this.tick;
  }
}

/** One direction's session keys: an AES-ECB cipher reused to make counter-mode keystream, and the auth key. */
class SessionKeys {
  readonly ecb: Cipher;
  readonly salt: Uint8Array;
  readonly authKey: Uint8Array;
  constructor(master: SrtpMasterKey, rtcp: boolean) {
    const base = rtcp ? 3 : 0;
    const key = srtpDeriveKey(master.key, master.salt, base, KEY_LEN);
    this.authKey = srtpDeriveKey(master.key, master.salt, base + 1, AUTH_KEY_LEN);
    this.salt = srtpDeriveKey(master.key, master.salt, base + 2, SALT_LEN);
    // ECB over counter blocks is CTR mode with one cipher object for the whole session (no per-packet setup)
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
  }
}

/** Options of SrtpSession. */
export interface SrtpSessionOptions {
  /** Replay window in packets (RFC 3711 3.3.2 asks for at least 64; default 128). */
  replayWindow?: number;
  /** Largest RTP/RTCP packet handled (default 1500). */
  maxPacket?: number;
  /** Remote SSRCs tracked at once (default 4). */
  maxStreams?: number;
}

/**
 * An SRTP/SRTCP session (RFC 3711): protects what we send with the local master key and authenticates, checks
 * for replay and decrypts what we receive with the remote one. Failures return -1 and are counted, never thrown.
 */
export class SrtpSession {
  readonly suite: SrtpCryptoSuite;
  /** Received packets rejected: authentication failure, replay, or malformed. */
  authFailures = 0;
  /** Packets protected with the local key, and packets refused because its lifetime ran out (RFC 3711 9.2). */
  rtpProtected = 0;
  rtcpProtected = 0;
  keyExhausted = 0;
  replays = 0;
  malformed = 0;
  private readonly tagLen: number;
  private readonly txRtp: SessionKeys;
  private readonly txRtcp: SessionKeys;
  private readonly rxRtp: SessionKeys;
  private readonly rxRtcp: SessionKeys;
  private readonly local: SrtpMasterKey;
  private readonly remote: SrtpMasterKey;
  private readonly rx: StreamTable;
  private readonly rxControl: StreamTable;
  private readonly tx: StreamTable;
  private srtcpIndex = 0;
  private readonly rtpLimit: number;
  private readonly rtcpLimit: number;
  private readonly counters: Uint8Array;
  private readonly out: Uint8Array;
  private readonly tag = new Uint8Array(4);

  constructor(local: SrtpMasterKey, remote: SrtpMasterKey, options: SrtpSessionOptions = {}) {
    if (local.suite !== remote.suite) throw new RtpError('INVALID_ARGUMENT', 'local and remote suites differ');
    this.suite = local.suite;
    this.tagLen = suiteTagLength(local.suite);
    for (const k of [local, remote]) {
      if (k.key.length !== KEY_LEN || k.salt.length !== SALT_LEN) {
        throw new RtpError('BAD_KEY_PARAMS', 'master key must be 16 octets and salt 14');
      }
    }
    this.local = local;
    this.remote = remote;
    // RFC 3711 9.2: at most 2^48 SRTP and 2^31 SRTCP packets per master key, or the signalled lifetime
    this.rtpLimit = Math.min(local.lifetime ?? 2 ** 48, 2 ** 48);
    this.rtcpLimit = Math.min(local.lifetime ?? 2 ** 31, 2 ** 31);
    this.txRtp = new SessionKeys(local, false);
    this.txRtcp = new SessionKeys(local, true);
    this.rxRtp = new SessionKeys(remote, false);
    this.rxRtcp = new SessionKeys(remote, true);
    const window = Math.max(64, options.replayWindow ?? 128);
    const streams = Math.max(1, options.maxStreams ?? 4);
    this.rx = new StreamTable(streams, window);
    this.rxControl = new StreamTable(streams, window);
    this.tx = new StreamTable(streams, 1);
    const maxPacket = options.maxPacket ?? 1500;
    this.counters = new Uint8Array(maxPacket + 16);
    this.out = new Uint8Array(maxPacket + 4 + 4 + SRTCP_TAG_LEN);
  }

  /** Bytes protect adds to an RTP packet (MKI and tag) and protectRtcp to an RTCP one (index, MKI, tag). */
  get rtpOverhead(): number {
    return this.local.mkiLength + this.tagLen;
  }
  get rtcpOverhead(): number {
    return 4 + this.local.mkiLength + SRTCP_TAG_LEN;
  }

  // RFC 3711 4.1.1: keystream blocks E(k, IV + i), IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16)
  private xorKeystream(
    keys: SessionKeys,
    ssrc: number,
    index: number,
    buf: Uint8Array,
    from: number,
    to: number,
  ): void {
    const n = to - from;
    if (n <= 0) return;
    const blocks = (n + 15) >>> 4;
    const c = this.counters;
    const salt = keys.salt;
    const hi = Math.floor(index / 0x100000000); // index is 48 bits (SRTP) or 31 bits (SRTCP)
    const lo = index >>> 0;
    for (let b = 0; b < blocks; b++) {
      const p = b << 4;
      for (let i = 0; i < 14; i++) c[p + i] = salt[i];
      c[p + 4] ^= ssrc >>> 24;
      c[p + 5] ^= (ssrc >>> 16) & 0xff;
      c[p + 6] ^= (ssrc >>> 8) & 0xff;
      c[p + 7] ^= ssrc & 0xff;
      c[p + 8] ^= (hi >>> 8) & 0xff;
      c[p + 9] ^= hi & 0xff;
      c[p + 10] ^= lo >>> 24;
      c[p + 11] ^= (lo >>> 16) & 0xff;
      c[p + 12] ^= (lo >>> 8) & 0xff;
      c[p + 13] ^= lo & 0xff;
      c[p + 14] = (b >>> 8) & 0xff;
      c[p + 15] = b & 0xff;
    }
    const ks = keys.ecb.update(c.subarray(0, blocks << 4));
    for (let i = 0; i < n; i++) buf[from + i] ^= ks[i];
  }

  // HMAC-SHA1 over buf[0..end) followed, for SRTP, by the 32-bit ROC (RFC 3711 4.2); the caller truncates the tag
  private mac(keys: SessionKeys, buf: Uint8Array, end: number, roc: number | undefined): Buffer {
    const h = createHmac('sha1', keys.authKey);
    h.update(buf.subarray(0, end));
    if (roc !== undefined) {
      const t = this.tag;
      t[0] = roc >>> 24;
      t[1] = (roc >>> 16) & 0xff;
      t[2] = (roc >>> 8) & 0xff;
      t[3] = roc & 0xff;
      h.update(t);
    }
    return h.digest();
  }

  private writeMki(buf: Uint8Array, p: number): number {
    const len = this.local.mkiLength;
    for (let i = len - 1, v = this.local.mki; i >= 0; i--, v = Math.floor(v / 256)) buf[p + i] = v & 0xff;
    return p + len;
  }

  private mkiMatches(buf: Uint8Array, p: number): boolean {
    const len = this.remote.mkiLength;
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + buf[p + i];
    return v === this.remote.mki;
  }

  /**
   * Protects the RTP packet in `buf[0..length)` in place (RFC 3711 3.3); `buf` needs `rtpOverhead` spare octets.
   * Returns the SRTP length, or -1 when the packet is malformed or does not fit.
   */
  protectInPlace(buf: Uint8Array, length: number): number {
    const hs = rtpHeaderLength(buf, length);
    if (hs < 0 || length + this.rtpOverhead > buf.length || length > this.counters.length - 16) return -1;
    if (this.rtpProtected >= this.rtpLimit) {
      this.keyExhausted++;
      return -1;
    }
    this.rtpProtected++;
    const seq = (buf[2] << 8) | buf[3];
    const ssrc = readUint32(buf, 8);
    // the sender's ROC follows its own sequence numbers (RFC 3711 3.3.1), one slot per SSRC we send with
    const t = this.tx;
    let slot = t.find(ssrc);
    if (slot < 0) {
      slot = t.claim(ssrc);
      t.highestSeq[slot] = seq;
    }
    const v = estimateRoc(t.highestSeq[slot], t.roc[slot], seq);
    if (v > t.roc[slot]) {
      t.roc[slot] = v;
      t.highestSeq[slot] = seq;
    } else if (v === t.roc[slot] && seq > t.highestSeq[slot]) t.highestSeq[slot] = seq;
    const roc = Math.max(v, 0);
    this.xorKeystream(this.txRtp, ssrc, roc * 65536 + seq, buf, hs, length);
    const digest = this.mac(this.txRtp, buf, length, roc >>> 0);
    const p = this.writeMki(buf, length);
    for (let i = 0; i < this.tagLen; i++) buf[p + i] = digest[i];
    return p + this.tagLen;
  }

  /** Copies and protects an RTP packet; the result is valid until the next protect call. */
  protect(packet: Uint8Array, length: number): Uint8Array {
    const out = this.out;
    if (length > out.length - this.rtcpOverhead) return out.subarray(0, 0);
    out.set(packet.subarray(0, length), 0);
    const n = this.protectInPlace(out, length);
    return out.subarray(0, Math.max(n, 0));
  }

  /**
   * Authenticates, checks for replay and decrypts an SRTP packet in place (RFC 3711 3.3); returns the RTP length
   * or -1 (counted in authFailures / replays / malformed).
   */
  unprotect(buf: Uint8Array, length: number): number {
    if (length > buf.length) length = buf.length;
    const trailer = this.remote.mkiLength + this.tagLen;
    const end = length - trailer;
    const hs = rtpHeaderLength(buf, end);
    if (hs < 0 || end > this.counters.length - 16) {
      this.malformed++;
      return -1;
    }
    const seq = (buf[2] << 8) | buf[3];
    const ssrc = readUint32(buf, 8);
    const t = this.rx;
    let slot = t.find(ssrc);
    // RFC 3711 3.3.1: a new stream's s_l is its first sequence number, ROC 0
    const sl = slot < 0 ? seq : t.highestSeq[slot];
    const roc = slot < 0 ? 0 : t.roc[slot];
    const v = estimateRoc(sl, roc, seq);
    if (v < 0) {
      this.replays++;
      return -1;
    }
    const index = v * 65536 + seq;
    if (slot >= 0 && !t.fresh(slot, index)) {
      this.replays++;
      return -1;
    }
    if (this.remote.mkiLength > 0 && !this.mkiMatches(buf, end)) {
      this.authFailures++;
      return -1;
    }
    const digest = this.mac(this.rxRtp, buf, end, v >>> 0);
    let diff = 0;
    for (let i = 0; i < this.tagLen; i++) diff |= digest[i] ^ buf[end + this.remote.mkiLength + i];
    if (diff !== 0) {
      this.authFailures++;
      return -1;
    }
    this.xorKeystream(this.rxRtp, ssrc, index, buf, hs, end);
    if (slot < 0) {
      slot = t.claim(ssrc);
      t.highestSeq[slot] = seq;
    }
    if (v > t.roc[slot]) {
      t.roc[slot] = v;
      t.highestSeq[slot] = seq;
    } else if (v === t.roc[slot] && seq > t.highestSeq[slot]) t.highestSeq[slot] = seq;
    t.mark(slot, index);
    return end;
  }

  /**
   * Protects a compound RTCP packet in place (RFC 3711 3.4): encrypts after the first 8 octets, appends E||index,
   * MKI and the 80-bit tag. `buf` needs `rtcpOverhead` spare octets. Returns the SRTCP length or -1.
   */
  protectRtcpInPlace(buf: Uint8Array, length: number): number {
    if (length < 8 || buf[0] >> 6 !== 2 || length + this.rtcpOverhead > buf.length) return -1;
    if (length > this.counters.length - 16) return -1;
    if (this.rtcpProtected >= this.rtcpLimit) {
      this.keyExhausted++;
      return -1;
    }
    this.rtcpProtected++;
    const ssrc = readUint32(buf, 4);
    const index = this.srtcpIndex;
    this.srtcpIndex = (this.srtcpIndex + 1) & 0x7fffffff; // never wraps: the key's limit is 2^31
    this.xorKeystream(this.txRtcp, ssrc, index, buf, 8, length);
    // E flag set: the payload is encrypted
    const e = (0x80000000 | index) >>> 0;
    buf[length] = e >>> 24;
    buf[length + 1] = (e >>> 16) & 0xff;
    buf[length + 2] = (e >>> 8) & 0xff;
    buf[length + 3] = e & 0xff;
    const digest = this.mac(this.txRtcp, buf, length + 4, undefined);
    const p = this.writeMki(buf, length + 4);
    for (let i = 0; i < SRTCP_TAG_LEN; i++) buf[p + i] = digest[i];
    return p + SRTCP_TAG_LEN;
  }

  /** Copies and protects an RTCP packet; the result is valid until the next protect call. */
  protectRtcp(packet: Uint8Array, length: number): Uint8Array {
    const out = this.out;
    if (length > out.length - this.rtcpOverhead) return out.subarray(0, 0);
    out.set(packet.subarray(0, length), 0);
    const n = this.protectRtcpInPlace(out, length);
    return out.subarray(0, Math.max(n, 0));
  }

  /** Authenticates, checks replay and decrypts (when E is set) an SRTCP packet in place; RTCP length or -1. */
  unprotectRtcp(buf: Uint8Array, length: number): number {
    if (length > buf.length) length = buf.length;
    const end = length - SRTCP_TAG_LEN - this.remote.mkiLength - 4;
    if (end < 8 || buf[0] >> 6 !== 2 || end > this.counters.length - 16) {
      this.malformed++;
      return -1;
    }
    const ssrc = readUint32(buf, 4);
    const e = readUint32(buf, end);
    const index = e & 0x7fffffff;
    const t = this.rxControl;
    const slot = t.find(ssrc);
    if (slot >= 0 && !t.fresh(slot, index)) {
      this.replays++;
      return -1;
    }
    if (this.remote.mkiLength > 0 && !this.mkiMatches(buf, end + 4)) {
      this.authFailures++;
      return -1;
    }
    const digest = this.mac(this.rxRtcp, buf, end + 4, undefined);
    const tagAt = end + 4 + this.remote.mkiLength;
    let diff = 0;
    for (let i = 0; i < SRTCP_TAG_LEN; i++) diff |= digest[i] ^ buf[tagAt + i];
    if (diff !== 0) {
      this.authFailures++;
      return -1;
    }
    if (e & 0x80000000) this.xorKeystream(this.rxRtcp, ssrc, index, buf, 8, end);
    t.mark(slot >= 0 ? slot : t.claim(ssrc), index);
    return end;
  }
}

/** Creates an SrtpSession from a suite name and the two RFC 4568 key-params strings (local sends, remote receives). */
export function createSrtpSession(
  suite: string,
  localKeyParams: string,
  remoteKeyParams: string,
  options?: SrtpSessionOptions,
): SrtpSession {
  return new SrtpSession(
    parseSrtpKeyParams(suite, localKeyParams),
    parseSrtpKeyParams(suite, remoteKeyParams),
    options,
  );
}

// RFC 3711 Appendix A: the ROC guess v for SEQ given the highest s_l and its ROC
function estimateRoc(sl: number, roc: number, seq: number): number {
  if (sl < 32768) return seq - sl > 32768 ? roc - 1 : roc;
  return sl - 32768 > seq ? roc + 1 : roc;
}

// header length (fixed, CSRC, extension) of an RTP packet of `length` octets, or -1
function rtpHeaderLength(buf: Uint8Array, length: number): number {
  if (length < 12 || buf[0] >> 6 !== 2) return -1;
  let hs = 12 + (buf[0] & 0x0f) * 4;
  if (buf[0] & 0x10) {
    if (hs + 4 > length) return -1;
    hs += 4 + ((buf[hs + 2] << 8) | buf[hs + 3]) * 4;
  }
  return hs > length ? -1 : hs;
}
