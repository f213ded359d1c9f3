// Bit-exactness against the ITU-T G.191 STL reference vectors (see /work/shared/conformance/codecs/INDEX.md).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alawDecode, alawEncode, linearToAlaw, linearToUlaw, ulawDecode, ulawEncode } from '../../src/codecs/g711.js';
import { type G722Bitrate, G722Decoder, G722Encoder } from '../../src/codecs/g722.js';

const here = dirname(fileURLToPath(import.meta.url));
function findVectors(): string | undefined {
  const candidates = [
    process.env.SWITCHYARD_CONFORMANCE ? join(process.env.SWITCHYARD_CONFORMANCE, 'codecs') : '',
    join(here, '../../../../../shared/conformance/codecs'),
    '/work/shared/conformance/codecs',
  ];
  return candidates.find((c) => c !== '' && existsSync(join(c, 'INDEX.md')));
}
const root = findVectors();

/** Little-endian 16-bit words of a vector file. */
function words(rel: string): Int16Array {
  const b = readFileSync(join(root as string, rel));
  const out = new Int16Array(b.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = b[2 * i] | (b[2 * i + 1] << 8);
  return out;
}

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe.skipIf(root === undefined)('G.711 ITU-T G.191 vectors (every 16-bit input)', () => {
  const sweep = root ? words('g711/sweep.src') : new Int16Array(0);
  it('mu-law encode matches sweep-r.u and decode matches sweep-r.reu', () => {
    const expected = words('g711/sweep-r.u').map((w) => w & 0xff);
    const codes = ulawEncode(sweep);
    expect(firstMismatch(codes, Uint8Array.from(expected))).toBe(-1);
    expect(firstMismatch(ulawDecode(codes), words('g711/sweep-r.reu'))).toBe(-1);
    expect(firstMismatch(ulawDecode(codes), words('g711/sweep-r.u-u'))).toBe(-1);
    for (let i = 0; i < sweep.length; i += 97) expect(linearToUlaw(sweep[i])).toBe(expected[i]);
  });
  it('A-law encode matches sweep-r.a and decode matches sweep-r.rea', () => {
    const expected = words('g711/sweep-r.a').map((w) => w & 0xff);
    const codes = alawEncode(sweep);
    expect(firstMismatch(codes, Uint8Array.from(expected))).toBe(-1);
    expect(firstMismatch(alawDecode(codes), words('g711/sweep-r.rea'))).toBe(-1);
    expect(firstMismatch(alawDecode(codes), words('g711/sweep-r.a-a'))).toBe(-1);
    for (let i = 0; i < sweep.length; i += 97) expect(linearToAlaw(sweep[i])).toBe(expected[i]);
  });
});

describe.skipIf(root === undefined)('G.722 full codec speech vectors', () => {
  it('encodes inpsp.bin to codspw.cod and codsp-octets.g722', () => {
    const out = new G722Encoder().encode(words('g722/full-codec/inpsp.bin'));
    const expected = Uint8Array.from(words('g722/full-codec/codspw.cod'), (w) => w & 0xff);
    expect(firstMismatch(out, expected)).toBe(-1);
    expect(firstMismatch(out, readFileSync(join(root as string, 'g722/full-codec/codsp-octets.g722')))).toBe(-1);
  });
  const modes: [number, G722Bitrate][] = [
    [1, 64000],
    [2, 56000],
    [3, 48000],
  ];
  for (const [mode, bitrate] of modes) {
    it(`decodes codspw.cod in mode ${mode} (${bitrate / 1000} kbit/s) to outsp${mode}.bin`, () => {
      const codes = Uint8Array.from(words('g722/full-codec/codspw.cod'), (w) => w & 0xff);
      const out = new G722Decoder({ bitrate }).decode(codes);
      expect(firstMismatch(out, words(`g722/full-codec/outsp${mode}.bin`))).toBe(-1);
    });
  }
});

describe.skipIf(root === undefined)('G.722 Appendix II digital test sequences (QMF by-passed)', () => {
  const dir = 'g722/appendix2/littleendian/';
  // Configuration 1: bit 0 of each input word is the reset flag, the sample is word >> 1 on both bands.
  for (const [input, expectedFile] of [
    ['bt1c1.xmt', 'bt2r1.cod'],
    ['bt1c2.xmt', 'bt2r2.cod'],
  ]) {
    it(`encoder ${input} -> ${expectedFile}`, () => {
      const xmt = words(dir + input);
      const expected = words(dir + expectedFile);
      const enc = new G722Encoder();
      const out = new Int16Array(xmt.length);
      for (let i = 0; i < xmt.length; i++) {
        const w = xmt[i];
        if (w & 1) {
          enc.reset();
          out[i] = 1;
        } else {
          const x = w >> 1;
          out[i] = enc.encodeSubbands(x, x) << 8;
        }
      }
      expect(firstMismatch(out, expected)).toBe(-1);
    });
  }
  // Configuration 2: codeword = word >> 8, outputs (r << 1) per band.
  for (const [input, leg] of [
    ['bt2r1.cod', '1'],
    ['bt2r2.cod', '2'],
    ['bt1d3.cod', '3'],
  ]) {
    for (const [mode, bitrate] of [
      [1, 64000],
      [2, 56000],
      [3, 48000],
    ] as const) {
      it(`decoder ${input} mode ${mode} -> bt3l${leg}.rc${mode} and bt3h${leg}.rc0`, () => {
        const cod = words(dir + input);
        const expLow = words(`${dir}bt3l${leg}.rc${mode}`);
        const expHigh = words(`${dir}bt3h${leg}.rc0`);
        const dec = new G722Decoder({ bitrate });
        const low = new Int16Array(cod.length);
        const high = new Int16Array(cod.length);
        const r = new Int32Array(2);
        for (let i = 0; i < cod.length; i++) {
          const w = cod[i];
          if (w & 1) {
            dec.reset();
            low[i] = 1;
            high[i] = 1;
          } else {
            dec.decodeSubbands((w >> 8) & 0xff, r);
            low[i] = (r[0] << 1) & 0xfffe;
            high[i] = (r[1] << 1) & 0xfffe;
          }
        }
        expect(firstMismatch(low, expLow)).toBe(-1);
        expect(firstMismatch(high, expHigh)).toBe(-1);
      });
    }
  }
});
