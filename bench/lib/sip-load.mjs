// A SIP load generator, run as its own process (node bench/lib/sip-load.mjs '<json options>'), so it never shares a
// core's event loop with the server it measures. It keeps a window of transactions outstanding over UDP, retransmits
// unanswered requests after T1 like a client transaction would (RFC 3261 17.1.2.2 timer E), and prints one JSON line.
// Modes: 'options' (OPTIONS -> 200) and 'call' (INVITE -> 200, ACK, BYE -> 200).
// It parses responses with indexOf on the fields it needs, so that it is never the bottleneck.
import { createSocket } from 'node:dgram';

const opts = JSON.parse(process.argv[2] ?? '{}');
const target = { host: opts.host ?? '127.0.0.1', port: opts.port ?? 5060 };
const mode = opts.mode ?? 'options';
const window = opts.window ?? 200;
const durationMs = opts.durationMs ?? 5000;
const warmupMs = opts.warmupMs ?? 1000;
const t1 = opts.t1 ?? 500;
const bufferBytes = opts.bufferBytes ?? 4 * 1024 * 1024;

const socket = createSocket('udp4');
await new Promise((r) => socket.bind(0, '127.0.0.1', r));
socket.setRecvBufferSize(bufferBytes);
socket.setSendBufferSize(bufferBytes);
const localPort = socket.address().port;

let seq = 0;
const outstanding = new Map(); // branch -> { sentAt, bytes, retries, step, callId }
const stats = { completed: 0, retransmissions: 0, timeouts: 0, failures: 0, latencies: [] };
let measuring = false;
let stopping = false;

function request(method, callId, cseq, branch, toTag) {
  const to = toTag ? `<sip:bench@${target.host}>;tag=${toTag}` : `<sip:bench@${target.host}>`;
  return Buffer.from(
    `${method} sip:bench@${target.host}:${target.port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=${branch};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <sip:load@127.0.0.1>;tag=ld${callId}\r\n` +
      `To: ${to}\r\n` +
      `Call-ID: ${callId}@load\r\n` +
      `CSeq: ${cseq} ${method}\r\n` +
      `Contact: <sip:load@127.0.0.1:${localPort}>\r\n` +
      'Content-Length: 0\r\n\r\n',
    'latin1',
  );
}

function send(bytes) {
  socket.send(bytes, target.port, target.host);
}

function start(step, callId, toTag) {
  const n = ++seq;
  const branch = `z9hG4bK-ld${n}`;
  const method = step === 'options' ? 'OPTIONS' : step === 'invite' ? 'INVITE' : 'BYE';
  const cseq = step === 'bye' ? 2 : 1;
  const id = callId ?? `c${n}`;
  const bytes = request(method, id, cseq, branch, toTag);
  outstanding.set(branch, { sentAt: performance.now(), bytes, retries: 0, step, callId: id, began: performance.now() });
  send(bytes);
}

function startNext() {
  if (stopping) return;
  start(mode === 'options' ? 'options' : 'invite');
}

function field(text, name) {
  const i = text.indexOf(name);
  if (i < 0) return undefined;
  let e = i + name.length;
  while (e < text.length) {
    const c = text.charCodeAt(e);
    if (c === 59 || c === 13 || c === 10 || c === 44 || c === 32) break;
    e++;
  }
  return text.slice(i + name.length, e);
}

socket.on('message', (buf) => {
  const text = buf.toString('latin1');
  const status = Number(text.slice(8, 11));
  if (status < 200) return;
  const branch = field(text, 'branch=');
  const tx = outstanding.get(branch);
  if (!tx) return; // a retransmitted final response
  outstanding.delete(branch);
  if (status >= 300) stats.failures++;
  if (tx.step === 'invite') {
    const toTag = field(text.slice(text.search(/\r\n(To|t):/i)), 'tag=');
    // The ACK for a 2xx is its own transaction with a new branch (RFC 3261 13.2.2.4); no response comes.
    const ack = request('ACK', tx.callId, 1, `z9hG4bK-ack${++seq}`, toTag);
    send(ack);
    start('bye', tx.callId, toTag);
    const next = outstanding.get(`z9hG4bK-ld${seq}`);
    if (next) next.began = tx.began;
    return;
  }
  if (measuring) {
    stats.completed++;
    if (stats.latencies.length < 200_000) stats.latencies.push(performance.now() - tx.began);
  }
  startNext();
});

// Retransmission and timeout sweep: every 50 ms, like timers E and F at coarse granularity.
const sweep = setInterval(() => {
  const now = performance.now();
  for (const [branch, tx] of outstanding) {
    if (now - tx.sentAt < t1 * 2 ** Math.min(tx.retries, 3)) continue;
    if (tx.retries >= 6) {
      outstanding.delete(branch);
      if (measuring) stats.timeouts++;
      startNext();
      continue;
    }
    tx.retries++;
    tx.sentAt = now;
    if (measuring) stats.retransmissions++;
    send(tx.bytes);
  }
}, 50);

for (let i = 0; i < window; i++) startNext();
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const began = performance.now();
await new Promise((r) => setTimeout(r, durationMs));
measuring = false;
const elapsed = (performance.now() - began) / 1000;
stopping = true;
clearInterval(sweep);
socket.close();
const lat = stats.latencies.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : 0);
process.stdout.write(
  `${JSON.stringify({
    mode,
    window,
    seconds: elapsed,
    completed: stats.completed,
    perSecond: stats.completed / elapsed,
    retransmissions: stats.retransmissions,
    timeouts: stats.timeouts,
    failures: stats.failures,
    p50ms: pct(0.5),
    p99ms: pct(0.99),
  })}\n`,
);
