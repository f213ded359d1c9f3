// Messages between the engine (main thread) and a media worker. Internal: not exported from the package.
import type {
  CodecDescription,
  ConferenceOptions,
  DtmfDetectOptions,
  EndpointInfo,
  MediaEngineEvent,
  PlayItem,
  PlayOptions,
  RecordOptions,
  RemoteDescription,
  SessionStatistics,
  SrtpDescription,
  WorkerStatistics,
} from './types.js';

export interface WorkerConfig {
  workerIndex: number;
  clock: 'real' | 'manual';
  tickMs: number;
  statisticsIntervalMs: number;
  /** MediaEngineOptions.g722Transcoding (default 'subband'). */
  g722Transcoding?: 'subband' | 'resample';
}

/** What a session carries when it moves to another worker (its socket is closed and bound again there). */
export interface SessionSnapshot {
  ssrc: number;
  seq: number;
  timestamp: number;
  remote?: RemoteDescription;
  latchedAddress?: string;
  latchedPort?: number;
  dtmf: DtmfDetectOptions;
}

export interface CreateEndpointArgs {
  sessionId: string;
  address: string;
  port: number;
  rtcpMux: boolean;
  codecs: CodecDescription[];
  telephoneEventPayloadType?: number;
  ptime: number;
  srtp?: SrtpDescription;
  rtpTimeoutSeconds: number;
  snapshot?: SessionSnapshot;
}

export type WorkerCommand =
  | { op: 'createEndpoint'; args: CreateEndpointArgs }
  | { op: 'setRemote'; sessionId: string; remote: RemoteDescription }
  | { op: 'bridge'; a: string; b: string }
  | { op: 'unbridge'; sessionId: string }
  | { op: 'createConference'; conferenceId: string; options: ConferenceOptions }
  | { op: 'destroyConference'; conferenceId: string }
  | { op: 'conferenceAdd'; conferenceId: string; sessionId: string; muted: boolean; gain: number }
  | { op: 'conferenceRemove'; conferenceId: string; sessionId: string }
  | { op: 'conferenceMute'; conferenceId: string; sessionId: string; muted: boolean }
  | { op: 'conferenceGain'; conferenceId: string; sessionId: string; gain: number }
  | { op: 'play'; sessionId: string; items: PlayItem[]; options: PlayOptions }
  | { op: 'stopPlayback'; sessionId: string }
  | { op: 'record'; sessionId: string; options: RecordOptions }
  | { op: 'stopRecording'; sessionId: string }
  | { op: 'detectDtmf'; sessionId: string; options: DtmfDetectOptions }
  | { op: 'sendDtmf'; sessionId: string; digits: string; durationMs: number; gapMs: number }
  | { op: 'statistics'; sessionId: string }
  | { op: 'close'; sessionId: string }
  | { op: 'detach'; sessionId: string }
  | { op: 'openStream'; sessionId: string; streamId: number; sampleRate: number; capacitySamples: number }
  | { op: 'closeStream'; streamId: number }
  | { op: 'advanceClock'; ms: number }
  | { op: 'crash'; how: 'throw' | 'exit' }
  | { op: 'workerStatistics' }
  | { op: 'shutdown' };

export interface CommandResults {
  createEndpoint: EndpointInfo;
  setRemote: undefined;
  bridge: { mode: 'relay' | 'transcode' };
  unbridge: undefined;
  createConference: undefined;
  destroyConference: undefined;
  conferenceAdd: undefined;
  conferenceRemove: undefined;
  conferenceMute: undefined;
  conferenceGain: undefined;
  play: { playbackId: number };
  stopPlayback: undefined;
  record: undefined;
  stopRecording: undefined;
  detectDtmf: undefined;
  sendDtmf: undefined;
  statistics: SessionStatistics;
  close: undefined;
  detach: SessionSnapshot;
  openStream: undefined;
  closeStream: undefined;
  advanceClock: { ticks: number };
  crash: undefined;
  workerStatistics: WorkerStatistics;
  shutdown: undefined;
}

export type MainToWorker =
  | { kind: 'command'; id: number; command: WorkerCommand }
  /** The commands of one turn of the main thread, in order: one message, one wake-up of the worker. */
  | { kind: 'commands'; list: Array<{ id: number; command: WorkerCommand }> }
  | { kind: 'streamWrite'; streamId: number; pcm: Int16Array };

export type WorkerToMain =
  | { kind: 'ready' }
  /** Responses and events of one turn of the worker, in order (none carries a transfer). */
  | { kind: 'batch'; list: WorkerToMain[] }
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: { code: string; message: string } }
  | { kind: 'event'; event: MediaEngineEvent }
  | { kind: 'streamFrame'; streamId: number; pcm: Int16Array }
  | { kind: 'streamCredit'; streamId: number; samples: number };
