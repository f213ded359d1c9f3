// Locating SIP servers (RFC 3263): NAPTR -> SRV -> A/AAAA, producing an ordered list of targets to try in turn.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { SipTransportProtocol } from './types.js';

/** One place to send a request: try them in order, moving on after a transport error or a 503 (RFC 3263 4.3). */
export interface SipTarget {
  readonly protocol: SipTransportProtocol;
  readonly address: string;
  readonly port: number;
}

export interface NaptrRecord {
  readonly flags: string;
  readonly service: string;
  readonly regexp: string;
  readonly replacement: string;
  readonly order: number;
  readonly preference: number;
}

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** The DNS look-ups RFC 3263 needs; `dnsResolver` uses node:dns, tests pass an in-memory one. */
export interface SipResolver {
  naptr(name: string): Promise<readonly NaptrRecord[]>;
  srv(name: string): Promise<readonly SrvRecord[]>;
  a(name: string): Promise<readonly string[]>;
  aaaa(name: string): Promise<readonly string[]>;
}

/** What a URI says about where to go: host, optional port and transport parameter, and whether it is sips:. */
export interface SipLocateRequest {
  readonly host: string;
  readonly port?: number;
  readonly transport?: string;
  readonly secure?: boolean;
}

export interface SipLocatorOptions {
  readonly resolver?: SipResolver;
  /** Transports this stack can use, in order of preference when DNS expresses none. */
  readonly supported?: readonly SipTransportProtocol[];
  /** For SRV weight selection (RFC 2782); inject for deterministic tests. */
  readonly random?: () => number;
  readonly ipv6?: boolean;
}

// RFC 3263 4.1 / RFC 7118 5: NAPTR service fields and the SRV prefixes they map to.
const NAPTR_SERVICES: Record<string, SipTransportProtocol> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
  'SIP+D2W': 'ws',
  'SIPS+D2W': 'wss',
};

const SRV_PREFIX: Record<SipTransportProtocol, string> = {
  udp: '_sip._udp.',
  tcp: '_sip._tcp.',
  tls: '_sips._tcp.',
  ws: '_sip._ws.',
  wss: '_sips._ws.',
};

const DEFAULT_PORT: Record<SipTransportProtocol, number> = { udp: 5060, tcp: 5060, tls: 5061, ws: 80, wss: 443 };

function resolverQuietly<T>(p: Promise<readonly T[]>): Promise<readonly T[]> {
  // A name that does not exist is an empty answer here, not an error: the procedure falls through to the next step.
  return p.catch(() => []);
}

export const dnsResolver: SipResolver = {
  naptr: (name) => resolverQuietly(dns.resolveNaptr(name)),
  srv: (name) => resolverQuietly(dns.resolveSrv(name)),
  a: (name) => resolverQuietly(dns.resolve4(name)),
  aaaa: (name) => resolverQuietly(dns.resolve6(name)),
};

/** An in-memory resolver: records keyed by name, for tests and for static configurations. */
export class StaticSipResolver implements SipResolver {
  constructor(
    private readonly records: {
      naptr?: Record<string, NaptrRecord[]>;
      srv?: Record<string, SrvRecord[]>;
      a?: Record<string, string[]>;
      aaaa?: Record<string, string[]>;
    },
  ) {}
  async naptr(name: string): Promise<readonly NaptrRecord[]> {
    return this.records.naptr?.[name.toLowerCase()] ?? [];
  }
  async srv(name: string): Promise<readonly SrvRecord[]> {
    return this.records.srv?.[name.toLowerCase()] ?? [];
  }
  async a(name: string): Promise<readonly string[]> {
    return this.records.a?.[name.toLowerCase()] ?? [];
  }
  async aaaa(name: string): Promise<readonly string[]> {
    return this.records.aaaa?.[name.toLowerCase()] ?? [];
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function asProtocol(transport: string | undefined, secure: boolean): SipTransportProtocol | undefined {
  if (transport === undefined) return undefined;
  switch (transport.toLowerCase()) {
    case 'udp':
      return 'udp';
    case 'tcp':
      return secure ? 'tls' : 'tcp';
    case 'tls':
      return 'tls';
    case 'ws':
      return secure ? 'wss' : 'ws';
    case 'wss':
      return 'wss';
    default:
      return undefined;
  }
}

/** RFC 2782: order SRV records by priority, and within a priority by weighted random selection. */
export function orderSrvRecords(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority);
    if (list) list.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const out: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero-weight records first so they have a small chance of selection (RFC 2782 "Usage rules").
    const pool = byPriority.get(priority)!.sort((a, b) => a.weight - b.weight);
    while (pool.length > 0) {
      const total = pool.reduce((s, r) => s + r.weight, 0);
      const pick = random() * (total + 1);
      let sum = 0;
      let index = pool.length - 1;
      for (let i = 0; i < pool.length; i++) {
        sum += pool[i].weight;
        if (sum >= pick) {
          index = i;
          break;
        }
      }
      out.push(pool[index]);
      pool.splice(index, 1);
    }
  }
  return out;
}

/** Resolves a SIP URI's host part into an ordered list of targets (RFC 3263 section 4). */
export class SipLocator {
  private readonly resolver: SipResolver;
  private readonly supported: readonly SipTransportProtocol[];
  private readonly random: () => number;
  private readonly ipv6: boolean;

  constructor(options: SipLocatorOptions = {}) {
    this.resolver = options.resolver ?? dnsResolver;
    this.supported = options.supported ?? ['udp', 'tcp', 'tls'];
    this.random = options.random ?? Math.random;
    this.ipv6 = options.ipv6 ?? true;
  }

  async locate(request: SipLocateRequest): Promise<SipTarget[]> {
    const secure = request.secure ?? false;
    const host = stripBrackets(request.host);
    const numeric = isIP(host) !== 0;
    const explicit = asProtocol(request.transport, secure);
    if (request.transport !== undefined && (explicit === undefined || !this.supported.includes(explicit))) return [];

    // RFC 3263 4.1: a numeric host or an explicit port picks UDP (TLS for sips) unless a transport is named.
    if (numeric) {
      const protocol = explicit ?? (secure ? 'tls' : 'udp');
      return [{ protocol, address: host, port: request.port ?? DEFAULT_PORT[protocol] }];
    }
    if (request.port !== undefined) {
      const protocol = explicit ?? (secure ? 'tls' : 'udp');
      return this.addresses(host, protocol, request.port);
    }
    if (explicit) {
      const viaSrv = await this.srvTargets(`${SRV_PREFIX[explicit]}${host}`, explicit);
      return viaSrv.length > 0 ? viaSrv : this.addresses(host, explicit, DEFAULT_PORT[explicit]);
    }

    // NAPTR (4.1): services we support, ordered by order then preference; sips: keeps only secure ones.
    const naptr = (await this.resolver.naptr(host))
      .filter((r) => r.flags.toLowerCase() === 's')
      .map((r) => ({ r, protocol: NAPTR_SERVICES[r.service.toUpperCase()] }))
      .filter((x) => x.protocol !== undefined && this.supported.includes(x.protocol))
      .filter((x) => !secure || x.protocol === 'tls' || x.protocol === 'wss')
      .sort((a, b) => a.r.order - b.r.order || a.r.preference - b.r.preference);
    const targets: SipTarget[] = [];
    for (const { r, protocol } of naptr) targets.push(...(await this.srvTargets(r.replacement, protocol)));
    if (targets.length > 0) return targets;

    // No NAPTR: SRV for each supported transport (4.1, last paragraphs).
    for (const protocol of this.supported) {
      if (secure && protocol !== 'tls' && protocol !== 'wss') continue;
      targets.push(...(await this.srvTargets(`${SRV_PREFIX[protocol]}${host}`, protocol)));
    }
    if (targets.length > 0) return targets;

    // Nothing in DNS but addresses: UDP (TLS for sips) on the default port (4.2).
    const protocol: SipTransportProtocol = secure ? 'tls' : 'udp';
    return this.addresses(host, protocol, DEFAULT_PORT[protocol]);
  }

  private async srvTargets(name: string, protocol: SipTransportProtocol): Promise<SipTarget[]> {
    const records = orderSrvRecords(await this.resolver.srv(name), this.random);
    const out: SipTarget[] = [];
    for (const r of records) out.push(...(await this.addresses(r.name, protocol, r.port)));
    return out;
  }

  private async addresses(host: string, protocol: SipTransportProtocol, port: number): Promise<SipTarget[]> {
    const v4 = await this.resolver.a(host);
    const v6 = this.ipv6 ? await this.resolver.aaaa(host) : [];
    return [...v4, ...v6].map((address) => ({ protocol, address, port }));
  }
}
