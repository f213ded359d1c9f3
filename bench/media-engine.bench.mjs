// Media engine capacity: RTP packets relayed per second by one worker, G.711<->G.722 transcoded calls and 16 kHz
// conference participants one core sustains in real time. Uses the built package (npx tsc -b first).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { G722Encoder, MediaEngine, ulawEncodeInto } from '@switchyard/media';
import { conferenceLoad } from './lib/talk-spurts.mjs';

const PCMU = { payloadType: 0, encoding: 'PCMU', clockRate: 8000 };
const G722 = { payloadType: 9, encoding: 'G722', clockRate: 8000 };
const HOST = '127.0.0.1';
const here = dirname(fileURLToPath(import.meta.url));

// A load generator in its own thread: one socket sends RTP to every target port round-robin, as fast as it can
// (in bounded batches), for `durationMs`. It reports how many it sent.
const LOAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { ports, durationMs, host } = workerData;
const s = dgram.createSocket('udp4');
s.bind(0, host, () => {
  const pkts = ports.map((_, i) => {
    const b = Buffer.alloc(172);
    b[0] = 0x80; b[1] = 0; b.writeUInt32BE(0x1000 + i, 8);
    return b;
  });
  let seq = 0, sent = 0, inflight = 0;
  const end = Date.now() + durationMs;
  const done = () => { inflight--; };
  const pump = () => {
    if (Date.now() >= end) { const wait = () => inflight > 0 ? setTimeout(wait, 5) : (s.close(), parentPort.postMessage(sent)); return wait(); }
    if (inflight < 512) {
      for (let k = 0; k < 64; k++) {
        for (let i = 0; i < ports.length && k < 64; i++, k++) {
          const b = pkts[i]; b.writeUInt16BE(seq & 0xffff, 2); b.writeUInt32BE((seq * 160) >>> 0, 4);
          inflight++; sent++;
          s.send(b, ports[i], host, done);
        }
        seq++;
      }
    }
    setImmediate(pump);
  };
  pump();
});
`;

// Where the engine's output goes: a process that binds a UDP port and then blocks forever without reading, so the
// kernel queues and drops what arrives there at almost no cost (no ICMP, no receiving code on the measured cores).
// First it sends three RTP packets in sequence to each port it is given, as a phone would, so those endpoints latch
// onto it (an unsignalled source must show a valid stream first: RtpLatch).
const SINK_SOURCE = `
const s = require('node:dgram').createSocket('udp4');
const ports = JSON.parse(process.argv[1] || '[]');
s.bind(0, '${HOST}', () => {
  const pkt = Buffer.alloc(172); pkt[0] = 0x80; pkt.writeUInt32BE(0x5151, 8);
  let left = 3 * ports.length;
  const ready = () => process.stdout.write(String(s.address().port) + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
  if (left === 0) ready();
  for (let seq = 0; seq < 3; seq++) {
    for (const p of ports) {
      const b = Buffer.from(pkt); b.writeUInt16BE(seq, 2);
      s.send(b, p, '${HOST}', () => { if (--left === 0) ready(); });
    }
  }
});
`;

async function startSink(latchPorts = []) {
  const child = spawn(process.execPath, ['-e', SINK_SOURCE, JSON.stringify(latchPorts)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
  return { port, stop: () => child.kill('SIGKILL') };
}

function runLoad(ports, durationMs) {
  return new Promise((resolve, reject) => {
    const w = new Worker(LOAD_SOURCE, { eval: true, workerData: { ports, durationMs, host: HOST } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

// The C load generator (bench/c/rtp_blaster.c, sendmmsg in batches of 64), built once per run; undefined without
// gcc, and the JS load thread above stands in (it offers less than the goal on two cores).
const BLASTER_RATE = 300_000; // twice the goal: enough to saturate the worker, without a whole core spinning
let blasterPath;
function blaster() {
  if (blasterPath !== undefined) return blasterPath || undefined;
  blasterPath = '';
  if (spawnSync('gcc', ['--version']).status !== 0) return undefined;
  const exe = join(mkdtempSync(join(tmpdir(), 'relay-bench-')), 'rtp_blaster');
  try {
    execFileSync('gcc', ['-O2', '-o', exe, join(here, 'c', 'rtp_blaster.c')]);
    blasterPath = exe;
  } catch {
    return undefined;
  }
  return exe;
}

function runBlaster(exe, ports, durationMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, [HOST, String(durationMs), String(BLASTER_RATE), ...ports.map(String)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`rtp_blaster ${code}`)),
    );
  });
}

// The floor under any relay written on node:dgram: a bare thread whose A sockets hand every datagram to their B
// socket (connected to the sink) and nothing else, no parsing, no state. Measured like the engine (same load, same
// sink, its thread's CPU per packet), it says how much of the per-packet cost is Node's and the kernel's.
const BARE_RELAY_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { readFileSync } = require('node:fs');
const { pairs, host, sinkPort } = workerData;
const cpuMs = () => { const t = readFileSync('/proc/thread-self/schedstat', 'latin1'); return Number(t.slice(0, t.indexOf(' '))) / 1e6; };
let relayed = 0;
(async () => {
  const ports = [];
  for (let i = 0; i < pairs; i++) {
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    b.on('error', () => {});
    await new Promise((r) => a.bind(0, host, r));
    await new Promise((r) => b.bind(0, host, r));
    await new Promise((r) => b.connect(sinkPort, host, r));
    a.on('message', (m) => { relayed++; b.send(m); });
    ports.push(a.address().port);
  }
  const c0 = cpuMs();
  parentPort.postMessage(ports);
  parentPort.once('message', () => parentPort.postMessage({ relayed, cpuMs: cpuMs() - c0 }));
})();
`;

export async function bareRelayBench(pairs, durationMs) {
  const exe = blaster();
  if (!exe || process.platform !== 'linux') return undefined;
  const sink = await startSink();
  const w = new Worker(BARE_RELAY_SOURCE, { eval: true, workerData: { pairs, host: HOST, sinkPort: sink.port } });
  const ports = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const t0 = performance.now();
  const offered = await runBlaster(exe, ports, durationMs);
  const seconds = (performance.now() - t0) / 1000;
  w.postMessage('stop');
  const { relayed, cpuMs } = await new Promise((resolve) => w.once('message', resolve));
  await w.terminate();
  sink.stop();
  const cpuUsPerPacket = (cpuMs * 1000) / relayed;
  return { offeredPps: offered / seconds, pps: relayed / seconds, cpuUsPerPacket, perCore: 1e6 / cpuUsPerPacket };
}

export async function relayBench(pairs, durationMs) {
  const engine = await MediaEngine.start({
    workers: 1,
    portRange: { min: 43000, max: 44999 },
    statisticsIntervalMs: 0,
  });
  const a = [];
  const b = [];
  for (let i = 0; i < pairs; i++) {
    const ea = await engine.createEndpoint({ address: HOST, codecs: [PCMU], group: 'relay', rtpTimeoutSeconds: 0 });
    const eb = await engine.createEndpoint({ address: HOST, codecs: [PCMU], group: 'relay', rtpTimeoutSeconds: 0 });
    await engine.bridge(ea.sessionId, eb.sessionId);
    a.push(ea);
    b.push(eb);
  }
  // The B sides latch onto the sink (symmetric RTP), as they would onto a phone that talks.
  const sink = await startSink(b.map((e) => e.port));
  for (let i = 0; i < 200; i++) {
    const stats = await Promise.all(b.map((e) => engine.getStatistics(e.sessionId)));
    if (stats.every((st) => st.packetsReceived > 0)) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const exe = blaster();
  const before = (await engine.getWorkerStatistics())[0];
  const t0 = performance.now();
  const ports = a.map((e) => e.port);
  const offered = exe ? await runBlaster(exe, ports, durationMs) : await runLoad(ports, durationMs);
  const seconds = (performance.now() - t0) / 1000;
  const after = (await engine.getWorkerStatistics())[0];
  await engine.shutdown();
  sink.stop();
  const relayed = after.packetsSent - before.packetsSent;
  // The worker thread's own CPU time (Linux schedstat, user + system: its recvmsg and sendmsg included) per
  // relayed packet gives what one core sustains; the wall rate is lower when other load takes part of the core.
  const cpuMs = after.cpuMs !== undefined && before.cpuMs !== undefined ? after.cpuMs - before.cpuMs : undefined;
  const cpuUsPerPacket = cpuMs !== undefined && relayed > 0 ? (cpuMs * 1000) / relayed : undefined;
  return {
    pairs,
    load: exe ? 'C sendmmsg' : 'JS thread',
    offered,
    relayed,
    pps: relayed / seconds,
    offeredPps: offered / seconds,
    workerBusy: cpuMs !== undefined ? cpuMs / 1000 / seconds : undefined,
    cpuUsPerPacket,
    perCore: cpuUsPerPacket ? 1e6 / cpuUsPerPacket : undefined,
  };
}

// The phones of the tick benchmarks: a thread with one socket per endpoint (connected to it, so each endpoint
// latches onto its own phone) that sends each endpoint its packets on command. Between commands it blocks in
// Atomics.wait and it never returns to its event loop, so it never reads what the engine sends back: like the
// relay's sink, the kernel queues and then drops that, with no wake-up of a reader charged to the engine's sends
// (a real network card has none) and no receiving code running while the ticks are timed. It is idle (blocked)
// while the ticks run, so the process CPU time measured then is the engine's. A target with \`frames\` (160-octet
// payloads, one per 20 ms) sends those in turn; others send the speech of speechPayloads.
const PHONES_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { targets, host, control, payloads } = workerData;
const cmd = new Int32Array(control);
(async () => {
  const socks = [];
  for (const t of targets) {
    const s = dgram.createSocket('udp4');
    s.on('error', () => {});
    await new Promise((r) => s.bind(0, host, r));
    await new Promise((r) => s.connect(t.port, host, r));
    socks.push(s);
  }
  parentPort.postMessage('ready');
  const pkts = targets.map((t) => { const p = Buffer.alloc(172); p[0] = 0x80; p[1] = t.payloadType; p.writeUInt32BE(0xabc, 8); return p; });
  const frames = targets.map((t) => t.frames);
  for (;;) {
    Atomics.wait(cmd, 0, 0);
    if (cmd[0] === 2) break;
    const from = cmd[1], count = cmd[2];
    for (let seq = from; seq < from + count; seq++) {
      for (let i = 0; i < socks.length; i++) {
        const p = pkts[i];
        p.writeUInt16BE(seq & 0xffff, 2); p.writeUInt32BE((seq * 160) >>> 0, 4);
        const f = frames[i];
        if (f) { const at = (seq % (f.length / 160)) * 160; p.set(f.subarray(at, at + 160), 12); }
        else {
          // This phone's next 20 ms of encoded speech (each phone starts at its own place in the recording).
          const speech = payloads[targets[i].payloadType];
          const k = (seq + 37 * i) % speech.count;
          p.set(speech.bytes.subarray(k * 160, k * 160 + 160), 12);
        }
        socks[i].send(p); // connected: sent (copied into the kernel) before send returns
      }
    }
    Atomics.store(cmd, 0, 0);
    Atomics.notify(cmd, 0);
  }
  process.exit(0);
})();
`;

// What the phones say: 5 s of a speech-like signal (a voiced source whose pitch glides between 100 and 250 Hz with
// decaying harmonics, syllables at about 4 Hz, noise under it), encoded frame by frame with state kept as a phone
// would, so the decoders see real, varying codewords (constant payloads make codecs unrealistically cheap or dear).
const SPEECH_FRAMES = 250;
function speechPayloads() {
  const at16k = new Int16Array(SPEECH_FRAMES * 320);
  let seed = 2024;
  let phase = 0;
  for (let n = 0; n < at16k.length; n++) {
    const t = n / 16000;
    const f0 = 175 + 75 * Math.sin(2 * Math.PI * 0.7 * t);
    phase += (2 * Math.PI * f0) / 16000;
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(h * phase) / h;
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 4.1 * t)) ** 2;
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const noise = ((seed >>> 16) / 65536 - 0.5) * 600;
    at16k[n] = Math.round(5000 * syllable * v + noise);
  }
  const g722 = new Uint8Array(SPEECH_FRAMES * 160);
  const enc = new G722Encoder();
  for (let f = 0; f < SPEECH_FRAMES; f++) {
    enc.encodeInto(at16k.subarray(f * 320, f * 320 + 320), g722.subarray(f * 160, f * 160 + 160));
  }
  // 8 kHz for G.711: a two-sample average before taking every second sample (enough for a test signal)
  const at8k = new Int16Array(SPEECH_FRAMES * 160);
  for (let n = 0; n < at8k.length; n++) at8k[n] = (at16k[2 * n] + at16k[2 * n + 1]) >> 1;
  const pcmu = new Uint8Array(SPEECH_FRAMES * 160);
  ulawEncodeInto(at8k, pcmu);
  return { 0: { count: SPEECH_FRAMES, bytes: pcmu }, 9: { count: SPEECH_FRAMES, bytes: g722 } };
}

async function startPhones(targets) {
  const control = new SharedArrayBuffer(12);
  const cmd = new Int32Array(control);
  const payloads = speechPayloads();
  const w = new Worker(PHONES_SOURCE, { eval: true, workerData: { targets, host: HOST, control, payloads } });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return {
    send: async (from, count) => {
      cmd[1] = from;
      cmd[2] = count;
      Atomics.store(cmd, 0, 1);
      Atomics.notify(cmd, 0);
      while (Atomics.load(cmd, 0) !== 0) await new Promise((r) => setTimeout(r, 1));
    },
    stop: () => {
      Atomics.store(cmd, 0, 2);
      Atomics.notify(cmd, 0);
      return w.terminate();
    },
  };
}

async function tickBench(engine, targets, frames, warmup = 50) {
  const phones = await startPhones(targets);
  const burst = 10;
  // Three packets first, so every endpoint has latched onto its phone (RtpLatch wants a valid stream) before the
  // counting starts; the ticks below then decode a packet each.
  const prime = 3;
  const start = (await engine.getWorkerStatistics())[0];
  await phones.send(0, prime);
  for (let i = 0; i < 2000; i++) {
    const s = (await engine.getWorkerStatistics())[0];
    if (s.packetsReceived - start.packetsReceived >= targets.length) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  // Ticks run but not counted: V8 compiles the hot paths on its helper threads during the first ones (a one-off
  // cost), and a conference settles (who talks, which members share a stream) as it would have long before in a
  // real call.
  for (let f = 0; f < warmup; f += 10) {
    const s0 = (await engine.getWorkerStatistics())[0];
    await phones.send(prime + f, 10);
    for (let i = 0; i < 2000; i++) {
      const s = (await engine.getWorkerStatistics())[0];
      if (s.packetsReceived - s0.packetsReceived >= targets.length * 10 * 0.98) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    await engine.advanceClock(200);
  }
  const before = (await engine.getWorkerStatistics())[0];
  let busy = 0;
  let cpu = 0;
  let workerCpu = 0;
  let ticks = 0;
  for (let f = 0; f < frames; f += burst) {
    await phones.send(prime + warmup + f, burst);
    const want = targets.length * (f + burst);
    for (let i = 0; i < 2000; i++) {
      const s = (await engine.getWorkerStatistics())[0];
      if (s.packetsReceived - before.packetsReceived >= want * 0.98) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    const s0 = (await engine.getWorkerStatistics())[0];
    const c0 = process.cpuUsage();
    await engine.advanceClock(burst * 20);
    const c = process.cpuUsage(c0);
    const s1 = (await engine.getWorkerStatistics())[0];
    busy += s1.tickBusyMs - s0.tickBusyMs;
    cpu += (c.user + c.system) / 1000;
    if (s0.cpuMs !== undefined && s1.cpuMs !== undefined) workerCpu += s1.cpuMs - s0.cpuMs;
    ticks += s1.ticks - s0.ticks;
  }
  await phones.stop();
  // Per 20 ms tick: wall time inside the worker's ticks, and the process's CPU time while only the ticks ran (the
  // main thread just waits for the reply), which is what one core must supply and is less inflated by other load.
  return { wallMs: busy / ticks, cpuMs: cpu / ticks, workerCpuMs: workerCpu / ticks };
}

export async function transcodeBench(calls, frames, g722Transcoding = 'subband') {
  const engine = await MediaEngine.start({
    workers: 1,
    clock: 'manual',
    portRange: { min: 45000, max: 46999 },
    statisticsIntervalMs: 0,
    g722Transcoding,
  });
  const sink = await startSink();
  const targets = [];
  for (let i = 0; i < calls; i++) {
    const a = await engine.createEndpoint({ address: HOST, codecs: [PCMU], group: 'tc', rtpTimeoutSeconds: 0 });
    const b = await engine.createEndpoint({ address: HOST, codecs: [G722], group: 'tc', rtpTimeoutSeconds: 0 });
    await engine.setRemote(a.sessionId, { address: HOST, port: sink.port });
    await engine.setRemote(b.sessionId, { address: HOST, port: sink.port });
    await engine.bridge(a.sessionId, b.sessionId);
    targets.push({ port: a.port, payloadType: 0 }, { port: b.port, payloadType: 9 });
  }
  const t = await tickBench(engine, targets, frames);
  await engine.shutdown();
  sink.stop();
  const perCall = t.cpuMs / calls;
  return {
    calls,
    ...t,
    perCallUs: perCall * 1000,
    wallPerCallUs: (t.wallMs / calls) * 1000,
    callsPerCore: Math.floor(20 / perCall),
  };
}

/**
 * `participants` phones in one room, G.711 and G.722 alternately. Realistic load (the default): speech-like talk
 * spurts with `talkers` of them talking at any time, the rest sending their background noise; `everyone: true`
 * has all of them talk all the time (the worst case: a mix and an encoding of its own for each).
 */
export async function conferenceBench(participants, frames, { everyone = false, talkers = 3 } = {}) {
  const warmup = 60;
  const codecs = Array.from({ length: participants }, (_, i) => (i % 2 === 0 ? PCMU : G722));
  const load = conferenceLoad(
    codecs.map((c) => c.encoding),
    3 + warmup + frames,
    { everyone, talkers },
  );
  const engine = await MediaEngine.start({
    workers: 1,
    clock: 'manual',
    portRange: { min: 47000, max: 48999 },
    statisticsIntervalMs: 0,
  });
  const conf = await engine.createConference({ group: 'cf' });
  const sink = await startSink();
  const targets = [];
  for (let i = 0; i < participants; i++) {
    const codec = codecs[i];
    const e = await engine.createEndpoint({ address: HOST, codecs: [codec], group: 'cf', rtpTimeoutSeconds: 0 });
    await engine.setRemote(e.sessionId, { address: HOST, port: sink.port });
    await engine.addToConference(conf, e.sessionId);
    targets.push({ port: e.port, payloadType: codec.payloadType, frames: load.payloads[i] });
  }
  const t = await tickBench(engine, targets, frames, warmup);
  await engine.shutdown();
  sink.stop();
  const perParticipant = t.cpuMs / participants;
  return {
    participants,
    everyone,
    meanTalkers: load.meanTalkers,
    ...t,
    perParticipantUs: perParticipant * 1000,
    wallPerParticipantUs: (t.wallMs / participants) * 1000,
    participantsPerCore: Math.floor(20 / perParticipant),
  };
}

/** Runs one measure; a part whose building blocks are missing (e.g. no G.722 yet) is reported, not fatal. */
async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    return { error: String(err?.message ?? err) };
  }
}

export default async function () {
  const relay = await attempt(() => relayBench(16, 3000));
  const bare = await attempt(() => bareRelayBench(16, 3000));
  const tc = await attempt(() => transcodeBench(100, 100));
  const tcResample = await attempt(() => transcodeBench(100, 100, 'resample'));
  const conf = await attempt(() => conferenceBench(500, 150));
  const confAll = await attempt(() => conferenceBench(200, 100, { everyone: true }));
  const na = (r) => `not measured: ${r.error}`;
  return {
    title: 'Media engine capacity (one worker thread)',
    columns: ['measure', 'load', 'result', 'goal'],
    rows: [
      [
        'RTP relay, packets/s one worker relays (one core)',
        relay.error
          ? na(relay)
          : `${relay.pairs} bridged pairs, ${relay.load} offering ${Math.round(relay.offeredPps)} pps; relayed ${Math.round(relay.pps)} pps wall` +
            (relay.cpuUsPerPacket
              ? ` with the worker ${Math.round(relay.workerBusy * 100)}% busy, CPU ${relay.cpuUsPerPacket.toFixed(2)} us per packet`
              : ''),
        relay.error ? '-' : Math.round(relay.perCore ?? relay.pps),
        '>= 150,000',
      ],
      [
        'ref: bare node:dgram relay (receive, send, nothing else)',
        !bare || bare.error
          ? `not measured: ${bare?.error ?? 'needs gcc and Linux'}`
          : `same load and sink; relayed ${Math.round(bare.pps)} pps wall, CPU ${bare.cpuUsPerPacket.toFixed(2)} us per packet` +
            (relay.cpuUsPerPacket
              ? `; the engine costs ${(relay.cpuUsPerPacket / bare.cpuUsPerPacket).toFixed(2)}x this`
              : ''),
        !bare || bare.error ? '-' : Math.round(bare.perCore),
        'the ceiling in Node',
      ],
      [
        'G.711 <-> G.722 transcoding, calls per core',
        tc.error
          ? na(tc)
          : `${tc.calls} calls, CPU ${tc.perCallUs.toFixed(1)} us (worker thread alone ${((tc.workerCpuMs / tc.calls) * 1000).toFixed(1)}, wall ${tc.wallPerCallUs.toFixed(1)}) per call per 20 ms`,
        tc.error ? '-' : tc.callsPerCore,
        '>= 300',
      ],
      [
        "ref: the same with g722Transcoding: 'resample' (16 kHz G.722 through the half-band resampler)",
        tcResample.error
          ? na(tcResample)
          : `${tcResample.calls} calls, CPU ${tcResample.perCallUs.toFixed(1)} us (worker thread alone ${((tcResample.workerCpuMs / tcResample.calls) * 1000).toFixed(1)}, wall ${tcResample.wallPerCallUs.toFixed(1)}) per call per 20 ms`,
        tcResample.error ? '-' : tcResample.callsPerCore,
        'less aliasing 4-5.5 kHz',
      ],
      [
        '16 kHz conference, participants per core (meeting: a few talk)',
        conf.error
          ? na(conf)
          : `${conf.participants} in one room (G.711/G.722), ${conf.meanTalkers.toFixed(1)} talking at a time (speech-like spurts), the rest sending background noise; CPU ${conf.perParticipantUs.toFixed(1)} us (worker thread alone ${((conf.workerCpuMs / conf.participants) * 1000).toFixed(1)}, wall ${conf.wallPerParticipantUs.toFixed(1)}) each per 20 ms`,
        conf.error ? '-' : conf.participantsPerCore,
        '>= 500',
      ],
      [
        '16 kHz conference, worst case: everybody talks',
        confAll.error
          ? na(confAll)
          : `${confAll.participants} in one room (G.711/G.722), all talking all the time (a mix and an encoding each); CPU ${confAll.perParticipantUs.toFixed(1)} us (worker thread alone ${((confAll.workerCpuMs / confAll.participants) * 1000).toFixed(1)}, wall ${confAll.wallPerParticipantUs.toFixed(1)}) each per 20 ms`,
        confAll.error ? '-' : confAll.participantsPerCore,
        '-',
      ],
    ],
    notes: [
      'Relay: a C sender (bench/c/rtp_blaster.c, sendmmsg; a JS thread without gcc) offers PCMU RTP to the A side of each pair for 3 s at up to 300,000 pps; the engine rewrites each packet in place and sends it from its B side (latched to a sink process that never reads). The result is 1 / (worker thread CPU time per relayed packet, from /proc/thread-self/schedstat, its receive and send system calls included): what one core sustains. The wall rate beside it is lower when other processes share the core (a 2-core machine, the load generator on one of them).',
      "Transcoding: by default (g722Transcoding: 'subband') a G.722 leg bridged to an 8 kHz codec is coded on its lower sub-band alone (spandsp's 8 kHz mode: no QMF, no higher-band decoding, no resampling; the G.722 QMF is then the anti-aliasing filter, -20.6 dB at 5 kHz); 'resample' decodes and encodes 16 kHz G.722 and resamples with the half-band filter (64 dB from 4.6 kHz).",
      'Transcoding and conference: phones (a thread with one connected socket per endpoint, blocked and never reading while the ticks run; 5 s of a speech-like signal, encoded, each phone at its own offset) queue 10 packets per endpoint, then the worker runs 10 ticks of its manual clock over them (after 50 uncounted warm-up ticks); the capacity is 20 ms / (process CPU time of those ticks per call or participant: decode, 8 <-> 16 kHz resampling, mix, encode, send), wall time inside the ticks shown beside it. Process CPU includes the main thread and V8 helper threads (GC), so it errs high; the CPU of the worker thread alone (schedstat) is shown beside it.',
      'Conference load (bench/lib/talk-spurts.mjs): every phone sends properly encoded audio, different in every frame: speech-like talk spurts (a harmonic voice with moving pitch and formants, 120-350 ms syllables with gaps and pauses, -20 to -26 dBFS voiced) or its own background noise (-70 to -55 dBFS). In the meeting row three floor slots pass the word around (spurts of 0.8-2.4 s), so about three talk at any time; the engine mixes only talkers (voice gate at -50 dBFS with a 300 ms hangover) and encodes the mix of everyone else once per codec. The worst-case row has everybody talk without pause. Both run 60 ticks before counting.',
    ],
  };
}
