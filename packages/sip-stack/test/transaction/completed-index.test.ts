import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompletedIndex, RECORD_BITS } from '../../src/transaction/completed-index.js';
import { hashKey } from '../../src/transaction/completed-responses.js';

describe('CompletedIndex (one index over the stores of completed transactions)', () => {
  it('matches like a Map through inserts and removes, while it grows a few buckets at a time', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            insert: fc.boolean(),
            key: fc.integer({ min: 0, max: 300 }),
            // a few keys share a hash: the index must tell them apart by the store's answer
            collide: fc.boolean(),
          }),
          { maxLength: 600 },
        ),
        (ops) => {
          const keys = new Map<number, string>(); // ref -> key, what the two stores hold
          const stores = [0, 1].map((tag) => ({
            keyIs: (ref: number, key: string) => ref >>> RECORD_BITS === tag && keys.get(ref) === key,
            keyBytesAre: (ref: number, src: Uint8Array, at: number, length: number) =>
              ref >>> RECORD_BITS === tag && keys.get(ref) === Buffer.from(src).toString('latin1', at, at + length),
          }));
          const index = new CompletedIndex(4);
          index.attach(0, stores[0]);
          index.attach(1, stores[1]);
          const model = new Map<string, { ref: number; hash: number }>();
          let next = 0;
          for (const o of ops) {
            const key = `k${o.key}`;
            const hash = o.collide ? 7 : hashKey(key);
            const known = model.get(key);
            const found = index.find(key, known?.hash ?? hash);
            expect(found).toBe(known === undefined ? -1 : known.ref);
            // the same by the key's bytes (a staged key), somewhere inside a buffer
            const bytes = Buffer.from(`..${key}.`, 'latin1');
            expect(index.findBytes(known?.hash ?? hash, bytes, 2, key.length)).toBe(found);
            if (o.insert && known === undefined) {
              const ref = ((next & 1) << RECORD_BITS) + next++;
              keys.set(ref, key);
              index.insert(ref, hash);
              model.set(key, { ref, hash });
            } else if (!o.insert && known !== undefined) {
              index.remove(known.ref, known.hash);
              keys.delete(known.ref);
              model.delete(key);
            }
            expect(index.size).toBe(model.size);
          }
          for (const [key, v] of model) {
            expect(index.find(key, v.hash)).toBe(v.ref);
            expect(index.findBytes(v.hash, Buffer.from(key, 'latin1'), 0, key.length)).toBe(v.ref);
          }
          for (const [key, v] of model) {
            index.remove(v.ref, v.hash);
            expect(index.find(key, v.hash)).toBe(-1);
          }
          expect(index.size).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
