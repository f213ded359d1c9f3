// End to end: the daemon started from a config file by its CLI; two user agents on our stack register with digest
// and call each other through it over loopback UDP; `switchyard ctl` sees the call and the call records; a SIGKILL
// during a call loses nothing stored and leaves a consistent database.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type IncomingCall, SipTransportLayer, UserAgent } from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALICE_AND_BOB,
  ANSWER,
  type Cleanup,
  type CtlOutcome,
  ctl as ctlArgs,
  daemonFolder,
  databaseIntegrity,
  eventually,
  startDaemon as launchDaemon,
  loopbackSipAndAdmin,
  OFFER,
  registeredPhone,
  removeFolder,
  runCleanup,
  sipPortOf,
  stopDaemon,
  writeConfig,
} from './support/daemon.js';

let dir = '';
let configFile = '';
let socket = '';
let daemon: ChildProcess | undefined;
const cleanup: Cleanup = [];

const startDaemon = async (): Promise<ChildProcess> => (await launchDaemon({ configFile })).child;
const ctl = (method: string, params: unknown = {}): Promise<CtlOutcome> =>
  ctlArgs(['--socket', socket, method, JSON.stringify(params)]);
const phone = (number: string, password: string, sipPort: number) =>
  registeredPhone(cleanup, number, password, sipPort);

beforeAll(async () => {
  ({ dir, configFile, socket } = daemonFolder('switchyard-e2e-'));
  writeConfig(configFile, [...loopbackSipAndAdmin(socket), `data: ${join(dir, 'data')}`, ...ALICE_AND_BOB, '']);
  daemon = await startDaemon();
});

afterAll(async () => {
  await runCleanup(cleanup);
  daemon?.kill('SIGKILL');
  removeFolder(dir);
});

describe('the daemon with two phones on our stack', () => {
  it('registers both, connects a call, shows it in ctl, and records it when it ends', async () => {
    const status = (await ctl('status')).result as { listen: string[]; extensions: number };
    expect(status.extensions).toBe(2);
    const port = sipPortOf(status);
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

  it('refuses a call with the wrong password and keeps the attempt in the call log as failed', async () => {
    const status = (await ctl('status')).result as { listen: string[] };
    const port = sipPortOf(status);
    const transport = new SipTransportLayer();
    await transport.listen('udp://127.0.0.1:0');
    const ua = new UserAgent({
      transport,
      aor: 'sip:1000@pbx.example.test',
      credentials: { username: '1000', password: 'not-alices' },
    });
    cleanup.push(async () => {
      ua.close();
      await transport.close();
    });
    await expect(ua.call(`sip:1001@127.0.0.1:${port}`, { body: OFFER }).answered).rejects.toMatchObject({
      status: 401,
    });
    const failed = await eventually(async () => {
      const r = (await ctl('cdrs.query', {})).result as { records: Array<Record<string, unknown>> };
      return r.records.find((x) => x.status === 'failed');
    });
    // Not trusted to be 1000: the record names the From URI, not the extension.
    expect(failed).toMatchObject({ callerExtension: null, dialledNumber: '1001', hangupSipStatus: 401 });
    expect(failed.hangupReason).toMatch(/authentication failed/);
  });

  it('answers bad admin calls with JSON-RPC errors', async () => {
    const bad = await ctl('extensions.get', { nmber: '1000' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('-32602');
    expect((await ctl('no.such.method')).stderr).toContain('-32601');
  });

  it('reloads extensions on SIGHUP', async () => {
    const text = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, `${text}  - number: "1002"\n    name: Carol\n    password: "s3cret-c"\n`);
    daemon?.kill('SIGHUP');
    const numbers = await eventually(async () => {
      const list = (await ctl('extensions.list')).result as Array<{ number: string }>;
      return list.length === 3 ? list.map((e) => e.number) : undefined;
    });
    expect(numbers).toEqual(['1000', '1001', '1002']);
  });

  it('loses no stored call record when killed with SIGKILL during a call, and works again after a restart', async () => {
    const sipPort = async () => sipPortOf((await ctl('status')).result as { listen: string[] });
    let port = await sipPort();
    const alice = await phone('1000', 's3cret-a', port);
    const bob = await phone('1001', 's3cret-b', port);
    bob.onInvite = (call) => void call.accept({ body: ANSWER, contentType: 'application/sdp' });
    await alice.call(`sip:1001@127.0.0.1:${port}`, { body: OFFER }).answered;
    const before = ((await ctl('cdrs.query', {})).result as { records: unknown[] }).records;
    expect(before.length).toBeGreaterThanOrEqual(4);

    await stopDaemon(daemon, 'SIGKILL');
    // The file as the crash left it is consistent (the WAL is replayed on open).
    expect(databaseIntegrity(join(dir, 'data', 'switchyard.db'))).toBe('ok');
    daemon = await startDaemon();
    const after = ((await ctl('cdrs.query', {})).result as { records: unknown[] }).records;
    expect(after).toEqual(before);

    // A new registration (the port changed: the config listens on port 0) and a call go through.
    port = await sipPort();
    const carol = await phone('1002', 's3cret-c', port);
    const alice2 = await phone('1000', 's3cret-a', port);
    carol.onInvite = (call) => void call.accept({ body: ANSWER, contentType: 'application/sdp' });
    const session = await alice2.call(`sip:1002@127.0.0.1:${port}`, { body: OFFER }).answered;
    await session.bye();
    const records = await eventually(async () => {
      const r = (await ctl('cdrs.query', {})).result as { records: Array<{ status: string; calleeExtension: string }> };
      return r.records.length === before.length + 1 ? r.records : undefined;
    });
    expect(records.at(-1)).toMatchObject({ status: 'answered', calleeExtension: '1002' });
  });

  it('stops cleanly on SIGTERM when no call is up', async () => {
    const child = daemon;
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
    daemon = undefined;
  });
});
