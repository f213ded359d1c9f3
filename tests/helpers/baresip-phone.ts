// baresip (Debian's package) as a headless phone driven through its stdin (the stdio module reads `/dial ...`,
// `/hangup`, `/accept`, `/quit` as commands): it plays a tone from a WAV file and records what it decodes
// (sndfile module, `*-dec.wav`), so a test can tell which tone reached it. See TESTING-NOTES.md.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkNamespace } from './netns.js';

export interface PhoneOptions {
  /** Directory for this phone's config, tone and recordings (created). */
  readonly dir: string;
  readonly number: string;
  readonly password: string;
  /** host:port of the registrar / proxy. */
  readonly server: string;
  /** baresip's audio_codecs list, e.g. `PCMU/8000/1` or `G722/16000/1`; the tone is made at the first one's rate. */
  readonly codec: string;
  readonly toneHz: number;
  /** UDP port baresip listens on (it also takes port + 1 for TLS). */
  readonly sipPort: number;
  /** First of 100 RTP ports. */
  readonly rtpPort: number;
  readonly autoAnswer: boolean;
  /** false: never REGISTER (regint=0), only place calls. */
  readonly register?: boolean;
}

// Terminal colours and the echo of typed commands are noise for matching.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

export class BaresipPhone {
  private text = '';
  private exited = false;
  private waiters = new Set<() => void>();

  private constructor(
    readonly options: PhoneOptions,
    private readonly child: ChildProcess,
  ) {
    const take = (d: Buffer) => {
      this.text += d.toString('latin1').replace(ANSI, '');
      for (const w of this.waiters) w();
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiters) w();
    });
  }

  /** Writes the config and starts baresip inside the namespace; resolves once it says it is ready. */
  static async start(ns: NetworkNamespace, options: PhoneOptions): Promise<BaresipPhone> {
    const { dir } = options;
    mkdirSync(dir, { recursive: true });
    const rate = options.codec.startsWith('G722') ? 16000 : 8000;
    // aufile insists on the codec's own sample rate.
    execFileSync(
      'sox',
      [
        '-n',
        '-r',
        String(rate),
        '-c',
        '1',
        '-b',
        '16',
        join(dir, 'tone.wav'),
        'synth',
        '60',
        'sine',
        String(options.toneHz),
      ],
      { timeout: 10_000 },
    );
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen 127.0.0.1:${options.sipPort}`,
        `audio_player aubridge,out${options.sipPort}`,
        `audio_source aufile,${join(dir, 'tone.wav')}`,
        `audio_alert aubridge,alert${options.sipPort}`,
        `rtp_ports ${options.rtpPort}-${options.rtpPort + 99}`,
        `snd_path ${dir}`,
        'module_path /usr/lib/baresip/modules',
        'module stdio.so',
        'module g711.so',
        'module g722.so',
        'module aufile.so',
        'module aubridge.so',
        'module sndfile.so',
        'module_app account.so',
        'module_app menu.so',
        '',
      ].join('\n'),
    );
    const params = [
      `auth_pass=${options.password}`,
      `audio_codecs=${options.codec}`,
      `answermode=${options.autoAnswer ? 'auto' : 'manual'}`,
      `regint=${options.register === false ? 0 : 60}`,
    ];
    writeFileSync(
      join(dir, 'accounts'),
      `<sip:${options.number}@${options.server};transport=udp>;${params.join(';')}\n`,
    );
    const child = ns.spawn('baresip', ['-4', '-f', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const phone = new BaresipPhone(options, child);
    await phone.waitFor(/baresip is ready/, { timeoutMs: 10_000 });
    return phone;
  }

  /** Everything printed so far (without colours). */
  get output(): string {
    return this.text;
  }

  /** A position in the output: `waitFor(..., { since })` looks only at what came after it. */
  mark(): number {
    return this.text.length;
  }

  /**
   * Resolves with the first match after `since`; rejects on timeout, on exit, or as soon as `unless` matches,
   * quoting the output.
   */
  waitFor(
    pattern: RegExp,
    { since = 0, timeoutMs = 8000, unless }: { since?: number; timeoutMs?: number; unless?: RegExp } = {},
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const seen = this.text.slice(since);
        const m = pattern.exec(seen);
        if (m) {
          done();
          resolve(m[0]);
        } else if (unless?.test(seen)) {
          done();
          reject(new Error(`baresip ${this.options.number}: ${unless} before ${pattern}:\n${this.tail()}`));
        } else if (this.exited) {
          done();
          reject(new Error(`baresip ${this.options.number} exited before ${pattern}:\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`baresip ${this.options.number}: no ${pattern} in ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Last lines of output, for failure messages. */
  tail(lines = 25): string {
    return this.text
      .replace(/\[\d+:\d\d:\d\d\] audio=[^ ]+ \(bit\/s\) */g, '')
      .split('\n')
      .slice(-lines)
      .join('\n');
  }

  /** Sends a menu command such as `/dial sip:1001@127.0.0.1:5060` or `/hangup`. */
  send(command: string): void {
    this.child.stdin?.write(`${command}\n`);
  }

  /** The decoded-audio recordings (one per call), oldest first. */
  decodedRecordings(): string[] {
    return readdirSync(this.options.dir)
      .filter((f) => f.endsWith('-dec.wav'))
      .sort()
      .map((f) => join(this.options.dir, f));
  }

  /** Quits (un-registering on the way out); killed if it takes longer than `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.send('/quit');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
