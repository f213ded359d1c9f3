// The parser's two header-name classifiers agree: knownNameAt (used while indexing the bytes of a received
// message) and headerIdOf (used for names given by code and for non-ASCII messages).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalHeaderName, headerIdOf, knownNameAt, wireNameAt } from '../../src/message/header-names.js';
import { parseMessage } from '../../src/message/index.js';

const KNOWN: string[] = [];
for (let id = 1; canonicalHeaderName(id) !== ''; id++) KNOWN.push(canonicalHeaderName(id));
const COMPACT = 'imftvlcekso urbxyajdn'.replace(' ', '').split('');

/** knownNameAt as a name -> id function: the name followed by ":" */
function idAtLineStart(name: string, after = ':'): number {
  const b = Buffer.from(`${name}${after} x`, 'latin1');
  const r = knownNameAt(b, 0, b.length - 1);
  return r === 0 ? 0 : r >> 8 === name.length ? r & 0xff : -1;
}

const flipCase = (s: string, mask: number) =>
  [...s].map((ch, k) => ((mask >> k) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join('');

describe('header name classification', () => {
  it('finds every known long and compact name in any case, before ":", SP or HT', () => {
    for (const name of [...KNOWN, ...COMPACT]) {
      const id = headerIdOf(name, 0, name.length);
      expect(id).toBeGreaterThan(0);
      for (const mask of [0, -1, 0x55555, 0x2aaaa]) {
        const spelled = flipCase(name, mask);
        for (const after of [':', ' :', '\t:']) expect(idAtLineStart(spelled, after)).toBe(id);
      }
    }
  });

  it('agrees with headerIdOf on generated names', () => {
    const nameChar = fc.constantFrom(..."abcdefghilmnoprstuvwxyzACDEILNOSTVW-_.!%*+`~'0@\r\x00".split(''));
    const near = fc
      .tuple(fc.constantFrom(...KNOWN, ...COMPACT), fc.nat(40), fc.string({ unit: nameChar, maxLength: 2 }))
      .map(([name, at, s]) => {
        const k = at % (name.length + 1);
        return name.slice(0, k) + s + name.slice(k + (at % 2));
      });
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ unit: nameChar, minLength: 1, maxLength: 20 })), (name) => {
        const r = idAtLineStart(name);
        const isToken = /^[A-Za-z0-9\-.!%*_+`'~]+$/.test(name);
        if (r > 0) {
          // a match is the whole name and exactly the name's id
          expect(headerIdOf(name, 0, name.length)).toBe(r);
        } else if (r === 0 && isToken) {
          expect(headerIdOf(name, 0, name.length)).toBe(0);
        }
        expect(r).not.toBe(-1);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a known header written in any case from a received message', () => {
    for (const name of KNOWN.filter((n) => !['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length'].includes(n))) {
      const text = [
        'OPTIONS sip:a@example.com SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
        'From: <sip:b@example.com>;tag=1',
        'To: <sip:a@example.com>',
        'Call-ID: c1',
        'CSeq: 1 OPTIONS',
        `${flipCase(name, 0x5555)}: 70`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      const m = parseMessage(Buffer.from(text));
      expect(m.hasHeader(name)).toBe(true);
    }
  });
});

describe('wireNameAt (the exact spellings of the usual request headers)', () => {
  const mutate = (name: string, k: number, to: string): string => `${name.slice(0, k)}${to}${name.slice(k + 1)}`;
  const line = fc.tuple(
    fc.constantFrom(...KNOWN, 'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Length'),
    fc.nat(20),
    fc.constantFrom('', 'x', 'a', 'A', ':', ' ', '-', 'D', 'd'),
    fc.constantFrom(':', ' :', '\t:', ': ', 'x:', ''),
    fc.constantFrom('', ' value of some length\r\n', ' 1\r\n'),
    fc.nat(3),
  );

  it('is 0 or what knownNameAt says, for names near the usual ones', () => {
    let taken = 0;
    fc.assert(
      fc.property(line, ([name, k, to, colon, rest, pad]) => {
        const n = to === '' || k >= name.length ? name : mutate(name, k, to);
        const text = `${' '.repeat(pad)}${n}${colon}${rest}`;
        const b = Buffer.from(text, 'latin1');
        const end = Math.max(pad, b.length - 1);
        const fast = wireNameAt(b, pad, end);
        if (fast !== 0) {
          taken++;
          expect(fast).toBe(knownNameAt(b, pad, end));
        }
      }),
      { numRuns: 5000 },
    );
    expect(taken).toBeGreaterThan(100);
  });

  it('takes the canonical spellings followed by a colon', () => {
    for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Length']) {
      const b = Buffer.from(`${name}: some value here\r\n`, 'latin1');
      const r = wireNameAt(b, 0, b.length - 1);
      expect(r).not.toBe(0);
      expect(r).toBe(knownNameAt(b, 0, b.length - 1));
      expect(canonicalHeaderName(r & 0xff)).toBe(name);
      expect(r >> 8).toBe(name.length);
    }
  });
});
