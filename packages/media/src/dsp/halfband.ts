// Exact 2:1 and 1:2 resampling (8 <-> 16 kHz in the engine's transcoding bridges and conference seats) with a
// half-band FIR: a Kaiser-windowed sinc cut at a quarter of the upsampled rate, so every second tap off the centre
// is zero. Upsampling then costs one copy for one output phase and a folded symmetric sum for the other;
// decimating, only the even-indexed samples meet non-zero taps. About a quarter of the multiplies of the
// general polyphase resampler (resampler.ts) for the same stop-band attenuation.
//
// The price is the transition band, which a half-band filter centres on the lower rate's Nyquist frequency:
// passband 0..0.85 x that Nyquist (3400 Hz for 8 kHz), stop band from 1.15 x (4600 Hz) up, -6 dB at 4000 Hz.
// That is the shape of ITU-T G.712's band-limiting mask above 4.6 kHz (what an 8 kHz telephone channel keeps is
// 300..3400 Hz), but not its 14 dB at 4 kHz: what a 16 kHz source has between 4000 and 4600 Hz folds into
// 3400..4000 Hz, outside the telephone band, partly attenuated. Measured by test/dsp/halfband.test.ts from the
// filter's own response: 55 taps, passband ripple 0.005 dB, stop band 64.2 dB from 4600 Hz.
import { DspError } from './errors.js';
import { besselI0, type Resampler } from './resampler.js';

const ATTENUATION_DB = 66;
const PASSBAND_FRACTION = 0.85;

/** The prototype of a half-band 2x filter at the upsampled rate (DC gain 1; the centre tap is exactly 1/2). */
export interface HalfbandDesign {
  /** The upsampled (higher) rate the taps run at. */
  readonly rate: number;
  readonly passbandEdgeHz: number;
  readonly stopbandEdgeHz: number;
  /** All taps, 4k+3 of them; taps at an even distance from the centre (other than the centre) are zero. */
  readonly taps: Float64Array;
}

const designs = new Map<number, HalfbandDesign>();

/** The half-band filter between `lowRate` and twice that rate. */
export function halfbandDesign(lowRate: number): HalfbandDesign {
  const cached = designs.get(lowRate);
  if (cached) return cached;
  const rate = 2 * lowRate;
  const nyquist = lowRate / 2;
  const passbandEdgeHz = nyquist * PASSBAND_FRACTION;
  const stopbandEdgeHz = lowRate - passbandEdgeHz;
  // Kaiser's length and shape formulas (Oppenheim & Schafer 7.6), length rounded up to 4k+3 so that both ends
  // are non-zero taps.
  const deltaOmega = (2 * Math.PI * (stopbandEdgeHz - passbandEdgeHz)) / rate;
  const beta = 0.1102 * (ATTENUATION_DB - 8.7);
  const minLength = Math.ceil((ATTENUATION_DB - 7.95) / (2.285 * deltaOmega)) + 1;
  const length = Math.ceil((minLength - 3) / 4) * 4 + 3;
  const centre = (length - 1) / 2;
  const taps = new Float64Array(length);
  const i0Beta = besselI0(beta);
  let side = 0;
  for (let n = 0; n < length; n++) {
    const t = n - centre;
    if (t === 0 || t % 2 === 0) continue; // half-band: zero at even distances from the centre
    const r = (2 * n) / (length - 1) - 1;
    const w = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    taps[n] = (Math.sin((Math.PI * t) / 2) / (Math.PI * t)) * w;
    side += taps[n];
  }
  // The centre is 1/2 and the others sum to 1/2: each polyphase branch has gain 1/2, so DC passes unchanged.
  for (let n = 0; n < length; n++) taps[n] *= 0.5 / side;
  taps[centre] = 0.5;
  const design = { rate, passbandEdgeHz, stopbandEdgeHz, taps };
  designs.set(lowRate, design);
  return design;
}

function tooSmall(need: number, have: number): DspError {
  return new DspError('OUTPUT_TOO_SMALL', `resampler output holds ${have} samples, ${need} needed`);
}

/** Saturates and rounds half up; in range, acc + 32768.5 > 0, so truncating it is Math.round without the call. */
function clampRound(acc: number): number {
  return acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : ((acc + 32768.5) | 0) - 32768;
}

/** A linear work buffer: the filter's history (oldest first) followed by this call's input, grown on demand. */
function ensureWork(work: Float64Array, keep: number, need: number): Float64Array {
  if (work.length >= need) return work;
  const grown = new Float64Array(need);
  grown.set(work.subarray(0, keep));
  return grown;
}

/** The odd-offset taps h[0], h[2], ... h[2K-2] (the branch that is not the centre), first half (symmetric). */
function foldedBranch(d: HalfbandDesign, scale: number): { half: Float64Array; branch: number } {
  const branch = (d.taps.length + 1) / 2; // K non-zero taps in the branch
  const half = new Float64Array(branch / 2);
  for (let j = 0; j < half.length; j++) half[j] = d.taps[2 * j] * scale;
  return { half, branch };
}

/** 1:2. Per input x[m]: y[2m] = 2 sum h[2j] x[m-j] (folded), y[2m+1] = x[m-D], D = (K - 2) / 2. */
class HalfbandInterpolator implements Resampler {
  readonly delay: number;
  private readonly half: Float64Array;
  private readonly branch: number;
  private readonly centreDelay: number;
  // x[0 .. K-2] holds the last K-1 inputs (oldest first), then each call's input follows: the taps run over a
  // plain window with no ring-buffer index arithmetic, and the history moves back once per call.
  private work: Float64Array;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    const d = halfbandDesign(fromRate);
    const { half, branch } = foldedBranch(d, 2); // zero stuffing halves the gain
    this.half = half;
    this.branch = branch;
    this.centreDelay = (branch - 2) / 2;
    this.work = new Float64Array(branch - 1 + 320);
    this.delay = (d.taps.length - 1) / 2;
  }

  maxOutputLength(inputLength: number): number {
    return 2 * inputLength;
  }

  process(input: Int16Array, output: Int16Array): number {
    const n = input.length;
    if (output.length < 2 * n) throw tooSmall(2 * n, output.length);
    const K = this.branch;
    const g = this.half;
    const pairs = g.length;
    const mid = this.centreDelay;
    this.work = ensureWork(this.work, K - 1, K - 1 + n);
    const x = this.work;
    for (let i = 0; i < n; i++) x[K - 1 + i] = input[i];
    // Input i's window is x[i .. i+K-1]. Four outputs per pass share each coefficient load.
    let w = 0;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const last = i + K - 1;
      let a = 0;
      let b = 0;
      let c = 0;
      let d = 0;
      for (let j = 0; j < pairs; j++) {
        const h = g[j];
        a += h * (x[i + j] + x[last - j]);
        b += h * (x[i + 1 + j] + x[last + 1 - j]);
        c += h * (x[i + 2 + j] + x[last + 2 - j]);
        d += h * (x[i + 3 + j] + x[last + 3 - j]);
      }
      output[w] = clampRound(a);
      output[w + 1] = x[last - mid];
      output[w + 2] = clampRound(b);
      output[w + 3] = x[last + 1 - mid];
      output[w + 4] = clampRound(c);
      output[w + 5] = x[last + 2 - mid];
      output[w + 6] = clampRound(d);
      output[w + 7] = x[last + 3 - mid];
      w += 8;
    }
    for (; i < n; i++) {
      const last = i + K - 1;
      let a = 0;
      for (let j = 0; j < pairs; j++) a += g[j] * (x[i + j] + x[last - j]);
      output[w] = clampRound(a);
      output[w + 1] = x[last - mid];
      w += 2;
    }
    x.copyWithin(0, n, n + K - 1);
    return w;
  }

  reset(): void {
    this.work.fill(0);
  }
}

/**
 * 2:1. Output y[m] = 1/2 v[2m-c] + sum h[2j] v[2m-2j] (c the centre): even-indexed inputs go through the folded
 * branch, odd-indexed ones only feed the centre tap.
 */
class HalfbandDecimator implements Resampler {
  readonly delay: number;
  private readonly half: Float64Array;
  private readonly branch: number;
  private readonly centreDelay: number;
  // Linear work buffers as in the interpolator: `even` starts with the last K-1 even-indexed inputs, `odd` with
  // the last centreDelay+1 odd-indexed ones (oldest first); each call's samples are dealt out after them.
  private even: Float64Array;
  private odd: Float64Array;
  private nextIsEven = true;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    const d = halfbandDesign(toRate);
    const { half, branch } = foldedBranch(d, 1);
    this.half = half;
    this.branch = branch;
    this.centreDelay = (branch - 2) / 2;
    this.even = new Float64Array(branch - 1 + 160);
    this.odd = new Float64Array(this.centreDelay + 1 + 160);
    this.delay = (d.taps.length - 1) / 2 / 2;
  }

  maxOutputLength(inputLength: number): number {
    return Math.ceil(inputLength / 2);
  }

  process(input: Int16Array, output: Int16Array): number {
    const n = input.length;
    const startsEven = this.nextIsEven;
    const need = startsEven ? (n + 1) >> 1 : n >> 1;
    if (output.length < need) throw tooSmall(need, output.length);
    const K = this.branch;
    const g = this.half;
    const pairs = g.length;
    const H = this.centreDelay + 1;
    const odds = n - need;
    this.even = ensureWork(this.even, K - 1, K - 1 + need);
    this.odd = ensureWork(this.odd, H, H + odds);
    const even = this.even;
    const odd = this.odd;
    let e = K - 1;
    let o = H;
    let isEven = startsEven;
    for (let i = 0; i < n; i++) {
      if (isEven) even[e++] = input[i];
      else odd[o++] = input[i];
      isEven = !isEven;
    }
    this.nextIsEven = isEven;
    // Output t: the even window even[t .. t+K-1] and, on the centre tap, the odd input centreDelay before the
    // newest one that preceded it: odd[t + s], s = 1 when this call began with an odd-indexed input.
    const s = startsEven ? 0 : 1;
    let t = 0;
    for (; t + 3 < need; t += 4) {
      const last = t + K - 1;
      let a = 0.5 * odd[t + s];
      let b = 0.5 * odd[t + 1 + s];
      let c = 0.5 * odd[t + 2 + s];
      let d = 0.5 * odd[t + 3 + s];
      for (let j = 0; j < pairs; j++) {
        const h = g[j];
        a += h * (even[t + j] + even[last - j]);
        b += h * (even[t + 1 + j] + even[last + 1 - j]);
        c += h * (even[t + 2 + j] + even[last + 2 - j]);
        d += h * (even[t + 3 + j] + even[last + 3 - j]);
      }
      output[t] = clampRound(a);
      output[t + 1] = clampRound(b);
      output[t + 2] = clampRound(c);
      output[t + 3] = clampRound(d);
    }
    for (; t < need; t++) {
      const last = t + K - 1;
      let a = 0.5 * odd[t + s];
      for (let j = 0; j < pairs; j++) a += g[j] * (even[t + j] + even[last - j]);
      output[t] = clampRound(a);
    }
    even.copyWithin(0, need, need + K - 1);
    odd.copyWithin(0, odds, odds + H);
    return need;
  }

  reset(): void {
    this.even.fill(0);
    this.odd.fill(0);
    this.nextIsEven = true;
  }
}

/**
 * A streaming half-band resampler between a rate and exactly twice it (either way). Throws DspError
 * UNSUPPORTED_RATE for any other pair.
 */
export function createHalfbandResampler(fromRate: number, toRate: number): Resampler {
  const ok = (r: number): boolean => Number.isInteger(r) && r >= 1000 && r <= 384000;
  if (ok(fromRate) && toRate === 2 * fromRate) return new HalfbandInterpolator(fromRate, toRate);
  if (ok(toRate) && fromRate === 2 * toRate) return new HalfbandDecimator(fromRate, toRate);
  throw new DspError('UNSUPPORTED_RATE', `a half-band resampler needs a 2:1 ratio, not ${fromRate} to ${toRate} Hz`);
}
