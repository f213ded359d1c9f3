// Test helpers: a recording transport port, requests, and a peer's view of what was sent.
import type { VirtualClock } from '../../src/clock.js';
import {
  createRequest,
  parseMessage,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from '../../src/message/index.js';
import type { SipTransportPort } from '../../src/transaction/index.js';
import type { SipEndpoint, SipInboundContext } from '../../src/transport/index.js';

export const UAC: SipEndpoint = { protocol: 'udp', address: '192.0.2.1', port: 5060 };
export const UAS: SipEndpoint = { protocol: 'udp', address: '192.0.2.2', port: 5060 };
export const UAC_TCP: SipEndpoint = { protocol: 'tcp', address: '192.0.2.1', port: 5060 };
export const UAS_TCP: SipEndpoint = { protocol: 'tcp', address: '192.0.2.2', port: 5060 };

export function contextFrom(source: SipEndpoint): SipInboundContext {
  return { source, local: source.protocol === 'udp' ? UAS : UAS_TCP };
}

/** Through the wire format, so each side holds its own copy. */
export function wire<T extends SipRequest | SipResponse>(m: T): T {
  return parseMessage(serializeMessage(m)) as T;
}

export interface SentRecord {
  readonly at: number;
  readonly message: SipRequest | SipResponse;
  readonly destination: SipEndpoint;
}

/** A port that records what is sent (copies, with the virtual time) and can be told to fail. */
export class RecordingPort implements SipTransportPort {
  readonly sent: SentRecord[] = [];
  failWith: 'throw' | 'reject' | undefined = undefined;

  constructor(private readonly clock: VirtualClock) {}

  send(message: SipRequest | SipResponse, destination: SipEndpoint): Promise<void> | undefined {
    if (this.failWith === 'throw') throw new Error('network unreachable');
    if (this.failWith === 'reject') return Promise.reject(new Error('connection refused'));
    this.sent.push({ at: this.clock.now(), message: wire(message), destination });
  }

  times(filter: (m: SipRequest | SipResponse) => boolean = () => true): number[] {
    return this.sent.filter((r) => filter(r.message)).map((r) => r.at);
  }

  requests(method?: string): SipRequest[] {
    return this.sent
      .map((r) => r.message)
      .filter((m): m is SipRequest => m.isRequest && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.sent
      .map((r) => r.message)
      .filter((m): m is SipResponse => m.isResponse && (status === undefined || m.status === status));
  }
}

let branchCounter = 0;

export function makeRequest(
  method: string,
  options: { branch?: string; transport?: string; cseq?: number; route?: boolean; toTag?: string } = {},
): SipRequest {
  const branch = options.branch ?? `z9hG4bK-test-${++branchCounter}`;
  return createRequest({
    method,
    uri: 'sip:bob@example.com',
    from: { uri: 'sip:alice@example.com', tag: 'from-tag-1' },
    to: { uri: 'sip:bob@example.com', tag: options.toTag },
    callId: `call-${branch}`,
    cseq: options.cseq ?? 1,
    via: { transport: options.transport ?? 'UDP', host: '192.0.2.1', port: 5060, branch },
    headers: options.route === false ? [] : [['Route', '<sip:proxy.example.com;lr>']],
  });
}
