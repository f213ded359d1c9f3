// Non-INVITE transactions the TU answers inside its callback go straight to the completed-responses store without
// being filed in a table (TransactionLayer's pending transaction). RFC 3261 17.2.2 must hold all the same: the
// retransmitted request gets the final response again, byte for byte, until Timer J (64*T1 on UDP, zero on reliable
// transports), and after Timer J the request is a new transaction.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { parseMessage, type SipRequest, serializeMessage } from '../../src/message/index.js';
import {
  type ServerTransaction,
  type SipTransportPort,
  TransactionLayer,
  type TransactionUser,
} from '../../src/transaction/index.js';
import type { SipEndpoint } from '../../src/transport/index.js';
import { contextFrom, makeRequest, UAC, UAC_TCP, wire } from './harness.js';

const udp = contextFrom(UAC);
const tcp = contextFrom(UAC_TCP);
const J = 64 * 500;

/** A datagram port like SipTransportLayer's: what it sends is returned for the store, and `resend` repeats it. */
function datagramPort(clock: VirtualClock) {
  const sent: Array<{ at: number; bytes: Buffer; to: SipEndpoint; resent: boolean }> = [];
  const state = { fail: false };
  const port: SipTransportPort = {
    send: () => {
      throw new Error('not used: the promise-free forms are');
    },
    transmitResponse: (response, context, onError) => {
      if (state.fail) {
        onError(new Error('unreachable'));
        return undefined;
      }
      const bytes = serializeMessage(response);
      sent.push({ at: clock.now(), bytes: Buffer.from(bytes), to: context.source, resent: false });
      return { bytes, destination: context.source };
    },
    resend: (datagram, onError) => {
      if (state.fail) return onError(new Error('unreachable'));
      sent.push({ at: clock.now(), bytes: Buffer.from(datagram.bytes), to: datagram.destination, resent: true });
    },
  };
  return { port, sent, state };
}

function setup(onRequest: TransactionUser['onRequest'], tinyStores = false) {
  const clock = new VirtualClock(0);
  const { port, sent, state } = datagramPort(clock);
  // tiny stores: a new generation every two records, so matching and chunk reuse go across generations
  const completedStores = tinyStores ? { initialCapacity: 2, growInPlaceBelow: 0 } : undefined;
  const layer = new TransactionLayer({ transport: port, clock, user: { onRequest }, completedStores });
  return { clock, sent, state, layer };
}

describe('a non-INVITE request answered inside the TU callback (RFC 3261 17.2.2)', () => {
  it('answers its retransmissions from the store, byte for byte, until Timer J; then it is a new transaction', () => {
    const seen: ServerTransaction[] = [];
    const { clock, sent, layer } = setup((_r, tx) => {
      seen.push(tx);
      tx.reply(200);
    });
    const req = makeRequest('OPTIONS');
    layer.receive(wire(req), udp);
    expect(seen.length).toBe(1);
    expect(sent.length).toBe(1);
    expect(seen[0].state).toBe('completed');
    expect(layer.serverTransactionCount).toBe(1);
    // kept as its final response only: not findable as a transaction
    expect(layer.findServerTransaction(wire(req))).toBeUndefined();
    for (const at of [1, 500, J - 1]) {
      clock.advance(at - clock.now());
      layer.receive(wire(req), udp);
    }
    expect(seen.length).toBe(1);
    expect(sent.map((s) => s.resent)).toEqual([false, true, true, true]);
    for (const s of sent) {
      expect(s.bytes.equals(sent[0].bytes)).toBe(true);
      expect(s.to).toEqual(UAC);
    }
    expect(layer.counters.retransmissionsAbsorbed).toBe(3);
    clock.advance(1);
    expect(seen[0].state).toBe('terminated');
    expect(layer.serverTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    layer.receive(wire(req), udp);
    expect(seen.length).toBe(2);
    expect(sent.length).toBe(5);
    expect(sent[4].resent).toBe(false);
  });

  it('is counted and found while its callback runs, and absorbs a copy handed in from inside it', () => {
    const req = makeRequest('MESSAGE');
    const during: Array<[number, boolean]> = [];
    let calls = 0;
    const { sent, layer } = setup((_r, tx) => {
      calls++;
      during.push([layer.serverTransactionCount, layer.findServerTransaction(wire(req)) === tx]);
      // a copy while Trying is discarded (17.2.2), one after the provisional gets it again
      layer.receive(wire(req), udp);
      tx.reply(100);
      layer.receive(wire(req), udp);
      tx.reply(202);
      layer.receive(wire(req), udp);
    });
    layer.receive(wire(req), udp);
    expect(calls).toBe(1);
    expect(during).toEqual([[1, true]]);
    const statuses = sent.map((s) => s.bytes.toString('latin1').split(' ')[1]);
    expect(statuses).toEqual(['100', '100', '202', '202']);
    expect(sent[3].bytes.equals(sent[2].bytes)).toBe(true);
    expect(layer.serverTransactionCount).toBe(1);
  });

  it('is filed by the key it arrived with, even when the TU changed the top Via in its callback', () => {
    const seen: ServerTransaction[] = [];
    const { sent, layer } = setup((r, tx) => {
      seen.push(tx);
      // the first is answered at once (the store exists from then on); the second is changed and answered later
      if (seen.length === 1) return void tx.reply(200);
      r.removeFirstValue('Via');
      r.prependHeader('Via', 'SIP/2.0/UDP other.example.com:5070;branch=z9hG4bK-changed');
    });
    layer.receive(wire(makeRequest('OPTIONS')), udp);
    const req = makeRequest('OPTIONS');
    layer.receive(wire(req), udp);
    expect(seen.length).toBe(2);
    expect(seen[1].request.via().branch).toBe('z9hG4bK-changed');
    // a copy of what arrived matches it (17.2.3): discarded while Trying, not a new transaction
    layer.receive(wire(req), udp);
    expect(seen.length).toBe(2);
    expect(layer.findServerTransaction(wire(req))).toBe(seen[1]);
    seen[1].reply(200);
    layer.receive(wire(req), udp);
    expect(seen.length).toBe(2);
    expect(sent.length).toBe(3);
    expect(sent[2].bytes.equals(sent[1].bytes)).toBe(true);
  });

  it('a TU that answers later still gets a transaction that lives on and absorbs copies', () => {
    const seen: ServerTransaction[] = [];
    const { clock, sent, layer } = setup((_r, tx) => void seen.push(tx));
    const req = makeRequest('REGISTER');
    layer.receive(wire(req), udp);
    expect(layer.serverTransactionCount).toBe(1);
    expect(layer.findServerTransaction(wire(req))).toBe(seen[0]);
    layer.receive(wire(req), udp);
    expect(sent.length).toBe(0);
    expect(seen.length).toBe(1);
    clock.advance(300);
    seen[0].reply(200);
    layer.receive(wire(req), udp);
    expect(sent.length).toBe(2);
    expect(sent[1].bytes.equals(sent[0].bytes)).toBe(true);
    clock.advance(J);
    expect(layer.serverTransactionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('ends at once on a reliable transport (Timer J is zero): a repeated request is a new transaction', () => {
    const seen: ServerTransaction[] = [];
    const { sent, layer } = setup((_r, tx) => {
      seen.push(tx);
      tx.reply(200);
    });
    const req = makeRequest('OPTIONS', { transport: 'TCP' });
    layer.receive(wire(req), tcp);
    expect(seen[0].state).toBe('terminated');
    expect(layer.serverTransactionCount).toBe(0);
    layer.receive(wire(req), tcp);
    expect(seen.length).toBe(2);
    expect(sent.length).toBe(2);
  });

  it('reports a failed send to the TU and keeps nothing (17.2.4)', () => {
    const errors: unknown[] = [];
    const seen: ServerTransaction[] = [];
    const { state, layer } = setup((_r, tx) => {
      seen.push(tx);
      tx.events.onTransportError = (error) => errors.push(error);
      tx.reply(200);
    });
    state.fail = true;
    const req = makeRequest('OPTIONS');
    layer.receive(wire(req), udp);
    expect(errors.length).toBe(1);
    expect(seen[0].state).toBe('terminated');
    expect(layer.serverTransactionCount).toBe(0);
    state.fail = false;
    layer.receive(wire(req), udp);
    expect(seen.length).toBe(2);
  });

  it('a TU that throws leaves the transaction filed, as before', () => {
    const seen: ServerTransaction[] = [];
    const { layer } = setup((_r, tx) => {
      seen.push(tx);
      throw new Error('TU bug');
    });
    const req = makeRequest('OPTIONS');
    expect(() => layer.receive(wire(req), udp)).toThrow('TU bug');
    expect(layer.serverTransactionCount).toBe(1);
    expect(layer.findServerTransaction(wire(req))).toBe(seen[0]);
    seen[0].reply(200);
    expect(layer.serverTransactionCount).toBe(1);
    layer.close();
    expect(layer.serverTransactionCount).toBe(0);
  });

  type Op =
    | { op: 'send'; b: number; answer: 'now' | 'provisional' | 'later'; status: number; pad: number; shout: boolean }
    | { op: 'answer'; b: number; status: number; pad: number }
    | { op: 'wait'; ms: number };

  it('matches a simple model through new requests, retransmissions, late answers and clock advances', () => {
    // a padded final fills most of a 256 KiB chunk of the store: chunks fill, expire and are reused
    const padArb = fc.oneof(fc.constant(0), fc.integer({ min: 60_000, max: 120_000 }));
    const reply = (tx: ServerTransaction, status: number, pad: number) =>
      pad === 0 ? tx.reply(status) : tx.reply(status, undefined, [['X-Pad', 'x'.repeat(pad)]]);
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        op: fc.constant('send' as const),
        b: fc.nat(7),
        // mostly answered at once, as a busy server's are (no transaction left alive: matched in the store alone)
        answer: fc.constantFrom(
          'now' as const,
          'now' as const,
          'now' as const,
          'provisional' as const,
          'later' as const,
        ),
        status: fc.constantFrom(200, 202, 404, 486),
        pad: padArb,
        // the copy's Via host in other letter case: the same sent-by (RFC 3261 17.2.3)
        shout: fc.boolean(),
      }),
      fc.record({ op: fc.constant('answer' as const), b: fc.nat(7), status: fc.constantFrom(200, 403), pad: padArb }),
      fc.record({
        op: fc.constant('wait' as const),
        ms: fc.oneof(fc.nat(2000), fc.integer({ min: 8000, max: 40_000 })),
      }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), fc.boolean(), (ops, tinyStores) => {
        type Entry =
          | { state: 'trying' | 'proceeding'; tx: ServerTransaction; last?: Buffer }
          | { state: 'completed'; last: Buffer; until: number };
        const model = new Map<number, Entry>();
        let nextAnswer: Op | undefined;
        let tuCalls = 0;
        const { clock, sent, layer } = setup((_r, tx) => {
          tuCalls++;
          const o = nextAnswer as Extract<Op, { op: 'send' }>;
          if (o.answer === 'now') reply(tx, o.status, o.pad);
          else if (o.answer === 'provisional') tx.reply(100);
          model.set(o.b, { state: o.answer === 'provisional' ? 'proceeding' : 'trying', tx });
        }, tinyStores);
        // some with a host name and no port in the Via, one with an RFC 2543 branch (matched the old way)
        const requests = Array.from({ length: 8 }, (_, b) => {
          const text = serializeMessage(
            makeRequest(b % 2 ? 'OPTIONS' : 'REGISTER', b === 5 ? { branch: 'old-branch-5' } : {}),
          ).toString();
          return b % 2 === 1 ? text.replace('192.0.2.1:5060', 'Host.Example.COM') : text;
        });
        const copy = (b: number, shout: boolean) => {
          const text = shout ? requests[b].replace('Host.Example.COM', 'hOST.example.com') : requests[b];
          return parseMessage(Buffer.from(text)) as SipRequest;
        };
        const live = () => {
          for (const [b, e] of model) if (e.state === 'completed' && clock.now() >= e.until) model.delete(b);
          return model.size;
        };
        for (const o of ops) {
          if (o.op === 'wait') {
            clock.advance(o.ms);
          } else if (o.op === 'answer') {
            live();
            const e = model.get(o.b);
            if (e === undefined || e.state === 'completed') continue;
            const before = sent.length;
            reply(e.tx, o.status, o.pad);
            expect(sent.length).toBe(before + 1);
            model.set(o.b, { state: 'completed', last: sent[before].bytes, until: clock.now() + J });
          } else {
            live();
            const e = model.get(o.b);
            const before = sent.length;
            const calls = tuCalls;
            nextAnswer = o;
            layer.receive(copy(o.b, o.shout), udp);
            if (e === undefined) {
              // a new transaction: the TU sees it and what it sent went out
              expect(tuCalls).toBe(calls + 1);
              const now = model.get(o.b) as Entry;
              if (o.answer === 'now') {
                expect(sent.length).toBe(before + 1);
                model.set(o.b, { state: 'completed', last: sent[before].bytes, until: clock.now() + J });
              } else if (o.answer === 'provisional') {
                expect(sent.length).toBe(before + 1);
                model.set(o.b, { ...now, last: sent[before].bytes } as Entry);
              } else expect(sent.length).toBe(before);
            } else {
              // a retransmission (17.2.2): Trying discards it, Proceeding and Completed send the last response again
              expect(tuCalls).toBe(calls);
              if (e.state === 'trying') expect(sent.length).toBe(before);
              else {
                expect(sent.length).toBe(before + 1);
                expect(sent[before].bytes.equals(e.last as Buffer)).toBe(true);
              }
            }
          }
          expect(layer.serverTransactionCount).toBe(live());
        }
        // every transaction answered, then Timer J: nothing left
        for (const e of model.values()) if (e.state !== 'completed') e.tx.reply(500);
        clock.advance(J);
        expect(layer.serverTransactionCount).toBe(0);
        expect(clock.pendingTimers).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});

// An INVITE with a magic-cookie branch that the TU answers inside its callback is pending there, not filed in the
// INVITE table: a 2xx sends it to the store of Accepted transactions (RFC 6026 7.1) by its staged key; anything
// else files it by its key after the callback, as before.
describe('an INVITE answered inside the TU callback (RFC 3261 17.2.1, RFC 6026 7.1)', () => {
  /** `answer` gets the transaction and how many the TU saw before it (the first INVITE is answered 200). */
  function inviteSetup(answer: (tx: ServerTransaction, before: number) => void) {
    const clock = new VirtualClock(0);
    const { port, sent } = datagramPort(clock);
    const seen: ServerTransaction[] = [];
    const acks: SipRequest[] = [];
    const layer = new TransactionLayer({
      transport: port,
      clock,
      user: {
        onRequest: (_r, tx) => {
          seen.push(tx);
          if (tx.kind === 'invite-server') answer(tx, seen.length - 1);
        },
        onAck: (ack) => void acks.push(ack),
      },
    });
    // a first INVITE answered 2xx at once: the Accepted store exists from then on, and later ones are staged there
    const first = makeRequest('INVITE');
    layer.receive(wire(first), udp);
    expect(seen.length).toBe(1);
    return { clock, sent, seen, acks, layer, first };
  }
  const L = 64 * 500;
  const statuses = (sent: Array<{ bytes: Buffer }>) =>
    sent.map((s) => s.bytes.toString('latin1').split('\r\n')[0].split(' ')[1]);

  it('a 2xx at once: kept as its key until Timer L, retransmissions absorbed, ACK and CANCEL as in Accepted', () => {
    const { clock, sent, seen, acks, layer } = inviteSetup((tx) => void tx.reply(200));
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    expect(seen.length).toBe(2);
    expect(seen[1].state).toBe('accepted');
    expect(layer.serverTransactionCount).toBe(2);
    expect(layer.findServerTransaction(wire(invite))).toBeUndefined();
    // RFC 6026 7.1: absorbed, nothing sent, the TU not called
    layer.receive(wire(invite), udp);
    expect(seen.length).toBe(2);
    expect(statuses(sent)).toEqual(['200', '200']);
    expect(layer.counters.retransmissionsAbsorbed).toBe(1);
    // the ACK of the 2xx goes to the TU; a CANCEL matches the answered INVITE: 200, no 487 (RFC 3261 9.2)
    layer.receive(wire(makeRequest('ACK', { branch: invite.via().branch, toTag: 'x' })), udp);
    expect(acks.length).toBe(1);
    const cancel = makeRequest('CANCEL', { branch: invite.via().branch, route: false });
    cancel.setHeader('Call-ID', invite.callId());
    layer.receive(wire(cancel), udp);
    expect(statuses(sent)).toEqual(['200', '200', '200']);
    clock.advance(L - 1);
    expect(seen[1].state).toBe('accepted');
    layer.receive(wire(invite), udp);
    expect(seen.length).toBe(2);
    clock.advance(1);
    expect(seen[1].state).toBe('terminated');
    // after Timer L the same INVITE is a new transaction
    clock.advance(L);
    expect(layer.serverTransactionCount).toBe(0);
    layer.receive(wire(invite), udp);
    expect(seen.length).toBe(3);
  });

  it('a non-2xx final at once: filed after the callback; a copy gets it again, the ACK confirms (Timer I)', () => {
    const { clock, sent, seen, layer } = inviteSetup((tx, before) => void (before > 0 ? tx.reply(486) : tx.reply(200)));
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    const tx = seen[1];
    expect(tx.state).toBe('completed');
    expect(layer.findServerTransaction(wire(invite))).toBe(tx);
    layer.receive(wire(invite), udp);
    expect(statuses(sent)).toEqual(['200', '486', '486']);
    expect(sent[2].bytes.equals(sent[1].bytes)).toBe(true);
    const ok = parseMessage(sent[1].bytes);
    const ack = makeRequest('ACK', { branch: invite.via().branch, toTag: ok.isResponse ? ok.to().tag : '' });
    ack.setHeader('Call-ID', invite.callId());
    layer.receive(wire(ack), udp);
    expect(tx.state).toBe('confirmed');
    clock.advance(5000);
    expect(tx.state).toBe('terminated');
    expect(layer.serverTransactionCount).toBe(1); // the first INVITE, Accepted until Timer L
  });

  it('a provisional at once: filed after the callback; a CANCEL gets 200 and the INVITE 487', () => {
    const { sent, seen, layer } = inviteSetup((tx, before) => void (before > 0 ? tx.reply(180) : tx.reply(200)));
    const invite = makeRequest('INVITE');
    layer.receive(wire(invite), udp);
    expect(seen[1].state).toBe('proceeding');
    layer.receive(wire(invite), udp);
    expect(statuses(sent)).toEqual(['200', '180', '180']);
    const cancel = makeRequest('CANCEL', { branch: invite.via().branch, route: false });
    cancel.setHeader('Call-ID', invite.callId());
    layer.receive(wire(cancel), udp);
    expect(statuses(sent)).toEqual(['200', '180', '180', '200', '487']);
  });

  it('is found, and matches a copy and a CANCEL handed in from inside its own callback', () => {
    const invite = makeRequest('INVITE');
    const during: unknown[] = [];
    let layerRef: TransactionLayer | undefined;
    const { sent, seen, layer } = inviteSetup((tx) => {
      if (layerRef === undefined) return void tx.reply(200);
      during.push(layerRef.findServerTransaction(wire(invite)) === tx, layerRef.serverTransactionCount);
      tx.reply(180);
      layerRef.receive(wire(invite), udp);
      const cancel = makeRequest('CANCEL', { branch: invite.via().branch, route: false });
      cancel.setHeader('Call-ID', invite.callId());
      layerRef.receive(wire(cancel), udp);
    });
    layerRef = layer;
    layer.receive(wire(invite), udp);
    expect(during).toEqual([true, 2]);
    expect(seen.length).toBe(2); // the CANCEL is answered by the layer (no onCancel)
    expect(statuses(sent)).toEqual(['200', '180', '180', '200', '487']);
    expect(seen[1].state).toBe('completed');
  });
});
