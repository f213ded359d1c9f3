// The 8 kHz (lower sub-band only) paths of the G.722 codec against its sub-band reference paths, which the ITU
// digital test sequences check bit for bit (conformance.test.ts).
import { describe, expect, it } from 'vitest';
import { G722Decoder, G722Encoder } from '../../src/codecs/g722.js';

/** A tone sweep with noise and bursts at 8 kHz, loud enough to reach the quantizer's outer levels. */
function narrowband(samples: number, seed: number): Int16Array {
  const out = new Int16Array(samples);
  let s = seed >>> 0 || 1;
  let phase = 0;
  for (let i = 0; i < samples; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    phase += (2 * Math.PI * (200 + (i % 8000) * 0.4)) / 8000;
    const burst = (i >> 10) % 3 === 0 ? 0 : 1;
    const v = burst * 20000 * Math.sin(phase) + ((s >>> 16) - 32768) * 0.2;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

describe('G.722 8 kHz mode', () => {
  it('encodes 8 kHz PCM as the sub-band encoder does with the sample halved in the lower band and zero above', () => {
    for (const seed of [1, 2, 3]) {
      const pcm = narrowband(24000, seed);
      const fast = new G722Encoder();
      const ref = new G722Encoder();
      const got = new Uint8Array(pcm.length);
      // frames of 10..60 ms, state kept across them
      for (let at = 0, f = 0; at < pcm.length; f++) {
        const len = Math.min(80 * (1 + (f % 6)), pcm.length - at);
        fast.encodeNarrowbandInto(pcm.subarray(at, at + len), got.subarray(at, at + len));
        at += len;
      }
      const want = Uint8Array.from(pcm, (x) => ref.encodeSubbands(x >> 1, 0));
      expect(got).toEqual(want);
      // spandsp's 8 kHz mode writes I_H = 3 on every octet: from reset the zero-input higher band agrees
      expect(got.every((c) => c >> 6 === 3)).toBe(true);
    }
  });

  it('switches between 8 and 16 kHz input with the state of one encoder', () => {
    const pcm8 = narrowband(8000, 4);
    const pcm16 = narrowband(16000, 5);
    const enc = new G722Encoder();
    const ref = new G722Encoder();
    const mixed: number[] = [];
    const wanted: number[] = [];
    const buf = new Uint8Array(160);
    for (let k = 0; k < 20; k++) {
      const x8 = pcm8.subarray(k * 160, k * 160 + 160);
      enc.encodeNarrowbandInto(x8, buf);
      mixed.push(...buf);
      for (const x of x8) wanted.push(ref.encodeSubbands(x >> 1, 0));
      const x16 = pcm16.subarray(k * 320, k * 320 + 320);
      enc.encodeInto(x16, buf);
      mixed.push(...buf);
      wanted.push(...ref.encode(x16));
    }
    // ref.encode runs the QMF on a delay line that also saw only 16 kHz frames, as enc's does
    expect(mixed).toEqual(wanted);
  });

  it('decodes the lower sub-band alone as r_L doubled, in all three modes', () => {
    const codes = new G722Encoder().encode(narrowband(32000, 6));
    for (const bitrate of [64000, 56000, 48000] as const) {
      const fast = new G722Decoder({ bitrate });
      const ref = new G722Decoder({ bitrate });
      const got = new Int16Array(codes.length);
      for (let at = 0; at < codes.length; at += 160)
        fast.decodeLowBandInto(codes.subarray(at, at + 160), got.subarray(at));
      const pair = new Int32Array(2);
      const want = Int16Array.from(codes, (c) => {
        ref.decodeSubbands(c, pair);
        return pair[0] * 2;
      });
      expect(got).toEqual(want);
    }
  });

  it('restarts the higher band after 8 kHz decoding and conceals at 8 kHz without leaving 16 bits', () => {
    const codes = new G722Encoder().encode(narrowband(16000, 7));
    const dec = new G722Decoder();
    const out8 = new Int16Array(160);
    dec.decodeLowBandInto(codes.subarray(0, 160), out8);
    expect(dec.concealLowBand(out8, 160)).toBe(160);
    const out16 = new Int16Array(320);
    expect(dec.decodeInto(codes.subarray(160, 320), out16)).toBe(320);
    expect(out16.some((v) => v !== 0)).toBe(true);
    expect(() => dec.decodeLowBandInto(codes.subarray(0, 160), new Int16Array(10))).toThrow();
  });
});
