import { describe, expect, it } from 'vitest';
import { ManualTickClock } from '../../src/engine/index.js';

describe('ManualTickClock', () => {
  it('runs each due tick in order, with the tick time, and nothing between advances', () => {
    const c = new ManualTickClock();
    const seen: number[] = [];
    c.start(20, (t) => seen.push(t));
    expect(c.advance(19)).toBe(0);
    expect(c.advance(1)).toBe(1);
    expect(c.advance(59)).toBe(2);
    expect(seen).toEqual([20, 40, 60]);
    expect(c.now()).toBe(79);
    c.stop();
    expect(c.advance(100)).toBe(0);
  });
});
