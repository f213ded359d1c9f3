// A running daemon (in this process) reloading settings that have no end-to-end test of their own: the metrics
// address, the admin token, the announced media address and music on hold; and a reload that fails part way
// (an unusable music-on-hold file) leaving every setting as it was.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type SwitchyardConfig } from '../src/config.js';
import { Daemon } from '../src/daemon.js';
import { callAdmin } from '../src/rpc/admin-client.js';

const TOKEN = 'first-admin-token-0123456789';
let dir = '';
let daemon: Daemon;
const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];

function config(extra: Partial<SwitchyardConfig> = {}): SwitchyardConfig {
  return {
    sip: { listen: ['udp://127.0.0.1:0'], domain: 'pbx.example.test' },
    admin: { socket: join(dir, 'admin.sock'), tcp: '127.0.0.1:0', token: TOKEN },
    data: join(dir, 'data'),
    media: { address: '127.0.0.1', rtpPorts: { min: 47000, max: 47099 }, workers: 1 },
    extensions: [{ number: '1000', password: 's3cret-a' }],
    ...extra,
  };
}

const status = (url: string) =>
  new Promise<number>((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-unit-'));
  daemon = new Daemon({ config: config(), log: (level, msg, fields) => lines.push({ level, msg, fields }) });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Daemon.reload', () => {
  it('starts, moves and stops the metrics endpoint', async () => {
    expect(daemon.metrics).toBeUndefined();
    const on = await daemon.reload(config({ metrics: { listen: '127.0.0.1:0' } }));
    expect(on.changed).toEqual(['metrics.listen']);
    const url = daemon.metrics?.url ?? '';
    expect(await status(url)).toBe(200);
    await daemon.reload(config());
    expect(daemon.metrics).toBeUndefined();
    await expect(status(url)).rejects.toThrow();
  });

  it('takes a new admin token for new connections', async () => {
    const tcp = daemon.remoteAdmin?.endpoints[0] ?? '';
    expect((await callAdmin(tcp, 'status', {}, { token: TOKEN })).result).toBeDefined();
    const next = config({ admin: { ...config().admin, token: 'second-admin-token-0123456789' } });
    expect((await daemon.reload(next)).changed).toEqual(['admin.token']);
    await expect(callAdmin(tcp, 'status', {}, { token: TOKEN })).rejects.toThrow();
    expect((await callAdmin(tcp, 'status', {}, { token: 'second-admin-token-0123456789' })).result).toBeDefined();
    await daemon.reload(config()); // back to the first token for the tests below
  });

  it('announces a new media address and plays new music on hold; a bad file changes nothing', async () => {
    const wav = join(dir, 'bad.wav');
    writeFileSync(wav, 'RIFF....WAVEnot really');
    const before = { ...daemon.config };
    const announced = daemon.media.announced;
    const musicBefore = daemon.media.musicOnHold;
    const bad = config({
      media: { ...config().media, announce: '192.0.2.10', musicOnHold: wav },
      log: { level: 'warn' },
    });
    await expect(daemon.reload(bad)).rejects.toBeInstanceOf(ConfigError);
    expect(daemon.media.announced).toBe(announced);
    expect(daemon.media.musicOnHold).toBe(musicBefore);
    expect(daemon.config).toEqual(before);
    expect(lines.at(-1)).toMatchObject({ level: 'error', msg: 'config not reloaded' });
    expect(JSON.stringify(lines.at(-1)?.fields)).toContain('media.musicOnHold');

    const good = await daemon.reload(config({ media: { ...config().media, announce: '192.0.2.10' } }));
    expect(good).toEqual({ changed: ['media.announce'], needsRestart: [] });
    expect(daemon.media.announced).toBe('192.0.2.10');
    // A restart-only change is reported and left as it runs.
    const ports = await daemon.reload(
      config({ media: { ...config().media, announce: '192.0.2.10', rtpPorts: { min: 48000, max: 48099 } } }),
    );
    expect(ports).toEqual({ changed: [], needsRestart: ['media.rtpPorts'] });
    expect(daemon.config.media?.rtpPorts).toEqual({ min: 47000, max: 47099 });
    expect(
      lines.some((l) => l.msg === 'config setting needs a restart' && l.fields?.setting === 'media.rtpPorts'),
    ).toBe(true);
  });

  it('deletes an extension the file no longer has', async () => {
    await daemon.reload(
      config({
        extensions: [
          { number: '1000', password: 's3cret-a' },
          { number: '1001', password: 'pw-b1' },
        ],
      }),
    );
    expect((await daemon.storage.extensions.get('1001'))?.number).toBe('1001');
    const r = await daemon.reload(config());
    expect(r.changed).toEqual(['extensions']);
    expect(await daemon.storage.extensions.get('1001')).toBeUndefined();
  });
});
