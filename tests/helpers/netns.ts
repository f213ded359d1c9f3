// A private network namespace with only loopback (TESTING-NOTES.md), held open by a sleeping process so that the
// test can start, signal and restart programs inside it one by one (`nsenter --net`), and kill them all at the end.
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';

/** Whether a command runs and exits 0 (within 5 s). */
export function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Why namespace tests cannot run here, or undefined when they can (needs unshare and nsenter, i.e. root). */
export function namespaceUnavailable(): string | undefined {
  if (!has('unshare', ['-n', 'true'])) return 'unshare -n is not available (util-linux, and root)';
  if (!has('nsenter', ['--version'])) return 'nsenter is not available (util-linux)';
  if (!has('ip', ['-V'])) return 'ip is not available (iproute2)';
  if (!has('setpriv', ['--pdeathsig', 'KILL', 'true'])) return 'setpriv --pdeathsig is not available (util-linux)';
  return undefined;
}

export class NetworkNamespace {
  private readonly children = new Set<ChildProcess>();

  private constructor(private readonly holder: ChildProcess) {}

  /** Sets up loopback and a default route that stays on it (baresip will not start without a default route). */
  static async open(lifetimeSeconds = 120): Promise<NetworkNamespace> {
    const script = `ip link set lo up && ip route add default dev lo src 127.0.0.1 && echo up && exec sleep ${lifetimeSeconds}`;
    const holder = spawn('unshare', ['-n', 'setpriv', '--pdeathsig', 'KILL', '--', 'bash', '-c', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`namespace not ready: ${out}`)), 10_000);
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`namespace failed: ${why} ${out}`));
      };
      holder.stdout?.on('data', (d) => {
        out += d;
        if (out.includes('up')) {
          clearTimeout(timer);
          resolve();
        }
      });
      holder.stderr?.on('data', (d) => {
        out += d;
      });
      holder.on('exit', (code) => fail(`exit ${code}`));
      holder.on('error', (err) => fail(err.message));
    });
    return new NetworkNamespace(holder);
  }

  /**
   * Starts a program inside the namespace; nsenter and setpriv exec it, so the child's pid is the program's, and
   * it is killed if the test process dies without cleaning up (parent-death signal).
   */
  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(
      'nsenter',
      [`--net=/proc/${this.holder.pid}/ns/net`, '--', 'setpriv', '--pdeathsig', 'KILL', '--', command, ...args],
      options,
    );
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills everything started here, then the namespace itself; waits (bounded) for them to exit. */
  async close(): Promise<void> {
    const all = [...this.children, this.holder];
    await Promise.all(
      all.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(resolve, 3000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGKILL');
          }),
      ),
    );
  }
}
