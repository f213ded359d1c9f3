// The daemon: storage, SIP transports, the registrar and the B2BUA, and the admin socket, started from a config
// and stopped cleanly. `switchyard start` runs one of these in the foreground.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaEngine } from '@switchyard/media';
import { type CallEvent, CallManager, MediaAnchor, Registrar, type Registration } from '@switchyard/pbx-core';
import {
  AuthFailureLimiter,
  type Clock,
  type IncomingCall,
  parseListenUrl,
  SipTransportLayer,
  systemClock,
  UserAgent,
} from '@switchyard/sip-stack';
import { mediaDefaults, type SwitchyardConfig } from './config.js';
import { jsonLog, type LogFn } from './log.js';
import { DaemonMetrics } from './metrics/daemon-metrics.js';
import { registerAdminMethods } from './rpc/admin-methods.js';
import { JsonRpcServer } from './rpc/json-rpc.js';
import { RemoteAdmin } from './rpc/remote-admin.js';
import { AdminSocketServer } from './rpc/socket-server.js';
import { openSqliteStorage, type SqliteStorage, spacedTurns } from './storage/index.js';

export { jsonLog, type LogFn, logLevelOf } from './log.js';

/** Everything that happens, for `events.subscribe`: call events and extension (registration) changes. */
export type DaemonEvent =
  | CallEvent
  | { readonly type: 'extension.registrations'; readonly extension: string; readonly devices: number };

export interface DaemonOptions {
  readonly config: SwitchyardConfig;
  readonly clock?: Clock;
  readonly log?: LogFn;
}

/**
 * A built-in demo: three extensions with passwords generated now, loopback only, data in a temp directory.
 * `npm start` on a fresh machine runs this.
 */
export function demoConfig(): { config: SwitchyardConfig; passwords: Record<string, string> } {
  const data = join(tmpdir(), `switchyard-demo-${process.getuid?.() ?? 'user'}`);
  const passwords: Record<string, string> = {};
  const extensions = ['1000', '1001', '1002'].map((number, i) => {
    passwords[number] = randomBytes(9).toString('base64url');
    return { number, name: ['Alice', 'Bob', 'Carol'][i], password: passwords[number] };
  });
  return {
    config: {
      sip: { listen: ['udp://127.0.0.1:5060', 'tcp://127.0.0.1:5060'], domain: '127.0.0.1' },
      admin: { socket: join(data, 'admin.sock') },
      data,
      extensions,
    },
    passwords,
  };
}

export class Daemon {
  readonly clock: Clock;
  readonly log: LogFn;
  storage!: SqliteStorage;
  transport!: SipTransportLayer;
  ua!: UserAgent;
  registrar!: Registrar;
  /** The RTP side: worker threads that own every call's endpoints. */
  engine!: MediaEngine;
  media!: MediaAnchor;
  calls!: CallManager;
  admin!: AdminSocketServer;
  remoteAdmin: RemoteAdmin | undefined;
  metrics: DaemonMetrics | undefined;
  readonly rpc = new JsonRpcServer();
  readonly startedAt: number;
  private readonly listeners = new Set<(event: DaemonEvent) => void>();
  private purgeTimer: ReturnType<Clock['setTimeout']> | undefined;
  private draining = false;
  config: SwitchyardConfig;

  constructor(options: DaemonOptions) {
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? jsonLog();
    this.startedAt = this.clock.now();
  }

  /** Subscribes to live events; returns the unsubscribe function. */
  subscribe(listener: (event: DaemonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(event: DaemonEvent): void {
    for (const l of this.listeners) l(event);
  }

  async start(): Promise<void> {
    const config = this.config;
    mkdirSync(config.data, { recursive: true, mode: 0o700 });
    // Call records commit at most every 10 ms: at hundreds of calls a second, one WAL fsync (it blocks the event
    // loop) then serves several calls' records.
    this.storage = openSqliteStorage(config.data, { clock: this.clock, groupCommit: spacedTurns(this.clock, 10) });
    await this.syncExtensions();

    // Media first: a call that arrives as soon as SIP listens finds its engine ready.
    const media = mediaDefaults(config);
    this.engine = await MediaEngine.start({
      portRange: media.rtpPorts,
      ...(media.workers !== undefined ? { workers: media.workers } : {}),
    });
    this.media = new MediaAnchor({
      engine: this.engine,
      address: media.address,
      ...(media.announce !== undefined ? { announceAddress: media.announce } : {}),
      onMediaLost: (callId) => {
        this.log('warn', 'call media lost (media worker restarted)', { call: callId });
        void this.calls
          ?.call(callId)
          ?.hangup()
          .catch(() => {});
      },
    });
    this.log('info', 'media engine started', {
      address: media.address,
      announce: media.announce ?? media.address,
      rtpPorts: `${media.rtpPorts.min}-${media.rtpPorts.max}`,
      workers: this.engine.workerCount,
    });

    this.transport = new SipTransportLayer({ now: () => this.clock.now() });
    for (const url of config.sip.listen) {
      const spec = parseListenUrl(url);
      // Bursts of REGISTER/INVITE overflow Linux's default 208 KiB UDP buffer long before the CPU is busy; every
      // datagram dropped there costs the phone a 500 ms retransmission (RFC 3261 17.1.1.2).
      const buffer = config.sip.udpBufferBytes ?? 4 * 1024 * 1024;
      const local = await this.transport.listen(
        config.sip.tls && (url.startsWith('tls:') || url.startsWith('wss:'))
          ? { ...spec, tls: { certFile: config.sip.tls.cert, keyFile: config.sip.tls.key, caFile: config.sip.tls.ca } }
          : { ...spec, receiveBufferSize: buffer, sendBufferSize: buffer },
      );
      this.log('info', 'sip listening', { listen: `${local.protocol}://${local.address}:${local.port}` });
    }
    this.registrar = new Registrar({
      domain: config.sip.domain,
      extensions: this.storage.extensions,
      registrations: this.storage.registrations,
      clock: this.clock,
      algorithms: config.sip.digestAlgorithms,
      authFailures: authFailureLimiter(config, this.clock),
      onChange: (extension: string, bindings: readonly Registration[]) =>
        this.publish({ type: 'extension.registrations', extension, devices: bindings.length }),
    });
    this.ua = new UserAgent({
      transport: this.transport,
      clock: this.clock,
      aor: `sip:pbx@${config.sip.domain}`,
      userAgent: config.sip.userAgent ?? 'Switchyard',
      // INVITE is authenticated in admitInvite, so that a refused call leaves a record.
      authenticator: { server: this.registrar.digest, methods: ['MESSAGE', 'SUBSCRIBE', 'REFER'] },
    });
    this.calls = new CallManager({
      ua: this.ua,
      registrar: this.registrar,
      extensions: this.storage.extensions,
      cdrs: this.storage.cdrs,
      clock: this.clock,
      domain: config.sip.domain,
      media: this.media,
      onEvent: (event) => {
        this.log('info', event.type, {
          call: event.call.id,
          caller: event.call.callerNumber,
          dialled: event.call.dialled,
        });
        this.publish(event);
      },
      onStorageError: (err, record) =>
        this.log('error', 'call record not stored', { call: record.callId, error: (err as Error).message }),
    });
    this.ua.onRequest = (request, tx, context) => {
      if (request.method === 'REGISTER') void this.registrar.handle(request, tx, context);
      else tx.reply(405, undefined, [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER']]);
    };
    this.ua.onInvite = (incoming) => {
      // SIGTERM: no new calls while the current ones finish (RFC 3261 21.5.4 503 with Retry-After).
      if (this.draining) {
        incoming.reject(503, 'Service Unavailable', [['Retry-After', '30']]);
        return;
      }
      void this.admitInvite(incoming).catch((err) => {
        this.log('error', 'call failed', { error: (err as Error).message });
        incoming.reject(500);
      });
    };
    this.schedulePurge();
    if (config.metrics) {
      this.metrics = await DaemonMetrics.start(this, config.metrics.listen, this.engine);
      this.log('info', 'metrics listening', { url: this.metrics.url });
    }

    registerAdminMethods(this);
    this.admin = new AdminSocketServer(this.rpc, config.admin.socket);
    await this.admin.listen();
    this.log('info', 'admin socket listening', { socket: config.admin.socket });
    this.remoteAdmin = await RemoteAdmin.start(this.rpc, config.admin, (msg, fields) => this.log('info', msg, fields));
  }

  /**
   * Digest on the INVITE (RFC 3261 22.2), then the B2BUA. Credentials that were given and failed are a failed call
   * in the call log; a first INVITE without credentials, or with a stale nonce, only gets its challenge.
   */
  private async admitInvite(incoming: IncomingCall): Promise<void> {
    const verdict = await this.registrar.digest.authenticate(incoming.request, {
      source: incoming.context.source.address,
    });
    if (verdict.ok) return this.calls.handleInvite(incoming);
    incoming.reject(verdict.status, undefined, verdict.headers);
    // A blocked source is refused before its credentials are checked: no row each, or a flood would fill the log.
    if (verdict.reason === 'no-credentials' || verdict.reason === 'stale' || verdict.reason === 'blocked') return;
    this.log('warn', 'call refused', { reason: verdict.reason, from: incoming.request.from().uri });
    this.calls.refused(incoming, verdict.status, `authentication failed: ${verdict.reason}`);
  }

  /** Config extensions are created or updated in storage; ones made over JSON-RPC are kept. */
  private async syncExtensions(): Promise<void> {
    for (const ext of this.config.extensions) {
      const existing = await this.storage.extensions.get(ext.number);
      const fields = {
        displayName: ext.name ?? ext.number,
        sipPassword: ext.password,
        email: ext.email ?? null,
        mobile: ext.mobile ?? null,
        role: ext.role ?? 'user',
      };
      if (existing) await this.storage.extensions.update(ext.number, fields);
      else await this.storage.extensions.create({ number: ext.number, ...fields });
    }
  }

  private schedulePurge(): void {
    this.purgeTimer = this.clock.setTimeout(() => {
      void this.registrar
        .purgeExpired()
        .catch(() => [])
        .finally(() => this.schedulePurge());
    }, 10_000);
  }

  /** SIGHUP: re-read the config's extensions (listen addresses need a restart). */
  async reload(config: SwitchyardConfig): Promise<void> {
    this.config = config;
    await this.syncExtensions();
    this.log('info', 'config reloaded', { extensions: config.extensions.length });
  }

  /** SIGTERM: refuse new calls, let current ones finish up to `graceMs`, then hang up the rest and stop. */
  async drain(graceMs = 30_000): Promise<void> {
    this.draining = true;
    const deadline = this.clock.now() + graceMs;
    while (this.calls.activeCalls.length > 0 && this.clock.now() < deadline) {
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, 200));
    }
    await Promise.all(this.calls.activeCalls.map((c) => c.hangup().catch(() => {})));
  }

  async stop(): Promise<void> {
    if (this.purgeTimer !== undefined) this.clock.clearTimeout(this.purgeTimer);
    await this.admin?.close();
    await this.remoteAdmin?.close();
    await this.metrics?.close();
    this.ua?.close();
    await this.transport?.close();
    // Call records are written as calls end: the last ones land before the file closes.
    await this.calls?.recordsWritten();
    this.media?.detach();
    await this.engine?.shutdown();
    await this.storage?.close();
  }
}

/** Brute-force guard on digest (default: 5 failures from one address in 60 s block it for 5 minutes). */
function authFailureLimiter(config: SwitchyardConfig, clock: Clock): AuthFailureLimiter {
  const f = config.security?.authFailures ?? { maxFailures: 5, windowSeconds: 60, blockSeconds: 300 };
  return new AuthFailureLimiter({
    maxFailures: f.maxFailures,
    windowMs: f.windowSeconds * 1000,
    blockMs: f.blockSeconds * 1000,
    clock,
  });
}
