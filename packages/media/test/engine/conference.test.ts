// The conference path without sockets: members feed decoded frames to their seats, the room mixes, and what each
// member is sent (the shared frame, or its own encoding) is decoded by a far-end decoder that follows its stream,
// as its phone would.
import { describe, expect, it } from 'vitest';
import { Conference, OWN_STREAM_TICKS, type SharedStream } from '../../src/engine/conference.js';
import {
  makeDecoder,
  makeEncoder,
  makeLiveResampler,
  type PcmDecoder,
  type PcmEncoder,
  pcmRateOf,
} from '../../src/engine/toolkit.js';
import type { CodecDescription } from '../../src/engine/types.js';
import { toneAmplitude } from './phone.js';

const PCMU: CodecDescription = { payloadType: 0, encoding: 'PCMU', clockRate: 8000 };
const G722: CodecDescription = { payloadType: 9, encoding: 'G722', clockRate: 8000 };
const G722_DELAY = 22; // QMF delay of encoder plus decoder, in 16 kHz samples

class Bridge {
  private readonly r;
  constructor(from: number, to: number) {
    this.r = from === to ? undefined : makeLiveResampler(from, to);
  }
  run(input: Int16Array, output: Int16Array): void {
    if (!this.r) output.set(input.subarray(0, output.length));
    else if (this.r.process(input, output) < output.length) throw new Error('short resample');
  }
}

interface Member {
  codec: CodecDescription;
  rate: number;
  seat: ReturnType<Conference<unknown>['seat']>;
  encoder: PcmEncoder;
  decoder: PcmDecoder;
  out: Int16Array;
  payload: Uint8Array;
  /** What the engine meant the member to hear, and what its phone decodes, tick after tick. */
  intended: Int16Array[];
  heard: Int16Array[];
  /** Its mix (`participant.output`) through one resampler that never stops: what `intended` should be. */
  reference: Int16Array[];
  referenceBridge: Bridge;
  sharedTicks: number;
  sharedWith: (SharedStream | undefined)[];
}

function room(codecs: CodecDescription[], options = {}) {
  const conf = new Conference<unknown>('c', options, 20, (from, to) => new Bridge(from, to));
  const members: Member[] = codecs.map((codec, i) => {
    const rate = pcmRateOf(codec);
    return {
      codec,
      rate,
      seat: conf.seat(`m${i}`, false, 1, rate),
      encoder: makeEncoder(codec),
      decoder: makeDecoder(codec),
      out: new Int16Array(rate / 50),
      payload: new Uint8Array(1500),
      intended: [],
      heard: [],
      reference: [],
      referenceBridge: new Bridge(16000, rate),
      sharedTicks: 0,
      sharedWith: [],
    };
  });
  /** One tick: `said[i]` is member i's decoded frame at its rate (undefined: no packet). */
  const tick = (said: (Int16Array | undefined)[]) => {
    members.forEach((m, i) => {
      const f = said[i];
      if (f) m.seat.hear(f);
    });
    conf.mix();
    for (const m of members) {
      const sh = m.seat.speak(m.out, m.codec);
      let bytes: Uint8Array;
      if (sh) {
        bytes = sh.frame;
        m.sharedTicks++;
      } else {
        m.seat.continueSharedStream(m.encoder);
        bytes = m.payload.subarray(0, m.encoder.encodeInto(m.out, m.payload));
      }
      m.sharedWith.push(sh);
      const pcm = new Int16Array(m.out.length);
      expect(m.decoder.decodeInto(bytes, pcm)).toBe(m.out.length);
      m.intended.push(m.out.slice());
      const ref = new Int16Array(m.out.length);
      m.referenceBridge.run(m.seat.participant.output, ref);
      m.reference.push(ref);
      m.heard.push(pcm);
    }
  };
  return { conf, members, tick };
}

function concat(frames: Int16Array[], from = 0, to = frames.length): Int16Array {
  const n = frames[0]?.length ?? 0;
  const out = new Int16Array((to - from) * n);
  for (let i = from; i < to; i++) out.set(frames[i], (i - from) * n);
  return out;
}

/** Per tick, the far end's error power against what the engine meant it to hear (codec delay aligned), in dBFS. */
function errorDb(codec: CodecDescription, meantFrames: Int16Array[], heardFrames: Int16Array[]): number[] {
  const delay = codec.encoding === 'G722' ? G722_DELAY : 0;
  const meant = concat(meantFrames);
  const got = concat(heardFrames);
  const n = meantFrames[0].length;
  const db: number[] = [];
  for (let t = 0; t < heardFrames.length; t++) {
    let e = 0;
    for (let i = t * n; i < (t + 1) * n && i + delay < got.length; i++) e += (got[i + delay] - meant[i]) ** 2;
    db.push(10 * Math.log10(e / n / (32768 * 32768) + 1e-12));
  }
  return db;
}

/**
 * The member's error per tick, and the error of an ideal link for the same audio (one encoder and one decoder
 * that never switch): what the codec itself costs, onsets included.
 */
function linkErrors(m: Member): { actual: number[]; ideal: number[] } {
  const enc = makeEncoder(m.codec);
  const dec = makeDecoder(m.codec);
  const buf = new Uint8Array(1500);
  const ideal = m.intended.map((f) => {
    const out = new Int16Array(f.length);
    dec.decodeInto(buf.subarray(0, enc.encodeInto(f, buf)), out);
    return out;
  });
  return { actual: errorDb(m.codec, m.intended, m.heard), ideal: errorDb(m.codec, m.intended, ideal) };
}

/** Every tick from `from` on is within 6 dB of the ideal link's error (or below -65 dBFS, which nobody hears). */
function expectInStep(m: Member, label: string, from = 0): void {
  const { actual, ideal } = linkErrors(m);
  for (let t = from; t < actual.length; t++) {
    expect(actual[t], `${label}: error at tick ${t} (ideal ${ideal[t].toFixed(1)})`).toBeLessThan(
      Math.max(ideal[t] + 6, -65),
    );
  }
}

class Voice {
  private phase = 0;
  private seed: number;
  constructor(
    readonly freq: number,
    readonly amp: number,
    seed: number,
  ) {
    this.seed = seed;
  }
  /** A tone frame at `rate` when talking, else background noise near -66 dBFS. */
  frame(rate: number, talking: boolean): Int16Array {
    const out = new Int16Array(rate / 50);
    for (let i = 0; i < out.length; i++) {
      this.seed = (this.seed * 1103515245 + 12345) >>> 0;
      const noise = ((this.seed >>> 16) % 31) - 15;
      out[i] = noise + (talking ? Math.round(this.amp * Math.sin(this.phase)) : 0);
      this.phase += (2 * Math.PI * this.freq) / rate;
    }
    this.phase %= 2 * Math.PI;
    return out;
  }
}

const FREQS = [350, 620, 910, 1330, 1770, 2300];
const AMPS = [3000, 3500, 2500, 4000, 2800, 3300];
const CODECS = [PCMU, G722, PCMU, G722, G722, PCMU];

/** Runs a schedule (`talks(i, t)`) through a six-member room; returns the room and who talked when. */
function meeting(ticks: number, talks: (i: number, t: number) => boolean) {
  const r = room(CODECS);
  const voices = FREQS.map((f, i) => new Voice(f, AMPS[i], i + 1));
  for (let t = 0; t < ticks; t++) r.tick(r.members.map((m, i) => voices[i].frame(m.rate, talks(i, t))));
  return r;
}

/**
 * Checks, on 100 ms windows clear of any talk edge (plus the hangover), that each member hears every other talker
 * at its frequency and level, no silent member, and never itself (that on every window).
 */
function expectHearsTalkers(r: ReturnType<typeof room>, talks: (i: number, t: number) => boolean, edge = 20) {
  const ticks = r.members[0].heard.length;
  for (let w = 0; w + 5 <= ticks; w += 5) {
    const steady = (j: number) => {
      for (let t = Math.max(0, w - edge); t < Math.min(ticks, w + 5 + 2); t++)
        if (talks(j, t) !== talks(j, w)) return false;
      return true;
    };
    r.members.forEach((m, i) => {
      const pcm = concat(m.heard, w, w + 5);
      for (let j = 0; j < FREQS.length; j++) {
        const level = toneAmplitude(pcm, FREQS[j], m.rate);
        if (j === i) expect(level, `member ${i} hears itself at tick ${w}`).toBeLessThan(AMPS[j] * 0.05);
        else if (!steady(j)) continue;
        else if (talks(j, w)) {
          expect(level, `member ${i} hears ${j} at tick ${w}`).toBeGreaterThan(AMPS[j] * 0.8);
          expect(level, `member ${i} hears ${j} at tick ${w}`).toBeLessThan(AMPS[j] * 1.2);
        } else expect(level, `member ${i} hears silent ${j} at tick ${w}`).toBeLessThan(AMPS[j] * 0.05);
      }
    });
  }
}

describe('conference: talkers mixed, listeners share one encoded mix per codec', () => {
  // Turns with pauses between them: 0, then 1 and 3 together, then 2 and 0; 4 and 5 only listen.
  const turns = (i: number, t: number): boolean =>
    (i === 0 && t >= 10 && t < 70) ||
    ((i === 1 || i === 3) && t >= 100 && t < 160) ||
    (i === 2 && t >= 200 && t < 260) ||
    (i === 0 && t >= 240 && t < 330);

  it('each member hears every other talker at its frequency and level, never itself, across switches', () => {
    const r = meeting(360, turns);
    expectHearsTalkers(r, turns);
  });

  it('what a member hears joins up across switches: its mix through a resampler without a step', () => {
    const r = meeting(360, turns);
    for (const [i, m] of r.members.entries()) {
      const db = errorDb(PCMU, m.reference, m.intended); // no codec here: no delay
      // A member leaving its mix for the shared one loses its own hangover noise from the resampler's memory.
      for (let t = 0; t < db.length; t++) expect(db[t], `member ${i} tick ${t}`).toBeLessThan(-70);
    }
  });

  it('listeners of one codec are sent the same frame; talkers get their own', () => {
    const r = meeting(360, turns);
    for (let t = 0; t < 360; t++) {
      const byCodec = new Map<string, SharedStream>();
      r.members.forEach((m, i) => {
        const sh = m.sharedWith[t];
        // talking (or in its hangover): a mix of its own
        const recent = Array.from({ length: 16 }, (_, k) => t - k).some((k) => k >= 0 && turns(i, k));
        if (turns(i, t)) expect(sh, `talker ${i} at ${t}`).toBeUndefined();
        if (!sh) return;
        expect(recent && turns(i, t)).toBe(false);
        const other = byCodec.get(m.codec.encoding);
        if (other) expect(sh).toBe(other);
        byCodec.set(m.codec.encoding, sh);
      });
    }
    // The two pure listeners spend nearly the whole meeting on the shared stream.
    expect(r.members[4].sharedTicks).toBeGreaterThan(330);
    expect(r.members[5].sharedTicks).toBeGreaterThan(350);
    expect(r.conf.sharedStreams).toBe(2);
  });

  it('a G.722 member switches between the shared stream and its own without its decoder losing step', () => {
    // With a pause in the room after each turn, members rejoin the shared stream at a quiet tick; the start of a
    // talk spurt continues from the shared encoder's state. Either way the far end decodes what it was meant to.
    const r = meeting(360, turns);
    for (const i of [1, 3, 4]) expectInStep(r.members[i], `member ${i}`);
    for (const i of [0, 2, 5]) expectInStep(r.members[i], `member ${i}`);
  });

  it('without a quiet tick a stateful member rejoins within the bound, and the step decays', () => {
    // Member 4 is always talking, so the room is never quiet when member 1 stops.
    const busy = (i: number, t: number): boolean => (i === 4 && t >= 5) || (i === 1 && t >= 20 && t < 60);
    const r = meeting(200, busy);
    const m = r.members[1];
    const back = m.sharedWith.findIndex((sh, t) => t >= 60 && sh !== undefined);
    const hangover = 15;
    expect(back).toBe(60 + hangover + OWN_STREAM_TICKS - 1); // its own encoder on the shared mix until then
    const { actual, ideal } = linkErrors(m);
    for (let t = 0; t < actual.length; t++) {
      if (t >= back - 1 && t < back + 10) {
        // The step (the codec delay puts its start in the tick before): some 20 dB below the -24 dBFS tone.
        expect(actual[t], `step at tick ${t}`).toBeLessThan(-40);
        continue;
      }
      expect(actual[t], `error at tick ${t}`).toBeLessThan(Math.max(ideal[t] + 6, -65));
    }
    expectHearsTalkers(r, busy);
  });
});
