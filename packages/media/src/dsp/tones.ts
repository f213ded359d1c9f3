// Call progress tones with national cadences and comfort noise.
//
// Sources for the presets: ITU-T E.180 Supplement 2 (the national tone lists), ETSI ES 201 970 / TR 101 041-1 for
// the harmonised European 425 Hz tones, Telecom Italia practice for Italy, BT SIN 350 for the UK and ANSI T1.401 /
// the North American precise tone plan for the US and Canada.

import { DspError } from './errors.js';

export type ToneName = 'dial' | 'ringback' | 'busy' | 'congestion' | 'callWaiting';
export type ToneCountry = 'eu' | 'it' | 'uk' | 'us';

export interface ToneSpec {
  /** Frequencies summed while the tone is on (Hz). */
  frequencies: number[];
  /** Level of each frequency in dBov (a sine's mean square relative to full scale). */
  levelDbov: number;
  /** Alternating on/off durations in ms, repeated; empty means a continuous tone. */
  cadence: number[];
}

const EU_425 = [425];
const PRESETS: Record<ToneCountry, Record<ToneName, ToneSpec>> = {
  // ETSI ES 201 970: 425 Hz for all, ring 1 s on / 4 s off, busy 0.5/0.5, congestion 0.25/0.25.
  eu: {
    dial: { frequencies: EU_425, levelDbov: -13, cadence: [] },
    ringback: { frequencies: EU_425, levelDbov: -16, cadence: [1000, 4000] },
    busy: { frequencies: EU_425, levelDbov: -16, cadence: [500, 500] },
    congestion: { frequencies: EU_425, levelDbov: -16, cadence: [250, 250] },
    callWaiting: { frequencies: EU_425, levelDbov: -19, cadence: [200, 200, 200, 4400] },
  },
  // Italy: the "tu-tuuu" dial tone (0.2 on 0.2 off 0.6 on 1 off); congestion 0.2/0.2.
  it: {
    dial: { frequencies: EU_425, levelDbov: -13, cadence: [200, 200, 600, 1000] },
    ringback: { frequencies: EU_425, levelDbov: -16, cadence: [1000, 4000] },
    busy: { frequencies: EU_425, levelDbov: -16, cadence: [500, 500] },
    congestion: { frequencies: EU_425, levelDbov: -16, cadence: [200, 200] },
    callWaiting: { frequencies: EU_425, levelDbov: -19, cadence: [400, 100, 250, 100, 150, 14000] },
  },
  // UK (SIN 350): 350+440 dial, 400+450 double ring, 400 Hz busy and the four-part congestion cadence.
  uk: {
    dial: { frequencies: [350, 440], levelDbov: -16, cadence: [] },
    ringback: { frequencies: [400, 450], levelDbov: -19, cadence: [400, 200, 400, 2000] },
    busy: { frequencies: [400], levelDbov: -16, cadence: [375, 375] },
    congestion: { frequencies: [400], levelDbov: -16, cadence: [400, 350, 225, 525] },
    callWaiting: { frequencies: [400], levelDbov: -19, cadence: [100, 4000] },
  },
  // North America (precise tone plan): dial 350+440, ringback 440+480 2 s / 4 s, busy 480+620 0.5/0.5,
  // reorder 480+620 0.25/0.25, call waiting a 0.3 s burst of 440 Hz every 10 s.
  us: {
    dial: { frequencies: [350, 440], levelDbov: -16, cadence: [] },
    ringback: { frequencies: [440, 480], levelDbov: -22, cadence: [2000, 4000] },
    busy: { frequencies: [480, 620], levelDbov: -27, cadence: [500, 500] },
    congestion: { frequencies: [480, 620], levelDbov: -27, cadence: [250, 250] },
    callWaiting: { frequencies: [440], levelDbov: -16, cadence: [300, 9700] },
  },
};

const COUNTRY_ALIASES: Record<string, ToneCountry> = {
  eu: 'eu',
  europe: 'eu',
  etsi: 'eu',
  it: 'it',
  italy: 'it',
  uk: 'uk',
  gb: 'uk',
  us: 'us',
  ca: 'us',
  na: 'us',
};

const NAME_ALIASES: Record<string, ToneName> = {
  dial: 'dial',
  ringback: 'ringback',
  ring: 'ringback',
  busy: 'busy',
  congestion: 'congestion',
  reorder: 'congestion',
  callwaiting: 'callWaiting',
  'call-waiting': 'callWaiting',
  call_waiting: 'callWaiting',
};

/** The countries with presets (ISO-style codes; 'eu' is the harmonised ETSI plan). */
export const TONE_COUNTRIES: readonly ToneCountry[] = ['eu', 'it', 'uk', 'us'];

/** A preset tone by name ('dial', 'ringback', 'busy', 'congestion', 'callWaiting') and country (default 'eu'). */
export function tonePreset(name: string, country = 'eu'): ToneSpec {
  const c = COUNTRY_ALIASES[country.toLowerCase()];
  const n = NAME_ALIASES[name.toLowerCase()];
  if (!c) throw new DspError('UNKNOWN_TONE', `no tone presets for country '${country}'`);
  if (!n) throw new DspError('UNKNOWN_TONE', `unknown tone '${name}'`);
  const p = PRESETS[c][n];
  return { frequencies: p.frequencies.slice(), levelDbov: p.levelDbov, cadence: p.cadence.slice() };
}

const RAMP_MS = 2;

/**
 * Plays a tone into frames of any size at any rate. Each frequency keeps its own phase across frames and through
 * the off periods, and the cadence edges ramp over 2 ms, so nothing clicks. Cadence time is counted in samples.
 */
export class TonePlayer {
  readonly sampleRate: number;
  private readonly steps: Float64Array;
  private readonly phases: Float64Array;
  private readonly amplitude: number;
  private readonly segments: Int32Array; // cadence in samples
  private readonly rampStep: number;
  private segment = 0;
  private inSegment = 0;
  private envelope = 0;
  private remaining: number;

  /** `durationMs` bounds the tone (fill then returns fewer samples); omitted, it plays forever. */
  constructor(spec: ToneSpec, sampleRate: number, durationMs?: number) {
    if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 192000) {
      throw new DspError('UNSUPPORTED_RATE', `tone generation at ${sampleRate} Hz is not supported`);
    }
    if (spec.frequencies.length === 0 || spec.frequencies.length > 4) {
      throw new DspError('INVALID_ARGUMENT', 'a tone has one to four frequencies');
    }
    for (const f of spec.frequencies) {
      if (!(f > 0 && f < sampleRate / 2)) throw new DspError('INVALID_ARGUMENT', `frequency ${f} Hz does not fit`);
    }
    if (spec.cadence.length % 2 !== 0 || spec.cadence.some((ms) => !(ms >= 0 && ms <= 3600000))) {
      throw new DspError('INVALID_ARGUMENT', 'a cadence is on/off pairs of durations in ms');
    }
    const amp = 32768 * Math.SQRT2 * 10 ** (spec.levelDbov / 20);
    if (!(amp * spec.frequencies.length <= 32767)) {
      throw new DspError('INVALID_ARGUMENT', `tone level ${spec.levelDbov} dBov would clip`);
    }
    this.sampleRate = sampleRate;
    this.amplitude = amp;
    this.steps = Float64Array.from(spec.frequencies, (f) => (2 * Math.PI * f) / sampleRate);
    this.phases = new Float64Array(spec.frequencies.length);
    this.segments = Int32Array.from(spec.cadence, (ms) => Math.round((ms * sampleRate) / 1000));
    if (this.segments.length > 0 && this.segments.every((s) => s === 0)) {
      throw new DspError('INVALID_ARGUMENT', 'a cadence needs some length');
    }
    this.rampStep = 1 / Math.max(1, Math.round((RAMP_MS * sampleRate) / 1000));
    this.remaining = durationMs === undefined ? Number.POSITIVE_INFINITY : Math.round((durationMs * sampleRate) / 1000);
  }

  /** Writes the next samples into `out`; returns how many (less than out.length only when a bounded tone ends). */
  fill(out: Int16Array): number {
    const n = Math.min(out.length, this.remaining);
    const segs = this.segments;
    const steps = this.steps;
    const phases = this.phases;
    const voices = steps.length;
    for (let i = 0; i < n; i++) {
      let on = true;
      if (segs.length > 0) {
        while (this.inSegment >= segs[this.segment]) {
          this.inSegment = 0;
          this.segment = this.segment + 1 === segs.length ? 0 : this.segment + 1;
        }
        on = (this.segment & 1) === 0;
        this.inSegment++;
      }
      if (on) {
        if (this.envelope < 1) this.envelope = Math.min(1, this.envelope + this.rampStep);
      } else if (this.envelope > 0) {
        this.envelope = Math.max(0, this.envelope - this.rampStep);
      }
      let v = 0;
      for (let k = 0; k < voices; k++) {
        if (this.envelope > 0) v += Math.sin(phases[k]);
        phases[k] += steps[k];
        if (phases[k] > 2 * Math.PI) phases[k] -= 2 * Math.PI;
      }
      out[i] = Math.round(v * this.amplitude * this.envelope);
    }
    this.remaining -= n;
    if (n < out.length) out.fill(0, n);
    return n;
  }

  /** Back to the start of the cadence (phases and envelope too). */
  reset(durationMs?: number): void {
    this.segment = 0;
    this.inSegment = 0;
    this.envelope = 0;
    this.phases.fill(0);
    this.remaining =
      durationMs === undefined ? Number.POSITIVE_INFINITY : Math.round((durationMs * this.sampleRate) / 1000);
  }
}

/** A TonePlayer for a preset name and country (what the engine's play command uses). */
export function createTonePlayer(
  name: string,
  country: string | undefined,
  sampleRate: number,
  durationMs?: number,
): TonePlayer {
  return new TonePlayer(tonePreset(name, country ?? 'eu'), sampleRate, durationMs);
}

export type NoiseColor = 'white' | 'pink';

export interface ComfortNoiseOptions {
  /** Mean-square level in dBov (RFC 3389 section 3; -127..0). */
  levelDbov: number;
  color?: NoiseColor;
  /** PRNG seed; the same seed gives the same noise. */
  seed?: number;
}

/** RFC 3389 section 3: the CN payload's level byte is the noise level in -dBov (0..127). */
export function comfortNoiseLevelDbov(levelByte: number): number {
  return -(levelByte & 0x7f);
}
export function comfortNoiseLevelByte(levelDbov: number): number {
  return Math.max(0, Math.min(127, Math.round(-levelDbov)));
}

const PINK_ROWS = 12;

/**
 * Comfort noise at a set level: white (uniform) or pink (-3 dB/octave, Voss-McCartney: rows of held random values,
 * row k refreshed every 2^k samples). A xorshift32 PRNG makes it deterministic per seed.
 */
export class ComfortNoiseGenerator {
  private state: number;
  private readonly pink: boolean;
  private readonly rows = new Float64Array(PINK_ROWS);
  private counter = 0;
  private rowSum = 0;
  private scale = 0;

  constructor(options: ComfortNoiseOptions) {
    this.pink = (options.color ?? 'white') === 'pink';
    this.state = (options.seed ?? 0x2545f491) | 0 || 0x2545f491;
    this.setLevel(options.levelDbov);
    if (this.pink) {
      for (let k = 0; k < PINK_ROWS; k++) {
        this.rows[k] = this.uniform();
        this.rowSum += this.rows[k];
      }
    }
  }

  /** Changes the level (a new SID frame arrived). */
  setLevel(levelDbov: number): void {
    if (!(levelDbov <= 0 && levelDbov >= -127)) {
      throw new DspError('INVALID_ARGUMENT', `comfort noise level ${levelDbov} dBov is out of range (-127..0)`);
    }
    const rms = 32768 * 10 ** (levelDbov / 20);
    // A uniform value in [-1, 1) has variance 1/3; the pink sum adds PINK_ROWS held ones and a fresh one.
    const variance = this.pink ? (PINK_ROWS + 1) / 3 : 1 / 3;
    this.scale = rms / Math.sqrt(variance);
  }

  private uniform(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s;
    return (s | 0) / 2147483648;
  }

  fill(out: Int16Array): number {
    for (let i = 0; i < out.length; i++) {
      let v: number;
      if (this.pink) {
        this.counter = (this.counter + 1) >>> 0;
        // The row whose index is the number of trailing zeros of the counter changes this sample.
        // (The counter wraps after 2^32 samples; 0 then counts as the slowest row.)
        const lowest = this.counter & -this.counter;
        const k = lowest === 0 ? PINK_ROWS - 1 : Math.min(PINK_ROWS - 1, 31 - Math.clz32(lowest));
        const fresh = this.uniform();
        this.rowSum += fresh - this.rows[k];
        this.rows[k] = fresh;
        v = this.rowSum + this.uniform();
      } else {
        v = this.uniform();
      }
      const x = v * this.scale;
      out[i] = x >= 32767 ? 32767 : x <= -32768 ? -32768 : Math.round(x);
    }
    return out.length;
  }
}
