import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseMessage, type SipMessage, type SipRequest, SipResponse } from '../../src/message/index.js';
import { UdpListener } from '../../src/transport/listeners.js';
import { type SipInboundContext, SipTransportLayer } from '../../src/transport/transport-layer.js';
import type { SipEndpoint } from '../../src/transport/types.js';
import { haveOpenssl, selfSignedCertificate } from '../support/tls.js';

const layers: SipTransportLayer[] = [];
afterEach(async () => {
  await Promise.all(layers.splice(0).map((l) => l.close()));
});

function layer(options: ConstructorParameters<typeof SipTransportLayer>[0] = {}): SipTransportLayer {
  const l = new SipTransportLayer(options);
  layers.push(l);
  return l;
}

function options(via: string, extra = '', callId = 'c1@test'): string {
  return [
    'OPTIONS sip:server@127.0.0.1 SIP/2.0',
    `Via: ${via}`,
    'Max-Forwards: 70',
    'From: <sip:client@127.0.0.1>;tag=abc',
    'To: <sip:server@127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    extra,
    'Content-Length: 0',
    '',
    '',
  ]
    .filter((l, i, a) => l !== '' || i >= a.length - 2)
    .join('\r\n');
}

function okFor(request: SipRequest): SipResponse {
  const headers: Array<[string, string]> = [];
  for (const v of request.headers('via')) headers.push(['Via', v]);
  headers.push(['From', request.header('from')!], ['To', `${request.header('to')!};tag=srv`]);
  headers.push(['Call-ID', request.callId()], ['CSeq', request.header('cseq')!]);
  return new SipResponse(200, 'OK', headers);
}

function nextMessage(l: SipTransportLayer): Promise<[SipMessage, SipInboundContext]> {
  return new Promise((resolve) => {
    const handler = (m: SipMessage, c: SipInboundContext) => resolve([m, c]);
    l.onMessage(handler);
  });
}

function within<T>(p: Promise<T>, ms = 3000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))]);
}

/** Server answers every request with 200 via sendResponse. */
function echoServer(l: SipTransportLayer): void {
  l.onMessage((m, c) => {
    if (m.isRequest) void l.sendResponse(okFor(m as SipRequest), c);
  });
}

describe('SipTransportLayer over UDP', () => {
  it('stamps received and rport (RFC 3581) and routes the response back to the source port', async () => {
    const server = layer();
    const client = layer();
    const s = await server.listen('udp://127.0.0.1:0');
    const c = await client.listen('udp://127.0.0.1:0');
    const got = nextMessage(server);
    echoServer(server);
    const answer = nextMessage(client);
    // The Via names a host and port that are not where the request really comes from.
    const req = parseMessage(options('SIP/2.0/UDP 192.0.2.7:5999;branch=z9hG4bK-1;rport')) as SipRequest;
    await client.send(req, s);
    const [m, ctx] = await within(got);
    const via = (m as SipRequest).via();
    expect(via.received).toBe('127.0.0.1');
    expect(via.rport).toBe(c.port);
    expect(via.branch).toBe('z9hG4bK-1');
    expect(ctx.source).toEqual({ protocol: 'udp', address: '127.0.0.1', port: c.port });
    const [r] = await within(answer);
    expect((r as SipResponse).status).toBe(200);
  });

  it('gives each datagram the context of its own peer, one peer after another', async () => {
    const server = layer();
    const s = await server.listen('udp://127.0.0.1:0');
    const a = layer();
    const b = layer();
    const pa = await a.listen('udp://127.0.0.1:0');
    const pb = await b.listen('udp://127.0.0.1:0');
    const seen: Array<[string, number, number]> = [];
    const all = new Promise<void>((resolve) => {
      server.onMessage((m, c) => {
        seen.push([m.callId(), c.source.port, c.local.port]);
        if (seen.length === 4) resolve();
      });
    });
    const order: Array<[SipTransportLayer, string]> = [
      [a, 'a1'],
      [a, 'a2'],
      [b, 'b1'],
      [a, 'a3'],
    ];
    for (const [from, id] of order) {
      await from.send(parseMessage(options(`SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-${id}`, '', id)), s);
      // one at a time: the order of arrival is the order sent
      await new Promise((r) => setTimeout(r, 20));
    }
    await within(all);
    expect(seen).toEqual([
      ['a1', pa.port, s.port],
      ['a2', pa.port, s.port],
      ['b1', pb.port, s.port],
      ['a3', pa.port, s.port],
    ]);
  });

  it('tells the sender of a response the kernel refuses, naming where it was going (RFC 3261 18.4)', async () => {
    const server = layer();
    await server.listen('udp://127.0.0.1:0');
    const req = parseMessage(options('SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-big')) as SipRequest;
    const ok = okFor(req);
    // larger than any UDP datagram: EMSGSIZE, nothing leaves the host
    const big = new SipResponse(200, 'OK', ok.headerEntries(), new Uint8Array(70_000));
    const failed = new Promise<unknown>((resolve) =>
      server.transmit(big, { protocol: 'udp', address: '127.0.0.1', port: 5999 }, resolve),
    );
    const error = await within(failed);
    expect(error).toMatchObject({ name: 'SipTransportError', code: 'send-failed' });
    expect((error as Error).message).toContain('127.0.0.1:5999');
  });

  it("sends a request with the kernel's verdict and responses and resends without (UdpListener)", async () => {
    const server = layer();
    await server.listen('udp://127.0.0.1:0');
    const confirmed = vi.spyOn(UdpListener.prototype, 'sendNow');
    const unconfirmed = vi.spyOn(UdpListener.prototype, 'sendUnconfirmed');
    try {
      const req = parseMessage(options('SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-paths')) as SipRequest;
      const to: SipEndpoint = { protocol: 'udp', address: '127.0.0.1', port: 5999 };
      const errors: unknown[] = [];
      server.transmit(req, to, (e) => errors.push(e));
      expect(confirmed).toHaveBeenCalledTimes(1);
      expect(unconfirmed).toHaveBeenCalledTimes(0);
      const context: SipInboundContext = { source: to, local: server.localEndpoints[0] };
      const sent = server.transmitResponse(okFor(req), context, (e) => errors.push(e));
      expect(unconfirmed).toHaveBeenCalledTimes(1);
      expect(sent?.destination).toBe(to);
      server.resend(sent!, (e) => errors.push(e));
      expect(unconfirmed).toHaveBeenCalledTimes(2);
      expect(confirmed).toHaveBeenCalledTimes(1);
      // an oversized datagram kept for resending is still reported, after the call
      server.resend({ bytes: new Uint8Array(70_000), destination: to }, (e) => errors.push(e));
      expect(errors).toEqual([]);
      await new Promise((r) => setTimeout(r, 20));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ name: 'SipTransportError', code: 'send-failed' });
    } finally {
      confirmed.mockRestore();
      unconfirmed.mockRestore();
    }
  });

  it('answers a malformed request with 400 naming the problem, and drops one it cannot answer', async () => {
    const server = layer();
    const s = await server.listen('udp://127.0.0.1:0');
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      const reply = new Promise<string>((resolve) => sock.once('message', (b) => resolve(b.toString('latin1'))));
      const bad = options('SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-2', 'Max-Forwards: many').replace(
        'Max-Forwards: 70\r\n',
        '',
      );
      sock.send(Buffer.from(bad), s.port, '127.0.0.1');
      const text = await within(reply);
      expect(text).toMatch(/^SIP\/2\.0 400 /);
      expect(text).toContain('Call-ID: c1@test');
      expect(server.counters.answeredMalformed).toBe(1);
      sock.send(Buffer.from('\x16\x03\x01 not sip at all'), s.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
      expect(server.counters.droppedMalformed).toBe(1);
    } finally {
      sock.close();
    }
  });

  it('drops a flood from one source without affecting another', async () => {
    let now = 0;
    const server = layer({ now: () => now, limits: { messagesPerSecond: 5, burst: 5 } });
    const s = await server.listen('udp://127.0.0.1:0');
    const a = layer();
    const b = layer();
    await a.listen('udp://127.0.0.2:0');
    await b.listen('udp://127.0.0.1:0');
    const seen: string[] = [];
    server.onMessage((_m, ctx) => seen.push(ctx.source.address));
    for (let i = 0; i < 20; i++)
      await a.send(parseMessage(options(`SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK-f${i}`)) as SipRequest, s);
    await b.send(parseMessage(options('SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-g')) as SipRequest, s);
    await new Promise((r) => setTimeout(r, 200));
    now += 10;
    expect(seen.filter((x) => x === '127.0.0.2')).toHaveLength(5);
    expect(seen).toContain('127.0.0.1');
    expect(server.counters.droppedByLimits).toBe(15);
  });

  it('works over IPv6 loopback', async () => {
    const server = layer();
    const client = layer();
    const s = await server.listen('udp://[::1]:0');
    await client.listen('udp://[::1]:0');
    echoServer(server);
    const answer = nextMessage(client);
    await client.send(parseMessage(options('SIP/2.0/UDP [::1]:5999;branch=z9hG4bK-6;rport')) as SipRequest, s);
    const [r] = await within(answer);
    expect((r as SipResponse).status).toBe(200);
  });

  it('moves a request larger than the MTU limit to TCP and says so in the Via (RFC 3261 18.1.1)', async () => {
    const server = layer();
    const client = layer();
    const s = await server.listen('udp://127.0.0.1:0');
    const sTcp = await server.listen({ protocol: 'tcp', address: '127.0.0.1', port: s.port });
    await client.listen('udp://127.0.0.1:0');
    await client.listen('tcp://127.0.0.1:0');
    const got = nextMessage(server);
    const big = options('SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-big', `X-Padding: ${'x'.repeat(1500)}`);
    const used = await client.send(parseMessage(big) as SipRequest, s);
    expect(used.protocol).toBe('tcp');
    const [m, ctx] = await within(got);
    expect(ctx.local.protocol).toBe('tcp');
    expect(ctx.local.port).toBe(sTcp.port);
    expect((m as SipRequest).via().transport).toBe('TCP');
  });
});

describe('SipTransportLayer over TCP', () => {
  it('frames by Content-Length across partial reads and several messages per read, and answers CRLF pings', async () => {
    const server = layer();
    const s = await server.listen('tcp://127.0.0.1:0');
    const callIds: string[] = [];
    server.onMessage((m) => callIds.push((m as SipRequest).callId()));
    const sock = connect(s.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const pong = new Promise<string>((resolve) => sock.once('data', (b) => resolve(b.toString('latin1'))));
    const one = options('SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-t1', '', 'a@x');
    const two = options('SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-t2', '', 'b@x');
    const three = options('SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-t3', '', 'c@x');
    sock.write(one + two.slice(0, 40));
    await new Promise((r) => setTimeout(r, 30));
    sock.write(two.slice(40) + three);
    sock.write('\r\n\r\n');
    expect(await within(pong)).toBe('\r\n');
    await new Promise((r) => setTimeout(r, 30));
    expect(callIds).toEqual(['a@x', 'b@x', 'c@x']);
    sock.destroy();
  });

  it('tells onSent observers of each message sent, over UDP and on a connection', async () => {
    for (const protocol of ['udp', 'tcp'] as const) {
      const server = layer();
      const client = layer();
      const s = await server.listen(`${protocol}://127.0.0.1:0`);
      await client.listen(`${protocol}://127.0.0.1:0`);
      const serverSent: string[] = [];
      const clientSent: SipEndpoint[] = [];
      server.onSent((m, to) =>
        serverSent.push(m.isRequest ? 'request' : `${(m as SipResponse).status}:${to.protocol}`),
      );
      client.onSent((_m, to) => clientSent.push(to));
      echoServer(server);
      const answer = nextMessage(client);
      const via = `SIP/2.0/${protocol.toUpperCase()} 127.0.0.1:5999;branch=z9hG4bK-s-${protocol}`;
      await client.send(parseMessage(options(via)) as SipRequest, s);
      await within(answer);
      expect(clientSent).toEqual([s]);
      expect(serverSent).toEqual([`200:${protocol}`]);
    }
  });

  it('reuses the connection a request came on for the response, and for a new request to that peer', async () => {
    const server = layer();
    const client = layer();
    const s = await server.listen('tcp://127.0.0.1:0');
    echoServer(server);
    const answer = nextMessage(client);
    await client.send(parseMessage(options('SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-r1')) as SipRequest, s);
    await within(answer);
    expect(client.openConnections).toBe(1);
    const answer2 = nextMessage(client);
    await client.send(parseMessage(options('SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-r2')) as SipRequest, s);
    await within(answer2);
    expect(client.openConnections).toBe(1);
    expect(server.openConnections).toBe(1);
  });

  it('closes a connection whose framing is lost', async () => {
    const server = layer();
    const s = await server.listen('tcp://127.0.0.1:0');
    const sock = connect(s.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => {});
    sock.write(options('SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-n').replace('Content-Length: 0', 'Content-Length: -5'));
    await within(closed);
    expect(server.counters.connectionsClosedForAbuse).toBeGreaterThanOrEqual(1);
  });
});

describe.skipIf(!haveOpenssl)('SipTransportLayer over TLS and WebSocket', () => {
  if (!haveOpenssl) console.warn('openssl not found: run `bash scripts/install-system-deps.sh` for the TLS tests');

  for (const protocol of ['tls', 'wss', 'ws'] as const) {
    it(`carries a request and its response over ${protocol}`, async () => {
      const files = selfSignedCertificate();
      try {
        const server = layer();
        const client = layer({ tls: { certFile: files.certFile, keyFile: files.keyFile, caFile: files.certFile } });
        const s: SipEndpoint = await server.listen({ protocol, address: '127.0.0.1', port: 0, tls: files });
        echoServer(server);
        const answer = nextMessage(client);
        const via = `SIP/2.0/${protocol.toUpperCase()} client.invalid;branch=z9hG4bK-${protocol}`;
        await client.send(parseMessage(options(via)) as SipRequest, s);
        const [r, ctx] = await within(answer);
        expect((r as SipResponse).status).toBe(200);
        expect(ctx.connection?.protocol).toBe(protocol);
      } finally {
        rmSync(files.dir, { recursive: true, force: true });
      }
    });
  }
});

describe('received/rport stamping', () => {
  it('keeps quoted Via parameters quoted', async () => {
    const server = layer();
    const client = layer();
    const s = await server.listen('udp://127.0.0.1:0');
    await client.listen('udp://127.0.0.1:0');
    const got = nextMessage(server);
    await client.send(
      parseMessage(options('SIP/2.0/UDP 192.0.2.7:5999;branch=z9hG4bK-q;rport;x-note="two words"')) as SipRequest,
      s,
    );
    const [m] = await within(got);
    expect((m as SipRequest).header('via')).toMatch(/;x-note="two words";received=127\.0\.0\.1$/);
    expect((m as SipRequest).via().params.get('x-note')).toBe('two words');
  });
});
