// ITU-T G.711 mu-law and A-law (bit-exact with the G.191 STL reference). Encoding uses the 14 (mu) / 13 (A) most
// significant bits of the 16-bit input with one's complement for negative values (G.191 g711.c semantics), so
// every 16-bit input maps to the same octet as the ITU vectors. Lookup tables are built once at module load.
import type { AudioDecoder, AudioEncoder } from './codec.js';
import { CodecBufferError } from './errors.js';

function ulawCompressSample(x: number): number {
  // G.711 Table 2a: bias of 33 on the 14-bit magnitude, segment = position of the leading one.
  let mag = (x < 0 ? ~x >> 2 : x >> 2) + 33;
  if (mag > 0x1fff) mag = 0x1fff;
  let seg = 1;
  for (let i = mag >> 6; i !== 0; i >>= 1) seg++;
  const code = ((8 - seg) << 4) | (15 - ((mag >> seg) & 15));
  return x >= 0 ? code | 0x80 : code;
}

function ulawExpandSample(code: number): number {
  const inv = ~code & 0xff;
  const exp = (inv >> 4) & 7;
  const mant = inv & 15;
  const step = 4 << (exp + 1);
  const mag = (0x80 << exp) + step * mant + (step >> 1) - 4 * 33;
  return code < 0x80 ? -mag : mag;
}

function alawCompressSample(x: number): number {
  // G.711 Table 1a: 12-bit magnitude, segments 1..7 by leading one, even bits inverted on the wire.
  let mag = x < 0 ? ~x >> 4 : x >> 4;
  if (mag > 15) {
    let exp = 1;
    while (mag > 31) {
      mag >>= 1;
      exp++;
    }
    mag = mag - 16 + (exp << 4);
  }
  if (x >= 0) mag |= 0x80;
  return mag ^ 0x55;
}

function alawExpandSample(code: number): number {
  const ix = (code ^ 0x55) & 0x7f;
  const exp = ix >> 4;
  let mant = ix & 15;
  if (exp > 0) mant += 16;
  mant = (mant << 4) + 8;
  if (exp > 1) mant <<= exp - 1;
  return code & 0x80 ? mant : -mant;
}

// Index by the sample's 16 low bits (two's complement), so lookups need no sign handling.
const ULAW_ENCODE = new Uint8Array(65536);
const ALAW_ENCODE = new Uint8Array(65536);
const ULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let i = 0; i < 65536; i++) {
  const x = (i << 16) >> 16;
  ULAW_ENCODE[i] = ulawCompressSample(x);
  ALAW_ENCODE[i] = alawCompressSample(x);
}
for (let c = 0; c < 256; c++) {
  ULAW_DECODE[c] = ulawExpandSample(c);
  ALAW_DECODE[c] = alawExpandSample(c);
}

/** One linear sample (int16) to a mu-law octet. */
export function linearToUlaw(sample: number): number {
  return ULAW_ENCODE[sample & 0xffff];
}
/** One mu-law octet to a linear sample (int16). */
export function ulawToLinear(code: number): number {
  return ULAW_DECODE[code & 0xff];
}
/** One linear sample (int16) to an A-law octet (wire code, even bits inverted). */
export function linearToAlaw(sample: number): number {
  return ALAW_ENCODE[sample & 0xffff];
}
/** One A-law octet to a linear sample (int16). */
export function alawToLinear(code: number): number {
  return ALAW_DECODE[code & 0xff];
}

function checkRoom(need: number, have: number): void {
  if (have < need) throw new CodecBufferError(`output holds ${have}, needs ${need}`);
}

/** Encodes pcm into out (one octet per sample); returns the number of octets written. */
export function ulawEncodeInto(pcm: Int16Array, out: Uint8Array): number {
  const n = pcm.length;
  checkRoom(n, out.length);
  for (let i = 0; i < n; i++) out[i] = ULAW_ENCODE[pcm[i] & 0xffff];
  return n;
}
export function alawEncodeInto(pcm: Int16Array, out: Uint8Array): number {
  const n = pcm.length;
  checkRoom(n, out.length);
  for (let i = 0; i < n; i++) out[i] = ALAW_ENCODE[pcm[i] & 0xffff];
  return n;
}
/** Decodes octets into out; returns the number of samples written. */
export function ulawDecodeInto(data: Uint8Array, out: Int16Array): number {
  const n = data.length;
  checkRoom(n, out.length);
  for (let i = 0; i < n; i++) out[i] = ULAW_DECODE[data[i]];
  return n;
}
export function alawDecodeInto(data: Uint8Array, out: Int16Array): number {
  const n = data.length;
  checkRoom(n, out.length);
  for (let i = 0; i < n; i++) out[i] = ALAW_DECODE[data[i]];
  return n;
}

export function ulawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  ulawEncodeInto(pcm, out);
  return out;
}
export function alawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  alawEncodeInto(pcm, out);
  return out;
}
export function ulawDecode(data: Uint8Array): Int16Array {
  const out = new Int16Array(data.length);
  ulawDecodeInto(data, out);
  return out;
}
export function alawDecode(data: Uint8Array): Int16Array {
  const out = new Int16Array(data.length);
  alawDecodeInto(data, out);
  return out;
}

/**
 * G.711 packet loss concealment kept simple and allocation-free: repeat the last pitch-length stretch of decoded
 * audio with a fade (in the spirit of G.711 Appendix I, without its overlap-add), muting after 60 ms of loss.
 */
class G711Concealer {
  private readonly history = new Int16Array(390); // 48.75 ms at 8 kHz: enough for three 10 ms-ish pitch periods
  private filled = 0;
  private lostSamples = 0;
  private replayPos = 0;

  remember(pcm: Int16Array, n: number): void {
    const h = this.history;
    const size = h.length;
    if (n >= size) {
      h.set(pcm.subarray(n - size, n));
    } else {
      h.copyWithin(0, n);
      h.set(n === pcm.length ? pcm : pcm.subarray(0, n), size - n); // a whole frame: no view made per frame
    }
    this.filled = Math.min(size, this.filled + n);
    this.lostSamples = 0;
    this.replayPos = 0;
  }

  conceal(out: Int16Array, samples: number): number {
    const n = Math.min(samples, out.length);
    const h = this.history;
    const period = 80; // one 10 ms stretch: repeating it avoids a hard mute without pitch search
    if (this.filled < period) {
      out.fill(0, 0, n);
      return n;
    }
    const start = h.length - period;
    for (let i = 0; i < n; i++) {
      const lost = this.lostSamples + i;
      // linear fade from 1 to 0 over 480 samples (60 ms), then silence
      const gain = lost >= 480 ? 0 : 1 - lost / 480;
      out[i] = Math.round(h[start + ((this.replayPos + i) % period)] * gain);
    }
    this.replayPos = (this.replayPos + n) % period;
    this.lostSamples += n;
    return n;
  }

  reset(): void {
    this.history.fill(0);
    this.filled = 0;
    this.lostSamples = 0;
    this.replayPos = 0;
  }
}

export class G711Encoder implements AudioEncoder {
  readonly encoding: 'PCMU' | 'PCMA';
  readonly sampleRate = 8000;
  private readonly table: Uint8Array;
  constructor(encoding: 'PCMU' | 'PCMA') {
    this.encoding = encoding;
    this.table = encoding === 'PCMU' ? ULAW_ENCODE : ALAW_ENCODE;
  }
  encodeInto(pcm: Int16Array, out: Uint8Array): number {
    const n = pcm.length;
    checkRoom(n, out.length);
    const t = this.table;
    for (let i = 0; i < n; i++) out[i] = t[pcm[i] & 0xffff];
    return n;
  }
  reset(): void {}
}

export class G711Decoder implements AudioDecoder {
  readonly encoding: 'PCMU' | 'PCMA';
  readonly sampleRate = 8000;
  private readonly table: Int16Array;
  private readonly plc = new G711Concealer();
  constructor(encoding: 'PCMU' | 'PCMA') {
    this.encoding = encoding;
    this.table = encoding === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
  }
  decodeInto(payload: Uint8Array, out: Int16Array): number {
    const n = payload.length;
    checkRoom(n, out.length);
    const t = this.table;
    for (let i = 0; i < n; i++) out[i] = t[payload[i]];
    this.plc.remember(out, n);
    return n;
  }
  conceal(out: Int16Array, samples: number): number {
    return this.plc.conceal(out, samples);
  }
  reset(): void {
    this.plc.reset();
  }
}
