// Opus (RFC 6716, RTP payload RFC 7587) through the native @discordjs/opus binding of libopus. A failed load is kept
// so the rest of the codec module works where the addon could not be built; construction then throws
// UnsupportedCodecError.
import { createRequire } from 'node:module';
import type { AudioDecoder, AudioEncoder } from './codec.js';
import { CodecBufferError, CodecError, UnsupportedCodecError } from './errors.js';

interface NativeOpus {
  encode(buf: Buffer): Buffer;
  decode(buf: Buffer): Buffer;
  applyEncoderCTL(ctl: number, value: number): void;
  applyDecoderCTL(ctl: number, value: number): void;
  setBitrate(bitrate: number): void;
}
type NativeOpusClass = new (rate: number, channels: number) => NativeOpus;

/** The binding, or why it could not be loaded; resolved once when this module loads. */
const NATIVE: { opus: NativeOpusClass } | { error: string } = (() => {
  try {
    const req = createRequire(import.meta.url);
    return { opus: (req('@discordjs/opus') as { OpusEncoder: NativeOpusClass }).OpusEncoder };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
})();

function loadNative(): NativeOpusClass {
  if ('opus' in NATIVE) return NATIVE.opus;
  throw new UnsupportedCodecError('opus', `native libopus binding unavailable (${NATIVE.error})`);
}

// libopus CTL request numbers (opus_defines.h).
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_SIGNAL = 4024;
const OPUS_SIGNAL_VOICE = 3001;

/** Opus frame durations allowed by RFC 6716 section 2.1.4, in samples at 48 kHz. */
const FRAME_SIZES = new Set([120, 240, 480, 960, 1920, 2880]);
const MAX_FRAME = 2880;

export interface OpusEncoderOptions {
  /** Target bitrate in bit/s (default 32000). */
  bitrate?: number;
  /** In-band FEC (LBRR) in every packet so a receiver can rebuild a lost frame from the next one (default true). */
  fec?: boolean;
  /** Expected loss percentage that tunes the FEC amount (default 5). */
  packetLossPercent?: number;
}

/** Opus encoder, 48 kHz mono. One call encodes one frame (2.5-60 ms); output is one RTP payload. */
export class OpusEncoder implements AudioEncoder {
  readonly encoding = 'opus';
  readonly sampleRate = 48000;
  private readonly options: Required<OpusEncoderOptions>;
  private native: NativeOpus;
  private readonly input = Buffer.alloc(MAX_FRAME * 2);
  // One Buffer view per frame size, created on first use, so steady-state encoding allocates only the addon's output.
  private readonly views = new Map<number, Buffer>();

  constructor(options: OpusEncoderOptions = {}) {
    this.options = {
      bitrate: options.bitrate ?? 32000,
      fec: options.fec ?? true,
      packetLossPercent: options.packetLossPercent ?? 5,
    };
    this.native = this.create();
  }

  private create(): NativeOpus {
    const n = new (loadNative())(48000, 1);
    n.setBitrate(this.options.bitrate);
    n.applyEncoderCTL(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE);
    n.applyEncoderCTL(OPUS_SET_INBAND_FEC, this.options.fec ? 1 : 0);
    n.applyEncoderCTL(OPUS_SET_PACKET_LOSS_PERC, this.options.packetLossPercent);
    return n;
  }

  encodeInto(pcm: Int16Array, out: Uint8Array): number {
    const n = pcm.length;
    if (!FRAME_SIZES.has(n)) throw new CodecBufferError(`opus frame of ${n} samples is not 2.5/5/10/20/40/60 ms`);
    let view = this.views.get(n);
    if (!view) {
      view = this.input.subarray(0, 2 * n);
      this.views.set(n, view);
    }
    const buf = this.input;
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      const s = pcm[i];
      buf[j] = s & 0xff;
      buf[j + 1] = (s >> 8) & 0xff;
    }
    const packet = this.native.encode(view);
    if (packet.length > out.length) throw new CodecBufferError(`output holds ${out.length}, needs ${packet.length}`);
    out.set(packet);
    return packet.length;
  }

  /** Allocating convenience form. */
  encode(pcm: Int16Array): Uint8Array {
    const out = new Uint8Array(1500);
    return out.slice(0, this.encodeInto(pcm, out));
  }

  reset(): void {
    this.native = this.create();
  }
}

const EMPTY = Buffer.alloc(0);

/** Opus decoder, 48 kHz mono output. Lost frames are concealed by libopus' own PLC (a decode without data). */
export class OpusDecoder implements AudioDecoder {
  readonly encoding = 'opus';
  readonly sampleRate = 48000;
  private native: NativeOpus;
  private lastFrame = 960;

  constructor() {
    this.native = new (loadNative())(48000, 1);
  }

  decodeInto(payload: Uint8Array, out: Int16Array): number {
    if (payload.length === 0) return this.conceal(out, this.lastFrame);
    let pcm: Buffer;
    try {
      pcm = this.native.decode(Buffer.from(payload.buffer, payload.byteOffset, payload.length));
    } catch (err) {
      throw new CodecError('MALFORMED_PAYLOAD', `opus packet rejected: ${err instanceof Error ? err.message : err}`);
    }
    const n = pcm.length >> 1;
    if (n > out.length) throw new CodecBufferError(`output holds ${out.length} samples, needs ${n}`);
    for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = pcm[j] | (pcm[j + 1] << 8);
    this.lastFrame = n;
    return n;
  }

  decode(data: Uint8Array): Int16Array {
    const out = new Int16Array(MAX_FRAME * 2);
    return out.slice(0, this.decodeInto(data, out));
  }

  /**
   * libopus PLC (RFC 6716 section 4.4). The binding decodes its maximum frame on loss; the first `samples` are used.
   */
  conceal(out: Int16Array, samples: number): number {
    const n = Math.min(samples, out.length);
    let pcm: Buffer;
    try {
      pcm = this.native.decode(EMPTY);
    } catch {
      out.fill(0, 0, n);
      return n;
    }
    const m = Math.min(n, pcm.length >> 1);
    for (let i = 0, j = 0; i < m; i++, j += 2) out[i] = pcm[j] | (pcm[j + 1] << 8);
    out.fill(0, m, n);
    return n;
  }

  reset(): void {
    this.native = new (loadNative())(48000, 1);
  }
}
