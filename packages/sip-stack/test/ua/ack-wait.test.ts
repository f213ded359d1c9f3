// The UAS core's 2xx retransmission (RFC 3261 13.3.1.4) against a raw caller that ACKs late or never.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { serializeMessage } from '../../src/message/index.js';
import type { IncomingCall, SipSession } from '../../src/ua/index.js';
import { rawCaller, udpAgent, until, within } from './helpers.js';

/** Lets datagrams cross loopback after a clock step. */
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('2xx retransmission until the ACK (RFC 3261 13.3.1.4)', () => {
  it('sends the 2xx again at T1 doubling up to T2, and gives up with BYE and 408 at 64*T1', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const raw = await rawCaller(bob.uri, 'ack-wait-1');
    // observers of the transport's sends hear of each retransmission as of the first 2xx, the same bytes
    const sent2xx: string[] = [];
    bob.transport.onSent((m) => {
      if (m.isResponse && m.status === 200) sent2xx.push(Buffer.from(serializeMessage(m)).toString('latin1'));
    });
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    raw.send(raw.request('INVITE', 'z9hG4bK-aw-1', 1));
    const accepted = (await within(offered)).accept();
    const outcome = accepted.then(
      () => 'confirmed',
      (e: { status?: number }) => e.status,
    );
    await until(() => raw.responses('INVITE', 200) === 1);
    // T1 = 500 ms, T2 = 4 s: again at 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s.
    const times = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500];
    for (let i = 0; i < times.length; i++) {
      clock.advanceTo(times[i] - 1);
      await settle();
      expect(raw.responses('INVITE', 200)).toBe(i + 1);
      clock.advanceTo(times[i]);
      await until(() => raw.responses('INVITE', 200) === i + 2);
    }
    clock.advanceTo(31999);
    await settle();
    expect(raw.byes()).toBe(0);
    clock.advanceTo(32000);
    expect(await within(outcome)).toBe(408);
    await until(() => raw.byes() === 1);
    expect(raw.responses('INVITE', 200)).toBe(times.length + 1);
    expect(sent2xx).toHaveLength(times.length + 1);
    expect(new Set(sent2xx).size).toBe(1);
    expect(bob.ua.activeSessions).toHaveLength(0);
  });

  it('stops at the ACK, resolves with the session, and a late ACK retransmission changes nothing', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const raw = await rawCaller(bob.uri, 'ack-wait-2');
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    raw.send(raw.request('INVITE', 'z9hG4bK-aw-2', 1));
    const incoming = await within(offered);
    const accepted = incoming.accept();
    await until(() => raw.responses('INVITE', 200) === 1);
    clock.advanceTo(500);
    await until(() => raw.responses('INVITE', 200) === 2);
    raw.send(raw.request('ACK', 'z9hG4bK-aw-3', 1, incoming.toTag));
    const session: SipSession = await within(accepted);
    expect(session.dialog.state).toBe('confirmed');
    raw.send(raw.request('ACK', 'z9hG4bK-aw-3', 1, incoming.toTag));
    clock.advanceTo(40_000);
    await settle();
    expect(raw.responses('INVITE', 200)).toBe(2);
    expect(raw.byes()).toBe(0);
    expect(bob.ua.activeSessions).toEqual([session]);
  });

  it('takes an ACKed wait off the queue at once: nothing holds it until T1', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const raw = await rawCaller(bob.uri, 'ack-wait-q');
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    raw.send(raw.request('INVITE', 'z9hG4bK-awq-1', 1));
    const incoming = await within(offered);
    const accepted = incoming.accept();
    await until(() => raw.responses('INVITE', 200) === 1);
    expect(bob.ua.ackQueue(false).size).toBe(1);
    raw.send(raw.request('ACK', 'z9hG4bK-awq-2', 1, incoming.toTag));
    await within(accepted);
    expect(bob.ua.ackQueue(false).size).toBe(0);
    clock.advanceTo(1000);
    await settle();
    expect(raw.responses('INVITE', 200)).toBe(1);
  });

  it('absorbs INVITE retransmissions after the 2xx (RFC 6026 7.1) while the 2xx still goes again until the ACK', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const raw = await rawCaller(bob.uri, 'ack-wait-3');
    let offers = 0;
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = (call) => {
        offers++;
        resolve(call);
      };
    });
    const invite = raw.request('INVITE', 'z9hG4bK-aw-4', 1);
    raw.send(invite);
    const incoming = await within(offered);
    const accepted = incoming.accept();
    await until(() => raw.responses('INVITE', 200) === 1);
    const absorbed = bob.ua.transactions.counters.retransmissionsAbsorbed;
    // The INVITE again, twice: absorbed by the Accepted transaction (no new call, no 2xx sent for it).
    raw.send(invite);
    raw.send(invite);
    await until(() => bob.ua.transactions.counters.retransmissionsAbsorbed === absorbed + 2);
    expect(offers).toBe(1);
    expect(raw.responses('INVITE', 200)).toBe(1);
    // 13.3.1.4: the UA core's own retransmissions at T1 and 3*T1 still go out.
    clock.advanceTo(500);
    await until(() => raw.responses('INVITE', 200) === 2);
    clock.advanceTo(1500);
    await until(() => raw.responses('INVITE', 200) === 3);
    raw.send(invite);
    await until(() => bob.ua.transactions.counters.retransmissionsAbsorbed === absorbed + 3);
    raw.send(raw.request('ACK', 'z9hG4bK-aw-5', 1, incoming.toTag));
    const session: SipSession = await within(accepted);
    expect(session.dialog.state).toBe('confirmed');
    clock.advanceTo(31_999);
    await settle();
    expect(raw.responses('INVITE', 200)).toBe(3);
    expect(offers).toBe(1);
    // Timer L over: the transaction is gone, and the INVITE would be a new request.
    clock.advanceTo(32_000);
    expect(bob.ua.transactions.serverTransactionCount).toBe(0);
  });

  it('ends the wait at an ACK that comes after a BYE overtook it', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const raw = await rawCaller(bob.uri, 'ack-wait-4');
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    raw.send(raw.request('INVITE', 'z9hG4bK-aw-6', 1));
    const incoming = await within(offered);
    const accepted = incoming.accept();
    await until(() => raw.responses('INVITE', 200) === 1);
    raw.send(raw.request('BYE', 'z9hG4bK-aw-7', 2, incoming.toTag));
    await until(() => bob.ua.activeSessions.length === 0);
    raw.send(raw.request('ACK', 'z9hG4bK-aw-8', 1, incoming.toTag));
    const session: SipSession = await within(accepted);
    expect(session.ended).toBe(true);
    clock.advanceTo(40_000);
    await settle();
    expect(raw.responses('INVITE', 200)).toBe(1);
    expect(raw.byes()).toBe(0);
  });
});
