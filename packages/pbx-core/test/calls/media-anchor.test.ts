// The media anchor against a real media engine: test sockets on 127.0.0.1 play the phones, the anchor translates
// their SDP and drives the engine, and what crosses the bridge is checked packet by packet. The engine runs on its
// manual clock, so a loaded machine cannot starve a transcoding tick.
import { createDecoder, createEncoder, MediaEngine } from '@switchyard/media';
import { createSdpAnswer, parseSdp, serializeSdp } from '@switchyard/sip-stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { concat, Phone, Sine, toneAmplitude, until } from '../../../media/test/engine/phone.js';
import { type AnchorEngine, MediaAnchor, MediaAnchorError } from '../../src/calls/index.js';

let engine: MediaEngine;
const modes: string[] = [];
/** Hold-related engine commands, in order: `play <session>`, `stop <session>`, `unbridge`, `bridge`. */
const ops: string[] = [];
/** The engine, with the bridge modes it reports written down. */
let spied: AnchorEngine;

beforeAll(async () => {
  engine = await MediaEngine.start({
    workers: 1,
    clock: 'manual',
    portRange: { min: 45000, max: 45999 },
    statisticsIntervalMs: 0,
  });
  spied = new Proxy(engine, {
    get(target, prop) {
      if (prop === 'bridge') {
        return async (a: string, b: string) => {
          const r = await target.bridge(a, b);
          modes.push(r.mode);
          ops.push('bridge');
          return r;
        };
      }
      if (prop === 'play' || prop === 'stopPlayback' || prop === 'unbridge') {
        return (session: string, ...rest: unknown[]) => {
          ops.push(prop === 'unbridge' ? 'unbridge' : `${prop === 'play' ? 'play' : 'stop'} ${session}`);
          return (Reflect.get(target, prop) as (...a: unknown[]) => Promise<unknown>).call(target, session, ...rest);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
});
afterAll(async () => {
  await engine?.shutdown();
});

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  modes.length = 0;
  ops.length = 0;
});

async function openPhone(): Promise<Phone> {
  const p = await Phone.open();
  cleanup.push(() => p.close());
  return p;
}

function newAnchor(options: { ringbackTone?: boolean } = {}): MediaAnchor {
  const anchor = new MediaAnchor({ engine: spied, address: '127.0.0.1', codecs: undefined, ...options });
  cleanup.push(() => anchor.detach());
  return anchor;
}

async function engineSessions(): Promise<number> {
  return (await engine.getWorkerStatistics()).reduce((n, w) => n + w.sessions, 0);
}

/** A phone's offer: PCMU (and whatever else is listed) with telephone-event. */
function offerFrom(phone: Phone, formats = '0 101', direction = 'sendrecv'): Uint8Array {
  return Buffer.from(
    [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${phone.port} RTP/AVP ${formats}`,
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      `a=${direction}`,
      '',
    ].join('\r\n'),
  );
}

/** A phone's answer to the PBX's offer, taking one codec. */
function answerFrom(phone: Phone, offer: string, encodingName: string): Uint8Array {
  const answer = createSdpAnswer(parseSdp(offer), {
    address: '127.0.0.1',
    sessionId: String(phone.port),
    media: [{ port: phone.port, codecs: [{ encodingName, clockRate: 8000 }], telephoneEvent: true }],
  });
  return Buffer.from(serializeSdp(answer));
}

function portOf(sdp: string): number {
  return parseSdp(sdp).media[0].port;
}

async function packetsIn(): Promise<number> {
  return (await engine.getWorkerStatistics()).reduce((n, w) => n + w.packetsReceived, 0);
}

/**
 * Each talker sends `frames` 20 ms frames of its tone; once the engine has them all, its clock moves on by as
 * long, so transcoded audio comes out at its pace.
 */
async function talk(
  talkers: Array<{ from: Phone; toPort: number; pt: number; encoding: string; hz: number }>,
  frames: number,
): Promise<void> {
  const before = await packetsIn();
  const out = new Uint8Array(1500);
  const sources = talkers.map((t) => {
    const enc = createEncoder(t.encoding);
    return { t, enc, sine: new Sine(t.hz, 8000, enc.sampleRate) };
  });
  for (let i = 0; i < frames; i++) {
    for (const { t, enc, sine } of sources) {
      const n = enc.encodeInto(sine.next((enc.sampleRate * 20) / 1000), out);
      t.from.send(t.toPort, t.pt, out.slice(0, n), 160);
    }
  }
  await until(async () => (await packetsIn()) >= before + frames * talkers.length, 3000, 'packets into the engine');
  await engine.advanceClock(frames * 20);
}

function heard(phone: Phone, pt: number, encoding: string, from = 0): { pcm: Int16Array; rate: number } {
  const dec = createDecoder(encoding);
  const buf = new Int16Array(2048);
  const frames = phone.received
    .slice(from)
    .filter((p) => p.payloadType === pt)
    .map((p) => buf.slice(0, dec.decodeInto(p.payload, buf)));
  return { pcm: concat(frames), rate: dec.sampleRate };
}

describe('MediaAnchor', () => {
  it('transcodes when the callee answers a codec the caller did not offer, relays when it did', async () => {
    const anchor = newAnchor();
    for (const [calleeCodec, pt, mode] of [
      ['G722', 9, 'transcode'],
      ['PCMU', 0, 'relay'],
    ] as const) {
      const a = await openPhone();
      const b = await openPhone();
      const call = await anchor.open(`call-${calleeCodec}`, offerFrom(a));
      const offer = await call.offerTo('leg-1');
      // The caller's codec first, then the rest of ours, with telephone-event.
      expect(parseSdp(offer).media[0].formats).toEqual([
        '0',
        '9',
        '8',
        ...(anchor.codecs.length > 3 ? ['111', '96'] : []),
        '101',
      ]);
      const toCaller = await call.answered('leg-1', answerFrom(b, offer, calleeCodec));
      expect(parseSdp(toCaller).media[0].formats).toEqual(['0', '101']);
      expect(modes.at(-1)).toBe(mode);
      expect(call.codecOf('caller')).toBe('PCMU');
      expect(call.codecOf('leg-1')).toBe(calleeCodec);

      await talk(
        [
          { from: a, toPort: portOf(toCaller), pt: 0, encoding: 'PCMU', hz: 1000 },
          { from: b, toPort: portOf(offer), pt, encoding: calleeCodec, hz: 440 },
        ],
        40,
      );
      await b.waitFor(30);
      await a.waitFor(30);
      const atB = heard(b, pt, calleeCodec);
      const atA = heard(a, 0, 'PCMU');
      const tailB = atB.pcm.subarray(atB.pcm.length - atB.rate / 2);
      const tailA = atA.pcm.subarray(atA.pcm.length - atA.rate / 2);
      expect(toneAmplitude(tailB, 1000, atB.rate)).toBeGreaterThan(8000 * 0.8);
      expect(toneAmplitude(tailA, 440, atA.rate)).toBeGreaterThan(8000 * 0.8);
      await call.close();
    }
    expect(anchor.endpointCount).toBe(0);
    expect(anchor.activeCalls).toBe(0);
    expect(await engineSessions()).toBe(0);
  });

  it('carries audio and digits to each phone under the numbers that phone declared (RFC 3264 6.1)', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const b = await openPhone();
    // The caller declares telephone-event 96; the callee answers our 101 with its own 100.
    const callerOffer = Buffer.from(
      Buffer.from(offerFrom(a)).toString().replace('RTP/AVP 0 101', 'RTP/AVP 0 96').replaceAll(':101 ', ':96 '),
    );
    const call = await anchor.open('numbers', callerOffer);
    const offer = await call.offerTo('leg');
    const calleeAnswer = Buffer.from(
      Buffer.from(answerFrom(b, offer, 'PCMU'))
        .toString()
        .replace('RTP/AVP 0 101', 'RTP/AVP 0 100')
        .replaceAll(':101 ', ':100 '),
    );
    expect(calleeAnswer.toString()).toContain('a=rtpmap:100 telephone-event/8000');
    const toCaller = await call.answered('leg', calleeAnswer);
    expect(parseSdp(toCaller).media[0].formats).toEqual(['0', '96']);
    expect(modes.at(-1)).toBe('relay');
    await call.idle();
    const ev = (digit: number, end: boolean): Uint8Array => new Uint8Array([digit, end ? 0x8a : 10, 1, 64]);
    const audio = new Uint8Array(160).fill(0xff);
    // Each phone sends with the numbers the other side (the PBX) declared to it: 96 to the caller's endpoint (our
    // answer echoed it), 101 to the callee's (our offer).
    a.send(portOf(toCaller), 0, audio, 160, true);
    a.send(portOf(toCaller), 96, ev(4, false), 0, true);
    a.send(portOf(toCaller), 96, ev(4, true), 320);
    await b.waitFor(3);
    expect(b.received.map((p) => p.payloadType)).toEqual([0, 100, 100]);
    b.send(portOf(offer), 0, audio, 160, true);
    b.send(portOf(offer), 101, ev(9, false), 0, true);
    b.send(portOf(offer), 101, ev(9, true), 320);
    await a.waitFor(3);
    expect(a.received.map((p) => p.payloadType)).toEqual([0, 96, 96]);
    expect(a.received.slice(1).map((p) => p.payload[0])).toEqual([9, 9]);
    await call.close();
    expect(await engineSessions()).toBe(0);
  });

  it('bridges the first early media of a fork, then the leg that answers, and closes the others', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const desk = await openPhone();
    const mobile = await openPhone();
    const call = await anchor.open('fork', offerFrom(a));
    const toDesk = await call.offerTo('desk');
    const toMobile = await call.offerTo('mobile');
    expect(portOf(toDesk)).not.toBe(portOf(toMobile));

    const early = await call.earlyMedia('desk', answerFrom(desk, toDesk, 'PCMU'));
    expect(early).toBeDefined();
    expect(call.bridgedLeg).toBe('desk');
    // A second leg's early media does not take the caller from the first, nor send the caller a second answer.
    expect(await call.earlyMedia('mobile', answerFrom(mobile, toMobile, 'G722'))).toBeUndefined();
    expect(call.bridgedLeg).toBe('desk');

    const final = await call.answered('mobile', answerFrom(mobile, toMobile, 'G722'));
    // The caller keeps the answer it got in the 183 (RFC 3264: one answer per offer).
    expect(final).toBe(early);
    expect(call.bridgedLeg).toBe('mobile');
    expect(modes).toEqual(['relay', 'transcode']);
    expect(call.endpointCount).toBe(2);

    await talk([{ from: a, toPort: portOf(final), pt: 0, encoding: 'PCMU', hz: 1000 }], 15);
    await mobile.waitFor(8);
    // The desk's endpoint is gone: nothing the caller says reaches it.
    expect(desk.received).toHaveLength(0);
    await call.close();
    expect(await engineSessions()).toBe(0);
  });

  it('plays ringback to the caller on a 180, once, and stops it when the callee answers', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const b = await openPhone();
    const call = await anchor.open('ring', offerFrom(a));
    const offer = await call.offerTo('leg');
    const sdp = await call.ringback();
    expect(sdp).toBeDefined();
    expect(call.callerHasAnswer).toBe(true);
    expect(await call.ringback()).toBeUndefined();
    await engine.advanceClock(400);
    await a.waitFor(20);
    const tone = heard(a, 0, 'PCMU');
    // EU ringback: 425 Hz (the cadence starts with its 1 s on).
    expect(toneAmplitude(tone.pcm.subarray(0, 2400), 425, 8000)).toBeGreaterThan(1500);

    const final = await call.answered('leg', answerFrom(b, offer, 'PCMU'));
    expect(final).toBe(sdp);
    const mark = a.received.length;
    await talk([{ from: b, toPort: portOf(offer), pt: 0, encoding: 'PCMU', hz: 1000 }], 20);
    await a.waitFor(mark + 10);
    const after = heard(a, 0, 'PCMU', mark + 5);
    expect(toneAmplitude(after.pcm, 1000, 8000)).toBeGreaterThan(8000 * 0.8);
    expect(toneAmplitude(after.pcm, 425, 8000)).toBeLessThan(500);
    await call.close();
  });

  it('relays the 180 instead when the caller cannot hear early media or ringback is off', async () => {
    const a = await openPhone();
    const held = await newAnchor().open('sendonly', offerFrom(a, '0', 'sendonly'));
    expect(await held.ringback()).toBeUndefined();
    await held.close();
    const quiet = await newAnchor({ ringbackTone: false }).open('quiet', offerFrom(a));
    expect(await quiet.ringback()).toBeUndefined();
    await quiet.close();
    const late = await newAnchor().open('late', new Uint8Array(0));
    expect(await late.ringback()).toBeUndefined();
    await late.close();
    expect(await engineSessions()).toBe(0);
  });

  it('answers a re-INVITE (hold, new port) with its own address and port, and the media follows', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const a2 = await openPhone();
    const b = await openPhone();
    const call = await anchor.open('reinvite', offerFrom(a));
    const offer = await call.offerTo('leg');
    const first = await call.answered('leg', answerFrom(b, offer, 'PCMU'));

    const hold = parseSdp(call.reoffer('caller', offerFrom(a, '0 101', 'sendonly')));
    const before = parseSdp(first);
    expect(hold.media[0].port).toBe(before.media[0].port);
    expect(hold.connection?.address).toBe('127.0.0.1');
    expect(hold.origin.sessionId).toBe(before.origin.sessionId);
    expect(BigInt(hold.origin.sessionVersion)).toBe(BigInt(before.origin.sessionVersion) + 1n);
    expect(serializeSdp(hold)).toContain('a=recvonly');

    // Resumed from another port: what the callee says now goes there.
    call.reoffer('caller', offerFrom(a2));
    await call.idle(); // the endpoint follows in the background
    await talk([{ from: b, toPort: portOf(offer), pt: 0, encoding: 'PCMU', hz: 1000 }], 10);
    await a2.waitFor(5);
    // The callee can re-offer too; a codec the call cannot switch to is refused with 488.
    expect(parseSdp(call.reoffer('leg', answerFrom(b, offer, 'PCMU'))).media[0].port).toBe(portOf(offer));
    expect(() => call.reoffer('caller', offerFrom(a, '18'))).toThrow(MediaAnchorError);
    await call.close();
    expect(await engineSessions()).toBe(0);
  });

  it('holds: the held party gets music on hold, both may hold, the bridge returns when neither does', async () => {
    const anchor = newAnchor();
    anchor.setMusicOnHold([{ tone: 'dial' }]);
    const a = await openPhone();
    const b = await openPhone();
    const call = await anchor.open('hold', offerFrom(a));
    const offer = await call.offerTo('leg');
    const toCaller = await call.answered('leg', answerFrom(b, offer, 'PCMU'));
    const holds: string[] = [];
    call.onHold = (side, held) => holds.push(`${side} ${held ? 'holds' : 'resumes'}`);
    ops.length = 0;
    // Old-style hold from the callee (RFC 3264 8.4: c=0.0.0.0), then the caller holds too (inactive).
    const oldStyle = Buffer.from(
      Buffer.from(answerFrom(b, offer, 'PCMU'))
        .toString()
        .replace(/c=IN IP4 127\.0\.0\.1/g, 'c=IN IP4 0.0.0.0'),
    );
    call.reoffer('leg', oldStyle);
    await call.idle();
    expect(call.isHolding('leg')).toBe(true);
    // The caller hears the music: the engine plays to it, at its own pace (manual clock).
    await engine.advanceClock(200);
    await a.waitFor(5);
    const dial = heard(a, 0, 'PCMU');
    expect(toneAmplitude(dial.pcm.subarray(-800), 425, 8000)).toBeGreaterThan(1000);
    expect(serializeSdp(parseSdp(call.reoffer('caller', offerFrom(a, '0 101', 'inactive'))))).toContain('a=inactive');
    await call.idle();
    // The callee resumes: it no longer plays music to the caller, but the caller still holds, so no bridge yet.
    call.reoffer('leg', answerFrom(b, offer, 'PCMU'));
    await call.idle();
    call.reoffer('caller', offerFrom(a));
    await call.idle();
    expect(holds).toEqual(['leg holds', 'caller holds', 'leg resumes', 'caller resumes']);
    expect(ops.map((o) => o.split(' ')[0])).toEqual(['unbridge', 'play', 'play', 'stop', 'stop', 'bridge']);
    const callerSession = ops[1].split(' ')[1];
    expect(ops[3]).toBe(`stop ${callerSession}`); // the callee's resume stops the caller's music
    // Bridged again: the callee's tone reaches the caller.
    a.received.length = 0;
    await talk([{ from: b, toPort: portOf(offer), pt: 0, encoding: 'PCMU', hz: 1000 }], 10);
    await a.waitFor(5);
    expect(toneAmplitude(heard(a, 0, 'PCMU').pcm, 1000, 8000)).toBeGreaterThan(8000 * 0.7);
    expect(portOf(toCaller)).toBeGreaterThan(0);
    await call.close();
  });

  it("numbers telephone-event per leg: the caller's 96 and the callee's 101 are translated both ways", async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const b = await openPhone();
    const callerOffer = Buffer.from(
      Buffer.from(offerFrom(a, '0 96'))
        .toString()
        .replace('rtpmap:101 telephone-event', 'rtpmap:96 telephone-event')
        .replace('fmtp:101', 'fmtp:96'),
    );
    const call = await anchor.open('te', callerOffer);
    const offer = await call.offerTo('leg');
    expect(offer).toContain('a=rtpmap:101 telephone-event/8000');
    const toCaller = await call.answered('leg', answerFrom(b, offer, 'PCMU'));
    // RFC 3264 6.1: the answer keeps the offer's number for the caller.
    expect(toCaller).toContain('a=rtpmap:96 telephone-event/8000');
    expect(toCaller).not.toContain('telephone-event/8000\r\na=rtpmap:101');
    // RFC 4733 2.3: digit 5, volume 10, duration 160, end bit on the last packet.
    const event = (end: boolean) => Uint8Array.of(5, (end ? 0x80 : 0) | 10, 0, 160);
    a.send(portOf(toCaller), 96, event(false), 0, true);
    a.send(portOf(toCaller), 96, event(true), 0);
    b.send(portOf(offer), 101, event(false), 0, true);
    b.send(portOf(offer), 101, event(true), 0);
    await engine.advanceClock(40);
    await b.waitFor(2);
    await a.waitFor(2);
    expect(new Set(b.received.map((p) => p.payloadType))).toEqual(new Set([101]));
    expect(new Set(a.received.map((p) => p.payloadType))).toEqual(new Set([96]));
    expect(b.received[0].payload[0]).toBe(5);
    await call.close();
  });

  it('switches codec on a re-offer that drops the one in use: relay becomes transcode', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const b = await openPhone();
    const call = await anchor.open('switch', offerFrom(a, '0 9 101'));
    const offer = await call.offerTo('leg');
    await call.answered('leg', answerFrom(b, offer, 'PCMU'));
    expect(modes).toEqual(['relay']);
    const answer = parseSdp(call.reoffer('caller', offerFrom(a, '9 101')));
    expect(answer.media[0].formats).toEqual(['9', '101']);
    await call.idle();
    expect(modes).toEqual(['relay', 'transcode']);
    expect(call.codecOf('caller')).toBe('G722');
    await talk([{ from: a, toPort: answer.media[0].port, pt: 9, encoding: 'G722', hz: 1000 }], 20);
    await b.waitFor(10);
    const atB = heard(b, 0, 'PCMU');
    expect(toneAmplitude(atB.pcm.subarray(atB.pcm.length - 1600), 1000, 8000)).toBeGreaterThan(8000 * 0.8);
    await call.close();
  });

  it('offers ours to a late-offer caller in the 200 and bridges the answer from its ACK', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const b = await openPhone();
    const call = await anchor.open('late', new Uint8Array(0));
    const offer = await call.offerTo('leg');
    const toCaller = await call.answered('leg', answerFrom(b, offer, 'G722'));
    // The callee's codec first, so a caller that has it makes the call a relay.
    expect(parseSdp(toCaller).media[0].formats.slice(0, 2)).toEqual(['9', '0']);
    await call.callerAnswered(answerFrom(a, toCaller, 'PCMU'));
    expect(modes).toEqual(['transcode']);
    await talk([{ from: a, toPort: portOf(toCaller), pt: 0, encoding: 'PCMU', hz: 1000 }], 15);
    await b.waitFor(8);
    expect(b.received.every((p) => p.payloadType === 9)).toBe(true);
    await call.close();
  });

  it('sets a call up in two round trips to the worker: endpoints, then ringback and bridge together', async () => {
    // Each command is written down with how many engine answers had come back when it was posted.
    const posted: Array<{ op: string; answers: number }> = [];
    let answers = 0;
    const counting = new Proxy(engine, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== 'function') return v;
        if (!['createEndpoint', 'setRemote', 'bridge', 'unbridge', 'play', 'stopPlayback'].includes(String(prop)))
          return v.bind(target);
        return (...args: unknown[]) => {
          posted.push({ op: String(prop), answers });
          return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args).finally(() => answers++);
        };
      },
    }) as AnchorEngine;
    const anchor = new MediaAnchor({ engine: counting, address: '127.0.0.1' });
    cleanup.push(() => anchor.detach());
    const a = await openPhone();
    const b = await openPhone();
    const call = await anchor.open('two-trips', offerFrom(a), ['leg']);
    const offer = await call.offerTo('leg');
    // A callee that rings and answers at once: its 200 is handled while the ringback is still in flight.
    const ringing = call.ringback();
    const answered = call.answered('leg', answerFrom(b, offer, 'PCMU'));
    expect(await answered).toBe(await ringing);
    expect(posted).toEqual([
      { op: 'createEndpoint', answers: 0 },
      { op: 'createEndpoint', answers: 0 },
      { op: 'setRemote', answers: 2 },
      { op: 'play', answers: 2 },
      { op: 'setRemote', answers: 2 },
      { op: 'stopPlayback', answers: 2 },
      { op: 'bridge', answers: 2 },
    ]);
    expect(call.bridgedLeg).toBe('leg');
    expect(call.bridgeMode).toBe('relay');
    await call.close();
    expect(await engineSessions()).toBe(0);
  });

  it('refuses an offer with no codec of ours (488) and leaves nothing open', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    await expect(anchor.open('g729', offerFrom(a, '18'))).rejects.toMatchObject({ status: 488 });
    expect(anchor.endpointCount).toBe(0);
    expect(await engineSessions()).toBe(0);
  });

  it('closes every endpoint, even when the call ends while endpoints are being made', async () => {
    const anchor = newAnchor();
    const a = await openPhone();
    const call = await anchor.open('race', offerFrom(a));
    const offers = [call.offerTo('l1'), call.offerTo('l2'), call.offerTo('l3')];
    const closed = call.close();
    await Promise.allSettled(offers);
    await closed;
    await call.close(); // twice is harmless
    await expect(call.offerTo('l4')).rejects.toBeInstanceOf(MediaAnchorError);
    expect(anchor.endpointCount).toBe(0);
    expect(await engineSessions()).toBe(0);
  });
});

describe('MediaAnchor and a crashed media worker', () => {
  it('tells the PBX that the call lost its media', async () => {
    const own = await MediaEngine.start({ workers: 1, portRange: { min: 46000, max: 46099 }, statisticsIntervalMs: 0 });
    try {
      const lost: string[] = [];
      const anchor = new MediaAnchor({ engine: own, address: '127.0.0.1', onMediaLost: (id) => lost.push(id) });
      const a = await openPhone();
      const call = await anchor.open('doomed', offerFrom(a));
      await call.offerTo('leg');
      await own.debugCrashWorker(0, 'exit');
      await until(() => lost.length > 0, 2000);
      expect(lost).toEqual(['doomed']);
      await call.close();
      anchor.detach();
    } finally {
      await own.shutdown();
    }
  });
});
