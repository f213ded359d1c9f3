import { EventEmitter, on } from 'node:events';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AudioStream } from './audio-stream.js';
import { MediaEngineError, type MediaEngineErrorCode } from './errors.js';
import { MessageBatch } from './message-batch.js';
import type { CommandResults, CreateEndpointArgs, MainToWorker, WorkerCommand, WorkerToMain } from './protocol.js';
import type {
  ConferenceOptions,
  DtmfDetectOptions,
  EndpointInfo,
  EndpointOptions,
  MediaEngineEvent,
  MediaEngineEventType,
  PlayItem,
  PlayOptions,
  RecordOptions,
  RemoteDescription,
  SessionCloseReason,
  SessionStatistics,
  WorkerStatistics,
} from './types.js';
import { resolveMediaWorkerScript } from './worker-url.js';

export interface MediaEngineOptions {
  /** Worker threads in the pool (default: one per core). */
  workers?: number;
  /** 'real' paces audio by wall time; 'manual' only moves when `advanceClock` is called (tests, simulations). */
  clock?: 'real' | 'manual';
  /** Default RTP port range for endpoints that do not name one. */
  portRange?: { min: number; max: number };
  /** Milliseconds between statistics events per session (0 = none). */
  statisticsIntervalMs?: number;
  /** Override of the worker entry script (see resolveMediaWorkerScript). */
  workerScript?: URL | string;
  /**
   * How a bridge transcodes G.722 to and from an 8 kHz codec. 'subband' (default): the G.722 lower sub-band is
   * the 8 kHz audio, as in spandsp's 8 kHz mode (half the codec work, no resampling); its QMF filters passband to
   * -0.4 dB at 3.4 kHz, -3 dB at 4 kHz, stop band -20.6 dB at 5 kHz, -46 dB at 5.5 kHz, over 72 dB from 6 kHz.
   * 'resample': 16 kHz G.722 through the half-band resampler (64 dB from 4.6 kHz, dsp/halfband.ts), for less
   * aliasing between 4 and 5.5 kHz at about twice the CPU per call.
   */
  g722Transcoding?: 'subband' | 'resample';
}

export interface AudioStreamOptions {
  sampleRate?: number;
  /** Most samples the engine holds for sending before `write` waits (default 1 s). */
  capacitySamples?: number;
  /** Most decoded frames kept for a slow reader before the oldest is dropped (default 50). */
  maxQueuedFrames?: number;
}

type EventOf<T extends MediaEngineEventType> = Extract<MediaEngineEvent, { type: T }>;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface WorkerSlot {
  index: number;
  worker: Worker;
  /** Commands of this turn, posted to the worker as one message after it. */
  outbox: MessageBatch<{ id: number; command: WorkerCommand }>;
  ready: Promise<void>;
  alive: boolean;
  pending: Map<number, Pending>;
  sessions: Set<string>;
  conferences: Set<string>;
}

interface SessionRecord {
  slot: WorkerSlot;
  args: CreateEndpointArgs;
  info: EndpointInfo;
  group?: string;
  streams: Set<number>;
}

interface ConferenceRecord {
  slot: WorkerSlot;
  members: Set<string>;
  group?: string;
}

const TICK_MS = 20;

/**
 * The media engine: a pool of worker threads that own RTP endpoints. Every method is a command to the worker that
 * holds the session; events ('dtmf', 'playbackEnded', 'rtpTimeout', 'statistics', 'talkers', 'recordingEnded',
 * 'sessionClosed') are emitted under their type and also as 'event'.
 */
export class MediaEngine extends EventEmitter {
  private readonly options: Required<Omit<MediaEngineOptions, 'workerScript'>>;
  private readonly script: URL;
  private readonly slots: WorkerSlot[] = [];
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly conferences = new Map<string, ConferenceRecord>();
  private readonly groups = new Map<string, WorkerSlot>();
  /** Sessions and conferences of each placement group: a group is let go without scanning every session. */
  private readonly groupMembers = new Map<string, number>();
  private readonly creating = new Set<string>();
  private readonly usedPorts = new Set<number>();
  private readonly streams = new Map<number, { stream: AudioStream; slot: WorkerSlot; sessionId: string }>();
  private nextRequest = 1;
  private nextStream = 1;
  private nextId = 1;
  private portCursor = 0;
  private shuttingDown = false;

  private constructor(options: MediaEngineOptions) {
    super();
    const workers = options.workers ?? availableParallelism();
    const portRange = options.portRange ?? { min: 20000, max: 29999 };
    if (!Number.isInteger(workers) || workers < 1) throw new MediaEngineError('INVALID_ARGUMENT', 'workers >= 1');
    checkPortRange(portRange);
    const g722 = options.g722Transcoding;
    if (g722 !== undefined && g722 !== 'subband' && g722 !== 'resample') {
      throw new MediaEngineError('INVALID_ARGUMENT', "g722Transcoding is 'subband' or 'resample'");
    }
    this.options = {
      workers,
      clock: options.clock ?? 'real',
      portRange,
      statisticsIntervalMs: options.statisticsIntervalMs ?? 5000,
      g722Transcoding: options.g722Transcoding ?? 'subband',
    };
    this.script = resolveMediaWorkerScript(options.workerScript);
  }

  /** Starts the worker pool; resolves when every worker is ready. */
  static async start(options: MediaEngineOptions = {}): Promise<MediaEngine> {
    const engine = new MediaEngine(options);
    for (let i = 0; i < engine.options.workers; i++) engine.slots.push(engine.spawn(i));
    await Promise.all(engine.slots.map((s) => s.ready));
    return engine;
  }

  get workerCount(): number {
    return this.slots.length;
  }

  override on<T extends MediaEngineEventType>(type: T, listener: (event: EventOf<T>) => void): this;
  override on(type: 'event', listener: (event: MediaEngineEvent) => void): this;
  override on(type: string | symbol, listener: (...args: never[]) => void): this;
  override on(type: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(type, listener as (...args: unknown[]) => void);
  }

  override once<T extends MediaEngineEventType>(type: T, listener: (event: EventOf<T>) => void): this;
  override once(type: string | symbol, listener: (...args: never[]) => void): this;
  override once(type: string | symbol, listener: (...args: never[]) => void): this {
    return super.once(type, listener as (...args: unknown[]) => void);
  }

  /** Every event as an async iterator (ends when `signal` aborts). */
  async *events(signal?: AbortSignal): AsyncGenerator<MediaEngineEvent> {
    try {
      for await (const [event] of on(this, 'event', signal ? { signal } : {})) yield event as MediaEngineEvent;
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  }

  /** Creates an RTP endpoint bound to a free even port of the range (RTCP on port + 1 unless rtcp-mux). */
  async createEndpoint(options: EndpointOptions): Promise<EndpointInfo> {
    this.assertOpen();
    if (!Array.isArray(options.codecs) || options.codecs.length === 0) {
      throw new MediaEngineError('INVALID_ARGUMENT', 'an endpoint needs at least one codec');
    }
    if (isIP(options.address) === 0) {
      throw new MediaEngineError('INVALID_ARGUMENT', `local address ${options.address} is not an IP address`);
    }
    const sessionId = options.sessionId ?? `s${this.nextId++}`;
    if (this.sessions.has(sessionId) || this.creating.has(sessionId)) {
      throw new MediaEngineError('SESSION_EXISTS', `session ${sessionId} exists`);
    }
    const range = options.portRange ?? this.options.portRange;
    checkPortRange(range);
    const slot = this.place(options.near, options.group);
    // Claim the group's worker now, so concurrent creates of one group land together.
    if (options.group !== undefined) this.groups.set(options.group, slot);
    this.creating.add(sessionId);
    try {
      return await this.bindEndpoint(sessionId, slot, range, options);
    } catch (err) {
      if (options.group !== undefined) this.releaseGroup(options.group);
      throw err;
    } finally {
      this.creating.delete(sessionId);
    }
  }

  private async bindEndpoint(
    sessionId: string,
    slot: WorkerSlot,
    range: { min: number; max: number },
    options: EndpointOptions,
  ): Promise<EndpointInfo> {
    const rtcpMux = options.rtcpMux ?? false;
    const base: Omit<CreateEndpointArgs, 'port'> = {
      sessionId,
      address: options.address,
      rtcpMux,
      codecs: options.codecs.map((c) => ({ ...c })),
      telephoneEventPayloadType: options.telephoneEventPayloadType,
      ptime: options.ptime ?? 20,
      srtp: options.srtp,
      rtpTimeoutSeconds: options.rtpTimeoutSeconds ?? 30,
    };
    const span = Math.floor((range.max - range.min) / 2) + 1;
    for (let attempt = 0; attempt < span; attempt++) {
      const port = this.takePort(range, rtcpMux);
      if (port === undefined) break;
      const args: CreateEndpointArgs = { ...base, port };
      try {
        const info = await this.request(slot, { op: 'createEndpoint', args });
        this.sessions.set(sessionId, { slot, args, info, group: options.group, streams: new Set() });
        this.joinGroup(options.group);
        slot.sessions.add(sessionId);
        return info;
      } catch (err) {
        this.releasePort(port, rtcpMux);
        if ((err as MediaEngineError).code !== 'BIND_FAILED') throw err;
      }
    }
    throw new MediaEngineError('NO_PORT_AVAILABLE', `no free RTP port in ${range.min}-${range.max}`);
  }

  /** Where to send RTP (and with which of the endpoint's payload types). */
  async setRemote(sessionId: string, remote: RemoteDescription): Promise<void> {
    const s = this.session(sessionId);
    await this.request(s.slot, { op: 'setRemote', sessionId, remote });
  }

  /**
   * Connects two sessions: RTP is relayed on arrival when both send the same codec, and transcoded (decode,
   * resample, encode at each tick) when not. The second session moves to the first one's worker if needed.
   */
  async bridge(a: string, b: string): Promise<{ mode: 'relay' | 'transcode' }> {
    if (a === b) throw new MediaEngineError('INVALID_ARGUMENT', 'cannot bridge a session to itself');
    const sa = this.session(a);
    const sb = this.session(b);
    if (sa.slot !== sb.slot) await this.migrate(b, sa.slot);
    return this.request(sa.slot, { op: 'bridge', a, b });
  }

  async unbridge(sessionId: string): Promise<void> {
    const s = this.session(sessionId);
    await this.request(s.slot, { op: 'unbridge', sessionId });
  }

  async createConference(options: ConferenceOptions = {}): Promise<string> {
    this.assertOpen();
    const conferenceId = `c${this.nextId++}`;
    const slot = this.place(options.near, options.group);
    if (options.group !== undefined) this.groups.set(options.group, slot);
    await this.request(slot, { op: 'createConference', conferenceId, options });
    this.conferences.set(conferenceId, { slot, members: new Set(), group: options.group });
    this.joinGroup(options.group);
    slot.conferences.add(conferenceId);
    return conferenceId;
  }

  /** Adds a session to a conference (moving it to the conference's worker first if needed). */
  async addToConference(
    conferenceId: string,
    sessionId: string,
    options: { muted?: boolean; gain?: number } = {},
  ): Promise<void> {
    const c = this.conference(conferenceId);
    if (this.session(sessionId).slot !== c.slot) await this.migrate(sessionId, c.slot);
    await this.request(c.slot, {
      op: 'conferenceAdd',
      conferenceId,
      sessionId,
      muted: options.muted ?? false,
      gain: options.gain ?? 1,
    });
    c.members.add(sessionId);
  }

  async removeFromConference(conferenceId: string, sessionId: string): Promise<void> {
    const c = this.conference(conferenceId);
    await this.request(c.slot, { op: 'conferenceRemove', conferenceId, sessionId });
    c.members.delete(sessionId);
  }

  async setConferenceMute(conferenceId: string, sessionId: string, muted: boolean): Promise<void> {
    const c = this.conference(conferenceId);
    await this.request(c.slot, { op: 'conferenceMute', conferenceId, sessionId, muted });
  }

  /** Linear gain (0..8) on what this participant says. */
  async setConferenceGain(conferenceId: string, sessionId: string, gain: number): Promise<void> {
    const c = this.conference(conferenceId);
    await this.request(c.slot, { op: 'conferenceGain', conferenceId, sessionId, gain });
  }

  async destroyConference(conferenceId: string): Promise<void> {
    const c = this.conference(conferenceId);
    await this.request(c.slot, { op: 'destroyConference', conferenceId });
    this.conferences.delete(conferenceId);
    c.slot.conferences.delete(conferenceId);
    this.leaveGroup(c.group);
  }

  /** Plays WAV files, tones and silences to the session; 'playbackEnded' tells when and why it stopped. */
  async play(sessionId: string, items: PlayItem[], options: PlayOptions = {}): Promise<number> {
    const s = this.session(sessionId);
    const r = await this.request(s.slot, { op: 'play', sessionId, items, options });
    return r.playbackId;
  }

  async stopPlayback(sessionId: string): Promise<void> {
    const s = this.session(sessionId);
    await this.request(s.slot, { op: 'stopPlayback', sessionId });
  }

  /** Records to a 16-bit WAV file at the session's codec rate. */
  async record(sessionId: string, options: RecordOptions): Promise<void> {
    const s = this.session(sessionId);
    await this.request(s.slot, { op: 'record', sessionId, options });
  }

  async stopRecording(sessionId: string): Promise<void> {
    const s = this.session(sessionId);
    await this.request(s.slot, { op: 'stopRecording', sessionId });
  }

  /** Turns DTMF detection on or off (RFC 4733 is on by default when a telephone-event type is set). */
  async detectDtmf(sessionId: string, options: DtmfDetectOptions): Promise<void> {
    const s = this.session(sessionId);
    await this.request(s.slot, { op: 'detectDtmf', sessionId, options });
  }

  /**
   * Sends digits as RFC 4733 telephone-events (the endpoint needs `telephoneEventPayloadType`), one after another
   * with `gapMs` between them; audio towards the phone pauses while an event is sent.
   */
  async sendDtmf(
    sessionId: string,
    digits: string,
    options: { durationMs?: number; gapMs?: number } = {},
  ): Promise<void> {
    const s = this.session(sessionId);
    await this.request(s.slot, {
      op: 'sendDtmf',
      sessionId,
      digits,
      durationMs: options.durationMs ?? 100,
      gapMs: options.gapMs ?? 50,
    });
  }

  async getStatistics(sessionId: string): Promise<SessionStatistics> {
    const s = this.session(sessionId);
    return this.request(s.slot, { op: 'statistics', sessionId });
  }

  /** Closes the session (its sockets, bridge, conference seat, player, recorder); emits 'sessionClosed'. */
  async close(sessionId: string): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    try {
      await this.request(s.slot, { op: 'close', sessionId });
    } finally {
      this.forgetSession(sessionId, 'closed');
    }
  }

  /** Decoded audio in, PCM out, for voice applications; see AudioStream. */
  async openAudioStream(sessionId: string, options: AudioStreamOptions = {}): Promise<AudioStream> {
    const s = this.session(sessionId);
    const sampleRate = options.sampleRate ?? 8000;
    if (![8000, 16000, 24000, 32000, 48000].includes(sampleRate)) {
      throw new MediaEngineError('INVALID_ARGUMENT', `unsupported stream sample rate ${sampleRate}`);
    }
    const capacitySamples = options.capacitySamples ?? sampleRate;
    const streamId = this.nextStream++;
    const slot = s.slot;
    const stream = new AudioStream(sessionId, sampleRate, capacitySamples, options.maxQueuedFrames ?? 50, {
      send: (pcm) => {
        if (!slot.alive) return;
        const copy = pcm.slice();
        const msg: MainToWorker = { kind: 'streamWrite', streamId, pcm: copy };
        slot.outbox.flush(); // after the commands posted before it (the stream's opening)
        slot.worker.postMessage(msg, [copy.buffer]);
      },
      close: async () => {
        this.streams.delete(streamId);
        s.streams.delete(streamId);
        if (slot.alive && this.sessions.has(sessionId)) await this.request(slot, { op: 'closeStream', streamId });
      },
    });
    this.streams.set(streamId, { stream, slot, sessionId });
    s.streams.add(streamId);
    try {
      await this.request(slot, { op: 'openStream', sessionId, streamId, sampleRate, capacitySamples });
    } catch (err) {
      this.streams.delete(streamId);
      s.streams.delete(streamId);
      stream.end();
      throw err;
    }
    return stream;
  }

  /** With the manual clock: moves every worker's time forward by `ms`, running the due 20 ms ticks. */
  async advanceClock(ms: number): Promise<void> {
    if (this.options.clock !== 'manual') throw new MediaEngineError('NOT_MANUAL_CLOCK', 'engine uses real time');
    if (!(ms >= 0)) throw new MediaEngineError('INVALID_ARGUMENT', 'ms must be >= 0');
    await Promise.all(this.slots.filter((s) => s.alive).map((s) => this.request(s, { op: 'advanceClock', ms })));
  }

  /** Test hook: makes the worker holding `sessionId` (or worker `index`) throw or exit, as a crash would. */
  async debugCrashWorker(target: string | number, how: 'throw' | 'exit' = 'throw'): Promise<void> {
    const slot = typeof target === 'number' ? this.slots[target] : this.session(target).slot;
    if (!slot) throw new MediaEngineError('INVALID_ARGUMENT', `no worker ${target}`);
    const gone = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    const msg: MainToWorker = { kind: 'command', id: 0, command: { op: 'crash', how } };
    slot.outbox.flush();
    slot.worker.postMessage(msg);
    await gone;
  }

  /** Load figures of every live worker. */
  async getWorkerStatistics(): Promise<WorkerStatistics[]> {
    this.assertOpen();
    return Promise.all(this.slots.filter((s) => s.alive).map((s) => this.request(s, { op: 'workerStatistics' })));
  }

  /** Which worker holds a session (for tests and placement checks). */
  workerOf(sessionId: string): number {
    return this.session(sessionId).slot.index;
  }

  /** Ends every session (reason 'engine-shutdown') and stops the workers. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    await Promise.allSettled(
      this.slots.filter((s) => s.alive).map((s) => this.request(s, { op: 'shutdown' }, TICK_MS * 100)),
    );
    for (const id of [...this.sessions.keys()]) this.forgetSession(id, 'engine-shutdown');
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  // ---- internals

  private spawn(index: number): WorkerSlot {
    const worker = new Worker(this.script, {
      workerData: {
        workerIndex: index,
        clock: this.options.clock,
        tickMs: TICK_MS,
        statisticsIntervalMs: this.options.statisticsIntervalMs,
        g722Transcoding: this.options.g722Transcoding,
      },
    });
    let markReady: () => void = () => {};
    let markFailed: (e: Error) => void = () => {};
    const slot: WorkerSlot = {
      index,
      worker,
      outbox: new MessageBatch((list) => {
        if (!slot.alive) return; // its requests were rejected when it died
        const msg: MainToWorker = list.length === 1 ? { kind: 'command', ...list[0]! } : { kind: 'commands', list };
        worker.postMessage(msg);
      }),
      alive: true,
      pending: new Map(),
      sessions: new Set(),
      conferences: new Set(),
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        markFailed = reject;
      }),
    };
    slot.ready.catch(() => {});
    worker.on('message', (msg: WorkerToMain) => {
      if (msg.kind === 'ready') markReady();
      else this.onWorkerMessage(slot, msg);
    });
    worker.on('error', (err) => {
      markFailed(err);
      this.onWorkerDeath(slot, err);
    });
    worker.on('exit', (code) => {
      markFailed(new MediaEngineError('WORKER_CRASHED', `media worker exited with ${code}`));
      this.onWorkerDeath(slot, undefined);
    });
    return slot;
  }

  private onWorkerMessage(slot: WorkerSlot, msg: WorkerToMain): void {
    switch (msg.kind) {
      case 'batch':
        for (const m of msg.list) this.onWorkerMessage(slot, m);
        return;
      case 'response': {
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new MediaEngineError(msg.error.code as MediaEngineErrorCode, msg.error.message));
        return;
      }
      case 'event': {
        const ev = msg.event;
        if (ev.type === 'sessionClosed') {
          this.forgetSession(ev.session, ev.reason);
          return;
        }
        this.emitEvent(ev);
        return;
      }
      case 'streamFrame':
        this.streams.get(msg.streamId)?.stream.pushFrame(msg.pcm);
        return;
      case 'streamCredit':
        this.streams.get(msg.streamId)?.stream.credit(msg.samples);
        return;
    }
  }

  /** A worker died: its calls end with 'worker-crashed' and a fresh worker takes its place. */
  private onWorkerDeath(slot: WorkerSlot, err: Error | undefined): void {
    if (!slot.alive) return;
    slot.alive = false;
    const crash = new MediaEngineError(
      'WORKER_CRASHED',
      `media worker ${slot.index} died${err ? `: ${err.message}` : ''}`,
    );
    for (const p of slot.pending.values()) p.reject(crash);
    slot.pending.clear();
    for (const id of [...slot.sessions]) this.forgetSession(id, 'worker-crashed');
    for (const id of slot.conferences) {
      this.leaveGroup(this.conferences.get(id)?.group);
      this.conferences.delete(id);
    }
    slot.conferences.clear();
    for (const [key, s] of this.groups) if (s === slot) this.groups.delete(key);
    if (this.shuttingDown) return;
    const replacement = this.spawn(slot.index);
    this.slots[slot.index] = replacement;
    replacement.ready.catch(() => {});
  }

  /** Drops the engine's record of a session and emits 'sessionClosed' once (later calls find nothing). */
  private forgetSession(sessionId: string, reason: SessionCloseReason): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    this.sessions.delete(sessionId);
    s.slot.sessions.delete(sessionId);
    this.releasePort(s.args.port, s.args.rtcpMux);
    for (const id of s.streams) {
      this.streams.get(id)?.stream.end();
      this.streams.delete(id);
    }
    for (const c of this.conferences.values()) c.members.delete(sessionId);
    this.leaveGroup(s.group);
    this.emitEvent({ type: 'sessionClosed', session: sessionId, reason });
  }

  private joinGroup(group: string | undefined): void {
    if (group !== undefined) this.groupMembers.set(group, (this.groupMembers.get(group) ?? 0) + 1);
  }

  private leaveGroup(group: string | undefined): void {
    if (group === undefined) return;
    const left = (this.groupMembers.get(group) ?? 1) - 1;
    if (left > 0) this.groupMembers.set(group, left);
    else {
      this.groupMembers.delete(group);
      this.groups.delete(group);
    }
  }

  /** Forgets a placement group once nothing of it is left, so per-call group keys do not pile up. */
  private releaseGroup(group: string): void {
    if (!this.groupMembers.has(group)) this.groups.delete(group);
  }

  private emitEvent(ev: MediaEngineEvent): void {
    this.emit(ev.type, ev);
    this.emit('event', ev);
  }

  private async migrate(sessionId: string, to: WorkerSlot): Promise<void> {
    const s = this.session(sessionId);
    if (s.streams.size > 0) throw new MediaEngineError('BUSY', `session ${sessionId} has open audio streams`);
    const from = s.slot;
    const snapshot = await this.request(from, { op: 'detach', sessionId });
    from.sessions.delete(sessionId);
    const args: CreateEndpointArgs = { ...s.args, snapshot };
    try {
      const info = await this.request(to, { op: 'createEndpoint', args });
      s.slot = to;
      s.args = args;
      s.info = info;
      to.sessions.add(sessionId);
    } catch (err) {
      // The port was released by the old worker; the session cannot continue.
      this.sessions.delete(sessionId);
      this.leaveGroup(s.group);
      this.releasePort(s.args.port, s.args.rtcpMux);
      this.emitEvent({ type: 'sessionClosed', session: sessionId, reason: 'migrated-failed' });
      throw err;
    }
  }

  private place(near: string | undefined, group: string | undefined): WorkerSlot {
    if (near !== undefined) {
      const s = this.sessions.get(near);
      if (!s) throw new MediaEngineError('UNKNOWN_SESSION', `no session ${near} to place near`);
      return s.slot;
    }
    if (group !== undefined) {
      const slot = this.groups.get(group);
      if (slot?.alive) return slot;
    }
    let best: WorkerSlot | undefined;
    for (const slot of this.slots) {
      if (!slot.alive) continue;
      if (!best || slot.sessions.size < best.sessions.size) best = slot;
    }
    if (!best) throw new MediaEngineError('WORKER_UNAVAILABLE', 'no media worker is running');
    return best;
  }

  private takePort(range: { min: number; max: number }, rtcpMux: boolean): number | undefined {
    const first = range.min + (range.min % 2);
    const count = Math.floor((range.max - first) / 2) + 1;
    for (let i = 0; i < count; i++) {
      const port = first + ((this.portCursor + i) % count) * 2;
      if (!rtcpMux && port + 1 > range.max + 1) continue;
      if (this.usedPorts.has(port) || (!rtcpMux && this.usedPorts.has(port + 1))) continue;
      this.portCursor = (this.portCursor + i + 1) % count;
      this.usedPorts.add(port);
      if (!rtcpMux) this.usedPorts.add(port + 1);
      return port;
    }
    return undefined;
  }

  private releasePort(port: number, rtcpMux: boolean): void {
    this.usedPorts.delete(port);
    if (!rtcpMux) this.usedPorts.delete(port + 1);
  }

  private session(id: string): SessionRecord {
    this.assertOpen();
    const s = this.sessions.get(id);
    if (!s) throw new MediaEngineError('UNKNOWN_SESSION', `no session ${id}`);
    return s;
  }

  private conference(id: string): ConferenceRecord {
    this.assertOpen();
    const c = this.conferences.get(id);
    if (!c) throw new MediaEngineError('UNKNOWN_CONFERENCE', `no conference ${id}`);
    return c;
  }

  private assertOpen(): void {
    if (this.shuttingDown) throw new MediaEngineError('ENGINE_CLOSED', 'media engine is shut down');
  }

  private request<K extends WorkerCommand['op']>(
    slot: WorkerSlot,
    command: Extract<WorkerCommand, { op: K }>,
    timeoutMs?: number,
  ): Promise<CommandResults[K]> {
    if (!slot.alive) return Promise.reject(new MediaEngineError('WORKER_CRASHED', 'media worker is gone'));
    const id = this.nextRequest++;
    return new Promise<CommandResults[K]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      slot.pending.set(id, {
        resolve: (v) => {
          if (timer) clearTimeout(timer);
          resolve(v as CommandResults[K]);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
      if (timeoutMs !== undefined) {
        // Only used while shutting down: a wedged worker must not hold the process.
        timer = setTimeout(() => {
          slot.pending.delete(id);
          reject(new MediaEngineError('WORKER_UNAVAILABLE', `${command.op} timed out`));
        }, timeoutMs);
      }
      slot.outbox.add({ id, command });
    });
  }
}

function checkPortRange(r: { min: number; max: number }): void {
  if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 1024 || r.max > 65535 || r.min >= r.max) {
    throw new MediaEngineError('INVALID_ARGUMENT', 'port range must be within 1024-65535 with min < max');
  }
}
