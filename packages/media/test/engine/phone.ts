// Test helpers: a "phone" is a plain dgram socket on 127.0.0.1 that sends and collects RTP, plus signal analysis.
import { createSocket, type Socket } from 'node:dgram';

export interface ReceivedPacket {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
  /** The whole datagram. */
  raw: Uint8Array;
}

export class Phone {
  readonly socket: Socket;
  readonly received: ReceivedPacket[] = [];
  port = 0;
  private seq = 1000;
  private ts = 5000;
  ssrc: number;
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(socket: Socket, ssrc: number) {
    this.socket = socket;
    this.ssrc = ssrc;
    socket.on('message', (m) => {
      if (m.length < 12) return;
      this.received.push({
        payloadType: m[1] & 0x7f,
        marker: (m[1] & 0x80) !== 0,
        seq: m.readUInt16BE(2),
        timestamp: m.readUInt32BE(4),
        ssrc: m.readUInt32BE(8),
        payload: new Uint8Array(m.subarray(12)),
        raw: new Uint8Array(m),
      });
      this.waiters = this.waiters.filter((w) => {
        if (this.received.length < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }

  static async open(ssrc = 0x1234 + Math.floor(Math.random() * 1e6)): Promise<Phone> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    const p = new Phone(s, ssrc);
    p.port = s.address().port;
    return p;
  }

  /** Sends one RTP packet with the next sequence number; timestamps advance by `tsStep`. */
  send(port: number, payloadType: number, payload: Uint8Array, tsStep: number, marker = false): void {
    const buf = Buffer.alloc(12 + payload.length);
    buf[0] = 0x80;
    buf[1] = (marker ? 0x80 : 0) | payloadType;
    buf.writeUInt16BE(this.seq, 2);
    buf.writeUInt32BE(this.ts >>> 0, 4);
    buf.writeUInt32BE(this.ssrc >>> 0, 8);
    buf.set(payload, 12);
    this.socket.send(buf, port, '127.0.0.1');
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + tsStep) >>> 0;
  }

  /** Sends the packet of index `i` of a stream begun at this phone's sequence and timestamp (for reordering). */
  sendAt(port: number, payloadType: number, payload: Uint8Array, tsStep: number, i: number): void {
    const buf = Buffer.alloc(12 + payload.length);
    buf[0] = 0x80;
    buf[1] = payloadType;
    buf.writeUInt16BE((this.seq + i) & 0xffff, 2);
    buf.writeUInt32BE((this.ts + i * tsStep) >>> 0, 4);
    buf.writeUInt32BE(this.ssrc >>> 0, 8);
    buf.set(payload, 12);
    this.socket.send(buf, port, '127.0.0.1');
  }

  /** Starts a new RTP stream on the same socket (as after a re-INVITE): new SSRC, sequence and timestamp base. */
  restartStream(ssrc: number, seq: number, timestamp: number): void {
    this.ssrc = ssrc;
    this.seq = seq;
    this.ts = timestamp;
  }

  /** Sends a raw datagram (for malformed-input tests). */
  sendRaw(port: number, bytes: Uint8Array): void {
    this.socket.send(bytes, port, '127.0.0.1');
  }

  /** Resolves when `count` packets have arrived in total, or rejects after `ms` of real time. */
  waitFor(count: number, ms = 5000): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`phone ${this.port}: ${this.received.length} of ${count} packets after ${ms} ms`)),
        ms,
      );
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** A sine frame generator that keeps phase across frames. */
export class Sine {
  private phase = 0;
  constructor(
    readonly frequency: number,
    readonly amplitude: number,
    readonly sampleRate: number,
  ) {}
  next(samples: number): Int16Array {
    const out = new Int16Array(samples);
    const step = (2 * Math.PI * this.frequency) / this.sampleRate;
    for (let i = 0; i < samples; i++) {
      out[i] = Math.round(this.amplitude * Math.sin(this.phase));
      this.phase += step;
    }
    this.phase %= 2 * Math.PI;
    return out;
  }
}

/** Amplitude of the `frequency` component (Goertzel), scaled so a pure sine of amplitude A reads about A. */
export function toneAmplitude(pcm: Int16Array, frequency: number, sampleRate: number): number {
  const k = (2 * Math.PI * frequency) / sampleRate;
  const coeff = 2 * Math.cos(k);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / pcm.length;
}

export function rms(pcm: Int16Array): number {
  let e = 0;
  for (let i = 0; i < pcm.length; i++) e += pcm[i] * pcm[i];
  return Math.sqrt(e / Math.max(1, pcm.length));
}

/** Polls `check` (async) until it returns true, failing after `ms` of real time. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function concat(frames: Int16Array[]): Int16Array {
  let n = 0;
  for (const f of frames) n += f.length;
  const out = new Int16Array(n);
  let o = 0;
  for (const f of frames) {
    out.set(f, o);
    o += f.length;
  }
  return out;
}
