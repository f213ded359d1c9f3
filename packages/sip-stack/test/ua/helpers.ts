// Loopback UAs for the UA tests: real UDP sockets on 127.0.0.1, any clock.
import { afterEach } from 'vitest';
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
