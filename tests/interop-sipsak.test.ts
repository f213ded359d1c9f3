// Interop with sipsak (Debian's package): OPTIONS, and REGISTER with digest, against a registrar built on our UAS.
import { execFile, execFileSync } from 'node:child_process';
import {
  createResponse,
  DigestServer,
  type SipRequest,
  SipTransportLayer,
  type SipTransportProtocol,
  UserAgent,
} from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const haveSipsak = (() => {
  try {
    execFileSync('sipsak', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!haveSipsak) console.warn('sipsak not found: skipping its interop tests (bash scripts/install-system-deps.sh)');

function sipsak(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('sipsak', args, { timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

describe.skipIf(!haveSipsak)('sipsak against our UAS and registrar', () => {
  const bindings = new Map<string, string>();
  const transports: SipTransportLayer[] = [];
  let ua: UserAgent;
  let port = 0;

  beforeAll(async () => {
    const server = new DigestServer({
      realm: '127.0.0.1',
      // sipsak reads only the first challenge and knows only MD5, so MD5 is offered first here.
      algorithms: ['MD5', 'SHA-256'],
      credentials: { lookup: (_realm, user) => (user === 'alice' ? { password: 'wonderland' } : undefined) },
    });
    // sipsak 0.9.8 cuts five-digit ports out of URIs, so listen on a four-digit one.
    const protocols: SipTransportProtocol[] = ['udp', 'tcp'];
    for (let attempt = 0; attempt < 20 && port === 0; attempt++) {
      const candidate = 5100 + Math.floor(Math.random() * 4800);
      const transport = new SipTransportLayer();
      try {
        for (const protocol of protocols) await transport.listen({ protocol, address: '127.0.0.1', port: candidate });
        port = candidate;
        transports.push(transport);
      } catch {
        await transport.close();
      }
    }
    ua = new UserAgent({
      transport: transports[0],
      aor: 'sip:registrar@127.0.0.1',
      authenticator: { server, methods: ['REGISTER'] },
    });
    ua.onRequest = (request: SipRequest, tx) => {
      if (request.method !== 'REGISTER') {
        tx.reply(405);
        return;
      }
      const contact = request.contacts()[0];
      const expires = contact?.expires ?? request.expires() ?? 3600;
      if (contact && !contact.star) bindings.set(request.to().uri, contact.uri);
      tx.respond(
        createResponse(request, 200, 'OK', {
          headers: contact && !contact.star ? [['Contact', `<${contact.uri}>;expires=${expires}`]] : [],
        }),
      );
    };
  });

  afterAll(async () => {
    ua?.close();
    for (const t of transports) await t.close();
  });

  it('gets 200 to OPTIONS over UDP and TCP', async () => {
    for (const transport of ['udp', 'tcp']) {
      const { code, output } = await sipsak(['-vv', '--transport', transport, '-s', `sip:127.0.0.1:${port}`]);
      expect(output).toContain('SIP/2.0 200 OK');
      expect(output).toMatch(/Allow: .*INVITE/);
      expect(code).toBe(0);
    }
  });

  it('registers with MD5 digest, and is refused with a wrong password', async () => {
    const target = `sip:alice@127.0.0.1:${port}`;
    const ok = await sipsak([
      '-vv',
      '-U',
      '-C',
      'sip:alice@127.0.0.1:5999',
      '-s',
      target,
      '--auth-username=alice',
      '-a',
      'wonderland',
      '-x',
      '60',
    ]);
    expect(ok.output).toContain('All usrloc tests completed successful');
    expect(ok.code).toBe(0);
    expect([...bindings.values()]).toContain('sip:alice@127.0.0.1:5999');
    bindings.clear();
    const bad = await sipsak([
      '-U',
      '-C',
      'sip:alice@127.0.0.1:5998',
      '-s',
      target,
      '--auth-username=alice',
      '-a',
      'nope',
      '-x',
      '60',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('authorization failed');
    expect(bindings.size).toBe(0);
  });
});
