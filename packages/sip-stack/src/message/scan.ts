// Low-level character scanning shared by the header and URI parsers (RFC 3261 25.1 basic rules).
// Everything works on JS strings with charCodeAt: no regular expressions, no split().

import { SipParseError } from './errors.js';

/** token characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" (RFC 3261 25.1). */
export const TOKEN: Uint8Array = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

export function isToken(c: number): boolean {
  return c < 256 && TOKEN[c] === 1;
}

/** The thrown error of a header value parser; the message layer adds where it was. */
export function valueError(what: string, s: string, at: number): SipParseError {
  const shown = s.length > 80 ? `${s.slice(0, 77)}...` : s;
  return new SipParseError('header-value', `${what} at column ${at + 1} of "${shown}"`);
}

export function skipWs(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

export function skipToken(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c >= 256 || TOKEN[c] !== 1) break;
    i++;
  }
  return i;
}

/** Trimmed end: the index after the last non-SP/HT character of s[start, end). */
export function trimEnd(s: string, start: number, end: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (c !== 32 && c !== 9) break;
    end--;
  }
  return end;
}

/** Scratch output of scanQuoted (the unescaped content); valid until the next call. */
export let quotedText = '';

/**
 * quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE (RFC 3261 25.1). `s[i]` must be the opening quote.
 * Returns the index after the closing quote and leaves the unescaped content in `quotedText`.
 */
export function scanQuoted(s: string, i: number, end: number): number {
  let j = i + 1;
  let out: string | undefined;
  let from = j;
  while (j < end) {
    const c = s.charCodeAt(j);
    if (c === 0x22) {
      quotedText = out === undefined ? s.slice(from, j) : out + s.slice(from, j);
      return j + 1;
    }
    if (c === 0x5c) {
      // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
      if (j + 1 >= end) break;
      out = (out ?? '') + s.slice(from, j);
      from = j + 1;
      j += 2;
      continue;
    }
    if (c === 13 || c === 10) break;
    j++;
  }
  throw valueError('unterminated quoted string', s, i);
}

/** Index of the next top-level comma (outside quotes and <...>) in s[i, end), or end. */
export function nextComma(s: string, i: number, end: number): number {
  let angle = false;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x2c) {
      if (!angle) return i;
    } else if (c === 0x22) {
      // skip a quoted string (an unterminated one runs to the end)
      i++;
      while (i < end) {
        const q = s.charCodeAt(i);
        if (q === 0x5c) i++;
        else if (q === 0x22) break;
        i++;
      }
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    i++;
  }
  return end;
}

/** Splits a comma list (RFC 3261 7.3.1) into trimmed, non-empty elements. */
export function splitList(s: string, out: string[]): void {
  const end = s.length;
  let i = 0;
  while (i <= end) {
    const comma = nextComma(s, i, end);
    const a = skipWs(s, i, comma);
    const b = trimEnd(s, a, comma);
    if (b > a) out.push(a === 0 && b === end ? s : s.slice(a, b));
    i = comma + 1;
  }
}

export function firstListElement(s: string): string {
  const comma = nextComma(s, 0, s.length);
  if (comma === s.length) return s;
  const a = skipWs(s, 0, comma);
  return s.slice(a, trimEnd(s, a, comma));
}

/** Characters that end an unquoted parameter value: ; , SP HT " < > */
export const VALUE_STOP: Uint8Array = new Uint8Array(128);
for (const ch of ';, \t"<>') VALUE_STOP[ch.charCodeAt(0)] = 1;

/** The parameters of no header: shared, never mutated. */
export const EMPTY_PARAMS: ReadonlyMap<string, string | null> = new Map();

/**
 * Header parameters: *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ] (RFC 3261 25.1).
 * Stops at a top-level comma or `end`; pushes lower-cased name and value (unquoted; null when absent) pairs to
 * `out` (a flat array, cheaper than a Map on the parse path).
 */
export function scanParams(s: string, i: number, end: number, out: Array<string | null>): number {
  for (;;) {
    i = skipWs(s, i, end);
    if (i >= end) return i;
    const c = s.charCodeAt(i);
    if (c === 0x2c) return i;
    if (c !== 0x3b) throw valueError('expected ";" before a parameter', s, i);
    i = skipWs(s, i + 1, end);
    const nameStart = i;
    i = skipToken(s, i, end);
    if (i === nameStart) throw valueError('empty parameter name', s, i);
    const name = s.slice(nameStart, i).toLowerCase();
    i = skipWs(s, i, end);
    if (i < end && s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1, end);
      if (i < end && s.charCodeAt(i) === 0x22) {
        i = scanQuoted(s, i, end);
        out.push(name, quotedText);
        continue;
      }
      const valueStart = i;
      while (i < end) {
        const v = s.charCodeAt(i);
        if (v < 128 && VALUE_STOP[v] === 1) break;
        i++;
      }
      if (i === valueStart) throw valueError(`empty value of parameter "${name}"`, s, i);
      out.push(name, s.slice(valueStart, i));
    } else {
      out.push(name, null);
    }
  }
}

/** Value of a parameter in a flat [name, value, ...] list: undefined when absent, null when it has no value. */
export function paramOf(flat: ReadonlyArray<string | null>, name: string): string | null | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

/** A flat parameter list as a Map (the first of repeated names wins). */
export function paramsMap(flat: ReadonlyArray<string | null>): ReadonlyMap<string, string | null> {
  if (flat.length === 0) return EMPTY_PARAMS;
  const m = new Map<string, string | null>();
  for (let i = 0; i < flat.length; i += 2) if (!m.has(flat[i] as string)) m.set(flat[i] as string, flat[i + 1]);
  return m;
}

/** Parses a non-negative decimal integer s[start, end) no larger than `max`; -1 when not one. */
export function parseDecimal(s: string, start: number, end: number, max: number): number {
  if (end <= start) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > max) return -1;
  }
  return n;
}
