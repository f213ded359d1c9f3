import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AudioDecoder,
  type AudioEncoder,
  alawDecode,
  alawEncode,
  alawEncodeInto,
  CodecBufferError,
  CodecError,
  createDecoder,
  createEncoder,
  G722Decoder,
  G722Encoder,
  L16Decoder,
  L16Encoder,
  OpusDecoder,
  OpusEncoder,
  UnsupportedCodecError,
  ulawDecode,
  ulawDecodeInto,
  ulawEncode,
  ulawEncodeInto,
} from '../../src/codecs/index.js';

const ULAW_LEVELS = Int16Array.from(ulawDecode(Uint8Array.from({ length: 256 }, (_, i) => i)));
const ALAW_LEVELS = Int16Array.from(alawDecode(Uint8Array.from({ length: 256 }, (_, i) => i)));

/** Quantisation step around a decoded level: the wider of the gaps to its neighbours (segment edges differ). */
function segmentStep(levels: Int16Array, y: number): number {
  let below = Number.POSITIVE_INFINITY;
  let above = Number.POSITIVE_INFINITY;
  for (const l of levels) {
    if (l < y) below = Math.min(below, y - l);
    if (l > y) above = Math.min(above, l - y);
  }
  if (!Number.isFinite(below)) return above;
  if (!Number.isFinite(above)) return below;
  return Math.max(below, above);
}

function sine(samples: number, rate: number, freq: number, amplitude: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate)),
  );
}

describe('G.711 round trip', () => {
  // G.711 quantises the 14 (mu) / 13 (A) high bits with decision levels midway between output levels, so the
  // error is at most half a segment step plus the dropped low bits (and the distance to the top level on overload).
  for (const [name, levels, enc, dec, dropped] of [
    ['mu-law', ULAW_LEVELS, ulawEncode, ulawDecode, 4],
    ['A-law', ALAW_LEVELS, alawEncode, alawDecode, 8],
  ] as const) {
    it(`${name}: error within half a segment step of the input`, () => {
      fc.assert(
        fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
          const y = dec(enc(Int16Array.of(x)))[0];
          const err = Math.abs(y - x);
          const top = levels.reduce((m, l) => Math.max(m, Math.abs(l)), 0);
          if (Math.abs(x) > top) return err <= Math.abs(x) - top + segmentStep(levels, y) / 2 + dropped;
          return err <= segmentStep(levels, y) / 2 + dropped;
        }),
        { numRuns: 2000 },
      );
    });
  }
  it('decode of encode is idempotent on decoded levels', () => {
    expect(Array.from(ulawDecode(ulawEncode(ULAW_LEVELS)))).toEqual(Array.from(ULAW_LEVELS));
    expect(Array.from(alawDecode(alawEncode(ALAW_LEVELS)))).toEqual(Array.from(ALAW_LEVELS));
  });
  it('into-variants reject short buffers with a typed error', () => {
    expect(() => ulawEncodeInto(new Int16Array(10), new Uint8Array(9))).toThrow(CodecBufferError);
    expect(() => ulawDecodeInto(new Uint8Array(10), new Int16Array(9))).toThrow(CodecBufferError);
    expect(alawEncodeInto(new Int16Array(4), new Uint8Array(8))).toBe(4);
  });
});

describe('L16 (RFC 3551 4.5.11)', () => {
  it('is big-endian on the wire and exact both ways', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 400 }), (xs) => {
        const pcm = Int16Array.from(xs);
        const wire = new Uint8Array(pcm.length * 2);
        expect(new L16Encoder(16000).encodeInto(pcm, wire)).toBe(wire.length);
        for (let i = 0; i < pcm.length; i++) expect((wire[2 * i] << 8) | wire[2 * i + 1]).toBe(pcm[i] & 0xffff);
        const back = new Int16Array(pcm.length);
        expect(new L16Decoder(16000).decodeInto(wire, back)).toBe(pcm.length);
        expect(Array.from(back)).toEqual(xs);
      }),
      { numRuns: 200 },
    );
  });
  it('ignores a trailing odd byte', () => {
    const out = new Int16Array(2);
    expect(new L16Decoder().decodeInto(Uint8Array.of(0x12, 0x34, 0x56), out)).toBe(1);
    expect(out[0]).toBe(0x1234);
  });
});

function snrDb(reference: Int16Array, decoded: Int16Array, delay: number, skip: number): number {
  let signal = 0;
  let noise = 0;
  for (let i = skip; i + delay < decoded.length; i++) {
    const s = reference[i];
    const e = decoded[i + delay] - s;
    signal += s * s;
    noise += e * e;
  }
  return 10 * Math.log10(signal / Math.max(noise, 1));
}

describe('G.722', () => {
  // The transmit and receive QMFs are 24-tap FIRs: 22 samples of delay end to end at 16 kHz.
  const DELAY = 22;
  it('keeps a sine with high SNR after the codec delay', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 6500 }), fc.integer({ min: 800, max: 16000 }), (freq, amp) => {
        const pcm = sine(8000, 16000, freq, amp);
        const out = new G722Decoder().decode(new G722Encoder().encode(pcm));
        return snrDb(pcm, out, DELAY, 1600) > 20;
      }),
      { numRuns: 25 },
    );
  });
  it('gives the same bytes whatever the frame size (state kept across calls, odd sizes too)', () => {
    const rng = fc.array(fc.integer({ min: 1, max: 960 }), { minLength: 1, maxLength: 12 });
    const pcm = Int16Array.from({ length: 16000 }, (_, i) =>
      Math.round(7000 * Math.sin(i * 0.05) + 3000 * Math.sin(i * 0.71)),
    );
    const whole = new G722Encoder().encode(pcm);
    const decodedWhole = new G722Decoder().decode(whole);
    for (const ms of [10, 20, 30, 60]) {
      const frame = 16 * ms;
      const enc = new G722Encoder();
      const dec = new G722Decoder();
      const out = new Uint8Array(whole.length);
      const pcmOut = new Int16Array(decodedWhole.length);
      let n = 0;
      let m = 0;
      for (let i = 0; i < pcm.length; i += frame) {
        const k = enc.encodeInto(pcm.subarray(i, i + frame), out.subarray(n));
        m += dec.decodeInto(out.subarray(n, n + k), pcmOut.subarray(m));
        n += k;
      }
      expect(n).toBe(whole.length);
      expect(out).toEqual(whole);
      expect(pcmOut).toEqual(decodedWhole);
    }
    fc.assert(
      fc.property(rng, (sizes) => {
        const enc = new G722Encoder();
        const out = new Uint8Array(whole.length);
        let n = 0;
        let i = 0;
        for (let k = 0; i < pcm.length; k++) {
          const size = sizes[k % sizes.length];
          n += enc.encodeInto(pcm.subarray(i, i + size), out.subarray(n));
          i += size;
        }
        return n === whole.length && out.every((v, j) => v === whole[j]);
      }),
      { numRuns: 15 },
    );
  });
  it('reset returns to the initial state', () => {
    const pcm = sine(640, 16000, 440, 9000);
    const enc = new G722Encoder();
    const first = enc.encode(pcm);
    enc.encode(sine(333, 16000, 1000, 5000));
    enc.reset();
    expect(enc.encode(pcm)).toEqual(first);
  });
  it('copyStateFrom continues the other encoder stream: same bytes from then on (odd held sample too)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4001 }),
        fc.integer({ min: 1, max: 4001 }),
        fc.integer({ min: 100, max: 7000 }),
        (lenA, lenB, freq) => {
          const a = new G722Encoder();
          const b = new G722Encoder();
          a.encode(sine(lenA, 16000, freq, 9000));
          b.encode(sine(lenB, 16000, 3100, 12000)); // a different history and state
          b.copyStateFrom(a);
          const next = sine(1601, 16000, 523, 8000);
          const fromA = a.encode(next);
          const fromB = b.encode(next);
          return fromA.length === fromB.length && fromA.every((v, i) => v === fromB[i]);
        },
      ),
      { numRuns: 30 },
    );
  });
  it('rejects an unknown decoder bitrate and short buffers with typed errors', () => {
    expect(() => new G722Decoder({ bitrate: 32000 as 64000 })).toThrow(UnsupportedCodecError);
    expect(() => new G722Encoder().encodeInto(new Int16Array(320), new Uint8Array(100))).toThrow(CodecBufferError);
    expect(() => new G722Decoder().decodeInto(new Uint8Array(160), new Int16Array(100))).toThrow(CodecBufferError);
  });
  it('56 and 48 kbit/s modes decode a 64 kbit/s stream with lower but useful SNR', () => {
    const pcm = sine(8000, 16000, 700, 8000);
    const codes = new G722Encoder().encode(pcm);
    const s64 = snrDb(pcm, new G722Decoder().decode(codes), DELAY, 1600);
    const s56 = snrDb(pcm, new G722Decoder({ bitrate: 56000 }).decode(codes), DELAY, 1600);
    const s48 = snrDb(pcm, new G722Decoder({ bitrate: 48000 }).decode(codes), DELAY, 1600);
    expect(s64).toBeGreaterThan(s56);
    expect(s56).toBeGreaterThan(s48);
    expect(s48).toBeGreaterThan(12);
  });
});

function checkConcealment(dec: AudioDecoder, enc: AudioEncoder, frame: number, payloadBytes: number): void {
  const pcm = sine(frame * 10, dec.sampleRate, 300, 8000);
  const payload = new Uint8Array(payloadBytes);
  const out = new Int16Array(frame);
  for (let i = 0; i < pcm.length; i += frame) {
    const n = enc.encodeInto(pcm.subarray(i, i + frame), payload);
    expect(dec.decodeInto(payload.subarray(0, n), out)).toBe(frame);
  }
  const lost = new Int16Array(frame);
  let energyFirst = 0;
  let energyLate = 0;
  for (let k = 0; k < 12; k++) {
    expect(dec.conceal(lost, frame)).toBe(frame);
    let e = 0;
    for (const v of lost) e += v * v;
    if (k === 0) energyFirst = e;
    if (k === 11) energyLate = e;
  }
  expect(energyFirst).toBeGreaterThan(0);
  expect(energyLate).toBeLessThan(energyFirst);
}

describe('factory and concealment', () => {
  it('creates every RFC 3551 name the engine uses, case-insensitively', () => {
    for (const [name, rate] of [
      ['PCMU', 8000],
      ['pcma', 8000],
      ['G722', 16000],
      ['L16', 8000],
      ['opus', 48000],
    ] as const) {
      expect(createEncoder(name).sampleRate).toBe(rate);
      expect(createDecoder(name).sampleRate).toBe(rate);
    }
    expect(createEncoder('L16', { sampleRate: 44100, channels: 2 }).sampleRate).toBe(44100);
    // RFC 7587: SDP always says opus/48000/2
    expect(createDecoder('opus', { channels: 2 }).sampleRate).toBe(48000);
    expect(() => createDecoder('opus', { channels: 3 })).toThrow(UnsupportedCodecError);
  });
  it('throws UnsupportedCodecError with a code for unknown codecs or options', () => {
    for (const bad of [
      () => createEncoder('G729'),
      () => createDecoder('GSM'),
      () => createEncoder('PCMU', { channels: 2 }),
    ]) {
      try {
        bad();
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(UnsupportedCodecError);
        expect((err as CodecError).code).toBe('UNSUPPORTED_CODEC');
      }
    }
    expect(() => createEncoder('G722', { sampleRate: 8000 })).toThrow(UnsupportedCodecError);
  });
  it('G.711 and G.722 conceal a loss with fading audio', () => {
    checkConcealment(createDecoder('PCMU'), createEncoder('PCMU'), 160, 160);
    checkConcealment(createDecoder('G722'), createEncoder('G722'), 320, 160);
  });
  it('G.722 conceals a loss by repeating the pitch period: the tone goes on at full level, then mutes by 60 ms', () => {
    for (const freq of [180, 440, 1000]) {
      const enc = createEncoder('G722');
      const dec = createDecoder('G722');
      const pcm = sine(16000, 16000, freq, 8000);
      const packet = new Uint8Array(160);
      const out = new Int16Array(320);
      for (let i = 0; i < 320 * 20; i += 320) {
        enc.encodeInto(pcm.subarray(i, i + 320), packet);
        dec.decodeInto(packet, out);
      }
      const last = out[319];
      const lost = new Int16Array(320 * 4);
      for (let k = 0; k < 4; k++) expect(dec.conceal(lost.subarray(320 * k), 320)).toBe(320);
      // the first 10 ms carry the tone at its level and frequency, starting where the signal left off
      expect(toneAmplitude16k(lost.subarray(0, 160), freq)).toBeGreaterThan(8000 * 0.7);
      expect(Math.abs(lost[0] - last)).toBeLessThan(((8000 * 2 * Math.PI * freq) / 16000) * 1.5 + 400);
      // fading, then silent from 60 ms
      expect(rms(lost.subarray(640, 960))).toBeLessThan(rms(lost.subarray(0, 320)));
      expect(rms(lost.subarray(960))).toBe(0);
      // a packet after the loss decodes to a full frame again
      enc.encodeInto(pcm.subarray(320 * 24, 320 * 25), packet);
      expect(dec.decodeInto(packet, out)).toBe(320);
    }
  });
});

function rms(x: Int16Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return Math.sqrt(e / x.length);
}

/** Amplitude of `freq` in 16 kHz PCM (Goertzel). */
function toneAmplitude16k(x: Int16Array, freq: number): number {
  const c = 2 * Math.cos((2 * Math.PI * freq) / 16000);
  let s1 = 0;
  let s2 = 0;
  for (const v of x) {
    const s0 = v + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - c * s1 * s2))) / x.length;
}

/** Frequency from positive-going zero crossings. */
function zeroCrossingFrequency(x: Int16Array, rate: number): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 1; i < x.length; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      if (first < 0) first = i;
      else count++;
      last = i;
    }
  }
  return count === 0 ? 0 : (count * rate) / (last - first);
}

describe('Opus', () => {
  it('keeps the frequency of a sine through encode and decode', () => {
    for (const freq of [300, 1000, 3100]) {
      const enc = new OpusEncoder();
      const dec = new OpusDecoder();
      const pcm = sine(48000, 48000, freq, 10000);
      const decoded = new Int16Array(pcm.length);
      const packet = new Uint8Array(1500);
      for (let i = 0; i < pcm.length; i += 960) {
        const n = enc.encodeInto(pcm.subarray(i, i + 960), packet);
        expect(n).toBeGreaterThan(0);
        expect(dec.decodeInto(packet.subarray(0, n), decoded.subarray(i))).toBe(960);
      }
      const measured = zeroCrossingFrequency(decoded.subarray(9600), 48000);
      expect(Math.abs(measured - freq) / freq).toBeLessThan(0.01);
    }
  });
  it('conceals losses with libopus PLC and rejects malformed packets with a typed error', () => {
    const enc = new OpusEncoder();
    const dec = new OpusDecoder();
    checkConcealment(dec, enc, 960, 1500);
    const out = new Int16Array(2880);
    expect(() => dec.decodeInto(Uint8Array.of(0xff, 0xff, 0xff), out)).toThrow(CodecError);
    expect(() => enc.encodeInto(new Int16Array(1000), new Uint8Array(1500))).toThrow(CodecBufferError);
  });

  /** A voiced-speech-like signal: a gliding fundamental with harmonics under a syllable-rate envelope. */
  function voice(samples: number): Int16Array {
    const out = new Int16Array(samples);
    let phase = 0;
    for (let i = 0; i < samples; i++) {
      const t = i / 48000;
      phase += (2 * Math.PI * (140 + 40 * Math.sin(2 * Math.PI * 1.3 * t))) / 48000;
      const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
      let v = 0;
      for (let h = 1; h <= 8; h++) v += Math.sin(h * phase) / h;
      out[i] = Math.round(5000 * env * v);
    }
    return out;
  }

  /** Encodes `pcm` in 20 ms packets with in-band FEC. */
  function packets(pcm: Int16Array): Uint8Array[] {
    const enc = new OpusEncoder({ packetLossPercent: 10 });
    const list: Uint8Array[] = [];
    for (let i = 0; i + 960 <= pcm.length; i += 960) list.push(enc.encode(pcm.subarray(i, i + 960)));
    return list;
  }

  function squaredError(a: Int16Array, b: Int16Array): number {
    let e = 0;
    for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
    return e;
  }

  it('rebuilds a lost frame from the next packet (in-band FEC) closer to the original than PLC does', () => {
    const list = packets(voice(48000 * 2));
    // The reference is the lossless decode (it shares the codec delay with the lossy ones).
    const ref = new OpusDecoder();
    const reference = list.map((p) => ref.decode(p));
    let fecError = 0;
    let plcError = 0;
    let energy = 0;
    for (const lost of [20, 37, 55, 71, 88]) {
      const withFec = new OpusDecoder();
      const withPlc = new OpusDecoder();
      const out = new Int16Array(960);
      for (let k = 0; k < lost; k++) {
        withFec.decodeInto(list[k], out);
        withPlc.decodeInto(list[k], out);
      }
      const next = list[lost + 1];
      expect(withFec.recoverInto(next, next.length, out, 960)).toBe(960);
      fecError += squaredError(out, reference[lost]);
      expect(withPlc.conceal(out, 960)).toBe(960);
      plcError += squaredError(out, reference[lost]);
      for (const v of reference[lost]) energy += v * v;
    }
    // FEC carries a coarser copy of the very frame: well under the signal energy, and at most half PLC's error.
    expect(fecError).toBeLessThan(energy * 0.5);
    expect(fecError).toBeLessThan(plcError * 0.5);
  });

  it('conceals a lost frame with PLC that continues the signal without a click or a mute', () => {
    const list = packets(voice(48000));
    const dec = new OpusDecoder();
    const out = new Int16Array(960);
    let last = 0;
    let rms = 0;
    for (let k = 0; k < 30; k++) {
      dec.decodeInto(list[k], out);
      last = out[959];
      rms = Math.sqrt(out.reduce((a, v) => a + v * v, 0) / 960);
    }
    const plc = new Int16Array(960);
    expect(dec.conceal(plc, 960)).toBe(960);
    const plcRms = Math.sqrt(plc.reduce((a, v) => a + v * v, 0) / 960);
    expect(plcRms).toBeGreaterThan(rms * 0.2); // not silence
    let maxStep = 0;
    for (let i = 1; i < 960; i++) maxStep = Math.max(maxStep, Math.abs(plc[i] - plc[i - 1]));
    for (let i = 1; i < 960; i++) maxStep = Math.max(maxStep, Math.abs(out[i] - out[i - 1]));
    // the step across the frame edge is no larger than the steps the signal itself takes
    expect(Math.abs(plc[0] - last)).toBeLessThanOrEqual(maxStep);
    // and decoding resumes: the next packet decodes to a full frame
    expect(dec.decodeInto(list[31], out)).toBe(960);
  });

  it('refuses garbage as the FEC source without harm, falling back to PLC', () => {
    const list = packets(voice(9600));
    const dec = new OpusDecoder();
    const out = new Int16Array(960);
    for (const p of list) dec.decodeInto(p, out);
    expect(dec.recoverInto(Uint8Array.of(0xff, 0xff, 0xff), 3, out, 960)).toBe(960);
    expect(dec.recoverInto(new Uint8Array(0), 0, out, 1000)).toBe(960);
    expect(dec.decodeInto(list[0], out)).toBe(960);
  });
});
