import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DigestServer } from '../../src/auth/index.js';
import { createResponse } from '../../src/message/index.js';
import { SipTransportLayer, type SipTransportProtocol } from '../../src/transport/index.js';
import { type IncomingCall, UserAgent } from '../../src/ua/index.js';
import { haveOpenssl, selfSignedCertificate } from '../support/tls.js';

let certDir = '';
let tls: { certFile: string; keyFile: string; caFile: string } | undefined;
beforeAll(() => {
  if (!haveOpenssl) return;
  const files = selfSignedCertificate();
  certDir = files.dir;
  tls = files;
});
afterAll(() => {
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const SDP_A = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const SDP_B = 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';

async function agent(
  name: string,
  protocol: SipTransportProtocol,
  extra: Partial<ConstructorParameters<typeof UserAgent>[0]> = {},
): Promise<{ ua: UserAgent; uri: string }> {
  const transport = new SipTransportLayer({ tls });
  const local = await transport.listen({ protocol, address: '127.0.0.1', port: 0, tls });
  const ua = new UserAgent({ transport, aor: `sip:${name}@127.0.0.1`, ...extra });
  cleanup.push(async () => {
    ua.close();
    await transport.close();
  });
  const param = protocol === 'udp' ? '' : `;transport=${protocol === 'wss' ? 'wss' : protocol}`;
  return { ua, uri: `sip:${name}@127.0.0.1:${local.port}${param}` };
}

function within<T>(p: Promise<T>, ms = 5000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))]);
}

const protocols: SipTransportProtocol[] = haveOpenssl ? ['udp', 'tcp', 'tls', 'ws', 'wss'] : ['udp', 'tcp', 'ws'];

describe.each(protocols)('UserAgent to UserAgent over %s', (protocol) => {
  it('places a call with digest auth, exchanges SDP, and hangs up with BYE', async () => {
    const server = new DigestServer({
      realm: '127.0.0.1',
      credentials: { lookup: (_r, user) => (user === 'alice' ? { password: 'wonderland' } : undefined) },
    });
    const bob = await agent('bob', protocol, { authenticator: { server } });
    const alice = await agent('alice', protocol, { credentials: { username: 'alice', password: 'wonderland' } });
    const offered = new Promise<IncomingCall>((resolve) => {
      bob.ua.onInvite = resolve;
    });
    const progress: number[] = [];
    const call = alice.ua.call(bob.uri, { body: SDP_A, onProgress: (r) => progress.push(r.status) });
    const incoming = await within(offered);
    expect(Buffer.from(incoming.body).toString()).toBe(SDP_A);
    expect(incoming.request.header('authorization')).toMatch(/^Digest /);
    incoming.ring();
    const bobSession = incoming.accept({ body: SDP_B, contentType: 'application/sdp' });
    const aliceSession = await within(call.answered);
    expect(Buffer.from(aliceSession.remoteBody).toString()).toBe(SDP_B);
    const bs = await within(bobSession);
    expect(progress).toContain(180);
    expect(bs.dialog.callId).toBe(aliceSession.dialog.callId);
    const ended = new Promise<string>((resolve) => {
      bs.events.onEnded = resolve;
    });
    await aliceSession.bye();
    expect(await within(ended)).toBe('remote');
    expect(alice.ua.activeSessions).toHaveLength(0);
    expect(bob.ua.activeSessions).toHaveLength(0);
  });

  it('sends MESSAGE and OPTIONS and gets their answers', async () => {
    const bob = await agent('bob', protocol);
    const alice = await agent('alice', protocol);
    const texts: string[] = [];
    bob.ua.onMessage = (r) => {
      texts.push(Buffer.from(r.body).toString());
      return 202;
    };
    expect((await within(alice.ua.request('MESSAGE', bob.uri, { body: 'hello bob' }))).status).toBe(202);
    expect(texts).toEqual(['hello bob']);
    const options = await within(alice.ua.request('OPTIONS', bob.uri));
    expect(options.status).toBe(200);
    expect(options.allow()).toContain('INVITE');
    expect((await within(alice.ua.request('FOO', bob.uri))).status).toBe(501);
  });
});

describe('UserAgent call outcomes (UDP)', () => {
  it('passes a rejection through, and a refused password ends in 401 without looping', async () => {
    const server = new DigestServer({
      realm: '127.0.0.1',
      credentials: { lookup: () => ({ password: 'right' }) },
    });
    const bob = await agent('bob', 'udp', { authenticator: { server, methods: ['MESSAGE'] } });
    const alice = await agent('alice', 'udp', { credentials: { username: 'alice', password: 'wrong' } });
    bob.ua.onInvite = (call) => call.reject(486);
    await expect(within(alice.ua.call(bob.uri, { body: SDP_A }).answered)).rejects.toMatchObject({ status: 486 });
    expect((await within(alice.ua.request('MESSAGE', bob.uri, { body: 'x' }))).status).toBe(401);
  });

  it('cancels a ringing call (RFC 3261 9): the callee hears of it, the caller gets 487', async () => {
    const bob = await agent('bob', 'udp');
    const alice = await agent('alice', 'udp');
    const cancelled = new Promise<void>((resolve) => {
      bob.ua.onInvite = (call) => {
        call.onCancel = resolve;
        call.ring();
      };
    });
    const call = alice.ua.call(bob.uri, {
      body: SDP_A,
      onProgress: (r) => {
        if (r.status === 180) call.cancel();
      },
    });
    await within(cancelled);
    await expect(within(call.answered)).rejects.toMatchObject({ status: 487 });
  });

  it('answers an in-dialog request for an unknown dialog with 481, and re-INVITEs with a new offer', async () => {
    const bob = await agent('bob', 'udp');
    const alice = await agent('alice', 'udp');
    bob.ua.onInvite = (call) => void call.accept({ body: SDP_B, contentType: 'application/sdp' });
    const session = await within(alice.ua.call(bob.uri, { body: SDP_A }).answered);
    const bobSession = bob.ua.activeSessions[0];
    bobSession.events.onOffer = () => ({ body: SDP_B.replace('5000', '5002'), contentType: 'application/sdp' });
    const answer = await within(session.reinvite(SDP_A.replace('4000', '4002')));
    expect(answer.status).toBe(200);
    expect(Buffer.from(session.remoteBody).toString()).toContain('5002');
    expect(Buffer.from(bobSession.remoteBody).toString()).toContain('4002');
    await session.bye();
    // The dialog is gone on both sides now: a request in it gets 481 (RFC 3261 12.2.2).
    const stale = await within(alice.ua.sendInDialog(session.dialog, session.dialog.createRequest('INFO')));
    expect(stale.status).toBe(481);
  });

  it('registers against a registrar built on the UA, with digest and refresh', async () => {
    const server = new DigestServer({
      realm: '127.0.0.1',
      credentials: { lookup: (_r, u) => (u === 'alice' ? { password: 'wonderland' } : undefined) },
    });
    const registrar = await agent('registrar', 'udp', { authenticator: { server, methods: ['REGISTER'] } });
    const bindings: string[] = [];
    registrar.ua.onRequest = (request, tx) => {
      if (request.method !== 'REGISTER') return tx.reply(405);
      bindings.push(request.contacts()[0].uri);
      tx.respond(
        createResponse(request, 200, 'OK', { headers: [['Contact', `${request.header('contact')};expires=60`]] }),
      );
    };
    const alice = await agent('alice', 'udp', { credentials: { username: 'alice', password: 'wonderland' } });
    const port = registrar.uri.split(':')[2];
    const reg = alice.ua.registration({ registrar: `sip:127.0.0.1:${port}`, expires: 60 });
    cleanup.push(() => reg.stop());
    const detail = await within(reg.register());
    expect(detail.expires).toBe(60);
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatch(/^sip:alice@127\.0\.0\.1:\d+$/);
  });

  it('holds the ACK of the answering 2xx for beforeAck, but never past T1 (RFC 3261 13.2.2.4)', async () => {
    const bob = await agent('bob', 'udp');
    const alice = await agent('alice', 'udp', { timers: { t1: 300 } });
    const order: string[] = [];
    let sessionBeforeAck: unknown;
    bob.ua.onInvite = (incoming) => {
      const confirmed = incoming.accept({
        body: SDP_B,
        contentType: 'application/sdp',
        onSession: (s) => {
          sessionBeforeAck = s;
        },
      });
      void confirmed.then((s) => order.push(s === sessionBeforeAck ? 'ack (session known)' : 'ack (another)'));
    };
    // Ready in 80 ms: the ACK follows the hook, not the 2xx.
    const quick = alice.ua.call(bob.uri, {
      body: SDP_A,
      beforeAck: (r) =>
        new Promise((resolve) =>
          setTimeout(() => {
            order.push(`ready ${r.status}`);
            resolve(undefined);
          }, 80),
        ),
    });
    await within(quick.answered);
    await within(
      (async () => {
        while (order.length < 2) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
    expect(order).toEqual(['ready 200', 'ack (session known)']);
    // A hook that never settles: the ACK goes after T1 all the same.
    const started = Date.now();
    const stuck = alice.ua.call(bob.uri, { body: SDP_A, beforeAck: () => new Promise(() => {}) });
    const session = await within(stuck.answered, 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(session.ended).toBe(false);
  });

  it('a call cancelled while its 2xx is readied is ACKed, ended with BYE, and answered rejects with 487', async () => {
    const bob = await agent('bob', 'udp');
    const alice = await agent('alice', 'udp');
    const ended = new Promise<string>((resolve) => {
      bob.ua.onInvite = (incoming) => {
        void incoming.accept({ body: SDP_B, contentType: 'application/sdp' }).then((s) => {
          if (s.ended) resolve('already');
          s.events.onEnded = resolve;
        });
      };
    });
    const call = alice.ua.call(bob.uri, {
      body: SDP_A,
      beforeAck: () => {
        call.cancel();
        return Promise.resolve();
      },
    });
    await expect(within(call.answered)).rejects.toMatchObject({ status: 487 });
    expect(await within(ended)).toBe('remote');
    expect(alice.ua.activeSessions).toHaveLength(0);
  });
});
