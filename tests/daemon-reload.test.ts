// End to end, SIGHUP and `config.reload`: a started daemon takes a changed extension password and log level from its
// file without a restart, names the settings that need one, and refuses a file that does not validate while it goes
// on serving with the config it had.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SipTransportLayer, UserAgent } from '@switchyard/sip-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cleanup,
  ctl,
  ctlCall,
  daemonFolder,
  eventually,
  registeredPhone,
  removeFolder,
  runCleanup,
  sipPortOf,
  startDaemon,
  writeConfig,
} from './support/daemon.js';

let dir = '';
let configFile = '';
let socket = '';
const cleanup: Cleanup = [];
let child: ChildProcess | undefined;
let output: () => string = () => '';

function reloadConfig(options: { password: string; level: string; listen: string; broken?: boolean }): void {
  writeConfig(configFile, [
    'sip:',
    `  listen: ["${options.listen}"]`,
    '  domain: pbx.example.test',
    'admin:',
    `  socket: ${socket}`,
    'log:',
    `  level: ${options.level}`,
    `data: ${join(dir, 'data')}`,
    'extensions:',
    '  - number: "1000"',
    `    password: "${options.password}"`,
    // Unquoted, 1001 is a number where the schema wants a string: line 12.
    options.broken ? '  - number: 1001' : '  - number: "1001"',
    '    password: "s3cret-b"',
    '',
  ]);
}

/** The JSON log lines the daemon wrote with this message. */
function logLines(msg: string): Array<Record<string, unknown>> {
  return output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((o) => o.msg === msg);
}

/** Whether a REGISTER for 1000 with this password is accepted (a refused one rejects). */
async function registers(password: string, sipPort: number): Promise<boolean> {
  const transport = new SipTransportLayer();
  await transport.listen('udp://127.0.0.1:0');
  const ua = new UserAgent({
    transport,
    aor: 'sip:1000@pbx.example.test',
    credentials: { username: '1000', password },
  });
  const reg = ua.registration({ registrar: `sip:127.0.0.1:${sipPort}`, expires: 300 });
  try {
    await reg.register();
    return true;
  } catch {
    return false;
  } finally {
    reg.stop();
    ua.close();
    await transport.close();
  }
}

beforeAll(async () => {
  ({ dir, configFile, socket } = daemonFolder('switchyard-reload-'));
  reloadConfig({ password: 's3cret-a', level: 'info', listen: 'udp://127.0.0.1:0' });
  const started = await startDaemon({ configFile, env: { ...process.env, SWITCHYARD_LOG_LEVEL: '' } });
  child = started.child;
  output = started.output;
});

afterAll(async () => {
  await runCleanup(cleanup);
  child?.kill('SIGKILL');
  removeFolder(dir);
});

describe('config reload', () => {
  it('SIGHUP applies a new password and log level, and names what needs a restart', async () => {
    const sipPort = sipPortOf(await ctlCall<{ listen: string[] }>(socket, 'status'));
    expect(await registers('s3cret-a', sipPort)).toBe(true);

    reloadConfig({ password: 'n3w-s3cret-a', level: 'warn', listen: 'udp://127.0.0.1:1' });
    child?.kill('SIGHUP');
    const restart = await eventually(async () => logLines('config setting needs a restart')[0]);
    expect(restart).toMatchObject({ level: 'warn', setting: 'sip.listen' });
    // Level warn from the reload on: its own info line is no longer written.
    expect(logLines('config reloaded')).toEqual([]);

    expect(await registers('s3cret-a', sipPort)).toBe(false);
    expect(await registers('n3w-s3cret-a', sipPort)).toBe(true);
    // The listen address needs a restart: the daemon still answers where it listened.
    const status = await ctlCall<{ listen: string[] }>(socket, 'status');
    expect(sipPortOf(status)).toBe(sipPort);
  });

  it('config.reload over the admin socket says what changed and what needs a restart', async () => {
    reloadConfig({ password: 'n3w-s3cret-a', level: 'info', listen: 'udp://127.0.0.1:1' });
    const changes = await ctlCall(socket, 'config.reload');
    expect(changes).toEqual({ changed: ['log.level'], needsRestart: ['sip.listen'] });
    expect(logLines('config reloaded').at(-1)).toMatchObject({ changed: ['log.level'], needsRestart: ['sip.listen'] });
  });

  it('refuses a file that does not validate, naming file, line and field, and keeps running', async () => {
    reloadConfig({ password: 'an0ther-a', level: 'debug', listen: 'udp://127.0.0.1:0', broken: true });
    child?.kill('SIGHUP');
    const refused = await eventually(async () => logLines('config not reloaded')[0]);
    expect(refused).toMatchObject({
      level: 'error',
      file: configFile,
      problems: [expect.objectContaining({ field: 'extensions[1].number', line: 12 })],
    });
    expect(String(refused.error)).toContain(`${configFile}:12:`);

    const viaCtl = await ctl(['--socket', socket, 'config.reload']);
    expect(viaCtl.code).toBe(1);
    expect(viaCtl.stderr).toContain('-32602');
    expect(viaCtl.stderr).toContain(`${configFile}:12:`);

    // Nothing of the refused file was applied; the daemon is up and serves with the running config.
    expect(child?.exitCode).toBeNull();
    const sipPort = sipPortOf(await ctlCall<{ listen: string[] }>(socket, 'status'));
    expect(await registers('an0ther-a', sipPort)).toBe(false);
    const alice = await registeredPhone(cleanup, '1000', 'n3w-s3cret-a', sipPort);
    expect(alice).toBeDefined();
  });
});
