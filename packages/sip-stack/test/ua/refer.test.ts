// REFER with sipfrag progress (RFC 3515) and Replaces (RFC 3891) between UAs on loopback UDP.
import { describe, expect, it } from 'vitest';
import type { IncomingCall, IncomingRefer, SipSession } from '../../src/ua/index.js';
import { parseSipFrag } from '../../src/ua/index.js';
import { SDP_A, SDP_B, udpAgent, until, within } from './helpers.js';

type Agent = Awaited<ReturnType<typeof udpAgent>>;

async function connect(caller: Agent, callee: Agent): Promise<{ a: SipSession; b: SipSession }> {
  let accepted: Promise<SipSession> | undefined;
  callee.ua.onInvite = (call) => {
    accepted = call.accept({ body: SDP_B, contentType: 'application/sdp' });
  };
  const a = await within(caller.ua.call(callee.uri, { body: SDP_A }).answered);
  await until(() => accepted !== undefined);
  return { a, b: await within(accepted as Promise<SipSession>) };
}

describe('REFER (RFC 3515)', () => {
  it('transfers: 202, NOTIFY 100 Trying then the final status of the new call, as sipfrag', async () => {
    const alice = await udpAgent('alice');
    const bob = await udpAgent('bob');
    const carol = await udpAgent('carol');
    const { a, b } = await connect(alice, bob);
    const carolOffered = new Promise<IncomingCall>((resolve) => {
      carol.ua.onInvite = resolve;
    });
    b.events.onRefer = (refer: IncomingRefer) => {
      const reporter = refer.accept();
      const call = bob.ua.call(refer.referTo, {
        body: SDP_A,
        onProgress: (r) => {
          if (r.status > 100) void reporter.notify(r.status, r.reason);
        },
      });
      call.answered.then(
        () => reporter.notify(200, 'OK'),
        (e: { status: number }) => reporter.notify(e.status),
      );
    };
    const transfer = a.refer(carol.uri);
    expect((await within(transfer.accepted)).status).toBe(202);
    const offered = await within(carolOffered);
    offered.ring();
    void offered.accept({ body: SDP_B, contentType: 'application/sdp' });
    expect(await within(transfer.done)).toEqual({ status: 200, reason: 'OK' });
    expect(transfer.progress.map((p) => p.status)).toEqual([100, 180, 200]);
  });

  it('declines a REFER nobody handles with 603, and rejects one without Refer-To with 400', async () => {
    const alice = await udpAgent('alice');
    const bob = await udpAgent('bob');
    const { a } = await connect(alice, bob);
    const transfer = a.refer('sip:nobody@127.0.0.1');
    expect((await within(transfer.accepted)).status).toBe(603);
    expect((await within(transfer.done)).status).toBe(603);
    expect((await within(a.request('REFER'))).status).toBe(400);
  });

  it('reads sipfrag status lines and refuses anything else', () => {
    const enc = (s: string) => Buffer.from(s);
    expect(parseSipFrag(enc('SIP/2.0 180 Ringing\r\n'))).toEqual({ status: 180, reason: 'Ringing' });
    expect(parseSipFrag(enc('SIP/2.0 603 Declined'))).toEqual({ status: 603, reason: 'Declined' });
    expect(parseSipFrag(enc('INVITE sip:x SIP/2.0\r\n'))).toBeUndefined();
    expect(parseSipFrag(enc('SIP/2.0 99 x\r\n'))).toBeUndefined();
    expect(parseSipFrag(new Uint8Array(0))).toBeUndefined();
  });
});

describe('Replaces (RFC 3891)', () => {
  it('offers an INVITE with Replaces together with the session it replaces; an unknown dialog gets 481', async () => {
    const alice = await udpAgent('alice');
    const bob = await udpAgent('bob');
    const carol = await udpAgent('carol');
    const { a, b } = await connect(alice, bob);
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    // Carol takes over alice's call with bob (she learnt the dialog from alice, here straight from her session).
    const takeover = carol.ua.call(bob.uri, { body: SDP_A, replaces: a });
    const incoming = await within(offered);
    expect(incoming.replaces).toBe(b);
    const bobEnded = new Promise<string>((resolve) => {
      b.events.onEnded = resolve;
    });
    const aliceEnded = new Promise<string>((resolve) => {
      a.events.onEnded = resolve;
    });
    void incoming.accept({ body: SDP_B, contentType: 'application/sdp' });
    await within(takeover.answered);
    // Once the new call is up, the replaced one is ended with BYE (RFC 3891 3).
    expect(await within(bobEnded)).toBe('local');
    expect(await within(aliceEnded)).toBe('remote');
    expect(bob.ua.activeSessions).toHaveLength(1);
    const stray = carol.ua.call(bob.uri, {
      body: SDP_A,
      headers: [['Replaces', 'no-such-call;to-tag=x;from-tag=y']],
    });
    await expect(within(stray.answered)).rejects.toMatchObject({ status: 481 });
  });

  it('attended transfer: REFER whose Refer-To embeds Replaces makes the referee replace the other call', async () => {
    const alice = await udpAgent('alice');
    const bob = await udpAgent('bob');
    const carol = await udpAgent('carol');
    const ab = await connect(alice, bob);
    const ac = await connect(alice, carol);
    const replacedAtCarol = new Promise<SipSession | undefined>((resolve) => {
      carol.ua.onInvite = (call) => {
        resolve(call.replaces);
        void call.accept({ body: SDP_B, contentType: 'application/sdp' });
      };
    });
    ab.b.events.onRefer = (refer) => {
      const reporter = refer.accept();
      bob.ua.call(refer.referTo, { body: SDP_A }).answered.then(
        () => reporter.notify(200),
        (e: { status: number }) => reporter.notify(e.status),
      );
    };
    const aliceCarolEnded = new Promise<string>((resolve) => {
      ac.a.events.onEnded = resolve;
    });
    const transfer = ab.a.refer(carol.uri, { replaces: ac.a });
    expect(await within(replacedAtCarol)).toBe(ac.b);
    expect((await within(transfer.done)).status).toBe(200);
    expect(await within(aliceCarolEnded)).toBe('remote');
  });
});
