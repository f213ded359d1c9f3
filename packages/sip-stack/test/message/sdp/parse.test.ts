import { describe, expect, it } from 'vitest';
import { parseSdp, SdpParseError, SdpSerializeError, serializeSdp } from '../../../src/message/sdp/index.js';
import { ALL_FIXTURES, DESK_PHONE_OFFER, IPV6_OFFER, SRTP_OFFER, WEBRTC_OFFER } from './fixtures.js';

function parseError(input: string | Uint8Array, limits?: Parameters<typeof parseSdp>[1]): SdpParseError {
  try {
    parseSdp(input, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(SdpParseError);
    return err as SdpParseError;
  }
  throw new Error('expected an SdpParseError');
}

describe('parseSdp / serializeSdp round trip', () => {
  for (const [name, text] of Object.entries(ALL_FIXTURES)) {
    it(`reproduces ${name} byte for byte`, () => {
      expect(serializeSdp(parseSdp(text))).toBe(text);
      const bytes = new TextEncoder().encode(text);
      expect(serializeSdp(parseSdp(bytes))).toBe(text);
    });
  }

  it('normalises LF-only line ends and trailing blanks to CRLF', () => {
    const sloppy = `${DESK_PHONE_OFFER.replaceAll('\r\n', ' \n').replace('t=0 0 \n', 't=0 0\t\t\n')}\n\n`;
    expect(serializeSdp(parseSdp(sloppy))).toBe(DESK_PHONE_OFFER);
    // no final line end at all
    expect(serializeSdp(parseSdp(DESK_PHONE_OFFER.trimEnd()))).toBe(DESK_PHONE_OFFER);
  });

  it('keeps the single space of "s= " (RFC 4566 5.3)', () => {
    expect(parseSdp(IPV6_OFFER).sessionName).toBe(' ');
  });
});

describe('parseSdp model', () => {
  it('reads a desk phone offer', () => {
    const sdp = parseSdp(DESK_PHONE_OFFER);
    expect(sdp.version).toBe(0);
    expect(sdp.origin).toEqual({
      username: '-',
      sessionId: '1700000000',
      sessionVersion: '1700000000',
      netType: 'IN',
      addressType: 'IP4',
      address: '192.168.1.50',
    });
    expect(sdp.sessionName).toBe('Polycom IP Phone');
    expect(sdp.connection).toEqual({ netType: 'IN', addressType: 'IP4', address: '192.168.1.50' });
    expect(sdp.timing).toEqual([{ start: 0, stop: 0, repeats: [] }]);
    expect(sdp.attributes).toEqual([{ name: 'sendrecv' }]);
    expect(sdp.media).toHaveLength(1);
    const m = sdp.media[0];
    expect(m.type).toBe('audio');
    expect(m.port).toBe(2222);
    expect(m.portCount).toBeUndefined();
    expect(m.protocol).toBe('RTP/AVP');
    expect(m.formats).toEqual(['9', '0', '8', '18', '101']);
    expect(m.attributes[0]).toEqual({ name: 'rtpmap', value: '9 G722/8000' });
    expect(m.attributes.at(-1)).toEqual({ name: 'ptime', value: '20' });
  });

  it('reads WebRTC session attributes with odd spacing and media-level c= untouched', () => {
    const sdp = parseSdp(WEBRTC_OFFER);
    expect(sdp.connection).toBeUndefined();
    expect(sdp.attributes).toContainEqual({ name: 'msid-semantic', value: ' WMS stream1' });
    expect(sdp.attributes).toContainEqual({ name: 'extmap-allow-mixed' });
    const m = sdp.media[0];
    expect(m.connection?.address).toBe('0.0.0.0');
    expect(m.protocol).toBe('UDP/TLS/RTP/SAVPF');
    expect(m.attributes.filter((a) => a.name === 'candidate')).toHaveLength(2);
    expect(m.attributes).toContainEqual({ name: 'end-of-candidates' });
    expect(m.attributes.find((a) => a.name === 'fingerprint')?.value).toMatch(/^sha-256 7B:8B/);
  });

  it('reads IPv6, bandwidth, multicast suffixes, port counts, repeats and other RFC 4566 lines', () => {
    const text = [
      'v=0',
      'o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5',
      's=SDP Seminar',
      'i=A Seminar on the session description protocol',
      'u=http://www.example.com/seminars/sdp.pdf',
      'e=j.doe@example.com (Jane Doe)',
      'p=+1 617 555-6011',
      'c=IN IP4 224.2.17.12/127/2',
      'b=CT:1000',
      't=2873397496 2873404696',
      'r=7d 1h 0 25h',
      'z=2882844526 -1h 2898848070 0',
      'k=prompt',
      'a=recvonly',
      'm=audio 49170/2 RTP/AVP 0',
      'i=voice',
      'c=IN IP6 FF15::101/3',
      'b=AS:64',
      'k=prompt',
      'm=video 51372 RTP/AVP 99',
      'a=rtpmap:99 h263-1998/90000',
      '',
    ].join('\r\n');
    const sdp = parseSdp(text);
    expect(serializeSdp(sdp)).toBe(text);
    expect(sdp.connection).toEqual({
      netType: 'IN',
      addressType: 'IP4',
      address: '224.2.17.12',
      ttl: 127,
      addressCount: 2,
    });
    expect(sdp.media[0].connection).toEqual({
      netType: 'IN',
      addressType: 'IP6',
      address: 'FF15::101',
      addressCount: 3,
    });
    expect(sdp.media[0].portCount).toBe(2);
    expect(sdp.timing[0]).toEqual({ start: 2873397496, stop: 2873404696, repeats: ['7d 1h 0 25h'] });
    expect(sdp.emails).toEqual(['j.doe@example.com (Jane Doe)']);
    expect(sdp.phones).toEqual(['+1 617 555-6011']);
    expect(sdp.bandwidths).toEqual([{ type: 'CT', value: 1000 }]);
    expect(sdp.media[0].bandwidths).toEqual([{ type: 'AS', value: 64 }]);
    expect(sdp.timeZones).toBe('2882844526 -1h 2898848070 0');
    expect(sdp.media[0].encryptionKey).toBe('prompt');
  });

  it('keeps lines with unknown type letters at the end of their section', () => {
    const text =
      'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\na=recvonly\r\ny=0100000001\r\nf=v/2/4\r\n';
    const sdp = parseSdp(text);
    expect(sdp.media[0].extraLines).toEqual([
      { type: 'y', value: '0100000001' },
      { type: 'f', value: 'v/2/4' },
    ]);
    expect(serializeSdp(sdp)).toBe(text);
  });

  it('accepts a rejected m= line without formats and the SRTP fixture', () => {
    const sdp = parseSdp('v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=video 0 RTP/AVP\n');
    expect(sdp.media[0].formats).toEqual([]);
    expect(parseSdp(SRTP_OFFER).media[0].bandwidths).toEqual([{ type: 'AS', value: 64 }]);
  });

  it('tolerates a missing t= line and lines out of RFC order', () => {
    const sdp = parseSdp(
      'v=0\nc=IN IP4 1.2.3.4\ns=x\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\na=sendonly\nc=IN IP4 5.6.7.8\n',
    );
    expect(sdp.timing).toEqual([]);
    expect(sdp.media[0].connection?.address).toBe('5.6.7.8');
    expect(serializeSdp(sdp)).toBe(
      'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 5.6.7.8\r\na=sendonly\r\n',
    );
  });
});

describe('parseSdp errors', () => {
  const head = 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n';
  const cases: Array<[string, string, string, number | undefined]> = [
    ['empty input', '', 'empty', undefined],
    ['blank lines only', '\r\n\r\n', 'empty', undefined],
    ['o= before v=', 'o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n', 'version-first', 1],
    ['SDP version 1', 'v=1\r\n', 'version', 1],
    ['uppercase type', 'v=0\r\nO=- 1 1 IN IP4 1.2.3.4\r\n', 'line-syntax', 2],
    ['space before =', 'v=0\r\no =- 1 1 IN IP4 1.2.3.4\r\n', 'line-syntax', 2],
    ['no = at all', 'v=0\r\nhello\r\n', 'line-syntax', 2],
    ['NUL inside a line', `${head}a=x\0y\r\n`, 'line-syntax', 5],
    ['bare CR inside a line', `${head}a=x\ry\r\n`, 'line-syntax', 5],
    ['missing o=', 'v=0\r\ns=-\r\nt=0 0\r\n', 'missing-line', undefined],
    ['missing s=', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nt=0 0\r\n', 'missing-line', undefined],
    ['o= with 5 fields', 'v=0\r\no=- 1 1 IN IP4\r\n', 'origin', 2],
    ['o= version not numeric', 'v=0\r\no=- 1 x IN IP4 1.2.3.4\r\n', 'origin', 2],
    ['second o=', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\no=- 1 1 IN IP4 1.2.3.4\r\n', 'duplicate-line', 3],
    ['second v=', `${head}v=0\r\n`, 'duplicate-line', 5],
    ['second session c=', `${head}c=IN IP4 1.1.1.1\r\nc=IN IP4 1.1.1.2\r\n`, 'duplicate-line', 6],
    ['c= with 2 fields', `${head}c=IN IP4\r\n`, 'connection', 5],
    ['c= bad ttl', `${head}c=IN IP4 224.0.0.1/x\r\n`, 'connection', 5],
    ['c= IP6 with ttl and count', `${head}c=IN IP6 ff15::1/1/2\r\n`, 'connection', 5],
    ['b= without colon', `${head}b=AS64\r\n`, 'bandwidth', 5],
    ['b= non-numeric', `${head}b=AS:lots\r\n`, 'bandwidth', 5],
    ['t= one field', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0\r\n', 'timing', 4],
    ['r= before t=', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nr=1d 1h 0\r\n', 'misplaced-line', 4],
    ['t= inside media', `${head}m=audio 1 RTP/AVP 0\r\nt=0 0\r\n`, 'misplaced-line', 6],
    ['o= inside media', `${head}m=audio 1 RTP/AVP 0\r\no=- 1 1 IN IP4 1.2.3.4\r\n`, 'misplaced-line', 6],
    ['m= with two fields', `${head}m=audio 4000\r\n`, 'media', 5],
    ['m= port not numeric', `${head}m=audio port RTP/AVP 0\r\n`, 'port', 5],
    ['m= port too big', `${head}m=audio 65536 RTP/AVP 0\r\n`, 'port', 5],
    ['m= negative port', `${head}m=audio -1 RTP/AVP 0\r\n`, 'port', 5],
    ['m= zero port count', `${head}m=audio 4000/0 RTP/AVP 0\r\n`, 'port', 5],
    ['m= active without format', `${head}m=audio 4000 RTP/AVP\r\n`, 'format', 5],
    ['m= RTP payload 128', `${head}m=audio 4000 RTP/AVP 0 128\r\n`, 'format', 5],
    ['m= RTP payload not numeric', `${head}m=audio 4000 RTP/AVP PCMU\r\n`, 'format', 5],
    ['a= without name', `${head}a=:x\r\n`, 'attribute', 5],
    ['second media c=', `${head}m=audio 1 RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\nc=IN IP4 1.1.1.2\r\n`, 'duplicate-line', 7],
    ['e= inside media', `${head}m=audio 1 RTP/AVP 0\r\ne=x@y\r\n`, 'misplaced-line', 6],
  ];
  for (const [what, text, code, line] of cases) {
    it(`rejects ${what} with ${code}${line ? ` on line ${line}` : ''}`, () => {
      const err = parseError(text);
      expect(err.code).toBe(code);
      expect(err.line).toBe(line);
      expect(err.name).toBe('SdpParseError');
      if (line !== undefined) expect(err.message).toContain(`line ${line}`);
    });
  }

  it('counts line numbers across LF-only line ends and blank lines', () => {
    const err = parseError('v=0\n\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio x RTP/AVP 0\n');
    expect(err.code).toBe('port');
    expect(err.line).toBe(5);
  });

  it('rejects invalid UTF-8 bytes', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('v=0\r\ns='), 0xff, 0xfe, 13, 10]);
    expect(parseError(bytes).code).toBe('encoding');
  });

  it('enforces every limit before parsing further', () => {
    expect(parseError(DESK_PHONE_OFFER, { limits: { maxSize: 100 } }).code).toBe('too-large');
    expect(parseError(DESK_PHONE_OFFER, { limits: { maxLines: 5 } }).code).toBe('too-many-lines');
    expect(parseError(DESK_PHONE_OFFER, { limits: { maxLineLength: 20 } })).toMatchObject({
      code: 'line-too-long',
      line: 2,
    });
    expect(parseError(DESK_PHONE_OFFER, { limits: { maxAttributes: 3 } }).code).toBe('too-many-attributes');
    const twoMedia = `${DESK_PHONE_OFFER}m=video 0 RTP/AVP 31\r\n`;
    expect(parseError(twoMedia, { limits: { maxMedia: 1 } })).toMatchObject({ code: 'too-many-media', line: 16 });
    // the defaults refuse a description of a megabyte without looking at it
    expect(parseError(`v=0\r\na=${'x'.repeat(1 << 20)}\r\n`).code).toBe('too-large');
    // an explicitly undefined limit keeps its default
    expect(parseError(`v=0\r\na=${'x'.repeat(1 << 20)}\r\n`, { limits: { maxSize: undefined } }).code).toBe(
      'too-large',
    );
  });
});

describe('serializeSdp guards', () => {
  it('refuses values that would inject a line', () => {
    const sdp = parseSdp(DESK_PHONE_OFFER);
    sdp.media[0].attributes.push({ name: 'x-note', value: 'a\r\nm=audio 1 RTP/AVP 0' });
    expect(() => serializeSdp(sdp)).toThrow(SdpSerializeError);
    const sdp2 = parseSdp(DESK_PHONE_OFFER);
    sdp2.origin.address = 'a b';
    expect(() => serializeSdp(sdp2)).toThrow(/origin.address/);
    const sdp3 = parseSdp(DESK_PHONE_OFFER);
    sdp3.media[0].port = 70000;
    expect(() => serializeSdp(sdp3)).toThrow(/media\[0\].port/);
  });
});
