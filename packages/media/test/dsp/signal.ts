// Test signal helpers: tone synthesis and single-frequency measurement (a Goertzel/DFT bin, computed directly).

export function tone(
  rate: number,
  samples: number,
  parts: { freq: number; amplitude: number; phase?: number }[],
): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) {
    let v = 0;
    for (const p of parts) v += p.amplitude * Math.sin((2 * Math.PI * p.freq * i) / rate + (p.phase ?? 0));
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

/** Amplitude of the `freq` component of `x[start, end)` (Hann window, so nearby tones and edges leak little). */
export function amplitudeAt(x: ArrayLike<number>, rate: number, freq: number, start = 0, end = x.length): number {
  let re = 0;
  let im = 0;
  let wsum = 0;
  const n = end - start;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n);
    const a = (2 * Math.PI * freq * i) / rate;
    re += w * x[start + i] * Math.cos(a);
    im -= w * x[start + i] * Math.sin(a);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

export function rms(x: ArrayLike<number>, start = 0, end = x.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, end - start));
}

export const db = (ratio: number): number => 20 * Math.log10(ratio);
