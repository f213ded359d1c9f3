// Media engine: worker threads that own RTP endpoints, bridge and transcode them, mix conferences, play, record,
// detect DTMF and stream decoded audio to voice applications. It speaks in plain descriptions (address, port,
// payload type, codec); signalling translates SDP to them.
//
//   const engine = await MediaEngine.start();              // one worker per core, real-time pacing
//   const a = await engine.createEndpoint({ address: '192.0.2.10', codecs: [{ payloadType: 0, encoding: 'PCMU', clockRate: 8000 }] });
//   const b = await engine.createEndpoint({ address: '192.0.2.10', codecs: [g722], near: a.sessionId });
//   await engine.setRemote(a.sessionId, { address, port, payloadType: 0 });
//   await engine.bridge(a.sessionId, b.sessionId);         // relay, or transcode when the codecs differ
//   engine.on('dtmf', (e) => ...); engine.on('sessionClosed', (e) => ...);
//
// The worker entry is dist/engine/media-worker.js; from TypeScript sources (vitest) the built file is used, so run
// `npx tsc -b packages/media` first (see resolveMediaWorkerScript).
export { AudioStream } from './audio-stream.js';
export { ManualTickClock, RealTickClock, type TickClock } from './clock.js';
export { type AudioStreamOptions, MediaEngine, type MediaEngineOptions } from './engine.js';
export { MediaEngineError, type MediaEngineErrorCode } from './errors.js';
export { ConferenceMixer, type ConferenceMixerOptions, type MixParticipant, type TalkerLevel } from './mixer.js';
export type {
  CodecDescription,
  ConferenceOptions,
  DtmfDetectOptions,
  EndpointInfo,
  EndpointOptions,
  MediaEncoding,
  MediaEngineEvent,
  MediaEngineEventType,
  PlayItem,
  PlayOptions,
  RecordOptions,
  RemoteDescription,
  SessionCloseReason,
  SessionStatistics,
  SrtpDescription,
  SrtpSuite,
  WorkerStatistics,
} from './types.js';
export { resolveMediaWorkerScript } from './worker-url.js';
