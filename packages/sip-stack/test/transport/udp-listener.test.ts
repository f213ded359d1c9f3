import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { type SendErrorHandler, UdpListener } from '../../src/transport/listeners.js';
import { type RawSipInput, SipTransportError } from '../../src/transport/types.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function peer(address: string): Promise<Socket> {
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return s;
}

function within<T>(p: Promise<T>, ms = 3000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))]);
}

describe('UdpListener', () => {
  it('names each datagram source right when peers alternate, one endpoint object per run from a peer', async () => {
    const inputs: RawSipInput[] = [];
    let arrived: () => void = () => {};
    const objects = new Set<RawSipInput>();
    const listener = await UdpListener.open({ protocol: 'udp', address: '127.0.0.1', port: 0 }, (input) => {
      // the listener refills one input object per datagram: its fields are what a handler keeps
      objects.add(input);
      inputs.push({ ...input });
      arrived();
    });
    open.push(listener);
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    const c = await peer('127.0.0.1');
    const order = [a, a, b, a, c, c, b];
    for (const [i, s] of order.entries()) {
      const got = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      s.send(Buffer.from(`m${i}`), listener.local.port, '127.0.0.1');
      await got;
    }
    expect(inputs.map((x) => Buffer.from(x.bytes).toString())).toEqual(order.map((_, i) => `m${i}`));
    inputs.forEach((x, i) => {
      const from = order[i].address();
      expect(x.source).toEqual({ protocol: 'udp', address: from.address, port: from.port });
      expect(x.local).toBe(listener.local);
    });
    expect(inputs[1].source).toBe(inputs[0].source);
    expect(inputs[5].source).toBe(inputs[4].source);
    expect(inputs[3].source).not.toBe(inputs[0].source);
    expect(objects.size).toBe(1);
  });

  it('holds the datagrams of one turn for one flush and sends them in order', async () => {
    const flushes: Array<() => void> = [];
    const listener = await UdpListener.open(
      { protocol: 'udp', address: '127.0.0.1', port: 0 },
      () => {},
      (flush) => flushes.push(flush),
    );
    open.push(listener);
    const to = await peer('127.0.0.1');
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      to.on('message', (m) => {
        got.push(m.toString());
        if (got.length === 3) resolve();
      }),
    );
    const errors: unknown[] = [];
    for (const text of ['a', 'b', 'c']) {
      listener.sendNow(Buffer.from(text), '127.0.0.1', to.address().port, (e) => errors.push(e));
    }
    expect(flushes).toHaveLength(1);
    flushes[0]();
    await all;
    expect(got).toEqual(['a', 'b', 'c']);
    expect(errors).toEqual([]);
  });

  it('sends a long queue at once instead of waiting for the end of the turn', async () => {
    const listener = await UdpListener.open(
      { protocol: 'udp', address: '127.0.0.1', port: 0 },
      () => {},
      () => {},
    );
    open.push(listener);
    const to = await peer('127.0.0.1');
    let count = 0;
    const all = new Promise<void>((resolve) =>
      to.on('message', () => {
        if (++count === 64) resolve();
      }),
    );
    for (let i = 0; i < 64; i++) listener.sendNow(Buffer.from(`m${i}`), '127.0.0.1', to.address().port, () => {});
    await all;
    expect(count).toBe(64);
  });

  it('reports a datagram the kernel refuses to its sender, naming the destination (RFC 3261 18.4)', async () => {
    const listener = await UdpListener.open({ protocol: 'udp', address: '127.0.0.1', port: 0 }, () => {});
    open.push(listener);
    const to = await peer('127.0.0.1');
    const port = to.address().port;
    const failed = new Promise<SipTransportError>((resolve) =>
      // larger than any IPv4 datagram: EMSGSIZE
      listener.sendNow(new Uint8Array(70_000), '127.0.0.1', port, resolve),
    );
    const error = await failed;
    expect(error).toBeInstanceOf(SipTransportError);
    expect(error.code).toBe('send-failed');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    await expect(listener.send(new Uint8Array(70_000), '127.0.0.1', port)).rejects.toMatchObject({
      code: 'send-failed',
    });
  });

  it('reports a destination dgram refuses outright, and still sends the rest of the turn', async () => {
    const listener = await UdpListener.open({ protocol: 'udp', address: '127.0.0.1', port: 0 }, () => {});
    open.push(listener);
    const to = await peer('127.0.0.1');
    const arrived = new Promise<string>((resolve) => to.once('message', (m) => resolve(m.toString())));
    const errors: SipTransportError[] = [];
    // port 0 is no destination: dgram throws instead of calling back
    listener.sendNow(Buffer.from('lost'), '127.0.0.1', 0, (e) => errors.push(e));
    listener.sendNow(Buffer.from('kept'), '127.0.0.1', to.address().port, (e) => errors.push(e));
    expect(await arrived).toBe('kept');
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe('send-failed');
  });

  it('sends what was queued before close, and refuses what comes after', async () => {
    const listener = await UdpListener.open({ protocol: 'udp', address: '127.0.0.1', port: 0 }, () => {});
    const to = await peer('127.0.0.1');
    const arrived = new Promise<string>((resolve) => to.once('message', (m) => resolve(m.toString())));
    listener.sendNow(Buffer.from('last'), '127.0.0.1', to.address().port, () => {});
    await listener.close();
    expect(await arrived).toBe('last');
    const errors: SipTransportError[] = [];
    listener.sendNow(Buffer.from('late'), '127.0.0.1', to.address().port, (e) => errors.push(e));
    expect(errors.map((e) => e.code)).toEqual(['closed']);
    await expect(listener.send(Buffer.from('late'), '127.0.0.1', to.address().port)).rejects.toMatchObject({
      code: 'closed',
    });
  });

  it("sends response datagrams without dgram's callback, in order with confirmed ones", async () => {
    const flushes: Array<() => void> = [];
    const listener = await UdpListener.open(
      { protocol: 'udp', address: '127.0.0.1', port: 0 },
      () => {},
      (flush) => flushes.push(flush),
    );
    open.push(listener);
    const to = await peer('127.0.0.1');
    const port = to.address().port;
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      to.on('message', (m) => {
        got.push(m.toString());
        if (got.length === 3) resolve();
      }),
    );
    const socket = (listener as unknown as { socket: Socket }).socket;
    const callbacks: string[] = [];
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    socket.send = ((...args: unknown[]) => {
      callbacks.push(typeof args[3]);
      send(...args);
    }) as never;
    const errors: unknown[] = [];
    listener.sendUnconfirmed(Buffer.from('200 a'), '127.0.0.1', port, (e) => errors.push(e));
    listener.sendNow(Buffer.from('request'), '127.0.0.1', port, (e) => errors.push(e));
    listener.sendUnconfirmed(Buffer.from('200 b'), '127.0.0.1', port, (e) => errors.push(e));
    expect(flushes).toHaveLength(1);
    flushes[0]();
    await all;
    expect(got).toEqual(['200 a', 'request', '200 b']);
    expect(callbacks).toEqual(['undefined', 'function', 'undefined']);
    expect(errors).toEqual([]);
  });

  for (const [family, address, max] of [
    ['IPv4', '127.0.0.1', 65_507],
    ['IPv6', '::1', 65_527],
  ] as const) {
    it(`reports a response datagram over the largest ${family} UDP payload once, and sends one of exactly that size`, async () => {
      const listener = await UdpListener.open({ protocol: 'udp', address, port: 0 }, () => {}).catch(() => undefined);
      if (listener === undefined) return; // no ${family} loopback on this host
      open.push(listener);
      const to = await peer(address);
      const port = to.address().port;
      const sizes: number[] = [];
      const arrived = new Promise<void>((resolve) =>
        to.on('message', (m) => {
          sizes.push(m.length);
          resolve();
        }),
      );
      const errors: SipTransportError[] = [];
      const failed = new Promise<void>((resolve) => {
        const onError: SendErrorHandler = (e) => {
          errors.push(e);
          resolve();
        };
        listener.sendUnconfirmed(new Uint8Array(max + 1), address, port, onError);
        listener.sendUnconfirmed(new Uint8Array(max), address, port, onError);
      });
      // not told inside the call: the sender is still in the middle of sending
      expect(errors).toEqual([]);
      await within(failed);
      await within(arrived);
      expect(sizes).toEqual([max]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(SipTransportError);
      expect(errors[0].code).toBe('send-failed');
      expect(errors[0].message).toContain('EMSGSIZE');
      expect(errors[0].message).toContain(`${address}:${port}`);
    });
  }

  it('reports a response to a port dgram refuses, and one sent after close', async () => {
    const listener = await UdpListener.open({ protocol: 'udp', address: '127.0.0.1', port: 0 }, () => {});
    const to = await peer('127.0.0.1');
    const arrived = new Promise<string>((resolve) => to.once('message', (m) => resolve(m.toString())));
    const errors: SipTransportError[] = [];
    listener.sendUnconfirmed(Buffer.from('lost'), '127.0.0.1', 0, (e) => errors.push(e));
    listener.sendUnconfirmed(Buffer.from('kept'), '127.0.0.1', to.address().port, (e) => errors.push(e));
    expect(await arrived).toBe('kept');
    expect(errors.map((e) => e.code)).toEqual(['send-failed']);
    await listener.close();
    listener.sendUnconfirmed(Buffer.from('late'), '127.0.0.1', to.address().port, (e) => errors.push(e));
    expect(errors.map((e) => e.code)).toEqual(['send-failed', 'closed']);
  });

  it("sends a response to a host name with dgram's callback, so a failed lookup is still reported", async () => {
    const listener = await UdpListener.open({ protocol: 'udp', address: '127.0.0.1', port: 0 }, () => {});
    open.push(listener);
    const to = await peer('127.0.0.1');
    const socket = (listener as unknown as { socket: Socket }).socket;
    const callbacks: string[] = [];
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    socket.send = ((...args: unknown[]) => {
      callbacks.push(typeof args[3]);
      send(...args);
    }) as never;
    const arrived = new Promise<string>((resolve) => to.once('message', (m) => resolve(m.toString())));
    const errors: SipTransportError[] = [];
    // an IPv6 literal on an IPv4 socket is no literal of its family either
    listener.sendUnconfirmed(Buffer.from('v6'), '::1', to.address().port, (e) => errors.push(e));
    listener.sendUnconfirmed(Buffer.from('named'), 'localhost', to.address().port, (e) => errors.push(e));
    expect(await arrived).toBe('named');
    expect(callbacks).toEqual(['function', 'function']);
    await new Promise((r) => setTimeout(r, 20));
    expect(errors.map((e) => e.code)).toEqual(['send-failed']);
  });
});
