import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHalfbandResampler, DspError, halfbandDesign } from '../../src/dsp/index.js';
import { amplitudeAt, db, tone } from './signal.js';

/** |H(f)| of the prototype filter (DC gain 1). */
function response(taps: Float64Array, f: number, rate: number): number {
  let re = 0;
  let im = 0;
  const w = (2 * Math.PI * f) / rate;
  for (let n = 0; n < taps.length; n++) {
    re += taps[n] * Math.cos(w * n);
    im -= taps[n] * Math.sin(w * n);
  }
  return Math.hypot(re, im);
}

function run(from: number, to: number, input: Int16Array): Int16Array {
  const r = createHalfbandResampler(from, to);
  const out = new Int16Array(r.maxOutputLength(input.length));
  return out.subarray(0, r.process(input, out));
}

describe('half-band 8 <-> 16 kHz filter', () => {
  it('is a half-band: 4k+3 taps, zero at even distances from the centre, centre 1/2, DC gain 1', () => {
    const d = halfbandDesign(8000);
    const n = d.taps.length;
    expect(n % 4).toBe(3);
    const c = (n - 1) / 2;
    expect(d.taps[c]).toBe(0.5);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += d.taps[i];
      if (i !== c && (i - c) % 2 === 0) expect(d.taps[i]).toBe(0);
      expect(d.taps[i]).toBeCloseTo(d.taps[n - 1 - i], 15);
    }
    expect(sum).toBeCloseTo(1, 12);
  });

  it('passband ripple < 0.01 dB to 3400 Hz, -6 dB at 4000 Hz, stop band > 64 dB from 4600 Hz', () => {
    const d = halfbandDesign(8000);
    expect(d.passbandEdgeHz).toBe(3400);
    expect(d.stopbandEdgeHz).toBe(4600);
    let worstPass = 0;
    for (let i = 0; i <= 200; i++)
      worstPass = Math.max(worstPass, Math.abs(db(response(d.taps, (3400 * i) / 200, 16000))));
    let worstStop = -Infinity;
    for (let i = 0; i <= 1000; i++)
      worstStop = Math.max(worstStop, db(response(d.taps, 4600 + (3400 * i) / 1000, 16000)));
    expect(worstPass).toBeLessThan(0.01);
    expect(-worstStop).toBeGreaterThan(64);
    expect(db(response(d.taps, 4000, 16000))).toBeCloseTo(-6.02, 1);
  });
});

describe('half-band resampler on tones', () => {
  it('8 -> 16 kHz keeps a 1 kHz tone and suppresses the image of 3 kHz (13 kHz) and 3.4 kHz (12.6 kHz)', () => {
    const x = tone(8000, 4000, [{ freq: 1000, amplitude: 10000 }]);
    const y = run(8000, 16000, x);
    expect(y.length).toBe(8000);
    expect(Math.abs(db(amplitudeAt(y, 16000, 1000, 800, 7200) / 10000))).toBeLessThan(0.05);
    for (const f of [3000, 3400]) {
      const z = run(8000, 16000, tone(8000, 4000, [{ freq: f, amplitude: 30000 }]));
      expect(Math.abs(db(amplitudeAt(z, 16000, f, 800, 7200) / 30000))).toBeLessThan(0.05);
      expect(db(amplitudeAt(z, 16000, 8000 - f, 800, 7200) / 30000)).toBeLessThan(-60);
    }
  });

  it('16 -> 8 kHz keeps a 1 kHz tone and a 5 kHz tone does not alias to 3 kHz', () => {
    const y = run(16000, 8000, tone(16000, 8000, [{ freq: 1000, amplitude: 10000 }]));
    expect(y.length).toBe(4000);
    expect(Math.abs(db(amplitudeAt(y, 8000, 1000, 400, 3600) / 10000))).toBeLessThan(0.05);
    const z = run(16000, 8000, tone(16000, 8000, [{ freq: 5000, amplitude: 30000 }]));
    expect(db(amplitudeAt(z, 8000, 3000, 400, 3600) / 30000)).toBeLessThan(-60);
  });

  it('a tone comes out `delay` output samples later', () => {
    for (const [from, to] of [
      [8000, 16000],
      [16000, 8000],
    ]) {
      const r = createHalfbandResampler(from, to);
      const impulse = new Int16Array(200);
      impulse[41] = 16384;
      const out = new Int16Array(r.maxOutputLength(200));
      r.process(impulse, out);
      let peak = 0;
      for (let i = 1; i < out.length; i++) if (Math.abs(out[i]) > Math.abs(out[peak])) peak = i;
      expect(peak).toBe((41 * to) / from + r.delay);
    }
  });
});

describe('half-band resampler streaming', () => {
  it('streams in blocks of any size with the same result as one call', () => {
    fc.assert(
      fc.property(
        fc.constantFrom([8000, 16000], [16000, 8000]),
        fc.array(fc.integer({ min: 0, max: 401 }), { minLength: 1, maxLength: 12 }),
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
          const ref = run(from, to, input);
          const parts = createHalfbandResampler(from, to);
          const got: number[] = [];
          const buf = new Int16Array(parts.maxOutputLength(401));
          let pos = 0;
          for (const b of blocks) {
            const w = parts.process(input.subarray(pos, pos + b), buf);
            expect(w).toBeLessThanOrEqual(parts.maxOutputLength(b));
            got.push(...buf.subarray(0, w));
            pos += b;
          }
          expect(Int16Array.from(got)).toEqual(ref);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('saturates instead of wrapping, resets, and refuses other ratios or small outputs', () => {
    const r = createHalfbandResampler(8000, 16000);
    const square = new Int16Array(400);
    for (let i = 0; i < square.length; i++) square[i] = (i >> 3) % 2 ? 32767 : -32768;
    const out = new Int16Array(800);
    r.process(square, out);
    expect(Math.max(...out.map(Math.abs))).toBeGreaterThanOrEqual(32767);
    r.reset();
    r.process(new Int16Array(10), out);
    expect(out.subarray(0, 20).every((v) => v === 0)).toBe(true);
    expect(() => createHalfbandResampler(8000, 48000)).toThrow(DspError);
    expect(() => createHalfbandResampler(16000, 16000)).toThrow(DspError);
    expect(() => createHalfbandResampler(8000, 16000).process(new Int16Array(10), new Int16Array(19))).toThrow(
      DspError,
    );
    expect(() => createHalfbandResampler(16000, 8000).process(new Int16Array(10), new Int16Array(4))).toThrow(DspError);
  });
});
