// A stateful UAS on our stack for the transaction benchmark: every request gets its own server transaction;
// OPTIONS and BYE are answered 200, INVITE 200 (retransmitted until the ACK, RFC 3261 13.3.1.4).
// Run by bench/sip-transactions.bench.mjs as a child process with an IPC channel; it reports figures over IPC.
import { SipTransportLayer, UserAgent } from '@switchyard/sip-stack';

const port = Number(process.argv[2] ?? 5090);
// 0 leaves the kernel's default socket buffers.
const bufferBytes = Number(process.argv[3] ?? 0);
const transport = new SipTransportLayer({ limits: { messagesPerSecond: 1e9, burst: 1e9 } });
await transport.listen({
  protocol: 'udp',
  address: '127.0.0.1',
  port,
  // Only the receive buffer, as Kamailio's maxbuffer does: the two servers compare under the same buffers.
  receiveBufferSize: bufferBytes || undefined,
});
const ua = new UserAgent({ transport, aor: `sip:bench@127.0.0.1:${port}` });
ua.onInvite = (call) => void call.accept().catch(() => {});

let peakTransactions = 0;
const sampler = setInterval(() => {
  const live = ua.transactions.serverTransactionCount + ua.transactions.clientTransactionCount;
  if (live > peakTransactions) peakTransactions = live;
}, 100);

process.on('message', (msg) => {
  if (msg === 'baseline') {
    globalThis.gc?.();
    const m = process.memoryUsage();
    process.send({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, cpu: process.cpuUsage() });
  } else if (msg === 'stats') {
    const live = ua.transactions.serverTransactionCount + ua.transactions.clientTransactionCount;
    globalThis.gc?.();
    const m = process.memoryUsage();
    process.send({
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      cpu: process.cpuUsage(),
      liveTransactions: live,
      peakTransactions,
      sessions: ua.activeSessions.length,
      received: transport.counters.received,
      sent: transport.counters.sent,
    });
  } else if (msg === 'stop') {
    clearInterval(sampler);
    ua.close();
    void transport.close().then(() => process.exit(0));
  }
});
process.send('ready');
