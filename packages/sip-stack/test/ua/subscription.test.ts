// Subscriptions (RFC 6665) between two UAs on loopback UDP, with the message-summary package (RFC 3842) as the
// example: subscribe, NOTIFY, refresh, unsubscribe, expiry, and a NOTIFY that beats the 2xx.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { SipDialog } from '../../src/dialog/index.js';
import { createResponse } from '../../src/message/index.js';
import type { IncomingSubscription, Notification } from '../../src/ua/index.js';
import { text, udpAgent, until, within } from './helpers.js';

const MWI = 'application/simple-message-summary';
const summary = (n: number) => `Messages-Waiting: ${n > 0 ? 'yes' : 'no'}\r\nVoice-Message: ${n}/0\r\n`;

describe('subscriptions (RFC 6665) with Event: message-summary', () => {
  it('subscribes, receives NOTIFYs, and unsubscribes with Expires: 0', async () => {
    const voicemail = await udpAgent('voicemail');
    const phone = await udpAgent('phone');
    const offered = new Promise<IncomingSubscription>((resolve) => {
      voicemail.ua.onSubscribe = resolve;
    });
    const notes: Notification[] = [];
    let terminated: string | undefined;
    const sub = phone.ua.subscribe(voicemail.uri, 'message-summary', {
      expires: 600,
      accept: MWI,
      onNotify: (n) => notes.push(n),
      onTerminated: (r) => {
        terminated = r ?? 'none';
      },
    });
    const incoming = await within(offered);
    expect(incoming.event).toBe('message-summary');
    expect(incoming.request.header('accept')).toBe(MWI);
    expect(incoming.requestedExpires).toBe(600);
    let notifierEnded: string | undefined;
    incoming.onTerminated = (r) => {
      notifierEnded = r;
    };
    await within(incoming.accept({ expires: 300, body: summary(0), contentType: MWI }));
    const ok = await within(sub.accepted);
    expect(ok.expires()).toBe(300);
    expect(sub.state).toBe('active');
    expect(notes.map((n) => text(n.body))).toEqual([summary(0)]);
    expect(notes[0].contentType).toBe(MWI);
    expect((await within(incoming.notify(summary(2), MWI))).status).toBe(200);
    expect(notes.map((n) => text(n.body))).toEqual([summary(0), summary(2)]);
    await within(sub.unsubscribe());
    await until(() => notifierEnded !== undefined && notes.length === 3);
    expect(notifierEnded).toBe('unsubscribed');
    expect(notes[2].state).toBe('terminated');
    expect(sub.state).toBe('terminated');
    expect(terminated).toBe('unsubscribed');
    // The subscription is over at the notifier: a late NOTIFY is refused locally.
    await expect(incoming.notify(summary(1), MWI)).rejects.toMatchObject({ code: 'terminated' });
  });

  it('refreshes before expiry and ends with reason=timeout when the notifier lets it expire', async () => {
    const clock = new VirtualClock();
    const voicemail = await udpAgent('voicemail', { clock });
    const phone = await udpAgent('phone', { clock });
    let incoming: IncomingSubscription | undefined;
    const refreshes: number[] = [];
    // Every NOTIFY's outcome: the clock moves on only once the phone's 200 reached the notifier, or the NOTIFY
    // transaction would time out in the jump (Timer F) and end the subscription before the test looks.
    const notifies: Promise<unknown>[] = [];
    voicemail.ua.onSubscribe = (s) => {
      incoming = s;
      const notify = s.notify.bind(s);
      s.notify = (...args) => {
        const sent = notify(...args);
        notifies.push(sent.catch(() => undefined));
        return sent;
      };
      void s.accept({ expires: 60, body: summary(1), contentType: MWI });
    };
    const notes: Notification[] = [];
    const sub = phone.ua.subscribe(voicemail.uri, 'message-summary', { expires: 60, onNotify: (n) => notes.push(n) });
    await within(sub.accepted);
    await until(() => notes.length === 1 && incoming !== undefined);
    await within(Promise.all(notifies));
    const original = incoming?.receive.bind(incoming);
    if (incoming && original) {
      incoming.receive = (request, tx) => {
        refreshes.push(request.expires() ?? -1);
        original(request, tx);
      };
    }
    // Refresh at 60 - min(32, 20) = 40 s; the notifier answers with a NOTIFY too.
    clock.advance(39_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(refreshes).toEqual([]);
    clock.advance(1);
    // Generous real-time bounds: the virtual clock decides the timing, the loaded CI machine only the I/O.
    await until(() => refreshes.length === 1 && notes.length === 2, 15_000);
    expect(refreshes).toEqual([60]);
    await within(Promise.all(notifies));
    // Now the subscriber goes quiet (its refresh timer is dropped) and the notifier's timer ends it at 100 s.
    phone.ua.close();
    const ended = new Promise<string>((resolve) => {
      if (incoming) incoming.onTerminated = resolve;
    });
    clock.advance(60_000);
    expect(await within(ended, 15_000)).toBe('timeout');
    expect(incoming?.state).toBe('terminated');
  });

  it('takes a NOTIFY that arrives before the 2xx, and answers an unknown one 481', async () => {
    const notifier = await udpAgent('notifier');
    const phone = await udpAgent('phone');
    let notifyStatus = 0;
    notifier.ua.onRequest = (request, tx) => {
      const dialog = SipDialog.asUas(request, 'early-notifier', `<${notifier.uri}>`, false);
      const notify = dialog.createRequest('NOTIFY', {
        headers: [
          ['Event', 'message-summary'],
          ['Subscription-State', 'active;expires=60'],
        ],
        body: summary(3),
        contentType: MWI,
      });
      void notifier.ua.sendInDialog(dialog, notify).then((r) => {
        notifyStatus = r.status;
        tx.respond(
          createResponse(request, 200, undefined, {
            toTag: 'early-notifier',
            headers: [
              ['Contact', `<${notifier.uri}>`],
              ['Expires', '60'],
            ],
          }),
        );
      });
    };
    const notes: Notification[] = [];
    const sub = phone.ua.subscribe(notifier.uri, 'message-summary', { expires: 60, onNotify: (n) => notes.push(n) });
    await within(sub.accepted);
    expect(notifyStatus).toBe(200);
    expect(notes.map((n) => text(n.body))).toEqual([summary(3)]);
    expect(sub.dialog?.remoteTag).toBe('early-notifier');
    // A NOTIFY in no known dialog gets 481 (RFC 6665 4.1.3).
    const stray = SipDialog.asUas(sub.request, 'other-tag', `<${notifier.uri}>`, false);
    const response = await within(
      notifier.ua.sendInDialog(
        stray,
        stray.createRequest('NOTIFY', {
          headers: [
            ['Event', 'message-summary'],
            ['Subscription-State', 'active'],
          ],
        }),
      ),
    );
    expect(response.status).toBe(481);
    await sub.unsubscribe();
  });

  it('ends at the subscriber when the notifier terminates the subscription', async () => {
    const presence = await udpAgent('presence');
    const phone = await udpAgent('phone');
    let incoming: IncomingSubscription | undefined;
    presence.ua.onSubscribe = (s) => {
      incoming = s;
      void s.accept({ state: 'pending' });
    };
    const notes: Notification[] = [];
    const ended = new Promise<string | undefined>((resolve) => {
      phone.ua.subscribe(presence.uri, 'dialog', { onNotify: (n) => notes.push(n), onTerminated: resolve });
    });
    await until(() => notes.length === 1);
    expect(notes[0].state).toBe('pending');
    await incoming?.terminate('noresource');
    expect(await within(ended)).toBe('noresource');
    expect(notes.map((n) => n.state)).toEqual(['pending', 'terminated']);
  });

  it('rejects a SUBSCRIBE without Event (489) and a declined one reaches the subscriber as an error', async () => {
    const notifier = await udpAgent('notifier');
    const phone = await udpAgent('phone');
    notifier.ua.onSubscribe = (s) => s.reject(403);
    const terminated: string[] = [];
    const sub = phone.ua.subscribe(notifier.uri, 'dialog', { onTerminated: (r) => terminated.push(r ?? '') });
    await expect(within(sub.accepted)).rejects.toMatchObject({ status: 403 });
    expect(sub.state).toBe('terminated');
    expect(terminated).toEqual(['403']);
    const bare = await within(phone.ua.request('SUBSCRIBE', notifier.uri));
    expect(bare.status).toBe(489);
  });
});
