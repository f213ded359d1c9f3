// Media anchoring: every call's audio goes through the media engine. The caller's leg and each callee leg get an
// engine endpoint on the PBX's address; the phones only ever see that address in SDP. When a callee answers, its
// endpoint is bridged to the caller's: relayed when both send the same codec, transcoded when not.
import {
  type CodecDescription,
  createEncoder,
  type EndpointInfo,
  type EndpointOptions,
  type MediaEngine,
  type MediaEngineEvent,
  type PlayItem,
  type RemoteDescription,
} from '@switchyard/media';
import type { SdpSessionDescription } from '@switchyard/sip-stack';
import {
  addressFamily,
  answerMediaOffer,
  createMediaOffer,
  defaultEngineCodecs,
  MediaAnchorError,
  type MediaAnswer,
  type MediaOffer,
  type RemoteMedia,
  readMediaAnswer,
  readMediaOffer,
  sameEncoding,
  sdpBytes,
  TELEPHONE_EVENT_PAYLOAD_TYPE,
  telephoneEventFor,
} from './sdp-media.js';

/** The part of the media engine the anchor uses (a fake can stand in for it). */
export type AnchorEngine = Pick<
  MediaEngine,
  'createEndpoint' | 'setRemote' | 'bridge' | 'unbridge' | 'play' | 'stopPlayback' | 'close' | 'on' | 'off'
>;

export interface MediaAnchorOptions {
  readonly engine: AnchorEngine;
  /** The address the endpoints bind to; also the c= line of every description the PBX sends, unless announced. */
  readonly address: string;
  /** The address SDP names instead (a public address behind 1:1 NAT); same IP family as `address`. */
  readonly announceAddress?: string;
  /** RTP ports for the endpoints (default: the engine's range). */
  readonly portRange?: { min: number; max: number };
  /** Codecs offered to callees, in preference order (default: G.722, PCMU, PCMA, and Opus when the engine has it). */
  readonly codecs?: readonly CodecDescription[];
  /**
   * On a 180 without SDP, play ringback to the caller as early media (a 183 with our answer) instead of relaying
   * the 180. Default true.
   */
  readonly ringbackTone?: boolean;
  /** Tone plan for the ringback (e.g. 'eu', 'us'; default the engine's). */
  readonly toneCountry?: string;
  /** Told when the engine lost a call's media (a crashed worker): the call should be ended. */
  readonly onMediaLost?: (callId: string) => void;
  /** What a held party hears, looped (default: the call-waiting tone, so it knows the call is still there). */
  readonly musicOnHold?: readonly PlayItem[];
  /** Told when a party puts the call on hold or takes it off hold (for the call's events and record). */
  readonly onHold?: (callId: string, side: 'caller' | string, held: boolean) => void;
}

/** Whether this process can load the Opus codec the engine would use. */
export function engineHasOpus(): boolean {
  try {
    createEncoder('opus');
    return true;
  } catch {
    return false;
  }
}

/** Creates and tracks every anchored call; one per PBX. */
export class MediaAnchor {
  readonly address: string;
  /** What SDP names. */
  private announcedAddress: string;
  /** @internal what a held party hears. */
  musicOnHold: readonly PlayItem[];
  readonly family: 4 | 6;
  readonly codecs: readonly CodecDescription[];
  private readonly calls = new Map<string, AnchoredCall>();
  /** Engine session -> call, to end a call whose media died. */
  private readonly sessions = new Map<string, AnchoredCall>();
  private nextSdpSession = Date.now();
  private readonly onSessionClosed = (e: Extract<MediaEngineEvent, { type: 'sessionClosed' }>) => {
    const call = this.sessions.get(e.session);
    this.sessions.delete(e.session);
    // A worker that died (or a failed move between workers) took the call's audio; a shutdown ends calls anyway.
    if (call && (e.reason === 'worker-crashed' || e.reason === 'migrated-failed')) call.lost();
  };

  constructor(readonly options: MediaAnchorOptions) {
    const family = addressFamily(options.address);
    if (family === 0) throw new MediaAnchorError(500, `media address ${options.address} is not an IP address`);
    this.address = options.address;
    this.family = family;
    this.announcedAddress = this.checkAnnounced(options.announceAddress ?? options.address);
    this.musicOnHold = options.musicOnHold ?? [
      { tone: 'callWaiting', ...(options.toneCountry !== undefined ? { country: options.toneCountry } : {}) },
    ];
    this.codecs = options.codecs ?? defaultEngineCodecs(engineHasOpus());
    if (this.codecs.length === 0) throw new MediaAnchorError(500, 'no codec to offer');
    options.engine.on('sessionClosed', this.onSessionClosed);
  }

  /** The address SDP names for RTP. */
  get announced(): string {
    return this.announcedAddress;
  }

  /** A new announced address (config reload): descriptions made from now on name it. */
  setAnnounced(address: string): void {
    this.announcedAddress = this.checkAnnounced(address);
  }

  /** New music on hold (config reload): holds that start from now on play it. */
  setMusicOnHold(items: readonly PlayItem[]): void {
    if (items.length === 0) throw new MediaAnchorError(500, 'music on hold needs something to play');
    this.musicOnHold = items.slice();
  }

  private checkAnnounced(address: string): string {
    if (addressFamily(address) !== this.family) {
      throw new MediaAnchorError(500, `announced address ${address} is not an IPv${this.family} address`);
    }
    return address;
  }

  /** Stops listening to the engine (the engine itself belongs to whoever made it). */
  detach(): void {
    this.options.engine.off('sessionClosed', this.onSessionClosed);
  }

  /** Endpoints open across all calls (0 when no call is up: nothing leaks). */
  get endpointCount(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c.endpointCount;
    return n;
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /**
   * Anchors a new call: reads the caller's offer (empty for a late offer, RFC 3261 13.2.1) and opens the caller's
   * endpoint, and the endpoints of `legIds` (callee legs known now) with it, in one engine round trip; their
   * offers then come from `offerTo` at once. Throws MediaAnchorError (488) when the offer has nothing the engine
   * can carry.
   */
  async open(callId: string, offerBody: Uint8Array, legIds: readonly string[] = []): Promise<AnchoredCall> {
    const offer = offerBody.length > 0 ? readMediaOffer(offerBody, this.family) : undefined;
    const call = new AnchoredCall(this, callId, offer);
    this.calls.set(callId, call);
    try {
      await call.openCaller(legIds);
    } catch (err) {
      await call.close();
      throw err;
    }
    return call;
  }

  /** @internal */
  newSdpSessionId(): string {
    return String(this.nextSdpSession++);
  }

  /** @internal */
  async createEndpoint(call: AnchoredCall, options: Omit<EndpointOptions, 'address'>): Promise<EndpointInfo> {
    const info = await this.options.engine.createEndpoint({
      ...options,
      address: this.address,
      ...(this.options.portRange ? { portRange: this.options.portRange } : {}),
    });
    this.sessions.set(info.sessionId, call);
    return info;
  }

  /** @internal */
  async closeEndpoint(sessionId: string): Promise<void> {
    this.sessions.delete(sessionId);
    await this.options.engine.close(sessionId).catch(() => {});
  }

  /** @internal */
  forget(call: AnchoredCall): void {
    this.calls.delete(call.callId);
  }
}

interface Endpoint {
  readonly info: EndpointInfo;
  /** Our description on this leg (offer or answer), the o= line kept for re-offers. */
  local: SdpSessionDescription | undefined;
  /** The codec both ends send, once settled (with the number this endpoint receives it under). */
  codec: CodecDescription | undefined;
  remote: RemoteMedia | undefined;
  /** The far end's numbers we send with, and our telephone-event number, once settled. */
  numbers: PayloadNumbers | undefined;
}

/**
 * Payload numbers per direction (RFC 3264 6.1: a side receives with the numbers it declared): the far end's for
 * the codec, and telephone-event's ours (received) and theirs (sent with).
 */
interface PayloadNumbers {
  readonly send: number;
  readonly event: { readonly receive: number; readonly send: number } | undefined;
}

function sameNumbers(a: PayloadNumbers | undefined, b: PayloadNumbers): boolean {
  return (
    a !== undefined && a.send === b.send && a.event?.receive === b.event?.receive && a.event?.send === b.event?.send
  );
}

interface CalleeEndpoint extends Endpoint {
  /** Our offer to the callee. */
  readonly offer: SdpSessionDescription;
  /** The callee's answer has been applied (early or final). */
  answered: boolean;
}

/** One call's media: the caller's endpoint and one endpoint per callee leg. */
export class AnchoredCall {
  private caller: Endpoint | undefined;
  private readonly legs = new Map<string, CalleeEndpoint>();
  /** The callee leg bridged to the caller, if any (early media or answered). */
  private bridged: string | undefined;
  private ringing = false;
  private closing = false;
  private closed: Promise<void> = Promise.resolve();
  /** Engine commands of one call run one after another: SIP events arrive faster than the engine answers. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Answers still awaited for commands the chain did not wait for (see `posting`). */
  private acks: Promise<unknown> = Promise.resolve();
  private lostReported = false;

  constructor(
    private readonly anchor: MediaAnchor,
    readonly callId: string,
    /** The caller's offer; undefined for a late offer (the caller answers our offer in its ACK). */
    readonly callerOffer: MediaOffer | undefined,
  ) {}

  get endpointCount(): number {
    return (this.caller ? 1 : 0) + this.legs.size;
  }

  /** The caller has had our description (in a 183 or the 200). */
  get callerHasAnswer(): boolean {
    return this.caller?.local !== undefined;
  }

  /** The codec names for the call record: the caller's and a leg's. */
  codecOf(leg: 'caller' | string): string | null {
    const ep = leg === 'caller' ? this.caller : this.legs.get(leg);
    return ep?.codec?.encoding ?? null;
  }

  /** The leg currently bridged to the caller. */
  get bridgedLeg(): string | undefined {
    return this.bridged;
  }

  /** How the bridge carries audio: 'relay' (same codec both sides), 'transcode', or null while not bridged. */
  get bridgeMode(): 'relay' | 'transcode' | null {
    return this.bridged === undefined ? null : this.mode;
  }

  private mode: 'relay' | 'transcode' | null = null;

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.closing) throw new MediaAnchorError(500, 'the call has ended');
      return fn();
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * Like `serial`, for a step that only posts commands on endpoints that exist (`fn` runs without awaiting): the
   * chain moves on once they are posted, not answered, since a worker runs one session's commands in the order
   * they were posted. The next step's commands then share the round trip. Resolves with `fn`'s result.
   */
  private posting<T>(fn: () => Promise<T>): Promise<T> {
    const posted = this.chain.then(() => {
      if (this.closing) throw new MediaAnchorError(500, 'the call has ended');
      const done = fn();
      this.acks = Promise.all([this.acks, done.catch(() => {})]);
      return { done };
    });
    this.chain = posted.catch(() => {});
    return posted.then((p) => p.done);
  }

  /** @internal the caller's endpoint and those of `legIds`, created together (all in the call's worker). */
  async openCaller(legIds: readonly string[] = []): Promise<void> {
    await this.serial(async () => {
      const offer = this.callerOffer;
      // For an offer: its codecs with its payload numbers. For a late offer: ours, offered in our 200.
      const codecs = offer ? offer.codecs : [...this.anchor.codecs];
      const te = offer ? offer.telephoneEventPayloadType : TELEPHONE_EVENT_PAYLOAD_TYPE;
      const creating = [
        this.anchor.createEndpoint(this, {
          codecs,
          ...(te !== undefined ? { telephoneEventPayloadType: te } : {}),
          group: this.callId,
        }),
      ];
      // The legs join the caller's placement group rather than waiting to be placed near its endpoint.
      const legCodecs = legIds.length > 0 ? this.calleeCodecs() : [];
      for (let i = 0; i < legIds.length; i++) {
        creating.push(
          this.anchor.createEndpoint(this, {
            codecs: legCodecs,
            telephoneEventPayloadType: TELEPHONE_EVENT_PAYLOAD_TYPE,
            group: this.callId,
          }),
        );
      }
      const made = await Promise.allSettled(creating);
      // Whatever was made is kept, so that close() releases it when another one failed.
      const first = made[0];
      if (first.status === 'fulfilled') {
        this.caller = {
          info: first.value,
          local: undefined,
          codec: undefined,
          remote: offer?.remote,
          numbers: undefined,
        };
      }
      for (let i = 0; i < legIds.length; i++) {
        const r = made[i + 1];
        if (r.status === 'fulfilled') this.addLeg(legIds[i], r.value, legCodecs);
      }
      const failed = made.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  private addLeg(legId: string, info: EndpointInfo, codecs: readonly CodecDescription[]): CalleeEndpoint {
    const offer = createMediaOffer(this.localOf(info), codecs);
    const leg: CalleeEndpoint = {
      info,
      offer,
      local: offer,
      codec: undefined,
      remote: undefined,
      numbers: undefined,
      answered: false,
    };
    this.legs.set(legId, leg);
    return leg;
  }

  /** Our offer for a callee leg's INVITE: its endpoint opened with the call, or opened now. */
  offerTo(legId: string): Promise<string> {
    return this.serial(async () => {
      const opened = this.legs.get(legId);
      if (opened) return sdpBytes(opened.offer);
      const caller = this.callerEndpoint();
      const codecs = this.calleeCodecs();
      const info = await this.anchor.createEndpoint(this, {
        codecs,
        telephoneEventPayloadType: TELEPHONE_EVENT_PAYLOAD_TYPE,
        near: caller.info.sessionId,
      });
      return sdpBytes(this.addLeg(legId, info, codecs).offer);
    });
  }

  /**
   * What callees are offered: the caller's codecs first (in the caller's order, so a callee that has one answers
   * with it and the call is relayed), then the rest of ours (so any callee can be reached by transcoding).
   */
  private calleeCodecs(): CodecDescription[] {
    this.calleeList ??= this.makeCalleeCodecs();
    return this.calleeList;
  }

  private calleeList: CodecDescription[] | undefined;

  private makeCalleeCodecs(): CodecDescription[] {
    const ours = this.anchor.codecs;
    const first = this.callerOffer?.codecs ?? [];
    const out: CodecDescription[] = [];
    const used = new Set<number>([TELEPHONE_EVENT_PAYLOAD_TYPE]);
    const add = (c: CodecDescription) => {
      if (out.some((x) => sameEncoding(x, c))) return;
      const mine = ours.find((o) => sameEncoding(o, c));
      // Our payload number for the encoding, unless taken; dynamic ones renumbered into the free range.
      let pt = mine?.payloadType ?? c.payloadType;
      if (used.has(pt)) pt = firstFree(used);
      used.add(pt);
      out.push({ ...c, payloadType: pt, ...(mine?.fmtp !== undefined ? { fmtp: mine.fmtp } : {}) });
    };
    for (const c of first) if (ours.some((o) => sameEncoding(o, c))) add(c);
    for (const c of ours) add(c);
    return out;
  }

  /**
   * A 180 without SDP from a callee. With ringback on, and a caller that offered media we may send (not
   * sendonly/inactive), the caller gets early media: returns our answer for a 183, with ringback playing on it.
   * Returns undefined when the 180 should be relayed as it is (or the caller already has early media).
   */
  ringback(): Promise<string | undefined> {
    // The callee's 200 often follows its 180 at once: its bridge is posted behind these commands, not after them.
    return this.posting(async () => {
      const offer = this.callerOffer;
      if (this.anchor.options.ringbackTone === false || !offer || this.bridged !== undefined || this.ringing) {
        return undefined;
      }
      if (offer.direction === 'sendonly' || offer.direction === 'inactive') return undefined;
      const caller = this.callerEndpoint();
      const first = caller.local === undefined;
      const sdp = quiet(this.answerCaller(offer.codecs[0]));
      this.ringing = true;
      const country = this.anchor.options.toneCountry;
      const playing = this.anchor.options.engine.play(
        caller.info.sessionId,
        [{ tone: 'ringback', ...(country !== undefined ? { country } : {}) }],
        { loop: true },
      );
      await Promise.all([sdp, playing]);
      return first ? sdp : undefined;
    });
  }

  /**
   * A 183 with SDP from a callee (its answer, RFC 3261 13.2.1 early): the leg's media is applied and, unless
   * another leg's early media already holds the caller, bridged to the caller. Returns our answer for the caller's
   * 183 the first time the caller gets one.
   */
  earlyMedia(legId: string, answerBody: Uint8Array): Promise<string | undefined> {
    return this.serial(async () => {
      const leg = this.leg(legId);
      // Checked first (a bad answer bridges nothing), then every command posted before any answer is awaited.
      const applied = quiet(this.applyAnswer(leg, answerBody));
      if (!this.callerOffer || (this.bridged !== undefined && this.bridged !== legId)) {
        // A late-offer caller gets no early media (nothing to answer yet); another leg's early media holds it.
        await applied;
        return undefined;
      }
      const first = this.caller?.local === undefined;
      const sdp = quiet(this.answerCaller(this.callerCodecFor(leg)));
      await Promise.all([applied, sdp, this.bridgeTo(legId)]);
      return first ? sdp : undefined;
    });
  }

  /**
   * The callee of `legId` answered (200 with its answer): its media is applied, it is bridged to the caller, every
   * other leg's endpoint is closed. Returns the description for the caller's 200: our answer, or for a late-offer
   * caller our offer (its answer comes in the ACK, see `callerAnswered`).
   */
  answered(legId: string, answerBody: Uint8Array): Promise<string> {
    return this.serial(async () => {
      const leg = this.leg(legId);
      const caller = this.callerEndpoint();
      // RFC 3261 13.2.1: an answer in an unreliable 183 is repeated in the 200; apply it again only if it changed.
      // Checked at once (a bad answer bridges nothing); the commands below are all posted before any is awaited,
      // so the ACK waits for one round trip to the worker, not one per command.
      const posted: Promise<unknown>[] = [quiet(this.applyAnswer(leg, answerBody))];
      for (const [id, other] of [...this.legs]) {
        if (id === legId) continue;
        this.legs.delete(id);
        if (this.bridged === id) this.bridged = undefined;
        posted.push(this.anchor.closeEndpoint(other.info.sessionId));
      }
      const offer = this.callerOffer;
      if (!offer) {
        // Late offer: our codecs with the callee's first, so the caller can pick the one that relays.
        const codecs = [leg.codec!, ...this.anchor.codecs.filter((c) => !sameEncoding(c, leg.codec!))];
        const local = createMediaOffer(this.localOf(caller.info), codecs, caller.local);
        caller.local = local;
        await Promise.all(posted);
        return sdpBytes(local);
      }
      const sdp = quiet(this.answerCaller(this.callerCodecFor(leg)));
      posted.push(sdp, this.bridgeTo(legId));
      await Promise.all(posted);
      return sdp;
    });
  }

  /** A late-offer caller's answer, from its ACK: the caller's media is applied and bridged to the answered leg. */
  callerAnswered(answerBody: Uint8Array): Promise<void> {
    return this.serial(async () => {
      const caller = this.callerEndpoint();
      if (!caller.local) throw new MediaAnchorError(500, 'no offer was sent to the caller');
      const answer = readMediaAnswer(caller.local, answerBody, this.anchor.family);
      const set = quiet(this.setRemote(caller, answer.codec, answer.remote, numbersOf(answer)));
      const legId = [...this.legs.keys()][0];
      await Promise.all([set, legId !== undefined ? this.bridgeTo(legId) : undefined]);
    });
  }

  /** A leg that failed, was cancelled or lost the race: its endpoint is closed. */
  releaseLeg(legId: string): Promise<void> {
    return this.serial(async () => {
      const leg = this.legs.get(legId);
      if (!leg) return;
      this.legs.delete(legId);
      if (this.bridged === legId) this.bridged = undefined;
      await this.anchor.closeEndpoint(leg.info.sessionId);
    }).catch(() => {});
  }

  /**
   * A re-INVITE or UPDATE offer from the caller or a leg (hold, new address, codec change): answered at once with
   * our address and port (the phones never see each other), and the endpoint follows in the background. Throws
   * MediaAnchorError 488 when the offer cannot be served (the UA then answers 488, RFC 3261 14.2).
   */
  reoffer(side: 'caller' | string, body: Uint8Array): string {
    const ep = side === 'caller' ? this.callerEndpoint() : this.leg(side);
    const offer = readMediaOffer(body, this.anchor.family);
    // Keep the codec in use when still offered (no re-bridge); otherwise the first offered one the endpoint was
    // made with (it only receives the payload types it was created for).
    const current = ep.codec;
    const carried = this.endpointCodecs(ep);
    const codec =
      (current && offer.codecs.find((c) => sameEncoding(c, current))) ??
      offer.codecs.find((c) => carried.some((e) => sameEncoding(e, c)));
    if (!codec) throw new MediaAnchorError(488, 'the new offer has no codec this call can switch to');
    const answer = answerMediaOffer(offer, this.localOf(ep.info), codec, ep.local);
    ep.local = answer;
    // RFC 3264 8.4 / RFC 6337 5.3: sendonly, inactive or c=0.0.0.0 puts the other party on hold.
    const holds =
      offer.direction === 'sendonly' || offer.direction === 'inactive' || offer.remote.address === undefined;
    // Our answer echoes the offer's numbers (RFC 3264 6.1), so they are what the phone receives and sends with.
    const te = telephoneEventFor(offer, codec);
    const numbers: PayloadNumbers = {
      send: codec.payloadType,
      event: te !== undefined ? { receive: te, send: te } : undefined,
    };
    void this.serial(async () => {
      const changedCodec = !current || !sameEncoding(current, codec);
      // A session refresh (RFC 4028) re-offers the same: leave the endpoint latched where it is.
      const sameRemote = ep.remote?.address === offer.remote.address && ep.remote?.port === offer.remote.port;
      if (changedCodec || !sameRemote || !sameNumbers(ep.numbers, numbers)) {
        const peer = this.holding.size === 0 ? this.peerOf(side) : undefined;
        if (changedCodec && peer) await this.anchor.options.engine.unbridge(ep.info.sessionId);
        await this.setRemote(ep, this.endpointCodec(ep, codec), offer.remote, numbers);
        if (changedCodec && peer) this.mode = (await this.anchor.options.engine.bridge(ep.info.sessionId, peer)).mode;
      }
      if (holds !== this.holding.has(side)) await this.setHold(side, holds);
    }).catch(() => {});
    return sdpBytes(answer);
  }

  /** Sides (the caller, or a leg id) holding the call now. */
  private readonly holding = new Set<string>();
  /** Told once the engine has put the call on hold or taken it off (for the call's events and record). */
  onHold: ((side: 'caller' | string, held: boolean) => void) | undefined;

  /** Whether `side` has the call on hold (its last offer was sendonly, inactive or c=0.0.0.0). */
  isHolding(side: 'caller' | string): boolean {
    return this.holding.has(side);
  }

  /**
   * Hold as an anchoring PBX does it (Asterisk, FreeSWITCH): the bridge is opened, so the held party hears neither
   * the holder nor silence but music on hold from the engine; when nobody holds any more the bridge is restored.
   * Only the answered call's two sides count: a leg that is not bridged to the caller holds nobody.
   */
  private async setHold(side: string, held: boolean): Promise<void> {
    const legId = this.bridged;
    if (legId === undefined || (side !== 'caller' && side !== legId)) return;
    const engine = this.anchor.options.engine;
    const caller = this.callerEndpoint().info.sessionId;
    const leg = this.leg(legId).info.sessionId;
    const wasBridged = this.holding.size === 0;
    if (held) this.holding.add(side);
    else this.holding.delete(side);
    if (wasBridged && this.holding.size > 0) await engine.unbridge(caller);
    // The other party is the one held: it hears the music until this side takes it off hold.
    const heldParty = side === 'caller' ? leg : caller;
    if (held) await engine.play(heldParty, [...this.anchor.musicOnHold], { loop: true });
    else await engine.stopPlayback(heldParty);
    if (this.holding.size === 0) this.mode = (await engine.bridge(caller, leg)).mode;
    this.onHold?.(side, held);
  }

  /** Resolves once every engine command queued so far has run (re-offers apply in the background). */
  idle(): Promise<void> {
    return this.chain.then(() => this.acks).then(() => {});
  }

  /** Ends the call's media: every endpoint closed. Safe to call more than once and while commands are running. */
  close(): Promise<void> {
    if (this.closing) return this.closed;
    // From now on queued commands fail instead of opening endpoints; the one running finishes, then all close.
    this.closing = true;
    this.closed = this.chain.then(async () => {
      const all = [...this.legs.values()].map((l) => l.info.sessionId);
      if (this.caller) all.push(this.caller.info.sessionId);
      this.legs.clear();
      this.caller = undefined;
      this.bridged = undefined;
      await Promise.all(all.map((id) => this.anchor.closeEndpoint(id)));
      this.anchor.forget(this);
    });
    return this.closed;
  }

  /** @internal the engine lost one of this call's endpoints (worker crash). */
  lost(): void {
    if (this.lostReported || this.closing) return;
    this.lostReported = true;
    this.anchor.options.onMediaLost?.(this.callId);
  }

  // ---- internals

  private callerEndpoint(): Endpoint {
    if (!this.caller) throw new MediaAnchorError(500, 'the call has no media');
    return this.caller;
  }

  private leg(legId: string): CalleeEndpoint {
    const leg = this.legs.get(legId);
    if (!leg) throw new MediaAnchorError(500, `no media for leg ${legId}`);
    return leg;
  }

  private peerOf(side: 'caller' | string): string | undefined {
    if (this.bridged === undefined) return undefined;
    if (side === 'caller') return this.legs.get(this.bridged)?.info.sessionId;
    return side === this.bridged ? this.callerEndpoint().info.sessionId : undefined;
  }

  private localOf(info: EndpointInfo): { address: string; port: number; sessionId: string } {
    return { address: this.anchor.announced, port: info.port, sessionId: this.sdpSessionId(info) };
  }

  private readonly sdpSessions = new Map<string, string>();
  private sdpSessionId(info: EndpointInfo): string {
    let id = this.sdpSessions.get(info.sessionId);
    if (id === undefined) {
      id = this.anchor.newSdpSessionId();
      this.sdpSessions.set(info.sessionId, id);
    }
    return id;
  }

  private endpointCodecs(ep: Endpoint): readonly CodecDescription[] {
    if (ep === this.caller) return this.callerOffer ? this.callerOffer.codecs : this.anchor.codecs;
    return this.calleeCodecs();
  }

  /** The endpoint's own payload type for an encoding. */
  private endpointCodec(ep: Endpoint, codec: CodecDescription): CodecDescription {
    return this.endpointCodecs(ep).find((c) => sameEncoding(c, codec)) ?? codec;
  }

  /** The caller's codec for bridging to `leg`: already fixed, or the leg's when the caller offered it (relay). */
  private callerCodecFor(leg: Endpoint): CodecDescription {
    const fixed = this.caller?.codec;
    if (fixed) return fixed;
    const offered = this.callerOffer?.codecs ?? [];
    return (leg.codec && offered.find((c) => sameEncoding(c, leg.codec!))) ?? offered[0];
  }

  // The helpers below check what they can synchronously (throwing before anything is posted), post their engine
  // commands at once, and return the promise of the answers: a step posts all its commands, then awaits them.

  /** Fixes the caller's codec (once: the first answer the caller gets stays, RFC 3264 8) and returns our answer. */
  private answerCaller(codec: CodecDescription): Promise<string> {
    const caller = this.callerEndpoint();
    const offer = this.callerOffer!;
    if (caller.local) return Promise.resolve(sdpBytes(caller.local));
    const local = answerMediaOffer(offer, this.localOf(caller.info), codec);
    const sdp = sdpBytes(local);
    caller.local = local;
    // Our answer keeps the offer's numbers (RFC 3264 6.1), telephone-event the one at the codec's clock.
    const te = telephoneEventFor(offer, codec);
    const numbers: PayloadNumbers = {
      send: codec.payloadType,
      event: te !== undefined ? { receive: te, send: te } : undefined,
    };
    return this.setRemote(caller, codec, offer.remote, numbers).then(
      () => sdp,
      (err: unknown) => {
        if (caller.local === local) caller.local = undefined;
        throw err;
      },
    );
  }

  private applyAnswer(leg: CalleeEndpoint, body: Uint8Array): Promise<void> {
    if (body.length === 0) {
      if (leg.answered) return Promise.resolve(); // a 200 that repeats nothing: the early answer stands
      throw new MediaAnchorError(488, 'the callee answered without SDP');
    }
    const answer: MediaAnswer = readMediaAnswer(leg.offer, body, this.anchor.family);
    const numbers = numbersOf(answer);
    const same =
      leg.answered &&
      leg.codec !== undefined &&
      sameEncoding(leg.codec, answer.codec) &&
      sameNumbers(leg.numbers, numbers) &&
      leg.remote?.address === answer.remote.address &&
      leg.remote?.port === answer.remote.port;
    leg.answered = true;
    if (same) return Promise.resolve();
    const wasBridged = this.bridged !== undefined && this.legs.get(this.bridged) === leg;
    let unbridged: Promise<void> | undefined;
    if (wasBridged) {
      unbridged = quiet(this.anchor.options.engine.unbridge(leg.info.sessionId));
      this.bridged = undefined;
    }
    const set = this.setRemote(leg, answer.codec, answer.remote, numbers);
    return unbridged ? Promise.all([unbridged, set]).then(() => {}) : set;
  }

  private setRemote(
    ep: Endpoint,
    codec: CodecDescription,
    remote: RemoteMedia,
    numbers: PayloadNumbers,
  ): Promise<void> {
    ep.codec = codec;
    ep.remote = remote;
    ep.numbers = numbers;
    // c=0.0.0.0 (old-style hold): nowhere to send; symmetric RTP latches again when media comes back.
    if (remote.address === undefined || remote.port === 0) return Promise.resolve();
    const desc: RemoteDescription = {
      address: remote.address,
      port: remote.port,
      payloadType: codec.payloadType,
      sendPayloadType: numbers.send,
    };
    const event = numbers.event;
    // RFC 4733: no telephone-event negotiated, none sent. Numbers a confused description gives to both a codec and
    // events are left as they were (the engine refuses them).
    if (!event) desc.sendTelephoneEventPayloadType = null;
    else if (event.send !== numbers.send) {
      desc.sendTelephoneEventPayloadType = event.send;
      if (!this.endpointCodecs(ep).some((c) => c.payloadType === event.receive)) {
        desc.telephoneEventPayloadType = event.receive;
      }
    }
    return this.anchor.options.engine.setRemote(ep.info.sessionId, desc);
  }

  /** Bridges the caller to a leg (stopping ringback, leaving any other leg's early media). */
  private bridgeTo(legId: string): Promise<void> {
    if (this.bridged === legId) return Promise.resolve();
    const engine = this.anchor.options.engine;
    const caller = this.callerEndpoint();
    const leg = this.leg(legId);
    const posted: Promise<unknown>[] = [];
    if (this.ringing) {
      this.ringing = false;
      posted.push(quiet(engine.stopPlayback(caller.info.sessionId)));
    }
    if (this.bridged !== undefined) {
      posted.push(quiet(engine.unbridge(caller.info.sessionId)));
      this.bridged = undefined;
    }
    const bridging = quiet(engine.bridge(caller.info.sessionId, leg.info.sessionId));
    return Promise.all(posted).then(async () => {
      this.mode = (await bridging).mode;
      this.bridged = legId;
    });
  }
}

/**
 * Marks a posted command's promise as handled now, so that a failure arriving before the step awaits it is not an
 * unhandled rejection; awaiting the same promise later still throws.
 */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** The numbers an answer to our offer settles. */
function numbersOf(answer: MediaAnswer): PayloadNumbers {
  const te = answer.telephoneEventPayloadTypes;
  return { send: answer.sendPayloadType, event: te ? { receive: te.receive, send: te.send } : undefined };
}

function firstFree(used: Set<number>): number {
  for (let pt = 96; pt <= 127; pt++) if (!used.has(pt)) return pt;
  throw new MediaAnchorError(500, 'no dynamic payload type left');
}
