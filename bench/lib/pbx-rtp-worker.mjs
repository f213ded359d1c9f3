// The RTP half of the PBX call load generator, in a worker thread so that sending and counting packets never delays
// the SIP signalling whose latency the generator measures. Each phone has one UDP socket bound once and one G.711
// packet rewritten in place (RFC 3550 5.1 header); one 5 ms tick sends every packet that is due.
// Messages in: {op:'bind', sides:[{id, ip, hz, peerHz, ssrc}]}, {op:'reset', id}, {op:'begin', id, address, port},
// {op:'stop', id}, {op:'finish', req, id, graceMs}. Out: {op:'bound', ports}, {op:'counts', req, sent, received, late, stray, firstIndex}.
import { createSocket } from 'node:dgram';
import { parentPort } from 'node:worker_threads';
import { ulawEncode } from '@switchyard/media';

const PACKET_MS = 20;
const PAYLOAD = 160; // G.711 at 8 kHz: 160 samples = 160 bytes per 20 ms (RFC 3551 4.5.14)

/** 20 ms of a sine at `hz` (a whole number of periods in 160 samples for 400 Hz or 1 kHz), mu-law encoded. */
function tone(hz) {
  const pcm = new Int16Array(PAYLOAD);
  for (let i = 0; i < PAYLOAD; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return ulawEncode(pcm);
}

class RtpSide {
  constructor(socket, payload, ssrc, expected) {
    this.socket = socket;
    this.packet = Buffer.alloc(12 + PAYLOAD);
    this.packet[0] = 0x80; // V=2, no padding, no extension, no CSRC
    this.packet.writeUInt32BE(ssrc >>> 0, 8);
    this.packet.set(payload, 12);
    this.seq = ssrc & 0xffff;
    this.ts = ssrc >>> 3;
    this.sent = 0;
    this.received = 0;
    this.late = 0;
    this.nextAt = 0;
    this.slot = -1;
    this.port = 0;
    this.address = '';
    this.stray = 0;
    // Only the peer's tone counts: ringback or announcements the PBX plays (early media) are other audio. A relay
    // passes the peer's G.711 payload through unchanged, so its first bytes identify it.
    const e0 = expected[0];
    const e1 = expected[1];
    const e2 = expected[2];
    const e3 = expected[3];
    // The sender's packet count rides in the payload's last two bytes: it tells which packets went missing.
    this.firstIndex = -1;
    socket.on('message', (m) => {
      if (m.length === 12 + PAYLOAD && m[12] === e0 && m[13] === e1 && m[14] === e2 && m[15] === e3) {
        if (this.received++ === 0) this.firstIndex = (m[10 + PAYLOAD] << 8) | m[11 + PAYLOAD];
      } else this.stray++;
    });
  }

  send() {
    const p = this.packet;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + PAYLOAD) >>> 0;
    p[2] = this.seq >> 8;
    p[3] = this.seq & 0xff;
    p.writeUInt32BE(this.ts, 4);
    p[10 + PAYLOAD] = (this.sent >> 8) & 0xff;
    p[11 + PAYLOAD] = this.sent & 0xff;
    this.socket.send(p, this.port, this.address);
    p[1] = 0; // PT 0 (PCMU); the marker only on the first packet
    this.sent++;
  }
}

const sides = new Map();
/** The sides sending now, dense (swap-remove), walked by one tick. */
const active = [];

function activate(side) {
  if (side.slot >= 0) return;
  side.slot = active.length;
  active.push(side);
}

function deactivate(side) {
  if (side.slot < 0) return;
  const last = active.pop();
  if (last !== side) {
    active[side.slot] = last;
    last.slot = side.slot;
  }
  side.slot = -1;
}

setInterval(() => {
  const now = performance.now();
  for (let i = 0; i < active.length; i++) {
    const side = active[i];
    // Catch up at most 3 packets; a generator further behind skips the rest and counts them as late (never sent).
    for (let n = 0; side.nextAt <= now && n < 3; n++) {
      side.send();
      side.nextAt += PACKET_MS;
    }
    while (side.nextAt <= now) {
      side.late++;
      side.nextAt += PACKET_MS;
    }
  }
}, 5);

parentPort.on('message', async (m) => {
  const side = sides.get(m.id);
  switch (m.op) {
    case 'bind': {
      const ports = [];
      const tones = new Map();
      for (const s of m.sides) {
        const socket = createSocket('udp4');
        await new Promise((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(0, s.ip, resolve);
        });
        for (const hz of [s.hz, s.peerHz]) if (!tones.has(hz)) tones.set(hz, tone(hz));
        sides.set(s.id, new RtpSide(socket, tones.get(s.hz), s.ssrc, tones.get(s.peerHz)));
        ports.push(socket.address().port);
      }
      parentPort.postMessage({ op: 'bound', ports });
      break;
    }
    case 'reset':
      // Zeroed when a call starts, before either side can send (the peer may start first).
      side.sent = 0;
      side.received = 0;
      side.late = 0;
      side.stray = 0;
      side.firstIndex = -1;
      break;
    case 'begin':
      side.address = m.address;
      side.port = m.port;
      side.nextAt = performance.now();
      side.packet[1] = 0x80; // marker: the start of a talkspurt (RFC 3551 4.1)
      activate(side);
      break;
    case 'stop':
      deactivate(side);
      break;
    case 'finish':
      // Stop sending, let the packets in flight land, then report.
      deactivate(side);
      setTimeout(() => {
        const { sent, received, late, stray, firstIndex } = side;
        parentPort.postMessage({ op: 'counts', req: m.req, sent, received, late, stray, firstIndex });
      }, m.graceMs);
      break;
    case 'close':
      for (const s of sides.values()) s.socket.close();
      process.exit(0);
  }
});
