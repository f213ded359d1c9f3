import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DspError,
  DtmfDetector,
  type DtmfDetectorOptions,
  type DtmfDigitEvent,
  DtmfGenerator,
  dtmfFrequencies,
  dtmfSamples,
  sineAmplitudeForDbov,
} from '../../src/dsp/index.js';

const ALL = '0123456789ABCD*#';

function detect(pcm: Int16Array, options: Partial<DtmfDetectorOptions> & { sampleRate: number }, blocks = [160]) {
  const events: DtmfDigitEvent[] = [];
  const d = new DtmfDetector({ onDigit: (e) => events.push(e), ...options });
  let pos = 0;
  let b = 0;
  while (pos < pcm.length) {
    const size = blocks[b++ % blocks.length];
    d.process(pcm.subarray(pos, pos + size));
    pos += size;
  }
  d.flush();
  return events;
}

/** A dual tone with silence around it; levels per tone in dBov, frequencies scaled by (1 + deviation). */
function dualTone(
  rate: number,
  digit: string,
  opts: { ms?: number; rowDb?: number; colDb?: number; rowDev?: number; colDev?: number; pad?: number } = {},
): Int16Array {
  const [fr, fcol] = dtmfFrequencies(digit);
  const pad = Math.round(((opts.pad ?? 50) * rate) / 1000);
  const n = Math.round(((opts.ms ?? 60) * rate) / 1000);
  const out = new Int16Array(n + 2 * pad);
  const ar = sineAmplitudeForDbov(opts.rowDb ?? -10);
  const ac = sineAmplitudeForDbov(opts.colDb ?? -10);
  const wr = (2 * Math.PI * fr * (1 + (opts.rowDev ?? 0))) / rate;
  const wc = (2 * Math.PI * fcol * (1 + (opts.colDev ?? 0))) / rate;
  for (let i = 0; i < n; i++) out[pad + i] = Math.round(ar * Math.sin(wr * i) + ac * Math.sin(wc * i + 1));
  return out;
}

function noise(samples: number, rmsValue: number, seed: number): Int16Array {
  const out = new Int16Array(samples);
  let s = seed | 0 || 7;
  for (let i = 0; i < samples; i++) {
    let u = 0;
    for (let k = 0; k < 4; k++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      u += (s >>> 0) / 4294967296 - 0.5;
    }
    out[i] = Math.round(u * rmsValue * Math.sqrt(3));
  }
  return out;
}

function add(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.max(-32768, Math.min(32767, a[i] + (b[i] ?? 0)));
  return out;
}

describe('DtmfDetector', () => {
  for (const rate of [8000, 16000]) {
    it(`detects all 16 digits at ${rate} Hz with start and duration`, () => {
      for (const digit of ALL) {
        const ev = detect(dualTone(rate, digit, { ms: 60 }), { sampleRate: rate }, [37, 160, 1]);
        expect(ev.map((e) => e.digit)).toEqual([digit]);
        const start = ev[0].startSample / rate;
        expect(Math.abs(start - 0.05)).toBeLessThan(0.006);
        expect(Math.abs(ev[0].durationSamples / rate - 0.06)).toBeLessThan(0.008);
      }
    });
  }

  it('accepts ±1.5 % frequency deviation and refuses ±3.5 %', () => {
    for (const rate of [8000, 16000]) {
      for (const digit of ALL) {
        for (const dev of [-0.015, 0.015]) {
          expect(detect(dualTone(rate, digit, { rowDev: dev, colDev: -dev }), { sampleRate: rate }).length).toBe(1);
        }
        for (const dev of [-0.035, 0.035]) {
          expect(detect(dualTone(rate, digit, { rowDev: dev }), { sampleRate: rate })).toEqual([]);
          expect(detect(dualTone(rate, digit, { colDev: dev }), { sampleRate: rate })).toEqual([]);
        }
      }
    }
  });

  it('applies twist limits: normal up to 8 dB, reverse up to 4 dB', () => {
    for (const digit of '15#D') {
      expect(detect(dualTone(8000, digit, { rowDb: -8, colDb: -15.5 }), { sampleRate: 8000 }).length).toBe(1);
      expect(detect(dualTone(8000, digit, { rowDb: -8, colDb: -17 }), { sampleRate: 8000 })).toEqual([]);
      expect(detect(dualTone(8000, digit, { rowDb: -13.5, colDb: -10 }), { sampleRate: 8000 }).length).toBe(1);
      expect(detect(dualTone(8000, digit, { rowDb: -15, colDb: -10 }), { sampleRate: 8000 })).toEqual([]);
    }
  });

  it('has a minimum level', () => {
    expect(detect(dualTone(8000, '5', { rowDb: -33, colDb: -33 }), { sampleRate: 8000 }).length).toBe(1);
    expect(detect(dualTone(8000, '5', { rowDb: -40, colDb: -40 }), { sampleRate: 8000 })).toEqual([]);
  });

  it('accepts 40 ms tones, refuses 25 ms ones', () => {
    for (const digit of ALL) {
      expect(detect(dualTone(8000, digit, { ms: 40 }), { sampleRate: 8000 }).length).toBe(1);
      expect(detect(dualTone(8000, digit, { ms: 25 }), { sampleRate: 8000 })).toEqual([]);
    }
  });

  it('separates digits with 40 ms pauses, bridges a 10 ms break', () => {
    const digits = '1234567890*#ABCD11';
    const pcm = dtmfSamples(digits, { sampleRate: 8000, onMs: 45, offMs: 40 });
    const ev = detect(pcm, { sampleRate: 8000 }, [80, 3, 500]);
    expect(ev.map((e) => e.digit).join('')).toBe(digits);
    for (const [i, e] of ev.entries()) expect(Math.abs(e.startSample - i * 680)).toBeLessThan(48);
    const broken = dualTone(8000, '7', { ms: 200 });
    broken.fill(0, 400 + 800, 400 + 880);
    expect(detect(broken, { sampleRate: 8000 }).map((e) => e.digit)).toEqual(['7']);
  });

  it('detects through white noise at 15 dB SNR', () => {
    for (const digit of ALL) {
      const pcm = dualTone(8000, digit, { ms: 80, rowDb: -12, colDb: -12 });
      // Two tones at -12 dBov each: -9 dBov together; noise at -24 dBov.
      const n = noise(pcm.length, 32768 * 10 ** (-24 / 20), digit.charCodeAt(0));
      expect(detect(add(pcm, n), { sampleRate: 8000 }).map((e) => e.digit)).toEqual([digit]);
    }
  });

  it('does not talk off on music-like and speech-like signals', () => {
    const rate = 8000;
    const seconds = 3;
    const len = rate * seconds;
    // Chords of non-DTMF notes (equal temperament around A440) with harmonics.
    const notes = [220, 261.63, 329.63, 392, 440, 523.25, 587.33, 659.25, 783.99, 880, 1046.5, 1174.66];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...notes), { minLength: 2, maxLength: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        (chord, seed) => {
          const pcm = new Int16Array(len);
          for (let i = 0; i < len; i++) {
            let v = 0;
            for (const [k, f] of chord.entries()) {
              const w = (2 * Math.PI * f * i) / rate;
              v += 3000 * (Math.sin(w + k + seed) + 0.5 * Math.sin(2 * w) + 0.3 * Math.sin(3 * w));
            }
            pcm[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
          }
          expect(detect(pcm, { sampleRate: rate })).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
    // Speech-like: a gliding glottal pulse train (harmonics of 100..250 Hz) and chirps sweeping through the band.
    const voice = new Int16Array(len);
    let phase = 0;
    for (let i = 0; i < len; i++) {
      const f0 = 100 + 150 * (0.5 + 0.5 * Math.sin((2 * Math.PI * i) / (rate * 0.7)));
      phase += (2 * Math.PI * f0) / rate;
      let v = 0;
      for (let h = 1; h * f0 < 3500; h++) v += Math.sin(h * phase) / h;
      voice[i] = Math.round(4000 * v);
    }
    expect(detect(voice, { sampleRate: rate })).toEqual([]);
    const chirp = new Int16Array(len);
    let p1 = 0;
    let p2 = 0;
    for (let i = 0; i < len; i++) {
      const t = i / rate;
      // Sawtooth sweeps at 4 and 5 kHz/s stay inside a DTMF tolerance band for less than 25 ms (the refused
      // duration); two tones gliding slower through a digit's pair look exactly like that digit to any receiver.
      p1 += (2 * Math.PI * (600 + ((4000 * t) % 400))) / rate;
      p2 += (2 * Math.PI * (1150 + ((5000 * t) % 550))) / rate;
      chirp[i] = Math.round(8000 * Math.sin(p1) + 8000 * Math.sin(p2));
    }
    expect(detect(chirp, { sampleRate: rate })).toEqual([]);
  });

  it('announces a digit early, reports it once at its end, and resets its time base', () => {
    const starts: [string, number][] = [];
    const ends: DtmfDigitEvent[] = [];
    const d = new DtmfDetector({
      sampleRate: 8000,
      onDigit: (e) => ends.push(e),
      onDigitStart: (g, at) => starts.push([g, at]),
    });
    const pcm = dualTone(8000, '9', { ms: 300 });
    d.process(pcm.subarray(0, 400 + 480)); // 60 ms into the tone
    expect(starts).toEqual([['9', 400]]);
    expect(ends).toEqual([]);
    d.process(pcm.subarray(880));
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ digit: '9', startSample: 400 });
    expect(Math.abs(ends[0].durationSamples - 2400)).toBeLessThanOrEqual(40);
    d.reset();
    expect(d.position).toBe(0);
    d.process(pcm.subarray(0, 900));
    expect(starts).toHaveLength(2);
    d.reset(); // a digit cut by reset is dropped, not reported
    expect(ends).toHaveLength(1);
    expect(() => new DtmfDetector({ sampleRate: 4000, onDigit: () => {} })).toThrow(DspError);
  });

  it('round-trips generator output (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...ALL), minLength: 1, maxLength: 8 }),
        fc.constantFrom(8000, 16000),
        fc.integer({ min: 45, max: 150 }),
        fc.integer({ min: 45, max: 150 }),
        fc.double({ min: -28, max: -12, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 4 }),
        (digits, rate, onMs, offMs, level, twist, blocks) => {
          const pcm = dtmfSamples(digits, { sampleRate: rate, onMs, offMs, levelDbov: level, twistDb: twist });
          const ev = detect(pcm, { sampleRate: rate }, blocks);
          expect(ev.map((e) => e.digit).join('')).toBe(digits);
          for (const e of ev) expect(Math.abs(e.durationSamples - (onMs * rate) / 1000)).toBeLessThan(rate / 100);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('DtmfGenerator', () => {
  it('produces the queued digits continuously across frames and pads with silence', () => {
    const g = new DtmfGenerator({ sampleRate: 8000, onMs: 50, offMs: 50 });
    g.enqueue('5#');
    expect(g.pendingSamples).toBe(1600);
    const frames: Int16Array[] = [];
    let total = 0;
    for (;;) {
      const f = new Int16Array(160);
      const n = g.fill(f);
      total += n;
      frames.push(f);
      if (n < 160) break;
    }
    expect(total).toBe(1600);
    const joined = new Int16Array(frames.length * 160);
    for (const [i, f] of frames.entries()) joined.set(f, i * 160);
    const expected = new Int16Array(joined.length);
    expected.set(dtmfSamples('5#', { sampleRate: 8000, onMs: 50, offMs: 50 }));
    expect(joined).toEqual(expected);
    expect(() => g.enqueue('5x')).toThrow(DspError);
    expect(() => new DtmfGenerator({ sampleRate: 8000, levelDbov: -6 })).toThrow(DspError);
    expect(() => dtmfFrequencies('E')).toThrow(DspError);
    expect(dtmfFrequencies('*')).toEqual([941, 1209]);
  });
});
