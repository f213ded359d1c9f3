// Transactions per second over loopback UDP (issue 3): OPTIONS answered 200 by a stateful UAS on our stack, and
// INVITE-200-ACK-BYE call setups, with the load generator and each server in separate processes. Where kamailio is
// installed (scripts/install-bench-deps.sh), a minimal one-worker stateless Kamailio takes the same load in the same
// run, and our rate is given as a ratio to it.
//
// Both servers are measured the same way: an open-loop generator (bench/lib/sip-load.mjs) offers rising rates and
// the figure is the highest rate at which every transaction completed with no retransmission either way, with the
// server's CPU over that step (SIP_BENCH_PIN=1 pins each server to one core). It runs twice: with the kernel's
// default UDP socket buffers, and with a 4 MiB receive buffer asked for on the server's and the generator's sockets
// (Kamailio's maxbuffer only sizes the receive buffer, so ours does the same). What the kernel really gave the
// servers is read back with `ss` and printed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const STEP_MS = Number(process.env.SIP_BENCH_MS ?? 2500);
const CLOCK_TICKS = 100; // USER_HZ for /proc/<pid>/stat
// SIP_BENCH_MODES=options,call and SIP_BENCH_BUFFERS=default,4MiB select parts of the table.
const MODES = (process.env.SIP_BENCH_MODES ?? 'options,call').split(',');
const BUFFER_SET = (process.env.SIP_BENCH_BUFFERS ?? 'default,4MiB').split(',');
// SIP_BENCH_FLOOR=0 leaves out the node:dgram echo row (bench/servers/dgram-echo.mjs).
const ECHO = process.env.SIP_BENCH_FLOOR !== '0';
const BUFFERS = [
  ['default', 0],
  ['4 MiB', 4 * 1024 * 1024],
].filter(([label]) => BUFFER_SET.includes(label.replace(' ', '')));

function have(cmd, args = ['--version']) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Pinning (SIP_BENCH_PIN=1) holds each server to one core; on a machine shared with other work it also holds the
// server on a busy core, so it is off by default and the server CPU % column shows the one-core budget instead.
const PIN = process.env.SIP_BENCH_PIN === '1' && cpus().length >= 2 && have('taskset', ['-c', '0', 'true']);
/** A command pinned to one CPU when pinning is possible. */
function pinned(cpu, cmd, args) {
  return PIN ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/** utime + stime of a process (all its threads) in clock ticks; 0 once it is gone. */
function cpuTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The receive and send buffer sizes the kernel holds for the UDP socket on `port` (ss skmem rb/tb). */
function socketBuffers(port) {
  try {
    const out = execFileSync('ss', ['-uamnH', `sport = :${port}`], { encoding: 'utf8' });
    const rb = /rb(\d+)/.exec(out)?.[1];
    const tb = /tb(\d+)/.exec(out)?.[1];
    return rb ? `rb ${Math.round(Number(rb) / 1024)} KiB, tb ${Math.round(Number(tb) / 1024)} KiB` : '?';
  } catch {
    return '?';
  }
}

/**
 * Runs the generator's rate search against `port`, sampling `pids`' CPU between each step's start and end.
 * Resolves with every step and the best passing one (with the server CPU % during it).
 */
function search(port, mode, bufferBytes, pids) {
  return new Promise((resolve, reject) => {
    const options = { port, mode, bufferBytes, stepMs: STEP_MS, drainMs: 3000 };
    if (mode === 'call') options.start = 2000;
    // The generator is not pinned: on a shared machine a pinned generator stalls whenever its core is busy.
    const child = spawn(process.execPath, [join(here, 'lib/sip-load.mjs'), JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const steps = [];
    let done;
    let ticks0 = 0;
    let wall0 = 0;
    let sample;
    let buffered = '';
    const total = () => pids().reduce((sum, p) => sum + cpuTicks(p), 0);
    child.stdout.on('data', (d) => {
      buffered += d;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const e = JSON.parse(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
        if (e.event === 'begin') {
          ticks0 = total();
          wall0 = performance.now();
        } else if (e.event === 'sent') {
          sample = ((total() - ticks0) / CLOCK_TICKS / ((performance.now() - wall0) / 1000)) * 100;
        } else if (e.event === 'step') {
          e.serverCpuPercent = sample;
          steps.push(e);
        } else if (e.event === 'done') done = e;
      }
    });
    child.on('close', (code) => {
      if (code !== 0 || done === undefined) return reject(new Error(`load generator exited with ${code}`));
      const best = done.best && steps.find((s) => s.rate === done.best.rate && s.pass);
      resolve({ steps, best, firstFail: done.firstFail ?? undefined, stealReruns: done.stealReruns ?? 0 });
    });
  });
}

function ask(child, what) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(what);
  });
}

/**
 * V8 heap flags the Node servers run with, as the daemon does (packages/daemon/bin/switchyard.js): a fixed 32 MiB
 * young generation scavenges ~7x less often than the default one that starts at 1 MiB, a single-threaded
 * scavenge does not wait for a GC helper thread that lost its core (with few survivors the helper buys nothing),
 * and a 64 MiB floor under the old generation's limit skips the full collections V8 otherwise starts every 1-3 s
 * on a heap of ~8 MiB (each a 3-8 ms pause).
 * SIP_BENCH_NODE_FLAGS (space-separated, '' for none) replaces them, to compare.
 */
const NODE_SERVER_FLAGS = (
  process.env.SIP_BENCH_NODE_FLAGS ??
  '--min-semi-space-size=32 --max-semi-space-size=32 --no-parallel-scavenge --initial-old-space-size=64'
)
  .split(' ')
  .filter(Boolean);

/** A Node server from bench/servers (stateful-uas.mjs, dgram-echo.mjs) under the generator's rate search. */
async function ours(port, mode, bufferBytes, script = 'stateful-uas.mjs') {
  const [cmd, args] = pinned(1, process.execPath, [
    '--expose-gc',
    ...NODE_SERVER_FLAGS,
    join(here, 'servers', script),
    String(port),
    String(bufferBytes),
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  try {
    const buffers = socketBuffers(port);
    const base = await ask(child, 'baseline');
    const result = await search(port, mode, bufferBytes, () => [child.pid]);
    const stats = await ask(child, 'stats');
    // Shared buffers (the completed-responses store's chunks) count in arrayBuffers only, plain ones in both.
    const held = (m) => m.heapUsed + Math.max(m.external, m.arrayBuffers ?? 0);
    const grown = held(stats) - held(base);
    return {
      ...result,
      buffers,
      bytesPerTransaction: stats.liveTransactions > 0 ? grown / stats.liveTransactions : 0,
      liveTransactions: stats.liveTransactions,
    };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('stop');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    child.kill();
  }
}

function kamailioModules() {
  return ['/usr/lib/x86_64-linux-gnu/kamailio/modules/', '/usr/lib/kamailio/modules/'].find((p) => {
    try {
      readFileSync(join(p, 'sl.so'));
      return true;
    } catch {
      return false;
    }
  });
}

async function kamailio(port, mode, bufferBytes) {
  const dir = mkdtempSync(join(tmpdir(), 'kam-bench-'));
  writeFileSync(
    join(dir, 'k.cfg'),
    [
      '#!KAMAILIO',
      'debug=0',
      'log_stderror=yes',
      'children=1',
      `listen=udp:127.0.0.1:${port}`,
      'disable_tcp=yes',
      // maxbuffer caps Kamailio's probing of SO_RCVBUF at start; a tiny cap leaves the kernel default.
      `maxbuffer=${bufferBytes > 0 ? bufferBytes : 1}`,
      `mpath="${kamailioModules()}"`,
      'loadmodule "sl.so"',
      'request_route {',
      '  if (method == "ACK") exit;',
      '  sl_send_reply("200", "OK");',
      '  exit;',
      '}',
      '',
    ].join('\n'),
  );
  const [cmd, args] = pinned(1, 'kamailio', [
    '-f',
    join(dir, 'k.cfg'),
    '-P',
    join(dir, 'k.pid'),
    '-m',
    '64',
    '-M',
    '8',
    '-DD',
    '-E',
    '-w',
    dir,
  ]);
  const child = spawn(cmd, args, { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    if (child.exitCode !== null)
      throw new Error(`kamailio exited at start (${child.exitCode}): see its config in ${dir}`);
    // -DD keeps the main process in the foreground; its UDP worker is a child: count the whole group.
    const pids = () => [child.pid, ...childrenOf(child.pid)];
    const buffers = socketBuffers(port);
    const result = await search(port, mode, bufferBytes, pids);
    return { ...result, buffers, bytesPerTransaction: undefined };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

function failure(s, best, stealReruns) {
  const reruns = stealReruns ? `; ${stealReruns} failed step(s) re-run, CPU stolen` : '';
  if (!s) return (best?.generatorBound ? `none: generator-bound at ${Math.round(best.perSecond)}/s` : 'none') + reruns;
  const what = [];
  if (s.retransmissions) what.push(`${s.retransmissions} retransmitted`);
  if (s.dupResponses) what.push(`${s.dupResponses} answered twice`);
  if (s.failures) what.push(`${s.failures} failed`);
  if (s.unanswered) what.push(`${s.unanswered} unanswered`);
  if (s.generatorBound) what.push(`generator reached ${Math.round(s.perSecond)}/s`);
  // where the datagrams were lost (bench/lib/sip-load.mjs reads the kernel's per-socket drop counts)
  if (s.serverDrops) what.push(`${s.serverDrops} dropped at the server's socket`);
  if (s.generatorDrops) what.push(`${s.generatorDrops} dropped at the generator's`);
  if (s.stolenMs) what.push(`${s.stolenMs} ms CPU stolen`);
  return `${Math.round(s.rate)}/s: ${what.join(', ')}${reruns}`;
}

export default async function sipTransactionsBench() {
  const rows = [];
  const kam = have('kamailio', ['-v']) && kamailioModules() !== undefined;
  const modes = [
    ['options', 'OPTIONS -> 200'],
    ['call', 'INVITE-200-ACK-BYE'],
  ].filter(([mode]) => MODES.includes(mode));
  let port = 5190;
  for (const [bufLabel, bufferBytes] of BUFFERS) {
    for (const [mode, label] of modes) {
      const r = await ours(port++, mode, bufferBytes);
      const best = r.best;
      const row = (server, x, bytes) => [
        server,
        label,
        bufLabel,
        x.buffers,
        x.best ? Math.round(x.best.perSecond) : 0,
        x.best ? x.best.retransmissions + x.best.dupResponses : '-',
        x.best ? x.best.p99ms : '-',
        x.best ? x.best.serverCpuPercent : '-',
        bytes,
        failure(x.firstFail, x.best, x.stealReruns),
        '',
      ];
      rows.push(row('switchyard (stateful UAS)', r, Math.round(r.bytesPerTransaction)));
      if (ECHO) {
        const e = await ours(port++, mode, bufferBytes, 'dgram-echo.mjs');
        rows.push(row('node:dgram echo floor (no SIP)', e, '-'));
        const ratio = best && e.best ? best.perSecond / e.best.perSecond : 0;
        rows.at(-1)[10] = `ours/floor = ${ratio.toFixed(2)}`;
      }
      if (kam) {
        const k = await kamailio(port++, mode, bufferBytes);
        rows.push(row('kamailio 1 worker (stateless sl)', k, '-'));
        const ratio = best && k.best ? best.perSecond / k.best.perSecond : 0;
        rows.at(-1)[10] = `ours/kamailio = ${ratio.toFixed(2)}`;
      }
    }
  }
  const notes = [
    `Open-loop rate steps of ${STEP_MS / 1000} s (after a 2 s warm-up at 2,000/s), rising by 1.25x until one fails twice in a row, then two bisection steps (each also given a second run when it fails; a failed step during which the hypervisor took CPU time from this virtual machine, the steal column of /proc/stat, is run again without counting, up to twice per rate, for both servers alike); "per second" is the highest rate that passed: every transaction completed, nothing retransmitted by the generator (timers A/E at T1 = 500 ms) nor answered twice by the server. A call is one unit (INVITE, ACK, BYE).`,
    "Stolen CPU: on a virtual machine the host can take a vCPU away for 10-40 ms; a server on it reads nothing meanwhile, and at default buffers (~200 datagrams) its socket overflows whatever the server does. Each failure names where datagrams were lost (the kernel's drop count of the server's and the generator's socket) and the CPU time stolen during the step.",
    `Buffers: "default" leaves the kernel's (net.core.rmem_default/wmem_default), "4 MiB" asks for a 4 MiB SO_RCVBUF on the server's and the generator's sockets (the kernel doubles it, capped by rmem_max); the rb/tb column is what ss reports for the server's socket.`,
    PIN
      ? 'Each server runs pinned to CPU 1 (taskset; all its threads, GC included); the generator is not pinned. Server CPU % is over the passing step (100 = one core).'
      : 'Not pinned (SIP_BENCH_PIN=1 pins each server to CPU 1): server CPU % is over the passing step, all threads (GC included), 100 = one core.',
    'The node:dgram echo floor (bench/servers/dgram-echo.mjs) answers each request with "SIP/2.0 200 OK" and the request\'s own header lines: no parsing, no state. It is the ceiling of any Node server on this machine through node:dgram (one recvmsg and one sendmsg per datagram).',
    `Both Node servers run with ${NODE_SERVER_FLAGS.join(' ') || 'no V8 flags'} (SIP_BENCH_NODE_FLAGS), the daemon's own start flags: with the default young generation, scavenges came every 40-100 ms at 12,500 OPTIONS/s and parallel ones paused ~1.1 ms (p50) with 5-14 ms outliers on a shared 2-core machine; with these, ~7x fewer scavenges of ~0.5-1 ms (p50), about a tenth of the total scavenge pause, and no full (mark-compact) collection in a 20 s run instead of 6-9 pauses of 3-8 ms. Any pause longer than the socket buffer holds (default buffers: 10-20 ms) loses datagrams.`,
    'Memory is the growth of heap + buffers (external or arrayBuffers, the larger) per live server transaction at the end of the run (a completed non-INVITE transaction lives 64*T1 = 32 s, Timer J).',
  ];
  if (!kam) notes.push('kamailio is not installed: bash scripts/install-bench-deps.sh installs it for the comparison.');
  return {
    title: 'SIP transactions over loopback UDP',
    columns: [
      'server',
      'load',
      'buffers',
      'server socket',
      'per second',
      'retransmits',
      'p99 ms',
      'server CPU %',
      'bytes/live tx',
      'first failing step',
      'ratio',
    ],
    rows,
    notes,
  };
}
