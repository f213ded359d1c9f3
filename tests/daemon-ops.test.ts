// End to end, the daemon's operations: the Prometheus endpoint after real registrations and a call, the admin
// interface over TCP with a token, the digest algorithms the config orders, and SIGTERM draining a call in progress.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SipSession, SipTransportLayer, UserAgent } from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'daemon', 'dist', 'cli.js');
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const ANSWER = 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';
const TOKEN = 'e2e-admin-token-0123456789';

let dir = '';
let configFile = '';
let socket = '';
const cleanup: Array<() => Promise<void> | void> = [];

interface Running {
  child: ChildProcess;
  sipPort: number;
  metricsUrl: string;
  adminTcp: string;
  output: () => string;
  exited: Promise<number | null>;
}

function startDaemon(): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'start', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'debug' },
    });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`daemon did not start: ${out}`)), 15_000);
    const field = (msg: string, key: string) => {
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const o = JSON.parse(line) as Record<string, string>;
        if (o.msg === msg && o[key] !== undefined) return o[key];
      }
      return undefined;
    };
    child.stdout?.on('data', (d) => {
      out += d;
      const adminTcp = field('admin listening', 'url');
      if (adminTcp !== undefined) {
        clearTimeout(timer);
        resolve({
          child,
          sipPort: Number(field('sip listening', 'listen')?.split(':').at(-1)),
          metricsUrl: field('metrics listening', 'url') ?? '',
          adminTcp,
          output: () => out,
          exited,
        });
      }
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code}: ${out}`));
    });
  });
}

function ctl(args: string[]): Promise<{ code: number; result: unknown; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'ctl', ...args], { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, result: code === 0 ? JSON.parse(stdout) : undefined, stderr });
    });
  });
}

function scrape(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function phone(number: string, password: string, sipPort: number): Promise<UserAgent> {
  const transport = new SipTransportLayer();
  await transport.listen('udp://127.0.0.1:0');
  const ua = new UserAgent({
    transport,
    aor: `sip:${number}@pbx.example.test`,
    credentials: { username: number, password },
  });
  const reg = ua.registration({ registrar: `sip:127.0.0.1:${sipPort}`, expires: 300 });
  cleanup.push(async () => {
    reg.stop();
    ua.close();
    await transport.close();
  });
  await reg.register();
  return ua;
}

async function eventually<T>(probe: () => Promise<T | undefined>, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Bob answers every call; returns his side of each session as it is answered. */
function answerAll(bob: UserAgent): SipSession[] {
  const sessions: SipSession[] = [];
  bob.onInvite = (call) => {
    call.ring();
    void call.accept({ body: ANSWER, contentType: 'application/sdp' }).then((s) => sessions.push(s));
  };
  return sessions;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-ops-'));
  configFile = join(dir, 'pbx.yaml');
  socket = join(dir, 'admin.sock');
  writeFileSync(
    configFile,
    [
      'sip:',
      '  listen: ["udp://127.0.0.1:0"]',
      '  domain: pbx.example.test',
      '  digestAlgorithms: ["MD5", "SHA-256"]',
      'admin:',
      `  socket: ${socket}`,
      '  tcp: "127.0.0.1:0"',
      `  token: "${TOKEN}"`,
      'metrics:',
      '  listen: "127.0.0.1:0"',
      'log:',
      '  level: warn',
      'shutdown:',
      '  drainTimeoutSeconds: 2',
      `data: ${join(dir, 'data')}`,
      'extensions:',
      '  - number: "1000"',
      '    password: "s3cret-a"',
      '  - number: "1001"',
      '    password: "s3cret-b"',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('daemon operations', () => {
  let daemon: Running | undefined;
  afterAll(() => {
    daemon?.child.kill('SIGKILL');
  });

  it('logs at the level the environment sets over the config', async () => {
    daemon = await startDaemon();
    // log.level is warn in the file, SWITCHYARD_LOG_LEVEL=debug wins: info lines are written.
    expect(daemon.output()).toContain('"level":"info"');
  });

  it('challenges with the digest algorithms in the configured order', async () => {
    const running = daemon as Running;
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    const answer = new Promise<string>((r) => udp.once('message', (m) => r(m.toString())));
    const register = [
      `REGISTER sip:127.0.0.1:${running.sipPort} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-ops-1;rport`,
      'Max-Forwards: 70',
      'From: <sip:1000@pbx.example.test>;tag=t1',
      'To: <sip:1000@pbx.example.test>',
      'Call-ID: ops-digest-order',
      'CSeq: 1 REGISTER',
      `Contact: <sip:1000@127.0.0.1:${port}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    udp.send(register, running.sipPort, '127.0.0.1');
    const text = await answer;
    udp.close();
    expect(text.startsWith('SIP/2.0 401')).toBe(true);
    const algorithms = text
      .split('\r\n')
      .filter((l) => l.toLowerCase().startsWith('www-authenticate:'))
      .map((l) => /algorithm=([A-Za-z0-9-]+)/.exec(l)?.[1]);
    expect(algorithms).toEqual(['MD5', 'SHA-256']);
  });

  it('exports calls, registrations, SIP messages and auth failures at /metrics', async () => {
    const running = daemon as Running;
    const alice = await phone('1000', 's3cret-a', running.sipPort);
    const bob = await phone('1001', 's3cret-b', running.sipPort);
    await expect(phone('1001', 'wrong-password', running.sipPort)).rejects.toThrow();
    const answered = answerAll(bob);
    const session = await alice.call(`sip:1001@127.0.0.1:${running.sipPort}`, { body: OFFER }).answered;
    let m = await scrape(running.metricsUrl);
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    expect(sample(m.body, 'switchyard_calls_active')).toBe(1);
    await session.bye();
    await eventually(async () => (answered[0]?.ended ? true : undefined));
    m = await eventually(async () => {
      const r = await scrape(running.metricsUrl);
      return sample(r.body, 'switchyard_calls_ended_total{status="answered"}') === 1 ? r : undefined;
    });
    const t = m.body;
    expect(sample(t, 'switchyard_calls_started_total')).toBe(1);
    expect(sample(t, 'switchyard_calls_answered_total')).toBe(1);
    expect(sample(t, 'switchyard_calls_active')).toBe(0);
    expect(sample(t, 'switchyard_registrations_active')).toBe(2);
    expect(sample(t, 'switchyard_registration_attempts_total{result="success",status="200"}')).toBe(2);
    expect(
      sample(t, 'switchyard_registration_attempts_total{result="challenged",status="401"}'),
    ).toBeGreaterThanOrEqual(3);
    expect(sample(t, 'switchyard_auth_failures_total{reason="invalid"}')).toBeGreaterThanOrEqual(1);
    expect(
      sample(t, 'switchyard_sip_messages_total{direction="received",kind="request",method="INVITE",status=""}'),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(t, 'switchyard_sip_messages_total{direction="sent",kind="response",method="BYE",status="200"}')).toBe(
      1,
    );
    expect(sample(t, 'switchyard_sip_messages_total{direction="sent",kind="request",method="BYE",status=""}')).toBe(1);
    expect(t).toContain('switchyard_process_resident_memory_bytes');
    expect((await scrape(running.metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('answers ctl over TCP with the token, and refuses it without', async () => {
    const running = daemon as Running;
    const ok = await ctl(['--url', running.adminTcp, '--token', TOKEN, 'status']);
    expect(ok.code).toBe(0);
    expect(ok.result).toMatchObject({ extensions: 2 });
    const refused = await ctl(['--url', running.adminTcp, '--token', 'not-the-token', 'status']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401');
  });

  it('on SIGTERM refuses new calls with 503, lets the current one finish, then exits 0', async () => {
    const running = daemon as Running;
    // Fresh phones: the ones above are still registered, but these hold this test's call.
    const alice = await phone('1000', 's3cret-a', running.sipPort);
    const bob = await phone('1001', 's3cret-b', running.sipPort);
    const answered = answerAll(bob);
    const session = await alice.call(`sip:1001@127.0.0.1:${running.sipPort}`, { body: OFFER }).answered;
    running.child.kill('SIGTERM');
    await eventually(async () => (running.output().includes('"msg":"stopping"') ? true : undefined));
    await expect(alice.call(`sip:1001@127.0.0.1:${running.sipPort}`, { body: OFFER }).answered).rejects.toMatchObject({
      status: 503,
    });
    // The call goes on: still listed, nobody got a BYE.
    const live = await ctl(['--socket', socket, 'calls.list']);
    expect(live.result).toEqual([expect.objectContaining({ state: 'answered' })]);
    expect(session.ended).toBe(false);
    await session.bye();
    expect(await running.exited).toBe(0);
    expect(answered[0]?.ended).toBe(true);
    daemon = undefined;
  });

  it('ends a call still up when the drain timeout runs out: a BYE each way, a record, exit 0', async () => {
    const running = await startDaemon();
    daemon = running;
    const alice = await phone('1000', 's3cret-a', running.sipPort);
    const bob = await phone('1001', 's3cret-b', running.sipPort);
    const answered = answerAll(bob);
    const session = await alice.call(`sip:1001@127.0.0.1:${running.sipPort}`, { body: OFFER }).answered;
    const aliceEnded = new Promise<string>((r) => {
      session.events.onEnded = r;
    });
    const sigtermAt = Date.now();
    running.child.kill('SIGTERM');
    expect(await aliceEnded).toBe('remote');
    // drainTimeoutSeconds is 2: not before (give or take the 200 ms polling), and not much after.
    expect(Date.now() - sigtermAt).toBeGreaterThanOrEqual(1800);
    expect(await running.exited).toBe(0);
    expect(answered[0]?.ended).toBe(true);

    const again = await startDaemon();
    daemon = again;
    const page = (await ctl(['--socket', socket, 'cdrs.query', JSON.stringify({ order: 'desc', limit: 1 })]))
      .result as { records: Array<{ status: string; hangupSide: string }> };
    expect(page.records[0]).toMatchObject({ status: 'answered', hangupSide: 'system' });
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    daemon = undefined;
  });
});
