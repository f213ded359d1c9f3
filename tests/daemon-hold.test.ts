// End to end, hold across the B2BUA: Alice and Bob (user agents on our SIP stack, RTP from 127.0.0.2 and .3) talk
// through the daemon; Alice holds with a re-INVITE (a=sendonly), and Bob, whose leg knows nothing of it, must hear
// the music on hold from the media engine (the built-in chime: not silence, not Alice's audio); Alice resumes with
// an UPDATE (a=sendrecv) and the tones flow both ways again. The call record and the log carry the hold and the resume.
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { createDecoder, createEncoder, RtpHeader, writeRtpHeader } from '@switchyard/media';
import { createSdpAnswer, type IncomingCall, parseSdp, type SipSession, serializeSdp } from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHIME_NOTES_HZ } from '../packages/daemon/src/music-on-hold.js';
import { rms, Sine, toneAmplitude } from '../packages/media/test/engine/phone.js';
import {
  ALICE_AND_BOB,
  type Cleanup,
  ctlCall,
  daemonFolder,
  eventually,
  loopbackSipAndAdmin,
  mediaOf,
  registeredPhone,
  removeFolder,
  runCleanup,
  sipPortOf,
  startDaemon,
  writeConfig,
} from './support/daemon.js';

let dir = '';
let socket = '';
let sipPort = 0;
let daemon: ChildProcess | undefined;
let output: () => string = () => '';
const cleanup: Cleanup = [];

/** A phone's RTP: a PCMU tone out, paced in real time, with every packet in kept in order of arrival. */
class ToneRtp {
  readonly received: Uint8Array[] = [];
  private readonly header = new RtpHeader();
  private readonly packet = new Uint8Array(1500);
  private readonly encoder = createEncoder('PCMU');
  private sending = false;

  private constructor(
    readonly socket: Socket,
    readonly address: string,
    readonly port: number,
  ) {
    socket.on('message', (m) => {
      if (m.length > 12 && (m[1] & 0x7f) === 0) this.received.push(new Uint8Array(m.subarray(12)));
    });
    this.header.ssrc = 0x20000 + Math.floor(Math.random() * 0xffff);
    this.header.payloadType = 0;
  }

  static async open(address: string): Promise<ToneRtp> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
    cleanup.push(() => {
      s.close();
    });
    return new ToneRtp(s, address, s.address().port);
  }

  /** Sends a tone to `to` until stop(), one 20 ms frame at a time. */
  start(to: { address: string; port: number }, frequency: number): void {
    this.sending = true;
    const sine = new Sine(frequency, 8000, 8000);
    const out = new Uint8Array(160);
    const begin = Date.now();
    let i = 0;
    const tick = () => {
      if (!this.sending) return;
      const n = this.encoder.encodeInto(sine.next(160), out);
      const off = writeRtpHeader(this.packet, 0, this.header);
      this.packet.set(out.subarray(0, n), off);
      this.socket.send(this.packet.subarray(0, off + n), to.port, to.address);
      this.header.sequenceNumber = (this.header.sequenceNumber + 1) & 0xffff;
      this.header.timestamp = (this.header.timestamp + 160) >>> 0;
      i++;
      setTimeout(tick, Math.max(0, begin + i * 20 - Date.now()));
    };
    tick();
  }

  stop(): void {
    this.sending = false;
  }

  /** What arrives over the next `ms`, decoded. */
  async listen(ms: number): Promise<Int16Array> {
    const from = this.received.length;
    await new Promise((r) => setTimeout(r, ms));
    const dec = createDecoder('PCMU');
    const frames = this.received.slice(from);
    const pcm = new Int16Array(frames.length * 160);
    const buf = new Int16Array(2048);
    let at = 0;
    for (const f of frames) {
      const n = dec.decodeInto(f, buf);
      pcm.set(buf.subarray(0, Math.min(n, pcm.length - at)), at);
      at += n;
    }
    return pcm.subarray(0, at);
  }
}

function pcmuSdp(rtp: ToneRtp, version: number, direction: string): string {
  return [
    'v=0',
    `o=- 1 ${version} IN IP4 ${rtp.address}`,
    's=-',
    `c=IN IP4 ${rtp.address}`,
    't=0 0',
    `m=audio ${rtp.port} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    'a=ptime:20',
    `a=${direction}`,
    '',
  ].join('\r\n');
}

/** The loudest note of the chime in `pcm`. */
const chimeLevel = (pcm: Int16Array) => Math.max(...CHIME_NOTES_HZ.map((f) => toneAmplitude(pcm, f, 8000)));

beforeAll(async () => {
  let configFile: string;
  ({ dir, configFile, socket } = daemonFolder('switchyard-hold-e2e-'));
  writeConfig(configFile, [
    ...loopbackSipAndAdmin(socket),
    'media:',
    '  address: 127.0.0.1',
    '  rtpPorts: { min: 46000, max: 46999 }',
    `data: ${join(dir, 'data')}`,
    ...ALICE_AND_BOB,
    '',
  ]);
  const started = await startDaemon({ configFile });
  daemon = started.child;
  output = started.output;
  sipPort = sipPortOf(await ctlCall<{ listen: string[] }>(socket, 'status'));
});

afterAll(async () => {
  await runCleanup(cleanup);
  daemon?.kill('SIGKILL');
  removeFolder(dir);
});

describe('hold across the B2BUA', () => {
  it('the held party hears music on hold, and the call is bridged again on resume', async () => {
    const alice = await registeredPhone(cleanup, '1000', 's3cret-a', sipPort);
    const bob = await registeredPhone(cleanup, '1001', 's3cret-b', sipPort);
    const aliceRtp = await ToneRtp.open('127.0.0.2');
    const bobRtp = await ToneRtp.open('127.0.0.3');
    let bobSession: SipSession | undefined;
    const bobReoffers: string[] = [];
    bob.onInvite = (call: IncomingCall) => {
      const answer = createSdpAnswer(parseSdp(call.body), {
        address: bobRtp.address,
        sessionId: '2',
        media: [{ port: bobRtp.port, codecs: [{ encodingName: 'PCMU', clockRate: 8000 }] }],
      });
      void call.accept({ body: serializeSdp(answer), contentType: 'application/sdp' }).then((s) => {
        bobSession = s;
        s.events.onOffer = (offer) => {
          bobReoffers.push(Buffer.from(offer).toString());
          return undefined;
        };
      });
    };
    const session = await alice.call(`sip:1001@127.0.0.1:${sipPort}`, { body: pcmuSdp(aliceRtp, 1, 'sendrecv') })
      .answered;
    const toAlice = mediaOf(session.remoteBody);
    const bobEnd = await eventually(async () => bobSession);
    const toBob = mediaOf(bobEnd.remoteBody);
    aliceRtp.start(toAlice, 1000);
    bobRtp.start(toBob, 440);

    await new Promise((r) => setTimeout(r, 300));
    const talking = await bobRtp.listen(600);
    expect(toneAmplitude(talking, 1000, 8000)).toBeGreaterThan(6000);

    // Alice holds: she keeps sending (as phones that play their own music do), Bob must not hear her.
    const hold = await session.reinvite(pcmuSdp(aliceRtp, 2, 'sendonly'));
    expect(hold.status).toBe(200);
    expect(Buffer.from(hold.body).toString()).toContain('a=recvonly');
    await new Promise((r) => setTimeout(r, 300));
    const held = await bobRtp.listen(1000);
    expect(held.length).toBeGreaterThan(8000 * 0.7);
    expect(toneAmplitude(held, 1000, 8000)).toBeLessThan(200);
    expect(rms(held)).toBeGreaterThan(300); // not silence
    expect(chimeLevel(held)).toBeGreaterThan(300);
    // Bob's leg was not touched: the PBX held nothing towards him, it played the music itself.
    expect(bobReoffers).toEqual([]);
    const live = await ctlCall<Array<{ heldBy: string[]; heldSince: number | null }>>(socket, 'calls.list');
    expect(live).toEqual([expect.objectContaining({ heldBy: ['caller'], heldSince: expect.any(Number) })]);

    // Resume, this time with UPDATE (RFC 3311): both tones flow again, and the music stops.
    const resume = await session.update(pcmuSdp(aliceRtp, 3, 'sendrecv'));
    expect(resume.status).toBe(200);
    expect(Buffer.from(resume.body).toString()).toContain('a=sendrecv');
    await new Promise((r) => setTimeout(r, 300));
    const [bobHears, aliceHears] = await Promise.all([bobRtp.listen(800), aliceRtp.listen(800)]);
    expect(toneAmplitude(bobHears, 1000, 8000)).toBeGreaterThan(6000);
    expect(chimeLevel(bobHears)).toBeLessThan(200);
    expect(toneAmplitude(aliceHears, 440, 8000)).toBeGreaterThan(6000);
    expect(await ctlCall(socket, 'calls.list')).toEqual([expect.objectContaining({ heldBy: [], heldSince: null })]);

    aliceRtp.stop();
    bobRtp.stop();
    await session.bye();
    const record = await eventually(async () => {
      const r = await ctlCall<{ records: Array<{ steps: Array<Record<string, unknown>> }> }>(socket, 'cdrs.query', {
        extension: '1001',
      });
      return r.records[0];
    });
    expect(record.steps).toEqual([
      expect.objectContaining({ kind: 'hold', target: '1000', detail: { by: 'caller' }, endedAt: expect.any(Number) }),
      expect.objectContaining({ kind: 'resume', target: '1000', detail: { by: 'caller' } }),
    ]);
    expect(output()).toContain('"msg":"call.held"');
    expect(output()).toContain('"msg":"call.resumed"');
  });
});
