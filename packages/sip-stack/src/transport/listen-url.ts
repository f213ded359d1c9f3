// Listen addresses written as URLs, the form the daemon's config uses: udp://127.0.0.1:5060, tcp://[::1]:5060,
// tls://0.0.0.0:5061, ws://127.0.0.1:8080, wss://127.0.0.1:8443.
import { isIP } from 'node:net';
import { type SipEndpoint, SipTransportError, type SipTransportProtocol } from './types.js';

const DEFAULT_LISTEN_PORT: Record<SipTransportProtocol, number> = { udp: 5060, tcp: 5060, tls: 5061, ws: 80, wss: 443 };

export function parseListenUrl(url: string): SipEndpoint {
  const m = /^(udp|tcp|tls|wss|ws):\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(url.trim());
  if (!m) {
    throw new SipTransportError(
      'bad-listen-url',
      `'${url}' is not a listen address like udp://127.0.0.1:5060 (udp, tcp, tls, ws or wss)`,
    );
  }
  const protocol = m[1] as SipTransportProtocol;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const address = host === 'localhost' ? '127.0.0.1' : host;
  if (isIP(address) === 0) {
    throw new SipTransportError('bad-listen-url', `listen address '${url}': use an IP address, not a name ('${host}')`);
  }
  const port = m[3] === undefined ? DEFAULT_LISTEN_PORT[protocol] : Number(m[3]);
  if (port > 65535)
    throw new SipTransportError('bad-listen-url', `listen address '${url}': port ${port} is out of range`);
  return { protocol, address, port };
}

export function formatListenUrl(e: SipEndpoint): string {
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  return `${e.protocol}://${host}:${e.port}`;
}
