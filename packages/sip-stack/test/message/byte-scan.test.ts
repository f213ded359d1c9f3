// The byte scanners (the parser's fast path for ASCII messages) against the general text parsers: wherever a byte
// scanner returns a value it equals the text parser's, and where the text parser refuses, the byte scanner
// declines (returns undefined) so the caller reports the text parser's error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cseqBytes, fromToBytes, fromToWire, viaBytes, viaWire } from '../../src/message/byte-scan.js';
import { cseqAt, fromToAt, StampedViaValue, type ViaValue, viaAt } from '../../src/message/headers.js';

const FIELDS = [
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
  'displayName',
  'uri',
  'bracketed',
  'star',
  'expires',
  'q',
  'tag',
  'seq',
  'method',
] as const;

function view(v: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of FIELDS) if (k in v) out[k] = (v as Record<string, unknown>)[k];
  if ('params' in v) out.params = [...(v as { params: Map<string, unknown> }).params];
  return out;
}

/** Runs both on `value` placed inside a longer text (as in a message), at a byte offset in a larger buffer. */
function compare<T extends object>(
  value: string,
  bytesScan: (b: Uint8Array, off: number, s: string, start: number, end: number) => T | undefined,
  textScan: (s: string, start: number, end: number) => T,
): void {
  const text = `X: ${value}\r\n`;
  const start = 3;
  const end = 3 + value.length;
  const buf = Buffer.alloc(text.length + 5);
  buf.write(text, 5, 'latin1');
  const fast = bytesScan(buf, 5, text, start, end);
  let slow: T | undefined;
  try {
    slow = textScan(text, start, end);
  } catch {
    slow = undefined;
  }
  if (slow === undefined) expect(fast).toBeUndefined();
  else if (fast !== undefined) expect(view(fast)).toEqual(view(slow));
}

const ws = fc.constantFrom('', '', ' ', '\t', '  ');
const pname = fc.constantFrom('branch', 'BRANCH', 'tag', 'Tag', 'rport', 'received', 'maddr', 'ttl', 'lr', 'x', 'tagx');
const pvalue = fc.constantFrom(
  '',
  'z9hG4bK776',
  '5060',
  '65536',
  '192.0.2.1',
  'abc',
  '"q"',
  '"a\\"b"',
  '300',
  'a"b',
  'a<b',
  'a>b',
  'a,b',
);
const param = fc
  .tuple(ws, pname, ws, fc.option(fc.tuple(ws, pvalue)))
  .map(([a, n, b, v]) => `;${a}${n}${b}${v === null ? '' : `=${v[0]}${v[1]}`}`);
const params = fc.tuple(fc.array(param, { maxLength: 4 }), fc.constantFrom('', '', ', next', ' ', 'junk'));
const host = fc.constantFrom(
  '192.0.2.101',
  'pbx.example.test',
  '[2001:db8::1]',
  '256.1.1.1',
  '1.2.3',
  'a_b',
  '',
  '01.2.3.4',
);
const via = fc
  .tuple(
    ws,
    fc.constantFrom('SIP/2.0/', 'sip/2.0/', 'SIP / 2.0 / '),
    fc.constantFrom('UDP', 'udp', 'TcP', 'TLS', 'WS', 'wss', 'SCTP', 'XYZ', ''),
    fc.constantFrom(' ', '\t', '', '  '),
    host,
    fc.constantFrom('', ':5060', ': 5060', ':99999', ':', ' :5060'),
    params,
  )
  .map(([a, p, t, s, h, port, [ps, tail]]) => `${a}${p}${t}${s}${h}${port}${ps.join('')}${tail}`);
const uri = fc.constantFrom('sip:1000@pbx.example.test', 'sip:a@b;transport=udp', 'sip:a b@c', 'tel:+123', '', 'x>y');
const display = fc.constantFrom('', '"Alice Smith" ', '"Al\\"ice" ', 'Alice ', 'Alice Smith', '"open ', 'Bob\t', '"x"');
const fromTo = fc
  .tuple(
    ws,
    fc.oneof(
      fc.tuple(display, uri).map(([d, u]) => `${d}<${u}>`),
      uri,
    ),
    params,
  )
  .map(([a, v, [ps, tail]]) => `${a}${v}${ps.join('')}${tail}`);
const cseq = fc
  .tuple(
    ws,
    fc.constantFrom('314159', '0', '4294967295', '4294967296', '', '12a'),
    fc.constantFrom(' ', '', '\t'),
    fc.constantFrom('INVITE', 'invite', 'BYE', '', 'INV ITE', 'INVITE '),
  )
  .map((p) => p.join(''));

// Values near the usual wire form (no whitespace, the common params), where the one-loop scanners take most.
const wireParam = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('branch', 'rport', 'received', 'tag', 'lr') },
      { weight: 1, arbitrary: fc.constantFrom('maddr', 'ttl', 'Branch', 'RPORT', 'x-y', '', 'a"b') },
    ),
    fc.option(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('z9hG4bK-ld1o', '5060', '192.0.2.1', 'x@y') },
        { weight: 1, arbitrary: fc.constantFrom('0', '65536', 'abc', '"q"', '', 'a,b', 'a b', '-') },
      ),
    ),
  )
  .map(([n, v]) => `;${n}${v === null ? '' : `=${v}`}`);
const wireTail = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom(' ', ', SIP/2.0/UDP h', ';', '\t', ',') },
);
const wireVia = fc
  .tuple(
    fc.constantFrom('SIP/2.0/UDP ', 'SIP/2.0/TCP ', 'SIP/2.0/TLS ', 'SIP/2.0/udp ', 'SIP/2.0/WS ', 'SIP/2.0/UDP  '),
    fc.constantFrom(
      '127.0.0.1',
      '192.0.2.101',
      'pbx.example.test',
      '127.0.0.1',
      'a_b',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      'host-1',
      '',
      '[2001:db8::1]',
    ),
    fc.constantFrom('', ':5060', ':5999', ':65535', ':65536', ':', ':005060', ':0', ' :5060', ':50a'),
    fc.array(wireParam, { maxLength: 3 }),
    wireTail,
  )
  .map(([p, h, port, ps, tail]) => `${p}${h}${port}${ps.join('')}${tail}`);
const wireFromTo = fc
  .tuple(
    fc.constantFrom(
      '<sip:load@127.0.0.1>',
      '<sip:a@b;transport=udp>',
      '<>',
      '<sip:a b@c>',
      '<sip:a@b',
      'sip:a@b',
      ' <sip:a@b>',
    ),
    fc.array(wireParam, { maxLength: 3 }),
    wireTail,
  )
  .map(([u, ps, tail]) => `${u}${ps.join('')}${tail}`);

/** Where the one-loop scanner returns a value, the byte scanner returns the same (and so the text parser does). */
function compareWire<T extends object>(
  value: string,
  wire: (b: Uint8Array, off: number, s: string, start: number, end: number) => T | undefined,
  bytesScan: (b: Uint8Array, off: number, s: string, start: number, end: number) => T | undefined,
): boolean {
  const text = `X: ${value}\r\n`;
  const buf = Buffer.alloc(text.length + 7);
  buf.write(text, 7, 'latin1');
  const fast = wire(buf, 7, text, 3, 3 + value.length);
  if (fast === undefined) return false;
  const general = bytesScan(buf, 7, text, 3, 3 + value.length);
  expect(general).toBeDefined();
  expect(view(fast)).toEqual(view(general as T));
  return true;
}

describe('one-loop scanners of the usual wire form agree with the byte scanners', () => {
  it('Via', () => {
    let taken = 0;
    fc.assert(
      fc.property(wireVia, (v) => {
        if (compareWire(v, viaWire, viaBytes)) taken++;
        compare(v, viaWire, viaAt);
      }),
      { numRuns: 4000 },
    );
    // the generator reaches the fast form often enough for the comparison to mean something
    expect(taken).toBeGreaterThan(100);
  });

  it('From / To', () => {
    let taken = 0;
    fc.assert(
      fc.property(wireFromTo, (v) => {
        if (compareWire(v, fromToWire, fromToBytes)) taken++;
        compare(v, fromToWire, fromToAt);
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(100);
  });

  it('Via: vouches for its text as stamped only where the general path writes the same', () => {
    let vouched = 0;
    // stamps whose rport= was appended because the scan saw `;rport` last (the general path searches for it)
    let rportFilled = 0;
    fc.assert(
      fc.property(wireVia, fc.constantFrom(undefined, 5999), (v, rport) => {
        const text = `X: ${v}\r\n`;
        const buf = Buffer.alloc(text.length + 7);
        buf.write(text, 7, 'latin1');
        const fast = viaWire(buf, 7, text, 3, 3 + v.length) as ViaValue | undefined;
        // what the scan says of the params is what plainParams finds (it says plain only where that is so)
        if (fast?.paramsPlain) expect(fast.plainParams()).toBeDefined();
        if (fast?.wireText() === undefined) return;
        vouched++;
        if (fast.rportLast && rport !== undefined) rportFilled++;
        const general = viaBytes(buf, 7, text, 3, 3 + v.length) as ViaValue;
        expect(general.wireText()).toBeUndefined();
        expect(fast.plainParams()).toBe(general.plainParams());
        const a = new StampedViaValue(fast, '192.0.2.9', rport);
        const b = new StampedViaValue(general, '192.0.2.9', rport);
        expect(a.text).toBe(b.text);
        expect([...a.params]).toEqual([...b.params]);
      }),
      { numRuns: 4000 },
    );
    // the generator reaches the vouched form often enough for the comparison to mean something
    expect(vouched).toBeGreaterThan(100);
    // the same with `;rport` last, as a request Via usually ends (rport= appended where the scan saw it last)
    fc.assert(
      fc.property(wireVia, fc.constantFrom(undefined, 5999), (v, rport) => {
        const value = v.endsWith(';rport') ? v : `${v};rport`;
        const text = `X: ${value}\r\n`;
        const buf = Buffer.alloc(text.length + 7);
        buf.write(text, 7, 'latin1');
        const fast = viaWire(buf, 7, text, 3, 3 + value.length) as ViaValue | undefined;
        if (fast?.wireText() === undefined) return;
        if (fast.rportLast && rport !== undefined) rportFilled++;
        const general = viaBytes(buf, 7, text, 3, 3 + value.length) as ViaValue;
        expect(new StampedViaValue(fast, '192.0.2.9', rport).text).toBe(
          new StampedViaValue(general, '192.0.2.9', rport).text,
        );
      }),
      { numRuns: 2000 },
    );
    expect(rportFilled).toBeGreaterThan(20);
  });

  it('takes the usual forms', () => {
    const text = 'X: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-ld7o;rport\r\n';
    const v = viaWire(Buffer.from(text, 'latin1'), 0, text, 3, text.length - 2);
    expect(v?.branch).toBe('z9hG4bK-ld7o');
    expect(v?.rport).toBeNull();
    expect(v?.port).toBe(5999);
    expect(v?.hostType).toBe('ipv4');
    const f = 'X: <sip:load@127.0.0.1>;tag=ld7\r\n';
    expect(fromToWire(Buffer.from(f), 0, f, 3, f.length - 2)?.tag).toBe('ld7');
  });

  it('keeps the first of repeated params as the byte scanners do', () => {
    const vias = [
      'SIP/2.0/UDP h:1;rport=5060;rport',
      'SIP/2.0/UDP h:1;rport;rport=5061',
      'SIP/2.0/UDP h;branch=a;branch=b;received=1.2.3.4;received=5.6.7.8',
      'SIP/2.0/UDP h;maddr=a;maddr=b;tag=x;tag',
    ];
    for (const v of vias) expect(compareWire(v, viaWire, viaBytes)).toBe(true);
    for (const v of ['<sip:a@b>;tag=1;tag=2', '<sip:a@b>;x;tag=1;tag']) {
      expect(compareWire(v, fromToWire, fromToBytes)).toBe(true);
    }
  });
});

describe('byte scanners agree with the text parsers', () => {
  it('Via', () => {
    fc.assert(
      fc.property(via, (v) => compare(v, viaBytes, viaAt)),
      { numRuns: 3000 },
    );
  });

  it('From / To', () => {
    fc.assert(
      fc.property(fromTo, (v) => compare(v, fromToBytes, fromToAt)),
      { numRuns: 3000 },
    );
  });

  it('CSeq', () => {
    for (const method of ['INVITE', undefined]) {
      fc.assert(
        fc.property(cseq, (v) =>
          compare(
            v,
            (b, off, s, start, end) => cseqBytes(b, off, s, start, end, method),
            (s, start, end) => cseqAt(s, start, end, method),
          ),
        ),
        { numRuns: 1000 },
      );
    }
  });

  it('CSeq with the method compared to the request line bytes gives what the string compare gives', () => {
    fc.assert(
      fc.property(cseq, fc.constantFrom('INVITE', 'BYE', 'INVITEX', 'INVIT', 'invite'), (v, method) => {
        // the method at text index 0, as in a request line; the CSeq value on the next line
        const text = `${method} sip:a@b SIP/2.0\r\nCSeq: ${v}\r\n`;
        const start = text.indexOf('CSeq: ') + 6;
        const buf = Buffer.alloc(text.length + 5);
        buf.write(text, 5, 'latin1');
        const bytes = cseqBytes(buf, 5, text, start, start + v.length, method, 0);
        const chars = cseqBytes(buf, 5, text, start, start + v.length, method);
        expect(bytes).toEqual(chars);
      }),
      { numRuns: 1000 },
    );
  });

  it('takes the usual forms itself', () => {
    const text = 'X: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776;rport\r\n';
    const b = Buffer.from(text, 'latin1');
    const v = viaBytes(b, 0, text, 3, text.length - 2);
    expect(v?.branch).toBe('z9hG4bK776');
    expect(v?.rport).toBeNull();
    expect(v?.port).toBe(5060);
    const f = 'X: "Alice" <sip:a@b>;tag=1\r\n';
    expect(fromToBytes(Buffer.from(f), 0, f, 3, f.length - 2)?.tag).toBe('1');
  });
});
