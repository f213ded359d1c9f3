import { describe, expect, it } from 'vitest';
import { DigestServer } from '../../src/auth/index.js';
import { VirtualClock } from '../../src/clock.js';
import {
  createResponse,
  generateBranch,
  parseMessage,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from '../../src/message/index.js';
import { RegistrationClient, type RegistrationState } from '../../src/ua/registration.js';

/** A registrar on the far side of a perfect network: digest auth, Min-Expires, and a binding table. */
function fakeRegistrar(clock: VirtualClock, options: { minExpires?: number; down?: () => boolean } = {}) {
  const digest = new DigestServer({
    realm: 'pbx.test',
    clock,
    credentials: { lookup: (_realm, user) => (user === '1000' ? { password: 's3cret' } : undefined) },
  });
  const bindings = new Map<string, number>();
  const seen: SipRequest[] = [];
  return {
    seen,
    bindings,
    async send(request: SipRequest): Promise<SipResponse> {
      // The transaction layer adds the Via; then through the wire format, as a real transport would.
      request.prependHeader('Via', `SIP/2.0/UDP 127.0.0.1:5070;branch=${generateBranch()}`);
      const req = parseMessage(serializeMessage(request)) as SipRequest;
      seen.push(req);
      if (options.down?.()) return createResponse(req, 503, 'Service Unavailable');
      const verdict = await digest.authenticate(req);
      if (!verdict.ok) return createResponse(req, verdict.status, undefined, { headers: verdict.headers });
      const expires = Number(req.header('expires'));
      if (expires !== 0 && options.minExpires && expires < options.minExpires)
        return createResponse(req, 423, 'Interval Too Brief', {
          headers: [['Min-Expires', String(options.minExpires)]],
        });
      const contact = req.contacts()[0].uri;
      if (expires === 0) bindings.delete(contact);
      else bindings.set(contact, Math.min(expires, 600));
      return createResponse(req, 200, 'OK', {
        headers: [...bindings].map(([uri, e]) => ['Contact', `<${uri}>;expires=${e}`] as [string, string]),
      });
    },
  };
}

function client(
  clock: VirtualClock,
  sender: { send(r: SipRequest): Promise<SipResponse> },
  states: string[],
  password = 's3cret',
) {
  return new RegistrationClient({
    registrar: 'sip:pbx.test',
    aor: 'sip:1000@pbx.test',
    contact: 'sip:1000@127.0.0.1:5070',
    expires: 3600,
    credentials: { username: '1000', password },
    clock,
    sender,
    random: () => 0.5,
    onStateChange: (s: RegistrationState, d) => states.push(d.expires === undefined ? s : `${s}:${d.expires}`),
  });
}

const flush = () => new Promise((r) => setImmediate(r));

describe('RegistrationClient', () => {
  it('answers the digest challenge, takes the granted expiry and refreshes before it with the same Call-ID', async () => {
    const clock = new VirtualClock();
    const registrar = fakeRegistrar(clock);
    const states: string[] = [];
    const c = client(clock, registrar, states);
    await c.register();
    expect(states).toEqual(['registering', 'registered:600']);
    expect(registrar.seen.map((r) => r.cseq().seq)).toEqual([1, 2]);
    expect(registrar.seen[1].header('authorization')).toMatch(/^Digest .*algorithm=SHA-256/);
    clock.advance(569_000);
    await flush();
    expect(registrar.seen).toHaveLength(2);
    clock.advance(1_000);
    await flush();
    await flush();
    expect(registrar.seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(registrar.seen.map((r) => r.callId())).size).toBe(1);
    expect(states.at(-1)).toBe('registered:600');
  });

  it('retries with Min-Expires after 423', async () => {
    const clock = new VirtualClock();
    const registrar = fakeRegistrar(clock, { minExpires: 7200 });
    const c = client(clock, registrar, []);
    const detail = await c.register();
    expect(registrar.seen.at(-1)?.header('expires')).toBe('7200');
    expect(detail.expires).toBe(600);
  });

  it('gives up on a wrong password instead of looping, then retries later with back-off', async () => {
    const clock = new VirtualClock();
    const registrar = fakeRegistrar(clock);
    const states: string[] = [];
    const c = client(clock, registrar, states, 'wrong');
    await expect(c.register()).rejects.toMatchObject({ status: 401 });
    expect(registrar.seen.length).toBeLessThanOrEqual(3);
    const sent = registrar.seen.length;
    clock.advance(22_499); // 30 s back-off scaled by 0.75
    await flush();
    expect(registrar.seen.length).toBe(sent);
    clock.advance(2);
    await flush();
    expect(registrar.seen.length).toBeGreaterThan(sent);
    c.stop();
  });

  it('recovers after the registrar comes back, and unregisters with Expires: 0', async () => {
    const clock = new VirtualClock();
    let down = true;
    const registrar = fakeRegistrar(clock, { down: () => down });
    const states: string[] = [];
    const c = client(clock, registrar, states);
    await expect(c.register()).rejects.toMatchObject({ status: 503 });
    down = false;
    clock.advance(30_000);
    for (let i = 0; i < 5; i++) await flush();
    expect(c.state).toBe('registered');
    expect(registrar.bindings.size).toBe(1);
    await c.unregister();
    expect(registrar.bindings.size).toBe(0);
    expect(c.state).toBe('unregistered');
    expect(clock.pendingTimers).toBe(0);
  });
});
