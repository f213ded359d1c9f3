// The media collector against a real MediaEngine (worker threads, RTP over loopback): what the workers count is
// what a scrape shows, closed sessions keep their packets in the totals, and events are counted.
import { createSocket, type Socket } from 'node:dgram';
import { MediaEngine } from '@switchyard/media';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngineMetrics } from '../src/metrics/media-metrics.js';

let engine: MediaEngine;

beforeAll(async () => {
  engine = await MediaEngine.start({
    workers: 1,
    clock: 'manual',
    portRange: { min: 43100, max: 43199 },
    statisticsIntervalMs: 0,
  });
});

afterAll(async () => {
  await engine?.shutdown();
});

async function udp(): Promise<{ socket: Socket; port: number; received: () => number }> {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => count++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received: () => count };
}

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80;
  b[1] = 0; // PCMU
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0x1234abcd, 8);
  return b;
}

/** The value of one series in exposition text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until(probe: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MediaEngineMetrics', () => {
  it('shows RTP packets, sessions and load per worker, and keeps closed sessions in the totals', async () => {
    const registry = new Registry();
    const metrics = new MediaEngineMetrics(engine, registry);
    const phoneA = await udp();
    const phoneB = await udp();
    try {
      const pcmu = { payloadType: 0, encoding: 'PCMU', clockRate: 8000 } as const;
      const a = await engine.createEndpoint({ address: '127.0.0.1', codecs: [pcmu], group: 'm' });
      const b = await engine.createEndpoint({ address: '127.0.0.1', codecs: [pcmu], group: 'm' });
      await engine.setRemote(a.sessionId, { address: '127.0.0.1', port: phoneA.port });
      await engine.setRemote(b.sessionId, { address: '127.0.0.1', port: phoneB.port });
      expect(await engine.bridge(a.sessionId, b.sessionId)).toEqual({ mode: 'relay' });
      for (let i = 0; i < 30; i++) phoneA.socket.send(rtp(i + 1), a.port, '127.0.0.1');
      await until(() => phoneB.received() >= 30);
      await engine.advanceClock(100);

      let text = await registry.metrics();
      expect(sample(text, 'switchyard_media_rtp_packets_total{worker="0",direction="received"}')).toBe(30);
      expect(sample(text, 'switchyard_media_rtp_packets_total{worker="0",direction="sent"}')).toBe(30);
      expect(sample(text, 'switchyard_media_worker_sessions{worker="0"}')).toBe(2);
      expect(sample(text, 'switchyard_media_workers')).toBe(1);
      expect(sample(text, 'switchyard_media_worker_ticks_total{worker="0"}')).toBeGreaterThanOrEqual(5);
      expect(sample(text, 'switchyard_media_worker_busy_seconds_total{worker="0"}')).toBeGreaterThanOrEqual(0);

      await engine.close(a.sessionId);
      await engine.close(b.sessionId);
      text = await registry.metrics();
      // A counter must never go down: the packets of the closed sessions stay counted.
      expect(sample(text, 'switchyard_media_rtp_packets_total{worker="0",direction="received"}')).toBe(30);
      expect(sample(text, 'switchyard_media_worker_sessions{worker="0"}')).toBe(0);
      expect(sample(text, 'switchyard_media_sessions_closed_total{reason="closed"}')).toBe(2);
    } finally {
      metrics.detach();
      phoneA.socket.close();
      phoneB.socket.close();
    }
  });

  it('counts RTP timeouts from the engine events', async () => {
    const registry = new Registry();
    const metrics = new MediaEngineMetrics(engine, registry);
    try {
      const ep = await engine.createEndpoint({
        address: '127.0.0.1',
        codecs: [{ payloadType: 0, encoding: 'PCMU', clockRate: 8000 }],
        rtpTimeoutSeconds: 1,
      });
      const timedOut = new Promise((resolve) => engine.once('rtpTimeout', resolve));
      await engine.advanceClock(1500);
      await timedOut;
      expect(sample(await registry.metrics(), 'switchyard_media_rtp_timeouts_total')).toBe(1);
      await engine.close(ep.sessionId);
    } finally {
      metrics.detach();
    }
  });

  it('shows no worker series once the engine is stopped, instead of failing the scrape', async () => {
    const stopped = await MediaEngine.start({ workers: 1, clock: 'manual', portRange: { min: 43200, max: 43299 } });
    const registry = new Registry();
    new MediaEngineMetrics(stopped, registry);
    await stopped.shutdown();
    const text = await registry.metrics();
    expect(text).not.toContain('switchyard_media_rtp_packets_total{');
    expect(text).toContain('# TYPE switchyard_media_rtp_packets_total counter');
  });
});
