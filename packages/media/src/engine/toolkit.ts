// The engine's view of the codec, DSP and RTP building blocks (packages/media/src/{codecs,dsp,rtp}): the narrow
// shapes the worker needs, and the factories that turn a plain codec description into them, with the modules'
// own errors mapped to MediaEngineError codes.
import { readFileSync } from 'node:fs';
import { createDecoder, createEncoder, G722Encoder } from '../codecs/index.js';
import {
  createHalfbandResampler,
  createResampler,
  createTonePlayer,
  DtmfDetector,
  downmixToMono,
  readWav,
} from '../dsp/index.js';
import { MediaEngineError } from './errors.js';
import type { CodecDescription } from './types.js';

export interface PcmEncoder {
  readonly sampleRate: number;
  encodeInto(pcm: Int16Array, out: Uint8Array): number;
  /** G.722 only: 8 kHz PCM into the lower sub-band (G722Encoder.encodeNarrowbandInto). */
  encodeNarrowbandInto?(pcm8k: Int16Array, out: Uint8Array): number;
  reset(): void;
}

export interface PcmDecoder {
  readonly sampleRate: number;
  decodeInto(payload: Uint8Array, out: Int16Array): number;
  conceal(out: Int16Array, samples: number): number;
  decodeSlot?(buf: Uint8Array, length: number, out: Int16Array): number;
  recoverInto?(next: Uint8Array, length: number, out: Int16Array, samples: number): number;
  /** G.722 only: the lower sub-band alone as 8 kHz PCM (G722Decoder.decodeLowBandInto) and its concealment. */
  decodeLowBandInto?(payload: Uint8Array, out: Int16Array): number;
  concealLowBand?(out: Int16Array, samples: number): number;
  reset(): void;
}

export interface PcmResampler {
  process(input: Int16Array, output: Int16Array): number;
}

export interface InbandDtmfDetector {
  process(pcm: Int16Array): void;
}

export interface ToneSource {
  /** Fills `out` with the tone's next samples; returns how many (fewer when a finite tone ends). */
  fill(out: Int16Array): number;
}

const ENCODINGS = new Set(['PCMU', 'PCMA', 'G722', 'opus', 'L16']);

/**
 * The PCM rate a codec's encoder and decoder work at: G.722 samples at 16 kHz under an 8000 RTP clock (RFC 3551
 * 4.5.2), Opus is decoded at 48 kHz (RFC 7587 4.1), the others at their RTP clock rate.
 */
export function pcmRateOf(codec: CodecDescription): number {
  if (!ENCODINGS.has(codec.encoding)) {
    throw new MediaEngineError('UNSUPPORTED_CODEC', `unknown encoding ${String(codec.encoding)}`);
  }
  if (codec.encoding === 'G722') return 16000;
  if (codec.encoding === 'opus') return 48000;
  if (!Number.isInteger(codec.clockRate) || codec.clockRate < 8000 || codec.clockRate > 48000) {
    throw new MediaEngineError('INVALID_ARGUMENT', `bad clock rate ${codec.clockRate}`);
  }
  return codec.clockRate;
}

function codecOptions(codec: CodecDescription): { sampleRate?: number; channels: number } {
  const channels = codec.channels ?? 1;
  // Only L16 takes its rate from the RTP clock; the others have a fixed PCM rate (G.722's differs from its clock)
  return codec.encoding === 'L16' ? { sampleRate: codec.clockRate, channels } : { channels };
}

function wrap<T>(what: string, code: 'UNSUPPORTED_CODEC' | 'INVALID_ARGUMENT' | 'FILE_ERROR', make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof MediaEngineError) throw err;
    throw new MediaEngineError(code, `${what}: ${(err as Error)?.message ?? String(err)}`);
  }
}

export function makeEncoder(codec: CodecDescription): PcmEncoder {
  return wrap(`${codec.encoding} encoder`, 'UNSUPPORTED_CODEC', () =>
    createEncoder(codec.encoding, codecOptions(codec)),
  );
}

/**
 * Whether listeners of one codec can share one encoded stream: 'stateless' codecs (G.711, L16) encode each frame
 * on its own, so any frame can go to anyone; 'stateful' ones (G.722's ADPCM) can, provided a member that leaves
 * the shared stream continues from the shared encoder's state (`copyEncoderState`); undefined for codecs whose
 * state cannot be handed over (Opus): each member keeps its own encoder.
 */
export function encoderSharing(codec: CodecDescription): 'stateless' | 'stateful' | undefined {
  switch (codec.encoding) {
    case 'PCMU':
    case 'PCMA':
    case 'L16':
      return 'stateless';
    case 'G722':
      return 'stateful';
    default:
      return undefined;
  }
}

/** Makes `to` continue `from`'s stream (both made by makeEncoder for one 'stateful' codec); false if it cannot. */
export function copyEncoderState(to: PcmEncoder, from: PcmEncoder): boolean {
  if (to instanceof G722Encoder && from instanceof G722Encoder) {
    to.copyStateFrom(from);
    return true;
  }
  return false;
}

export function makeDecoder(codec: CodecDescription): PcmDecoder {
  return wrap(`${codec.encoding} decoder`, 'UNSUPPORTED_CODEC', () =>
    createDecoder(codec.encoding, codecOptions(codec)),
  );
}

export function makeResampler(from: number, to: number): PcmResampler {
  return wrap(`resampling ${from} to ${to} Hz`, 'UNSUPPORTED_CODEC', () => createResampler(from, to));
}

/**
 * The resampler of a live path (bridge, conference seat, stream): a 2:1 ratio (8 <-> 16 kHz, what G.711 against
 * G.722 and the 16 kHz mixer need every tick) takes the half-band filter, a quarter of the work for the telephone
 * band (dsp/halfband.ts states its response); other ratios the general polyphase filter.
 */
export function makeLiveResampler(from: number, to: number): PcmResampler {
  if (to === 2 * from || from === 2 * to) {
    return wrap(`resampling ${from} to ${to} Hz`, 'UNSUPPORTED_CODEC', () => createHalfbandResampler(from, to));
  }
  return makeResampler(from, to);
}

/** In-band DTMF (ITU-T Q.24) on decoded audio; `on` gets the digit and its length in ms when it ends. */
export function makeInbandDtmfDetector(rate: number, on: (digit: string, ms: number) => void): InbandDtmfDetector {
  return wrap('DTMF detector', 'INVALID_ARGUMENT', () => {
    const d = new DtmfDetector({
      sampleRate: rate,
      onDigit: (e) => on(e.digit, Math.round((e.durationSamples * 1000) / rate)),
    });
    return { process: (pcm: Int16Array) => d.process(pcm) };
  });
}

/** A tone preset ('dial', 'ringback', 'busy', 'congestion', 'callWaiting') of a country ('eu', 'it', 'uk', 'us'). */
export function makeToneSource(name: string, country: string | undefined, rate: number): ToneSource {
  return wrap(`tone ${name}`, 'INVALID_ARGUMENT', () => createTonePlayer(name, country, rate));
}

/** A prompt file as mono PCM at its own rate (the player resamples it once, at play time). */
export function readWavMono(file: string): { sampleRate: number; samples: Int16Array } {
  const bytes = wrap(`reading ${file}`, 'FILE_ERROR', () => readFileSync(file));
  return wrap(`WAV file ${file}`, 'FILE_ERROR', () => {
    const wav = readWav(bytes);
    return { sampleRate: wav.sampleRate, samples: downmixToMono(wav.samples, wav.channels) };
  });
}
