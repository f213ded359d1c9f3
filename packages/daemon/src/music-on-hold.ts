// Music on hold: what a held party hears. The config's `media.musicOnHold` WAV is converted once to 16 kHz mono
// PCM in the data folder (the engine's players then only resample to 8 kHz for narrowband calls); without one, a
// gentle chime made by the tone generator, so the held party knows the call is still there.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TonePlayer, toTelephonyPcm, writeWav } from '@switchyard/media';

const RATE = 16000;
/** The chime: a soft rising and falling arpeggio (C5 E5 G5 E5), then a pause; quiet (-24 dBov) so it never startles. */
export const CHIME_NOTES_HZ: readonly number[] = [523.25, 659.25, 783.99, 659.25];
const NOTE_MS = 300;
const GAP_MS = 60;
const PAUSE_MS = 1500;
const LEVEL_DBOV = -24;

/** One period of the built-in chime at `sampleRate`. */
export function chimePattern(sampleRate = RATE): Int16Array {
  const note = Math.round((NOTE_MS * sampleRate) / 1000);
  const gap = Math.round((GAP_MS * sampleRate) / 1000);
  const out = new Int16Array(CHIME_NOTES_HZ.length * (note + gap) + Math.round((PAUSE_MS * sampleRate) / 1000));
  let at = 0;
  for (const f of CHIME_NOTES_HZ) {
    // One on/off cadence pair per note: the tone generator ramps both edges, so the notes do not click.
    const player = new TonePlayer({ frequencies: [f], levelDbov: LEVEL_DBOV, cadence: [NOTE_MS, GAP_MS] }, sampleRate);
    player.fill(out.subarray(at, at + note + gap));
    at += note + gap;
  }
  return out;
}

/** A music-on-hold source that cannot be used; the message says why. */
export class MusicOnHoldError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'MusicOnHoldError';
  }
}

/**
 * Writes the music on hold into `<data>/moh/` (a WAV at 16 kHz mono) and returns its path: `source` converted, or
 * the chime when there is none. The file is replaced atomically, so a call starting hold meanwhile reads a whole one.
 */
export function prepareMusicOnHold(dataDir: string, source: string | undefined): string {
  let pcm: Int16Array;
  if (source === undefined) pcm = chimePattern(RATE);
  else {
    try {
      pcm = toTelephonyPcm(readFileSync(source), RATE);
    } catch (err) {
      throw new MusicOnHoldError(source, `${source} cannot be music on hold: ${(err as Error).message}`);
    }
  }
  const folder = join(dataDir, 'moh');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const file = join(folder, source === undefined ? 'chime.wav' : 'music-on-hold.wav');
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, writeWav(pcm, { sampleRate: RATE }));
  renameSync(temp, file);
  return file;
}
