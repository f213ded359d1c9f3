import { describe, expect, it } from 'vitest';
import {
  callDurations,
  decodeCdrCursor,
  encodeCdrCursor,
  InMemoryStorage,
  isStorageError,
  StorageError,
} from '../../src/storage/index.js';
import { storageContract } from './contract.js';

storageContract('in-memory', async (clock) => new InMemoryStorage({ clock }));

describe('storage helpers', () => {
  it('derives wait and talk time from a call record', () => {
    expect(callDurations({ startedAt: 1000, answeredAt: 4000, endedAt: 64_000 })).toEqual({
      totalMs: 63_000,
      waitMs: 3000,
      talkMs: 60_000,
    });
    expect(callDurations({ startedAt: 1000, answeredAt: null, endedAt: 21_000 })).toEqual({
      totalMs: 20_000,
      waitMs: 20_000,
      talkMs: 0,
    });
  });

  it('round-trips cursors, including call ids with separators, and rejects garbage', () => {
    const id = 'abc\ndef:ghi';
    expect(decodeCdrCursor(encodeCdrCursor(1_700_000_000_123, id))).toEqual({
      startedAt: 1_700_000_000_123,
      callId: id,
    });
    for (const bad of ['', 'eA', encodeCdrCursor(1, 'x').slice(2), Buffer.from('12.5\nx').toString('base64url')]) {
      expect(() => decodeCdrCursor(bad)).toThrow(StorageError);
    }
  });

  it('recognises storage errors by their code', () => {
    expect(isStorageError(new StorageError('conflict', 'x'))).toBe(true);
    expect(isStorageError(Object.assign(new Error('y'), { code: 'not-found' }))).toBe(true);
    expect(isStorageError(Object.assign(new Error('z'), { code: 'ENOENT' }))).toBe(false);
    expect(isStorageError({ code: 'conflict' })).toBe(false);
  });
});
