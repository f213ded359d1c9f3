import { describe, expect, it } from 'vitest';
import { orderSrvRecords, SipLocator, StaticSipResolver } from '../../src/transport/locator.js';

const resolver = new StaticSipResolver({
  naptr: {
    'example.test': [
      { flags: 's', service: 'SIP+D2U', regexp: '', replacement: '_sip._udp.example.test', order: 20, preference: 10 },
      {
        flags: 's',
        service: 'SIPS+D2T',
        regexp: '',
        replacement: '_sips._tcp.example.test',
        order: 10,
        preference: 10,
      },
      { flags: 's', service: 'SIP+D2X', regexp: '', replacement: '_sip._sctp.example.test', order: 5, preference: 10 },
    ],
  },
  srv: {
    '_sip._udp.example.test': [{ name: 'udp1.example.test', port: 5060, priority: 10, weight: 0 }],
    '_sips._tcp.example.test': [
      { name: 'tls2.example.test', port: 5061, priority: 20, weight: 0 },
      { name: 'tls1.example.test', port: 5061, priority: 10, weight: 0 },
    ],
    '_sip._tcp.srvonly.test': [{ name: 'tcp1.srvonly.test', port: 5070, priority: 1, weight: 1 }],
  },
  a: {
    'udp1.example.test': ['127.0.0.11'],
    'tls1.example.test': ['127.0.0.21'],
    'tls2.example.test': ['127.0.0.22'],
    'tcp1.srvonly.test': ['127.0.0.31'],
    'plain.test': ['127.0.0.41'],
  },
  aaaa: { 'plain.test': ['::1'] },
});

describe('SipLocator (RFC 3263)', () => {
  const locator = new SipLocator({ resolver, random: () => 0 });

  it('uses a numeric host as it is, UDP by default and TLS for sips', async () => {
    expect(await locator.locate({ host: '127.0.0.1' })).toEqual([
      { protocol: 'udp', address: '127.0.0.1', port: 5060 },
    ]);
    expect(await locator.locate({ host: '[::1]', secure: true })).toEqual([
      { protocol: 'tls', address: '::1', port: 5061 },
    ]);
    expect(await locator.locate({ host: '127.0.0.1', port: 5080, transport: 'tcp' })).toEqual([
      { protocol: 'tcp', address: '127.0.0.1', port: 5080 },
    ]);
  });

  it('follows NAPTR order, skipping unsupported services, then SRV priority', async () => {
    const targets = await locator.locate({ host: 'example.test' });
    expect(targets.map((t) => `${t.protocol}:${t.address}`)).toEqual([
      'tls:127.0.0.21',
      'tls:127.0.0.22',
      'udp:127.0.0.11',
    ]);
  });

  it('keeps only secure transports for sips: URIs', async () => {
    const targets = await locator.locate({ host: 'example.test', secure: true });
    expect(targets.every((t) => t.protocol === 'tls')).toBe(true);
  });

  it('falls back to SRV without NAPTR, then to A/AAAA on the default port', async () => {
    expect(await locator.locate({ host: 'srvonly.test' })).toEqual([
      { protocol: 'tcp', address: '127.0.0.31', port: 5070 },
    ]);
    expect(await locator.locate({ host: 'plain.test' })).toEqual([
      { protocol: 'udp', address: '127.0.0.41', port: 5060 },
      { protocol: 'udp', address: '::1', port: 5060 },
    ]);
  });

  it('with an explicit port skips SRV (RFC 3263 4.2)', async () => {
    expect(await locator.locate({ host: 'plain.test', port: 5099 })).toHaveLength(2);
    expect(await locator.locate({ host: 'srvonly.test', port: 5099 })).toEqual([]);
  });

  it('refuses a transport it does not support', async () => {
    expect(await locator.locate({ host: '127.0.0.1', transport: 'sctp' })).toEqual([]);
  });
});

describe('orderSrvRecords (RFC 2782)', () => {
  it('orders by priority and picks by weight', () => {
    const records = [
      { name: 'b', port: 1, priority: 10, weight: 90 },
      { name: 'a', port: 1, priority: 10, weight: 10 },
      { name: 'c', port: 1, priority: 5, weight: 0 },
    ];
    expect(orderSrvRecords(records, () => 0.99).map((r) => r.name)).toEqual(['c', 'b', 'a']);
    expect(orderSrvRecords(records, () => 0).map((r) => r.name)).toEqual(['c', 'a', 'b']);
  });
});
