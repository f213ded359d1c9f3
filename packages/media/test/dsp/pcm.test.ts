import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyGain,
  blockEnergy,
  DspError,
  GAIN_UNITY,
  gainFromDb,
  levelDbov,
  mixInto,
  SILENCE_DBOV,
  saturate16,
  sineAmplitudeForDbov,
} from '../../src/dsp/index.js';
import { tone } from './signal.js';

describe('PCM helpers', () => {
  it('turns dB into Q14 gains', () => {
    expect(gainFromDb(0)).toBe(GAIN_UNITY);
    expect(gainFromDb(-6)).toBe(Math.round(16384 * 10 ** (-6 / 20)));
    expect(gainFromDb(6)).toBe(Math.round(16384 * 10 ** (6 / 20)));
    expect(gainFromDb(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(() => gainFromDb(30)).toThrow(DspError);
    expect(() => gainFromDb(Number.NaN)).toThrow(DspError);
  });

  it('applies gain with saturation, matching the exact product', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 64 }),
        fc.double({ min: -40, max: 20, noNaN: true }),
        (values, dbGain) => {
          const g = gainFromDb(dbGain);
          const x = Int16Array.from(values);
          applyGain(x, g);
          for (const [i, v] of values.entries()) {
            const exact = (v * g) / 16384;
            expect(Math.abs(x[i] - Math.max(-32768, Math.min(32767, exact)))).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 200 },
    );
    const part = Int16Array.from([1000, 1000, 1000]);
    applyGain(part, gainFromDb(-6.0206), 1, 2);
    expect(Array.from(part)).toEqual([1000, 500, 1000]);
  });

  it('mixes with saturation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 40 }),
        fc.boolean(),
        (a, b, halve) => {
          const t = Int16Array.from(a);
          const g = halve ? gainFromDb(-6.0206) : GAIN_UNITY;
          const n = mixInto(t, Int16Array.from(b), g);
          expect(n).toBe(Math.min(a.length, b.length));
          for (let i = 0; i < a.length; i++) {
            const add = i < n ? (halve ? Math.floor((b[i] * g) / 16384) : b[i]) : 0;
            expect(t[i]).toBe(Math.max(-32768, Math.min(32767, a[i] + add)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('measures levels in dBov', () => {
    const sine = tone(8000, 8000, [{ freq: 1000, amplitude: sineAmplitudeForDbov(-20) }]);
    expect(levelDbov(sine)).toBeCloseTo(-20, 1);
    const full = new Int16Array(100).fill(-32768);
    expect(levelDbov(full)).toBeCloseTo(0, 5);
    expect(levelDbov(new Int16Array(10))).toBe(SILENCE_DBOV);
    expect(levelDbov(full, 5, 5)).toBe(SILENCE_DBOV);
    expect(blockEnergy(Int16Array.from([3, 4]))).toBe(25);
    expect(saturate16(40000.2)).toBe(32767);
    expect(saturate16(-1e9)).toBe(-32768);
    expect(saturate16(12.6)).toBe(13);
  });
});
