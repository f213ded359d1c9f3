// Property tests (fast-check): round trips, robustness against mutated torture messages, and stream framing that
// does not depend on where reads are split.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_ROOT } from '../../../../tests/support/conformance.js';
import {
  parseMessage,
  type SipParseError,
  SipRequest,
  SipResponse,
  type SipStreamFrame,
  SipStreamFramer,
  serializeMessage,
} from '../../src/message/index.js';

type Msg = SipRequest | SipResponse;

const tokenChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~");
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
const hostLabel = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
  minLength: 1,
  maxLength: 10,
});
const host = fc.array(hostLabel, { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
const user = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'),
  minLength: 1,
  maxLength: 10,
});
const sipUri = fc
  .record({
    scheme: fc.constantFrom('sip', 'sips'),
    user: fc.option(user, { nil: undefined }),
    host,
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    lr: fc.boolean(),
  })
  .map(
    (u) =>
      `${u.scheme}:${u.user === undefined ? '' : `${u.user}@`}${u.host}${u.port === undefined ? '' : `:${u.port}`}${u.lr ? ';lr' : ''}`,
  );
// printable values (no CR/LF), with UTF-8, no leading/trailing whitespace (values are returned trimmed)
const valueChar = fc.oneof(
  fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~;:,"<>/?=@[]{}()\\\t'),
  fc.constantFrom('é', '日', 'ж', '€'),
);
const headerValue = fc
  .string({ unit: valueChar, maxLength: 40 })
  .map((v) => v.trim())
  .filter((v) => v.length > 0);
const extraHeader = fc.tuple(
  token.map((n) => `X-${n}`),
  headerValue,
);
const body = fc.uint8Array({ maxLength: 200 });

const message = fc.record({
  request: fc.boolean(),
  method: token,
  uri: sipUri,
  status: fc.integer({ min: 100, max: 699 }),
  reason: fc.string({ unit: valueChar, maxLength: 20 }).map((r) => r.trim()),
  branch: token,
  fromTag: token,
  callId: token,
  seq: fc.integer({ min: 0, max: 4294967295 }),
  extra: fc.array(extraHeader, { maxLength: 8 }),
  body,
});

type Generated = typeof message extends fc.Arbitrary<infer T> ? T : never;

function build(g: Generated): Msg {
  const headers: Array<[string, string]> = [
    ['Via', `SIP/2.0/UDP ${'h.example.com'};branch=z9hG4bK${g.branch}`],
    ['From', `<${g.uri}>;tag=${g.fromTag}`],
    ['To', `<${g.uri}>`],
    ['Call-ID', g.callId],
    ['CSeq', `${g.seq} ${g.method}`],
    ...g.extra,
    ['Content-Length', String(g.body.length)],
  ];
  return g.request
    ? new SipRequest(g.method, g.uri, headers, g.body)
    : new SipResponse(g.status, g.reason, headers, g.body);
}

function same(a: Msg, b: Msg): void {
  expect(b.isRequest).toBe(a.isRequest);
  if (a instanceof SipRequest && b instanceof SipRequest) {
    expect(b.method).toBe(a.method);
    expect(b.uri).toBe(a.uri);
  }
  if (a instanceof SipResponse && b instanceof SipResponse) {
    expect(b.status).toBe(a.status);
    expect(b.reason).toBe(a.reason);
  }
  expect(b.headerEntries()).toEqual(a.headerEntries());
  expect(Buffer.compare(Buffer.from(b.body), Buffer.from(a.body))).toBe(0);
}

describe('round trip', () => {
  it('parseMessage(serializeMessage(m)) equals m', () => {
    fc.assert(
      fc.property(message, (g) => {
        const m = build(g);
        const parsed = parseMessage(serializeMessage(m)) as Msg;
        same(m, parsed);
        // and again from the parsed form (raw bytes path)
        same(parsed, parseMessage(serializeMessage(parsed)) as Msg);
        for (const [name, value] of g.extra) expect(parsed.headers(name)).toContain(value);
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });
});

const ROOT = CONFORMANCE_ROOT;
const corpus: Buffer[] = [];
for (const dir of ['rfc4475/valid', 'rfc4475/invalid', 'rfc5118/valid', 'rfc5118/invalid']) {
  const path = join(ROOT, dir);
  if (!existsSync(path)) continue;
  for (const f of readdirSync(path)) if (f.endsWith('.dat')) corpus.push(readFileSync(join(path, f)));
}

/** Parses and reads every typed accessor; anything thrown must be a SipParseError. */
function exercise(bytes: Uint8Array): void {
  let m: Msg;
  try {
    m = parseMessage(bytes, { limits: { maxMessageSize: 4096, maxHeaders: 64, maxLineLength: 1024 } }) as Msg;
  } catch (e) {
    expect((e as SipParseError).name).toBe('SipParseError');
    expect(typeof (e as SipParseError).code).toBe('string');
    return;
  }
  for (const read of [
    () => m.vias(),
    () => m.contacts(),
    () => m.routes(),
    () => m.recordRoutes(),
    () => m.contentType(),
    () => m.expires(),
    () => m.authorizations(),
    () => m.wwwAuthenticates(),
    () => m.allow(),
    () => m.require(),
    () => m.event(),
    () => m.subscriptionState(),
    () => m.referTo(),
    () => m.replaces(),
    () => m.sessionExpires(),
    () => m.date(),
    () => (m instanceof SipRequest ? m.requestUri : undefined),
  ]) {
    try {
      read();
    } catch (e) {
      expect((e as Error).name).toBe('SipParseError');
    }
  }
  // serializing a parsed message and changing it never throws
  m.appendHeader('X-Fuzz', '1');
  parseMessage(serializeMessage(m));
}

describe.skipIf(corpus.length === 0)('robustness against mutated torture messages', () => {
  const mutation = fc.record({
    file: fc.nat({ max: corpus.length - 1 }),
    edits: fc.array(
      fc.record({
        kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'dup'),
        at: fc.nat(),
        byte: fc.constantFrom(0, 9, 10, 13, 32, 34, 44, 58, 59, 60, 62, 92, 0x80, 0xff, 65),
        len: fc.integer({ min: 1, max: 40 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  });

  it('only SipParseError ever escapes', () => {
    fc.assert(
      fc.property(mutation, ({ file, edits }) => {
        let b = Buffer.from(corpus[file]);
        for (const e of edits) {
          const at = b.length === 0 ? 0 : e.at % b.length;
          if (e.kind === 'flip') b[at] = e.byte;
          else if (e.kind === 'insert')
            b = Buffer.concat([b.subarray(0, at), Buffer.alloc(e.len, e.byte), b.subarray(at)]);
          else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)]);
          else if (e.kind === 'truncate') b = b.subarray(0, at);
          else b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + e.len * 10), b.subarray(at)]);
        }
        exercise(b);
      }),
      { numRuns: 400, seed: 20261122 },
    );
  });

  it('every truncation of every message', () => {
    for (const bytes of corpus) for (let n = 0; n <= bytes.length; n += 7) exercise(bytes.subarray(0, n));
  });
});

describe('stream framing is independent of read boundaries', () => {
  it('the same messages whatever the split points', () => {
    const wellFormed = corpus.filter((b) => {
      try {
        const m = parseMessage(b);
        return m.contentLength() === m.body.length;
      } catch {
        return false;
      }
    });
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: Math.max(0, wellFormed.length - 1) }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        (picks, cuts, pings) => {
          const parts: Buffer[] = [];
          for (const p of picks) {
            if (pings) parts.push(Buffer.from('\r\n\r\n'));
            // a stream carries exactly Content-Length octets of body
            const m = parseMessage(wellFormed[p]);
            parts.push(Buffer.from(serializeMessage(m)));
          }
          const stream = Buffer.concat(parts);
          const whole = frames(new SipStreamFramer(), [stream]);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let last = 0;
          for (const p of points) {
            chunks.push(stream.subarray(last, p));
            last = p;
          }
          chunks.push(stream.subarray(last));
          const framer = new SipStreamFramer();
          expect(frames(framer, chunks)).toEqual(whole);
          expect(whole.filter((f) => f !== 'ping')).toHaveLength(picks.length);
          expect(framer.buffered).toBe(0);
        },
      ),
      { numRuns: 200, seed: 20261122 },
    );
  });
});

function frames(framer: SipStreamFramer, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    for (const f of framer.push(c) as Iterable<SipStreamFrame>) {
      out.push(f === 'keepalive' ? 'ping' : `${f.callId()}|${f.headerCount}|${Buffer.from(f.body).toString('hex')}`);
    }
  }
  return out;
}

describe('request methods taken from the request-line bytes', () => {
  // the parser answers INVITE, ACK, BYE and OPTIONS with constant strings; any other token (near misses included:
  // other case, one letter changed, prefixes) must come out exactly as received (RFC 3261 7.1: case-sensitive)
  const common = ['INVITE', 'ACK', 'BYE', 'OPTIONS'];
  const nearMiss = fc
    .record({ base: fc.constantFrom(...common), at: fc.nat(), char: tokenChar, cut: fc.boolean() })
    .map(({ base, at, char, cut }) => {
      const k = at % base.length;
      return cut ? base.slice(0, k + 1) : base.slice(0, k) + char + base.slice(k + 1);
    });
  const method = fc.oneof(fc.constantFrom(...common), nearMiss, token);
  it('the parsed method is the token as written', () => {
    fc.assert(
      fc.property(method, (name) => {
        const m = parseMessage(
          `${name} sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n` +
            `From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x@y\r\nCSeq: 1 ${name}\r\n` +
            'Content-Length: 0\r\n\r\n',
        ) as SipRequest;
        expect(m.method).toBe(name);
        expect(m.cseq().method).toBe(name);
      }),
      { numRuns: 400, seed: 20261206 },
    );
  });
});

describe('the byte path of an all-ASCII message and the text path agree', () => {
  // An ASCII datagram is checked on its bytes (the byte scanners, Call-ID, the short lines found without indexOf);
  // the same message with a UTF-8 Subject (RFC 3261 7.3.1) is checked on its decoded text. Both must accept the
  // same messages with the same values, and refuse the same ones with the same error.
  const ws = fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom(' ', '\t', ' \t') },
  );
  const callId = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('c1@load', 'a8f3c1f3a9b2c@192.0.2.20', 'x') },
    { weight: 1, arbitrary: fc.constantFrom('', 'a b', 'a\tb', ' ', 'x\x00y') },
  );
  const line = (name: string, value: fc.Arbitrary<string>) =>
    fc.tuple(ws, value, ws).map(([a, v, b]) => `${name}:${a}${v}${b}\r\n`);
  const message = fc
    .tuple(
      line('Via', fc.constantFrom('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1;rport', 'SIP/2.0/UDP h;branch=x;ttl=1')),
      line('Max-Forwards', fc.constantFrom('70', '0', '255', '256', 'x', '')),
      line('From', fc.constantFrom('<sip:a@b>;tag=1', '"A" <sip:a@b>;tag=2', 'sip:a@b;tag=3', '<sip:a@b')),
      line('To', fc.constantFrom('<sip:c@d>', '<sip:c@d>;tag=x')),
      line('Call-ID', callId),
      line('CSeq', fc.constantFrom('1 OPTIONS', '2 OPTIONS', '1 INVITE', 'x OPTIONS')),
      line('Content-Length', fc.constantFrom('0', '00', '', 'x', '5')),
    )
    .map((lines) => lines.join(''));
  type Outcome = { error: string } | { values: unknown[] };
  function outcome(bytes: Buffer): Outcome {
    try {
      const m = parseMessage(bytes);
      const v = m.via();
      const from = m.from();
      const to = m.to();
      return {
        values: [m.callId(), m.cseq(), v.branch, v.host, v.port, v.rport, from.uri, from.tag, to.uri, to.tag],
      };
    } catch (e) {
      const err = e as SipParseError;
      return { error: `${err.code} ${err.detail} ${err.line}` };
    }
  }
  it('the same values and the same refusals', () => {
    let accepted = 0;
    fc.assert(
      fc.property(message, (headers) => {
        const start = 'OPTIONS sip:a@example.com SIP/2.0\r\n';
        const ascii = outcome(Buffer.from(`${start}${headers}\r\n`, 'latin1'));
        const utf8 = outcome(Buffer.from(`${start}${headers}Subject: caf\u00e9\r\n\r\n`, 'utf8'));
        expect(ascii).toEqual(utf8);
        if ('values' in ascii) accepted++;
      }),
      { numRuns: 1500, seed: 20261206 },
    );
    // enough messages parse for the comparison of values to mean something
    expect(accepted).toBeGreaterThan(60);
  });
});
