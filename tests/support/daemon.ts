// What the end-to-end daemon tests share: a temp folder with a config, the daemon started by its CLI and awaited,
// `switchyard ctl` calls, phones on our SIP stack registered with it, bounded polling, and teardown.
import { type ChildProcess, execFile, type SpawnOptions, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSdp, SipTransportLayer, UserAgent } from '@switchyard/sip-stack';
import Database from 'better-sqlite3';

const repository = fileURLToPath(new URL('../../', import.meta.url));

/** The built CLI (`npx tsc -b` first). */
export const DAEMON_CLI = join(repository, 'packages', 'daemon', 'dist', 'cli.js');
/** The committed `switchyard` command, which runs the built CLI. */
export const DAEMON_BIN = join(repository, 'packages', 'daemon', 'bin', 'switchyard.js');

/** A minimal PCMU offer and answer (RFC 4566) for calls whose media nobody sends. */
export const OFFER =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
export const ANSWER =
  'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';

/** Config lines: SIP on a loopback port the system picks, and the admin socket at `socket`. */
export function loopbackSipAndAdmin(socket: string): string[] {
  return ['sip:', '  listen: ["udp://127.0.0.1:0"]', '  domain: pbx.example.test', 'admin:', `  socket: ${socket}`];
}

/** Config lines: extensions 1000 (Alice) and 1001 (Bob) with their SIP passwords. */
export const ALICE_AND_BOB: readonly string[] = [
  'extensions:',
  '  - number: "1000"',
  '    name: Alice',
  '    password: "s3cret-a"',
  '  - number: "1001"',
  '    name: Bob',
  '    password: "s3cret-b"',
];

/** Teardown steps, run last-added first. */
export type Cleanup = Array<() => Promise<void> | void>;

export async function runCleanup(cleanup: Cleanup): Promise<void> {
  for (const fn of cleanup.splice(0).reverse()) await fn();
}

/** A fresh temp folder for one daemon: where its config, admin socket and data go. */
export interface DaemonFolder {
  readonly dir: string;
  readonly configFile: string;
  readonly socket: string;
  readonly data: string;
}

export function daemonFolder(prefix: string): DaemonFolder {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, configFile: join(dir, 'pbx.yaml'), socket: join(dir, 'admin.sock'), data: join(dir, 'data') };
}

export function writeConfig(file: string, lines: readonly string[]): void {
  writeFileSync(file, lines.join('\n'));
}

export function removeFolder(dir: string): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export interface DaemonLaunch {
  readonly configFile: string;
  /** The script node runs; DAEMON_CLI unless given. */
  readonly cli?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Starts the process (a network namespace passes its own); node's spawn unless given. */
  readonly spawn?: (command: string, args: string[], options: SpawnOptions) => ChildProcess;
  /** Whether what the daemon wrote so far says it is ready; the admin socket line unless given. */
  readonly ready?: (output: string) => boolean;
  /** Every chunk the daemon writes, stdout and stderr. */
  readonly onOutput?: (chunk: string) => void;
}

export interface StartedDaemon {
  readonly child: ChildProcess;
  /** Everything it wrote so far. */
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Runs `start --config` and resolves once ready; rejects if it exits first or is not ready within 15 s. */
export function startDaemon(launch: DaemonLaunch): Promise<StartedDaemon> {
  const run = launch.spawn ?? spawn;
  const ready = launch.ready ?? ((out: string) => out.includes('admin socket listening'));
  return new Promise((resolve, reject) => {
    const child = run(process.execPath, [launch.cli ?? DAEMON_CLI, 'start', '--config', launch.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(launch.env === undefined ? {} : { env: launch.env }),
    });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`daemon did not start: ${out}`)), 15_000);
    const take = (d: Buffer | string) => {
      out += d;
      launch.onOutput?.(String(d));
      if (ready(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out, exited });
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code}: ${out}`));
    });
  });
}

/** Sends `signal` and waits for the process to exit. */
export async function stopDaemon(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  await new Promise((resolve) => {
    child?.once('exit', resolve);
    child?.kill(signal);
  });
}

export interface CtlOutcome {
  code: number;
  result: unknown;
  stderr: string;
}

/** `switchyard ctl ARGS`: its exit code, the JSON it printed (on success) and its stderr. */
export function ctl(args: readonly string[], cli = DAEMON_CLI): Promise<CtlOutcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'ctl', ...args], { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, result: code === 0 ? JSON.parse(stdout) : undefined, stderr });
    });
  });
}

/** One admin call over the socket; rejects with ctl's stderr when it fails. */
export async function ctlCall<T = unknown>(
  socket: string,
  method: string,
  params: unknown = {},
  cli = DAEMON_CLI,
): Promise<T> {
  const r = await ctl(['--socket', socket, method, JSON.stringify(params)], cli);
  if (r.code !== 0) throw new Error(`ctl ${method}: ${r.stderr}`);
  return r.result as T;
}

/** The SIP port of the daemon's first listen address, from its `status`. */
export function sipPortOf(status: { listen: string[] }): number {
  return Number(status.listen[0].split(':').at(-1));
}

/** Polls `probe` every 50 ms until it gives a value; throws after `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A user agent on our stack on loopback UDP, registered with digest at the daemon. Its teardown is queued before
 * it registers, so a refused registration still closes it.
 */
export async function registeredPhone(
  cleanup: Cleanup,
  number: string,
  password: string,
  sipPort: number,
): Promise<UserAgent> {
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

/** SQLite's own integrity check of a database file ('ok' when consistent). */
export function databaseIntegrity(file: string): unknown {
  const db = new Database(file);
  try {
    return db.pragma('integrity_check', { simple: true });
  } finally {
    db.close();
  }
}

/** The c= address, m= port and formats of a description's first media line. */
export function mediaOf(body: Uint8Array | string): { address: string; port: number; formats: string[] } {
  const sdp = parseSdp(body);
  const m = sdp.media[0];
  return { address: m.connection?.address ?? sdp.connection?.address ?? '', port: m.port, formats: m.formats };
}
