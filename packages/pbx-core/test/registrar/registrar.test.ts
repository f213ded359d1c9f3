import {
  AuthFailureLimiter,
  createRequest,
  type SipRequest,
  SipTransportLayer,
  UserAgent,
  type UserAgentOptions,
  VirtualClock,
} from '@switchyard/sip-stack';
import { afterEach, describe, expect, it } from 'vitest';
import { Registrar } from '../../src/registrar/index.js';
import { InMemoryStorage } from '../../src/storage/index.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A registrar on real UDP sockets; storage time comes from a virtual clock the test moves. */
async function pbx(extra: { authFailures?: (clock: VirtualClock) => AuthFailureLimiter } = {}) {
  const clock = new VirtualClock(1_700_000_000_000);
  const storage = new InMemoryStorage({ clock });
  await storage.extensions.create({ number: '1000', displayName: 'Alice', sipPassword: 's3cret' });
  await storage.extensions.create({ number: '1001', displayName: 'Bob', sipPassword: 'hunter2' });
  const changes: Array<[string, number]> = [];
  const registrar = new Registrar({
    domain: 'pbx.test',
    extensions: storage.extensions,
    registrations: storage.registrations,
    clock,
    authFailures: extra.authFailures?.(clock),
    onChange: (ext, bindings) => changes.push([ext, bindings.length]),
  });
  const transport = new SipTransportLayer();
  const local = await transport.listen('udp://127.0.0.1:0');
  const ua = new UserAgent({ transport, aor: 'sip:pbx@pbx.test' });
  ua.onRequest = (request, tx, context) => {
    if (request.method === 'REGISTER') void registrar.handle(request, tx, context);
    else tx.reply(405);
  };
  cleanup.push(async () => {
    ua.close();
    await transport.close();
  });
  return { clock, storage, registrar, changes, uri: `sip:127.0.0.1:${local.port}` };
}

async function phone(user: string, password: string, extra: Partial<UserAgentOptions> = {}) {
  const transport = new SipTransportLayer();
  await transport.listen('udp://127.0.0.1:0');
  const ua = new UserAgent({
    transport,
    aor: `sip:${user}@pbx.test`,
    credentials: { username: user, password },
    ...extra,
  });
  cleanup.push(async () => {
    ua.close();
    await transport.close();
  });
  return ua;
}

function register(
  ua: UserAgent,
  registrar: string,
  user: string,
  contacts: string[],
  expires?: number,
): Promise<import('@switchyard/sip-stack').SipResponse> {
  const request: SipRequest = createRequest({
    method: 'REGISTER',
    uri: registrar,
    from: { uri: `sip:${user}@pbx.test` },
    to: { uri: `sip:${user}@pbx.test` },
    headers: [
      ...contacts.map((c) => ['Contact', c] as [string, string]),
      ...(expires === undefined ? [] : [['Expires', String(expires)] as [string, string]]),
    ],
  });
  return ua.send(request);
}

describe('Registrar (RFC 3261 10.3)', () => {
  it('binds several devices to an extension after digest auth, and lists them all in the 200', async () => {
    const { uri, registrar, changes } = await pbx();
    const desk = await phone('1000', 's3cret');
    const r1 = await register(desk, uri, '1000', ['<sip:1000@127.0.0.1:6001>'], 600);
    expect(r1.status).toBe(200);
    const r2 = await register(desk, uri, '1000', ['<sip:1000@127.0.0.1:6002>;expires=120;q=0.5'], 600);
    expect(r2.status).toBe(200);
    expect(r2.contacts().map((c) => [c.uri, c.expires])).toEqual([
      ['sip:1000@127.0.0.1:6001', 600],
      ['sip:1000@127.0.0.1:6002', 120],
    ]);
    const bindings = await registrar.contactsOf('1000');
    expect(bindings.map((b) => b.contactUri)).toEqual(['sip:1000@127.0.0.1:6001', 'sip:1000@127.0.0.1:6002']);
    expect(bindings[0]).toMatchObject({ sourceAddress: '127.0.0.1', transport: 'udp' });
    expect(changes.at(-1)).toEqual(['1000', 2]);
  });

  it('refuses a wrong password, somebody else’s extension, an unknown one, and a too-short expiry', async () => {
    const { uri } = await pbx();
    expect((await register(await phone('1000', 'nope'), uri, '1000', ['<sip:x@127.0.0.1:6001>'])).status).toBe(401);
    const bob = await phone('1001', 'hunter2');
    expect((await register(bob, uri, '1000', ['<sip:x@127.0.0.1:6001>'])).status).toBe(403);
    const alice = await phone('1000', 's3cret');
    expect((await register(alice, uri, '1999', ['<sip:x@127.0.0.1:6001>'])).status).toBe(404);
    const short = await register(alice, uri, '1000', ['<sip:x@127.0.0.1:6001>'], 10);
    expect(short.status).toBe(423);
    expect(short.minExpires()).toBe(60);
    expect((await register(alice, uri, '1000', ['<sip:x@127.0.0.1:6001>;q=1.5'], 600)).status).toBe(400);
  });

  it('blocks an address after repeated wrong passwords, even with the right one, until the block ends', async () => {
    const { uri, clock } = await pbx({
      authFailures: (c) => new AuthFailureLimiter({ maxFailures: 3, windowMs: 60_000, blockMs: 300_000, clock: c }),
    });
    const guesser = await phone('1000', 'guess');
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await register(guesser, uri, '1000', ['<sip:x@127.0.0.1:6001>'])).status);
    expect(statuses).toEqual([401, 401, 403]);
    const alice = await phone('1000', 's3cret');
    expect((await register(alice, uri, '1000', ['<sip:x@127.0.0.1:6001>'], 600)).status).toBe(403);
    clock.advance(300_001);
    expect((await register(alice, uri, '1000', ['<sip:x@127.0.0.1:6001>'], 600)).status).toBe(200);
  });

  it('takes new digest algorithms and a new failure guard on reconfigure, through the same digest server', async () => {
    const { uri, registrar, clock } = await pbx();
    const server = registrar.digest;
    const algorithms = () => server.challenges().map((c) => /algorithm=([\w-]+)/.exec(c)?.[1]);
    expect(algorithms()).toEqual(['SHA-256', 'MD5']);
    registrar.reconfigureDigest(
      ['MD5'],
      new AuthFailureLimiter({ maxFailures: 1, windowMs: 60_000, blockMs: 60_000, clock }),
    );
    expect(registrar.digest).toBe(server);
    expect(algorithms()).toEqual(['MD5']);
    const guesser = await phone('1000', 'guess');
    const first = await register(guesser, uri, '1000', ['<sip:x@127.0.0.1:6001>']);
    expect(first.status).toBe(403); // one failure is enough now
    const alice = await phone('1001', 'hunter2');
    registrar.reconfigureDigest(['MD5'], undefined);
    expect((await register(alice, uri, '1001', ['<sip:y@127.0.0.1:6001>'], 600)).status).toBe(200);
  });

  it('removes one binding with expires=0 and all with *, and forgets expired ones', async () => {
    const { uri, registrar, clock } = await pbx();
    const alice = await phone('1000', 's3cret');
    await register(alice, uri, '1000', ['<sip:1000@127.0.0.1:6001>', '<sip:1000@127.0.0.1:6002>'], 600);
    expect(await registrar.contactsOf('1000')).toHaveLength(2);
    await register(alice, uri, '1000', ['<sip:1000@127.0.0.1:6001>;expires=0']);
    expect((await registrar.contactsOf('1000')).map((b) => b.contactUri)).toEqual(['sip:1000@127.0.0.1:6002']);
    expect((await register(alice, uri, '1000', ['*'], 600)).status).toBe(400);
    expect((await register(alice, uri, '1000', ['*'], 0)).status).toBe(200);
    expect(await registrar.contactsOf('1000')).toHaveLength(0);
    await register(alice, uri, '1000', ['<sip:1000@127.0.0.1:6003>'], 60);
    clock.advance(61_000);
    expect(await registrar.contactsOf('1000')).toHaveLength(0);
    expect((await registrar.purgeExpired()).map((b) => b.contactUri)).toEqual(['sip:1000@127.0.0.1:6003']);
  });

  it('keeps a newer binding when an older REGISTER of the same Call-ID arrives late (step 7)', async () => {
    const { uri, registrar } = await pbx();
    const alice = await phone('1000', 's3cret');
    const request = (cseq: number, expires: number) =>
      createRequest({
        method: 'REGISTER',
        uri,
        from: { uri: 'sip:1000@pbx.test', tag: 'a' },
        to: { uri: 'sip:1000@pbx.test' },
        callId: 'same-call-id',
        cseq,
        headers: [
          ['Contact', '<sip:1000@127.0.0.1:6001>'],
          ['Expires', String(expires)],
        ],
      });
    expect((await alice.send(request(10, 600))).status).toBe(200);
    // The retry with credentials takes CSeq 11; a delayed CSeq 9 must not undo it.
    expect((await alice.send(request(9, 0))).status).toBe(500);
    expect(await registrar.contactsOf('1000')).toHaveLength(1);
  });
});
