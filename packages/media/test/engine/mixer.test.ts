import { describe, expect, it } from 'vitest';
import { ConferenceMixer, type MixParticipant } from '../../src/engine/index.js';

function fill(p: MixParticipant, value: number): void {
  p.input.fill(value);
  p.hasInput = true;
}

describe('ConferenceMixer', () => {
  it('gives each participant the sum of the others, never itself', () => {
    const m = new ConferenceMixer({ frameSamples: 8 });
    const a = m.add('a');
    const b = m.add('b');
    const c = m.add('c');
    fill(a, 100);
    fill(b, 20);
    fill(c, 3);
    m.mix();
    expect([...a.output]).toEqual(new Array(8).fill(23));
    expect([...b.output]).toEqual(new Array(8).fill(103));
    expect([...c.output]).toEqual(new Array(8).fill(120));
  });

  it('hears everyone when it said nothing this tick, and input is consumed once', () => {
    const m = new ConferenceMixer({ frameSamples: 4 });
    const a = m.add('a');
    const b = m.add('b');
    fill(a, 500);
    m.mix();
    expect(b.output[0]).toBe(500);
    expect(a.output[0]).toBe(0);
    m.mix(); // nobody refilled: silence
    expect(b.output[0]).toBe(0);
  });

  it('clamps sums beyond 16 bits instead of wrapping', () => {
    const m = new ConferenceMixer({ frameSamples: 4 });
    const ps = ['a', 'b', 'c', 'd'].map((id) => m.add(id));
    for (const p of ps) fill(p, 30000);
    m.mix();
    for (const p of ps) expect(p.output[0]).toBe(32767);
    for (const p of ps) fill(p, -30000);
    m.mix();
    for (const p of ps) expect(p.output[3]).toBe(-32768);
  });

  it('mutes a participant for the others while it still hears them', () => {
    const m = new ConferenceMixer({ frameSamples: 4 });
    const a = m.add('a');
    const b = m.add('b');
    m.setMuted('a', true);
    fill(a, 1000);
    fill(b, 7);
    m.mix();
    expect(b.output[0]).toBe(0);
    expect(a.output[0]).toBe(7);
    m.setMuted('a', false);
    fill(a, 1000);
    m.mix();
    expect(b.output[0]).toBe(1000);
  });

  it('applies per-participant gain and rejects gains out of range', () => {
    const m = new ConferenceMixer({ frameSamples: 4 });
    const a = m.add('a');
    const b = m.add('b');
    m.setGain('a', 0.5);
    fill(a, 1000);
    m.mix();
    expect(b.output[0]).toBe(500);
    m.setGain('a', 2);
    fill(a, -1000);
    m.mix();
    expect(b.output[0]).toBe(-2000);
    expect(() => m.setGain('a', -1)).toThrow(/gain/);
    expect(() => m.setGain('a', Number.NaN)).toThrow(/gain/);
    expect(() => m.setGain('zz', 1)).toThrow(/not in the mix/);
  });

  it('reports the loudest talkers over a window, only when the list changes', () => {
    const m = new ConferenceMixer({ frameSamples: 160, talkerWindowTicks: 5, maxTalkers: 2 });
    const a = m.add('a');
    const b = m.add('b');
    const c = m.add('c');
    const d = m.add('d');
    const reports = [];
    for (let t = 0; t < 10; t++) {
      fill(a, 1000);
      fill(b, 8000);
      fill(c, 3000);
      fill(d, 5); // below the talking threshold
      m.mix();
      const r = m.takeTalkerReport();
      if (r) reports.push(r);
    }
    expect(reports).toHaveLength(1); // second window: same talkers, no report
    expect(reports[0].map((t) => t.id)).toEqual(['b', 'c']);
    expect(reports[0][0].levelDb).toBeCloseTo(20 * Math.log10(8000 / 32768), 1);
    for (let t = 0; t < 5; t++) {
      fill(a, 9000);
      m.mix();
      const r = m.takeTalkerReport();
      if (r) reports.push(r);
    }
    expect(reports).toHaveLength(2);
    expect(reports[1].map((t) => t.id)).toEqual(['a']);
  });

  it('removes participants and refuses duplicates', () => {
    const m = new ConferenceMixer({ frameSamples: 4 });
    const a = m.add('a');
    m.add('b');
    expect(() => m.add('a')).toThrow(/already/);
    expect(m.remove('b')).toBe(true);
    expect(m.remove('b')).toBe(false);
    fill(a, 10);
    m.mix();
    expect(a.output[0]).toBe(0);
    expect(m.size).toBe(1);
  });

  it('mixes 500 participants without overflowing the accumulator', () => {
    const m = new ConferenceMixer();
    const ps = Array.from({ length: 500 }, (_, i) => m.add(`p${i}`));
    for (const p of ps) {
      p.input.fill(32767);
      p.hasInput = true;
    }
    m.setGain('p0', 8);
    m.mix();
    expect(ps[1].output[100]).toBe(32767);
    expect(ps[0].output[0]).toBe(32767);
  });

  describe('voice gate', () => {
    const frame = (amplitude: number, n = 160) =>
      Int16Array.from({ length: n }, (_, i) => (i % 2 === 0 ? amplitude : -amplitude));
    // A square wave of amplitude A has mean power (A / 32768)^2: -40 dBFS is A = 328, -60 dBFS is A = 33.
    const offer = (p: MixParticipant, pcm: Int16Array) => {
      if (p.detectVoice(pcm)) {
        p.input.fill(pcm[0]);
        p.hasInput = true;
      }
    };

    it('mixes frames above the threshold and leaves out background noise', () => {
      const m = new ConferenceMixer({ frameSamples: 8, voiceThresholdDb: -50, voiceHangoverTicks: 0 });
      const a = m.add('a');
      const b = m.add('b');
      const c = m.add('c');
      expect(a.detectVoice(frame(328))).toBe(true);
      expect(b.detectVoice(frame(33))).toBe(false);
      expect(b.detectVoice(frame(0, 0))).toBe(false); // an empty frame is not voice
      offer(a, frame(328));
      offer(b, frame(33));
      m.mix();
      expect(b.hearsShared).toBe(true);
      expect(c.hearsShared).toBe(true);
      expect(a.hearsShared).toBe(false);
      expect([...b.output]).toEqual(new Array(8).fill(328));
      expect([...c.output]).toEqual([...m.shared]);
      expect([...a.output]).toEqual(new Array(8).fill(0)); // b's noise is not mixed
      expect(m.sharedPower).toBe(328 * 328);
    });

    it('keeps mixing for the hangover after the last loud frame, then stops', () => {
      const m = new ConferenceMixer({ frameSamples: 8, voiceThresholdDb: -50, voiceHangoverTicks: 3 });
      const a = m.add('a');
      const said: boolean[] = [];
      said.push(a.detectVoice(frame(1000)));
      for (let t = 0; t < 5; t++) said.push(a.detectVoice(frame(20)));
      expect(said).toEqual([true, true, true, true, false, false]);
      // Speech again restarts the hangover.
      expect(a.detectVoice(frame(1000))).toBe(true);
      expect(a.detectVoice(frame(20))).toBe(true);
    });

    it('ends the hangover when packets stop, and never counts a muted or silenced participant', () => {
      const m = new ConferenceMixer({ frameSamples: 8, voiceThresholdDb: -50, voiceHangoverTicks: 5 });
      const a = m.add('a');
      offer(a, frame(1000));
      m.mix();
      m.mix(); // a tick without a packet from a
      expect(a.detectVoice(frame(20))).toBe(false);
      m.setMuted('a', true);
      expect(a.detectVoice(frame(20000))).toBe(false);
      m.setMuted('a', false);
      m.setGain('a', 0);
      expect(a.detectVoice(frame(20000))).toBe(false);
    });

    it('without a threshold every frame of an unmuted participant counts', () => {
      const m = new ConferenceMixer({ frameSamples: 8 });
      const a = m.add('a');
      expect(a.detectVoice(frame(0))).toBe(true);
      m.setMuted('a', true);
      expect(a.detectVoice(frame(0))).toBe(false);
    });

    it('rejects a threshold above full scale or a bad hangover', () => {
      expect(() => new ConferenceMixer({ voiceThresholdDb: 3 })).toThrow(/voice threshold/);
      expect(() => new ConferenceMixer({ voiceThresholdDb: Number.NaN })).toThrow(/voice threshold/);
      expect(() => new ConferenceMixer({ voiceThresholdDb: -50, voiceHangoverTicks: -1 })).toThrow(/hangover/);
    });
  });
});
