import { MediaEngineError } from './errors.js';

/** Hooks the engine gives a stream to reach its worker. */
export interface AudioStreamTransport {
  send(pcm: Int16Array): void;
  close(): Promise<void>;
}

/**
 * Decoded audio of one session for a voice application: iterate it for what the far end says (Int16Array frames at
 * `sampleRate`), `write` PCM for it to hear. `write` resolves once the worker's bounded queue has room, so a
 * producer that awaits it never runs ahead of real time by more than `capacitySamples`.
 */
export class AudioStream implements AsyncIterable<Int16Array> {
  readonly sessionId: string;
  readonly sampleRate: number;
  readonly capacitySamples: number;
  /** Inbound frames dropped because the reader fell more than `maxQueuedFrames` behind. */
  framesDropped = 0;
  private inFlight = 0;
  private readonly writers: { samples: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly frames: Int16Array[] = [];
  private readonly maxQueuedFrames: number;
  private readers: { resolve: (r: IteratorResult<Int16Array>) => void }[] = [];
  private closed = false;
  private readonly transport: AudioStreamTransport;

  constructor(
    sessionId: string,
    sampleRate: number,
    capacitySamples: number,
    maxQueuedFrames: number,
    transport: AudioStreamTransport,
  ) {
    this.sessionId = sessionId;
    this.sampleRate = sampleRate;
    this.capacitySamples = capacitySamples;
    this.maxQueuedFrames = maxQueuedFrames;
    this.transport = transport;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues PCM (any length, at `sampleRate`) to be encoded and sent; resolves when it has been accepted. */
  write(pcm: Int16Array): Promise<void> {
    if (this.closed) return Promise.reject(new MediaEngineError('STREAM_CLOSED', 'audio stream is closed'));
    if (pcm.length === 0) return Promise.resolve();
    if (pcm.length > this.capacitySamples) {
      return Promise.reject(
        new MediaEngineError('INVALID_ARGUMENT', `write at most ${this.capacitySamples} samples at once`),
      );
    }
    if (this.writers.length === 0 && this.inFlight + pcm.length <= this.capacitySamples) {
      this.post(pcm);
      return Promise.resolve();
    }
    const copy = pcm.slice();
    return new Promise<void>((resolve, reject) => {
      this.writers.push({
        samples: copy.length,
        resolve: () => {
          this.post(copy);
          resolve();
        },
        reject,
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.end();
    await this.transport.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    return {
      next: () => {
        const f = this.frames.shift();
        if (f) return Promise.resolve({ value: f, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.readers.push({ resolve }));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /** @internal a decoded frame arrived from the worker. */
  pushFrame(pcm: Int16Array): void {
    if (this.closed) return;
    const reader = this.readers.shift();
    if (reader) {
      reader.resolve({ value: pcm, done: false });
      return;
    }
    if (this.frames.length >= this.maxQueuedFrames) {
      this.frames.shift();
      this.framesDropped++;
    }
    this.frames.push(pcm);
  }

  /** @internal the worker consumed queued samples. */
  credit(samples: number): void {
    this.inFlight = Math.max(0, this.inFlight - samples);
    while (this.writers.length > 0 && this.inFlight + this.writers[0].samples <= this.capacitySamples) {
      this.writers.shift()!.resolve();
    }
  }

  /** @internal the session or engine went away. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.readers) r.resolve({ value: undefined, done: true });
    this.readers = [];
    for (const w of this.writers.splice(0)) w.reject(new MediaEngineError('STREAM_CLOSED', 'audio stream is closed'));
  }

  private post(pcm: Int16Array): void {
    this.inFlight += pcm.length;
    this.transport.send(pcm);
  }
}
