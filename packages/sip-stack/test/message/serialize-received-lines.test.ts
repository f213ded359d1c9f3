// serializeMessage after an edit copies unchanged received lines: the result must read back exactly like the
// line-by-line rewrite of the same message (a fresh message built from its start line, headers and body).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseMessage,
  type SipMessage,
  SipParseError,
  SipRequest,
  SipResponse,
  serializeMessage,
} from '../../src/message/index.js';

const fixtures = join(import.meta.dirname, '../../../../bench/fixtures');
const CRLF = '\r\n';

const ODD = [
  'INVITE sip:bob@example.test SIP/2.0',
  'v:SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1 ,SIP/2.0/TCP 192.0.2.2;branch=z9hG4bK2',
  'Max-Forwards :   70   ',
  'f: <sip:alice@example.test>;tag=1',
  't: <sip:bob@example.test>',
  'i: odd@192.0.2.1',
  'CSeq: 1 INVITE',
  'Subject: folded',
  '  across two lines',
  'X-Bare: lf-ended',
].join(CRLF);
// the last header line ends with a bare LF (accepted on receipt, rewritten with CRLF)
const ODD_MESSAGE = `${ODD}\nl: 4${CRLF}${CRLF}body`;

const MESSAGES: Array<[string, Uint8Array]> = [
  ...['invite.sip', 'ringing.sip', 'ok.sip', 'register.sip'].map(
    (f) => [f, new Uint8Array(readFileSync(join(fixtures, f)))] as [string, Uint8Array],
  ),
  ['odd spacing, compact names, folding, bare LF', new TextEncoder().encode(ODD_MESSAGE)],
  [
    'UTF-8 in a header',
    new TextEncoder().encode(
      `MESSAGE sip:bob@example.test SIP/2.0${CRLF}Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKu${CRLF}From: "Zoë" <sip:z@example.test>;tag=2${CRLF}To: <sip:bob@example.test>${CRLF}Call-ID: u1${CRLF}CSeq: 2 MESSAGE${CRLF}Content-Length: 0${CRLF}${CRLF}`,
    ),
  ],
];

type Edit = (m: SipMessage) => void;
const EDITS: Array<[string, Edit]> = [
  ['set Max-Forwards', (m) => m.setHeader('Max-Forwards', '69')],
  ['set a new header', (m) => m.setHeader('X-New', 'yes')],
  ['append', (m) => m.appendHeader('X-Appended', 'a')],
  ['prepend Via', (m) => m.prependHeader('Via', 'SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKp')],
  ['remove To', (m) => m.removeHeader('To')],
  ['remove first Via', (m) => m.removeFirstValue('Via')],
  ['replace first Via', (m) => m.replaceFirstValue('Via', 'SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKr;received=1.2.3.4')],
  ['replace Call-ID', (m) => m.replaceFirstValue('Call-ID', 'replaced@example.test')],
  ['new body', (m) => (m.body = new TextEncoder().encode('new body, longer than before'))],
  ['empty body', (m) => (m.body = new Uint8Array(0))],
];

function rewrite(m: SipMessage): Uint8Array {
  const fresh =
    m instanceof SipRequest
      ? new SipRequest(m.method, m.uri, m.headerEntries(), m.body)
      : new SipResponse((m as SipResponse).status, (m as SipResponse).reason, m.headerEntries(), m.body);
  return serializeMessage(fresh);
}

/** What a receiver reads (or the error it reports: an edit may remove a header a parser needs). */
function reading(bytes: Uint8Array) {
  try {
    const m = parseMessage(bytes);
    return { start: m.startLine(), headers: m.headerEntries(), body: Array.from(m.body) };
  } catch (e) {
    if (e instanceof SipParseError) return { error: e.code, detail: e.detail };
    throw e;
  }
}

describe('serializeMessage with received lines', () => {
  it('reads back like the line-by-line rewrite after any sequence of edits', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MESSAGES),
        fc.array(fc.constantFrom(...EDITS), { minLength: 1, maxLength: 5 }),
        ([, bytes], edits) => {
          const m = parseMessage(bytes);
          for (const [, edit] of edits) edit(m);
          const out = serializeMessage(m);
          expect(reading(out)).toEqual(reading(rewrite(m)));
          // and the message itself still reads the same after serializing
          expect(reading(serializeMessage(m))).toEqual(reading(out));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps unchanged lines as received and rewrites folded, bare-LF and Content-Length lines', () => {
    const m = parseMessage(ODD_MESSAGE);
    m.setHeader('CSeq', '2 INVITE');
    const text = new TextDecoder().decode(serializeMessage(m));
    expect(text).toContain(`${CRLF}Max-Forwards :   70   ${CRLF}f: <sip:alice@example.test>;tag=1${CRLF}`);
    expect(text).toContain(
      `${CRLF}Subject: folded across two lines${CRLF}X-Bare: lf-ended${CRLF}l: 4${CRLF}${CRLF}body`,
    );
    expect(text).toContain(`${CRLF}CSeq: 2 INVITE${CRLF}`);
    expect(text.includes('\n\n')).toBe(false);
  });

  it('writes a replaced value, not the received line', () => {
    const m = parseMessage(ODD_MESSAGE);
    m.setHeader('X-Other', '1');
    m.replaceFirstValue('Call-ID', 'new-id');
    const text = new TextDecoder().decode(serializeMessage(m));
    expect(text).toContain(`${CRLF}i: new-id${CRLF}`);
    expect(text).not.toContain('odd@192.0.2.1');
  });
});
