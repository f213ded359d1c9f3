// A conference room inside a worker: the mixer, each member's seat, and the encoded streams members share.
//
// As conference bridges do (Asterisk's ConfBridge, for one), only talkers are mixed, and only talkers get a mix of
// their own (all talkers but themselves), resampled and encoded for them alone. Every member who is not talking
// hears the same mix of all talkers, so that is resampled and encoded once per codec and the same payload goes to
// each of them behind its own RTP header. Who talks comes from each member's decoded frames (the mixer's voice
// gate, with a hangover so words are not clipped).
//
// Stateful codecs (G.722's ADPCM): a member's far end decodes with state that follows the codes it was sent.
// - Shared -> own (the member starts talking, or a prompt plays to it): its own encoder takes over the shared
//   encoder's state as it was before this tick's frame, so its stream continues seamlessly.
// - Own -> shared (it stopped talking): its decoder's state is that of its own encoder, which the shared one never
//   reaches exactly (G.722's quantizer has no zero step, so two encoders fed the same audio keep different low-band
//   predictor states). The member keeps its own encoder, fed the shared mix, until a tick when the shared mix is
//   quiet (the switch then only disturbs near-silence) or for at most OWN_STREAM_TICKS; a switch at a loud tick
//   leaves an error about 20 dB below the audio that G.722's leaky adaptation removes within about 150 ms.
// Codecs whose state cannot be handed over (Opus) are not shared: those members always encode their own.
import { MediaEngineError } from './errors.js';
import { ConferenceMixer, type MixParticipant } from './mixer.js';
import { copyEncoderState, encoderSharing, makeEncoder, type PcmEncoder, pcmRateOf } from './toolkit.js';
import type { CodecDescription, ConferenceOptions } from './types.js';

/** Moves one frame between two rates (the worker's RateBridge). */
export interface FrameBridge {
  run(input: Int16Array, output: Int16Array): void;
}

export type FrameBridgeFactory = (from: number, to: number) => FrameBridge;

const MIX_RATE = 16000;
const MAX_PAYLOAD = 1500 - 12; // a session's send buffer after the RTP header
/** At most this many ticks (1 s at 20 ms) of its own encoding for a member of a stateful codec that stopped talking. */
export const OWN_STREAM_TICKS = 50;
const DEFAULT_VOICE_THRESHOLD_DB = -50;
const DEFAULT_VOICE_HANGOVER_MS = 300;

function codecKey(codec: CodecDescription): string {
  return `${codec.encoding}/${codec.clockRate}/${codec.channels ?? 1}`;
}

/** The mix every listening member of one codec hears: resampled and encoded once a tick for all of them. */
export class SharedStream {
  readonly key: string;
  readonly stateful: boolean;
  /** This tick's shared mix at the codec's PCM rate. */
  readonly pcm: Int16Array;
  /** This tick's encoded frame (a fixed view: no allocation per member). */
  frame: Uint8Array;
  members = 0;
  private readonly payload = new Uint8Array(MAX_PAYLOAD);
  private readonly encoder: PcmEncoder;
  /** Stateful codecs: the encoder as it was before this tick's frame, for members that leave the stream now. */
  private readonly atTickStart: PcmEncoder | undefined;
  private readonly fromMix: FrameBridge;
  private encodedTick = -1;

  constructor(codec: CodecDescription, tickMs: number, bridge: FrameBridgeFactory) {
    this.key = codecKey(codec);
    this.stateful = encoderSharing(codec) === 'stateful';
    const rate = pcmRateOf(codec);
    this.pcm = new Int16Array((rate * tickMs) / 1000);
    this.frame = this.payload.subarray(0, 0);
    this.encoder = makeEncoder(codec);
    this.atTickStart = this.stateful ? makeEncoder(codec) : undefined;
    this.fromMix = bridge(MIX_RATE, rate);
  }

  /** Resamples and encodes this tick's shared mix, once, on the first member's request. */
  encode(tick: number, mix: Int16Array): void {
    if (this.encodedTick === tick) return;
    this.encodedTick = tick;
    this.fromMix.run(mix, this.pcm);
    if (this.atTickStart) copyEncoderState(this.atTickStart, this.encoder);
    const n = this.encoder.encodeInto(this.pcm, this.payload);
    if (n !== this.frame.length) this.frame = this.payload.subarray(0, Math.max(0, n));
  }

  /** The encoder state a member that was sent this stream up to the last tick continues from. */
  stateBefore(tick: number): PcmEncoder {
    return this.encodedTick === tick && this.atTickStart ? this.atTickStart : this.encoder;
  }
}

/** One session's place in a conference: what it says goes into the mix, what it hears comes out. */
export class ConferenceSeat {
  readonly conference: Conference<unknown>;
  readonly participant: MixParticipant;
  private readonly toMix: FrameBridge;
  private readonly fromMix: FrameBridge;
  private codec: CodecDescription | undefined;
  private shared: SharedStream | undefined;
  /** The last tick this member was sent the shared stream's frame. */
  private onSharedThrough = -2;
  /** The last tick its own mix went through `fromMix` (the resampler's history is that tick's audio). */
  private ownMixThrough = -2;
  /** Ticks this listener has been encoded on its own since it stopped talking (stateful codecs). */
  private ownTicks = 0;

  constructor(conference: Conference<unknown>, participant: MixParticipant, toMix: FrameBridge, fromMix: FrameBridge) {
    this.conference = conference;
    this.participant = participant;
    this.toMix = toMix;
    this.fromMix = fromMix;
  }

  /** Inbound: this tick's decoded frame at the session's rate; only voice is resampled and mixed. */
  hear(pcm: Int16Array): void {
    const p = this.participant;
    if (!p.detectVoice(pcm)) return;
    this.toMix.run(pcm, p.input);
    p.hasInput = true;
  }

  /**
   * Outbound, after the mix: fills `out` with what this member hears. Returns the shared stream when its encoded
   * frame can be sent as it is; undefined when the session must encode `out` with its own encoder.
   */
  speak(out: Int16Array, codec: CodecDescription): SharedStream | undefined {
    const conf = this.conference;
    const tick = conf.tick;
    if (codec !== this.codec) this.bind(codec);
    const sh = this.shared;
    const p = this.participant;
    if (sh && p.hearsShared) {
      sh.encode(tick, conf.mixer.shared);
      out.set(sh.pcm);
      if (!sh.stateful || this.onSharedThrough === tick - 1 || conf.quiet || ++this.ownTicks >= OWN_STREAM_TICKS) {
        this.onSharedThrough = tick;
        this.ownTicks = 0;
        return sh;
      }
      return undefined; // its far end still follows its own encoder: keep that, on the shared mix
    }
    // A mix of its own. A resampler that last ran long ago is primed with what the member heard last tick (the
    // shared mix, when it was listening), so its output joins the stream it was sent without a step.
    if (this.ownMixThrough !== tick - 1) this.fromMix.run(conf.previousShared, out);
    this.fromMix.run(p.output, out);
    this.ownMixThrough = tick;
    this.ownTicks = 0;
    return undefined;
  }

  /**
   * Called before the session encodes a frame itself (its own mix, a prompt, a stream): when its far end followed
   * the shared stream until the last tick, its encoder continues from the shared encoder's state.
   */
  continueSharedStream(encoder: PcmEncoder): void {
    const sh = this.shared;
    const tick = this.conference.tick;
    if (sh?.stateful && this.onSharedThrough === tick - 1) {
      copyEncoderState(encoder, sh.stateBefore(tick));
      this.onSharedThrough = -2;
    }
  }

  /** Joins the shared stream of the session's (new) send codec. */
  private bind(codec: CodecDescription): void {
    const conf = this.conference;
    const key = encoderSharing(codec) ? codecKey(codec) : undefined;
    if (this.shared?.key !== key) {
      if (this.shared) conf.release(this.shared);
      this.shared = key ? conf.acquire(key, codec) : undefined;
      this.onSharedThrough = -2;
    }
    this.codec = codec;
  }

  /** Leaves the room's shared stream (the session left the conference). */
  release(): void {
    if (this.shared) this.conference.release(this.shared);
    this.shared = undefined;
    this.codec = undefined;
  }
}

/** A conference: its mixer and members (`Member` is the worker's session), mixed once per tick. */
export class Conference<Member> {
  readonly id: string;
  readonly mixer: ConferenceMixer;
  readonly members = new Map<string, Member>();
  /** Ticks mixed so far. */
  tick = 0;
  /** This tick's shared mix is below the voice threshold: a stateful member may join it without an audible step. */
  quiet = true;
  /** Last tick's shared mix at the mixer rate. */
  readonly previousShared: Int16Array;
  private readonly streams = new Map<string, SharedStream>();
  private readonly quietPower: number;
  private readonly tickMs: number;
  private readonly bridge: FrameBridgeFactory;

  constructor(id: string, options: ConferenceOptions, tickMs: number, bridge: FrameBridgeFactory) {
    this.id = id;
    this.tickMs = tickMs;
    this.bridge = bridge;
    const thresholdDb = options.voiceThresholdDb ?? DEFAULT_VOICE_THRESHOLD_DB;
    const hangoverMs = options.voiceHangoverMs ?? DEFAULT_VOICE_HANGOVER_MS;
    if (!Number.isFinite(hangoverMs) || hangoverMs < 0 || hangoverMs > 10_000) {
      throw new MediaEngineError('INVALID_ARGUMENT', 'voice hangover must be within 0..10000 ms');
    }
    this.mixer = new ConferenceMixer({
      sampleRate: MIX_RATE,
      frameSamples: (MIX_RATE / 1000) * tickMs,
      talkerWindowTicks: Math.max(1, Math.round((options.talkerWindowMs ?? 200) / tickMs)),
      maxTalkers: options.maxTalkers ?? 3,
      voiceThresholdDb: thresholdDb,
      voiceHangoverTicks: Math.round(hangoverMs / tickMs),
    });
    this.quietPower = 32768 * 32768 * 10 ** (thresholdDb / 10);
    this.previousShared = new Int16Array(this.mixer.frameSamples);
  }

  /** Seats a session whose PCM runs at `rate`. */
  seat(id: string, muted: boolean, gain: number, rate: number): ConferenceSeat {
    const participant = this.mixer.add(id);
    try {
      this.mixer.setMuted(id, muted);
      this.mixer.setGain(id, gain);
    } catch (err) {
      this.mixer.remove(id);
      throw err;
    }
    return new ConferenceSeat(
      this as Conference<unknown>,
      participant,
      this.bridge(rate, MIX_RATE),
      this.bridge(MIX_RATE, rate),
    );
  }

  leave(seat: ConferenceSeat): void {
    seat.release();
    this.mixer.remove(seat.participant.id);
  }

  /** One tick's mix (after every member's inbound frame, before their outbound ones). */
  mix(): void {
    this.previousShared.set(this.mixer.shared);
    this.mixer.mix();
    this.tick++;
    this.quiet = this.mixer.sharedPower < this.quietPower;
  }

  acquire(key: string, codec: CodecDescription): SharedStream {
    let s = this.streams.get(key);
    if (!s) {
      s = new SharedStream(codec, this.tickMs, this.bridge);
      this.streams.set(key, s);
    }
    s.members++;
    return s;
  }

  release(s: SharedStream): void {
    if (--s.members <= 0) this.streams.delete(s.key);
  }

  /** How many encoded streams the room keeps (one per codec its listeners use). */
  get sharedStreams(): number {
    return this.streams.size;
  }
}
