import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createSrtpSession,
  parseSrtpKeyParams,
  RtcpReportBlock,
  RtpError,
  RtpHeader,
  SrtpSession,
  srtpAesCmKeystream,
  srtpDeriveKey,
  writeRtcpReceiverReport,
  writeRtpHeader,
} from '../../src/rtp/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

const KEY_A = Buffer.from(hex('E1F97A0D3E018BE0D64FA32C06DE41390EC675AD498AFEEBB6960B3AABE6')).toString('base64');
const KEY_B = Buffer.from(hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D')).toString('base64');

function rtp(seq: number, ssrc: number, payload: Uint8Array, marker = false): Uint8Array {
  const h = new RtpHeader();
  h.sequenceNumber = seq;
  h.ssrc = ssrc;
  h.timestamp = seq * 160;
  h.payloadType = 0;
  h.marker = marker;
  const buf = new Uint8Array(12 + payload.length + 20);
  const at = writeRtpHeader(buf, 0, h);
  buf.set(payload, at);
  return buf.subarray(0, at + payload.length);
}

describe('SRTP (RFC 3711)', () => {
  it('B.2: AES-CM keystream', () => {
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    const ks = srtpAesCmKeystream(key, iv, 0xff02 * 16);
    expect(toHex(ks.subarray(0, 48))).toBe(
      'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0',
    );
    expect(toHex(ks.subarray(0xfeff * 16, 0xff02 * 16))).toBe(
      'EC8CDF7398607CB0F2D21675EA9EA1E4362B7C3C6773516318A077D7FC5073AE6A2CC3787889374FBEB4C81B17BA6C44',
    );
  });

  it('B.3: key derivation', () => {
    const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
    const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
    expect(toHex(srtpDeriveKey(mk, ms, 0, 16))).toBe('C61E7A93744F39EE10734AFE3FF7A087');
    expect(toHex(srtpDeriveKey(mk, ms, 2, 14))).toBe('30CBBC08863D8C85D49DB34A9AE1');
    expect(toHex(srtpDeriveKey(mk, ms, 1, 20))).toBe('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  });

  it('the packet keystream is the B.2 keystream for SSRC 0, index 0 (IV of 4.1.1)', () => {
    // build a session whose derived keys we know, by checking XOR of a zero payload against AES-CM directly
    const master = parseSrtpKeyParams('AES_CM_128_HMAC_SHA1_80', `inline:${KEY_A}`);
    const s = new SrtpSession(master, master);
    const key = srtpDeriveKey(master.key, master.salt, 0, 16);
    const salt = srtpDeriveKey(master.key, master.salt, 2, 14);
    const ssrc = 0x11223344;
    const seq = 0x0102;
    const iv = new Uint8Array(16);
    iv.set(salt);
    const ssrcBytes = [0x11, 0x22, 0x33, 0x44];
    for (let i = 0; i < 4; i++) iv[4 + i] ^= ssrcBytes[i];
    iv[12] ^= 0x01;
    iv[13] ^= 0x02;
    const expected = srtpAesCmKeystream(key, iv, 40);
    const out = s.protect(rtp(seq, ssrc, new Uint8Array(40)), 52);
    expect(toHex(out.subarray(12, 52))).toBe(toHex(expected));
    expect(out.length).toBe(62);
  });

  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    it(`${suite}: protect/unprotect round trip across a sequence wrap; tampering and replay rejected`, () => {
      const alice = createSrtpSession(suite, `inline:${KEY_A}`, `inline:${KEY_B}|2^31`);
      const bob = createSrtpSession(suite, `inline:${KEY_B}`, `inline:${KEY_A}`);
      const tag = suite.endsWith('80') ? 10 : 4;
      const payload = new Uint8Array(160).map((_, i) => i);
      for (let n = 0; n < 20; n++) {
        const seq = (65530 + n) & 0xffff;
        const plain = rtp(seq, 0xcafe, payload, n === 0);
        const prot = alice.protect(plain, plain.length);
        expect(prot.length).toBe(plain.length + tag);
        expect(toHex(prot.subarray(12, 172))).not.toBe(toHex(plain.subarray(12, 172)));
        const wire = new Uint8Array(prot);
        const copy = new Uint8Array(prot);
        expect(bob.unprotect(wire, wire.length)).toBe(plain.length);
        expect(toHex(wire.subarray(0, plain.length))).toBe(toHex(plain));
        expect(bob.unprotect(copy, copy.length)).toBe(-1); // replay
      }
      expect(bob.replays).toBe(20);
      const plain = rtp(20, 0xcafe, payload);
      const prot = new Uint8Array(alice.protect(plain, plain.length));
      for (const at of [1, 5, 20, prot.length - 1]) {
        const bad = new Uint8Array(prot);
        bad[at] ^= 1;
        expect(bob.unprotect(bad, bad.length)).toBe(-1);
      }
      expect(bob.authFailures).toBe(4);
      expect(bob.unprotect(prot, prot.length)).toBe(plain.length);
    });
  }

  it('accepts reordered packets inside the replay window and rejects ones older than it', () => {
    const a = createSrtpSession('AES_CM_128_HMAC_SHA1_80', KEY_A, KEY_B);
    const b = createSrtpSession('AES_CM_128_HMAC_SHA1_80', KEY_B, KEY_A, { replayWindow: 64 });
    const packets: Uint8Array[] = [];
    for (let seq = 0; seq < 200; seq++) {
      const p = rtp(seq, 1, new Uint8Array([seq & 0xff]));
      packets.push(new Uint8Array(a.protect(p, p.length)));
    }
    const order = [0, 1, 5, 3, 4, 2, 199, 150, 136, 135, 100];
    const results = order.map((i) => b.unprotect(new Uint8Array(packets[i]), packets[i].length) > 0);
    expect(results).toEqual([true, true, true, true, true, true, true, true, true, false, false]);
  });

  it('SRTCP round trip with E flag and index; tampering and replay rejected', () => {
    const a = createSrtpSession('AES_CM_128_HMAC_SHA1_32', KEY_A, KEY_B);
    const b = createSrtpSession('AES_CM_128_HMAC_SHA1_32', KEY_B, KEY_A);
    // an RR with one report block: 8 octets in clear, 24 encrypted
    const buf = new Uint8Array(200);
    const block = new RtcpReportBlock();
    block.ssrc = 0x1111;
    block.jitter = 77;
    const body = writeRtcpReceiverReport(buf, 0, 0x5555, [block]);
    expect(body).toBe(32);
    for (let k = 0; k < 3; k++) {
      const prot = new Uint8Array(a.protectRtcp(buf, body));
      expect(prot.length).toBe(body + 4 + 10);
      expect(prot[body] & 0x80).toBe(0x80);
      expect(((prot[body + 2] << 8) | prot[body + 3]) & 0x7fff).toBe(k);
      const replay = new Uint8Array(prot);
      const tampered = new Uint8Array(prot);
      tampered[20] ^= 0x40;
      expect(b.unprotectRtcp(tampered, tampered.length)).toBe(-1);
      expect(b.unprotectRtcp(prot, prot.length)).toBe(body);
      expect(toHex(prot.subarray(0, body))).toBe(toHex(buf.subarray(0, body)));
      expect(b.unprotectRtcp(replay, replay.length)).toBe(-1);
    }
  });

  it('writes and checks the MKI', () => {
    const a = createSrtpSession('AES_CM_128_HMAC_SHA1_80', `inline:${KEY_A}|2^20|7:2`, `inline:${KEY_B}|2^20|7:2`);
    const b = createSrtpSession('AES_CM_128_HMAC_SHA1_80', `inline:${KEY_B}|2^20|7:2`, `inline:${KEY_A}|2^20|7:2`);
    const other = createSrtpSession('AES_CM_128_HMAC_SHA1_80', `inline:${KEY_B}`, `inline:${KEY_A}|2^20|8:2`);
    const p = rtp(1, 1, new Uint8Array(20));
    const prot = new Uint8Array(a.protect(p, p.length));
    expect(prot.length).toBe(p.length + 2 + 10);
    expect([prot[p.length], prot[p.length + 1]]).toEqual([0, 7]);
    expect(other.unprotect(new Uint8Array(prot), prot.length)).toBe(-1);
    expect(b.unprotect(prot, prot.length)).toBe(p.length);
  });

  it('stops protecting once the key lifetime is used up', () => {
    const a = createSrtpSession('AES_CM_128_HMAC_SHA1_80', `inline:${KEY_A}|3`, KEY_B);
    const results: number[] = [];
    for (let seq = 0; seq < 5; seq++) {
      const p = rtp(seq, 1, new Uint8Array(10));
      results.push(a.protect(p, p.length).length);
    }
    expect(results).toEqual([32, 32, 32, 0, 0]);
    expect(a.keyExhausted).toBe(2);
  });

  it('parses RFC 4568 key-params and rejects bad ones with typed errors', () => {
    const k = parseSrtpKeyParams('AES_CM_128_HMAC_SHA1_80', 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4');
    expect(k.key.length).toBe(16);
    expect(k.salt.length).toBe(14);
    expect(k.lifetime).toBe(2 ** 20);
    expect(k.mki).toBe(1);
    expect(k.mkiLength).toBe(4);
    const bad = [
      ['AES_CM_128_HMAC_SHA1_80', 'inline:short'],
      ['AES_CM_128_HMAC_SHA1_80', 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!'],
      ['AES_CM_128_HMAC_SHA1_80', 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^99'],
      ['AES_CM_128_HMAC_SHA1_80', 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:0'],
      ['F8_128_HMAC_SHA1_80', 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR'],
    ];
    for (const [suite, params] of bad) expect(() => parseSrtpKeyParams(suite, params)).toThrow(RtpError);
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          parseSrtpKeyParams('AES_CM_128_HMAC_SHA1_80', s);
        } catch (e) {
          expect(e).toBeInstanceOf(RtpError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw from unprotect', () => {
    const s = createSrtpSession('AES_CM_128_HMAC_SHA1_80', KEY_A, KEY_B);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(s.unprotect(b, b.length)).toBe(-1);
        expect(s.unprotectRtcp(b, b.length)).toBe(-1);
      }),
      { numRuns: 500 },
    );
  });
});
