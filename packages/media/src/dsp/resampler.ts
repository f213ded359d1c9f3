// Streaming rational resampler: a polyphase FIR whose prototype is a Kaiser-windowed sinc, designed once per rate
// pair (and cached). Between 8, 16 and 48 kHz the ratio is 2, 3 or 6 either way; any other pair of integer rates
// works through L/M = to/from reduced by their gcd (e.g. a 44.1 kHz prompt to 8 kHz is 80/441).
//
// Design targets, checked by test/dsp/resampler.test.ts from the filter's own frequency response:
//   passband 0..3400 Hz (8 kHz side) or 0..0.875 x Nyquist (wider rates, 7000 Hz at 16 kHz), ripple < 0.1 dB;
//   stop band from the lower rate's Nyquist frequency up, attenuation > 60 dB (designed for 66 dB).
// Measured (test/dsp/resampler.test.ts computes the same): passband ripple 0.008 dB and stop band 65.4..66.2 dB on
// all six 8/16/48 kHz paths. Prototype lengths: 8<->16 kHz 110 taps, 8<->48 kHz 330, 16<->48 kHz 198, so an output
// sample costs 55 (8->16, 8->48) or 66 (16->48) multiply-adds; decimation folds its symmetric taps, 55 (16->8),
// 98 (48->16) or 163 (48->8). Speed (node 20 on the shared 2-core build box): about 110-140 ns per output
// sample upsampling, 180 (16->8), 310 (48->16) and 520 (48->8) ns per output sample decimating.

import { DspError } from './errors.js';

export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /**
   * Resamples `input` into `output` and returns how many samples were written. Keeps filter state across calls, so
   * a stream may be fed in blocks of any size. `output` must hold at least maxOutputLength(input.length), which is
   * ceil(input.length x toRate / fromRate); fewer free samples throws OUTPUT_TOO_SMALL before anything is consumed.
   */
  process(input: Int16Array, output: Int16Array): number;
  /** The output room process() needs for `inputLength` input samples. */
  maxOutputLength(inputLength: number): number;
  /** Group delay of the filter in output samples (a tone comes out this much later). */
  readonly delay: number;
  /** Forgets the signal history (a new stream starts). */
  reset(): void;
}

/** The prototype low-pass filter of a rate pair, at the upsampled rate fromRate x interpolation. */
export interface ResamplerDesign {
  readonly interpolation: number;
  readonly decimation: number;
  readonly upsampledRate: number;
  readonly passbandEdgeHz: number;
  readonly stopbandEdgeHz: number;
  readonly attenuationTargetDb: number;
  /** Prototype taps scaled so the DC gain is `interpolation` (zero stuffing divides it by that much). */
  readonly taps: Float64Array;
}

const ATTENUATION_DB = 66;
const MAX_INTERPOLATION = 1024;
const MIN_RATE = 1000;
const MAX_RATE = 384000;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast for Kaiser betas). */
export function besselI0(x: number): number {
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

function checkRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) {
    throw new DspError(
      'UNSUPPORTED_RATE',
      `sample rate ${rate} Hz is not supported (integer ${MIN_RATE}..${MAX_RATE})`,
    );
  }
}

const designs = new Map<string, ResamplerDesign>();

/** The filter createResampler uses for this rate pair (for tests and for anyone measuring it). */
export function resamplerDesign(fromRate: number, toRate: number): ResamplerDesign {
  checkRate(fromRate);
  checkRate(toRate);
  const key = `${fromRate}/${toRate}`;
  const cached = designs.get(key);
  if (cached) return cached;
  const g = gcd(fromRate, toRate);
  const interpolation = toRate / g;
  const decimation = fromRate / g;
  if (interpolation > MAX_INTERPOLATION) {
    throw new DspError('UNSUPPORTED_RATE', `resampling ${fromRate} Hz to ${toRate} Hz needs too fine a ratio`);
  }
  const upsampledRate = fromRate * interpolation;
  const nyquist = Math.min(fromRate, toRate) / 2;
  // 3.4 kHz is the top of the telephone band (ITU-T G.712); wider rates keep 87.5 % of their band (7 kHz at 16 kHz).
  const passbandEdgeHz = nyquist <= 4000 ? nyquist * 0.85 : nyquist * 0.875;
  const stopbandEdgeHz = nyquist;
  // Kaiser's formulas for the window length and shape (Oppenheim & Schafer, 7.6).
  const deltaOmega = (2 * Math.PI * (stopbandEdgeHz - passbandEdgeHz)) / upsampledRate;
  const beta = 0.1102 * (ATTENUATION_DB - 8.7);
  let length = Math.ceil((ATTENUATION_DB - 7.95) / (2.285 * deltaOmega)) + 1;
  // Whole taps per phase, so every polyphase branch has the same length.
  length = Math.ceil(length / interpolation) * interpolation;
  const cutoff = (passbandEdgeHz + stopbandEdgeHz) / 2 / upsampledRate; // cycles per upsampled sample
  const taps = new Float64Array(length);
  const centre = (length - 1) / 2;
  const i0Beta = besselI0(beta);
  let sum = 0;
  for (let n = 0; n < length; n++) {
    const t = n - centre;
    const x = 2 * Math.PI * cutoff * t;
    const sinc = t === 0 ? 2 * cutoff : Math.sin(x) / (Math.PI * t);
    const r = (2 * n) / (length - 1) - 1;
    const w = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    taps[n] = sinc * w;
    sum += taps[n];
  }
  for (let n = 0; n < length; n++) taps[n] *= interpolation / sum;
  const design: ResamplerDesign = {
    interpolation,
    decimation,
    upsampledRate,
    passbandEdgeHz,
    stopbandEdgeHz,
    attenuationTargetDb: ATTENUATION_DB,
    taps,
  };
  designs.set(key, design);
  return design;
}

class PassThroughResampler implements Resampler {
  readonly delay = 0;
  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {}
  process(input: Int16Array, output: Int16Array): number {
    if (output.length < input.length) throw tooSmall(input.length, output.length);
    output.set(input);
    return input.length;
  }
  maxOutputLength(inputLength: number): number {
    return inputLength;
  }
  reset(): void {}
}

function tooSmall(need: number, have: number): DspError {
  return new DspError('OUTPUT_TOO_SMALL', `resampler output holds ${have} samples, ${need} needed`);
}

class PolyphaseResampler implements Resampler {
  readonly delay: number;
  private readonly phases: number; // L
  private readonly step: number; // M
  private readonly tapsPerPhase: number; // K
  private readonly folded: boolean;
  /** Branch p holds taps p, p + L, p + 2L ... so that branch p times the newest-first history is one output. */
  private readonly branches: Float64Array;
  /** The last K inputs twice over (newest first from `head`), so each dot product reads one contiguous run. */
  private readonly history: Float64Array;
  private head = 0;
  private phase = 0;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    const d = resamplerDesign(fromRate, toRate);
    const L = d.interpolation;
    const taps = d.taps.length / L;
    // Branches padded with zero taps to a multiple of 4, so the dot product runs four accumulators. Pure decimation
    // (L = 1) keeps the exact length instead: its one branch is the symmetric prototype, folded to halve the work.
    this.folded = L === 1;
    const K = this.folded ? taps : Math.ceil(taps / 4) * 4;
    this.phases = L;
    this.step = d.decimation;
    this.tapsPerPhase = K;
    this.branches = new Float64Array(L * K);
    for (let p = 0; p < L; p++) for (let k = 0; k < taps; k++) this.branches[p * K + k] = d.taps[p + k * L];
    this.history = new Float64Array(2 * K);
    this.delay = (d.taps.length - 1) / 2 / d.decimation;
  }

  maxOutputLength(inputLength: number): number {
    return Math.ceil((inputLength * this.phases) / this.step);
  }

  process(input: Int16Array, output: Int16Array): number {
    const need = this.maxOutputLength(input.length);
    if (output.length < need) throw tooSmall(need, output.length);
    const L = this.phases;
    const M = this.step;
    const K = this.tapsPerPhase;
    const branches = this.branches;
    const hist = this.history;
    let head = this.head;
    let phase = this.phase;
    let written = 0;
    for (let i = 0; i < input.length; i++) {
      head = head === 0 ? K - 1 : head - 1;
      const x = input[i];
      hist[head] = x;
      hist[head + K] = x;
      // Every output whose upsampled time falls on this input's interval (phase counts in 1/L input periods).
      if (this.folded) {
        // L = 1: one output every M inputs, phase counting down to it.
        if (phase === 0) {
          output[written++] = this.foldedDot(head);
          phase = M;
        }
        phase--;
        continue;
      }
      while (phase < L) {
        const base = phase * K;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let k = 0; k < K; k += 4) {
          a0 += branches[base + k] * hist[head + k];
          a1 += branches[base + k + 1] * hist[head + k + 1];
          a2 += branches[base + k + 2] * hist[head + k + 2];
          a3 += branches[base + k + 3] * hist[head + k + 3];
        }
        const acc = a0 + a1 + a2 + a3;
        output[written++] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc);
        phase += M;
      }
      phase -= L;
    }
    this.head = head;
    this.phase = phase;
    return written;
  }

  /** The symmetric prototype against the newest-first history from `head`, each tap pair multiplied once. */
  private foldedDot(head: number): number {
    const h = this.branches;
    const x = this.history;
    const n = this.tapsPerPhase;
    const half = n >> 1;
    const last = head + n - 1;
    let a0 = 0;
    let a1 = 0;
    let k = 0;
    for (; k + 1 < half; k += 2) {
      a0 += h[k] * (x[head + k] + x[last - k]);
      a1 += h[k + 1] * (x[head + k + 1] + x[last - k - 1]);
    }
    if (k < half) a0 += h[k] * (x[head + k] + x[last - k]);
    if (n & 1) a1 += h[half] * x[head + half];
    const acc = a0 + a1;
    return acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc);
  }

  reset(): void {
    this.history.fill(0);
    this.head = 0;
    this.phase = 0;
  }
}

/**
 * A streaming resampler from `fromRate` to `toRate` (Hz). Same rates give a copying pass-through. Throws
 * DspError UNSUPPORTED_RATE for rates outside 1000..384000 Hz or ratios finer than 1024/M.
 */
export function createResampler(fromRate: number, toRate: number): Resampler {
  checkRate(fromRate);
  checkRate(toRate);
  if (fromRate === toRate) return new PassThroughResampler(fromRate, toRate);
  return new PolyphaseResampler(fromRate, toRate);
}

/**
 * Resamples a whole buffer (a prompt file) in one go, compensating the filter delay so the result lines up with the
 * input and holds round(length x toRate / fromRate) samples; allocates the result.
 */
export function resampleAll(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  const r = createResampler(fromRate, toRate);
  if (fromRate === toRate) return input.slice();
  const wanted = Math.round((input.length * toRate) / fromRate);
  const skip = Math.round(r.delay);
  const flushIn = Math.ceil(((skip + 2) * fromRate) / toRate) + 1;
  const out = new Int16Array(r.maxOutputLength(input.length) + r.maxOutputLength(flushIn));
  let n = r.process(input, out);
  n += r.process(new Int16Array(flushIn), out.subarray(n));
  return out.slice(skip, Math.min(n, skip + wanted));
}
