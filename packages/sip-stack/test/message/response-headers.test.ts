// Extra header lines of createResponse: a frozen list is checked once and reused; anything else is checked per
// use. Either way the response is the same and a bad line is refused every time (header injection).
import { describe, expect, it } from 'vitest';
import {
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  parseMessage,
  SipParseError,
  type SipRequest,
  serializeMessage,
} from '../../src/message/index.js';

const request = (): SipRequest =>
  parseMessage(
    Buffer.from(
      'OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-1\r\n' +
        'From: <sip:b@127.0.0.1>;tag=f\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n' +
        'Content-Length: 0\r\n\r\n',
      'latin1',
    ),
  ) as SipRequest;

const text = (headers: Iterable<readonly [string, string]>) =>
  Buffer.from(serializeMessage(createResponse(request(), 200, undefined, { toTag: 't', headers }))).toString('latin1');

describe('createResponse extra headers', () => {
  it('writes a frozen list as it writes the same lines in a plain array, every time', () => {
    const lines: [string, string][] = [
      ['Allow', 'INVITE, ACK, BYE'],
      ['Accept', 'application/sdp'],
      ['X-Custom', 'v'],
    ];
    const frozen = Object.freeze(lines.map((l) => Object.freeze([l[0], l[1]] as const)));
    const plain = text(lines);
    expect(plain).toContain('\r\nAllow: INVITE, ACK, BYE\r\nAccept: application/sdp\r\nX-Custom: v\r\n');
    expect(text(frozen)).toBe(plain);
    expect(text(frozen)).toBe(plain);
    const res = createResponse(request(), 200, undefined, { headers: frozen });
    expect(res.header('x-custom')).toBe('v');
    expect(res.header('accept')).toBe('application/sdp');
  });

  it('writes what was changed after createResponse (a body, a header, a value)', () => {
    const frozen = Object.freeze([Object.freeze(['Allow', 'INVITE, BYE'] as const)]);
    const withBody = createResponse(request(), 200, undefined, { toTag: 't', headers: frozen });
    withBody.body = Buffer.from('hello');
    const a = Buffer.from(serializeMessage(withBody)).toString('latin1');
    expect(a).toMatch(/\r\nAllow: INVITE, BYE\r\nContent-Length: 5\r\n\r\nhello$/);
    expect(a.match(/Content-Length/g)).toHaveLength(1);
    const appended = createResponse(request(), 200, undefined, { toTag: 't', headers: frozen });
    appended.appendHeader('X-Later', 'y');
    expect(Buffer.from(serializeMessage(appended)).toString('latin1')).toMatch(
      /\r\nAllow: INVITE, BYE\r\n(X-Later: y\r\nContent-Length: 0|Content-Length: 0\r\nX-Later: y)\r\n\r\n$/,
    );
    const edited = createResponse(request(), 200, undefined, { toTag: 't', headers: frozen });
    edited.setHeader('Allow', 'ACK');
    const e = Buffer.from(serializeMessage(edited)).toString('latin1');
    expect(e).toContain('\r\nAllow: ACK\r\n');
    expect(e).not.toContain('INVITE, BYE');
    const none = Buffer.from(serializeMessage(createResponse(request(), 200, undefined, { toTag: 't' })));
    expect(none.toString('latin1')).toMatch(/CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n$/);
  });

  it('refuses a bad frozen line on every use, and rechecks a list that is not frozen', () => {
    const bad = Object.freeze([Object.freeze(['X-Bad', 'a\r\nInjected: 1'] as const)]);
    expect(() => text(bad)).toThrow(SipParseError);
    expect(() => text(bad)).toThrow(SipParseError);
    const badName = Object.freeze([Object.freeze(['X Bad', 'v'] as const)]);
    expect(() => text(badName)).toThrow(SipParseError);
    const open: [string, string][] = [['X-Ok', 'v']];
    expect(text(open)).toContain('X-Ok: v\r\n');
    open[0][1] = 'v\r\nInjected: 1';
    expect(() => text(open)).toThrow(SipParseError);
    // an outer frozen list whose lines can still change is not kept checked
    const inner: [string, string] = ['X-Ok', 'v'];
    const half = Object.freeze([inner]);
    expect(text(half)).toContain('X-Ok: v\r\n');
    inner[1] = 'v\nInjected: 1';
    expect(() => text(half)).toThrow(SipParseError);
  });
});

describe('random identifiers', () => {
  it('are lower-case hex of the sizes RFC 3261 8.1.1 asks for, and differ', () => {
    const tags = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const tag = generateTag();
      expect(tag).toMatch(/^[0-9a-f]{16}$/);
      tags.add(tag);
    }
    expect(tags.size).toBe(2000);
    expect(generateBranch()).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
    expect(generateCallId()).toMatch(/^[0-9a-f]{32}$/);
  });
});
