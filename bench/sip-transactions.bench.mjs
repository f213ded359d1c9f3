// Transactions per second over loopback UDP (issue 3): OPTIONS answered 200 by a stateful UAS on our stack, and
// INVITE-200-ACK-BYE call setups, with the load generator and each server in separate processes. Where kamailio is
// installed, the same load against a minimal one-worker stateless Kamailio in the same run, and our rate as a ratio.
// Both sides use 4 MiB UDP socket buffers (the generator too).
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BUFFER = 4 * 1024 * 1024;
const DURATION_MS = Number(process.env.SIP_BENCH_MS ?? 5000);
const CLOCK_TICKS = 100; // USER_HZ for /proc/<pid>/stat

function load(port, mode, window = 200) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(here, 'lib/sip-load.mjs'),
        JSON.stringify({ port, mode, window, durationMs: DURATION_MS, warmupMs: 1000, bufferBytes: BUFFER }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`load generator exited with ${code}`);
        resolve(JSON.parse(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** utime + stime of a process in clock ticks; 0 once it is gone. */
function cpuTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function ask(child, what) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(what);
  });
}

async function ours(port, mode) {
  const child = fork(join(here, 'servers/stateful-uas.mjs'), [String(port), String(BUFFER)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => child.once('message', resolve));
  try {
    const base = await ask(child, 'baseline');
    const result = await load(port, mode);
    const stats = await ask(child, 'stats');
    const cpuUs = stats.cpu.user + stats.cpu.system - (base.cpu.user + base.cpu.system);
    const wall = (DURATION_MS + 1000) / 1000;
    return {
      ...result,
      cpuPercent: cpuUs / 1e4 / wall,
      bytesPerTransaction: stats.liveTransactions > 0 ? (stats.heapUsed - base.heapUsed) / stats.liveTransactions : 0,
      liveTransactions: stats.liveTransactions,
    };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('stop');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    child.kill();
  }
}

function haveKamailio() {
  try {
    execFileSync('kamailio', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function kamailio(port, mode) {
  const dir = mkdtempSync(join(tmpdir(), 'kam-bench-'));
  const modules = ['/usr/lib/x86_64-linux-gnu/kamailio/modules/', '/usr/lib/kamailio/modules/'].find((p) => {
    try {
      readFileSync(join(p, 'sl.so'));
      return true;
    } catch {
      return false;
    }
  });
  writeFileSync(
    join(dir, 'k.cfg'),
    [
      '#!KAMAILIO',
      'debug=0',
      'log_stderror=yes',
      'children=1',
      `listen=udp:127.0.0.1:${port}`,
      'disable_tcp=yes',
      `maxbuffer=${BUFFER}`,
      `mpath="${modules}"`,
      'loadmodule "sl.so"',
      'request_route {',
      '  if (method == "ACK") exit;',
      '  sl_send_reply("200", "OK");',
      '  exit;',
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(
    'kamailio',
    ['-f', join(dir, 'k.cfg'), '-P', join(dir, 'k.pid'), '-m', '64', '-M', '8', '-DD', '-E', '-w', dir],
    { stdio: 'ignore' },
  );
  try {
    await new Promise((r) => setTimeout(r, 1000));
    if (child.exitCode !== null)
      throw new Error(`kamailio exited at start (${child.exitCode}): see its config in ${dir}`);
    // -DD keeps the main process in the foreground; its UDP worker is a child: count the whole group.
    let before = 0;
    let group = [child.pid];
    try {
      group = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .concat(child.pid);
    } catch {
      // no children: count the main process alone
    }
    for (const pid of group) before += cpuTicks(pid);
    const result = await load(port, mode);
    let after = 0;
    for (const pid of group) after += cpuTicks(pid);
    const wall = (DURATION_MS + 1000) / 1000;
    return { ...result, cpuPercent: ((after - before) / CLOCK_TICKS / wall) * 100, bytesPerTransaction: 0 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function sipTransactionsBench() {
  const rows = [];
  const notes = [
    `Loopback UDP, 4 MiB socket buffers on every socket, window of 200 transactions outstanding, ${DURATION_MS / 1000} s measured after 1 s warm-up.`,
    'Server CPU is the server process only (the generator runs in its own process); memory is heap growth per live transaction (completed non-INVITE transactions live for Timer J = 32 s).',
  ];
  const modes = [
    ['options', 'OPTIONS -> 200 (non-INVITE transactions)'],
    ['call', 'INVITE-200-ACK-BYE (call setups)'],
  ];
  const results = {};
  for (const [mode, label] of modes) {
    const r = await ours(5190, mode);
    results[`ours-${mode}`] = r;
    rows.push([
      'switchyard (stateful UAS)',
      label,
      r.perSecond,
      r.retransmissions,
      r.timeouts,
      r.p50ms,
      r.p99ms,
      r.cpuPercent,
      Math.round(r.bytesPerTransaction),
      '',
    ]);
  }
  if (haveKamailio()) {
    for (const [mode, label] of modes) {
      const k = await kamailio(5191, mode);
      const ourRate = results[`ours-${mode}`].perSecond;
      rows.push([
        'kamailio 1 worker (stateless sl)',
        label,
        k.perSecond,
        k.retransmissions,
        k.timeouts,
        k.p50ms,
        k.p99ms,
        k.cpuPercent,
        '-',
        '',
      ]);
      rows.at(-1)[9] = `ours/kamailio = ${(ourRate / k.perSecond).toFixed(2)}`;
    }
  } else {
    notes.push('kamailio is not installed: apt-get install kamailio to measure the peer in the same run.');
  }
  return {
    title: 'SIP transactions over loopback UDP',
    columns: [
      'server',
      'load',
      'per second',
      'retransmits',
      'timeouts',
      'p50 ms',
      'p99 ms',
      'server CPU %',
      'bytes/live tx',
      'ratio',
    ],
    rows,
    notes,
  };
}
