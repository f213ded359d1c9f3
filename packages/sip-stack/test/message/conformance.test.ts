// RFC 4475 (SIP torture messages) and RFC 5118 (IPv6 torture messages): every file listed in the INDEX.md files
// of the shared conformance folder, read as bytes, with the values a conforming parser must produce.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_ROOT } from '../../../../tests/support/conformance.js';
import {
  createErrorResponse,
  isRfc3261Branch,
  isSipUri,
  parseMessage,
  parseNameAddr,
  parseUri,
  type SipParseError,
  SipRequest,
  SipResponse,
  type SipUri,
  serializeMessage,
  validateMessage,
} from '../../src/message/index.js';

type Msg = SipRequest | SipResponse;

const ROOT = CONFORMANCE_ROOT;
const T4475 = join(ROOT, 'rfc4475');
const T5118 = join(ROOT, 'rfc5118');
const present = existsSync(join(T4475, 'INDEX.md')) && existsSync(join(T5118, 'INDEX.md'));

function bytes(dir: string, file: string): Buffer {
  return readFileSync(join(dir, file));
}

function parse(dir: string, file: string): Msg {
  return parseMessage(bytes(dir, file)) as Msg;
}

function req(dir: string, file: string): SipRequest {
  const m = parse(dir, file);
  expect(m).toBeInstanceOf(SipRequest);
  return m as SipRequest;
}

function res(dir: string, file: string): SipResponse {
  const m = parse(dir, file);
  expect(m).toBeInstanceOf(SipResponse);
  return m as SipResponse;
}

function refused(dir: string, file: string): SipParseError {
  let error: unknown;
  try {
    parseMessage(bytes(dir, file));
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).name).toBe('SipParseError');
  return error as SipParseError;
}

function sipUri(text: string): SipUri {
  const u = parseUri(text);
  if (!isSipUri(u)) throw new Error(`not a SIP URI: ${text}`);
  return u;
}

/** Files named in an INDEX.md table (first column, `folder/name.dat`). */
function indexedFiles(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync(join(dir, 'INDEX.md'), 'utf8').split('\n')) {
    const m = /^\| ([a-z0-9-]+\/[A-Za-z0-9.-]+\.dat) \|/.exec(line);
    if (m !== null) out.push(m[1]);
  }
  return out;
}

const d = (sub: string) => join(T4475, sub);
const v6 = (sub: string) => join(T5118, sub);

describe.skipIf(!present)('RFC 4475 valid messages (3.1.1, 3.2, 3.3, 3.4)', () => {
  it('wsinv: a short tortuous INVITE', () => {
    const m = req(d('valid'), 'wsinv.dat');
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:vivekg@chair-dnrc.example.com;unknownparam');
    const ruri = m.requestUri as SipUri;
    expect(ruri.host).toBe('chair-dnrc.example.com');
    expect(ruri.params.get('unknownparam')).toBeNull();
    expect(m.to().uri).toBe('sip:vivekg@chair-dnrc.example.com');
    expect(m.to().tag).toBe('1918181833n');
    expect(m.from().displayName).toBe('J Rosenberg \\"');
    expect(m.from().tag).toBe('98asjd8');
    expect(m.maxForwards()).toBe(68);
    expect(m.cseq()).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.callId()).toBe('wsinv.ndaksdj@192.0.2.1');
    expect(m.header('s')).toBe('');
    expect(m.header('Subject')).toBe('');
    expect(m.header('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.header('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    expect(m.headers('unknownheaderwithunusualvalue')).toEqual([';;,,;;,;']);
    const vias = m.vias();
    expect(vias.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.via().branch).toBe('390skdjuw');
    expect(isRfc3261Branch(m.via().branch)).toBe(false);
    expect(m.routes()[0].uri).toBe('sip:services.example.com;lr;unknownwith=value;unknown-no-value');
    const contact = m.contacts()[0];
    expect(contact.displayName).toBe('Quoted string ""');
    expect(contact.uri).toBe('sip:jdrosen@example.com');
    expect(contact.params.get('newparam')).toBe('newvalue');
    expect(contact.params.get('secondparam')).toBeNull();
    expect(contact.q).toBe(0.33);
    expect(m.contentType()?.subtype).toBe('sdp');
    expect(m.body.length).toBe(150);
    expect(Buffer.from(m.body).toString('latin1').startsWith('v=0\r\n')).toBe(true);
  });

  it('intmeth: wide range of valid characters', () => {
    const m = req(d('valid'), 'intmeth.dat');
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.cseq().method).toBe(m.method);
    const ruri = m.requestUri as SipUri;
    expect(ruri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(ruri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(ruri.host).toBe('example.com');
    expect(m.via().branch).toBe("z9hG4bK-.!%66*_+`'~");
    expect(m.to().displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(m.from().displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.from().params.get("fromparam''~+*_!.-%")).toBe('работающий');
    expect(m.from().tag).toBe("_token~1'+`*%!-.");
    expect(m.callId()).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(m.maxForwards()).toBe(255);
    expect(m.header("extensionHeader-!.%*+_`'~")).toBe('\ufeff大停電');
  });

  it('esc01: % escapes resolved only inside URIs', () => {
    const m = req(d('valid'), 'esc01.dat');
    const ruri = m.requestUri as SipUri;
    expect(ruri.user).toBe('sips:user@example.com');
    expect(ruri.host).toBe('example.net');
    expect(sipUri(m.to().uri).user).toBe('user');
    expect(sipUri(m.from().uri).user).toBe('I have spaces');
    const contact = sipUri(m.contacts()[0].uri);
    expect(contact.user).toBe('caller');
    expect(contact.params.get('lr')).toBeNull();
    // no recursive unescaping: value%25%34%31 is "value%41", not "valueA"
    expect(contact.params.get('name')).toBe('value%41');
    expect(m.contentType()?.type).toBe('application');
  });

  it('escnull: %00 never truncates', () => {
    const m = req(d('valid'), 'escnull.dat');
    expect(sipUri(m.to().uri).user).toBe('null-\x00-null');
    const contacts = m.contacts().map((c) => sipUri(c.uri).user);
    expect(contacts).toEqual(['\x00', '\x00\x00']);
    expect(m.contentLength()).toBe(0);
  });

  it('esc02: % is not an escape in methods, display names or header names', () => {
    const m = req(d('valid'), 'esc02.dat');
    expect(m.method).toBe('RE%47IST%45R');
    expect(m.method).not.toBe('REGISTER');
    expect(m.to().displayName).toBe('%Z%45');
    expect(m.via().branch).toBe('z9hG4bK209%fzsnel234');
    expect(m.contacts().map((c) => c.uri)).toEqual(['sip:alias1@host1.example.com', 'sip:alias3@host3.example.com']);
    expect(m.header('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('lwsdisp: no LWS between display name and <', () => {
    const m = req(d('valid'), 'lwsdisp.dat');
    expect(m.from().displayName).toBe('caller');
    expect(m.from().uri).toBe('sip:caller@example.com');
    expect(m.from().tag).toBe('323');
  });

  it('longreq: long values and many Via values', () => {
    const m = req(d('valid'), 'longreq.dat');
    const raw = bytes(d('valid'), 'longreq.dat').toString('latin1');
    const viaLines = raw.split('\r\n').filter((l) => /^(Via|v)\s*:/i.test(l));
    expect(m.vias().length).toBeGreaterThan(30);
    expect(m.vias().length).toBe(m.headers('Via').length);
    expect(m.headers('Via').length).toBeGreaterThanOrEqual(viaLines.length);
    expect(m.to().displayName).toMatch(/^I have a user name of (extreme)+ proportion$/);
    expect(m.from().tag?.length).toBeGreaterThan(100);
    expect(m.callId().length).toBeGreaterThan(100);
    expect(m.headerCount).toBeGreaterThan(20);
    expect(m.body.length).toBe(m.contentLength());
  });

  it('dblreq: octets after Content-Length in a datagram are ignored', () => {
    const input = bytes(d('valid'), 'dblreq.dat');
    const m = req(d('valid'), 'dblreq.dat');
    expect(m.method).toBe('REGISTER');
    expect(m.callId()).toBe('dblreq.0ha0isndaksdj99sdfafnl3lk233412');
    expect(m.body.length).toBe(0);
    const out = Buffer.from(serializeMessage(m)).toString('latin1');
    expect(out.length).toBeLessThan(input.length);
    expect(out).not.toContain('INVITE');
  });

  it('semiuri: ; in the user part of the Request-URI', () => {
    const m = req(d('valid'), 'semiuri.dat');
    const ruri = m.requestUri as SipUri;
    expect(ruri.user).toBe('user;par=u@example.net');
    expect(ruri.host).toBe('example.com');
    expect(ruri.params.size).toBe(0);
    expect(m.headers('Accept')).toEqual([
      'application/sdp',
      'application/pkcs7-mime',
      'multipart/mixed',
      'multipart/signed',
      'message/sip',
      'message/sipfrag',
    ]);
  });

  it('transports: varied and unknown Via transports', () => {
    const m = req(d('valid'), 'transports.dat');
    expect(m.vias().map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    expect(m.callId()).toBe('transports.kijh4akdnaqjkwendsasfdj');
  });

  it('mpart01: multipart body framed by Content-Length, bytes untouched', () => {
    const input = bytes(d('valid'), 'mpart01.dat');
    const m = req(d('valid'), 'mpart01.dat');
    const length = m.contentLength()!;
    expect(m.body.length).toBe(length);
    expect(Buffer.compare(Buffer.from(m.body), input.subarray(input.length - length))).toBe(0);
    expect(m.body.includes(0)).toBe(true);
    const ct = m.contentType()!;
    expect(`${ct.type}/${ct.subtype}`).toBe('multipart/mixed');
    expect(ct.params.get('boundary')).toBe('7a9cbec02ceef655');
    expect(Buffer.compare(Buffer.from(serializeMessage(m)), input)).toBe(0);
  });

  it('unreason: UTF-8 reason phrase', () => {
    const m = res(d('valid'), 'unreason.dat');
    expect(m.status).toBe(200);
    expect(m.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(m.body.length).toBe(154);
  });

  it('noreason: empty reason phrase', () => {
    const m = res(d('valid'), 'noreason.dat');
    expect(m.status).toBe(100);
    expect(m.reason).toBe('');
    expect(m.to().tag).toBe('902jndnke3');
  });

  it('badbranch: the bare magic cookie parses and is flagged', () => {
    const m = req(d('valid'), 'badbranch.dat');
    expect(m.via().branch).toBe('z9hG4bK');
    expect(isRfc3261Branch(m.via().branch)).toBe(false);
    expect(isRfc3261Branch('z9hG4bK1')).toBe(true);
  });

  it('unkscm / novelsc: unknown or atypical Request-URI schemes parse opaque', () => {
    const a = req(d('valid'), 'unkscm.dat');
    expect(a.requestUri.scheme).toBe('nobodyknowsthisscheme');
    expect(isSipUri(a.requestUri)).toBe(false);
    expect(a.uri).toBe('nobodyKnowsThisScheme:totallyopaquecontent');
    const b = req(d('valid'), 'novelsc.dat');
    expect(b.requestUri.scheme).toBe('soap.beep');
    expect(b.uri).toBe('soap.beep://192.0.2.103:3002');
  });

  it('unksm2: unknown schemes in To, From, Contact', () => {
    const m = req(d('valid'), 'unksm2.dat');
    expect(parseUri(m.to().uri).scheme).toBe('isbn');
    expect(parseUri(m.from().uri).scheme).toBe('http');
    expect(m.contacts()[0].uri).toBe('name:John_Smith');
    // a registrar refuses it: the To AOR is not SIP/SIPS
    expect(isSipUri(parseUri(m.to().uri))).toBe(false);
  });

  it('bext01: Require and Proxy-Require option tags', () => {
    const m = req(d('valid'), 'bext01.dat');
    expect(m.require()).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
    expect(m.proxyRequire()).toEqual(['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
    expect(m.via().transport).toBe('TLS');
  });

  it('invut: unknown Content-Type', () => {
    const m = req(d('valid'), 'invut.dat');
    expect(m.contentType()).toMatchObject({ type: 'application', subtype: 'unknownformat' });
    expect(m.body.length).toBe(40);
  });

  it('regaut01: unknown Authorization scheme', () => {
    const m = req(d('valid'), 'regaut01.dat');
    const auth = m.authorizations();
    expect(auth).toHaveLength(1);
    expect(auth[0].scheme).toBe('NoOneKnowsThisScheme');
    expect(auth[0].params.get('opaque-data')).toBe('here');
  });

  it('bcast: broadcast second Via', () => {
    const m = res(d('valid'), 'bcast.dat');
    expect(m.vias()[1].host).toBe('255.255.255.255');
    expect(m.vias()[1].hostType).toBe('ipv4');
  });

  it('zeromf: Max-Forwards 0', () => {
    expect(req(d('valid'), 'zeromf.dat').maxForwards()).toBe(0);
  });

  it('cparam01: ;unknownparam after an addr-spec is a contact param', () => {
    const c = req(d('valid'), 'cparam01.dat').contacts()[0];
    expect(c.bracketed).toBe(false);
    expect(c.uri).toBe('sip:+19725552222@gw1.example.net');
    expect(c.params.has('unknownparam')).toBe(true);
    expect(sipUri(c.uri).params.has('unknownparam')).toBe(false);
  });

  it('cparam02: ;unknownparam inside <> is a URI param', () => {
    const c = req(d('valid'), 'cparam02.dat').contacts()[0];
    expect(c.params.has('unknownparam')).toBe(false);
    expect(sipUri(c.uri).params.has('unknownparam')).toBe(true);
  });

  it('regescrt: escaped Route header in a Contact URI', () => {
    const c = req(d('valid'), 'regescrt.dat').contacts()[0];
    expect(c.uri).toBe('sip:user@example.com?Route=%3Csip:sip.example.com%3E');
    expect(sipUri(c.uri).headers).toEqual([['Route', '<sip:sip.example.com>']]);
  });

  it('sdp01: Accept without application/sdp', () => {
    const m = req(d('valid'), 'sdp01.dat');
    expect(m.headers('Accept')).toEqual(['text/nobodyKnowsThis']);
  });

  it('inv2543: RFC 2543 INVITE without branch, tag, Content-Length or Max-Forwards', () => {
    const input = bytes(d('valid'), 'inv2543.dat');
    const m = req(d('valid'), 'inv2543.dat');
    expect(m.via().branch).toBeUndefined();
    expect(m.from().tag).toBeUndefined();
    expect(m.maxForwards()).toBeUndefined();
    expect(m.contentLength()).toBeUndefined();
    const headEnd = input.indexOf('\r\n\r\n') + 4;
    expect(m.body.length).toBe(input.length - headEnd);
    // an addr-spec cannot carry URI params: ;user=phone is a header param of To (RFC 3261 20)
    expect(m.to().params.get('user')).toBe('phone');
    expect(m.recordRoutes()[0].uri).toBe('sip:UserB@example.com;maddr=ss1.example.com');
  });
});

describe.skipIf(!present)('RFC 4475 invalid messages (3.1.2, 3.3.1, 3.3.8, 3.3.9)', () => {
  it('badinv01: extra ; and , in Via -> 400', () => {
    const e = refused(d('invalid'), 'badinv01.dat');
    expect(e.code).toBe('header-value');
    expect(e.status).toBe(400);
    expect(e.line).toBe(7);
    expect(e.canRespond).toBe(true);
    expect(e.partial?.callId).toBe('badinv01.0ha0isndaksdjasdf3234nas');
  });

  it('clerr: Content-Length larger than the datagram -> 400', () => {
    const e = refused(d('invalid'), 'clerr.dat');
    expect(e.code).toBe('content-length');
    expect(e.canRespond).toBe(true);
    const answer = createErrorResponse(e)!;
    expect(answer.status).toBe(400);
    expect(answer.header('Call-ID')).toBe(e.partial?.callId);
    expect(answer.to().tag).toBeDefined();
  });

  it('ncl: negative Content-Length is a fatal framing error', () => {
    const e = refused(d('invalid'), 'ncl.dat');
    expect(e.code).toBe('content-length');
    expect(e.fatal).toBe(true);
  });

  it('scalar02: CSeq above 2^32-1 -> 400 (Max-Forwards 300 refused too)', () => {
    const e = refused(d('invalid'), 'scalar02.dat');
    expect(e.status).toBe(400);
    expect(e.message).toContain('CSeq');
    expect(e.canRespond).toBe(true);
    const text = bytes(d('invalid'), 'scalar02.dat').toString('latin1').replace('36893488147419103232', '1');
    const e2 = (() => {
      try {
        parseMessage(text);
      } catch (x) {
        return x as SipParseError;
      }
      return undefined;
    })();
    expect(e2?.message).toContain('Max-Forwards');
  });

  it('scalarlg: response with overlarge scalars is refused and not answerable', () => {
    const e = refused(d('invalid'), 'scalarlg.dat');
    expect(e.canRespond).toBe(false);
    expect(createErrorResponse(e)).toBeUndefined();
  });

  it('quotbal: unterminated quoted display name', () => {
    expect(refused(d('invalid'), 'quotbal.dat').message).toContain('quoted');
  });

  it('ltgtruri / lwsruri / lwsstart / trws: malformed request lines', () => {
    expect(refused(d('invalid'), 'ltgtruri.dat').code).toBe('request-uri');
    for (const f of ['lwsruri.dat', 'lwsstart.dat', 'trws.dat']) {
      const e = refused(d('invalid'), f);
      expect(e.code).toBe('start-line');
      expect(e.line).toBe(1);
      expect(e.canRespond).toBe(true);
    }
  });

  it('escruri: escaped headers in the Request-URI are flagged by requestUri', () => {
    const m = req(d('invalid'), 'escruri.dat');
    expect(() => m.requestUri).toThrow(expect.objectContaining({ code: 'request-uri', status: 400 }));
    expect(validateMessage(m)?.code).toBe('request-uri');
  });

  it('baddate: a non-GMT Date parses but the accessor refuses it', () => {
    const m = req(d('invalid'), 'baddate.dat');
    expect(() => m.date()).toThrow(/GMT/);
    expect(m.header('Date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
  });

  it('regbadct: addr-spec Contact with a ? must use <> -> the accessor refuses it', () => {
    const m = req(d('invalid'), 'regbadct.dat');
    expect(() => m.contacts()).toThrow(/addr-spec/);
    expect(validateMessage(m)?.line).toBe(8);
  });

  it('badaspec: spaces inside <addr-spec>', () => {
    expect(refused(d('invalid'), 'badaspec.dat').message).toContain('To');
  });

  it('baddn: unquoted non-token display names (both variants)', () => {
    refused(d('invalid'), 'baddn.dat');
    expect(refused(d('variants'), 'baddn.crlf-terminated.dat').code).toBe('header-value');
  });

  it('badvers: SIP/7.0 -> 505', () => {
    const e = refused(d('invalid'), 'badvers.dat');
    expect(e.code).toBe('version');
    expect(e.status).toBe(505);
    expect(createErrorResponse(e)?.status).toBe(505);
  });

  it('mismatch01: CSeq method differs from the request method -> 400', () => {
    const e = refused(d('invalid'), 'mismatch01.dat');
    expect(e.code).toBe('cseq-mismatch');
    expect(e.status).toBe(400);
  });

  it('mismatch02: unknown method with a mismatching CSeq -> 501', () => {
    const e = refused(d('invalid'), 'mismatch02.dat');
    expect(e.code).toBe('cseq-mismatch');
    expect(e.status).toBe(501);
  });

  it('bigcode: status code above 699 is dropped', () => {
    const e = refused(d('invalid'), 'bigcode.dat');
    expect(e.code).toBe('status-code');
    expect(e.canRespond).toBe(false);
  });

  it('insuf: missing Call-ID, From and To', () => {
    const e = refused(d('invalid'), 'insuf.dat');
    expect(e.code).toBe('missing-header');
    expect(e.partial?.via).toHaveLength(1);
    expect(e.partial?.cseq).toBe('193942 INVITE');
  });

  it('multi01: single-value headers repeated', () => {
    expect(refused(d('invalid'), 'multi01.dat').code).toBe('duplicate-header');
  });

  it('mcl01: conflicting Content-Length values', () => {
    const e = refused(d('invalid'), 'mcl01.dat');
    expect(e.code).toBe('content-length');
    expect(e.fatal).toBe(true);
  });

  it('test.dat (unreferenced): no SIP-Version and a header line without a colon', () => {
    const e = refused(d('unreferenced'), 'test.dat');
    expect(e.code).toBe('start-line');
  });
});

describe.skipIf(!present)('RFC 5118 IPv6 messages', () => {
  it('ipv6-good: bracketed IPv6 in R-URI, Via, Contact', () => {
    const m = req(v6('valid'), 'ipv6-good.dat');
    const ruri = m.requestUri as SipUri;
    expect(ruri.host).toBe('2001:db8::10');
    expect(ruri.hostType).toBe('ipv6');
    expect(m.via().hostType).toBe('ipv6');
    expect(sipUri(m.contacts()[0].uri).hostType).toBe('ipv6');
  });

  it('ipv6-bad: unbracketed IPv6 Request-URI -> 400 (flagged by requestUri)', () => {
    const m = req(v6('invalid'), 'ipv6-bad.dat');
    expect(() => m.requestUri).toThrow(expect.objectContaining({ code: 'request-uri', status: 400 }));
    expect(validateMessage(m)?.message).toMatch(/port/);
  });

  it('port-ambiguous: [2001:db8::10:5070] has no port', () => {
    const ruri = req(v6('valid'), 'port-ambiguous.dat').requestUri as SipUri;
    expect(ruri.host).toBe('2001:db8::10:5070');
    expect(ruri.port).toBeUndefined();
  });

  it('port-unambiguous: [2001:db8::10]:5070', () => {
    const ruri = req(v6('valid'), 'port-unambiguous.dat').requestUri as SipUri;
    expect(ruri.host).toBe('2001:db8::10');
    expect(ruri.port).toBe(5070);
  });

  it('via-received-param-with-delim / no-delim', () => {
    const a = req(v6('valid'), 'via-received-param-with-delim.dat').via();
    expect(a.received).toBe('[2001:db8::9:255]');
    expect(a.branch).toBe('z9hG4bKas3-111');
    const b = req(v6('valid'), 'via-received-param-no-delim.dat').via();
    expect(b.received).toBe('2001:db8::9:255');
    expect(b.branch).toBe('z9hG4bKas3');
  });

  it('mult-ip-in-header: three Vias of mixed families', () => {
    const vias = req(v6('valid'), 'mult-ip-in-header.dat').vias();
    expect(vias.map((v) => [v.host, v.port, v.transport, v.received])).toEqual([
      ['2001:db8::9:1', 6050, 'UDP', undefined],
      ['192.0.2.1', undefined, 'UDP', undefined],
      ['2001:db8::9:255', undefined, 'TCP', '192.0.2.200'],
    ]);
  });

  it('SDP bodies: Content-Length frames the datagram (original and fixed copies)', () => {
    for (const [file, length, real] of [
      ['ipv6-in-sdp.dat', 241, 251],
      ['mult-ip-in-sdp.dat', 181, 189],
      ['ipv4-mapped-ipv6.dat', 236, 245],
    ] as const) {
      expect(req(v6('valid'), file).body.length).toBe(length);
      const fixed = req(v6('content-length-fixed'), file);
      expect(fixed.body.length).toBe(real);
      expect(Buffer.from(fixed.body).toString('latin1')).toContain('IN IP6');
    }
    expect(req(v6('valid'), 'ipv4-mapped-ipv6.dat').via().host).toBe('::ffff:192.0.2.10');
  });

  it('ipv6-bug-abnf-3-colons is tolerated, the 2-colon form accepted', () => {
    const a = req(v6('valid'), 'ipv6-bug-abnf-3-colons.dat');
    expect((a.requestUri as SipUri).host).toBe('2001:db8:::192.0.2.1');
    const b = req(v6('valid'), 'ipv6-correct-abnf-2-colons.dat');
    expect((b.requestUri as SipUri).host).toBe('2001:db8::192.0.2.1');
    expect(parseNameAddr(b.header('To')!).uri).toBe('sip:user@[2001:db8::192.0.2.1]');
  });
});

describe.skipIf(!present)('every indexed file', () => {
  const listed = [
    ...indexedFiles(T4475).map((f) => [T4475, f] as const),
    ...indexedFiles(T5118).map((f) => [T5118, f] as const),
  ];

  it('the INDEX files list every message on disk', () => {
    // 49 RFC messages, the archive's test.dat and the baddn variant
    expect(indexedFiles(T4475)).toHaveLength(51);
    expect(indexedFiles(T5118)).toHaveLength(12);
    for (const sub of ['valid', 'invalid']) {
      for (const f of readdirSync(join(T4475, sub))) expect(indexedFiles(T4475)).toContain(`${sub}/${f}`);
    }
  });

  it.each(listed)('%s/%s: valid parses and round-trips, invalid is refused or flagged', (dir, file) => {
    const input = readFileSync(join(dir, file));
    if (file.startsWith('valid/')) {
      const m = parseMessage(input) as Msg;
      expect(validateMessage(m)).toBeUndefined();
      // serialize unchanged -> the same message; after a change -> an equivalent one
      const again = parseMessage(serializeMessage(m)) as Msg;
      expect(again.headerEntries()).toEqual(m.headerEntries());
      m.appendHeader('X-Touched', '1');
      const changed = parseMessage(serializeMessage(m)) as Msg;
      expect(changed.header('x-touched')).toBe('1');
      expect(Buffer.compare(Buffer.from(changed.body), Buffer.from(m.body))).toBe(0);
      expect(changed.callId()).toBe(m.callId());
    } else {
      let outcome: 'refused' | 'flagged' | 'accepted' = 'accepted';
      try {
        const m = parseMessage(input) as Msg;
        // semantically broken but well-formed: a typed accessor must flag it
        if (validateMessage(m) !== undefined) outcome = 'flagged';
      } catch (e) {
        expect((e as Error).name).toBe('SipParseError');
        outcome = 'refused';
      }
      expect(outcome).not.toBe('accepted');
    }
  });
});
