// Small allocation-free PCM helpers for the mixer and engine. Levels are in dBov: 0 dBov is the mean square of a
// full-scale square wave (32768²), so a full-scale sine measures -3.01 dBov (the convention of RFC 3389 section 3).

import { DspError } from './errors.js';

/** Fraction bits of the gain multipliers from gainFromDb (Q14: 16384 is unity, headroom up to about +18 dB). */
export const GAIN_Q_BITS = 14;
export const GAIN_UNITY = 1 << GAIN_Q_BITS;
const GAIN_MAX_DB = 24;
// Products reach 2^33 at +24 dB, past int32, so they are scaled in float arithmetic (exact: a power of two).
const Q_SCALE = 1 / GAIN_UNITY;

/** Clamps a number to int16 after rounding. */
export function saturate16(v: number): number {
  if (v >= 32767) return 32767;
  if (v <= -32768) return -32768;
  return Math.round(v);
}

/**
 * Converts a gain in dB to a Q14 integer multiplier for applyGain/mixInto. -Infinity (mute) gives 0; gains beyond
 * +24 dB are refused because they only amplify quantization noise into clipping.
 */
export function gainFromDb(db: number): number {
  if (Number.isNaN(db) || db > GAIN_MAX_DB) throw new DspError('INVALID_ARGUMENT', `gain ${db} dB is out of range`);
  if (db === Number.NEGATIVE_INFINITY) return 0;
  return Math.round(GAIN_UNITY * 10 ** (db / 20));
}

/** Multiplies `samples[start, end)` in place by a Q14 gain, saturating to int16. */
export function applyGain(samples: Int16Array, gainQ14: number, start = 0, end = samples.length): void {
  if (gainQ14 === GAIN_UNITY) return;
  for (let i = start; i < end; i++) {
    const v = Math.floor(samples[i] * gainQ14 * Q_SCALE);
    samples[i] = v > 32767 ? 32767 : Math.max(v, -32768);
  }
}

/**
 * Adds `source` (scaled by a Q14 gain) into `target` sample by sample with saturation; mixes
 * min(target, source) lengths and returns how many samples were mixed.
 */
export function mixInto(target: Int16Array, source: Int16Array, gainQ14: number = GAIN_UNITY): number {
  const n = Math.min(target.length, source.length);
  if (gainQ14 === GAIN_UNITY) {
    for (let i = 0; i < n; i++) {
      const v = target[i] + source[i];
      target[i] = v > 32767 ? 32767 : Math.max(v, -32768);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = target[i] + Math.floor(source[i] * gainQ14 * Q_SCALE);
      target[i] = v > 32767 ? 32767 : Math.max(v, -32768);
    }
  }
  return n;
}

/** Lowest level levelDbov reports (digital silence), matching the floor of the RFC 3389 noise level byte. */
export const SILENCE_DBOV = -127;

/** Mean-square level of `samples[start, end)` in dBov; SILENCE_DBOV for silence or an empty range. */
export function levelDbov(samples: Int16Array, start = 0, end = samples.length): number {
  if (end <= start) return SILENCE_DBOV;
  let sum = 0;
  for (let i = start; i < end; i++) sum += samples[i] * samples[i];
  if (sum === 0) return SILENCE_DBOV;
  const db = 10 * Math.log10(sum / (end - start) / (32768 * 32768));
  return Math.max(db, SILENCE_DBOV);
}

/** Sum of squares of `samples[start, end)` (block energy, for voice activity or talker detection). */
export function blockEnergy(samples: Int16Array, start = 0, end = samples.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += samples[i] * samples[i];
  return sum;
}

/** Peak amplitude a sine needs for a mean-square level of `dbov` (dBov as above). */
export function sineAmplitudeForDbov(dbov: number): number {
  return 32768 * Math.SQRT2 * 10 ** (dbov / 20);
}
