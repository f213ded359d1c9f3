// Interop with baresip (Debian's package) as a real phone: it registers with digest to a registrar on our stack and
// calls our UAS, and the reverse: we call it at its registered contact. Everything runs in a private network
// namespace with only loopback (unshare -n), as TESTING-NOTES.md describes.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveBaresip = has('baresip', ['-h']) || has('which', ['baresip']);
const canUnshare = has('unshare', ['-n', 'true']);
const haveSox = has('sox', ['--version']);
const ready = haveBaresip && canUnshare && haveSox;
if (!ready)
  console.warn(
    'baresip, sox or unshare -n is not available: skipping the baresip interop tests (bash scripts/install-system-deps.sh, as root)',
  );

type PeerEvent = { event: string; [k: string]: unknown };

function runInNamespace(script: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    execFile('unshare', ['-n', 'bash', '-c', script], { timeout: timeoutMs }, (_err, stdout) => resolve(stdout));
  });
}

describe.skipIf(!ready)('baresip against our registrar and UAS', () => {
  let dir = '';
  const port = 5077;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'baresip-'));
    execFileSync('sox', [
      '-n',
      '-r',
      '8000',
      '-c',
      '1',
      '-b',
      '16',
      join(dir, 'tone.wav'),
      'synth',
      '10',
      'sine',
      '700',
    ]);
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll',
        'sip_listen 127.0.0.1:5301',
        'audio_player aubridge,nowhere',
        `audio_source aufile,${join(dir, 'tone.wav')}`,
        'audio_alert aubridge,nowhere',
        'rtp_ports 30000-30100',
        'module_path /usr/lib/baresip/modules',
        'module stdio.so',
        'module g711.so',
        'module aufile.so',
        'module aubridge.so',
        'module_app account.so',
        'module_app menu.so',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'accounts'),
      `<sip:alice@127.0.0.1:${port};transport=udp>;auth_pass=wonderland;audio_codecs=PCMU/8000/1;answermode=auto;regint=60\n`,
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function script(mode: 'answer' | 'call', baresipArgs: string): string {
    const peer = join(here, 'helpers', 'baresip-peer.mjs');
    return [
      'ip link set lo up',
      // baresip wants a default route; this one stays on loopback.
      'ip route add default dev lo src 127.0.0.1',
      `"${process.execPath}" "${peer}" ${port} ${mode} 11000 &`,
      'sleep 1',
      `sleep 6 | baresip -4 -f "${dir}" ${baresipArgs} > "${dir}/baresip-${mode}.log" 2>&1`,
      'wait',
    ].join('\n');
  }

  const parse = (out: string): PeerEvent[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as PeerEvent);

  it('registers with digest and calls our UAS, which answers; baresip hangs up with BYE', async () => {
    const out = await runInNamespace(script('answer', `-t 4 -e "/dial sip:2000@127.0.0.1:${port}"`), 25_000);
    const events = parse(out);
    const names = events.map((e) => e.event);
    expect(events.find((e) => e.event === 'register' && e.expires !== 0)).toMatchObject({ authorized: true });
    expect(events.find((e) => e.event === 'invite')).toMatchObject({ authorized: true });
    expect(events.find((e) => e.event === 'established')).toMatchObject({ remoteSdp: true });
    expect(events.find((e) => e.event === 'ended')).toMatchObject({ by: 'remote' });
    expect(names.indexOf('established')).toBeLessThan(names.indexOf('ended'));
  }, 30_000);

  it('is called by us at its registered contact, answers automatically, and takes our BYE', async () => {
    const out = await runInNamespace(script('call', '-t 4'), 25_000);
    const events = parse(out);
    expect(events.find((e) => e.event === 'answered')).toMatchObject({ sdp: true });
    expect(events.find((e) => e.event === 'bye-answered')).toMatchObject({ status: 200 });
  }, 30_000);
});
