// Opus (RFC 6716, RTP payload RFC 7587) on libopus compiled to WebAssembly (libopus-wasm.ts). Chosen over the native
// @discordjs/opus and opusscript because it alone reaches libopus' in-band FEC decode and PLC calls, needs no native
// build, and costs what opusscript does; native runs 1.3-2x faster (our encode takes 1.7-3.8 % of a core per
// channel against its 1.3-1.9 %, decode 0.2 % against 0.14 %; bench/codecs.bench.mjs times all three).
// Steady-state encoding and decoding allocate nothing: PCM and packets go through buffers this codec owns on the
// libopus heap.
import type { AudioDecoder, AudioEncoder } from './codec.js';
import { CodecBufferError, CodecError } from './errors.js';
import { LibOpus } from './libopus-wasm.js';

// opus_defines.h
const OPUS_APPLICATION_VOIP = 2048;
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_SIGNAL = 4024;
const OPUS_SIGNAL_VOICE = 3001;

/** Opus frame durations allowed by RFC 6716 section 2.1.4, in samples at 48 kHz. */
const FRAME_SIZES = new Set([120, 240, 480, 960, 1920, 2880]);
/** The longest a packet decodes to: 120 ms (RFC 6716 section 3.2.5). */
const MAX_DECODED = 5760;
/** RFC 6716 section 3.4: a frame never exceeds 1275 bytes; a packet of several frames stays under 1500 here. */
const MAX_PACKET = 1500;
/** PLC and FEC decode whole multiples of 2.5 ms (120 samples at 48 kHz). */
const PLC_STEP = 120;

// Buffer's copy works on any Uint8Array source and, unlike subarray + set, makes no view per call
const copyBytes = Buffer.prototype.copy;

export interface OpusEncoderOptions {
  /** Target bitrate in bit/s (default 32000). */
  bitrate?: number;
  /** In-band FEC (LBRR) in every packet so a receiver can rebuild a lost frame from the next one (default true). */
  fec?: boolean;
  /** Expected loss percentage that tunes the FEC amount (default 5; FEC is only coded when above 0). */
  packetLossPercent?: number;
  /** The libopus instance to use (default the thread's). */
  lib?: LibOpus;
}

function check(lib: LibOpus, code: number, what: string): number {
  if (code < 0) throw new CodecError('MALFORMED_PAYLOAD', `opus ${what}: ${lib.errorText(code)}`);
  return code;
}

/** Opus encoder, 48 kHz mono, VOIP application. One call encodes one frame (2.5-60 ms); output is one RTP payload. */
export class OpusEncoder implements AudioEncoder {
  readonly encoding = 'opus';
  readonly sampleRate = 48000;
  private readonly lib: LibOpus;
  private readonly options: Required<Omit<OpusEncoderOptions, 'lib'>>;
  private readonly state: number;
  private readonly pcmAt: number;
  private readonly packetAt: number;

  constructor(options: OpusEncoderOptions = {}) {
    this.lib = options.lib ?? LibOpus.shared();
    this.options = {
      bitrate: options.bitrate ?? 32000,
      fec: options.fec ?? true,
      packetLossPercent: options.packetLossPercent ?? 5,
    };
    this.state = this.lib.alloc(this.lib.api.opus_encoder_get_size(1), this);
    this.pcmAt = this.lib.alloc(2880 * 2, this);
    this.packetAt = this.lib.alloc(MAX_PACKET, this);
    this.reset();
  }

  reset(): void {
    const api = this.lib.api;
    check(this.lib, api.opus_encoder_init(this.state, 48000, 1, OPUS_APPLICATION_VOIP), 'encoder init');
    check(this.lib, api.opus_encoder_ctl_set(this.state, OPUS_SET_BITRATE, this.options.bitrate), 'bitrate');
    check(this.lib, api.opus_encoder_ctl_set(this.state, OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE), 'signal');
    check(this.lib, api.opus_encoder_ctl_set(this.state, OPUS_SET_INBAND_FEC, this.options.fec ? 1 : 0), 'fec');
    const loss = Math.max(0, Math.min(100, Math.round(this.options.packetLossPercent)));
    check(this.lib, api.opus_encoder_ctl_set(this.state, OPUS_SET_PACKET_LOSS_PERC, loss), 'loss percentage');
  }

  encodeInto(pcm: Int16Array, out: Uint8Array): number {
    const n = pcm.length;
    if (!FRAME_SIZES.has(n)) throw new CodecBufferError(`opus frame of ${n} samples is not 2.5/5/10/20/40/60 ms`);
    const lib = this.lib;
    lib.heap16.set(pcm, this.pcmAt >> 1);
    const room = Math.min(out.length, MAX_PACKET);
    const len = lib.api.opus_encode(this.state, this.pcmAt, n, this.packetAt, room);
    if (len < 0) throw new CodecBufferError(`opus encode: ${lib.errorText(len)} (output holds ${out.length})`);
    copyBytes.call(lib.heapU8 as Buffer, out, 0, this.packetAt, this.packetAt + len);
    return len;
  }

  /** Allocating convenience form. */
  encode(pcm: Int16Array): Uint8Array {
    const out = new Uint8Array(MAX_PACKET);
    return out.slice(0, this.encodeInto(pcm, out));
  }
}

export interface OpusDecoderOptions {
  /** The libopus instance to use (default the thread's). */
  lib?: LibOpus;
}

/**
 * Opus decoder, 48 kHz mono output (stereo packets are downmixed by libopus). A lost frame is rebuilt from the
 * in-band FEC of the packet after it when that one is at hand (`recoverInto`), else concealed by libopus' PLC
 * (`conceal`, RFC 6716 section 4.4).
 */
export class OpusDecoder implements AudioDecoder {
  readonly encoding = 'opus';
  readonly sampleRate = 48000;
  private readonly lib: LibOpus;
  private readonly state: number;
  private readonly pcmAt: number;
  private readonly packetAt: number;
  private lastOut: Int16Array | undefined;
  private lastOutBytes: Uint8Array = new Uint8Array(0);

  constructor(options: OpusDecoderOptions = {}) {
    this.lib = options.lib ?? LibOpus.shared();
    this.state = this.lib.alloc(this.lib.api.opus_decoder_get_size(1), this);
    this.pcmAt = this.lib.alloc(MAX_DECODED * 2, this);
    this.packetAt = this.lib.alloc(MAX_PACKET, this);
    this.reset();
  }

  reset(): void {
    check(this.lib, this.lib.api.opus_decoder_init(this.state, 48000, 1), 'decoder init');
  }

  decodeInto(payload: Uint8Array, out: Int16Array): number {
    return this.decodeSlot(payload, payload.length, out);
  }

  /** Decodes the first `length` bytes of `buf` (a jitter-buffer slot, so no view is made per packet). */
  decodeSlot(buf: Uint8Array, length: number, out: Int16Array): number {
    if (length <= 0) return this.conceal(out, 960);
    if (length > MAX_PACKET) throw new CodecError('MALFORMED_PAYLOAD', `opus packet of ${length} bytes`);
    const lib = this.lib;
    copyBytes.call(buf as Buffer, lib.heapU8, this.packetAt, 0, length);
    const n = check(lib, lib.api.opus_decode(this.state, this.packetAt, length, this.pcmAt, MAX_DECODED, 0), 'decode');
    return this.copyOut(n, out);
  }

  decode(data: Uint8Array): Int16Array {
    const out = new Int16Array(MAX_DECODED);
    return out.slice(0, this.decodeInto(data, out));
  }

  /**
   * Rebuilds the `samples` of a lost frame from the LBRR (in-band FEC) data carried by the packet that follows it
   * (RFC 6716 section 2.1.7); libopus falls back to PLC when that packet has none. Decode `next` itself afterwards.
   */
  recoverInto(next: Uint8Array, length: number, out: Int16Array, samples: number): number {
    const n = this.plcSamples(out, samples);
    if (n === 0 || length <= 0 || length > MAX_PACKET) return this.conceal(out, samples);
    const lib = this.lib;
    copyBytes.call(next as Buffer, lib.heapU8, this.packetAt, 0, length);
    const got = lib.api.opus_decode(this.state, this.packetAt, length, this.pcmAt, n, 1);
    if (got < 0) return this.conceal(out, samples); // a malformed next packet: it fails again when decoded
    this.copyOut(got, out);
    out.fill(0, got, Math.min(samples, out.length));
    return Math.min(samples, out.length);
  }

  /** libopus PLC (RFC 6716 section 4.4): extrapolates from the decoder state, fading out over a long loss. */
  conceal(out: Int16Array, samples: number): number {
    const n = this.plcSamples(out, samples);
    const lib = this.lib;
    const got = n === 0 ? 0 : lib.api.opus_decode(this.state, 0, 0, this.pcmAt, n, 0);
    if (got > 0) this.copyOut(got, out);
    const m = Math.min(samples, out.length);
    out.fill(0, Math.max(0, got), m);
    return m;
  }

  /** The part of a lost stretch PLC and FEC can produce: whole 2.5 ms steps, at most 120 ms. */
  private plcSamples(out: Int16Array, samples: number): number {
    const want = Math.min(samples, out.length, MAX_DECODED);
    return want > 0 ? want - (want % PLC_STEP) : 0;
  }

  private copyOut(n: number, out: Int16Array): number {
    if (n > out.length) throw new CodecBufferError(`output holds ${out.length} samples, needs ${n}`);
    // a byte view of the caller's frame, kept while it passes the same one (the engine does), for a memcpy
    if (out !== this.lastOut) {
      this.lastOut = out;
      this.lastOutBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    copyBytes.call(this.lib.heapU8 as Buffer, this.lastOutBytes, 0, this.pcmAt, this.pcmAt + 2 * n);
    return n;
  }
}
