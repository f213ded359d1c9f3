import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { createResponse, parseMessage, SipRequest, serializeMessage } from '../../src/message/index.js';
import {
  buildNon2xxAck,
  type InviteServerTransaction,
  type ServerTransaction,
  type SipTransportPort,
  TransactionError,
  TransactionLayer,
  type TransactionUser,
} from '../../src/transaction/index.js';
import { type SipEndpoint, SipTransportLayer } from '../../src/transport/index.js';
import { contextFrom, makeRequest, RecordingPort, UAC, UAC_TCP, wire } from './harness.js';

function setup(extra: Partial<TransactionUser> = {}) {
  const clock = new VirtualClock(0);
  const port = new RecordingPort(clock);
  const requests: Array<{ request: SipRequest; tx: ServerTransaction }> = [];
  const acks: SipRequest[] = [];
  const layer = new TransactionLayer({
    transport: port,
    clock,
    user: {
      onRequest: (request, tx) => requests.push({ request, tx }),
      onAck: (ack) => acks.push(ack),
      ...extra,
    },
  });
  return { clock, port, layer, requests, acks };
}

const udp = contextFrom(UAC);
const tcp = contextFrom(UAC_TCP);

describe('INVITE server transaction (RFC 3261 17.2.1, RFC 6026)', () => {
  it('sends 100 Trying when the TU has not answered within 200 ms', () => {
    const { clock, port, layer, requests } = setup();
    layer.receive(wire(makeRequest('INVITE')), udp);
    expect(requests.length).toBe(1);
    clock.advance(199);
    expect(port.sent.length).toBe(0);
    clock.advance(1);
    const trying = port.responses(100);
    expect(trying.length).toBe(1);
    expect(trying[0].to().tag).toBeUndefined();
    expect(port.sent[0].destination).toEqual(UAC);
  });

  it('starts no 100 Trying timer for an INVITE its TU answered at once (17.2.1)', () => {
    const clock = new VirtualClock(0);
    const port = new RecordingPort(clock);
    const seen: InviteServerTransaction[] = [];
    const layer = new TransactionLayer({
      transport: port,
      clock,
      user: {
        onRequest: (_request, tx) => {
          seen.push(tx as InviteServerTransaction);
          if (seen.length === 1) tx.reply(180);
        },
      },
    });
    layer.receive(wire(makeRequest('INVITE')), udp);
    expect(seen[0].activeTimers()).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
    // The next one is left unanswered: its timer runs and the 100 goes at 200 ms.
    layer.receive(wire(makeRequest('INVITE')), udp);
    expect(seen[1].activeTimers()).toEqual(['Trying']);
    clock.advance(200);
    expect(port.responses().map((r) => r.status)).toEqual([180, 100]);
  });

  it('sends no 100 Trying when configured off', () => {
    const clock = new VirtualClock(0);
    const port = new RecordingPort(clock);
    const layer = new TransactionLayer({
      transport: port,
      clock,
      user: { onRequest: () => {} },
      timers: { trying: Number.POSITIVE_INFINITY },
    });
    layer.receive(wire(makeRequest('INVITE')), udp);
    clock.advance(10_000);
    expect(port.sent.length).toBe(0);
  });

  it('sends no 100 Trying when the TU answers in time', () => {
    const { clock, port, layer, requests } = setup();
    layer.receive(wire(makeRequest('INVITE')), udp);
    clock.advance(150);
    requests[0].tx.reply(180);
    clock.advance(1000);
    expect(port.responses().map((r) => r.status)).toEqual([180]);
  });

  it('answers a retransmitted INVITE with the last response and does not pass it up', () => {
    const { clock, port, layer, requests } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    layer.receive(wire(invite), udp); // before any response: nothing to send again
    expect(port.sent.length).toBe(0);
    requests[0].tx.reply(180);
    layer.receive(wire(invite), udp);
    expect(port.responses().map((r) => r.status)).toEqual([180, 180]);
    expect(requests.length).toBe(1);
    expect(layer.counters.retransmissionsAbsorbed).toBe(2);
    clock.advance(10);
  });

  it('retransmits a non-2xx final on timer G up to T2, stops on the ACK, and ends on timer I = T4', () => {
    const { clock, port, layer, requests } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    const tx = requests[0].tx as InviteServerTransaction;
    const final = tx.reply(486);
    expect(tx.state).toBe('completed');
    clock.advance(12_000);
    expect(port.times()).toEqual([0, 500, 1500, 3500, 7500, 11500]);
    // A retransmitted INVITE gets the final again.
    layer.receive(wire(invite), udp);
    expect(port.sent.length).toBe(7);
    let acked = 0;
    tx.events = { onAck: () => acked++ };
    layer.receive(wire(buildNon2xxAck(invite, wire(final))), udp);
    expect(tx.state).toBe('confirmed');
    expect(acked).toBe(1);
    layer.receive(wire(buildNon2xxAck(invite, wire(final))), udp); // absorbed
    expect(acked).toBe(1);
    clock.advance(4999);
    expect(tx.state).toBe('confirmed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(layer.serverTransactionCount).toBe(0);
    expect(port.sent.length).toBe(7);
    expect(clock.pendingTimers).toBe(0);
  });

  it('times out on timer H = 64*T1 without an ACK', () => {
    const { clock, layer, requests } = setup();
    layer.receive(wire(makeRequest('INVITE')), udp);
    const tx = requests[0].tx;
    clock.advance(1000);
    tx.reply(404);
    let timedOut = -1;
    tx.events = { onTimeout: () => (timedOut = clock.now()) };
    clock.runUntilIdle();
    expect(timedOut).toBe(1000 + 32_000);
    expect(tx.cause).toBe('timeout');
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('on a reliable transport: no timer G, and timer I is zero', () => {
    const { clock, port, layer, requests } = setup();
    const invite = makeRequest('INVITE', { transport: 'TCP' });
    layer.receive(wire(invite), tcp);
    const tx = requests[0].tx;
    const final = tx.reply(480);
    expect(tx.activeTimers()).toEqual(['H']);
    clock.advance(10_000);
    expect(port.sent.length).toBe(1);
    layer.receive(wire(buildNon2xxAck(invite, wire(final))), tcp);
    expect(tx.state).toBe('terminated');
  });

  it('enters Accepted on 2xx: absorbs INVITE retransmissions, sends TU 2xx retransmissions, ends on timer L', () => {
    const { clock, port, layer, requests, acks } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    const tx = requests[0].tx as InviteServerTransaction;
    const ok = tx.reply(200);
    expect(tx.state).toBe('accepted');
    layer.receive(wire(invite), udp);
    expect(port.sent.length).toBe(1);
    tx.respond(ok); // the UA core retransmits its 2xx through the transaction
    expect(port.sent.length).toBe(2);
    // The ACK of a 2xx has its own branch: it goes to the TU.
    const ack = makeRequest('ACK', { toTag: ok.to().tag });
    layer.receive(wire(ack), udp);
    expect(acks.length).toBe(1);
    expect(() => tx.reply(486)).toThrow(TransactionError);
    clock.advance(31_999);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(requests.length).toBe(1);
  });

  it('reports a failed send of a response as a transport error', () => {
    const { port, layer, requests, clock } = setup();
    layer.receive(wire(makeRequest('INVITE')), udp);
    const tx = requests[0].tx;
    const log: string[] = [];
    tx.events = { onTransportError: () => log.push('error'), onTerminated: () => log.push(`end:${tx.cause}`) };
    port.failWith = 'throw';
    tx.reply(503);
    expect(log).toEqual(['error', 'end:transport-error']);
    expect(layer.serverTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stays Accepted when a 2xx cannot be sent, so INVITE retransmissions are still absorbed', () => {
    const { clock, port, layer, requests } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    const tx = requests[0].tx;
    const errors: unknown[] = [];
    tx.events = { onTransportError: (e) => errors.push(e) };
    port.failWith = 'throw';
    tx.reply(200);
    expect(errors.length).toBe(1);
    expect(tx.state).toBe('accepted');
    layer.receive(wire(invite), udp);
    expect(requests.length).toBe(1);
    clock.advance(32_000);
    expect(tx.state).toBe('terminated');
  });

  it('in Accepted keeps only the key until Timer L: retransmissions absorbed, ACK to the TU, CANCEL 200', () => {
    const { clock, port, layer, requests, acks } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    const tx = requests[0].tx as InviteServerTransaction;
    const ok = tx.reply(200);
    // Nobody waits for its end: the layer let it go, yet it still counts, and is no longer found by matching.
    expect(layer.serverTransactionCount).toBe(1);
    expect(layer.findServerTransaction(wire(invite))).toBeUndefined();
    layer.receive(wire(invite), udp);
    layer.receive(wire(invite), udp);
    expect(requests.length).toBe(1);
    expect(port.sent.length).toBe(1);
    expect(layer.counters.retransmissionsAbsorbed).toBe(2);
    // RFC 6026 8.5: the TU's 2xx retransmissions still go out through the object it holds.
    tx.respond(ok);
    expect(port.responses(200).length).toBe(2);
    // An ACK on the INVITE's branch (a broken peer) reaches the TU, as one matched in Accepted does.
    layer.receive(wire(makeRequest('ACK', { branch: invite.via().branch, toTag: ok.to().tag })), udp);
    expect(acks.length).toBe(1);
    // RFC 3261 9.2: the CANCEL matches an INVITE that was answered: 200 to it, no 487.
    const cancel = makeRequest('CANCEL', { branch: invite.via().branch, route: false });
    cancel.setHeader('Call-ID', invite.callId());
    layer.receive(wire(cancel), udp);
    expect(port.responses().map((r) => `${r.status} ${r.cseq().method}`)).toEqual([
      '200 INVITE',
      '200 INVITE',
      '200 CANCEL',
    ]);
    clock.advance(31_999);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(() => tx.respond(ok)).toThrow(TransactionError);
    clock.runUntilIdle();
    expect(layer.serverTransactionCount).toBe(0);
    // After Timer L the same INVITE is a new request.
    layer.receive(wire(invite), udp);
    expect(requests.length).toBe(2);
  });

  it('in Accepted stays whole when its user waits for its end (told at Timer L)', () => {
    const { clock, layer, requests } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    const tx = requests[0].tx as InviteServerTransaction;
    const ends: string[] = [];
    tx.events.onTerminated = () => ends.push(tx.state);
    tx.reply(200);
    expect(layer.findServerTransaction(wire(invite))).toBe(tx);
    layer.receive(wire(invite), udp);
    expect(requests.length).toBe(1);
    clock.advance(32_000);
    expect(ends).toEqual(['terminated']);
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('goes through sendResponse when the port has it (RFC 3261 18.2.2 routing stays in the transport)', () => {
    const clock = new VirtualClock(0);
    const routed: number[] = [];
    const layer = new TransactionLayer({
      transport: { send: () => {}, sendResponse: (r, ctx) => void routed.push(r.status, ctx.source.port) },
      clock,
      user: { onRequest: (_r, tx) => tx.reply(200) },
    });
    layer.receive(wire(makeRequest('OPTIONS')), udp);
    expect(routed).toEqual([200, 5060]);
  });
});

describe('non-INVITE server transaction (RFC 3261 17.2.2)', () => {
  it('discards retransmissions while Trying, repeats the provisional, then the final; ends on J = 64*T1', () => {
    const { clock, port, layer, requests } = setup();
    const req = makeRequest('REGISTER');
    layer.receive(wire(req), udp);
    const tx = requests[0].tx;
    expect(tx.state).toBe('trying');
    layer.receive(wire(req), udp);
    expect(port.sent.length).toBe(0);
    tx.reply(100);
    expect(tx.state).toBe('proceeding');
    layer.receive(wire(req), udp);
    tx.reply(200);
    layer.receive(wire(req), udp);
    expect(port.responses().map((r) => r.status)).toEqual([100, 100, 200, 200]);
    expect(requests.length).toBe(1);
    expect(() => tx.reply(500)).toThrow(TransactionError);
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('with a port that can resend datagrams, keeps only the final response through Completed, to the same end', () => {
    const clock = new VirtualClock(0);
    const sent: Array<{ at: number; bytes: Uint8Array; to: SipEndpoint }> = [];
    let failNext = false;
    let resent = 0;
    const port: SipTransportPort = {
      send: () => {
        throw new Error('not used: the promise-free forms are');
      },
      transmitResponse: (response, context, onError) => {
        if (failNext) {
          onError(new Error('unreachable'));
          return undefined;
        }
        const bytes = serializeMessage(response);
        sent.push({ at: clock.now(), bytes, to: context.source });
        return { bytes, destination: context.source };
      },
      resend: (datagram, onError) => {
        resent++;
        if (failNext) return onError(new Error('unreachable'));
        sent.push({ at: clock.now(), bytes: datagram.bytes, to: datagram.destination });
      },
    };
    const requests: ServerTransaction[] = [];
    const layer = new TransactionLayer({ transport: port, clock, user: { onRequest: (_r, tx) => requests.push(tx) } });
    const req = makeRequest('OPTIONS');
    layer.receive(wire(req), udp);
    const tx = requests[0];
    tx.reply(200);
    expect(tx.state).toBe('completed');
    expect(tx.activeTimers()).toEqual(['J']);
    clock.advance(1000);
    layer.receive(wire(req), udp);
    // RFC 3261 17.2.2: the same final response again, to the same place, and the TU does not see the request.
    expect(sent.length).toBe(2);
    expect(resent).toBe(1);
    expect(Buffer.from(sent[1].bytes).equals(Buffer.from(sent[0].bytes))).toBe(true);
    expect(sent[1].to).toEqual(UAC);
    expect(parseMessage(sent[1].bytes).isResponse).toBe(true);
    expect(requests.length).toBe(1);
    expect(layer.counters.retransmissionsAbsorbed).toBe(1);
    expect(layer.serverTransactionCount).toBe(1);
    clock.advance(64 * 500 - 1001);
    expect(tx.state).toBe('completed');
    expect(layer.serverTransactionCount).toBe(1);
    clock.advance(1);
    // Timer J: gone, and the transaction reads as Terminated for whoever kept it.
    expect(tx.state).toBe('terminated');
    expect(tx.isTerminated).toBe(true);
    expect(tx.activeTimers()).toEqual([]);
    expect(layer.serverTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    // A request after Timer J is a new transaction.
    layer.receive(wire(req), udp);
    expect(requests.length).toBe(2);
    requests[1].reply(200);
    // A failed resend ends the kept response (17.2.4): the next copy is a new transaction.
    failNext = true;
    layer.receive(wire(req), udp);
    expect(layer.serverTransactionCount).toBe(0);
    layer.receive(wire(req), udp);
    expect(requests.length).toBe(3);
  });

  it('keeps the whole transaction when the TU listens to it', () => {
    const clock = new VirtualClock(0);
    let resends = 0;
    const port: SipTransportPort = {
      send: () => undefined,
      transmitResponse: (response, context) => ({ bytes: serializeMessage(response), destination: context.source }),
      resend: () => {
        resends++;
      },
    };
    const ended: string[] = [];
    const layer = new TransactionLayer({
      transport: port,
      clock,
      user: {
        onRequest: (_r, tx) => {
          tx.events.onTerminated = (t) => ended.push(t.state);
          tx.reply(200);
        },
      },
    });
    layer.receive(wire(makeRequest('OPTIONS')), udp);
    clock.advance(64 * 500);
    expect(resends).toBe(0);
    expect(ended).toEqual(['terminated']);
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('timer J is zero on reliable transports', () => {
    const { layer, requests } = setup();
    layer.receive(wire(makeRequest('OPTIONS', { transport: 'TCP' })), tcp);
    const tx = requests[0].tx;
    tx.reply(200);
    expect(tx.state).toBe('terminated');
  });

  it('rejects out-of-range statuses', () => {
    const { layer, requests } = setup();
    layer.receive(wire(makeRequest('OPTIONS')), udp);
    expect(() => requests[0].tx.respond(createResponse(requests[0].request, 700))).toThrow(/bad status/);
  });
});

describe('matching (RFC 3261 17.2.3)', () => {
  it('keeps requests with the same branch but another sent-by or method apart', () => {
    const { layer, requests } = setup();
    const a = makeRequest('OPTIONS', { branch: 'z9hG4bK-same' });
    const b = makeRequest('OPTIONS', { branch: 'z9hG4bK-same' });
    b.setHeader('Via', 'SIP/2.0/UDP 192.0.2.77:5060;branch=z9hG4bK-same');
    const c = makeRequest('INFO', { branch: 'z9hG4bK-same' });
    for (const m of [a, b, c, a]) layer.receive(wire(m), udp);
    expect(requests.length).toBe(3);
    expect(layer.serverTransactionCount).toBe(3);
  });

  it('falls back to the RFC 2543 rule without the magic cookie, ACK matched by the response To tag', () => {
    const { clock, port, layer, requests, acks } = setup();
    const invite = makeRequest('INVITE', { branch: '1234' });
    layer.receive(wire(invite), udp);
    layer.receive(wire(invite), udp);
    expect(requests.length).toBe(1);
    const tx = requests[0].tx;
    const final = tx.reply(486);
    const ack = buildNon2xxAck(invite, wire(final));
    layer.receive(wire(ack), udp);
    expect(tx.state).toBe('confirmed');
    expect(acks.length).toBe(0);
    // A different Call-ID is a different transaction.
    const other = makeRequest('INVITE', { branch: '1234' });
    other.setHeader('Call-ID', 'another-call');
    layer.receive(wire(other), udp);
    expect(requests.length).toBe(2);
    requests[1].tx.reply(500);
    clock.runUntilIdle();
    expect(layer.serverTransactionCount).toBe(0);
    expect(port.responses(486).length).toBeGreaterThan(0);
  });

  it('drops requests without what matching needs, without throwing', () => {
    const { layer, requests } = setup();
    const r = new SipRequest('OPTIONS', 'sip:bob@example.com', [
      ['Via', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-x'],
      ['From', '<sip:a@example.com>;tag=1'],
      ['To', '<sip:b@example.com>'],
      ['Call-ID', 'x'],
    ]);
    layer.receive(r, udp);
    const bad = makeRequest('OPTIONS');
    bad.setHeader('CSeq', '1 INVITE');
    layer.receive(bad, udp);
    expect(requests.length).toBe(0);
    expect(layer.counters.droppedMalformed).toBe(2);
  });
});

describe('CANCEL at the server (RFC 3261 9.2)', () => {
  function cancelOf(invite: SipRequest): SipRequest {
    const c = makeRequest('CANCEL', { branch: invite.via().branch, route: false });
    c.setHeader('Call-ID', invite.callId());
    return c;
  }

  it('without a TU handler: 200 to the CANCEL, 487 to the INVITE', () => {
    const { clock, port, layer, requests } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    const inviteTx = requests[0].tx;
    const ringing = inviteTx.reply(180);
    layer.receive(wire(cancelOf(invite)), udp);
    const sent = port.responses();
    expect(sent.map((r) => `${r.status} ${r.cseq().method}`)).toEqual(['180 INVITE', '200 CANCEL', '487 INVITE']);
    expect(sent[2].to().tag).toBe(ringing.to().tag);
    expect(inviteTx.state).toBe('completed');
    clock.runUntilIdle();
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('without a match: 481', () => {
    const { port, layer } = setup();
    layer.receive(wire(cancelOf(makeRequest('INVITE'))), udp);
    expect(port.responses().map((r) => r.status)).toEqual([481]);
  });

  it('hands the CANCEL and its INVITE transaction to the TU when it asks', () => {
    const seen: Array<string | undefined> = [];
    const { port, layer, requests } = setup({
      onCancel: (cancel, cancelTx, inviteTx) => {
        expect(cancel.method).toBe('CANCEL');
        seen.push(inviteTx?.request.callId());
        cancelTx.reply(200);
        inviteTx?.reply(487);
      },
    });
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    layer.receive(wire(cancelOf(invite)), udp);
    expect(seen).toEqual([invite.callId()]);
    expect(requests.length).toBe(1);
    expect(port.responses().map((r) => r.status)).toEqual([200, 487]);
  });
});

describe('TransactionLayer housekeeping', () => {
  it('takes the real transport layer as its port', async () => {
    const transport = new SipTransportLayer();
    const port: SipTransportPort = transport;
    const layer = new TransactionLayer({ transport: port, user: { onRequest: () => {} } });
    transport.onMessage((m, ctx) => layer.receive(m, ctx));
    // Nothing listens: the send is refused, which the transaction reports as a transport error.
    const errors: unknown[] = [];
    layer.sendRequest(makeRequest('OPTIONS'), UAC, { onTransportError: (e) => errors.push(e) });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(errors.length).toBe(1);
    expect(layer.clientTransactionCount).toBe(0);
    await transport.close();
  });

  it('close() ends everything and leaves no timer', () => {
    const { clock, layer } = setup();
    layer.receive(wire(makeRequest('INVITE')), udp);
    layer.receive(wire(makeRequest('OPTIONS')), udp);
    layer.sendRequest(makeRequest('INVITE'), UAC);
    layer.sendRequest(makeRequest('OPTIONS'), UAC);
    expect(layer.serverTransactionCount + layer.clientTransactionCount).toBe(4);
    layer.close();
    expect(layer.serverTransactionCount + layer.clientTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('finds the server transaction of a request', () => {
    const { layer, requests } = setup();
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    expect(layer.findServerTransaction(wire(invite))).toBe(requests[0].tx);
    expect(layer.findServerTransaction(wire(makeRequest('INVITE')))).toBeUndefined();
  });
});
