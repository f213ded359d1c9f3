import { MediaEngine } from '@switchyard/media';
import {
  type IncomingCall,
  parseSdp,
  type SipResponse,
  type SipSession,
  SipTransportLayer,
  systemClock,
  UserAgent,
} from '@switchyard/sip-stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Phone } from '../../../media/test/engine/phone.js';
import { type AnchorEngine, type CallEvent, CallManager, MediaAnchor, mapLegFailures } from '../../src/calls/index.js';
import { Registrar } from '../../src/registrar/index.js';
import { InMemoryStorage } from '../../src/storage/index.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let engine: MediaEngine;
beforeAll(async () => {
  engine = await MediaEngine.start({ workers: 1, portRange: { min: 43000, max: 43999 }, statisticsIntervalMs: 0 });
});
afterAll(async () => {
  await engine?.shutdown();
});

/** The c= address and m= port of a description. */
function mediaOf(body: Uint8Array | string): { address: string; port: number } {
  const sdp = parseSdp(body);
  return { address: sdp.connection?.address ?? '', port: sdp.media[0].port };
}

const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const ANSWER = 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';

async function pbx(options: { ringbackTone?: boolean; engine?: AnchorEngine } = {}) {
  const storage = new InMemoryStorage();
  for (const [number, name] of [
    ['1000', 'Alice'],
    ['1001', 'Bob'],
  ])
    await storage.extensions.create({ number, displayName: name, sipPassword: `pw-${number}` });
  const registrar = new Registrar({
    domain: 'pbx.test',
    extensions: storage.extensions,
    registrations: storage.registrations,
    clock: systemClock,
    minExpires: 1,
  });
  const transport = new SipTransportLayer();
  const local = await transport.listen('udp://127.0.0.1:0');
  const ua = new UserAgent({
    transport,
    aor: 'sip:pbx@pbx.test',
    authenticator: { server: registrar.digest, methods: ['INVITE'] },
  });
  const events: CallEvent[] = [];
  const media = new MediaAnchor({ address: '127.0.0.1', ...options, engine: options.engine ?? engine });
  const calls = new CallManager({
    media,
    ua,
    registrar,
    extensions: storage.extensions,
    cdrs: storage.cdrs,
    clock: systemClock,
    domain: 'pbx.test',
    onEvent: (e) => events.push(e),
  });
  ua.onRequest = (request, tx, context) => {
    if (request.method === 'REGISTER') void registrar.handle(request, tx, context);
    else tx.reply(405);
  };
  ua.onInvite = (incoming) => void calls.handleInvite(incoming);
  cleanup.push(async () => {
    ua.close();
    await transport.close();
    media.detach();
  });
  return { storage, calls, events, media, address: `127.0.0.1:${local.port}` };
}

async function phone(pbxAddress: string, number: string) {
  const transport = new SipTransportLayer();
  await transport.listen('udp://127.0.0.1:0');
  const ua = new UserAgent({
    transport,
    aor: `sip:${number}@pbx.test`,
    credentials: { username: number, password: `pw-${number}` },
  });
  const reg = ua.registration({ registrar: `sip:${pbxAddress}`, aor: `sip:${number}@pbx.test`, expires: 300 });
  await reg.register();
  cleanup.push(async () => {
    reg.stop();
    ua.close();
    await transport.close();
  });
  return ua;
}

/** The engine with every bridge taking `ms` longer, as under load. */
function slowBridges(ms: number): AnchorEngine {
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === 'bridge') {
        return async (a: string, b: string) => {
          await new Promise((r) => setTimeout(r, ms));
          return target.bridge(a, b);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** Holds back the ACKs `ua` sends for 2xx (a lost or late ACK); the returned function sends them. */
function holdAcks(ua: UserAgent): () => void {
  const held: Array<() => void> = [];
  const send = ua.sendAck.bind(ua);
  ua.sendAck = (dialog, cseq) => void held.push(() => send(dialog, cseq));
  return () => {
    ua.sendAck = send;
    for (const ack of held.splice(0)) ack();
  };
}

/** A promise of how a session ends, and whether it has yet. */
function watchEnd(session: SipSession): { ended: () => string | undefined } {
  let by: string | undefined;
  session.events.onEnded = (b) => {
    by = b;
  };
  return { ended: () => by };
}

async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('CallManager (B2BUA) between registered extensions', () => {
  it('connects 1000 to 1001 with media anchored, carries BYE across, and records who hung up', async () => {
    const { calls, storage, events, media, address } = await pbx();
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    let bobCall: IncomingCall | undefined;
    bob.onInvite = (call) => {
      bobCall = call;
      call.ring();
      setTimeout(() => void call.accept({ body: ANSWER, contentType: 'application/sdp' }), 50);
    };
    const progress: number[] = [];
    const session = await alice.call(`sip:1001@${address}`, {
      body: OFFER,
      onProgress: (r: SipResponse) => progress.push(r.status),
    }).answered;
    // Each phone sees an endpoint of the PBX, not the other phone's port.
    const toAlice = mediaOf(session.remoteBody);
    const toBob = mediaOf(bobCall!.body);
    expect(toAlice.port).toBeGreaterThanOrEqual(43000);
    expect(toAlice.port).not.toBe(5000);
    expect(toBob.port).toBeGreaterThanOrEqual(43000);
    expect(toBob.port).not.toBe(4000);
    expect(toBob.port).not.toBe(toAlice.port);
    expect(media.endpointCount).toBe(2);
    expect(bobCall!.request.header('p-asserted-identity')).toContain('sip:1000@pbx.test');
    // Bob's 180 became ringback from the engine: a 183 with the PBX's answer.
    expect(progress).toContain(183);
    expect(calls.activeCalls).toHaveLength(1);
    expect(calls.activeCalls[0].snapshot()).toMatchObject({
      state: 'answered',
      callerExtension: '1000',
      dialled: '1001',
    });
    const bobSession = await until(() => bob.activeSessions[0]);
    const bobEnded = new Promise<string>((resolve) => {
      bobSession.events.onEnded = resolve;
    });
    await new Promise((r) => setTimeout(r, 30));
    await session.bye();
    expect(await bobEnded).toBe('remote');
    const ended = await until(() => events.find((e) => e.type === 'call.ended'));
    expect(ended.type === 'call.ended' && ended.record).toMatchObject({
      status: 'answered',
      hangupSide: 'caller',
      callerExtension: '1000',
      calleeExtension: '1001',
      // The extensions' names, not what the phone put in From (nothing here).
      callerName: 'Alice',
      calleeName: 'Bob',
    });
    const page = await storage.cdrs.query({ extension: '1001' });
    expect(page.records).toHaveLength(1);
    const record = page.records[0];
    expect(record.answeredAt! - record.startedAt).toBeGreaterThanOrEqual(40);
    expect(record.endedAt - record.answeredAt!).toBeGreaterThanOrEqual(25);
    expect(record.legs.map((l) => [l.direction, l.status])).toEqual([
      ['inbound', 'answered'],
      ['outbound', 'answered'],
    ]);
    expect(events.map((e) => e.type)).toEqual(['call.started', 'call.ringing', 'call.answered', 'call.ended']);
    expect(record.legs.map((l) => l.codec)).toEqual(['PCMU', 'PCMU']);
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });

  it('passes busy, unknown numbers and cancellations through, each with its record', async () => {
    const { storage, media, address } = await pbx();
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    bob.onInvite = (call) => call.reject(486);
    await expect(alice.call(`sip:1001@${address}`, { body: OFFER }).answered).rejects.toMatchObject({ status: 486 });
    await expect(alice.call(`sip:1999@${address}`, { body: OFFER }).answered).rejects.toMatchObject({ status: 404 });
    bob.onInvite = (call) => call.ring();
    const ringing = alice.call(`sip:1001@${address}`, {
      body: OFFER,
      onProgress: (r) => {
        if (r.status === 180 || r.status === 183) ringing.cancel(); // 183: ringback from the PBX
      },
    });
    await expect(ringing.answered).rejects.toMatchObject({ status: 487 });
    const statuses = await (async () => {
      for (let i = 0; i < 100; i++) {
        const page = await storage.cdrs.query({ extension: '1000' });
        if (page.records.length === 3) return page.records.map((r) => r.status).sort();
        await new Promise((r) => setTimeout(r, 20));
      }
      return [];
    })();
    expect(statuses).toEqual(['busy', 'cancelled', 'wrong-number']);
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });

  it('relays the 180 when ringback from the PBX is off', async () => {
    const { address } = await pbx({ ringbackTone: false });
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    bob.onInvite = (call) => {
      call.ring();
      setTimeout(() => void call.accept({ body: ANSWER, contentType: 'application/sdp' }), 30);
    };
    const progress: number[] = [];
    const session = await alice.call(`sip:1001@${address}`, {
      body: OFFER,
      onProgress: (r: SipResponse) => progress.push(r.status),
    }).answered;
    expect(progress).toContain(180);
    expect(progress).not.toContain(183);
    await session.bye();
  });

  it('refuses an offer with no codec the engine carries with 488 and records a failed call', async () => {
    const { storage, media, address } = await pbx();
    const alice = await phone(address, '1000');
    await phone(address, '1001');
    const g729 = OFFER.replace('RTP/AVP 0', 'RTP/AVP 18');
    const refused = alice.call(`sip:1001@${address}`, { body: g729 }).answered;
    await expect(refused).rejects.toMatchObject({ status: 488 });
    const page = await until(async () => {
      const p = await storage.cdrs.query({ extension: '1000' });
      return p.records.length === 1 ? p : undefined;
    });
    expect(page.records[0]).toMatchObject({ status: 'failed', hangupSipStatus: 488 });
    expect(media.endpointCount).toBe(0);
  });

  it("passes the callee's early media on with the PBX's description, and answers a hold re-INVITE itself", async () => {
    const { media, address } = await pbx();
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    let offeredToBob = '';
    bob.onInvite = (call) => {
      offeredToBob = Buffer.from(call.body).toString();
      void call.progress({ body: ANSWER, contentType: 'application/sdp' });
      setTimeout(() => void call.accept({ body: ANSWER, contentType: 'application/sdp' }), 50);
    };
    const early: string[] = [];
    const session = await alice.call(`sip:1001@${address}`, {
      body: OFFER,
      onProgress: (r) => {
        if (r.status === 183) early.push(Buffer.from(r.body).toString());
      },
    }).answered;
    expect(early).toHaveLength(1);
    expect(early[0]).not.toContain('m=audio 5000 ');
    // The 200 repeats the early answer (RFC 3264: one answer per offer).
    expect(Buffer.from(session.remoteBody).toString()).toBe(early[0]);

    const bobSession = await until(() => bob.activeSessions[0]);
    const hold = await bobSession.reinvite(ANSWER.replace('RTP/AVP 0', 'RTP/AVP 0\r\na=sendonly'));
    expect(hold.status).toBe(200);
    const held = Buffer.from(hold.body).toString();
    expect(held).toContain('a=recvonly');
    // Same PBX endpoint as in the INVITE to Bob: the hold changes nothing Alice could see.
    expect(mediaOf(held)).toEqual(mediaOf(offeredToBob));
    // A re-INVITE the PBX cannot serve is refused, and the call stays up.
    const g729 = await bobSession.reinvite(ANSWER.replace('RTP/AVP 0', 'RTP/AVP 18'));
    expect(g729.status).toBe(488);
    expect(media.endpointCount).toBe(2);
    await session.bye();
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });

  it("answers a callee's UPDATE offer in its early dialog itself and moves that leg's media (RFC 3311 5.1)", async () => {
    const { address } = await pbx();
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    const alicePhone = await Phone.open();
    const bobFirst = await Phone.open();
    const bobMoved = await Phone.open();
    cleanup.push(() => alicePhone.close());
    cleanup.push(() => bobFirst.close());
    cleanup.push(() => bobMoved.close());
    const moved = ANSWER.replace('o=- 2 1', 'o=- 2 2').replace('5000', String(bobMoved.port));
    let offeredToBob = '';
    let bobCall: IncomingCall | undefined;
    let updated: SipResponse | undefined;
    bob.onInvite = (call) => {
      bobCall = call;
      offeredToBob = Buffer.from(call.body).toString();
      // A reliable 183 with the answer, PRACKed; then a new offer in the early dialog.
      void call
        .progress({
          reliable: true,
          body: ANSWER.replace('5000', String(bobFirst.port)),
          contentType: 'application/sdp',
        })
        .then(() => call.update(moved))
        .then((r) => {
          updated = r;
        });
    };
    let early = '';
    const outgoing = alice.call(`sip:1001@${address}`, {
      body: OFFER.replace('4000', String(alicePhone.port)),
      onProgress: (r) => {
        if (r.status === 183 && r.body.length > 0) early = Buffer.from(r.body).toString();
      },
    });
    const response = await until(() => updated);
    expect(response.status).toBe(200);
    // The PBX answers with its own address for that leg: the one it offered Bob, never Alice's.
    expect(mediaOf(response.body)).toEqual(mediaOf(offeredToBob));
    expect(Buffer.from(response.body).toString()).not.toContain(String(alicePhone.port));
    // Alice's early media now reaches Bob's new address, not the old one.
    await until(() => (early ? true : undefined));
    const payload = new Uint8Array(160).fill(0xff);
    await until(() => {
      alicePhone.send(mediaOf(early).port, 0, payload, 160);
      return bobMoved.received.length > 0 ? true : undefined;
    }, 3000);
    const before = bobFirst.received.length;
    for (let i = 0; i < 3; i++) alicePhone.send(mediaOf(early).port, 0, payload, 160);
    await until(() => (bobMoved.received.length >= 4 ? true : undefined), 2000);
    expect(bobFirst.received.length).toBe(before);
    void bobCall!.accept({ body: moved, contentType: 'application/sdp' });
    const session = await outgoing.answered;
    await session.bye();
  });

  it('rings every device of the callee and connects the first to answer', async () => {
    const { address, media } = await pbx();
    const alice = await phone(address, '1000');
    const desk = await phone(address, '1001');
    const mobile = await phone(address, '1001');
    let deskCancelled = false;
    desk.onInvite = (call) => {
      call.ring();
      call.onCancel = () => {
        deskCancelled = true;
      };
    };
    mobile.onInvite = (call) => {
      call.ring();
      setTimeout(() => void call.accept({ body: ANSWER, contentType: 'application/sdp' }), 50);
    };
    const session = await alice.call(`sip:1001@${address}`, { body: OFFER }).answered;
    await until(() => (deskCancelled ? true : undefined));
    expect(mobile.activeSessions).toHaveLength(1);
    expect(desk.activeSessions).toHaveLength(0);
    // The desk's endpoint went with its leg: the caller's and the mobile's remain.
    expect(media.endpointCount).toBe(2);
    await session.bye();
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });
});

describe('CallManager when BYE, CANCEL or a hang-up races the setup', () => {
  async function records(storage: InMemoryStorage, n: number) {
    return until(async () => {
      const page = await storage.cdrs.query({ extension: '1000' });
      return page.records.length === n ? page.records : undefined;
    });
  }

  it("ends the call when the caller's BYE overtakes its ACK; the late ACK changes nothing", async () => {
    const { calls, storage, media, address } = await pbx();
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    bob.onInvite = (call) => void call.accept({ body: ANSWER, contentType: 'application/sdp' });
    const releaseAck = holdAcks(alice);
    const session = await alice.call(`sip:1001@${address}`, { body: OFFER }).answered;
    const bobEnd = watchEnd(await until(() => bob.activeSessions[0]));
    await session.bye();
    expect(await until(() => bobEnd.ended())).toBe('remote');
    const [record] = await records(storage, 1);
    expect(record).toMatchObject({ status: 'answered', hangupSide: 'caller' });
    releaseAck();
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.activeCalls).toHaveLength(0);
    expect(await records(storage, 1)).toHaveLength(1);
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });

  it("ends the call when the callee hangs up before the caller's ACK; the caller gets BYE after it (RFC 3261 15)", async () => {
    const { calls, storage, media, address } = await pbx();
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    bob.onInvite = (call) => void call.accept({ body: ANSWER, contentType: 'application/sdp' });
    const releaseAck = holdAcks(alice);
    const aliceEnd = watchEnd(await alice.call(`sip:1001@${address}`, { body: OFFER }).answered);
    await (await until(() => bob.activeSessions[0])).bye();
    const [record] = await records(storage, 1);
    expect(record).toMatchObject({ status: 'answered', hangupSide: 'callee' });
    await new Promise((r) => setTimeout(r, 50));
    expect(aliceEnd.ended()).toBeUndefined(); // no BYE before the ACK
    releaseAck();
    expect(await until(() => aliceEnd.ended())).toBe('remote');
    expect(calls.activeCalls).toHaveLength(0);
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });

  it('hangs up both sides when the PBX ends a call whose caller has not ACKed yet', async () => {
    const { calls, storage, media, address } = await pbx();
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    bob.onInvite = (call) => void call.accept({ body: ANSWER, contentType: 'application/sdp' });
    const releaseAck = holdAcks(alice);
    const aliceEnd = watchEnd(await alice.call(`sip:1001@${address}`, { body: OFFER }).answered);
    const bobEnd = watchEnd(await until(() => bob.activeSessions[0]));
    void calls.activeCalls[0].hangup();
    expect(await until(() => bobEnd.ended())).toBe('remote');
    const [record] = await records(storage, 1);
    expect(record).toMatchObject({ status: 'answered', hangupSide: 'system' });
    releaseAck();
    expect(await until(() => aliceEnd.ended())).toBe('remote');
    expect(calls.activeCalls).toHaveLength(0);
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });

  it("records a caller's CANCEL that races the callee's 200 once, and lets the callee go", async () => {
    const { calls, storage, media, address } = await pbx({ engine: slowBridges(150) });
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    let bobEnd: { ended: () => string | undefined } | undefined;
    let bobCall: IncomingCall | undefined;
    bob.onInvite = (call) => {
      bobCall = call;
      call.ring();
    };
    // Once the caller hears ringback (its INVITE can be cancelled, RFC 3261 9.1), the callee answers, and the
    // caller cancels while the PBX bridges that answer.
    const outgoing = alice.call(`sip:1001@${address}`, {
      body: OFFER,
      onProgress: (r) => {
        if (r.status !== 183 || !bobCall) return;
        void bobCall.accept({ body: ANSWER, contentType: 'application/sdp' }).then((s) => {
          bobEnd = watchEnd(s);
        });
        setTimeout(() => outgoing.cancel(), 40);
      },
    });
    await expect(outgoing.answered).rejects.toMatchObject({ status: 487 });
    expect(await until(() => bobEnd?.ended())).toBe('remote');
    const [record] = await records(storage, 1);
    expect(record).toMatchObject({ status: 'cancelled', hangupSide: 'caller', answeredAt: null });
    expect(calls.activeCalls).toHaveLength(0);
    await until(() => (media.endpointCount === 0 ? true : undefined));
  });
});

describe("CallManager and the callee's first RTP packets", () => {
  it('bridges the legs before it ACKs the callee, so nothing the callee sends on the ACK is lost', async () => {
    // Bridging takes 100 ms, as under load: the ACK must wait for it (RFC 3261 13.2.2.4 caps the wait at T1).
    const { address } = await pbx({ engine: slowBridges(100) });
    const alice = await phone(address, '1000');
    const bob = await phone(address, '1001');
    const alicePhone = await Phone.open();
    const bobPhone = await Phone.open();
    cleanup.push(() => alicePhone.close());
    cleanup.push(() => bobPhone.close());
    const payload = new Uint8Array(160).fill(0xff);
    bob.onInvite = (call) => {
      const pbxPort = mediaOf(call.body).port;
      // Like the bench's callee, and many phones: RTP starts once the ACK confirms the call.
      void call
        .accept({ body: ANSWER.replace('5000', String(bobPhone.port)), contentType: 'application/sdp' })
        .then(() => {
          for (let i = 0; i < 5; i++) bobPhone.send(pbxPort, 0, payload, 160);
        });
    };
    const session = await alice.call(`sip:1001@${address}`, {
      body: OFFER.replace('4000', String(alicePhone.port)),
    }).answered;
    await until(() => (alicePhone.received.length >= 5 ? true : undefined), 2000).catch(() => undefined);
    expect(alicePhone.received.length).toBe(5);
    await session.bye();
  });
});

describe('mapLegFailures', () => {
  it('prefers busy, then decline, then no answer', () => {
    expect(mapLegFailures([480, 486])).toEqual({ status: 486, callStatus: 'busy' });
    expect(mapLegFailures([603, 408])).toEqual({ status: 603, callStatus: 'rejected' });
    expect(mapLegFailures([408, 487])).toEqual({ status: 480, callStatus: 'no-answer' });
    expect(mapLegFailures([500, 404])).toEqual({ status: 404, callStatus: 'failed' });
    expect(mapLegFailures([502, 503])).toEqual({ status: 503, callStatus: 'failed' });
  });
});
