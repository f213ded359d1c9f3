// Encoder/decoder construction by SDP encoding name (RFC 3551 names; case-insensitive as SDP rtpmap is).
import type { AudioDecoder, AudioEncoder, CodecOptions } from './codec.js';
import { PitchConcealingDecoder } from './concealment.js';
import { UnsupportedCodecError } from './errors.js';
import { G711Decoder, G711Encoder } from './g711.js';
import { G722Decoder, G722Encoder } from './g722.js';
import { L16Decoder, L16Encoder } from './l16.js';
import { OpusDecoder, OpusEncoder } from './opus.js';

function l16Options(options: CodecOptions | undefined): [number, number] {
  const rate = options?.sampleRate ?? 8000;
  const channels = options?.channels ?? 1;
  if (!Number.isInteger(rate) || rate < 1000 || rate > 192000) {
    throw new UnsupportedCodecError('L16', `sample rate ${String(rate)}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 8) {
    throw new UnsupportedCodecError('L16', `channels ${String(channels)}`);
  }
  return [rate, channels];
}

function checkMono(encoding: string, options: CodecOptions | undefined, rate: number): void {
  if (options?.channels !== undefined && options.channels !== 1) {
    throw new UnsupportedCodecError(encoding, `channels ${String(options.channels)}`);
  }
  if (options?.sampleRate !== undefined && options.sampleRate !== rate) {
    throw new UnsupportedCodecError(encoding, `sample rate ${String(options.sampleRate)}`);
  }
}

/**
 * RFC 7587 section 7: Opus is always signalled as opus/48000/2, whatever the stream carries; this codec sends mono
 * and decodes any packet to mono (libopus downmixes), so both channel counts are accepted.
 */
function checkOpus(options: CodecOptions | undefined): void {
  if (options?.channels !== undefined && options.channels !== 1 && options.channels !== 2) {
    throw new UnsupportedCodecError('opus', `channels ${String(options.channels)}`);
  }
  if (options?.sampleRate !== undefined && options.sampleRate !== 48000) {
    throw new UnsupportedCodecError('opus', `sample rate ${String(options.sampleRate)}`);
  }
}

/** Creates an encoder; throws UnsupportedCodecError for unknown names or options the codec cannot honour. */
export function createEncoder(encoding: string, options?: CodecOptions): AudioEncoder {
  switch (String(encoding).toUpperCase()) {
    case 'PCMU':
      checkMono('PCMU', options, 8000);
      return new G711Encoder('PCMU');
    case 'PCMA':
      checkMono('PCMA', options, 8000);
      return new G711Encoder('PCMA');
    case 'G722':
      checkMono('G722', options, 16000);
      return new G722Encoder();
    case 'L16': {
      const [rate, channels] = l16Options(options);
      return new L16Encoder(rate, channels);
    }
    case 'OPUS':
      checkOpus(options);
      return new OpusEncoder();
    default:
      throw new UnsupportedCodecError(String(encoding));
  }
}

/** Creates a decoder; throws UnsupportedCodecError for unknown names or options the codec cannot honour. */
export function createDecoder(encoding: string, options?: CodecOptions): AudioDecoder {
  switch (String(encoding).toUpperCase()) {
    case 'PCMU':
      checkMono('PCMU', options, 8000);
      return new G711Decoder('PCMU');
    case 'PCMA':
      checkMono('PCMA', options, 8000);
      return new G711Decoder('PCMA');
    case 'G722':
      checkMono('G722', options, 16000);
      // G.722's own concealment (predictors decaying on a zero difference) is near silence after a few ms
      return new PitchConcealingDecoder(new G722Decoder());
    case 'L16': {
      const [rate, channels] = l16Options(options);
      return new L16Decoder(rate, channels);
    }
    case 'OPUS':
      checkOpus(options);
      return new OpusDecoder();
    default:
      throw new UnsupportedCodecError(String(encoding));
  }
}
