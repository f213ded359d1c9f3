import { MediaEngineError } from './errors.js';

/** One voice in a conference mix: the session writes `input` each tick and reads what it should hear from `output`. */
export interface MixParticipant {
  readonly id: string;
  /** This tick's speech at the mixer rate; the session fills it and sets `hasInput`. */
  readonly input: Int16Array;
  /** What this participant hears: everyone else, after `mix()`. */
  readonly output: Int16Array;
  hasInput: boolean;
  /**
   * Voice activity of this tick's decoded frame (at any rate, before resampling): true when the frame should go into
   * the mix (speech, or the hangover after it), false for silence and background noise, which are left out so that
   * only talkers are mixed. Without a voice threshold every frame of an unmuted participant counts.
   */
  detectVoice(pcm: Int16Array): boolean;
  /** After `mix()`: this participant contributed nothing this tick, so it hears the shared mix, `mixer.shared`. */
  readonly hearsShared: boolean;
}

export interface TalkerLevel {
  id: string;
  /** Mean power over the window in dBFS (0 is a full-scale square wave). */
  levelDb: number;
}

export interface ConferenceMixerOptions {
  /** Mix rate; 16 kHz is wideband and covers G.711 and G.722 participants without loss. */
  sampleRate?: number;
  /** Samples per tick (20 ms at 16 kHz = 320). */
  frameSamples?: number;
  /** Ticks over which talker energy is averaged before a report. */
  talkerWindowTicks?: number;
  /** Report at most this many talkers, loudest first. */
  maxTalkers?: number;
  /** Quieter than this (dBFS) is not talking. */
  talkerThresholdDb?: number;
  /**
   * Voice activity gate: a frame whose mean power (dBFS, as talker levels) is below this is silence and is not
   * mixed, unless it falls within the hangover after speech. Undefined: no gate, every input is mixed.
   */
  voiceThresholdDb?: number;
  /** Ticks after the last frame above the voice threshold that are still mixed, so word endings are not clipped. */
  voiceHangoverTicks?: number;
}

const GAIN_ONE = 4096; // Q12 fixed point: unity gain
const MAX_GAIN = 8; // keeps |sample * gain| < 2^18, so N participants sum safely in int32
const FULL_SCALE_POWER = 32768 * 32768;

/** The voice gate's settings, shared by a mixer's participants: the power threshold as a mean square. */
interface VoiceGate {
  readonly meanSquare: number;
  readonly hangoverTicks: number;
}

class Participant implements MixParticipant {
  readonly id: string;
  readonly input: Int16Array;
  readonly output: Int16Array;
  /** This tick's contribution after gain (0 when muted or silent). */
  readonly contribution: Int32Array;
  hasInput = false;
  contributed = false;
  muted = false;
  gainQ12 = GAIN_ONE;
  energy = 0;
  /** Ticks of hangover left after the last frame above the voice threshold. */
  hangover = 0;
  private readonly gate: VoiceGate | undefined;
  constructor(id: string, frameSamples: number, gate: VoiceGate | undefined) {
    this.id = id;
    this.input = new Int16Array(frameSamples);
    this.output = new Int16Array(frameSamples);
    this.contribution = new Int32Array(frameSamples);
    this.gate = gate;
  }

  get hearsShared(): boolean {
    return !this.contributed;
  }

  detectVoice(pcm: Int16Array): boolean {
    if (this.muted || this.gainQ12 === 0) {
      this.hangover = 0; // nobody hears it anyway: no mix of its own, no resampling
      return false;
    }
    const gate = this.gate;
    if (!gate) return true;
    const n = pcm.length;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += pcm[i] * pcm[i];
    if (n > 0 && sum >= gate.meanSquare * n) {
      this.hangover = gate.hangoverTicks;
      return true;
    }
    if (this.hangover > 0) {
      this.hangover--;
      return true;
    }
    return false;
  }
}

/**
 * N-party mixer: every participant hears the sum of all others (sum minus self), accumulated in int32 and clamped
 * to 16 bits, with per-participant mute and gain and a loudest-talker report. `mix()` allocates nothing.
 *
 * With a voice gate (`voiceThresholdDb`) only talkers are mixed, as conference bridges do: a participant whose
 * frames are silence or background noise adds nothing, and it hears the same mix as every other such participant,
 * `shared` (the clamped sum of all talkers), so a caller can resample and encode that once for all of them. Only
 * talkers get a mix of their own (all talkers minus themselves).
 */
export class ConferenceMixer {
  readonly sampleRate: number;
  readonly frameSamples: number;
  private readonly participants: Participant[] = [];
  private readonly total: Int32Array;
  private readonly everyone: Int16Array;
  private readonly gate: VoiceGate | undefined;
  /** Mean square of `shared` this tick (0 when nobody talks). */
  sharedPower = 0;
  private readonly windowTicks: number;
  private readonly maxTalkers: number;
  private readonly thresholdDb: number;
  private ticksInWindow = 0;
  private lastTalkers: TalkerLevel[] = [];

  constructor(options: ConferenceMixerOptions = {}) {
    this.sampleRate = options.sampleRate ?? 16000;
    this.frameSamples = options.frameSamples ?? (this.sampleRate / 1000) * 20;
    this.windowTicks = Math.max(1, options.talkerWindowTicks ?? 10);
    this.maxTalkers = Math.max(1, options.maxTalkers ?? 3);
    this.thresholdDb = options.talkerThresholdDb ?? -45;
    this.total = new Int32Array(this.frameSamples);
    this.everyone = new Int16Array(this.frameSamples);
    const db = options.voiceThresholdDb;
    if (db !== undefined) {
      const hangover = options.voiceHangoverTicks ?? 15;
      if (!Number.isFinite(db) || db > 0 || !Number.isInteger(hangover) || hangover < 0) {
        throw new MediaEngineError('INVALID_ARGUMENT', 'voice threshold must be <= 0 dBFS, hangover whole ticks >= 0');
      }
      this.gate = { meanSquare: FULL_SCALE_POWER * 10 ** (db / 10), hangoverTicks: hangover };
    }
  }

  /** After `mix()`: what every participant that contributed nothing this tick hears (all talkers, clamped). */
  get shared(): Int16Array {
    return this.everyone;
  }

  get size(): number {
    return this.participants.length;
  }

  add(id: string): MixParticipant {
    if (this.find(id)) throw new MediaEngineError('INVALID_ARGUMENT', `participant ${id} already in the mix`);
    const p = new Participant(id, this.frameSamples, this.gate);
    this.participants.push(p);
    return p;
  }

  remove(id: string): boolean {
    const i = this.participants.findIndex((p) => p.id === id);
    if (i < 0) return false;
    this.participants.splice(i, 1);
    return true;
  }

  has(id: string): boolean {
    return this.find(id) !== undefined;
  }

  setMuted(id: string, muted: boolean): void {
    this.get(id).muted = muted;
  }

  /** Linear gain applied to what this participant says (0..8). */
  setGain(id: string, gain: number): void {
    if (!Number.isFinite(gain) || gain < 0 || gain > MAX_GAIN) {
      throw new MediaEngineError('INVALID_ARGUMENT', `gain must be within 0..${MAX_GAIN}`);
    }
    this.get(id).gainQ12 = Math.round(gain * GAIN_ONE);
  }

  /** Mixes one tick: reads every `input` that has `hasInput`, writes every `output`, clears `hasInput`. */
  mix(): void {
    const n = this.frameSamples;
    const total = this.total;
    total.fill(0);
    const ps = this.participants;
    for (let k = 0; k < ps.length; k++) {
      const p = ps[k];
      p.contributed = p.hasInput && !p.muted && p.gainQ12 > 0;
      if (!p.hasInput) p.hangover = 0; // no packets: the talk spurt is over
      p.hasInput = false;
      if (!p.contributed) continue;
      const input = p.input;
      const c = p.contribution;
      const g = p.gainQ12;
      let energy = 0;
      for (let i = 0; i < n; i++) {
        const v = (input[i] * g) >> 12;
        c[i] = v;
        total[i] += v;
        energy += v * v;
      }
      p.energy += energy / n;
    }
    // Everyone who said nothing (silent, muted, gain 0) hears the same clamped total: computed once, then copied.
    const everyone = this.everyone;
    let power = 0;
    for (let i = 0; i < n; i++) {
      const t = total[i];
      const v = t > 32767 ? 32767 : Math.max(t, -32768);
      everyone[i] = v;
      power += v * v;
    }
    this.sharedPower = power / n;
    for (let k = 0; k < ps.length; k++) {
      const p = ps[k];
      const out = p.output;
      if (p.contributed) {
        const c = p.contribution;
        for (let i = 0; i < n; i++) {
          const v = total[i] - c[i];
          out[i] = v > 32767 ? 32767 : Math.max(v, -32768);
        }
      } else {
        out.set(everyone);
      }
    }
    this.ticksInWindow++;
  }

  /**
   * After each full talker window, returns the loudest talkers (loudest first) if the list of who is talking
   * changed since the last report, otherwise undefined. Call once per tick after `mix()`.
   */
  takeTalkerReport(): TalkerLevel[] | undefined {
    if (this.ticksInWindow < this.windowTicks) return undefined;
    const talkers: TalkerLevel[] = [];
    for (const p of this.participants) {
      const mean = p.energy / this.ticksInWindow;
      p.energy = 0;
      if (mean <= 0) continue;
      const levelDb = 10 * Math.log10(mean / FULL_SCALE_POWER);
      if (levelDb >= this.thresholdDb) talkers.push({ id: p.id, levelDb });
    }
    this.ticksInWindow = 0;
    talkers.sort((a, b) => b.levelDb - a.levelDb);
    if (talkers.length > this.maxTalkers) talkers.length = this.maxTalkers;
    const same = talkers.length === this.lastTalkers.length && talkers.every((t, i) => t.id === this.lastTalkers[i].id);
    this.lastTalkers = talkers;
    return same ? undefined : talkers;
  }

  private find(id: string): Participant | undefined {
    for (const p of this.participants) if (p.id === id) return p;
    return undefined;
  }

  private get(id: string): Participant {
    const p = this.find(id);
    if (!p) throw new MediaEngineError('INVALID_ARGUMENT', `participant ${id} not in the mix`);
    return p;
  }
}
