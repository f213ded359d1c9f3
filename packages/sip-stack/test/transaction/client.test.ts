import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { createResponse, type SipResponse } from '../../src/message/index.js';
import {
  type ClientTransaction,
  InviteClientTransaction,
  TransactionError,
  TransactionLayer,
  type TransactionUser,
} from '../../src/transaction/index.js';
import { contextFrom, makeRequest, RecordingPort, UAS, UAS_TCP, wire } from './harness.js';

const noUser: TransactionUser = { onRequest: () => {} };

function setup() {
  const clock = new VirtualClock(0);
  const port = new RecordingPort(clock);
  const stray: SipResponse[] = [];
  const layer = new TransactionLayer({
    transport: port,
    clock,
    user: { ...noUser, onStrayResponse: (r) => stray.push(r) },
  });
  return { clock, port, layer, stray };
}

function recorder() {
  const log: string[] = [];
  const responses: SipResponse[] = [];
  return {
    log,
    responses,
    events: {
      onResponse: (r: SipResponse, tx: ClientTransaction) => {
        responses.push(r);
        log.push(`${r.status}@${tx.state}`);
      },
      onTimeout: () => log.push('timeout'),
      onTransportError: () => log.push('transport-error'),
      onTerminated: (tx: ClientTransaction) => log.push(`terminated:${tx.cause}`),
    },
  };
}

/** The response the UAS would send, as received by the UAC. */
function answer(request: ReturnType<typeof makeRequest>, status: number, toTag = 'uas-tag') {
  return wire(createResponse(wire(request), status, undefined, { toTag }));
}

describe('INVITE client transaction (RFC 3261 17.1.1, RFC 6026)', () => {
  it('retransmits on timer A, doubling, until timer B fires at 64*T1 (unreliable)', () => {
    const { clock, port, layer } = setup();
    const r = recorder();
    const tx = layer.sendRequest(makeRequest('INVITE'), UAS, r.events);
    expect(tx.state).toBe('calling');
    expect(tx.activeTimers().sort()).toEqual(['A', 'B']);
    clock.advance(31_999);
    expect(port.times()).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(r.log).toEqual([]);
    clock.advance(1);
    expect(r.log).toEqual(['timeout', 'terminated:timeout']);
    expect(tx.state).toBe('terminated');
    expect(layer.clientTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('honours configured T1', () => {
    const clock = new VirtualClock(0);
    const port = new RecordingPort(clock);
    const layer = new TransactionLayer({ transport: port, clock, user: noUser, timers: { t1: 100 } });
    let timedOut = -1;
    layer.sendRequest(makeRequest('INVITE'), UAS, { onTimeout: () => (timedOut = clock.now()) });
    clock.runUntilIdle();
    expect(port.times()).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(timedOut).toBe(6400);
  });

  it('has no timer A on a reliable transport, and still times out with B', () => {
    const { clock, port, layer } = setup();
    const r = recorder();
    const tx = layer.sendRequest(makeRequest('INVITE', { transport: 'TCP' }), UAS_TCP, r.events);
    expect(tx.activeTimers()).toEqual(['B']);
    clock.advance(32_000);
    expect(port.times()).toEqual([0]);
    expect(r.log).toEqual(['timeout', 'terminated:timeout']);
  });

  it('stops retransmitting on a provisional; ACKs a non-2xx final per 17.1.1.3 and absorbs its retransmissions', () => {
    const { clock, port, layer } = setup();
    const r = recorder();
    const invite = makeRequest('INVITE');
    const tx = layer.sendRequest(invite, UAS, r.events);
    clock.advance(600); // one retransmission
    layer.receive(answer(invite, 180), contextFrom(UAS));
    expect(tx.state).toBe('proceeding');
    clock.advance(60_000);
    expect(port.requests('INVITE').length).toBe(2);
    const busy = answer(invite, 486);
    layer.receive(busy, contextFrom(UAS));
    expect(tx.state).toBe('completed');
    const acks = port.requests('ACK');
    expect(acks.length).toBe(1);
    const ack = acks[0];
    expect(ack.uri).toBe(invite.uri);
    expect(ack.via().branch).toBe(invite.via().branch);
    expect(ack.vias().length).toBe(1);
    expect(ack.to().tag).toBe('uas-tag');
    expect(ack.from().tag).toBe('from-tag-1');
    expect(ack.callId()).toBe(invite.callId());
    expect(ack.cseq()).toEqual({ seq: 1, method: 'ACK' });
    expect(ack.headers('Route')).toEqual(['<sip:proxy.example.com;lr>']);
    // A retransmitted 486: ACK again, not passed up.
    layer.receive(answer(invite, 486), contextFrom(UAS));
    expect(port.requests('ACK').length).toBe(2);
    expect(r.log).toEqual(['180@proceeding', '486@completed']);
    // Timer D: at least 32 s on UDP.
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(r.log.at(-1)).toBe('terminated:normal');
    expect(layer.clientTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('timer D is zero on a reliable transport', () => {
    const { layer } = setup();
    const r = recorder();
    const invite = makeRequest('INVITE', { transport: 'TCP' });
    const tx = layer.sendRequest(invite, UAS_TCP, r.events);
    layer.receive(answer(invite, 603), contextFrom(UAS_TCP));
    expect(tx.state).toBe('terminated');
    expect(r.log).toEqual(['603@completed', 'terminated:normal']);
  });

  it('enters Accepted on 2xx, passes every 2xx up, sends no ACK itself, and ends on timer M', () => {
    const { clock, port, layer, stray } = setup();
    const r = recorder();
    const invite = makeRequest('INVITE');
    const tx = layer.sendRequest(invite, UAS, r.events);
    layer.receive(answer(invite, 200), contextFrom(UAS));
    expect(tx.state).toBe('accepted');
    layer.receive(answer(invite, 200), contextFrom(UAS));
    layer.receive(answer(invite, 200, 'fork-2'), contextFrom(UAS));
    expect(r.responses.map((x) => x.to().tag)).toEqual(['uas-tag', 'uas-tag', 'fork-2']);
    expect(port.requests('ACK').length).toBe(0);
    clock.advance(40_000);
    expect(port.requests('INVITE').length).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(tx.cause).toBe('normal');
    // Afterwards a 2xx retransmission is a stray for the UA core.
    layer.receive(answer(invite, 200), contextFrom(UAS));
    expect(stray.length).toBe(1);
  });

  it('timer M is 64*T1', () => {
    const { clock, layer } = setup();
    const invite = makeRequest('INVITE');
    const tx = layer.sendRequest(invite, UAS);
    clock.advance(100);
    layer.receive(answer(invite, 200), contextFrom(UAS));
    clock.advance(31_999);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });

  it('reports a synchronous send failure as a transport error and terminates', () => {
    const { port, layer, clock } = setup();
    port.failWith = 'throw';
    const r = recorder();
    const tx = layer.sendRequest(makeRequest('INVITE'), UAS, r.events);
    expect(r.log).toEqual(['transport-error', 'terminated:transport-error']);
    expect(tx.state).toBe('terminated');
    expect(layer.clientTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reports a rejected send as a transport error', async () => {
    const { port, layer, clock } = setup();
    const r = recorder();
    const invite = makeRequest('INVITE');
    const tx = layer.sendRequest(invite, UAS, r.events);
    port.failWith = 'reject';
    clock.advance(500); // retransmission fails
    await Promise.resolve();
    expect(r.log).toEqual(['transport-error', 'terminated:transport-error']);
    expect(tx.state).toBe('terminated');
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses requests it cannot match responses to', () => {
    const { layer } = setup();
    const noVia = makeRequest('OPTIONS');
    noVia.removeHeader('Via');
    expect(() => layer.sendRequest(noVia, UAS)).toThrow(TransactionError);
    expect(() => layer.sendRequest(makeRequest('OPTIONS', { branch: 'old-style' }), UAS)).toThrow(/z9hG4bK/);
    expect(() => layer.sendRequest(makeRequest('ACK'), UAS)).toThrow(TransactionError);
    const req = makeRequest('OPTIONS', { branch: 'z9hG4bK-dup' });
    layer.sendRequest(req, UAS);
    expect(() => layer.sendRequest(makeRequest('OPTIONS', { branch: 'z9hG4bK-dup' }), UAS)).toThrow(/in use/);
  });

  it('adds a Via with a fresh branch when given sent-by', () => {
    const clock = new VirtualClock(0);
    const port = new RecordingPort(clock);
    const layer = new TransactionLayer({
      transport: port,
      clock,
      user: noUser,
      sentBy: () => ({ host: '192.0.2.1', port: 5062 }),
    });
    const req = makeRequest('OPTIONS');
    req.removeHeader('Via');
    layer.sendRequest(req, UAS);
    const via = port.requests('OPTIONS')[0].via();
    expect(via.branch?.startsWith('z9hG4bK')).toBe(true);
    expect(via.port).toBe(5062);
    expect(via.rport).toBe(null);
  });
});

describe('CANCEL from the client (RFC 3261 9.1)', () => {
  it('waits for a provisional before sending, then builds the CANCEL from the INVITE', () => {
    const { clock, port, layer } = setup();
    const invite = makeRequest('INVITE');
    const tx = layer.sendRequest(invite, UAS) as InviteClientTransaction;
    expect(tx).toBeInstanceOf(InviteClientTransaction);
    const cancelLog: number[] = [];
    expect(tx.cancel({ onResponse: (res) => cancelLog.push(res.status) })).toBeUndefined();
    expect(tx.cancelPending).toBe(true);
    clock.advance(100);
    expect(port.requests('CANCEL').length).toBe(0);
    layer.receive(answer(invite, 180), contextFrom(UAS));
    const cancels = port.requests('CANCEL');
    expect(cancels.length).toBe(1);
    const cancel = cancels[0];
    expect(cancel.uri).toBe(invite.uri);
    expect(cancel.via().branch).toBe(invite.via().branch);
    expect(cancel.vias().length).toBe(1);
    expect(cancel.cseq()).toEqual({ seq: 1, method: 'CANCEL' });
    expect(cancel.to().tag).toBeUndefined();
    expect(cancel.headers('Route')).toEqual(['<sip:proxy.example.com;lr>']);
    expect(layer.clientTransactionCount).toBe(2);
    // The CANCEL's 200 matches its own transaction (same branch, other method).
    const ok = wire(createResponse(wire(cancel), 200, undefined, { toTag: 'uas-tag' }));
    layer.receive(ok, contextFrom(UAS));
    expect(cancelLog).toEqual([200]);
    expect(tx.cancel()).toBe(tx.cancelTransaction);
    // The INVITE stays Proceeding (no timer B there) until its 487.
    clock.advance(60_000);
    expect(tx.state).toBe('proceeding');
    layer.receive(answer(invite, 487), contextFrom(UAS));
    expect(port.requests('ACK').length).toBe(1);
    clock.runUntilIdle();
    expect(layer.clientTransactionCount).toBe(0);
  });

  it('does not send a CANCEL once a final response arrived', () => {
    const { port, layer } = setup();
    const invite = makeRequest('INVITE');
    const tx = layer.sendRequest(invite, UAS) as InviteClientTransaction;
    tx.cancel();
    layer.receive(answer(invite, 486), contextFrom(UAS));
    expect(tx.cancelPending).toBe(false);
    expect(tx.cancel()).toBeUndefined();
    expect(port.requests('CANCEL').length).toBe(0);
  });
});

describe('non-INVITE client transaction (RFC 3261 17.1.2)', () => {
  it('retransmits on timer E doubling up to T2, and times out on F = 64*T1', () => {
    const { clock, port, layer } = setup();
    const r = recorder();
    layer.sendRequest(makeRequest('OPTIONS'), UAS, r.events);
    clock.advance(32_000);
    expect(port.times()).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(r.log).toEqual(['timeout', 'terminated:timeout']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('retransmits every T2 once Proceeding', () => {
    const { clock, port, layer } = setup();
    const req = makeRequest('REGISTER');
    const tx = layer.sendRequest(req, UAS);
    clock.advance(100);
    layer.receive(answer(req, 100), contextFrom(UAS));
    expect(tx.state).toBe('proceeding');
    clock.advance(9000);
    expect(port.times()).toEqual([0, 500, 4500, 8500]);
  });

  it('passes the final up once, absorbs retransmissions, and ends on timer K = T4', () => {
    const { clock, port, layer } = setup();
    const r = recorder();
    const req = makeRequest('REGISTER');
    const tx = layer.sendRequest(req, UAS, r.events);
    clock.advance(200);
    layer.receive(answer(req, 200), contextFrom(UAS));
    layer.receive(answer(req, 200), contextFrom(UAS));
    expect(tx.state).toBe('completed');
    expect(tx.activeTimers()).toEqual(['K']);
    clock.advance(4999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(r.log).toEqual(['200@completed', 'terminated:normal']);
    expect(port.times()).toEqual([0]);
  });

  it('has no timer E and a zero timer K on reliable transports', () => {
    const { clock, port, layer } = setup();
    const req = makeRequest('REGISTER', { transport: 'TCP' });
    const tx = layer.sendRequest(req, UAS_TCP);
    expect(tx.activeTimers()).toEqual(['F']);
    clock.advance(10_000);
    expect(port.times()).toEqual([0]);
    layer.receive(answer(req, 200), contextFrom(UAS_TCP));
    expect(tx.state).toBe('terminated');
    expect(layer.clientTransactionCount).toBe(0);
  });

  it('sends responses that match no transaction to the TU, and drops malformed ones', () => {
    const { layer, stray } = setup();
    const res = answer(makeRequest('OPTIONS'), 200);
    layer.receive(res, contextFrom(UAS));
    expect(stray.length).toBe(1);
    const broken = answer(makeRequest('OPTIONS'), 200);
    broken.removeHeader('CSeq');
    layer.receive(broken, contextFrom(UAS));
    expect(layer.counters.droppedMalformed).toBe(1);
  });
});
