// The PBX metrics on their own: SIP messages by method and status (unknown methods folded into `other`), REGISTER
// results, digest failures through the wrapped server, and call events.
import { DigestServer, parseMessage, type SipMessage, type SipTransportLayer } from '@switchyard/sip-stack';
import { describe, expect, it } from 'vitest';
import { PbxMetrics } from '../src/metrics/pbx-metrics.js';

function request(method: string, extra: string[] = []): SipMessage {
  return parseMessage(
    [
      `${method} sip:1001@127.0.0.1 SIP/2.0`,
      'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-m1',
      'Max-Forwards: 70',
      'From: <sip:1000@pbx.example.test>;tag=a',
      'To: <sip:1000@pbx.example.test>',
      'Call-ID: m1',
      `CSeq: 1 ${method}`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

function response(status: number, method: string): SipMessage {
  return parseMessage(
    [
      `SIP/2.0 ${status} X`,
      'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-m1',
      'From: <sip:1000@pbx.example.test>;tag=a',
      'To: <sip:1000@pbx.example.test>;tag=b',
      'Call-ID: m1',
      `CSeq: 1 ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function fakeTransport() {
  const received: Array<(m: SipMessage) => void> = [];
  const sent: Array<(m: SipMessage) => void> = [];
  const transport = {
    counters: {
      received: 0,
      sent: 0,
      answeredMalformed: 2,
      droppedMalformed: 0,
      droppedByLimits: 5,
      keepAlives: 0,
      connectionsClosedForAbuse: 0,
    },
    onMessage: (h: (m: SipMessage) => void) => received.push(h),
    onSent: (h: (m: SipMessage) => void) => sent.push(h),
  };
  return {
    transport: transport as unknown as SipTransportLayer,
    receive: (m: SipMessage) => {
      for (const h of received) h(m);
    },
    send: (m: SipMessage) => {
      for (const h of sent) h(m);
    },
  };
}

describe('PbxMetrics', () => {
  it('counts SIP messages by method and status, folding unknown methods into other', async () => {
    const metrics = new PbxMetrics({ activeCalls: () => 3, activeRegistrations: async () => 7, processMetrics: false });
    const t = fakeTransport();
    metrics.observeTransport(t.transport);
    t.receive(request('INVITE'));
    t.receive(request('INVITE'));
    t.receive(request('FROBNICATE'));
    t.send(response(180, 'INVITE'));
    t.send(response(401, 'REGISTER'));
    t.send(response(200, 'REGISTER'));
    t.send(response(403, 'REGISTER'));
    const text = await metrics.metrics();
    const msg = (labels: string) => sample(text, `switchyard_sip_messages_total{${labels}}`);
    expect(msg('direction="received",kind="request",method="INVITE",status=""')).toBe(2);
    expect(msg('direction="received",kind="request",method="other",status=""')).toBe(1);
    expect(text).not.toContain('FROBNICATE');
    expect(msg('direction="sent",kind="response",method="INVITE",status="180"')).toBe(1);
    const reg = (labels: string) => sample(text, `switchyard_registration_attempts_total{${labels}}`);
    expect(reg('result="challenged",status="401"')).toBe(1);
    expect(reg('result="success",status="200"')).toBe(1);
    expect(reg('result="failure",status="403"')).toBe(1);
    expect(sample(text, 'switchyard_calls_active')).toBe(3);
    expect(sample(text, 'switchyard_registrations_active')).toBe(7);
    expect(sample(text, 'switchyard_sip_transport_events_total{event="dropped_by_limits"}')).toBe(5);
    expect(sample(text, 'switchyard_sip_transport_events_total{event="malformed_answered"}')).toBe(2);
  });

  it('counts failed digest verdicts by reason, but not the first unauthenticated request', async () => {
    const metrics = new PbxMetrics({ activeCalls: () => 0, activeRegistrations: async () => 0, processMetrics: false });
    const server = new DigestServer({ realm: 'pbx.example.test', credentials: { lookup: () => ({ password: 'pw' }) } });
    metrics.observeDigest(server);
    expect((await server.authenticate(request('REGISTER') as never)).ok).toBe(false);
    const bad = request('REGISTER', [
      'Authorization: Digest username="1000", realm="pbx.example.test", nonce="x", uri="sip:1001@127.0.0.1", response="00", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"',
    ]);
    expect((await server.authenticate(bad as never)).ok).toBe(false);
    const text = await metrics.metrics();
    expect(sample(text, 'switchyard_auth_failures_total{reason="invalid"}')).toBe(1);
    expect(text).not.toContain('reason="no-credentials"');
  });

  it('counts calls started, answered and ended by status', async () => {
    const metrics = new PbxMetrics({ activeCalls: () => 0, activeRegistrations: async () => 0, processMetrics: false });
    const call = { id: 'c' } as never;
    metrics.callEvent({ type: 'call.started', call });
    metrics.callEvent({ type: 'call.answered', call });
    metrics.callEvent({ type: 'call.ended', call, record: { status: 'answered' } as never });
    metrics.callEvent({ type: 'call.started', call });
    metrics.callEvent({ type: 'call.ended', call, record: { status: 'busy' } as never });
    const text = await metrics.metrics();
    expect(sample(text, 'switchyard_calls_started_total')).toBe(2);
    expect(sample(text, 'switchyard_calls_answered_total')).toBe(1);
    expect(sample(text, 'switchyard_calls_ended_total{status="busy"}')).toBe(1);
  });
});
