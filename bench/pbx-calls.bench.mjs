// Calls through the daemon (issue 5): the load generator (bench/lib/pbx-call-load.mjs, its own process, built on
// sip-stack) starts `switchyard start --config` with generated extensions, registers them with digest auth, then
// steps the call rate up (each call authenticated, rung, answered, G.711 RTP both ways for a hold time, BYE) and
// the number of calls held at once, counting RTP packets sent vs received per call.
// Options after the bench name: --quick, --rates=50,100 --step-ms=N --hold-ms=N --levels=100,500 --level-hold-ms=N
// --ramp-rate=N --rtp-workers=N --data-dir=DIR (where the daemon's SQLite file goes, e.g. /dev/shm)
// --rtp-generator=c|js (the phones' RTP from bench/c/rtp_phones.c, the default when gcc builds it, or from a JS worker),
// --daemon-node-args='--cpu-prof --cpu-prof-dir=/tmp/prof' (Node flags for the daemon, space-separated: to profile it),
// as in `npm run bench -- pbx-calls --quick`. `--rates=` (empty) runs the concurrency steps alone.
// PBX_BENCH_QUICK=1 is --quick.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function argument(name) {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const list = (v) =>
  v
    ?.split(',')
    .filter((x) => x !== '')
    .map(Number);
const num = (v) => (v === undefined ? undefined : Number(v));

export function loadOptions(argv = process.argv) {
  const quick = argv.includes('--quick') || process.env.PBX_BENCH_QUICK === '1';
  const base = quick
    ? { rates: [50, 100, 200, 300], stepMs: 2000, holdMs: 1000, levels: [100, 300], levelHoldMs: 3000 }
    : { rates: [50, 100, 200, 300, 400, 500], stepMs: 5000, holdMs: 1000, levels: [100, 250, 500, 750, 1000] };
  const given = {
    rates: list(argument('rates')),
    stepMs: num(argument('step-ms')),
    holdMs: num(argument('hold-ms')),
    levels: list(argument('levels')),
    levelHoldMs: num(argument('level-hold-ms')),
    rampRate: num(argument('ramp-rate')),
    rtpWorkers: num(argument('rtp-workers')),
    dataDir: argument('data-dir'),
    rtpGenerator: argument('rtp-generator'),
    daemonNodeArgs: argument('daemon-node-args')
      ?.split(' ')
      .filter((x) => x !== ''),
  };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) base[k] = v;
  return base;
}

function runGenerator(options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'lib/pbx-call-load.mjs'), JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('close', (code) => {
      try {
        const result = JSON.parse(out);
        if (code !== 0 || result.error)
          throw new Error(`load generator failed (${code}): ${result.error}\n${result.daemonLogTail ?? ''}`);
        resolve(result);
      } catch (err) {
        reject(err);
      }
    });
  });
}

const pct = (x) => x * 100;
/** The generator's event-loop delay: when it is late, SIP goes out in bursts and latencies include its lag. */
const loop = (s) =>
  s.generatorLoopDelayMaxms === undefined
    ? '-'
    : `${Math.round(s.generatorLoopDelayP99ms)}/${Math.round(s.generatorLoopDelayMaxms)}`;
/** Datagrams the kernel dropped for want of receive buffer: daemon SIP socket / daemon RTP ports / phones. */
const drops = (s) => (s.udpDrops ? `${s.udpDrops.daemonSip}/${s.udpDrops.daemonRtp}/${s.udpDrops.phones}` : '-');
/** Failures with their final statuses, e.g. `31 (408 x 31)`. */
const failures = (s) =>
  s.failed === 0
    ? 0
    : `${s.failed} (${Object.entries(s.statuses)
        .map(([status, n]) => `${status} x ${n}`)
        .join(', ')})`;
const media = (s) => (s.anchored > 0 && s.direct === 0 ? 'anchored' : s.anchored > 0 ? 'mixed' : 'direct');

export default async function pbxCallsBench() {
  const options = loadOptions();
  const r = await runGenerator(options);
  const allCalls = r.anchored + r.direct;
  const anchored =
    r.anchored === 0
      ? `no: the daemon passes SDP through, RTP goes phone to phone (${allCalls} calls)`
      : r.direct === 0
        ? `yes: every answer named the daemon's media address (${allCalls} calls)`
        : `partly: ${r.anchored} of ${allCalls} calls anchored`;

  const rateRows = r.rateSteps.map((s) => [
    s.rate,
    s.attempted,
    failures(s),
    s.p50ms,
    s.p95ms,
    s.p99ms,
    pct(s.rtpLoss),
    s.rtpLostAtStart,
    s.daemonCpuPercent,
    s.daemonCpuMsPerCall,
    s.daemonMainCpuMsPerCall,
    s.calleeByeWaitMaxms,
    drops(s),
    s.generatorCpuPercent,
    loop(s),
    media(s),
  ]);
  // Memory per call as the growth from one level to the next: garbage of earlier steps does not skew it.
  const marginalRss = (i) => {
    const s = r.levelSteps[i];
    const prev = r.levelSteps[i - 1];
    if (!prev) return s.daemonRssKiBPerCall;
    return s.held > prev.held ? ((s.daemonRssMiB - prev.daemonRssMiB) * 1024) / (s.held - prev.held) : 0;
  };
  const levelRows = r.levelSteps.map((s, i) => [
    s.level,
    s.held,
    failures(s),
    pct(s.rtpLoss),
    s.rtpLostAtStart,
    s.rtpGaps ?? '-',
    pct(s.worstCallLoss),
    s.rtpLate,
    drops(s),
    s.daemonCpuPercent,
    s.daemonMainCpuPercent,
    s.daemonCpuPercentPerCall,
    s.daemonRssMiB,
    marginalRss(i),
    s.generatorCpuPercent,
    loop(s),
    media(s),
  ]);
  // Per-call figures from the best clean step, else from the first step (named in the row).
  const best = r.rateSteps.find((s) => s.rate === r.bestRate);
  const perCall = best ?? r.rateSteps[0];
  const at = perCall ? (perCall === best ? '' : ` (at ${perCall.rate}/s, which failed)`) : '';
  const cleanLevel = r.levelSteps.filter((s) => s.failed === 0 && s.rtpLoss < 0.001).at(-1);
  const level = cleanLevel ?? r.levelSteps[0];
  const atLevel = level ? (level === cleanLevel ? '' : ` (at ${level.level} calls, which failed)`) : '';
  const summaryRows = [
    ['calls per second without a failure', r.bestRate, '>= 300 (with media)'],
    ['most concurrent calls, RTP loss < 0.1 %', r.bestConcurrent, '>= 1,000 (G.711, relayed)'],
    [
      `setup latency p50 / p95 / p99 ms${at}`,
      perCall ? `${fmt(perCall.p50ms)} / ${fmt(perCall.p95ms)} / ${fmt(perCall.p99ms)}` : '-',
      '',
    ],
    [
      `daemon CPU ms per call, all threads / main thread${at}`,
      perCall ? `${fmt(perCall.daemonCpuMsPerCall)} / ${fmt(perCall.daemonMainCpuMsPerCall)}` : '-',
      '',
    ],
    [
      'set-ups per second the main thread could take alone (1000 / its ms per call)',
      perCall ? fmt(1000 / perCall.daemonMainCpuMsPerCall) : '-',
      '>= 300',
    ],
    [`daemon CPU % per held call${atLevel}`, level ? fmt(level.daemonCpuPercentPerCall) : '-', ''],
    [
      'held calls 2 cores could carry by that measure (200 % / CPU % per call)',
      level && level.daemonCpuPercentPerCall > 0 ? Math.round(200 / level.daemonCpuPercentPerCall) : '-',
      '>= 1,000',
    ],
    [`daemon RSS KiB per held call${atLevel}`, level ? fmt(marginalRss(r.levelSteps.indexOf(level))) : '-', ''],
    ['daemon CPU % idle with every phone registered', fmt(r.daemonIdleCpuPercent ?? 0), ''],
    ['registrations per second (digest)', fmt(r.registration.perSecond), ''],
    ['media anchored in the daemon', anchored, 'yes'],
    ["RTP generator (the phones' side)", rtpGeneratorName(r.rtpGenerator), ''],
  ];
  const generatorNote = `The phones' RTP (sent and counted) came from ${rtpGeneratorName(r.rtpGenerator)}; "generator CPU %" includes it.`;
  const setting = `Daemon data (SQLite) in ${r.dataDir}; ${r.users} extensions; rate steps of ${r.stepMs / 1000} s, each call held ${r.holdMs / 1000} s with G.711 RTP both ways (20 ms packets); concurrency ramps at ${r.rampRate} calls/s and holds ${r.levelHoldMs / 1000} s.`;
  return [
    {
      title: 'PBX calls through the daemon: summary',
      columns: ['measure', 'measured', 'goal (2 cores)'],
      rows: summaryRows,
      generator: r,
      notes: [
        ...(r.daemonLog ? [`Failures: the daemon's log is kept in ${r.daemonLog}; samples: ${failureSamples(r)}`] : []),
        setting,
        `Load average (1 min) at start / end: ${r.loadAverageAtStart[0].toFixed(1)} / ${(r.loadAverageAtEnd ?? r.loadAverageAtStart)[0].toFixed(1)} on ${r.cpus ?? 2} cores (other work on the machine skews every figure).`,
        'Daemon CPU is utime+stime from /proc/PID/stat (all threads) and /proc/PID/task/PID/stat (the main thread: SIP, PBX, SQLite); RSS is VmRSS. The generator runs on the same 2 cores (its CPU % is in the tables): rates and latencies are for the pair, while CPU per call is the daemon alone, so the capacity lines are what the daemon would do with the cores to itself (CPU time only: they leave out time the main thread waits, e.g. on fsync of each call record).',
      ],
    },
    {
      title:
        'PBX calls through the daemon: call rate steps (INVITE, 401, INVITE with credentials, 180, 200, ACK, RTP, BYE)',
      columns: [
        'calls/s',
        'calls',
        'failed',
        'setup p50 ms',
        'p95 ms',
        'p99 ms',
        'RTP loss %',
        'lost at start',
        'daemon CPU %',
        'daemon CPU ms/call',
        'main thread ms/call',
        'callee BYE wait max ms',
        'UDP drops SIP/RTP/phones',
        'generator CPU %',
        'gen loop delay p99/max ms',
        'media',
      ],
      rows: rateRows,
      notes: [
        generatorNote,
        'Setup latency: INVITE sent -> 200 received, the 401 challenge round trip included. The steps stop at the first one with a failure (a non-2xx final response, a timeout, a failed BYE, or a callee the PBX never sent BYE).',
        "UDP drops: datagrams the kernel dropped because a receive buffer was full (/proc/net/udp), on the daemon's SIP socket / its RTP ports / the phones' sockets; a dropped SIP message costs a retransmission (500 ms and up). RTP port drops are only counted while the sockets are open (the concurrency window).",
        '"lost at start": packets missing before the first one a phone received (the callee starts sending once it has the ACK; an anchoring PBX drops what arrives before it has bridged the legs). RTP loss % includes them.',
      ],
    },
    {
      title: 'PBX calls through the daemon: concurrent calls held',
      columns: [
        'calls',
        'held',
        'failed',
        'RTP loss %',
        'lost at start',
        'seq gaps',
        'worst call loss %',
        'late pkts (gen)',
        'UDP drops SIP/RTP/phones',
        'daemon CPU %',
        'main thread %',
        'CPU %/call',
        'daemon RSS MiB',
        'RSS KiB/call',
        'generator CPU %',
        'gen loop delay p99/max ms',
        'media',
      ],
      rows: levelRows,
      notes: [
        generatorNote,
        'CPU and RSS are measured over the window in which every call is up; RSS per call is the growth from the previous level (the first level: from before its ramp). Loss counts packets sent vs received per call, both ways; "seq gaps" counts RTP sequence numbers skipped between packets a phone received (the C generator counts them; - from the JS one); "late pkts" are packets the generator could not send on time (a sign the generator, not the daemon, is saturated).',
      ],
    },
  ];
}

function rtpGeneratorName(g) {
  return g === 'c'
    ? 'C (bench/c/rtp_phones.c: sendmmsg/recvmmsg, epoll)'
    : 'JS (a worker thread, bench/lib/pbx-rtp-worker.mjs; gcc missing or --rtp-generator=js)';
}

function failureSamples(r) {
  return [...r.rateSteps, ...r.levelSteps]
    .flatMap((s) => s.failureSamples ?? [])
    .slice(0, 5)
    .join('; ');
}

function fmt(v) {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}
