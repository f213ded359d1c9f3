// Loopback UAs for the UA tests: real UDP sockets on 127.0.0.1, any clock.
import { createSocket } from 'node:dgram';
import { afterEach } from 'vitest';
import { createRequest, parseMessage, type SipMessage, serializeMessage } from '../../src/message/index.js';
import { SipTransportLayer } from '../../src/transport/index.js';
import { UserAgent, type UserAgentOptions } from '../../src/ua/index.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanup.push(fn);
}

export const SDP_A =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
export const SDP_B =
  'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';

export async function udpAgent(
  name: string,
  extra: Partial<UserAgentOptions> = {},
): Promise<{ ua: UserAgent; uri: string; transport: SipTransportLayer }> {
  const transport = new SipTransportLayer({});
  const local = await transport.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
  const ua = new UserAgent({ transport, aor: `sip:${name}@127.0.0.1`, ...extra });
  cleanup.push(async () => {
    ua.close();
    await transport.close();
  });
  return { ua, uri: `sip:${name}@127.0.0.1:${local.port}`, transport };
}

/** Rejects when `p` has not settled within `ms` of real time. */
export function within<T>(p: Promise<T>, ms = 5000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))]);
}

/** Polls `check` on real time (network I/O still has to happen) until it holds; bounded. */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/**
 * A caller made of a bare UDP socket, for tests that must send exactly what they choose (retransmissions, ACKs
 * late or never, requests out of order) to the UA at `bobUri` and see everything it sends back.
 */
export async function rawCaller(bobUri: string, callId: string) {
  const socket = createSocket('udp4');
  onCleanup(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const received: SipMessage[] = [];
  socket.on('message', (data) => received.push(parseMessage(new Uint8Array(data))));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const send = (m: SipMessage) => socket.send(serializeMessage(m), Number(bobUri.split(':')[2]), '127.0.0.1');
  const request = (method: string, branch: string, cseq: number, toTag?: string, fromTag = 'raw1') =>
    createRequest({
      method,
      uri: bobUri,
      from: `<sip:raw@127.0.0.1>;tag=${fromTag}`,
      to: toTag ? `<${bobUri}>;tag=${toTag}` : `<${bobUri}>`,
      callId,
      cseq,
      via: { transport: 'UDP', host: '127.0.0.1', port, branch },
      contact: `<sip:raw@127.0.0.1:${port}>`,
    });
  /** How many responses of `status` to `method` came. */
  const responses = (method: string, status: number) =>
    received.filter((m) => 'status' in m && m.status === status && m.cseq().method === method).length;
  const byes = () => received.filter((m) => 'method' in m && m.method === 'BYE').length;
  return { send, request, received, responses, byes };
}
