// End to end with audio: the daemon started by its CLI anchors the media of a call between two user agents on our
// SIP stack. Each phone sends a tone as real RTP from its own loopback address (127.0.0.2 and 127.0.0.3); each must
// hear the other's tone at the right frequency and level, through the PBX's address (127.0.0.1) only: transcoded
// when the phones share no codec (PCMU caller, G.722 callee), relayed when they do.
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { type AudioEncoder, createDecoder, createEncoder, RtpHeader, writeRtpHeader } from '@switchyard/media';
import {
  createSdpAnswer,
  type IncomingCall,
  parseSdp,
  type SipSession,
  serializeSdp,
  type UserAgent,
} from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sine, toneAmplitude } from '../packages/media/test/engine/phone.js';
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

const RTP_MIN = 44000;
const RTP_MAX = 44999;

let dir = '';
let socket = '';
let sipPort = 0;
let daemon: ChildProcess | undefined;
const cleanup: Cleanup = [];

const ctl = (method: string, params: unknown = {}): Promise<unknown> => ctlCall(socket, method, params);
const phone = (number: string, password: string): Promise<UserAgent> =>
  registeredPhone(cleanup, number, password, sipPort);

interface Received {
  payloadType: number;
  payload: Uint8Array;
}

/** The RTP side of a phone: one socket on its own loopback address, a tone out, everything in kept. */
class RtpPhone {
  readonly received: Received[] = [];
  private readonly header = new RtpHeader();
  private readonly packet = new Uint8Array(1500);

  private constructor(
    readonly socket: Socket,
    readonly address: string,
    readonly port: number,
  ) {
    socket.on('message', (m) => {
      if (m.length >= 12) this.received.push({ payloadType: m[1] & 0x7f, payload: new Uint8Array(m.subarray(12)) });
    });
    this.header.ssrc = 0x10000 + Math.floor(Math.random() * 0xffff);
    this.header.sequenceNumber = 1;
    this.header.timestamp = 1000;
  }

  static async open(address: string): Promise<RtpPhone> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
    const p = new RtpPhone(s, address, s.address().port);
    cleanup.push(() => {
      s.close();
    });
    return p;
  }

  private send(to: { address: string; port: number }, pt: number, payload: Uint8Array, marker = false): void {
    this.header.payloadType = pt;
    this.header.marker = marker;
    const off = writeRtpHeader(this.packet, 0, this.header);
    this.packet.set(payload, off);
    this.socket.send(this.packet.subarray(0, off + payload.length), to.port, to.address);
    this.header.sequenceNumber = (this.header.sequenceNumber + 1) & 0xffff;
  }

  /** Sends `frames` 20 ms frames of a tone, paced in real time. */
  async sendTone(to: { address: string; port: number }, pt: number, enc: AudioEncoder, sine: Sine, frames: number) {
    const samples = (enc.sampleRate * 20) / 1000;
    const out = new Uint8Array(1500);
    const start = Date.now();
    for (let i = 0; i < frames; i++) {
      const n = enc.encodeInto(sine.next(samples), out);
      this.send(to, pt, out.subarray(0, n), i === 0);
      this.header.timestamp = (this.header.timestamp + 160) >>> 0; // 8000 Hz RTP clock for G.711 and G.722
      const due = start + (i + 1) * 20;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  }

  /** RFC 4733 2.5: one event, three packets of growing duration, the last with the end bit (sent three times). */
  sendDigit(to: { address: string; port: number }, pt: number, event: number): void {
    for (let i = 1; i <= 5; i++) {
      const end = i >= 3;
      const duration = Math.min(i, 3) * 160;
      this.send(to, pt, Uint8Array.of(event, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff), i === 1);
    }
    this.header.timestamp = (this.header.timestamp + 480) >>> 0;
  }

  /** Decodes what arrived with `pt` (of the first `upTo` packets), the last `seconds` of it. */
  heard(pt: number, encoding: string, seconds: number, upTo = Infinity): { pcm: Int16Array; rate: number } {
    const dec = createDecoder(encoding);
    const frames = this.received.slice(0, upTo).filter((r) => r.payloadType === pt);
    const buf = new Int16Array(2048);
    const all: number[] = [];
    // Where the sound last was: what a transcoding engine sends after the sender stopped is silence, and how much
    // of it falls into the window depends on the machine's load, not on the call.
    let soundEnd = 0;
    for (const f of frames) {
      const n = dec.decodeInto(f.payload, buf);
      let peak = 0;
      for (let i = 0; i < n; i++) {
        all.push(buf[i]);
        peak = Math.max(peak, Math.abs(buf[i]));
      }
      if (peak > 500) soundEnd = all.length;
    }
    all.length = soundEnd;
    const want = Math.min(all.length, Math.round(seconds * dec.sampleRate));
    return { pcm: Int16Array.from(all.slice(all.length - want)), rate: dec.sampleRate };
  }
}

function pcmuOffer(rtp: RtpPhone): string {
  return [
    'v=0',
    `o=- 1 1 IN IP4 ${rtp.address}`,
    's=-',
    `c=IN IP4 ${rtp.address}`,
    't=0 0',
    `m=audio ${rtp.port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

beforeAll(async () => {
  let configFile: string;
  ({ dir, configFile, socket } = daemonFolder('switchyard-media-e2e-'));
  writeConfig(configFile, [
    ...loopbackSipAndAdmin(socket),
    'media:',
    '  address: 127.0.0.1',
    `  rtpPorts: { min: ${RTP_MIN}, max: ${RTP_MAX} }`,
    `data: ${join(dir, 'data')}`,
    ...ALICE_AND_BOB,
    '',
  ]);
  daemon = (await startDaemon({ configFile })).child;
  sipPort = sipPortOf((await ctl('status')) as { listen: string[] });
});

afterAll(async () => {
  await runCleanup(cleanup);
  daemon?.kill('SIGKILL');
  removeFolder(dir);
});

interface Case {
  name: string;
  calleeCodec: { encodingName: string; clockRate: number; pt: number; decoder: string };
  legCodecs: [string, string];
  mode: 'relay' | 'transcode';
}

const cases: Case[] = [
  {
    name: 'transcodes a PCMU caller to a G.722 callee',
    calleeCodec: { encodingName: 'G722', clockRate: 8000, pt: 9, decoder: 'G722' },
    legCodecs: ['PCMU', 'G722'],
    mode: 'transcode',
  },
  {
    name: 'relays between two PCMU phones',
    calleeCodec: { encodingName: 'PCMU', clockRate: 8000, pt: 0, decoder: 'PCMU' },
    legCodecs: ['PCMU', 'PCMU'],
    mode: 'relay',
  },
];

describe('calls through the daemon carry real audio both ways', () => {
  let alice: UserAgent;
  let bob: UserAgent;
  beforeAll(async () => {
    alice = await phone('1000', 's3cret-a');
    bob = await phone('1001', 's3cret-b');
  });

  for (const c of cases) {
    it(c.name, async () => {
      const aliceRtp = await RtpPhone.open('127.0.0.2');
      const bobRtp = await RtpPhone.open('127.0.0.3');
      let offeredToBob = '';
      let bobSession: SipSession | undefined;
      bob.onInvite = (call: IncomingCall) => {
        offeredToBob = Buffer.from(call.body).toString();
        call.ring();
        const answer = createSdpAnswer(parseSdp(call.body), {
          address: bobRtp.address,
          sessionId: '2',
          media: [
            {
              port: bobRtp.port,
              codecs: [{ encodingName: c.calleeCodec.encodingName, clockRate: c.calleeCodec.clockRate }],
              telephoneEvent: true,
            },
          ],
        });
        setTimeout(() => {
          void call.accept({ body: serializeSdp(answer), contentType: 'application/sdp' }).then((s) => {
            bobSession = s;
          });
        }, 400);
      };
      const before = Date.now();
      const progress: number[] = [];
      const session = await alice.call(`sip:1001@127.0.0.1:${sipPort}`, {
        body: pcmuOffer(aliceRtp),
        onProgress: (r) => progress.push(r.status),
      }).answered;
      // Bob's 180 became ringback from the PBX while he rang: a 183 and the 425 Hz tone (EU plan).
      expect(progress).toContain(183);
      const ringing = aliceRtp.received.length;
      expect(ringing).toBeGreaterThan(5);
      const ringback = aliceRtp.heard(0, 'PCMU', 10, ringing).pcm.subarray(0, 800); // its first 100 ms
      expect(toneAmplitude(ringback, 425, 8000)).toBeGreaterThan(1500);

      // Each phone was given the PBX's address and an engine port, never the other phone's.
      const toAlice = mediaOf(session.remoteBody);
      const toBob = mediaOf(offeredToBob);
      for (const m of [toAlice, toBob]) {
        expect(m.address).toBe('127.0.0.1');
        expect(m.port).toBeGreaterThanOrEqual(RTP_MIN);
        expect(m.port).toBeLessThanOrEqual(RTP_MAX);
      }
      expect(offeredToBob).not.toContain('127.0.0.2');
      expect(Buffer.from(session.remoteBody).toString()).not.toContain('127.0.0.3');
      expect(toAlice.formats).toEqual(['0', '101']);
      // Bob is offered every codec of the engine, the caller's first.
      expect(toBob.formats.slice(0, 3)).toEqual(['0', '9', '8']);

      const live = (await ctl('calls.list')) as Array<{ state: string; callerExtension: string }>;
      expect(live).toEqual([
        expect.objectContaining({
          state: 'answered',
          callerExtension: '1000',
          media: { callerCodec: 'PCMU', calleeCodec: c.legCodecs[1], mode: c.mode },
        }),
      ]);

      // 1.5 s of tone each way, at the same time, then a DTMF digit from Alice.
      const frames = 75;
      await Promise.all([
        aliceRtp.sendTone(toAlice, 0, createEncoder('PCMU'), new Sine(1000, 8000, 8000), frames),
        bobRtp.sendTone(
          toBob,
          c.calleeCodec.pt,
          createEncoder(c.calleeCodec.decoder),
          new Sine(440, 8000, createEncoder(c.calleeCodec.decoder).sampleRate),
          frames,
        ),
      ]);
      aliceRtp.sendDigit(toAlice, 101, 5);
      await new Promise((r) => setTimeout(r, 300));

      // Alice hears Bob's 440 Hz and not her own 1000 Hz, at the level Bob sent (codecs keep it within 20 %).
      const a = aliceRtp.heard(0, 'PCMU', 1);
      expect(a.pcm.length).toBeGreaterThan(a.rate * 0.8);
      expect(toneAmplitude(a.pcm, 440, a.rate)).toBeGreaterThan(8000 * 0.8);
      expect(toneAmplitude(a.pcm, 440, a.rate)).toBeLessThan(8000 * 1.2);
      expect(toneAmplitude(a.pcm, 1000, a.rate)).toBeLessThan(800);
      const b = bobRtp.heard(c.calleeCodec.pt, c.calleeCodec.decoder, 1);
      expect(b.pcm.length).toBeGreaterThan(b.rate * 0.8);
      expect(toneAmplitude(b.pcm, 1000, b.rate)).toBeGreaterThan(8000 * 0.8);
      expect(toneAmplitude(b.pcm, 1000, b.rate)).toBeLessThan(8000 * 1.2);
      expect(toneAmplitude(b.pcm, 440, b.rate)).toBeLessThan(800);
      // The digit reaches Bob as an RFC 4733 event (relayed, or re-stamped across the transcoder).
      const events = bobRtp.received.filter((r) => r.payloadType === 101);
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => e.payload[0] === 5)).toBe(true);
      expect(events.some((e) => (e.payload[1] & 0x80) !== 0)).toBe(true);

      const bobEnded = new Promise<string>((resolve) => {
        if (bobSession) bobSession.events.onEnded = resolve;
      });
      await session.bye();
      expect(await bobEnded).toBe('remote');
      const elapsed = Date.now() - before;

      const records = await eventually(async () => {
        const r = (await ctl('cdrs.query', { extension: '1001' })) as {
          records: Array<{
            status: string;
            hangupSide: string;
            startedAt: number;
            answeredAt: number;
            endedAt: number;
            legs: Array<{ codec: string | null }>;
          }>;
        };
        return r.records.length === cases.indexOf(c) + 1 ? r.records : undefined;
      });
      const record = records.find((r) => r.startedAt >= before - 50);
      expect(record).toMatchObject({ status: 'answered', hangupSide: 'caller' });
      expect(record!.answeredAt - record!.startedAt).toBeGreaterThanOrEqual(390);
      expect(record!.answeredAt - record!.startedAt).toBeLessThan(3000);
      expect(record!.endedAt - record!.answeredAt).toBeGreaterThanOrEqual(1500);
      expect(record!.endedAt - record!.startedAt).toBeLessThanOrEqual(elapsed + 100);
      expect(record!.legs.map((l) => l.codec)).toEqual(c.legCodecs);
      // Every endpoint of the call is closed.
      await eventually(async () => {
        const s = (await ctl('status')) as { media: { endpoints: number }; activeCalls: number };
        return s.media.endpoints === 0 && s.activeCalls === 0 ? true : undefined;
      });
    });
  }
});
