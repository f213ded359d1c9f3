// Packet-loss concealment on decoded PCM for codecs without a model-based one (G.722 here), in the spirit of ITU-T
// G.711 Appendix I: find the pitch period of what was heard last, repeat that period across the loss, attenuate
// after 10 ms and mute at 60 ms; cross-fade into the first frame after the loss. Allocation-free per frame.
import type { AudioDecoder } from './codec.js';

const MIN_PITCH_MS = 2.5; // 400 Hz
const MAX_PITCH_MS = 15; // 66 Hz
const HOLD_MS = 10; // full level for the first 10 ms of a loss
const MUTE_MS = 60; // silent from 60 ms on (G.711 Appendix I stops synthesising there too)
const FADE_IN_MS = 2.5; // cross-fade from the concealment into the next real frame

/** Repeats the last pitch period of the decoded history over a loss. */
export class PitchRepeatConcealer {
  private readonly history: Int16Array;
  private readonly minPitch: number;
  private readonly maxPitch: number;
  private readonly hold: number;
  private readonly mute: number;
  private readonly fadeIn: number;
  private filled = 0;
  private period = 0;
  private pos = 0;
  /** Samples concealed since the last real frame. */
  private lost = 0;

  constructor(sampleRate: number) {
    const ms = (v: number): number => Math.max(1, Math.round((v * sampleRate) / 1000));
    this.minPitch = ms(MIN_PITCH_MS);
    this.maxPitch = ms(MAX_PITCH_MS);
    this.hold = ms(HOLD_MS);
    this.mute = ms(MUTE_MS);
    this.fadeIn = ms(FADE_IN_MS);
    this.history = new Int16Array(3 * this.maxPitch); // the pitch search compares the last period with earlier ones
  }

  /** Takes a real frame (first `n` samples of pcm); after a loss, cross-fades its start from the concealment. */
  remember(pcm: Int16Array, n: number): void {
    if (this.lost > 0 && this.lost < this.mute && this.period > 0) {
      const h = this.history;
      const start = h.length - this.period;
      const m = Math.min(this.fadeIn, n);
      for (let i = 0; i < m; i++) {
        const k = this.lost + i;
        const g = k < this.hold ? 1 : 1 - (k - this.hold) / (this.mute - this.hold);
        const synth = h[start + ((this.pos + i) % this.period)] * g;
        const w = (i + 1) / (m + 1);
        pcm[i] = Math.round(synth * (1 - w) + pcm[i] * w);
      }
    }
    const h = this.history;
    const size = h.length;
    if (n >= size) {
      for (let i = 0, j = n - size; i < size; i++, j++) h[i] = pcm[j];
    } else {
      h.copyWithin(0, n);
      for (let i = 0, j = size - n; i < n; i++, j++) h[j] = pcm[i];
    }
    this.filled = Math.min(size, this.filled + n);
    this.lost = 0;
  }

  /** Fills `samples` samples of concealment into out; returns how many. */
  conceal(out: Int16Array, samples: number): number {
    const n = Math.min(samples, out.length);
    const h = this.history;
    if (this.lost === 0) {
      this.period = this.filled >= h.length ? this.pitch() : 0;
      this.pos = 0;
    }
    if (this.period === 0) {
      out.fill(0, 0, n);
      this.lost += n;
      return n;
    }
    const start = h.length - this.period;
    for (let i = 0; i < n; i++) {
      const k = this.lost + i;
      const g = k < this.hold ? 1 : k >= this.mute ? 0 : 1 - (k - this.hold) / (this.mute - this.hold);
      out[i] = Math.round(h[start + ((this.pos + i) % this.period)] * g);
    }
    this.pos = (this.pos + n) % this.period;
    this.lost += n;
    return n;
  }

  /** The lag in min..max pitch that best matches the last max-pitch stretch with the one before (normalised). */
  private pitch(): number {
    const h = this.history;
    const end = h.length;
    const win = this.maxPitch;
    let best = this.minPitch;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let lag = this.minPitch; lag <= this.maxPitch; lag++) {
      let xy = 0;
      let yy = 0;
      for (let i = end - win; i < end; i++) {
        const y = h[i - lag];
        xy += h[i] * y;
        yy += y * y;
      }
      const score = yy > 0 ? xy / Math.sqrt(yy) : 0;
      if (score > bestScore) {
        bestScore = score;
        best = lag;
      }
    }
    return best;
  }

  reset(): void {
    this.history.fill(0);
    this.filled = 0;
    this.period = 0;
    this.pos = 0;
    this.lost = 0;
  }
}

interface LowBandDecoder {
  decodeLowBandInto(payload: Uint8Array, out: Int16Array): number;
  concealLowBand(out: Int16Array, samples: number): number;
}

const hasLowBand = (d: AudioDecoder): d is AudioDecoder & LowBandDecoder =>
  typeof (d as Partial<LowBandDecoder>).decodeLowBandInto === 'function' &&
  typeof (d as Partial<LowBandDecoder>).concealLowBand === 'function';

/**
 * A decoder whose losses are concealed by pitch repetition of its output. The wrapped decoder's own concealment
 * still runs (into scratch) so its state moves on as that codec expects.
 */
export class PitchConcealingDecoder implements AudioDecoder {
  readonly encoding: string;
  readonly sampleRate: number;
  private readonly inner: AudioDecoder;
  private readonly plc: PitchRepeatConcealer;
  private scratch = new Int16Array(0);
  /** G.722's lower sub-band alone at 8 kHz, when the wrapped decoder has it; its losses concealed the same way. */
  readonly decodeLowBandInto?: (payload: Uint8Array, out: Int16Array) => number;
  readonly concealLowBand?: (out: Int16Array, samples: number) => number;
  private readonly lowPlc?: PitchRepeatConcealer;

  constructor(inner: AudioDecoder) {
    this.inner = inner;
    this.encoding = inner.encoding;
    this.sampleRate = inner.sampleRate;
    this.plc = new PitchRepeatConcealer(inner.sampleRate);
    if (hasLowBand(inner)) {
      const plc = new PitchRepeatConcealer(inner.sampleRate / 2);
      this.lowPlc = plc;
      this.decodeLowBandInto = (payload, out) => {
        const n = inner.decodeLowBandInto(payload, out);
        plc.remember(out, n);
        return n;
      };
      this.concealLowBand = (out, samples) => {
        if (this.scratch.length < samples) this.scratch = new Int16Array(samples);
        inner.concealLowBand(this.scratch, samples); // the codec's state moves on as after a loss
        return plc.conceal(out, samples);
      };
    }
  }

  decodeInto(payload: Uint8Array, out: Int16Array): number {
    const n = this.inner.decodeInto(payload, out);
    this.plc.remember(out, n);
    return n;
  }

  conceal(out: Int16Array, samples: number): number {
    if (this.scratch.length < samples) this.scratch = new Int16Array(samples); // once, at the first loss
    this.inner.conceal(this.scratch, samples);
    return this.plc.conceal(out, samples);
  }

  reset(): void {
    this.inner.reset();
    this.plc.reset();
    this.lowPlc?.reset();
  }
}
