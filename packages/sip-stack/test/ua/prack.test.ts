// Reliable provisional responses (RFC 3262) between two UAs, and against a caller that never PRACKs.
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import {
  createRequest,
  createResponse,
  parseMessage,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from '../../src/message/index.js';
import type { IncomingCall } from '../../src/ua/index.js';
import { onCleanup, SDP_A, SDP_B, text, udpAgent, until, within } from './helpers.js';

describe('100rel (RFC 3262)', () => {
  it('PRACKs a reliable 183, and holds the 2xx until the PRACK came', async () => {
    const bob = await udpAgent('bob');
    const alice = await udpAgent('alice');
    const order: string[] = [];
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    const provisionals: SipResponse[] = [];
    const call = alice.ua.call(bob.uri, { body: SDP_A, onProgress: (r) => provisionals.push(r) });
    const incoming = await within(offered);
    expect(incoming.request.supported()).toContain('100rel');
    const pracked = incoming.progress({ reliable: true, body: SDP_B, contentType: 'application/sdp' });
    void pracked.then(() => order.push('prack'));
    // Asked at once, but the 200 only goes out after the PRACK (RFC 3262 3).
    const accepted = incoming.accept({ body: SDP_B, contentType: 'application/sdp' });
    void accepted.then(() => order.push('ack'));
    const session = await within(call.answered);
    await within(accepted);
    expect(order).toEqual(['prack', 'ack']);
    expect(provisionals).toHaveLength(1);
    expect(provisionals[0].status).toBe(183);
    expect(provisionals[0].require()).toContain('100rel');
    expect(text(provisionals[0].body)).toBe(SDP_B);
    // The early dialog became the session: the PRACK used CSeq 2, so BYE is 3 and the callee takes it.
    const bobSession = bob.ua.activeSessions[0];
    const ended = new Promise<string>((resolve) => {
      bobSession.events.onEnded = resolve;
    });
    await session.bye();
    expect(await within(ended)).toBe('remote');
  });

  it('sends UPDATE with a new offer in the early dialog both ways (RFC 3311 5.1)', async () => {
    const bob = await udpAgent('bob');
    const alice = await udpAgent('alice');
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    const call = alice.ua.call(bob.uri, { body: SDP_A });
    await expect(call.update(SDP_A)).rejects.toMatchObject({ status: 481 });
    const incoming = await within(offered);
    const earlyOffers: string[] = [];
    incoming.onEarlyOffer = (offer) => {
      earlyOffers.push(text(offer));
      return { body: SDP_B.replace('5000', '5010'), contentType: 'application/sdp' };
    };
    await within(incoming.progress({ reliable: true, body: SDP_B, contentType: 'application/sdp' }));
    const response = await within(call.update(SDP_A.replace('4000', '4010')));
    expect(response.status).toBe(200);
    expect(text(response.body)).toContain('5010');
    expect(earlyOffers).toHaveLength(1);
    expect(earlyOffers[0]).toContain('4010');
    expect(incoming.dialog?.state).toBe('early');
    void incoming.accept({ body: SDP_B, contentType: 'application/sdp' });
    const session = await within(call.answered);
    await session.bye();
  });

  it('retransmits an unPRACKed 183 at T1 doubling, rejects with 5xx at 64*T1, and answers a stray PRACK 481', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const socket = createSocket('udp4');
    onCleanup(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    const received: SipResponse[] = [];
    socket.on('message', (data) => {
      const message = parseMessage(new Uint8Array(data));
      if ('status' in message) received.push(message);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const port = socket.address().port;
    const invite = createRequest({
      method: 'INVITE',
      uri: bob.uri,
      from: '<sip:raw@127.0.0.1>;tag=raw1',
      to: `<${bob.uri}>`,
      callId: 'prack-test',
      via: { transport: 'UDP', host: '127.0.0.1', port, branch: 'z9hG4bK-prack-1' },
      contact: `<sip:raw@127.0.0.1:${port}>`,
      headers: [['Supported', '100rel']],
    });
    const send = (m: Parameters<typeof serializeMessage>[0]) =>
      socket.send(serializeMessage(m), Number(bob.uri.split(':')[2]), '127.0.0.1');
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    send(invite);
    const incoming = await within(offered);
    const pracked = incoming.progress({ reliable: true });
    const count183 = () => received.filter((r) => r.status === 183).length;
    await until(() => count183() === 1);
    const rseq = Number(received.find((r) => r.status === 183)?.header('rseq'));
    // A PRACK naming another RSeq matches nothing (RFC 3262 3).
    const prack = createRequest({
      method: 'PRACK',
      uri: bob.uri,
      from: '<sip:raw@127.0.0.1>;tag=raw1',
      to: `<${bob.uri}>;tag=${incoming.toTag}`,
      callId: 'prack-test',
      cseq: 2,
      via: { transport: 'UDP', host: '127.0.0.1', port, branch: 'z9hG4bK-prack-2' },
      headers: [['RAck', `${rseq + 1} 1 INVITE`]],
    });
    send(prack);
    await until(() => received.some((r) => r.status === 481));
    // Retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (T1 = 500 ms, doubling), then 504 at 32 s.
    const expected = [1, 2, 3, 4, 5, 6, 7];
    const times = [0, 500, 1500, 3500, 7500, 15500, 31500];
    for (let i = 1; i < times.length; i++) {
      clock.advanceTo(times[i] - 1);
      await new Promise((r) => setTimeout(r, 20));
      expect(count183()).toBe(expected[i - 1]);
      clock.advanceTo(times[i]);
      await until(() => count183() === expected[i]);
    }
    expect(received.some((r) => r.status === 504)).toBe(false);
    clock.advanceTo(32000);
    await until(() => received.some((r) => r.status === 504));
    await expect(within(pracked)).rejects.toMatchObject({ status: 504 });
  });
});

describe("UPDATE from the callee in the caller's early dialog (RFC 3311 5.1)", () => {
  it('answers an early UPDATE offer from the callee with the onEarlyOffer answer', async () => {
    const bob = await udpAgent('bob');
    const alice = await udpAgent('alice');
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    const earlyOffers: string[] = [];
    const call = alice.ua.call(bob.uri, {
      body: SDP_A,
      onEarlyOffer: (offer) => {
        earlyOffers.push(text(offer));
        return { body: SDP_A.replace('4000', '4020'), contentType: 'application/sdp' };
      },
    });
    const incoming = await within(offered);
    // Before any early dialog the callee has nothing to send it in.
    await expect(incoming.update(SDP_B)).rejects.toMatchObject({ status: 481 });
    await within(incoming.progress({ reliable: true, body: SDP_B, contentType: 'application/sdp' }));
    const response = await within(incoming.update(SDP_B.replace('5000', '5020')));
    expect(response.status).toBe(200);
    expect(text(response.body)).toContain('m=audio 4020');
    expect(earlyOffers).toHaveLength(1);
    expect(earlyOffers[0]).toContain('m=audio 5020');
    // A bare UPDATE (no offer) only refreshes: 200 without a body.
    const bare = await within(incoming.update(''));
    expect(bare.status).toBe(200);
    expect(bare.body.length).toBe(0);
    expect(earlyOffers).toHaveLength(1);
    // The early dialog still becomes the session: CSeqs of both sides went on in it.
    void incoming.accept({ body: SDP_B, contentType: 'application/sdp' });
    const session = await within(call.answered);
    const bobSession = bob.ua.activeSessions[0];
    const ended = new Promise<string>((resolve) => {
      bobSession.events.onEnded = resolve;
    });
    await session.bye();
    expect(await within(ended)).toBe('remote');
  });

  it('rejects an early UPDATE offer with 488 when the caller has no onEarlyOffer (RFC 3311 5.2)', async () => {
    const bob = await udpAgent('bob');
    const alice = await udpAgent('alice');
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    const call = alice.ua.call(bob.uri, { body: SDP_A });
    const incoming = await within(offered);
    await within(incoming.progress({ reliable: true, body: SDP_B, contentType: 'application/sdp' }));
    const response = await within(incoming.update(SDP_B.replace('5000', '5020')));
    expect(response.status).toBe(488);
    // The call goes on as before.
    void incoming.accept({ body: SDP_B, contentType: 'application/sdp' });
    const session = await within(call.answered);
    await session.bye();
  });

  it('answers 491 to an early UPDATE offer while its own UPDATE offer is pending, and follows the Contact', async () => {
    const alice = await udpAgent('alice');
    // A scripted callee on a raw socket: it holds the caller's UPDATE unanswered to make glare.
    const socket = createSocket('udp4');
    onCleanup(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    const requests: SipRequest[] = [];
    const responses: SipResponse[] = [];
    socket.on('message', (data) => {
      const message = parseMessage(new Uint8Array(data));
      if ('status' in message) responses.push(message);
      else requests.push(message);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const port = socket.address().port;
    const alicePort = Number(alice.uri.split(':')[2]);
    const send = (m: Parameters<typeof serializeMessage>[0]) =>
      socket.send(serializeMessage(m), alicePort, '127.0.0.1');
    const offers: string[] = [];
    const call = alice.ua.call(`sip:raw@127.0.0.1:${port}`, {
      body: SDP_A,
      onEarlyOffer: (offer) => {
        offers.push(text(offer));
        return { body: SDP_A, contentType: 'application/sdp' };
      },
    });
    await until(() => requests.some((r) => r.method === 'INVITE'));
    const invite = requests.find((r) => r.method === 'INVITE')!;
    send(
      createResponse(invite, 183, undefined, {
        toTag: 'raw1',
        headers: [
          ['Require', '100rel'],
          ['RSeq', '1'],
          ['Contact', `<sip:raw@127.0.0.1:${port}>`],
        ],
        body: SDP_B,
        contentType: 'application/sdp',
      }),
    );
    await until(() => requests.some((r) => r.method === 'PRACK'));
    send(createResponse(requests.find((r) => r.method === 'PRACK')!, 200));
    const ours = call.update(SDP_A.replace('4000', '4010'));
    await until(() => requests.some((r) => r.method === 'UPDATE'));
    const update = (cseq: number, branch: string, body: string | undefined, contact: string) =>
      createRequest({
        method: 'UPDATE',
        uri: `sip:alice@127.0.0.1:${alicePort}`,
        from: `<sip:raw@127.0.0.1:${port}>;tag=raw1`,
        to: `<sip:raw@127.0.0.1:${port}>;tag=${invite.from().tag}`,
        callId: invite.callId(),
        cseq,
        via: { transport: 'UDP', host: '127.0.0.1', port, branch },
        contact,
        body,
        headers: body === undefined ? [] : [['Content-Type', 'application/sdp']],
      });
    // RFC 3311 5.2: our offer is unanswered, so theirs is glare.
    send(update(10, 'z9hG4bK-glare-1', SDP_B.replace('5000', '5030'), `<sip:raw@127.0.0.1:${port}>`));
    await until(() => responses.some((r) => r.status === 491));
    expect(offers).toHaveLength(0);
    send(createResponse(requests.find((r) => r.method === 'UPDATE')!, 200, undefined, { body: SDP_B }));
    expect((await within(ours)).status).toBe(200);
    // A bare UPDATE refreshes the remote target from its Contact (RFC 3311 5.2, RFC 3261 12.2.2).
    send(update(11, 'z9hG4bK-glare-2', undefined, `<sip:raw@127.0.0.1:${port};moved=1>`));
    await until(() => responses.some((r) => r.status === 200 && r.cseq().method === 'UPDATE'));
    const again = call.update(SDP_A);
    await until(() => requests.filter((r) => r.method === 'UPDATE').length === 2);
    expect(requests.filter((r) => r.method === 'UPDATE')[1].uri).toContain('moved=1');
    send(createResponse(requests.filter((r) => r.method === 'UPDATE')[1], 200, undefined, { body: SDP_B }));
    await within(again);
    // Other requests in the early dialog still get 481.
    send(
      createRequest({
        method: 'BYE',
        uri: `sip:alice@127.0.0.1:${alicePort}`,
        from: `<sip:raw@127.0.0.1:${port}>;tag=raw1`,
        to: `<sip:raw@127.0.0.1:${port}>;tag=${invite.from().tag}`,
        callId: invite.callId(),
        cseq: 12,
        via: { transport: 'UDP', host: '127.0.0.1', port, branch: 'z9hG4bK-glare-3' },
      }),
    );
    await until(() => responses.some((r) => r.status === 481));
    call.cancel();
  });
});
