// In-band DTMF (ITU-T Q.23 frequencies) detection with Goertzel filters and generation.
//
// The detector looks at a 20 ms Hamming-windowed block every 5 ms. A block "hits" digit d when (ITU-T Q.24 and the
// usual receiver practice):
//   - the strongest row and column tones each reach minLevelDbov;
//   - twist is inside limits (row over column up to 8 dB "normal", column over row up to 4 dB "reverse");
//   - each tone is nearer its nominal frequency than a frequency 5 % off it on either side (so the accept/reject
//     boundary is 2.5 %: ±1.5 % is accepted, ±3.5 % refused);
//   - the two tones carry most of the block's energy, their second harmonics are weak (speech and music have rich
//     harmonics and spread spectra) and the block is steady (both halves within 4 dB, so the tone fills >= 75 %
//     of it).
// A digit starts after 5 consecutive hits (tone >= ~35 ms; 25 ms and shorter are refused) and ends after 6
// consecutive misses (a pause >= ~20 ms; Q.24 wants breaks of 10 ms or less bridged), then is reported once.

import { DspError } from './errors.js';

export const DTMF_ROW_HZ = [697, 770, 852, 941] as const;
export const DTMF_COLUMN_HZ = [1209, 1336, 1477, 1633] as const;
const DIGITS = '123A456B789C*0#D';

/** Row and column frequencies of a DTMF digit (0-9, A-D, * and #). */
export function dtmfFrequencies(digit: string): [number, number] {
  const i = DIGITS.indexOf(digit.toUpperCase());
  if (digit.length !== 1 || i < 0) throw new DspError('INVALID_ARGUMENT', `'${digit}' is not a DTMF digit`);
  return [DTMF_ROW_HZ[i >> 2], DTMF_COLUMN_HZ[i & 3]];
}

export interface DtmfDigitEvent {
  digit: string;
  /** Sample index (from the first sample given to the detector) where the tone began. */
  startSample: number;
  /** Length of the tone in samples. */
  durationSamples: number;
}

export interface DtmfDetectorOptions {
  /** 8000 or 16000 (any integer rate 8000..48000 works; the block stays 20 ms). */
  sampleRate: number;
  /** Called once per digit, when it ends. */
  onDigit: (event: DtmfDigitEvent) => void;
  /** Called when a digit is recognised (about 40 ms into it), before its duration is known. */
  onDigitStart?: (digit: string, startSample: number) => void;
  /** Weakest tone accepted, per frequency, in dBov (default -36, about -33 dBm0 in G.711). */
  minLevelDbov?: number;
  /** Row tone over column tone accepted up to this (default 8 dB). */
  normalTwistDb?: number;
  /** Column tone over row tone accepted up to this (default 4 dB). */
  reverseTwistDb?: number;
}

const ON_HITS = 5;
const OFF_MISSES = 6;
const OFF_BIN = 0.05;
const MIN_TONE_SHARE = 0.55; // of the block's energy carried by the two tones
const MAX_HARMONIC = 10 ** (-12 / 10);
const MAX_HALF_RATIO = 2.5; // 4 dB between the block's halves: a tone filling 3/4 of the block passes

function goertzelCoefficient(freq: number, rate: number): number {
  return 2 * Math.cos((2 * Math.PI * freq) / rate);
}

export class DtmfDetector {
  readonly sampleRate: number;
  private readonly onDigit: (event: DtmfDigitEvent) => void;
  private readonly onDigitStart: ((digit: string, startSample: number) => void) | undefined;
  private readonly block: number;
  private readonly hop: number;
  private readonly ring: Float64Array;
  private readonly windowed: Float64Array;
  private readonly window: Float64Array;
  private readonly norm: number; // turns Goertzel power into the mean square of the tone (A²/2)
  private readonly windowEnergy: number;
  private readonly coef: Float64Array; // 8 nominal
  private readonly coefLow: Float64Array; // 8 at -5 %
  private readonly coefHigh: Float64Array; // 8 at +5 %
  private readonly coefHarmonic: Float64Array; // 8 at 2f
  private readonly power = new Float64Array(16); // 8 nominal, 4 off-frequency, 2 harmonics
  private readonly minPower: number;
  private readonly harmonicGuardHz: number;
  private readonly normalTwist: number;
  private readonly reverseTwist: number;
  private ringPos = 0;
  private sinceHop = 0;
  private samples = 0;
  private runDigit = -1;
  private runHits = 0;
  private runStart = 0;
  private active = -1;
  private activeStart = 0;
  private lastHitBlockStart = 0;
  private misses = 0;

  constructor(options: DtmfDetectorOptions) {
    const rate = options.sampleRate;
    if (!Number.isInteger(rate) || rate < 8000 || rate > 48000) {
      throw new DspError('UNSUPPORTED_RATE', `DTMF detection at ${rate} Hz is not supported (8000..48000)`);
    }
    this.sampleRate = rate;
    this.onDigit = options.onDigit;
    this.onDigitStart = options.onDigitStart;
    this.hop = Math.round(rate / 200);
    this.block = this.hop * 4;
    this.ring = new Float64Array(this.block);
    this.windowed = new Float64Array(this.block);
    this.window = new Float64Array(this.block);
    let wsum = 0;
    let w2 = 0;
    for (let i = 0; i < this.block; i++) {
      const w = 0.54 - 0.46 * Math.cos((2 * Math.PI * (i + 0.5)) / this.block);
      this.window[i] = w;
      wsum += w;
      w2 += w * w;
    }
    this.norm = 2 / (wsum * wsum);
    this.harmonicGuardHz = (3 * rate) / this.block; // 1.5 x the Hamming main lobe half-width
    this.windowEnergy = w2;
    const freqs = [...DTMF_ROW_HZ, ...DTMF_COLUMN_HZ];
    this.coef = Float64Array.from(freqs, (f) => goertzelCoefficient(f, rate));
    this.coefLow = Float64Array.from(freqs, (f) => goertzelCoefficient(f * (1 - OFF_BIN), rate));
    this.coefHigh = Float64Array.from(freqs, (f) => goertzelCoefficient(f * (1 + OFF_BIN), rate));
    this.coefHarmonic = Float64Array.from(freqs, (f) => goertzelCoefficient(2 * f, rate));
    const amp = 32768 * 10 ** ((options.minLevelDbov ?? -36) / 20);
    this.minPower = amp * amp; // mean square of a sine at that level is (amp·√2)²/2
    this.normalTwist = 10 ** ((options.normalTwistDb ?? 8) / 10);
    this.reverseTwist = 10 ** ((options.reverseTwistDb ?? 4) / 10);
  }

  /** Samples consumed so far (the time base of the events). */
  get position(): number {
    return this.samples;
  }

  /** Feeds PCM in blocks of any size; digits are reported through the callbacks. */
  process(pcm: Int16Array): void {
    const ring = this.ring;
    const block = this.block;
    for (let i = 0; i < pcm.length; i++) {
      ring[this.ringPos] = pcm[i];
      this.ringPos = this.ringPos + 1 === block ? 0 : this.ringPos + 1;
      this.samples++;
      if (++this.sinceHop === this.hop) {
        this.sinceHop = 0;
        // Before the first full block the ring's zeros stand for silence before the stream.
        this.decide(this.analyse(), this.samples - block);
      }
    }
  }

  /** Ends a digit still sounding (end of stream) so it is reported, and forgets the signal. */
  flush(): void {
    if (this.active >= 0) this.finish();
    this.runDigit = -1;
    this.runHits = 0;
    this.sinceHop = 0;
    this.ring.fill(0);
  }

  /** Forgets everything, including the time base. */
  reset(): void {
    this.active = -1;
    this.flush();
    this.samples = 0;
  }

  /**
   * Four Goertzel filters over the windowed block in one pass (independent recursions run in parallel on the CPU);
   * writes each bin's power, scaled to the mean square of the tone, to power[at..at+3].
   */
  private goertzel4(c0: number, c1: number, c2: number, c3: number, at: number): void {
    const x = this.windowed;
    let a1 = 0;
    let a2 = 0;
    let b1 = 0;
    let b2 = 0;
    let d1 = 0;
    let d2 = 0;
    let e1 = 0;
    let e2 = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const a0 = v + c0 * a1 - a2;
      const b0 = v + c1 * b1 - b2;
      const d0 = v + c2 * d1 - d2;
      const e0 = v + c3 * e1 - e2;
      a2 = a1;
      a1 = a0;
      b2 = b1;
      b1 = b0;
      d2 = d1;
      d1 = d0;
      e2 = e1;
      e1 = e0;
    }
    const p = this.power;
    const norm = this.norm;
    p[at] = (a1 * a1 + a2 * a2 - c0 * a1 * a2) * norm;
    p[at + 1] = (b1 * b1 + b2 * b2 - c1 * b1 * b2) * norm;
    p[at + 2] = (d1 * d1 + d2 * d2 - c2 * d1 * d2) * norm;
    p[at + 3] = (e1 * e1 + e2 * e2 - c3 * e1 * e2) * norm;
  }

  /** The digit index (0..15) this block shows, or -1. */
  private analyse(): number {
    const block = this.block;
    const half = block >> 1;
    let e = 0;
    let firstHalf = 0;
    let secondHalf = 0;
    for (let i = 0; i < block; i++) {
      let j = this.ringPos + i;
      if (j >= block) j -= block;
      const v = this.ring[j];
      const wv = v * this.window[i];
      this.windowed[i] = wv;
      e += wv * wv;
      if (i < half) firstHalf += v * v;
      else secondHalf += v * v;
    }
    const meanSquare = e / this.windowEnergy;
    if (meanSquare < 2 * this.minPower) return -1;
    // Steady over the block: refuses blocks the tone only partly fills, and most syllables.
    if (firstHalf > MAX_HALF_RATIO * secondHalf || secondHalf > MAX_HALF_RATIO * firstHalf) return -1;
    const c = this.coef;
    const power = this.power;
    this.goertzel4(c[0], c[1], c[2], c[3], 0);
    this.goertzel4(c[4], c[5], c[6], c[7], 4);
    let row = 0;
    let col = 4;
    for (let k = 1; k < 4; k++) if (power[k] > power[row]) row = k;
    for (let k = 5; k < 8; k++) if (power[k] > power[col]) col = k;
    const pr = this.power[row];
    const pc = this.power[col];
    if (pr < this.minPower || pc < this.minPower) return -1;
    if (pr > this.normalTwist * pc || pc > this.reverseTwist * pr) return -1;
    if (pr + pc < MIN_TONE_SHARE * meanSquare) return -1;
    // ITU-T Q.24 frequency tolerance: nearer the nominal frequency than 5 % off it.
    this.goertzel4(this.coefLow[row], this.coefHigh[row], this.coefLow[col], this.coefHigh[col], 8);
    if (power[8] > pr || power[9] > pr || power[10] > pc || power[11] > pc) return -1;
    // A row's second harmonic can sit within 100 Hz of a column tone (2 x 697 = 1394), inside the window's main
    // lobe; it is only checked when the column is clear of it. Column harmonics past Nyquist are not checked.
    this.goertzel4(this.coefHarmonic[row], this.coefHarmonic[col], 0, 0, 12);
    const rowHarmonic = 2 * DTMF_ROW_HZ[row];
    if (Math.abs(rowHarmonic - DTMF_COLUMN_HZ[col - 4]) > this.harmonicGuardHz && power[12] > MAX_HARMONIC * pr) {
      return -1;
    }
    if (2 * DTMF_COLUMN_HZ[col - 4] < this.sampleRate / 2 && power[13] > MAX_HARMONIC * pc) return -1;
    return row * 4 + (col - 4);
  }

  private decide(hit: number, blockStart: number): void {
    if (hit >= 0 && hit === this.runDigit) {
      this.runHits++;
    } else {
      this.runDigit = hit;
      this.runHits = hit >= 0 ? 1 : 0;
      this.runStart = blockStart;
    }
    if (this.active >= 0) {
      if (hit === this.active) {
        this.misses = 0;
        this.lastHitBlockStart = blockStart;
        return;
      }
      if (++this.misses < OFF_MISSES) return;
      this.finish();
    }
    if (this.runHits >= ON_HITS && this.runDigit >= 0) {
      // A hitting block is at least 3/4 full of tone, so the tone began about a quarter block after the first one.
      this.active = this.runDigit;
      this.activeStart = this.runStart + (this.block >> 2);
      this.lastHitBlockStart = blockStart;
      this.misses = 0;
      this.onDigitStart?.(DIGITS[this.active], this.activeStart);
    }
  }

  private finish(): void {
    const end = this.lastHitBlockStart + this.block - (this.block >> 2);
    const digit = DIGITS[this.active];
    const startSample = this.activeStart;
    this.active = -1;
    this.misses = 0;
    this.onDigit({ digit, startSample, durationSamples: Math.max(0, end - startSample) });
  }
}

export interface DtmfGeneratorOptions {
  sampleRate: number;
  /** Tone length per digit (default 100 ms). */
  onMs?: number;
  /** Silence after each digit (default 100 ms). */
  offMs?: number;
  /** Level of the row (low) tone in dBov (default -10). */
  levelDbov?: number;
  /** Column (high) tone level above the row tone in dB (default 0; transmitters often use +2). */
  twistDb?: number;
}

/**
 * Produces DTMF digits as PCM: queue digits with enqueue(), then pull frames with fill(). Oscillators use a phase
 * accumulator so frames of any size join without discontinuity.
 */
export class DtmfGenerator {
  readonly sampleRate: number;
  private readonly onSamples: number;
  private readonly offSamples: number;
  private readonly rowAmp: number;
  private readonly colAmp: number;
  private readonly queue: number[] = [];
  private current = -1;
  private pos = 0;
  private rowStep = 0;
  private colStep = 0;

  constructor(options: DtmfGeneratorOptions) {
    const rate = options.sampleRate;
    if (!Number.isInteger(rate) || rate < 8000 || rate > 48000) {
      throw new DspError('UNSUPPORTED_RATE', `DTMF generation at ${rate} Hz is not supported (8000..48000)`);
    }
    const onMs = options.onMs ?? 100;
    const offMs = options.offMs ?? 100;
    if (!(onMs > 0) || !(offMs >= 0) || onMs > 60000 || offMs > 60000) {
      throw new DspError('INVALID_ARGUMENT', `bad DTMF timing on ${onMs} ms off ${offMs} ms`);
    }
    const level = options.levelDbov ?? -10;
    const twist = options.twistDb ?? 0;
    const amp = (db: number): number => 32768 * Math.SQRT2 * 10 ** (db / 20);
    if (!(amp(level) + amp(level + twist) <= 32767)) {
      throw new DspError('INVALID_ARGUMENT', `DTMF level ${level} dBov with twist ${twist} dB would clip`);
    }
    this.sampleRate = rate;
    this.onSamples = Math.round((onMs * rate) / 1000);
    this.offSamples = Math.round((offMs * rate) / 1000);
    this.rowAmp = amp(level);
    this.colAmp = amp(level + twist);
  }

  /** Queues digits (0-9, A-D, *, #); anything else throws before any is queued. */
  enqueue(digits: string): void {
    const indices: number[] = [];
    for (const d of digits) {
      const i = DIGITS.indexOf(d.toUpperCase());
      if (i < 0) throw new DspError('INVALID_ARGUMENT', `'${d}' is not a DTMF digit`);
      indices.push(i);
    }
    this.queue.push(...indices);
  }

  /** Samples still to come for the queued digits. */
  get pendingSamples(): number {
    const per = this.onSamples + this.offSamples;
    return this.queue.length * per + (this.current >= 0 ? per - this.pos : 0);
  }

  /** Writes the next samples into `out`; returns how many belong to queued digits (the rest is zero-filled). */
  fill(out: Int16Array): number {
    let n = 0;
    const per = this.onSamples + this.offSamples;
    while (n < out.length) {
      if (this.current < 0) {
        const next = this.queue.shift();
        if (next === undefined) break;
        this.current = next;
        this.pos = 0;
        this.rowStep = (2 * Math.PI * DTMF_ROW_HZ[next >> 2]) / this.sampleRate;
        this.colStep = (2 * Math.PI * DTMF_COLUMN_HZ[next & 3]) / this.sampleRate;
      }
      while (n < out.length && this.pos < per) {
        if (this.pos < this.onSamples) {
          const v = this.rowAmp * Math.sin(this.rowStep * this.pos) + this.colAmp * Math.sin(this.colStep * this.pos);
          out[n] = v >= 32767 ? 32767 : v <= -32768 ? -32768 : Math.round(v);
        } else {
          out[n] = 0;
        }
        n++;
        this.pos++;
      }
      if (this.pos >= per) this.current = -1;
    }
    if (n < out.length) out.fill(0, n);
    return n;
  }
}

/** The PCM of a digit string, for tests and prompts; allocates the result. */
export function dtmfSamples(digits: string, options: DtmfGeneratorOptions): Int16Array {
  const g = new DtmfGenerator(options);
  g.enqueue(digits);
  const out = new Int16Array(g.pendingSamples);
  g.fill(out);
  return out;
}
