import { describe, expect, it } from 'vitest';
import {
  formatSipUri,
  formatUri,
  isSipUri,
  isTelUri,
  parseUri,
  type SipUri,
  type TelUri,
  unescapeUriPart,
  uriEquals,
} from '../../src/message/index.js';

function sip(text: string): SipUri {
  const u = parseUri(text);
  if (!isSipUri(u)) throw new Error('not sip');
  return u;
}

describe('SIP URIs (RFC 3261 19.1)', () => {
  it('user, password, host, port, params and headers', () => {
    const u = sip('sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent');
    expect(u.scheme).toBe('sips');
    expect(u.user).toBe('alice');
    expect(u.password).toBe('secret');
    expect(u.host).toBe('atlanta.example.com');
    expect(u.hostType).toBe('name');
    expect(u.port).toBe(5061);
    expect([...u.params]).toEqual([
      ['transport', 'tcp'],
      ['lr', null],
    ]);
    expect(u.headers).toEqual([
      ['subject', 'project x'],
      ['priority', 'urgent'],
    ]);
    expect(u.raw).toBe(
      'sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent',
    );
  });

  it('host only, IPv4, IPv6 with and without port', () => {
    expect(sip('sip:example.com')).toMatchObject({ user: undefined, host: 'example.com', port: undefined });
    expect(sip('sip:192.0.2.4:5070')).toMatchObject({ host: '192.0.2.4', hostType: 'ipv4', port: 5070 });
    expect(sip('sip:999.0.2.4')).toMatchObject({ hostType: 'name' });
    expect(sip('sip:bob@[2001:db8::10]:5070')).toMatchObject({ host: '2001:db8::10', hostType: 'ipv6', port: 5070 });
    expect(sip('sip:[::ffff:192.0.2.1]')).toMatchObject({ host: '::ffff:192.0.2.1', hostType: 'ipv6' });
  });

  it('scheme and param names are case-insensitive, values keep case', () => {
    const u = sip('SIP:Bob@Biloxi.Example.COM;Transport=UDP');
    expect(u.scheme).toBe('sip');
    expect(u.user).toBe('Bob');
    expect(u.params.get('transport')).toBe('UDP');
  });

  it('%-escapes in user, password and params are resolved (UTF-8)', () => {
    const u = sip('sip:%61lice%20smith:p%40ss@example.com;na%6De=v%C3%A9');
    expect(u.user).toBe('alice smith');
    expect(u.password).toBe('p@ss');
    expect(u.params.get('name')).toBe('vé');
    expect(unescapeUriPart('a%2')).toBe('a%2');
    expect(unescapeUriPart('%00x')).toBe('\x00x');
  });

  it('telephone-subscriber user part with visual separators and ;params', () => {
    const u = sip('sip:+1-212-555-1212;phone-context=example.com@gw.example.com;user=phone');
    expect(u.user).toBe('+1-212-555-1212;phone-context=example.com');
    expect(u.params.get('user')).toBe('phone');
  });

  it('rejects malformed URIs with SipParseError', () => {
    for (const bad of [
      '',
      'sip:',
      'sip:@example.com',
      'sip:user@',
      'sip:user@example.com:99999',
      'sip:user@example.com:port',
      'sip:2001:db8::10',
      'sip:user@[2001:db8::zz]',
      'sip:user@[2001:db8::10',
      'sip:us er@example.com',
      'sip:user@example.com;;lr',
      'sip:user@example.com;=x',
      'sip:user@example.com?=x',
      'sip:user@example.com>',
      'sip:user%4@example.com',
      '<sip:user@example.com>',
      '1sip:x',
      'tel:',
      'tel:+',
      'tel:12 34',
      'mailto:a b',
    ]) {
      expect(() => parseUri(bad), bad).toThrow(expect.objectContaining({ name: 'SipParseError' }));
    }
  });

  it('formats from parts, escaping what needs it', () => {
    expect(
      formatSipUri({ user: 'alice smith', host: 'example.com', port: 5060, params: { transport: 'tcp', lr: null } }),
    ).toBe('sip:alice%20smith@example.com:5060;transport=tcp;lr');
    expect(formatSipUri({ scheme: 'sips', host: '2001:db8::1' })).toBe('sips:[2001:db8::1]');
    expect(formatSipUri({ host: 'h', headers: [['Route', '<sip:x>']] })).toBe('sip:h?Route=%3Csip:x%3E');
    const u = sip('sip:%61lice@example.com;lr');
    expect(formatUri(u)).toBe('sip:alice@example.com;lr');
    expect(sip(formatUri(u))).toMatchObject({ user: 'alice', host: 'example.com' });
  });

  it('equality per RFC 3261 19.1.4', () => {
    expect(uriEquals(sip('sip:%61lice@atlanta.com;transport=TCP'), sip('sip:alice@AtLanTa.CoM;Transport=tcp'))).toBe(
      true,
    );
    expect(uriEquals(sip('sip:alice@atlanta.com'), sip('sip:ALICE@atlanta.com'))).toBe(false);
    expect(uriEquals(sip('sip:bob@biloxi.com'), sip('sip:bob@biloxi.com:5060'))).toBe(false);
    expect(uriEquals(sip('sip:bob@biloxi.com'), sip('sip:bob@biloxi.com;transport=udp'))).toBe(false);
    expect(uriEquals(sip('sip:carol@chicago.com;security=on'), sip('sip:carol@chicago.com;newparam=5'))).toBe(true);
  });
});

describe('tel and other URIs', () => {
  it('tel: number and params (RFC 3966)', () => {
    const u = parseUri('tel:+1-201-555-0123;ext=1234') as TelUri;
    expect(isTelUri(u)).toBe(true);
    expect(u.number).toBe('+1-201-555-0123');
    expect(u.params.get('ext')).toBe('1234');
    expect(formatUri(u)).toBe('tel:+1-201-555-0123;ext=1234');
    const local = parseUri('tel:7042;phone-context=example.com') as TelUri;
    expect(local.number).toBe('7042');
    expect(local.params.get('phone-context')).toBe('example.com');
  });

  it('unknown schemes are opaque', () => {
    const u = parseUri('urn:service:sos');
    expect(u.scheme).toBe('urn');
    expect('opaque' in u && u.opaque).toBe('service:sos');
    expect(isSipUri(u) || isTelUri(u)).toBe(false);
  });
});
