// RFC 4566 section 5 writer: lines in the order the RFC prescribes, CRLF after each (RFC 4566 5 allows LF on
// input, CRLF is what is sent). Values are checked so that no field can smuggle a line break into the output.

import { SdpSerializeError } from './errors.js';
import { isSdpToken } from './parse.js';
import type {
  SdpAttribute,
  SdpBandwidth,
  SdpConnection,
  SdpExtraLine,
  SdpMediaDescription,
  SdpSessionDescription,
} from './types.js';

function text(value: string, field: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) throw new SdpSerializeError('invalid-field', field, 'holds NUL, CR or LF');
  }
  return value;
}

function token(value: string, field: string): string {
  if (!isSdpToken(value)) throw new SdpSerializeError('invalid-field', field, `"${value}" is not a token`);
  return value;
}

function integer(value: number, field: string, min: number, max: number): string {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SdpSerializeError('invalid-field', field, `${value} is not an integer in ${min}..${max}`);
  }
  return String(value);
}

function digits(value: string, field: string): string {
  if (value.length === 0 || value.length > 32) throw new SdpSerializeError('invalid-field', field, 'not a number');
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) throw new SdpSerializeError('invalid-field', field, `"${value}" is not a number`);
  }
  return value;
}

/** The value of a c= line (RFC 4566 5.7). */
export function serializeSdpConnection(c: SdpConnection, field = 'connection'): string {
  let address = token(c.address, `${field}.address`);
  const kind = c.addressType.toUpperCase();
  const ip = kind === 'IP4' || kind === 'IP6';
  // Only IP4 has a ttl, and its address count needs one before it (RFC 4566 5.7); "/" would be read as a suffix.
  if ((ip && address.includes('/')) || (c.ttl !== undefined && kind !== 'IP4')) {
    throw new SdpSerializeError('invalid-field', field, 'address suffixes do not fit the address type');
  }
  if (c.addressCount !== undefined && (!ip || (kind === 'IP4' && c.ttl === undefined))) {
    throw new SdpSerializeError('invalid-field', `${field}.addressCount`, 'needs IP6, or IP4 with a ttl');
  }
  if (c.ttl !== undefined) address += `/${integer(c.ttl, `${field}.ttl`, 0, 255)}`;
  if (c.addressCount !== undefined) address += `/${integer(c.addressCount, `${field}.addressCount`, 1, 2 ** 32)}`;
  return `${token(c.netType, `${field}.netType`)} ${token(c.addressType, `${field}.addressType`)} ${address}`;
}

function bandwidthLines(out: string[], list: SdpBandwidth[], field: string): void {
  list.forEach((b, i) => {
    const f = `${field}[${i}]`;
    const type = token(b.type, `${f}.type`);
    if (type.includes(':')) throw new SdpSerializeError('invalid-field', `${f}.type`, 'holds ":"');
    out.push(`b=${type}:${integer(b.value, `${f}.value`, 0, Number.MAX_SAFE_INTEGER)}`);
  });
}

/** The text after `a=` of one attribute line. */
export function serializeSdpAttribute(a: SdpAttribute, field = 'attribute'): string {
  const name = token(a.name, `${field}.name`);
  if (name.includes(':')) throw new SdpSerializeError('invalid-field', `${field}.name`, 'holds ":"');
  return a.value === undefined ? name : `${name}:${text(a.value, `${field}.value`)}`;
}

function attributeLines(out: string[], list: SdpAttribute[], field: string): void {
  list.forEach((a, i) => {
    out.push(`a=${serializeSdpAttribute(a, `${field}[${i}]`)}`);
  });
}

function extraLines(out: string[], list: SdpExtraLine[], field: string): void {
  list.forEach((x, i) => {
    const c = x.type.length === 1 ? x.type.charCodeAt(0) : 0;
    if (c < 97 || c > 122) throw new SdpSerializeError('invalid-field', `${field}[${i}].type`, 'not one letter');
    out.push(`${x.type}=${text(x.value, `${field}[${i}].value`)}`);
  });
}

function mediaLines(out: string[], m: SdpMediaDescription, field: string): void {
  let port = integer(m.port, `${field}.port`, 0, 65535);
  if (m.portCount !== undefined) port += `/${integer(m.portCount, `${field}.portCount`, 1, 65535)}`;
  let line = `m=${token(m.type, `${field}.type`)} ${port} ${token(m.protocol, `${field}.protocol`)}`;
  if (m.formats.length === 0 && m.port !== 0) {
    throw new SdpSerializeError('invalid-field', `${field}.formats`, 'an active stream needs a format');
  }
  m.formats.forEach((fmt, i) => {
    line += ` ${token(fmt, `${field}.formats[${i}]`)}`;
  });
  out.push(line);
  if (m.information !== undefined) out.push(`i=${text(m.information, `${field}.information`)}`);
  if (m.connection !== undefined) out.push(`c=${serializeSdpConnection(m.connection, `${field}.connection`)}`);
  bandwidthLines(out, m.bandwidths, `${field}.bandwidths`);
  if (m.encryptionKey !== undefined) out.push(`k=${text(m.encryptionKey, `${field}.encryptionKey`)}`);
  attributeLines(out, m.attributes, `${field}.attributes`);
  extraLines(out, m.extraLines, `${field}.extraLines`);
}

/** Writes a session description (RFC 4566 5 order, CRLF line ends). Throws SdpSerializeError on invalid fields. */
export function serializeSdp(sdp: SdpSessionDescription): string {
  const out: string[] = [];
  out.push(`v=${integer(sdp.version, 'version', 0, 0)}`);
  const o = sdp.origin;
  out.push(
    `o=${token(o.username, 'origin.username')} ${token(o.sessionId, 'origin.sessionId')} ` +
      `${digits(o.sessionVersion, 'origin.sessionVersion')} ${token(o.netType, 'origin.netType')} ` +
      `${token(o.addressType, 'origin.addressType')} ${token(o.address, 'origin.address')}`,
  );
  out.push(`s=${text(sdp.sessionName, 'sessionName')}`);
  if (sdp.information !== undefined) out.push(`i=${text(sdp.information, 'information')}`);
  if (sdp.uri !== undefined) out.push(`u=${text(sdp.uri, 'uri')}`);
  sdp.emails.forEach((e, i) => {
    out.push(`e=${text(e, `emails[${i}]`)}`);
  });
  sdp.phones.forEach((p, i) => {
    out.push(`p=${text(p, `phones[${i}]`)}`);
  });
  if (sdp.connection !== undefined) out.push(`c=${serializeSdpConnection(sdp.connection)}`);
  bandwidthLines(out, sdp.bandwidths, 'bandwidths');
  sdp.timing.forEach((t, i) => {
    const f = `timing[${i}]`;
    const max = Number.MAX_SAFE_INTEGER;
    out.push(`t=${integer(t.start, `${f}.start`, 0, max)} ${integer(t.stop, `${f}.stop`, 0, max)}`);
    t.repeats.forEach((r, j) => {
      out.push(`r=${text(r, `${f}.repeats[${j}]`)}`);
    });
  });
  if (sdp.timeZones !== undefined) out.push(`z=${text(sdp.timeZones, 'timeZones')}`);
  if (sdp.encryptionKey !== undefined) out.push(`k=${text(sdp.encryptionKey, 'encryptionKey')}`);
  attributeLines(out, sdp.attributes, 'attributes');
  extraLines(out, sdp.extraLines, 'extraLines');
  sdp.media.forEach((m, i) => {
    mediaLines(out, m, `media[${i}]`);
  });
  out.push('');
  return out.join('\r\n');
}
