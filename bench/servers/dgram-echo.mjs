// The floor under any Node SIP server: a bare node:dgram socket that turns each request into "SIP/2.0 200 OK"
// followed by the request's own header lines (no parsing, no state, no To-tag) and sends it back. ACKs get no
// answer, as with Kamailio's route in the same bench. It shows what Node's UDP path alone allows on this machine,
// beside our stateful UAS and Kamailio. Speaks the same IPC as stateful-uas.mjs.
import dgram from 'node:dgram';

const port = Number(process.argv[2] ?? 5090);
// 0 leaves the kernel's default socket buffers.
const bufferBytes = Number(process.argv[3] ?? 0);
const socket = dgram.createSocket({
  type: 'udp4',
  recvBufferSize: bufferBytes || undefined,
  // addresses are IP literals: no resolver tick per send
  lookup: (host, _options, callback) => callback(null, host, 4),
});
const status = Buffer.from('SIP/2.0 200 OK', 'latin1');
socket.on('error', () => {});
socket.on('message', (m, r) => {
  // "ACK " (RFC 3261 17.1.1.3: an ACK has no response)
  if (m[0] === 65 && m[1] === 67 && m[2] === 75 && m[3] === 32) return;
  const eol = m.indexOf(13);
  if (eol < 0) return;
  socket.send([status, m.subarray(eol)], r.port, r.address);
});
await new Promise((resolve) => socket.bind(port, '127.0.0.1', resolve));

process.on('message', (msg) => {
  if (msg === 'baseline' || msg === 'stats') {
    const m = process.memoryUsage();
    process.send({ heapUsed: m.heapUsed, external: m.external, cpu: process.cpuUsage(), liveTransactions: 0 });
  } else if (msg === 'stop') {
    socket.close(() => process.exit(0));
  }
});
process.send('ready');
