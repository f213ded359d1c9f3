import { describe, expect, it } from 'vitest';
import { PlayoutQueue } from '../../src/engine/playout-queue.js';

function payload(v: number): Uint8Array {
  return new Uint8Array([v, v, v]);
}

describe('PlayoutQueue', () => {
  it('plays in sequence order after reordering, reporting a missing packet as lost', () => {
    const q = new PlayoutQueue(16, 32, 2);
    const out = new Uint8Array(32);
    q.push(65534, 0, payload(1), 0, 3);
    q.push(0, 0, payload(3), 0, 3); // arrives before 65535 (wraps)
    q.push(65535, 0, payload(2), 0, 3);
    q.push(2, 0, payload(5), 0, 3); // 1 is missing
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const n = q.pop(out);
      seen.push(n < 0 ? n : out[0]);
    }
    expect(seen).toEqual([1, 2, 3, PlayoutQueue.LOST, 5]);
    expect(q.pop(out)).toBe(PlayoutQueue.EMPTY);
  });

  it('waits for its start depth, drops late and duplicate packets', () => {
    const q = new PlayoutQueue(16, 32, 3);
    const out = new Uint8Array(32);
    q.push(10, 0, payload(10), 0, 3);
    q.push(11, 0, payload(11), 0, 3);
    expect(q.pop(out)).toBe(PlayoutQueue.EMPTY);
    q.push(11, 0, payload(99), 0, 3);
    q.push(12, 0, payload(12), 0, 3);
    expect(q.pop(out)).toBe(3);
    expect(out[0]).toBe(10);
    q.push(10, 0, payload(10), 0, 3);
    expect(q.late).toBe(1);
    expect(q.pop(out)).toBe(3);
    expect(out[0]).toBe(11);
  });

  it('starts again after a jump beyond its capacity and ignores oversize payloads', () => {
    const q = new PlayoutQueue(8, 4, 1);
    const out = new Uint8Array(4);
    q.push(1, 0, payload(1), 0, 3);
    q.push(500, 8, payload(7), 0, 3);
    expect(q.overflow).toBe(1);
    expect(q.pop(out)).toBe(3);
    expect(out[0]).toBe(7);
    expect(q.payloadType).toBe(8);
    q.push(501, 0, new Uint8Array(10), 0, 10);
    expect(q.depth).toBe(0);
  });
});
