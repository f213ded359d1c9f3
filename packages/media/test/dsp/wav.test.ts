import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { alawDecode, alawEncode, ulawDecode, ulawEncode } from '../../src/codecs/g711.js';
import { readWav, toTelephonyPcm, WavFormatError, writeWav } from '../../src/dsp/index.js';
import { amplitudeAt, db, tone } from './signal.js';

function chunk(id: string, body: Uint8Array): Uint8Array {
  const pad = body.length & 1;
  const out = new Uint8Array(8 + body.length + pad);
  for (let i = 0; i < 4; i++) out[i] = id.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

function fmtBody(tag: number, channels: number, rate: number, bits: number, extra?: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + (extra ? 2 + extra.length : 0));
  const v = new DataView(out.buffer);
  v.setUint16(0, tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, (rate * channels * bits) / 8, true);
  v.setUint16(12, (channels * bits) / 8, true);
  v.setUint16(14, bits, true);
  if (extra) {
    v.setUint16(16, extra.length, true);
    out.set(extra, 18);
  }
  return out;
}

function riff(...chunks: Uint8Array[]): Uint8Array {
  const len = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(12 + len);
  out.set([0x52, 0x49, 0x46, 0x46], 0);
  new DataView(out.buffer).setUint32(4, 4 + len, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8);
  let off = 12;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

const pcmBytes = (s: Int16Array): Uint8Array =>
  new Uint8Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength));

function reason(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(WavFormatError);
    return (err as Error).message;
  }
  throw new Error('expected a WavFormatError');
}

describe('WAV', () => {
  it('round-trips PCM16 mono and stereo and G.711', () => {
    const mono = tone(8000, 800, [{ freq: 440, amplitude: 12000 }]);
    const a = readWav(writeWav(mono, { sampleRate: 8000 }));
    expect(a).toMatchObject({ sampleRate: 8000, channels: 1, format: 'pcm16', truncated: false });
    expect(a.samples).toEqual(mono);
    const stereo = tone(48000, 961 * 2, [{ freq: 1000, amplitude: 20000 }]);
    const b = readWav(writeWav(stereo, { sampleRate: 48000, channels: 2 }));
    expect(b.channels).toBe(2);
    expect(b.samples).toEqual(stereo);
    const odd = mono.subarray(0, 801 - 2);
    for (const format of ['ulaw', 'alaw'] as const) {
      const bytes = writeWav(odd, { sampleRate: 8000, format });
      expect(bytes.length % 2).toBe(0); // odd data chunk padded
      const c = readWav(bytes);
      expect(c.format).toBe(format);
      expect(c.samples).toEqual(format === 'ulaw' ? ulawDecode(ulawEncode(odd)) : alawDecode(alawEncode(odd)));
    }
  });

  it('skips LIST and odd-sized chunks, reads WAVE_FORMAT_EXTENSIBLE and truncated data', () => {
    const s = Int16Array.from([1, -2, 3, -4, 32767, -32768]);
    const list = chunk('LIST', new TextEncoder().encode('INFOISFT\u0005\u0000\u0000\u0000sox!!'));
    expect(list.length % 2).toBe(0);
    const ext = new Uint8Array(22);
    const ev = new DataView(ext.buffer);
    ev.setUint16(0, 16, true); // valid bits
    ev.setUint32(2, 4, true); // channel mask: front centre
    ext.set([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 6);
    const file = riff(
      chunk('fmt ', fmtBody(0xfffe, 1, 16000, 16, ext)),
      list,
      chunk('junk', Uint8Array.of(9)),
      chunk('data', pcmBytes(s)),
    );
    const w = readWav(file);
    expect(w).toMatchObject({ sampleRate: 16000, channels: 1, format: 'pcm16' });
    expect(w.samples).toEqual(s);
    // The sub-format GUID's first two bytes carry the real tag: mu-law (7) here.
    const extU = ext.slice();
    new DataView(extU.buffer).setUint16(0, 8, true);
    extU[6] = 0x07;
    const codes = Uint8Array.from([0x00, 0x7f, 0x80, 0xff]);
    const u = readWav(riff(chunk('fmt ', fmtBody(0xfffe, 2, 8000, 8, extU)), chunk('data', codes)));
    expect(u).toMatchObject({ channels: 2, format: 'ulaw' });
    expect(u.samples).toEqual(ulawDecode(codes));
    // A data chunk that claims more than the file holds: keep the whole frames that are there.
    const cut = file.subarray(0, file.length - 3);
    const t = readWav(cut);
    expect(t.truncated).toBe(true);
    expect(t.samples).toEqual(s.subarray(0, 4));
  });

  it('refuses what it cannot read, with a reason', () => {
    expect(reason(() => readWav(new TextEncoder().encode('ID3\u0004 this is an mp3 file')))).toBe(
      'not a RIFF/WAVE file',
    );
    const eight = riff(chunk('fmt ', fmtBody(1, 1, 8000, 8)), chunk('data', new Uint8Array(10)));
    expect(reason(() => readWav(eight))).toBe('8-bit PCM is not supported: convert to 16-bit');
    const mp3 = riff(chunk('fmt ', fmtBody(0x55, 2, 44100, 0)), chunk('data', new Uint8Array(10)));
    expect(reason(() => readWav(mp3))).toMatch(/^compressed format 0x55 \(MP3\) is not supported/);
    const float = riff(chunk('fmt ', fmtBody(3, 1, 8000, 32)), chunk('data', new Uint8Array(8)));
    expect(reason(() => readWav(float))).toMatch(/floating-point/);
    const six = riff(chunk('fmt ', fmtBody(1, 6, 48000, 16)), chunk('data', new Uint8Array(24)));
    expect(reason(() => readWav(six))).toMatch(/6 channels/);
    expect(reason(() => readWav(riff(chunk('data', new Uint8Array(4)))))).toMatch(/no fmt chunk/);
    expect(reason(() => readWav(riff(chunk('fmt ', fmtBody(1, 1, 8000, 16)))))).toMatch(/no data chunk/);
    expect(
      reason(() =>
        toTelephonyPcm(riff(chunk('fmt ', fmtBody(1, 1, 8000, 16)), chunk('data', new Uint8Array(0))), 8000),
      ),
    ).toMatch(/no audio/);
  });

  it('never throws anything but WavFormatError on random or mutated input', () => {
    const valid = writeWav(tone(8000, 40, [{ freq: 500, amplitude: 1000 }]), { sampleRate: 8000, format: 'ulaw' });
    const check = (bytes: Uint8Array): void => {
      try {
        const w = readWav(bytes);
        expect(w.samples.length % w.channels).toBe(0);
        toTelephonyPcm(w, 8000);
      } catch (err) {
        if (!(err instanceof WavFormatError)) throw err;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 300 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(valid.length),
        (edits, cut) => {
          const b = valid.slice(0, Math.max(12, cut));
          for (const [pos, v] of edits) if (pos < b.length) b[pos] = v;
          check(b);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('converts prompts to telephony PCM (downmix + resample)', () => {
    const left = tone(48000, 48000, [{ freq: 1000, amplitude: 10000 }]);
    const stereo = new Int16Array(96000);
    for (let i = 0; i < 48000; i++) {
      stereo[2 * i] = left[i];
      stereo[2 * i + 1] = left[i];
    }
    const pcm = toTelephonyPcm(writeWav(stereo, { sampleRate: 48000, channels: 2 }), 8000);
    expect(pcm.length).toBe(8000);
    expect(Math.abs(db(amplitudeAt(pcm, 8000, 1000, 800, 7200) / 10000))).toBeLessThan(0.1);
    const wide = toTelephonyPcm(
      readWav(writeWav(tone(8000, 800, [{ freq: 300, amplitude: 5000 }]), { sampleRate: 8000 })),
      16000,
    );
    expect(wide.length).toBe(1600);
    expect(reason(() => toTelephonyPcm(writeWav(left, { sampleRate: 48000 }), 48000 as 8000))).toMatch(/8000 or 16000/);
  });
});

function hasSox(): boolean {
  try {
    execFileSync('sox', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const sox = hasSox();
if (!sox) console.warn('sox is not installed: skipping WAV interop tests (run bash scripts/install-system-deps.sh)');

describe.skipIf(!sox)('WAV files written by sox', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-wav-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cases: { name: string; args: string[]; rate: number; channels: number; format: string }[] = [
    {
      name: 'pcm8k',
      args: ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer'],
      rate: 8000,
      channels: 1,
      format: 'pcm16',
    },
    {
      name: 'pcm48k',
      args: ['-r', '48000', '-c', '2', '-b', '16', '-e', 'signed-integer'],
      rate: 48000,
      channels: 2,
      format: 'pcm16',
    },
    { name: 'ulaw', args: ['-r', '8000', '-c', '1', '-e', 'u-law'], rate: 8000, channels: 1, format: 'ulaw' },
    { name: 'alaw', args: ['-r', '8000', '-c', '1', '-e', 'a-law'], rate: 8000, channels: 1, format: 'alaw' },
  ];
  for (const c of cases) {
    it(`reads sox's ${c.name} WAV and matches its raw output`, () => {
      const wav = join(dir, `${c.name}.wav`);
      const raw = join(dir, `${c.name}.raw`);
      execFileSync('sox', ['-n', ...c.args, wav, 'synth', '0.25', 'sine', '700', 'sine', '1300', 'gain', '-3']);
      execFileSync('sox', [wav, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', raw]);
      const w = readWav(new Uint8Array(readFileSync(wav)));
      expect(w).toMatchObject({ sampleRate: c.rate, channels: c.channels, format: c.format, truncated: false });
      const r = new Uint8Array(readFileSync(raw));
      const expected = new Int16Array(r.buffer, r.byteOffset, r.byteLength >> 1);
      expect(w.samples.length).toBe(expected.length);
      expect(w.samples).toEqual(expected);
    });
  }
});
