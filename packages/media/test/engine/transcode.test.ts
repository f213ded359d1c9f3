// G.722 <-> G.711 bridges in both transcoding modes (MediaEngineOptions.g722Transcoding): what crosses the 4 kHz
// edge. 'subband' filters with the G.722 QMF (-20.6 dB at 5 kHz, stated in engine.ts), 'resample' with the
// half-band filter (64 dB from 4.6 kHz, dsp/halfband.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { createDecoder, createEncoder } from '../../src/codecs/index.js';
import { type CodecDescription, MediaEngine } from '../../src/engine/index.js';
import { concat, Phone, Sine, toneAmplitude, until } from './phone.js';

const PCMU: CodecDescription = { payloadType: 0, encoding: 'PCMU', clockRate: 8000 };
const G722: CodecDescription = { payloadType: 9, encoding: 'G722', clockRate: 8000 };

let engine: MediaEngine | undefined;
const phones: Phone[] = [];
afterEach(async () => {
  for (const p of phones.splice(0)) p.close();
  await engine?.shutdown();
  engine = undefined;
});

/** Two tones summed, frame by frame. */
function twoTones(a: Sine, b: Sine, samples: number): Int16Array {
  const x = a.next(samples);
  const y = b.next(samples);
  return x.map((v, i) => v + y[i]);
}

async function bridgeTones(mode: 'subband' | 'resample') {
  engine = await MediaEngine.start({ workers: 1, clock: 'manual', statisticsIntervalMs: 0, g722Transcoding: mode });
  const phoneA = await Phone.open();
  const phoneB = await Phone.open();
  phones.push(phoneA, phoneB);
  const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [PCMU], rtpTimeoutSeconds: 0 });
  const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [G722], rtpTimeoutSeconds: 0 });
  await engine.setRemote(a.sessionId, { address: '127.0.0.1', port: phoneA.port });
  await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: phoneB.port });
  expect(await engine.bridge(a.sessionId, b.sessionId)).toEqual({ mode: 'transcode' });
  const encA = createEncoder('PCMU');
  const encB = createEncoder('G722');
  // A (8 kHz) says 3 kHz; B (16 kHz) says 1 kHz and 5 kHz, the latter beyond what A's band holds.
  const toneA = new Sine(3000, 8000, 8000);
  const toneB1 = new Sine(1000, 8000, 16000);
  const toneB5 = new Sine(5000, 8000, 16000);
  const packet = new Uint8Array(160);
  const total = 100;
  for (let sent = 0; sent < total; sent += 10) {
    for (let i = 0; i < 10; i++) {
      encA.encodeInto(toneA.next(160), packet);
      phoneA.send(a.port, 0, packet, 160);
      encB.encodeInto(twoTones(toneB1, toneB5, 320), packet);
      phoneB.send(b.port, 9, packet, 160);
    }
    const e = engine;
    await until(async () => (await e.getStatistics(a.sessionId)).packetsReceived >= sent + 10);
    await until(async () => (await e.getStatistics(b.sessionId)).packetsReceived >= sent + 10);
    await engine.advanceClock(200);
    await phoneA.waitFor(sent + 8);
    await phoneB.waitFor(sent + 8);
  }
  const decA = createDecoder('PCMU');
  const decB = createDecoder('G722');
  const decode = (dec: typeof decA, payload: Uint8Array, samples: number) => {
    const out = new Int16Array(samples);
    dec.decodeInto(payload, out);
    return out;
  };
  const heardByA = concat(phoneA.received.map((p) => decode(decA, p.payload, 160))).slice(-8000);
  const heardByB = concat(phoneB.received.map((p) => decode(decB, p.payload, 320))).slice(-16000);
  const r = {
    a1k: toneAmplitude(heardByA, 1000, 8000),
    aliasAt3k: toneAmplitude(heardByA, 3000, 8000), // B's 5 kHz folded
    b3k: toneAmplitude(heardByB, 3000, 16000),
    imageAt5k: toneAmplitude(heardByB, 5000, 16000), // A's 3 kHz mirrored
  };
  return r;
}

describe('G.722 <-> G.711 transcoding', () => {
  it("'subband' passes the telephone band and lets through what the G.722 QMF does at 5 kHz (-20.6 dB)", async () => {
    const r = await bridgeTones('subband');
    expect(r.a1k).toBeGreaterThan(8000 * 0.9);
    expect(r.a1k).toBeLessThan(8000 * 1.1);
    expect(r.b3k).toBeGreaterThan(8000 * 0.9);
    expect(r.b3k).toBeLessThan(8000 * 1.1);
    const db = (v: number) => 20 * Math.log10(v / 8000);
    expect(db(r.aliasAt3k)).toBeGreaterThan(-24);
    expect(db(r.aliasAt3k)).toBeLessThan(-17);
    expect(db(r.imageAt5k)).toBeGreaterThan(-24);
    expect(db(r.imageAt5k)).toBeLessThan(-17);
  });

  it("'resample' keeps aliases and images more than 50 dB down", async () => {
    const r = await bridgeTones('resample');
    expect(r.a1k).toBeGreaterThan(8000 * 0.9);
    expect(r.b3k).toBeGreaterThan(8000 * 0.9);
    expect(20 * Math.log10(r.aliasAt3k / 8000)).toBeLessThan(-50);
    expect(20 * Math.log10(r.imageAt5k / 8000)).toBeLessThan(-50);
  });

  it('refuses an unknown mode', async () => {
    await expect(
      MediaEngine.start({ workers: 1, g722Transcoding: 'fast' as unknown as 'subband' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
