// The daemon's config file (YAML or JSON), validated against a JSON Schema; every error names the file, the line
// and the field, because the person reading it is editing that file by hand.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, resolve } from 'node:path';
import { readWav } from '@switchyard/media';
import { type DigestAlgorithm, parseListenUrl } from '@switchyard/sip-stack';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isNode, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

export interface ExtensionConfig {
  number: string;
  name?: string;
  password: string;
  email?: string;
  mobile?: string;
  role?: 'admin' | 'supervisor' | 'user' | 'report-viewer';
}

export interface MediaConfig {
  /** The address RTP endpoints bind to and SDP names (default: the host of the first listen address). */
  address: string;
  /** The address SDP names when it differs from the bound one (a public address behind 1:1 NAT). */
  announce?: string;
  /** RTP ports (even ones, RTCP on the next, RFC 3550 11); default 10000-20000. */
  rtpPorts: { min: number; max: number };
  /** Media worker threads (default: one per core). */
  workers?: number;
  /**
   * Music on hold: a WAV file (any rate, mono or stereo, PCM16, u-law or A-law; converted to 16 kHz mono) played to
   * a held party. A relative path is taken from the config file's folder. Default: a gentle generated chime.
   */
  musicOnHold?: string;
}

export interface SwitchyardConfig {
  sip: {
    listen: string[];
    domain: string;
    tls?: { cert: string; key: string; ca?: string };
    userAgent?: string;
    /** UDP socket buffers (receive and send) in bytes; default 4 MiB. The kernel caps them at net.core.rmem_max/wmem_max. */
    udpBufferBytes?: number;
    /** Digest algorithms challenged with, in this order (RFC 8760 2.4); default SHA-256 then MD5. */
    digestAlgorithms?: DigestAlgorithm[];
  };
  admin: AdminConfig;
  /** Where RTP is anchored; see mediaDefaults for what is assumed when absent. */
  media?: Partial<MediaConfig>;
  data: string;
  extensions: ExtensionConfig[];
  metrics?: MetricsConfig;
  log?: LogConfig;
  shutdown?: ShutdownConfig;
  security?: SecurityConfig;
}

// Operational settings (admin over the network, metrics, logs, shutdown).
export interface AdminConfig {
  socket: string;
  /** JSON-RPC over TCP, e.g. `127.0.0.1:7070`; needs `token` or `tokenFile`. */
  tcp?: string;
  /** JSON-RPC over WebSocket, e.g. `127.0.0.1:7071`; needs `token` or `tokenFile`. */
  ws?: string;
  token?: string;
  tokenFile?: string;
}
export interface MetricsConfig {
  /** Address:port of the Prometheus endpoint (path /metrics). */
  listen: string;
}
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface LogConfig {
  level: LogLevel;
}
export interface ShutdownConfig {
  /** SIGTERM: how long calls in progress may go on before they are hung up. Default 30. */
  drainTimeoutSeconds: number;
}

export interface SecurityConfig {
  /** Brute-force guard: this many failed digest attempts from one address within the window block it. */
  authFailures: { maxFailures: number; windowSeconds: number; blockSeconds: number };
}

const hostPort = { type: 'string', minLength: 3, description: 'address:port, e.g. 127.0.0.1:7070 or [::1]:7070' };
const operationalSchema = {
  metrics: {
    type: 'object',
    additionalProperties: false,
    required: ['listen'],
    properties: { listen: hostPort },
  },
  log: {
    type: 'object',
    additionalProperties: false,
    required: ['level'],
    properties: { level: { enum: ['debug', 'info', 'warn', 'error'] } },
  },
  shutdown: {
    type: 'object',
    additionalProperties: false,
    required: ['drainTimeoutSeconds'],
    properties: { drainTimeoutSeconds: { type: 'number', minimum: 0, maximum: 86400 } },
  },
  security: {
    type: 'object',
    additionalProperties: false,
    properties: {
      authFailures: {
        type: 'object',
        additionalProperties: false,
        required: ['maxFailures', 'windowSeconds', 'blockSeconds'],
        properties: {
          maxFailures: { type: 'integer', minimum: 1, maximum: 100000 },
          windowSeconds: { type: 'number', minimum: 1, maximum: 86400 },
          blockSeconds: { type: 'number', minimum: 0, maximum: 604800 },
        },
      },
    },
  },
} as const;

/** The JSON Schema of the config file; `docs` in the README is written from it. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sip', 'data'],
  properties: {
    sip: {
      type: 'object',
      additionalProperties: false,
      required: ['listen', 'domain'],
      properties: {
        listen: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', description: 'udp://, tcp://, tls://, ws:// or wss:// address:port' },
        },
        domain: { type: 'string', minLength: 1, description: 'SIP domain, also the digest realm' },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['cert', 'key'],
          properties: { cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' } },
        },
        userAgent: { type: 'string' },
        udpBufferBytes: { type: 'integer', minimum: 65536, maximum: 268435456 },
        digestAlgorithms: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { enum: ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] },
        },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      required: ['socket'],
      properties: {
        socket: { type: 'string', minLength: 1 },
        tcp: hostPort,
        ws: hostPort,
        token: { type: 'string', minLength: 16 },
        tokenFile: { type: 'string', minLength: 1 },
      },
    },
    ...operationalSchema,
    media: {
      type: 'object',
      additionalProperties: false,
      properties: {
        address: { type: 'string', minLength: 1, description: 'IP address for RTP; SDP names it to the phones' },
        announce: {
          type: 'string',
          minLength: 1,
          description: 'address SDP names instead (public address behind NAT)',
        },
        rtpPorts: {
          type: 'object',
          additionalProperties: false,
          required: ['min', 'max'],
          properties: {
            min: { type: 'integer', minimum: 1024, maximum: 65535 },
            max: { type: 'integer', minimum: 1024, maximum: 65535 },
          },
        },
        workers: { type: 'integer', minimum: 1, maximum: 256, description: 'media worker threads' },
        musicOnHold: { type: 'string', minLength: 1, description: 'WAV file played to a held party' },
      },
    },
    data: { type: 'string', minLength: 1 },
    extensions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['number', 'password'],
        properties: {
          number: { type: 'string', pattern: '^[0-9*#+]{1,32}$' },
          name: { type: 'string' },
          password: { type: 'string', minLength: 4 },
          email: { type: 'string' },
          mobile: { type: 'string' },
          role: { enum: ['admin', 'supervisor', 'user', 'report-viewer'] },
        },
      },
    },
  },
} as const;

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `extensions[1].number`. */
  readonly field: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly message: string;
}

/** A config file that cannot be used: each problem names its line and field. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(
      problems
        .map((p) => `${file}${p.line !== undefined ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.field}: ${p.message}`)
        .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile<SwitchyardConfig>(configSchema);

function fieldName(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

function describe(e: ErrorObject): { path: (string | number)[]; message: string } {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  switch (e.keyword) {
    case 'required':
      return { path: [...path, e.params.missingProperty], message: 'is required' };
    case 'additionalProperties':
      return { path: [...path, e.params.additionalProperty], message: 'is not a known setting' };
    case 'enum':
      return { path, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { path, message: e.message ?? 'is invalid' };
  }
}

/** Parses and validates config text; `file` names it in errors. */
export function parseConfig(text: string, file: string): SwitchyardConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset));
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = at(e.pos[0]);
        return { field: '(syntax)', line: pos?.line, column: pos?.col, message: e.message.split('\n')[0] };
      }),
    );
  }
  const value = doc.toJS() ?? {};
  // The node a path names, or its nearest existing ancestor, for the line number.
  const nodeAt = (path: readonly (string | number)[]): Node | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node)) {
        if (n < path.length && (isMap(node) || isSeq(node))) {
          // A missing or unknown key: point at the key itself when it exists.
          const pair = isMap(node) ? node.items.find((p) => isNode(p.key) && String(p.key) === path[n]) : undefined;
          if (pair && isNode(pair.key)) return pair.key;
        }
        return node;
      }
    }
    return undefined;
  };
  const problems: ConfigProblem[] = [];
  const report = (path: (string | number)[], message: string) => {
    const pos = at(nodeAt(path)?.range?.[0]);
    problems.push({ field: fieldName(path), line: pos?.line, column: pos?.col, message });
  };
  if (!validate(value)) {
    for (const e of validate.errors ?? []) {
      const d = describe(e);
      report(d.path, d.message);
    }
    throw new ConfigError(file, problems);
  }
  // Checks JSON Schema cannot express.
  value.sip.listen.forEach((url, i) => {
    try {
      parseListenUrl(url);
    } catch (err) {
      report(['sip', 'listen', i], (err as Error).message);
    }
  });
  checkOperational(value, report);
  const media = value.media;
  if (media?.address !== undefined && isIP(media.address) === 0) report(['media', 'address'], 'is not an IP address');
  if (media?.announce !== undefined && isIP(media.announce) === 0)
    report(['media', 'announce'], 'is not an IP address');
  if (media?.musicOnHold !== undefined) {
    media.musicOnHold = resolve(dirname(file), media.musicOnHold);
    const why = unplayableWav(media.musicOnHold);
    if (why !== undefined) report(['media', 'musicOnHold'], why);
  }
  if (media?.rtpPorts && media.rtpPorts.max - media.rtpPorts.min < 2) {
    report(['media', 'rtpPorts', 'max'], 'must be above min (at least one RTP/RTCP port pair)');
  }
  const seen = new Map<string, number>();
  (value.extensions ?? []).forEach((ext, i) => {
    const first = seen.get(ext.number);
    if (first !== undefined) report(['extensions', i, 'number'], `duplicates extensions[${first}] (${ext.number})`);
    else seen.set(ext.number, i);
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  value.admin ??= { socket: `${value.data}/admin.sock` };
  value.extensions ??= [];
  return value;
}

/** Why a WAV file cannot be music on hold (unreadable, not a WAV the reader takes, no audio), or undefined. */
function unplayableWav(path: string): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    return `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  try {
    const wav = readWav(bytes);
    if (wav.samples.length < wav.channels) return `${path} holds no audio`;
  } catch (err) {
    return `${path} is not a usable WAV file: ${(err as Error).message}`;
  }
  return undefined;
}

/** `host:port` (IPv6 in brackets) into its parts; undefined when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2], port };
}

function checkOperational(value: SwitchyardConfig, report: (path: (string | number)[], message: string) => void) {
  for (const key of ['tcp', 'ws'] as const) {
    const at = value.admin?.[key];
    if (at === undefined) continue;
    if (!parseHostPort(at)) report(['admin', key], 'must be address:port');
    // A network admin interface without a token would hand the PBX to anyone who can reach the port.
    if (value.admin.token === undefined && value.admin.tokenFile === undefined)
      report(['admin', key], 'needs admin.token or admin.tokenFile');
  }
  if (value.admin?.token !== undefined && value.admin.tokenFile !== undefined)
    report(['admin', 'tokenFile'], 'give admin.token or admin.tokenFile, not both');
  if (value.metrics && !parseHostPort(value.metrics.listen)) report(['metrics', 'listen'], 'must be address:port');
}

/**
 * The media section with its defaults: the host of the first listen address and RTP ports 10000-20000. A wildcard
 * listen address cannot go in SDP: the first external interface address of its family stands in (else loopback).
 */
export function mediaDefaults(config: Pick<SwitchyardConfig, 'sip' | 'media'>): MediaConfig {
  let address = config.media?.address;
  if (address === undefined) {
    const host = parseListenUrl(config.sip.listen[0]).address;
    address = host === '0.0.0.0' || host === '::' ? interfaceAddress(host === '::' ? 6 : 4) : host;
  }
  const out: MediaConfig = { address, rtpPorts: config.media?.rtpPorts ?? { min: 10000, max: 20000 } };
  if (config.media?.workers !== undefined) out.workers = config.media.workers;
  if (config.media?.announce !== undefined) out.announce = config.media.announce;
  if (config.media?.musicOnHold !== undefined) out.musicOnHold = config.media.musicOnHold;
  return out;
}

function interfaceAddress(family: 4 | 6): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (!i.internal && i.family === `IPv${family}` && !i.address.startsWith('fe80')) return i.address;
    }
  }
  return family === 4 ? '127.0.0.1' : '::1';
}

export function loadConfig(file: string): SwitchyardConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [
      { field: '(file)', line: undefined, column: undefined, message: (err as Error).message },
    ]);
  }
  return parseConfig(text, file);
}
