/** Codec names the engine can carry (transcode between, or relay when both legs use the same one). */
export type MediaEncoding = 'PCMU' | 'PCMA' | 'G722' | 'opus' | 'L16';

/** One payload type offered on an endpoint: the plain description that signalling (SDP) translates to. */
export interface CodecDescription {
  payloadType: number;
  encoding: MediaEncoding;
  /** RTP clock rate (8000 for G.722 per RFC 3551 section 4.5.2, although it samples at 16 kHz). */
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

export interface SrtpDescription {
  suite: SrtpSuite;
  /** Master key || master salt (30 bytes), base64 as in SDP a=crypto (RFC 4568). */
  localKey: string;
  remoteKey: string;
}

export interface EndpointOptions {
  /** Session id chosen by the caller; generated when absent. */
  sessionId?: string;
  /** Local address to bind (e.g. 127.0.0.1). */
  address: string;
  /** Inclusive range to pick the RTP port from; RTP ports are even (RFC 3550 section 11). Defaults to the engine's. */
  portRange?: { min: number; max: number };
  /** RTP and RTCP on one port (RFC 5761); otherwise RTCP uses port + 1. */
  rtcpMux?: boolean;
  codecs: CodecDescription[];
  /** Payload type of RFC 4733 telephone-event, if negotiated. */
  telephoneEventPayloadType?: number;
  /** Packetization time in ms (default 20). */
  ptime?: number;
  srtp?: SrtpDescription;
  /** Place this session in the same worker as that session (bridges, conferences). */
  near?: string;
  /** Place every session with this key in one worker. */
  group?: string;
  /** Seconds without inbound RTP before an rtpTimeout event (0 = never; default 30). */
  rtpTimeoutSeconds?: number;
}

export interface EndpointInfo {
  sessionId: string;
  address: string;
  port: number;
  rtcpPort: number;
  ssrc: number;
  worker: number;
}

export interface RemoteDescription {
  address: string;
  port: number;
  /** RTCP port when not muxed (default port + 1). */
  rtcpPort?: number;
  /** Which of the endpoint's codecs (by the endpoint's payload type) to send. Defaults to the first codec. */
  payloadType?: number;
  /**
   * The number the far end declared for that codec, written on the audio we send (RFC 3264 6.1: each side
   * receives with the numbers it declared). Default `payloadType`. Also accepted on receive when it names no other
   * format of the endpoint (phones that send with their own numbers).
   */
  sendPayloadType?: number;
  /**
   * Our telephone-event payload type from now on (received events), replacing the endpoint's: the one whose clock
   * rate matches the chosen codec (RFC 4733 2.1: events use the audio's timestamp clock).
   */
  telephoneEventPayloadType?: number;
  /**
   * The far end's telephone-event payload type, written on the events we send; null when it negotiated none (no
   * events are sent, digits from a bridged peer are dropped). Default ours.
   */
  sendTelephoneEventPayloadType?: number | null;
}

export type PlayItem =
  | { file: string }
  | {
      /** A tone preset name, e.g. 'dial', 'ringback', 'busy', 'congestion', or a custom tone. */
      tone: string;
      country?: string;
      /** Stop after this long; tones otherwise play their cadence for `durationMs` or forever when looping. */
      durationMs?: number;
    }
  | { silenceMs: number };

export interface PlayOptions {
  /** Play the list again and again until stopped. */
  loop?: boolean;
  /** Add to the end of what is already playing instead of replacing it. */
  queue?: boolean;
  /** Stop when any of these digits is received (true = any digit). */
  interruptOnDtmf?: boolean | string;
}

export interface RecordOptions {
  file: string;
  /** 'inbound' = what the phone sends, 'outbound' = what it hears, 'both' (default). */
  legs?: 'inbound' | 'outbound' | 'both';
  /** For both legs: one channel mixed, or stereo (left inbound, right outbound). */
  layout?: 'mixed' | 'stereo';
}

export interface DtmfDetectOptions {
  rfc4733?: boolean;
  inband?: boolean;
}

export interface ConferenceOptions {
  /** Worker placement key, as for endpoints. */
  group?: string;
  near?: string;
  talkerWindowMs?: number;
  maxTalkers?: number;
  /**
   * Voice activity: a member's frame quieter than this mean power (dBFS, default -50) is silence or background
   * noise and is not mixed; members not talking share one encoded mix per codec.
   */
  voiceThresholdDb?: number;
  /** Frames after the last one above the threshold that are still mixed, in ms (default 300). */
  voiceHangoverMs?: number;
}

export interface SessionStatistics {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Expected minus received (RFC 3550 appendix A.3). */
  packetsLost: number;
  /** Interarrival jitter in ms (RFC 3550 section 6.4.1). */
  jitterMs: number;
  /** Packets dropped as malformed, from an unexpected source or failing SRTP authentication. */
  packetsDiscarded: number;
  /** As the far end reported in its last RTCP report block, if any. */
  remote?: { fractionLost: number; packetsLost: number; jitterMs: number; roundTripMs?: number };
}

export type SessionCloseReason = 'closed' | 'worker-crashed' | 'engine-shutdown' | 'migrated-failed';

export type MediaEngineEvent =
  | { type: 'dtmf'; session: string; digit: string; durationMs: number; source: 'rfc4733' | 'inband' }
  | { type: 'playbackEnded'; session: string; playbackId: number; reason: 'finished' | 'stopped' | 'dtmf' | 'error' }
  | { type: 'rtpTimeout'; session: string; silentForMs: number }
  | { type: 'statistics'; session: string; stats: SessionStatistics }
  | { type: 'talkers'; conference: string; talkers: { session: string; levelDb: number }[] }
  | { type: 'recordingEnded'; session: string; file: string; durationMs: number; error?: string }
  | { type: 'sessionClosed'; session: string; reason: SessionCloseReason };

export type MediaEngineEventType = MediaEngineEvent['type'];

/** Load of one media worker: how much of each 20 ms tick its generated audio takes. */
export interface WorkerStatistics {
  worker: number;
  sessions: number;
  conferences: number;
  ticks: number;
  /** Wall time spent inside ticks (decode, mix, resample, encode, send), in ms. */
  tickBusyMs: number;
  /** RTP packets since the worker started, closed sessions included (they only grow while the worker lives). */
  packetsReceived: number;
  packetsSent: number;
  /** Packets whose handling failed unexpectedly and were dropped. */
  handlerErrors: number;
  /** CPU time the worker thread has used (user and system), in ms; absent where the OS does not say (non-Linux). */
  cpuMs?: number;
}
