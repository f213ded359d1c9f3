// RFC 4566 section 5 parser. Hand-written scanning (indexOf/charCodeAt, no regular expressions) so that time is
// linear in the input; every limit is checked before the work it guards.

import { SdpParseError } from './errors.js';
import type {
  SdpBandwidth,
  SdpConnection,
  SdpMediaDescription,
  SdpOrigin,
  SdpParseLimits,
  SdpSessionDescription,
  SdpTiming,
} from './types.js';

/** Defaults: 64 KiB (a UDP SIP message cannot carry more), 2048 lines, 4096-character lines, 64 m= sections. */
export const DEFAULT_SDP_PARSE_LIMITS: Readonly<Required<SdpParseLimits>> = Object.freeze({
  maxSize: 65536,
  maxLines: 2048,
  maxLineLength: 4096,
  maxMedia: 64,
  maxAttributes: 1024,
});

export interface SdpParseOptions {
  limits?: SdpParseLimits;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses `1*DIGIT` of at most `maxLength` digits; -1 when `text` is not that. */
export function parseSdpDigits(text: string, maxLength: number): number {
  const n = text.length;
  if (n === 0 || n > maxLength) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** True for a non-empty run of characters without space, tab or control characters. */
export function isSdpToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 127) return false;
  }
  return true;
}

/** Splits on runs of spaces (RFC 4566 uses one SP; phones sometimes write two or a tab). */
export function splitSdpFields(text: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (c === 32 || c === 9) {
      if (start >= 0) {
        out.push(text.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  return out;
}

function parseOrigin(value: string, line: number): SdpOrigin {
  const f = splitSdpFields(value);
  if (f.length !== 6) throw new SdpParseError('origin', 'o= needs 6 fields', line);
  if (parseSdpDigits(f[2], 32) < 0) throw new SdpParseError('origin', 'o= session version is not a number', line);
  return {
    username: f[0],
    sessionId: f[1],
    sessionVersion: f[2],
    netType: f[3],
    addressType: f[4],
    address: f[5],
  };
}

/** c=<nettype> <addrtype> <connection-address> (RFC 4566 5.7), with `/ttl` (IP4) and `/count` suffixes. */
function parseConnection(value: string, line: number): SdpConnection {
  const f = splitSdpFields(value);
  if (f.length !== 3) throw new SdpParseError('connection', 'c= needs 3 fields', line);
  const conn: SdpConnection = { netType: f[0], addressType: f[1], address: f[2] };
  const kind = f[1].toUpperCase();
  if ((kind === 'IP4' || kind === 'IP6') && f[2].includes('/')) {
    const parts = f[2].split('/');
    const maxParts = kind === 'IP4' ? 3 : 2;
    if (parts.length > maxParts || parts[0].length === 0) {
      throw new SdpParseError('connection', 'c= address has too many / parts', line);
    }
    conn.address = parts[0];
    const nums = parts.slice(1).map((p) => parseSdpDigits(p, 10));
    if (nums.some((x) => x < 0)) throw new SdpParseError('connection', 'c= ttl or count is not a number', line);
    // RFC 4566 5.7: ttl is 0-255; a count of addresses is at least 1.
    const count = kind === 'IP4' ? nums[1] : nums[0];
    if (kind === 'IP4') {
      if (nums[0] > 255) throw new SdpParseError('connection', 'c= ttl above 255', line);
      conn.ttl = nums[0];
    }
    if (count !== undefined) {
      if (count < 1 || count > 2 ** 32) throw new SdpParseError('connection', 'c= address count out of range', line);
      conn.addressCount = count;
    }
  }
  return conn;
}

function parseBandwidth(value: string, line: number): SdpBandwidth {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new SdpParseError('bandwidth', 'b= needs <type>:<value>', line);
  const type = value.slice(0, colon);
  const bw = parseSdpDigits(value.slice(colon + 1), 15);
  if (!isSdpToken(type) || bw < 0) throw new SdpParseError('bandwidth', 'b= value is not a number', line);
  return { type, value: bw };
}

function parseTiming(value: string, line: number): SdpTiming {
  const f = splitSdpFields(value);
  if (f.length !== 2) throw new SdpParseError('timing', 't= needs 2 fields', line);
  const start = parseSdpDigits(f[0], 15);
  const stop = parseSdpDigits(f[1], 15);
  if (start < 0 || stop < 0) throw new SdpParseError('timing', 't= times are not numbers', line);
  return { start, stop, repeats: [] };
}

/** True when the transport protocol carries RTP, whose formats are payload type numbers (RFC 4566 5.14). */
export function isSdpRtpProtocol(protocol: string): boolean {
  return protocol.toUpperCase().includes('RTP/');
}

/** m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 4566 5.14). */
function parseMediaLine(value: string, line: number): SdpMediaDescription {
  const f = splitSdpFields(value);
  if (f.length < 3) throw new SdpParseError('media', 'm= needs media, port and protocol', line);
  const media: SdpMediaDescription = {
    type: f[0],
    port: 0,
    protocol: f[2],
    formats: f.slice(3),
    bandwidths: [],
    attributes: [],
    extraLines: [],
  };
  const portText = f[1];
  const slash = portText.indexOf('/');
  const port = parseSdpDigits(slash < 0 ? portText : portText.slice(0, slash), 5);
  if (port < 0 || port > 65535) throw new SdpParseError('port', `m= port "${portText}" is not a port number`, line);
  media.port = port;
  if (slash >= 0) {
    const count = parseSdpDigits(portText.slice(slash + 1), 5);
    if (count < 1 || count > 65535) throw new SdpParseError('port', 'm= number of ports is not 1-65535', line);
    media.portCount = count;
  }
  // RFC 4566 5.14 needs one format at least; a rejected stream (port 0) written without any is tolerated.
  if (media.formats.length === 0 && port !== 0) throw new SdpParseError('format', 'm= lists no format', line);
  if (isSdpRtpProtocol(media.protocol)) {
    for (const fmt of media.formats) {
      const pt = parseSdpDigits(fmt, 3);
      if (pt < 0 || pt > 127) throw new SdpParseError('format', `RTP payload type "${fmt}" is not 0-127`, line);
    }
  }
  return media;
}

type Section = 'session' | 'media';

/**
 * Parses a session description (RFC 4566). Accepts CRLF or bare LF line ends and trailing white space; insists on
 * v= first, o= and s= present, well-formed o= c= b= t= m= lines and numeric ports. Throws SdpParseError.
 */
export function parseSdp(input: string | Uint8Array, options?: SdpParseOptions): SdpSessionDescription {
  const given = options?.limits;
  const d = DEFAULT_SDP_PARSE_LIMITS;
  const limits = {
    maxSize: given?.maxSize ?? d.maxSize,
    maxLines: given?.maxLines ?? d.maxLines,
    maxLineLength: given?.maxLineLength ?? d.maxLineLength,
    maxMedia: given?.maxMedia ?? d.maxMedia,
    maxAttributes: given?.maxAttributes ?? d.maxAttributes,
  };
  if (input.length > limits.maxSize) {
    throw new SdpParseError('too-large', `description of ${input.length} exceeds ${limits.maxSize}`);
  }
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new SdpParseError('encoding', 'description is not valid UTF-8');
    }
  }

  let session: SdpSessionDescription | undefined;
  let media: SdpMediaDescription | undefined;
  let lineNo = 0;
  let attributeCount = 0;
  let hasSessionName = false;
  const seen = new Set<string>(); // single-valued line types already met in the current section
  const len = text.length;
  let pos = 0;

  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    lineNo++;
    if (lineNo > limits.maxLines) throw new SdpParseError('too-many-lines', `more than ${limits.maxLines} lines`);
    if (end - pos > limits.maxLineLength + 1) {
      throw new SdpParseError('line-too-long', `line longer than ${limits.maxLineLength}`, lineNo);
    }
    let stop = end;
    if (stop > pos && text.charCodeAt(stop - 1) === 13) stop--;
    // Sloppy phones leave trailing blanks; no field ends in one (the "s= " case is kept below).
    while (stop > pos && (text.charCodeAt(stop - 1) === 32 || text.charCodeAt(stop - 1) === 9)) stop--;
    const lineStart = pos;
    pos = end + 1;
    if (stop === lineStart) continue; // blank line (typically the final CRLF written twice)
    // RFC 4566 5.3 recommends "s= " (one space) for a nameless session: keep that space.
    if (stop === lineStart + 2 && text.startsWith('s=', lineStart) && text.charCodeAt(stop) === 32) stop++;
    const line = text.slice(lineStart, stop);
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 0 || c === 13) throw new SdpParseError('line-syntax', 'NUL or bare CR inside a line', lineNo);
    }
    const type = line.charCodeAt(0);
    if (type < 97 || type > 122 || line.charCodeAt(1) !== 61) {
      throw new SdpParseError('line-syntax', 'line is not <lowercase letter>=<value>', lineNo);
    }
    const letter = line[0];
    const value = line.slice(2);

    if (session === undefined) {
      // RFC 4566 5: the description starts with v=.
      if (letter !== 'v') throw new SdpParseError('version-first', 'description does not start with v=', lineNo);
      if (value !== '0') throw new SdpParseError('version', `unsupported SDP version "${value}"`, lineNo);
      session = {
        version: 0,
        origin: { username: '', sessionId: '', sessionVersion: '', netType: '', addressType: '', address: '' },
        sessionName: '',
        emails: [],
        phones: [],
        bandwidths: [],
        timing: [],
        attributes: [],
        extraLines: [],
        media: [],
      };
      seen.add('v');
      continue;
    }

    const section: Section = media === undefined ? 'session' : 'media';
    const once = (allowedInMedia: boolean): void => {
      if (section === 'media' && !allowedInMedia) {
        throw new SdpParseError('misplaced-line', `${letter}= is not allowed in a media section`, lineNo);
      }
      if (seen.has(letter)) throw new SdpParseError('duplicate-line', `second ${letter}= line in a section`, lineNo);
      seen.add(letter);
    };

    switch (letter) {
      case 'v':
        throw new SdpParseError('duplicate-line', 'second v= line', lineNo);
      case 'o':
        once(false);
        session.origin = parseOrigin(value, lineNo);
        break;
      case 's':
        once(false);
        session.sessionName = value;
        hasSessionName = true;
        break;
      case 'i':
        once(true);
        if (media) media.information = value;
        else session.information = value;
        break;
      case 'u':
        once(false);
        session.uri = value;
        break;
      case 'e':
      case 'p':
        if (section === 'media') throw new SdpParseError('misplaced-line', `${letter}= in a media section`, lineNo);
        (letter === 'e' ? session.emails : session.phones).push(value);
        break;
      case 'c': {
        once(true);
        const conn = parseConnection(value, lineNo);
        if (media) media.connection = conn;
        else session.connection = conn;
        break;
      }
      case 'b':
        (media ?? session).bandwidths.push(parseBandwidth(value, lineNo));
        break;
      case 't':
        if (section === 'media') throw new SdpParseError('misplaced-line', 't= in a media section', lineNo);
        session.timing.push(parseTiming(value, lineNo));
        break;
      case 'r': {
        const last = session.timing[session.timing.length - 1];
        if (section === 'media' || last === undefined) {
          throw new SdpParseError('misplaced-line', 'r= without a t= before it', lineNo);
        }
        last.repeats.push(value);
        break;
      }
      case 'z':
        once(false);
        session.timeZones = value;
        break;
      case 'k':
        once(true);
        if (media) media.encryptionKey = value;
        else session.encryptionKey = value;
        break;
      case 'a': {
        if (++attributeCount > limits.maxAttributes) {
          throw new SdpParseError('too-many-attributes', `more than ${limits.maxAttributes} a= lines`, lineNo);
        }
        const colon = value.indexOf(':');
        const name = colon < 0 ? value : value.slice(0, colon);
        if (!isSdpToken(name)) throw new SdpParseError('attribute', 'a= has no attribute name', lineNo);
        (media ?? session).attributes.push(colon < 0 ? { name } : { name, value: value.slice(colon + 1) });
        break;
      }
      case 'm':
        if (session.media.length >= limits.maxMedia) {
          throw new SdpParseError('too-many-media', `more than ${limits.maxMedia} m= sections`, lineNo);
        }
        media = parseMediaLine(value, lineNo);
        session.media.push(media);
        seen.clear();
        break;
      default:
        // RFC 4566 5 tells a parser to ignore descriptions with unknown letters; keeping the line is kinder to
        // the few devices that add their own (and lets a B2BUA pass them on).
        (media ?? session).extraLines.push({ type: letter, value });
    }
  }

  if (session === undefined) throw new SdpParseError('empty', 'description is empty');
  if (session.origin.address === '') throw new SdpParseError('missing-line', 'o= line is missing');
  if (!hasSessionName) throw new SdpParseError('missing-line', 's= line is missing');
  return session;
}
