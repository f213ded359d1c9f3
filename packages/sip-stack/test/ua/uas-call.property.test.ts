// The UAS side of a call against a raw caller, for random orders of ACK, BYE, INVITE retransmissions and time on
// the injected clock: the 2xx goes again at T1 doubling up to T2 until the first ACK (RFC 3261 13.3.1.4), INVITE
// retransmissions are absorbed (RFC 6026 7.1), a BYE ends the session (15.1.2) whether or not the ACK came first,
// and without an ACK by 64*T1 accept() fails with 408 (and a session still up is ended with BYE).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import type { IncomingCall } from '../../src/ua/index.js';
import { rawCaller, udpAgent, until, within } from './helpers.js';

type Action =
  | { readonly kind: 'advance'; readonly ms: number }
  /** to just before or at the next retransmission instant (or 64*T1): where an off-by-one shows */
  | { readonly kind: 'edge'; readonly before: boolean }
  | { readonly kind: 'ack' }
  | { readonly kind: 'bye' }
  | { readonly kind: 'invite-again' };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 9000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('edge' as const), before: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'ack' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bye' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'invite-again' as const }) },
);

/** When the 2xx goes again without an ACK (T1 = 500 ms, T2 = 4 s), up to 64*T1. */
const RESENDS = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500];
const GIVE_UP = 32000;

const settle = () => new Promise((r) => setTimeout(r, 15));

let run = 0;

describe('UAS call state (property)', () => {
  it('retransmits the 2xx until the first ACK, ends at BYE or 64*T1, whatever the order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 10 }), async (actions) => {
        const clock = new VirtualClock();
        const bob = await udpAgent('bob', { clock });
        const id = run++;
        const raw = await rawCaller(bob.uri, `uas-prop-${id}`);
        const offered = new Promise<IncomingCall>((resolve) => {
          bob.ua.onInvite = resolve;
        });
        const invite = raw.request('INVITE', `z9hG4bK-up-${id}`, 1);
        raw.send(invite);
        const incoming = await within(offered);
        let outcome: 'pending' | 'confirmed' | number = 'pending';
        incoming.accept().then(
          () => {
            outcome = 'confirmed';
          },
          (e: { status?: number }) => {
            outcome = e.status ?? -1;
          },
        );
        await until(() => raw.responses('INVITE', 200) === 1);
        // the model
        let ackedAt: number | undefined;
        let endedByPeer = false;
        let byeOk = 0;
        let byeGone = 0;
        let branch = 0;
        const expectedOks = () => {
          const until = Math.min(ackedAt ?? GIVE_UP, clock.now());
          return 1 + RESENDS.filter((t) => t <= until).length;
        };
        const givenUp = () => ackedAt === undefined && clock.now() >= GIVE_UP;
        for (const a of actions) {
          if (a.kind === 'advance') {
            // stay clear of Timer L's end (64*T1 after the 2xx), where an INVITE again would be a new call
            clock.advanceTo(Math.min(clock.now() + a.ms, 40_000));
          } else if (a.kind === 'edge') {
            const next = [...RESENDS, GIVE_UP].find((t) => t > clock.now());
            if (next !== undefined) clock.advanceTo(a.before ? next - 1 : next);
          } else if (a.kind === 'ack') {
            raw.send(raw.request('ACK', `z9hG4bK-upa-${id}-${branch++}`, 1, incoming.toTag));
            if (ackedAt === undefined && !givenUp()) {
              ackedAt = clock.now();
              await until(() => outcome === 'confirmed');
            } else await settle();
          } else if (a.kind === 'bye') {
            const up = !endedByPeer && !givenUp();
            raw.send(raw.request('BYE', `z9hG4bK-upb-${id}-${branch++}`, 2 + branch, incoming.toTag));
            if (up) {
              endedByPeer = true;
              byeOk++;
            } else byeGone++;
            await until(() => raw.responses('BYE', 200) === byeOk && raw.responses('BYE', 481) === byeGone);
          } else if (clock.now() < 31_000) {
            const absorbed = bob.ua.transactions.counters.retransmissionsAbsorbed;
            raw.send(invite);
            await until(() => bob.ua.transactions.counters.retransmissionsAbsorbed === absorbed + 1);
          }
          await until(() => raw.responses('INVITE', 200) === expectedOks());
        }
        await settle();
        // nothing more than the model says: no 2xx after the ACK, no second call
        expect(raw.responses('INVITE', 200)).toBe(expectedOks());
        expect(raw.responses('BYE', 200)).toBe(byeOk);
        expect(raw.responses('BYE', 481)).toBe(byeGone);
        if (ackedAt !== undefined) expect(outcome).toBe('confirmed');
        else if (givenUp()) {
          await until(() => outcome !== 'pending');
          expect(outcome).toBe(408);
        } else expect(outcome).toBe('pending');
        // 13.3.1.4: no ACK by 64*T1 ends a session still up with BYE; one the peer ended gets none
        if (givenUp() && !endedByPeer) await until(() => raw.byes() > 0);
        else expect(raw.byes()).toBe(0);
        const live = ackedAt === undefined && !givenUp() ? 1 : 0;
        expect(bob.ua.ackQueue(false).size).toBe(live && clock.now() < 500 ? 1 : 0);
        expect(bob.ua.activeSessions.length).toBe(endedByPeer || givenUp() ? 0 : 1);
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
