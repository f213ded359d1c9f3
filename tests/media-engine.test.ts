// End-to-end audio through the media engine: test sockets on 127.0.0.1 act as phones, the engine's workers bridge
// and mix them, and what comes out is decoded and measured. The engine runs on its manual clock, so a minute of
// audio takes as long as the machine needs, not a minute.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder, createEncoder, OpusEncoder } from '../packages/media/src/codecs/index.js';
import { createResampler } from '../packages/media/src/dsp/index.js';
import { type CodecDescription, MediaEngine } from '../packages/media/src/engine/index.js';
import { concat, Phone, type ReceivedPacket, Sine, toneAmplitude, until } from '../packages/media/test/engine/phone.js';

const PCMU: CodecDescription = { payloadType: 0, encoding: 'PCMU', clockRate: 8000 };
const G722: CodecDescription = { payloadType: 9, encoding: 'G722', clockRate: 8000 };
const OPUS: CodecDescription = { payloadType: 111, encoding: 'opus', clockRate: 48000, channels: 2 };
/** Packets a decoding session holds back at most: its jitter buffer's largest playout delay (300 ms). */
const PLAYOUT_LAG = 15;

let engine: MediaEngine;

beforeAll(async () => {
  engine = await MediaEngine.start({
    workers: 2,
    clock: 'manual',
    portRange: { min: 41000, max: 41999 },
    statisticsIntervalMs: 0,
  });
});

afterAll(async () => {
  await engine?.shutdown();
});

/** Encodes one 20 ms frame of `sine` for the codec. */
function encoderFor(codec: CodecDescription) {
  const enc = createEncoder(codec.encoding);
  const out = new Uint8Array(1500);
  const samples = (enc.sampleRate * 20) / 1000;
  return {
    sampleRate: enc.sampleRate,
    samples,
    frame(sine: Sine): Uint8Array {
      const n = enc.encodeInto(sine.next(samples), out);
      return out.slice(0, n);
    },
    encodeRaw(pcm: Int16Array): Uint8Array {
      const n = enc.encodeInto(pcm, out);
      return out.slice(0, n);
    },
  };
}

function decodeAll(codec: CodecDescription, packets: ReceivedPacket[]): Int16Array {
  const dec = createDecoder(codec.encoding);
  const frames: Int16Array[] = [];
  const buf = new Int16Array(4096);
  for (const p of packets) {
    const n = dec.decodeInto(p.payload, buf);
    frames.push(buf.slice(0, n));
  }
  return concat(frames);
}

function expectContiguous(packets: ReceivedPacket[], tsStep: number, payloadType: number): void {
  const ssrc = packets[0].ssrc;
  for (let i = 1; i < packets.length; i++) {
    const a = packets[i - 1];
    const b = packets[i];
    if (b.seq !== ((a.seq + 1) & 0xffff) || b.timestamp !== (a.timestamp + tsStep) >>> 0) {
      throw new Error(
        `gap between packets ${i - 1} and ${i}: seq ${a.seq}->${b.seq}, ts ${a.timestamp}->${b.timestamp}`,
      );
    }
    expect(b.ssrc).toBe(ssrc);
    expect(b.payloadType).toBe(payloadType);
  }
}

async function receivedBy(sessionId: string, count: number): Promise<void> {
  await until(async () => (await engine.getStatistics(sessionId)).packetsReceived >= count, 5000, `${sessionId} rx`);
}

describe('media engine end to end', () => {
  it('transcodes a PCMU tone to G.722 and back through a bridge for a simulated minute, without gaps or drift', async () => {
    const phoneA = await Phone.open();
    const phoneB = await Phone.open();
    try {
      const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU] });
      const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [G722] });
      await engine.setRemote(a.sessionId, { address: '127.0.0.1', port: phoneA.port, payloadType: 0 });
      await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: phoneB.port, payloadType: 9 });
      expect(await engine.bridge(a.sessionId, b.sessionId)).toEqual({ mode: 'transcode' });
      expect(engine.workerOf(b.sessionId)).toBe(engine.workerOf(a.sessionId));

      const encA = encoderFor(PCMU);
      const encB = encoderFor(G722);
      const toneA = new Sine(1000, 10000, 8000);
      const toneB = new Sine(440, 8000, 16000);
      const total = 3000; // 60 s of 20 ms packets
      const burst = 50;
      for (let sent = 0; sent < total; sent += burst) {
        for (let i = 0; i < burst; i++) {
          phoneA.send(a.port, 0, encA.frame(toneA), 160);
          phoneB.send(b.port, 9, encB.frame(toneB), 160);
        }
        await receivedBy(a.sessionId, sent + burst);
        await receivedBy(b.sessionId, sent + burst);
        await engine.advanceClock(burst * 20);
        await phoneB.waitFor(sent + burst - PLAYOUT_LAG);
        await phoneA.waitFor(sent + burst - PLAYOUT_LAG);
      }
      await engine.advanceClock(PLAYOUT_LAG * 20); // what the jitter buffers still hold plays out
      await phoneB.waitFor(total);
      await phoneA.waitFor(total);
      await engine.advanceClock(200);
      // One packet out per packet in, each direction: no drift, nothing dropped or invented.
      expect(phoneB.received).toHaveLength(total);
      expect(phoneA.received).toHaveLength(total);
      expectContiguous(phoneB.received, 160, 9);
      expectContiguous(phoneA.received, 160, 0);

      const heardByB = decodeAll(G722, phoneB.received);
      expect(heardByB.length).toBe(total * 320);
      const tail = heardByB.subarray(heardByB.length - 16000); // last second at 16 kHz
      expect(toneAmplitude(tail, 1000, 16000)).toBeGreaterThan(10000 * 0.8);
      expect(toneAmplitude(tail, 1000, 16000)).toBeLessThan(10000 * 1.2);
      expect(toneAmplitude(tail, 440, 16000)).toBeLessThan(500);
      const first = heardByB.subarray(16000, 32000);
      expect(toneAmplitude(first, 1000, 16000)).toBeGreaterThan(10000 * 0.8);

      const heardByA = decodeAll(PCMU, phoneA.received);
      const tailA = heardByA.subarray(heardByA.length - 8000);
      expect(toneAmplitude(tailA, 440, 8000)).toBeGreaterThan(8000 * 0.8);
      expect(toneAmplitude(tailA, 440, 8000)).toBeLessThan(8000 * 1.2);
      expect(toneAmplitude(tailA, 1000, 8000)).toBeLessThan(400);

      const stats = await engine.getStatistics(a.sessionId);
      expect(stats.packetsLost).toBe(0);
      expect(stats.packetsSent).toBe(total);
      await engine.close(a.sessionId);
      await engine.close(b.sessionId);
    } finally {
      phoneA.close();
      phoneB.close();
    }
  });

  it('conceals lost packets and reorders late ones across an Opus <-> PCMU bridge: no gap, right tones', async () => {
    const phoneA = await Phone.open();
    const phoneB = await Phone.open();
    try {
      const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [OPUS] });
      const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU] });
      await engine.setRemote(a.sessionId, { address: '127.0.0.1', port: phoneA.port, payloadType: 111 });
      await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: phoneB.port, payloadType: 0 });
      expect(await engine.bridge(a.sessionId, b.sessionId)).toEqual({ mode: 'transcode' });
      const encA = encoderFor(OPUS);
      const encB = encoderFor(PCMU);
      const toneA = new Sine(1000, 10000, 48000);
      const toneB = new Sine(440, 8000, 8000);
      const total = 500; // 10 s
      const burst = 10;
      // One packet in 13 is lost and one in 7 swapped with its successor, in both directions; the first three
      // arrive in order so the hijack guard latches.
      const lost = (i: number): boolean => i > 3 && i % 13 === 5;
      const swapped = (i: number): boolean => i > 3 && i % 7 === 2 && !lost(i) && !lost(i + 1);
      let lostCount = 0;
      for (let sent = 0; sent < total; sent += burst) {
        const framesA = Array.from({ length: burst }, () => encA.frame(toneA));
        const framesB = Array.from({ length: burst }, () => encB.frame(toneB));
        const order = Array.from({ length: burst }, (_, k) => k);
        for (let k = 0; k + 1 < burst; k++) {
          if (swapped(sent + k)) [order[k], order[k + 1]] = [order[k + 1], order[k]];
        }
        for (const k of order) {
          const i = sent + k;
          if (lost(i) && i < total - 1) {
            lostCount++;
            continue;
          }
          phoneA.sendAt(a.port, 111, framesA[k], 960, i);
          phoneB.sendAt(b.port, 0, framesB[k], 160, i);
        }
        await receivedBy(a.sessionId, sent + burst - lostCount);
        await receivedBy(b.sessionId, sent + burst - lostCount);
        await engine.advanceClock(burst * 20);
        await phoneB.waitFor(sent + burst - PLAYOUT_LAG);
        await phoneA.waitFor(sent + burst - PLAYOUT_LAG);
      }
      await engine.advanceClock(PLAYOUT_LAG * 20);
      await phoneB.waitFor(total);
      await phoneA.waitFor(total);
      await engine.advanceClock(200);
      expect(lostCount).toBeGreaterThan(30);
      // Every lost packet became a concealed frame: one packet out per packet sent, in order.
      expect(phoneB.received).toHaveLength(total);
      expect(phoneA.received).toHaveLength(total);
      expectContiguous(phoneB.received, 160, 0);
      expectContiguous(phoneA.received, 960, 111);
      for (const [heard, rate, freq, amp, other] of [
        [decodeAll(PCMU, phoneB.received), 8000, 1000, 10000, 440],
        [decodeAll(OPUS, phoneA.received), 48000, 440, 8000, 1000],
      ] as const) {
        const steady = heard.subarray(rate, heard.length - rate / 2);
        expect(toneAmplitude(steady, freq, rate)).toBeGreaterThan(amp * 0.75);
        expect(toneAmplitude(steady, freq, rate)).toBeLessThan(amp * 1.2);
        expect(toneAmplitude(steady, other, rate)).toBeLessThan(amp * 0.05);
        // no silent frame where a packet was lost or late: every 20 ms carries the tone (a concealed frame and the
        // one after it are quieter: libopus PLC fades, and a pure tone gets no in-band FEC as SILK's VAD sees no speech)
        const frame = rate / 50;
        for (let f = 0; f + frame <= steady.length; f += frame) {
          let e = 0;
          for (let i = f; i < f + frame; i++) e += steady[i] * steady[i];
          expect(Math.sqrt(e / frame), `frame ${f / frame} at ${rate} Hz`).toBeGreaterThan((amp / Math.SQRT2) * 0.15);
        }
      }
      await engine.close(a.sessionId);
      await engine.close(b.sessionId);
    } finally {
      phoneA.close();
      phoneB.close();
    }
  });

  it("rebuilds a lost Opus frame from the next packet's in-band FEC: closer to the sent audio than PLC", async () => {
    // A voiced-speech-like signal (SILK codes FEC only for what its VAD takes for speech).
    const voice = (frame: number): Int16Array => {
      const out = new Int16Array(960);
      for (let i = 0; i < 960; i++) {
        const t = (frame * 960 + i) / 48000;
        // fundamental 140 +- 40 Hz gliding at 1.3 Hz (the phase is its integral)
        const phase = 2 * Math.PI * (140 * t - (40 / (2 * Math.PI * 1.3)) * Math.cos(2 * Math.PI * 1.3 * t));
        let v = 0;
        for (let h = 1; h <= 8; h++) v += Math.sin(h * phase) / h;
        out[i] = Math.round(5000 * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) * v);
      }
      return out;
    };
    const total = 100;
    const lost = new Set([20, 37, 55, 71, 88]);
    /** Sends the stream (with or without FEC) through Opus -> PCMU with losses; returns the error at the losses. */
    const run = async (fec: boolean): Promise<{ error: number; energy: number }> => {
      const phoneA = await Phone.open();
      const phoneB = await Phone.open();
      try {
        const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [OPUS] });
        const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU] });
        await engine.setRemote(a.sessionId, { address: '127.0.0.1', port: phoneA.port, payloadType: 111 });
        await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: phoneB.port, payloadType: 0 });
        await engine.bridge(a.sessionId, b.sessionId);
        const enc = new OpusEncoder({ fec, packetLossPercent: 10 });
        const packets = Array.from({ length: total }, (_, k) => enc.encode(voice(k)));
        let sentCount = 0;
        for (let sent = 0; sent < total; sent += 10) {
          for (let i = sent; i < sent + 10; i++) {
            if (lost.has(i)) continue;
            phoneA.sendAt(a.port, 111, packets[i], 960, i);
            sentCount++;
          }
          await receivedBy(a.sessionId, sentCount);
          await engine.advanceClock(200);
          await phoneB.waitFor(sent + 10 - PLAYOUT_LAG);
        }
        await engine.advanceClock(PLAYOUT_LAG * 20);
        await phoneB.waitFor(total);
        expect(phoneB.received).toHaveLength(total);
        // The reference: the same packets, none lost, through the engine's steps (Opus decode, 48 -> 8 kHz, PCMU).
        const dec = createDecoder('opus');
        const rs = createResampler(48000, 8000);
        const ulawEnc = createEncoder('PCMU');
        const ulawDec = createDecoder('PCMU');
        const pcm48 = new Int16Array(960);
        const pcm8 = new Int16Array(160);
        const code = new Uint8Array(160);
        const heard = new Int16Array(160);
        const ref = new Int16Array(160);
        let error = 0;
        let energy = 0;
        for (let k = 0; k < total; k++) {
          dec.decodeInto(packets[k], pcm48);
          const n = rs.process(pcm48, pcm8);
          pcm8.fill(0, n);
          ulawEnc.encodeInto(pcm8, code);
          ulawDec.decodeInto(code, ref);
          ulawDec.decodeInto(phoneB.received[k].payload, heard);
          if (lost.has(k)) {
            for (let i = 0; i < 160; i++) {
              error += (heard[i] - ref[i]) ** 2;
              energy += ref[i] ** 2;
            }
          }
        }
        await engine.close(a.sessionId);
        await engine.close(b.sessionId);
        return { error, energy };
      } finally {
        phoneA.close();
        phoneB.close();
      }
    };
    const withFec = await run(true);
    const withoutFec = await run(false);
    expect(withFec.error).toBeLessThan(withFec.energy * 0.5);
    expect(withFec.error / withFec.energy).toBeLessThan((withoutFec.error / withoutFec.energy) * 0.5);
  });

  it('relays matching codecs on arrival with consistent SSRC, sequence and timestamp rewriting', async () => {
    const phoneA = await Phone.open();
    const phoneB = await Phone.open();
    try {
      const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], group: 'relay-call' });
      const b = await engine.createEndpoint({
        address: '127.0.0.1',
        codecs: [{ ...PCMU, payloadType: 0 }],
        group: 'relay-call',
      });
      await engine.setRemote(a.sessionId, { address: '127.0.0.1', port: phoneA.port });
      await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: phoneB.port });
      expect(await engine.bridge(a.sessionId, b.sessionId)).toEqual({ mode: 'relay' });
      const payload = new Uint8Array(160).fill(0x55);
      for (let i = 0; i < 100; i++) phoneA.send(a.port, 0, payload, 160);
      await phoneB.waitFor(100); // no clock advance: relay does not wait for ticks
      // The far end restarts its stream (new SSRC, sequence and timestamp bases): B's stream carries on seamlessly.
      phoneA.restartStream(0x77777777, 65500, 0xfffff000);
      for (let i = 0; i < 100; i++) phoneA.send(a.port, 0, payload, 160);
      await phoneB.waitFor(200);
      expectContiguous(phoneB.received, 160, 0);
      expect(phoneB.received[0].ssrc).toBe(b.ssrc);
      expect(phoneB.received.every((p) => p.payload.every((x) => x === 0x55))).toBe(true);
      await engine.close(a.sessionId);
      await engine.close(b.sessionId);
    } finally {
      phoneA.close();
      phoneB.close();
    }
  });

  it('mixes a 5-party conference: everyone hears the others at their frequencies, never itself', async () => {
    const freqs = [350, 620, 910, 1330, 1770];
    const codecs = [PCMU, G722, PCMU, G722, PCMU];
    const amps = [2000, 3000, 4500, 6000, 7500]; // any four sum below full scale; the top three stand apart
    const phones = await Promise.all(freqs.map(() => Phone.open()));
    try {
      const conf = await engine.createConference({ group: 'conf-e2e', talkerWindowMs: 200 });
      const talkers: string[][] = [];
      engine.on('talkers', (e) => {
        if (e.conference === conf) talkers.push(e.talkers.map((t) => t.session));
      });
      const eps = [];
      for (let i = 0; i < 5; i++) {
        const ep = await engine.createEndpoint({ address: '127.0.0.1', codecs: [codecs[i]], group: 'conf-e2e' });
        await engine.setRemote(ep.sessionId, { address: '127.0.0.1', port: phones[i].port });
        await engine.addToConference(conf, ep.sessionId);
        eps.push(ep);
      }
      const encs = codecs.map((c) => encoderFor(c));
      const sines = freqs.map((f, i) => new Sine(f, amps[i], encs[i].sampleRate));
      const total = 150; // 3 s
      const burst = 25;
      for (let sent = 0; sent < total; sent += burst) {
        for (let k = 0; k < burst; k++) {
          for (let i = 0; i < 5; i++) phones[i].send(eps[i].port, codecs[i].payloadType, encs[i].frame(sines[i]), 160);
        }
        for (const ep of eps) await receivedBy(ep.sessionId, sent + burst);
        await engine.advanceClock(burst * 20);
        for (const p of phones) await p.waitFor(sent + burst);
      }
      for (let i = 0; i < 5; i++) {
        expectContiguous(phones[i].received, 160, codecs[i].payloadType);
        const rate = encs[i].sampleRate;
        const pcm = decodeAll(codecs[i], phones[i].received);
        const tail = pcm.subarray(pcm.length - rate); // the last second
        for (let j = 0; j < 5; j++) {
          const level = toneAmplitude(tail, freqs[j], rate);
          if (j === i) expect(level, `party ${i} hears itself at ${freqs[j]} Hz`).toBeLessThan(300);
          else {
            expect(level, `party ${i} hears ${j}`).toBeGreaterThan(amps[j] * 0.75);
            expect(level, `party ${i} hears ${j}`).toBeLessThan(amps[j] * 1.25);
          }
        }
      }
      // The loudest talkers are the three with the largest amplitudes.
      expect(talkers.length).toBeGreaterThan(0);
      expect(talkers[talkers.length - 1]).toEqual([eps[4].sessionId, eps[3].sessionId, eps[2].sessionId]);
      await engine.destroyConference(conf);
      for (const ep of eps) await engine.close(ep.sessionId);
    } finally {
      for (const p of phones) p.close();
    }
  });

  it('mixes only talkers in a meeting: everyone hears each talker, never itself, listeners share one frame per codec', async () => {
    const freqs = [350, 620, 910, 1330, 1770, 2300];
    const amps = [3000, 3500, 2500, 4000, 2800, 3300];
    const codecs = [PCMU, G722, PCMU, G722, PCMU, G722];
    // Turns (in 20 ms ticks), with overlaps and pauses; 4 and 5 only listen.
    const spans: [number, number][][] = [[[0, 60]], [[40, 120]], [[150, 200]], [[150, 250]], [], []];
    const talks = (i: number, t: number) => spans[i].some(([a, b]) => t >= a && t < b);
    const total = 300;
    const phones = await Promise.all(freqs.map(() => Phone.open()));
    try {
      const conf = await engine.createConference({ group: 'conf-meeting' });
      const eps = [];
      for (let i = 0; i < 6; i++) {
        const ep = await engine.createEndpoint({ address: '127.0.0.1', codecs: [codecs[i]], group: 'conf-meeting' });
        await engine.setRemote(ep.sessionId, { address: '127.0.0.1', port: phones[i].port });
        await engine.addToConference(conf, ep.sessionId);
        eps.push(ep);
      }
      const encs = codecs.map((c) => encoderFor(c));
      const sines = freqs.map((f, i) => new Sine(f, amps[i], encs[i].sampleRate));
      let seed = 1;
      const noise = (n: number) =>
        Int16Array.from({ length: n }, () => {
          seed = (seed * 1103515245 + 12345) >>> 0;
          return ((seed >>> 16) % 31) - 15; // background noise near -66 dBFS: below the voice threshold
        });
      const burst = 25;
      for (let sent = 0; sent < total; sent += burst) {
        for (let k = 0; k < burst; k++) {
          for (let i = 0; i < 6; i++) {
            const tone = sines[i].next(encs[i].samples); // keeps its phase whether heard or not
            const frame = noise(encs[i].samples);
            if (talks(i, sent + k)) for (let j = 0; j < frame.length; j++) frame[j] += tone[j];
            phones[i].send(eps[i].port, codecs[i].payloadType, encs[i].encodeRaw(frame), 160);
          }
        }
        for (const ep of eps) await receivedBy(ep.sessionId, sent + burst);
        await engine.advanceClock(burst * 20);
        for (const p of phones) await p.waitFor(sent + burst);
      }
      const heard = phones.map((p, i) => {
        expectContiguous(p.received, 160, codecs[i].payloadType);
        return decodeAll(codecs[i], p.received);
      });
      // 100 ms windows; a talker counts where its state is the same from 20 ticks before to 6 after (hangover,
      // playout delay; before tick 0 nobody talks, so the jitter buffer's start delay counts as a change). Nobody ever hears itself.
      for (let w = 0; w + 5 <= total; w += 5) {
        const steady = (j: number) => {
          for (let t = w - 20; t < Math.min(total, w + 11); t++) if (talks(j, t) !== talks(j, w)) return false;
          return true;
        };
        for (let i = 0; i < 6; i++) {
          const n = encs[i].samples;
          const pcm = heard[i].subarray(w * n, (w + 5) * n);
          for (let j = 0; j < 6; j++) {
            const level = toneAmplitude(pcm, freqs[j], encs[i].sampleRate);
            const what = `party ${i} at tick ${w} hears ${j} at ${level.toFixed(0)}`;
            if (j === i) expect(level, what).toBeLessThan(amps[j] * 0.05);
            else if (!steady(j)) continue;
            else if (talks(j, w)) {
              expect(level, what).toBeGreaterThan(amps[j] * 0.8);
              expect(level, what).toBeLessThan(amps[j] * 1.2);
            } else expect(level, what).toBeLessThan(amps[j] * 0.05);
          }
        }
      }
      // Listeners of one codec are sent the very same payload: the pure listeners 4 and 5 match members 2 and 1
      // packet for packet while those are long silent (1 rejoins the shared G.722 stream at the first quiet tick).
      const same = (a: number, b: number, from: number, to: number) => {
        for (let t = from; t < to; t++)
          expect(phones[a].received[t].payload, `${a}/${b} at ${t}`).toEqual(phones[b].received[t].payload);
      };
      same(4, 2, 30, 140);
      same(4, 0, 90, 290);
      same(5, 1, 150, 290);
      await engine.destroyConference(conf);
      for (const ep of eps) await engine.close(ep.sessionId);
    } finally {
      for (const p of phones) p.close();
    }
  });
});
