// The engine's worker pool, placement, crash recovery, audio streams, DTMF, playback and recording. Needs the
// built worker (npx tsc -b packages/media; npm test builds first).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder, createEncoder } from '../../src/codecs/index.js';
import { writeWav } from '../../src/dsp/index.js';
import { type CodecDescription, MediaEngine, type MediaEngineEvent } from '../../src/engine/index.js';
import {
  createSrtpSession,
  RtcpCompoundReader,
  RtcpPacketType,
  RtcpParseStatus,
  RtcpReportBlock,
  TelephoneEventReceiver,
  writeRtcpReceiverReport,
} from '../../src/rtp/index.js';
import { concat, Phone, rms, Sine, toneAmplitude, until } from './phone.js';

const PCMU: CodecDescription = { payloadType: 0, encoding: 'PCMU', clockRate: 8000 };

let engine: MediaEngine;
let dir: string;
const events: MediaEngineEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'media-engine-'));
  engine = await MediaEngine.start({
    workers: 2,
    clock: 'manual',
    portRange: { min: 42000, max: 42999 },
    statisticsIntervalMs: 1000,
  });
  engine.on('event', (e) => events.push(e));
});

afterAll(async () => {
  await engine?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function pcmuFrames(sine: Sine, count: number): Uint8Array[] {
  const enc = createEncoder('PCMU');
  const out = new Uint8Array(160);
  return Array.from({ length: count }, () => {
    const n = enc.encodeInto(sine.next(160), out);
    return out.slice(0, n);
  });
}

async function phoneEndpoint(options: { group?: string } = {}) {
  const phone = await Phone.open();
  const ep = await engine.createEndpoint({
    address: '127.0.0.1',
    codecs: [PCMU],
    telephoneEventPayloadType: 101,
    ...options,
  });
  await engine.setRemote(ep.sessionId, { address: '127.0.0.1', port: phone.port });
  return { phone, ep };
}

describe('MediaEngine', () => {
  it('allocates even RTP ports with RTCP on port + 1, and places by group and near', async () => {
    const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: 'g1' });
    const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: 'g1' });
    const c = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], near: a.sessionId });
    const d = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], rtcpMux: true });
    for (const e of [a, b, c]) {
      expect(e.port % 2).toBe(0);
      expect(e.rtcpPort).toBe(e.port + 1);
    }
    expect(d.rtcpPort).toBe(d.port);
    expect(new Set([a.port, b.port, c.port, d.port]).size).toBe(4);
    expect(b.worker).toBe(a.worker);
    expect(c.worker).toBe(a.worker);
    await expect(engine.createEndpoint({ address: '127.0.0.1', codecs: [] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(engine.setRemote('nope', { address: '127.0.0.1', port: 9 })).rejects.toMatchObject({
      code: 'UNKNOWN_SESSION',
    });
    await expect(
      engine.setRemote(a.sessionId, { address: '127.0.0.1', port: 9, payloadType: 77 }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_CODEC' });
    for (const e of [a, b, c, d]) await engine.close(e.sessionId);
  });

  it('keeps a placement group while any of its sessions is open, and forgets it after the last', async () => {
    const groups = (engine as unknown as { groups: Map<string, unknown> }).groups;
    const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: 'g2' });
    const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: 'g2' });
    await engine.close(a.sessionId);
    // b still holds the group: a new member joins it on b's worker.
    const c = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: 'g2' });
    expect(c.worker).toBe(b.worker);
    await engine.close(b.sessionId);
    expect(groups.has('g2')).toBe(true);
    await engine.close(c.sessionId);
    expect(groups.has('g2')).toBe(false);
    // A create that fails leaves no group behind either.
    await expect(
      engine.createEndpoint({ address: '127.0.0.1', codecs: [{ ...PCMU, payloadType: 200 }], group: 'g3' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(groups.has('g3')).toBe(false);
  });

  it('drops malformed and foreign packets without harm and counts them', async () => {
    const { phone, ep } = await phoneEndpoint();
    const stranger = await Phone.open();
    try {
      phone.sendRaw(ep.port, new Uint8Array([1, 2, 3]));
      phone.sendRaw(ep.port, new Uint8Array(20).fill(0xff));
      phone.send(ep.port, 0, new Uint8Array(160), 160); // latches the phone's address
      stranger.send(ep.port, 0, new Uint8Array(160), 160); // hijack attempt after latching
      phone.send(ep.port, 55, new Uint8Array(10), 160); // unknown payload type
      await until(async () => {
        const s = await engine.getStatistics(ep.sessionId);
        return s.packetsDiscarded >= 3 && s.packetsReceived >= 1;
      });
      phone.send(ep.port, 0, new Uint8Array(160), 160);
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 2);
      const s = await engine.getStatistics(ep.sessionId);
      // The stranger's packet is refused: by the engine, or by the kernel once the socket is connected to the phone.
      expect(s.packetsReceived).toBe(2);
      expect(s.packetsDiscarded).toBeGreaterThanOrEqual(3);
      expect(s.packetsDiscarded).toBeLessThanOrEqual(4);
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
      stranger.close();
    }
  });

  it('latches an unsignalled source only after a valid stream, and then refuses others (hijack guard)', async () => {
    const phone = await Phone.open();
    const stranger = await Phone.open();
    try {
      const ep = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU] });
      stranger.send(ep.port, 0, new Uint8Array(160), 160); // one packet does not take the latch
      for (let i = 0; i < 3; i++) phone.send(ep.port, 0, new Uint8Array(160), 160); // three in sequence do
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 1);
      stranger.send(ep.port, 0, new Uint8Array(160), 160);
      phone.send(ep.port, 0, new Uint8Array(160), 160);
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 2);
      const s = await engine.getStatistics(ep.sessionId);
      expect(s.packetsReceived).toBe(2); // the latching packet and the phone's next one
      expect(s.packetsDiscarded).toBeGreaterThanOrEqual(3); // the stranger's first, the phone's first two
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
      stranger.close();
    }
  });

  it('relays SRTP: authenticates and decrypts one leg, protects again for the other', async () => {
    const key = (fill: number): string => Buffer.alloc(30, fill).toString('base64');
    const suite = 'AES_CM_128_HMAC_SHA1_80' as const;
    const phoneA = await Phone.open();
    const phoneB = await Phone.open();
    try {
      const a = await engine.createEndpoint({
        address: '127.0.0.1',
        codecs: [PCMU],
        srtp: { suite, localKey: key(1), remoteKey: key(2) },
        group: 'srtp',
      });
      const b = await engine.createEndpoint({
        address: '127.0.0.1',
        codecs: [PCMU],
        srtp: { suite, localKey: key(3), remoteKey: key(4) },
        group: 'srtp',
      });
      await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: phoneB.port });
      expect(await engine.bridge(a.sessionId, b.sessionId)).toEqual({ mode: 'relay' });
      const phoneASrtp = createSrtpSession(suite, key(2), key(1));
      const phoneBSrtp = createSrtpSession(suite, key(4), key(3));
      const pkt = new Uint8Array(12 + 160);
      for (let i = 0; i < 20; i++) {
        pkt.set([0x80, 0, 0, i, 0, 0, 0, 0, 0, 0, 0x12, 0x34]); // seq i, SSRC 0x1234
        pkt[6] = (i * 160) >> 8;
        pkt[7] = (i * 160) & 0xff;
        pkt.fill(i + 1, 12);
        phoneA.sendRaw(a.port, phoneASrtp.protect(pkt, pkt.length).slice());
      }
      phoneA.sendRaw(a.port, pkt); // plain RTP on an SRTP leg: refused
      // A was given no remote: its first two packets only show the latch guard a valid stream (RtpLatch), the
      // third latches it, and from there on everything is relayed.
      await phoneB.waitFor(18);
      for (let i = 0; i < 18; i++) {
        const raw = phoneB.received[i].raw.slice();
        const n = phoneBSrtp.unprotect(raw, raw.length);
        expect(n).toBe(172);
        expect(raw[12]).toBe(i + 3);
        expect(((raw[2] << 8) | raw[3]) - ((phoneB.received[0].raw[2] << 8) | phoneB.received[0].raw[3])).toBe(i);
      }
      await until(async () => (await engine.getStatistics(a.sessionId)).packetsDiscarded >= 1);
      await expect(
        engine.createEndpoint({
          address: '127.0.0.1',
          codecs: [PCMU],
          srtp: { suite, localKey: 'short', remoteKey: key(1) },
        }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await engine.close(a.sessionId);
      await engine.close(b.sessionId);
    } finally {
      phoneA.close();
      phoneB.close();
    }
  });

  it("sends RTCP reports about the far end and reads the far end's reports about us", async () => {
    const phone = await Phone.open();
    const phoneRtcp = await Phone.open();
    try {
      const ep = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU] });
      await engine.setRemote(ep.sessionId, { address: '127.0.0.1', port: phone.port, rtcpPort: phoneRtcp.port });
      for (let i = 0; i < 10; i++) phone.send(ep.port, 0, new Uint8Array(160), 160);
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 10);
      await engine.advanceClock(8000); // RFC 3550 6.2: reports at least every 5 s (randomized), sooner at start
      await until(() => phoneRtcp.received.length >= 1);
      const reader = new RtcpCompoundReader();
      const raw = phoneRtcp.received[0].raw;
      expect(reader.validate(raw, raw.length)).toBe(RtcpParseStatus.Ok);
      expect(reader.next()).toBe(RtcpPacketType.RR); // the engine sent no RTP: a receiver report
      expect(reader.ssrc).toBe(ep.ssrc);
      expect(reader.blockCount).toBe(1);
      expect(reader.blocks[0].ssrc).toBe(phone.ssrc);
      expect(reader.next()).toBe(RtcpPacketType.SDES);
      expect(reader.cnameLength).toBeGreaterThan(0);

      // The phone reports on the engine's stream: 25% lost, 5 packets in all, jitter 80 units (10 ms at 8 kHz).
      const block = new RtcpReportBlock();
      block.ssrc = ep.ssrc;
      block.fractionLost = 64;
      block.cumulativeLost = 5;
      block.jitter = 80;
      const rr = new Uint8Array(64);
      const n = writeRtcpReceiverReport(rr, 0, phone.ssrc, [block]);
      phoneRtcp.sendRaw(ep.rtcpPort, rr.subarray(0, n));
      await until(async () => (await engine.getStatistics(ep.sessionId)).remote !== undefined);
      expect((await engine.getStatistics(ep.sessionId)).remote).toEqual({
        fractionLost: 0.25,
        packetsLost: 5,
        jitterMs: 10,
      });
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
      phoneRtcp.close();
    }
  });

  it('ends the sessions of a crashed worker with worker-crashed and replaces the worker', async () => {
    for (const how of ['throw', 'exit'] as const) {
      const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: `crash-${how}` });
      const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], near: a.sessionId });
      const closed: string[] = [];
      const onClosed = (e: MediaEngineEvent): void => {
        if (e.type === 'sessionClosed' && e.reason === 'worker-crashed') closed.push(e.session);
      };
      engine.on('event', onClosed);
      await engine.debugCrashWorker(a.sessionId, how);
      await until(() => closed.length === 2, 5000, 'sessionClosed events');
      engine.off('event', onClosed);
      expect(closed.sort()).toEqual([a.sessionId, b.sessionId].sort());
      await expect(engine.getStatistics(a.sessionId)).rejects.toMatchObject({ code: 'UNKNOWN_SESSION' });
      // The pool is whole again: a new endpoint can take the same worker index and the freed port.
      await until(async () => {
        try {
          const again = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: `after-${how}` });
          await engine.close(again.sessionId);
          return true;
        } catch {
          return false;
        }
      });
      expect(engine.workerCount).toBe(2);
    }
  });

  it('streams decoded audio to the application and sends what it writes, with back-pressure', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      const stream = await engine.openAudioStream(ep.sessionId, { sampleRate: 16000, capacitySamples: 3200 });
      const frames = pcmuFrames(new Sine(700, 9000, 8000), 50);
      for (const f of frames) phone.send(ep.port, 0, f, 160);
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 50);

      // The application answers with a 1200 Hz tone at 16 kHz; 3200 samples fill the queue.
      const reply = new Sine(1200, 7000, 16000);
      await stream.write(reply.next(3200));
      let secondAccepted = false;
      const second = stream.write(reply.next(3200)).then(() => {
        secondAccepted = true;
      });
      await new Promise((r) => setTimeout(r, 30));
      expect(secondAccepted).toBe(false); // no room until the worker sends some
      await engine.advanceClock(1000);
      await second;
      expect(secondAccepted).toBe(true);

      // What the phone said, decoded and resampled to 16 kHz, one 20 ms frame per tick.
      const frames16: Int16Array[] = [];
      const reader = stream[Symbol.asyncIterator]();
      for (let i = 0; i < 50; i++) {
        const r = await reader.next();
        if (r.done) break;
        frames16.push(r.value);
      }
      expect(frames16).toHaveLength(50);
      expect(frames16[0].length).toBe(320);
      const heard = concat(frames16);
      expect(toneAmplitude(heard.subarray(3200, 12800), 700, 16000)).toBeGreaterThan(9000 * 0.8);

      // The second write was accepted once the first had been sent; it goes out on the next ticks.
      await engine.advanceClock(1000);
      await phone.waitFor(20);
      expect(phone.received).toHaveLength(20);
      const dec = createDecoder('PCMU');
      const pcm = new Int16Array(160);
      const sent = concat(phone.received.slice(1, 20).map((p) => pcm.slice(0, dec.decodeInto(p.payload, pcm))));
      expect(toneAmplitude(sent, 1200, 8000)).toBeGreaterThan(7000 * 0.8);
      await stream.close();
      expect(stream.isClosed).toBe(true);
      await expect(stream.write(new Int16Array(10))).rejects.toMatchObject({ code: 'STREAM_CLOSED' });
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('reports RFC 4733 digits once per event, also when their end packets are lost', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      const ev = (digit: number, end: boolean, duration: number): Uint8Array =>
        new Uint8Array([digit, end ? 0x80 | 10 : 10, duration >> 8, duration & 0xff]);
      // RFC 4733 2.5.1: same timestamp for the whole event, end packet sent three times
      phone.send(ep.port, 101, ev(5, false, 160), 0, true);
      phone.send(ep.port, 101, ev(5, false, 320), 0);
      phone.send(ep.port, 101, ev(5, true, 800), 0);
      phone.send(ep.port, 101, ev(5, true, 800), 0);
      phone.send(ep.port, 101, ev(5, true, 800), 800);
      // '#' (event 11) whose end packets never arrive: reported after the receiver's end timeout
      phone.send(ep.port, 101, ev(11, false, 400), 0, true);
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 6);
      await engine.advanceClock(1200);
      await until(() => events.filter((e) => e.type === 'dtmf' && e.session === ep.sessionId).length >= 2);
      const digits = events.filter((e) => e.type === 'dtmf' && e.session === ep.sessionId);
      expect(digits).toEqual([
        { type: 'dtmf', session: ep.sessionId, digit: '5', durationMs: 100, source: 'rfc4733' },
        { type: 'dtmf', session: ep.sessionId, digit: '#', durationMs: 50, source: 'rfc4733' },
      ]);
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('sends digits as RFC 4733 events, one event per digit with three end packets', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      await expect(engine.sendDtmf(ep.sessionId, '1x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await engine.sendDtmf(ep.sessionId, '1#', { durationMs: 120, gapMs: 60 });
      await engine.advanceClock(1000);
      await until(() => phone.received.filter((p) => p.payloadType === 101 && (p.payload[1] & 0x80) !== 0).length >= 6);
      const got: { digit: string; ms: number }[] = [];
      const rx = new TelephoneEventReceiver((digit, ms) => got.push({ digit, ms }));
      for (const p of phone.received) {
        expect(p.payloadType).toBe(101);
        rx.receive(p.payload, 0, p.payload.length, p.timestamp, p.marker);
      }
      expect(got).toEqual([
        { digit: '1', ms: 120 },
        { digit: '#', ms: 120 },
      ]);
      const seqs = phone.received.map((p) => p.seq);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1] + 1) & 0xffff);
      const firstOfSecond = phone.received.find((p) => p.payload[0] === 11)!;
      expect(firstOfSecond.marker).toBe(true);
      expect(firstOfSecond.timestamp - phone.received[0].timestamp).toBeGreaterThanOrEqual(120 * 8);
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('sends with the payload types each phone declared and accepts ours and theirs (RFC 3264 6.1)', async () => {
    // Phone A declared PCMU and telephone-event 96 (we offered 101); phone B declared PCMU and 101.
    const pa = await Phone.open();
    const pb = await Phone.open();
    const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], telephoneEventPayloadType: 101 });
    const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], telephoneEventPayloadType: 101 });
    try {
      await engine.setRemote(a.sessionId, {
        address: '127.0.0.1',
        port: pa.port,
        payloadType: 0,
        sendTelephoneEventPayloadType: 96,
      });
      await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: pb.port, payloadType: 0 });
      expect(await engine.bridge(a.sessionId, b.sessionId)).toEqual({ mode: 'relay' });
      const ev = (digit: number, end: boolean, duration: number): Uint8Array =>
        new Uint8Array([digit, end ? 0x80 | 10 : 10, duration >> 8, duration & 0xff]);
      const audio = new Uint8Array(160).fill(0x55);
      // A sends audio, a digit with our number (as RFC 3264 asks) and one with its own (tolerated).
      pa.send(a.port, 0, audio, 160, true);
      pa.send(a.port, 101, ev(1, false, 160), 0, true);
      pa.send(a.port, 101, ev(1, true, 320), 320);
      pa.send(a.port, 96, ev(2, false, 160), 0, true);
      pa.send(a.port, 96, ev(2, true, 320), 320);
      await pb.waitFor(5);
      expect(pb.received.map((p) => p.payloadType)).toEqual([0, 101, 101, 101, 101]);
      expect(pb.received.slice(1).map((p) => p.payload[0])).toEqual([1, 1, 2, 2]);
      // B's audio and digits reach A under A's numbers.
      pb.send(b.port, 0, audio, 160, true);
      pb.send(b.port, 101, ev(3, false, 160), 0, true);
      pb.send(b.port, 101, ev(3, true, 320), 320);
      await pa.waitFor(3);
      expect(pa.received.map((p) => p.payloadType)).toEqual([0, 96, 96]);
      expect(pa.received.slice(1).map((p) => p.payload[0])).toEqual([3, 3]);
      // Digits the engine generates towards A also use 96; A's digits were detected under both numbers.
      await engine.unbridge(a.sessionId);
      await engine.sendDtmf(a.sessionId, '7', { durationMs: 60, gapMs: 0 });
      await engine.advanceClock(400);
      await until(() => pa.received.some((p) => p.payloadType === 96 && p.payload[0] === 7));
      expect(pa.received.filter((p) => p.payload[0] === 7).every((p) => p.payloadType === 96)).toBe(true);
      await until(() => events.filter((e) => e.type === 'dtmf' && e.session === a.sessionId).length >= 2);
      expect(
        events.filter((e) => e.type === 'dtmf' && e.session === a.sessionId).map((e) => (e as { digit: string }).digit),
      ).toEqual(['1', '2']);
      await expect(
        engine.setRemote(a.sessionId, { address: '127.0.0.1', port: pa.port, telephoneEventPayloadType: 0 }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(
        engine.setRemote(a.sessionId, { address: '127.0.0.1', port: pa.port, sendPayloadType: 128 }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await engine.close(a.sessionId);
      await engine.close(b.sessionId);
      pa.close();
      pb.close();
    }
  });

  it("switches telephone-event to the number of the chosen codec clock and sends audio with the far end's number", async () => {
    // An endpoint made before the codec was chosen: PCMU (0) and L16 mono at 8000 (ours 97), events 101/8000.
    const L16: CodecDescription = { payloadType: 97, encoding: 'L16', clockRate: 8000 };
    const phone = await Phone.open();
    const ep = await engine.createEndpoint({
      address: '127.0.0.1',
      codecs: [PCMU, L16],
      telephoneEventPayloadType: 101,
    });
    try {
      // The answer settled L16, which the far end numbers 110, and events at 100.
      await engine.setRemote(ep.sessionId, {
        address: '127.0.0.1',
        port: phone.port,
        payloadType: 97,
        sendPayloadType: 110,
        telephoneEventPayloadType: 100,
        sendTelephoneEventPayloadType: 100,
      });
      await engine.play(ep.sessionId, [{ tone: 'dial', durationMs: 60 }]);
      await engine.advanceClock(100);
      await until(() => phone.received.length >= 2);
      expect(new Set(phone.received.map((p) => p.payloadType))).toEqual(new Set([110]));
      const ev = (digit: number, end: boolean, duration: number): Uint8Array =>
        new Uint8Array([digit, end ? 0x80 | 10 : 10, duration >> 8, duration & 0xff]);
      // 101 is no longer an event number: dropped; 100 is.
      phone.send(ep.port, 101, ev(4, false, 160), 0, true);
      phone.send(ep.port, 101, ev(4, true, 320), 320);
      phone.send(ep.port, 100, ev(6, false, 160), 0, true);
      phone.send(ep.port, 100, ev(6, true, 320), 320);
      await until(() => events.some((e) => e.type === 'dtmf' && e.session === ep.sessionId));
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsDiscarded >= 2);
      expect(
        events
          .filter((e) => e.type === 'dtmf' && e.session === ep.sessionId)
          .map((e) => (e as { digit: string }).digit),
      ).toEqual(['6']);
      // A far end that negotiated no telephone-event gets none.
      await engine.sendDtmf(ep.sessionId, '1');
      await engine.setRemote(ep.sessionId, {
        address: '127.0.0.1',
        port: phone.port,
        sendTelephoneEventPayloadType: null,
      });
      await expect(engine.sendDtmf(ep.sessionId, '1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      // The digit queued before goes nowhere either.
      const sent = (await engine.getStatistics(ep.sessionId)).packetsSent;
      await engine.advanceClock(300);
      expect((await engine.getStatistics(ep.sessionId)).packetsSent).toBe(sent);
    } finally {
      await engine.close(ep.sessionId);
      phone.close();
    }
  });

  it('stops a playback when one of its interrupt digits arrives', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      const playbackId = await engine.play(ep.sessionId, [{ silenceMs: 10_000 }], { interruptOnDtmf: '5#' });
      await engine.advanceClock(200);
      await phone.waitFor(10);
      phone.send(ep.port, 101, new Uint8Array([1, 0x80 | 10, 0, 160]), 160, true); // '1': not an interrupt digit
      phone.send(ep.port, 101, new Uint8Array([11, 0x80 | 10, 0, 160]), 160, true); // '#'
      await until(() => events.some((e) => e.type === 'playbackEnded' && e.playbackId === playbackId));
      expect(events.find((e) => e.type === 'playbackEnded' && e.playbackId === playbackId)).toMatchObject({
        reason: 'dtmf',
      });
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('detects in-band DTMF in decoded audio', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      await engine.detectDtmf(ep.sessionId, { inband: true });
      // Digit 7: 852 Hz + 1209 Hz (ITU-T Q.23), 100 ms on, then silence
      const low = new Sine(852, 6000, 8000);
      const high = new Sine(1209, 6000, 8000);
      const enc = createEncoder('PCMU');
      const out = new Uint8Array(160);
      for (let i = 0; i < 15; i++) {
        const pcm = new Int16Array(160);
        if (i < 5) {
          const l = low.next(160);
          const h = high.next(160);
          for (let k = 0; k < 160; k++) pcm[k] = l[k] + h[k];
        }
        const n = enc.encodeInto(pcm, out);
        phone.send(ep.port, 0, out.subarray(0, n), 160);
      }
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 15);
      await engine.advanceClock(400);
      await until(() => events.some((e) => e.type === 'dtmf' && e.session === ep.sessionId));
      const d = events.find((e) => e.type === 'dtmf' && e.session === ep.sessionId);
      expect(d).toMatchObject({ digit: '7', source: 'inband' });
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('plays a tone preset and queued silence, then reports the end', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      const id = await engine.play(ep.sessionId, [{ tone: 'dial', durationMs: 200 }]);
      await engine.play(ep.sessionId, [{ silenceMs: 100 }], { queue: true });
      await engine.advanceClock(600);
      await until(() => events.some((e) => e.type === 'playbackEnded' && e.playbackId === id));
      expect(events.find((e) => e.type === 'playbackEnded' && e.playbackId === id)).toMatchObject({
        reason: 'finished',
      });
      await phone.waitFor(15);
      expect(phone.received.length).toBe(15); // 200 ms tone + 100 ms silence, then nothing
      const dec = createDecoder('PCMU');
      const pcm = new Int16Array(160);
      const first = concat(phone.received.slice(0, 10).map((p) => pcm.slice(0, dec.decodeInto(p.payload, pcm))));
      expect(rms(first)).toBeGreaterThan(300);
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('plays a WAV prompt resampled to the session rate, looped, and refuses a missing file', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      const file = join(dir, 'prompt.wav');
      writeFileSync(file, writeWav(new Sine(800, 9000, 16000).next(4000), { sampleRate: 16000 })); // 250 ms at 16 kHz
      await expect(engine.play(ep.sessionId, [{ file: join(dir, 'missing.wav') }])).rejects.toMatchObject({
        code: 'FILE_ERROR',
      });
      const id = await engine.play(ep.sessionId, [{ file }], { loop: true });
      await engine.advanceClock(1000); // four times round the 250 ms prompt
      await phone.waitFor(50);
      await engine.stopPlayback(ep.sessionId);
      await until(() => events.some((e) => e.type === 'playbackEnded' && e.playbackId === id));
      expect(events.find((e) => e.type === 'playbackEnded' && e.playbackId === id)).toMatchObject({
        reason: 'stopped',
      });
      const dec = createDecoder('PCMU');
      const pcm = new Int16Array(160);
      const heard = concat(phone.received.slice(0, 50).map((p) => pcm.slice(0, dec.decodeInto(p.payload, pcm))));
      expect(heard.length).toBe(8000);
      expect(toneAmplitude(heard.subarray(400, 7600), 800, 8000)).toBeGreaterThan(9000 * 0.8);
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('records both legs in stereo to a WAV file: what the phone says left, what it hears right', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      const file = join(dir, 'call.wav');
      await engine.record(ep.sessionId, { file, legs: 'both', layout: 'stereo' });
      // The phone says 500 Hz; the application answers 900 Hz through an audio stream.
      const stream = await engine.openAudioStream(ep.sessionId, { sampleRate: 8000, capacitySamples: 8000 });
      await stream.write(new Sine(900, 6000, 8000).next(8000));
      for (const f of pcmuFrames(new Sine(500, 8000, 8000), 50)) phone.send(ep.port, 0, f, 160);
      await until(async () => (await engine.getStatistics(ep.sessionId)).packetsReceived >= 50);
      await engine.advanceClock(1000);
      await engine.stopRecording(ep.sessionId);
      await until(() => events.some((e) => e.type === 'recordingEnded' && e.session === ep.sessionId));
      expect(events.find((e) => e.type === 'recordingEnded' && e.session === ep.sessionId)).toMatchObject({
        file,
        durationMs: 1000,
      });
      const wav = readFileSync(file);
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
      expect(wav.readUInt16LE(22)).toBe(2);
      expect(wav.readUInt32LE(24)).toBe(8000);
      const dataBytes = wav.readUInt32LE(40);
      expect(dataBytes).toBe(50 * 160 * 4);
      const samples = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + 44 + dataBytes));
      const left = new Int16Array(samples.length / 2);
      const right = new Int16Array(samples.length / 2);
      for (let i = 0; i < left.length; i++) {
        left[i] = samples[2 * i];
        right[i] = samples[2 * i + 1];
      }
      expect(toneAmplitude(left.subarray(800), 500, 8000)).toBeGreaterThan(8000 * 0.8);
      expect(toneAmplitude(left.subarray(800), 900, 8000)).toBeLessThan(300);
      expect(toneAmplitude(right.subarray(800), 900, 8000)).toBeGreaterThan(6000 * 0.8);
      expect(toneAmplitude(right.subarray(800), 500, 8000)).toBeLessThan(300);
      await stream.close();
      await engine.close(ep.sessionId);
    } finally {
      phone.close();
    }
  });

  it('emits statistics events and an RTP timeout on the virtual clock', async () => {
    const { phone, ep } = await phoneEndpoint();
    try {
      await engine.advanceClock(31_000);
      await until(() => events.some((e) => e.type === 'rtpTimeout' && e.session === ep.sessionId));
      expect(events.some((e) => e.type === 'statistics' && e.session === ep.sessionId)).toBe(true);
      await engine.close(ep.sessionId);
      expect(
        events.some((e) => e.type === 'sessionClosed' && e.session === ep.sessionId && e.reason === 'closed'),
      ).toBe(true);
    } finally {
      phone.close();
    }
  });
});
