import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { systemClock, VirtualClock } from '../../src/transaction/index.js';

describe('VirtualClock', () => {
  it('fires timers in due order, ties in scheduling order, with now() at the due time', () => {
    const clock = new VirtualClock(1000);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 20);
    expect(clock.advance(15)).toBe(1);
    expect(clock.now()).toBe(1015);
    clock.advance(100);
    expect(log).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(clock.now()).toBe(1115);
  });

  it('runs timers scheduled while firing when they fall within the advance', () => {
    const clock = new VirtualClock();
    const log: number[] = [];
    clock.setTimeout(() => {
      log.push(clock.now());
      clock.setTimeout(() => log.push(clock.now()), 5);
      clock.setTimeout(() => log.push(clock.now()), 0);
    }, 10);
    clock.advance(14);
    expect(log).toEqual([10, 10]);
    clock.advance(1);
    expect(log).toEqual([10, 10, 15]);
  });

  it('cancels, counts pending timers, and reports the next due time', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const a = clock.setTimeout(() => fired.push(1), 10);
    clock.setTimeout(() => fired.push(2), 20);
    expect(clock.pendingTimers).toBe(2);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextDue()).toBe(20);
    expect(clock.runUntilIdle()).toBe(1);
    expect(fired).toEqual([2]);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextDue()).toBeUndefined();
  });

  it('stops a runaway schedule instead of hanging', () => {
    const clock = new VirtualClock();
    const tick = () => clock.setTimeout(tick, 1);
    tick();
    expect(() => clock.runUntilIdle(1000)).toThrow(/more than 1000/);
  });

  it('fires any schedule in sorted order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 200 }), (delays) => {
        const clock = new VirtualClock();
        const seen: Array<[number, number]> = [];
        delays.forEach((d, i) => {
          clock.setTimeout(() => seen.push([clock.now(), i]), d);
        });
        clock.runUntilIdle();
        const expected = delays.map((d, i) => [d, i] as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        expect(seen).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('the system clock runs real timers', async () => {
    const start = systemClock.now();
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
    expect(systemClock.now()).toBeGreaterThanOrEqual(start);
    let fired = false;
    const h = systemClock.setTimeout(() => (fired = true), 1);
    systemClock.clearTimeout(h);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 10));
    expect(fired).toBe(false);
  });
});
