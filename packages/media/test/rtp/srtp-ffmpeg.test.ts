// Interop with ffmpeg's SRTP (Debian's package): its SRTP/SRTCP must verify and decrypt here, and what we protect
// must decode there (across a sequence number wrap).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createSrtpSession,
  parseRtpHeader,
  RtcpCompoundReader,
  RtcpPacketType,
  RtcpParseStatus,
  RtpHeader,
  writeRtpHeader,
} from '../../src/rtp/index.js';

const haveFfmpeg = (() => {
  try {
    execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!haveFfmpeg)
  console.warn('ffmpeg not found: skipping the SRTP interop tests (bash scripts/install-system-deps.sh)');

const SUITE = 'AES_CM_128_HMAC_SHA1_80';

function bind(port = 0): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** An even port whose pair (RTP, RTCP) is free right now. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 20000);
    const a = await bind(p);
    const b = a && (await bind(p + 1));
    a?.close();
    b?.close();
    if (a && b) return p;
  }
  throw new Error('no free port pair');
}

describe.skipIf(!haveFfmpeg)('SRTP interop with ffmpeg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'srtp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('authenticates and decrypts the SRTP and SRTCP ffmpeg sends', async () => {
    const key = Buffer.from(Array.from({ length: 30 }, (_, i) => i * 7 + 1)).toString('base64');
    const rtp = (await bind())!;
    const rtcp = (await bind())!;
    const session = createSrtpSession(SUITE, key, key);
    const h = new RtpHeader();
    const reader = new RtcpCompoundReader();
    let rtpOk = 0;
    let srs = 0;
    let lastSeq = -1;
    let inOrder = true;
    rtp.on('message', (m) => {
      const n = session.unprotect(m, m.length);
      if (n > 0 && parseRtpHeader(m, n, h) === 0) {
        rtpOk++;
        if (lastSeq >= 0 && h.sequenceNumber !== ((lastSeq + 1) & 0xffff)) inOrder = false;
        lastSeq = h.sequenceNumber;
      }
    });
    rtcp.on('message', (m) => {
      const n = session.unprotectRtcp(m, m.length);
      if (n > 0 && reader.validate(m, n) === RtcpParseStatus.Ok && reader.next() === RtcpPacketType.SR) srs++;
    });
    const url = `srtp://127.0.0.1:${rtp.address().port}?rtcpport=${rtcp.address().port}&pkt_size=172`;
    await new Promise<void>((resolve) => {
      execFile(
        'ffmpeg',
        [
          ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
          ...['-i', 'sine=frequency=1000:sample_rate=8000:duration=1', '-c:a', 'pcm_mulaw', '-f', 'rtp'],
          ...['-srtp_out_suite', SUITE, '-srtp_out_params', key, url],
        ],
        { timeout: 20_000 },
        () => setTimeout(resolve, 300),
      );
    });
    rtp.close();
    rtcp.close();
    expect(rtpOk).toBeGreaterThan(40);
    expect(inOrder).toBe(true);
    expect(session.authFailures).toBe(0);
    expect(srs).toBeGreaterThanOrEqual(1);
  });

  it('ffmpeg decodes what we protect, across a sequence number wrap', async () => {
    const key = Buffer.from(Array.from({ length: 30 }, (_, i) => i * 5 + 3)).toString('base64');
    const port = await freePortPair();
    const sdp = join(dir, 'in.sdp');
    writeFileSync(
      sdp,
      `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/SAVP 0\r\n` +
        `a=rtpmap:0 PCMU/8000\r\na=crypto:1 ${SUITE} inline:${key}\r\n`,
    );
    const ff = spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp,srtp', '-i', sdp, '-f', 's16le', '-'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let bytes = 0;
    ff.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    const exited = new Promise<void>((resolve) => ff.on('exit', () => resolve()));
    const killer = setTimeout(() => ff.kill('SIGKILL'), 20_000);
    const session = createSrtpSession(SUITE, key, key);
    const sock = (await bind())!;
    const h = new RtpHeader();
    h.ssrc = 0x1234;
    const buf = new Uint8Array(200);
    await new Promise((r) => setTimeout(r, 1500)); // let ffmpeg open its socket
    for (let i = 0; i < 100; i++) {
      h.sequenceNumber = (65500 + i) & 0xffff;
      h.timestamp = i * 160;
      h.marker = i === 0;
      const at = writeRtpHeader(buf, 0, h);
      buf.fill(0xff, at, at + 160);
      const n = session.protectInPlace(buf, at + 160);
      sock.send(buf.subarray(0, n), port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 5));
    }
    // ffmpeg writes as it decodes; stop it once everything arrived (or after 10 s)
    for (let waited = 0; waited < 10_000 && bytes < 100 * 160 * 2; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    ff.kill('SIGKILL');
    await exited;
    clearTimeout(killer);
    sock.close();
    expect(bytes).toBe(100 * 160 * 2); // every packet decoded to 160 16-bit samples
  });
});
