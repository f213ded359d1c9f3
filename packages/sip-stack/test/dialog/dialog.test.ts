import { describe, expect, it } from 'vitest';
import { SipDialog } from '../../src/dialog/index.js';
import { createResponse, parseMessage, type SipRequest, type SipResponse } from '../../src/message/index.js';

const invite = parseMessage(
  [
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
    'Record-Route: <sip:p2.example.com;lr>',
    'Record-Route: <sip:p1.example.com;lr>',
    'Max-Forwards: 70',
    'To: Bob <sip:bob@biloxi.example.com>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@pc33.atlanta.example.com>',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
) as SipRequest;

function ok(request: SipRequest, contact: string, tag = 'a6c85cf'): SipResponse {
  return createResponse(request, 200, 'OK', { toTag: tag, headers: [['Contact', contact]] });
}

describe('SipDialog', () => {
  it('builds the UAC dialog from a 2xx (RFC 3261 12.1.2): reversed route set, remote target, tags', () => {
    const response = ok(invite, '<sip:bob@192.0.2.4>');
    const d = SipDialog.asUac(invite, response, '<sip:alice@pc33.atlanta.example.com>');
    expect(d.state).toBe('confirmed');
    expect(d.routeSet).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(d.remoteTarget).toBe('sip:bob@192.0.2.4');
    expect(d.localTag).toBe('1928301774');
    expect(d.remoteTag).toBe('a6c85cf');
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:bob@192.0.2.4');
    expect(bye.headers('route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(bye.cseq()).toEqual({ seq: 314160, method: 'BYE' });
    expect(bye.from().tag).toBe('1928301774');
    expect(bye.to().tag).toBe('a6c85cf');
    expect(bye.callId()).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    const ack = d.createRequest('ACK', { cseq: 314159 });
    expect(ack.cseq()).toEqual({ seq: 314159, method: 'ACK' });
  });

  it('builds the UAS dialog (12.1.1): route set in order, remote CSeq, To tag added', () => {
    const d = SipDialog.asUas(invite, 'xyz', '<sip:bob@192.0.2.4>', true);
    expect(d.state).toBe('early');
    expect(d.routeSet).toEqual(['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    expect(d.remoteTarget).toBe('sip:alice@pc33.atlanta.example.com');
    expect(d.remoteSeq).toBe(314159);
    const bye = d.createRequest('BYE');
    expect(bye.to().tag).toBe('1928301774');
    expect(bye.from().tag).toBe('xyz');
    expect(bye.from().displayName).toBe('Bob');
  });

  it('takes the UAS From and To as their lines say, whatever the request looks like later (12.1.1)', () => {
    const lines = (from: string[], to: string[], uri = 'sip:bob@b.example.com') =>
      [
        `INVITE ${uri} SIP/2.0`,
        'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
        ...to,
        ...from,
        'Call-ID: c1',
        'CSeq: 7 INVITE',
        'Contact: <sip:alice@a.example.com>',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    // plain lines (trailing blanks are not part of a value), read from the received text
    const plain = parseMessage(
      lines(['From: "A" <sip:alice@a.example.com>;tag=f1 \t'], ['t: <sip:bob@b.example.com> ']),
    ) as SipRequest;
    const d = SipDialog.asUas(plain, 'u1', '<sip:bob@192.0.2.4>', false);
    expect(d.secure).toBe(false);
    plain.setHeader('From', '<sip:mallory@x>;tag=f1');
    expect(d.remote).toBe('"A" <sip:alice@a.example.com>;tag=f1');
    expect(d.local).toBe('<sip:bob@b.example.com>;tag=u1');
    // folded lines (RFC 3261 7.3.1) are read unfolded; a To that has a tag keeps it; a SIPS Request-URI
    const folded = parseMessage(
      lines(['From: <sip:alice@a.example.com>', ' ;tag=f2'], ['To: <sip:bob@b.example.com>;tag=t2'], 'SIPS:bob@b'),
    ) as SipRequest;
    const e = SipDialog.asUas(folded, 'u2', '<sips:bob@192.0.2.4>', false);
    expect(e.remote).toBe('<sip:alice@a.example.com> ;tag=f2');
    expect(e.local).toBe('<sip:bob@b.example.com>;tag=t2');
    expect(e.secure).toBe(true);
    // a folded From with an untagged To: not a span of the text, read unfolded at once
    const foldedFrom = parseMessage(
      lines(['From: <sip:alice@a.example.com>', ' ;tag=f5'], ['To: <sip:bob@b.example.com>']),
    ) as SipRequest;
    const f = SipDialog.asUas(foldedFrom, 'u5', '<sip:bob@192.0.2.4>', false);
    expect(f.remote).toBe('<sip:alice@a.example.com> ;tag=f5');
    expect(f.local).toBe('<sip:bob@b.example.com>;tag=u5');
    // a request edited before the dialog is made: its values as they are then
    const edited = parseMessage(lines(['From: <sip:alice@a.example.com>;tag=f3'], ['To: <sip:bob@b>'])) as SipRequest;
    edited.setHeader('To', '"Bob" <sip:bob@b>');
    const g = SipDialog.asUas(edited, 'u3', '<sip:bob@192.0.2.4>', false);
    expect(g.local).toBe('"Bob" <sip:bob@b>;tag=u3');
    expect(g.remote).toBe('<sip:alice@a.example.com>;tag=f3');
    // setting the remote value replaces what the request said
    const h = SipDialog.asUas(
      parseMessage(lines(['f: <sip:a@a>;tag=f4'], ['To: <sip:b@b>'])) as SipRequest,
      'u4',
      '<sip:b@c>',
      false,
    );
    h.remote = '<sip:z@z>;tag=f4';
    expect(h.remote).toBe('<sip:z@z>;tag=f4');
    expect(h.local).toBe('<sip:b@b>;tag=u4');
  });

  it('takes the UAS remote target from the first Contact, however it is written, and needs one (12.1.1)', () => {
    const withContact = (contact: string[]) =>
      parseMessage(
        [
          'INVITE sip:bob@b.example.com SIP/2.0',
          'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
          'To: <sip:bob@b.example.com>',
          'From: <sip:alice@a.example.com>;tag=f1',
          'Call-ID: c2',
          'CSeq: 1 INVITE',
          ...contact,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      ) as SipRequest;
    const target = (contact: string[]) => SipDialog.asUas(withContact(contact), 'u', '<sip:b@c>', false).remoteTarget;
    expect(target(['Contact: <sip:alice@192.0.2.1:5070;transport=tcp>  '])).toBe(
      'sip:alice@192.0.2.1:5070;transport=tcp',
    );
    expect(target(['Contact: "Alice" <sip:alice@192.0.2.2>;expires=60'])).toBe('sip:alice@192.0.2.2');
    expect(target(['m: sip:alice@192.0.2.3'])).toBe('sip:alice@192.0.2.3');
    expect(target(['Contact: <sip:alice@192.0.2.4>, <sip:alice@192.0.2.5>'])).toBe('sip:alice@192.0.2.4');
    expect(target(['Contact: <sip:alice@192.0.2.6>', ' ;expires=60'])).toBe('sip:alice@192.0.2.6');
    expect(() => target([])).toThrow(/Contact/);
    expect(() => target(['Contact: *'])).toThrow(/Contact/);
    // a target refresh replaces it before or after it was first read
    const d = SipDialog.asUas(withContact(['Contact: <sip:alice@192.0.2.7>']), 'u', '<sip:b@c>', false);
    d.remoteTarget = 'sip:alice@198.51.100.7';
    expect(d.remoteTarget).toBe('sip:alice@198.51.100.7');
    expect(d.remote).toBe('<sip:alice@a.example.com>;tag=f1');
  });

  it('puts a strict router in the Request-URI and the remote target last (12.2.1.1)', () => {
    const strict = parseMessage(
      [
        'INVITE sip:bob@b.example.com SIP/2.0',
        'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
        'Record-Route: <sip:strict.example.com>',
        'To: <sip:bob@b.example.com>',
        'From: <sip:alice@a.example.com>;tag=1',
        'Call-ID: x',
        'CSeq: 1 INVITE',
        'Contact: <sip:alice@a.example.com>',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ) as SipRequest;
    const d = SipDialog.asUac(strict, ok(strict, '<sip:bob@192.0.2.9>'), '<sip:alice@a.example.com>');
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:strict.example.com');
    expect(bye.headers('route')).toEqual(['<sip:bob@192.0.2.9>']);
  });

  it('rejects a lower CSeq with 500 and refreshes the target on re-INVITE (12.2.2)', () => {
    const d = SipDialog.asUas(invite, 'xyz', '<sip:bob@192.0.2.4>', false);
    const reinvite = (seq: number, contact: string) =>
      parseMessage(
        [
          'INVITE sip:bob@192.0.2.4 SIP/2.0',
          'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK9',
          'To: Bob <sip:bob@biloxi.example.com>;tag=xyz',
          'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
          'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
          `CSeq: ${seq} INVITE`,
          `Contact: <${contact}>`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      ) as SipRequest;
    expect(d.receiveRequest(reinvite(314158, 'sip:alice@old'))).toMatchObject({ ok: false, status: 500 });
    expect(d.receiveRequest(reinvite(314160, 'sip:alice@198.51.100.1'))).toEqual({ ok: true });
    expect(d.remoteTarget).toBe('sip:alice@198.51.100.1');
    expect(d.remoteSeq).toBe(314160);
  });

  it('refuses to make a dialog from a response without a To tag', () => {
    const response = createResponse(invite, 100);
    expect(() => SipDialog.asUac(invite, response, '<sip:a@b>')).toThrow(/To tag/);
  });
});
