// CPU per call in the user agent (issue 3), in one process: INVITE -> 200, ACK, BYE -> 200 fed as datagrams into a
// UserAgent answering every call (as bench/servers/stateful-uas.mjs does), its datagrams serialized but not sent.
// It isolates what the stack does per call from the kernel and the load generator, so two builds compare on a busy
// machine: the figure is process CPU time (user + system) per call, and the heap each ended call still holds while
// its transactions wait out RFC 3261 Timers J and L (RFC 6026), 64*T1 with the default T1.
//
// Standalone: node --expose-gc bench/sip-ua-calls.bench.mjs [calls]   (also prints one JSON line)
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

/** Runs `calls` calls through a fresh UA; returns CPU microseconds per call and bytes of heap per ended call. */
export async function runCalls(calls, { batch = 200, inspect } = {}) {
  const transport = new SipTransportLayer({ limits: { messagesPerSecond: 1e9, burst: 1e9 } });
  const local = await transport.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
  // Serialized, counted, not sent: the kernel's share is not the stack's.
  let sent = 0;
  for (const udp of transport.udp) udp.sendNow = () => void sent++;
  const ua = new UserAgent({ transport, aor: `sip:bench@127.0.0.1:${local.port}` });
  let toTag = '';
  let failures = 0;
  ua.onInvite = (call) => {
    toTag = call.toTag;
    call.accept().catch(() => void failures++);
  };
  const feed = (bytes) => transport.receive({ bytes, source: PEER, local });
  const one = (n) => {
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
  const transport = new SipTransportLayer({ limits: { messagesPerSecond: 1e9, burst: 1e9 } });
  const local = await transport.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
  const peer = { protocol: 'udp', address: '127.0.0.1', port: 5999 };
  let sent = 0;
  let peerTag = 0;
  const answer = (bytes) => {
    const request = parseMessage(bytes);
    if (request.isResponse || request.method === 'ACK') return;
    const headers = request.method === 'INVITE' ? [['Contact', '<sip:peer@127.0.0.1:5999>']] : undefined;
    const response = createResponse(request, 200, undefined, { toTag: `p${peerTag++}`, headers });
    const out = serializeMessage(response);
    queueMicrotask(() => transport.receive({ bytes: out, source: peer, local }));
  };
  for (const udp of transport.udp) {
    udp.sendNow = (bytes) => {
      sent++;
      answer(bytes);
    };
    udp.send = (bytes) => {
      sent++;
      answer(bytes);
      return Promise.resolve();
    };
  }
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

export default async function () {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await runCalls(50_000));
  runs.sort((a, b) => a.cpuUsPerCall - b.cpuUsPerCall);
  const best = runs[0];
  return {
    title: 'SIP user agent, in process: CPU per call (INVITE -> 200, ACK, BYE -> 200), datagrams not sent',
    columns: ['calls', 'CPU µs/call', 'calls per CPU-second', 'heap B per ended call', 'server tx live'],
    rows: [
      [
        best.calls,
        best.cpuUsPerCall,
        Math.round(best.callsPerCpuSecond),
        globalThis.gc ? Math.round(best.heapBytesPerEndedCall) : 'needs --expose-gc',
        best.liveServerTransactions,
      ],
    ],
    notes: [
      'Best of 3 runs of 50,000 calls after a 20,000-call warm-up; each ended call keeps its INVITE and BYE server',
      'transactions for 64*T1 (RFC 6026 Timer L, RFC 3261 Timer J), which the heap figure includes.',
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const calls = Number(process.argv[2] ?? 100_000);
  const r = process.argv[3] === 'uac' ? await runUacCalls(calls) : await runCalls(calls);
  console.log(JSON.stringify(r));
  process.exit(0);
}
