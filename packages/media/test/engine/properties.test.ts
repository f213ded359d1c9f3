import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConferenceMixer } from '../../src/engine/index.js';

const clamp = (v: number): number => Math.max(-32768, Math.min(32767, v));

describe('engine properties', () => {
  it('mixer: every output is the clamped sum of the other unmuted inputs after gain', () => {
    const party = fc.record({
      samples: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 4, maxLength: 4 }),
      talking: fc.boolean(),
      muted: fc.boolean(),
      gain: fc.constantFrom(0, 0.25, 0.5, 1, 2, 8),
    });
    fc.assert(
      fc.property(fc.array(party, { minLength: 1, maxLength: 8 }), (parties) => {
        const m = new ConferenceMixer({ frameSamples: 4 });
        const ps = parties.map((p, i) => {
          const h = m.add(`p${i}`);
          m.setMuted(`p${i}`, p.muted);
          m.setGain(`p${i}`, p.gain);
          h.input.set(p.samples);
          h.hasInput = p.talking;
          return h;
        });
        m.mix();
        const q12 = (g: number): number => Math.round(g * 4096);
        for (let i = 0; i < ps.length; i++) {
          for (let k = 0; k < 4; k++) {
            let sum = 0;
            for (let j = 0; j < ps.length; j++) {
              const p = parties[j];
              if (j !== i && p.talking && !p.muted) sum += (p.samples[k] * q12(p.gain)) >> 12;
            }
            expect(ps[i].output[k]).toBe(clamp(sum));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('voice-gated mixer: only talkers are mixed, listeners hear the shared mix, nobody hears itself', () => {
    // Per participant and tick a frame level: loud (speech) or quiet (noise), or no packet at all.
    const level = fc.constantFrom(0, 20, 60, 400, 3000);
    const party = fc.record({
      levels: fc.array(fc.option(level, { nil: undefined }), { minLength: 12, maxLength: 12 }),
      muted: fc.boolean(),
      gain: fc.constantFrom(0, 0.5, 1, 2),
    });
    const threshold = 10 ** (-50 / 10) * 32768 * 32768; // -50 dBFS as a mean square
    fc.assert(
      fc.property(fc.array(party, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 4 }), (parties, hang) => {
        const m = new ConferenceMixer({ frameSamples: 4, voiceThresholdDb: -50, voiceHangoverTicks: hang });
        const ps = parties.map((p, i) => {
          const h = m.add(`p${i}`);
          m.setMuted(`p${i}`, p.muted);
          m.setGain(`p${i}`, p.gain);
          return h;
        });
        const left = parties.map(() => 0); // the reference model's hangover
        const q12 = (g: number): number => Math.round(g * 4096);
        for (let t = 0; t < 12; t++) {
          // The model: a loud frame is mixed and restarts the hangover; a quiet one is mixed while hangover is left.
          const gated = parties.map((p, i) => {
            const a = p.levels[t];
            if (a === undefined || p.muted || p.gain === 0) {
              left[i] = 0;
              return false;
            }
            const frame = Int16Array.of(a, -a, a, -a);
            if (ps[i].detectVoice(frame)) {
              ps[i].input.set(frame);
              ps[i].hasInput = true;
            }
            if (a * a >= threshold) left[i] = hang;
            else if (left[i] > 0) left[i]--;
            else return false;
            return true;
          });
          const value = parties.map((p, i) => (gated[i] ? ((p.levels[t] ?? 0) * q12(p.gain)) >> 12 : 0));
          m.mix();
          const all = value.reduce((x, y) => x + y, 0);
          for (let i = 0; i < ps.length; i++) {
            expect(ps[i].hearsShared).toBe(!gated[i]);
            expect(ps[i].output[0]).toBe(clamp(all - value[i]));
            if (ps[i].hearsShared) expect([...ps[i].output]).toEqual([...m.shared]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
