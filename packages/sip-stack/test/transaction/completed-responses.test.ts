import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { ChunkPool, CompletedResponses, hashKey } from '../../src/transaction/completed-responses.js';

const UAC = { protocol: 'udp' as const, address: '192.0.2.7', port: 5070 };

function datagram(text: string, address = UAC.address) {
  return { bytes: Buffer.from(text, 'latin1'), destination: { ...UAC, address } };
}

describe('CompletedResponses (RFC 3261 17.2.2 Completed, off the JS heap)', () => {
  it('gives back the datagram kept under a key until Timer J, then nothing', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedResponses(clock, 32_000);
    expect(store.add('z9hG4bK1\n192.0.2.7:5070\nOPTIONS', datagram('SIP/2.0 200 OK\r\n\r\n'))).toBe(32_000);
    clock.advance(10_000);
    expect(store.add('z9hG4bK2\n192.0.2.7:5070\nOPTIONS', datagram('SIP/2.0 404 Not Found\r\n\r\n', '::1'))).toBe(
      42_000,
    );
    const a = store.find('z9hG4bK1\n192.0.2.7:5070\nOPTIONS');
    expect(a).toBeGreaterThanOrEqual(0);
    const d = store.datagram(a);
    expect(Buffer.from(d.bytes).toString('latin1')).toBe('SIP/2.0 200 OK\r\n\r\n');
    expect(d.destination).toEqual(UAC);
    expect(store.datagram(store.find('z9hG4bK2\n192.0.2.7:5070\nOPTIONS')).destination.address).toBe('::1');
    expect(store.find('z9hG4bK1\n192.0.2.7:5070\nREGISTER')).toBe(-1);
    expect(store.size).toBe(2);
    clock.advance(22_000);
    expect(store.find('z9hG4bK1\n192.0.2.7:5070\nOPTIONS')).toBe(-1);
    expect(store.find('z9hG4bK2\n192.0.2.7:5070\nOPTIONS')).toBeGreaterThanOrEqual(0);
    clock.advance(10_000);
    expect(store.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives back each record its own destination, past the addresses it names by number', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedResponses(clock, 1000, 4);
    // 4096 addresses are numbered; the rest are kept as bytes in the record; one repeats between others
    const addressOf = (i: number) => (i % 3 === 0 ? '192.0.2.1' : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const n = 7000;
    for (let i = 0; i < n; i++) store.add(`z9hG4bK${i}\nh\n\nOPTIONS`, datagram(`r${i}`, addressOf(i)));
    for (let i = 0; i < n; i++) {
      const d = store.datagram(store.find(`z9hG4bK${i}\nh\n\nOPTIONS`));
      expect(d.destination.address).toBe(addressOf(i));
      expect(Buffer.from(d.bytes).toString('latin1')).toBe(`r${i}`);
    }
    clock.advance(1000);
    expect(store.size).toBe(0);
    // every record gone: numbering starts again
    store.add('z9hG4bKa\nh\n\nOPTIONS', datagram('a', '::1'));
    expect(store.datagram(store.find('z9hG4bKa\nh\n\nOPTIONS')).destination.address).toBe('::1');
  });

  it('refuses what it cannot keep (non-latin1 key), so the caller keeps the transaction', () => {
    const store = new CompletedResponses(new VirtualClock(0), 100);
    expect(store.add('z9hG4bK\u2603\nh:1\nOPTIONS', datagram('x'))).toBeUndefined();
    expect(store.add('k', { bytes: new Uint8Array(2 << 20), destination: UAC })).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('matches like a Map through adds, forgets and expiry, across growth and chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('add' as const),
              key: fc.integer({ min: 0, max: 60 }),
              size: fc.integer({ min: 0, max: 70_000 }),
            }),
            fc.record({ op: fc.constant('forget' as const), key: fc.integer({ min: 0, max: 60 }) }),
            fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }),
          ),
          { maxLength: 400 },
        ),
        (ops) => {
          const clock = new VirtualClock(0);
          const store = new CompletedResponses(clock, 1000, 4);
          const model = new Map<string, { due: number; size: number }>();
          const expireModel = () => {
            for (const [k, v] of model) if (v.due <= clock.now()) model.delete(k);
          };
          for (const o of ops) {
            if (o.op === 'wait') {
              clock.advance(o.ms);
              expireModel();
            } else {
              const key = `z9hG4bK${o.key}\n127.0.0.1:5060\nOPTIONS`;
              const slot = store.find(key);
              expect(slot >= 0).toBe(model.has(key));
              if (o.op === 'forget') {
                if (slot >= 0) store.forget(slot);
                model.delete(key);
              } else if (slot < 0) {
                const text = `${o.key}:${'x'.repeat(o.size)}`;
                const due = store.add(key, datagram(text));
                model.set(key, { due: due as number, size: text.length });
              } else {
                const d = store.datagram(slot);
                expect(d.bytes.length).toBe(model.get(key)?.size);
                expect(Buffer.from(d.bytes.subarray(0, `${o.key}:`.length)).toString()).toBe(`${o.key}:`);
              }
            }
            expect(store.size).toBe(model.size);
          }
          clock.advance(1000);
          expect(store.size).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('still finds a key that probed past one forgotten or expired before it (index deletion)', () => {
    // keys sharing a home slot in the 8-slot index of a 4-record store, and one with the next home
    const key = (i: number) => `z9hG4bK${i}\n127.0.0.1:5060\nOPTIONS`;
    const home = (i: number) => hashKey(key(i)) & 7;
    const same: number[] = [];
    for (let i = 0; same.length < 3; i++) if (home(i) === 3) same.push(i);
    let next = 0;
    while (home(next) !== 4) next++;
    const clock = new VirtualClock(0);
    const store = new CompletedResponses(clock, 1000, 4);
    store.add(key(same[0]), datagram('a'));
    store.add(key(same[1]), datagram('b'));
    store.add(key(next), datagram('n'));
    store.add(key(same[2]), datagram('c'));
    store.forget(store.find(key(same[0])));
    expect(store.find(key(same[0]))).toBe(-1);
    for (const [k, text] of [
      [same[1], 'b'],
      [next, 'n'],
      [same[2], 'c'],
    ] as const) {
      expect(Buffer.from(store.datagram(store.find(key(k))).bytes).toString()).toBe(text);
    }
    store.forget(store.find(key(same[1])));
    expect(Buffer.from(store.datagram(store.find(key(same[2]))).bytes).toString()).toBe('c');
    expect(Buffer.from(store.datagram(store.find(key(next))).bytes).toString()).toBe('n');
    clock.advance(1000);
    expect(store.size).toBe(0);
  });

  it('grows a ring whose oldest record is not at its start', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedResponses(clock, 1000, 4);
    const key = (i: number) => `z9hG4bK-w${i}\n127.0.0.1:5060\nOPTIONS`;
    for (let i = 0; i < 3; i++) store.add(key(i), datagram(`r${i}`));
    clock.advance(500);
    store.add(key(3), datagram('r3'));
    clock.advance(500);
    // 0..2 expired: the ring's tail is at slot 3, and the next adds wrap around and then grow it twice
    for (let i = 4; i < 14; i++) store.add(key(i), datagram(`r${i}`));
    expect(store.size).toBe(11);
    for (let i = 3; i < 14; i++) expect(Buffer.from(store.datagram(store.find(key(i))).bytes).toString()).toBe(`r${i}`);
    clock.advance(500);
    expect(store.size).toBe(10);
    clock.advance(500);
    expect(store.size).toBe(0);
  });

  it('copies a staged key again when the chunk it was staged in went back to the pool meanwhile', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedResponses(clock, 1000, 16);
    const key = (i: number) => `z9hG4bK-chunk${i}\n127.0.0.1:5060\nOPTIONS`;
    const chunk = 1 << 18;
    // nine records of a chunk each, the last leaving too little room for a key: the stage goes to a tenth chunk
    for (let i = 0; i < 9; i++) {
      const fill = chunk - key(i).length - UAC.address.length - (i === 8 ? 4 : 100_000);
      store.add(key(i), datagram('x'.repeat(fill)));
    }
    const h = store.stage(key(99));
    // every record ends: ten chunks go back, more than the pool keeps, the staged one among those let go
    clock.advance(1000);
    expect(store.size).toBe(0);
    expect(store.add(key(99), datagram('late answer'), h)).toBe(2000);
    expect(Buffer.from(store.datagram(store.find(key(99), h)).bytes).toString()).toBe('late answer');
  });

  it('stages a key from its parts as the text the layer would make, and refuses what that text cannot be', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedResponses(clock, 1000, 16);
    const text = 'z9hG4bK-p1\nproxy.example.com\n5070\nOPTIONS';
    const staging = store.stageKey('z9hG4bK-p1', 'Proxy.EXAMPLE.com', 5070, 'OPTIONS');
    expect(staging).toBeGreaterThanOrEqual(0);
    expect(store.stagedHash).toBe(hashKey(text));
    expect(store.findStaged()).toBe(-1);
    expect(store.addStaged(staging, datagram('SIP/2.0 200 OK\r\n\r\n'))).toBe(1000);
    // the text finds it, and so does the same key staged again (no port: an empty field)
    expect(store.find(text)).toBeGreaterThanOrEqual(0);
    store.stageKey('z9hG4bK-p1', 'proxy.example.com', 5070, 'OPTIONS');
    expect(store.findStaged()).toBe(store.find(text));
    store.stageKey('z9hG4bK-p1', 'proxy.example.com', undefined, 'OPTIONS');
    expect(store.findStaged()).toBe(-1);
    expect(store.stagedHash).toBe(hashKey('z9hG4bK-p1\nproxy.example.com\n\nOPTIONS'));
    // a staging used up (another add or stage since) is refused: the caller adds the text instead
    const a = store.stageKey('z9hG4bK-p2', 'h', 1, 'INFO');
    store.add('other', datagram('x'));
    expect(store.addStaged(a, datagram('y'))).toBeUndefined();
    const b = store.stageKey('z9hG4bK-p3', 'h', 1, 'INFO');
    store.stage('z9hG4bK-p4\nh\n1\nINFO');
    expect(store.addStaged(b, datagram('y'))).toBeUndefined();
    expect(store.find('z9hG4bK-p3\nh\n1\nINFO')).toBe(-1);
    // parts whose text toLowerCase or the store would treat otherwise: the caller uses the text
    // no magic cookie (RFC 3261 8.1.1.7, compared case-sensitively as isRfc3261Branch does), or nothing after it
    for (const branch of ['z9hG4bK', 'Z9hG4bK-p5', 'z9hG4bk-p5', 'x9hG4bK-p5', 'p5'])
      expect(store.stageKey(branch, 'h', 1, 'INFO')).toBe(-1);
    expect(store.stageKey('z9hG4bK1', 'h', 1, 'INFO')).toBeGreaterThanOrEqual(0);
    expect(store.stageKey('z9hG4bK-p5', 'h\u00c9te', 1, 'INFO')).toBe(-1);
    expect(store.stageKey('z9hG4bK-\u2603', 'h', 1, 'INFO')).toBe(-1);
    expect(store.stageKey('z9hG4bK-p6', 'h', 1.5, 'INFO')).toBe(-1);
    expect(store.stageKey('z9hG4bK-p6', 'h', -1, 'INFO')).toBe(-1);
    expect(store.stageKey('z9hG4bK-p6', 'h', 2 ** 31, 'INFO')).toBe(-1);
    // ports of every length are written as their decimal text
    for (const port of [0, 7, 10, 99, 100, 5060, 65535, 100000, 1234567, 2 ** 31 - 1]) {
      expect(store.stageKey('z9hG4bK-p7', 'h', port, 'INFO')).toBeGreaterThanOrEqual(0);
      expect(store.stagedHash).toBe(hashKey(`z9hG4bK-p7\nh\n${port}\nINFO`));
    }
    expect(store.addStaged(-1, datagram('y'))).toBeUndefined();
    expect(store.size).toBe(2);
  });

  it('takes its chunks as shared memory, which V8 leaves out of the external memory that starts full collections', () => {
    // Measured with process.memoryUsage(): 100 such chunks add 26 MB to arrayBuffers and 40 B to external.
    const pool = new ChunkPool();
    const chunk = pool.take();
    expect(chunk.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(chunk.byteLength).toBe(1 << 18);
    pool.give(chunk);
    expect(pool.take()).toBe(chunk);
  });

  it('keeps thousands at once (the index grows) and lets them all go at Timer J', () => {
    const clock = new VirtualClock(0);
    const store = new CompletedResponses(clock, 32_000);
    for (let i = 0; i < 5000; i++) {
      store.add(`z9hG4bK-${i}\n127.0.0.1:5060\nOPTIONS`, datagram(`SIP/2.0 200 OK\r\nX: ${i}\r\n\r\n`));
      if (i % 10 === 0) clock.advance(1);
    }
    for (let i = 0; i < 5000; i += 7) {
      const d = store.datagram(store.find(`z9hG4bK-${i}\n127.0.0.1:5060\nOPTIONS`));
      expect(Buffer.from(d.bytes).toString()).toContain(`X: ${i}\r\n`);
    }
    clock.advance(32_000);
    expect(store.size).toBe(0);
    expect(store.find('z9hG4bK-1\n127.0.0.1:5060\nOPTIONS')).toBe(-1);
  });
});
