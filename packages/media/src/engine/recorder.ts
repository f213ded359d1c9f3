import { closeSync, openSync, writeSync } from 'node:fs';
import { MediaEngineError } from './errors.js';

/**
 * Streams 16-bit PCM to a WAV file (RIFF, WAVE_FORMAT_PCM) as a call goes on: a header with zero sizes first,
 * data appended about once a second, the sizes patched in on close, so a crash leaves at worst a short file.
 */
export class WavFileRecorder {
  readonly file: string;
  readonly sampleRate: number;
  readonly channels: number;
  private fd = -1;
  private readonly chunk: Int16Array;
  private fill = 0;
  private dataBytes = 0;
  private readonly header = new Uint8Array(44);

  constructor(file: string, sampleRate: number, channels: number) {
    this.file = file;
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.chunk = new Int16Array(sampleRate * channels);
    try {
      this.fd = openSync(file, 'w');
      this.writeHeader();
      writeSync(this.fd, this.header);
    } catch (err) {
      throw new MediaEngineError('FILE_ERROR', `cannot record to ${file}: ${(err as Error).message}`);
    }
  }

  get durationMs(): number {
    return ((this.dataBytes / 2 + this.fill) / this.channels / this.sampleRate) * 1000;
  }

  /** Appends one frame; for two channels `right` is interleaved with `left`. Missing input records silence. */
  write(left: Int16Array | undefined, right: Int16Array | undefined, samples: number): void {
    if (this.fd < 0) return;
    for (let i = 0; i < samples; i++) {
      if (this.fill + this.channels > this.chunk.length) this.flush();
      if (this.channels === 1) {
        this.chunk[this.fill++] = left ? left[i] : 0;
      } else {
        this.chunk[this.fill++] = left ? left[i] : 0;
        this.chunk[this.fill++] = right ? right[i] : 0;
      }
    }
  }

  close(): void {
    if (this.fd < 0) return;
    this.flush();
    this.writeHeader();
    writeSync(this.fd, this.header, 0, 44, 0);
    closeSync(this.fd);
    this.fd = -1;
  }

  private flush(): void {
    if (this.fill === 0) return;
    const bytes = new Uint8Array(this.chunk.buffer, 0, this.fill * 2);
    // WAV is little-endian, as are the hosts Node runs on (x64, arm64).
    writeSync(this.fd, bytes, 0, bytes.length, 44 + this.dataBytes);
    this.dataBytes += bytes.length;
    this.fill = 0;
  }

  private writeHeader(): void {
    const v = new DataView(this.header.buffer);
    const ascii = (at: number, s: string): void => {
      for (let i = 0; i < 4; i++) this.header[at + i] = s.charCodeAt(i);
    };
    ascii(0, 'RIFF');
    v.setUint32(4, 36 + this.dataBytes, true);
    ascii(8, 'WAVE');
    ascii(12, 'fmt ');
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true); // WAVE_FORMAT_PCM
    v.setUint16(22, this.channels, true);
    v.setUint32(24, this.sampleRate, true);
    v.setUint32(28, this.sampleRate * this.channels * 2, true);
    v.setUint16(32, this.channels * 2, true);
    v.setUint16(34, 16, true);
    ascii(36, 'data');
    v.setUint32(40, this.dataBytes, true);
  }
}
