// Bit-exactness against Debian's libspandsp G.722 (a C implementation) on signals beyond the ITU vectors: a small
// C harness (bench/c/spandsp_codec.c) is compiled with gcc and run on speech-like and noise signals, in frames of
// 10-60 ms with state kept across frames. Levels stay below the point where the transmit QMF output needs the
// clause 5.2.1 limiting that spandsp omits.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { G722Decoder, G722Encoder } from '../../src/codecs/g722.js';

const harnessSource = join(dirname(fileURLToPath(import.meta.url)), '../../../../bench/c/spandsp_codec.c');
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasSpandsp = existsSync('/usr/include/spandsp/g722.h');
const available = hasGcc && hasSpandsp && existsSync(harnessSource);
if (!available) {
  console.warn('g722-spandsp: gcc or libspandsp-dev missing; run `bash scripts/install-system-deps.sh` (skipping)');
}

let workDir = '';
let harness = '';
function buildHarness(): string {
  if (harness) return harness;
  workDir = mkdtempSync(join(tmpdir(), 'g722-spandsp-'));
  harness = join(workDir, 'spandsp_codec');
  execFileSync('gcc', ['-O2', '-o', harness, harnessSource, '-lspandsp', '-lm']);
  return harness;
}
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** xorshift32: deterministic noise without Math.random. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Vowel-like signal: a 100-250 Hz glottal pulse train through two formant resonators, with syllable envelope. */
function speechLike(samples: number, seed: number): Int16Array {
  const rnd = prng(seed);
  const out = new Int16Array(samples);
  let f1 = 0;
  let f1b = 0;
  let f2 = 0;
  let f2b = 0;
  let phase = 0;
  let pitch = 100 + 150 * rnd();
  for (let i = 0; i < samples; i++) {
    if (i % 1600 === 0) pitch = 100 + 150 * rnd();
    phase += pitch / 16000;
    let excitation = 0;
    if (phase >= 1) {
      phase -= 1;
      excitation = 1;
    }
    excitation += 0.05 * (rnd() - 0.5);
    const a1 = 2 * 0.97 * Math.cos((2 * Math.PI * 700) / 16000);
    const y1 = excitation + a1 * f1 - 0.9409 * f1b;
    f1b = f1;
    f1 = y1;
    const a2 = 2 * 0.95 * Math.cos((2 * Math.PI * 1800) / 16000);
    const y2 = y1 + a2 * f2 - 0.9025 * f2b;
    f2b = f2;
    f2 = y2;
    const envelope = 0.5 + 0.5 * Math.sin((2 * Math.PI * i) / 4000);
    out[i] = Math.max(-12000, Math.min(12000, Math.round(y2 * 150 * envelope)));
  }
  return out;
}

function noise(samples: number, seed: number, amplitude: number): Int16Array {
  const rnd = prng(seed);
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round((rnd() * 2 - 1) * amplitude);
  return out;
}

function runHarness(
  mode: 'g722-enc' | 'g722-dec' | 'g722-enc8' | 'g722-dec8',
  frame: number,
  input: Uint8Array,
): Uint8Array {
  const r = spawnSync(buildHarness(), [mode, String(frame)], { input, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`harness failed: ${r.stderr?.toString()}`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length);
}

function pcmBytes(pcm: Int16Array): Uint8Array {
  const b = new Uint8Array(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) {
    b[2 * i] = pcm[i] & 0xff;
    b[2 * i + 1] = (pcm[i] >> 8) & 0xff;
  }
  return b;
}

function encodeFramed(pcm: Int16Array, frame: number): Uint8Array {
  const enc = new G722Encoder();
  const out = new Uint8Array(pcm.length >> 1);
  let n = 0;
  for (let i = 0; i < pcm.length; i += frame) n += enc.encodeInto(pcm.subarray(i, i + frame), out.subarray(n));
  return out.subarray(0, n);
}

function decodeFramed(codes: Uint8Array, frame: number): Uint8Array {
  const dec = new G722Decoder();
  const out = new Int16Array(codes.length * 2);
  let n = 0;
  for (let i = 0; i < codes.length; i += frame) n += dec.decodeInto(codes.subarray(i, i + frame), out.subarray(n));
  return pcmBytes(out.subarray(0, n));
}

function firstMismatch(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const signals: [string, () => Int16Array][] = [
  ['speech-like', () => speechLike(16000 * 3, 7)],
  ['white noise', () => noise(16000 * 2, 99, 6000)],
  ['quiet noise', () => noise(16000, 3, 40)],
];
const frameMs = [10, 20, 30, 60];

describe.skipIf(!available)('G.722 against libspandsp (C)', () => {
  for (const [name, make] of signals) {
    it(`${name}: encode and decode byte for byte in 10-60 ms frames`, () => {
      const pcm = make();
      for (const ms of frameMs) {
        const samples = 16 * ms;
        const cCodes = runHarness('g722-enc', samples, pcmBytes(pcm));
        const ours = encodeFramed(pcm, samples);
        expect(firstMismatch(ours, cCodes), `encode ${ms} ms`).toBe(-1);
        const cPcm = runHarness('g722-dec', samples / 2, cCodes);
        expect(firstMismatch(decodeFramed(cCodes, samples / 2), cPcm), `decode ${ms} ms`).toBe(-1);
      }
    });
  }
  it("8 kHz mode: lower sub-band encode and decode byte for byte with spandsp's G722_SAMPLE_RATE_8000", () => {
    for (const [, make] of signals) {
      // the 16 kHz test signals read as 8 kHz PCM, louder too: the lower band alone meets no QMF limiting
      const pcm = make().map((v) => Math.max(-32768, Math.min(32767, v * 2)));
      for (const ms of frameMs) {
        const samples = 8 * ms;
        const cCodes = runHarness('g722-enc8', samples, pcmBytes(pcm));
        const enc = new G722Encoder();
        const ours = new Uint8Array(pcm.length);
        for (let i = 0; i < pcm.length; i += samples) {
          enc.encodeNarrowbandInto(pcm.subarray(i, i + samples), ours.subarray(i));
        }
        expect(firstMismatch(ours, cCodes), `encode ${ms} ms`).toBe(-1);
        const cPcm = runHarness('g722-dec8', samples, cCodes);
        const dec = new G722Decoder();
        const back = new Int16Array(cCodes.length);
        for (let i = 0; i < cCodes.length; i += samples) {
          dec.decodeLowBandInto(cCodes.subarray(i, i + samples), back.subarray(i));
        }
        expect(firstMismatch(pcmBytes(back), cPcm), `decode ${ms} ms`).toBe(-1);
      }
    }
  });

  it('decodes arbitrary (random) codewords like spandsp, except where spandsp wraps instead of limiting', () => {
    // Random codewords drive the receive QMF past 16 bits. G.722 limits the output there (as the ITU reference
    // does and as this decoder passes the ITU vectors); spandsp truncates to int16, which wraps the sign.
    const rnd = prng(2024);
    const codes = Uint8Array.from({ length: 8000 }, () => Math.floor(rnd() * 256));
    const dec = new G722Decoder();
    const ours = new Int16Array(codes.length * 2);
    for (let i = 0; i < codes.length; i += 160) dec.decodeInto(codes.subarray(i, i + 160), ours.subarray(2 * i));
    const c = runHarness('g722-dec', 160, codes);
    let equal = 0;
    let wrapped = 0;
    for (let i = 0; i < ours.length; i++) {
      const theirs = ((c[2 * i] | (c[2 * i + 1] << 8)) << 16) >> 16;
      if (theirs === ours[i]) equal++;
      else if ((ours[i] === 32767 && theirs < 0) || (ours[i] === -32768 && theirs > 0)) wrapped++;
    }
    expect(equal + wrapped).toBe(ours.length);
    expect(equal).toBeGreaterThan(ours.length * 0.9);
  });
});
