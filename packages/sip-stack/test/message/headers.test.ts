import { describe, expect, it } from 'vitest';
import { stampVia } from '../../src/message/builders.js';
import {
  parseAuth,
  parseContacts,
  parseCSeq,
  parseDeltaSeconds,
  parseEvent,
  parseFromTo,
  parseMediaType,
  parseNameAddr,
  parseNameAddrList,
  parseReplaces,
  parseSessionExpires,
  parseSipDate,
  parseSubscriptionState,
  parseTokenList,
  parseVia,
  parseVias,
  splitList,
} from '../../src/message/index.js';

const isParseError = expect.objectContaining({ name: 'SipParseError', code: 'header-value' });

describe('name-addr and addr-spec (RFC 3261 20.10, 25.1)', () => {
  it('quoted display names with escapes', () => {
    const na = parseNameAddr('"Alice \\"The\\" Boss\\\\" <sip:alice@atlanta.example.com;transport=tcp>;expires=60');
    expect(na.displayName).toBe('Alice "The" Boss\\');
    expect(na.uri).toBe('sip:alice@atlanta.example.com;transport=tcp');
    expect(na.bracketed).toBe(true);
    expect([...na.params]).toEqual([['expires', '60']]);
  });

  it('token display names, none, and addr-spec whose ;params are header params', () => {
    expect(parseNameAddr('Bob  Smith <sip:bob@b.example>').displayName).toBe('Bob  Smith');
    expect(parseNameAddr('<sip:bob@b.example>').displayName).toBeUndefined();
    const spec = parseFromTo('sip:bob@b.example;tag=abc;user=phone');
    expect(spec.bracketed).toBe(false);
    expect(spec.uri).toBe('sip:bob@b.example');
    expect(spec.tag).toBe('abc');
    expect(spec.params.get('user')).toBe('phone');
  });

  it('From/To tag and quoted param values', () => {
    const f = parseFromTo('"A" <sip:a@x>;TAG=t1;+sip.instance="<urn:uuid:1234>"');
    expect(f.tag).toBe('t1');
    expect(f.params.get('+sip.instance')).toBe('<urn:uuid:1234>');
  });

  it('rejects malformed values', () => {
    for (const bad of [
      '',
      '"unterminated <sip:a@x>',
      '<sip:a@x',
      '< sip:a@x>',
      '<>',
      'Bell, Alexander <sip:a@x>',
      'sip:a@x?subject=y',
      'nocolon',
      '<sip:a@x>;;tag=1',
      '<sip:a@x>;tag',
      '<sip:a@x>;tag=',
      '<sip:a@x> junk',
      '<sip:a@x>, <sip:b@x>',
    ]) {
      expect(() => parseFromTo(bad), bad).toThrow(isParseError);
    }
  });

  it('Contact lists, star, expires and q', () => {
    const cs = parseContacts('<sip:a@x>;q=0.7;expires=3600, "B" <sip:b@y>, sip:c@z;expires=99999999999999');
    expect(cs.map((c) => [c.uri, c.q, c.expires])).toEqual([
      ['sip:a@x', 0.7, 3600],
      ['sip:b@y', undefined, undefined],
      ['sip:c@z', undefined, 4294967295],
    ]);
    const star = parseContacts('*');
    expect(star[0].star).toBe(true);
    expect(() => parseContacts('<sip:a@x>;q=2')).toThrow(isParseError);
    expect(() => parseContacts('<sip:a@x>;expires=soon')).toThrow(isParseError);
  });

  it('Route lists keep order', () => {
    const r = parseNameAddrList('<sip:p1.example.com;lr>,<sip:p2.example.com;lr> , <sip:p3.example.com;lr>');
    expect(r.map((x) => x.uri)).toEqual(['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com;lr']);
  });
});

describe('Via (RFC 3261 20.42, RFC 3581, RFC 5118)', () => {
  it('sent-by, branch, received, rport, maddr, ttl', () => {
    const v = parseVia(
      'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;received=198.51.100.7;rport=4711;maddr=224.2.0.1;ttl=16',
    );
    expect(v).toMatchObject({
      protocol: 'SIP',
      version: '2.0',
      transport: 'UDP',
      host: '192.0.2.1',
      hostType: 'ipv4',
      port: 5060,
      branch: 'z9hG4bK776',
      received: '198.51.100.7',
      rport: 4711,
      maddr: '224.2.0.1',
      ttl: 16,
    });
    expect(parseVia('SIP/2.0/TCP h.example.com;rport;branch=z9hG4bKx').rport).toBeNull();
    expect(parseVia('SIP/2.0/TCP h.example.com;branch=z9hG4bKx').rport).toBeUndefined();
  });

  it('LWS around slashes and colon, lower-case transport, IPv6 sent-by', () => {
    const v = parseVia('SIP / 2.0 / tls  [2001:db8::9:1] : 6050 ; branch = z9hG4bKa');
    expect(v).toMatchObject({
      transport: 'TLS',
      host: '2001:db8::9:1',
      hostType: 'ipv6',
      port: 6050,
      branch: 'z9hG4bKa',
    });
    expect(parseVia('SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKb').transport).toBe('WSS');
  });

  it('comma-joined values', () => {
    const vs = parseVias('SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2');
    expect(vs.map((v) => [v.host, v.port])).toEqual([
      ['a.example.com', undefined],
      ['b.example.com', 5070],
    ]);
  });

  it('rejects malformed Vias', () => {
    for (const bad of [
      '',
      'SIP/2.0 192.0.2.1',
      'SIP/2.0/UDP',
      'SIP/2.0/UDP192.0.2.1',
      'SIP/2.0/UDP 192.0.2.1:99999',
      'SIP/2.0/UDP 192.0.2.1;;',
      'SIP/2.0/UDP 192.0.2.1;branch',
      'SIP/2.0/UDP 192.0.2.1;rport=x',
      'SIP/2.0/UDP 192.0.2.1;ttl=300',
      'SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK',
    ]) {
      expect(() => parseVias(bad), bad).toThrow(isParseError);
    }
  });
});

describe('other typed headers', () => {
  it('CSeq', () => {
    expect(parseCSeq('4711 INVITE')).toEqual({ seq: 4711, method: 'INVITE' });
    expect(parseCSeq(' 0009  ACK ')).toEqual({ seq: 9, method: 'ACK' });
    expect(parseCSeq('4294967295 BYE').seq).toBe(4294967295);
    for (const bad of ['4294967296 BYE', 'INVITE', '12', '-1 INVITE', '1 INVITE x', '1INVITE']) {
      expect(() => parseCSeq(bad), bad).toThrow(isParseError);
    }
  });

  it('digest challenge and credentials (RFC 2617 / 7616)', () => {
    const c = parseAuth(
      'Digest realm="atlanta.example.com", domain="sip:ss1.example.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5',
    );
    expect(c.scheme).toBe('Digest');
    expect(c.params.get('realm')).toBe('atlanta.example.com');
    expect(c.params.get('qop')).toBe('auth,auth-int');
    expect(c.params.get('opaque')).toBe('');
    expect(c.params.get('stale')).toBe('FALSE');
    expect(c.params.get('algorithm')).toBe('MD5');
    const cred = parseAuth(
      'Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(cred.params.get('username')).toBe('bob');
    expect(cred.params.get('nc')).toBe('00000001');
    expect(cred.params.get('response')).toBe('6629fae49393a05397450978507c4ef1');
    expect(parseAuth('Digest realm="a\\"b"').params.get('realm')).toBe('a"b');
    expect(parseAuth('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==').token68).toBe('QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    for (const bad of ['', 'Digest realm=,nonce=1', 'Digest realm="x" nonce="y"', 'Digest realm="x', 'Digest =x']) {
      expect(() => parseAuth(bad), bad).toThrow(isParseError);
    }
  });

  it('Content-Type with parameters', () => {
    const t = parseMediaType('Multipart/Mixed ; boundary="unique-boundary-1"');
    expect(t.type).toBe('multipart');
    expect(t.subtype).toBe('mixed');
    expect(t.params.get('boundary')).toBe('unique-boundary-1');
    expect(() => parseMediaType('application')).toThrow(isParseError);
  });

  it('token lists', () => {
    expect(parseTokenList('INVITE, ACK,CANCEL ,  BYE')).toEqual(['INVITE', 'ACK', 'CANCEL', 'BYE']);
    expect(() => parseTokenList('100rel, time r')).toThrow(isParseError);
  });

  it('Event, Subscription-State, Replaces, Session-Expires, delta-seconds, Date', () => {
    expect(parseEvent('dialog;id=17')).toMatchObject({ event: 'dialog' });
    expect(parseEvent('presence.winfo').event).toBe('presence.winfo');
    expect(parseSubscriptionState('terminated;reason=timeout;retry-after=30')).toMatchObject({
      state: 'terminated',
      reason: 'timeout',
      retryAfter: 30,
    });
    expect(parseSubscriptionState('active;expires=600').expires).toBe(600);
    expect(parseReplaces('98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only')).toMatchObject({
      callId: '98732@sip.example.com',
      fromTag: 'r33th4x0r',
      toTag: 'ff87ff',
      earlyOnly: true,
    });
    expect(parseSessionExpires('1800;refresher=uas')).toMatchObject({ delta: 1800, refresher: 'uas' });
    expect(() => parseSessionExpires('1800;refresher=me')).toThrow(isParseError);
    expect(parseDeltaSeconds('3600')).toBe(3600);
    expect(parseDeltaSeconds('100000000000000000000000')).toBe(4294967295);
    expect(() => parseDeltaSeconds('-1')).toThrow(isParseError);
    expect(parseSipDate('Sat, 13 Nov 2010 23:29:00 GMT').toISOString()).toBe('2010-11-13T23:29:00.000Z');
    expect(() => parseSipDate('Sat, 13 Nov 2010 23:29:00 UTC')).toThrow(isParseError);
  });

  it('list splitting respects quotes and angle brackets', () => {
    const out: string[] = [];
    splitList('"a, b" <sip:x;p=1,2>, <sip:y>,,  c ', out);
    expect(out).toEqual(['"a, b" <sip:x;p=1,2>', '<sip:y>', 'c']);
  });
});

describe('stampVia (RFC 3261 18.2.1, RFC 3581 4)', () => {
  const cases: Array<[string, string, number | undefined]> = [
    ['SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1;rport', '198.51.100.7', 40000],
    ['SIP/2.0/UDP host.example.com;branch=z9hG4bK-2', '198.51.100.7', undefined],
    ['SIP/2.0/UDP [2001:db8::1]:5070;rport;branch=z9hG4bK-3;received=10.0.0.1', '2001:db8::9', 5071],
    ['SIP/2.0/TCP a.example;branch=z9hG4bK-4;x="quoted; value";maddr=224.2.0.1;ttl=16;lone', '192.0.2.9', undefined],
    ['SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-5;rport=1234;received=192.0.2.1', '192.0.2.2', undefined],
    ['SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bK-6;RPORT=9;rport', '192.0.2.3', 7000],
  ];
  it.each(cases)('stamps %s as parsing the stamped text would read it', (value, received, rport) => {
    const stamped = stampVia(parseVia(value), received, rport);
    const reparsed = parseVia(stamped.text);
    for (const field of [
      'protocol',
      'version',
      'transport',
      'host',
      'hostType',
      'port',
      'branch',
      'received',
      'rport',
      'maddr',
      'ttl',
    ] as const) {
      expect(stamped.via[field]).toEqual(reparsed[field]);
    }
    expect([...stamped.via.params]).toEqual([...reparsed.params]);
    expect(stamped.via.received).toBe(received);
    if (rport !== undefined) expect(stamped.via.rport).toBe(rport);
  });
});
