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
});

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
});
