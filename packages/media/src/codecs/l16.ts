// L16: 16-bit linear PCM in network byte order (RFC 3551 section 4.5.11), interleaved when multichannel.
import type { AudioDecoder, AudioEncoder } from './codec.js';
import { CodecBufferError } from './errors.js';

export class L16Encoder implements AudioEncoder {
  readonly encoding = 'L16';
  readonly sampleRate: number;
  readonly channels: number;
  constructor(sampleRate = 8000, channels = 1) {
    this.sampleRate = sampleRate;
    this.channels = channels;
  }
  encodeInto(pcm: Int16Array, out: Uint8Array): number {
    const n = pcm.length;
    if (out.length < 2 * n) throw new CodecBufferError(`output holds ${out.length} bytes, needs ${2 * n}`);
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      const s = pcm[i];
      out[j] = (s >> 8) & 0xff;
      out[j + 1] = s & 0xff;
    }
    return 2 * n;
  }
  reset(): void {}
}

export class L16Decoder implements AudioDecoder {
  readonly encoding = 'L16';
  readonly sampleRate: number;
  readonly channels: number;
  constructor(sampleRate = 8000, channels = 1) {
    this.sampleRate = sampleRate;
    this.channels = channels;
  }
  /** A trailing odd byte (malformed payload) is ignored. */
  decodeInto(payload: Uint8Array, out: Int16Array): number {
    const n = payload.length >> 1;
    if (out.length < n) throw new CodecBufferError(`output holds ${out.length} samples, needs ${n}`);
    for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = (payload[j] << 8) | payload[j + 1];
    return n;
  }
  /** No model of the signal: silence. */
  conceal(out: Int16Array, samples: number): number {
    const n = Math.min(samples, out.length);
    out.fill(0, 0, n);
    return n;
  }
  reset(): void {}
}
