// ITU-T G.722 7 kHz audio coding within 64 kbit/s: sub-band ADPCM (clause 3 / 4 of the Recommendation).
// The transmit/receive QMF (clause 3.1 / 4.4), the 6-bit lower-band and 2-bit higher-band ADPCM coders with their
// log-domain scale factor adaptation (blocks 1-3) and the shared pole/zero predictor (block 4), and the 56/48 kbit/s
// lower-band inverse quantizers of the decoder (clause 4.2). State lives in preallocated integer fields and
// typed arrays: no allocation per sample.
import type { AudioDecoder, AudioEncoder } from './codec.js';
import { CodecBufferError, UnsupportedCodecError } from './errors.js';

// The QMF coefficients h0..h11 of Table 11/G.722 (symmetric, scaled by 2^13: 3, -11, 12, 32, -210, 951, 3876,
// -805, 362, -156, 53, -11) are written out as constants in the polyphase sums below.

// Lower-band 6-bit quantizer decision levels (Table 6, times 2^12 / det) and the code for each interval.
const Q6 = Int32Array.of(
  0,
  35,
  72,
  110,
  150,
  190,
  233,
  276,
  323,
  370,
  422,
  473,
  530,
  587,
  650,
  714,
  786,
  858,
  940,
  1023,
  1121,
  1219,
  1339,
  1458,
  1612,
  1765,
  1980,
  2195,
  2557,
  2919,
  0,
  0,
);
// For each value v below Q6[29], the first interval i (1..29) with Q6[i] > v: the quantizer's starting guess.
const Q6_FLOOR_LIMIT = 2919;
const Q6_FLOOR = new Uint8Array(Q6_FLOOR_LIMIT);
for (let v = 0, i = 1; v < Q6_FLOOR_LIMIT; v++) {
  while (Q6[i] <= v) i++;
  Q6_FLOOR[v] = i;
}
const ILN = Int32Array.of(
  0,
  63,
  62,
  31,
  30,
  29,
  28,
  27,
  26,
  25,
  24,
  23,
  22,
  21,
  20,
  19,
  18,
  17,
  16,
  15,
  14,
  13,
  12,
  11,
  10,
  9,
  8,
  7,
  6,
  5,
  4,
  0,
);
const ILP = Int32Array.of(
  0,
  61,
  60,
  59,
  58,
  57,
  56,
  55,
  54,
  53,
  52,
  51,
  50,
  49,
  48,
  47,
  46,
  45,
  44,
  43,
  42,
  41,
  40,
  39,
  38,
  37,
  36,
  35,
  34,
  33,
  32,
  0,
);
// ILP then ILN: indexed by interval + 32 when the difference is negative.
const IL_BY_SIGN = Int32Array.from([...ILP, ...ILN]);
// Inverse quantizer outputs for 4, 5 and 6 bits (Table 7), 2^15 scale.
const QM4 = Int32Array.of(
  0,
  -20456,
  -12896,
  -8968,
  -6288,
  -4240,
  -2584,
  -1200,
  20456,
  12896,
  8968,
  6288,
  4240,
  2584,
  1200,
  0,
);
const QM5 = Int32Array.of(
  -280,
  -280,
  -23352,
  -17560,
  -14120,
  -11664,
  -9752,
  -8184,
  -6864,
  -5712,
  -4696,
  -3784,
  -2960,
  -2208,
  -1520,
  -880,
  23352,
  17560,
  14120,
  11664,
  9752,
  8184,
  6864,
  5712,
  4696,
  3784,
  2960,
  2208,
  1520,
  880,
  280,
  -280,
);
const QM6 = Int32Array.of(
  -136,
  -136,
  -136,
  -136,
  -24808,
  -21904,
  -19008,
  -16704,
  -14984,
  -13512,
  -12280,
  -11192,
  -10232,
  -9360,
  -8576,
  -7856,
  -7192,
  -6576,
  -6000,
  -5456,
  -4944,
  -4464,
  -4008,
  -3576,
  -3168,
  -2776,
  -2400,
  -2032,
  -1688,
  -1360,
  -1040,
  -728,
  24808,
  21904,
  19008,
  16704,
  14984,
  13512,
  12280,
  11192,
  10232,
  9360,
  8576,
  7856,
  7192,
  6576,
  6000,
  5456,
  4944,
  4464,
  4008,
  3576,
  3168,
  2776,
  2400,
  2032,
  1688,
  1360,
  1040,
  728,
  432,
  136,
  -432,
  -136,
);
// Log scale factor multipliers (Table 8 lower band via RIL -> IL4, Table 10 higher band).
const RL42 = Int32Array.of(0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0);
const WL = Int32Array.of(-60, -30, 58, 172, 334, 538, 1198, 3042);
const WL_BY_RIL = Int32Array.from(RL42, (il4) => WL[il4]);
// Inverse log2 table for the scale factor (Table 9).
const ILB = Int32Array.of(
  2048,
  2093,
  2139,
  2186,
  2233,
  2282,
  2332,
  2383,
  2435,
  2489,
  2543,
  2599,
  2656,
  2714,
  2774,
  2834,
  2896,
  2960,
  3025,
  3091,
  3158,
  3228,
  3298,
  3371,
  3444,
  3520,
  3597,
  3676,
  3756,
  3838,
  3922,
  4008,
);
// Higher band: 2-bit quantizer codes, inverse quantizer (Table 5), scale factor multipliers.
const IHN = Int32Array.of(0, 1, 0);
const IHP = Int32Array.of(0, 3, 2);
const IH_BY_SIGN = Int32Array.of(IHP[0], IHP[1], IHP[2], 0, IHN[0], IHN[1], IHN[2], 0);
const QM2 = Int32Array.of(-7408, -1616, 7408, 1616);
const RH2 = Int32Array.of(2, 1, 2, 1);
const WH = Int32Array.of(0, -214, 798);
const WH_BY_IH = Int32Array.from(RH2, (ih2) => WH[ih2]);

/**
 * One sub-band's ADPCM state (G.722 clause 3.6 variables). Plain integer fields rather than a typed array: V8 keeps
 * them as small integers in the object, with no bounds checks on the hot path.
 */
class SubbandState {
  s = 0; // predicted signal
  sz = 0; // zero-section prediction
  r1 = 0; // reconstructed signal r(n-1), doubled and saturated as FILTEP uses it
  a1 = 0; // pole coefficients
  a2 = 0;
  p1 = 0; // partial reconstructed p(n-1), p(n-2)
  p2 = 0;
  // Quantized differences d(n-1)..d(n-6), kept doubled and saturated as FILTEZ uses them (computed once instead
  // of at each of the six positions); UPZERO needs only their signs, which doubling keeps.
  d1 = 0;
  d2 = 0;
  d3 = 0;
  d4 = 0;
  d5 = 0;
  d6 = 0;
  b1 = 0; // zero coefficients
  b2 = 0;
  b3 = 0;
  b4 = 0;
  b5 = 0;
  b6 = 0;
  nb = 0; // log scale factor
  det: number;
  private readonly initialDet: number;

  constructor(initialDet: number) {
    this.initialDet = initialDet;
    this.det = initialDet;
  }

  copyFrom(o: SubbandState): void {
    this.s = o.s;
    this.sz = o.sz;
    this.r1 = o.r1;
    this.a1 = o.a1;
    this.a2 = o.a2;
    this.p1 = o.p1;
    this.p2 = o.p2;
    this.d1 = o.d1;
    this.d2 = o.d2;
    this.d3 = o.d3;
    this.d4 = o.d4;
    this.d5 = o.d5;
    this.d6 = o.d6;
    this.b1 = o.b1;
    this.b2 = o.b2;
    this.b3 = o.b3;
    this.b4 = o.b4;
    this.b5 = o.b5;
    this.b6 = o.b6;
    this.nb = o.nb;
    this.det = o.det;
  }

  reset(): void {
    this.s = this.sz = this.r1 = this.a1 = this.a2 = this.p1 = this.p2 = 0;
    this.d1 = this.d2 = this.d3 = this.d4 = this.d5 = this.d6 = 0;
    this.b1 = this.b2 = this.b3 = this.b4 = this.b5 = this.b6 = 0;
    this.nb = 0;
    this.det = this.initialDet;
  }
}

function sat16(x: number): number {
  if (x > 32767) return 32767;
  if (x < -32768) return -32768;
  return x;
}

/**
 * Block 4 (clause 3.6): reconstruction, pole/zero coefficient adaptation and the next prediction of one band.
 * Negations are written `0 - x` so a zero never becomes -0, which would push V8 off its integer fast path.
 */
function adaptPredictor(st: SubbandState, d: number): void {
  // Sign tests are written as masks, (u ^ v) >> 31 being -1 when u and v differ in sign and 0 when they agree
  // (all values here are within 16 bits): the signs of speech and noise are unpredictable, and a mispredicted
  // branch costs more than the arithmetic. Each mask line says which RECOMMENDATION choice it makes.
  // RECONS and PARREC
  const r0 = sat16(st.s + d);
  const p0 = sat16(st.sz + d);
  const p1 = st.p1;
  const differ1 = (p0 ^ p1) >> 31; // SG0 != SG1
  const differ2 = (p0 ^ st.p2) >> 31; // SG0 != SG2
  const a1 = st.a1;
  const a2 = st.a2;
  // UPPOL2: WA1 = sat(4 a1), negated when SG0 == SG1 (the mask ~differ1 is -1 then)
  const w1 = sat16(a1 << 2);
  const same1 = ~differ1;
  let w2 = (w1 ^ same1) - same1;
  if (w2 > 32767) w2 = 32767;
  // + 128 when SG0 == SG2, else -128
  let ap2 = (w2 >> 7) + (128 + (differ2 & -256)) + ((a2 * 32512) >> 15);
  if (ap2 > 12288) ap2 = 12288;
  else if (ap2 < -12288) ap2 = -12288;
  // UPPOL1: + 192 when SG0 == SG1, else -192
  // |a1| <= 27648 and |a2| <= 12288 after the limits below, so these two sums cannot leave 16 bits.
  let ap1 = 192 + (differ1 & -384) + ((a1 * 32640) >> 15);
  const lim = 15360 - ap2;
  if (ap1 > lim) ap1 = lim;
  else if (ap1 < 0 - lim) ap1 = 0 - lim;
  // UPZERO (no limiting needed: the 32640/32768 leak keeps |b| <= 32767 with steps of 128): +128 where d(n-i)
  // has the sign of d(n), -128 where not, 0 when d(n) = 0. Then DELAYA shifts d so that FILTEZ sums
  // b_i * d(n+1-i) with d(n) first.
  const step = ((d | (0 - d)) >> 31) & 128; // 0 when d(n) = 0
  const d1 = st.d1;
  const d2 = st.d2;
  const d3 = st.d3;
  const d4 = st.d4;
  const d5 = st.d5;
  const m1 = (d1 ^ d) >> 31;
  const m2 = (d2 ^ d) >> 31;
  const m3 = (d3 ^ d) >> 31;
  const m4 = (d4 ^ d) >> 31;
  const m5 = (d5 ^ d) >> 31;
  const m6 = (st.d6 ^ d) >> 31;
  const b1 = (step ^ m1) - m1 + ((st.b1 * 32640) >> 15);
  const b2 = (step ^ m2) - m2 + ((st.b2 * 32640) >> 15);
  const b3 = (step ^ m3) - m3 + ((st.b3 * 32640) >> 15);
  const b4 = (step ^ m4) - m4 + ((st.b4 * 32640) >> 15);
  const b5 = (step ^ m5) - m5 + ((st.b5 * 32640) >> 15);
  const b6 = (step ^ m6) - m6 + ((st.b6 * 32640) >> 15);
  st.b1 = b1;
  st.b2 = b2;
  st.b3 = b3;
  st.b4 = b4;
  st.b5 = b5;
  st.b6 = b6;
  const dd = sat16(d + d);
  st.d1 = dd;
  st.d2 = d1;
  st.d3 = d2;
  st.d4 = d3;
  st.d5 = d4;
  st.d6 = d5;
  const sz = sat16(
    ((b1 * dd) >> 15) +
      ((b2 * d1) >> 15) +
      ((b3 * d2) >> 15) +
      ((b4 * d3) >> 15) +
      ((b5 * d4) >> 15) +
      ((b6 * d5) >> 15),
  );
  // DELAYA for the pole section
  const rr1 = st.r1;
  const rr0 = sat16(r0 + r0);
  st.r1 = rr0;
  st.p2 = p1;
  st.p1 = p0;
  st.a1 = ap1;
  st.a2 = ap2;
  // FILTEP and PREDIC
  const sp = sat16(((ap1 * rr0) >> 15) + ((ap2 * rr1) >> 15));
  st.sz = sz;
  st.s = sat16(sp + sz);
}

/** Blocks 3L (LOGSCL, SCALEL): lower-band scale factor adaptation from the 4-bit code. */
function adaptLowScale(st: SubbandState, ril: number): void {
  let nb = ((st.nb * 127) >> 7) + WL_BY_RIL[ril];
  if (nb < 0) nb = 0;
  else if (nb > 18432) nb = 18432;
  st.nb = nb;
  const shift = 8 - (nb >> 11);
  const v = ILB[(nb >> 6) & 31];
  st.det = (shift < 0 ? v << (0 - shift) : v >> shift) << 2;
}

/** Blocks 3H (LOGSCH, SCALEH): higher-band scale factor adaptation. */
function adaptHighScale(st: SubbandState, ih: number): void {
  let nb = ((st.nb * 127) >> 7) + WH_BY_IH[ih];
  if (nb < 0) nb = 0;
  else if (nb > 22528) nb = 22528;
  st.nb = nb;
  const shift = 10 - (nb >> 11);
  const v = ILB[(nb >> 6) & 31];
  st.det = (shift < 0 ? v << (0 - shift) : v >> shift) << 2;
}

/** Lower-band encoder (blocks 1L-4L) on one sub-band sample; returns I_L. */
function encodeLowBand(st: SubbandState, xl: number): number {
  const el = sat16(xl - st.s);
  const sign = el >> 31; // -1 when negative
  const wd = el ^ sign; // el >= 0 ? el : -1 - el
  const det = st.det;
  // QUANTL: the first interval i (1..29) whose upper decision level exceeds |el|, else 30. If wd < (Q6[i] * det)
  // >> 12 then Q6[i] > wd * 4096 / det, so the first level above that ratio is a lower bound on i; a step or two of
  // the Recommendation's exact test from there finds the same interval as its linear scan.
  const ratio = ((wd * 4096) / det) | 0;
  let lo = ratio >= Q6_FLOOR_LIMIT ? 30 : Q6_FLOOR[ratio];
  while (lo < 30 && wd >= (Q6[lo] * det) >> 12) lo++;
  const il = IL_BY_SIGN[lo + (sign & 32)]; // ILP, or ILN when el < 0
  const ril = il >> 2;
  const dl = (det * QM4[ril]) >> 15;
  adaptLowScale(st, ril);
  adaptPredictor(st, dl);
  return il;
}

/** Higher-band encoder (blocks 1H-4H); returns I_H. */
function encodeHighBand(st: SubbandState, xh: number): number {
  const eh = sat16(xh - st.s);
  const sign = eh >> 31;
  const wd = eh ^ sign;
  const det = st.det;
  const mih = 1 + ((((564 * det) >> 12) - 1 - wd) >>> 31); // 2 when wd >= the decision level, else 1
  const ih = IH_BY_SIGN[mih + (sign & 4)]; // IHP, or IHN when eh < 0
  const dh = (det * QM2[ih]) >> 15;
  adaptHighScale(st, ih);
  adaptPredictor(st, dh);
  return ih;
}

/**
 * Lower-band decoder (blocks 5L, 6L, 2L-4L) for a 6-bit I_L; the mode's inverse quantizer is `table` indexed by
 * I_L >> shift (QM6/0, QM5/1, QM4/2). Returns r_L.
 */
function decodeLowBand(st: SubbandState, il: number, table: Int32Array, shift: number): number {
  const det = st.det;
  // Clause 4.2: mode 2 drops the LSB of I_L, mode 3 the two LSBs, before the inverse quantizer.
  const q = table[il >> shift];
  let rl = st.s + ((det * q) >> 15);
  if (rl > 16383) rl = 16383;
  else if (rl < -16384) rl = -16384;
  const ril = il >> 2;
  const dl = (det * QM4[ril]) >> 15;
  adaptLowScale(st, ril);
  adaptPredictor(st, dl);
  return rl;
}

/** Higher-band decoder; returns r_H. */
function decodeHighBand(st: SubbandState, ih: number): number {
  const dh = (st.det * QM2[ih]) >> 15;
  let rh = st.s + dh;
  if (rh > 16383) rh = 16383;
  else if (rh < -16384) rh = -16384;
  adaptHighScale(st, ih);
  adaptPredictor(st, dh);
  return rh;
}

/**
 * One sub-band over samples from..n-1 with its state held in locals (the lower band when `high` is false):
 * encoding (blocks 1-4) takes x = pcm[i] >> inShift and writes codes[i] = (codes[i] & keep) | orBits | (I << at);
 * decoding (blocks 5-6, then 2-4) takes I = (codes[i] >> at) & 63 and writes pcm[i] = r << outShift. The same
 * arithmetic as encodeLowBand / encodeHighBand / decodeLowBand / decodeHighBand with the scale adaptation and
 * adaptPredictor, which V8 cannot inline per sample (adaptPredictor is over its inlining size): fields are read
 * once per run instead of per sample. The branches on `high` and `encode` go the same way for a whole run.
 */
function subbandRun(
  st: SubbandState,
  high: boolean,
  encode: boolean,
  pcm: Int16Array,
  codes: Uint8Array,
  from: number,
  n: number,
  shift: number,
  keep: number,
  orBits: number,
  table: Int32Array,
  tableShift: number,
): void {
  const at = high ? 6 : 0;
  let s = st.s;
  let sz = st.sz;
  let r1 = st.r1;
  let a1 = st.a1;
  let a2 = st.a2;
  let p1 = st.p1;
  let p2 = st.p2;
  let d1 = st.d1;
  let d2 = st.d2;
  let d3 = st.d3;
  let d4 = st.d4;
  let d5 = st.d5;
  let d6 = st.d6;
  let b1 = st.b1;
  let b2 = st.b2;
  let b3 = st.b3;
  let b4 = st.b4;
  let b5 = st.b5;
  let b6 = st.b6;
  let nb = st.nb;
  let det = st.det;
  for (let i = from; i < n; i++) {
    let code: number;
    if (encode) {
      const e = sat16((pcm[i] >> shift) - s);
      const sign = e >> 31; // -1 when negative
      const wd = e ^ sign;
      if (high) {
        // QUANTH as in encodeHighBand
        code = IH_BY_SIGN[1 + ((((564 * det) >> 12) - 1 - wd) >>> 31) + (sign & 4)];
      } else {
        // QUANTL as in encodeLowBand
        const ratio = ((wd * 4096) / det) | 0;
        let lo = ratio >= Q6_FLOOR_LIMIT ? 30 : Q6_FLOOR[ratio];
        while (lo < 30 && wd >= (Q6[lo] * det) >> 12) lo++;
        code = IL_BY_SIGN[lo + (sign & 32)];
      }
      codes[i] = (codes[i] & keep) | orBits | (code << at);
    } else {
      code = (codes[i] >> at) & 63;
      let r = high ? s + ((det * QM2[code]) >> 15) : s + ((det * table[code >> tableShift]) >> 15);
      if (r > 16383) r = 16383;
      else if (r < -16384) r = -16384;
      pcm[i] = r << shift;
    }
    // INVQAL / INVQAH, then LOGSCL, SCALEL (adaptLowScale) or LOGSCH, SCALEH (adaptHighScale)
    let d: number;
    let scaleShift: number;
    if (high) {
      d = (det * QM2[code]) >> 15;
      nb = ((nb * 127) >> 7) + WH_BY_IH[code];
      if (nb < 0) nb = 0;
      else if (nb > 22528) nb = 22528;
      scaleShift = 10 - (nb >> 11);
    } else {
      const ril = code >> 2;
      d = (det * QM4[ril]) >> 15;
      nb = ((nb * 127) >> 7) + WL_BY_RIL[ril];
      if (nb < 0) nb = 0;
      else if (nb > 18432) nb = 18432;
      scaleShift = 8 - (nb >> 11);
    }
    const v = ILB[(nb >> 6) & 31];
    det = (scaleShift < 0 ? v << (0 - scaleShift) : v >> scaleShift) << 2;
    // Block 4 (adaptPredictor, which explains each step)
    const r0 = sat16(s + d);
    const p0 = sat16(sz + d);
    const differ1 = (p0 ^ p1) >> 31;
    const differ2 = (p0 ^ p2) >> 31;
    const w1 = sat16(a1 << 2);
    const same1 = ~differ1;
    let w2 = (w1 ^ same1) - same1;
    if (w2 > 32767) w2 = 32767;
    let ap2 = (w2 >> 7) + (128 + (differ2 & -256)) + ((a2 * 32512) >> 15);
    if (ap2 > 12288) ap2 = 12288;
    else if (ap2 < -12288) ap2 = -12288;
    let ap1 = 192 + (differ1 & -384) + ((a1 * 32640) >> 15);
    const lim = 15360 - ap2;
    if (ap1 > lim) ap1 = lim;
    else if (ap1 < 0 - lim) ap1 = 0 - lim;
    const step = ((d | (0 - d)) >> 31) & 128;
    const m1 = (d1 ^ d) >> 31;
    const m2 = (d2 ^ d) >> 31;
    const m3 = (d3 ^ d) >> 31;
    const m4 = (d4 ^ d) >> 31;
    const m5 = (d5 ^ d) >> 31;
    const m6 = (d6 ^ d) >> 31;
    b1 = (step ^ m1) - m1 + ((b1 * 32640) >> 15);
    b2 = (step ^ m2) - m2 + ((b2 * 32640) >> 15);
    b3 = (step ^ m3) - m3 + ((b3 * 32640) >> 15);
    b4 = (step ^ m4) - m4 + ((b4 * 32640) >> 15);
    b5 = (step ^ m5) - m5 + ((b5 * 32640) >> 15);
    b6 = (step ^ m6) - m6 + ((b6 * 32640) >> 15);
    d6 = d5;
    d5 = d4;
    d4 = d3;
    d3 = d2;
    d2 = d1;
    d1 = sat16(d + d);
    sz = sat16(
      ((b1 * d1) >> 15) +
        ((b2 * d2) >> 15) +
        ((b3 * d3) >> 15) +
        ((b4 * d4) >> 15) +
        ((b5 * d5) >> 15) +
        ((b6 * d6) >> 15),
    );
    const rr0 = sat16(r0 + r0);
    const sp = sat16(((ap1 * rr0) >> 15) + ((ap2 * r1) >> 15));
    r1 = rr0;
    p2 = p1;
    p1 = p0;
    a1 = ap1;
    a2 = ap2;
    s = sat16(sp + sz);
  }
  st.s = s;
  st.sz = sz;
  st.r1 = r1;
  st.a1 = a1;
  st.a2 = a2;
  st.p1 = p1;
  st.p2 = p2;
  st.d1 = d1;
  st.d2 = d2;
  st.d3 = d3;
  st.d4 = d4;
  st.d5 = d5;
  st.d6 = d6;
  st.b1 = b1;
  st.b2 = b2;
  st.b3 = b3;
  st.b4 = b4;
  st.b5 = b5;
  st.b6 = b6;
  st.nb = nb;
  st.det = det;
}

// QMF delay lines are written linearly into a longer buffer and moved back when full, instead of shifting
// 22 words for every sample pair.
const QMF_TAPS = 24;
const QMF_RUN = 512;

export type G722Bitrate = 64000 | 56000 | 48000;

export interface G722DecoderOptions {
  /** Decoder mode (G.722 clause 1.3): 64000 (mode 1, default), 56000 (mode 2) or 48000 (mode 3). */
  bitrate?: G722Bitrate;
}

/**
 * The 24-tap QMF of G.722 (clause 3.1 transmit, 4.4 receive) split into its two polyphase branches over the delay
 * line x[p .. p+23]; encoder and decoder share them.
 */
function qmfEvenTaps(x: Int32Array, p: number): number {
  return (
    x[p] * 3 -
    x[p + 2] * 11 +
    x[p + 4] * 12 +
    x[p + 6] * 32 -
    x[p + 8] * 210 +
    x[p + 10] * 951 +
    x[p + 12] * 3876 -
    x[p + 14] * 805 +
    x[p + 16] * 362 -
    x[p + 18] * 156 +
    x[p + 20] * 53 -
    x[p + 22] * 11
  );
}

function qmfOddTaps(x: Int32Array, p: number): number {
  return (
    x[p + 3] * 53 -
    x[p + 1] * 11 -
    x[p + 5] * 156 +
    x[p + 7] * 362 -
    x[p + 9] * 805 +
    x[p + 11] * 3876 +
    x[p + 13] * 951 -
    x[p + 15] * 210 +
    x[p + 17] * 32 +
    x[p + 19] * 12 -
    x[p + 21] * 11 +
    x[p + 23] * 3
  );
}

/** G.722 encoder at 64 kbit/s: 16 kHz PCM in, one octet (I_H << 6 | I_L) per two samples out (RFC 3551 4.5.2). */
export class G722Encoder implements AudioEncoder {
  readonly encoding = 'G722';
  readonly sampleRate = 16000;
  private readonly low = new SubbandState(32);
  private readonly high = new SubbandState(8);
  private readonly x = new Int32Array(QMF_TAPS + QMF_RUN);
  private pos = 0; // index where the next pair goes minus 22: the window is x[pos .. pos+23]
  // An odd trailing sample of one call is held until the next call, so frame boundaries never change the output.
  private pending = 0;
  private hasPending = false;
  // The higher band sits at its fixed point for zero input (see encodeQuietHigh).
  private highIdle = false;
  // Sub-band samples of the frame being coded (grown to the largest frame seen).
  private bandLow = new Int16Array(160);
  private bandHigh = new Int16Array(160);

  constructor() {
    this.reset();
  }

  reset(): void {
    this.low.reset();
    this.high.reset();
    this.x.fill(0);
    this.pos = 0;
    this.highIdle = false;
    this.hasPending = false;
    this.pending = 0;
  }

  /**
   * Takes over another encoder's whole state (ADPCM, QMF history, a held sample), so that what this one encodes
   * next continues the other's stream: a receiving decoder that followed that stream stays in step (a conference
   * member leaving the stream it shared with others for one of its own).
   */
  copyStateFrom(other: G722Encoder): void {
    this.low.copyFrom(other.low);
    this.high.copyFrom(other.high);
    this.x.set(other.x);
    this.pos = other.pos;
    this.pending = other.pending;
    this.hasPending = other.hasPending;
  }

  /** Encodes samples into out; returns octets written (one per sample pair, counting a held odd sample). */
  encodeInto(pcm: Int16Array, out: Uint8Array): number {
    const total = pcm.length + (this.hasPending ? 1 : 0);
    const need = total >> 1;
    if (out.length < need) throw new CodecBufferError(`output holds ${out.length} octets, needs ${need}`);
    if (this.bandLow.length < need) {
      this.bandLow = new Int16Array(need);
      this.bandHigh = new Int16Array(need);
    }
    let i = 0;
    let n = 0;
    this.highIdle = false;
    // The transmit QMF over the frame, then each sub-band coder over all its samples (subbandRun).
    if (this.hasPending && pcm.length > 0) {
      this.analysis(this.pending, pcm[0], n++);
      this.hasPending = false;
      i = 1;
    }
    const end = pcm.length - 1;
    for (; i < end; i += 2) this.analysis(pcm[i], pcm[i + 1], n++);
    if (i < pcm.length) {
      this.pending = pcm[i];
      this.hasPending = true;
    }
    subbandRun(this.high, true, true, this.bandHigh, out, 0, n, 0, 0, 0, QM6, 0); // I_H << 6
    subbandRun(this.low, false, true, this.bandLow, out, 0, n, 0, 0xc0, 0, QM6, 0); // | I_L
    return n;
  }

  /** Allocating convenience form of encodeInto. */
  encode(pcm: Int16Array): Uint8Array {
    const out = new Uint8Array((pcm.length + (this.hasPending ? 1 : 0)) >> 1);
    this.encodeInto(pcm, out);
    return out;
  }

  /**
   * Encodes 8 kHz PCM as G.722 with the QMF by-passed, one octet per sample: the sample (halved to the coders'
   * 15-bit range) is the lower sub-band and the higher sub-band is silent. The G.722 lower band is the signal
   * below 4 kHz sampled at 8 kHz, so a far-end decoder's receive QMF returns the narrowband audio at 16 kHz: the
   * 8 kHz mode of spandsp (and of Asterisk's G.722 translator), here with the higher-band coder still run on zero
   * input so that the codeword (always I_H = 3 from reset, as in spandsp) and its state stay those of a real
   * encoder, and 16 kHz encoding can resume at any packet. Returns octets written.
   */
  encodeNarrowbandInto(pcm8k: Int16Array, out: Uint8Array): number {
    const n = pcm8k.length;
    if (out.length < n) throw new CodecBufferError(`output holds ${out.length} octets, needs ${n}`);
    const low = this.low;
    const high = this.high;
    let i = 0;
    for (; i < n && !this.highIdle; i++) {
      const il = encodeLowBand(low, pcm8k[i] >> 1);
      out[i] = (this.encodeQuietHigh(high) << 6) | il;
    }
    // the higher band at rest: I_H = 3 on every octet, the lower band alone runs
    if (i < n) subbandRun(low, false, true, pcm8k, out, i, n, 1, 0, 0xc0, QM6, 0);
    return n;
  }

  /**
   * The higher band on zero input. Once an update leaves its state unchanged it is at its fixed point: every
   * later zero sample gives I_H = 3 and the same state, so the update is skipped (until 16 kHz input arrives).
   */
  private encodeQuietHigh(st: SubbandState): number {
    const { s, sz, r1, a1, a2, p1, p2, d1, d2, d3, d4, d5, d6, b1, b2, b3, b4, b5, b6, nb, det } = st;
    const ih = encodeHighBand(st, 0);
    this.highIdle =
      ih === 3 &&
      s === st.s &&
      sz === st.sz &&
      r1 === st.r1 &&
      a1 === st.a1 &&
      a2 === st.a2 &&
      p1 === st.p1 &&
      p2 === st.p2 &&
      d1 === st.d1 &&
      d2 === st.d2 &&
      d3 === st.d3 &&
      d4 === st.d4 &&
      d5 === st.d5 &&
      d6 === st.d6 &&
      b1 === st.b1 &&
      b2 === st.b2 &&
      b3 === st.b3 &&
      b4 === st.b4 &&
      b5 === st.b5 &&
      b6 === st.b6 &&
      nb === st.nb &&
      det === st.det;
    return ih;
  }

  /**
   * Encodes one sub-band sample pair with the QMF by-passed (G.722 Appendix II "configuration 1"); returns the
   * codeword. Used by the digital test sequences.
   */
  encodeSubbands(xLow: number, xHigh: number): number {
    this.highIdle = false;
    const il = encodeLowBand(this.low, xLow);
    return (encodeHighBand(this.high, xHigh) << 6) | il;
  }

  /** Transmit QMF (clause 3.1) of one input pair into bandLow[k], bandHigh[k]. */
  private analysis(s0: number, s1: number, k: number): void {
    const x = this.x;
    let p = this.pos;
    if (p + QMF_TAPS > x.length) {
      x.copyWithin(0, p, p + QMF_TAPS - 2);
      p = 0;
    }
    x[p + 22] = s0;
    x[p + 23] = s1;
    // Transmit QMF (clause 3.1): even and odd polyphase sums, one output pair per input pair.
    const sumOdd = qmfEvenTaps(x, p);
    const sumEven = qmfOddTaps(x, p);
    this.pos = p + 2;
    let xl = (sumEven + sumOdd) >> 14;
    let xh = (sumEven - sumOdd) >> 14;
    // Clause 5.2.1: the QMF outputs are limited to the 15-bit range of the sub-band coders.
    if (xl > 16383) xl = 16383;
    else if (xl < -16384) xl = -16384;
    if (xh > 16383) xh = 16383;
    else if (xh < -16384) xh = -16384;
    this.bandLow[k] = xl;
    this.bandHigh[k] = xh;
  }
}

/** G.722 decoder: one octet in, two 16 kHz samples out; 64/56/48 kbit/s modes for the lower band. */
export class G722Decoder implements AudioDecoder {
  readonly encoding = 'G722';
  readonly sampleRate = 16000;
  readonly bitrate: G722Bitrate;
  private readonly table: Int32Array;
  private readonly shift: number;
  private readonly low = new SubbandState(32);
  private readonly high = new SubbandState(8);
  private readonly x = new Int32Array(QMF_TAPS + QMF_RUN);
  private pos = 0;
  private concealed = 0;
  // The higher band and QMF missed codewords (decodeLowBandInto): restart them at the next 16 kHz decode.
  private highStale = false;
  // r_L and r_H of the frame being decoded (grown to the largest frame seen).
  private bandLow = new Int16Array(160);
  private bandHigh = new Int16Array(160);

  constructor(options: G722DecoderOptions = {}) {
    const bitrate = options.bitrate ?? 64000;
    if (bitrate !== 64000 && bitrate !== 56000 && bitrate !== 48000) {
      throw new UnsupportedCodecError('G722', `bitrate ${String(bitrate)}`);
    }
    this.bitrate = bitrate;
    this.table = bitrate === 64000 ? QM6 : bitrate === 56000 ? QM5 : QM4;
    this.shift = bitrate === 64000 ? 0 : bitrate === 56000 ? 1 : 2;
    this.reset();
  }

  reset(): void {
    this.low.reset();
    this.high.reset();
    this.x.fill(0);
    this.pos = 0;
    this.concealed = 0;
    this.highStale = false;
  }

  decodeInto(payload: Uint8Array, out: Int16Array): number {
    const n = payload.length;
    if (out.length < 2 * n) throw new CodecBufferError(`output holds ${out.length} samples, needs ${2 * n}`);
    if (this.highStale) this.restartHigh();
    if (this.bandLow.length < n) {
      this.bandLow = new Int16Array(n);
      this.bandHigh = new Int16Array(n);
    }
    // Each sub-band decoder over all its samples (subbandRun), then the receive QMF over the frame.
    const rl = this.bandLow;
    const rh = this.bandHigh;
    subbandRun(this.low, false, false, rl, payload, 0, n, 0, 0, 0, this.table, this.shift);
    subbandRun(this.high, true, false, rh, payload, 0, n, 0, 0, 0, QM6, 0);
    for (let i = 0; i < n; i++) this.synthesis(rl[i], rh[i], out, 2 * i);
    this.concealed = 0;
    return 2 * n;
  }

  /**
   * Decodes only the lower sub-band, one 8 kHz sample per octet (r_L doubled back to 16 bits): the signal below
   * 4 kHz without the receive QMF, for an 8 kHz listener (spandsp's 8 kHz mode). The higher band is not decoded;
   * the next 16 kHz decode starts it (and the QMF) from reset, as after a loss. Returns samples written.
   */
  decodeLowBandInto(payload: Uint8Array, out: Int16Array): number {
    const n = payload.length;
    if (out.length < n) throw new CodecBufferError(`output holds ${out.length} samples, needs ${n}`);
    subbandRun(this.low, false, false, out, payload, 0, n, 1, 0, 0, this.table, this.shift);
    this.highStale = true;
    this.concealed = 0;
    return n;
  }

  /** Concealment of decodeLowBandInto's 8 kHz output, as `conceal` does at 16 kHz. */
  concealLowBand(out: Int16Array, samples: number): number {
    const n = Math.min(samples, out.length);
    for (let k = 0; k < n; k++) {
      const gain = this.concealed >= 960 ? 0 : 1 - this.concealed / 960;
      out[k] = Math.round((decodeLowBand(this.low, 0x3f, this.table, this.shift) << 1) * gain);
      this.concealed += 2;
    }
    this.highStale = true;
    return n;
  }

  decode(data: Uint8Array): Int16Array {
    const out = new Int16Array(2 * data.length);
    this.decodeInto(data, out);
    return out;
  }

  /**
   * Concealment without a G.722 Appendix III/IV implementation: the decoder is driven with a zero-difference
   * codeword so its predictors decay the signal smoothly, then the output fades to silence after 60 ms of loss.
   */
  conceal(out: Int16Array, samples: number): number {
    const n = Math.min(samples, out.length) & ~1;
    for (let k = 0; k < n; k += 2) {
      this.decodeCode(0xff, out, k); // I_H = 3 and I_L = 63: the smallest magnitude differences
      const gain = this.concealed >= 960 ? 0 : 1 - this.concealed / 960;
      out[k] = Math.round(out[k] * gain);
      out[k + 1] = Math.round(out[k + 1] * gain);
      this.concealed += 2;
    }
    if (n < Math.min(samples, out.length)) out[n] = 0;
    return Math.min(samples, out.length);
  }

  /**
   * Decodes one codeword with the receive QMF by-passed (G.722 Appendix II "configuration 2"): writes r_L to
   * out[0] and r_H to out[1].
   */
  decodeSubbands(code: number, out: Int16Array | Int32Array): void {
    if (this.highStale) this.restartHigh();
    out[0] = decodeLowBand(this.low, code & 0x3f, this.table, this.shift);
    out[1] = decodeHighBand(this.high, (code >> 6) & 3);
  }

  /** The higher band and the QMF missed codewords (decodeLowBandInto): start them again, as after a loss. */
  private restartHigh(): void {
    this.highStale = false;
    this.high.reset();
    this.x.fill(0);
  }

  private decodeCode(code: number, out: Int16Array, k: number): void {
    if (this.highStale) this.restartHigh();
    const rl = decodeLowBand(this.low, code & 0x3f, this.table, this.shift);
    const rh = decodeHighBand(this.high, (code >> 6) & 3);
    this.synthesis(rl, rh, out, k);
  }

  /** Receive QMF (clause 4.4) of one sub-band pair into out[k], out[k + 1]. */
  private synthesis(rl: number, rh: number, out: Int16Array, k: number): void {
    const x = this.x;
    let p = this.pos;
    if (p + QMF_TAPS > x.length) {
      x.copyWithin(0, p, p + QMF_TAPS - 2);
      p = 0;
    }
    // Receive QMF (clause 4.4): sum and difference of the sub-bands feed the two polyphase branches.
    x[p + 22] = rl + rh;
    x[p + 23] = rl - rh;
    const out2 = qmfEvenTaps(x, p);
    const out1 = qmfOddTaps(x, p);
    this.pos = p + 2;
    out[k] = sat16(out1 >> 11);
    out[k + 1] = sat16(out2 >> 11);
  }
}
