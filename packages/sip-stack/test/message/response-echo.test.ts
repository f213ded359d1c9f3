// A response to a parsed request keeps the repeated lines (RFC 3261 8.2.6.2) as places in the request's text and is
// written from them; a received request's received/rport (RFC 3261 18.2.1, RFC 3581 4) is recorded and written into
// its top Via only when read. Both must be invisible: every result here is compared with the string path, taken by
// a code-built copy of the same request (no received text, so nothing to keep places in).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stampVia } from '../../src/message/builders.js';
import {
  createResponse,
  parseMessage,
  type SipMessage,
  SipParseError,
  SipRequest,
  type SipResponse,
  serializeMessage,
} from '../../src/message/index.js';
import { flatString } from '../../src/message/serializer.js';
import { stampReceived } from '../../src/transport/transport-layer.js';
import type { SipEndpoint } from '../../src/transport/types.js';

const CRLF = '\r\n';
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/** The same request built by code from what the parsed one reads (the string path everywhere). */
function codeBuilt(m: SipRequest): SipRequest {
  return new SipRequest(m.method, m.uri, m.headerEntries(), new Uint8Array(m.body));
}

/** How the transport stamped a request before received/rport were recorded for later: the line rewritten at once. */
function eagerStamp(request: SipRequest, source: SipEndpoint): void {
  const via = request.via();
  const fillRport = via.rport === null;
  if (!fillRport && via.host.toLowerCase() === source.address.toLowerCase()) return;
  const stamped = stampVia(via, source.address, fillRport ? source.port : undefined);
  request.replaceFirstValue('via', stamped.text);
  request._topVia = stamped.via;
}

const SOURCE: SipEndpoint = { protocol: 'udp', address: '198.51.100.7', port: 40123 };

const sep = fc.constantFrom(': ', ':', ' : ', ':\t', ':   ', '\t:  ');
const trail = fc.constantFrom('', '', ' ', '\t', '  ');
const token = fc.stringMatching(/^[a-z0-9]{1,8}$/);

const viaValue = fc
  .record({
    host: fc.constantFrom('192.0.2.1', '198.51.100.7', 'pc33.example.test', '[2001:db8::9]'),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    branch: token,
    rport: fc.constantFrom('', ';rport', ';rport=5060', ';RPORT'),
    extra: fc.constantFrom('', ';received=203.0.113.1', ';x="q v"', ';lr', ';ttl=5;maddr=239.0.0.1'),
    ws: fc.constantFrom('', ' '),
  })
  .map(({ host, port, branch, rport, extra, ws }) => {
    const sentBy = port === undefined ? host : `${host}:${port}`;
    return `SIP/2.0/UDP ${sentBy}${ws};branch=z9hG4bK${branch}${rport}${extra}`;
  });

/** One header line (or a folded one) with any spelling, separator and trailing whitespace. */
function line(names: readonly string[], value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .record({ name: fc.constantFrom(...names), sep, value, trail, fold: fc.boolean() })
    .map(({ name, sep, value, trail, fold }) => {
      if (fold) {
        const cut = value.indexOf(';');
        if (cut > 0) return `${name}${sep}${value.slice(0, cut)}${CRLF} ${value.slice(cut)}${trail}`;
      }
      return `${name}${sep}${value}${trail}`;
    });
}

const viaLines = fc
  .array(
    fc.array(viaValue, { minLength: 1, maxLength: 3 }).chain((values) =>
      line(
        ['Via', 'v', 'VIA', 'via'],
        fc.constantFrom(', ', ',', ' ,  ').map((j) => values.join(j)),
      ),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((lines) => lines);

const requestText = fc
  .record({
    method: fc.constantFrom('OPTIONS', 'INVITE', 'MESSAGE', 'BYE', 'SUBSCRIBE'),
    vias: viaLines,
    between: fc.constantFrom('', `Max-Forwards: 70${CRLF}`, `Max-Forwards :  70 ${CRLF}`),
    from: line(
      ['From', 'f', 'FROM'],
      fc.constantFrom('<sip:alice@example.test>;tag=a1', '"Al ice" <sip:alice@example.test>;tag=88', 'sip:a@b;tag=x'),
    ),
    to: line(
      ['To', 't', 'to'],
      fc.constantFrom('<sip:bob@example.test>', 'Bob <sip:bob@example.test>;tag=b2', 'sip:bob@example.test'),
    ),
    callId: line(['Call-ID', 'i', 'call-id'], fc.constantFrom('c1@192.0.2.1', 'abc', '9f8e7d')),
    cseqNum: fc.integer({ min: 1, max: 99999 }),
    cseqName: fc.constantFrom('CSeq', 'cseq'),
    cseqSep: sep,
    rr: fc.constantFrom(
      '',
      `Record-Route: <sip:p1.example.test;lr>${CRLF}`,
      `Record-Route: <sip:p1;lr>, <sip:p2;lr>${CRLF}`,
    ),
    ts: fc.constantFrom('', `Timestamp: 54 0.5${CRLF}`),
    contact: fc.constantFrom('', `Contact: <sip:alice@192.0.2.1>${CRLF}`, `m: <sip:alice@192.0.2.1>${CRLF}`),
    body: fc.constantFrom('', 'v=0\r\n'),
  })
  .map((r) => {
    const head =
      `${r.method} sip:bob@example.test SIP/2.0${CRLF}` +
      r.vias.map((v) => `${v}${CRLF}`).join('') +
      r.between +
      `${r.from}${CRLF}${r.to}${CRLF}${r.callId}${CRLF}` +
      `${r.cseqName}${r.cseqSep}${r.cseqNum} ${r.method}${CRLF}` +
      r.rr +
      r.ts +
      r.contact +
      (r.body === '' ? '' : `Content-Type: application/sdp${CRLF}`) +
      `Content-Length: ${r.body.length}${CRLF}${CRLF}`;
    return head + r.body;
  });

const responseOptions = fc.record({
  status: fc.constantFrom(100, 180, 200, 202, 404, 486),
  toTag: fc.option(token, { nil: undefined }),
  headers: fc.constantFrom(
    undefined,
    [
      ['Allow', 'INVITE, ACK, CANCEL, OPTIONS, BYE'],
      ['Accept', 'application/sdp'],
      ['Supported', 'replaces, timer'],
    ] as Array<[string, string]>,
    [['Contact', '<sip:uas@192.0.2.9>']] as Array<[string, string]>,
  ),
  body: fc.constantFrom(undefined, 'v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\n'),
  stamp: fc.boolean(),
  source: fc.constantFrom(SOURCE, { protocol: 'udp', address: '192.0.2.1', port: 5060 } as SipEndpoint),
});

/** Same random source for both paths: the generated To-tags must agree too. */
function counter(): (n: number) => Uint8Array {
  let i = 0;
  return (n) => Uint8Array.from({ length: n }, () => i++ & 0xff);
}

/** What a TU reads of a Via (the public fields). */
function viaFields(m: SipMessage) {
  const v = m.via();
  const { protocol, version, transport, host, hostType, port, branch, received, rport, maddr, ttl } = v;
  return {
    protocol,
    version,
    transport,
    host,
    hostType,
    port,
    branch,
    received,
    rport,
    maddr,
    ttl,
    params: [...v.params],
  };
}

function observations(m: SipMessage) {
  return {
    entries: m.headerEntries(),
    count: m.headerCount,
    vias: m.headers('via'),
    via: viaFields(m),
    vias2: m.vias().map((v) => [v.host, v.branch, v.received, v.rport]),
    to: m.header('to'),
  };
}

describe('stamped Via text', () => {
  it("writes each source's own rport and received, one after another (RFC 3581 4)", () => {
    const request = (n: number) =>
      parseMessage(
        latin1(
          `OPTIONS sip:a@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.${n}:5060;branch=z9hG4bK${n};rport\r\n` +
            `From: <sip:b@192.0.2.8>;tag=f\r\nTo: <sip:a@192.0.2.9>\r\nCall-ID: c${n}\r\nCSeq: 1 OPTIONS\r\n` +
            'Content-Length: 0\r\n\r\n',
        ),
      ) as SipRequest;
    const sources: SipEndpoint[] = [SOURCE, SOURCE, { protocol: 'udp', address: '192.0.2.1', port: 5060 }, SOURCE];
    sources.forEach((source, n) => {
      const r = request(n);
      stampReceived(r, source);
      expect(r.header('via')).toBe(
        `SIP/2.0/UDP 10.0.0.${n}:5060;branch=z9hG4bK${n};rport=${source.port};received=${source.address}`,
      );
    });
  });
});

describe('responses written from the request text, stamps written when read', () => {
  it('give the bytes and header lines of the string path for generated requests', () => {
    fc.assert(
      fc.property(requestText, responseOptions, (wire, o) => {
        const fast = parseMessage(latin1(wire)) as SipRequest;
        const slow = codeBuilt(parseMessage(latin1(wire)) as SipRequest);
        const eager = parseMessage(latin1(wire)) as SipRequest;
        if (o.stamp) {
          stampReceived(fast, o.source);
          stampReceived(slow, o.source);
          eagerStamp(eager, o.source);
        }
        const options = { headers: o.headers, body: o.body, contentType: o.body && 'application/sdp' };
        const a = createResponse(fast, o.status, undefined, { ...options, toTag: o.toTag, random: counter() });
        const b = createResponse(slow, o.status, undefined, { ...options, toTag: o.toTag, random: counter() });
        expect(text(serializeMessage(a))).toBe(text(serializeMessage(b)));
        // read after writing: the lines come out of the request text as they went into the datagram
        expect(observations(a)).toEqual(observations(b));
        expect(text(serializeMessage(a))).toBe(text(serializeMessage(b)));
        // the request reads and writes as when the stamp was written at once
        expect(observations(fast)).toEqual(observations(slow));
        expect(observations(fast)).toEqual(observations(eager));
        expect(fast.raw === undefined).toBe(eager.raw === undefined);
        expect(text(serializeMessage(fast))).toBe(text(serializeMessage(eager)));
      }),
      { numRuns: 400 },
    );
  });

  it('stay equal to the string path when the response or the request is edited', () => {
    fc.assert(
      fc.property(requestText, responseOptions, fc.integer({ min: 0, max: 3 }), (wire, o, edit) => {
        const fast = parseMessage(latin1(wire)) as SipRequest;
        const slow = codeBuilt(parseMessage(latin1(wire)) as SipRequest);
        stampReceived(fast, o.source);
        stampReceived(slow, o.source);
        const a = createResponse(fast, o.status, undefined, { headers: o.headers, random: counter() });
        const b = createResponse(slow, o.status, undefined, { headers: o.headers, random: counter() });
        const edits: Array<(r: SipResponse, q: SipRequest) => void> = [
          (r) => r.setHeader('Contact', '<sip:edited@192.0.2.5>'),
          (r) => r.removeFirstValue('Via'),
          (_r, q) => q.setHeader('To', '<sip:changed@example.test>'),
          (r) => r.appendHeader('Record-Route', '<sip:late.example.test;lr>'),
        ];
        edits[edit](a, fast);
        edits[edit](b, slow);
        expect(text(serializeMessage(a))).toBe(text(serializeMessage(b)));
        expect(a.headerEntries()).toEqual(b.headerEntries());
      }),
      { numRuns: 200 },
    );
  });

  it('go out again as written, and as edited when edited once written (a 2xx retransmitted until its ACK)', () => {
    fc.assert(
      fc.property(requestText, responseOptions, fc.integer({ min: 0, max: 5 }), (wire, o, edit) => {
        const fast = parseMessage(latin1(wire)) as SipRequest;
        const slow = codeBuilt(parseMessage(latin1(wire)) as SipRequest);
        stampReceived(fast, o.source);
        stampReceived(slow, o.source);
        const a = createResponse(fast, o.status, undefined, { headers: o.headers, random: counter() });
        const b = createResponse(slow, o.status, undefined, { headers: o.headers, random: counter() });
        const first = text(serializeMessage(a));
        expect(first).toBe(text(serializeMessage(b)));
        expect(text(serializeMessage(a))).toBe(first);
        const edits: Array<(r: SipResponse) => void> = [
          (r) => {
            r.status = 486;
          },
          (r) => {
            r.reason = 'Changed';
          },
          // a body of the length the lines were written for (none): the same octets again
          (r) => {
            r.body = new Uint8Array(0);
          },
          (r) => {
            r.body = latin1('v=0\r\n');
          },
          (r) => r.setHeader('Contact', '<sip:edited@192.0.2.5>'),
          (r) => r.removeFirstValue('Via'),
        ];
        edits[edit](a);
        edits[edit](b);
        expect(text(serializeMessage(a))).toBe(text(serializeMessage(b)));
        expect(a.headerEntries()).toEqual(b.headerEntries());
      }),
      { numRuns: 200 },
    );
  });

  it('carry received and rport in the response Via (RFC 3581 4), from the stamp recorded on receipt', () => {
    const wire =
      `OPTIONS sip:bob@example.test SIP/2.0${CRLF}Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKs1;rport${CRLF}` +
      `From: <sip:a@example.test>;tag=1${CRLF}To: <sip:bob@example.test>${CRLF}Call-ID: s1${CRLF}` +
      `CSeq: 7 OPTIONS${CRLF}Content-Length: 0${CRLF}${CRLF}`;
    const request = parseMessage(latin1(wire)) as SipRequest;
    stampReceived(request, SOURCE);
    expect(request.raw).toBeUndefined();
    const response = createResponse(request, 200, undefined, { toTag: 't' });
    const out = text(serializeMessage(response));
    expect(out).toContain(
      `${CRLF}Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKs1;rport=40123;received=198.51.100.7${CRLF}`,
    );
    const back = parseMessage(latin1(out));
    expect(back.via().received).toBe('198.51.100.7');
    expect(back.via().rport).toBe(40123);
    expect(response.via().received).toBe('198.51.100.7');
    // without rport: received only when the sent-by host differs (RFC 3261 18.2.1)
    const plain = parseMessage(latin1(wire.replace(';rport', ''))) as SipRequest;
    stampReceived(plain, SOURCE);
    const plainOut = text(serializeMessage(createResponse(plain, 200, undefined, { toTag: 't' })));
    expect(plainOut).toContain(`${CRLF}Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKs1;received=198.51.100.7${CRLF}`);
    expect(plainOut).not.toContain('rport');
  });

  it('write lines received as canonical neighbours as they came and others canonically, with CRLF (RFC 3261 7)', () => {
    const expected =
      `SIP/2.0 200 OK${CRLF}Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKk1;rport=40123;received=198.51.100.7${CRLF}` +
      `From: <sip:a@example.test>;tag=1${CRLF}To: <sip:bob@example.test>;tag=t9${CRLF}Call-ID: k1${CRLF}` +
      `CSeq: 7 OPTIONS${CRLF}Content-Length: 0${CRLF}${CRLF}`;
    // bare LF line ends (accepted on receipt) and a compact Call-ID break the runs of received text
    for (const nl of [CRLF, '\n']) {
      const wire = [
        'OPTIONS sip:bob@example.test SIP/2.0',
        'Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKk1;rport',
        'Max-Forwards: 70',
        'From: <sip:a@example.test>;tag=1',
        'To: <sip:bob@example.test>',
        'i: k1',
        'CSeq: 7 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join(nl);
      const request = parseMessage(latin1(wire)) as SipRequest;
      stampReceived(request, SOURCE);
      const response = createResponse(request, 200, undefined, { toTag: 't9' });
      expect(text(serializeMessage(response))).toBe(expected);
      expect(response.header('to')).toBe('<sip:bob@example.test>;tag=t9');
      expect(text(serializeMessage(response))).toBe(expected);
    }
  });

  it('refuse a NUL or lone CR in a repeated line as the string path does', () => {
    for (const bad of ['\0', '\r']) {
      const wire =
        `OPTIONS sip:bob@example.test SIP/2.0${CRLF}Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKn${bad}1${CRLF}` +
        `From: <sip:a@example.test>;tag=1${CRLF}To: <sip:bob@example.test>${CRLF}Call-ID: n1${CRLF}` +
        `CSeq: 7 OPTIONS${CRLF}Content-Length: 0${CRLF}${CRLF}`;
      const request = parseMessage(latin1(wire)) as SipRequest;
      expect(() => createResponse(request, 200)).toThrow(SipParseError);
      expect(() => createResponse(request, 200, undefined, { toTag: 'a\rb' })).toThrow(SipParseError);
    }
  });

  it('refuse a NUL or lone CR in any repeated line, the top Via stamped or not', () => {
    // the byte scanners leave such a value to the general parsers, so the line is not marked as clean
    const lines = (bad: string) => [
      [`Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKn;rport;x=a${bad}b`, 'From: <sip:a@example.test>;tag=1'],
      ['Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKn;rport', `From: <sip:a@example.test>;tag=1${bad}2`],
      ['Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKn;rport', `From: <sip:a@example.test>;tag=1;x=${bad}`],
    ];
    for (const bad of ['\0', '\r']) {
      for (const [via, from] of lines(bad)) {
        for (const callId of ['n1', `n${bad}1`]) {
          const wire =
            `OPTIONS sip:bob@example.test SIP/2.0${CRLF}${via}${CRLF}${from}${CRLF}To: <sip:bob@example.test>${CRLF}` +
            `Call-ID: ${callId}${CRLF}CSeq: 7 OPTIONS${CRLF}Content-Length: 0${CRLF}${CRLF}`;
          for (const stamp of [false, true]) {
            const request = parseMessage(latin1(wire)) as SipRequest;
            if (stamp && via.includes(bad)) {
              // such a top Via is rewritten at once, and refused there
              expect(() => stampReceived(request, SOURCE)).toThrow(SipParseError);
              continue;
            }
            if (stamp) stampReceived(request, SOURCE);
            expect(() => createResponse(request, 200)).toThrow(SipParseError);
          }
        }
      }
    }
  });
});

describe('responses written in one pass (known ASCII) and the general path (UTF-8)', () => {
  const frozen = (lines: Array<[string, string]>) =>
    Object.freeze(lines.map((l) => Object.freeze(l))) as ReadonlyArray<readonly [string, string]>;
  const options = fc.record({
    status: fc.constantFrom(180, 200, 404),
    reason: fc.constantFrom(undefined, 'OK', 'Très bien', 'Fine'),
    toTag: fc.constantFrom(undefined, 'abc', 'tåg'),
    headers: fc.constantFrom(
      undefined,
      frozen([
        ['Contact', '<sip:uas@192.0.2.9>'],
        ['Allow', 'INVITE, BYE'],
      ]),
      frozen([['Subject', 'Grüße']]),
      [['Subject', 'plain']] as Array<[string, string]>,
      [['Subject', 'Grüße']] as Array<[string, string]>,
    ),
    body: fc.constantFrom(undefined, 'v=0\r\n'),
    contentType: fc.constantFrom('application/sdp', 'text/plain; charset="ü"'),
  });
  const requests = fc.record({
    rr: fc.constantFrom('', `Record-Route: <sip:p1;lr>${CRLF}`),
    from: fc.constantFrom('<sip:a@example.test>;tag=1', '"Zoë" <sip:a@example.test>;tag=1'),
    body: fc.constantFrom('', 'v=0\r\n', 'x=é\r\n'),
  });
  it('give the bytes of the string path with non-ASCII parts, Record-Route and bodies', () => {
    fc.assert(
      fc.property(requests, options, fc.boolean(), (r, o, setBody) => {
        const wire =
          `INVITE sip:bob@example.test SIP/2.0${CRLF}Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKu1;rport${CRLF}` +
          `From: ${r.from}${CRLF}To: <sip:bob@example.test>${CRLF}Call-ID: u1${CRLF}CSeq: 1 INVITE${CRLF}${r.rr}` +
          `Content-Length: ${Buffer.byteLength(r.body)}${CRLF}${CRLF}${r.body}`;
        const fast = parseMessage(Buffer.from(wire, 'utf8')) as SipRequest;
        const slow = codeBuilt(parseMessage(Buffer.from(wire, 'utf8')) as SipRequest);
        stampReceived(fast, SOURCE);
        stampReceived(slow, SOURCE);
        const make = (q: SipRequest) =>
          createResponse(q, o.status, o.reason, {
            toTag: o.toTag,
            headers: o.headers,
            body: o.body,
            contentType: o.body && o.contentType,
            random: counter(),
          });
        const a = make(fast);
        const b = make(slow);
        if (setBody) {
          a.body = Buffer.from('late');
          b.body = Buffer.from('late');
        }
        const utf8 = (m: SipMessage) => Buffer.from(serializeMessage(m)).toString('utf8');
        expect(utf8(a)).toBe(utf8(b));
        expect(utf8(a)).toBe(utf8(a));
        expect(a.headerEntries()).toEqual(b.headerEntries());
        expect(utf8(a)).toBe(utf8(b));
      }),
      { numRuns: 300 },
    );
  });

  it('check the reason phrase when it changes after createResponse (header injection)', () => {
    const wire =
      `OPTIONS sip:bob@example.test SIP/2.0${CRLF}Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKr1${CRLF}` +
      `From: <sip:a@example.test>;tag=1${CRLF}To: <sip:bob@example.test>${CRLF}Call-ID: r1${CRLF}` +
      `CSeq: 7 OPTIONS${CRLF}Content-Length: 0${CRLF}${CRLF}`;
    const response = createResponse(parseMessage(latin1(wire)) as SipRequest, 200);
    expect(text(serializeMessage(response))).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    response.reason = 'OK\r\nX-Injected: 1';
    expect(() => serializeMessage(response)).toThrow(SipParseError);
    response.reason = 'Fine';
    response.status = 202;
    expect(text(serializeMessage(response))).toMatch(/^SIP\/2\.0 202 Fine\r\n/);
  });
});

describe('the stamped Via text', () => {
  const param = fc
    .record({
      name: fc.constantFrom('branch', 'rport', 'RPort', 'received', 'lr', 'maddr', 'ttl', 'x-y', 'comp', 'alias'),
      value: fc.constantFrom(null, 'z9hG4bK77', '5060', '203.0.113.4', '[2001:db8::1]', '"q v"', 'A.b-c', ''),
      pre: fc.constantFrom('', '', ' '),
      eq: fc.constantFrom('=', '=', ' = '),
    })
    .map(({ name, value, pre, eq }) => `${pre};${name}${value === null ? '' : `${eq}${value}`}`);
  const via = fc
    .record({
      sentBy: fc.constantFrom('192.0.2.1', '192.0.2.1:5070', 'host.example.test', '[2001:db8::9]:5061'),
      params: fc.array(param, { minLength: 1, maxLength: 6 }),
    })
    .map(({ sentBy, params }) => `SIP/2.0/UDP ${sentBy}${params.join('')}`);

  it('is what the parameter-by-parameter rewrite gives, for plain and unusual params', () => {
    fc.assert(
      fc.property(via, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), (value, rport) => {
        const wire =
          `OPTIONS sip:b@example.test SIP/2.0${CRLF}Via: ${value}${CRLF}From: <sip:a@b>;tag=1${CRLF}` +
          `To: <sip:b@example.test>${CRLF}Call-ID: v1${CRLF}CSeq: 1 OPTIONS${CRLF}${CRLF}`;
        let parsed: SipRequest;
        try {
          parsed = parseMessage(latin1(wire)) as SipRequest;
        } catch {
          return; // a Via the parser refuses is never stamped
        }
        const v = parsed.via();
        // a plain object is no ViaValue: its params go through the general rewrite
        const { protocol, version, transport, host, hostType, port, branch, received, maddr, ttl } = v;
        const copy = { protocol, version, transport, host, hostType, port, branch, received, maddr, ttl };
        const general = stampVia({ ...copy, rport: v.rport, params: v.params }, '198.51.100.7', rport);
        const stamped = stampVia(v, '198.51.100.7', rport);
        expect(stamped.text).toBe(general.text);
        expect([...stamped.via.params]).toEqual([...general.via.params]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('flatString (cached pieces of every datagram, kept in one piece)', () => {
  it('gives the same text for any string, joined or not, below 256 or not', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(flatString(a + b)).toBe(a + b);
        expect(flatString(`${a}\r\n${b}`)).toBe(`${a}\r\n${b}`);
      }),
      { numRuns: 300 },
    );
  });
});
