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
});
