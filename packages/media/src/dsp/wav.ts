// RIFF/WAVE reading and writing for prompts, voicemail and recordings (Microsoft "Multimedia Programming Interface
// and Data Specifications 1.0" for RIFF chunks; WAVE_FORMAT_EXTENSIBLE per the Windows WAVEFORMATEXTENSIBLE layout).
// Reading never throws anything but WavFormatError, whatever the bytes.

import { alawDecode, alawEncode, ulawDecode, ulawEncode } from '../codecs/g711.js';
import { resampleAll } from './resampler.js';

export type WavSampleFormat = 'pcm16' | 'ulaw' | 'alaw';

export interface WavAudio {
  sampleRate: number;
  channels: number;
  /** Decoded samples, interleaved when stereo. */
  samples: Int16Array;
  /** How the samples were stored in the file. */
  format: WavSampleFormat;
  /** True when the data chunk claimed more bytes than the file holds (an interrupted upload); what is there is kept. */
  truncated: boolean;
}

export type WavFormatErrorCode = 'NOT_WAVE' | 'MALFORMED' | 'UNSUPPORTED_FORMAT' | 'NO_AUDIO';

/** The file is not a WAV this module can read; `message` says why in words a user can act on. */
export class WavFormatError extends Error {
  readonly code: WavFormatErrorCode;
  constructor(code: WavFormatErrorCode, message: string) {
    super(message);
    this.name = 'WavFormatError';
    this.code = code;
  }
}

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_ALAW = 0x0006;
const FORMAT_MULAW = 0x0007;
const FORMAT_EXTENSIBLE = 0xfffe;

const COMPRESSED_NAMES: Record<number, string> = {
  2: 'Microsoft ADPCM',
  17: 'IMA ADPCM',
  34: 'TrueSpeech',
  49: 'GSM 6.10',
  64: 'G.721 ADPCM',
  69: 'G.726 ADPCM',
  80: 'MPEG',
  85: 'MP3',
  100: 'G.726 ADPCM',
  101: 'G.722 ADPCM',
  352: 'WMA',
  353: 'WMA',
  5648: 'AAC',
  26447: 'Ogg Vorbis',
  61868: 'FLAC',
};

/** Tail of the KSDATAFORMAT_SUBTYPE GUIDs (bytes 2..15); the first two bytes carry the format tag. */
const SUBTYPE_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

function fourcc(b: Uint8Array, off: number): string {
  return String.fromCharCode(b[off], b[off + 1], b[off + 2], b[off + 3]);
}

function hex(tag: number): string {
  return `0x${tag.toString(16).padStart(2, '0')}`;
}

interface FmtChunk {
  tag: number;
  channels: number;
  sampleRate: number;
  bits: number;
}

function parseFmt(view: DataView, off: number, size: number): FmtChunk {
  if (size < 16) throw new WavFormatError('MALFORMED', `the fmt chunk is ${size} bytes, at least 16 are needed`);
  let tag = view.getUint16(off, true);
  const channels = view.getUint16(off + 2, true);
  const sampleRate = view.getUint32(off + 4, true);
  const bits = view.getUint16(off + 14, true);
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavFormatError('MALFORMED', 'WAVE_FORMAT_EXTENSIBLE header is shorter than 40 bytes');
    const sub = off + 24;
    for (let i = 0; i < SUBTYPE_TAIL.length; i++) {
      if (view.getUint8(sub + 2 + i) !== SUBTYPE_TAIL[i]) {
        throw new WavFormatError('UNSUPPORTED_FORMAT', 'WAVE_FORMAT_EXTENSIBLE with a vendor-specific sub-format');
      }
    }
    tag = view.getUint16(sub, true);
    const validBits = view.getUint16(off + 18, true);
    if (validBits !== 0 && validBits !== bits) {
      throw new WavFormatError(
        'UNSUPPORTED_FORMAT',
        `${validBits}-bit samples in ${bits}-bit containers are not supported`,
      );
    }
  }
  return { tag, channels, sampleRate, bits };
}

function checkFormat(fmt: FmtChunk): WavSampleFormat {
  const { tag, bits, channels, sampleRate } = fmt;
  let format: WavSampleFormat;
  if (tag === FORMAT_PCM) {
    if (bits !== 16) {
      throw new WavFormatError(
        'UNSUPPORTED_FORMAT',
        bits === 8
          ? '8-bit PCM is not supported: convert to 16-bit'
          : `${bits}-bit PCM is not supported: convert to 16-bit`,
      );
    }
    format = 'pcm16';
  } else if (tag === FORMAT_MULAW || tag === FORMAT_ALAW) {
    if (bits !== 8) throw new WavFormatError('MALFORMED', `G.711 samples must be 8 bits, the header says ${bits}`);
    format = tag === FORMAT_MULAW ? 'ulaw' : 'alaw';
  } else if (tag === FORMAT_FLOAT) {
    throw new WavFormatError('UNSUPPORTED_FORMAT', 'floating-point WAV is not supported: convert to 16-bit PCM');
  } else {
    const name = COMPRESSED_NAMES[tag];
    throw new WavFormatError(
      'UNSUPPORTED_FORMAT',
      `compressed format ${hex(tag)}${name ? ` (${name})` : ''} is not supported: convert to 16-bit PCM`,
    );
  }
  if (channels !== 1 && channels !== 2) {
    throw new WavFormatError('UNSUPPORTED_FORMAT', `${channels} channels are not supported: mono or stereo only`);
  }
  if (sampleRate < 1000 || sampleRate > 384000) {
    throw new WavFormatError('UNSUPPORTED_FORMAT', `sample rate ${sampleRate} Hz is not supported`);
  }
  return format;
}

/** Parses a WAV file held in memory. */
export function readWav(bytes: Uint8Array): WavAudio {
  if (bytes.length < 12) throw new WavFormatError('NOT_WAVE', 'not a RIFF/WAVE file (too short)');
  const riff = fourcc(bytes, 0);
  if (riff === 'RIFX') throw new WavFormatError('UNSUPPORTED_FORMAT', 'big-endian RIFX files are not supported');
  if (riff === 'RF64') throw new WavFormatError('UNSUPPORTED_FORMAT', 'RF64 (over 4 GB) files are not supported');
  if (riff !== 'RIFF' || fourcc(bytes, 8) !== 'WAVE') throw new WavFormatError('NOT_WAVE', 'not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The RIFF size is often wrong in streamed recordings; the chunks themselves are trusted, bounded by the file.
  let fmt: FmtChunk | undefined;
  let dataOffset = -1;
  let dataLength = 0;
  let truncated = false;
  let off = 12;
  while (off + 8 <= bytes.length) {
    const id = fourcc(bytes, off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    const available = Math.min(size, bytes.length - body);
    if (id === 'fmt ') {
      if (available < size) throw new WavFormatError('MALFORMED', 'the file ends inside the fmt chunk');
      fmt ??= parseFmt(view, body, size);
    } else if (id === 'data' && dataOffset < 0) {
      dataOffset = body;
      dataLength = available;
      truncated = available < size;
    }
    // RIFF chunks are word aligned: an odd-sized chunk is followed by one pad byte. LIST, fact, cue... are skipped.
    off = body + size + (size & 1);
  }
  if (!fmt) throw new WavFormatError('MALFORMED', 'the file has no fmt chunk');
  const format = checkFormat(fmt);
  if (dataOffset < 0) throw new WavFormatError('NO_AUDIO', 'the file has no data chunk');
  const bytesPerSample = format === 'pcm16' ? 2 : 1;
  const frameBytes = bytesPerSample * fmt.channels;
  const frames = Math.floor(dataLength / frameBytes);
  const count = frames * fmt.channels;
  let samples: Int16Array;
  if (format === 'pcm16') {
    samples = new Int16Array(count);
    for (let i = 0; i < count; i++) samples[i] = view.getInt16(dataOffset + 2 * i, true);
  } else {
    const data = bytes.subarray(dataOffset, dataOffset + count);
    samples = format === 'ulaw' ? ulawDecode(data) : alawDecode(data);
  }
  return { sampleRate: fmt.sampleRate, channels: fmt.channels, samples, format, truncated };
}

export interface WavWriteOptions {
  sampleRate: number;
  /** 1 or 2; stereo samples are interleaved (default 1). */
  channels?: number;
  /** Storage format (default 'pcm16'); 'ulaw'/'alaw' encode with G.711 (format tags 7 and 6). */
  format?: WavSampleFormat;
}

/** Builds a WAV file from (interleaved) samples. */
export function writeWav(samples: Int16Array, options: WavWriteOptions): Uint8Array {
  const channels = options.channels ?? 1;
  const format = options.format ?? 'pcm16';
  const rate = options.sampleRate;
  if (channels !== 1 && channels !== 2) throw new WavFormatError('UNSUPPORTED_FORMAT', 'mono or stereo only');
  if (!Number.isInteger(rate) || rate < 1000 || rate > 384000) {
    throw new WavFormatError('UNSUPPORTED_FORMAT', `sample rate ${rate} Hz is not supported`);
  }
  if (samples.length % channels !== 0) {
    throw new WavFormatError('MALFORMED', 'stereo samples must come in left/right pairs');
  }
  const g711 = format !== 'pcm16';
  const bytesPerSample = g711 ? 1 : 2;
  const dataBytes = samples.length * bytesPerSample;
  const pad = dataBytes & 1;
  // Non-PCM formats carry cbSize and a fact chunk with the frame count (RIFF spec, "fact" chunk).
  const fmtSize = g711 ? 18 : 16;
  const factBytes = g711 ? 12 : 0;
  const total = 12 + 8 + fmtSize + factBytes + 8 + dataBytes + pad;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const put = (off: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[off + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  view.setUint32(4, total - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, format === 'pcm16' ? FORMAT_PCM : format === 'ulaw' ? FORMAT_MULAW : FORMAT_ALAW, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * channels * bytesPerSample, true);
  view.setUint16(32, channels * bytesPerSample, true);
  view.setUint16(34, bytesPerSample * 8, true);
  let off = 20 + fmtSize;
  if (g711) {
    view.setUint16(36, 0, true);
    put(off, 'fact');
    view.setUint32(off + 4, 4, true);
    view.setUint32(off + 8, samples.length / channels, true);
    off += 12;
  }
  put(off, 'data');
  view.setUint32(off + 4, dataBytes, true);
  off += 8;
  if (format === 'pcm16') {
    for (let i = 0; i < samples.length; i++) view.setInt16(off + 2 * i, samples[i], true);
  } else {
    out.set(format === 'ulaw' ? ulawEncode(samples) : alawEncode(samples), off);
  }
  return out;
}

/** Averages interleaved stereo to mono (mono input is returned as is). */
export function downmixToMono(samples: Int16Array, channels: number): Int16Array {
  if (channels === 1) return samples;
  if (channels !== 2) throw new WavFormatError('UNSUPPORTED_FORMAT', `${channels} channels are not supported`);
  const out = new Int16Array(samples.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (samples[2 * i] + samples[2 * i + 1]) >> 1;
  return out;
}

/**
 * What an uploaded prompt goes through: any WAV readWav accepts, as mono PCM at 8 or 16 kHz (stereo is averaged,
 * other rates are resampled with the anti-aliasing resampler). Throws WavFormatError with the reason otherwise.
 */
export function toTelephonyPcm(wav: WavAudio | Uint8Array, targetRate: 8000 | 16000): Int16Array {
  if (targetRate !== 8000 && targetRate !== 16000) {
    throw new WavFormatError('UNSUPPORTED_FORMAT', `telephony prompts are 8000 or 16000 Hz, not ${String(targetRate)}`);
  }
  const audio = wav instanceof Uint8Array ? readWav(wav) : wav;
  if (audio.samples.length < audio.channels) throw new WavFormatError('NO_AUDIO', 'the file holds no audio');
  const mono = downmixToMono(audio.samples, audio.channels);
  if (audio.sampleRate === targetRate) return mono === audio.samples ? mono.slice() : mono;
  try {
    return resampleAll(mono, audio.sampleRate, targetRate);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new WavFormatError('UNSUPPORTED_FORMAT', `cannot convert ${audio.sampleRate} Hz audio: ${why}`);
  }
}
