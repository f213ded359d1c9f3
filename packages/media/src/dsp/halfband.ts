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
import type { Resampler } from './resampler.js';

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

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
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

function clampRound(acc: number): number {
  return acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc);
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
  private readonly history: Float64Array;
  private head = 0;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    const d = halfbandDesign(fromRate);
    const { half, branch } = foldedBranch(d, 2); // zero stuffing halves the gain
    this.half = half;
    this.branch = branch;
    this.centreDelay = (branch - 2) / 2;
    this.history = new Float64Array(2 * branch);
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
    const hist = this.history;
    const mid = this.centreDelay;
    let head = this.head;
    let w = 0;
    for (let i = 0; i < n; i++) {
      head = head === 0 ? K - 1 : head - 1;
      const x = input[i];
      hist[head] = x;
      hist[head + K] = x;
      const last = head + K - 1;
      let a0 = 0;
      let a1 = 0;
      let j = 0;
      for (; j + 1 < pairs; j += 2) {
        a0 += g[j] * (hist[head + j] + hist[last - j]);
        a1 += g[j + 1] * (hist[head + j + 1] + hist[last - j - 1]);
      }
      if (j < pairs) a0 += g[j] * (hist[head + j] + hist[last - j]);
      output[w] = clampRound(a0 + a1);
      output[w + 1] = hist[head + mid];
      w += 2;
    }
    this.head = head;
    return w;
  }

  reset(): void {
    this.history.fill(0);
    this.head = 0;
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
  private readonly even: Float64Array;
  private readonly odd: Float64Array;
  private evenHead = 0;
  private oddHead = 0;
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
    this.even = new Float64Array(2 * branch);
    this.odd = new Float64Array(2 * (this.centreDelay + 1));
    this.delay = (d.taps.length - 1) / 2 / 2;
  }

  maxOutputLength(inputLength: number): number {
    return Math.ceil(inputLength / 2);
  }

  process(input: Int16Array, output: Int16Array): number {
    const n = input.length;
    const need = this.nextIsEven ? (n + 1) >> 1 : n >> 1;
    if (output.length < need) throw tooSmall(need, output.length);
    const K = this.branch;
    const g = this.half;
    const pairs = g.length;
    const even = this.even;
    const odd = this.odd;
    const O = this.centreDelay + 1;
    const mid = this.centreDelay;
    let eh = this.evenHead;
    let oh = this.oddHead;
    let isEven = this.nextIsEven;
    let w = 0;
    for (let i = 0; i < n; i++) {
      const x = input[i];
      if (!isEven) {
        oh = oh === 0 ? O - 1 : oh - 1;
        odd[oh] = x;
        odd[oh + O] = x;
        isEven = true;
        continue;
      }
      isEven = false;
      eh = eh === 0 ? K - 1 : eh - 1;
      even[eh] = x;
      even[eh + K] = x;
      const last = eh + K - 1;
      let a0 = 0.5 * odd[oh + mid];
      let a1 = 0;
      let j = 0;
      for (; j + 1 < pairs; j += 2) {
        a0 += g[j] * (even[eh + j] + even[last - j]);
        a1 += g[j + 1] * (even[eh + j + 1] + even[last - j - 1]);
      }
      if (j < pairs) a0 += g[j] * (even[eh + j] + even[last - j]);
      output[w++] = clampRound(a0 + a1);
    }
    this.evenHead = eh;
    this.oddHead = oh;
    this.nextIsEven = isEven;
    return w;
  }

  reset(): void {
    this.even.fill(0);
    this.odd.fill(0);
    this.evenHead = 0;
    this.oddHead = 0;
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
