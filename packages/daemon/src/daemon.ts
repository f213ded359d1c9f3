// The daemon: storage, SIP transports, the registrar and the B2BUA, and the admin socket, started from a config
// and stopped cleanly. `switchyard start` runs one of these in the foreground.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
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
import { ConfigError, loadConfig, mediaDefaults, type SwitchyardConfig } from './config.js';
import { type ConfigChanges, compareConfigs, mergeForReload, RESTART_SETTINGS } from './config-reload.js';
import { isLevelledLog, jsonLog, type LogFn, logLevelOf } from './log.js';
import { DaemonMetrics } from './metrics/daemon-metrics.js';
import { MusicOnHoldError, prepareMusicOnHold } from './music-on-hold.js';
import { registerAdminMethods } from './rpc/admin-methods.js';
import { JsonRpcServer } from './rpc/json-rpc.js';
import { BearerToken, RemoteAdmin } from './rpc/remote-admin.js';
import { AdminSocketServer } from './rpc/socket-server.js';
import { openSqliteStorage, type SqliteStorage, spacedTurns } from './storage/index.js';

export { jsonLog, type LogFn, logLevelOf } from './log.js';

/** Everything that happens, for `events.subscribe`: call events and extension (registration) changes. */
export type DaemonEvent =
  | CallEvent
  | { readonly type: 'extension.registrations'; readonly extension: string; readonly devices: number };

export interface DaemonOptions {
  readonly config: SwitchyardConfig;
  /** The file the config came from: SIGHUP and `config.reload` read it again. */
  readonly configFile?: string;
  readonly clock?: Clock;
  readonly log?: LogFn;
  /** Where SWITCHYARD_LOG_LEVEL is read on reload (it wins over log.level); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
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
  readonly configFile: string | undefined;
  private readonly env: NodeJS.ProcessEnv;
  /** Reloads run one after another (two quick SIGHUPs must not interleave). */
  private reloading: Promise<unknown> = Promise.resolve();
  /** The digest brute-force guard; a reload keeps it (and who it blocks) unless security.authFailures changed. */
  private authLimiter: AuthFailureLimiter | undefined;

  constructor(options: DaemonOptions) {
    this.config = options.config;
    this.configFile = options.configFile;
    this.env = options.env ?? process.env;
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
    await this.syncExtensions(config.extensions, []);
    const musicOnHold = prepareMusicOnHold(config.data, config.media?.musicOnHold);

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
      musicOnHold: [{ file: musicOnHold }],
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
    this.authLimiter = authFailureLimiter(config, this.clock);
    this.registrar = new Registrar({
      domain: config.sip.domain,
      extensions: this.storage.extensions,
      registrations: this.storage.registrations,
      clock: this.clock,
      algorithms: config.sip.digestAlgorithms,
      authFailures: this.authLimiter,
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

  /**
   * Config extensions are created or updated in storage; ones made over JSON-RPC are kept. An extension the
   * previous config had and this one drops is deleted (its call records stay).
   */
  private async syncExtensions(
    extensions: SwitchyardConfig['extensions'],
    previous: SwitchyardConfig['extensions'],
  ): Promise<void> {
    const kept = new Set(extensions.map((e) => e.number));
    for (const old of previous) {
      if (!kept.has(old.number)) await this.storage.extensions.delete(old.number).catch(() => false);
    }
    for (const ext of extensions) {
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

  /**
   * SIGHUP and `config.reload`: reads the config file again and applies it. A file that does not validate changes
   * nothing: the error (file, line, field) is logged and thrown.
   */
  reloadFromFile(): Promise<ConfigChanges> {
    const file = this.configFile;
    if (file === undefined) {
      return Promise.reject(new Error('the daemon runs the built-in demo (no --config): there is no file to reload'));
    }
    let next: SwitchyardConfig;
    try {
      next = loadConfig(file);
    } catch (err) {
      this.logRefusedReload(err);
      return Promise.reject(err);
    }
    return this.reload(next);
  }

  /**
   * Applies a new config to the running daemon: every setting that can change live does, the ones bound at start
   * (listen addresses, data folder, admin listeners, media ports and workers) are logged as needing a restart and
   * keep their running values. Anything that fails before a change is made leaves the running config in force.
   */
  reload(next: SwitchyardConfig): Promise<ConfigChanges> {
    const run = this.reloading.then(() => this.applyConfig(next));
    this.reloading = run.catch(() => {});
    return run;
  }

  private logRefusedReload(err: unknown): void {
    if (err instanceof ConfigError) {
      this.log('error', 'config not reloaded', { file: err.file, problems: err.problems, error: err.message });
    } else this.log('error', 'config not reloaded', { error: (err as Error).message });
  }

  private async applyConfig(next: SwitchyardConfig): Promise<ConfigChanges> {
    const running = this.config;
    const changes = compareConfigs(running, next);
    const changed = new Set(changes.changed);
    const file = this.configFile ?? '(config)';
    const refuse = (field: string, message: string): never => {
      const err = new ConfigError(file, [{ field, line: undefined, column: undefined, message }]);
      this.logRefusedReload(err);
      throw err;
    };
    // First whatever can fail, so a refused reload changes nothing.
    let token: BearerToken | undefined;
    if ((changed.has('admin.token') || changed.has('admin.tokenFile')) && this.remoteAdmin?.listening) {
      try {
        token = BearerToken.fromConfig(next.admin);
      } catch (err) {
        refuse('admin.tokenFile', (err as Error).message);
      }
      if (token === undefined) refuse('admin.token', 'the running admin.tcp/admin.ws listeners need a token');
    }
    const announce = next.media?.announce ?? this.media.address;
    if (changed.has('media.announce') && isIP(announce) !== isIP(this.media.address)) {
      refuse('media.announce', `${announce} is not of the same IP family as the media address ${this.media.address}`);
    }
    let musicOnHold: string | undefined;
    if (changed.has('media.musicOnHold')) {
      try {
        musicOnHold = prepareMusicOnHold(running.data, next.media?.musicOnHold);
      } catch (err) {
        refuse('media.musicOnHold', err instanceof MusicOnHoldError ? err.message : (err as Error).message);
      }
    }
    let metrics: DaemonMetrics | undefined;
    if (changed.has('metrics.listen') && next.metrics) {
      try {
        metrics = await DaemonMetrics.start(this, next.metrics.listen, this.engine);
      } catch (err) {
        refuse('metrics.listen', `cannot listen on ${next.metrics.listen}: ${(err as Error).message}`);
      }
    }

    // Then the changes.
    if (changed.has('log.level') && isLevelledLog(this.log)) this.log.setLevel(logLevelOf(next, this.env));
    if (changed.has('extensions')) await this.syncExtensions(next.extensions, running.extensions);
    if (changed.has('security.authFailures')) this.authLimiter = authFailureLimiter(next, this.clock);
    if (changed.has('sip.digestAlgorithms') || changed.has('security.authFailures')) {
      this.registrar.reconfigureDigest(next.sip.digestAlgorithms, this.authLimiter);
    }
    if (token !== undefined) this.remoteAdmin?.replaceToken(token);
    if (changed.has('metrics.listen')) {
      await this.metrics?.close();
      this.metrics = metrics;
      if (metrics) this.log('info', 'metrics listening', { url: metrics.url });
    }
    if (changed.has('media.announce')) this.media.setAnnounced(announce);
    if (musicOnHold !== undefined) this.media.setMusicOnHold([{ file: musicOnHold }]);
    // shutdown.drainTimeoutSeconds is read when SIGTERM comes.
    this.config = mergeForReload(running, next);
    for (const setting of changes.needsRestart) {
      this.log('warn', 'config setting needs a restart', { setting, reason: RESTART_SETTINGS[setting] });
    }
    this.log('info', 'config reloaded', {
      changed: changes.changed,
      needsRestart: changes.needsRestart,
      extensions: next.extensions.length,
    });
    return changes;
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
