import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { UdpListener } from '../../src/transport/listeners.js';
import type { RawSipInput } from '../../src/transport/types.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function peer(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return s;
}

describe('UdpListener', () => {
  it('names each datagram source right when peers alternate, one endpoint object per run from a peer', async () => {
    const inputs: RawSipInput[] = [];
    let arrived: () => void = () => {};
    const listener = await UdpListener.open({ protocol: 'udp', address: '127.0.0.1', port: 0 }, (input) => {
      inputs.push(input);
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
  });
});
