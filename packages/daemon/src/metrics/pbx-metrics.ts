// The daemon's own figures for Prometheus: calls, registrations, SIP messages by method and status, digest
// authentication failures, and the transport layer's counters. Kept in a registry of its own (no global state).
import type { CallEvent } from '@switchyard/pbx-core';
import {
  type DigestServer,
  type SipMessage,
  SipRequest,
  type SipResponse,
  type SipTransportLayer,
} from '@switchyard/sip-stack';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Methods that get their own label value; anything else a peer sends is `other`, so labels stay few. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
]);

function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}

/** The method a response answers (from CSeq, RFC 3261 8.1.1.5); `other` when it cannot be read. */
function responseMethod(response: SipResponse): string {
  try {
    return methodLabel(response.cseq().method);
  } catch {
    return 'other';
  }
}

export interface PbxMetricsSources {
  /** Calls in progress now. */
  readonly activeCalls: () => number;
  /** Devices registered now. */
  readonly activeRegistrations: () => Promise<number>;
  /** Also export Node's process figures (CPU, memory, event loop lag); default true. */
  readonly processMetrics?: boolean;
}

type Direction = 'received' | 'sent';

/**
 * SIP message counts kept in plain maps on the message path (no label hashing, no allocation once a method and
 * status have been seen), copied into the Prometheus counter only when it is scraped.
 */
class SipMessageTally {
  readonly requests: Record<Direction, Map<string, number>> = { received: new Map(), sent: new Map() };
  readonly responses: Record<Direction, Map<string, Map<number, number>>> = { received: new Map(), sent: new Map() };

  request(direction: Direction, method: string): void {
    const m = this.requests[direction];
    m.set(method, (m.get(method) ?? 0) + 1);
  }

  response(direction: Direction, method: string, status: number): void {
    let byStatus = this.responses[direction].get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.responses[direction].set(method, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }
}

export class PbxMetrics {
  readonly registry = new Registry();
  private readonly callsStarted: Counter;
  private readonly callsAnswered: Counter;
  private readonly callsEnded: Counter<'status'>;
  private readonly registerAttempts: Counter<'result' | 'status'>;
  private readonly tally = new SipMessageTally();
  private readonly authFailures: Counter<'reason'>;

  constructor(sources: PbxMetricsSources) {
    const registers = [this.registry];
    if (sources.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'switchyard_' });
    this.callsStarted = new Counter({ name: 'switchyard_calls_started_total', help: 'Calls started.', registers });
    this.callsAnswered = new Counter({ name: 'switchyard_calls_answered_total', help: 'Calls answered.', registers });
    this.callsEnded = new Counter({
      name: 'switchyard_calls_ended_total',
      help: 'Calls ended, by the status of their call record (answered, busy, no-answer, cancelled, failed...).',
      labelNames: ['status'],
      registers,
    });
    const activeCalls: Gauge = new Gauge({
      name: 'switchyard_calls_active',
      help: 'Calls in progress.',
      registers,
      collect: () => activeCalls.set(sources.activeCalls()),
    });
    const activeRegistrations: Gauge = new Gauge({
      name: 'switchyard_registrations_active',
      help: 'Devices registered (unexpired bindings).',
      registers,
      collect: async () => activeRegistrations.set(await sources.activeRegistrations()),
    });
    this.registerAttempts = new Counter({
      name: 'switchyard_registration_attempts_total',
      help: 'REGISTER requests answered, by result (success, challenged, failure) and final status.',
      labelNames: ['result', 'status'],
      registers,
    });
    const messages: Counter<'direction' | 'kind' | 'method' | 'status'> = new Counter({
      name: 'switchyard_sip_messages_total',
      help: 'SIP messages received and sent, by kind (request, response), method, and status for responses.',
      labelNames: ['direction', 'kind', 'method', 'status'],
      registers,
      collect: () => {
        messages.reset();
        for (const direction of ['received', 'sent'] as const) {
          for (const [method, n] of this.tally.requests[direction])
            messages.inc({ direction, kind: 'request', method, status: '' }, n);
          for (const [method, byStatus] of this.tally.responses[direction])
            for (const [status, n] of byStatus)
              messages.inc({ direction, kind: 'response', method, status: String(status) }, n);
        }
      },
    });
    this.authFailures = new Counter({
      name: 'switchyard_auth_failures_total',
      help: 'Digest authentications that failed, by reason (a first request without credentials is not counted).',
      labelNames: ['reason'],
      registers,
    });
  }

  /** Counts every call event. */
  callEvent(event: CallEvent): void {
    if (event.type === 'call.started') this.callsStarted.inc();
    else if (event.type === 'call.answered') this.callsAnswered.inc();
    else if (event.type === 'call.ended') this.callsEnded.inc({ status: event.record.status });
  }

  /** Counts SIP messages in and out of a transport layer, and exports its counters. */
  observeTransport(transport: SipTransportLayer): void {
    transport.onMessage((message) => this.message('received', message));
    transport.onSent((message) => {
      this.message('sent', message);
      if (!(message instanceof SipRequest)) {
        const response = message as SipResponse;
        if (response.status >= 200 && responseMethod(response) === 'REGISTER') {
          const s = response.status;
          const result = s < 300 ? 'success' : s === 401 || s === 407 ? 'challenged' : 'failure';
          this.registerAttempts.inc({ result, status: String(s) });
        }
      }
    });
    const events: Counter<'event'> = new Counter({
      name: 'switchyard_sip_transport_events_total',
      help: 'Transport layer events: malformed messages answered or dropped, drops by per-source limits, keep-alives, connections closed for abuse.',
      labelNames: ['event'],
      registers: [this.registry],
      collect: () => {
        const c = transport.counters;
        events.reset();
        events.inc({ event: 'malformed_answered' }, c.answeredMalformed);
        events.inc({ event: 'malformed_dropped' }, c.droppedMalformed);
        events.inc({ event: 'dropped_by_limits' }, c.droppedByLimits);
        events.inc({ event: 'keepalive' }, c.keepAlives);
        events.inc({ event: 'connection_closed_for_abuse' }, c.connectionsClosedForAbuse);
      },
    });
  }

  /**
   * Counts the failed verdicts of a digest server. The server is wrapped in place, so the registrar and the UA,
   * which share it, are both seen without either knowing about metrics.
   */
  observeDigest(server: DigestServer): void {
    const authenticate = server.authenticate.bind(server);
    server.authenticate = async (request, options) => {
      const verdict = await authenticate(request, options);
      if (!verdict.ok && verdict.reason !== 'no-credentials') this.authFailures.inc({ reason: verdict.reason });
      return verdict;
    };
  }

  private message(direction: Direction, message: SipMessage): void {
    if (message instanceof SipRequest) this.tally.request(direction, methodLabel(message.method));
    else this.tally.response(direction, responseMethod(message as SipResponse), (message as SipResponse).status);
  }

  /** The exposition text for a scrape. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
