// End to end, the daemon's operations: the Prometheus endpoint after real registrations and a call, the admin
// interface over TCP with a token, the digest algorithms the config orders, and SIGTERM draining a call in progress.
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { get } from 'node:http';
import { join } from 'node:path';
import type { SipSession, UserAgent } from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANSWER,
  type Cleanup,
  ctl,
  daemonFolder,
  eventually as eventuallyWithin,
  startDaemon as launchDaemon,
  OFFER,
  registeredPhone,
  removeFolder,
  runCleanup,
  writeConfig,
} from './support/daemon.js';

const TOKEN = 'e2e-admin-token-0123456789';

let dir = '';
let configFile = '';
let socket = '';
const cleanup: Cleanup = [];

interface Running {
  child: ChildProcess;
  sipPort: number;
  metricsUrl: string;
  adminTcp: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** A field of the first JSON log line with this message that has it. */
function logField(out: string, msg: string, key: string): string | undefined {
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as Record<string, string>;
    if (o.msg === msg && o[key] !== undefined) return o[key];
  }
  return undefined;
}

async function startDaemon(): Promise<Running> {
  const { child, output, exited } = await launchDaemon({
    configFile,
    env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'debug' },
    ready: (out) => logField(out, 'admin listening', 'url') !== undefined,
  });
  const out = output();
  return {
    child,
    sipPort: Number(logField(out, 'sip listening', 'listen')?.split(':').at(-1)),
    metricsUrl: logField(out, 'metrics listening', 'url') ?? '',
    adminTcp: logField(out, 'admin listening', 'url') ?? '',
    output,
    exited,
  };
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

const phone = (number: string, password: string, sipPort: number): Promise<UserAgent> =>
  registeredPhone(cleanup, number, password, sipPort);

const eventually = <T>(probe: () => Promise<T | undefined>): Promise<T> => eventuallyWithin(probe, 8000);

/** Bob answers every call; returns his side of each session as it is answered. */
function answerAll(bob: UserAgent): SipSession[] {
  const sessions: SipSession[] = [];
  bob.onInvite = (call) => {
    call.ring();
    void call.accept({ body: ANSWER, contentType: 'application/sdp' }).then((s) => sessions.push(s));
  };
  return sessions;
}

/** The config; `drain` is the SIGTERM drain timeout in seconds. */
function writeOpsConfig(drain: number): void {
  writeConfig(configFile, [
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
    `  drainTimeoutSeconds: ${drain}`,
    `data: ${join(dir, 'data')}`,
    'extensions:',
    '  - number: "1000"',
    '    password: "s3cret-a"',
    '  - number: "1001"',
    '    password: "s3cret-b"',
    '',
  ]);
}

beforeAll(() => {
  ({ dir, configFile, socket } = daemonFolder('switchyard-ops-'));
  // Long enough that a call survives the checks made while draining, however loaded the machine.
  writeOpsConfig(20);
});

afterAll(async () => {
  await runCleanup(cleanup);
  removeFolder(dir);
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
    writeOpsConfig(2);
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
