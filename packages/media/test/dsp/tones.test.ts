import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ComfortNoiseGenerator,
  comfortNoiseLevelByte,
  comfortNoiseLevelDbov,
  createTonePlayer,
  DspError,
  levelDbov,
  TONE_COUNTRIES,
  TonePlayer,
  tonePreset,
} from '../../src/dsp/index.js';
import { amplitudeAt, rms } from './signal.js';

function render(p: TonePlayer, samples: number): Int16Array {
  const out = new Int16Array(samples);
  p.fill(out);
  return out;
}

/** On/off runs measured in 1 ms steps (on = RMS above a tenth of the expected). */
function cadenceOf(x: Int16Array, rate: number, threshold: number): number[] {
  const step = rate / 1000;
  const runs: number[] = [];
  let state = true;
  let len = 0;
  for (let i = 0; i + step <= x.length; i += step) {
    const on = rms(x, i, i + step) > threshold;
    if (on === state) len++;
    else {
      runs.push(len);
      state = on;
      len = 1;
    }
  }
  runs.push(len);
  return runs;
}

describe('TonePlayer', () => {
  it('has the North American tones', () => {
    expect(tonePreset('ringback', 'us')).toMatchObject({ frequencies: [440, 480], cadence: [2000, 4000] });
    expect(tonePreset('busy', 'us')).toMatchObject({ frequencies: [480, 620], cadence: [500, 500] });
    expect(tonePreset('congestion', 'us')).toMatchObject({ frequencies: [480, 620], cadence: [250, 250] });
    expect(tonePreset('dial', 'us')).toMatchObject({ frequencies: [350, 440], cadence: [] });
    expect(tonePreset('callWaiting', 'us').frequencies).toEqual([440]);
    expect(tonePreset('ringback', 'it')).toMatchObject({ frequencies: [425], cadence: [1000, 4000] });
    expect(tonePreset('ringback', 'uk')).toMatchObject({ frequencies: [400, 450] });
    expect(() => tonePreset('dial', 'xx')).toThrow(DspError);
    expect(() => tonePreset('hum', 'us')).toThrow(DspError);
  });

  for (const rate of [8000, 16000, 48000]) {
    it(`plays every preset at ${rate} Hz with its frequencies, level and cadence`, () => {
      for (const country of TONE_COUNTRIES) {
        for (const name of ['dial', 'ringback', 'busy', 'congestion', 'callWaiting']) {
          const spec = tonePreset(name, country);
          const cycle = spec.cadence.reduce((a, b) => a + b, 0);
          const ms = spec.cadence.length ? Math.min(cycle, 2 * 6000) : 1000;
          const x = render(createTonePlayer(name, country, rate), (ms * rate) / 1000);
          const amp = 32768 * Math.SQRT2 * 10 ** (spec.levelDbov / 20);
          // First on segment: each frequency at its level, a frequency in between absent.
          const onEnd = ((spec.cadence[0] ?? 1000) * rate) / 1000;
          const from = Math.round(0.005 * rate);
          for (const f of spec.frequencies) {
            expect(Math.abs(20 * Math.log10(amplitudeAt(x, rate, f, from, onEnd - from) / amp))).toBeLessThan(0.3);
          }
          expect(amplitudeAt(x, rate, 1000, from, onEnd - from)).toBeLessThan(amp / 100);
          if (spec.cadence.length) {
            // Segment by segment: sound in the on parts, digital silence in the off parts (edges hold the ramps).
            let t = 0;
            for (const [k, segMs] of spec.cadence.entries()) {
              const a = Math.round(((t + 3) * rate) / 1000);
              const b = Math.round(((t + segMs - 3) * rate) / 1000);
              t += segMs;
              if (b > x.length) break;
              if (k % 2 === 0) expect(rms(x, a, b)).toBeGreaterThan(amp / 2);
              else expect(rms(x, a, b)).toBe(0);
            }
            // Edge timing to the millisecond, on the same cadence with one frequency (dual tones beat).
            const single = new TonePlayer({ frequencies: [1000], levelDbov: -10, cadence: spec.cadence }, rate);
            const runs = cadenceOf(render(single, (ms * rate) / 1000), rate, 1000);
            for (let k = 0; k < spec.cadence.length && k < runs.length - 1; k++) {
              expect(Math.abs(runs[k] - spec.cadence[k])).toBeLessThanOrEqual(2);
            }
          } else {
            expect(rms(x, from, x.length)).toBeGreaterThan(amp / 2);
          }
        }
      }
    });
  }

  it('is continuous across frames of any size (no clicks)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8000, 16000, 48000),
        fc.constantFrom('dial', 'busy', 'ringback'),
        fc.constantFrom(...TONE_COUNTRIES),
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 20 }),
        (rate, name, country, frames) => {
          const total = frames.reduce((a, b) => a + b, 0);
          const whole = render(createTonePlayer(name, country, rate), total);
          const p = createTonePlayer(name, country, rate);
          const pieces = new Int16Array(total);
          let pos = 0;
          for (const f of frames) {
            expect(p.fill(pieces.subarray(pos, pos + f))).toBe(f);
            pos += f;
          }
          expect(pieces).toEqual(whole);
          // The largest step between samples stays that of the sines themselves (plus the 2 ms ramps).
          const spec = tonePreset(name, country);
          const amp = 32768 * Math.SQRT2 * 10 ** (spec.levelDbov / 20);
          const maxStep = spec.frequencies.reduce((a, f) => a + (amp * 2 * Math.PI * f) / rate, 0) + 2;
          for (let i = 1; i < total; i++)
            expect(Math.abs(pieces[i] - pieces[i - 1])).toBeLessThanOrEqual(maxStep * 1.1);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('stops a bounded tone and refuses bad specs', () => {
    const p = new TonePlayer({ frequencies: [1000], levelDbov: -10, cadence: [] }, 8000, 30);
    const out = new Int16Array(160);
    expect(p.fill(out)).toBe(160);
    expect(p.fill(out)).toBe(80);
    expect(out.subarray(80).every((v) => v === 0)).toBe(true);
    expect(() => new TonePlayer({ frequencies: [5000], levelDbov: -10, cadence: [] }, 8000)).toThrow(DspError);
    expect(() => new TonePlayer({ frequencies: [400], levelDbov: -10, cadence: [100] }, 8000)).toThrow(DspError);
    expect(() => new TonePlayer({ frequencies: [400, 500], levelDbov: 0, cadence: [] }, 8000)).toThrow(DspError);
  });
});

describe('ComfortNoiseGenerator', () => {
  it('produces the requested level, white or pink, deterministically', () => {
    for (const color of ['white', 'pink'] as const) {
      for (const level of [-30, -50, -70]) {
        const g = new ComfortNoiseGenerator({ levelDbov: level, color, seed: 42 });
        const x = new Int16Array(80000);
        g.fill(x);
        expect(Math.abs(levelDbov(x) - level)).toBeLessThan(level < -60 ? 1 : 0.5);
        const again = new Int16Array(80000);
        new ComfortNoiseGenerator({ levelDbov: level, color, seed: 42 }).fill(again);
        expect(again).toEqual(x);
        const other = new Int16Array(100);
        new ComfortNoiseGenerator({ levelDbov: level, color, seed: 43 }).fill(other);
        expect(other).not.toEqual(x.subarray(0, 100));
        // White noise's first difference has twice its power; pink noise is mostly low frequencies.
        const diff = new Float64Array(x.length - 1);
        for (let i = 1; i < x.length; i++) diff[i - 1] = x[i] - x[i - 1];
        const ratio = rms(diff) / rms(x);
        if (color === 'white') expect(ratio).toBeGreaterThan(1.3);
        else expect(ratio).toBeLessThan(0.9);
      }
    }
    expect(comfortNoiseLevelByte(-42.4)).toBe(42);
    expect(comfortNoiseLevelDbov(0x80 | 60)).toBe(-60);
    expect(() => new ComfortNoiseGenerator({ levelDbov: 3 })).toThrow(DspError);
  });
});
