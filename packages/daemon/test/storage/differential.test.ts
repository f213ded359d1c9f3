// The SQLite and in-memory backends must agree: random sequences of operations are applied to both and every
// result (value or error code) is compared.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryStorage, type Storage } from '../../../pbx-core/src/storage/index.js';
import { ManualClock, sampleCall, sampleLeg, sampleRegistration } from '../../../pbx-core/test/storage/contract.js';
import { openSqliteStorage } from '../../src/storage/index.js';

const root = mkdtempSync(join(tmpdir(), 'switchyard-diff-'));
let dirs = 0;
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
const numbers = ['201', '202', '203', ''];
const contacts = ['sip:a@h', 'sip:b@h', 'sip:c@h'];

type Operation = (storage: Storage) => Promise<unknown>;

const operationArb: fc.Arbitrary<{ label: string; run: Operation }> = fc.oneof(
  fc
    .record({ number: fc.constantFrom(...numbers), role: fc.constantFrom('user', 'admin', 'bogus') })
    .map(({ number, role }) => ({
      label: `create ${number} ${role}`,
      run: (s: Storage) => s.extensions.create({ number, displayName: `Ext ${number}`, role: role as 'user' }),
    })),
  fc
    .record({
      number: fc.constantFrom(...numbers),
      presence: fc.constantFrom('away', 'lunch', 'gone'),
      dnd: fc.boolean(),
    })
    .map(({ number, presence, dnd }) => ({
      label: `update ${number} ${presence}`,
      run: (s: Storage) =>
        s.extensions.update(number, { presence: presence as 'away', enabled: !dnd, forwarding: [], email: 'x@y' }),
    })),
  fc.constantFrom(...numbers).map((number) => ({
    label: `delete ${number}`,
    run: (s: Storage) => s.extensions.delete(number),
  })),
  fc.constant({ label: 'list extensions', run: (s: Storage) => s.extensions.list() }),
  fc
    .record({
      number: fc.constantFrom(...numbers),
      contact: fc.constantFrom(...contacts),
      q: fc.constantFrom(0, 0.5, 1, 1.5),
      expires: fc.integer({ min: 0, max: 10 }),
      at: fc.integer({ min: 0, max: 10 }),
    })
    .map(({ number, contact, q, expires, at }) => ({
      label: `upsert ${number} ${contact} q=${q}`,
      run: (s: Storage) =>
        s.registrations.upsert(
          sampleRegistration(number, contact, {
            q,
            expiresAt: T0 + expires * 1000,
            registeredAt: T0 + at,
            updatedAt: T0 + at,
          }),
        ),
    })),
  fc
    .record({ number: fc.constantFrom(...numbers), contact: fc.constantFrom(...contacts) })
    .map(({ number, contact }) => ({
      label: `remove ${number} ${contact}`,
      run: (s: Storage) => s.registrations.remove(number, contact),
    })),
  fc.integer({ min: 0, max: 10 }).map((at) => ({
    label: `purge ${at}`,
    run: async (s: Storage) =>
      (await s.registrations.purgeExpired(T0 + at * 1000)).sort((a, b) =>
        `${a.extension} ${a.contactUri}` < `${b.extension} ${b.contactUri}` ? -1 : 1,
      ),
  })),
  fc.constantFrom(...numbers).map((number) => ({
    label: `list registrations ${number}`,
    run: (s: Storage) => s.registrations.list(number, T0 + 2000),
  })),
  fc.constant({ label: 'list all registrations', run: (s: Storage) => s.registrations.listAll() }),
  fc
    .record({
      id: fc.integer({ min: 0, max: 6 }),
      at: fc.integer({ min: 0, max: 5 }),
      peer: fc.constantFrom(...numbers),
    })
    .map(({ id, at, peer }) => ({
      label: `insert call ${id}`,
      run: (s: Storage) =>
        s.cdrs.insert(sampleCall(`call-${id}`, T0 + at * 1000, { legs: [sampleLeg(`l${id}`, peer, T0 + at * 1000)] })),
    })),
  fc
    .record({ extension: fc.constantFrom(...numbers), limit: fc.integer({ min: 1, max: 4 }), desc: fc.boolean() })
    .map(({ extension, limit, desc }) => ({
      label: `query calls ${extension}`,
      run: async (s: Storage) => {
        const page = await s.cdrs.query({ extension, limit, order: desc ? 'desc' : 'asc' });
        return { ids: page.records.map((r) => r.callId), more: page.nextCursor !== null };
      },
    })),
);

async function outcome(run: Operation, storage: Storage): Promise<unknown> {
  try {
    return { value: await run(storage) };
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error) };
  }
}

describe('sqlite and in-memory storage agree', () => {
  it('on random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operationArb, { minLength: 1, maxLength: 25 }), async (operations) => {
        const clock = new ManualClock(T0);
        const memory = new InMemoryStorage({ clock });
        const sqlite = openSqliteStorage(join(root, `d${++dirs}`), { clock });
        try {
          for (const [index, operation] of operations.entries()) {
            clock.time = T0 + index;
            const expected = await outcome(operation.run, memory);
            const actual = await outcome(operation.run, sqlite);
            expect(actual, `step ${index}: ${operation.label}`).toEqual(expected);
          }
        } finally {
          await sqlite.close();
          await memory.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
