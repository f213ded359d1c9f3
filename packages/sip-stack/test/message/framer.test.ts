import { describe, expect, it } from 'vitest';
import { type SipRequest, type SipStreamFrame, SipStreamFramer } from '../../src/message/index.js';

function options(callId: string, body = ''): string {
  return [
    'OPTIONS sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: <sip:bob@biloxi.example.com>',
    'From: <sip:alice@atlanta.example.com>;tag=1928301774',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    `l: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

function collect(framer: SipStreamFramer, chunk: Uint8Array | string): Array<string> {
  const out: string[] = [];
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  for (const f of framer.push(bytes)) out.push(describeFrame(f));
  return out;
}

function describeFrame(f: SipStreamFrame): string {
  return f === 'keepalive' ? 'ping' : `${(f as SipRequest).callId()}:${Buffer.from(f.body).toString()}`;
}

describe('SipStreamFramer (RFC 3261 18.3, RFC 5626 3.5.1)', () => {
  it('several messages and keep-alives in one read', () => {
    const framer = new SipStreamFramer();
    const input = `\r\n\r\n${options('a', 'hello')}${options('b')}\r\n\r\n\r\n${options('c', 'x\r\n\r\ny')}`;
    expect(collect(framer, input)).toEqual(['ping', 'a:hello', 'b:', 'ping', 'c:x\r\n\r\ny']);
    expect(framer.buffered).toBe(0);
  });

  it('partial reads, byte by byte', () => {
    const framer = new SipStreamFramer();
    const input = Buffer.from(options('a', 'body-bytes') + options('b', 'more'));
    const out: string[] = [];
    for (let i = 0; i < input.length; i++) out.push(...collect(framer, input.subarray(i, i + 1)));
    expect(out).toEqual(['a:body-bytes', 'b:more']);
  });

  it('a lone CRLF (pong) is skipped, not reported', () => {
    const framer = new SipStreamFramer();
    expect(collect(framer, '\r\n')).toEqual([]);
    expect(collect(framer, options('a'))).toEqual(['a:']);
    const split = new SipStreamFramer();
    expect(collect(split, '\r\n')).toEqual([]);
    expect(collect(split, '\r\n')).toEqual(['ping']);
  });

  it('refuses an oversized Content-Length before buffering the body', () => {
    const framer = new SipStreamFramer({ limits: { maxMessageSize: 1000 } });
    const head = options('a').replace('l: 0', 'l: 5000');
    let error: unknown;
    try {
      collect(framer, head);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'SipParseError', code: 'message-too-large', fatal: true });
    expect(framer.failed).toBe(true);
    expect(framer.buffered).toBe(0);
    expect(() => collect(framer, options('b'))).toThrow(expect.objectContaining({ code: 'stream-closed' }));
  });

  it('a header section that never ends is refused at the size limit', () => {
    const framer = new SipStreamFramer({ limits: { maxMessageSize: 2000 } });
    expect(collect(framer, 'OPTIONS sip:a@b SIP/2.0\r\n')).toEqual([]);
    expect(() => {
      for (let i = 0; i < 100; i++) collect(framer, `X-Filler: ${'y'.repeat(50)}\r\n`);
    }).toThrow(expect.objectContaining({ code: 'message-too-large', fatal: true }));
  });

  it('negative and conflicting Content-Length are fatal (RFC 4475 3.1.2.3, 3.3.9)', () => {
    for (const bad of ['l: -5', 'l: five', 'l: 5\r\nContent-Length: 6']) {
      const framer = new SipStreamFramer();
      expect(() => collect(framer, options('a').replace('l: 0', bad))).toThrow(
        expect.objectContaining({ name: 'SipParseError', fatal: true }),
      );
    }
  });

  it('a malformed but well-framed message is thrown, and the stream goes on', () => {
    const framer = new SipStreamFramer();
    const bad = options('a').replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
    const frames: string[] = [];
    let error: unknown;
    try {
      for (const f of framer.push(Buffer.from(options('x') + bad + options('b')))) frames.push(describeFrame(f));
    } catch (e) {
      error = e;
    }
    expect(frames).toEqual(['x:']);
    expect(error).toMatchObject({ code: 'cseq-mismatch', fatal: false, canRespond: true });
    expect(framer.failed).toBe(false);
    expect(collect(framer, '')).toEqual(['b:']);
  });

  it('a missing Content-Length on a stream reads as 0', () => {
    const framer = new SipStreamFramer();
    const m = options('a').replace('l: 0\r\n', '');
    expect(collect(framer, m + options('b'))).toEqual(['a:', 'b:']);
  });
});
