// The queue of fixed waits (transaction Timers D, I, J, K; the first wait of a 2xx for its ACK, RFC 3261 13.3.1.4):
// every entry not taken out is told exactly once, at its deadline, with that deadline; a taken-out entry is never
// told and no longer held.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { DeadlineQueue } from '../../src/transaction/deadline-queue.js';

interface Entry {
  reached(due: number): void;
}
const tell = (entry: Entry, due: number): void => entry.reached(due);

type Step =
  | { readonly op: 'add' }
  | { readonly op: 'remove'; readonly pick: number }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'clear' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ op: 'add' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat(1000) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 700 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

describe('DeadlineQueue', () => {
  it('tells each entry once at its deadline unless taken out; holds only waiting entries', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.array(step, { maxLength: 300 }), (ms, steps) => {
        const clock = new VirtualClock(1000);
        const queue = new DeadlineQueue<Entry>(clock, ms, tell);
        // what the model expects: waiting entries with their deadline and position
        const waiting = new Map<number, { due: number; position: number }>();
        const told: Array<{ id: number; due: number; at: number }> = [];
        let next = 0;
        // positions of entries dropped by clear: taking them out later must not touch newer entries
        const dropped: number[] = [];
        const entry = (id: number) => ({
          reached(due: number) {
            told.push({ id, due, at: clock.now() });
          },
        });
        for (const s of steps) {
          if (s.op === 'add') {
            const id = next++;
            const position = queue.add(entry(id));
            expect(queue.lastDue).toBe(clock.now() + ms);
            waiting.set(id, { due: clock.now() + ms, position });
          } else if (s.op === 'remove') {
            if (dropped.length > 0) queue.remove(dropped[s.pick % dropped.length]);
            const ids = [...waiting.keys()];
            if (ids.length === 0) continue;
            const id = ids[s.pick % ids.length];
            queue.remove((waiting.get(id) as { position: number }).position);
            // taking out twice, or after the queue moved on, changes nothing
            queue.remove((waiting.get(id) as { position: number }).position);
            waiting.delete(id);
          } else if (s.op === 'clear') {
            queue.clear();
            for (const w of waiting.values()) dropped.push(w.position);
            waiting.clear();
          } else {
            const before = told.length;
            clock.advance(s.ms);
            for (const t of told.slice(before)) {
              const w = waiting.get(t.id);
              expect(w).toBeDefined();
              expect(t.due).toBe(w?.due);
              expect(t.at).toBe(w?.due);
              waiting.delete(t.id);
            }
          }
          // nothing due is left waiting, and the queue counts exactly the waiting entries
          for (const w of waiting.values()) expect(w.due).toBeGreaterThan(clock.now());
          expect(queue.size).toBe(waiting.size);
        }
        // each told at most once
        expect(new Set(told.map((t) => t.id)).size).toBe(told.length);
      }),
      { numRuns: 300 },
    );
  });

  it('never hands out a dropped position again, even after it ran empty', () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue<Entry>(clock, 500, tell);
    const told: string[] = [];
    const dropped = queue.add({ reached: () => void told.push('dropped') });
    queue.clear();
    queue.add({ reached: () => void told.push('first') });
    clock.advance(500);
    // the queue ran empty; the entry after it must not be taken out by the one clear dropped
    queue.add({ reached: () => void told.push('second') });
    queue.remove(dropped);
    expect(queue.size).toBe(1);
    clock.advance(500);
    expect(told).toEqual(['first', 'second']);
  });

  it('keeps positions valid while it compacts under a steady load', () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue<Entry>(clock, 500, tell);
    const told = new Set<number>();
    // 5000 entries a second, every other one taken out 100 ms later: the queue never runs empty, and compacts
    // between the add and the removal of many entries
    const later: number[][] = [];
    const kept = new Set<number>();
    let id = 0;
    for (let ms = 0; ms < 3000; ms++) {
      for (let k = 0; k < 5; k++, id++) {
        const mine = id;
        const position = queue.add({ reached: () => void told.add(mine) });
        if (k % 2 === 0) {
          later[ms + 100] ??= [];
          later[ms + 100].push(position);
        } else if (ms <= 2500) kept.add(mine);
      }
      for (const position of later[ms] ?? []) queue.remove(position);
      clock.advance(1);
    }
    expect(told).toEqual(kept);
    // added after 2500 ms and still waiting: the odd ones, and the even ones of the last 100 ms
    expect(queue.size).toBe(499 * 2 + 100 * 3);
  });
});
