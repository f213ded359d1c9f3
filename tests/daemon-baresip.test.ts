// End to end with real phones: the daemon started by its CLI from a config, inside a private network namespace with
// only loopback, and baresip instances (Debian's package) as the phones, driven through their stdin. One phone
// speaks G.711 PCMU and the other G.722 only, so the call needs the daemon to anchor and transcode the media; each
// phone plays its own tone and records what it decodes. Then the call log statuses of calls that fail (bad password,
// unknown number, busy callee, caller gives up while ringing), and a SIGKILL in the middle of a call.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaresipPhone, type PhoneOptions } from './helpers/baresip-phone.js';
import { has, NetworkNamespace, namespaceUnavailable } from './helpers/netns.js';
import {
  ctlCall,
  DAEMON_BIN,
  daemonFolder,
  databaseIntegrity,
  startDaemon as launchDaemon,
  removeFolder,
  stopDaemon,
  writeConfig,
} from './support/daemon.js';

const missing = [
  has('which', ['baresip']) ? undefined : 'baresip is not installed',
  has('sox', ['--version']) ? undefined : 'sox is not installed',
  namespaceUnavailable(),
].filter((m) => m !== undefined);
if (missing.length > 0)
  console.warn(
    `skipping the daemon + baresip tests: ${missing.join('; ')} (bash scripts/install-system-deps.sh, as root)`,
  );

const SERVER = '127.0.0.1:5060';
const ALICE_TONE = 700;
const BOB_TONE = 1200;
const BOB_CODEC = 'G722/16000/1';
/** Bob's phone, as first started and as restarted. */
const BOB_PHONE = {
  number: '1001',
  password: 'bob-pw',
  codec: BOB_CODEC,
  toneHz: BOB_TONE,
  sipPort: 5311,
  rtpPort: 41200,
  autoAnswer: true,
} as const;

interface CallRecord {
  callId: string;
  status: string;
  callerNumber: string;
  callerName: string | null;
  calleeName: string | null;
  callerExtension: string | null;
  calleeExtension: string | null;
  dialledNumber: string;
  hangupSide: string | null;
  hangupSipStatus: number | null;
  hangupReason: string | null;
  answeredAt: number | null;
  endedAt: number;
  legs: Array<{ direction: 'inbound' | 'outbound'; status: string; codec: string | null }>;
}

/** sox's rough frequency and RMS level of one second from the middle of a recording (`stat` reports on stderr). */
function toneOf(file: string | undefined): { hz: number; rms: number } {
  if (file === undefined) throw new Error('the phone made no recording');
  const run = spawnSync('sox', [file, '-n', 'trim', '0.5', '1', 'stat'], { encoding: 'utf8', timeout: 10_000 });
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(-?[\\d.]+)`).exec(run.stderr)?.[1] ?? Number.NaN);
  return { hz: field('Rough\\s+frequency'), rms: field('RMS\\s+amplitude') };
}

describe.skipIf(missing.length > 0)('the daemon with baresip phones in a private network namespace', () => {
  let dir = '';
  let ns: NetworkNamespace;
  let daemon: ChildProcess | undefined;
  let daemonLog = '';
  let alice: BaresipPhone;
  let bob: BaresipPhone;
  let carol: BaresipPhone;
  const configFile = () => join(dir, 'pbx.yaml');
  const socket = () => join(dir, 'admin.sock');

  async function startDaemon(): Promise<ChildProcess> {
    const started = await launchDaemon({
      configFile: configFile(),
      cli: DAEMON_BIN,
      spawn: (command, args, options) => ns.spawn(command, args, options),
      onOutput: (d) => {
        daemonLog += d;
      },
    });
    return started.child;
  }

  // The admin socket is a file: reachable from outside the namespace.
  const ctl = <T>(method: string, params: unknown = {}): Promise<T> => ctlCall<T>(socket(), method, params, DAEMON_BIN);

  const records = async () => (await ctl<{ records: CallRecord[] }>('cdrs.query', { limit: 1000 })).records;

  /** Waits (bounded) for call records beyond the first `known` and returns the new ones. */
  async function newRecords(known: number, count = 1, timeoutMs = 8000): Promise<CallRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await records();
      if (all.length >= known + count) return all.slice(known);
      if (Date.now() > deadline)
        throw new Error(`expected ${count} new call records, have ${all.length - known}; daemon log:\n${daemonLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const phone = (name: string, o: Omit<PhoneOptions, 'dir' | 'server'>) =>
    BaresipPhone.start(ns, { ...o, dir: join(dir, name), server: SERVER });

  /** `caller` dials `number` at the daemon; returns its output mark from before the dial. */
  function dial(caller: BaresipPhone, number: string): number {
    const mark = caller.mark();
    caller.send(`/dial sip:${number}@${SERVER}`);
    return mark;
  }

  /** `caller` dials `callee`'s `number` until both say the call is up; returns both marks from before the dial. */
  async function establish(caller: BaresipPhone, callee: BaresipPhone, number: string): Promise<[number, number]> {
    const calleeMark = callee.mark();
    const callerMark = dial(caller, number);
    await Promise.all([
      caller.waitFor(/Call established/, { since: callerMark, unless: /session closed/ }),
      callee.waitFor(/Call established/, { since: calleeMark }),
    ]);
    return [callerMark, calleeMark];
  }

  beforeAll(async () => {
    dir = daemonFolder('switchyard-baresip-').dir;
    writeConfig(configFile(), [
      'sip:',
      `  listen: ["udp://${SERVER}"]`,
      '  domain: pbx.example.test',
      // baresip 1.0 (libre) gives up on a SHA-256 challenge instead of picking the MD5 one.
      '  digestAlgorithms: [MD5]',
      'admin:',
      `  socket: ${socket()}`,
      `data: ${join(dir, 'data')}`,
      'extensions:',
      '  - { number: "1000", name: Alice, password: "alice-pw" }',
      '  - { number: "1001", name: Bob, password: "bob-pw" }',
      '  - { number: "1002", name: Carol, password: "carol-pw" }',
      '',
    ]);
    ns = await NetworkNamespace.open(120);
    daemon = await startDaemon();
    [alice, bob, carol] = await Promise.all([
      phone('alice', {
        number: '1000',
        password: 'alice-pw',
        codec: 'PCMU/8000/1',
        toneHz: ALICE_TONE,
        sipPort: 5301,
        rtpPort: 41000,
        autoAnswer: true,
      }),
      phone('bob', BOB_PHONE),
      phone('carol', {
        number: '1002',
        password: 'carol-pw',
        codec: 'PCMU/8000/1',
        toneHz: 900,
        sipPort: 5321,
        rtpPort: 41400,
        autoAnswer: false,
      }),
    ]);
    await Promise.all([alice, bob, carol].map((p) => p.waitFor(/200 OK \(\) \[1 binding\]/, { timeoutMs: 5000 })));
  }, 40_000);

  afterAll(async () => {
    await ns?.close();
    removeFolder(dir);
  });

  it('registers both with digest, connects a PCMU phone to a G.722 phone, and each hears the other', async () => {
    const devices = await ctl<Array<{ extension: string }>>('registrations.list');
    expect(devices.map((d) => d.extension).sort()).toEqual(['1000', '1001', '1002']);
    const known = (await records()).length;
    const [a, b] = await establish(alice, bob, '1001');
    // Each phone speaks its own codec (baresip prints its audio pipelines).
    expect(alice.output.slice(a)).toContain('---> PCMU');
    expect(bob.output.slice(b)).toContain(`---> ${BOB_CODEC.split('/')[0]}`);
    const live = await ctl<Array<Record<string, unknown>>>('calls.list');
    expect(live).toEqual([
      expect.objectContaining({
        state: 'answered',
        callerExtension: '1000',
        dialled: '1001',
        media: { callerCodec: 'PCMU', calleeCodec: 'G722', mode: 'transcode' },
      }),
    ]);
    // Long enough for a second of steady tone after the jitter buffers fill.
    await new Promise((r) => setTimeout(r, 2500));
    alice.send('/hangup');
    await bob.waitFor(/terminated/, { since: b });
    const [record] = await newRecords(known);
    expect(record).toMatchObject({
      status: 'answered',
      hangupSide: 'caller',
      callerExtension: '1000',
      calleeExtension: '1001',
      callerName: 'Alice',
      calleeName: 'Bob',
    });
    expect(record.endedAt - (record.answeredAt ?? record.endedAt)).toBeGreaterThanOrEqual(2000);
    // Each leg's own codec: the daemon transcoded between them.
    expect(record.legs.map((l) => [l.direction, l.status, l.codec])).toEqual([
      ['inbound', 'answered', 'PCMU'],
      ['outbound', 'answered', 'G722'],
    ]);

    // Last: what each phone decoded is the other one's tone (transcoded between G.711 and G.722 by the daemon).
    const heardByAlice = toneOf(alice.decodedRecordings().at(-1));
    const heardByBob = toneOf(bob.decodedRecordings().at(-1));
    expect(heardByAlice.rms).toBeGreaterThan(0.05);
    expect(heardByBob.rms).toBeGreaterThan(0.05);
    expect(Math.abs(heardByAlice.hz - BOB_TONE)).toBeLessThan(BOB_TONE * 0.05);
    expect(Math.abs(heardByBob.hz - ALICE_TONE)).toBeLessThan(ALICE_TONE * 0.05);
  }, 30_000);
  it('records a call to an unknown number, a busy callee, a call given up while ringing, and a wrong password', async () => {
    let known = (await records()).length;
    // A number nobody has: 404 (RFC 3261 21.4.5), "wrong number" in the call log.
    let a = dial(alice, '4444');
    await alice.waitFor(/session closed: 404/, { since: a });
    let [record] = await newRecords(known++);
    expect(record).toMatchObject({
      status: 'wrong-number',
      hangupSipStatus: 404,
      dialledNumber: '4444',
      callerExtension: '1000',
    });

    // Carol's phone rings and she turns the call down: baresip answers 486 Busy Here.
    let c = carol.mark();
    a = dial(alice, '1002');
    await carol.waitFor(/Incoming call/, { since: c });
    carol.send('/hangup');
    await alice.waitFor(/session closed: 486/, { since: a });
    [record] = await newRecords(known++);
    expect(record).toMatchObject({
      status: 'busy',
      hangupSipStatus: 486,
      calleeExtension: '1002',
      hangupSide: 'callee',
    });

    // Alice gives up while Carol's phone rings: her CANCEL is carried to Carol's leg.
    c = carol.mark();
    a = dial(alice, '1002');
    await carol.waitFor(/Incoming call/, { since: c });
    await alice.waitFor(/SIP Progress: 18[03]/, { since: a });
    alice.send('/hangup');
    await carol.waitFor(/session closed/, { since: c });
    [record] = await newRecords(known++);
    expect(record).toMatchObject({ status: 'cancelled', hangupSide: 'caller', calleeExtension: '1002' });

    // A phone that claims to be Alice with the wrong password, not registered: challenged, refused, recorded.
    const mallory = await phone('mallory', {
      number: '1000',
      password: 'not-alices',
      codec: 'PCMU/8000/1',
      toneHz: 500,
      sipPort: 5331,
      rtpPort: 41600,
      autoAnswer: true,
      register: false,
    });
    const b = bob.mark();
    const m = dial(mallory, '1001');
    await mallory.waitFor(/session closed: 40[13]/, { since: m });
    [record] = await newRecords(known++);
    expect(record).toMatchObject({
      status: 'failed',
      callerExtension: null,
      dialledNumber: '1001',
      hangupSipStatus: 401,
    });
    expect(record.hangupReason).toMatch(/authentication failed/);
    expect(bob.output.slice(b)).not.toMatch(/Call established|Incoming call/);
    await mallory.stop();
  }, 30_000);

  it('loses no finished call record when killed with SIGKILL mid-call, and works again after a restart', async () => {
    const before = await records();
    expect(before.length).toBeGreaterThan(0);
    let [a, b] = await establish(alice, bob, '1001');
    await stopDaemon(daemon, 'SIGKILL');

    // The database as the crash left it: consistent, and every finished call is in it.
    expect(databaseIntegrity(join(dir, 'data', 'switchyard.db'))).toBe('ok');
    daemon = await startDaemon();
    const after = await records();
    expect(after).toEqual(before);
    // Registrations are stored too: Alice's and Carol's bindings outlive the daemon.
    const devices = await ctl<Array<{ extension: string }>>('registrations.list');
    expect(devices.map((d) => d.extension)).toEqual(expect.arrayContaining(['1000', '1002']));

    // The call the daemon forgot is hung up by the phones; the new daemon answers their BYEs.
    a = alice.mark();
    b = bob.mark();
    alice.send('/hangup');
    bob.send('/hangup');
    await Promise.all([alice.waitFor(/terminated/, { since: a }), bob.waitFor(/terminated/, { since: b })]);

    // Bob's phone restarts: it un-registers, registers anew, and calls Alice at her stored binding.
    await bob.stop();
    bob = await phone('bob-again', BOB_PHONE);
    await bob.waitFor(/200 OK \(\) \[1 binding\]/);
    [b, a] = await establish(bob, alice, '1000');
    await new Promise((r) => setTimeout(r, 500));
    bob.send('/hangup');
    const [record] = await newRecords(before.length);
    expect(record).toMatchObject({
      status: 'answered',
      callerExtension: '1001',
      calleeExtension: '1000',
      hangupSide: 'caller',
    });
  }, 30_000);
});
