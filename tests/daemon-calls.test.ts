// End to end: the daemon started from a config file by its CLI; two user agents on our stack register with digest
// and call each other through it over loopback UDP; `switchyard ctl` sees the call and the call records; a SIGKILL
// loses nothing stored.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IncomingCall, SipTransportLayer, UserAgent } from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'daemon', 'dist', 'cli.js');
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const ANSWER = 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';

let dir = '';
let configFile = '';
let socket = '';
let daemon: ChildProcess | undefined;
const cleanup: Array<() => Promise<void> | void> = [];

function startDaemon(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'start', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`daemon did not start: ${out}`)), 15_000);
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('admin socket listening')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code}: ${out}`));
    });
  });
}

function ctl(method: string, params: unknown = {}): Promise<{ code: number; result: unknown; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'ctl', '--socket', socket, method, JSON.stringify(params)],
      { timeout: 10_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, result: code === 0 ? JSON.parse(stdout) : undefined, stderr });
      },
    );
  });
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
  await reg.register();
  cleanup.push(async () => {
    reg.stop();
    ua.close();
    await transport.close();
  });
  return ua;
}

async function eventually<T>(probe: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
  configFile = join(dir, 'pbx.yaml');
  socket = join(dir, 'admin.sock');
  writeFileSync(
    configFile,
    [
      'sip:',
      '  listen: ["udp://127.0.0.1:0"]',
      '  domain: pbx.example.test',
      'admin:',
      `  socket: ${socket}`,
      `data: ${join(dir, 'data')}`,
      'extensions:',
      '  - number: "1000"',
      '    name: Alice',
      '    password: "s3cret-a"',
      '  - number: "1001"',
      '    name: Bob',
      '    password: "s3cret-b"',
      '',
    ].join('\n'),
  );
  daemon = await startDaemon();
});

afterAll(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  daemon?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the daemon with two phones on our stack', () => {
  it('registers both, connects a call, shows it in ctl, and records it when it ends', async () => {
    const status = (await ctl('status')).result as { listen: string[]; extensions: number };
    expect(status.extensions).toBe(2);
    const port = Number(status.listen[0].split(':').at(-1));
    const alice = await phone('1000', 's3cret-a', port);
    const bob = await phone('1001', 's3cret-b', port);
    const devices = (await ctl('registrations.list')).result as Array<{ extension: string }>;
    expect(devices.map((d) => d.extension).sort()).toEqual(['1000', '1001']);

    let offered: IncomingCall | undefined;
    bob.onInvite = (call) => {
      offered = call;
      call.ring();
      void call.accept({ body: ANSWER, contentType: 'application/sdp' });
    };
    const session = await alice.call(`sip:1001@127.0.0.1:${port}`, { body: OFFER }).answered;
    // Media is anchored: Alice gets the PBX's description, not Bob's.
    const toAlice = Buffer.from(session.remoteBody).toString();
    expect(toAlice).toContain('c=IN IP4 127.0.0.1');
    expect(toAlice).not.toContain('m=audio 5000 ');
    expect(offered?.request.header('p-asserted-identity')).toContain('Alice');
    const live = (await ctl('calls.list')).result as Array<{ state: string; callerExtension: string; dialled: string }>;
    expect(live).toEqual([expect.objectContaining({ state: 'answered', callerExtension: '1000', dialled: '1001' })]);
    await new Promise((r) => setTimeout(r, 300));
    await session.bye();

    const page = await eventually(async () => {
      const r = (await ctl('cdrs.query', { extension: '1000' })).result as { records: Array<Record<string, unknown>> };
      return r.records.length === 1 ? r : undefined;
    });
    const record = page.records[0] as { status: string; hangupSide: string; answeredAt: number; endedAt: number };
    expect(record).toMatchObject({ status: 'answered', hangupSide: 'caller', callerExtension: '1000' });
    expect(record.endedAt - record.answeredAt).toBeGreaterThanOrEqual(250);

    // A busy callee and a number nobody has, each with its own record.
    bob.onInvite = (call) => call.reject(486);
    await expect(alice.call(`sip:1001@127.0.0.1:${port}`, { body: OFFER }).answered).rejects.toMatchObject({
      status: 486,
    });
    await expect(alice.call(`sip:4444@127.0.0.1:${port}`, { body: OFFER }).answered).rejects.toMatchObject({
      status: 404,
    });
    const statuses = await eventually(async () => {
      const r = (await ctl('cdrs.query', { extension: '1000' })).result as { records: Array<{ status: string }> };
      return r.records.length === 3 ? r.records.map((x) => x.status).sort() : undefined;
    });
    expect(statuses).toEqual(['answered', 'busy', 'wrong-number']);
  });

  it('answers bad admin calls with JSON-RPC errors', async () => {
    const bad = await ctl('extensions.get', { nmber: '1000' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('-32602');
    expect((await ctl('no.such.method')).stderr).toContain('-32601');
  });

  it('reloads extensions on SIGHUP', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, `${text}  - number: "1002"\n    name: Carol\n    password: "s3cret-c"\n`);
    daemon?.kill('SIGHUP');
    const numbers = await eventually(async () => {
      const list = (await ctl('extensions.list')).result as Array<{ number: string }>;
      return list.length === 3 ? list.map((e) => e.number) : undefined;
    });
    expect(numbers).toEqual(['1000', '1001', '1002']);
  });

  it('loses no stored call record when killed with SIGKILL', async () => {
    daemon?.kill('SIGKILL');
    await new Promise((r) => daemon?.once('exit', r));
    daemon = await startDaemon();
    const r = (await ctl('cdrs.query', { extension: '1000' })).result as { records: unknown[] };
    expect(r.records).toHaveLength(3);
  });

  it('stops cleanly on SIGTERM when no call is up', async () => {
    const child = daemon;
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
    daemon = undefined;
  });
});
