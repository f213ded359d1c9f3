import { describe, expect, it } from 'vitest';
import { parseListenUrl } from '../../src/transport/listen-url.js';
import { SourceLimiter, turnClock } from '../../src/transport/source-limits.js';

describe('SourceLimiter', () => {
  it('lets a source send at its rate, limits a flood and blocks a persistent one, without touching others', () => {
    let now = 0;
    const limiter = new SourceLimiter(() => now, { messagesPerSecond: 10, burst: 10, blockMs: 5000 });
    for (let i = 0; i < 10; i++) expect(limiter.message('10.0.0.1')).toBe('ok');
    expect(limiter.message('10.0.0.1')).toBe('rate-limited');
    now += 100; // one token back
    expect(limiter.message('10.0.0.1')).toBe('ok');
    let verdict = 'ok';
    for (let i = 0; i < 30 && verdict !== 'blocked'; i++) verdict = limiter.message('10.0.0.1');
    expect(verdict).toBe('blocked');
    expect(limiter.message('10.0.0.2')).toBe('ok');
    now += 4999;
    expect(limiter.message('10.0.0.1')).toBe('blocked');
    now += 2;
    expect(limiter.isBlocked('10.0.0.1')).toBe(false);
    expect(limiter.counters.blocks).toBe(1);
  });

  it('caps concurrent connections per source', () => {
    const limiter = new SourceLimiter(() => 0, { connectionsPerSource: 2 });
    expect(limiter.connectionOpened('a')).toBe(true);
    expect(limiter.connectionOpened('a')).toBe(true);
    expect(limiter.connectionOpened('a')).toBe(false);
    expect(limiter.connectionOpened('b')).toBe(true);
    limiter.connectionClosed('a');
    expect(limiter.connectionOpened('a')).toBe(true);
    expect(limiter.counters.connectionsRefused).toBe(1);
  });

  it('forgets the least recently seen idle sources beyond its bound', () => {
    const limiter = new SourceLimiter(() => 0, { maxSources: 3, messagesPerSecond: 1, burst: 1 });
    for (const s of ['a', 'b', 'c', 'd']) limiter.message(s);
    expect(limiter.message('a')).toBe('ok'); // 'a' was evicted, so it starts with a fresh bucket
  });
});

describe('turnClock', () => {
  it('reads the clock once per event-loop turn', async () => {
    let reads = 0;
    let time = 1000;
    const now = turnClock(() => {
      reads++;
      return time;
    });
    expect(now()).toBe(1000);
    time = 2000;
    // the same turn: the time stands still
    expect(now()).toBe(1000);
    expect(reads).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(now()).toBe(2000);
    expect(reads).toBe(2);
  });

  it('keeps the limits: a burst within one turn is refused past the burst size, refilled turns later', async () => {
    let time = 0;
    const limiter = new SourceLimiter(
      turnClock(() => time),
      { messagesPerSecond: 10, burst: 3 },
    );
    const verdicts = [1, 2, 3, 4].map(() => limiter.message('192.0.2.1'));
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'rate-limited']);
    time = 1000;
    await new Promise((resolve) => setImmediate(resolve));
    expect(limiter.message('192.0.2.1')).toBe('ok');
  });
});

describe('parseListenUrl', () => {
  it('reads transport, address and port', () => {
    expect(parseListenUrl('udp://127.0.0.1:5060')).toEqual({ protocol: 'udp', address: '127.0.0.1', port: 5060 });
    expect(parseListenUrl('tcp://[::1]:5070')).toEqual({ protocol: 'tcp', address: '::1', port: 5070 });
    expect(parseListenUrl('tls://127.0.0.1')).toEqual({ protocol: 'tls', address: '127.0.0.1', port: 5061 });
    expect(parseListenUrl('ws://localhost:8080')).toEqual({ protocol: 'ws', address: '127.0.0.1', port: 8080 });
  });
  it('refuses what is not one', () => {
    for (const bad of ['http://127.0.0.1:80', 'udp://pbx.example.test:5060', 'udp://127.0.0.1:70000', 'udp:127.0.0.1'])
      expect(() => parseListenUrl(bad)).toThrow(/listen/);
  });
});
