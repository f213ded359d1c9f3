// Mid-call features between two UAs on loopback UDP: UPDATE (RFC 3311), glare (RFC 3261 14.1) and session timers
// (RFC 4028), the timed parts on a VirtualClock shared by both UAs.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import type { SipRequest } from '../../src/message/index.js';
import type { SipSession, UserAgentOptions } from '../../src/ua/index.js';
import { SDP_A, SDP_B, text, udpAgent, until, within } from './helpers.js';

async function connected(
  aliceExtra: Partial<UserAgentOptions> = {},
  bobExtra: Partial<UserAgentOptions> = {},
  sessionExpires?: number,
) {
  const bob = await udpAgent('bob', bobExtra);
  const alice = await udpAgent('alice', aliceExtra);
  const invites: SipRequest[] = [];
  let bobAccepted: Promise<SipSession> | undefined;
  bob.ua.onInvite = (call) => {
    invites.push(call.request);
    bobAccepted = call.accept({ body: SDP_B, contentType: 'application/sdp' });
  };
  const aliceSession = await within(alice.ua.call(bob.uri, { body: SDP_A, sessionExpires }).answered);
  await until(() => bobAccepted !== undefined);
  const bobSession = await within(bobAccepted as Promise<SipSession>);
  return { alice, bob, aliceSession, bobSession, invites };
}

describe('UPDATE (RFC 3311)', () => {
  it('carries a new offer each way and its answer back', async () => {
    const { aliceSession, bobSession } = await connected();
    bobSession.events.onOffer = (offer) => ({
      body: text(offer).replace(/m=audio \d+/, 'm=audio 6000'),
      contentType: 'application/sdp',
    });
    aliceSession.events.onOffer = () => ({ body: SDP_A.replace('4000', '4100'), contentType: 'application/sdp' });
    const r1 = await within(aliceSession.update(SDP_A.replace('4000', '4002')));
    expect(r1.status).toBe(200);
    expect(text(aliceSession.remoteBody)).toContain('6000');
    expect(text(bobSession.remoteBody)).toContain('4002');
    const r2 = await within(bobSession.update(SDP_B.replace('5000', '5004')));
    expect(r2.status).toBe(200);
    expect(text(bobSession.remoteBody)).toContain('4100');
    expect(text(aliceSession.remoteBody)).toContain('5004');
  });
});

describe('glare (RFC 3261 14.1)', () => {
  it('answers crossing re-INVITEs with 491 and retries each after its back-off on the clock', async () => {
    const clock = new VirtualClock();
    // random 0.5: the Call-ID owner (alice, the caller) waits 2100 + 950 ms, bob 1000 ms.
    const { aliceSession, bobSession } = await connected({ clock, random: () => 0.5 }, { clock, random: () => 0.5 });
    const offers: string[] = [];
    aliceSession.events.onOffer = (o) => {
      offers.push(`alice got ${text(o).includes('5006') ? 'bob offer' : '?'}`);
      return { body: SDP_A, contentType: 'application/sdp' };
    };
    bobSession.events.onOffer = (o) => {
      offers.push(`bob got ${text(o).includes('4006') ? 'alice offer' : '?'}`);
      return { body: SDP_B, contentType: 'application/sdp' };
    };
    let aliceDone = false;
    let bobDone = false;
    const fromAlice = aliceSession.reinvite(SDP_A.replace('4000', '4006')).then((r) => {
      aliceDone = true;
      return r;
    });
    const fromBob = bobSession.reinvite(SDP_B.replace('5000', '5006')).then((r) => {
      bobDone = true;
      return r;
    });
    // Both got 491 and wait on the clock: a back-off timer each.
    await new Promise((r) => setTimeout(r, 150));
    expect(offers).toEqual([]);
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    expect(bobDone).toBe(false);
    clock.advance(1);
    expect((await within(fromBob)).status).toBe(200);
    expect(offers).toEqual(['alice got bob offer']);
    expect(aliceDone).toBe(false);
    clock.advance(2049);
    await new Promise((r) => setTimeout(r, 50));
    expect(aliceDone).toBe(false);
    clock.advance(1);
    expect((await within(fromAlice)).status).toBe(200);
    expect(offers).toEqual(['alice got bob offer', 'bob got alice offer']);
  });
});

describe('session timers (RFC 4028)', () => {
  it('raises the interval on 422, refreshes at half the interval with UPDATE, and ends the call when refreshes stop', async () => {
    const clock = new VirtualClock();
    const { alice, aliceSession, bobSession, invites } = await connected(
      { clock },
      { clock, sessionTimer: { minSE: 120 } },
      60,
    );
    // 60 s was below bob's Min-SE: the 422 made alice ask again for 120 s (7.3); bob's 2xx names alice refresher.
    expect(invites).toHaveLength(1);
    expect(invites[0].sessionExpires()?.delta).toBe(120);
    expect(invites[0].minSE()).toBe(120);
    expect(aliceSession.sessionTimer).toEqual({ interval: 120, refresher: 'local' });
    expect(bobSession.sessionTimer).toEqual({ interval: 120, refresher: 'remote' });
    const refreshes: SipRequest[] = [];
    bobSession.events.onRequest = () => 200;
    const bobRefreshed: number[] = [];
    bobSession.events.onRefreshed = (i) => bobRefreshed.push(i);
    const originalReceive = bobSession.receive.bind(bobSession);
    bobSession.receive = (request, tx) => {
      refreshes.push(request);
      originalReceive(request, tx);
    };
    clock.advance(59_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(refreshes).toHaveLength(0);
    clock.advance(1);
    await until(() => bobRefreshed.length === 1);
    expect(refreshes[0].method).toBe('UPDATE');
    expect(refreshes[0].sessionExpires()).toMatchObject({ delta: 120, refresher: 'uac' });
    await until(() => aliceSession.sessionTimer !== undefined);
    // Alice stops existing without a BYE: bob's timer runs out at 120 - min(32, 40) = 88 s after the refresh.
    const ended = new Promise<string>((resolve) => {
      bobSession.events.onEnded = resolve;
    });
    alice.ua.close();
    clock.advance(87_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(bobSession.ended).toBe(false);
    clock.advance(1);
    expect(await within(ended)).toBe('expired');
  });

  it('puts a timer on a call whose INVITE asked for none when the callee is configured with an interval', async () => {
    const clock = new VirtualClock();
    const { aliceSession, bobSession, invites } = await connected(
      { clock },
      { clock, sessionTimer: { interval: 300 } },
    );
    expect(invites[0].hasHeader('session-expires')).toBe(false);
    expect(invites[0].supported()).toContain('timer');
    // 9: the caller supports timers, so the 2xx names it refresher.
    expect(aliceSession.sessionTimer).toEqual({ interval: 300, refresher: 'local' });
    expect(bobSession.sessionTimer).toEqual({ interval: 300, refresher: 'remote' });
  });

  it('refreshes with re-INVITE when the peer does not allow UPDATE, and swaps roles when the callee refreshes', async () => {
    const clock = new VirtualClock();
    const { aliceSession, bobSession } = await connected({ clock }, { clock }, 90);
    expect(aliceSession.sessionTimer?.refresher).toBe('local');
    aliceSession.remoteAllow = ['INVITE', 'ACK', 'BYE'];
    const methods: string[] = [];
    const originalReceive = bobSession.receive.bind(bobSession);
    bobSession.receive = (request, tx) => {
      methods.push(request.method);
      originalReceive(request, tx);
    };
    bobSession.events.onOffer = () => ({ body: SDP_B, contentType: 'application/sdp' });
    clock.advance(45_000);
    await until(() => methods.length === 1);
    expect(methods).toEqual(['INVITE']);
    await until(() => bobSession.sessionTimer?.refresher === 'remote' && aliceSession.sessionTimer !== undefined);
    // Bob re-INVITEs naming himself refresher (refresher=uac from his side): the roles swap.
    bobSession.startSessionTimer(90, 'local');
    const r = await within(bobSession.reinvite(SDP_B));
    expect(r.sessionExpires()).toMatchObject({ delta: 90, refresher: 'uac' });
    expect(bobSession.sessionTimer).toEqual({ interval: 90, refresher: 'local' });
    expect(aliceSession.sessionTimer).toEqual({ interval: 90, refresher: 'remote' });
  });
});
