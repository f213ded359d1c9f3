// DSP hot paths, nanoseconds per sample: resampling on the six 8/16/48 kHz paths, in-band DTMF detection, tone and
// comfort-noise generation, gain/mix helpers. Run with `npm run bench -- dsp`.
import {
  ComfortNoiseGenerator,
  createResampler,
  DtmfDetector,
  gainFromDb,
  levelDbov,
  mixInto,
  TonePlayer,
  tonePreset,
} from '@switchyard/media';

function sine(rate, n, freqs) {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (const f of freqs) v += 8000 * Math.sin((2 * Math.PI * f * i) / rate);
    out[i] = Math.round(v);
  }
  return out;
}

/** ns per unit for `fn` (which returns how many units it did), after a warm-up. */
function measure(calls, fn) {
  for (let i = 0; i < Math.min(calls, 500); i++) fn();
  let units = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) units += fn();
  return Number(process.hrtime.bigint() - t0) / units;
}

export default async function () {
  const rows = [];
  for (const [from, to] of [
    [8000, 16000],
    [16000, 8000],
    [8000, 48000],
    [48000, 8000],
    [16000, 48000],
    [48000, 16000],
  ]) {
    const r = createResampler(from, to);
    const input = sine(from, from / 50, [1000]);
    const output = new Int16Array(r.maxOutputLength(input.length));
    rows.push([
      `resample ${from} -> ${to} Hz (20 ms frames)`,
      'output sample',
      measure(4000, () => r.process(input, output)).toFixed(1),
    ]);
  }
  for (const rate of [8000, 16000]) {
    const d = new DtmfDetector({ sampleRate: rate, onDigit: () => {} });
    const tone = sine(rate, rate / 50, [697, 1209]);
    const quiet = new Int16Array(rate / 50);
    rows.push([
      `DtmfDetector ${rate} Hz, digit present`,
      'sample',
      measure(4000, () => {
        d.process(tone);
        return tone.length;
      }).toFixed(1),
    ]);
    rows.push([
      `DtmfDetector ${rate} Hz, silence`,
      'sample',
      measure(4000, () => {
        d.process(quiet);
        return quiet.length;
      }).toFixed(1),
    ]);
  }
  const frame = new Int16Array(160);
  const tp = new TonePlayer(tonePreset('ringback', 'us'), 8000);
  rows.push(['TonePlayer 440+480 Hz', 'sample', measure(20000, () => tp.fill(frame)).toFixed(1)]);
  const cn = new ComfortNoiseGenerator({ levelDbov: -50, color: 'pink', seed: 1 });
  rows.push(['ComfortNoiseGenerator pink', 'sample', measure(20000, () => cn.fill(frame)).toFixed(1)]);
  const acc = new Int16Array(160);
  const g = gainFromDb(-6);
  rows.push(['mixInto with gain', 'sample', measure(50000, () => mixInto(acc, frame, g)).toFixed(2)]);
  rows.push([
    'levelDbov',
    'sample',
    measure(50000, () => {
      levelDbov(frame);
      return frame.length;
    }).toFixed(2),
  ]);
  return { title: 'DSP (ns per unit)', columns: ['operation', 'unit', 'ns'], rows };
}
