import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  createSrtpSession,
  isRtcpPacket,
  parseRtpHeader,
  RtcpCompoundReader,
  RtcpPacketType,
  RtcpReportBlock,
  RtpHeader,
  RtpJitterBuffer,
  RtpJitterStatus,
  RtpLatch,
  RtpLatchResult,
  RtpParseStatus,
  RtpSourceStatistics,
  RtpTimeoutMonitor,
  rtcpInterval,
  rtcpNtpFractionOf,
  rtcpNtpMiddle32,
  rtcpNtpSecondsOf,
  rtcpRoundTripMs,
  type SrtpSession,
  TelephoneEventReceiver,
  TelephoneEventSender,
  writeRtcpReceiverReport,
  writeRtcpSdesCname,
  writeRtcpSenderReport,
  writeRtpHeader,
} from '../rtp/index.js';
import { ManualTickClock, RealTickClock, type TickClock } from './clock.js';
import { Conference, type ConferenceSeat, type SharedStream } from './conference.js';
import { MediaEngineError } from './errors.js';
import type {
  CommandResults,
  CreateEndpointArgs,
  MainToWorker,
  SessionSnapshot,
  WorkerCommand,
  WorkerConfig,
  WorkerToMain,
} from './protocol.js';
import { WavFileRecorder } from './recorder.js';
import { rewriteRtpHeader } from './relay-header.js';
import {
  type InbandDtmfDetector,
  makeDecoder,
  makeEncoder,
  makeInbandDtmfDetector,
  makeLiveResampler,
  makeResampler,
  makeToneSource,
  type PcmDecoder,
  type PcmEncoder,
  type PcmResampler,
  pcmRateOf,
  readWavMono,
  type ToneSource,
} from './toolkit.js';
import type {
  CodecDescription,
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

/** How a worker talks to the engine (a MessagePort in production, a function in unit tests). */
export interface WorkerHost {
  post(msg: WorkerToMain, transfer?: ArrayBuffer[]): void;
  exit(code: number): void;
}

const SEND_RING = 8; // packets in flight per session before a send buffer is reused
const MAX_PACKET = 1500;

/** Copies or resamples one frame between rates; the identity case just copies. */
class RateBridge {
  private readonly resampler: PcmResampler | undefined;
  constructor(from: number, to: number) {
    this.resampler = from === to ? undefined : makeLiveResampler(from, to);
  }
  run(input: Int16Array, output: Int16Array): void {
    if (!this.resampler) {
      output.set(input.length === output.length ? input : input.subarray(0, output.length));
      return;
    }
    const n = this.resampler.process(input, output);
    if (n < output.length) output.fill(0, n);
  }
}

/** What a player is doing right now: PCM of a file at the session rate, a tone, or silence. */
class Player {
  readonly id: number;
  readonly items: PlayItem[];
  readonly loop: boolean;
  readonly interrupt: string | boolean;
  private index = -1;
  private pcm: Int16Array | undefined;
  private pos = 0;
  private tone: ToneSource | undefined;
  private toneLeft = 0;
  private silenceLeft = 0;
  private readonly rate: number;
  private readonly fileCache = new Map<string, Int16Array>();

  constructor(id: number, items: PlayItem[], options: PlayOptions, rate: number) {
    this.id = id;
    this.items = items.slice();
    this.loop = options.loop ?? false;
    this.interrupt = options.interruptOnDtmf ?? false;
    this.rate = rate;
    // Load (and resample) every file now so a bad file fails the command, not the call later.
    for (const item of items) if ('file' in item) this.load(item.file);
    this.advance();
  }

  enqueue(items: PlayItem[]): void {
    for (const item of items) if ('file' in item) this.load(item.file);
    this.items.push(...items);
  }

  get finished(): boolean {
    return this.index >= this.items.length;
  }

  interruptedBy(digit: string): boolean {
    return this.interrupt === true || (typeof this.interrupt === 'string' && this.interrupt.includes(digit));
  }

  /** Fills `out` (zero-padding at the very end); false when nothing was left to play. */
  fill(out: Int16Array): boolean {
    let n = 0;
    let guard = this.items.length + 2;
    while (n < out.length && !this.finished && guard > 0) {
      if (this.pcm) {
        const take = Math.min(out.length - n, this.pcm.length - this.pos);
        out.set(this.pcm.subarray(this.pos, this.pos + take), n);
        this.pos += take;
        n += take;
        if (this.pos >= this.pcm.length) this.advance();
        else continue;
      } else if (this.tone) {
        const want = Math.min(out.length - n, this.toneLeft);
        const got = this.tone.fill(out.subarray(n, n + want));
        n += got;
        this.toneLeft -= got;
        if (this.toneLeft <= 0 || got < want) this.advance();
        else continue;
      } else if (this.silenceLeft > 0) {
        const take = Math.min(out.length - n, this.silenceLeft);
        out.fill(0, n, n + take);
        n += take;
        this.silenceLeft -= take;
        if (this.silenceLeft <= 0) this.advance();
        else continue;
      } else {
        this.advance();
      }
      guard--;
    }
    if (n === 0) return false;
    if (n < out.length) out.fill(0, n);
    return true;
  }

  private advance(): void {
    this.pcm = undefined;
    this.tone = undefined;
    this.silenceLeft = 0;
    this.index++;
    if (this.index >= this.items.length && this.loop && this.items.length > 0) this.index = 0;
    const item = this.items[this.index];
    if (!item) return;
    if ('file' in item) {
      this.pcm = this.load(item.file);
      this.pos = 0;
    } else if ('tone' in item) {
      this.tone = makeToneSource(item.tone, item.country, this.rate);
      this.toneLeft = item.durationMs !== undefined ? Math.round((item.durationMs * this.rate) / 1000) : Infinity;
    } else {
      this.silenceLeft = Math.max(1, Math.round((item.silenceMs * this.rate) / 1000));
    }
  }

  private load(file: string): Int16Array {
    const cached = this.fileCache.get(file);
    if (cached) return cached;
    const wav = readWavMono(file);
    let pcm = wav.samples;
    if (wav.sampleRate !== this.rate) {
      const out = new Int16Array(Math.ceil((pcm.length * this.rate) / wav.sampleRate) + 64);
      const r = makeResampler(wav.sampleRate, this.rate);
      const n = r.process(pcm, out);
      pcm = out.subarray(0, n);
    }
    this.fileCache.set(file, pcm);
    return pcm;
  }
}

interface StreamState {
  id: number;
  rate: number;
  frame: number; // samples per tick at the stream rate
  toStream: RateBridge;
  fromStream: RateBridge;
  streamBuf: Int16Array; // one frame at the stream rate
  queue: Int16Array[];
  queueHead: number; // samples of queue[0] already used
  queued: number;
}

/** RFC 4733 digits being sent: the queue, the event in progress and its next packet. */
interface DtmfOut {
  sender: TelephoneEventSender;
  queue: { digit: string; durationMs: number; gapMs: number }[];
  sending: boolean;
  startedAt: number;
  gapUntil: number;
  gapMs: number;
  pending: number;
  pendingBuf: Uint8Array;
}

/** Counters of what a session received (RFC 3550 statistics proper are in RtpSourceStatistics). */
class ReceiveCounters {
  packets = 0;
  bytes = 0;
  discarded = 0;
}

class Session {
  readonly id: string;
  readonly core: WorkerCore;
  readonly args: CreateEndpointArgs;
  readonly socket: Socket;
  readonly rtcpSocket: Socket | undefined;
  readonly port: number;
  readonly codecs: CodecDescription[];
  remote: RemoteDescription | undefined;
  /** Where RTP really comes from (symmetric RTP, RFC 4961): sent to once media arrives. */
  latchedAddress: string | undefined;
  latchedPort = 0;
  /** Decides which source may take the latch (RFC 4961 with the rtp module's hijack guard). */
  private readonly latchGuard = new RtpLatch();
  private connected = false;
  private connectGeneration = 0;
  sendCodec: CodecDescription;
  /**
   * Payload types per direction (RFC 3264 6.1: a side receives with the numbers it declared, so we send with the far
   * end's): what we write on sent audio and events, what we accept as events, and the far end's numbers accepted
   * on receive too when they name nothing else of ours (-1: none).
   */
  txAudioPt: number;
  txEventPt: number | undefined;
  private rxEventPt: number | undefined;
  private rxAudioAlias = -1;
  private rxEventAlias = -1;
  private encoderInstance: PcmEncoder | undefined;
  pcmRate: number;
  frameSamples: number;
  tsStep: number;
  readonly ssrc: number;
  seq: number;
  timestamp: number;
  private readonly decoders = new Map<number, PcmDecoder>();
  private lastDecoder: PcmDecoder | undefined;
  private readonly sendRing: Uint8Array[];
  private ringIndex = 0;
  private readonly srtpRing: Uint8Array[];
  private srtpIndex = 0;
  /** The ring slot nextSendBuffer gave last, each slot's payload (after the 12-octet header) and exact views. */
  private ringSlot = 0;
  private readonly ringPayloads: Uint8Array[];
  private readonly ringViews: Buffer[];
  inPcm: Int16Array;
  inActive = false;
  /** This tick's inbound audio as 8 kHz PCM in `narrowPcm` instead of `inPcm` (see subbandTranscode). */
  narrowIn = false;
  narrowPcm: Int16Array | undefined;
  outPcm: Int16Array;
  private outActive = false;
  private talking = false;
  /** Inbound audio for sessions that decode it: adaptive playout delay, reordering, losses named for concealment. */
  private jitter: RtpJitterBuffer;
  readonly rx = new ReceiveCounters();
  /** RFC 3550 A.1/A.3/A.8 sequence, loss and jitter of the far end's stream, for statistics and RTCP. */
  private readonly source: RtpSourceStatistics;
  private remoteReport: SessionStatistics['remote'];
  private nextRtcpAt: number;
  private rtcpInitial = true;
  sentSinceReport = false;
  private readonly rtcpBuf = new Uint8Array(256);
  private readonly reportBlock = new RtcpReportBlock();
  private readonly cname: Uint8Array;
  private readonly sendHeader = new RtpHeader();
  private readonly timeout: RtpTimeoutMonitor;
  txPackets = 0;
  txBytes = 0;
  txPayloadBytes = 0;
  private ticks = 0;
  // bridge
  peer: Session | undefined;
  bridgeMode: 'relay' | 'transcode' | undefined;
  private peerRate: RateBridge | undefined;
  private relaySourceSsrc = -1;
  private relayResync = true;
  private relaySeqOffset = 0;
  private relayTsOffset = 0;
  relayedSinceTick = false;
  private eventSourceTs = -1;
  private eventSourceSsrc = -1;
  private eventPeerTs = 0;
  // features
  seat: ConferenceSeat | undefined;
  player: Player | undefined;
  dtmfOut: DtmfOut | undefined;
  recorder: { rec: WavFileRecorder; legs: 'inbound' | 'outbound' | 'both'; stereo: boolean } | undefined;
  readonly streams = new Map<number, StreamState>();
  dtmf: DtmfDetectOptions;
  private inband: InbandDtmfDetector | undefined;
  private teReceiver: TelephoneEventReceiver;
  private readonly srtp: SrtpSession | undefined;
  closed = false;

  constructor(core: WorkerCore, args: CreateEndpointArgs, socket: Socket, rtcpSocket: Socket | undefined) {
    this.core = core;
    this.id = args.sessionId;
    this.args = args;
    this.socket = socket;
    this.rtcpSocket = rtcpSocket;
    this.port = args.port;
    this.codecs = args.codecs;
    this.sendCodec = args.codecs[0];
    this.txAudioPt = this.sendCodec.payloadType;
    this.rxEventPt = args.telephoneEventPayloadType;
    this.txEventPt = this.rxEventPt;
    this.pcmRate = pcmRateOf(this.sendCodec);
    this.frameSamples = (this.pcmRate * args.ptime) / 1000;
    this.tsStep = (this.sendCodec.clockRate * args.ptime) / 1000;
    this.inPcm = new Int16Array(this.frameSamples);
    this.outPcm = new Int16Array(this.frameSamples);
    this.sendRing = Array.from({ length: SEND_RING }, () => new Uint8Array(MAX_PACKET));
    this.ringPayloads = this.sendRing.map((b) => b.subarray(12));
    this.ringViews = this.sendRing.map((b) => Buffer.from(b.buffer, b.byteOffset, 0));
    this.srtpRing = args.srtp ? Array.from({ length: SEND_RING }, () => new Uint8Array(MAX_PACKET + 64)) : [];
    this.jitter = this.makeJitterBuffer(this.sendCodec.clockRate);
    const snap = args.snapshot;
    this.ssrc = snap?.ssrc ?? randomInt(0, 2 ** 32);
    this.seq = snap?.seq ?? randomInt(0, 65536);
    this.timestamp = snap?.timestamp ?? randomInt(0, 2 ** 32);
    this.remote = snap?.remote;
    if (this.remote) this.latchGuard.setRemote(this.remote.address, this.remote.port);
    if (snap?.latchedAddress !== undefined) {
      this.latchGuard.restore(snap.latchedAddress, snap.latchedPort ?? 0);
      this.latch(snap.latchedAddress, snap.latchedPort ?? 0);
    }
    this.dtmf = snap?.dtmf ?? { rfc4733: args.telephoneEventPayloadType !== undefined, inband: false };
    if (this.dtmf.inband) this.inband = makeInbandDtmfDetector(this.pcmRate, (d, ms) => this.onDigit(d, ms, 'inband'));
    this.teReceiver = this.makeEventReceiver(this.sendCodec.clockRate);
    this.srtp = args.srtp ? openSrtp(args.srtp) : undefined;
    this.source = new RtpSourceStatistics(this.sendCodec.clockRate);
    this.cname = new TextEncoder().encode(`switchyard-${this.ssrc.toString(16)}@${args.address}`);
    this.timeout = new RtpTimeoutMonitor({ timeoutMs: args.rtpTimeoutSeconds * 1000 }, core.clock.now());
    this.nextRtcpAt = core.clock.now() + this.rtcpIntervalMs();
    if (this.remote) this.applyRemotePayloadTypes(this.remote);
  }

  info(): EndpointInfo {
    return {
      sessionId: this.id,
      address: this.args.address,
      port: this.port,
      rtcpPort: this.args.rtcpMux ? this.port : this.port + 1,
      ssrc: this.ssrc,
      worker: this.core.config.workerIndex,
    };
  }

  snapshot(): SessionSnapshot {
    return {
      ssrc: this.ssrc,
      seq: this.seq,
      timestamp: this.timestamp,
      remote: this.remote,
      latchedAddress: this.latchedAddress,
      latchedPort: this.latchedPort,
      dtmf: { ...this.dtmf },
    };
  }

  setRemote(remote: RemoteDescription): void {
    if (!Number.isInteger(remote.port) || remote.port < 1 || remote.port > 65535) {
      throw new MediaEngineError('INVALID_ARGUMENT', `bad remote port ${remote.port}`);
    }
    // An IP literal of the socket's family: a name would cost a DNS lookup per packet.
    const family = isIP(remote.address);
    if (family === 0 || (family === 6) !== this.args.address.includes(':')) {
      throw new MediaEngineError(
        'INVALID_ARGUMENT',
        `remote address ${remote.address} is not an IP of the local family`,
      );
    }
    this.checkRemotePayloadTypes(remote);
    this.applyRemotePayloadTypes(remote);
    this.remote = { ...remote };
    this.latchGuard.setRemote(remote.address, remote.port);
    this.latchGuard.reset();
    this.unlatch();
  }

  private checkRemotePayloadTypes(r: RemoteDescription): void {
    const sendEvent = r.sendTelephoneEventPayloadType ?? undefined;
    for (const pt of [r.payloadType, r.sendPayloadType, r.telephoneEventPayloadType, sendEvent]) {
      if (pt !== undefined && !(Number.isInteger(pt) && pt >= 0 && pt <= 127)) {
        throw new MediaEngineError('INVALID_ARGUMENT', `bad payload type ${pt}`);
      }
    }
    if (r.telephoneEventPayloadType !== undefined && this.codecOwnOf(r.telephoneEventPayloadType)) {
      throw new MediaEngineError('INVALID_ARGUMENT', `telephone-event ${r.telephoneEventPayloadType} is a codec's`);
    }
    const audio = r.sendPayloadType ?? r.payloadType;
    const event = sendEvent;
    if (audio !== undefined && audio === event) {
      throw new MediaEngineError('INVALID_ARGUMENT', `payload type ${audio} sent for both audio and events`);
    }
  }

  /** The codec, the per-direction payload types and the receive aliases a remote description settles. */
  private applyRemotePayloadTypes(r: RemoteDescription): void {
    if (r.payloadType !== undefined) this.chooseSendCodec(r.payloadType);
    if (r.telephoneEventPayloadType !== undefined && r.telephoneEventPayloadType !== this.rxEventPt) {
      if (this.rxEventPt === undefined) this.dtmf.rfc4733 = true; // negotiated only now
      this.rxEventPt = r.telephoneEventPayloadType;
      this.dtmfOut = undefined; // its sender was made for the old event clock
      this.jitter = this.makeJitterBuffer(this.sendCodec.clockRate);
    }
    this.txAudioPt = r.sendPayloadType ?? this.sendCodec.payloadType;
    // RFC 4733 events go only to a far end that negotiated them.
    this.txEventPt =
      r.sendTelephoneEventPayloadType === null ? undefined : (r.sendTelephoneEventPayloadType ?? this.rxEventPt);
    if (this.txEventPt === undefined) this.dtmfOut = undefined; // queued digits have no number to go out with
    if (this.rxAudioAlias >= 0) this.decoders.delete(this.rxAudioAlias);
    // The far end's own numbers are accepted too, unless one of ours means something else by them.
    const free = (pt: number | undefined) => pt !== undefined && pt !== this.rxEventPt && !this.codecOwnOf(pt);
    this.rxAudioAlias = free(this.txAudioPt) ? this.txAudioPt : -1;
    this.rxEventAlias = free(this.txEventPt) && this.txEventPt !== this.rxAudioAlias ? this.txEventPt! : -1;
  }

  private chooseSendCodec(pt: number): void {
    const codec = this.codecs.find((c) => c.payloadType === pt);
    if (!codec) throw new MediaEngineError('UNSUPPORTED_CODEC', `payload type ${pt} is not one of the endpoint's`);
    if (codec.encoding !== this.sendCodec.encoding || codec.clockRate !== this.sendCodec.clockRate) {
      const rate = pcmRateOf(codec);
      if (rate !== this.pcmRate) {
        // The PCM side follows the chosen codec; bridges, seats and streams were built for the old rate.
        if (this.peer || this.seat || this.streams.size > 0 || this.recorder || this.player) {
          throw new MediaEngineError('BUSY', 'choose the codec before bridging, conferencing, playing or streaming');
        }
        this.pcmRate = rate;
        this.frameSamples = (this.pcmRate * this.args.ptime) / 1000;
        this.inPcm = new Int16Array(this.frameSamples);
        this.outPcm = new Int16Array(this.frameSamples);
        this.decoders.clear();
        this.lastDecoder = undefined;
        if (this.inband) {
          this.inband = makeInbandDtmfDetector(this.pcmRate, (d, ms) => this.onDigit(d, ms, 'inband'));
        }
      }
      this.encoderInstance = undefined;
    }
    if (codec.clockRate !== this.sendCodec.clockRate) {
      this.jitter = this.makeJitterBuffer(codec.clockRate);
      this.teReceiver = this.makeEventReceiver(codec.clockRate); // RFC 4733 2.1: events on the audio's clock
      this.dtmfOut = undefined;
    }
    this.sendCodec = codec;
    this.txAudioPt = codec.payloadType;
    this.tsStep = (codec.clockRate * this.args.ptime) / 1000;
  }

  private makeEventReceiver(clockRate: number): TelephoneEventReceiver {
    return new TelephoneEventReceiver((digit, ms) => this.onDigit(digit, ms, 'rfc4733'), { clockRate });
  }

  /** The receive buffer, timed in the codec's RTP clock; telephone-events hold their sequence numbers (not lost). */
  private makeJitterBuffer(clockRate: number): RtpJitterBuffer {
    return new RtpJitterBuffer({
      capacity: 64,
      maxPayload: maxPayloadBytes(this.args.codecs, this.args.ptime),
      clockRate,
      telephoneEventPayloadType: this.rxEventPt,
    });
  }

  /**
   * The encoder of the send codec, made on first use: a relay never needs one. Commands that will generate audio
   * call this first, so a codec the codec module lacks fails the command instead of a later tick.
   */
  get encoder(): PcmEncoder {
    if (!this.encoderInstance) {
      const enc = makeEncoder(this.sendCodec);
      if (enc.sampleRate !== this.pcmRate) {
        throw new MediaEngineError(
          'UNSUPPORTED_CODEC',
          `${this.sendCodec.encoding} encoder runs at ${enc.sampleRate} Hz`,
        );
      }
      this.encoderInstance = enc;
    }
    return this.encoderInstance;
  }

  /** Makes sure this session can encode and decode audio (see `encoder`). */
  requireCodecs(): void {
    void this.encoder;
    if (!this.decoderFor(this.sendCodec.payloadType)) {
      throw new MediaEngineError('UNSUPPORTED_CODEC', `no ${this.sendCodec.encoding} decoder at ${this.pcmRate} Hz`);
    }
  }

  setDtmf(options: DtmfDetectOptions): void {
    if (options.rfc4733 !== undefined) this.dtmf.rfc4733 = options.rfc4733;
    if (options.inband !== undefined) this.dtmf.inband = options.inband;
    this.inband = this.dtmf.inband
      ? (this.inband ?? makeInbandDtmfDetector(this.pcmRate, (d, ms) => this.onDigit(d, ms, 'inband')))
      : undefined;
  }

  /** Something needs this session's inbound audio decoded every tick. */
  get needsPcm(): boolean {
    return (
      this.bridgeMode === 'transcode' ||
      this.seat !== undefined ||
      this.recorder !== undefined ||
      this.streams.size > 0 ||
      this.inband !== undefined ||
      (this.peer?.recorder !== undefined && this.bridgeMode === 'relay')
    );
  }

  // ---- inbound

  onRtp(msg: Buffer, rinfo: RemoteInfo): void {
    let buf: Uint8Array = msg;
    let len = msg.length;
    if (this.args.rtcpMux && isRtcpPacket(buf, len)) {
      this.onRtcp(msg); // RFC 5761 section 4: RTCP packet types 192-223 share the port
      return;
    }
    if (this.srtp) {
      const n = this.srtp.unprotect(msg, len);
      if (n < 0) {
        this.rx.discarded++;
        return;
      }
      len = n;
      buf = msg;
    }
    const v = this.core.header;
    if (parseRtpHeader(buf, len, v) !== RtpParseStatus.Ok) {
      this.rx.discarded++;
      return;
    }
    if (!this.acceptSource(rinfo, v)) {
      this.rx.discarded++;
      return;
    }
    const pt = v.payloadType;
    const isEvent = pt === this.rxEventPt || pt === this.rxEventAlias;
    const codec = isEvent ? undefined : this.codecOf(pt);
    if (!isEvent && !codec) {
      this.rx.discarded++;
      return;
    }
    this.rx.packets++;
    this.rx.bytes += len;
    const arrival = this.core.arrivalMs();
    // On the real clock arrival time is clock time: one reading per packet, not two.
    const now = this.core.realTime ? arrival : this.core.clock.now();
    this.source.update(v.ssrc, v.sequenceNumber, v.timestamp, arrival);
    this.timeout.onPacket(now);
    // Events under the far end's number stay out of the buffer, which knows ours only.
    if (this.needsPcm && pt !== this.rxEventAlias) this.jitter.insert(buf, v, now);
    if (isEvent) {
      if (this.dtmf.rfc4733) {
        this.teReceiver.receive(buf, v.payloadOffset, v.payloadLength, v.timestamp, v.marker, now);
      }
      if (this.bridgeMode === 'relay') this.relay(msg, len, v, true);
      else if (this.bridgeMode === 'transcode') this.forwardEvent(buf, v);
      return;
    }
    if (this.bridgeMode === 'relay') this.relay(msg, len, v, false);
  }

  /**
   * Symmetric RTP (RFC 4961) with the rtp module's hijack guard (RtpLatch): the send address latches onto the
   * signalled address at its first packet, or onto another source (behind NAT it differs from what SDP said) once it
   * has sent a valid stream (three in-sequence packets of one SSRC); until then its packets are dropped. The socket
   * is then connected to the latched source, so the kernel drops everyone else's datagrams at no cost per packet;
   * moving the latch elsewhere takes signalling (setRemote), which disconnects it.
   */
  private acceptSource(rinfo: RemoteInfo, v: RtpHeader): boolean {
    const r = this.latchGuard.check(rinfo.address, rinfo.port, v.ssrc, v.sequenceNumber);
    if (r === RtpLatchResult.Accepted) return true;
    if (r !== RtpLatchResult.Latched) return false;
    this.latch(rinfo.address, rinfo.port);
    return true;
  }

  /**
   * Latches the far end and connects the socket to it: the kernel then drops datagrams from anyone else (the
   * hijack guard costs nothing per packet) and sends skip the per-datagram address lookup.
   */
  private latch(address: string, port: number): void {
    this.latchedAddress = address;
    this.latchedPort = port;
    this.connected = false;
    const generation = ++this.connectGeneration;
    this.socket.connect(port, address, () => {
      if (generation === this.connectGeneration && !this.closed) this.connected = true;
    });
  }

  private unlatch(): void {
    this.latchedAddress = undefined;
    this.latchedPort = 0;
    this.connectGeneration++;
    if (this.connected) {
      this.connected = false;
      try {
        this.socket.disconnect();
      } catch {
        // not connected after all (connect still pending): nothing to undo
      }
    }
  }

  /** The codec a received payload type carries: ours, or the far end's number for the send codec. */
  private codecOf(pt: number): CodecDescription | undefined {
    for (const c of this.codecs) if (c.payloadType === pt) return c;
    return pt === this.rxAudioAlias ? this.sendCodec : undefined;
  }

  private codecOwnOf(pt: number): CodecDescription | undefined {
    for (const c of this.codecs) if (c.payloadType === pt) return c;
    return undefined;
  }

  /** Forwards a packet to the bridged peer, translating SSRC, sequence numbers, timestamps and payload type. */
  private relay(msg: Buffer, len: number, v: RtpHeader, isEvent: boolean): void {
    const peer = this.peer!;
    if (peer.player || peer.streamsWriting || peer.dtmfOut?.sending) return; // the peer hears generated audio
    let pt: number;
    if (isEvent) {
      if (peer.txEventPt === undefined) return;
      pt = peer.txEventPt;
    } else {
      pt = peer.txAudioPt;
    }
    if (this.relayResync || v.ssrc !== this.relaySourceSsrc) {
      this.relaySourceSsrc = v.ssrc;
      this.relayResync = false;
      this.relaySeqOffset = (peer.seq - v.sequenceNumber) & 0xffff;
      this.relayTsOffset = (peer.timestamp - v.timestamp) >>> 0;
    }
    const seq = (v.sequenceNumber + this.relaySeqOffset) & 0xffff;
    const ts = (v.timestamp + this.relayTsOffset) >>> 0;
    rewriteRtpHeader(msg, pt, seq, ts, peer.ssrc);
    // A reordered packet must not move the peer's counters back (they number its generated audio later).
    if (((seq - peer.seq) << 16) >> 16 >= 0) peer.seq = (seq + 1) & 0xffff;
    if (!isEvent && ((ts - peer.timestamp) | 0) >= 0) peer.timestamp = (ts + peer.tsStep) >>> 0;
    peer.relayedSinceTick = true;
    peer.txPayloadBytes += v.payloadLength;
    peer.sentSinceReport = true;
    peer.sendDatagram(msg, len, false);
  }

  /**
   * Carries an RFC 4733 event across a transcoding bridge: the peer numbers it in its own sequence space, every
   * packet of one event keeps one timestamp (RFC 4733 2.5.1.2), and the duration is rescaled to the peer's clock.
   */
  private forwardEvent(buf: Uint8Array, v: RtpHeader): void {
    const peer = this.peer!;
    const pt = peer.txEventPt;
    if (pt === undefined || v.payloadLength < 4 || peer.player) return;
    if (v.timestamp !== this.eventSourceTs || this.eventSourceSsrc !== v.ssrc) {
      this.eventSourceTs = v.timestamp;
      this.eventSourceSsrc = v.ssrc;
      this.eventPeerTs = peer.timestamp;
    }
    const pkt = peer.nextSendBuffer();
    const o = v.payloadOffset;
    const scale = peer.sendCodec.clockRate / this.sendCodec.clockRate;
    const duration = Math.min(0xffff, Math.round(((buf[o + 2] << 8) | buf[o + 3]) * scale));
    peer.writeHeader(pkt, pt, v.marker, peer.seq, this.eventPeerTs);
    pkt[12] = buf[o];
    pkt[13] = buf[o + 1];
    pkt[14] = duration >> 8;
    pkt[15] = duration & 0xff;
    peer.seq = (peer.seq + 1) & 0xffff;
    peer.sendDatagram(pkt, 16, true);
  }

  get streamsWriting(): boolean {
    if (this.streams.size === 0) return false; // the relay asks per packet: no iterator when there is nothing
    for (const s of this.streams.values()) if (s.queued > 0) return true;
    return false;
  }

  /** Reads the far end's RTCP: SR times for our LSR/DLSR, and what its report blocks say about our stream. */
  onRtcp(msg: Buffer): void {
    const r = this.core.rtcp;
    let len = msg.length;
    if (this.srtp) {
      len = this.srtp.unprotectRtcp(msg, len); // RFC 3711 3.4: SRTCP
      if (len < 0) {
        this.rx.discarded++;
        return;
      }
    }
    if (r.validate(msg, len) !== 0) {
      this.rx.discarded++;
      return;
    }
    const arrival = this.core.arrivalMs();
    for (let type = r.next(); type !== 0; type = r.next()) {
      if (type === RtcpPacketType.SR) this.source.onSenderReport(rtcpNtpMiddle32(r.ntpSeconds, r.ntpFraction), arrival);
      if (type !== RtcpPacketType.SR && type !== RtcpPacketType.RR) continue;
      for (let i = 0; i < r.blockCount; i++) {
        const b = r.blocks[i];
        if (b.ssrc !== this.ssrc) continue;
        const now = Date.now(); // NTP time is wall-clock time by definition (RFC 3550 4)
        const rtt = rtcpRoundTripMs(
          rtcpNtpMiddle32(rtcpNtpSecondsOf(now), rtcpNtpFractionOf(now)),
          b.lastSr,
          b.delaySinceLastSr,
        );
        this.remoteReport = {
          fractionLost: b.fractionLost / 256,
          packetsLost: b.cumulativeLost,
          jitterMs: (b.jitter / this.sendCodec.clockRate) * 1000,
          ...(rtt !== undefined ? { roundTripMs: rtt } : {}),
        };
      }
    }
  }

  /** RFC 3550 6.3.1 interval for a two-party session at 5% of a 64 kbit/s stream, in ms. */
  private rtcpIntervalMs(): number {
    const seconds = rtcpInterval(
      {
        members: 2,
        senders: this.sentSinceReport ? 2 : 1,
        rtcpBandwidth: 400,
        weSent: this.sentSinceReport,
        avgRtcpSize: 100,
        initial: this.rtcpInitial,
      },
      Math.random,
    );
    this.rtcpInitial = false;
    return seconds * 1000;
  }

  /** Sends a compound RTCP packet: SR (or RR when we sent nothing) with a block for the far end, then SDES CNAME. */
  private sendRtcp(): void {
    const address = this.latchedAddress ?? this.remote?.address;
    if (address === undefined || this.closed) return;
    const buf = this.rtcpBuf;
    const haveSource = this.source.active;
    if (haveSource) this.source.fillReportBlock(this.reportBlock, this.core.arrivalMs());
    const blocks = this.core.blockList(haveSource ? this.reportBlock : undefined);
    let n: number;
    if (this.sentSinceReport) {
      const now = Date.now();
      n = writeRtcpSenderReport(
        buf,
        0,
        {
          ssrc: this.ssrc,
          ntpSeconds: rtcpNtpSecondsOf(now),
          ntpFraction: rtcpNtpFractionOf(now),
          rtpTimestamp: this.timestamp,
          packetCount: this.txPackets >>> 0,
          octetCount: this.txPayloadBytes >>> 0,
        },
        blocks,
      );
    } else {
      n = writeRtcpReceiverReport(buf, 0, this.ssrc, blocks);
    }
    n += writeRtcpSdesCname(buf, n, this.ssrc, this.cname);
    this.sentSinceReport = false;
    if (this.srtp) {
      n = this.srtp.protectRtcpInPlace(buf, n);
      if (n < 0) return;
    }
    if (this.args.rtcpMux) {
      const address2 = this.latchedAddress ?? this.remote?.address;
      const port2 = this.latchedAddress !== undefined ? this.latchedPort : this.remote?.port;
      if (address2 !== undefined && port2 !== undefined) {
        if (this.connected) this.socket.send(buf, 0, n);
        else this.socket.send(buf.slice(0, n), 0, n, port2, address2);
      }
      return;
    }
    // RTCP goes where SDP said (RFC 3605 a=rtcp), else to the port after the one RTP comes from or goes to
    const rtpPort = this.latchedAddress !== undefined ? this.latchedPort : (this.remote?.port ?? 0);
    const port = this.remote?.rtcpPort ?? rtpPort + 1;
    // A copy: the send completes after an address lookup, and the report buffer is reused (a few per minute).
    if (port > 0 && port < 65536) this.rtcpSocket?.send(buf.slice(0, n), 0, n, port, address);
  }

  private onDigit(digit: string, durationMs: number, source: 'rfc4733' | 'inband'): void {
    this.core.emit({ type: 'dtmf', session: this.id, digit, durationMs, source });
    if (this.player?.interruptedBy(digit)) this.endPlayback('dtmf');
  }

  // ---- ticks

  /** Phase 1: decode this tick's inbound frame for whoever listens. */
  tickInbound(now: number): void {
    this.ticks++;
    this.checkTimeout(now);
    this.teReceiver.check(now); // an event whose end packets were all lost is still reported
    this.narrowIn = false;
    if (!this.needsPcm) {
      this.inActive = false;
      if (this.jitter.bufferedPackets > 0) this.jitter.reset(); // nobody listens: start afresh when someone does
      return;
    }
    if (this.subbandTranscode) {
      this.tickInboundSubband(now);
      return;
    }
    const got = this.decodeInbound(now);
    if (got < this.frameSamples) this.inPcm.fill(0, Math.max(0, got));
    this.inActive = got > 0;
    if (this.inActive && this.inband) this.inband.process(this.inPcm);
    if (this.seat && this.inActive) this.seat.hear(this.inPcm);
    if (this.streams.size === 0) return; // no iterator per session per tick when nobody streams
    for (const s of this.streams.values()) {
      s.toStream.run(this.inPcm, s.streamBuf);
      const frame = s.streamBuf.slice(0, s.frame);
      this.core.post({ kind: 'streamFrame', streamId: s.id, pcm: frame }, [frame.buffer]);
    }
  }

  /**
   * This tick's frame from the jitter buffer into inPcm: the next packet decoded, or a loss concealed by its codec
   * (Opus rebuilds it from the next packet's in-band FEC when that one is buffered, else runs PLC; G.711 and G.722
   * repeat and fade what came before). Nothing (0) when the buffer is empty: the far end is silent or filling.
   */
  private decodeInbound(now: number): number {
    const jb = this.jitter;
    const status = jb.get(now);
    if (status === RtpJitterStatus.Packet) {
      const dec = this.decoderFor(jb.payloadType);
      if (!dec) return 0;
      this.lastDecoder = dec;
      try {
        return dec.decodeSlot
          ? dec.decodeSlot(jb.payload, jb.payloadLength, this.inPcm)
          : dec.decodeInto(jb.payloadView(), this.inPcm);
      } catch {
        return dec.conceal(this.inPcm, this.frameSamples); // a malformed payload is a lost one
      }
    }
    const dec = this.lastDecoder;
    if (status !== RtpJitterStatus.Lost || !dec) return 0;
    const next = dec.recoverInto ? jb.peekNext() : -1;
    if (next > 0 && this.decoderFor(jb.nextPayloadType) === dec) {
      return dec.recoverInto!(jb.nextPayload, next, this.inPcm, this.frameSamples);
    }
    return dec.conceal(this.inPcm, this.frameSamples);
  }

  /**
   * G.722 transcoded to or from an 8 kHz codec, nobody else using this session's 16 kHz audio: the G.722 lower
   * sub-band (0-4 kHz sampled at 8 kHz) is the 8 kHz audio, as in spandsp's and Asterisk's 8 kHz mode, so the
   * codec runs on it alone and the QMF, the higher-band decoder and both 8 <-> 16 kHz resamplers are skipped. The
   * 24-tap QMF the far end applies replaces the half-band filter (its response: MediaEngineOptions.g722Transcoding).
   */
  private get subbandTranscode(): boolean {
    return (
      this.bridgeMode === 'transcode' &&
      this.core.subbandTranscoding &&
      this.pcmRate === 16000 &&
      this.peer!.pcmRate === 8000 &&
      this.seat === undefined &&
      this.recorder === undefined &&
      this.streams.size === 0 &&
      this.inband === undefined
    );
  }

  /** Phase 1 of subbandTranscode: this tick's G.722 frame from the jitter buffer, decoded to 8 kHz. */
  private tickInboundSubband(now: number): void {
    const frame = this.frameSamples >> 1;
    if (!this.narrowPcm) this.narrowPcm = new Int16Array(frame);
    const out = this.narrowPcm;
    const jb = this.jitter;
    const status = jb.get(now);
    const dec = status === RtpJitterStatus.Packet ? this.decoderFor(jb.payloadType) : this.lastDecoder;
    if (dec && status === RtpJitterStatus.Packet) this.lastDecoder = dec;
    if (!dec || (status !== RtpJitterStatus.Packet && status !== RtpJitterStatus.Lost)) {
      this.inActive = false;
      this.inPcm.fill(0);
      return;
    }
    if (!dec.decodeLowBandInto || !dec.concealLowBand) {
      // not G.722 (another codec of the endpoint at 16 kHz): the 16 kHz path
      let got: number;
      try {
        got = status === RtpJitterStatus.Packet ? dec.decodeInto(jb.payloadView(), this.inPcm) : -1;
      } catch {
        got = -1; // a malformed payload is a lost one
      }
      if (got < 0) got = dec.conceal(this.inPcm, this.frameSamples);
      if (got < this.frameSamples) this.inPcm.fill(0, Math.max(0, got));
      this.inActive = got > 0;
      return;
    }
    let got: number;
    try {
      got = status === RtpJitterStatus.Packet ? dec.decodeLowBandInto(jb.payloadView(), out) : -1;
    } catch {
      got = -1;
    }
    if (got < 0) got = dec.concealLowBand(out, frame);
    if (got < frame) out.fill(0, Math.max(0, got));
    this.inActive = got > 0;
    this.narrowIn = true;
  }

  decoderFor(pt: number): PcmDecoder | undefined {
    let d = this.decoders.get(pt);
    if (!d) {
      const codec = this.codecOf(pt);
      if (!codec) return undefined;
      d = makeDecoder(codec);
      if (d.sampleRate !== this.pcmRate) return undefined;
      this.decoders.set(pt, d);
    }
    return d;
  }

  /** Phase 3: produce, encode and send this tick's outbound frame if anything generates audio for this session. */
  tickOutbound(now: number): void {
    this.outActive = false;
    if (this.core.statisticsTicks > 0 && this.ticks % this.core.statisticsTicks === 0) {
      this.core.emit({ type: 'statistics', session: this.id, stats: this.statistics() });
    }
    if (this.dtmfOut && this.serviceDtmf(now)) {
      // RFC 4733 2.5.1: while an event is sent, its packets stand for the audio of that time
      this.timestamp = (this.timestamp + this.tsStep) >>> 0;
      this.relayedSinceTick = false;
      return;
    }
    if (this.player) {
      this.outActive = this.player.fill(this.outPcm);
      if (this.player.finished && !this.outActive) this.endPlayback('finished');
    }
    if (!this.outActive && this.streams.size > 0) this.outActive = this.pullStreams();
    let shared: SharedStream | undefined; // a conference frame encoded once for every listener of this codec
    if (!this.outActive && this.seat) {
      shared = this.seat.speak(this.outPcm, this.sendCodec);
      this.outActive = true;
    }
    // subbandTranscode: a G.722 peer's 8 kHz lower band, or our G.722 encoder fed the peer's 8 kHz audio
    let narrowOut = false;
    if (!this.outActive && this.bridgeMode === 'transcode' && this.peer?.inActive) {
      if (this.peer.narrowIn) this.outPcm.set(this.peer.narrowPcm!);
      else if (this.encoder.encodeNarrowbandInto && this.subbandTranscode) narrowOut = true;
      else this.peerRate!.run(this.peer.inPcm, this.outPcm);
      this.outActive = true;
    }
    if (this.recorder) this.record();
    if (this.outActive) {
      if (shared) this.sendSharedFrame(shared.frame);
      else if (narrowOut) this.sendPcm(this.peer!.inPcm, true);
      else this.sendPcm(this.outPcm);
      if (this.peer) this.peer.relayResync = true;
    } else if (!this.relayedSinceTick) {
      this.timestamp = (this.timestamp + this.tsStep) >>> 0; // time goes on while silent (RFC 3550 5.1)
      this.talking = false;
    }
    this.relayedSinceTick = false;
  }

  /** Queues RFC 4733 digits to send (needs a negotiated telephone-event payload type). */
  queueDtmf(digits: string, durationMs: number, gapMs: number): void {
    const pt = this.txEventPt;
    if (pt === undefined) throw new MediaEngineError('INVALID_ARGUMENT', 'no telephone-event payload type negotiated');
    if (!/^[0-9A-D*#]{1,64}$/i.test(digits)) throw new MediaEngineError('INVALID_ARGUMENT', 'digits are 0-9 A-D * #');
    if (!(durationMs >= 40 && durationMs <= 10_000) || !(gapMs >= 0 && gapMs <= 10_000)) {
      throw new MediaEngineError('INVALID_ARGUMENT', 'duration 40..10000 ms, gap 0..10000 ms');
    }
    if (!this.dtmfOut) {
      this.dtmfOut = {
        sender: new TelephoneEventSender({ clockRate: this.sendCodec.clockRate }),
        queue: [],
        sending: false,
        startedAt: 0,
        gapUntil: 0,
        gapMs: 0,
        pending: 0,
        pendingBuf: new Uint8Array(16),
      };
    }
    const d = this.dtmfOut;
    for (const digit of digits) d.queue.push({ digit, durationMs, gapMs });
  }

  /** Sends the RFC 4733 packets due this tick; true while an event (or the gap after it) holds the stream. */
  private serviceDtmf(now: number): boolean {
    const d = this.dtmfOut!;
    if (!d.sending) {
      if (now < d.gapUntil) return true;
      const next = d.queue.shift();
      if (!next) return false;
      d.sender.start(next.digit, next.durationMs, this.timestamp);
      d.sending = true;
      d.startedAt = now;
      d.gapMs = next.gapMs;
      d.pending = d.sender.next(d.pendingBuf, 12);
    }
    const pt = this.txEventPt!;
    while (d.pending > 0 && d.startedAt + d.sender.dueMs <= now) {
      const pkt = this.nextSendBuffer();
      this.writeHeader(pkt, pt, d.sender.marker, this.seq, d.sender.timestamp);
      pkt.set(d.pendingBuf.subarray(12, 16), 12);
      this.seq = (this.seq + 1) & 0xffff;
      this.sentSinceReport = true;
      this.sendDatagram(pkt, 16, true);
      d.pending = d.sender.next(d.pendingBuf, 12);
    }
    if (d.pending === 0) {
      d.sending = false;
      d.gapUntil = now + d.gapMs;
      this.talking = false; // audio after the event starts a new talk spurt
      if (this.peer) this.peer.relayResync = true;
    }
    return true;
  }

  private record(): void {
    const r = this.recorder!;
    const heard = this.outActive
      ? this.outPcm
      : this.bridgeMode === 'relay' && this.peer?.inActive
        ? this.peer.inPcm
        : undefined;
    const said = this.inActive ? this.inPcm : undefined;
    if (r.legs === 'inbound') r.rec.write(said, undefined, this.frameSamples);
    else if (r.legs === 'outbound') r.rec.write(heard, undefined, this.frameSamples);
    else if (r.stereo) r.rec.write(said, heard, this.frameSamples);
    else {
      const mix = this.core.scratch(this.frameSamples);
      for (let i = 0; i < this.frameSamples; i++) {
        const v = (said ? said[i] : 0) + (heard ? heard[i] : 0);
        mix[i] = v > 32767 ? 32767 : Math.max(v, -32768);
      }
      r.rec.write(mix, undefined, this.frameSamples);
    }
  }

  private pullStreams(): boolean {
    for (const s of this.streams.values()) {
      if (s.queued === 0) continue;
      let n = 0;
      while (n < s.frame && s.queue.length > 0) {
        const head = s.queue[0];
        const take = Math.min(s.frame - n, head.length - s.queueHead);
        s.streamBuf.set(head.subarray(s.queueHead, s.queueHead + take), n);
        n += take;
        s.queueHead += take;
        if (s.queueHead >= head.length) {
          s.queue.shift();
          s.queueHead = 0;
        }
      }
      if (n < s.frame) s.streamBuf.fill(0, n, s.frame);
      s.queued -= n;
      s.fromStream.run(s.streamBuf.subarray(0, s.frame), this.outPcm);
      this.core.post({ kind: 'streamCredit', streamId: s.id, samples: n });
      return true;
    }
    return false;
  }

  writeHeader(pkt: Uint8Array, payloadType: number, marker: boolean, seq: number, timestamp: number): void {
    const h = this.sendHeader;
    h.payloadType = payloadType;
    h.marker = marker;
    h.sequenceNumber = seq;
    h.timestamp = timestamp;
    h.ssrc = this.ssrc;
    writeRtpHeader(pkt, 0, h);
  }

  private nextSrtpBuffer(): Uint8Array {
    const pkt = this.srtpRing[this.srtpIndex];
    this.srtpIndex = (this.srtpIndex + 1) % SEND_RING;
    return pkt;
  }

  /** A send buffer from the ring; reused only after SEND_RING later sends, by which time the kernel has it. */
  nextSendBuffer(): Uint8Array {
    this.ringSlot = this.ringIndex;
    this.ringIndex = (this.ringIndex + 1) % SEND_RING;
    return this.sendRing[this.ringSlot];
  }

  /** The first `len` bytes of ring slot `slot` as a Buffer: dgram sends a whole Buffer without slicing it. */
  private ringView(slot: number, len: number): Buffer {
    let view = this.ringViews[slot];
    if (view.length !== len) {
      const pkt = this.sendRing[slot];
      view = Buffer.from(pkt.buffer, pkt.byteOffset, len);
      this.ringViews[slot] = view;
    }
    return view;
  }

  /** Encodes and sends one frame; `narrow`: 8 kHz PCM for the G.722 lower band (subbandTranscode). */
  private sendPcm(pcm: Int16Array, narrow = false): void {
    this.seat?.continueSharedStream(this.encoder);
    const pkt = this.nextSendBuffer();
    // Encoded straight after the header (the payload view of this ring slot): no copy.
    const enc = this.encoder;
    const payload = this.ringPayloads[this.ringSlot];
    const n = narrow ? enc.encodeNarrowbandInto!(pcm, payload) : enc.encodeInto(pcm, payload);
    if (n > 0) this.sendAudio(pkt, n);
  }

  /** Sends a conference frame encoded once for all listeners of this codec, behind this session's header. */
  private sendSharedFrame(payload: Uint8Array): void {
    if (payload.length === 0) return;
    const pkt = this.nextSendBuffer();
    this.ringPayloads[this.ringSlot].set(payload);
    this.sendAudio(pkt, payload.length);
  }

  private sendAudio(pkt: Uint8Array, n: number): void {
    // RFC 3551 4.1: the marker bit flags the first packet of a talk spurt
    this.writeHeader(pkt, this.txAudioPt, !this.talking, this.seq, this.timestamp);
    this.talking = true;
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + this.tsStep) >>> 0;
    this.txPayloadBytes += n;
    this.sentSinceReport = true;
    this.sendDatagram(pkt, 12 + n, true);
  }

  /**
   * Sends to the latched source if media arrived, else to the signalled remote. `reused` says `buf` is one of the
   * session's ring buffers: a connected socket sends it at once (libuv tries the send synchronously), but an
   * unconnected send waits for an address lookup until after this tick (or a whole manual-clock advance), so it
   * gets a copy instead.
   */
  sendDatagram(buf: Uint8Array, len: number, reused: boolean): void {
    const address = this.latchedAddress ?? this.remote?.address;
    const port = this.latchedAddress !== undefined ? this.latchedPort : this.remote?.port;
    if (address === undefined || port === undefined || this.closed) return;
    let out = buf;
    let n = len;
    if (this.srtp) {
      out = this.nextSrtpBuffer();
      out.set(buf.subarray(0, len));
      n = this.srtp.protectInPlace(out, len);
      if (n < 0) return;
      reused = true;
    }
    this.txPackets++;
    this.txBytes += n;
    // A whole Buffer (a relayed packet) goes as it is: with an offset and length dgram makes a slice per send.
    if (this.connected) {
      if (n === out.length) this.socket.send(out);
      else if (out === this.sendRing[this.ringSlot]) this.socket.send(this.ringView(this.ringSlot, n));
      else this.socket.send(out, 0, n);
    } else this.socket.send(reused ? out.slice(0, n) : out, 0, n, port, address);
  }

  private checkTimeout(now: number): void {
    const silent = this.timeout.check(now);
    if (silent > 0) this.core.emit({ type: 'rtpTimeout', session: this.id, silentForMs: Math.round(silent) });
    if (now >= this.nextRtcpAt) {
      this.sendRtcp();
      this.nextRtcpAt = now + this.rtcpIntervalMs();
    }
  }

  statistics(): SessionStatistics {
    return {
      packetsSent: this.txPackets,
      bytesSent: this.txBytes,
      packetsReceived: this.rx.packets,
      bytesReceived: this.rx.bytes,
      packetsLost: Math.max(0, this.source.cumulativeLost),
      jitterMs: this.source.jitterMs,
      packetsDiscarded: this.rx.discarded,
      ...(this.remoteReport ? { remote: this.remoteReport } : {}),
    };
  }

  // ---- features

  attachPeer(peer: Session, mode: 'relay' | 'transcode'): void {
    this.peer = peer;
    this.bridgeMode = mode;
    this.relayResync = true;
    this.peerRate = mode === 'transcode' ? new RateBridge(peer.pcmRate, this.pcmRate) : undefined;
  }

  detachPeer(): void {
    this.peer = undefined;
    this.bridgeMode = undefined;
    this.peerRate = undefined;
  }

  play(id: number, items: PlayItem[], options: PlayOptions): void {
    if (options.queue && this.player && !this.player.finished) {
      this.player.enqueue(items);
      return;
    }
    const next = new Player(id, items, options, this.pcmRate);
    if (this.player) this.endPlayback('stopped');
    this.player = next;
  }

  endPlayback(reason: 'finished' | 'stopped' | 'dtmf' | 'error'): void {
    const p = this.player;
    if (!p) return;
    this.player = undefined;
    if (this.peer) this.peer.relayResync = true;
    this.core.emit({ type: 'playbackEnded', session: this.id, playbackId: p.id, reason });
  }

  startRecording(options: RecordOptions): void {
    if (this.recorder) throw new MediaEngineError('BUSY', `session ${this.id} is already recording`);
    const legs = options.legs ?? 'both';
    const stereo = legs === 'both' && options.layout === 'stereo';
    this.recorder = { rec: new WavFileRecorder(options.file, this.pcmRate, stereo ? 2 : 1), legs, stereo };
  }

  stopRecording(error?: string): void {
    const r = this.recorder;
    if (!r) return;
    this.recorder = undefined;
    let err = error;
    try {
      r.rec.close();
    } catch (e) {
      err = (e as Error).message;
    }
    this.core.emit({
      type: 'recordingEnded',
      session: this.id,
      file: r.rec.file,
      durationMs: Math.round(r.rec.durationMs),
      ...(err ? { error: err } : {}),
    });
  }

  openStream(id: number, rate: number): void {
    const frame = (rate * this.args.ptime) / 1000;
    this.streams.set(id, {
      id,
      rate,
      frame,
      toStream: new RateBridge(this.pcmRate, rate),
      fromStream: new RateBridge(rate, this.pcmRate),
      streamBuf: new Int16Array(frame),
      queue: [],
      queueHead: 0,
      queued: 0,
    });
  }

  /** Releases everything; the sockets close, no event is sent (the caller decides). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.player = undefined;
    this.stopRecording();
    this.socket.close();
    this.rtcpSocket?.close();
  }
}

/** All the sessions, bridges and conferences of one worker thread, paced by one clock. */
export class WorkerCore {
  readonly config: WorkerConfig;
  readonly clock: TickClock;
  /** The clock is RealTickClock, whose now() is arrivalMs()'s performance.now(). */
  readonly realTime: boolean;
  /** Reused for every packet this worker parses. */
  readonly header = new RtpHeader();
  readonly rtcp = new RtcpCompoundReader();
  private readonly oneBlock: RtcpReportBlock[] = [];
  private readonly noBlocks: RtcpReportBlock[] = [];
  readonly statisticsTicks: number;
  /** G.722 <-> 8 kHz bridges on the G.722 lower sub-band (Session.subbandTranscode), unless configured off. */
  readonly subbandTranscoding: boolean;
  private readonly host: WorkerHost;
  private readonly sessions = new Map<string, Session>();
  private readonly conferences = new Map<string, Conference<Session>>();
  private readonly streamOwners = new Map<number, Session>();
  private scratchBuf = new Int16Array(960);
  private nextPlayback = 1;
  /** Packets whose handling threw (a bug, never expected): dropped instead of crashing the worker. */
  handlerErrors = 0;
  private ticks = 0;
  private tickBusyMs = 0;
  /** Packets of sessions already closed, so the worker's totals only ever grow (what a metrics counter needs). */
  private closedPacketsReceived = 0;
  private closedPacketsSent = 0;

  constructor(config: WorkerConfig, host: WorkerHost) {
    this.config = config;
    this.host = host;
    this.clock = config.clock === 'manual' ? new ManualTickClock() : new RealTickClock();
    this.realTime = config.clock !== 'manual';
    this.subbandTranscoding = config.g722Transcoding !== 'resample';
    this.statisticsTicks =
      config.statisticsIntervalMs > 0 ? Math.round(config.statisticsIntervalMs / config.tickMs) : 0;
    this.clock.start(config.tickMs, (now) => this.tick(now));
  }

  /** Real arrival time in ms for jitter (RFC 3550 A.8 measures the network, whatever clock paces the audio). */
  arrivalMs(): number {
    return performance.now();
  }

  /** A one-element (or empty) block list without allocating per report. */
  blockList(block: RtcpReportBlock | undefined): RtcpReportBlock[] {
    if (!block) return this.noBlocks;
    this.oneBlock[0] = block;
    return this.oneBlock;
  }

  scratch(samples: number): Int16Array {
    if (this.scratchBuf.length < samples) this.scratchBuf = new Int16Array(samples);
    return this.scratchBuf;
  }

  emit(event: MediaEngineEvent): void {
    this.host.post({ kind: 'event', event });
  }

  post(msg: WorkerToMain, transfer?: ArrayBuffer[]): void {
    this.host.post(msg, transfer);
  }

  handle(msg: MainToWorker): void {
    if (msg.kind === 'streamWrite') {
      const s = this.streamOwners.get(msg.streamId);
      const st = s?.streams.get(msg.streamId);
      if (st) {
        st.queue.push(msg.pcm);
        st.queued += msg.pcm.length;
      }
      return;
    }
    if (msg.kind === 'commands') {
      for (const c of msg.list) this.command(c.id, c.command);
      return;
    }
    this.command(msg.id, msg.command);
  }

  private command(id: number, command: WorkerCommand): void {
    if (command.op === 'crash') {
      // Debug hook for the engine's crash handling: die the way a bug or a fatal error would.
      if (command.how === 'exit') this.host.exit(3);
      else
        setImmediate(() => {
          throw new Error('media worker crash requested');
        });
      return;
    }
    this.run(command).then(
      (result) => this.host.post({ kind: 'response', id, ok: true, result }),
      (err: unknown) => {
        const e =
          err instanceof MediaEngineError
            ? err
            : new MediaEngineError('INTERNAL', String((err as Error)?.message ?? err));
        this.host.post({ kind: 'response', id, ok: false, error: { code: e.code, message: e.message } });
      },
    );
  }

  private async run(c: WorkerCommand): Promise<CommandResults[WorkerCommand['op']]> {
    switch (c.op) {
      case 'createEndpoint':
        return this.createEndpoint(c.args);
      case 'setRemote':
        this.session(c.sessionId).setRemote(c.remote);
        return undefined;
      case 'bridge':
        return this.bridge(c.a, c.b);
      case 'unbridge':
        this.unbridge(this.session(c.sessionId));
        return undefined;
      case 'createConference':
        if (this.conferences.has(c.conferenceId)) throw new MediaEngineError('INVALID_ARGUMENT', 'conference exists');
        this.conferences.set(
          c.conferenceId,
          new Conference(c.conferenceId, c.options, this.config.tickMs, (from, to) => new RateBridge(from, to)),
        );
        return undefined;
      case 'destroyConference': {
        const conf = this.conference(c.conferenceId);
        for (const s of [...conf.members.values()]) this.leaveConference(s);
        this.conferences.delete(c.conferenceId);
        return undefined;
      }
      case 'conferenceAdd': {
        const conf = this.conference(c.conferenceId);
        const s = this.session(c.sessionId);
        if (s.seat) throw new MediaEngineError('BUSY', `session ${s.id} is already in a conference`);
        if (s.peer) this.unbridge(s);
        s.requireCodecs();
        s.seat = conf.seat(s.id, c.muted, c.gain, s.pcmRate);
        conf.members.set(s.id, s);
        return undefined;
      }
      case 'conferenceRemove': {
        const s = this.session(c.sessionId);
        if (s.seat?.conference.id !== c.conferenceId) throw new MediaEngineError('INVALID_ARGUMENT', 'not a member');
        this.leaveConference(s);
        return undefined;
      }
      case 'conferenceMute':
        this.conference(c.conferenceId).mixer.setMuted(c.sessionId, c.muted);
        return undefined;
      case 'conferenceGain':
        this.conference(c.conferenceId).mixer.setGain(c.sessionId, c.gain);
        return undefined;
      case 'play': {
        const s = this.session(c.sessionId);
        if (!Array.isArray(c.items) || c.items.length === 0) {
          throw new MediaEngineError('INVALID_ARGUMENT', 'nothing to play');
        }
        for (const item of c.items) checkPlayItem(item);
        s.requireCodecs();
        const playbackId = c.options.queue && s.player && !s.player.finished ? s.player.id : this.nextPlayback++;
        s.play(playbackId, c.items, c.options);
        return { playbackId };
      }
      case 'stopPlayback':
        this.session(c.sessionId).endPlayback('stopped');
        return undefined;
      case 'record':
        this.session(c.sessionId).requireCodecs();
        this.session(c.sessionId).startRecording(c.options);
        return undefined;
      case 'stopRecording':
        this.session(c.sessionId).stopRecording();
        return undefined;
      case 'sendDtmf':
        this.session(c.sessionId).queueDtmf(c.digits, c.durationMs, c.gapMs);
        return undefined;
      case 'detectDtmf':
        this.session(c.sessionId).setDtmf(c.options);
        return undefined;
      case 'statistics':
        return this.session(c.sessionId).statistics();
      case 'close': {
        const s = this.sessions.get(c.sessionId);
        if (s) this.closeSession(s, false);
        return undefined;
      }
      case 'detach': {
        const s = this.session(c.sessionId);
        if (s.peer || s.seat || s.player || s.recorder || s.streams.size > 0) {
          throw new MediaEngineError('BUSY', `session ${s.id} is in use and cannot move to another worker`);
        }
        const snap = s.snapshot();
        this.closeSession(s, false);
        return snap;
      }
      case 'openStream': {
        const s = this.session(c.sessionId);
        s.requireCodecs();
        s.openStream(c.streamId, c.sampleRate);
        this.streamOwners.set(c.streamId, s);
        return undefined;
      }
      case 'closeStream': {
        const s = this.streamOwners.get(c.streamId);
        s?.streams.delete(c.streamId);
        this.streamOwners.delete(c.streamId);
        return undefined;
      }
      case 'advanceClock': {
        if (!(this.clock instanceof ManualTickClock)) throw new MediaEngineError('NOT_MANUAL_CLOCK', 'real clock');
        return { ticks: this.clock.advance(c.ms) };
      }
      case 'shutdown':
        this.clock.stop();
        for (const s of [...this.sessions.values()]) this.closeSession(s, false);
        return undefined;
      case 'crash':
        return undefined;
      case 'workerStatistics':
        return this.workerStatistics();
    }
  }

  private createEndpoint(args: CreateEndpointArgs): Promise<EndpointInfo> {
    if (this.sessions.has(args.sessionId)) {
      return Promise.reject(new MediaEngineError('SESSION_EXISTS', `session ${args.sessionId} exists`));
    }
    for (const c of args.codecs) {
      if (!Number.isInteger(c.payloadType) || c.payloadType < 0 || c.payloadType > 127) {
        return Promise.reject(new MediaEngineError('INVALID_ARGUMENT', `bad payload type ${c.payloadType}`));
      }
      try {
        pcmRateOf(c);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (args.ptime !== this.config.tickMs) {
      // One frame per tick keeps pacing exact; 20 ms is what telephony negotiates (RFC 3551 4.5: default ptime).
      return Promise.reject(new MediaEngineError('INVALID_ARGUMENT', `ptime must be ${this.config.tickMs} ms`));
    }
    return bindUdp(args.address, args.port).then(async (socket) => {
      let rtcp: Socket | undefined;
      try {
        if (!args.rtcpMux) rtcp = await bindUdp(args.address, args.port + 1);
        const session = new Session(this, args, socket, rtcp);
        this.sessions.set(session.id, session);
        socket.on('message', (m, r) => this.onRtp(session, m, r));
        rtcp?.on('message', (m) => this.safely(() => session.onRtcp(m)));
        return session.info();
      } catch (err) {
        socket.close();
        rtcp?.close();
        throw err;
      }
    });
  }

  /** Every RTP packet, so without a closure per packet; like `safely`, a failure is counted and the packet dropped. */
  private onRtp(session: Session, msg: Buffer, rinfo: RemoteInfo): void {
    try {
      session.onRtp(msg, rinfo);
    } catch {
      this.handlerErrors++;
    }
  }

  /** A packet handler must never take the worker down: a failure on one packet is counted and dropped. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      this.handlerErrors++;
    }
  }

  private bridge(a: string, b: string): { mode: 'relay' | 'transcode' } {
    const sa = this.session(a);
    const sb = this.session(b);
    for (const s of [sa, sb]) {
      if (s.seat) throw new MediaEngineError('BUSY', `session ${s.id} is in a conference`);
      if (s.peer && s.peer !== sa && s.peer !== sb) this.unbridge(s);
    }
    const same =
      sa.sendCodec.encoding === sb.sendCodec.encoding &&
      sa.sendCodec.clockRate === sb.sendCodec.clockRate &&
      (sa.sendCodec.channels ?? 1) === (sb.sendCodec.channels ?? 1);
    // SRTP legs relay too: packets are decrypted on arrival and protected again with the peer's context on send.
    const mode = same ? 'relay' : 'transcode';
    if (mode === 'transcode') {
      sa.requireCodecs();
      sb.requireCodecs();
    }
    sa.attachPeer(sb, mode);
    sb.attachPeer(sa, mode);
    return { mode };
  }

  private unbridge(s: Session): void {
    const peer = s.peer;
    s.detachPeer();
    if (peer?.peer === s) peer.detachPeer();
  }

  private leaveConference(s: Session): void {
    const seat = s.seat;
    if (!seat) return;
    seat.conference.leave(seat);
    seat.conference.members.delete(s.id);
    s.seat = undefined;
  }

  private closeSession(s: Session, _crashed: boolean): void {
    this.unbridge(s);
    this.leaveConference(s);
    for (const id of s.streams.keys()) this.streamOwners.delete(id);
    s.dispose();
    this.closedPacketsReceived += s.rx.packets;
    this.closedPacketsSent += s.txPackets;
    this.sessions.delete(s.id);
  }

  /**
   * One 20 ms step: every session decodes what it received, conferences mix, every session sends what it generates.
   * A failure in one session's step must not stop the others (nor kill the worker): it is counted, and a player
   * that caused it is ended with reason 'error'.
   */
  private tick(now: number): void {
    const started = performance.now();
    for (const s of this.sessions.values()) {
      try {
        s.tickInbound(now);
      } catch {
        this.tickFailed(s);
      }
    }
    for (const conf of this.conferences.values()) {
      conf.mix();
      const report = conf.mixer.takeTalkerReport();
      if (report) {
        this.emit({
          type: 'talkers',
          conference: conf.id,
          talkers: report.map((t) => ({ session: t.id, levelDb: Math.round(t.levelDb * 10) / 10 })),
        });
      }
    }
    for (const s of this.sessions.values()) {
      try {
        s.tickOutbound(now);
      } catch {
        this.tickFailed(s);
      }
    }
    this.ticks++;
    this.tickBusyMs += performance.now() - started;
  }

  private tickFailed(s: Session): void {
    this.handlerErrors++;
    if (s.player) s.endPlayback('error');
  }

  workerStatistics(): WorkerStatistics {
    let packetsReceived = this.closedPacketsReceived;
    let packetsSent = this.closedPacketsSent;
    for (const s of this.sessions.values()) {
      packetsReceived += s.rx.packets;
      packetsSent += s.txPackets;
    }
    return {
      worker: this.config.workerIndex,
      sessions: this.sessions.size,
      conferences: this.conferences.size,
      ticks: this.ticks,
      tickBusyMs: this.tickBusyMs,
      packetsReceived,
      packetsSent,
      handlerErrors: this.handlerErrors,
      ...threadCpu(),
    };
  }

  private session(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new MediaEngineError('UNKNOWN_SESSION', `no session ${id} in this worker`);
    return s;
  }

  private conference(id: string): Conference<Session> {
    const c = this.conferences.get(id);
    if (!c) throw new MediaEngineError('UNKNOWN_CONFERENCE', `no conference ${id} in this worker`);
    return c;
  }
}

const MAX_PLAY_MS = 24 * 3600 * 1000;

/** This thread's CPU time: Linux's /proc/thread-self/schedstat starts with the ns it has run (user and system). */
function threadCpu(): { cpuMs?: number } {
  try {
    const text = readFileSync('/proc/thread-self/schedstat', 'latin1');
    const ns = Number(text.slice(0, text.indexOf(' ')));
    return Number.isFinite(ns) ? { cpuMs: ns / 1e6 } : {};
  } catch {
    return {};
  }
}

/** SRTP context from the endpoint's keys (RFC 4568 inline key-params); bad keys fail the create command. */
function openSrtp(d: SrtpDescription): SrtpSession {
  try {
    return createSrtpSession(d.suite, d.localKey, d.remoteKey);
  } catch (err) {
    throw new MediaEngineError('INVALID_ARGUMENT', `SRTP: ${(err as Error).message}`);
  }
}

function checkPlayItem(item: unknown): void {
  const i = item as Record<string, unknown> | null;
  const okMs = (v: unknown): boolean => v === undefined || (typeof v === 'number' && v >= 0 && v <= MAX_PLAY_MS);
  const ok =
    i !== null &&
    typeof i === 'object' &&
    ((typeof i.file === 'string' && i.file.length > 0) ||
      (typeof i.tone === 'string' &&
        okMs(i.durationMs) &&
        (i.country === undefined || typeof i.country === 'string')) ||
      (typeof i.silenceMs === 'number' && okMs(i.silenceMs)));
  if (!ok) throw new MediaEngineError('INVALID_ARGUMENT', 'a play item is { file } or { tone } or { silenceMs }');
}

/** The largest payload one packet of these codecs carries at this ptime, with room for packets up to 4x longer. */
function maxPayloadBytes(codecs: CodecDescription[], ptime: number): number {
  let max = 0;
  for (const c of codecs) {
    const ch = c.channels ?? 1;
    const bytes =
      c.encoding === 'opus'
        ? 1275 // RFC 6716 3.4: a frame never exceeds 1275 bytes
        : c.encoding === 'L16'
          ? (c.clockRate * ch * 2 * ptime) / 1000
          : (8000 * ch * ptime) / 1000; // G.711 and G.722: 8 bits per 8 kHz sample period
    max = Math.max(max, bytes * 4);
  }
  return Math.min(MAX_PACKET, Math.max(64, Math.ceil(max)));
}

function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const type = address.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type, reuseAddr: false });
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.close();
      // A port in use means "try the next one"; anything else (address not local, ...) will not get better.
      const code = err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 'BIND_FAILED' : 'INVALID_ARGUMENT';
      reject(new MediaEngineError(code, `cannot bind ${address}:${port}: ${err.message}`));
    };
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      socket.on('error', () => {}); // ICMP errors on send (port unreachable) are normal for RTP
      resolve(socket);
    });
  });
}
