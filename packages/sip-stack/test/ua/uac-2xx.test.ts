// The caller's side after the answer (RFC 6026 7.2, RFC 3261 13.2.2.4): until Timer M every 2xx reaches the UA
// core, a retransmission is ACKed again and another fork's 2xx is ACKed and ended with BYE.
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import {
  createResponse,
  parseMessage,
  type SipMessage,
  type SipRequest,
  serializeMessage,
} from '../../src/message/index.js';
import { onCleanup, udpAgent, until, within } from './helpers.js';

/** A raw callee on loopback: records what it gets, answers as told. */
async function rawCallee() {
  const socket = createSocket('udp4');
  onCleanup(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const received: SipMessage[] = [];
  let peer = 0;
  socket.on('message', (data, info) => {
    peer = info.port;
    received.push(parseMessage(new Uint8Array(data)));
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const requests = (method: string) => received.filter((m): m is SipRequest => 'method' in m && m.method === method);
  const answer = (invite: SipRequest, toTag: string) => {
    const ok = createResponse(invite, 200, undefined, {
      toTag,
      headers: [['Contact', `<sip:callee-${toTag}@127.0.0.1:${port}>`]],
    });
    socket.send(serializeMessage(ok), peer, '127.0.0.1');
  };
  return { uri: `sip:callee@127.0.0.1:${port}`, requests, answer };
}

describe('2xx after the answer, at the caller (RFC 6026 7.2)', () => {
  it('ACKs a retransmitted 2xx again, and ACKs and ends a second fork with BYE', async () => {
    const alice = await udpAgent('alice');
    const callee = await rawCallee();
    const call = alice.ua.call(callee.uri);
    await until(() => callee.requests('INVITE').length === 1);
    const invite = callee.requests('INVITE')[0];
    callee.answer(invite, 'fork-a');
    const session = await within(call.answered);
    expect(session.dialog.remoteTag).toBe('fork-a');
    await until(() => callee.requests('ACK').length === 1);
    // The same 2xx again (our ACK was lost): ACKed again, nothing else.
    callee.answer(invite, 'fork-a');
    await until(() => callee.requests('ACK').length === 2);
    // Another fork answers too: ACK it, then BYE on that dialog only.
    callee.answer(invite, 'fork-b');
    await until(() => callee.requests('BYE').length === 1);
    const acks = callee.requests('ACK');
    expect(acks.length).toBe(3);
    expect(acks.map((a) => a.to().tag)).toEqual(['fork-a', 'fork-a', 'fork-b']);
    expect(acks[2].uri).toContain('callee-fork-b');
    const bye = callee.requests('BYE')[0];
    expect(bye.to().tag).toBe('fork-b');
    expect(bye.uri).toContain('callee-fork-b');
    expect(alice.ua.activeSessions).toEqual([session]);
    expect(session.ended).toBe(false);
  });
});
