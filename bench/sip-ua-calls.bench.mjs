// CPU per call and per OPTIONS transaction in the user agent (issue 3), in one process: INVITE -> 200, ACK,
// BYE -> 200 (or OPTIONS -> 200) fed as datagrams into a
// UserAgent answering every call (as bench/servers/stateful-uas.mjs does), its datagrams serialized but not sent.
// It isolates what the stack does per call from the kernel and the load generator, so two builds compare on a busy
// machine: the figure is process CPU time (user + system) per call, and the heap each ended call still holds while
// its transactions wait out RFC 3261 Timers J and L (RFC 6026), 64*T1 with the default T1.
//
// It also runs the other side (UAC: places calls and hangs up), against a peer answering in the same process.
// It reaches into SipTransportLayer's private `receive` and `udp` (to feed datagrams and silence the socket).
//
// Standalone: node --expose-gc bench/sip-ua-calls.bench.mjs [calls] [uac|options]   (prints one JSON line)
// Profile:    node --cpu-prof --expose-gc bench/sip-ua-calls.bench.mjs 200000
import { pathToFileURL } from 'node:url';
import { createResponse, parseMessage, SipTransportLayer, serializeMessage, UserAgent } from '@switchyard/sip-stack';

const PEER = { protocol: 'udp', address: '127.0.0.1', port: 5999 };

function request(method, n, branch, cseq, toTag) {
  const to = toTag ? `<sip:bench@127.0.0.1>;tag=${toTag}` : '<sip:bench@127.0.0.1>';
  return Buffer.from(
    `${method} sip:bench@127.0.0.1:5090 SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-ld${n}${branch};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <sip:load@127.0.0.1>;tag=ld${n}\r\n` +
      `To: ${to}\r\n` +
      `Call-ID: c${n}@load\r\n` +
      `CSeq: ${cseq} ${method}\r\n` +
      'Contact: <sip:load@127.0.0.1:5999>\r\n' +
      'Content-Length: 0\r\n\r\n',
    'latin1',
  );
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A listening transport whose datagrams go to `onSend` instead of the socket; fed with `transport.receive`. */
async function silentTransport(onSend) {
  const transport = new SipTransportLayer({ limits: { messagesPerSecond: 1e9, burst: 1e9 } });
  const local = await transport.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
  if (typeof transport.receive !== 'function' || !Array.isArray(transport.udp))
    throw new Error('SipTransportLayer no longer has the private receive/udp this bench uses');
  for (const udp of transport.udp) {
    udp.sendNow = (bytes) => onSend(bytes);
    udp.sendUnconfirmed = (bytes) => onSend(bytes);
    udp.send = (bytes) => {
      onSend(bytes);
      return Promise.resolve();
    };
  }
  return { transport, local };
}

/** Runs `calls` calls through a fresh UA; returns CPU microseconds per call and bytes of heap per ended call. */
export async function runCalls(calls, { batch = 200, inspect, options = false } = {}) {
  // Serialized, counted, not sent: the kernel's share is not the stack's.
  let sent = 0;
  const { transport, local } = await silentTransport(() => void sent++);
  const ua = new UserAgent({ transport, aor: `sip:bench@127.0.0.1:${local.port}` });
  let toTag = '';
  let failures = 0;
  ua.onInvite = (call) => {
    toTag = call.toTag;
    call.accept().catch(() => void failures++);
  };
  const feed = (bytes) => transport.receive({ bytes, source: PEER, local });
  const one = (n) => {
    // OPTIONS mode: one out-of-dialog non-INVITE transaction answered 200 by the UA (a "call" of one request).
    if (options) return feed(request('OPTIONS', n, 'o', 1));
    feed(request('INVITE', n, 'i', 1));
    const tag = toTag;
    feed(request('ACK', n, 'a', 1, tag));
    feed(request('BYE', n, 'b', 2, tag));
  };
  const run = async (from, count) => {
    for (let n = from; n < from + count; ) {
      const end = Math.min(from + count, n + batch);
      for (; n < end; n++) one(n);
      await turn();
    }
  };
  await run(0, Math.min(20_000, calls)); // warm-up: optimized code, grown tables
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const live0 = ua.transactions.serverTransactionCount;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(1_000_000, calls);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  globalThis.gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const live = ua.transactions.serverTransactionCount - live0;
  const result = {
    calls,
    cpuUsPerCall: (cpu.user + cpu.system) / calls,
    callsPerCpuSecond: calls / ((cpu.user + cpu.system) / 1e6),
    wallMs,
    heapBytesPerEndedCall: globalThis.gc ? (heap1 - heap0) / calls : Number.NaN,
    liveServerTransactions: live,
    sessions: ua.activeSessions.length,
    sent,
    failures,
  };
  await inspect?.(ua);
  ua.close();
  await transport.close();
  return result;
}

/**
 * The other side: `calls` calls placed by a UA (INVITE, 200 from a peer that answers at once, ACK, our BYE and its
 * 200). The peer's responses are built from what the UA sent and fed back as datagrams; their building counts too.
 */
export async function runUacCalls(calls, { batch = 200, inspect } = {}) {
  let sent = 0;
  let peerTag = 0;
  let transport;
  let local;
  const answer = (bytes) => {
    const request = parseMessage(bytes);
    if (request.isResponse || request.method === 'ACK') return;
    const headers = request.method === 'INVITE' ? [['Contact', '<sip:peer@127.0.0.1:5999>']] : undefined;
    const response = createResponse(request, 200, undefined, { toTag: `p${peerTag++}`, headers });
    const out = serializeMessage(response);
    queueMicrotask(() => transport.receive({ bytes: out, source: PEER, local }));
  };
  ({ transport, local } = await silentTransport((bytes) => {
    sent++;
    answer(bytes);
  }));
  const ua = new UserAgent({ transport, aor: `sip:pbx@127.0.0.1:${local.port}` });
  let failures = 0;
  const one = (n) =>
    ua
      .call(`sip:${n}@127.0.0.1:5999`)
      .answered.then((session) => session.bye())
      .catch(() => void failures++);
  const run = async (count) => {
    for (let n = 0; n < count; ) {
      const end = Math.min(count, n + batch);
      const pending = [];
      for (; n < end; n++) pending.push(one(n));
      await Promise.all(pending);
      await turn();
    }
  };
  await run(Math.min(20_000, calls));
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  await run(calls);
  const cpu = process.cpuUsage(cpu0);
  globalThis.gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const result = {
    calls,
    cpuUsPerCall: (cpu.user + cpu.system) / calls,
    heapBytesPerEndedCall: globalThis.gc ? (heap1 - heap0) / calls : Number.NaN,
    liveClientTransactions: ua.transactions.clientTransactionCount,
    sessions: ua.activeSessions.length,
    sent,
    failures,
  };
  await inspect?.(ua);
  ua.close();
  await transport.close();
  return result;
}

const best = (runs) => runs.sort((x, y) => x.cpuUsPerCall - y.cpuUsPerCall)[0];
const heap = (r) => (globalThis.gc ? Math.round(r.heapBytesPerEndedCall) : 'needs --expose-gc');

export default async function () {
  const opt = [];
  for (let i = 0; i < 3; i++) opt.push(await runCalls(100_000, { options: true }));
  const uas = [];
  for (let i = 0; i < 3; i++) uas.push(await runCalls(50_000));
  const uac = [];
  for (let i = 0; i < 2; i++) uac.push(await runUacCalls(30_000));
  const o = best(opt);
  const a = best(uas);
  const b = best(uac);
  return {
    title: 'SIP user agent, in process: CPU per call (INVITE -> 200, ACK, BYE -> 200), datagrams not sent',
    columns: ['side', 'calls', 'CPU µs/call', 'calls per CPU-second', 'heap B per ended call'],
    rows: [
      ['UAS, OPTIONS -> 200 (one transaction)', o.calls, o.cpuUsPerCall, Math.round(1e6 / o.cpuUsPerCall), heap(o)],
      ['UAS (answers)', a.calls, a.cpuUsPerCall, Math.round(1e6 / a.cpuUsPerCall), heap(a)],
      ['UAC (places, hangs up)', b.calls, b.cpuUsPerCall, Math.round(1e6 / b.cpuUsPerCall), heap(b)],
    ],
    notes: [
      'Best of 3 (UAS, OPTIONS) and 2 (UAC) runs after a 20,000-call warm-up. The UAC row includes building and parsing',
      "the peer's responses. Heap is what ended calls still hold: their INVITE transactions for 64*T1 (RFC 6026",
      'Timers L/M), the BYE transactions for Timer J (UAS) or K (UAC, T4, so it varies with the run time).',
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const calls = Number(process.argv[2] ?? 100_000);
  const side = process.argv[3];
  const r = side === 'uac' ? await runUacCalls(calls) : await runCalls(calls, { options: side === 'options' });
  console.log(JSON.stringify(r));
  process.exit(0);
}
