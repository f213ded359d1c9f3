// The daemon's metrics endpoint: its PBX figures, and a media engine's when it has one, served at /metrics.
import type { MediaEngine } from '@switchyard/media';
import { parseHostPort } from '../config.js';
import type { Daemon } from '../daemon.js';
import { MediaEngineMetrics } from './media-metrics.js';
import { MetricsServer } from './metrics-server.js';
import { PbxMetrics } from './pbx-metrics.js';

export class DaemonMetrics {
  private constructor(
    readonly pbx: PbxMetrics,
    private readonly server: MetricsServer,
    private readonly media: MediaEngineMetrics | undefined,
    private readonly unsubscribe: () => void,
    readonly url: string,
  ) {}

  /** Hooks the daemon's transport, digest server and call events, and listens on `listen` (address:port). */
  static async start(daemon: Daemon, listen: string, mediaEngine?: MediaEngine): Promise<DaemonMetrics> {
    const hp = parseHostPort(listen);
    if (!hp) throw new Error(`metrics.listen: ${listen} is not address:port`);
    const pbx = new PbxMetrics({
      activeCalls: () => daemon.calls.activeCalls.length,
      activeRegistrations: async () => (await daemon.storage.registrations.listAll(daemon.clock.now())).length,
    });
    pbx.observeTransport(daemon.transport);
    pbx.observeDigest(daemon.registrar.digest);
    const unsubscribe = daemon.subscribe((event) => {
      if (event.type !== 'extension.registrations') pbx.callEvent(event);
    });
    const media = mediaEngine ? new MediaEngineMetrics(mediaEngine, pbx.registry) : undefined;
    const server = new MetricsServer(pbx.registry);
    try {
      const a = await server.listen(hp.host, hp.port);
      const host = a.address.includes(':') ? `[${a.address}]` : a.address;
      return new DaemonMetrics(pbx, server, media, unsubscribe, `http://${host}:${a.port}/metrics`);
    } catch (err) {
      unsubscribe();
      media?.detach();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.media?.detach();
    await this.server.close();
  }
}
