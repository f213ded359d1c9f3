// A PBX call load generator, run as its own process: node bench/lib/pbx-call-load.mjs '<json options>'.
// It starts the real daemon (`switchyard start --config`) with N generated extensions on loopback and a temp data
// directory, registers N phones with digest auth (sip-stack UserAgent + RegistrationClient, one UDP transport per
// phone, each phone on its own 127.x.y.z address as real phones come from their own addresses), then:
//   1. rate steps: places calls between the phones through the daemon at a set rate for a while; each call is
//      challenged (401) and re-sent with credentials, the callee rings and auto-answers, both sides send and receive
//      G.711 RTP (20 ms packets) for a hold time, then the caller hangs up with BYE. The rate steps up until a step
//      has a failure.
//   2. concurrency steps: ramps up to a number of calls held at once, holds them all, and counts RTP loss.
// It measures the daemon's CPU (utime + stime from /proc/PID/stat) and memory (VmRSS), setup latency (INVITE sent
// -> 200 received, the 401 round trip included) and RTP packets sent vs received per call, and prints one JSON line.
// Lean on purpose, as it shares the machine with the daemon: RTP runs in a C process (bench/c/rtp_phones.c, built with
// gcc; sendmmsg/recvmmsg, a few us per packet) or, without gcc or with rtpGenerator 'js', in a worker thread
// (pbx-rtp-worker.mjs, ~10 us per packet: it runs out of core before the daemon does at ~500 calls). Either way one
// socket per phone bound once, one preallocated packet per phone rewritten in place, and one 5 ms tick that sends
// every due packet of every call; SIP stays on the main thread so RTP never delays the set-ups being timed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ulawEncode } from '@switchyard/media';
import { parseSdp, SipTransportLayer, UserAgent } from '@switchyard/sip-stack';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'packages', 'daemon', 'bin', 'switchyard.js');
const opts = JSON.parse(process.argv[2] ?? '{}');
const rates = opts.rates ?? [50, 100, 200, 300, 400];
const stepMs = opts.stepMs ?? 5000;
const holdMs = opts.holdMs ?? 2000;
const levels = opts.levels ?? [100, 250, 500, 1000];
const levelHoldMs = opts.levelHoldMs ?? 10_000;
/** Calls per second while ramping up to a concurrency level: given, or the best clean rate (50 to 200). */
let rampRate = opts.rampRate;
const lossLimit = opts.lossLimit ?? 0.001;
/** Media stops this long before the BYE, so packets still in flight are counted as received. */
const graceMs = opts.graceMs ?? 100;
/** Quiet time between steps, so one step's stragglers do not land in the next. */
const pauseMs = opts.pauseMs ?? 1000;
/** Time allowed after the last call of a ramp is placed for the set-ups to finish before the hold window. */
const setupMarginMs = opts.setupMarginMs ?? 1000;
/** How long the idle daemon is measured before the steps. */
const idleMs = opts.idleMs ?? 2000;
/** How long a callee may wait for the PBX's BYE after the caller's BYE completed (longer is a failure). */
const calleeByeMs = opts.calleeByeMs ?? 10_000;
/** RTP worker threads in the generator (the SIP side stays on the main thread). */
const rtpWorkers = opts.rtpWorkers ?? 1;
/** Who sends and counts the phones' RTP: 'c' (bench/c/rtp_phones.c, built with gcc) or 'js' (worker threads).
 * Unset: C when gcc builds it, else JS. */
const rtpGeneratorWanted = opts.rtpGenerator;
const CLOCK_TICKS = 100; // USER_HZ for /proc/<pid>/stat
const PAGE = 4096;
// Enough phones for the busiest step: a phone is in one call at a time, as caller or callee.
const users =
  opts.users ??
  2 * Math.max(Math.max(0, ...levels) + 10, Math.ceil(Math.max(0, ...rates) * ((holdMs + graceMs) / 1000 + 1.5)));

/** The generator's own event loop delay: a late loop sends its SIP in bursts and skews the latencies it measures. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t00 = performance.now();
const log = (msg) => process.stderr.write(`[pbx-load ${((performance.now() - t00) / 1000).toFixed(1)} s] ${msg}\n`);

// ---- the daemon ---------------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'switchyard-load-'));
const configFile = join(dir, 'pbx.json');
const rtpPortMin = opts.rtpPortMin ?? 20000;
const rtpPortMax = opts.rtpPortMax ?? 29999;
// The SQLite file (fsync per call record and registration) goes under the temp dir, or `dataDir` (e.g. /dev/shm to
// see what the disk costs).
const dataDir = opts.dataDir ? mkdtempSync(join(opts.dataDir, 'switchyard-load-data-')) : join(dir, 'data');
const logFile = opts.logFile ?? join(dir, 'daemon.log');
const extensions = [];
for (let i = 0; i < users; i++)
  extensions.push({ number: String(100000 + i), name: `Load ${i}`, password: `pw-${i}-${(i * 7919) % 10007}` });
writeFileSync(
  configFile,
  JSON.stringify({
    sip: { listen: ['udp://127.0.0.1:0'], domain: 'load.switchyard.test' },
    admin: { socket: join(dir, 'admin.sock') },
    // Below the ephemeral range the phones' sockets come from, and away from the default 10000-20000 of other runs.
    media: { address: '127.0.0.1', rtpPorts: { min: rtpPortMin, max: rtpPortMax } },
    data: dataDir,
    extensions,
  }),
);

function readLog() {
  try {
    return readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
}

async function startDaemon() {
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'w'); // truncated: a stale 'listening' line must not be taken for this daemon's
  // The daemon logs one JSON line per call event: to a file, so the generator spends nothing reading it.
  // `daemonNodeArgs`: Node flags for the daemon, e.g. ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] to see where it spends.
  const child = spawn(process.execPath, [...(opts.daemonNodeArgs ?? []), cli, 'start', '--config', configFile], {
    stdio: ['ignore', out, out],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}: ${readLog().slice(-2000)}`);
    const text = readLog();
    if (text.includes('admin socket listening')) {
      const m = /"msg":"sip listening"[^\n]*"listen":"udp:\/\/127\.0\.0\.1:(\d+)"/.exec(text);
      if (!m) throw new Error(`no UDP listener in the daemon log: ${text.slice(-2000)}`);
      return { child, port: Number(m[1]) };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`daemon did not start in 30 s: ${readLog().slice(-2000)}`);
}

/** utime + stime in seconds of a /proc stat line, and its RSS in bytes. */
function statOf(path) {
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return { cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, rss: Number(fields[21]) * PAGE };
}

/**
 * CPU seconds of a process (all threads) and of its main thread alone (the task whose id is the pid: signalling,
 * PBX logic, storage), and VmRSS in bytes. The rest is media workers, GC and I/O threads.
 */
function usage(pid) {
  try {
    const all = statOf(`/proc/${pid}/stat`);
    return { cpu: all.cpu, main: statOf(`/proc/${pid}/task/${pid}/stat`).cpu, rss: all.rss };
  } catch {
    return { cpu: 0, main: 0, rss: 0 };
  }
}

/**
 * Datagrams the kernel dropped (receive buffer full) per socket group, from /proc/net/udp: the daemon's SIP socket,
 * its RTP ports, and the phones' sockets (127.20.x.x). The counters live as long as the sockets.
 */
function udpDrops(sipPort) {
  const out = { daemonSip: 0, daemonRtp: 0, phones: 0 };
  let text = '';
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const [hexAddr, hexPort] = f[1].split(':');
    const addr = Number.parseInt(hexAddr, 16); // host byte order: the first octet is the low byte
    const port = Number.parseInt(hexPort, 16);
    const drops = Number(f[f.length - 1]) || 0;
    const a = addr & 0xff;
    const b = (addr >>> 8) & 0xff;
    if (a === 127 && b === 20) out.phones += drops;
    else if (a === 127 && b === 0 && port === sipPort) out.daemonSip += drops;
    else if (a === 127 && b === 0 && port >= rtpPortMin && port <= rtpPortMax) out.daemonRtp += drops;
  }
  return out;
}

function dropsSince(before, sipPort) {
  const now = udpDrops(sipPort);
  return {
    daemonSip: now.daemonSip - before.daemonSip,
    daemonRtp: Math.max(0, now.daemonRtp - before.daemonRtp),
    phones: Math.max(0, now.phones - before.phones),
  };
}

// ---- phones -------------------------------------------------------------------------------------------------------

function sdpFor(ip, port, id) {
  return (
    `v=0\r\no=- ${id} 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n`
  );
}

/** Where the peer wants our RTP: the first audio stream of an SDP body. */
function mediaTarget(body) {
  const sdp = parseSdp(body);
  const audio = sdp.media.find((m) => m.type === 'audio' && m.port > 0);
  const address = audio?.connection?.address ?? sdp.connection?.address;
  if (!audio || !address) throw new Error('no audio stream in the SDP');
  return { address, port: audio.port };
}

/** The RTP sides of all phones, spread over worker threads (bench/lib/pbx-rtp-worker.mjs). */
class RtpPool {
  constructor(count) {
    this.workers = [];
    this.waiting = new Map();
    this.next = 0;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(join(here, 'pbx-rtp-worker.mjs'));
      worker.on('message', (m) => {
        if (m.op !== 'counts') return;
        this.waiting.get(m.req)?.(m);
        this.waiting.delete(m.req);
      });
      this.workers.push(worker);
    }
  }

  worker(phone) {
    return this.workers[phone.index % this.workers.length];
  }

  /** Binds one socket per phone on the phone's address; sets `rtpPort`. */
  async bind(phones) {
    await Promise.all(
      this.workers.map(async (worker, w) => {
        const mine = phones.filter((p) => p.index % this.workers.length === w);
        const bound = new Promise((resolve) => worker.once('message', resolve));
        worker.postMessage({
          op: 'bind',
          sides: mine.map((p) => ({
            id: p.index,
            ip: p.ip,
            hz: p.index % 2 === 0 ? 1000 : 400,
            peerHz: p.index % 2 === 0 ? 400 : 1000,
            ssrc: (p.index * 2654435761) ^ 0x5a5a5a5a,
          })),
        });
        const { ports } = await bound;
        mine.forEach((p, i) => {
          p.rtpPort = ports[i];
        });
      }),
    );
  }

  reset(phone) {
    this.worker(phone).postMessage({ op: 'reset', id: phone.index });
  }

  begin(phone, target) {
    this.worker(phone).postMessage({ op: 'begin', id: phone.index, address: target.address, port: target.port });
  }

  stop(phone) {
    this.worker(phone).postMessage({ op: 'stop', id: phone.index });
  }

  /** Stops sending, waits `graceMs` for packets in flight, resolves with the side's counts. */
  finish(phone) {
    const req = ++this.next;
    return new Promise((resolve) => {
      this.waiting.set(req, resolve);
      this.worker(phone).postMessage({ op: 'finish', req, id: phone.index, graceMs });
    });
  }

  close() {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** 20 ms of a sine at `hz` (a whole number of periods in 160 samples for 400 Hz or 1 kHz), mu-law encoded. */
function tone(hz) {
  const pcm = new Int16Array(160);
  for (let i = 0; i < 160; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return Buffer.from(ulawEncode(pcm));
}

/** bench/c/rtp_phones.c built into a temp dir; undefined without gcc (or when it does not build). */
function buildRtpPhones() {
  if (spawnSync('gcc', ['--version']).status !== 0) return undefined;
  const exe = join(mkdtempSync(join(tmpdir(), 'rtp-phones-')), 'rtp_phones');
  try {
    execFileSync('gcc', ['-O2', '-o', exe, join(here, '..', 'c', 'rtp_phones.c')], { stdio: 'ignore' });
    return exe;
  } catch {
    return undefined;
  }
}

/** The same sides in one C process (bench/c/rtp_phones.c): sendmmsg/recvmmsg at a fraction of Node's cost per packet. */
class CRtpPool {
  constructor(exe) {
    this.exe = exe;
    this.child = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiting = new Map();
    this.bound = new Map();
    this.next = 0;
    this.exited = new Promise((r) => this.child.once('exit', r));
    let rest = '';
    this.child.stdout.setEncoding('latin1');
    this.child.stdout.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const f = line.split(' ');
        if (f[0] === 'P') this.bound.get(Number(f[1]))?.(Number(f[2]));
        else if (f[0] === 'C') {
          const req = Number(f[1]);
          const [sent, received, late, stray, firstIndex, gaps] = f.slice(2).map(Number);
          this.waiting.get(req)?.({ sent, received, late, stray, firstIndex, gaps });
          this.waiting.delete(req);
        }
      }
    });
  }

  send(line) {
    this.child.stdin.write(`${line}\n`);
  }

  async bind(phones) {
    const hex = new Map([1000, 400].map((hz) => [hz, tone(hz).toString('hex')]));
    await Promise.all(
      phones.map(
        (p) =>
          new Promise((resolve) => {
            this.bound.set(p.index, (port) => {
              p.rtpPort = port;
              this.bound.delete(p.index);
              resolve();
            });
            const hz = p.index % 2 === 0 ? 1000 : 400;
            const peerHz = p.index % 2 === 0 ? 400 : 1000;
            const ssrc = ((p.index * 2654435761) ^ 0x5a5a5a5a) >>> 0;
            this.send(`B ${p.index} ${p.ip} ${ssrc} ${hex.get(hz)} ${hex.get(peerHz).slice(0, 8)}`);
          }),
      ),
    );
  }

  reset(phone) {
    this.send(`R ${phone.index}`);
  }

  begin(phone, target) {
    this.send(`G ${phone.index} ${target.address} ${target.port}`);
  }

  stop(phone) {
    this.send(`S ${phone.index}`);
  }

  finish(phone) {
    const req = ++this.next;
    return new Promise((resolve) => {
      this.waiting.set(req, resolve);
      this.send(`F ${req} ${phone.index} ${graceMs}`);
    });
  }

  async close() {
    this.send('Q');
    this.child.stdin.end();
    await Promise.race([this.exited, sleep(2000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    rmSync(dirname(this.exe), { recursive: true, force: true });
  }
}

const rtpPhones = rtpGeneratorWanted === 'js' ? undefined : buildRtpPhones();
/** Which RTP generator runs, for the tables. */
const rtpGenerator = rtpPhones ? 'c' : 'js';
const rtp = rtpPhones ? new CRtpPool(rtpPhones) : new RtpPool(rtpWorkers);

class Phone {
  constructor(index) {
    this.index = index;
    this.number = extensions[index].number;
    this.password = extensions[index].password;
    this.ip = `127.20.${index >> 7}.${(index & 127) + 1}`;
    this.busy = false;
  }

  async open(sipPort) {
    this.transport = new SipTransportLayer();
    await this.transport.listen(`udp://${this.ip}:0`);
    this.ua = new UserAgent({
      transport: this.transport,
      aor: `sip:${this.number}@load.switchyard.test`,
      credentials: { username: this.number, password: this.password },
      userAgent: 'switchyard-load',
    });
    this.sdp = sdpFor(this.ip, this.rtpPort, this.index + 1);
    this.ua.onInvite = (incoming) => this.answer(incoming);
    this.registration = this.ua.registration({ registrar: `sip:127.0.0.1:${sipPort}`, expires: 3600 });
  }

  /** The callee side: ring, answer with our SDP, send RTP once the ACK confirms the call. */
  answer(incoming) {
    if (this.answering) {
      incoming.reject(486);
      return;
    }
    let target;
    try {
      target = mediaTarget(incoming.body);
    } catch {
      incoming.reject(488);
      return;
    }
    this.answering = true;
    this.callId = incoming.request.callId();
    rtp.reset(this);
    incoming.ring();
    incoming.accept({ body: this.sdp, contentType: 'application/sdp' }).then(
      (session) => {
        // A BYE that overtook the ACK has ended the session already.
        if (session.ended) {
          this.hungUp();
          return;
        }
        rtp.begin(this, target);
        session.events.onEnded = () => {
          rtp.stop(this);
          this.hungUp();
        };
      },
      () => this.hungUp(),
    );
  }

  hungUp() {
    this.answering = false;
    const waiter = this.onIdle;
    this.onIdle = undefined;
    waiter?.();
  }

  /**
   * Resolves once this callee's call is over. A B2BUA answers the caller's BYE itself and sends its own BYE to the
   * callee, so the callee may still be in the call when the caller's BYE completes. False after `ms` without a BYE.
   */
  idle(ms, waits) {
    if (!this.answering) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onIdle = undefined;
        rtp.stop(this);
        this.answering = false;
        resolve(false);
      }, ms);
      const since = performance.now();
      this.onIdle = () => {
        clearTimeout(timer);
        waits.push(performance.now() - since);
        resolve(true);
      };
    });
  }

  close() {
    this.registration?.stop();
    this.ua?.close();
    return this.transport?.close();
  }
}

// ---- calls --------------------------------------------------------------------------------------------------------

function newStats() {
  return {
    attempted: 0,
    answered: 0,
    failed: 0,
    byeFailed: 0,
    statuses: {},
    latencies: [],
    sent: 0,
    lost: 0,
    lostForward: 0,
    lostBack: 0,
    stray: 0,
    headLost: 0,
    calleeNoBye: 0,
    failureSamples: [],
    /** How long callees waited for the PBX's BYE after the caller's BYE completed (ms), when they had to wait. */
    byeWaits: [],
    late: 0,
    gaps: 0,
    anchored: 0,
    direct: 0,
    worstLoss: 0,
    up: 0,
    maxUp: 0,
  };
}

/** One call from `caller` to `callee`: set up, media until `endAt(answeredAt)` (performance clock ms), then BYE. */
async function placeCall(caller, callee, endAt, stats, sipPort) {
  stats.attempted++;
  rtp.reset(caller);
  const started = performance.now();
  let session;
  const call = caller.ua.call(`sip:${callee.number}@127.0.0.1:${sipPort}`, {
    body: caller.sdp,
    contentType: 'application/sdp',
  });
  try {
    session = await call.answered;
  } catch (err) {
    stats.failed++;
    const status = err?.status ?? 'error';
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    noteFailure(stats, `${status}: caller Call-ID ${call.callId}`);
    return;
  }
  const answeredAt = performance.now();
  stats.latencies.push(answeredAt - started);
  stats.answered++;
  stats.maxUp = Math.max(stats.maxUp, ++stats.up);
  let target;
  try {
    target = mediaTarget(session.remoteBody);
  } catch {
    stats.failed++;
    stats.statuses.badAnswer = (stats.statuses.badAnswer ?? 0) + 1;
    stats.up--;
    await session.bye().catch(() => {});
    return;
  }
  // The answer names the callee's own RTP socket when media goes phone to phone, the daemon's when it is anchored.
  if (target.address === callee.ip && target.port === callee.rtpPort) stats.direct++;
  else stats.anchored++;
  rtp.begin(caller, target);
  await sleep(Math.max(0, endAt(answeredAt) - performance.now()));
  const [a, b] = await Promise.all([rtp.finish(caller), rtp.finish(callee)]);
  const sent = a.sent + b.sent;
  const lostForward = Math.max(0, a.sent - b.received);
  const lostBack = Math.max(0, b.sent - a.received);
  const lost = lostForward + lostBack;
  stats.sent += sent;
  stats.lost += lost;
  stats.lostForward += lostForward;
  stats.lostBack += lostBack;
  stats.stray += a.stray + b.stray;
  // Packets missing at the start of a stream (the first one received was not the first one sent), at most the
  // direction's loss: an early packet overtaken by a later one (a loaded relay) arrives after all.
  if (b.firstIndex > 0) stats.headLost += Math.min(b.firstIndex, lostForward);
  if (a.firstIndex > 0) stats.headLost += Math.min(a.firstIndex, lostBack);
  stats.late += a.late + b.late;
  stats.gaps += (a.gaps ?? 0) + (b.gaps ?? 0);
  if (sent > 0) stats.worstLoss = Math.max(stats.worstLoss, lost / sent);
  stats.up--;
  try {
    await session.bye();
  } catch (err) {
    noteFailure(stats, `BYE ${err?.status ?? 'error'}: caller Call-ID ${call.callId}`);
    stats.byeFailed++;
    stats.failed++;
    const status = `BYE ${err?.status ?? 'error'}`;
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
  }
}

/** The first few failures by SIP Call-ID, to look up in the daemon's log. */
function noteFailure(stats, what) {
  if (stats.failureSamples.length < 10) stats.failureSamples.push(what);
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0;
}

function summarize(stats, extra) {
  const lat = stats.latencies.sort((a, b) => a - b);
  return {
    ...extra,
    attempted: stats.attempted,
    answered: stats.answered,
    failed: stats.failed,
    statuses: stats.statuses,
    failureSamples: stats.failureSamples,
    maxConcurrent: stats.maxUp,
    p50ms: percentile(lat, 0.5),
    p95ms: percentile(lat, 0.95),
    p99ms: percentile(lat, 0.99),
    rtpSent: stats.sent,
    rtpLost: stats.lost,
    rtpLostCallerToCallee: stats.lostForward,
    rtpLostCalleeToCaller: stats.lostBack,
    rtpOther: stats.stray,
    rtpLostAtStart: stats.headLost,
    calleeNoBye: stats.calleeNoBye,
    calleeByeWaitP99ms: percentile(
      stats.byeWaits.sort((a, b) => a - b),
      0.99,
    ),
    calleeByeWaitMaxms: stats.byeWaits.length ? Math.max(...stats.byeWaits) : 0,
    rtpLoss: stats.sent > 0 ? stats.lost / stats.sent : 0,
    worstCallLoss: stats.worstLoss,
    rtpLate: stats.late,
    /** Sequence numbers skipped between packets received (the C generator counts them; 0 from the JS one). */
    rtpGaps: rtpGenerator === 'c' ? stats.gaps : undefined,
    anchored: stats.anchored,
    direct: stats.direct,
  };
}

/** Free phones: callers from the even half, callees from the odd half, each in one call at a time. */
const pool = { callers: [], callees: [] };

async function runCalls(count, perSecond, endAtFor, sipPort) {
  const stats = newStats();
  const calls = [];
  const began = performance.now();
  let launched = 0;
  let starved = 0;
  while (launched < count) {
    const due = Math.min(count, Math.floor(((performance.now() - began) * perSecond) / 1000) + 1);
    while (launched < due) {
      const caller = pool.callers.pop();
      const callee = pool.callees.pop();
      if (!caller || !callee) {
        if (caller) pool.callers.push(caller);
        if (callee) pool.callees.push(callee);
        starved++;
        break;
      }
      const i = launched++;
      calls.push(
        placeCall(caller, callee, (answeredAt) => endAtFor(i, answeredAt), stats, sipPort)
          .then(() => callee.idle(calleeByeMs, stats.byeWaits))
          .then((released) => {
            if (!released) {
              stats.calleeNoBye++;
              stats.failed++;
              stats.statuses['callee got no BYE'] = (stats.statuses['callee got no BYE'] ?? 0) + 1;
              noteFailure(stats, `callee got no BYE: callee Call-ID ${callee.callId}`);
            }
            pool.callers.push(caller);
            pool.callees.push(callee);
          }),
      );
    }
    await sleep(5);
  }
  const launchSeconds = (performance.now() - began) / 1000;
  return { stats, calls, launchSeconds, starved, began };
}

/** The generator's CPU seconds (this process and the C RTP process), and the C RTP process's alone. */
function generatorCpu() {
  const own = process.cpuUsage();
  let rtpCpu = 0;
  try {
    if (rtp.child) rtpCpu = statOf(`/proc/${rtp.child.pid}/stat`).cpu;
  } catch {}
  return { all: (own.user + own.system) / 1e6 + rtpCpu, rtp: rtpCpu };
}

async function rateStep(daemonPid, rate, sipPort) {
  const count = Math.max(1, Math.round((rate * stepMs) / 1000));
  const before = usage(daemonPid);
  const drops0 = udpDrops(sipPort);
  loopDelay.reset();
  const genBefore = generatorCpu();
  const t0 = performance.now();
  const run = await runCalls(count, rate, (_i, answeredAt) => answeredAt + holdMs, sipPort);
  await Promise.all(run.calls);
  const seconds = (performance.now() - t0) / 1000;
  const after = usage(daemonPid);
  const gen = generatorCpu();
  return summarize(run.stats, {
    rate,
    offeredPerSecond: count / run.launchSeconds,
    starved: run.starved,
    udpDrops: dropsSince(drops0, sipPort),
    generatorLoopDelayP99ms: loopDelay.percentile(99) / 1e6,
    generatorLoopDelayMaxms: loopDelay.max / 1e6,
    daemonCpuPercent: ((after.cpu - before.cpu) / seconds) * 100,
    daemonCpuMsPerCall: ((after.cpu - before.cpu) * 1000) / count,
    daemonMainCpuPercent: ((after.main - before.main) / seconds) * 100,
    daemonMainCpuMsPerCall: ((after.main - before.main) * 1000) / count,
    generatorCpuPercent: ((gen.all - genBefore.all) / seconds) * 100,
    rtpGeneratorCpuPercent: ((gen.rtp - genBefore.rtp) / seconds) * 100,
  });
}

async function levelStep(daemonPid, level, sipPort) {
  const base = usage(daemonPid);
  loopDelay.reset();
  const rampSeconds = level / rampRate;
  let windowStart = 0;
  // Every call stays up until the window ends; they hang up staggered as they came, not all in one burst.
  const run0 = performance.now();
  const firstEnd = run0 + rampSeconds * 1000 + setupMarginMs + levelHoldMs;
  const run = await runCalls(level, rampRate, (i) => firstEnd + (i * 1000) / rampRate, sipPort);
  // All launched: wait for the set-ups to finish, then measure the daemon over the hold window.
  while (run.stats.answered + run.stats.failed < level && performance.now() < firstEnd - levelHoldMs / 2)
    await sleep(20);
  windowStart = performance.now();
  const w0 = usage(daemonPid);
  const drops0 = udpDrops(sipPort);
  const g0 = generatorCpu();
  const held = run.stats.up;
  const windowMs = Math.max(200, firstEnd - windowStart - 100);
  await sleep(windowMs);
  const w1 = usage(daemonPid);
  // In the window, while every socket is open (a closed socket takes its drop counter with it).
  const drops = dropsSince(drops0, sipPort);
  const g1 = generatorCpu();
  const heldEnd = run.stats.up;
  await Promise.all(run.calls);
  const windowSeconds = windowMs / 1000;
  const cpu = ((w1.cpu - w0.cpu) / windowSeconds) * 100;
  const main = ((w1.main - w0.main) / windowSeconds) * 100;
  return summarize(run.stats, {
    level,
    held: Math.min(held, heldEnd),
    windowSeconds,
    daemonCpuPercent: cpu,
    daemonCpuPercentPerCall: held > 0 ? cpu / held : 0,
    udpDrops: drops,
    generatorLoopDelayP99ms: loopDelay.percentile(99) / 1e6,
    generatorLoopDelayMaxms: loopDelay.max / 1e6,
    daemonMainCpuPercent: main,
    daemonRssMiB: w1.rss / 2 ** 20,
    daemonRssKiBPerCall: held > 0 ? (w1.rss - base.rss) / 1024 / held : 0,
    generatorCpuPercent: ((g1.all - g0.all) / windowSeconds) * 100,
    rtpGeneratorCpuPercent: ((g1.rtp - g0.rtp) / windowSeconds) * 100,
  });
}

// ---- main ---------------------------------------------------------------------------------------------------------

const result = {
  loadAverageAtStart: loadavg(),
  rtpGenerator,
  cpus: availableParallelism(),
  dataDir,
  users,
  holdMs,
  stepMs,
  levelHoldMs,
  rateSteps: [],
  levelSteps: [],
};
let daemon;
const phones = [];
try {
  daemon = await startDaemon();
  log(`daemon ${daemon.child.pid} listening on udp 127.0.0.1:${daemon.port}`);
  result.daemonPid = daemon.child.pid;
  const idle = usage(daemon.child.pid);
  result.daemonIdleRssMiB = idle.rss / 2 ** 20;
  for (let i = 0; i < users; i++) phones.push(new Phone(i));
  await rtp.bind(phones);
  for (const p of phones) await p.open(daemon.port);
  // Register with a bounded number outstanding, as a fleet of phones booting would.
  const r0 = performance.now();
  let regFailed = 0;
  // A batch with a failure stops the run: each failed REGISTER waits out its 32 s timeout (RFC 3261 Timer F).
  for (let i = 0; i < phones.length && regFailed === 0; i += 50)
    await Promise.all(
      phones.slice(i, i + 50).map((p) =>
        p.registration.register().catch(() => {
          regFailed++;
        }),
      ),
    );
  result.registration = { seconds: (performance.now() - r0) / 1000, failed: regFailed };
  if (regFailed > 0) throw new Error(`${regFailed} of ${users} registrations failed`);
  result.registration.perSecond = users / result.registration.seconds;
  result.daemonRegisteredRssMiB = usage(daemon.child.pid).rss / 2 ** 20;
  log(`registered ${users} phones in ${result.registration.seconds.toFixed(1)} s`);
  for (const p of phones) (p.index % 2 === 0 ? pool.callers : pool.callees).push(p);
  // The daemon's own pace with every phone registered and no call: what the steps' figures stand on.
  const i0 = usage(daemon.child.pid);
  await sleep(idleMs);
  result.daemonIdleCpuPercent = ((usage(daemon.child.pid).cpu - i0.cpu) / (idleMs / 1000)) * 100;
  log(`daemon idle: ${result.daemonIdleCpuPercent.toFixed(1)} % CPU`);

  for (const rate of rates) {
    const step = await rateStep(daemon.child.pid, rate, daemon.port);
    result.rateSteps.push(step);
    log(
      `rate ${rate}/s: ${step.answered}/${step.attempted} answered, ${step.failed} failed, p99 ${step.p99ms.toFixed(1)} ms`,
    );
    if (step.failed > 0) break;
    await sleep(pauseMs);
  }
  const clean = result.rateSteps.filter((s) => s.failed === 0);
  result.bestRate = clean.length ? Math.max(...clean.map((s) => s.rate)) : 0;
  rampRate ??= Math.min(200, Math.max(50, result.bestRate));
  result.rampRate = rampRate;

  for (const level of levels) {
    if (result.rateSteps.at(-1)?.failed > 0) await sleep(3000); // let the failed step's retransmissions die out
    const step = await levelStep(daemon.child.pid, level, daemon.port);
    result.levelSteps.push(step);
    log(`${level} concurrent: held ${step.held}, loss ${(step.rtpLoss * 100).toFixed(3)}%, ${step.failed} failed`);
    if (step.failed > 0 || step.rtpLoss >= lossLimit) break;
    await sleep(pauseMs);
  }
  const held = result.levelSteps.filter((s) => s.failed === 0 && s.rtpLoss < lossLimit);
  result.bestConcurrent = held.length ? Math.max(...held.map((s) => s.held)) : 0;
  const all = [...result.rateSteps, ...result.levelSteps];
  result.loadAverageAtEnd = loadavg();
  result.anchored = all.reduce((n, s) => n + s.anchored, 0);
  result.direct = all.reduce((n, s) => n + s.direct, 0);
} catch (err) {
  result.error = String(err?.stack ?? err);
} finally {
  await rtp.close();
  await Promise.all(phones.map((p) => p.close()?.catch(() => {})));
  if (daemon) {
    const exited = new Promise((r) => daemon.child.once('exit', r));
    daemon.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
  }
  if (result.error) result.daemonLogTail = readLog().slice(-3000);
  const failed = [...result.rateSteps, ...result.levelSteps].some((s) => s.failed > 0);
  if ((result.error || failed) && opts.keepDaemonLog !== false) {
    // Kept for whoever looks into the failures: the daemon logs every call event with its SIP Call-ID.
    result.daemonLog = join(tmpdir(), `switchyard-load-daemon-${Date.now()}.log`);
    copyFileSync(logFile, result.daemonLog);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  log('done');
}
// Exit once the line is out: the phones' transaction timers (RFC 3261 Timer K and J) would hold the loop for seconds.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.error ? 1 : 0));
