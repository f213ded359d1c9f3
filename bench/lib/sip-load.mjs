// A SIP load generator, run as its own process (node bench/lib/sip-load.mjs '<json options>'), so it never shares a
// core's event loop with the server it measures.
//
// Open loop: it starts new transactions at a fixed rate whatever the server does (a closed window would slow down
// with the server and hide overload), in rate steps: up from `start` by `factor` until a step fails, then a few
// bisection steps between the last pass and the first failure. A step passes when every transaction completed with
// no retransmission either way: the generator retransmits unanswered requests like a client transaction
// (RFC 3261 17.1.1.2 timer A, 17.1.2.2 timer E: T1, doubling), and counts final responses that arrive again
// (the server's retransmissions, e.g. of an INVITE's 2xx awaiting its ACK, 13.3.1.4).
//
// Modes: 'options' (OPTIONS -> 200) and 'call' (INVITE -> 200, ACK, BYE -> 200; one call is one unit).
// Output: one JSON line per event on stdout: {"event":"begin",rate} when a step starts sending, {"event":"sent"}
// when it stops sending, {"event":"step",...figures} once it drained, and {"event":"done",best} at the end.
// The parent samples the server's CPU between "begin" and "sent".
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const opts = JSON.parse(process.argv[2] ?? '{}');
const host = opts.host ?? '127.0.0.1';
const port = opts.port ?? 5060;
const mode = opts.mode ?? 'options';
const t1 = opts.t1 ?? 500;
/** SO_RCVBUF to ask for; 0 keeps the kernel default (net.core.rmem_default). */
const bufferBytes = opts.bufferBytes ?? 0;
const stepMs = opts.stepMs ?? 3000;
const drainMs = opts.drainMs ?? 3000;
const startRate = opts.start ?? 5000;
const factor = opts.factor ?? 1.25;
const maxRate = opts.max ?? 80_000;
const refine = opts.refine ?? 2;
/** Optional rates to run as given instead of the search (e.g. [15000]). */
const fixedRates = opts.rates;

const socket = createSocket('udp4');
await new Promise((r) => socket.bind(0, '127.0.0.1', r));
if (bufferBytes > 0) socket.setRecvBufferSize(bufferBytes);
// A connected socket: send() needs no address lookup, and only the server's datagrams come back.
await new Promise((r) => socket.connect(port, host, r));
const localPort = socket.address().port;

/**
 * Datagrams the kernel dropped at a loopback UDP socket on `port` (its receive buffer full while its process was busy
 * or off its core), from /proc/net/udp; undefined where that cannot be read. Read for this generator's own socket (a
 * response lost here is retransmitted like one the server never sent, so each step reports these apart: a failure
 * with drops here is not the server's) and for the server's.
 */
function socketDrops(udpPort) {
  try {
    const local = `0100007F:${udpPort.toString(16).toUpperCase().padStart(4, '0')}`;
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1] === local) return Number(f[f.length - 1]);
    }
  } catch {}
  return undefined;
}

/**
 * CPU time the hypervisor gave to others while this machine's CPUs wanted to run (the `steal` column of /proc/stat,
 * all CPUs, in ms; USER_HZ is 100 on Linux). On a virtual machine a vCPU can be taken away for 10-40 ms: a server
 * on it reads nothing meanwhile, and its socket overflows at default buffers whatever the server does.
 */
function stolenMs() {
  try {
    const f = readFileSync('/proc/stat', 'latin1').slice(0, 200).split('\n')[0].trim().split(/\s+/);
    return Number(f[8]) * 10;
  } catch {
    return undefined;
  }
}

// Per-transaction state in typed rings indexed by sequence number (no object per transaction).
const CAP = 1 << 21;
const MASK = CAP - 1;
const firstSent = new Float64Array(CAP);
const lastSent = new Float64Array(CAP);
const retries = new Uint8Array(CAP);
/** 0 free/done, 1 INVITE or OPTIONS outstanding, 2 BYE outstanding, 3 done (a final arriving again is a dup). */
const phase = new Uint8Array(CAP);
const toTags = new Array(CAP);

let nextSeq = 0;
/** Oldest sequence number of the running step; anything older is ignored. */
let stepFirst = 0;
/** Oldest sequence number that may still be outstanding (advances as transactions complete). */
let low = 0;
let outstanding = 0;
let lastReceipt = performance.now();
const st = {
  completed: 0,
  retransmissions: 0,
  dupResponses: 0,
  failures: 0,
  unanswered: 0,
  latencies: [],
};

function request(method, seq, leg, cseq, toTag) {
  const to = toTag ? `<sip:bench@${host}>;tag=${toTag}` : `<sip:bench@${host}>`;
  return Buffer.from(
    `${method} sip:bench@${host}:${port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=z9hG4bK-ld${seq}${leg};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <sip:load@127.0.0.1>;tag=ld${seq}\r\n` +
      `To: ${to}\r\n` +
      `Call-ID: c${seq}@load\r\n` +
      `CSeq: ${cseq} ${method}\r\n` +
      `Contact: <sip:load@127.0.0.1:${localPort}>\r\n` +
      'Content-Length: 0\r\n\r\n',
    'latin1',
  );
}

function sendFor(seq) {
  const i = seq & MASK;
  if (phase[i] === 1) socket.send(request(mode === 'options' ? 'OPTIONS' : 'INVITE', seq, 'i', 1));
  else socket.send(request('BYE', seq, 'b', 2, toTags[i]));
}

function start(now) {
  const seq = nextSeq++;
  const i = seq & MASK;
  firstSent[i] = now;
  lastSent[i] = now;
  retries[i] = 0;
  phase[i] = 1;
  toTags[i] = undefined;
  outstanding++;
  sendFor(seq);
}

const BRANCH = Buffer.from('branch=z9hG4bK-ld', 'latin1');

function finish(i, now) {
  phase[i] = 3;
  // A tag is a slice of its whole 2xx, so keeping it for the ring's 2^21 calls kept their texts too: this process's
  // heap grew by ~600 B per call over the search.
  toTags[i] = undefined;
  outstanding--;
  st.completed++;
  if (st.latencies.length < 500_000) st.latencies.push(now - firstSent[i]);
}

socket.on('message', (buf) => {
  const now = performance.now();
  lastReceipt = now;
  const status = (buf[8] - 48) * 100 + (buf[9] - 48) * 10 + (buf[10] - 48);
  if (!(status >= 200)) return; // provisional (or not a response)
  let p = buf.indexOf(BRANCH);
  if (p < 0) return;
  p += BRANCH.length;
  let seq = 0;
  while (p < buf.length && buf[p] >= 48 && buf[p] <= 57) seq = seq * 10 + (buf[p++] - 48);
  const leg = buf[p]; // 'i' (105) or 'b' (98)
  if (seq < stepFirst || seq >= nextSeq) return; // from an earlier step
  const i = seq & MASK;
  const ph = phase[i];
  if (status >= 300 && (ph === 1 || ph === 2)) st.failures++;
  if (leg === 105 && ph === 1) {
    if (mode === 'options') {
      finish(i, now);
      return;
    }
    // RFC 3261 13.2.2.4: ACK the 2xx (its own transaction, no response), then hang up with BYE.
    const text = buf.latin1Slice(0, buf.length);
    let t = text.indexOf('\r\nTo:');
    if (t < 0) t = text.indexOf('\r\nt:');
    const line = text.slice(t, text.indexOf('\r\n', t + 2));
    const g = line.indexOf('tag=');
    let e = g + 4;
    while (e < line.length && line.charCodeAt(e) > 32 && line.charCodeAt(e) !== 59) e++;
    const tag = g < 0 ? '' : line.slice(g + 4, e);
    toTags[i] = tag;
    socket.send(request('ACK', seq, 'a', 1, tag));
    phase[i] = 2;
    retries[i] = 0;
    lastSent[i] = now;
    sendFor(seq);
    return;
  }
  if (leg === 98 && ph === 2) {
    finish(i, now);
    return;
  }
  // A final response again: the server retransmitted it (or answered our retransmission).
  st.dupResponses++;
  if (leg === 105 && mode === 'call' && ph === 2) socket.send(request('ACK', seq, 'a', 1, toTags[i]));
});

/** Timer A/E: retransmit at T1, 2T1, 4T1 ... (capped at T2 = 4 s for simplicity of both request kinds). */
function sweep(now) {
  while (low < nextSeq && phase[low & MASK] === 3) low++;
  for (let seq = low; seq < nextSeq; seq++) {
    const i = seq & MASK;
    const ph = phase[i];
    if (ph !== 1 && ph !== 2) continue;
    const interval = Math.min(t1 * 2 ** retries[i], 4000);
    if (now - lastSent[i] < interval) continue;
    retries[i]++;
    lastSent[i] = now;
    st.retransmissions++;
    sendFor(seq);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function runStep(rate, ms = stepMs, warmup = false) {
  // Quiet first: the server has answered everything from the previous step.
  const settleStart = performance.now();
  while (performance.now() - lastReceipt < 300 && performance.now() - settleStart < 10_000) await sleep(50);
  stepFirst = nextSeq;
  low = nextSeq;
  outstanding = 0;
  st.completed = 0;
  st.retransmissions = 0;
  st.dupResponses = 0;
  st.failures = 0;
  st.unanswered = 0;
  st.latencies = [];
  const cpu0 = process.cpuUsage();
  const drops0 = socketDrops(localPort);
  const serverDrops0 = host === '127.0.0.1' ? socketDrops(port) : undefined;
  const stolen0 = stolenMs();
  if (!warmup) emit({ event: 'begin', rate });
  const began = performance.now();
  const total = Math.round((rate * ms) / 1000);
  let started = 0;
  let maxLagMs = 0;
  let lastSweep = began;
  // When this process was descheduled, it does not catch up with a burst (that would measure the burst, not the
  // rate): the schedule slips instead, and a step that slipped more than 5% is reported as generator-bound.
  let origin = began;
  const burst = Math.max(1, Math.ceil(rate / 200)); // 5 ms worth (a loaded machine's timer ticks are that coarse)
  while (started < total) {
    const now = performance.now();
    let due = Math.min(total, Math.floor(((now - origin) * rate) / 1000));
    if (due - started > burst) {
      maxLagMs = Math.max(maxLagMs, ((due - started) * 1000) / rate);
      origin += ((due - started - burst) * 1000) / rate;
      due = started + burst;
    }
    while (started < due) {
      start(now);
      started++;
    }
    if (now - lastSweep >= 10) {
      sweep(now);
      lastSweep = now;
    }
    await sleep(1);
  }
  const sendSeconds = (performance.now() - began) / 1000;
  if (!warmup) emit({ event: 'sent' });
  const drainStart = performance.now();
  while (outstanding > 0 && performance.now() - drainStart < drainMs) {
    sweep(performance.now());
    await sleep(5);
  }
  st.unanswered = outstanding;
  const cpu = process.cpuUsage(cpu0);
  const lat = st.latencies.sort((a, b) => a - b);
  const pct = (q) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * q))] : 0);
  // Sending took 25% longer than planned: the generator, not the server, set the pace (the achieved rate is what
  // is reported either way).
  const generatorBound = sendSeconds > (ms / 1000) * 1.25;
  const result = {
    event: 'step',
    rate,
    offered: total,
    completed: st.completed,
    perSecond: st.completed / sendSeconds,
    sendSeconds,
    retransmissions: st.retransmissions,
    dupResponses: st.dupResponses,
    failures: st.failures,
    unanswered: st.unanswered,
    p50ms: pct(0.5),
    p99ms: pct(0.99),
    maxms: lat.length ? lat[lat.length - 1] : 0,
    generatorCpuPercent: ((cpu.user + cpu.system) / 1e4 / (performance.now() - began)) * 1000,
    maxLagMs,
    generatorBound,
    generatorDrops: drops0 === undefined ? undefined : (socketDrops(localPort) ?? drops0) - drops0,
    serverDrops: serverDrops0 === undefined ? undefined : (socketDrops(port) ?? serverDrops0) - serverDrops0,
    stolenMs: stolen0 === undefined ? undefined : (stolenMs() ?? stolen0) - stolen0,
    // A step the generator could not keep still counts, at the rate it did reach.
    pass:
      st.completed === total &&
      st.retransmissions === 0 &&
      st.dupResponses === 0 &&
      st.failures === 0 &&
      st.unanswered === 0,
  };
  if (!warmup) emit(result);
  return result;
}

// Warm-up: a short unmeasured step at a low rate, so that the server's JIT compiler has run before the first
// measured step (a cold Node server falls behind at any rate for its first second).
const warmupRate = opts.warmupRate ?? 2000;
const warmupMs = opts.warmupMs ?? 2000;
if (warmupMs > 0) await runStep(warmupRate, warmupMs, true);

/**
 * A step, run again once when it fails (`retry`, default 1): on a machine shared with other work a server can lose
 * its core for long enough to drop a burst, and one such stall should not end the search. Both servers get the
 * same second chance; a rate that fails twice is a failure.
 * A failed step during which the hypervisor took CPU time away (`stolenMs` > 0) does not count as one of those
 * runs: it is run again, up to `stealRuns` times (default 2) per rate, and counted in `stealReruns`.
 */
const secondRuns = opts.retry ?? 1;
const stealRuns = opts.stealRuns ?? 2;
let stealReruns = 0;
async function tryRate(rate) {
  let runsLeft = 1 + secondRuns;
  let stolenLeft = stealRuns;
  for (;;) {
    const res = await runStep(rate);
    if (res.pass || res.generatorBound) return res;
    if (res.stolenMs > 0 && stolenLeft > 0) {
      stolenLeft--;
      stealReruns++;
    } else if (--runsLeft === 0) return res;
  }
}

let best;
let firstFail;
if (Array.isArray(fixedRates)) {
  for (const r of fixedRates) {
    const res = await runStep(r);
    if (res.pass && (best === undefined || res.perSecond > best.perSecond)) best = res;
  }
} else {
  let rate = startRate;
  while (rate <= maxRate) {
    const res = await tryRate(rate);
    if (!res.pass) {
      firstFail = res;
      break;
    }
    if (best === undefined || res.perSecond > best.perSecond) best = res;
    // The generator itself was the limit: higher offered rates would not be offered.
    if (res.generatorBound) break;
    rate = Math.round((rate * factor) / 500) * 500;
  }
  let lo = best?.rate ?? 0;
  let hi = firstFail?.rate;
  for (let k = 0; k < refine && hi !== undefined && !firstFail.generatorBound && hi - lo > 500; k++) {
    const mid = Math.round((lo + hi) / 2 / 250) * 250;
    if (mid <= lo || mid >= hi) break;
    const res = await tryRate(mid);
    if (res.pass) {
      if (best === undefined || res.perSecond > best.perSecond) best = res;
      lo = mid;
    } else hi = mid;
  }
}
emit({ event: 'done', best: best ?? null, firstFail: firstFail ?? null, stealReruns });
socket.close();
