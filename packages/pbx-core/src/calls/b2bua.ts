// The call model: every call is a back-to-back user agent (B2BUA). The caller's INVITE is one leg; the PBX places
// one outbound leg per device of the callee (all ring together), connects the first that answers, cancels the
// rest, carries BYE and CANCEL across, maps failures between legs, and writes the call record when it ends.
// Media is anchored: each leg talks RTP to the PBX's media engine (see media-anchor.ts), never to the other phone.
import { randomUUID } from 'node:crypto';
import type { Clock, IncomingCall, OutgoingCall, SipSession, TimerHandle, UserAgent } from '@switchyard/sip-stack';
import type { Registrar } from '../registrar/index.js';
import type { CdrRepository, ExtensionRepository } from '../storage/repositories.js';
import type { CallLeg, CallRecord, CallStatus, CallStep, HangupSide, LegStatus } from '../storage/types.js';
import type { AnchoredCall, MediaAnchor } from './media-anchor.js';
import { MediaAnchorError } from './sdp-media.js';

export type CallState = 'routing' | 'ringing' | 'answered' | 'ended';

/** Where a dialled number leads. Later issues add groups, queues, IVRs, voicemail and trunks. */
export type DialTarget = { readonly kind: 'extension'; readonly number: string } | { readonly kind: 'none' };

/** Maps what a caller dialled to a target. */
export class DialPlan {
  constructor(private readonly extensions: ExtensionRepository) {}

  async resolve(dialled: string): Promise<DialTarget> {
    const ext = await this.extensions.get(dialled);
    return ext?.enabled ? { kind: 'extension', number: ext.number } : { kind: 'none' };
  }
}

/** What happens to calls, for live views, the admin socket's event stream and metrics. */
export type CallEvent =
  | { readonly type: 'call.started'; readonly call: CallSnapshot }
  | { readonly type: 'call.ringing'; readonly call: CallSnapshot }
  | { readonly type: 'call.answered'; readonly call: CallSnapshot }
  /** A party put the other on hold (it hears music on hold) or took it off hold. */
  | { readonly type: 'call.held' | 'call.resumed'; readonly call: CallSnapshot; readonly by: 'caller' | 'callee' }
  | { readonly type: 'call.ended'; readonly call: CallSnapshot; readonly record: CallRecord };

/** A call as the admin interface shows it. */
export interface CallSnapshot {
  readonly id: string;
  readonly state: CallState;
  readonly callerExtension: string | null;
  readonly callerNumber: string;
  readonly dialled: string;
  readonly calleeExtension: string | null;
  readonly startedAt: number;
  readonly answeredAt: number | null;
  /** Who has the call on hold now (FEATURES 1: hold time is tracked and shown in the live view). */
  readonly heldBy: ReadonlyArray<'caller' | 'callee'>;
  /** Since when it has been on hold (epoch ms), null when it is not. */
  readonly heldSince: number | null;
  /** The anchored media: each side's codec and how the PBX bridges them (null until known). */
  readonly media: {
    readonly callerCodec: string | null;
    readonly calleeCodec: string | null;
    readonly mode: 'relay' | 'transcode' | null;
  };
}

export interface CallManagerOptions {
  readonly ua: UserAgent;
  readonly registrar: Registrar;
  readonly extensions: ExtensionRepository;
  readonly cdrs: CdrRepository;
  readonly clock: Clock;
  readonly domain: string;
  /** Where every call's media is anchored. */
  readonly media: MediaAnchor;
  readonly dialPlan?: DialPlan;
  /** How long devices ring before the caller gets 480 (no answer). Default 60 s. */
  readonly ringTimeoutMs?: number;
  readonly onEvent?: (event: CallEvent) => void;
  /** Told when a call record could not be stored (it is never silently dropped). */
  readonly onStorageError?: (error: unknown, record: CallRecord) => void;
  readonly newId?: () => string;
}

interface OutboundLeg {
  readonly legId: string;
  readonly contact: string;
  readonly call: OutgoingCall;
  readonly startedAt: number;
  ringingAt: number | null;
  answeredAt: number | null;
  endedAt: number | null;
  status: LegStatus | null;
  sipStatus: number | null;
  session: SipSession | undefined;
}

/** A call in progress (or just ended). */
export class PbxCall {
  state: CallState = 'routing';
  ringingAt: number | null = null;
  answeredAt: number | null = null;
  calleeExtension: string | null = null;
  /** The callee extension's name, for the call record. */
  calleeName: string | null = null;
  readonly outbound: OutboundLeg[] = [];
  /** The caller's session, from our 200 on (before its ACK). */
  inboundSession: SipSession | undefined;
  /** Our 200 to the caller, until its ACK. */
  accepting: Promise<SipSession> | undefined;
  /** The leg whose 200 the call took (set before that 200 is ACKed). */
  winner: OutboundLeg | undefined;
  /** Our description for the caller's 200, once the winner's answer is bridged. */
  bridging: Promise<string> | undefined;
  ringTimer: TimerHandle | undefined;
  /** The call's media in the engine (from routing on; closed when the call ends). */
  media: AnchoredCall | undefined;
  /** What happened during the call (hold, resume), for the record. */
  readonly steps: CallStep[] = [];
  /** Hold steps still open, by who holds: closed (endedAt) at resume or at the end of the call. */
  readonly openHolds = new Map<'caller' | 'callee', number>();
  private finished = false;

  constructor(
    private readonly manager: CallManager,
    readonly id: string,
    readonly inbound: IncomingCall,
    readonly callerExtension: string | null,
    readonly callerNumber: string,
    /** What the phone sent, replaced by the caller extension's name once routing knows it. */
    public callerName: string | null,
    readonly dialled: string,
    readonly startedAt: number,
  ) {}

  /** True once the call has ended (a check that survives awaits, unlike a narrowed `state`). */
  get isOver(): boolean {
    return this.state === 'ended';
  }

  snapshot(): CallSnapshot {
    const bridged = this.media?.bridgedLeg;
    let heldSince: number | null = null;
    for (const i of this.openHolds.values()) heldSince = Math.min(heldSince ?? Infinity, this.steps[i].at);
    return {
      id: this.id,
      state: this.state,
      callerExtension: this.callerExtension,
      callerNumber: this.callerNumber,
      dialled: this.dialled,
      calleeExtension: this.calleeExtension,
      startedAt: this.startedAt,
      answeredAt: this.answeredAt,
      heldBy: [...this.openHolds.keys()],
      heldSince,
      media: {
        callerCodec: this.media?.codecOf('caller') ?? null,
        calleeCodec: bridged !== undefined ? (this.media?.codecOf(bridged) ?? null) : null,
        mode: this.media?.bridgeMode ?? null,
      },
    };
  }

  /** Ends the call from the PBX side (admin hang-up, shutdown). */
  async hangup(): Promise<void> {
    const answered = this.inboundSession !== undefined;
    await this.teardown(answered ? 'answered' : 'failed', 'system', answered ? null : 480, 'hung up by the PBX');
  }

  /**
   * @internal ends whatever part of the call is still up, from any state: callee legs get BYE or CANCEL, the caller
   * a final response, or BYE once it has ACKed our 200 (RFC 3261 15: not before). Then the record, once.
   */
  teardown(status: CallStatus, side: HangupSide | null, sipStatus: number | null, reason: string | null) {
    if (this.isOver) return Promise.resolve();
    const now = this.manager.clock.now();
    for (const leg of this.outbound) leg.endedAt ??= now;
    if (status === 'cancelled' && !this.inboundSession) this.answeredAt = null; // the caller never had our 200
    // The record is settled first: the end events of the BYEs below then change nothing.
    this.finish(status, side, sipStatus, reason);
    const byes: Promise<unknown>[] = [];
    for (const leg of this.outbound) {
      // A leg whose 200 is being readied is cancelled too: the UA then ACKs it and sends BYE.
      if (leg.session) byes.push(leg.session.bye());
      else leg.call.cancel();
    }
    if (this.accepting) byes.push(this.accepting.then((s) => s.bye()).catch(() => {}));
    else this.inbound.reject(sipStatus !== null && sipStatus >= 400 ? sipStatus : 480);
    return Promise.all(byes).then(() => {});
  }

  /** @internal writes the record once, whatever ends the call. */
  finish(status: CallStatus, side: HangupSide | null, sipStatus: number | null, reason: string | null): void {
    if (this.finished) return;
    this.finished = true;
    this.state = 'ended';
    if (this.ringTimer !== undefined) this.manager.clock.clearTimeout(this.ringTimer);
    this.manager.ended(this, status, side, sipStatus, reason);
    // After the record took the codecs: every endpoint of the call is closed.
    void this.media?.close().catch(() => {});
  }
}

/** RFC 3261 16.7 step 6 style choice of the one failure to pass to the caller, and what the call log calls it. */
export function mapLegFailures(statuses: readonly number[]): { status: number; callStatus: CallStatus } {
  if (statuses.some((s) => s === 486 || s === 600)) return { status: 486, callStatus: 'busy' };
  if (statuses.some((s) => s === 603)) return { status: 603, callStatus: 'rejected' };
  if (statuses.length === 0 || statuses.every((s) => s === 408 || s === 480 || s === 487))
    return { status: 480, callStatus: 'no-answer' };
  // Otherwise the lowest class wins: a 4xx over a 5xx (16.7: prefer the most useful answer).
  const sorted = [...statuses].sort((a, b) => a - b);
  return { status: sorted[0] >= 500 ? 503 : sorted[0], callStatus: 'failed' };
}

function inboundLegStatus(status: CallStatus): LegStatus {
  switch (status) {
    case 'answered':
    case 'busy':
    case 'rejected':
    case 'cancelled':
    case 'no-answer':
      return status;
    default:
      return 'failed';
  }
}

function legStatusOf(status: number): LegStatus {
  if (status === 486 || status === 600) return 'busy';
  if (status === 603) return 'rejected';
  if (status === 487) return 'cancelled';
  if (status === 408 || status === 480) return 'no-answer';
  return 'failed';
}

/** The B2BUA: turns INVITEs to the PBX into calls between extensions. */
export class CallManager {
  readonly clock: Clock;
  private readonly calls = new Map<string, PbxCall>();
  /** Call records being written, so a shutdown can wait for them. */
  private readonly writing = new Set<Promise<void>>();
  private readonly dialPlan: DialPlan;
  private readonly newId: () => string;

  constructor(private readonly options: CallManagerOptions) {
    this.clock = options.clock;
    this.dialPlan = options.dialPlan ?? new DialPlan(options.extensions);
    this.newId = options.newId ?? randomUUID;
  }

  get activeCalls(): PbxCall[] {
    return [...this.calls.values()];
  }

  call(id: string): PbxCall | undefined {
    return this.calls.get(id);
  }

  private emit(event: CallEvent): void {
    this.options.onEvent?.(event);
  }

  /** Takes an INVITE the UA has authenticated (its Authorization names the caller's extension). */
  async handleInvite(incoming: IncomingCall): Promise<void> {
    const request = incoming.request;
    const now = this.clock.now();
    const auth = request.authorizations()[0];
    const callerExtension = auth?.params.get('username') ?? null;
    const from = request.from();
    const uri = request.requestUri;
    const dialled = 'user' in uri && uri.user ? uri.user : '';
    const call = new PbxCall(
      this,
      this.newId(),
      incoming,
      callerExtension,
      callerExtension ?? from.uri,
      from.displayName ?? null,
      dialled,
      now,
    );
    this.calls.set(call.id, call);
    this.emit({ type: 'call.started', call: call.snapshot() });
    // Listening for CANCEL before any await (RFC 3261 9.2): a call cancelled while it is routed ends there.
    incoming.onCancel = () => void call.teardown('cancelled', 'caller', 487, 'Request Terminated');
    if (incoming.cancelled) return void call.teardown('cancelled', 'caller', 487, 'Request Terminated');
    try {
      await this.route(call, incoming);
    } catch (err) {
      // Storage or the engine failed while routing: the caller hears 500, the record says why.
      void call.teardown('failed', 'system', 500, err instanceof Error ? err.message : String(err));
    }
  }

  private async route(call: PbxCall, incoming: IncomingCall): Promise<void> {
    const request = incoming.request;
    const { callerExtension, dialled } = call;
    const from = request.from();
    const target = await this.dialPlan.resolve(dialled);
    if (call.isOver) return;
    if (target.kind === 'none') {
      incoming.reject(404);
      call.finish('wrong-number', 'system', 404, 'Not Found');
      return;
    }
    call.calleeExtension = target.number;
    call.calleeName = (await this.options.extensions.get(target.number))?.displayName ?? null;
    const contacts = await this.options.registrar.contactsOf(target.number);
    if (call.isOver) return;
    if (contacts.length === 0) {
      // Not registered anywhere: "unreachable" (forwarding on unreachable comes with the features issue).
      incoming.reject(480);
      call.finish('failed', 'system', 480, 'Temporarily Unavailable');
      return;
    }
    // The caller's media: an endpoint of ours, and one per device below, each offered our address.
    const legIds = contacts.map(() => this.newId());
    let offers: string[];
    try {
      // Every endpoint at once (one round trip to the media worker); the offers below are then ready.
      const media = await this.options.media.open(call.id, request.body, legIds);
      call.media = media;
      // Cancelled while the endpoint was made: finish() ran without it.
      if (call.isOver) return void media.close().catch(() => {});
      offers = [];
      for (const legId of legIds) offers.push(await call.media.offerTo(legId));
    } catch (err) {
      if (call.state === 'ended') return; // cancelled meanwhile
      const status = err instanceof MediaAnchorError && err.status >= 400 && err.status < 500 ? err.status : 503;
      // RFC 3261 21.4.26: 488 with a Warning (RFC 3261 20.43, 305 = incompatible media format).
      const warning: [string, string][] =
        status === 488
          ? [['Warning', `305 ${this.options.domain} "${(err as Error).message.replace(/["\\]/g, '')}"`]]
          : [];
      incoming.reject(status, undefined, warning);
      call.finish('failed', 'system', status, (err as Error).message);
      return;
    }
    if (call.state === 'ended') return;
    // The caller's name as the PBX knows it (the extension's), else what the phone sent.
    const callerName =
      (callerExtension && (await this.options.extensions.get(callerExtension))?.displayName) || from.displayName;
    // Ended meanwhile: no callee is called (media.close() came with the end).
    if (call.isOver) return;
    const caller = callerExtension ?? from.uri;
    const shown = callerName ? `"${callerName.replace(/["\\]/g, '')}" ` : '';
    const identity = `${shown}<sip:${caller}@${this.options.domain}>`;
    call.callerName = callerName ?? null;
    contacts.forEach((binding, i) => {
      const leg: OutboundLeg = {
        legId: legIds[i],
        contact: binding.contactUri,
        startedAt: this.clock.now(),
        ringingAt: null,
        answeredAt: null,
        endedAt: null,
        status: null,
        sipStatus: null,
        session: undefined,
        call: this.options.ua.call(binding.contactUri, {
          body: offers[i],
          contentType: 'application/sdp',
          // RFC 3325: who is calling, for the phone's display.
          headers: [['P-Asserted-Identity', identity]],
          onProgress: (response) => void this.progress(call, leg, response.status, response.body),
          // The callee's answer is bridged before its ACK: it may start sending RTP once it has the ACK.
          beforeAck: (response) => this.claim(call, leg, response.body),
          // An UPDATE offer in the callee's early dialog (RFC 3311 5.1) is answered by the PBX, as a re-INVITE
          // is later (RFC 3264 8); no media (the call is over) throws, which the UA answers 488.
          onEarlyOffer: (offer) => ({
            body: this.mediaOf(call).reoffer(leg.legId, offer),
            contentType: 'application/sdp',
          }),
        }),
      };
      call.outbound.push(leg);
      leg.call.answered.then(
        (session) => void this.answered(call, leg, session),
        (err: { status?: number }) => this.legFailed(call, leg, err.status ?? 500),
      );
    });
    const ringTimeout = this.options.ringTimeoutMs ?? 60_000;
    call.ringTimer = this.clock.setTimeout(() => {
      if (call.winner !== undefined) return;
      void call.teardown('no-answer', 'system', 480, 'no answer');
    }, ringTimeout);
  }

  /** The call's media anchor, or MediaAnchorError 488 once it is gone. */
  private mediaOf(call: PbxCall): AnchoredCall {
    if (!call.media || call.isOver) throw new MediaAnchorError(488, 'the call has no media any more');
    return call.media;
  }

  private async progress(call: PbxCall, leg: OutboundLeg, status: number, body: Uint8Array): Promise<void> {
    if (call.isOver || call.winner !== undefined) return;
    const now = this.clock.now();
    leg.ringingAt ??= now;
    const ringingNow = status === 180 || (status === 183 && body.length > 0);
    if (ringingNow && call.state === 'routing') {
      call.state = 'ringing';
      call.ringingAt = now;
      this.emit({ type: 'call.ringing', call: call.snapshot() });
    }
    const media = call.media;
    if (!media || !ringingNow) return;
    let early: string | undefined;
    try {
      // 183 with SDP: the callee's early media, bridged. 180: ringback from the engine, or the 180 relayed.
      early = status === 183 && body.length > 0 ? await media.earlyMedia(leg.legId, body) : await media.ringback();
    } catch {
      early = undefined; // early media that cannot be anchored: the caller just hears its own ringback
    }
    if (call.state !== 'ringing' || call.winner !== undefined) return;
    if (early !== undefined) call.inbound.progress({ body: early, contentType: 'application/sdp' });
    // No early media the caller can take (a late offer, or none anchored): it still learns that the callee rings.
    else if (!media.callerHasAnswer) call.inbound.ring();
  }

  /**
   * A callee's 200, before it is ACKed: the first one takes the call, the other legs are cancelled, and the
   * answer is bridged in the engine. The ACK waits for that (bounded by the UA); later 200s are let go in answered().
   */
  private claim(call: PbxCall, leg: OutboundLeg, answer: Uint8Array): Promise<string> | undefined {
    if (call.isOver || call.winner !== undefined || !call.media) return undefined;
    const now = this.clock.now();
    call.winner = leg;
    leg.answeredAt = now;
    leg.status = 'answered';
    leg.sipStatus = 200;
    call.state = 'answered';
    call.answeredAt = now;
    if (call.ringTimer !== undefined) this.clock.clearTimeout(call.ringTimer);
    for (const other of call.outbound) if (other !== leg) other.call.cancel();
    call.bridging = call.media.answered(leg.legId, answer);
    call.bridging.catch(() => {});
    return call.bridging;
  }

  private async answered(call: PbxCall, leg: OutboundLeg, session: SipSession): Promise<void> {
    leg.session = session;
    // Before any await: the callee hanging up ends the call, whatever stage its setup is at (RFC 3261 15).
    session.events.onEnded = (by) => {
      leg.endedAt ??= this.clock.now();
      if (call.winner !== leg) return;
      const side = by === 'remote' ? 'callee' : 'system';
      // Up once the caller has our 200; before that the caller is refused.
      if (call.inboundSession) void call.teardown('answered', side, null, null);
      else void call.teardown('failed', side, 480, 'the callee hung up during setup');
    };
    if (call.winner === undefined && !call.isOver) this.claim(call, leg, session.remoteBody);
    if (call.isOver || call.winner !== leg) {
      // Another device answered first, or the call is over: this one is let go at once.
      if (call.winner !== leg) leg.status = 'cancelled';
      leg.endedAt ??= this.clock.now();
      void call.media?.releaseLeg(leg.legId);
      await session.bye();
      return;
    }
    const media = call.media!;
    media.onHold = (side, held) => this.holdChanged(call, side === 'caller' ? 'caller' : 'callee', held);
    // Re-INVITEs and UPDATEs (hold, a new address) are answered by the PBX with its own address (RFC 3264 8).
    session.events.onOffer = (offer) => ({ body: media.reoffer(leg.legId, offer), contentType: 'application/sdp' });
    let callerSdp: string;
    try {
      callerSdp = await call.bridging!;
    } catch (err) {
      // The callee's answer cannot be anchored (or the engine failed): both sides are told.
      const status = err instanceof MediaAnchorError && err.status === 488 ? 488 : 500;
      void call.teardown('failed', 'system', status, (err as Error).message);
      return;
    }
    if (call.isOver) return; // ended while the media was bridged: teardown() let everything go
    call.accepting = call.inbound.accept({
      body: callerSdp,
      contentType: 'application/sdp',
      // Before the ACK: a BYE from the caller that overtakes it ends the call too.
      onSession: (inbound) => {
        call.inboundSession = inbound;
        inbound.events.onOffer = (offer) => ({ body: media.reoffer('caller', offer), contentType: 'application/sdp' });
        // BYE from either side ends the other (RFC 3261 15): the record says who hung up.
        inbound.events.onEnded = (by) => {
          leg.endedAt ??= this.clock.now();
          void call.teardown('answered', by === 'remote' ? 'caller' : 'system', null, null);
        };
      },
    });
    let inbound: SipSession;
    try {
      inbound = await call.accepting;
    } catch {
      // The caller cancelled just before our 200, or never ACKed it (the UA has sent BYE then).
      void call.teardown('cancelled', 'caller', null, 'no ACK from the caller');
      return;
    }
    if (call.isOver) return;
    try {
      // A late offer (RFC 3261 13.2.1): the caller answered ours in its ACK.
      if (!media.callerOffer) await media.callerAnswered(inbound.remoteBody);
    } catch (err) {
      void call.teardown('failed', 'system', 488, (err as Error).message);
      return;
    }
    if (call.isOver) return;
    this.emit({ type: 'call.answered', call: call.snapshot() });
  }

  /** A party put the call on hold or took it off: an event, and a step in the record (hold with its end, resume). */
  private holdChanged(call: PbxCall, by: 'caller' | 'callee', held: boolean): void {
    if (call.isOver) return;
    const now = this.clock.now();
    const target = by === 'caller' ? call.callerExtension : call.calleeExtension;
    if (held) {
      call.openHolds.set(by, call.steps.length);
      call.steps.push({ at: now, kind: 'hold', target, endedAt: null, detail: { by } });
    } else {
      const open = call.openHolds.get(by);
      call.openHolds.delete(by);
      if (open !== undefined) call.steps[open] = { ...call.steps[open], endedAt: now };
      call.steps.push({ at: now, kind: 'resume', target, endedAt: null, detail: { by } });
    }
    this.emit({ type: held ? 'call.held' : 'call.resumed', call: call.snapshot(), by });
  }

  private legFailed(call: PbxCall, leg: OutboundLeg, status: number): void {
    leg.endedAt = this.clock.now();
    void call.media?.releaseLeg(leg.legId);
    leg.sipStatus = status;
    leg.status = leg.status ?? legStatusOf(status);
    if (call.isOver || call.winner !== undefined) return;
    if (call.outbound.some((l) => l.endedAt === null)) return;
    // Every device failed: the caller gets the most telling answer.
    const verdict = mapLegFailures(call.outbound.map((l) => l.sipStatus ?? 500));
    call.inbound.reject(verdict.status);
    call.finish(verdict.callStatus, 'callee', verdict.status, null);
  }

  /** @internal */
  ended(call: PbxCall, status: CallStatus, side: HangupSide | null, sipStatus: number | null, reason: string | null) {
    this.calls.delete(call.id);
    const endedAt = this.clock.now();
    // A hold that lasts until the hang-up ends with the call.
    for (const i of call.openHolds.values()) call.steps[i] = { ...call.steps[i], endedAt };
    call.openHolds.clear();
    const inboundLeg: CallLeg = {
      legId: `${call.id}-in`,
      peerKind: 'extension',
      peer: call.callerExtension ?? call.callerNumber,
      direction: 'inbound',
      sipCallId: call.inbound.request.callId(),
      contactUri: null,
      startedAt: call.startedAt,
      ringingAt: call.ringingAt,
      answeredAt: call.answeredAt,
      endedAt,
      status: inboundLegStatus(status),
      sipStatus: call.answeredAt !== null ? 200 : sipStatus,
      codec: call.media?.codecOf('caller') ?? null,
    };
    const legs: CallLeg[] = [inboundLeg];
    for (const leg of call.outbound) {
      legs.push({
        legId: leg.legId,
        peerKind: 'extension',
        peer: call.calleeExtension ?? '',
        direction: 'outbound',
        sipCallId: leg.call.callId,
        contactUri: leg.contact,
        startedAt: leg.startedAt,
        ringingAt: leg.ringingAt,
        answeredAt: leg.answeredAt,
        endedAt: Math.max(leg.endedAt ?? endedAt, leg.startedAt),
        status: leg.status ?? (status === 'cancelled' ? 'cancelled' : 'no-answer'),
        sipStatus: leg.sipStatus,
        codec: leg.answeredAt !== null ? (call.media?.codecOf(leg.legId) ?? null) : null,
      });
    }
    const record: CallRecord = {
      callId: call.id,
      direction: 'internal',
      callerNumber: call.callerNumber,
      callerName: call.callerName,
      calleeNumber: call.calleeExtension ?? call.dialled,
      calleeName: call.calleeName,
      dialledNumber: call.dialled,
      callerExtension: call.callerExtension,
      calleeExtension: call.calleeExtension,
      did: null,
      trunk: null,
      status,
      startedAt: call.startedAt,
      ringingAt: call.ringingAt,
      answeredAt: call.answeredAt,
      endedAt,
      hangupSide: side,
      hangupSipStatus: sipStatus,
      hangupReason: reason,
      callType: null,
      cost: null,
      recordingPath: null,
      legs,
      steps: call.steps,
    };
    const write = this.options.cdrs.insert(record).then(
      () => this.emit({ type: 'call.ended', call: call.snapshot(), record }),
      (err) => this.options.onStorageError?.(err, record),
    );
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }

  /**
   * Records an INVITE refused before routing, such as one whose digest credentials failed: the caller already has
   * its answer (`sipStatus`); the call log shows the attempt as failed with `reason`. The caller is not trusted, so
   * the record names no caller extension, only the From URI.
   */
  refused(incoming: IncomingCall, sipStatus: number, reason: string): void {
    const request = incoming.request;
    const uri = request.requestUri;
    const from = request.from();
    const dialled = 'user' in uri && uri.user ? uri.user : '';
    const now = this.clock.now();
    const call = new PbxCall(this, this.newId(), incoming, null, from.uri, from.displayName ?? null, dialled, now);
    call.finish('failed', 'system', sipStatus, reason);
  }

  /** Resolves once every call record already handed to storage is written (or has failed and been reported). */
  async recordsWritten(): Promise<void> {
    await Promise.allSettled([...this.writing]);
  }
}
