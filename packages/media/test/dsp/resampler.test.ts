import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createResampler, DspError, resampleAll, resamplerDesign } from '../../src/dsp/index.js';
import { amplitudeAt, db, tone } from './signal.js';

const PATHS: [number, number][] = [
  [8000, 16000],
  [16000, 8000],
  [8000, 48000],
  [48000, 8000],
  [16000, 48000],
  [48000, 16000],
];

/** |H(f)| of the prototype filter, normalised so the passband is 1. */
function response(taps: Float64Array, gain: number, f: number, rate: number): number {
  let re = 0;
  let im = 0;
  const w = (2 * Math.PI * f) / rate;
  for (let n = 0; n < taps.length; n++) {
    re += taps[n] * Math.cos(w * n);
    im -= taps[n] * Math.sin(w * n);
  }
  return Math.hypot(re, im) / gain;
}

describe('resampler filter design', () => {
  for (const [from, to] of PATHS) {
    it(`${from} -> ${to}: passband ripple < 0.1 dB, stop band > 60 dB`, () => {
      const d = resamplerDesign(from, to);
      expect(d.passbandEdgeHz).toBeGreaterThanOrEqual(Math.min(from, to) === 8000 ? 3400 : 7000);
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i <= 200; i++) {
        const g = db(response(d.taps, d.interpolation, (d.passbandEdgeHz * i) / 200, d.upsampledRate));
        lo = Math.min(lo, g);
        hi = Math.max(hi, g);
      }
      let worstStop = -Infinity;
      const top = d.upsampledRate / 2;
      const points = 1500;
      for (let i = 0; i <= points; i++) {
        const f = d.stopbandEdgeHz + ((top - d.stopbandEdgeHz) * i) / points;
        worstStop = Math.max(worstStop, db(response(d.taps, d.interpolation, f, d.upsampledRate)));
      }
      expect(hi - lo).toBeLessThan(0.1);
      expect(Math.max(Math.abs(hi), Math.abs(lo))).toBeLessThan(0.1);
      expect(-worstStop).toBeGreaterThan(60);
    });
  }
});

describe('resampler on tones', () => {
  for (const [from, to] of PATHS) {
    it(`${from} -> ${to}: 1 kHz keeps its level, tones past the new Nyquist are gone`, () => {
      const amp = 10000;
      const input = tone(from, from / 2, [{ freq: 1000, amplitude: amp }]);
      const out = resampleAll(input, from, to);
      expect(out.length).toBe(to / 2);
      const a = amplitudeAt(out, to, 1000, to / 20, out.length - to / 20);
      expect(Math.abs(db(a / amp))).toBeLessThan(0.1);
      if (to < from) {
        // A tone above the output's Nyquist frequency must not alias back into the band.
        const bad = Math.min(from / 2 - 500, to / 2 + 500);
        const x = tone(from, from / 2, [{ freq: bad, amplitude: 30000 }]);
        const y = resampleAll(x, from, to);
        const alias = to - bad;
        expect(db(amplitudeAt(y, to, alias, to / 20, y.length - to / 20) / 30000)).toBeLessThan(-60);
      } else {
        // Upsampling: the image of a 3 kHz tone (at from - 3 kHz) must be suppressed.
        const x = tone(from, from / 2, [{ freq: 3000, amplitude: 30000 }]);
        const y = resampleAll(x, from, to);
        expect(db(amplitudeAt(y, to, from - 3000, to / 20, y.length - to / 20) / 30000)).toBeLessThan(-60);
        expect(Math.abs(db(amplitudeAt(y, to, 3000, to / 20, y.length - to / 20) / 30000))).toBeLessThan(0.1);
      }
    });
  }

  it('streams in blocks of any size with the same result as one call', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PATHS),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 12 }),
        fc.integer(),
        ([from, to], blocks, seed) => {
          const total = blocks.reduce((a, b) => a + b, 0);
          const input = new Int16Array(total);
          let s = seed | 0 || 1;
          for (let i = 0; i < total; i++) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            input[i] = s >> 16;
          }
          const whole = createResampler(from, to);
          const ref = new Int16Array(whole.maxOutputLength(total));
          const nRef = whole.process(input, ref);
          const parts = createResampler(from, to);
          const got = new Int16Array(nRef + 8);
          let n = 0;
          let pos = 0;
          const buf = new Int16Array(parts.maxOutputLength(400));
          for (const b of blocks) {
            const w = parts.process(input.subarray(pos, pos + b), buf);
            expect(w).toBeLessThanOrEqual(parts.maxOutputLength(b));
            got.set(buf.subarray(0, w), n);
            n += w;
            pos += b;
          }
          expect(n).toBe(nRef);
          expect(got.subarray(0, n)).toEqual(ref.subarray(0, nRef));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('saturates instead of wrapping and resets its history', () => {
    const r = createResampler(8000, 48000);
    const square = new Int16Array(800);
    for (let i = 0; i < square.length; i++) square[i] = (i >> 4) % 2 ? 32767 : -32768;
    const out = new Int16Array(r.maxOutputLength(800));
    const n = r.process(square, out);
    let peak = 0;
    for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(out[i]));
    expect(peak).toBeGreaterThanOrEqual(32767); // Gibbs overshoot is clipped, not wrapped to the other sign
    r.reset();
    const silent = new Int16Array(r.maxOutputLength(10));
    r.process(new Int16Array(10), silent);
    expect(Array.from(silent).every((v) => v === 0)).toBe(true);
  });

  it('handles other rates (44.1 kHz prompts) and refuses nonsense', () => {
    const x = tone(44100, 22050, [{ freq: 1000, amplitude: 8000 }]);
    const y = resampleAll(x, 44100, 8000);
    expect(y.length).toBe(4000);
    expect(Math.abs(db(amplitudeAt(y, 8000, 1000, 400, 3600) / 8000))).toBeLessThan(0.1);
    expect(() => createResampler(0, 8000)).toThrow(DspError);
    expect(() => createResampler(8000, 8000.5)).toThrow(DspError);
    expect(() => createResampler(8000, 16000).process(new Int16Array(10), new Int16Array(19))).toThrow(DspError);
    expect(createResampler(16000, 16000).process(new Int16Array([1, 2]), new Int16Array(2))).toBe(2);
  });
});
