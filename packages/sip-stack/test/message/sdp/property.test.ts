import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createSdpAnswer,
  isSdpRtpProtocol,
  negotiateSdp,
  parseSdp,
  type SdpAttribute,
  type SdpConnection,
  type SdpMediaDescription,
  SdpParseError,
  type SdpSessionDescription,
  serializeSdp,
} from '../../../src/message/sdp/index.js';
import { ALL_FIXTURES } from './fixtures.js';

// Printable ASCII without space: what RFC 4566 allows in a token-like field.
const tokenChar = fc.integer({ min: 33, max: 126 }).map((c) => String.fromCharCode(c));
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
const tokenWithout = (bad: string) =>
  fc.string({ unit: tokenChar.filter((c) => !bad.includes(c)), minLength: 1, maxLength: 12 });

// Free text (i=, s=, a= values...): any Unicode but NUL/CR/LF, and no trailing blank (parsers drop it).
const textChar = fc.oneof(
  fc.constantFrom(' ', '\t', ':', '/', '=', '-', '|', ';'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);
const text = fc.string({ unit: textChar, maxLength: 24 }).filter((s) => !/[\0\r\n]/.test(s) && !/[ \t]$/.test(s));

const connection: fc.Arbitrary<SdpConnection> = fc.oneof(
  fc.record(
    {
      netType: fc.constant('IN'),
      addressType: fc.constant('IP4'),
      address: tokenWithout('/'),
      ttl: fc.integer({ min: 0, max: 255 }),
    },
    { requiredKeys: ['netType', 'addressType', 'address'] },
  ),
  fc
    .record({
      netType: fc.constant('IN'),
      addressType: fc.constant('IP4'),
      address: tokenWithout('/'),
      ttl: fc.integer({ min: 0, max: 255 }),
      addressCount: fc.integer({ min: 1, max: 2 ** 32 }),
    })
    .map((c) => c as SdpConnection),
  fc.record(
    {
      netType: token,
      addressType: fc.constant('IP6'),
      address: tokenWithout('/'),
      addressCount: fc.integer({ min: 1, max: 1000 }),
    },
    { requiredKeys: ['netType', 'addressType', 'address'] },
  ),
  fc.record({
    netType: token,
    addressType: token.filter((t) => !['IP4', 'IP6'].includes(t.toUpperCase())),
    address: token,
  }),
);

const bandwidths = fc.array(fc.record({ type: tokenWithout(':'), value: fc.integer({ min: 0, max: 10 ** 12 }) }), {
  maxLength: 2,
});

const attribute: fc.Arbitrary<SdpAttribute> = fc.oneof(
  fc.record({ name: tokenWithout(':') }),
  fc.record({ name: tokenWithout(':'), value: text }),
  fc.record({
    name: fc.constantFrom('rtpmap', 'fmtp', 'crypto', 'candidate', 'sendonly', 'ptime'),
    value: text,
  }),
);
const attributes = fc.array(attribute, { maxLength: 5 });
const extraLines = fc.array(fc.record({ type: fc.constantFrom('d', 'f', 'g', 'h', 'x', 'y'), value: text }), {
  maxLength: 2,
});

const media: fc.Arbitrary<SdpMediaDescription> = fc
  .record(
    {
      type: token,
      port: fc.integer({ min: 0, max: 65535 }),
      portCount: fc.integer({ min: 1, max: 65535 }),
      protocol: fc.oneof(fc.constantFrom('RTP/AVP', 'RTP/SAVP', 'UDP/TLS/RTP/SAVPF', 'udptl', 'TCP/MSRP'), token),
      rtpFormats: fc.array(fc.integer({ min: 0, max: 127 }).map(String), { minLength: 1, maxLength: 6 }),
      otherFormats: fc.array(token, { minLength: 1, maxLength: 3 }),
      information: text,
      connection,
      bandwidths,
      encryptionKey: text,
      attributes,
      extraLines,
    },
    {
      requiredKeys: [
        'type',
        'port',
        'protocol',
        'rtpFormats',
        'otherFormats',
        'bandwidths',
        'attributes',
        'extraLines',
      ],
    },
  )
  .map(({ rtpFormats, otherFormats, ...m }) => ({
    ...m,
    formats: isSdpRtpProtocol(m.protocol) ? rtpFormats : otherFormats,
  }));

const sessionDescription: fc.Arbitrary<SdpSessionDescription> = fc.record(
  {
    version: fc.constant(0),
    origin: fc.record({
      username: token,
      sessionId: token,
      sessionVersion: fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
      netType: token,
      addressType: token,
      address: token,
    }),
    sessionName: fc.oneof(text, fc.constant(' ')),
    information: text,
    uri: text,
    emails: fc.array(text, { maxLength: 2 }),
    phones: fc.array(text, { maxLength: 2 }),
    connection,
    bandwidths,
    timing: fc.array(
      fc.record({
        start: fc.integer({ min: 0, max: 2 ** 40 }),
        stop: fc.integer({ min: 0, max: 2 ** 40 }),
        repeats: fc.array(text, { maxLength: 2 }),
      }),
      { maxLength: 2 },
    ),
    timeZones: text,
    encryptionKey: text,
    attributes,
    extraLines,
    media: fc.array(media, { maxLength: 4 }),
  },
  {
    requiredKeys: [
      'version',
      'origin',
      'sessionName',
      'emails',
      'phones',
      'bandwidths',
      'timing',
      'attributes',
      'extraLines',
      'media',
    ],
  },
);

describe('SDP properties', () => {
  it('generated descriptions round-trip through serialize and parse', () => {
    fc.assert(
      fc.property(sessionDescription, (sdp) => {
        const wire = serializeSdp(sdp);
        const back = parseSdp(wire);
        expect(back).toEqual(sdp);
        expect(serializeSdp(back)).toBe(wire);
        expect(parseSdp(new TextEncoder().encode(wire))).toEqual(sdp);
      }),
      { numRuns: 300 },
    );
  });

  // Mutations that reach the parser's corners: line breaks, NUL, separators, digits, truncation, duplication.
  const insertion = fc.oneof(
    fc.constantFrom('\r', '\n', '\r\n', '\0', ' ', '\t', ':', '/', '=', 'm=', 'v=0', 'c=IN IP4 ', 'a=', '-1', '99999'),
    fc.string({ maxLength: 6 }),
  );
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), what: insertion }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swap-lines' as const), a: fc.nat(), b: fc.nat() }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

  function mutate(input: string, m: Mutation): string {
    switch (m.kind) {
      case 'insert': {
        const at = m.at % (input.length + 1);
        return input.slice(0, at) + m.what + input.slice(at);
      }
      case 'delete': {
        const at = m.at % (input.length + 1);
        return input.slice(0, at) + input.slice(at + m.length);
      }
      case 'truncate':
        return input.slice(0, m.at % (input.length + 1));
      case 'duplicate-line': {
        const lines = input.split('\r\n');
        const i = m.at % lines.length;
        lines.splice(i, 0, lines[i]);
        return lines.join('\r\n');
      }
      case 'swap-lines': {
        const lines = input.split('\r\n');
        const i = m.a % lines.length;
        const j = m.b % lines.length;
        [lines[i], lines[j]] = [lines[j], lines[i]];
        return lines.join('\r\n');
      }
    }
  }

  const source = fc.oneof(fc.constantFrom(...Object.values(ALL_FIXTURES)), sessionDescription.map(serializeSdp));

  it('mutated and truncated descriptions parse or throw SdpParseError, and what parses is stable', () => {
    fc.assert(
      fc.property(source, fc.array(mutation, { minLength: 1, maxLength: 4 }), (original, mutations) => {
        const input = mutations.reduce(mutate, original);
        let sdp: SdpSessionDescription;
        try {
          sdp = parseSdp(input);
        } catch (err) {
          expect(err).toBeInstanceOf(SdpParseError);
          expect(typeof (err as SdpParseError).code).toBe('string');
          return;
        }
        // whatever the parser accepts can be written, and writing is a fixed point
        const wire = serializeSdp(sdp);
        expect(serializeSdp(parseSdp(wire))).toBe(wire);
        // and answering it never fails on malformed attributes
        const answer = createSdpAnswer(sdp, {
          address: '10.0.0.1',
          sessionId: '1',
          media: [{ port: 4000, codecs: [{ encodingName: 'PCMU', clockRate: 8000 }], telephoneEvent: true }],
        });
        negotiateSdp(sdp, answer, 'answerer');
      }),
      { numRuns: 1500 },
    );
  });

  it('random bytes throw only SdpParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseSdp(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(SdpParseError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parses pathological long lines within the limits in linear time', () => {
    const head = 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n';
    const spaces = `${head}m=audio 4000 RTP/AVP ${'0 '.repeat(2000)}\r\n`;
    expect(parseSdp(spaces, { limits: { maxLineLength: 8192 } }).media[0].formats).toHaveLength(2000);
    const manyLines = head + 'a=x:y\r\n'.repeat(1000);
    expect(parseSdp(manyLines).attributes).toHaveLength(1000);
    expect(() => parseSdp(`${head}${'a=:\r\n'.repeat(5000)}`)).toThrow(SdpParseError);
  });
});
