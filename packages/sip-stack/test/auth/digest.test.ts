import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuthFailureLimiter,
  type CredentialStore,
  computeDigestResponse,
  computeHa1,
  type DigestAlgorithm,
  DigestClient,
  DigestServer,
  formatNonceCount,
  parseNonceCount,
} from '../../src/auth/index.js';
import { VirtualClock } from '../../src/clock.js';
import {
  createRequest,
  createResponse,
  parseMessage,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from '../../src/message/index.js';

describe('digest computations', () => {
  // RFC 7616 3.9.1
  const rfc7616 = {
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    method: 'GET',
    uri: '/dir/index.html',
    qop: 'auth' as const,
    nc: '00000001',
  };

  it('matches the RFC 7616 3.9.1 MD5 example', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(computeDigestResponse({ ...rfc7616, algorithm: 'MD5', ha1 })).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('matches the RFC 7616 3.9.1 SHA-256 example', () => {
    const ha1 = computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(computeDigestResponse({ ...rfc7616, algorithm: 'SHA-256', ha1 })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });

  it('matches the RFC 2617 3.5 example', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const r = computeDigestResponse({
      algorithm: 'MD5',
      ha1,
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    });
    expect(r).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('computes RFC 2069 digests (no qop) as H(HA1:nonce:HA2)', () => {
    const ha1 = computeHa1('MD5', 'u', 'r', 'p');
    const r = computeDigestResponse({ algorithm: 'MD5', ha1, nonce: 'n', method: 'INVITE', uri: 'sip:a@b' });
    const r2 = computeDigestResponse({ algorithm: 'MD5', ha1, nonce: 'n', method: 'INVITE', uri: 'sip:a@c' });
    expect(r).toMatch(/^[0-9a-f]{32}$/);
    expect(r).not.toBe(r2);
  });

  it('SHA-512-256 yields 64 hex digits', () => {
    expect(computeHa1('SHA-512-256', 'u', 'r', 'p')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('nonce counts round-trip and reject malformed text', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => parseNonceCount(formatNonceCount(n)) === n));
    expect(parseNonceCount('0000001')).toBe(-1);
    expect(parseNonceCount('0000000g')).toBe(-1);
  });
});

const REALM = 'switchyard.test';
const users: Record<string, string> = { alice: 'secret-a', bob: 'p@ss "quoted"' };
const store: CredentialStore = {
  lookup: async (realm, username) => (realm === REALM && users[username] ? { password: users[username] } : undefined),
};

function register(uri = 'sip:switchyard.test', cseq = 1): SipRequest {
  return createRequest({
    method: 'REGISTER',
    uri,
    from: { uri: 'sip:alice@switchyard.test', tag: 'a1' },
    to: { uri: 'sip:alice@switchyard.test' },
    callId: 'reg-1',
    cseq,
    via: { transport: 'UDP', host: '192.0.2.1', port: 5060, branch: `z9hG4bK-${cseq}` },
  });
}

/** Sends the request through the serializer and parser, as the wire would. */
function wire<T extends SipRequest | SipResponse>(m: T): T {
  return parseMessage(serializeMessage(m)) as T;
}

function counterRandom(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => new Uint8Array(n).fill(++k & 0xff);
}

async function challengeAndAnswer(server: DigestServer, client: DigestClient, request: SipRequest) {
  const first = await server.authenticate(request);
  expect(first.ok).toBe(false);
  if (first.ok) throw new Error('unreachable');
  const challenge = createResponse(request, first.status, undefined, { headers: first.headers });
  const retry = register(request.uri, request.cseq().seq + 1);
  const creds = client.authorize(retry, wire(challenge));
  return { first, retry, creds };
}

describe('DigestServer and DigestClient', () => {
  it('challenges with SHA-256 then MD5 and accepts the client answer (SHA-256 chosen)', async () => {
    const clock = new VirtualClock(1_000_000);
    const server = new DigestServer({ realm: REALM, credentials: store, clock });
    const client = new DigestClient({ username: 'alice', password: 'secret-a' }, { random: counterRandom() });
    const { first, retry, creds } = await challengeAndAnswer(server, client, register());
    expect(first.ok ? 0 : first.status).toBe(401);
    const values = first.ok ? [] : first.headers.map(([, v]) => v);
    expect(values[0]).toContain('algorithm=SHA-256');
    expect(values[1]).toContain('algorithm=MD5');
    expect(values[0]).toContain('qop="auth"');
    expect(creds).toBeDefined();
    expect(creds?.[0][0]).toBe('Authorization');
    expect(creds?.[0][1]).toContain('algorithm=SHA-256');
    expect(creds?.[0][1]).toContain('nc=00000001');
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const verdict = await server.authenticate(wire(retry));
    expect(verdict).toEqual({ ok: true, username: 'alice', realm: REALM, algorithm: 'SHA-256' });
  });

  it('accepts MD5 when only MD5 is offered, and stored HA1 instead of passwords', async () => {
    const clock = new VirtualClock(5);
    const ha1Store: CredentialStore = {
      lookup: (_realm, username) =>
        username === 'bob' ? { ha1Md5: computeHa1('MD5', 'bob', REALM, users.bob) } : undefined,
    };
    const server = new DigestServer({ realm: REALM, credentials: ha1Store, clock, algorithms: ['MD5'] });
    const client = new DigestClient({ username: 'bob', password: users.bob });
    const { retry, creds } = await challengeAndAnswer(server, client, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const verdict = await server.authenticate(wire(retry));
    expect(verdict.ok && verdict.algorithm).toBe('MD5');
  });

  it('refuses a wrong password with a new challenge, and the client gives up instead of looping', async () => {
    const clock = new VirtualClock(0);
    const server = new DigestServer({ realm: REALM, credentials: store, clock });
    const client = new DigestClient({ username: 'alice', password: 'wrong' });
    const { retry, creds } = await challengeAndAnswer(server, client, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const verdict = await server.authenticate(wire(retry));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.reason).toBe('invalid');
    expect(verdict.status).toBe(401);
    const again = createResponse(retry, 401, undefined, { headers: verdict.headers });
    expect(client.authorize(register('sip:switchyard.test', 3), again)).toBeUndefined();
  });

  it('unknown users and wrong passwords get the same answer', async () => {
    const server = new DigestServer({ realm: REALM, credentials: store, clock: new VirtualClock(0) });
    const mallory = new DigestClient({ username: 'mallory', password: 'x' });
    const { retry, creds } = await challengeAndAnswer(server, mallory, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const v = await server.authenticate(wire(retry));
    expect(v.ok ? '' : v.reason).toBe('invalid');
  });

  it('gives stale=true for an expired nonce with a correct password, and the client retries', async () => {
    const clock = new VirtualClock(0);
    const server = new DigestServer({ realm: REALM, credentials: store, clock, nonceLifetimeMs: 60_000 });
    const client = new DigestClient({ username: 'alice', password: 'secret-a' });
    const { retry, creds } = await challengeAndAnswer(server, client, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    clock.advance(60_001);
    const verdict = await server.authenticate(wire(retry));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.reason).toBe('stale');
    expect(verdict.headers[0][1]).toContain('stale=true');
    const next = register('sip:switchyard.test', 3);
    const creds2 = client.authorize(next, createResponse(retry, 401, undefined, { headers: verdict.headers }));
    expect(creds2).toBeDefined();
    for (const [n, v] of creds2 ?? []) next.appendHeader(n, v);
    expect((await server.authenticate(wire(next))).ok).toBe(true);
  });

  it('an expired nonce with a wrong password is invalid, not stale', async () => {
    const clock = new VirtualClock(0);
    const server = new DigestServer({ realm: REALM, credentials: store, clock, nonceLifetimeMs: 1000 });
    const client = new DigestClient({ username: 'alice', password: 'nope' });
    const { retry, creds } = await challengeAndAnswer(server, client, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    clock.advance(5000);
    const v = await server.authenticate(wire(retry));
    expect(v.ok ? '' : v.reason).toBe('invalid');
  });

  it('refuses a replayed nonce count and accepts increasing ones (reused challenge)', async () => {
    const clock = new VirtualClock(0);
    const server = new DigestServer({ realm: REALM, credentials: store, clock });
    const client = new DigestClient({ username: 'alice', password: 'secret-a' });
    const { retry, creds } = await challengeAndAnswer(server, client, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const wired = wire(retry);
    expect((await server.authenticate(wired)).ok).toBe(true);
    const replay = await server.authenticate(wire(retry));
    expect(replay.ok ? '' : replay.reason).toBe('replay');
    // The next request reuses the nonce with nc=2 (RFC 7616 3.4).
    const third = register('sip:switchyard.test', 3);
    const creds3 = client.credentialsFor(third);
    expect(creds3[0][1]).toContain('nc=00000002');
    for (const [n, v] of creds3) third.appendHeader(n, v);
    expect((await server.authenticate(wire(third))).ok).toBe(true);
  });

  it('accepts out-of-order counts within the window once each', async () => {
    const clock = new VirtualClock(0);
    const server = new DigestServer({ realm: REALM, credentials: store, clock, nonceCountWindow: 4 });
    const client = new DigestClient({ username: 'alice', password: 'secret-a' });
    const first = await server.authenticate(register());
    if (first.ok) throw new Error('expected a challenge');
    client.handleChallenge(createResponse(register(), 401, undefined, { headers: first.headers }));
    const reqs = [2, 3, 4, 5, 6, 7, 8].map((seq) => {
      const r = register('sip:switchyard.test', seq);
      for (const [n, v] of client.credentialsFor(r)) r.appendHeader(n, v);
      return wire(r);
    });
    // nc 7 first, then 5 (2 back: inside window 4), 5 again (replay), 2 (5 back: outside), 8.
    expect((await server.authenticate(reqs[5])).ok).toBe(true);
    expect((await server.authenticate(reqs[3])).ok).toBe(true);
    expect((await server.authenticate(reqs[3])).ok).toBe(false);
    expect((await server.authenticate(reqs[0])).ok).toBe(false);
    expect((await server.authenticate(reqs[6])).ok).toBe(true);
  });

  it('checks the digest-uri against the Request-URI (RFC 3261 22.4)', async () => {
    const server = new DigestServer({ realm: REALM, credentials: store, clock: new VirtualClock(0) });
    const client = new DigestClient({ username: 'alice', password: 'secret-a' });
    const { retry, creds } = await challengeAndAnswer(server, client, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const moved = wire(retry);
    moved.uri = 'sip:elsewhere.test';
    const v = await server.authenticate(moved);
    expect(v.ok ? 0 : v.status).toBe(400);
    expect(v.ok ? '' : v.reason).toBe('uri-mismatch');
  });

  it('rejects a nonce issued by another server (different secret) as stale at best', async () => {
    const clock = new VirtualClock(0);
    const a = new DigestServer({ realm: REALM, credentials: store, clock, secret: new Uint8Array(32).fill(1) });
    const b = new DigestServer({ realm: REALM, credentials: store, clock, secret: new Uint8Array(32).fill(2) });
    const shared = new DigestServer({ realm: REALM, credentials: store, clock, secret: new Uint8Array(32).fill(1) });
    const client = new DigestClient({ username: 'alice', password: 'secret-a' });
    const { retry, creds } = await challengeAndAnswer(a, client, register());
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const vb = await b.authenticate(wire(retry));
    expect(vb.ok ? '' : vb.reason).toBe('stale');
    expect((await shared.authenticate(wire(retry))).ok).toBe(true);
  });

  it('uses Proxy-Authorization and 407 for proxies', async () => {
    const server = new DigestServer({ realm: REALM, credentials: store, clock: new VirtualClock(0) });
    const client = new DigestClient({ username: 'alice', password: 'secret-a' });
    const req = register();
    const first = await server.authenticate(req, { proxy: true });
    if (first.ok) throw new Error('expected a challenge');
    expect(first.status).toBe(407);
    expect(first.headers[0][0]).toBe('Proxy-Authenticate');
    const retry = register('sip:switchyard.test', 2);
    const creds = client.authorize(retry, createResponse(req, 407, undefined, { headers: first.headers }));
    expect(creds?.[0][0]).toBe('Proxy-Authorization');
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    expect((await server.authenticate(wire(retry), { proxy: true })).ok).toBe(true);
    expect((await server.authenticate(wire(retry))).ok).toBe(false);
  });

  it('never throws on malformed credentials', async () => {
    const server = new DigestServer({ realm: REALM, credentials: store, clock: new VirtualClock(0) });
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 80 }),
        fc.constantFrom('username', 'nonce', 'uri', 'response', 'nc', 'qop', 'algorithm', 'cnonce'),
        async (junk, param) => {
          const r = register();
          const safe = junk.replace(/[\r\n\0"\\]/g, '');
          const params = new Map([
            ['username', '"alice"'],
            ['realm', `"${REALM}"`],
            ['nonce', '"abc"'],
            ['uri', '"sip:switchyard.test"'],
            ['response', '"00"'],
            ['qop', 'auth'],
            ['nc', '00000001'],
            ['cnonce', '"x"'],
          ]);
          params.set(param, `"${safe}"`);
          r.appendHeader('Authorization', `Digest ${[...params].map(([k, v]) => `${k}=${v}`).join(', ')}`);
          const v = await server.authenticate(r);
          return !v.ok;
        },
      ),
      { numRuns: 200 },
    );
    const r = register();
    r.appendHeader('Authorization', `Digest realm="${REALM}", username="alice"`);
    const v = await server.authenticate(r);
    expect(v.ok ? 0 : v.status).toBe(400);
  });

  it('answers RFC 2069 servers (no qop) and the server accepts them only when allowed', async () => {
    const clock = new VirtualClock(0);
    const strict = new DigestServer({ realm: REALM, credentials: store, clock, secret: new Uint8Array(32) });
    const lax = new DigestServer({
      realm: REALM,
      credentials: store,
      clock,
      secret: new Uint8Array(32),
      allowRfc2069: true,
    });
    const nonce = (() => {
      const c = strict.challenges()[0];
      return /nonce="([^"]+)"/.exec(c)?.[1] ?? '';
    })();
    const client = new DigestClient({ username: 'alice', password: 'secret-a' });
    const req = register();
    const challenge = createResponse(req, 401, undefined, {
      headers: [['WWW-Authenticate', `Digest realm="${REALM}", nonce="${nonce}"`]],
    });
    const retry = register('sip:switchyard.test', 2);
    const creds = client.authorize(retry, challenge);
    expect(creds?.[0][1]).not.toContain('nc=');
    expect(creds?.[0][1]).not.toContain('qop');
    for (const [n, v] of creds ?? []) retry.appendHeader(n, v);
    const v1 = await strict.authenticate(wire(retry));
    expect(v1.ok ? '' : v1.reason).toBe('unsupported');
    const v2 = await lax.authenticate(wire(retry));
    expect(v2.ok && v2.algorithm).toBe('MD5');
  });

  it('the client tracks nc per nonce and answers one challenge per realm', () => {
    const client = new DigestClient((realm) =>
      realm === 'a' ? { username: 'u', password: 'p' } : { username: 'v', password: 'q' },
    );
    const req = register();
    const res = createResponse(req, 407, undefined, {
      headers: [
        ['Proxy-Authenticate', 'Digest realm="a", nonce="n1", algorithm=MD5, qop="auth"'],
        ['Proxy-Authenticate', 'Digest realm="a", nonce="n2", algorithm=SHA-256, qop="auth,auth-int"'],
        ['Proxy-Authenticate', 'Digest realm="b", nonce="n3", algorithm=SHA-512-256, qop="auth"'],
        ['Proxy-Authenticate', 'Digest realm="c", nonce="n4", algorithm=UNKNOWN-ALG, qop="auth"'],
      ],
    });
    const creds = client.authorize(register('sip:switchyard.test', 2), res) ?? [];
    expect(creds.length).toBe(2);
    expect(creds[0][1]).toContain('nonce="n2"');
    expect(creds[0][1]).toContain('algorithm=SHA-256');
    expect(creds[1][1]).toContain('algorithm=SHA-512-256');
    client.credentialsFor(register('sip:switchyard.test', 3));
    expect(client.nonceCount('n2')).toBe(2);
    expect(client.nonceCount('n3')).toBe(2);
    expect(client.nonceCount('n1')).toBe(0);
  });

  it('the client refuses a challenge repeating the nonce it answered, even when marked stale', () => {
    const client = new DigestClient({ username: 'u', password: 'p' });
    const res = createResponse(register(), 401, undefined, {
      headers: [['WWW-Authenticate', 'Digest realm="a", nonce="n1", qop="auth", stale=true']],
    });
    expect(client.authorize(register('sip:x', 2), res)).toBeDefined();
    expect(client.authorize(register('sip:x', 3), res)).toBeUndefined();
  });

  it('the client bounds consecutive stale retries', () => {
    const client = new DigestClient({ username: 'u', password: 'p' }, { maxStaleRetries: 2 });
    const challenge = (n: number) =>
      createResponse(register(), 401, undefined, {
        headers: [['WWW-Authenticate', `Digest realm="a", nonce="n${n}", qop="auth"${n > 0 ? ', stale=true' : ''}`]],
      });
    expect(client.authorize(register('sip:x', 1), challenge(0))).toBeDefined();
    expect(client.authorize(register('sip:x', 2), challenge(1))).toBeDefined();
    expect(client.authorize(register('sip:x', 3), challenge(2))).toBeDefined();
    expect(client.authorize(register('sip:x', 4), challenge(3))).toBeUndefined();
  });
});

describe('round trips (property)', () => {
  it('any user name and password authenticate with every algorithm, and a different password never does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[a-zA-Z0-9._"\\ -]{1,16}$/),
        fc.string({ minLength: 1, maxLength: 24 }),
        fc.string({ minLength: 1, maxLength: 24 }),
        fc.constantFrom<DigestAlgorithm>('MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256'),
        fc.constantFrom(
          'sip:switchyard.test',
          'sip:+15551234@switchyard.test;user=phone',
          'sips:a%20b@[2001:db8::1]:5061',
        ),
        async (username, password, other, algorithm, uri) => {
          const clock = new VirtualClock(0);
          const credentials: CredentialStore = { lookup: (_r, u) => (u === username ? { password } : undefined) };
          const server = new DigestServer({ realm: REALM, credentials, clock, algorithms: [algorithm] });
          const first = await server.authenticate(register(uri));
          if (first.ok) return false;
          const challenge = createResponse(register(uri), first.status, undefined, { headers: first.headers });
          const attempt = async (pw: string) => {
            const retry = register(uri, 2);
            const client = new DigestClient({ username, password: pw });
            for (const [n, v] of client.authorize(retry, wire(challenge)) ?? []) retry.appendHeader(n, v);
            return server.authenticate(wire(retry));
          };
          const good = await attempt(password);
          const bad = password === other ? { ok: false } : await attempt(other);
          return good.ok && good.algorithm === algorithm && good.username === username && !bad.ok;
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('AuthFailureLimiter', () => {
  it('blocks a source after N failures within the window, for the block period', () => {
    const clock = new VirtualClock(0);
    const limiter = new AuthFailureLimiter({ maxFailures: 3, windowMs: 10_000, blockMs: 60_000, clock });
    expect(limiter.recordFailure('198.51.100.7')).toBe(false);
    expect(limiter.recordFailure('198.51.100.7')).toBe(false);
    expect(limiter.isBlocked('198.51.100.7')).toBe(false);
    expect(limiter.recordFailure('198.51.100.7')).toBe(true);
    expect(limiter.isBlocked('198.51.100.7')).toBe(true);
    expect(limiter.isBlocked('198.51.100.8')).toBe(false);
    clock.advance(59_999);
    expect(limiter.isBlocked('198.51.100.7')).toBe(true);
    clock.advance(1);
    expect(limiter.isBlocked('198.51.100.7')).toBe(false);
  });

  it('forgets failures older than the window', () => {
    const clock = new VirtualClock(0);
    const limiter = new AuthFailureLimiter({ maxFailures: 2, windowMs: 1000, blockMs: 5000, clock });
    limiter.recordFailure('s');
    clock.advance(1000);
    expect(limiter.recordFailure('s')).toBe(false);
    expect(limiter.recordFailure('s')).toBe(true);
  });

  it('stays bounded', () => {
    const clock = new VirtualClock(0);
    const limiter = new AuthFailureLimiter({ maxSources: 100, clock });
    for (let i = 0; i < 1000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.trackedSources).toBeLessThanOrEqual(100);
  });

  it('the server refuses a blocked source with 403 even with the right password', async () => {
    const clock = new VirtualClock(0);
    const limiter = new AuthFailureLimiter({ maxFailures: 2, windowMs: 60_000, blockMs: 60_000, clock });
    const server = new DigestServer({ realm: REALM, credentials: store, clock, limiter });
    const bad = new DigestClient({ username: 'alice', password: 'bad' });
    const good = new DigestClient({ username: 'alice', password: 'secret-a' });
    const attempt = async (client: DigestClient) => {
      const first = await server.authenticate(register(), { source: '203.0.113.9' });
      if (first.ok) throw new Error('expected a challenge');
      const retry = register('sip:switchyard.test', 2);
      for (const [n, v] of client.authorize(retry, createResponse(register(), 401, undefined, first)) ?? []) {
        retry.appendHeader(n, v);
      }
      return server.authenticate(wire(retry), { source: '203.0.113.9' });
    };
    expect((await attempt(new DigestClient({ username: 'alice', password: 'bad' }))).ok).toBe(false);
    const second = await attempt(bad);
    expect(second.ok ? 0 : second.status).toBe(403);
    const third = await attempt(good);
    expect(third.ok ? '' : third.reason).toBe('blocked');
    clock.advance(60_000);
    expect((await attempt(new DigestClient({ username: 'alice', password: 'secret-a' }))).ok).toBe(true);
  });
});
