// The media engine's figures for Prometheus: RTP packets and load per worker (read from the workers at each scrape),
// and RTP timeouts and closed sessions (counted from the engine's events as they happen).
import type { MediaEngine, MediaEngineEvent, WorkerStatistics } from '@switchyard/media';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Exposes one MediaEngine's statistics in a registry; `detach` stops listening to its events. */
export class MediaEngineMetrics {
  private inFlight: Promise<WorkerStatistics[]> | undefined;
  private readonly onEvent: (event: MediaEngineEvent) => void;

  constructor(
    private readonly engine: MediaEngine,
    registry: Registry,
  ) {
    // Every per-worker metric of one scrape reads the same answer from the workers.
    const workers = () => this.workerStatistics();
    const perWorker = <T extends Counter<string> | Gauge<string>>(
      metric: T,
      fill: (m: T, s: WorkerStatistics, worker: string) => void,
    ) => {
      return async () => {
        const stats = await workers();
        // Reset first: a restarted worker starts from zero and a gone one disappears.
        metric.reset();
        for (const s of stats) fill(metric, s, String(s.worker));
      };
    };
    const packets: Counter<'worker' | 'direction'> = new Counter({
      name: 'switchyard_media_rtp_packets_total',
      help: 'RTP packets handled by each media worker, by direction (received, sent).',
      labelNames: ['worker', 'direction'],
      registers: [registry],
      collect: () =>
        perWorker(packets, (m, s, worker) => {
          m.inc({ worker, direction: 'received' }, s.packetsReceived);
          m.inc({ worker, direction: 'sent' }, s.packetsSent);
        })(),
    });
    const busy: Counter<'worker'> = new Counter({
      name: 'switchyard_media_worker_busy_seconds_total',
      help: 'Wall time each media worker spent in its 20 ms ticks (decode, mix, encode, send); its rate is the load.',
      labelNames: ['worker'],
      registers: [registry],
      collect: () => perWorker(busy, (m, s, worker) => m.inc({ worker }, s.tickBusyMs / 1000))(),
    });
    const ticks: Counter<'worker'> = new Counter({
      name: 'switchyard_media_worker_ticks_total',
      help: 'Audio ticks (20 ms each) run by each media worker.',
      labelNames: ['worker'],
      registers: [registry],
      collect: () => perWorker(ticks, (m, s, worker) => m.inc({ worker }, s.ticks))(),
    });
    const errors: Counter<'worker'> = new Counter({
      name: 'switchyard_media_worker_handler_errors_total',
      help: 'Packets whose handling failed unexpectedly in each media worker and were dropped.',
      labelNames: ['worker'],
      registers: [registry],
      collect: () => perWorker(errors, (m, s, worker) => m.inc({ worker }, s.handlerErrors))(),
    });
    const sessions: Gauge<'worker'> = new Gauge({
      name: 'switchyard_media_worker_sessions',
      help: 'Media sessions (RTP endpoints) held by each worker.',
      labelNames: ['worker'],
      registers: [registry],
      collect: () => perWorker(sessions, (m, s, worker) => m.set({ worker }, s.sessions))(),
    });
    const conferences: Gauge<'worker'> = new Gauge({
      name: 'switchyard_media_worker_conferences',
      help: 'Conference mixers held by each worker.',
      labelNames: ['worker'],
      registers: [registry],
      collect: () => perWorker(conferences, (m, s, worker) => m.set({ worker }, s.conferences))(),
    });
    const workerCount: Gauge = new Gauge({
      name: 'switchyard_media_workers',
      help: 'Media worker threads in the pool.',
      registers: [registry],
      collect: () => workerCount.set(this.engine.workerCount),
    });
    const timeouts = new Counter({
      name: 'switchyard_media_rtp_timeouts_total',
      help: 'Media sessions that stopped receiving RTP for longer than their timeout.',
      registers: [registry],
    });
    const closed = new Counter({
      name: 'switchyard_media_sessions_closed_total',
      help: 'Media sessions closed, by reason (closed, worker-crashed, engine-shutdown, migrated-failed).',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.onEvent = (event) => {
      if (event.type === 'rtpTimeout') timeouts.inc();
      else if (event.type === 'sessionClosed') closed.inc({ reason: event.reason });
    };
    engine.on('event', this.onEvent);
  }

  private workerStatistics(): Promise<WorkerStatistics[]> {
    if (this.inFlight === undefined) {
      // A stopped engine has no workers to ask: its per-worker series are simply absent.
      this.inFlight = this.engine
        .getWorkerStatistics()
        .catch(() => [])
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    return this.inFlight;
  }

  detach(): void {
    this.engine.off('event', this.onEvent);
  }
}
