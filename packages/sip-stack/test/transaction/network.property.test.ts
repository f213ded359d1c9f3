// A client and a server transaction layer joined by a simulated UDP network on the virtual clock. Whatever the
// network does (drop, duplicate, delay, reorder) as long as it eventually delivers, the client ends with the
// final response the server's TU chose, within 64*T1, and nothing is left behind once every timer has fired.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { createRequest, type SipRequest, type SipResponse } from '../../src/message/index.js';
import { type ServerTransaction, type SipTransportPort, TransactionLayer } from '../../src/transaction/index.js';
import type { SipEndpoint } from '../../src/transport/index.js';
import { UAC, UAC_TCP, UAS, UAS_TCP, wire } from './harness.js';

interface Fate {
  readonly drop: boolean;
  /** One delay per delivered copy: two or three copies are duplicates, different delays reorder. */
  readonly delays: readonly number[];
}

const MAX_DROPS = 4;
const MAX_DELAY = 400;

const fateArb: fc.Arbitrary<Fate> = fc.record({
  // Three datagrams in four would be lost; the cap on drops keeps delivery eventual.
  drop: fc.nat(3).map((n) => n > 0),
  delays: fc.array(fc.integer({ min: 0, max: MAX_DELAY }), { minLength: 1, maxLength: 3 }),
});

/** One direction of the network: the i-th datagram gets fates[i]; drops are capped so delivery happens. */
class Link {
  private next = 0;
  private drops = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly fates: readonly Fate[],
    private readonly deliver: (m: SipRequest | SipResponse) => void,
  ) {}

  carry(message: SipRequest | SipResponse): void {
    const fate = this.fates[this.next++] ?? { drop: false, delays: [1] };
    if (fate.drop && this.drops < MAX_DROPS) {
      this.drops++;
      return;
    }
    for (const d of fate.delays) {
      const copy = wire(message);
      this.clock.setTimeout(() => this.deliver(copy), d);
    }
  }
}

interface Scenario {
  readonly method: 'INVITE' | 'OPTIONS' | 'REGISTER';
  readonly status: number;
  readonly provisional: boolean;
  readonly answerDelay: number;
  readonly toServer: readonly Fate[];
  readonly toClient: readonly Fate[];
  readonly reliable: boolean;
}

function run(s: Scenario) {
  const clock = new VirtualClock(0);
  const T1 = 500;
  const uac: SipEndpoint = s.reliable ? UAC_TCP : UAC;
  const uas: SipEndpoint = s.reliable ? UAS_TCP : UAS;
  const clean: Fate[] = [];
  const toServer = new Link(clock, s.reliable ? clean : s.toServer, (m) =>
    server.receive(m, { source: uac, local: uas }),
  );
  const toClient = new Link(clock, s.reliable ? clean : s.toClient, (m) =>
    client.receive(m, { source: uas, local: uac }),
  );
  const clientPort: SipTransportPort = { send: (m) => toServer.carry(m) };
  const serverPort: SipTransportPort = { send: (m) => toClient.carry(m) };

  // Server TU: answers after a delay; for 2xx to INVITE it retransmits the 2xx until the ACK (RFC 3261 13.3.1.4).
  let requestsSeen = 0;
  let acked = false;
  let serverTimedOut = false;
  let twoXxTimer: object | undefined;
  const server: TransactionLayer = new TransactionLayer({
    transport: serverPort,
    clock,
    user: {
      onRequest(_request, tx: ServerTransaction) {
        requestsSeen++;
        tx.events = { onTimeout: () => (serverTimedOut = true) };
        clock.setTimeout(() => {
          if (s.provisional) tx.reply(s.method === 'INVITE' ? 180 : 100);
          const final = tx.reply(s.status);
          if (s.method !== 'INVITE' || s.status >= 300) return;
          const start = clock.now();
          const again = (interval: number) => {
            twoXxTimer = clock.setTimeout(() => {
              twoXxTimer = undefined;
              if (acked || clock.now() - start >= 64 * T1) return;
              if (tx.state === 'accepted') tx.respond(final);
              else server.sendStateless(final, uac);
              again(Math.min(interval * 2, 4000));
            }, interval);
          };
          if (!s.reliable) again(T1);
        }, s.answerDelay);
      },
      onAck() {
        acked = true;
        if (twoXxTimer !== undefined) clock.clearTimeout(twoXxTimer);
      },
    },
  });

  // Client TU: records finals; ACKs every 2xx itself (13.2.2.4), including strays after the transaction ended.
  const finals: Array<{ status: number; at: number }> = [];
  let clientTimedOut = false;
  const sendAck = (response: SipResponse) => {
    const ack = createRequest({
      method: 'ACK',
      uri: 'sip:bob@192.0.2.2',
      from: request.header('From') ?? '',
      to: response.header('To') ?? '',
      callId: request.callId(),
      cseq: 1,
      via: { transport: s.reliable ? 'TCP' : 'UDP', host: '192.0.2.1', port: 5060, branch: `z9hG4bK-ack-${acks++}` },
    });
    client.sendStateless(ack, uas);
  };
  let acks = 0;
  const client: TransactionLayer = new TransactionLayer({
    transport: clientPort,
    clock,
    user: {
      onRequest: () => {},
      onStrayResponse: (r) => {
        if (r.status >= 200 && r.status < 300 && r.cseq().method === 'INVITE') sendAck(r);
      },
    },
  });
  const request = createRequest({
    method: s.method,
    uri: 'sip:bob@example.com',
    from: { uri: 'sip:alice@example.com', tag: 'a' },
    to: { uri: 'sip:bob@example.com' },
    callId: 'prop-call',
    via: { transport: s.reliable ? 'TCP' : 'UDP', host: '192.0.2.1', port: 5060, branch: 'z9hG4bK-prop' },
  });
  client.sendRequest(request, uas, {
    onResponse: (r) => {
      if (r.status >= 200) finals.push({ status: r.status, at: clock.now() });
      if (r.status >= 200 && r.status < 300 && s.method === 'INVITE') sendAck(r);
    },
    onTimeout: () => (clientTimedOut = true),
  });
  clock.runUntilIdle(100_000);
  return { finals, clientTimedOut, serverTimedOut, requestsSeen, acked, client, server, clock, T1 };
}

const scenarioArb = (reliable: boolean): fc.Arbitrary<Scenario> =>
  fc
    .record({
      method: fc.constantFrom<Scenario['method']>('INVITE', 'OPTIONS', 'REGISTER'),
      status: fc.constantFrom(200, 202, 302, 404, 486, 503, 603),
      provisional: fc.boolean(),
      answerDelay: fc.integer({ min: 0, max: 300 }),
      toServer: fc.array(fateArb, { maxLength: 16 }),
      toClient: fc.array(fateArb, { maxLength: 16 }),
    })
    .map((r) => ({ ...r, reliable }));

function checkOutcome(s: Scenario): void {
  const r = run(s);
  // Same outcome as a clean network: the TU's status, once for a non-2xx (retransmissions absorbed).
  expect(r.clientTimedOut).toBe(false);
  expect(r.finals.length).toBeGreaterThan(0);
  expect(r.finals[0].status).toBe(s.status);
  if (s.status >= 300 || s.method !== 'INVITE') expect(r.finals.length).toBe(1);
  // Within the RFC's bound.
  expect(r.finals[0].at).toBeLessThanOrEqual(64 * r.T1);
  // The server's TU saw the request once; an INVITE's final was acknowledged.
  expect(r.requestsSeen).toBe(1);
  expect(r.serverTimedOut).toBe(false);
  if (s.method === 'INVITE' && s.status < 300) expect(r.acked).toBe(true);
  // Nothing left behind.
  expect(r.client.clientTransactionCount + r.client.serverTransactionCount).toBe(0);
  expect(r.server.clientTransactionCount + r.server.serverTransactionCount).toBe(0);
  expect(r.clock.pendingTimers).toBe(0);
}

describe('client and server transactions over a lossy network', () => {
  it('a clean network delivers the final response', () => {
    checkOutcome({
      method: 'INVITE',
      status: 486,
      provisional: true,
      answerDelay: 50,
      toServer: [],
      toClient: [],
      reliable: false,
    });
  });

  it('drops, duplicates, delays and reordering do not change the outcome (UDP)', () => {
    fc.assert(
      fc.property(scenarioArb(false), (s) => {
        checkOutcome(s);
      }),
      { numRuns: 300 },
    );
  });

  it('over a reliable transport the outcome is the same with no retransmissions', () => {
    fc.assert(
      fc.property(scenarioArb(true), (s) => {
        checkOutcome(s);
      }),
      { numRuns: 60 },
    );
  });
});
