import { describe, expect, it } from 'vitest';
import { MessageBatch } from '../../src/engine/message-batch.js';

describe('MessageBatch', () => {
  it("sends one turn's messages together, in order, once the turn has run", () => {
    const sent: number[][] = [];
    const turns: Array<() => void> = [];
    const batch = new MessageBatch<number>(
      (list) => sent.push(list),
      (flush) => turns.push(flush),
    );
    batch.add(1);
    batch.add(2);
    batch.add(3);
    expect(sent).toEqual([]);
    expect(turns).toHaveLength(1); // one flush for the turn, not one per message
    turns.shift()?.();
    expect(sent).toEqual([[1, 2, 3]]);
    batch.add(4);
    batch.flush(); // before a message that must not overtake it
    expect(sent).toEqual([[1, 2, 3], [4]]);
    turns.shift()?.(); // the turn's own flush finds nothing left
    expect(sent).toHaveLength(2);
  });

  it('flushes on process.nextTick by default: after the promise callbacks of the same task', async () => {
    const sent: string[][] = [];
    const batch = new MessageBatch<string>((list) => sent.push(list));
    batch.add('a');
    await Promise.resolve();
    batch.add('b'); // posted from a promise callback of the same task
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([['a', 'b']]);
  });
});
