// The engine on its real clock: generated audio goes out paced by wall time, one packet per 20 ms tick.
import { describe, expect, it } from 'vitest';
import { MediaEngine, type MediaEngineEvent } from '../../src/engine/index.js';
import { Phone, until } from './phone.js';

describe('MediaEngine on the real clock', () => {
  it('paces a 200 ms playback as 10 packets with stepping timestamps, then reports its end', async () => {
    const engine = await MediaEngine.start({ workers: 1, portRange: { min: 43500, max: 43599 } });
    const phone = await Phone.open();
    try {
      const events: MediaEngineEvent[] = [];
      engine.on('event', (e) => events.push(e));
      const ep = await engine.createEndpoint({
        address: '127.0.0.1',
        codecs: [{ payloadType: 8, encoding: 'PCMA', clockRate: 8000 }],
      });
      await engine.setRemote(ep.sessionId, { address: '127.0.0.1', port: phone.port });
      const id = await engine.play(ep.sessionId, [{ silenceMs: 200 }]);
      await until(() => events.some((e) => e.type === 'playbackEnded' && e.playbackId === id), 5000, 'end of playback');
      await phone.waitFor(10);
      expect(phone.received).toHaveLength(10);
      expect(phone.received[0].marker).toBe(true);
      for (let i = 1; i < 10; i++) {
        expect(phone.received[i].seq).toBe((phone.received[i - 1].seq + 1) & 0xffff);
        expect(phone.received[i].timestamp).toBe((phone.received[i - 1].timestamp + 160) >>> 0);
        expect(phone.received[i].payloadType).toBe(8);
      }
      await expect(engine.advanceClock(20)).rejects.toMatchObject({ code: 'NOT_MANUAL_CLOCK' });
    } finally {
      phone.close();
      await engine.shutdown();
    }
  });
});

describe('MediaEngine shutdown', () => {
  it('ends every session with engine-shutdown and refuses new work', async () => {
    const engine = await MediaEngine.start({ workers: 2, clock: 'manual', portRange: { min: 43600, max: 43699 } });
    const closed: string[] = [];
    engine.on('sessionClosed', (e) => closed.push(`${e.session}:${e.reason}`));
    const codecs = [{ payloadType: 0, encoding: 'PCMU' as const, clockRate: 8000 }];
    const a = await engine.createEndpoint({ address: '127.0.0.1', codecs, sessionId: 'alice' });
    await expect(engine.createEndpoint({ address: '127.0.0.1', codecs, sessionId: 'alice' })).rejects.toMatchObject({
      code: 'SESSION_EXISTS',
    });
    const iterator = engine.events();
    const firstEvent = iterator.next();
    await engine.shutdown();
    expect(closed).toEqual([`${a.sessionId}:engine-shutdown`]);
    expect((await firstEvent).value).toMatchObject({ type: 'sessionClosed', session: 'alice' });
    await iterator.return(undefined);
    await expect(engine.createEndpoint({ address: '127.0.0.1', codecs })).rejects.toMatchObject({
      code: 'ENGINE_CLOSED',
    });
  });
});
