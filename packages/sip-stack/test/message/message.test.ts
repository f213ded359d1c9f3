import { describe, expect, it } from 'vitest';
import {
  createErrorResponse,
  createRequest,
  createResponse,
  DEFAULT_SIP_PARSE_LIMITS,
  formatNameAddr,
  formatVia,
  generateBranch,
  generateCallId,
  generateTag,
  isRfc3261Branch,
  parseMessage,
  reasonPhrase,
  type SipParseError,
  SipRequest,
  SipResponse,
  serializeMessage,
} from '../../src/message/index.js';

const CRLF = '\r\n';

function lines(...l: string[]): string {
  return l.join(CRLF);
}

const SDP = lines(
  'v=0',
  'o=- 1 1 IN IP4 192.0.2.1',
  's=-',
  'c=IN IP4 192.0.2.1',
  't=0 0',
  'm=audio 4000 RTP/AVP 0',
  '',
);

const INVITE = lines(
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds, SIP/2.0/TCP p1.example.com;branch=z9hG4bK1',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Record-Route: <sip:p1.example.com;lr>',
  'Date: Sat, 13 Nov 2010 23:29:00 GMT',
  'WWW-Authenticate: Digest realm="a", nonce="b"',
  'Supported: replaces',
  'k: timer',
  'Content-Type: application/sdp',
  `Content-Length: ${SDP.length}`,
  '',
  SDP,
);

function parseRequest(text: string | Uint8Array): SipRequest {
  const m = parseMessage(text);
  if (!(m instanceof SipRequest)) throw new Error('expected a request');
  return m;
}

function parseError(text: string | Uint8Array, limits?: Parameters<typeof parseMessage>[1]): SipParseError {
  try {
    parseMessage(text, limits);
  } catch (e) {
    expect((e as Error).name).toBe('SipParseError');
    return e as SipParseError;
  }
  throw new Error('expected a SipParseError');
}

describe('parseMessage', () => {
  it('reads the request line, headers and body', () => {
    const m = parseRequest(INVITE);
    expect(m.isRequest).toBe(true);
    expect(m.isResponse).toBe(false);
    expect(m.type).toBe('request');
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:bob@biloxi.example.com');
    expect(m.requestUri).toMatchObject({ scheme: 'sip', user: 'bob', host: 'biloxi.example.com' });
    expect(Buffer.from(m.body).toString()).toBe(SDP);
    expect(m.via().branch).toBe('z9hG4bK776asdhds');
    expect(m.via().host).toBe('pc33.atlanta.example.com');
    expect(m.from().tag).toBe('1928301774');
    expect(m.to().tag).toBeUndefined();
    expect(m.callId()).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(m.cseq()).toEqual({ seq: 314159, method: 'INVITE' });
    expect(m.maxForwards()).toBe(70);
    expect(m.contentLength()).toBe(SDP.length);
  });

  it('header() and headers(): names in any case, compact forms, lists split only where the grammar is a list', () => {
    const m = parseRequest(INVITE);
    expect(m.header('via')).toBe('SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds');
    expect(m.header('V')).toBe(m.header('Via'));
    expect(m.headers('Via')).toEqual([
      'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
      'SIP/2.0/TCP p1.example.com;branch=z9hG4bK1',
    ]);
    expect(m.header('f')).toBe('Alice <sip:alice@atlanta.example.com>;tag=1928301774');
    expect(m.header('I')).toBe(m.callId());
    expect(m.headers('Supported')).toEqual(['replaces', 'timer']);
    expect(m.supported()).toEqual(['replaces', 'timer']);
    expect(m.headers('Date')).toEqual(['Sat, 13 Nov 2010 23:29:00 GMT']);
    expect(m.header('www-authenticate')).toBe('Digest realm="a", nonce="b"');
    expect(m.wwwAuthenticates()[0].params.get('nonce')).toBe('b');
    expect(m.header('X-Absent')).toBeUndefined();
    expect(m.headers('X-Absent')).toEqual([]);
    expect(m.hasHeader('l')).toBe(true);
    expect(m.vias().map((v) => v.transport)).toEqual(['UDP', 'TCP']);
    expect(m.recordRoutes()[0].uri).toBe('sip:p1.example.com;lr');
    expect(m.date()?.getUTCFullYear()).toBe(2010);
  });

  it('responses', () => {
    const text = lines(
      'SIP/2.0 180 Ringing',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1',
      'To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
      'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710',
      'CSeq: 314159 INVITE',
      'Content-Length: 0',
      '',
      '',
    );
    const m = parseMessage(text);
    expect(m).toBeInstanceOf(SipResponse);
    if (!m.isResponse) throw new Error('narrowing');
    expect(m.status).toBe(180);
    expect(m.reason).toBe('Ringing');
    expect(m.to().tag).toBe('a6c85cf');
    expect(m.via().received).toBe('192.0.2.1');
    expect(m.body.length).toBe(0);
  });

  it('unfolds folded lines and trims values', () => {
    const m = parseRequest(
      INVITE.replace('Subject', 'X').replace(
        'Supported: replaces',
        'Subject:   a\r\n\t b  \r\n   c  \r\nSupported: replaces',
      ),
    );
    expect(m.header('Subject')).toBe('a b c');
    expect(m.header('s')).toBe('a b c');
  });

  it('keeps header names as written, whitespace before the colon left out (RFC 3261 7.3.1)', () => {
    const text = lines(
      'OPTIONS sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1',
      'X-Vendor \t: one',
      'v : SIP/2.0/UDP other.example.com',
      'From: <sip:alice@example.com>;tag=1',
      'To: <sip:bob@example.com>',
      'Call-ID: abc',
      'CSeq: 1 OPTIONS',
      'x-vendor: two',
      'Content-Length: 0',
      '',
      '',
    );
    const m = parseRequest(text);
    expect(m.headerEntries().map(([name]) => name)).toEqual([
      'Via',
      'X-Vendor',
      'v',
      'From',
      'To',
      'Call-ID',
      'CSeq',
      'x-vendor',
      'Content-Length',
    ]);
    expect(m.headers('X-VENDOR')).toEqual(['one', 'two']);
    expect(m.vias().map((v) => v.host)).toEqual(['host.example.com', 'other.example.com']);
    m.removeHeader('x-vendor');
    expect(m.headerCount).toBe(7);
    expect(Buffer.from(serializeMessage(m)).toString('latin1')).toContain(
      `${CRLF}v : SIP/2.0/UDP other.example.com${CRLF}`,
    );
  });

  it('tolerates leading CRLFs and LF-only line ends in the header section', () => {
    const m = parseRequest(`\r\n\r\n${INVITE}`);
    expect(m.method).toBe('INVITE');
    const lf = parseRequest(
      INVITE.replace(SDP, '')
        .replaceAll('\r\n', '\n')
        .replace(/Content-Length: \d+/, 'Content-Length: 0'),
    );
    expect(lf.callId()).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  });

  it('keeps bodies binary-safe and zero-copy', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 13, 10, 13, 10, 0x80]);
    const head = INVITE.slice(0, INVITE.indexOf('\r\n\r\n') + 4).replace(
      /Content-Length: \d+/,
      `Content-Length: ${body.length}`,
    );
    const input = Buffer.concat([Buffer.from(head), body]);
    const m = parseRequest(input);
    expect(Buffer.compare(Buffer.from(m.body), body)).toBe(0);
    expect(m.body.buffer).toBe(input.buffer);
    expect(Buffer.compare(Buffer.from(serializeMessage(m)), input)).toBe(0);
  });

  it('decodes UTF-8 header values', () => {
    const m = parseRequest(INVITE.replace('From: Alice', 'From: "Alïce 日本"'));
    expect(m.from().displayName).toBe('Alïce 日本');
    expect(m.body.length).toBe(SDP.length);
  });

  it('refuses what the transaction layer cannot trust, with positions and partial values', () => {
    const noCallId = parseError(INVITE.replace(/Call-ID:.*\r\n/, ''));
    expect(noCallId.code).toBe('missing-header');
    expect(noCallId.canRespond).toBe(true);
    expect(noCallId.partial?.via).toHaveLength(1);
    expect(noCallId.partial?.cseq).toBe('314159 INVITE');

    const badCseq = parseError(INVITE.replace('CSeq: 314159 INVITE', 'CSeq: 314159 BYE'));
    expect(badCseq.code).toBe('cseq-mismatch');
    expect(badCseq.line).toBe(7);
    expect(badCseq.offset).toBe(INVITE.indexOf('CSeq:'));
    expect(badCseq.message).toMatch(/line 7/);

    expect(parseError(INVITE.replace('Max-Forwards: 70', 'Max-Forwards: 256')).code).toBe('header-value');
    expect(parseError(INVITE.replace('Max-Forwards: 70', 'Max-Forwards: x')).code).toBe('header-value');
    expect(parseError(INVITE.replace('Call-ID: a84b', 'Call-ID: a8 4b')).code).toBe('header-value');
    expect(parseError(INVITE.replace('Max-Forwards: 70', 'Max-Forwards 70')).code).toBe('header-line');
    // a continuation line joins the Via above it: the top value still parses, the second one does not
    const folded = parseRequest(INVITE.replace('Max-Forwards: 70', ' folded: 1'));
    expect(() => folded.vias()).toThrow(expect.objectContaining({ name: 'SipParseError', line: 2 }));
    expect(parseError(INVITE.replace('SIP/2.0\r\n', 'SIP/2.0\r\n x: 1\r\n')).code).toBe('header-line');
    expect(parseError(INVITE.replace('Max-Forwards: 70', 'Bad Name: 1')).code).toBe('header-line');
    // a non-token octet in a name that looks like a known header (found by the property test)
    expect(parseError(Buffer.from(INVITE.replace('Supported: replaces', 'Contac\u00ff: x'), 'latin1')).code).toBe(
      'header-line',
    );
    expect(parseError(INVITE.replace(SDP, SDP.slice(1))).code).toBe('content-length');
    expect(parseError(INVITE.replace('INVITE sip', 'INVITE  sip')).code).toBe('start-line');
    expect(parseError(INVITE.replace('SIP/2.0\r\n', 'SIP/3.0\r\n')).status).toBe(505);
    expect(parseError('SIP/2.0 99 Low\r\n\r\n').code).toBe('status-code');
    expect(parseError('SIP/2.0 2000 OK\r\n\r\n').code).toBe('status-code');
    expect(parseError('').code).toBe('incomplete');
    expect(parseError(INVITE.slice(0, INVITE.indexOf('\r\n\r\n'))).code).toBe('incomplete');
    const response = parseError(lines('SIP/2.0 200 OK', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', '', ''));
    expect(response.canRespond).toBe(false);
  });

  it('never trusts a Content-Length beyond the datagram or the limit', () => {
    expect(parseError(INVITE.replace(/Content-Length: \d+/, 'Content-Length: 99999999999')).code).toBe(
      'content-length',
    );
    expect(parseError(INVITE.replace(/Content-Length: \d+/, 'Content-Length: -1')).fatal).toBe(true);
    // absent in a datagram: the body is the rest (RFC 3261 18.3)
    const m = parseRequest(INVITE.replace(/Content-Length: \d+\r\n/, ''));
    expect(m.body.length).toBe(SDP.length);
    // absent on a framed message: the frame ends the body
    const s = parseMessage(INVITE.replace(/Content-Length: \d+\r\n/, ''), { framing: 'stream' });
    expect(s.body.length).toBe(SDP.length);
  });
});

describe('limits (checked before the work they guard)', () => {
  it('defaults', () => {
    expect(DEFAULT_SIP_PARSE_LIMITS).toEqual({ maxMessageSize: 65536, maxHeaders: 256, maxLineLength: 8192 });
  });

  it('message size', () => {
    const e = parseError(INVITE, { limits: { maxMessageSize: 100 } });
    expect(e.code).toBe('message-too-large');
    expect(parseError(new Uint8Array(70000)).code).toBe('message-too-large');
    expect(parseError('x'.repeat(70000)).code).toBe('message-too-large');
  });

  it('header count', () => {
    const many = INVITE.replace('Max-Forwards: 70', Array.from({ length: 300 }, (_, i) => `X-H${i}: ${i}`).join(CRLF));
    expect(parseError(many).code).toBe('too-many-headers');
    expect(parseError(INVITE, { limits: { maxHeaders: 5 } }).code).toBe('too-many-headers');
    expect(parseRequest(many.replace(/X-H2\d\d: \d+\r\n/g, '')).headers('X-H199')).toEqual(['199']);
  });

  it('line length', () => {
    const long = INVITE.replace('Supported: replaces', `X-Long: ${'a'.repeat(9000)}`);
    expect(parseError(long).code).toBe('line-too-long');
    expect(parseError(INVITE, { limits: { maxLineLength: 40 } }).code).toBe('line-too-long');
    expect(parseError(`INVITE sip:${'a'.repeat(10000)}@x SIP/2.0\r\n\r\n`).code).toBe('line-too-long');
  });
});

describe('mutation and serialization', () => {
  it('returns the received bytes while unchanged', () => {
    const input = Buffer.from(INVITE);
    const m = parseRequest(input);
    expect(Buffer.compare(Buffer.from(serializeMessage(m)), input)).toBe(0);
    expect(m.raw).toBeDefined();
  });

  it('set, append, prepend, remove headers; Content-Length follows the body', () => {
    const m = parseRequest(INVITE);
    m.prependHeader('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy');
    m.setHeader('Max-Forwards', '69');
    m.appendHeader('X-Custom', 'one');
    m.appendHeader('X-Custom', 'two');
    expect(m.removeHeader('Record-Route')).toBe(1);
    expect(m.removeHeader('X-Missing')).toBe(0);
    m.body = Buffer.from('hello');
    expect(m.raw).toBeUndefined();
    const out = parseRequest(serializeMessage(m));
    expect(out.via().host).toBe('proxy.example.com');
    expect(out.vias()).toHaveLength(3);
    expect(out.maxForwards()).toBe(69);
    expect(out.headers('x-custom')).toEqual(['one', 'two']);
    expect(out.header('Record-Route')).toBeUndefined();
    expect(out.contentLength()).toBe(5);
    expect(Buffer.from(out.body).toString()).toBe('hello');
    // typed caches follow the edits
    expect(m.maxForwards()).toBe(69);
    expect(m.via().host).toBe('proxy.example.com');
  });

  it('keeps the received Request-URI through a header change made before it was read', () => {
    const m = parseRequest(INVITE);
    const uri = parseRequest(INVITE).uri;
    m.setHeader('Max-Forwards', '69');
    expect(m.uri).toBe(uri);
    expect(parseRequest(serializeMessage(m)).uri).toBe(uri);
    expect(serializeMessage(m).length).toBeGreaterThan(uri.length);
  });

  it('removeFirstValue strips one value of a comma-joined line', () => {
    const m = parseRequest(INVITE);
    expect(m.removeFirstValue('Via')).toBe('SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds');
    expect(m.headers('Via')).toEqual(['SIP/2.0/TCP p1.example.com;branch=z9hG4bK1']);
    expect(m.removeFirstValue('v')).toBe('SIP/2.0/TCP p1.example.com;branch=z9hG4bK1');
    expect(m.hasHeader('Via')).toBe(false);
  });

  it('changing the start line re-serializes', () => {
    const m = parseRequest(INVITE);
    m.uri = 'sip:bob@192.0.2.4:5060';
    const out = parseRequest(serializeMessage(m));
    expect(out.uri).toBe('sip:bob@192.0.2.4:5060');
    expect(out.body.length).toBe(SDP.length);
  });

  it('refuses header injection through values and names', () => {
    const m = parseRequest(INVITE);
    expect(() => m.setHeader('X', 'a\r\nVia: evil')).toThrow(expect.objectContaining({ name: 'SipParseError' }));
    expect(() => m.appendHeader('Bad Name', 'x')).toThrow(expect.objectContaining({ name: 'SipParseError' }));
    const r = new SipResponse(200, 'OK\r\nVia: evil');
    expect(() => serializeMessage(r)).toThrow(expect.objectContaining({ code: 'start-line' }));
  });
});

describe('builders', () => {
  const random = (n: number) => new Uint8Array(n).fill(0xab);

  it('identifiers', () => {
    expect(generateBranch(random)).toBe(`z9hG4bK${'ab'.repeat(12)}`);
    expect(isRfc3261Branch(generateBranch())).toBe(true);
    expect(isRfc3261Branch('z9hG4bK')).toBe(false);
    expect(isRfc3261Branch('Z9hG4bKx')).toBe(false);
    expect(isRfc3261Branch(undefined)).toBe(false);
    expect(generateBranch()).not.toBe(generateBranch());
    expect(generateTag(random)).toBe('ab'.repeat(8));
    expect(generateCallId('host.example.com', random)).toBe(`${'ab'.repeat(16)}@host.example.com`);
    expect(reasonPhrase(486)).toBe('Busy Here');
    expect(reasonPhrase(499)).toBe('Client Error');
  });

  it('pooled identifiers are hex of fresh octets across pool refills', () => {
    // more than one pool (4096 octets) and many hex spans, identifiers of three sizes interleaved
    const seen = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const tag = generateTag();
      const branch = generateBranch();
      const callId = generateCallId();
      expect(tag).toMatch(/^[0-9a-f]{16}$/);
      expect(branch).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
      expect(callId).toMatch(/^[0-9a-f]{32}$/);
      for (const id of [tag, branch, callId]) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    }
  });

  it('createRequest writes what RFC 3261 8.1.1 requires', () => {
    const r = createRequest({
      method: 'INVITE',
      uri: 'sip:bob@biloxi.example.com',
      from: { uri: 'sip:alice@atlanta.example.com', displayName: 'Alice "A"' },
      to: { uri: 'sip:bob@biloxi.example.com' },
      via: { transport: 'udp', host: '2001:db8::1', port: 5060, branch: 'z9hG4bKabc', rport: true },
      contact: { uri: 'sip:alice@192.0.2.1' },
      cseq: 7,
      headers: [['Supported', 'replaces']],
      body: SDP,
      contentType: 'application/sdp',
      random,
    });
    const back = parseRequest(serializeMessage(r));
    expect(back.via()).toMatchObject({
      transport: 'UDP',
      host: '2001:db8::1',
      port: 5060,
      branch: 'z9hG4bKabc',
      rport: null,
    });
    expect(back.from().displayName).toBe('Alice "A"');
    expect(back.from().tag).toBe('ab'.repeat(8));
    expect(back.to().tag).toBeUndefined();
    expect(back.cseq()).toEqual({ seq: 7, method: 'INVITE' });
    expect(back.maxForwards()).toBe(70);
    expect(back.callId()).toBe('ab'.repeat(16));
    expect(back.contacts()[0].uri).toBe('sip:alice@192.0.2.1');
    expect(back.contentType()?.subtype).toBe('sdp');
    expect(Buffer.from(back.body).toString()).toBe(SDP);
    expect(formatVia({ transport: 'tcp', host: 'h', branch: 'z9hG4bK1' })).toBe('SIP/2.0/TCP h;branch=z9hG4bK1');
    expect(formatNameAddr({ uri: 'sip:a@b', tag: 't', params: { expires: '60' } })).toBe('<sip:a@b>;expires=60;tag=t');
  });

  it('createResponse copies per RFC 3261 8.2.6 and 12.1.1', () => {
    const invite = parseRequest(INVITE.replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nTimestamp: 54'));
    const trying = createResponse(invite, 100);
    expect(trying.reason).toBe('Trying');
    expect(trying.to().tag).toBeUndefined();
    expect(trying.header('Timestamp')).toBe('54');
    expect(trying.header('Record-Route')).toBeUndefined();
    const ringing = createResponse(invite, 180, undefined, { toTag: 'totag1' });
    expect(ringing.headers('Via')).toEqual(invite.headers('Via'));
    expect(ringing.to().tag).toBe('totag1');
    expect(ringing.from().tag).toBe('1928301774');
    expect(ringing.callId()).toBe(invite.callId());
    expect(ringing.cseq()).toEqual(invite.cseq());
    expect(ringing.recordRoutes()[0].uri).toBe('sip:p1.example.com;lr');
    const busy = createResponse(invite, 486);
    expect(busy.header('Record-Route')).toBeUndefined();
    expect(busy.to().tag).toMatch(/^[0-9a-f]{16}$/);
    const ok = createResponse(invite, 200, 'OK', {
      body: SDP,
      contentType: 'application/sdp',
      headers: [['Contact', '<sip:bob@192.0.2.4>']],
    });
    const back = parseMessage(serializeMessage(ok));
    expect(back.isResponse && back.status).toBe(200);
    expect(back.contacts()[0].uri).toBe('sip:bob@192.0.2.4');
    expect(back.body.length).toBe(SDP.length);
    // the To-tag of an in-dialog request is kept
    const bye = parseRequest(
      INVITE.replace('To: Bob <sip:bob@biloxi.example.com>', 'To: <sip:bob@b>;tag=x1').replaceAll('INVITE', 'BYE'),
    );
    expect(createResponse(bye, 200).to().tag).toBe('x1');
  });

  it('createErrorResponse answers a refused request from its partial values', () => {
    const e = parseError(INVITE.replace('CSeq: 314159 INVITE', 'CSeq: 314159 BYE'));
    const answer = createErrorResponse(e, random)!;
    expect(answer.status).toBe(400);
    expect(answer.reason).toMatch(/^Bad Request \(/);
    expect(answer.headers('Via')).toHaveLength(2);
    expect(answer.to().tag).toBe('ab'.repeat(8));
    const back = parseMessage(serializeMessage(answer));
    expect(back.callId()).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  });
});
