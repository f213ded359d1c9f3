// Conference load that sounds like a meeting: each phone sends, properly encoded, either speech-like talk spurts or
// its own background noise. A few "floor" slots hand the word from one participant to another, so a fixed number
// talk at any time and everyone else sends noise; `everyone: true` makes every participant talk all the time.
//
// The speech is synthetic but has what a voice activity detector and a codec care about: a harmonic source at a
// pitch that moves (80-260 Hz) with formant-shaped harmonics that change every syllable, syllables of 120-350 ms
// with short gaps and longer pauses between words, at -20 to -26 dBFS while voiced. The noise is low-passed white
// noise at -70 to -55 dBFS, different in every frame, so payloads vary as they do on a real line.
import { createEncoder } from '@switchyard/media';

/** Deterministic PRNG (mulberry32), so every run sends the same audio. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TABLE = 512; // one pitch period of the current syllable's waveform

/** A speech-like voice at `rate`: next(out, from, to) writes samples, syllable by syllable. */
function makeVoice(rng, rate) {
  const basePitch = 80 + rng() * 180;
  const peak = 32768 * 10 ** ((-17 - rng() * 6) / 20); // syllable peaks; the voiced RMS lands near -20..-26 dBFS
  const table = new Float64Array(TABLE + 1);
  let phase = 0;
  let pitch = basePitch;
  let left = 0; // samples left in the current syllable or gap
  let length = 1;
  let voiced = false;
  const nextSyllable = () => {
    if (voiced) {
      // a gap after each syllable; now and then a pause between words
      voiced = false;
      const ms = rng() < 0.25 ? 150 + rng() * 150 : rng() * 60;
      left = length = Math.max(1, Math.round((ms * rate) / 1000));
      return;
    }
    voiced = true;
    left = length = Math.round(((120 + rng() * 230) * rate) / 1000);
    pitch = basePitch * (0.85 + rng() * 0.3);
    const f1 = 300 + rng() * 500;
    const f2 = 900 + rng() * 1400;
    const nyquist = rate / 2 - 200;
    table.fill(0);
    for (let k = 1; k * pitch < nyquist; k++) {
      const f = k * pitch;
      const w = (1 / k) * (1 + 4 * Math.exp(-(((f - f1) / 120) ** 2)) + 2.5 * Math.exp(-(((f - f2) / 180) ** 2)));
      const ph = rng() * 2 * Math.PI;
      for (let i = 0; i <= TABLE; i++) table[i] += w * Math.sin((2 * Math.PI * k * i) / TABLE + ph);
    }
    let max = 0;
    for (let i = 0; i <= TABLE; i++) max = Math.max(max, Math.abs(table[i]));
    const scale = max > 0 ? peak / max : 0;
    for (let i = 0; i <= TABLE; i++) table[i] *= scale;
  };
  return {
    next(out, from, to) {
      for (let i = from; i < to; i++) {
        if (left <= 0) nextSyllable();
        left--;
        if (!voiced) continue;
        const pos = (length - left) / length;
        const env = Math.sin(Math.PI * pos) ** 2; // rise and fall of the syllable
        const x = phase * TABLE;
        const j = x | 0;
        const v = table[j] + (table[j + 1] - table[j]) * (x - j);
        out[i] += v * env;
        phase += pitch / rate;
        if (phase >= 1) phase -= 1;
      }
    },
  };
}

/** Background noise of one line: low-passed white noise at `db` dBFS (its own xorshift generator). */
function makeNoise(seed, db) {
  const rmsTarget = 32768 * 10 ** (db / 20);
  const a = 0.6; // one-pole low-pass: y = a y + (1 - a) x, whose output RMS is sqrt((1 - a) / (1 + a)) of x's
  // x uniform in (-1, 1) has RMS 1/sqrt(3); the integer draw below is scaled to that range.
  const gain = ((rmsTarget / Math.sqrt((1 - a) / (1 + a))) * Math.sqrt(3) * (1 - a)) / 2147483648;
  let x = seed | 1;
  let y = 0;
  return {
    next(out, from, to) {
      for (let i = from; i < to; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        y = a * y + x * gain;
        out[i] += y;
      }
    },
  };
}

/**
 * Encoded 20 ms frames for `codecs.length` participants over `frames` ticks: for each, a Uint8Array of
 * frames x 160 octets (G.711 at 8 kHz and G.722 at 64 kbit/s both make 160 per 20 ms). `talkers` participants talk
 * at any time (spurts of 0.8-2.4 s, then the word passes to someone else), unless `everyone` is set.
 */
export function conferenceLoad(codecs, frames, { talkers = 3, everyone = false, seed = 7 } = {}) {
  const n = codecs.length;
  const rng = prng(seed);
  // Who talks when: per participant, a flag per frame.
  const talking = Array.from({ length: n }, () => new Uint8Array(frames));
  if (everyone) for (const t of talking) t.fill(1);
  else {
    const busy = new Int32Array(n).fill(-1); // frame until which a participant holds a slot
    for (let slot = 0; slot < Math.min(talkers, n); slot++) {
      let f = Math.floor(rng() * 30); // the slots do not all change hands at once
      if (slot === 0) f = 0;
      while (f < frames) {
        let who = Math.floor(rng() * n);
        for (let k = 0; k < n && busy[who] >= f; k++) who = (who + 1) % n;
        const len = 40 + Math.floor(rng() * 80);
        const end = Math.min(frames, f + len);
        for (let i = f; i < end; i++) talking[who][i] = 1;
        busy[who] = end + 10;
        f = end + Math.floor(rng() * 10);
      }
    }
  }
  const out = [];
  let talkingFrames = 0;
  for (let p = 0; p < n; p++) {
    const enc = createEncoder(codecs[p]);
    const rate = enc.sampleRate;
    const samples = (rate * 20) / 1000;
    const r = prng(seed * 1000 + p + 1);
    const voice = makeVoice(r, rate);
    const noise = makeNoise(Math.floor(r() * 2 ** 31), -70 + r() * 15);
    const bytes = new Uint8Array(frames * 160);
    const pcmF = new Float64Array(samples);
    const pcm = new Int16Array(samples);
    const frame = new Uint8Array(160);
    for (let f = 0; f < frames; f++) {
      pcmF.fill(0);
      noise.next(pcmF, 0, samples);
      if (talking[p][f]) {
        voice.next(pcmF, 0, samples);
        talkingFrames++;
      }
      for (let i = 0; i < samples; i++) {
        const v = pcmF[i];
        pcm[i] = v > 32767 ? 32767 : Math.max(v, -32768);
      }
      const k = enc.encodeInto(pcm, frame);
      if (k !== 160) throw new Error(`${codecs[p]} made ${k} octets per 20 ms`);
      bytes.set(frame, f * 160);
    }
    out.push(bytes);
  }
  return { payloads: out, meanTalkers: talkingFrames / frames };
}
