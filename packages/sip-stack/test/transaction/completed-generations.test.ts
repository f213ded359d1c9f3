import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { CompletedGenerations } from '../../src/transaction/completed-generations.js';
import { CompletedResponses, hashKey } from '../../src/transaction/completed-responses.js';

const UAC = { protocol: 'udp' as const, address: '192.0.2.7', port: 5070 };
/** The parts of the RFC 3261 17.2.3 key of request i (branch, sent-by host and port, method), a few unusual. */
const parts = (i: number): [string, string, number | undefined, string] => [
  `z9hG4bK${i}`,
  i % 3 === 0 ? 'Proxy.Example.COM' : '127.0.0.1',
  i % 4 === 0 ? undefined : i % 4 === 1 ? 5060 : i * 997,
  i % 5 === 0 ? 'INFO' : 'OPTIONS',
];
/** The key as the layer's text: branch, lower-case host, port, method (what stageKey stages from the parts). */
const key = (i: number) => {
  const [branch, host, port, method] = parts(i);
  return [branch, host.toLowerCase(), port, method].join('\n');
};
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

  it('matches like a Map through stages, adds, forgets and expiry across generations and reused chunks', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('add' as const),
              key: fc.integer({ min: 0, max: 80 }),
              // big ones fill 256 KiB chunks in a few records, so chunks go back to the pool and to other stores
              size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 30_000, max: 90_000 })),
              // as the layer does: the key staged (hashed and copied) before the find, sometimes another's
              stage: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 80 })),
              // staged from its parts (stageKey, findStaged, addStaged) rather than its text
              byParts: fc.boolean(),
            }),
            fc.record({ op: fc.constant('forget' as const), key: fc.integer({ min: 0, max: 80 }) }),
            fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }),
          ),
          { maxLength: 400 },
        ),
        fc.constantFrom(0, 8),
        (ops, growInPlaceBelow) => {
          const clock = new VirtualClock(0);
          const store = new CompletedGenerations(clock, 1000, 2, growInPlaceBelow);
          const model = new Map<string, { due: number; text: string }>();
          const body = (k: number, size: number) => `r${k}:${'x'.repeat(size)}`;
          for (const o of ops) {
            if (o.op === 'wait') {
              clock.advance(o.ms);
              for (const [k, v] of model) if (v.due <= clock.now()) model.delete(k);
            } else {
              let h: number | undefined;
              let staging = -1;
              const byParts = o.op === 'add' && o.byParts;
              if (o.op === 'add' && o.stage >= 0) {
                if (byParts) {
                  staging = store.stageKey(...parts(o.stage));
                  expect(staging).toBeGreaterThanOrEqual(0);
                  h = store.stagedHash;
                  expect(h).toBe(hashKey(key(o.stage)));
                } else h = store.stage(key(o.stage));
              }
              const same = o.op === 'add' && o.stage === o.key;
              const slot = same ? (byParts ? store.findStaged() : store.find(key(o.key), h)) : store.find(key(o.key));
              expect(slot >= 0).toBe(model.has(key(o.key)));
              if (slot >= 0) expect(store.find(key(o.key))).toBe(slot);
              if (o.op === 'forget') {
                if (slot >= 0) store.forget(slot);
                model.delete(key(o.key));
              } else if (slot < 0) {
                const text = body(o.key, o.size);
                // a staging another add or stage came after is refused: then the key's text is added
                const staged = same && byParts ? store.addStaged(staging, datagram(text)) : undefined;
                const due = staged ?? (store.add(key(o.key), datagram(text), same ? h : undefined) as number);
                model.set(key(o.key), { due, text });
              } else {
                expect(Buffer.from(store.datagram(slot).bytes).toString()).toBe(model.get(key(o.key))?.text);
              }
            }
            expect(store.size).toBe(model.size);
          }
          for (const [k, v] of model) expect(Buffer.from(store.datagram(store.find(k)).bytes).toString()).toBe(v.text);
          clock.advance(1000);
          expect(store.size).toBe(0);
          store.find(key(0));
          expect(clock.pendingTimers).toBe(0);
          // every chunk went back; the pool keeps only a few once nothing is in use
          expect(store.spareChunks).toBeLessThanOrEqual(8);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a new store takes the chunks the older ones let go instead of fresh ones', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedGenerations(clock, 1000, 2, 0);
    const big = 'x'.repeat(100_000);
    // two records per 256 KiB chunk: the first store's two chunks
    store.add(key(0), datagram(`a${big}`));
    store.add(key(1), datagram(`b${big}`));
    store.add(key(2), datagram(`c${big}`));
    clock.advance(1000); // all three gone: their chunks are spares now
    expect(store.size).toBe(0);
    const spares = store.spareChunks;
    expect(spares).toBeGreaterThanOrEqual(2);
    const datagrams = [3, 4, 5, 6, 7, 8].map((i) => datagram(`${i}${big}`));
    const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      for (let i = 3; i < 9; i++) store.add(key(i), datagrams[i - 3]);
      expect(store.storeCount).toBeGreaterThan(1);
      // six records fill three chunks: all but one taken from the spares
      expect(alloc.mock.calls.length).toBeLessThanOrEqual(Math.max(0, 3 - spares));
    } finally {
      alloc.mockRestore();
    }
    for (let i = 3; i < 9; i++) expect(text(store, i)).toBe(`${i}${big}`);
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
