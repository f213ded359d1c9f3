// SipTransportLayer.contactUri keeps its last answer; it must still follow the listeners (opened, closed) and
// the question (protocol, user, address family).
import { describe, expect, it } from 'vitest';
import { SipTransportLayer } from '../../src/transport/transport-layer.js';

describe('SipTransportLayer.contactUri', () => {
  it('follows the listeners and the question asked', async () => {
    const t = new SipTransportLayer();
    try {
      expect(t.contactUri('udp', 'alice')).toBeUndefined();
      const udp = await t.listen({ protocol: 'udp', address: '127.0.0.1', port: 0 });
      expect(t.contactUri('udp', 'alice')).toBe(`sip:alice@127.0.0.1:${udp.port}`);
      expect(t.contactUri('udp', 'alice')).toBe(`sip:alice@127.0.0.1:${udp.port}`);
      expect(t.contactUri('udp', 'bob')).toBe(`sip:bob@127.0.0.1:${udp.port}`);
      expect(t.contactUri('udp')).toBe(`sip:127.0.0.1:${udp.port}`);
      expect(t.contactUri('tcp', 'alice')).toBeUndefined();
      const tcp = await t.listen({ protocol: 'tcp', address: '127.0.0.1', port: 0 });
      expect(t.contactUri('tcp', 'alice')).toBe(`sip:alice@127.0.0.1:${tcp.port};transport=tcp`);
      expect(t.contactUri('udp', 'alice', '127.0.0.2')).toBe(`sip:alice@127.0.0.1:${udp.port}`);
      const v6 = await t.listen({ protocol: 'udp', address: '::1', port: 0 }).catch(() => undefined);
      if (v6 !== undefined) expect(t.contactUri('udp', 'alice', '::1')).toBe(`sip:alice@[::1]:${v6.port}`);
      expect(t.contactUri('udp', 'alice', '127.0.0.2')).toBe(`sip:alice@127.0.0.1:${udp.port}`);
    } finally {
      await t.close();
    }
    expect(t.contactUri('udp', 'alice')).toBeUndefined();
  });
});
