// What a config reload (SIGHUP, `config.reload`) may change in a running daemon. Every setting of the schema is in
// exactly one of two lists: the ones the daemon applies live, and the ones bound to something made at start (a
// socket, a file, a thread) that only a restart changes. A test walks the schema so a new setting cannot be missed.
import type { SwitchyardConfig } from './config.js';

/** Settings applied while running, by dotted path (a section stands for everything under it). */
export const LIVE_SETTINGS = [
  'extensions',
  'log.level',
  'security.authFailures',
  'sip.digestAlgorithms',
  'shutdown.drainTimeoutSeconds',
  'admin.token',
  'admin.tokenFile',
  'metrics.listen',
  'media.announce',
  'media.musicOnHold',
] as const;

/** Settings only a restart changes, and why. */
export const RESTART_SETTINGS: Readonly<Record<string, string>> = {
  'sip.listen': 'the SIP sockets are bound at start',
  'sip.tls': 'TLS listeners load their certificate at start',
  'sip.udpBufferBytes': 'socket buffers are sized when the sockets open',
  'sip.userAgent': 'the user agent is built at start',
  // The digest realm: HA1 hashes stored for extensions are bound to it, and so is every phone's registration.
  'sip.domain': 'stored password hashes and registrations are bound to the realm',
  'admin.socket': 'the admin socket is bound at start',
  'admin.tcp': 'the admin TCP listener is bound at start',
  'admin.ws': 'the admin WebSocket listener is bound at start',
  data: 'the database is opened at start',
  'media.address': 'RTP endpoints are bound to it',
  'media.rtpPorts': 'the media engine allocates ports from it',
  'media.workers': 'media worker threads are started at start',
};

/** What a reload found: the live settings it applied and the ones left as they were until a restart. */
export interface ConfigChanges {
  readonly changed: string[];
  readonly needsRestart: string[];
}

function valueAt(config: SwitchyardConfig, path: string): unknown {
  let v: unknown = config;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The settings that differ between the running config and a new one, sorted into live and restart-only. */
export function compareConfigs(running: SwitchyardConfig, next: SwitchyardConfig): ConfigChanges {
  const changed = LIVE_SETTINGS.filter((p) => !same(valueAt(running, p), valueAt(next, p)));
  const needsRestart = Object.keys(RESTART_SETTINGS).filter((p) => !same(valueAt(running, p), valueAt(next, p)));
  return { changed, needsRestart };
}

/**
 * The config the daemon runs with after a reload: the new one, with every restart-only setting kept at its running
 * value (what is actually bound), so status shows the truth and the next reload still reports the pending change.
 */
export function mergeForReload(running: SwitchyardConfig, next: SwitchyardConfig): SwitchyardConfig {
  const out = structuredClone(next);
  for (const path of Object.keys(RESTART_SETTINGS)) {
    const keys = path.split('.');
    const old = valueAt(running, path);
    let target: Record<string, unknown> | undefined = out as unknown as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) {
      if (target[key] === undefined && old !== undefined) target[key] = {};
      const inner: unknown = target[key];
      if (inner === null || typeof inner !== 'object') {
        target = undefined;
        break;
      }
      target = inner as Record<string, unknown>;
    }
    if (target === undefined) continue; // nothing there now, nothing there before
    const last = keys[keys.length - 1];
    if (old === undefined) delete target[last];
    else target[last] = structuredClone(old);
  }
  return out;
}
