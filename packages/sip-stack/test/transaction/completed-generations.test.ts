import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { CompletedGenerations } from '../../src/transaction/completed-generations.js';
import { CompletedResponses } from '../../src/transaction/completed-responses.js';

const UAC = { protocol: 'udp' as const, address: '192.0.2.7', port: 5070 };
const key = (i: number) => `z9hG4bK${i}\n127.0.0.1:5060\nOPTIONS`;
const datagram = (text: string) => ({ bytes: Buffer.from(text, 'latin1'), destination: UAC });
const text = (store: CompletedGenerations, i: number) =>
  Buffer.from(store.datagram(store.find(key(i))).bytes).toString();

describe('CompletedGenerations (completed responses without growth pauses)', () => {
  it('starts a new store when the current one is full instead of growing it, and finds in both', () => {
    const grow = vi.spyOn(CompletedResponses.prototype as unknown as { grow(): void }, 'grow');
    try {
      const clock = new VirtualClock(0);
      const store = new CompletedGenerations(clock, 1000, 4, 0);
      for (let i = 0; i < 4; i++) store.add(key(i), datagram(`r${i}`));
      clock.advance(500);
      for (let i = 4; i < 12; i++) store.add(key(i), datagram(`r${i}`));
      expect(grow).not.toHaveBeenCalled();
      expect(store.size).toBe(12);
      for (let i = 0; i < 12; i++) expect(text(store, i)).toBe(`r${i}`);
      // a record of the older store is forgotten by its slot
      store.forget(store.find(key(1)));
      expect(store.find(key(1))).toBe(-1);
      expect(store.size).toBe(11);
      // Timer J ends the first four; the rest later
      clock.advance(500);
      expect(store.size).toBe(8);
      expect(store.find(key(0))).toBe(-1);
      expect(text(store, 4)).toBe('r4');
      clock.advance(500);
      expect(store.size).toBe(0);
      expect(clock.pendingTimers).toBe(0);
    } finally {
      grow.mockRestore();
    }
  });

  it('matches like a Map through adds, forgets and expiry across generations (small ones grown in place or not)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('add' as const), key: fc.integer({ min: 0, max: 80 }) }),
            fc.record({ op: fc.constant('forget' as const), key: fc.integer({ min: 0, max: 80 }) }),
            fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }),
          ),
          { maxLength: 400 },
        ),
        fc.constantFrom(0, 8),
        (ops, growInPlaceBelow) => {
          const clock = new VirtualClock(0);
          const store = new CompletedGenerations(clock, 1000, 2, growInPlaceBelow);
          const model = new Map<string, number>();
          for (const o of ops) {
            if (o.op === 'wait') {
              clock.advance(o.ms);
              for (const [k, due] of model) if (due <= clock.now()) model.delete(k);
            } else {
              const slot = store.find(key(o.key));
              expect(slot >= 0).toBe(model.has(key(o.key)));
              if (o.op === 'forget') {
                if (slot >= 0) store.forget(slot);
                model.delete(key(o.key));
              } else if (slot < 0) {
                model.set(key(o.key), store.add(key(o.key), datagram(`r${o.key}`)) as number);
              } else {
                expect(Buffer.from(store.datagram(slot).bytes).toString()).toBe(`r${o.key}`);
              }
            }
            expect(store.size).toBe(model.size);
          }
          clock.advance(1000);
          expect(store.size).toBe(0);
          store.find(key(0));
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('grows a small store in place and starts new stores only from the given capacity', () => {
    const grow = vi.spyOn(CompletedResponses.prototype as unknown as { grow(): void }, 'grow');
    try {
      const store = new CompletedGenerations(new VirtualClock(0), 1000, 2, 8);
      for (let i = 0; i < 8; i++) store.add(key(i), datagram(`r${i}`));
      expect(grow).toHaveBeenCalledTimes(2); // 2 -> 4 -> 8
      for (let i = 8; i < 40; i++) store.add(key(i), datagram(`r${i}`));
      expect(grow).toHaveBeenCalledTimes(2); // then stores of 16 and 32 beside it
      for (let i = 0; i < 40; i++) expect(text(store, i)).toBe(`r${i}`);
    } finally {
      grow.mockRestore();
    }
  });

  it('drops every record and timer on clear', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedGenerations(clock, 1000, 2);
    for (let i = 0; i < 5; i++) store.add(key(i), datagram(`r${i}`));
    store.clear();
    expect(store.size).toBe(0);
    expect(store.find(key(4))).toBe(-1);
    expect(clock.pendingTimers).toBe(0);
  });
});
