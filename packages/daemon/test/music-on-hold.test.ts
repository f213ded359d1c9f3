import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav, writeWav } from '@switchyard/media';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import { CHIME_NOTES_HZ, chimePattern, MusicOnHoldError, prepareMusicOnHold } from '../src/music-on-hold.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-moh-'));
  dirs.push(d);
  return d;
}

/** Power of `f` in `x` (Goertzel), normalised by length. */
function power(x: Int16Array, f: number, rate: number): number {
  const k = 2 * Math.cos((2 * Math.PI * f) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const v of x) {
    const s = v + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / x.length;
}

const config = (moh: string) =>
  `sip:\n  listen: ["udp://127.0.0.1:5060"]\n  domain: x\ndata: /tmp/x\nmedia:\n  musicOnHold: ${moh}\n`;

describe('music on hold', () => {
  it('the built-in chime plays its notes one after another, quietly, then pauses', () => {
    const rate = 16000;
    const pcm = chimePattern(rate);
    const noteLength = Math.round(0.36 * rate);
    CHIME_NOTES_HZ.forEach((f, i) => {
      const note = pcm.subarray(i * noteLength, i * noteLength + Math.round(0.3 * rate));
      const others = CHIME_NOTES_HZ.filter((g) => g !== f).map((g) => power(note, g, rate));
      expect(power(note, f, rate)).toBeGreaterThan(100 * Math.max(...others));
    });
    const peak = pcm.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(1000);
    expect(peak).toBeLessThan(4000); // about -24 dBov: gentle
    expect(pcm.subarray(CHIME_NOTES_HZ.length * noteLength).every((v) => v === 0)).toBe(true);
  });

  it('writes the chime, or converts a configured file to 16 kHz mono', () => {
    const data = folder();
    const chime = readWav(readFileSync(prepareMusicOnHold(data, undefined)));
    expect([chime.sampleRate, chime.channels]).toEqual([16000, 1]);
    const stereo = new Int16Array(44100 * 2).map((_, i) => Math.round(8000 * Math.sin((i >> 1) / 10)));
    const source = join(data, 'song.wav');
    writeFileSync(source, writeWav(stereo, { sampleRate: 44100, channels: 2 }));
    const converted = readWav(readFileSync(prepareMusicOnHold(data, source)));
    expect([converted.sampleRate, converted.channels]).toEqual([16000, 1]);
    expect(Math.abs(converted.samples.length - 16000)).toBeLessThan(50);
  });

  it('refuses a file that is not a WAV, saying why, at config check and at conversion', () => {
    const data = folder();
    const bad = join(data, 'moh.mp3');
    writeFileSync(bad, 'ID3 not a wave file at all');
    let error: unknown;
    try {
      parseConfig(config(bad), 'pbx.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.objectContaining({
        field: 'media.musicOnHold',
        line: 6,
        message: expect.stringMatching(/not a usable WAV/),
      }),
    ]);
    expect(() => prepareMusicOnHold(data, bad)).toThrow(MusicOnHoldError);
    const missing = (() => {
      try {
        parseConfig(config(join(data, 'nope.wav')), 'pbx.yaml');
      } catch (err) {
        return (err as ConfigError).problems[0].message;
      }
      return '';
    })();
    expect(missing).toMatch(/cannot read .*ENOENT/);
  });
});
