// Dialogs told apart by their tags when they share a Call-ID (RFC 3261 12: Call-ID, local and remote tag), and a
// pending call found from its INVITE transaction (CANCEL, RFC 3261 9.2), against a raw caller over loopback.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import type { SipResponse } from '../../src/message/index.js';
import type { IncomingCall, SipSession } from '../../src/ua/index.js';
import { rawCaller, udpAgent, until, within } from './helpers.js';

/** A raw caller whose calls all share one Call-ID, told apart by their From tags. */
async function sharedCaller(bobUri: string) {
  const raw = await rawCaller(bobUri, 'shared-call-id');
  const answers = (method: string, fromTag: string) =>
    raw.received
      .filter((m): m is SipResponse => 'status' in m && m.cseq().method === method && m.from().tag === fromTag)
      .map((m) => m.status);
  return { ...raw, answers };
}

describe('in-dialog requests by Call-ID and tags', () => {
  it('keeps two calls with one Call-ID apart: ACK, BYE and a wrong tag each reach only their own dialog', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const raw = await sharedCaller(bob.uri);
    const calls: IncomingCall[] = [];
    const sessions: Promise<SipSession>[] = [];
    bob.ua.onInvite = (call) => {
      calls.push(call);
      sessions.push(call.accept());
    };
    raw.send(raw.request('INVITE', 'z9hG4bK-sc-1', 1, undefined, 'a'));
    await until(() => raw.answers('INVITE', 'a').includes(200));
    raw.send(raw.request('INVITE', 'z9hG4bK-sc-2', 1, undefined, 'b'));
    await until(() => raw.answers('INVITE', 'b').includes(200));
    const [a, b] = calls;
    raw.send(raw.request('ACK', 'z9hG4bK-sc-3', 1, b.toTag, 'b'));
    const sb = await within(sessions[1]);
    raw.send(raw.request('ACK', 'z9hG4bK-sc-4', 1, a.toTag, 'a'));
    const sa = await within(sessions[0]);
    expect(sa).not.toBe(sb);
    // the order they came up in (answered), though they share a Call-ID
    expect(bob.ua.activeSessions).toEqual([sa, sb]);
    // B's to-tag with A's from-tag is no dialog: 481 (RFC 3261 12.2.2), and both calls stay up
    raw.send(raw.request('BYE', 'z9hG4bK-sc-5', 2, b.toTag, 'a'));
    await until(() => raw.answers('BYE', 'a').length === 1);
    expect(raw.answers('BYE', 'a')).toEqual([481]);
    expect(bob.ua.activeSessions).toEqual([sa, sb]);
    raw.send(raw.request('BYE', 'z9hG4bK-sc-6', 2, b.toTag, 'b'));
    await until(() => raw.answers('BYE', 'b').length === 1);
    expect(raw.answers('BYE', 'b')).toEqual([200]);
    expect(sb.ended).toBe(true);
    expect(sa.ended).toBe(false);
    expect(bob.ua.activeSessions).toEqual([sa]);
    raw.send(raw.request('BYE', 'z9hG4bK-sc-7', 2, a.toTag, 'a'));
    await until(() => raw.answers('BYE', 'a').length === 2);
    expect(raw.answers('BYE', 'a')).toEqual([481, 200]);
    expect(bob.ua.activeSessions).toEqual([]);
  });

  it('cancels a pending call found from its INVITE transaction, and a 2xx leaves nothing for CANCEL to find', async () => {
    const clock = new VirtualClock();
    const bob = await udpAgent('bob', { clock });
    const raw = await sharedCaller(bob.uri);
    const calls: IncomingCall[] = [];
    bob.ua.onInvite = (call) => {
      calls.push(call);
      call.ring();
    };
    raw.send(raw.request('INVITE', 'z9hG4bK-sc-8', 1, undefined, 'c'));
    await until(() => raw.answers('INVITE', 'c').includes(180));
    let heard = 0;
    calls[0].onCancel = () => void heard++;
    expect(calls[0].tx.pendingCall).toBe(calls[0]);
    raw.send(raw.request('CANCEL', 'z9hG4bK-sc-8', 1, undefined, 'c'));
    await until(() => raw.answers('INVITE', 'c').includes(487));
    expect(raw.answers('CANCEL', 'c')).toEqual([200]);
    expect(heard).toBe(1);
    expect(calls[0].cancelled).toBe(true);
    expect(calls[0].tx.pendingCall).toBeUndefined();
    // answered: the call is no longer pending, and a CANCEL then changes nothing (RFC 3261 9.2)
    bob.ua.onInvite = (call) => {
      calls.push(call);
      void call.accept().catch(() => {});
    };
    raw.send(raw.request('INVITE', 'z9hG4bK-sc-9', 1, undefined, 'd'));
    await until(() => raw.answers('INVITE', 'd').includes(200));
    expect(calls[1].tx.pendingCall).toBeUndefined();
    raw.send(raw.request('CANCEL', 'z9hG4bK-sc-9', 1, undefined, 'd'));
    await until(() => raw.answers('CANCEL', 'd').length === 1);
    expect(raw.answers('INVITE', 'd')).toEqual([200]);
    expect(calls[1].cancelled).toBe(false);
  });
});
