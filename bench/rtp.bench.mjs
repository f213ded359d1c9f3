// RTP module hot paths, nanoseconds per packet: header parse/write, receive statistics, jitter buffer, SRTP.
// Run with `npm run bench -- rtp`.
import { createCipheriv, createHmac } from 'node:crypto';
import {
  createSrtpSession,
  parseRtpHeader,
  RtpHeader,
  RtpJitterBuffer,
  RtpSourceStatistics,
  writeRtpHeader,
} from '@switchyard/media';

function measure(n, fn) {
  for (let i = 0; i < Math.min(n, 20000); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

export default async function () {
  const rows = [];
  const h = new RtpHeader();
  h.ssrc = 0x12345678;
  const buf = new Uint8Array(1500);
  rows.push([
    'writeRtpHeader (12 octets)',
    measure(2e6, (i) => {
      h.sequenceNumber = i & 0xffff;
      writeRtpHeader(buf, 0, h);
    }),
  ]);
  const p = new RtpHeader();
  rows.push(['parseRtpHeader (172-octet packet)', measure(2e6, () => parseRtpHeader(buf, 172, p))]);
  const stats = new RtpSourceStatistics(8000);
  rows.push(['RtpSourceStatistics.update', measure(2e6, (i) => stats.update(1, i & 0xffff, (i * 160) >>> 0, i * 20))]);
  const jb = new RtpJitterBuffer({ minDelayMs: 40 });
  rows.push([
    'RtpJitterBuffer insert + get (160-octet payload)',
    measure(1e6, (i) => {
      h.sequenceNumber = i & 0xffff;
      h.timestamp = (i * 160) >>> 0;
      writeRtpHeader(buf, 0, h);
      parseRtpHeader(buf, 172, p);
      jb.insert(buf, p, i * 20);
      jb.get(i * 20);
    }),
  ]);
  const key = Buffer.alloc(30, 7).toString('base64');
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']) {
    const tx = createSrtpSession(suite, key, key);
    const rx = createSrtpSession(suite, key, key);
    const pk = new Uint8Array(1500);
    const wire = new Uint8Array(1500);
    let seq = 0;
    rows.push([
      `SrtpSession protectInPlace, ${suite}`,
      measure(2e5, () => {
        h.sequenceNumber = seq++ & 0xffff;
        writeRtpHeader(pk, 0, h);
        tx.protectInPlace(pk, 172);
      }),
    ]);
    seq = 0;
    const tx2 = createSrtpSession(suite, key, key);
    rows.push([
      `SrtpSession protectInPlace + unprotect, ${suite}`,
      measure(2e5, () => {
        h.sequenceNumber = seq++ & 0xffff;
        writeRtpHeader(pk, 0, h);
        const n = tx2.protectInPlace(pk, 172);
        wire.set(pk.subarray(0, n));
        if (rx.unprotect(wire, n) !== 172) throw new Error('SRTP round trip failed');
      }),
    ]);
  }
  const k16 = Buffer.alloc(16, 1);
  const iv = Buffer.alloc(16, 2);
  const payload = Buffer.alloc(160);
  rows.push([
    'ref: createCipheriv aes-128-ctr per packet',
    measure(2e5, () => createCipheriv('aes-128-ctr', k16, iv).update(payload)),
  ]);
  const ecb = createCipheriv('aes-128-ecb', k16, null);
  ecb.setAutoPadding(false);
  rows.push(['ref: one aes-128-ecb cipher, 10 counter blocks', measure(2e5, () => ecb.update(payload))]);
  const authKey = Buffer.alloc(20, 3);
  rows.push([
    'ref: createHmac sha1 per packet',
    measure(2e5, () => createHmac('sha1', authKey).update(buf.subarray(0, 172)).digest()),
  ]);
  return {
    title: 'RTP module: ns per packet',
    columns: ['operation', 'ns/packet'],
    rows,
    notes: [
      'SRTP keystream comes from one reused AES-ECB cipher over counter blocks (no createCipheriv per packet);',
      'HMAC-SHA1 needs createHmac per packet (node:crypto has no reusable HMAC state).',
    ],
  };
}
